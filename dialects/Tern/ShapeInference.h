//===- ShapeInference.h - helpers the tern ops' type inference shares ----===//
//
// Every tern op infers its result types from its operands and attributes.
// These helpers hold the rules several ops share (broadcasting, reductions,
// window arithmetic) and read small constant operands, which is how constant
// shape arithmetic turns into static result shapes.
//
//===----------------------------------------------------------------------===//

#ifndef TERN_DIALECT_SHAPEINFERENCE_H
#define TERN_DIALECT_SHAPEINFERENCE_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/Value.h"
#include "mlir/IR/ValueRange.h"
#include "llvm/Support/raw_ostream.h"
#include <string>
#include <optional>
#include <vector>

namespace tern {

using mlir::ShapedType;

/// How an elementwise op picks its result element type.
enum class ElementRule {
  SameAsOperands, ///< all operands share one element type, the result's
  First,          ///< the first operand's (Pow)
  Bool,           ///< i1 (comparisons)
};

/// A failed inference: collects a message with `<<` and, when converted to
/// a failure, emits it at the location (if there is one).
class InferError {
public:
  InferError(std::optional<mlir::Location> loc, const llvm::Twine &message)
      : loc(loc), message(message.str()) {}
  template <typename T> InferError &operator<<(const T &value) {
    llvm::raw_string_ostream os(message);
    os << value;
    return *this;
  }
  operator llvm::LogicalResult() const;
  template <typename T> operator mlir::FailureOr<T>() const {
    (void)static_cast<llvm::LogicalResult>(*this);
    return mlir::failure();
  }

private:
  std::optional<mlir::Location> loc;
  std::string message;
};

inline InferError inferError(std::optional<mlir::Location> loc, const llvm::Twine &message) {
  return InferError(loc, message);
}

/// True when both ranges hold ranked tensors of the same element type and
/// rank whose dims agree wherever both are static.
bool areCompatibleReturnTypes(mlir::TypeRange lhs, mlir::TypeRange rhs);

/// Numpy broadcasting of several shapes; fails on a static mismatch.
mlir::FailureOr<llvm::SmallVector<int64_t>>
broadcastShapes(llvm::ArrayRef<llvm::ArrayRef<int64_t>> shapes);

llvm::LogicalResult inferElementwise(std::optional<mlir::Location> loc,
                                     mlir::ValueRange operands, ElementRule rule,
                                     llvm::SmallVectorImpl<mlir::Type> &types);

llvm::LogicalResult inferReduction(std::optional<mlir::Location> loc, mlir::Value data,
                                   llvm::ArrayRef<int64_t> axes, bool keepdims,
                                   bool noopWithEmptyAxes,
                                   llvm::SmallVectorImpl<mlir::Type> &types);

llvm::LogicalResult inferArgReduction(std::optional<mlir::Location> loc, mlir::Value data,
                                      int64_t axis, bool keepdims,
                                      llvm::SmallVectorImpl<mlir::Type> &types);

/// The operand's type, after checking that `axis` is a valid, non-negative
/// dim of it (Softmax and friends).
llvm::LogicalResult inferSameWithAxis(std::optional<mlir::Location> loc, mlir::Value input,
                                      int64_t axis, llvm::SmallVectorImpl<mlir::Type> &types);

/// [N, C, 1, ...] for the global pooling ops.
llvm::LogicalResult inferGlobalPool(std::optional<mlir::Location> loc, mlir::Value x,
                                    llvm::SmallVectorImpl<mlir::Type> &types);

/// Output size of one spatial dim of a convolution or pooling window;
/// ShapedType::kDynamic when the input is dynamic. `autoPad` is NOTSET,
/// SAME_UPPER or SAME_LOWER. Fails when the window does not fit.
mlir::FailureOr<int64_t> windowOutputSize(int64_t in, int64_t kernel, int64_t stride,
                                          int64_t padBegin, int64_t padEnd,
                                          int64_t dilation, bool ceilMode,
                                          llvm::StringRef autoPad);

/// Infers [N, C, spatial...] for conv/pool ops; `channels` is the result's C.
llvm::LogicalResult inferWindowOp(std::optional<mlir::Location> loc, mlir::RankedTensorType x,
                                  int64_t channels, llvm::ArrayRef<int64_t> kernel,
                                  llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> pads,
                                  llvm::ArrayRef<int64_t> dilations, bool ceilMode,
                                  llvm::StringRef autoPad, mlir::Type elementType,
                                  llvm::SmallVectorImpl<mlir::Type> &types);

/// The shape of a numpy matmul of `a` and `b` (1-D operands promoted).
mlir::FailureOr<llvm::SmallVector<int64_t>>
matmulShape(std::optional<mlir::Location> loc, llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b);

/// The values of `v` when it is defined by a constant integer tensor that is
/// small enough to read (shape operands, axes, pads).
std::optional<llvm::SmallVector<int64_t>> getConstantInts(mlir::Value v);

/// The values of a constant integer attribute (DenseIntElementsAttr).
std::optional<llvm::SmallVector<int64_t>> getConstantInts(mlir::Attribute attr);

/// The number of elements of a 1-D operand, if static.
std::optional<int64_t> getStaticLength(mlir::Value v);

/// Folds an elementwise op whose operands are all small dense constants.
mlir::OpFoldResult foldElementwise(mlir::Operation *op, llvm::ArrayRef<mlir::Attribute> operands);

/// Converts a small dense constant to `resultType` (same shape, any element
/// type), as Cast does; null when it is not a small dense constant.
mlir::Attribute castDense(mlir::Attribute input, mlir::RankedTensorType resultType);

/// The elements of `a` broadcast (numpy rules) to the static `shape`.
llvm::SmallVector<mlir::Attribute> broadcastElements(mlir::DenseElementsAttr a,
                                                     llvm::ArrayRef<int64_t> shape);

/// Normalizes a possibly negative axis against `rank`; fails when out of range.
mlir::FailureOr<int64_t> normalizeAxis(std::optional<mlir::Location> loc, int64_t axis, int64_t rank);

/// Every element of a constant as a double: dense (a splat repeated) or a
/// resource blob, of f32 or of 8-, 16- or 32-bit integers (`isUnsigned`
/// says how to read them: tern keeps ui8 where lowered code is signless).
/// Nothing for other element types or a blob of the wrong size. Reads any
/// size: for passes that fold weights, not for shape folding.
std::optional<std::vector<double>> constantElements(mlir::Attribute value, bool isUnsigned);

/// The elements of an f32 constant (dense or a resource blob) as floats,
/// read without conversion (weights the graph passes rewrite); nothing for
/// other element types.
std::optional<std::vector<float>> constantFloats(mlir::Attribute value);

/// A constant of `type` holding `bytes` (its elements in order, native
/// layout): dense up to `denseLimit` elements (readable in printed IR),
/// else a resource blob named `name`, 64-byte aligned (weights that the
/// kernels pack or read as vectors).
mlir::ElementsAttr constantAttr(mlir::ShapedType type, llvm::ArrayRef<char> bytes, llvm::StringRef name,
                                int64_t denseLimit = 64);

/// The largest constant (in elements) that folding creates or reads.
constexpr int64_t kFoldElementLimit = 1 << 16;

} // namespace tern

#endif // TERN_DIALECT_SHAPEINFERENCE_H
