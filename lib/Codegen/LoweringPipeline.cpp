//===- LoweringPipeline.cpp - tern to the LLVM dialect --------------------===//

#include "lib/Codegen/Pipelines.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

namespace tern {

static void addBufferization(mlir::OpPassManager &pm, const KernelShape &kernel);
static void addLLVMLowering(mlir::OpPassManager &pm, const KernelShape &kernel);

KernelShape kernelShapeFor(llvm::StringRef arch, llvm::StringRef features) {
  // The last of "+f" and "-f" wins (the user's -mattr follows the host's).
  auto has = [&](llvm::StringRef f) {
    bool on = false;
    for (llvm::StringRef item : llvm::split(features, ','))
      if (item.size() == f.size() + 1 && item.drop_front() == f)
        on = item.front() == '+';
    return on;
  };
  if (arch == "aarch64")
    return {128, 8, 2, false, false, has("i8mm"), false,
            !has("i8mm") && has("dotprod")}; // 32 NEON registers: 16 accumulators
  KernelShape x86;
  if (has("avx512f"))
    x86 = {512, 8, 2, has("avx512vnni"), true, false, has("avx512bw"), false,
           true}; // 32 zmm: 16 accumulators, 2 of B, 1 broadcast; k-masked stores
  else if (has("avx2") || has("avx"))
    x86 = {256, 6, 2, has("avxvnni"), has("avx2"), false, has("avx2")}; // 16 ymm; AVX-VNNI: vpdpbusd on ymm
  else
    x86 = {128, 4, 2, false, false, false, arch == "x86_64"}; // SSE2
  x86.ieeeMinMax = arch != "x86_64";
  return x86;
}

void buildLoweringPipeline(mlir::OpPassManager &pm, const LoweringOptions &options) {
  using namespace mlir;
  auto runs = [&](LoweringStage stage) { return options.from < stage && stage <= options.to; };
  if (runs(LoweringStage::Linalg)) {
    pm.addPass(createTernToLinalgPass({/*broadcastAtRunTime=*/!options.gpu}));
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
  }
  if (runs(LoweringStage::Buffers)) {
    if (options.gpu)
      addGPUBufferization(pm, *options.gpu);
    else
      addBufferization(pm, options.kernel);
  }
  if (runs(LoweringStage::LLVMDialect)) {
    if (options.gpu && options.gpu->emulate) {
      buildGPULaunches(pm);
      pm.addPass(createTernEmulateGPULaunchesPass());
      addLLVMLowering(pm, KernelShape());
    } else if (options.gpu) {
      addGPULowering(pm, *options.gpu);
    } else {
      addLLVMLowering(pm, options.kernel);
    }
  }
}

static void addBufferization(mlir::OpPassManager &pm, const KernelShape &kernel) {
  using namespace mlir;
  pm.addNestedPass<func::FuncOp>(createTernFuseElementwisePass());
  pm.addNestedPass<func::FuncOp>(createTernInterchangeForVectorizationPass());
  pm.addPass(createCanonicalizerPass());
  addOneShotBufferization(pm);
  pm.addPass(createTernVectorizeContractionsPass({kernel.vectorBits, kernel.rows, kernel.vectors, true, true, kernel.vnni,
                                                      kernel.permute, kernel.usdot, kernel.pmaddwd, kernel.sdot}));
  pm.addPass(createTernVectorizeTransposesPass({kernel.vectorBits}));
  pm.addPass(createTernVectorizeRowsPass({kernel.vectorBits}));
  pm.addPass(createTernVectorizeReductionsPass({kernel.vectorBits, 4}));
  pm.addPass(createTernExternalizeWeightsPass());
  pm.addPass(createTernPlanMemoryPass());
  pm.addPass(createCanonicalizerPass());
}

void addOneShotBufferization(mlir::OpPassManager &pm) {
  using namespace mlir;
  pm.addNestedPass<func::FuncOp>(createTernUnshareInitsPass());
  pm.addNestedPass<func::FuncOp>(createTernDecomposePadsPass());
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  pm.addPass(bufferization::createEmptyTensorToAllocTensorPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion = bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // CSE makes the copy of a padded tensor's interior onto itself (left
  // where its producer now writes in place) a self-copy, which folds away.
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());
}

static void addLLVMLowering(mlir::OpPassManager &pm, const KernelShape &kernel) {
  using namespace mlir;
  pm.addPass(createTernLowerCopiesPass());
  pm.addNestedPass<func::FuncOp>(createForallToParallelLoopPass());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createTernOutlineParallelLoopsPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createTernApproximateMathPass());
  if (!kernel.ieeeMinMax)
    pm.addPass(createTernExpandMinMaxPass());
  if (!kernel.maskedStores)
    pm.addPass(createTernSplitMaskedStoresPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  // bf16 conversions as integer ops: without AVX512-BF16, LLVM calls
  // __truncsfbf2, which libgcc before GCC 13 (Debian 12's) lacks, and the
  // library would not load.
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  // Register transposes (tern-vectorize-transposes) as one shuffle of the
  // flattened tile: a few byte permutes instead of an element at a time.
  ConvertVectorToLLVMPassOptions vectorToLLVM;
  vectorToLLVM.vectorTransposeLowering = vector::VectorTransposeLowering::Shuffle1D;
  pm.addPass(createConvertVectorToLLVMPass(vectorToLLVM));
  pm.addPass(createUBToLLVMConversionPass()); // the shuffles' poison operands
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

} // namespace tern
