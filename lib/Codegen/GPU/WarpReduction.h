//===- WarpReduction.h - a warp per output of a reduction -----------------===//
//
// tern-lower-reductions-to-loops' kernel for a reduction (a sum, a maximum)
// whose outputs each read their own inputs (layer norms' means and
// variances, softmax's maxima and sums): one warp per output, its 32 lanes
// reading consecutive elements, their partial results combined by
// shuffles. One thread per output would leave a GPU idle (GPT-2's 128 rows
// are 128 threads, each summing 768 elements alone).
//
//===----------------------------------------------------------------------===//
#ifndef TERN_CODEGEN_GPU_WARPREDUCTION_H
#define TERN_CODEGEN_GPU_WARPREDUCTION_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace tern {

/// `map`'s results at the loop dims' values `ivs` (non-dim results through
/// affine.apply): the indices a linalg op's operand is read at.
llvm::SmallVector<mlir::Value> indicesAt(mlir::OpBuilder &b, mlir::Location loc, mlir::AffineMap map,
                                         llvm::ArrayRef<mlir::Value> ivs);

/// A gpu.launch of `blocks` blocks of `warps` groups of `lanes` threads,
/// with the builder left at the start of its body (before its
/// terminator; the caller restores it): the launch, the thread's lane and
/// its group's number in the grid.
struct WarpLaunch {
  mlir::gpu::LaunchOp launch;
  mlir::Value lane, warp;
};
WarpLaunch emitWarpLaunch(mlir::OpBuilder &b, mlir::Location loc, mlir::Value blocks, int64_t lanes, int64_t warps);

/// The identity of a reduction's combining op on f32 (addf: 0, the
/// maxima: -inf, the minima: +inf); none for other ops.
std::optional<float> identityOf(mlir::Operation *combine);

/// `acc` combined (by a clone of `combine`) across the `lanes` lanes of a
/// warp (a power of 2) by butterfly shuffles: every lane gets the result.
mlir::Value combineAcrossLanes(mlir::OpBuilder &b, mlir::Location loc, mlir::Value acc, mlir::Operation *combine,
                               int64_t lanes);

/// The indices, in a row-major space of static `extents`, of the point at
/// `linear` (the last dim varying fastest).
llvm::SmallVector<mlir::Value> delinearize(mlir::OpBuilder &b, mlir::Location loc, mlir::Value linear,
                                           llvm::ArrayRef<int64_t> extents);

/// The combining op of a reduction a warp per output can run: one
/// reduction dim of at least `minExtent` iterations (or dynamic), every input
/// indexed by every parallel dim, an f32 output, and a body yielding
/// `combine(out, x)` (addf, maximumf, maxnumf, minimumf, minnumf) with `out`
/// used nowhere else. Null when it cannot.
mlir::Operation *matchWarpReduction(mlir::linalg::LinalgOp op, int64_t minExtent = 32);

/// Emits, at the builder, the gpu.launch computing `op` (combined by
/// `combine`): blocks of 4 warps, a warp per output element, which starts
/// from `init` when given (a constant the output holds) or the output.
/// `emitResult` stores each result (lane 0 of its warp).
void emitWarpReduction(mlir::OpBuilder &b, mlir::Location loc, mlir::linalg::LinalgOp op, mlir::Operation *combine,
                       mlir::Value init,
                       llvm::function_ref<void(mlir::OpBuilder &, mlir::Location, llvm::ArrayRef<mlir::Value>,
                                               mlir::Value)>
                           emitResult);

} // namespace tern

#endif
