//===- Ternc.cpp - the ternc compiler driver -----------------------------===//

#include "tern/Driver/Driver.h"
#include "tern/Importer/Importer.h"

#include "passes/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace llvm;

namespace {

enum class Emit { Tern };

struct TerncOptions {
  cl::OptionCategory category{"ternc options"};
  cl::opt<std::string> input{cl::Positional, cl::desc("<model.onnx | model.onnxtext>"),
                             cl::Required, cl::cat(category)};
  cl::opt<std::string> output{"o", cl::desc("Output file ('-' for stdout, the default)"),
                              cl::value_desc("file"), cl::init("-"), cl::cat(category)};
  cl::opt<Emit> emit{
      "emit", cl::desc("What to produce"), cl::init(Emit::Tern),
      cl::values(clEnumValN(Emit::Tern, "tern", "the imported model as tern dialect IR")),
      cl::cat(category)};
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

} // namespace

int tern::terncMain(int argc, char **argv) {
  InitLLVM init(argc, argv);
  TerncOptions opts;
  cl::HideUnrelatedOptions(opts.category);
  cl::ParseCommandLineOptions(argc, argv,
                              "ternc: compiles an ONNX model ahead of time\n\n"
                              "  ternc model.onnx --emit=tern -o model.mlir\n");

  ImportOptions importOptions;
  for (const std::string &spec : opts.inputShapes)
    if (failed(parseInputShape(spec, importOptions)))
      return 1;

  mlir::MLIRContext context;
  mlir::DialectRegistry registry;
  registerImporterDialects(registry);
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
    buildGraphPipeline(pm, GraphPipelineOptions());
    if (failed(pm.run(**module)))
      return 1;
    if (opts.verbose)
      errs() << formatv("ternc: graph passes done at {0:f2} s\n", seconds());
  }

  std::string error;
  std::unique_ptr<ToolOutputFile> out = mlir::openOutputFile(opts.output, &error);
  if (!out) {
    errs() << "ternc: error: " << error << "\n";
    return 1;
  }
  if (opts.printWeights) {
    (**module)->print(out->os());
  } else {
    // Printing the module's ops one by one leaves out the file's resource
    // section, so weights are neither hex-encoded nor even read: the
    // mapped files stay untouched. The printed `dense_resource<...>` names
    // still parse (as resources without data).
    mlir::AsmState state(**module);
    for (mlir::Operation &op : (*module)->getBody()->getOperations()) {
      op.print(out->os(), state);
      out->os() << "\n";
    }
  }
  out->keep();
  if (opts.verbose)
    errs() << formatv("ternc: done in {0:f2} s\n", seconds());
  return 0;
}
