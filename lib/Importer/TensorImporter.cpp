//===- TensorImporter.cpp - ONNX tensors into constant attributes --------===//

#include "TensorImporter.h"
#include "NodeImporter.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/Alignment.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <cstring>

using namespace mlir;
using llvm::Error;
using llvm::Expected;

namespace tern {

static Error error(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// A valid MLIR resource key from a tensor name.
static std::string resourceKey(StringRef name) {
  std::string key = name.empty() ? "tensor" : name.str();
  for (char &c : key)
    if (!llvm::isAlnum(c) && c != '_' && c != '.')
      c = '_';
  if (!llvm::isAlpha(key[0]) && key[0] != '_')
    key = "t_" + key;
  return key;
}

/// Bytes of `n` elements of `type` in ONNX's raw_data layout.
static int64_t rawBytes(Type type, int64_t n) {
  if (type.isInteger(4))
    return (n + 1) / 2;
  if (type.isInteger(1))
    return n;
  return n * (int64_t)(type.getIntOrFloatBitWidth() / 8);
}

/// Builds a dense attribute from ONNX raw little-endian bytes.
static ElementsAttr denseFromRaw(RankedTensorType type, ArrayRef<char> raw) {
  Type element = type.getElementType();
  int64_t n = type.getNumElements();
  if (element.isInteger(1)) {
    SmallVector<bool> values;
    for (int64_t i = 0; i < n; ++i)
      values.push_back(raw[i] != 0);
    return DenseElementsAttr::get(type, values);
  }
  if (element.isInteger(4)) {
    bool isSigned = !element.isUnsignedInteger();
    SmallVector<APInt> values;
    for (int64_t i = 0; i < n; ++i) {
      uint8_t byte = raw[i / 2];
      uint8_t nibble = (i % 2) ? (byte >> 4) : (byte & 0xF);
      int64_t v = isSigned ? llvm::SignExtend64<4>(nibble) : nibble;
      values.push_back(APInt(4, (uint64_t)v, isSigned, true));
    }
    return DenseElementsAttr::get(type, values);
  }
  return DenseElementsAttr::getFromRawBuffer(type, raw);
}

/// Appends the little-endian bytes of `v` truncated to `bytes` bytes.
static void appendBytes(std::vector<char> &out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back((char)((v >> (8 * i)) & 0xFF));
}

/// The typed repeated fields of TensorProto, turned into raw bytes.
static Expected<std::vector<char>> rawFromTypedFields(const onnx::TensorProto &t, Type element,
                                                      int64_t n) {
  std::vector<char> out;
  auto check = [&](int64_t have) -> Error {
    if (have != n)
      return error("tensor '" + t.name() + "' has " + Twine(have) + " values for " + Twine(n) +
                   " elements");
    return Error::success();
  };
  int32_t dt = t.data_type();
  switch (dt) {
  case 1: // float
    if (Error e = check(t.float_data_size()))
      return std::move(e);
    out.resize(n * 4);
    if (n)
      std::memcpy(out.data(), t.float_data().data(), n * 4);
    return out;
  case 11: // double
    if (Error e = check(t.double_data_size()))
      return std::move(e);
    out.resize(n * 8);
    if (n)
      std::memcpy(out.data(), t.double_data().data(), n * 8);
    return out;
  case 7: // int64
    if (Error e = check(t.int64_data_size()))
      return std::move(e);
    out.resize(n * 8);
    if (n)
      std::memcpy(out.data(), t.int64_data().data(), n * 8);
    return out;
  case 12: // uint32
  case 13: // uint64
    if (Error e = check(t.uint64_data_size()))
      return std::move(e);
    for (uint64_t v : t.uint64_data())
      appendBytes(out, v, dt == 12 ? 4 : 8);
    return out;
  case 21: // uint4, int4: two values per int32 entry's low byte
  case 22: {
    if (t.int32_data_size() != (n + 1) / 2)
      return error("tensor '" + t.name() + "' has " + Twine(t.int32_data_size()) +
                   " packed values for " + Twine(n) + " 4-bit elements");
    for (int32_t v : t.int32_data())
      out.push_back((char)(v & 0xFF));
    return out;
  }
  default: {
    // int8/uint8/int16/uint16/int32/bool/float16/bfloat16/float8: int32_data
    // holds each value (or its bit pattern).
    if (Error e = check(t.int32_data_size()))
      return std::move(e);
    int bytes = element.isInteger(1) ? 1 : (int)(element.getIntOrFloatBitWidth() / 8);
    for (int32_t v : t.int32_data())
      appendBytes(out, (uint64_t)(uint32_t)v, bytes);
    return out;
  }
  }
}

Expected<ElementsAttr> importTensor(const onnx::TensorProto &t, TensorImportContext &ctx) {
  Type element = convertElementType(ctx.context, t.data_type());
  if (!element)
    return error("tensor '" + t.name() + "' has unsupported element type " +
                 onnxTypeName(t.data_type()) + " (" + Twine(t.data_type()) + ")");
  if (t.has_segment())
    return error("tensor '" + t.name() + "' is segmented, which is not supported");
  SmallVector<int64_t> shape;
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    if (d < 0)
      return error("tensor '" + t.name() + "' has negative dim " + Twine(d));
    if (d != 0 && n > (int64_t(1) << 40) / d)
      return error("tensor '" + t.name() + "' is too large");
    n *= d;
    shape.push_back(d);
  }
  auto type = RankedTensorType::get(shape, element);
  int64_t bytes = rawBytes(element, n);

  // Where the bytes are: external data, raw_data (inside the parsed model),
  // or typed fields (converted into an owned buffer).
  ArrayRef<char> raw;
  std::shared_ptr<llvm::MemoryBuffer> mapping;
  std::vector<char> owned;
  bool fromModel = false;
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const onnx::StringStringEntryProto &kv : t.external_data()) {
      if (kv.key() == "location") {
        location = kv.value();
      } else if (kv.key() == "offset" || kv.key() == "length") {
        int64_t v;
        if (StringRef(kv.value()).getAsInteger(10, v) || v < 0)
          return error("tensor '" + t.name() + "' has an invalid external data " + kv.key() +
                       " '" + kv.value() + "'");
        (kv.key() == "offset" ? offset : length) = v;
      }
    }
    if (length >= 0 && length != bytes)
      return error("tensor '" + t.name() + "' external data length " + Twine(length) +
                   " differs from its size, " + Twine(bytes) + " bytes");
    Expected<ArrayRef<char>> data = ctx.external->read(location, offset, bytes, mapping);
    if (!data)
      return error("tensor '" + t.name() + "': " + llvm::toString(data.takeError()));
    raw = *data;
  } else if (t.has_raw_data()) {
    if ((int64_t)t.raw_data().size() != bytes)
      return error("tensor '" + t.name() + "' raw data holds " + Twine(t.raw_data().size()) +
                   " bytes, expected " + Twine(bytes));
    raw = ArrayRef<char>(t.raw_data().data(), t.raw_data().size());
    fromModel = true;
  } else {
    Expected<std::vector<char>> data = rawFromTypedFields(t, element, n);
    if (!data)
      return data.takeError();
    owned = std::move(*data);
    raw = owned;
  }

  if (bytes <= ctx.inlineBytes || element.isInteger(1) ||
      (element.isInteger(4) && n <= ctx.inlineBytes))
    return denseFromRaw(type, raw);

  // A large constant: a resource blob. Mapped and in-model bytes are used in
  // place when aligned (the blob keeps their owner alive); others are copied.
  size_t align = std::max<size_t>(1, llvm::PowerOf2Ceil(
                                         std::max<unsigned>(8, element.getIntOrFloatBitWidth()) / 8));
  bool aligned = llvm::isAddrAligned(llvm::Align(align), raw.data());
  AsmResourceBlob blob;
  if (aligned && mapping) {
    blob = AsmResourceBlob(raw, align, [keep = mapping](void *, size_t, size_t) {}, false);
  } else if (aligned && fromModel && ctx.model) {
    blob = AsmResourceBlob(raw, align, [keep = ctx.model](void *, size_t, size_t) {}, false);
  } else {
    blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(raw, align);
  }
  return cast<ElementsAttr>(
      DenseResourceElementsAttr::get(type, resourceKey(t.name()), std::move(blob)));
}

} // namespace tern
