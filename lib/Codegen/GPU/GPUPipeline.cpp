//===- GPUPipeline.cpp - linalg to NVVM kernels and their host code -------===//
//
// The Buffers and LLVMDialect stages of the lowering for an NVIDIA GPU
// (ternc --target=nvptx). Bufferization is the CPU's without its kernels
// (those are x86/AArch64 vector code), and every constant goes into the
// weights blob, which the runtime uploads to the device once. Then linalg
// becomes parallel loops, tern-map-to-gpu launches them, upstream MLIR
// outlines the kernels, lowers them to NVVM and, through LLVM's NVPTX
// backend, to PTX (and a cubin with ptxas when a CUDA toolkit is at hand).
// The host side is @main calling the GPU runtime API (`mgpu*`), which code
// generation routes to the runtime's CUDA layer (lib/Codegen/GPU/GPUHost.cpp).
//
//===----------------------------------------------------------------------===//

#include "lib/Codegen/Pipelines.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"

namespace tern {

std::string ptxFeaturesFor(llvm::StringRef chip) {
  // LLVM's default PTX version is too old for the newer chips.
  if (chip.starts_with("sm_10") || chip.starts_with("sm_12"))
    return "+ptx88";
  if (chip.starts_with("sm_90"))
    return "+ptx80";
  if (chip.starts_with("sm_89"))
    return "+ptx78";
  return "+ptx70";
}

void addGPUBufferization(mlir::OpPassManager &pm, const GPUTarget &gpu) {
  using namespace mlir;
  if (gpu.precision != "fp32") {
    pm.addNestedPass<func::FuncOp>(createTernLowerPrecisionPass({gpu.precision == "bf16" ? "bf16" : "f16"}));
    // One conversion of a tensor that several matmuls read (BERT's query,
    // key and value projections of one norm's output), not one each.
    pm.addPass(createCSEPass());
  }
  pm.addNestedPass<func::FuncOp>(createTernFuseElementwisePass({/*throughViews=*/true}));
  pm.addPass(createCanonicalizerPass());
  addOneShotBufferization(pm);
  // Before the memory plan: the chains' temporaries are allocations of
  // their own, not bytes the plan gave to other tensors too. The host
  // runs an emulated launch's threads one by one: a row per thread.
  pm.addNestedPass<func::FuncOp>(
      createTernGPURowKernelsPass({gpu.emulate ? 1 : 32, !gpu.emulate && hasTensorCores(gpu.chip)}));
  pm.addPass(createTernExternalizeWeightsPass({/*allConstants=*/true}));
  // The device arena is allocated once, of the static size.
  pm.addPass(createTernPlanMemoryPass({/*scaleWithInputs=*/false}));
  pm.addPass(createCanonicalizerPass());
}

bool hasTensorCores(llvm::StringRef chip) {
  unsigned version = 0;
  return chip.consume_front("sm_") && !chip.take_while(llvm::isDigit).getAsInteger(10, version) && version >= 80;
}

void buildGPULaunches(mlir::OpPassManager &pm, bool tensorCores, bool warpReductions) {
  using namespace mlir;
  pm.addPass(createTernLowerCopiesPass());
  pm.addNestedPass<func::FuncOp>(createForallToParallelLoopPass());
  // Each thread of a contraction computes 8 rows: 8 accumulators in
  // registers, each weight loaded once for them.
  pm.addNestedPass<func::FuncOp>(createTernLowerReductionsToLoopsPass({/*rows=*/8, tensorCores, warpReductions}));
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createTernMapToGPUPass());
}

void addGPULowering(mlir::OpPassManager &pm, const GPUTarget &gpu) {
  using namespace mlir;
  buildGPULaunches(pm, hasTensorCores(gpu.chip), /*warpReductions=*/true);
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createTernMergeGPUModulesPass());

  // The kernels: NVVM, then PTX or a cubin.
  GpuNVVMAttachTargetOptions target;
  target.chip = gpu.chip;
  target.features = gpu.features.empty() ? ptxFeaturesFor(gpu.chip) : gpu.features;
  target.optLevel = gpu.optLevel;
  pm.addPass(createGpuNVVMAttachTarget(target));
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  // Math as polynomials of arith ops: no libdevice calls, which a machine
  // without the CUDA toolkit could not resolve.
  kernels.addPass(createTernApproximateMathPass());
  kernels.addPass(arith::createArithExpandOpsPass());
  kernels.addPass(createSCFToControlFlowPass());
  // The tensor-core kernels' 16-byte loads and register shuffles.
  kernels.addPass(createConvertVectorToLLVMPass());
  ConvertGpuOpsToNVVMOpsOptions nvvm;
  nvvm.indexBitwidth = 64;
  kernels.addPass(createConvertGpuOpsToNVVMOps(nvvm));
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createCSEPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions binary;
  binary.toolkitPath = gpu.toolkit;
  binary.compilationTarget = gpu.format;
  pm.addPass(createGpuModuleToBinaryPass(binary));

  // The host: @main's index arithmetic, allocations and launches.
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(arith::createArithExpandOpsPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

} // namespace tern
