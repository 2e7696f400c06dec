//===- Importer.h - ONNX models into the tern dialect --------------------===//
//
// Reads an ONNX ModelProto (binary `.onnx`, or textual `.onnxtext` in the
// syntax of onnx's own parser) and builds a module with one `func.func @main`
// whose body is tern ops, one per ONNX node, with result types inferred.
// Weights stay in the model file or its external data files, memory-mapped.
//
//===----------------------------------------------------------------------===//

#ifndef TERN_IMPORTER_IMPORTER_H
#define TERN_IMPORTER_IMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

namespace tern {

struct ImportOptions {
  /// Pins graph inputs to static shapes (`--input-shape NAME=1x128`). Each
  /// must agree with the model's declared rank and static dims.
  llvm::StringMap<llvm::SmallVector<int64_t>> inputShapes;
  /// Constants up to this many bytes become dense attributes that folding
  /// can read; larger ones become resource blobs over the mapped file.
  int64_t inlineConstantBytes = 4096;
  /// Also return every float tensor a node computes (not constants) as a
  /// graph output named after it, in graph order before the graph's own
  /// outputs: for comparing a
  /// quantized or pruned build with the float one layer by layer
  /// (`tern-run --compare-to-float`). Fusions that need those tensors
  /// only once do not fire.
  bool exposeIntermediates = false;
};

/// Imports the model at `path` (`.onnxtext` is parsed as text). Errors are
/// emitted as MLIR diagnostics on `context` (one per problem, naming the node,
/// op type, domain and opset) and the result is a failure.
mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>>
importOnnxFile(mlir::MLIRContext &context, llvm::StringRef path, const ImportOptions &options);

/// Imports a serialized binary ModelProto held in memory. External data is
/// looked up relative to `baseDir`; an empty `baseDir` refuses external data.
mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>>
importOnnxBytes(mlir::MLIRContext &context, llvm::StringRef bytes, llvm::StringRef baseDir,
                const ImportOptions &options);

/// Registers the dialects the importer's output uses.
void registerImporterDialects(mlir::DialectRegistry &registry);

} // namespace tern

#endif // TERN_IMPORTER_IMPORTER_H
