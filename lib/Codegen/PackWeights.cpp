//===- PackWeights.cpp - constant matmul weights packed into panels -------===//

#include "lib/Codegen/PackWeights.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/APFloat.h"
#include <cmath>
#include <cstring>

using namespace mlir;

namespace tern {

namespace {

/// The raw bytes of a constant global's elements: a view of its blob, or
/// a copy in `storage` (a dense attribute).
std::optional<ArrayRef<char>> constantBytes(memref::GlobalOp global, std::vector<char> &storage) {
  if (!global || !global.getConstant() || !global.getInitialValue())
    return std::nullopt;
  Attribute init = *global.getInitialValue();
  MemRefType type = global.getType();
  if (!type.getElementType().isIntOrFloat() || type.getElementTypeBitWidth() % 8 != 0)
    return std::nullopt;
  size_t bytes = type.getNumElements() * (type.getElementTypeBitWidth() / 8);
  if (auto r = dyn_cast<DenseResourceElementsAttr>(init)) {
    AsmResourceBlob *blob = r.getRawHandle().getBlob();
    if (!blob || blob->getData().size() < bytes)
      return std::nullopt;
    return blob->getData().take_front(bytes);
  }
  if (auto d = dyn_cast<DenseElementsAttr>(init)) {
    ArrayRef<char> raw = d.getRawData();
    if (!d.isSplat())
      return raw.size() == bytes ? std::optional<ArrayRef<char>>(raw) : std::nullopt;
    // One element stored for all (i1 splats are not bytes: excluded above).
    size_t width = bytes / type.getNumElements();
    if (raw.size() != width)
      return std::nullopt;
    storage.resize(bytes);
    for (size_t i = 0; i < bytes; i += width)
      std::memcpy(&storage[i], raw.data(), width);
    return ArrayRef<char>(storage);
  }
  return std::nullopt;
}

} // namespace

/// The constant global behind `matrix` (maybe reshaped: a convolution's
/// weights collapsed to a matrix, the same contiguous data read with B's
/// 2-D shape), or nothing.
std::optional<WeightPacker::Source> WeightPacker::source(Value matrix, bool transposed) {
  auto bType = cast<MemRefType>(matrix.getType());
  Value base = matrix;
  while (Operation *def = base.getDefiningOp()) {
    if (auto collapse = dyn_cast<memref::CollapseShapeOp>(def))
      base = collapse.getSrc();
    else if (auto expand = dyn_cast<memref::ExpandShapeOp>(def))
      base = expand.getSrc();
    else
      break;
  }
  auto get = base.getDefiningOp<memref::GetGlobalOp>();
  if (!get || bType.getRank() < 2 || (!transposed && bType.getRank() != 2) || !bType.hasStaticShape() ||
      !bType.getLayout().isIdentity() || !get.getType().getLayout().isIdentity())
    return std::nullopt;
  Source s;
  s.global = symbols.lookup<memref::GlobalOp>(get.getName());
  s.n = bType.getDimSize(transposed ? 0 : 1);
  s.k = bType.getNumElements() / s.n;
  std::optional<ArrayRef<char>> data = constantBytes(s.global, s.storage);
  if (!data)
    return std::nullopt;
  s.data = *data;
  // Moved, not copied: `data` may point into `storage`.
  return std::optional<Source>(std::move(s));
}

/// Packs constant matrix `b` ([k, n], or [n, k...] when `transposed`);
/// `isUnsigned` says how bytes widen.
std::optional<std::pair<MemRefType, StringAttr>> WeightPacker::pack(Value matrix, bool transposed, bool isUnsigned, int64_t width,
                                                      Packing how) {
  std::optional<Source> s = source(matrix, transposed);
  if (!s)
    return std::nullopt;
  memref::GlobalOp global = s->global;
  // One packing per global, panel width, orientation, n and layout.
  int64_t n = s->n, k = s->k;
  auto key = std::make_tuple(Attribute(global.getSymNameAttr()), n, width,
                             (int)how * 4 + (transposed ? 2 : 0) + (isUnsigned ? 1 : 0));
  if (auto it = cache.find(key); it != cache.end())
    return it->second;
  std::optional<ArrayRef<char>> src = s->data;
  int64_t bits = global.getType().getElementTypeBitWidth();
  // 16-bit weights (tern-int16-activations) widen or pair as they are.
  bool words = bits == 16 && (how == Packing::Widen || how == Packing::Pairs2);
  int64_t elemBytes = how == Packing::Move || how == Packing::Half || words ? bits / 8 : 1;
  if (bits != elemBytes * 8 || (how == Packing::Move && bits != 32 && bits != 8) ||
      (how == Packing::Half && !global.getType().getElementType().isF32()))
    return std::nullopt;
  int64_t panels = (n + width - 1) / width;
  // Element (kk, col) of B, as its bytes.
  auto at = [&](int64_t kk, int64_t col) {
    return src->data() + (transposed ? col * k + kk : kk * n + col) * elemBytes;
  };
  Type elem = global.getType().getElementType();
  SmallVector<int64_t> shape{panels, k, width};
  if (how == Packing::Widen)
    elem = IntegerType::get(module.getContext(), 32);
  if (how == Packing::Groups4)
    shape = {panels, (k + 3) / 4, width * 4};
  if (how == Packing::Half) {
    elem = Float16Type::get(module.getContext());
    for (int64_t i = 0; i < n * k; ++i) {
      float v;
      std::memcpy(&v, src->data() + i * 4, 4);
      if (v != 0.0f && !(std::fabs(v) >= 0x1p-14f && std::fabs(v) <= 65504.0f))
        return std::nullopt;
    }
  }
  if (how == Packing::Pairs2) {
    elem = IntegerType::get(module.getContext(), 16);
    shape = {panels, (k + 1) / 2, width * 2};
  }
  if (how == Packing::Nibbles || how == Packing::Nibbles4) {
    if (width % 2)
      return std::nullopt;
    for (char e : src->take_front(n * k))
      if ((uint8_t)e >= 16)
        return std::nullopt;
    shape = how == Packing::Nibbles ? SmallVector<int64_t>{panels, k, width / 2}
                                    : SmallVector<int64_t>{panels, (k + 3) / 4, width * 2};
  }
  int64_t outBytes = elem.getIntOrFloatBitWidth() / 8, count = panels * shape[1] * shape[2];
  // Written straight into the new global's blob, zero-padded.
  AsmResourceBlob blob = HeapAsmResourceBlob::allocate(count * outBytes, 64);
  char *out = blob.getMutableData().data();
  std::memset(out, 0, count * outBytes);
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t r = 0; r < width && p * width + r < n; ++r) {
        const char *e = at(kk, p * width + r);
        switch (how) {
        case Packing::Move:
          std::memcpy(out + ((p * k + kk) * width + r) * elemBytes, e, elemBytes);
          break;
        case Packing::Widen: {
          int32_t v = isUnsigned ? (int32_t)(uint8_t)*e : (int32_t)(int8_t)*e;
          if (words) {
            int16_t w;
            std::memcpy(&w, e, 2);
            v = isUnsigned ? (int32_t)(uint16_t)w : (int32_t)w;
          }
          std::memcpy(out + ((p * k + kk) * width + r) * 4, &v, 4);
          break;
        }
        case Packing::Groups4:
          out[((p * shape[1] + kk / 4) * width + r) * 4 + kk % 4] = *e;
          break;
        case Packing::Pairs2: {
          int16_t v = isUnsigned ? (int16_t)(uint8_t)*e : (int16_t)(int8_t)*e;
          if (words)
            std::memcpy(&v, e, 2);
          std::memcpy(out + (((p * shape[1] + kk / 2) * width + r) * 2 + kk % 2) * 2, &v, 2);
          break;
        }
        case Packing::Nibbles: {
          char &byte = out[(p * k + kk) * (width / 2) + r % (width / 2)];
          byte = (char)(r < width / 2 ? (byte & 0xF0) | *e : (byte & 0x0F) | (*e << 4));
          break;
        }
        case Packing::Half: {
          float v;
          std::memcpy(&v, e, 4);
          bool lost;
          llvm::APFloat h(v);
          h.convert(llvm::APFloat::IEEEhalf(), llvm::APFloat::rmNearestTiesToEven, &lost);
          uint16_t bits16 = (uint16_t)h.bitcastToAPInt().getZExtValue();
          std::memcpy(out + ((p * k + kk) * width + r) * 2, &bits16, 2);
          break;
        }
        case Packing::Nibbles4: {
          char &byte = out[(p * shape[1] + kk / 4) * shape[2] + (r % (width / 2)) * 4 + kk % 4];
          byte = (char)(r < width / 2 ? (byte & 0xF0) | *e : (byte & 0x0F) | (*e << 4));
          break;
        }
        }
      }
  static const char *layout[] = {"", "_i32", "_dot4", "_nibbles", "_pairs", "_nibbles4", "_f16"};
  std::string name =
      (global.getSymName() + "_packed" + layout[(int)how] + (transposed ? "_t" : "") +
       (how == Packing::Move ? "" : "_") + Twine(width))
          .str();
  auto result = addGlobal(global, name, MemRefType::get(shape, elem), std::move(blob));
  return cache[key] = result;
}

/// A new constant global `name` of `type` holding `blob`, beside `original`
/// (which is erased if it ends up unread).
std::pair<MemRefType, StringAttr> WeightPacker::addGlobal(memref::GlobalOp original, StringRef name, MemRefType type,
                                                          AsmResourceBlob blob) {
  auto tensorType = RankedTensorType::get(type.getShape(), type.getElementType());
  auto attr = DenseResourceElementsAttr::get(tensorType, name, std::move(blob));
  OpBuilder b(module.getBodyRegion());
  b.setInsertionPoint(original);
  auto packedGlobal = memref::GlobalOp::create(b, original.getLoc(), name, b.getStringAttr("private"), type, attr,
                                               /*constant=*/true, b.getI64IntegerAttr(64));
  StringAttr sym = symbols.insert(packedGlobal);
  packedNames.insert(original.getSymNameAttr());
  return {type, sym};
}

std::optional<SparsePanels> WeightPacker::packSparse24(Value matrix, bool transposed, int64_t vl, int64_t vectors) {
  std::optional<Source> s = source(matrix, transposed);
  if (!s || vectors % 2 || !s->global.getType().getElementType().isF32())
    return std::nullopt;
  int64_t n = s->n, k = s->k, width = vl * vectors;
  auto key = std::make_tuple(Attribute(s->global.getSymNameAttr()), n, width, -1 - (transposed ? 1 : 0));
  if (auto it = cache.find(key); it != cache.end()) {
    auto idx = cache.find(std::make_tuple(Attribute(s->global.getSymNameAttr()), n, width, -3 - (transposed ? 1 : 0)));
    return SparsePanels{it->second.first, it->second.second, idx->second.first, idx->second.second};
  }
  const float *w = reinterpret_cast<const float *>(s->data.data());
  auto at = [&](int64_t kk, int64_t col) { return w[transposed ? col * k + kk : kk * n + col]; };
  int64_t panels = (n + width - 1) / width, groups = (k + 3) / 4;
  // Every group of 4 along k holds at most 2 non-zeros, in every column.
  for (int64_t col = 0; col < n; ++col)
    for (int64_t g = 0; g < groups; ++g) {
      int nonZeros = 0;
      for (int64_t kk = g * 4; kk < std::min(k, g * 4 + 4); ++kk)
        nonZeros += at(kk, col) != 0.0f;
      if (nonZeros > 2)
        return std::nullopt;
    }
  // values [panels][groups * 2][width] (slot s of group g at row 2g + s);
  // indices [panels][groups][width / 2]: byte q * vl + l holds the 2-bit
  // positions of vectors 2q (bits 0-3, slots 0 and 1) and 2q + 1 (bits 4-7)
  // at lane l. Empty slots hold 0 at position 0.
  AsmResourceBlob values = HeapAsmResourceBlob::allocate(panels * groups * 2 * width * 4, 64);
  AsmResourceBlob indices = HeapAsmResourceBlob::allocate(panels * groups * (width / 2), 64);
  float *vOut = reinterpret_cast<float *>(values.getMutableData().data());
  uint8_t *iOut = reinterpret_cast<uint8_t *>(indices.getMutableData().data());
  std::memset(vOut, 0, panels * groups * 2 * width * 4);
  std::memset(iOut, 0, panels * groups * (width / 2));
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t r = 0; r < width && p * width + r < n; ++r) {
        int slot = 0;
        for (int64_t i = 0; i < 4 && g * 4 + i < k; ++i) {
          float x = at(g * 4 + i, p * width + r);
          if (x == 0.0f)
            continue;
          vOut[((p * groups + g) * 2 + slot) * width + r] = x;
          int64_t v = r / vl, lane = r % vl;
          iOut[(p * groups + g) * (width / 2) + (v / 2) * vl + lane] |= (uint8_t)(i << (4 * (v % 2) + 2 * slot));
          ++slot;
        }
      }
  std::string base = (s->global.getSymName() + "_sparse24" + (transposed ? "_t_" : "_") + Twine(width)).str();
  MLIRContext *ctx = module.getContext();
  auto v = addGlobal(s->global, base + "_values", MemRefType::get({panels, groups * 2, width}, Float32Type::get(ctx)),
                     std::move(values));
  auto i = addGlobal(s->global, base + "_indices", MemRefType::get({panels, groups, width / 2}, IntegerType::get(ctx, 8)),
                     std::move(indices));
  cache[key] = v;
  cache[std::make_tuple(Attribute(s->global.getSymNameAttr()), n, width, -3 - (transposed ? 1 : 0))] = i;
  return SparsePanels{v.first, v.second, i.first, i.second};
}

std::optional<RowSparsePanels> WeightPacker::packRowSparse(Value matrix, bool transposed, int64_t width,
                                                          double maxShare) {
  std::optional<Source> s = source(matrix, transposed);
  if (!s || !s->global.getType().getElementType().isF32())
    return std::nullopt;
  int64_t n = s->n, k = s->k, panels = (n + width - 1) / width;
  Attribute name = s->global.getSymNameAttr();
  auto valuesKey = std::make_tuple(name, n, width, -5 - (transposed ? 1 : 0));
  auto indicesKey = std::make_tuple(name, n, width, -7 - (transposed ? 1 : 0));
  if (auto it = cache.find(valuesKey); it != cache.end()) {
    auto idx = cache.find(indicesKey)->second;
    return RowSparsePanels{it->second.first, it->second.second, idx.first, idx.second, it->second.first.getDimSize(1)};
  }
  const float *w = reinterpret_cast<const float *>(s->data.data());
  auto at = [&](int64_t kk, int64_t col) { return w[transposed ? col * k + kk : kk * n + col]; };
  // The non-zero rows of each panel.
  std::vector<std::vector<int32_t>> rows(panels);
  int64_t kept = 0;
  for (int64_t p = 0; p < panels; ++p) {
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t col = p * width; col < std::min(n, (p + 1) * width); ++col)
        if (at(kk, col) != 0.0f) {
          rows[p].push_back((int32_t)kk);
          break;
        }
    kept = std::max<int64_t>(kept, rows[p].size());
    if (kept > maxShare * k)
      return std::nullopt;
  }
  kept = std::max<int64_t>(kept, 1);
  AsmResourceBlob values = HeapAsmResourceBlob::allocate(panels * kept * width * 4, 64);
  AsmResourceBlob indices = HeapAsmResourceBlob::allocate(panels * kept * 4, 64);
  float *vOut = reinterpret_cast<float *>(values.getMutableData().data());
  int32_t *iOut = reinterpret_cast<int32_t *>(indices.getMutableData().data());
  std::memset(vOut, 0, panels * kept * width * 4);
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t j = 0; j < kept; ++j) {
      // Padding rows: zeros, read at the panel's first kept k (or 0).
      bool real = j < (int64_t)rows[p].size();
      int32_t kk = real ? rows[p][j] : (rows[p].empty() ? 0 : rows[p][0]);
      iOut[p * kept + j] = kk;
      if (real)
        for (int64_t r = 0; r < width && p * width + r < n; ++r)
          vOut[(p * kept + j) * width + r] = at(kk, p * width + r);
    }
  std::string base = (s->global.getSymName() + "_rows" + (transposed ? "_t_" : "_") + Twine(width)).str();
  MLIRContext *ctx = module.getContext();
  auto v = addGlobal(s->global, base + "_values", MemRefType::get({panels, kept, width}, Float32Type::get(ctx)),
                     std::move(values));
  auto i = addGlobal(s->global, base + "_indices", MemRefType::get({panels, kept}, IntegerType::get(ctx, 32)),
                     std::move(indices));
  cache[valuesKey] = v;
  cache[indicesKey] = i;
  return RowSparsePanels{v.first, v.second, i.first, i.second, kept};
}

/// Erases the globals that were packed and are no longer read.
void WeightPacker::eraseUnused() {
  // Reads of globals and reshapes left unused (pure ops: the contractions
  // that read the originals are gone).
  bool changed = true;
  while (changed) {
    SmallVector<Operation *> dead;
    module.walk([&](Operation *op) {
      if (isa<memref::GetGlobalOp, memref::CollapseShapeOp, memref::ExpandShapeOp>(op) && op->use_empty())
        dead.push_back(op);
    });
    changed = !dead.empty();
    for (Operation *op : dead)
      op->erase();
  }
  for (StringAttr name : packedNames) {
    auto global = symbols.lookup<memref::GlobalOp>(name);
    if (global && SymbolTable::symbolKnownUseEmpty(global, module))
      symbols.erase(global);
  }
}

} // namespace tern
