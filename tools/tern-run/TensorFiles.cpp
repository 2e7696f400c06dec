//===- TensorFiles.cpp - ONNX TensorProto and NumPy files -----------------===//

#include "TensorFiles.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace tern::tools {

size_t HostTensor::count() const {
  size_t n = 1;
  for (int64_t d : dims)
    n *= static_cast<size_t>(d);
  return n;
}

tern_tensor HostTensor::view() {
  tern_tensor t{};
  t.dtype = dtype;
  t.rank = static_cast<int32_t>(dims.size());
  for (size_t i = 0; i < dims.size() && i < TERN_MAX_RANK; ++i)
    t.dims[i] = dims[i];
  t.data = data.empty() ? nullptr : data.data();
  t.size_bytes = data.size();
  return t;
}

static bool readFile(const std::string &path, std::string &bytes, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open " + path;
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  bytes = ss.str();
  return true;
}

static float halfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, x;
  if (exp == 0) {
    if (!mant) {
      x = sign;
    } else {
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400));
      x = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    x = sign | 0x7f800000 | (mant << 13);
  } else {
    x = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

double elementAsDouble(tern_dtype type, const void *data, size_t i) {
  auto p = static_cast<const char *>(data);
  switch (type) {
  case TERN_FLOAT: { float v; std::memcpy(&v, p + 4 * i, 4); return v; }
  case TERN_DOUBLE: { double v; std::memcpy(&v, p + 8 * i, 8); return v; }
  case TERN_FLOAT16: { uint16_t v; std::memcpy(&v, p + 2 * i, 2); return halfToFloat(v); }
  case TERN_BFLOAT16: { uint16_t v; std::memcpy(&v, p + 2 * i, 2); uint32_t x = uint32_t(v) << 16; float f; std::memcpy(&f, &x, 4); return f; }
  case TERN_INT8: return static_cast<int8_t>(p[i]);
  case TERN_UINT8: case TERN_BOOL: return static_cast<uint8_t>(p[i]);
  case TERN_INT16: { int16_t v; std::memcpy(&v, p + 2 * i, 2); return v; }
  case TERN_UINT16: { uint16_t v; std::memcpy(&v, p + 2 * i, 2); return v; }
  case TERN_INT32: { int32_t v; std::memcpy(&v, p + 4 * i, 4); return v; }
  case TERN_UINT32: { uint32_t v; std::memcpy(&v, p + 4 * i, 4); return v; }
  case TERN_INT64: { int64_t v; std::memcpy(&v, p + 8 * i, 8); return static_cast<double>(v); }
  case TERN_UINT64: { uint64_t v; std::memcpy(&v, p + 8 * i, 8); return static_cast<double>(v); }
  }
  return 0;
}

namespace {

/// A protobuf wire-format reader over a byte range.
struct Wire {
  const unsigned char *p, *end;
  bool ok = true;
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end) {
        ok = false;
        return 0;
      }
      unsigned char c = *p++;
      v |= uint64_t(c & 0x7f) << shift;
      if (!(c & 0x80))
        return v;
    }
    ok = false;
    return 0;
  }
  std::pair<const unsigned char *, size_t> bytes() {
    uint64_t n = varint();
    if (!ok || n > static_cast<uint64_t>(end - p)) {
      ok = false;
      return {p, 0};
    }
    auto r = std::make_pair(p, static_cast<size_t>(n));
    p += n;
    return r;
  }
  void skip(uint32_t wireType) {
    switch (wireType) {
    case 0: varint(); break;
    case 1: p + 8 <= end ? (void)(p += 8) : (void)(ok = false); break;
    case 2: bytes(); break;
    case 5: p + 4 <= end ? (void)(p += 4) : (void)(ok = false); break;
    default: ok = false;
    }
  }
};

template <typename T> void appendRaw(std::vector<char> &out, T v) {
  const char *b = reinterpret_cast<const char *>(&v);
  out.insert(out.end(), b, b + sizeof(T));
}

} // namespace

bool readTensorProto(const std::string &path, HostTensor &out, std::string &error) {
  std::string bytes;
  if (!readFile(path, bytes, error))
    return false;
  Wire w{reinterpret_cast<const unsigned char *>(bytes.data()),
         reinterpret_cast<const unsigned char *>(bytes.data()) + bytes.size()};
  int64_t dataType = 0;
  std::vector<char> raw;
  bool haveRaw = false;
  std::vector<int64_t> ints;    // int32_data / int64_data / uint64_data
  std::vector<double> floats;   // float_data / double_data
  while (w.ok && w.p < w.end) {
    uint64_t key = w.varint();
    uint32_t field = static_cast<uint32_t>(key >> 3), type = key & 7;
    auto packedOr = [&](auto readOne) {
      if (type == 2) {
        auto [b, n] = w.bytes();
        Wire inner{b, b + n};
        while (inner.ok && inner.p < inner.end)
          readOne(inner);
        w.ok &= inner.ok;
      } else {
        readOne(w);
      }
    };
    auto fixed32 = [&](Wire &r) {
      if (r.p + 4 > r.end) { r.ok = false; return; }
      float f; std::memcpy(&f, r.p, 4); r.p += 4; floats.push_back(f);
    };
    auto fixed64 = [&](Wire &r) {
      if (r.p + 8 > r.end) { r.ok = false; return; }
      double d; std::memcpy(&d, r.p, 8); r.p += 8; floats.push_back(d);
    };
    switch (field) {
    case 1: packedOr([&](Wire &r) { out.dims.push_back(static_cast<int64_t>(r.varint())); }); break;
    case 2: dataType = static_cast<int64_t>(w.varint()); break;
    case 4: packedOr(fixed32); break;
    case 5: case 7: case 11: packedOr([&](Wire &r) { ints.push_back(static_cast<int64_t>(r.varint())); }); break;
    case 8: { auto [b, n] = w.bytes(); out.name.assign(reinterpret_cast<const char *>(b), n); break; }
    case 9: { auto [b, n] = w.bytes(); raw.assign(b, b + n); haveRaw = true; break; }
    case 10: packedOr(fixed64); break;
    case 14: if (w.varint() == 1) { error = path + ": external data is not supported"; return false; } break;
    default: w.skip(type);
    }
  }
  if (!w.ok) {
    error = path + ": not a valid TensorProto";
    return false;
  }
  out.dtype = static_cast<tern_dtype>(dataType);
  size_t esize = tern_dtype_size(out.dtype);
  if (!esize) {
    error = path + ": element type " + std::to_string(dataType) + " is not supported";
    return false;
  }
  size_t count = out.count();
  if (haveRaw) {
    out.data = std::move(raw);
  } else {
    out.data.clear();
    for (size_t i = 0; i < std::max(floats.size(), ints.size()); ++i) {
      switch (out.dtype) {
      case TERN_FLOAT: appendRaw(out.data, static_cast<float>(floats[i])); break;
      case TERN_DOUBLE: appendRaw(out.data, floats[i]); break;
      case TERN_INT64: appendRaw(out.data, ints[i]); break;
      case TERN_UINT64: appendRaw(out.data, static_cast<uint64_t>(ints[i])); break;
      case TERN_INT32: appendRaw(out.data, static_cast<int32_t>(ints[i])); break;
      case TERN_UINT32: appendRaw(out.data, static_cast<uint32_t>(ints[i])); break;
      case TERN_INT16: case TERN_UINT16: case TERN_FLOAT16: case TERN_BFLOAT16:
        appendRaw(out.data, static_cast<uint16_t>(ints[i])); break;
      default: appendRaw(out.data, static_cast<uint8_t>(ints[i])); break;
      }
    }
  }
  if (out.data.size() != count * esize) {
    error = path + ": holds " + std::to_string(out.data.size()) + " bytes for " + std::to_string(count) +
            " elements";
    return false;
  }
  return true;
}

static const char *npyDescr(tern_dtype t) {
  switch (t) {
  case TERN_FLOAT: return "<f4";
  case TERN_DOUBLE: return "<f8";
  case TERN_FLOAT16: return "<f2";
  case TERN_INT8: return "|i1";
  case TERN_UINT8: return "|u1";
  case TERN_BOOL: return "|b1";
  case TERN_INT16: return "<i2";
  case TERN_UINT16: return "<u2";
  case TERN_INT32: return "<i4";
  case TERN_UINT32: return "<u4";
  case TERN_INT64: return "<i8";
  case TERN_UINT64: return "<u8";
  case TERN_BFLOAT16: return "<V2";
  }
  return nullptr;
}

bool readNpy(const std::string &path, HostTensor &out, std::string &error) {
  std::string bytes;
  if (!readFile(path, bytes, error))
    return false;
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) {
    error = path + ": not a .npy file";
    return false;
  }
  unsigned major = static_cast<unsigned char>(bytes[6]);
  size_t headerLen, start;
  if (major == 1) {
    headerLen = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    start = 10;
  } else {
    if (bytes.size() < 12) { error = path + ": truncated"; return false; }
    headerLen = 0;
    for (int i = 0; i < 4; ++i)
      headerLen |= size_t(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    start = 12;
  }
  if (start + headerLen > bytes.size()) {
    error = path + ": truncated header";
    return false;
  }
  std::string header = bytes.substr(start, headerLen);
  auto field = [&](const std::string &key) -> std::string {
    size_t k = header.find("'" + key + "'");
    if (k == std::string::npos)
      return "";
    size_t colon = header.find(':', k);
    return colon == std::string::npos ? "" : header.substr(colon + 1);
  };
  std::string descr = field("descr"), order = field("fortran_order"), shape = field("shape");
  size_t q1 = descr.find('\''), q2 = descr.find('\'', q1 + 1);
  if (q1 == std::string::npos || q2 == std::string::npos) {
    error = path + ": no dtype in the header";
    return false;
  }
  descr = descr.substr(q1 + 1, q2 - q1 - 1);
  if (order.find("True") != std::string::npos && order.find("True") < order.find(',')) {
    error = path + ": Fortran order is not supported";
    return false;
  }
  bool found = false;
  for (tern_dtype t : {TERN_FLOAT, TERN_DOUBLE, TERN_FLOAT16, TERN_INT8, TERN_UINT8, TERN_BOOL, TERN_INT16,
                       TERN_UINT16, TERN_INT32, TERN_UINT32, TERN_INT64, TERN_UINT64}) {
    std::string d = npyDescr(t);
    if (descr == d || (descr.size() == 3 && d.size() == 3 && descr.substr(1) == d.substr(1) && descr[0] != '>')) {
      out.dtype = t;
      found = true;
      break;
    }
  }
  if (!found) {
    error = path + ": dtype '" + descr + "' is not supported";
    return false;
  }
  size_t open = shape.find('('), close = shape.find(')');
  if (open == std::string::npos || close == std::string::npos) {
    error = path + ": no shape in the header";
    return false;
  }
  std::stringstream dims(shape.substr(open + 1, close - open - 1));
  std::string item;
  out.dims.clear();
  while (std::getline(dims, item, ',')) {
    if (item.find_first_not_of(" ") == std::string::npos)
      continue;
    out.dims.push_back(std::stoll(item));
  }
  size_t need = out.count() * tern_dtype_size(out.dtype);
  if (bytes.size() - start - headerLen < need) {
    error = path + ": holds fewer bytes than its shape needs";
    return false;
  }
  out.data.assign(bytes.begin() + static_cast<long>(start + headerLen),
                  bytes.begin() + static_cast<long>(start + headerLen + need));
  return true;
}

bool writeNpy(const std::string &path, const tern_tensor &t, std::string &error) {
  std::string header = "{'descr': '" + std::string(npyDescr(t.dtype)) + "', 'fortran_order': False, 'shape': (";
  for (int32_t i = 0; i < t.rank; ++i)
    header += std::to_string(t.dims[i]) + (t.rank == 1 ? "," : i + 1 < t.rank ? ", " : "");
  header += "), }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) {
    error = "cannot write " + path;
    return false;
  }
  out.write("\x93NUMPY\x01\x00", 8);
  uint16_t len = static_cast<uint16_t>(header.size());
  out.put(static_cast<char>(len & 0xff));
  out.put(static_cast<char>(len >> 8));
  out << header;
  out.write(static_cast<const char *>(t.data), static_cast<std::streamsize>(t.size_bytes));
  return static_cast<bool>(out);
}

bool readTensorFile(const std::string &path, HostTensor &out, std::string &error) {
  if (path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0)
    return readNpy(path, out, error);
  return readTensorProto(path, out, error);
}

} // namespace tern::tools
