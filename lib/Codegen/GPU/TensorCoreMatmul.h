//===- TensorCoreMatmul.h - 16-bit contractions on the tensor cores -------===//
//
// tern-lower-reductions-to-loops' kernel for a matmul whose operands are
// 16-bit floats (--precision=fp16|bf16, or a model in fp16) accumulating
// in f32: one gpu.launch of 64x64 output tiles, each a block of 4 warps
// that stage 64x32 slices of A and B in shared memory and multiply them
// with mma.sync m16n8k16 (sm_80 and later).
//
//===----------------------------------------------------------------------===//
#ifndef TERN_CODEGEN_GPU_TENSORCOREMATMUL_H
#define TERN_CODEGEN_GPU_TENSORCOREMATMUL_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <optional>

namespace tern {

/// A linalg contraction C[batch.., m, n] += A[.., m, .., k] * B[.., k, .., n]
/// the tensor cores run: operands f16 or bf16 (both the same), the output
/// f32, the body extf/extf/mulf/addf; loop dims as below; the operands'
/// indexing results dims or constants; the output's the parallel dims.
struct MmaContraction {
  mlir::linalg::GenericOp op;
  unsigned m, n, k;
  llvm::SmallVector<unsigned> batch; // the other parallel dims, outermost first
  bool bf16;
};

std::optional<MmaContraction> matchMmaContraction(mlir::linalg::LinalgOp op);

/// How many ways to split `c`'s k among blocks: more than 1 when its
/// output tiles are too few to fill the GPU and k is long (static shapes).
int64_t mmaSplits(const MmaContraction &c);

/// Replaces nothing: emits, at the builder, the gpu.launch computing `c`.
/// Its accumulators start from `init` when given (a constant the output
/// holds), else from the output. `emitResult` is called, inside the launch,
/// once per output element (guarded to lie in the output) with its indices
/// and value, and stores it (and whatever else is to be done with it).
/// With `splits` > 1, each block sums its part of k from 0 and adds it to
/// the output atomically (`init` null, `emitResult` unused): the output
/// must hold its start, and anything after runs after.
void emitMmaKernel(mlir::OpBuilder &b, mlir::Location loc, const MmaContraction &c, mlir::Value init, int64_t splits,
                   llvm::function_ref<void(mlir::OpBuilder &, mlir::Location, llvm::ArrayRef<mlir::Value>,
                                           mlir::Value)>
                       emitResult);

} // namespace tern

#endif
