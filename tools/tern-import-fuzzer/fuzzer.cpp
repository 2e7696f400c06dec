//===- fuzzer.cpp - libFuzzer target for the ONNX importer ---------------===//
//
// Feeds arbitrary bytes to the importer as a serialized ModelProto. Any
// outcome but a crash, a hang or a sanitizer report is fine: bad models must
// end in an error. External data is refused (no model folder), so inputs
// cannot make it read files.
//
//===----------------------------------------------------------------------===//

#include "tern/Importer/Importer.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::DialectRegistry registry;
  tern::registerImporterDialects(registry);
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  mlir::ScopedDiagnosticHandler quiet(&context, [](mlir::Diagnostic &) { return mlir::success(); });
  tern::ImportOptions options;
  (void)tern::importOnnxBytes(context, llvm::StringRef((const char *)data, size), "", options);
  return 0;
}
