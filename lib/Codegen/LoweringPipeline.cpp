//===- LoweringPipeline.cpp - tern to the LLVM dialect --------------------===//

#include "passes/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

namespace tern {

static void addBufferization(mlir::OpPassManager &pm);
static void addLLVMLowering(mlir::OpPassManager &pm);

void buildLoweringPipeline(mlir::OpPassManager &pm, const LoweringOptions &options) {
  using namespace mlir;
  auto runs = [&](LoweringStage stage) { return options.from < stage && stage <= options.to; };
  if (runs(LoweringStage::Linalg)) {
    pm.addPass(createTernToLinalgPass());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
  }
  if (runs(LoweringStage::Buffers))
    addBufferization(pm);
  if (runs(LoweringStage::LLVMDialect))
    addLLVMLowering(pm);
}

static void addBufferization(mlir::OpPassManager &pm) {
  using namespace mlir;
  pm.addNestedPass<func::FuncOp>(createTernFuseElementwisePass());
  pm.addNestedPass<func::FuncOp>(createTernBlockMatmulsPass());
  pm.addNestedPass<func::FuncOp>(createTernInterchangeForVectorizationPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(bufferization::createEmptyTensorToAllocTensorPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion = bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createTernExternalizeWeightsPass());
  pm.addPass(createTernPlanMemoryPass());
  pm.addPass(createCanonicalizerPass());
}

static void addLLVMLowering(mlir::OpPassManager &pm) {
  using namespace mlir;
  pm.addPass(createTernLowerCopiesPass());
  pm.addNestedPass<func::FuncOp>(createForallToParallelLoopPass());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createTernOutlineParallelLoopsPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(arith::createArithExpandOpsPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

} // namespace tern
