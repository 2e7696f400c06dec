//===- Passes.h - tern's graph passes and pipelines ----------------------===//

#ifndef TERN_PASSES_PASSES_H
#define TERN_PASSES_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

#include <optional>
#include <string>

namespace tern {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

/// The calibrated range of an op's activation input, [lo, hi] as an
/// array<f32> (set by ternc's calibration, read by tern-quantize-weights
/// with calibrated=true).
constexpr llvm::StringLiteral kActivationRangeAttr = "tern.activation_range";

/// Options of the graph-level pipeline that runs after import.
struct GraphPipelineOptions {
  /// Re-infer shapes and fold shape arithmetic.
  bool inferShapes = true;
  /// Transpose constant weights at compile time.
  bool foldConstantTransposes = true;
  /// Fuse written-out GELU and normalization chains.
  bool fuse = true;
  /// Fuse attention into tern.attention (with `fuse`). Its lowering, an
  /// online softmax per query tile, suits CPU threads; the GPU target runs
  /// the unfused products and softmax, whose loops spread over every score.
  bool fuseAttention = true;
  /// Fuse pointwise convolutions into the depthwise ones they feed
  /// (tern-fuse-pointwise-depthwise, with `fuse`): its lowering, bands of
  /// rows each a thread's, suits CPU caches; the GPU target runs the two
  /// convolutions apart.
  bool fusePointwiseDepthwise = true;
  /// Quantization of constant matmul weights (tern-quantize-weights; 0:
  /// none, 4: int4 weight-only in groups of `groupSize` along k, 8: int8
  /// weights with dynamic int8 activations), except the ops named (node
  /// names or op types) in `quantizeExclude`.
  int64_t weightBits = 0;
  /// With weightBits 8: activations quantized at the scales of their
  /// calibrated ranges (kActivationRangeAttr), not at run time.
  bool calibrated = false;
  int64_t groupSize = 32;
  /// weightBits 4: the accuracy_level of the MatMulNBits (4: activations
  /// quantized to int8 in the kernel; 0: f32).
  int64_t int4AccuracyLevel = 4;
  std::vector<std::string> quantizeExclude;
  /// Float matmuls on a model's own 8-bit weights as integer products of
  /// 16-bit activations (tern-int16-activations; x86-64 CPU targets).
  bool int16Activations = false;
  /// Prune constant matmul and conv weights to 2:4 (tern-prune-weights),
  /// except the ops named in `sparsityExclude`.
  bool sparsity24 = false;
  /// Or block pruning (tern-prune-weights pattern=block) of this share of
  /// rows per 32 columns (0: none).
  double blockSparsity = 0;
  std::vector<std::string> sparsityExclude;
  /// 3x3 convolutions by Winograd's algorithm (tern-winograd-conv): -1
  /// chosen per convolution by its cost model, 0 never, 2 or 4 that tile
  /// wherever it applies. The GPU target keeps direct convolutions.
  int64_t winograd = -1;
};

/// The passes `ternc --emit=tern` runs on an imported module; `tern-opt
/// --tern-graph-pipeline` runs the same. It is the preparation (shapes,
/// constant transposes, pruning), after which ternc calibrates activation
/// ranges for static quantization, then the optimization (quantization,
/// fusion, sinking).
void buildGraphPipeline(mlir::OpPassManager &pm, const GraphPipelineOptions &options);
void buildGraphPreparation(mlir::OpPassManager &pm, const GraphPipelineOptions &options);
void buildGraphOptimization(mlir::OpPassManager &pm, const GraphPipelineOptions &options);

/// How far the lowering goes.
enum class LoweringStage {
  Tern,       ///< imported (and graph-optimized) tern dialect
  Linalg,     ///< tern lowered to linalg/tensor/arith/math on tensors
  Buffers,    ///< bufferized, weights externalized, memory planned
  LLVMDialect ///< the LLVM dialect, ready for translation to LLVM IR
};

/// The shape of the matmul kernels (tern-vectorize-contractions), chosen
/// for the target's vector registers.
struct KernelShape {
  int64_t vectorBits = 512; ///< width of a vector register
  int64_t rows = 8;         ///< rows of C per kernel
  int64_t vectors = 2;      ///< vector registers across a row of C
  bool vnni = false;        ///< x86 u8 x s8 dot products (vpdpbusd) at vectorBits
  bool permute = false;     ///< x86 lane permutes (vpermps) at vectorBits: the 2:4-sparse kernel
  bool usdot = false;       ///< AArch64 u8 x s8 dot products (usdot, FEAT_I8MM) on 128-bit vectors
  bool pmaddwd = false;     ///< x86 i16 pair multiply-adds (pmaddwd) at vectorBits: bytes without VNNI
  bool sdot = false;        ///< AArch64 s8 x s8 dot products (sdot, FEAT_DotProd) without usdot
  bool maskedStores = false; ///< masked vector stores as cheap as plain ones (AVX-512's k masks)
  bool ieeeMinMax = true;    ///< maximumf/minimumf are one instruction (AArch64's fmax; not x86)
};

/// The kernel shape for a target with the given LLVM feature string
/// ("+avx512f,+avx2,..."), architecture "x86_64" or "aarch64".
KernelShape kernelShapeFor(llvm::StringRef arch, llvm::StringRef features);

/// An NVIDIA GPU to compile the model's kernels for (ternc --target=nvptx).
struct GPUTarget {
  std::string chip = "sm_90";    ///< sm_80, sm_90, sm_90a...
  std::string features;          ///< the PTX version, e.g. "+ptx80"
  std::string format = "isa";    ///< "isa": PTX the driver compiles at load; "bin": a cubin (needs ptxas)
  std::string toolkit;           ///< the CUDA toolkit ptxas and libdevice come from ("": none)
  int optLevel = 3;
  /// The contractions' operand type: "fp32", or "fp16"/"bf16" (operands
  /// narrowed, products and sums in f32: tern-lower-precision).
  std::string precision = "fp32";
  /// Testing: run the launches on the host CPU as parallel loops (a CPU
  /// model), to check the GPU pipeline's steps without a GPU.
  bool emulate = false;
};

/// The PTX features a chip needs from LLVM's NVPTX backend (sm_90: PTX 8.0).
std::string ptxFeaturesFor(llvm::StringRef chip);

struct LoweringOptions {
  LoweringStage from = LoweringStage::Tern;
  LoweringStage to = LoweringStage::LLVMDialect;
  KernelShape kernel;
  /// When set, the model runs on this GPU: the Buffers and LLVMDialect
  /// stages follow the GPU pipeline (lib/Codegen/GPU) instead of the CPU's.
  std::optional<GPUTarget> gpu;
};

/// tern -> linalg -> bufferization -> LLVM dialect: what `ternc` runs after
/// the graph pipeline; `tern-opt --tern-lower-to-linalg` and
/// `--tern-lower-to-llvm` run the same.
void buildLoweringPipeline(mlir::OpPassManager &pm, const LoweringOptions &options);

/// The GPU pipeline's first steps after the Buffers stage: linalg to loops,
/// each top-level loop nest of @main a gpu.launch (tern-map-to-gpu). With
/// `tensorCores` (a chip of sm_80 or later, not emulated), 16-bit matmuls
/// become launches of mma.sync kernels of their own; with `warpReductions`
/// (not emulated: shuffles), reductions launches of a warp per output.
void buildGPULaunches(mlir::OpPassManager &pm, bool tensorCores = false, bool warpReductions = false);

/// Does `chip` (sm_NN) have the mma.sync m16n8k16 tensor-core instructions?
bool hasTensorCores(llvm::StringRef chip);

/// Registers every tern pass and pipeline with the global registry.
void registerAllPasses();

} // namespace tern

#endif // TERN_PASSES_PASSES_H
