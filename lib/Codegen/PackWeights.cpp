//===- PackWeights.cpp - constant matmul weights packed into panels -------===//

#include "lib/Codegen/PackWeights.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
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

/// Packs constant matrix `b` ([k, n], or [n, k...] when `transposed`);
/// `isUnsigned` says how bytes widen.
std::optional<std::pair<MemRefType, StringAttr>> WeightPacker::pack(Value matrix, bool transposed, bool isUnsigned, int64_t width,
                                                      Packing how) {
  // The global, maybe reshaped (a convolution's weights collapsed to a
  // matrix): the same contiguous data, read with B's 2-D shape.
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
  // One packing per global, panel width, orientation, n and layout.
  int64_t n0 = bType.getDimSize(transposed ? 0 : 1);
  auto key = std::make_tuple(Attribute(get.getNameAttr().getAttr()), n0, width,
                             (int)how * 4 + (transposed ? 2 : 0) + (isUnsigned ? 1 : 0));
  if (auto it = cache.find(key); it != cache.end())
    return it->second;
  auto global = symbols.lookup<memref::GlobalOp>(get.getName());
  std::vector<char> storage;
  std::optional<ArrayRef<char>> src = constantBytes(global, storage);
  int64_t bits = global.getType().getElementTypeBitWidth();
  int64_t elemBytes = how == Packing::Move ? bits / 8 : 1;
  if (!src || bits != elemBytes * 8 || (how == Packing::Move && bits != 32 && bits != 8))
    return std::nullopt;
  int64_t n = n0, k = bType.getNumElements() / n;
  int64_t panels = (n + width - 1) / width;
  // Element (kk, col) of B, as its bytes.
  auto at = [&](int64_t kk, int64_t col) {
    return src->data() + (transposed ? col * k + kk : kk * n + col) * elemBytes;
  };
  Type elem = get.getType().getElementType();
  SmallVector<int64_t> shape{panels, k, width};
  if (how == Packing::Widen)
    elem = IntegerType::get(module.getContext(), 32);
  if (how == Packing::Groups4)
    shape = {panels, (k + 3) / 4, width * 4};
  if (how == Packing::Nibbles) {
    if (width % 2)
      return std::nullopt;
    for (char e : src->take_front(n * k))
      if ((uint8_t)e >= 16)
        return std::nullopt;
    shape = {panels, k, width / 2};
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
          std::memcpy(out + ((p * k + kk) * width + r) * 4, &v, 4);
          break;
        }
        case Packing::Groups4:
          out[((p * shape[1] + kk / 4) * width + r) * 4 + kk % 4] = *e;
          break;
        case Packing::Nibbles: {
          char &byte = out[(p * k + kk) * (width / 2) + r % (width / 2)];
          byte = (char)(r < width / 2 ? (byte & 0xF0) | *e : (byte & 0x0F) | (*e << 4));
          break;
        }
        }
      }
  auto type = MemRefType::get(shape, elem);
  auto tensorType = RankedTensorType::get(type.getShape(), type.getElementType());
  static const char *layout[] = {"", "_i32", "_dot4", "_nibbles"};
  std::string name =
      (global.getSymName() + "_packed" + layout[(int)how] + (transposed ? "_t" : "") +
       (how == Packing::Move ? "" : "_") + Twine(width))
          .str();
  auto attr = DenseResourceElementsAttr::get(tensorType, name, std::move(blob));
  OpBuilder b(module.getBodyRegion());
  b.setInsertionPoint(global);
  auto packedGlobal = memref::GlobalOp::create(b, global.getLoc(), name, b.getStringAttr("private"), type, attr,
                                               /*constant=*/true, b.getI64IntegerAttr(64));
  StringAttr sym = symbols.insert(packedGlobal);
  packedNames.insert(global.getSymNameAttr());
  return cache[key] = std::make_pair(type, sym);
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
