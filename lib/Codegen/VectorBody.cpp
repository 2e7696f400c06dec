//===- VectorBody.cpp - a linalg body computed on vectors -----------------===//

#include "VectorBody.h"
#include "lib/Codegen/EntryBuffers.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace tern {

bool vectorizableBody(linalg::GenericOp op) {
  for (BlockArgument out : op.getRegionOutputArgs())
    if (!out.use_empty())
      return false;
  for (Operation &inner : op.getBlock()->without_terminator()) {
    if (!isa_and_nonnull<arith::ArithDialect, math::MathDialect>(inner.getDialect()))
      return false;
    if (!inner.hasTrait<OpTrait::Elementwise>() && !isa<arith::ConstantOp>(inner))
      return false;
    if (isa<arith::DivSIOp, arith::DivUIOp, arith::RemSIOp, arith::RemUIOp, arith::CeilDivSIOp,
            arith::CeilDivUIOp, arith::FloorDivSIOp>(inner))
      return false;
    for (Type t : inner.getResultTypes())
      if (!t.isIntOrFloat())
        return false;
  }
  return true;
}

Along along(AffineMap map, unsigned d) {
  Along a = Along::No;
  for (auto [i, e] : llvm::enumerate(map.getResults())) {
    if (!e.isFunctionOfDim(d))
      continue;
    auto dim = dyn_cast<AffineDimExpr>(e);
    if (!dim || i + 1 != map.getNumResults())
      return Along::Other;
    a = Along::Last;
  }
  return a;
}

std::optional<StridedView> stridedView(Value mem) {
  auto view = mem.getDefiningOp<memref::SubViewOp>();
  if (!view || view.getSourceType().getRank() != view.getType().getRank() ||
      !hasUnitInnerStride(view.getSource()) || ShapedType::isDynamicShape(view.getStaticOffsets()) ||
      ShapedType::isDynamicShape(view.getStaticStrides()))
    return std::nullopt;
  int64_t last = view.getStaticStrides().back();
  if (last < 2 || last > 4)
    return std::nullopt;
  return StridedView{view.getSource(), llvm::to_vector(view.getStaticOffsets()),
                     llvm::to_vector(view.getStaticStrides())};
}

Value loadStridedVector(OpBuilder &b, Location loc, VectorType type, const StridedView &view, ValueRange idx,
                        int64_t count) {
  int64_t lanes = type.getNumElements(), s = view.strides.back();
  SmallVector<Value> at;
  for (auto [i, v] : llvm::enumerate(idx)) {
    Value scaled = view.strides[i] == 1
                       ? v
                       : Value(arith::MulIOp::create(b, loc, v, arith::ConstantIndexOp::create(b, loc, view.strides[i])));
    at.push_back(view.offsets[i] ? Value(arith::AddIOp::create(b, loc, scaled,
                                                               arith::ConstantIndexOp::create(b, loc, view.offsets[i])))
                                 : scaled);
  }
  auto wide = VectorType::get({lanes * s}, type.getElementType());
  // The lanes past the last one read (up to s - 1 of them) are masked off,
  // unless the whole wide vector lies inside the row (a known column): a
  // plain load then (a stride-2 depthwise convolution's taps over a padded
  // row; masked loads cost several times a load here).
  auto source = cast<MemRefType>(view.source.getType());
  std::optional<int64_t> column = getConstantIntValue(idx.back());
  int64_t rowLength = source.getShape().back();
  Value all;
  if (column && !ShapedType::isDynamic(rowLength) &&
      *column * view.strides.back() + view.offsets.back() + lanes * s <= rowLength) {
    all = vector::LoadOp::create(b, loc, wide, view.source, at);
  } else {
    Value mask = vector::ConstantMaskOp::create(b, loc, VectorType::get({lanes * s}, b.getI1Type()),
                                                ArrayRef<int64_t>{(count - 1) * s + 1});
    Value zeros = arith::ConstantOp::create(b, loc, wide, b.getZeroAttr(wide));
    all = vector::MaskedLoadOp::create(b, loc, wide, view.source, at, mask, zeros);
  }
  SmallVector<int64_t> pick;
  for (int64_t l = 0; l < lanes; ++l)
    pick.push_back(l * s);
  return vector::ShuffleOp::create(b, loc, all, all, pick);
}

std::optional<int64_t> rowOperandBits(linalg::GenericOp op, unsigned inner, int64_t maxBits, bool strided,
                                      bool windows) {
  int64_t bits = 8;
  for (OpOperand &o : op->getOpOperands()) {
    auto t = dyn_cast<MemRefType>(o.get().getType());
    // i1 buffers hold a byte per element, a vector of i1 a bit per lane.
    if (!t || !t.getElementType().isIntOrFloat() || t.getElementType().getIntOrFloatBitWidth() > maxBits ||
        t.getElementType().getIntOrFloatBitWidth() < 8)
      return std::nullopt;
    bits = std::max<int64_t>(bits, t.getElementType().getIntOrFloatBitWidth());
    if (op.isDpsInit(&o))
      continue;
    AffineMap map = op.getMatchingIndexingMap(&o);
    if (map.getNumSymbols() != 0 || !llvm::all_of(map.getResults(), [&](AffineExpr e) {
          return isa<AffineDimExpr, AffineConstantExpr>(e) || (windows && !e.isFunctionOfDim(inner));
        }))
      return std::nullopt;
    Along a = along(map, inner);
    if (a == Along::Other ||
        (a == Along::Last && !hasUnitInnerStride(o.get()) && !(strided && stridedView(o.get()))))
      return std::nullopt;
  }
  return bits;
}

Value loadVector(OpBuilder &b, Location loc, VectorType type, Value mem, ValueRange idx, Value mask) {
  if (!mask)
    return vector::LoadOp::create(b, loc, type, mem, idx);
  Value zeros = arith::ConstantOp::create(b, loc, type, b.getZeroAttr(type));
  return vector::MaskedLoadOp::create(b, loc, type, mem, idx, mask, zeros);
}

Value evaluateAffine(OpBuilder &b, Location loc, AffineExpr e, ArrayRef<Value> at) {
  if (auto c = dyn_cast<AffineConstantExpr>(e))
    return arith::ConstantIndexOp::create(b, loc, c.getValue());
  if (auto d = dyn_cast<AffineDimExpr>(e))
    return at[d.getPosition()];
  auto bin = cast<AffineBinaryOpExpr>(e);
  Value l = evaluateAffine(b, loc, bin.getLHS(), at), r = evaluateAffine(b, loc, bin.getRHS(), at);
  switch (e.getKind()) {
  case AffineExprKind::Add:
    return arith::AddIOp::create(b, loc, l, r);
  case AffineExprKind::Mul:
    return arith::MulIOp::create(b, loc, l, r);
  case AffineExprKind::FloorDiv:
    return arith::FloorDivSIOp::create(b, loc, l, r);
  case AffineExprKind::CeilDiv:
    return arith::CeilDivSIOp::create(b, loc, l, r);
  default:
    return arith::RemSIOp::create(b, loc, l, r);
  }
}

SmallVector<Value> mapIndices(OpBuilder &b, Location loc, AffineMap map, ArrayRef<Value> at) {
  SmallVector<Value> idx;
  for (AffineExpr e : map.getResults())
    idx.push_back(evaluateAffine(b, loc, e, at));
  return idx;
}

Value vectorizeBody(OpBuilder &b, Location loc, linalg::GenericOp op, IRMapping &map, int64_t lanes) {
  auto vectorOf = [&](Type t) { return VectorType::get({lanes}, t); };
  for (Operation &inner : op.getBlock()->without_terminator()) {
    if (auto cst = dyn_cast<arith::ConstantOp>(inner)) {
      auto t = vectorOf(cst.getType());
      map.map(cst.getResult(),
              arith::ConstantOp::create(b, loc, t, DenseElementsAttr::get(t, cast<TypedAttr>(cst.getValue()))));
      continue;
    }
    SmallVector<Value> operands;
    for (Value o : inner.getOperands()) {
      Value mapped = map.lookupOrNull(o);
      if (!mapped) // a scalar from outside the body
        mapped = vector::BroadcastOp::create(b, loc, vectorOf(o.getType()), o);
      operands.push_back(mapped);
    }
    SmallVector<Type> types;
    for (Type t : inner.getResultTypes())
      types.push_back(vectorOf(t));
    OperationState state(loc, inner.getName().getIdentifier(), operands, types, inner.getAttrs());
    map.map(inner.getResults(), b.create(state)->getResults());
  }
  Value result = map.lookupOrDefault(op.getBlock()->getTerminator()->getOperand(0));
  if (!isa<VectorType>(result.getType())) // the body yields a value from outside (or a block argument)
    result = vector::BroadcastOp::create(b, loc, vectorOf(result.getType()), result);
  return result;
}

SmallVector<Value> transposeRows(OpBuilder &b, Location loc, VectorType row, ArrayRef<Value> rows) {
  int64_t lanes = row.getNumElements();
  Type elem = row.getElementType();
  Value zero;
  auto rowAt = [&](int64_t i) {
    if (i < (int64_t)rows.size() && rows[i])
      return rows[i];
    if (!zero)
      zero = arith::ConstantOp::create(b, loc, row, b.getZeroAttr(row));
    return zero;
  };
  auto shuffle = [&](Value x, Value y, ArrayRef<int64_t> mask) {
    return vector::ShuffleOp::create(b, loc, x, y, mask).getResult();
  };
  assert(llvm::isPowerOf2_64(lanes) && "a tile's lanes are a power of two");
  if (lanes != 8 || elem.getIntOrFloatBitWidth() != 32) {
    // log2(L) rounds of perfect shuffles: row 2i, 2i + 1 of the next round
    // interleave the low, the high halves of rows i and i + L/2 (each round
    // rotates the bits of (row, lane); after log2(L) the rows are the
    // columns). Whole-row two-input shuffles: vector.transpose of a 32 x 32
    // byte tile became one 1024-lane shuffle that LLVM spilled through the
    // stack, 7x slower than scalar copies.
    SmallVector<int64_t> lo, hi;
    for (int64_t i = 0; i < lanes / 2; ++i) {
      lo.append({i, lanes + i});
      hi.append({lanes / 2 + i, lanes + lanes / 2 + i});
    }
    SmallVector<Value> cur;
    for (int64_t i = 0; i < lanes; ++i)
      cur.push_back(rowAt(i));
    for (int64_t round = 1; round < lanes; round *= 2) {
      SmallVector<Value> next;
      for (int64_t i = 0; i < lanes / 2; ++i) {
        next.push_back(shuffle(cur[i], cur[i + lanes / 2], lo));
        next.push_back(shuffle(cur[i], cur[i + lanes / 2], hi));
      }
      cur = std::move(next);
    }
    return cur;
  }
  // Interleave the low and the high pairs of lanes of rows 2i, 2i + 1; take
  // the low and the high 64-bit halves of each 128-bit lane of two of
  // those (columns c and c + 4 of four rows); join the low or the high
  // 128-bit halves of two of those.
  const int64_t unpackLo[] = {0, 8, 1, 9, 4, 12, 5, 13}, unpackHi[] = {2, 10, 3, 11, 6, 14, 7, 15};
  const int64_t quadLo[] = {0, 1, 8, 9, 4, 5, 12, 13}, quadHi[] = {2, 3, 10, 11, 6, 7, 14, 15};
  const int64_t halfLo[] = {0, 1, 2, 3, 8, 9, 10, 11}, halfHi[] = {4, 5, 6, 7, 12, 13, 14, 15};
  SmallVector<Value> u(8), q(8);
  for (int64_t i = 0; i < 4; ++i) {
    u[2 * i] = shuffle(rowAt(2 * i), rowAt(2 * i + 1), unpackLo);
    u[2 * i + 1] = shuffle(rowAt(2 * i), rowAt(2 * i + 1), unpackHi);
  }
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t j = 0; j < 2; ++j) {
      q[4 * h + 2 * j] = shuffle(u[4 * h + j], u[4 * h + 2 + j], quadLo);
      q[4 * h + 2 * j + 1] = shuffle(u[4 * h + j], u[4 * h + 2 + j], quadHi);
    }
  SmallVector<Value> cols(8);
  for (int64_t c = 0; c < 4; ++c) {
    cols[c] = shuffle(q[c], q[4 + c], halfLo);
    cols[c + 4] = shuffle(q[c], q[4 + c], halfHi);
  }
  return cols;
}

} // namespace tern
