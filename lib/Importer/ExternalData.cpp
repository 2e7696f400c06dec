//===- ExternalData.cpp - memory-mapped external tensor data -------------===//
//
// ONNX models over 2 GB keep their weights in files beside the model,
// referenced by a relative `location`. A location is attacker-controlled:
// absolute paths, `..` components and symlinks out of the model's folder are
// refused (the path traversal of CVE-2022-25882 and its successors).
//
//===----------------------------------------------------------------------===//

#include "TensorImporter.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace llvm;

namespace tern {

static Error error(const Twine &message) {
  return createStringError(inconvertibleErrorCode(), message);
}

Expected<ArrayRef<char>> ExternalData::read(StringRef location, int64_t offset, int64_t length,
                                            std::shared_ptr<MemoryBuffer> &keepAlive) {
  if (baseDir.empty())
    return error("external data '" + location + "' cannot be resolved without a model folder");
  if (location.empty())
    return error("external data has an empty location");
  if (sys::path::is_absolute(location) || location.starts_with("/") ||
      location.starts_with("\\") || location.contains(':'))
    return error("external data location '" + location +
                 "' is absolute; it must be relative to the model's folder");
  for (StringRef part : llvm::make_range(sys::path::begin(location), sys::path::end(location)))
    if (part == "..")
      return error("external data location '" + location + "' leaves the model's folder");
  if (location.contains('\0'))
    return error("external data location contains a NUL byte");

  SmallString<256> path(baseDir);
  sys::path::append(path, location);
  SmallString<256> realBase, realPath;
  if (sys::fs::real_path(baseDir, realBase) || sys::fs::real_path(path, realPath))
    return error("external data file '" + location + "' does not exist (looked in '" + baseDir +
                 "')");
  StringRef rp(realPath);
  if (!rp.starts_with(realBase) ||
      (rp.size() > realBase.size() && !sys::path::is_separator(rp[realBase.size()])))
    return error("external data location '" + location +
                 "' resolves outside the model's folder");
  if (!sys::fs::is_regular_file(realPath))
    return error("external data location '" + location + "' is not a regular file");

  std::shared_ptr<MemoryBuffer> &file = files[std::string(realPath)];
  if (!file) {
    ErrorOr<std::unique_ptr<MemoryBuffer>> buffer = MemoryBuffer::getFile(
        realPath, /*IsText=*/false, /*RequiresNullTerminator=*/false, /*IsVolatile=*/false);
    if (!buffer)
      return error("cannot read external data file '" + location +
                   "': " + buffer.getError().message());
    file = std::move(*buffer);
  }
  int64_t size = file->getBufferSize();
  if (offset < 0 || offset > size)
    return error("external data offset " + Twine(offset) + " is past the end of '" + location +
                 "' (" + Twine(size) + " bytes)");
  if (length < 0)
    length = size - offset;
  if (length > size - offset)
    return error("external data file '" + location + "' is truncated: " + Twine(length) +
                 " bytes wanted at offset " + Twine(offset) + ", but it holds " + Twine(size) +
                 " bytes");
  keepAlive = file;
  return ArrayRef<char>(file->getBufferStart() + offset, length);
}

} // namespace tern
