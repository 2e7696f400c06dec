//===- FoldConstantTransposes.cpp - transpose weights at compile time -----===//

#include "passes/Passes.h"

#include "dialects/Tern/TernOps.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"

namespace tern {
#define GEN_PASS_DEF_TERNFOLDCONSTANTTRANSPOSESPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;
using namespace tern;

namespace {

/// The raw bytes of a constant with byte-sized elements, if it has them.
std::optional<ArrayRef<char>> rawData(ElementsAttr attr) {
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr)) {
    if (AsmResourceBlob *blob = res.getRawHandle().getBlob())
      return blob->getData();
    return std::nullopt;
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(attr); dense && !dense.isSplat() &&
                                                      !dense.getElementType().isInteger(1))
    return dense.getRawData();
  return std::nullopt;
}

/// `attr` with its dims permuted (result dim i = source dim perm[i]).
Attribute transposed(ElementsAttr attr, ArrayRef<int64_t> perm) {
  auto type = cast<RankedTensorType>(attr.getType());
  if (!type.hasStaticShape() || type.getElementType().getIntOrFloatBitWidth() % 8)
    return {};
  if (auto dense = dyn_cast<DenseElementsAttr>(attr); dense && dense.isSplat()) {
    SmallVector<int64_t> shape;
    for (int64_t p : perm)
      shape.push_back(type.getDimSize(p));
    return dense.reshape(RankedTensorType::get(shape, type.getElementType()));
  }
  std::optional<ArrayRef<char>> data = rawData(attr);
  size_t esize = type.getElementTypeBitWidth() / 8;
  int64_t rank = type.getRank();
  if (!data || data->size() != type.getNumElements() * esize)
    return {};
  SmallVector<int64_t> shape, srcStrides(rank, 1), strides(rank);
  for (int64_t d = rank - 2; d >= 0; --d)
    srcStrides[d] = srcStrides[d + 1] * type.getDimSize(d + 1);
  for (int64_t p : perm)
    shape.push_back(type.getDimSize(p));
  for (int64_t i = 0; i < rank; ++i)
    strides[i] = srcStrides[perm[i]];
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  std::vector<char> out(data->size());
  SmallVector<int64_t> index(rank, 0);
  for (int64_t n = 0, total = type.getNumElements(); n < total; ++n) {
    int64_t src = 0;
    for (int64_t d = 0; d < rank; ++d)
      src += index[d] * strides[d];
    std::memcpy(out.data() + n * esize, data->data() + src * esize, esize);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++index[d] < shape[d])
        break;
      index[d] = 0;
    }
  }
  if (isa<DenseElementsAttr>(attr))
    return DenseElementsAttr::getFromRawBuffer(resultType, out);
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(out, alignof(std::max_align_t));
  return DenseResourceElementsAttr::get(resultType, "transposed", std::move(blob));
}

struct FoldConstantTransposesPass : tern::impl::TernFoldConstantTransposesPassBase<FoldConstantTransposesPass> {
  void runOnOperation() override {
    OpBuilder b(&getContext());
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<TransposeOp, GemmOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      if (auto t = dyn_cast<TransposeOp>(op)) {
        auto c = t.getData().getDefiningOp<ConstantOp>();
        if (!c)
          continue;
        Attribute value = transposed(c.getValue(), t.getPerm());
        if (!value)
          continue;
        b.setInsertionPoint(t);
        auto folded = ConstantOp::create(b, c.getLoc(), cast<ElementsAttr>(value));
        t.replaceAllUsesWith(folded.getResult());
        t.erase();
        if (c->use_empty())
          c.erase();
      } else if (auto g = dyn_cast<GemmOp>(op); g && g.getTransB()) {
        auto c = g.getB().getDefiningOp<ConstantOp>();
        if (!c)
          continue;
        Attribute value = transposed(c.getValue(), {1, 0});
        if (!value)
          continue;
        b.setInsertionPoint(g);
        auto folded = ConstantOp::create(b, c.getLoc(), cast<ElementsAttr>(value));
        g.getBMutable().assign(folded.getResult());
        g.setTransB(false);
        if (c->use_empty())
          c.erase();
      }
    }
  }
};

} // namespace
