//===- TensorImporter.h - ONNX tensors into constant attributes ----------===//

#ifndef TERN_LIB_IMPORTER_TENSORIMPORTER_H
#define TERN_LIB_IMPORTER_TENSORIMPORTER_H

#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <onnx/onnx_pb.h>

#include <map>
#include <memory>
#include <string>

namespace tern {

/// Maps external data files on demand, one mapping per file, refusing
/// locations that leave the model's folder.
class ExternalData {
public:
  explicit ExternalData(std::string baseDir) : baseDir(std::move(baseDir)) {}

  /// The bytes [offset, offset + length) of `location`; length -1 means "to
  /// the end of the file". `keepAlive` holds the mapping.
  llvm::Expected<llvm::ArrayRef<char>> read(llvm::StringRef location, int64_t offset,
                                            int64_t length,
                                            std::shared_ptr<llvm::MemoryBuffer> &keepAlive);

private:
  std::string baseDir;
  std::map<std::string, std::shared_ptr<llvm::MemoryBuffer>> files;
};

struct TensorImportContext {
  mlir::MLIRContext *context;
  ExternalData *external;
  /// Owns the parsed model, whose raw_data strings large constants point into.
  std::shared_ptr<const onnx::ModelProto> model;
  int64_t inlineBytes;
};

/// Converts an ONNX TensorProto (inline, typed fields or external data)
/// into an elements attribute: a dense attribute when small, else a
/// dense_resource blob that references the data without copying it.
llvm::Expected<mlir::ElementsAttr> importTensor(const onnx::TensorProto &tensor,
                                                TensorImportContext &ctx);

} // namespace tern

#endif // TERN_LIB_IMPORTER_TENSORIMPORTER_H
