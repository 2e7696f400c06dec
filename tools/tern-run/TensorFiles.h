//===- TensorFiles.h - ONNX TensorProto (.pb) and NumPy (.npy) files -----===//
//
// tern-run reads test data without protobuf or LLVM: the few TensorProto
// fields that tensors use are decoded from the wire format here.
//
//===----------------------------------------------------------------------===//

#ifndef TERN_TOOLS_TENSORFILES_H
#define TERN_TOOLS_TENSORFILES_H

#include "tern/tern.h"
#include <cstdint>
#include <string>
#include <vector>

namespace tern::tools {

struct HostTensor {
  std::string name;
  tern_dtype dtype = TERN_FLOAT;
  std::vector<int64_t> dims;
  std::vector<char> data;
  size_t count() const;
  tern_tensor view();
};

/// Reads an ONNX TensorProto file; false with `error` set on failure.
bool readTensorProto(const std::string &path, HostTensor &out, std::string &error);
bool readNpy(const std::string &path, HostTensor &out, std::string &error);
bool writeNpy(const std::string &path, const tern_tensor &t, std::string &error);
/// Either format, by extension.
bool readTensorFile(const std::string &path, HostTensor &out, std::string &error);

/// Element `i` as a double (for comparisons).
double elementAsDouble(tern_dtype type, const void *data, size_t i);

} // namespace tern::tools

#endif
