//===- Pipelines.h - the lowering pipeline's pieces, CPU and GPU ----------===//
//
// buildLoweringPipeline (passes/Passes.h) puts these together: the GPU's
// (GPU/GPUPipeline.cpp) and the steps both targets share
// (LoweringPipeline.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef TERN_LIB_CODEGEN_PIPELINES_H
#define TERN_LIB_CODEGEN_PIPELINES_H

#include "passes/Passes.h"

namespace tern {

/// Pads decomposed, empty tensors eliminated, one-shot bufferization with
/// identity layouts at @main's boundary, then CSE and canonicalization.
void addOneShotBufferization(mlir::OpPassManager &pm);

/// The GPU target's Buffers and LLVMDialect stages.
void addGPUBufferization(mlir::OpPassManager &pm, const GPUTarget &gpu);
void addGPULowering(mlir::OpPassManager &pm, const GPUTarget &gpu);

} // namespace tern

#endif
