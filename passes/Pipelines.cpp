//===- Pipelines.cpp - pipelines ternc and tern-opt share ----------------===//

#include "passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/CommandLine.h"
#include "mlir/Transforms/Passes.h"

namespace tern {

namespace {
#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"
} // namespace

void buildGraphPipeline(mlir::OpPassManager &pm, const GraphPipelineOptions &options) {
  buildGraphPreparation(pm, options);
  buildGraphOptimization(pm, options);
}

void buildGraphPreparation(mlir::OpPassManager &pm, const GraphPipelineOptions &options) {
  if (options.inferShapes)
    pm.addNestedPass<mlir::func::FuncOp>(createTernInferShapesPass());
  if (options.foldConstantTransposes)
    pm.addNestedPass<mlir::func::FuncOp>(createTernFoldConstantTransposesPass());
  if (options.sparsity24 || options.blockSparsity > 0) {
    TernPruneWeightsPassOptions prune;
    if (options.blockSparsity > 0) {
      prune.pattern = "block";
      prune.ratio = options.blockSparsity;
    }
    prune.exclude.assign(options.sparsityExclude.begin(), options.sparsityExclude.end());
    pm.addNestedPass<mlir::func::FuncOp>(createTernPruneWeightsPass(prune));
  }
}

void buildGraphOptimization(mlir::OpPassManager &pm, const GraphPipelineOptions &options) {
  if (options.weightBits) {
    TernQuantizeWeightsPassOptions quantize;
    quantize.bits = options.weightBits;
    quantize.groupSize = options.groupSize;
    quantize.accuracyLevel = options.int4AccuracyLevel;
    quantize.calibrated = options.calibrated;
    quantize.exclude.assign(options.quantizeExclude.begin(), options.quantizeExclude.end());
    pm.addNestedPass<mlir::func::FuncOp>(createTernQuantizeWeightsPass(quantize));
  }
  if (options.fuse) {
    pm.addNestedPass<mlir::func::FuncOp>(createTernIntegerQDQPass());
    if (options.int16Activations)
      pm.addNestedPass<mlir::func::FuncOp>(createTernInt16ActivationsPass());
    pm.addNestedPass<mlir::func::FuncOp>(createTernFoldWeightDequantizationPass());
    pm.addNestedPass<mlir::func::FuncOp>(createTernFoldBatchNormalizationPass());
    pm.addNestedPass<mlir::func::FuncOp>(createTernFuseGeluPass());
    pm.addNestedPass<mlir::func::FuncOp>(createTernFuseNormalizationPass());
    if (options.fuseAttention)
      pm.addNestedPass<mlir::func::FuncOp>(createTernFuseAttentionPass());
    if (options.fusePointwiseDepthwise)
      pm.addNestedPass<mlir::func::FuncOp>(createTernFusePointwiseDepthwisePass());
  }
  if (options.winograd != 0)
    pm.addNestedPass<mlir::func::FuncOp>(createTernWinogradConvPass({std::max<int64_t>(options.winograd, 0)}));
  pm.addNestedPass<mlir::func::FuncOp>(createTernSinkConstantComputationsPass());
}

namespace {
struct GPUPipelineOptions : mlir::PassPipelineOptions<GPUPipelineOptions> {
  Option<std::string> chip{*this, "chip", llvm::cl::desc("The GPU (sm_80, sm_90...)"), llvm::cl::init("sm_90")};
  Option<std::string> format{*this, "format", llvm::cl::desc("isa (PTX) or bin (a cubin, needs ptxas)"),
                             llvm::cl::init("isa")};
  Option<std::string> precision{*this, "precision", llvm::cl::desc("fp32, fp16 or bf16 contraction operands"),
                                llvm::cl::init("fp32")};
  Option<bool> loops{*this, "launches-only",
                     llvm::cl::desc("Stop after tern-map-to-gpu: the launches in @main, before outlining"),
                     llvm::cl::init(false)};
};
} // namespace

void registerAllPasses() {
  registerTernPasses();
  mlir::PassPipelineRegistration<>(
      "tern-graph-pipeline", "The graph passes ternc runs after import",
      [](mlir::OpPassManager &pm) { buildGraphPipeline(pm, GraphPipelineOptions()); });
  mlir::PassPipelineRegistration<>(
      "tern-lower-to-linalg", "Lowers tern to linalg on tensors, as ternc --emit=linalg",
      [](mlir::OpPassManager &pm) { buildLoweringPipeline(pm, {LoweringStage::Tern, LoweringStage::Linalg, {}, std::nullopt}); });
  mlir::PassPipelineRegistration<>(
      "tern-lower-to-buffers", "Lowers tern to planned buffers (memref)",
      [](mlir::OpPassManager &pm) { buildLoweringPipeline(pm, {LoweringStage::Tern, LoweringStage::Buffers, {}, std::nullopt}); });
  mlir::PassPipelineRegistration<>(
      "tern-lower-to-llvm", "Lowers tern to the LLVM dialect, as ternc does before code generation",
      [](mlir::OpPassManager &pm) { buildLoweringPipeline(pm, {LoweringStage::Tern, LoweringStage::LLVMDialect, {}, std::nullopt}); });
  mlir::PassPipelineRegistration<GPUPipelineOptions>(
      "tern-lower-to-nvvm",
      "Lowers tern to NVVM kernels in PTX and their host code in the LLVM dialect, as ternc --target=nvptx",
      [](mlir::OpPassManager &pm, const GPUPipelineOptions &options) {
        GPUTarget gpu;
        gpu.chip = options.chip;
        gpu.format = options.format;
        gpu.precision = options.precision;
        LoweringOptions lowering{LoweringStage::Tern, LoweringStage::LLVMDialect, {}, gpu};
        if (options.loops)
          lowering.to = LoweringStage::Buffers;
        buildLoweringPipeline(pm, lowering);
        if (options.loops)
          buildGPULaunches(pm, hasTensorCores(gpu.chip), /*warpReductions=*/true);
      });
}

} // namespace tern
