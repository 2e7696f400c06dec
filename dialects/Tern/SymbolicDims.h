//===- SymbolicDims.h - which dynamic dims are the same size -------------===//
//
// A model whose dims are left dynamic still says a lot about them: an Add
// of two [batch, seq, 768] tensors has their batch and seq, a MatMul's rows
// are its left operand's, `Shape(x)[0]` is x's dim 0, and inputs whose dims
// carry the same name (the runtime checks that they agree) share them. Each
// dynamic dim is traced back through such ops to the first dim it equals,
// its symbol, so that shape arithmetic on dims can cancel: a Reshape of
// [b, s, 768] into `Concat(Shape(ids)[0:2], [-1, 64])` is [b, s, 12, 64].
//
// The trace follows what lowering assumes (dynamic dims that broadcast
// against each other are equal) and stops at any op it does not know, which
// leaves that dim its own symbol: a symbol never claims two dims are equal
// unless the ops say so.
//
//===----------------------------------------------------------------------===//

#ifndef TERN_DIALECT_SYMBOLICDIMS_H
#define TERN_DIALECT_SYMBOLICDIMS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/SmallVector.h"
#include <optional>

namespace tern {

/// Dim `dim` of the tensor `value`, capped at `bound` when that is not
/// kDynamic (`Slice(pos, 0, Shape(ids)[1])` of a 512-row table has
/// min(seq, 512) rows): a dynamic dim's symbol.
struct DimSymbol {
  mlir::Value value;
  int64_t dim = 0;
  int64_t bound = mlir::ShapedType::kDynamic;
  bool operator==(const DimSymbol &o) const {
    return value == o.value && dim == o.dim && bound == o.bound;
  }
};

/// The symbol of dim `dim` of `v`, which must be dynamic: the first dim it
/// is known to equal, found by walking producers (a function argument's dim
/// resolves to the first argument's dim of the same `tern.dim_names` name).
/// A broadcast's dim is its operands' only when they all have one symbol
/// (or caps of it: max(s, min(s, 512)) is s); else it is its own.
DimSymbol canonicalDim(mlir::Value v, int64_t dim);

/// One element of a shape value (a 1-D i64 tensor built from Shape, Gather,
/// Concat, ...): a known integer, or a dynamic dim's size, or unknown.
struct ShapeElement {
  int64_t value = mlir::ShapedType::kDynamic; ///< the integer, kDynamic if not known
  std::optional<DimSymbol> symbol;            ///< when the value is a dynamic dim's size
};

/// The elements of an integer tensor of rank <= 1 when its length is known.
std::optional<llvm::SmallVector<ShapeElement>> getSymbolicShapeValues(mlir::Value v);

/// The dims of a Reshape of `input` to `requested` (ONNX rules: 0 copies
/// the input's dim unless `allowzero`, -1 takes what is left), with a -1
/// computed where the dynamic dims on both sides cancel; kDynamic where
/// unknown. Fails (with `error` set) on a request no input could satisfy.
llvm::LogicalResult reshapeDims(mlir::Value input, llvm::ArrayRef<ShapeElement> requested,
                                bool allowzero, llvm::SmallVectorImpl<int64_t> &dims,
                                std::string &error);

/// The shape operand of a Reshape of `input` as constants, where every
/// requested element is a constant or the input's own dim at the same
/// index (written 0, "copy", so lowering reads the dim from the input
/// rather than from shape arithmetic at run time). Nothing when some
/// element is neither, or when `allowzero` makes a literal 0 mean zero.
std::optional<llvm::SmallVector<int64_t>> reshapeAsCopies(mlir::Value input,
                                                          llvm::ArrayRef<ShapeElement> requested,
                                                          bool allowzero);

} // namespace tern

#endif // TERN_DIALECT_SYMBOLICDIMS_H
