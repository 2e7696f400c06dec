//===- Ternc.cpp - the ternc compiler driver -----------------------------===//

#include "tern/Codegen/Codegen.h"
#include "tern/Driver/Driver.h"
#include "lib/Driver/Calibration.h"
#include "tern/Importer/Importer.h"

#include "passes/Passes.h"
#include "dialects/Tern/TernOps.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/CodeGen/CommandFlags.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace llvm;

namespace {

enum class Emit { Auto, Tern, Linalg, Buffers, LLVM, Asm, Obj, So, PTX };
enum class GPUBinary { Auto, PTX, Cubin };
enum class Weights { Auto, Embed, External };

struct TerncOptions {
  cl::OptionCategory category{"ternc options"};
  cl::opt<std::string> input{cl::Positional, cl::desc("<model.onnx | model.onnxtext>"),
                             cl::Required, cl::cat(category)};
  cl::opt<std::string> output{"o", cl::desc("Output file ('-' for stdout, the default)"),
                              cl::value_desc("file"), cl::init("-"), cl::cat(category)};
  cl::opt<Emit> emit{
      "emit", cl::desc("What to produce (default: from the -o extension, .so/.o/.ll/.s, else tern)"),
      cl::init(Emit::Auto),
      cl::values(clEnumValN(Emit::Tern, "tern", "the imported model as tern dialect IR"),
                 clEnumValN(Emit::Linalg, "linalg", "the model lowered to linalg on tensors"),
                 clEnumValN(Emit::Buffers, "buffers",
                            "the model on planned buffers (kernels vectorized, memory planned), before the LLVM dialect"),
                 clEnumValN(Emit::LLVM, "llvm", "optimized LLVM IR"),
                 clEnumValN(Emit::Asm, "asm", "assembly"),
                 clEnumValN(Emit::Obj, "obj", "an object file (plus a C header beside it)"),
                 clEnumValN(Emit::So, "so", "a shared library"),
                 clEnumValN(Emit::PTX, "ptx", "--target=nvptx: the kernels' PTX")),
      cl::cat(category)};
  cl::opt<std::string> target{"target",
                              cl::desc("Target: x86_64 or aarch64 (default: the host), or nvptx (an NVIDIA GPU, "
                                       "driven from the host; see --gpu-arch)"),
                              cl::init(""), cl::cat(category)};
  cl::opt<std::string> gpuArch{"gpu-arch", cl::desc("--target=nvptx: the GPU, sm_80 or sm_90 (default sm_90)"),
                               cl::init("sm_90"), cl::cat(category)};
  cl::opt<GPUBinary> gpuBinary{
      "gpu-binary", cl::desc("--target=nvptx: how kernels are stored (default: a cubin when ptxas is found)"),
      cl::init(GPUBinary::Auto),
      cl::values(clEnumValN(GPUBinary::PTX, "ptx", "PTX, compiled by the CUDA driver when the model loads"),
                 clEnumValN(GPUBinary::Cubin, "cubin", "a cubin for --gpu-arch, by the CUDA toolkit's ptxas")),
      cl::cat(category)};
  cl::opt<std::string> precision{
      "precision",
      cl::desc("--target=nvptx: the operands of matmuls, convolutions and attention: fp32 (default), fp16 or "
               "bf16 (weights converted at compile time; products and sums stay fp32)"),
      cl::value_desc("fp32|fp16|bf16"), cl::init("fp32"), cl::cat(category)};
  cl::opt<bool> emulateGPU{"emulate-gpu",
                           cl::desc("--target=nvptx, for testing without a GPU: compile the GPU pipeline's "
                                    "launches as host loops (a CPU library)"),
                           cl::init(false), cl::Hidden, cl::cat(category)};
  cl::opt<std::string> cudaPath{"cuda-path",
                                cl::desc("The CUDA toolkit whose ptxas makes cubins (default: $CUDA_PATH, "
                                         "$CUDA_HOME or /usr/local/cuda; none is needed for PTX)"),
                                cl::init(""), cl::cat(category)};
  cl::opt<unsigned> optLevel{"O", cl::desc("Optimization level 0-3 (default 3)"), cl::Prefix, cl::init(3),
                             cl::cat(category)};
  cl::opt<Weights> weights{
      "weights", cl::desc("Where weights go (default: embedded up to 64 MiB, else external)"),
      cl::init(Weights::Auto),
      cl::values(clEnumValN(Weights::Embed, "embed", "inside the library"),
                 clEnumValN(Weights::External, "external", "in OUT.weights beside it, memory-mapped at load")),
      cl::cat(category)};
  cl::opt<std::string> modelName{"model-name",
                                 cl::desc("The model's name (default: the output file's stem); an object "
                                          "file exports <name>_tern_model_abi"),
                                 cl::init(""), cl::cat(category)};
  cl::list<std::string> inputShapes{
      "input-shape",
      cl::desc("Pin a graph input's shape, e.g. input_ids=1x128 (repeatable; 'scalar' for rank 0)"),
      cl::value_desc("NAME=DIMS"), cl::cat(category)};
  cl::opt<bool> printWeights{
      "print-weights",
      cl::desc("Print weight blobs in full (default: elided, so the output stays small)"),
      cl::init(false), cl::cat(category)};
  cl::opt<bool> noGraphPasses{"no-graph-passes",
                              cl::desc("Print the IR exactly as imported, before graph passes"),
                              cl::init(false), cl::cat(category)};
  cl::opt<bool> verbose{"v", cl::desc("Report progress and timings on stderr"), cl::init(false),
                        cl::cat(category)};
  cl::opt<std::string> quantize{
      "quantize",
      cl::desc("Post-training quantization: int8 (weights int8 per column or filter, activations uint8 at "
               "scales calibrated on --calibration-data), int8-dynamic (activations quantized per tensor "
               "at run time), int4-weight (matmul weights to 4 bits; see --group-size, --int4-compute)"),
      cl::value_desc("int8|int8-dynamic|int4-weight"), cl::init(""), cl::cat(category)};
  cl::opt<std::string> calibrationData{
      "calibration-data",
      cl::desc("--quantize=int8: calibration samples, one NAME.npy per input (first axis: samples) or ONNX "
               "test-data folders (input_N.pb)"),
      cl::value_desc("DIR"), cl::init(""), cl::cat(category)};
  cl::opt<std::string> calibration{"calibration",
                                   cl::desc("How activation ranges are calibrated: minmax (default) or percentile"),
                                   cl::value_desc("minmax|percentile"), cl::init("minmax"), cl::cat(category)};
  cl::opt<double> calibrationPercentile{"calibration-percentile",
                                        cl::desc("--calibration=percentile: the share of values kept (default 99.99)"),
                                        cl::init(99.99), cl::cat(category)};
  cl::opt<int64_t> calibrationSamples{"calibration-samples",
                                      cl::desc("Calibrate on at most this many samples (default: all)"),
                                      cl::init(0), cl::cat(category)};
  cl::opt<int64_t> groupSize{"group-size", cl::desc("Weights per scale along k for --quantize=int4-weight "
                                                    "(32, 64 or 128; default 32)"),
                             cl::init(32), cl::cat(category)};
  cl::opt<std::string> int4Compute{
      "int4-compute",
      cl::desc("How matmuls of 4-bit weights compute: int8 (activations quantized to int8 per row and block of k "
               "in the kernel, products on 8-bit dot-product units), f32 (weights dequantized to f32 in "
               "registers); auto (default): as MatMulNBits' accuracy_level says (4: int8), int8 for "
               "--quantize=int4-weight"),
      cl::value_desc("auto|int8|f32"), cl::init("auto"), cl::cat(category)};
  cl::opt<std::string> int8WeightCompute{
      "int8-weight-compute",
      cl::desc("How float matmuls on a model's own 8-bit weights (DequantizeLinear of int8 constants, such as a "
               "QDQ model's LM head) compute: int16 (activations quantized to 16 bits per row, integer products "
               "on pmaddwd/vpdpwssd), f32 (weights dequantized to f32 at compile time); auto (default): int16 on "
               "x86-64 CPUs, else f32"),
      cl::value_desc("auto|int16|f32"), cl::init("auto"), cl::cat(category)};
  cl::list<std::string> quantizeExclude{
      "quantize-exclude", cl::desc("ONNX node names or op types (MatMul, Gemm) to leave in float"),
      cl::CommaSeparated, cl::value_desc("NAME,..."), cl::cat(category)};
  cl::opt<bool> exposeIntermediates{
      "expose-intermediates",
      cl::desc("Also return every float tensor the graph computes, named after it (for "
               "tern-run --compare-to-float)"),
      cl::init(false), cl::cat(category)};
  cl::opt<std::string> sparsity{
      "sparsity",
      cl::desc("Prune constant weights by magnitude: 2:4 (MatMul, Gemm and Conv: 2 of every 4 along k "
               "kept, stored packed), block:R (MatMul and Gemm: the share R of k rows of least norm zeroed "
               "per 32 columns, skipped by the kernels)"),
      cl::value_desc("2:4|block:R"), cl::init(""), cl::cat(category)};
  cl::list<std::string> sparsityExclude{
      "sparsity-exclude", cl::desc("ONNX node names or op types (MatMul, Gemm, Conv) to leave dense"),
      cl::CommaSeparated, cl::value_desc("NAME,..."), cl::cat(category)};
  cl::opt<std::string> winograd{
      "winograd",
      cl::desc("3x3 stride-1 convolutions by Winograd's algorithm (CPU targets): auto (default: where a "
               "cost model says it pays, F(2x2,3x3) or F(4x4,3x3)), off, 2 or 4 (that output tile "
               "wherever it applies)"),
      cl::value_desc("auto|off|2|4"), cl::init("auto"), cl::cat(category)};
};

/// Parses "NAME=1x128" into the options' pinned shapes.
LogicalResult parseInputShape(StringRef spec, tern::ImportOptions &options) {
  auto [name, dims] = spec.rsplit('=');
  if (name.empty() || dims.empty() || !spec.contains('=')) {
    errs() << "ternc: error: --input-shape expects NAME=DIMS (e.g. input_ids=1x128), got '"
           << spec << "'\n";
    return failure();
  }
  SmallVector<int64_t> shape;
  if (dims != "scalar") {
    SmallVector<StringRef> parts;
    dims.split(parts, 'x');
    for (StringRef p : parts) {
      int64_t d;
      if (p.getAsInteger(10, d) || d < 0) {
        errs() << "ternc: error: --input-shape " << spec << ": '" << p
               << "' is not a non-negative dim\n";
        return failure();
      }
      shape.push_back(d);
    }
  }
  options.inputShapes[name] = shape;
  return success();
}

void printModule(mlir::ModuleOp module, raw_ostream &os, bool printWeights) {
  if (printWeights) {
    module->print(os);
    return;
  }
  // Printing the module's ops one by one leaves out the file's resource
  // section, so weights are neither hex-encoded nor even read: the mapped
  // files stay untouched. The printed `dense_resource<...>` names still
  // parse (as resources without data).
  mlir::AsmState state(module);
  for (mlir::Operation &op : module.getBody()->getOperations()) {
    op.print(os, state);
    os << "\n";
  }
}

int compile(mlir::ModuleOp module, Emit emit, const TerncOptions &opts, const std::function<double()> &seconds,
            StringRef output);

} // namespace

int tern::terncMain(int argc, char **argv) {
  InitLLVM init(argc, argv);
  // --mcpu and --mattr are LLVM's own code generation flags (lld registers
  // them too, so they must be the same options).
  static codegen::RegisterCodeGenFlags codegenFlags;
  TerncOptions opts;
  cl::HideUnrelatedOptions(opts.category);
  for (const char *name : {"mcpu", "mattr"}) {
    cl::Option *o = cl::getRegisteredOptions().lookup(name);
    o->setHiddenFlag(cl::NotHidden);
    o->addCategory(opts.category);
  }
  cl::ParseCommandLineOptions(argc, argv,
                              "ternc: compiles an ONNX model ahead of time\n\n"
                              "  ternc model.onnx -o model.so      # a shared library\n"
                              "  ternc model.onnx -o model.o       # an object file and model.h\n"
                              "  ternc model.onnx --emit=tern      # the imported IR\n");

  ImportOptions importOptions;
  importOptions.exposeIntermediates = opts.exposeIntermediates;
  for (const std::string &spec : opts.inputShapes)
    if (failed(parseInputShape(spec, importOptions)))
      return 1;

  mlir::MLIRContext context;
  mlir::DialectRegistry registry;
  registerImporterDialects(registry);
  registerCodegenDialects(registry);
  context.appendDialectRegistry(registry);
  // One line per error, naming the tool.
  mlir::ScopedDiagnosticHandler handler(&context, [](mlir::Diagnostic &d) {
    if (d.getSeverity() == mlir::DiagnosticSeverity::Error)
      errs() << "ternc: error: " << d.str() << "\n";
    else if (d.getSeverity() == mlir::DiagnosticSeverity::Warning)
      errs() << "ternc: warning: " << d.str() << "\n";
    return success();
  });

  auto start = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  if (opts.verbose)
    errs() << "ternc: importing " << opts.input << "\n";
  FailureOr<mlir::OwningOpRef<mlir::ModuleOp>> module =
      importOnnxFile(context, opts.input, importOptions);
  if (failed(module))
    return 1;
  if (opts.verbose)
    errs() << formatv("ternc: imported in {0:f2} s\n", seconds());

  if (!opts.noGraphPasses) {
    mlir::PassManager pm(&context);
    GraphPipelineOptions graph;
    if (opts.quantize == "int4-weight") {
      graph.weightBits = 4;
    } else if (opts.quantize == "int8-dynamic") {
      graph.weightBits = 8;
    } else if (opts.quantize == "int8") {
      graph.weightBits = 8;
      graph.calibrated = true;
      if (opts.calibrationData.empty()) {
        errs() << "ternc: error: --quantize=int8 needs --calibration-data DIR (or --quantize=int8-dynamic)\n";
        return 1;
      }
    } else if (!opts.quantize.empty()) {
      errs() << "ternc: error: --quantize=" << opts.quantize
             << " is not supported (supported: int8, int8-dynamic, int4-weight)\n";
      return 1;
    }
    if (!opts.calibrationData.empty() && !graph.calibrated) {
      errs() << "ternc: error: --calibration-data is for --quantize=int8\n";
      return 1;
    }
    if (opts.groupSize != 32 && opts.groupSize != 64 && opts.groupSize != 128) {
      errs() << "ternc: error: --group-size must be 32, 64 or 128, got " << opts.groupSize << "\n";
      return 1;
    }
    StringRef sparsity = opts.sparsity;
    double blockRatio = 0;
    if (sparsity == "2:4") {
      graph.sparsity24 = true;
    } else if (sparsity.consume_front("block:") && !sparsity.getAsDouble(blockRatio) && blockRatio > 0 &&
               blockRatio < 1) {
      graph.blockSparsity = blockRatio;
    } else if (!opts.sparsity.empty()) {
      errs() << "ternc: error: --sparsity=" << opts.sparsity
             << " is not supported (supported: 2:4, block:R with 0 < R < 1)\n";
      return 1;
    }
    graph.sparsityExclude.assign(opts.sparsityExclude.begin(), opts.sparsityExclude.end());
    graph.groupSize = opts.groupSize;
    if (opts.int4Compute != "auto" && opts.int4Compute != "int8" && opts.int4Compute != "f32") {
      errs() << "ternc: error: --int4-compute=" << opts.int4Compute << " is not supported (supported: auto, int8, f32)\n";
      return 1;
    }
    graph.int4AccuracyLevel = opts.int4Compute == "f32" ? 0 : 4;
    if (opts.int8WeightCompute != "auto" && opts.int8WeightCompute != "int16" && opts.int8WeightCompute != "f32") {
      errs() << "ternc: error: --int8-weight-compute=" << opts.int8WeightCompute
             << " is not supported (supported: auto, int16, f32)\n";
      return 1;
    }
    // 16-bit multiply-adds (pmaddwd, vpdpwssd) are x86's; a GPU runs its
    // matmuls on f16/f32 units.
    bool x86 = opts.target == "x86_64" ||
               (opts.target.empty() && llvm::Triple(sys::getProcessTriple()).getArch() == llvm::Triple::x86_64);
    if (opts.int8WeightCompute == "int16" && !x86) {
      errs() << "ternc: error: --int8-weight-compute=int16 is for x86-64 CPU targets\n";
      return 1;
    }
    graph.int16Activations = x86 && opts.int8WeightCompute != "f32";
    // tern.attention's lowering gives a GPU one thread per query tile.
    graph.fuseAttention = opts.target != "nvptx";
    graph.fusePointwiseDepthwise = opts.target != "nvptx";
    StringRef winograd = opts.winograd;
    if (winograd == "auto" || winograd == "off" || winograd == "2" || winograd == "4") {
      graph.winograd = winograd == "auto" ? -1 : winograd == "off" ? 0 : winograd == "2" ? 2 : 4;
    } else {
      errs() << "ternc: error: --winograd=" << opts.winograd << " is not supported (supported: auto, off, 2, 4)\n";
      return 1;
    }
    // The GPU lowering maps loop nests onto threads; the transforms' vector
    // loops are written for CPU cores.
    if (opts.target == "nvptx")
      graph.winograd = 0;
    graph.quantizeExclude.assign(opts.quantizeExclude.begin(), opts.quantizeExclude.end());
    buildGraphPreparation(pm, graph);
    if (failed(pm.run(**module)))
      return 1;
    if (graph.calibrated) {
      CalibrationOptions calibrationOptions;
      calibrationOptions.dataDir = opts.calibrationData;
      calibrationOptions.method = opts.calibration;
      calibrationOptions.percentile = opts.calibrationPercentile;
      calibrationOptions.maxSamples = opts.calibrationSamples;
      calibrationOptions.verbose = opts.verbose;
      auto compileProbe = [&](mlir::ModuleOp probe, StringRef path) {
        int status = compile(probe, Emit::So, opts, seconds, path);
        // lld resets every command-line option when it links (it parses its
        // own); the options of this run are read again.
        cl::ResetAllOptionOccurrences();
        cl::ParseCommandLineOptions(argc, argv, "ternc");
        return mlir::success(status == 0);
      };
      if (failed(calibrateActivations(**module, calibrationOptions, graph, compileProbe)))
        return 1;
    }
    mlir::PassManager optimize(&context);
    buildGraphOptimization(optimize, graph);
    if (failed(optimize.run(**module)))
      return 1;
    // --int4-compute=int8|f32 holds for the model's own MatMulNBits too.
    if (opts.int4Compute != "auto")
      (*module)->walk([&](tern::MatMulNBitsOp op) { op.setAccuracyLevel(graph.int4AccuracyLevel); });
    if (opts.verbose)
      errs() << formatv("ternc: graph passes done at {0:f2} s\n", seconds());
  }

  Emit emit = opts.emit;
  if (emit == Emit::PTX && opts.target != "nvptx") {
    errs() << "ternc: error: --emit=ptx is for --target=nvptx\n";
    return 1;
  }
  if (emit == Emit::Auto) {
    StringRef ext = sys::path::extension(opts.output);
    emit = ext == ".so" ? Emit::So : ext == ".o" ? Emit::Obj : ext == ".ll" ? Emit::LLVM
         : ext == ".s" ? Emit::Asm : Emit::Tern;
  }
  if ((emit == Emit::So || emit == Emit::Obj) && opts.output == "-") {
    errs() << "ternc: error: a library or object file needs -o FILE\n";
    return 1;
  }
  std::string error;
  if (emit == Emit::Tern) {
    std::unique_ptr<ToolOutputFile> out = mlir::openOutputFile(opts.output, &error);
    if (!out) {
      errs() << "ternc: error: " << error << "\n";
      return 1;
    }
    printModule(**module, out->os(), opts.printWeights);
    out->keep();
    return 0;
  }
  return compile(**module, emit, opts, seconds, opts.output);
}

namespace {

std::string sanitize(StringRef name) {
  std::string s;
  for (char c : name)
    s += isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (s.empty() || isdigit(static_cast<unsigned char>(s[0])))
    s = "m_" + s;
  return s;
}

/// The CUDA toolkit holding ptxas, or "" when none is found.
std::string findCudaToolkit(const TerncOptions &opts) {
  SmallVector<std::string> candidates;
  if (!opts.cudaPath.empty()) {
    candidates.push_back(opts.cudaPath); // that one only
  } else {
    for (const char *var : {"CUDA_PATH", "CUDA_HOME"})
      if (const char *v = getenv(var); v && *v)
        candidates.push_back(v);
    candidates.push_back("/usr/local/cuda");
  }
  for (const std::string &dir : candidates)
    if (sys::fs::can_execute(dir + "/bin/ptxas"))
      return dir;
  return "";
}

/// The GPU to compile for (--target=nvptx), or an error.
FailureOr<std::optional<tern::GPUTarget>> gpuTarget(const TerncOptions &opts, Emit emit) {
  if (opts.precision != "fp32" && opts.precision != "fp16" && opts.precision != "bf16") {
    errs() << "ternc: error: --precision=" << opts.precision << " is not supported (fp32, fp16, bf16)\n";
    return failure();
  }
  if (opts.target != "nvptx") {
    if (opts.precision != "fp32") {
      errs() << "ternc: error: --precision=" << opts.precision << " is for --target=nvptx\n";
      return failure();
    }
    return std::optional<tern::GPUTarget>();
  }
  StringRef arch = opts.gpuArch;
  unsigned sm = 0;
  if (!arch.starts_with("sm_") || arch.drop_front(3).take_while(isDigit).getAsInteger(10, sm) || sm < 70) {
    errs() << "ternc: error: --gpu-arch=" << arch << " is not an NVIDIA GPU tern supports (sm_70 and newer, "
           << "e.g. sm_80, sm_90)\n";
    return failure();
  }
  tern::GPUTarget gpu;
  gpu.chip = arch.str();
  gpu.optLevel = static_cast<int>(std::min(opts.optLevel.getValue(), 3u));
  std::string toolkit = findCudaToolkit(opts);
  bool cubin = emit != Emit::PTX && (opts.gpuBinary == GPUBinary::Cubin ||
                                     (opts.gpuBinary == GPUBinary::Auto && !toolkit.empty()));
  if (cubin && toolkit.empty()) {
    errs() << "ternc: error: --gpu-binary=cubin needs the CUDA toolkit's ptxas (none found; set --cuda-path)\n";
    return failure();
  }
  gpu.format = cubin ? "bin" : "isa";
  gpu.toolkit = toolkit;
  gpu.emulate = opts.emulateGPU;
  gpu.precision = opts.precision;
  return std::optional<tern::GPUTarget>(gpu);
}

/// Prints the PTX of every kernel module of a GPU model lowered with PTX.
void printPTX(mlir::ModuleOp module, raw_ostream &os) {
  module.walk([&](mlir::gpu::BinaryOp binary) {
    for (mlir::Attribute a : binary.getObjects())
      if (auto object = dyn_cast<mlir::gpu::ObjectAttr>(a))
        os << "// kernel module @" << binary.getSymName() << "\n" << object.getObject().getValue() << "\n";
  });
}

int compile(mlir::ModuleOp module, Emit emit, const TerncOptions &opts, const std::function<double()> &seconds,
            StringRef output) {
  std::string error;
  FailureOr<tern::ModelInterface> iface = tern::describeModel(module);
  if (failed(iface))
    return 1;
  FailureOr<std::optional<tern::GPUTarget>> gpu = gpuTarget(opts, emit);
  if (failed(gpu))
    return 1;
  std::string features;
  for (const std::string &f : codegen::getMAttrs())
    features += (features.empty() ? "" : ",") + f;
  tern::TargetSpec spec{opts.target, codegen::getMCPU(), features,
                        static_cast<int>(std::min(opts.optLevel.getValue(), 3u))};
  if (*gpu)
    spec.arch = ""; // the host's
  if (*gpu && !(*gpu)->emulate) {
    // The host code only sizes buffers and launches kernels: a baseline CPU
    // of the host's architecture, so the library runs on any GPU machine's.
    if (spec.cpu.empty())
      spec.cpu = llvm::Triple(sys::getDefaultTargetTriple()).getArch() == llvm::Triple::x86_64 ? "x86-64-v2"
                                                                                               : "generic";
  }
  auto tm = tern::createTargetMachine(spec, error);
  if (failed(tm)) {
    errs() << "ternc: error: " << error << "\n";
    return 1;
  }
  tern::KernelShape kernel =
      tern::kernelShapeFor((*tm)->getTargetTriple().getArchName(), (*tm)->getTargetFeatureString());
  mlir::MLIRContext *ctx = module.getContext();
  auto run = [&](tern::LoweringStage from, tern::LoweringStage to) {
    mlir::PassManager pm(ctx);
    tern::buildLoweringPipeline(pm, {from, to, kernel, *gpu});
    return pm.run(module);
  };
  if (failed(run(tern::LoweringStage::Tern, tern::LoweringStage::Linalg)))
    return 1;
  if (opts.verbose)
    errs() << formatv("ternc: lowered to linalg at {0:f2} s\n", seconds());
  auto print = [&]() {
    std::unique_ptr<ToolOutputFile> out = mlir::openOutputFile(output, &error);
    if (!out)
      return errs() << "ternc: error: " << error << "\n", 1;
    printModule(module, out->os(), opts.printWeights);
    out->keep();
    return 0;
  };
  if (emit == Emit::Linalg)
    return print();
  if (failed(run(tern::LoweringStage::Linalg, tern::LoweringStage::Buffers)))
    return 1;
  if (emit == Emit::Buffers)
    return print();
  std::vector<char> weights = tern::takeWeights(module);
  tern::ArenaPlan arena = tern::ArenaPlan::of(module);
  // The interface is recorded; argument names mean nothing to LLVM.
  if (auto main = module.lookupSymbol<mlir::func::FuncOp>("main")) {
    main.removeArgAttrsAttr();
    main.removeResAttrsAttr();
  }
  if (failed(run(tern::LoweringStage::Buffers, tern::LoweringStage::LLVMDialect)))
    return 1;
  if (opts.verbose) {
    errs() << formatv("ternc: lowered to the LLVM dialect at {0:f2} s (weights {1} bytes, arena {2} bytes",
                      seconds(), weights.size(), arena.bytes);
    for (auto [k, by] : llvm::enumerate(arena.scaledBy))
      errs() << formatv(k ? " x input {0} dim {1}" : " + {2} bytes per unit of input {0} dim {1}", by.first,
                        by.second, arena.scaledBytes);
    errs() << ")\n";
  }
  if (emit == Emit::PTX) {
    std::unique_ptr<ToolOutputFile> out = mlir::openOutputFile(output, &error);
    if (!out)
      return errs() << "ternc: error: " << error << "\n", 1;
    printPTX(module, out->os());
    out->keep();
    return 0;
  }

  std::string stem = sys::path::stem(output == "-" ? StringRef(opts.input) : output).str();
  tern::LibraryOptions lib;
  lib.modelName = opts.modelName.empty() ? stem : opts.modelName.getValue();
  if (emit == Emit::Obj)
    lib.symbol = sanitize(lib.modelName) + "_tern_model_abi";
  if (*gpu && !(*gpu)->emulate)
    lib.gpuArch = (*gpu)->chip;
  bool external = opts.weights == Weights::External ||
                  (opts.weights == Weights::Auto && (int64_t)weights.size() > tern::kEmbeddedWeightsLimit);
  SmallString<256> weightsPath(output);
  sys::path::replace_extension(weightsPath, "weights");
  if (external && (emit == Emit::So || emit == Emit::Obj))
    lib.weightsFile = sys::path::filename(weightsPath).str();

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      tern::translateModel(module, llvmContext, **tm, *iface, weights, arena, lib);
  if (!llvmModule) {
    errs() << "ternc: error: translation to LLVM IR failed\n";
    return 1;
  }
  tern::optimizeModule(*llvmModule, **tm, spec.optLevel);
  if (opts.verbose)
    errs() << formatv("ternc: LLVM optimized at {0:f2} s\n", seconds());
  if (emit == Emit::LLVM) {
    std::unique_ptr<ToolOutputFile> out = mlir::openOutputFile(output, &error);
    if (!out)
      return errs() << "ternc: error: " << error << "\n", 1;
    llvmModule->print(out->os(), nullptr);
    out->keep();
    return 0;
  }
  if (!lib.weightsFile.empty()) {
    std::unique_ptr<ToolOutputFile> out = mlir::openOutputFile(weightsPath, &error);
    if (!out)
      return errs() << "ternc: error: " << error << "\n", 1;
    out->os().write(weights.data(), weights.size());
    out->keep();
  }
  if (emit == Emit::Asm || emit == Emit::Obj) {
    std::unique_ptr<ToolOutputFile> out = mlir::openOutputFile(output, &error);
    if (!out || !tern::emitMachineCode(*llvmModule, **tm, emit == Emit::Asm, out->os(), error))
      return errs() << "ternc: error: " << error << "\n", 1;
    out->keep();
    if (emit == Emit::Obj) {
      SmallString<256> headerPath(output);
      sys::path::replace_extension(headerPath, "h");
      std::unique_ptr<ToolOutputFile> header = mlir::openOutputFile(headerPath, &error);
      if (!header)
        return errs() << "ternc: error: " << error << "\n", 1;
      header->os() << tern::objectHeader(lib.symbol, "TERN_MODEL_" + sanitize(lib.modelName) + "_H", *iface);
      header->keep();
    }
    return 0;
  }
  // A shared library: the object in a temporary file, linked by lld.
  SmallString<256> objectPath;
  if (std::error_code ec = sys::fs::createTemporaryFile("ternc", "o", objectPath)) {
    errs() << "ternc: error: cannot create a temporary file: " << ec.message() << "\n";
    return 1;
  }
  {
    std::unique_ptr<ToolOutputFile> obj = mlir::openOutputFile(objectPath, &error);
    if (!obj || !tern::emitMachineCode(*llvmModule, **tm, false, obj->os(), error))
      return errs() << "ternc: error: " << error << "\n", 1;
    obj->keep();
  }
  bool linked = tern::linkSharedLibrary(objectPath, output, **tm, error);
  sys::fs::remove(objectPath);
  if (!linked) {
    errs() << "ternc: error: " << error << "\n";
    return 1;
  }
  if (opts.verbose)
    errs() << formatv("ternc: wrote {0} at {1:f2} s\n", output, seconds());
  return 0;
}

} // namespace
