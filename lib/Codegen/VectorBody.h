//===- VectorBody.h - a linalg body computed on vectors ---------*- C++ -*-===//
//
// The kernels that tern-vectorize-contractions and tern-vectorize-rows emit
// compute an elementwise linalg.generic's scalar body on whole vectors: the
// same arith/math ops with vector types.
//
//===----------------------------------------------------------------------===//

#ifndef TERN_CODEGEN_VECTORBODY_H
#define TERN_CODEGEN_VECTORBODY_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/IRMapping.h"

namespace tern {

/// Can vectorizeBody compute `op`'s body: arith/math elementwise ops on
/// scalars (and constants), not reading the outputs' current values? Integer
/// divisions are left out, as masked-off lanes would divide by zero.
bool vectorizableBody(mlir::linalg::GenericOp op);

/// Computes `op`'s body on vectors of `lanes` lanes and returns the value
/// it yields, as a vector of the first result's element type. The body's
/// input block arguments must be mapped in `map` to vectors; constants
/// become splats and scalars from outside the body broadcasts.
mlir::Value vectorizeBody(mlir::OpBuilder &b, mlir::Location loc, mlir::linalg::GenericOp op,
                          mlir::IRMapping &map, int64_t lanes);

/// How an indexing map reads loop `d`: not at all, only as its last
/// result (a plain dim), or otherwise.
enum class Along { No, Last, Other };
Along along(mlir::AffineMap map, unsigned d);

/// The widest element (in bits) of `op`'s operands when each is a memref of
/// 8- to `maxBits`-bit elements and each input reads loop `inner` as its
/// last dim with unit stride or not at all, through plain dims and
/// constants (what the row-wise vectorizers load as vectors or broadcast);
/// nothing otherwise.
/// With `strided`, an input may also be a strided view (see StridedView)
/// read along the row; with `windows`, its other dims any affine
/// expressions of the loops (a window's gather: o + k).
std::optional<int64_t> rowOperandBits(mlir::linalg::GenericOp op, unsigned inner, int64_t maxBits,
                                      bool strided = false, bool windows = false);

/// A view read along its last dim with a constant stride of 2 to 4 (a
/// strided convolution's tap, a slice of its padded input): the buffer it
/// views, whose last dim has unit stride, and its static offsets and
/// strides there.
struct StridedView {
  mlir::Value source;
  llvm::SmallVector<int64_t> offsets, strides;
};
std::optional<StridedView> stridedView(mlir::Value mem);

/// A vector of `type` read from strided view `view` at `idx`, its first
/// `count` lanes valid: one contiguous masked load of the source spanning
/// them, then the lanes every stride apart picked out.
mlir::Value loadStridedVector(mlir::OpBuilder &b, mlir::Location loc, mlir::VectorType type,
                              const StridedView &view, mlir::ValueRange idx, int64_t count);

/// `e` at the loop position `at` (a value per loop), as index arithmetic.
mlir::Value evaluateAffine(mlir::OpBuilder &b, mlir::Location loc, mlir::AffineExpr e, llvm::ArrayRef<mlir::Value> at);

/// The indices `map` reads at loop position `at` (a value per loop; the
/// map's results affine expressions of the loops, no symbols).
llvm::SmallVector<mlir::Value> mapIndices(mlir::OpBuilder &b, mlir::Location loc, mlir::AffineMap map,
                                          llvm::ArrayRef<mlir::Value> at);

/// A vector of `type` from `mem` at `idx`: masked by `mask` (zeros in the
/// lanes masked off) when it is not null.
mlir::Value loadVector(mlir::OpBuilder &b, mlir::Location loc, mlir::VectorType type, mlir::Value mem,
                       mlir::ValueRange idx, mlir::Value mask);

/// The columns of the L x L tile whose rows are `rows` (vectors of L
/// lanes; rows past the end of a partial tile as null values, read as
/// zeros). Eight rows of 8 32-bit lanes: three rounds of two-input
/// shuffles of whole rows, each one AVX instruction (vunpcklps/vunpckhps,
/// vshufps, vperm2f128: 24 in all); others log2(L) rounds of perfect
/// shuffles (interleaves of two rows' halves).
/// (A tile built from rows and transposed whole would be folded by the
/// canonicalizer into lanes moved one at a time, which LLVM's x86 backend
/// assembles with a broadcast and a blend each.)
llvm::SmallVector<mlir::Value> transposeRows(mlir::OpBuilder &b, mlir::Location loc, mlir::VectorType row,
                                             llvm::ArrayRef<mlir::Value> rows);

} // namespace tern

#endif
