//===- LowerTensor.cpp - data movement ops to tensor/linalg --------------===//
//
// Views where the data need not move (reshapes through collapse/expand,
// slices with positive steps through extract_slice); otherwise a
// linalg.generic over the result whose body computes the source index and
// reads it with tensor.extract (gathers, tile, negative-step slices, pads
// other than constant).
//
//===----------------------------------------------------------------------===//

#include "lib/Conversion/TernToLinalg/Lowering.h"
#include "dialects/Tern/SymbolicDims.h"
#include "dialects/Tern/TernOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"

namespace tern::lowering {
namespace {

Value idx(OpBuilder &b, Location loc, int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
Value i64(OpBuilder &b, Location loc, int64_t v) { return constantScalar(b, loc, b.getI64Type(), v); }
Value sel(OpBuilder &b, Location loc, Value c, Value x, Value y) { return arith::SelectOp::create(b, loc, c, x, y); }
Value cmpI(OpBuilder &b, Location loc, arith::CmpIPredicate p, Value x, Value y) {
  return arith::CmpIOp::create(b, loc, p, x, y);
}
using P = arith::CmpIPredicate;
OpFoldResult fold(OpFoldResult r) { return isa<Value>(r) ? getAsOpFoldResult(cast<Value>(r)) : r; }

/// Index `i` (any int) normalized against `dim` (negative counts from the
/// end) and clamped into [0, dim-1] so that a bad index never reads outside.
Value safeIndex(OpBuilder &b, Location loc, Value i, Value dim) {
  Value ii = indexCast(b, loc, i);
  Value neg = cmpI(b, loc, P::slt, ii, idx(b, loc, 0));
  ii = sel(b, loc, neg, arith::AddIOp::create(b, loc, ii, dim), ii);
  ii = arith::MaxSIOp::create(b, loc, ii, idx(b, loc, 0));
  Value last = arith::SubIOp::create(b, loc, dim, idx(b, loc, 1));
  return arith::MinSIOp::create(b, loc, ii, last);
}

/// The dims of a tensor whose shape is given by a 1-D i64 shape operand;
/// static dims of `type` win.
SmallVector<OpFoldResult> dimsFromShape(OpBuilder &b, Location loc, RankedTensorType type, Value shape) {
  SmallVector<OpFoldResult> dims;
  for (int64_t i = 0; i < type.getRank(); ++i)
    dims.push_back(type.isDynamicDim(i) ? OpFoldResult(extractIndex(b, loc, shape, i))
                                        : OpFoldResult(b.getIndexAttr(type.getDimSize(i))));
  return dims;
}

LogicalResult lowerConstant(Operation *op, ValueRange, ConversionPatternRewriter &rw) {
  auto attr = cast<ElementsAttr>(op->getAttr("value"));
  auto type = signlessTensor(attr.getType());
  TypedAttr value;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr))
    value = dense.getType() == type ? dense : dense.bitcast(type.getElementType());
  else if (auto res = dyn_cast<DenseResourceElementsAttr>(attr))
    value = DenseResourceElementsAttr::get(type, res.getRawHandle());
  else
    return unsupported(op, "constant attribute kind");
  rw.replaceOp(op, arith::ConstantOp::create(rw, op->getLoc(), value));
  return success();
}

LogicalResult lowerShape(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  auto shapeOp = cast<ShapeOp>(op);
  Location loc = op->getLoc();
  Value x = operands[0];
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  auto norm = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
  int64_t start = norm(shapeOp.getStart()), end = norm(shapeOp.getEnd());
  SmallVector<Value> elems;
  for (int64_t i = start; i < end; ++i)
    elems.push_back(toI64(rw, loc, dimValue(rw, loc, x, i)));
  auto type = RankedTensorType::get({(int64_t)elems.size()}, rw.getI64Type());
  Value r = elems.empty() ? Value(arith::ConstantOp::create(rw, loc, DenseElementsAttr::get(type, ArrayRef<int64_t>{})))
                          : Value(tensor::FromElementsOp::create(rw, loc, type, elems));
  replaceWithResult(rw, op, r);
  return success();
}

LogicalResult lowerSize(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  Location loc = op->getLoc();
  Value x = operands[0];
  Value n = idx(rw, loc, 1);
  for (int64_t i = 0; i < cast<RankedTensorType>(x.getType()).getRank(); ++i)
    n = arith::MulIOp::create(rw, loc, n, dimValue(rw, loc, x, i));
  auto type = RankedTensorType::get({}, rw.getI64Type());
  replaceWithResult(rw, op, tensor::FromElementsOp::create(rw, loc, type, ValueRange{toI64(rw, loc, n)}));
  return success();
}

LogicalResult lowerReshape(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  auto reshape = cast<ReshapeOp>(op);
  Location loc = op->getLoc();
  Value x = operands[0], shape = operands[1];
  auto resultType = signlessTensor(op->getResult(0).getType());
  auto inType = cast<RankedTensorType>(x.getType());
  SmallVector<OpFoldResult> dims;
  std::optional<SmallVector<int64_t>> constant = getConstantInts(reshape.getShape());
  if (resultType.hasStaticShape()) {
    dims = getAsIndexOpFoldResult(rw.getContext(), resultType.getShape());
  } else if (constant && (int64_t)constant->size() == resultType.getRank()) {
    // Leading dims copied, the rest static on both sides ([b, s, 768] <->
    // [b, s, 12, 64]): collapse and expand only the static tails, so the
    // copied dims stay dims of the input (never a reshape through memory).
    int64_t inRank = inType.getRank(), outRank = resultType.getRank(), p = 0;
    while (p < std::min(inRank, outRank) && (*constant)[p] == 0 && !reshape.getAllowzero())
      ++p;
    auto staticFrom = [&](RankedTensorType t) {
      return llvm::none_of(t.getShape().drop_front(p), ShapedType::isDynamic);
    };
    if (p > 0 && p < inRank && p < outRank && staticFrom(inType) && staticFrom(resultType)) {
      Value v = x;
      SmallVector<ReassociationIndices> groups;
      for (int64_t i = 0; i < p; ++i)
        groups.push_back({i});
      if (inRank - p > 1) {
        SmallVector<int64_t> shape(inType.getShape().take_front(p));
        shape.push_back(ShapedType::getNumElements(inType.getShape().drop_front(p)));
        groups.push_back(llvm::to_vector(llvm::seq<int64_t>(p, inRank)));
        v = tensor::CollapseShapeOp::create(rw, loc, RankedTensorType::get(shape, inType.getElementType()), v,
                                            groups);
        groups.pop_back();
      }
      if (outRank - p > 1) {
        SmallVector<OpFoldResult> outDims;
        for (int64_t i = 0; i < outRank; ++i)
          outDims.push_back(i < p && resultType.isDynamicDim(i) ? OpFoldResult(dimValue(rw, loc, x, i))
                                                                : OpFoldResult(rw.getIndexAttr(resultType.getDimSize(i))));
        groups.push_back(llvm::to_vector(llvm::seq<int64_t>(p, outRank)));
        v = tensor::ExpandShapeOp::create(rw, loc, resultType, v, groups, outDims);
      }
      if (v.getType() == resultType) {
        replaceWithResult(rw, op, v);
        return success();
      }
    }
    // A constant shape operand: copies and -1 are known here, so each dim
    // is the input's dim, a constant or the rest, never a value read back
    // from the shape at run time (later passes trace the input's dims).
    int64_t inStatic = 1, knownStatic = 1;
    for (int64_t i = 0; i < inType.getRank(); ++i)
      if (!inType.isDynamicDim(i))
        inStatic *= inType.getDimSize(i);
    auto copied = [&](int64_t i) {
      return i < inType.getRank() && i < resultType.getRank() && (*constant)[i] == 0 && !reshape.getAllowzero();
    };
    for (int64_t i = 0; i < resultType.getRank(); ++i) {
      int64_t v = (*constant)[i];
      if (copied(i)) {
        dims.push_back(resultType.isDynamicDim(i) ? OpFoldResult(dimValue(rw, loc, x, i))
                                                  : OpFoldResult(rw.getIndexAttr(resultType.getDimSize(i))));
        if (!inType.isDynamicDim(i))
          knownStatic *= inType.getDimSize(i);
      } else if (v == -1) {
        dims.push_back(OpFoldResult());
      } else {
        dims.push_back(rw.getIndexAttr(v));
        knownStatic *= v;
      }
    }
    // The -1 as a product where it is one: the input's dynamic dims not
    // copied (a copy cancels its own) times the static ratio ([b, s, 768]
    // -> [-1, 768] is b x s, a size tern-plan-memory scales with); else
    // the input's size divided by the other dims.
    Value rest;
    if (knownStatic > 0 && inStatic % knownStatic == 0) {
      rest = idx(rw, loc, inStatic / knownStatic);
      for (int64_t i = 0; i < inType.getRank(); ++i)
        if (inType.isDynamicDim(i) && !copied(i))
          rest = arith::MulIOp::create(rw, loc, dimValue(rw, loc, x, i), rest);
    } else {
      Value total = idx(rw, loc, 1), known = idx(rw, loc, 1);
      for (int64_t i = 0; i < inType.getRank(); ++i)
        total = arith::MulIOp::create(rw, loc, total, dimValue(rw, loc, x, i));
      for (OpFoldResult d : dims)
        if (d)
          known = arith::MulIOp::create(rw, loc, known, getValueOrCreateConstantIndexOp(rw, loc, d));
      rest = arith::DivUIOp::create(rw, loc, total, arith::MaxSIOp::create(rw, loc, known, idx(rw, loc, 1)));
    }
    for (int64_t i = 0; i < resultType.getRank(); ++i)
      if (!dims[i])
        dims[i] = resultType.isDynamicDim(i) ? OpFoldResult(rest)
                                             : OpFoldResult(rw.getIndexAttr(resultType.getDimSize(i)));
  } else {
    // The shape operand at run time: 0 copies the input dim (unless
    // allowzero), -1 takes what is left.
    Value total = idx(rw, loc, 1);
    for (int64_t i = 0; i < inType.getRank(); ++i)
      total = arith::MulIOp::create(rw, loc, total, dimValue(rw, loc, x, i));
    SmallVector<Value> s;
    Value known = idx(rw, loc, 1);
    for (int64_t i = 0; i < resultType.getRank(); ++i) {
      Value v = extractIndex(rw, loc, shape, i);
      if (!reshape.getAllowzero() && i < inType.getRank())
        v = sel(rw, loc, cmpI(rw, loc, P::eq, v, idx(rw, loc, 0)), dimValue(rw, loc, x, i), v);
      Value infer = cmpI(rw, loc, P::eq, v, idx(rw, loc, -1));
      known = arith::MulIOp::create(rw, loc, known, sel(rw, loc, infer, idx(rw, loc, 1), v));
      s.push_back(v);
    }
    Value rest = arith::DivUIOp::create(rw, loc, total, arith::MaxSIOp::create(rw, loc, known, idx(rw, loc, 1)));
    for (int64_t i = 0; i < resultType.getRank(); ++i) {
      if (!resultType.isDynamicDim(i)) {
        dims.push_back(rw.getIndexAttr(resultType.getDimSize(i)));
        continue;
      }
      dims.push_back(sel(rw, loc, cmpI(rw, loc, P::eq, s[i], idx(rw, loc, -1)), rest, s[i]));
    }
  }
  replaceWithResult(rw, op, reshapeTo(rw, loc, x, resultType, dims));
  return success();
}

/// Reshape to the result type whose dims are the input's minus/plus units.
LogicalResult lowerSqueezeLike(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  Location loc = op->getLoc();
  Value x = operands[0];
  auto resultType = signlessTensor(op->getResult(0).getType());
  if (isa<UnsqueezeOp>(op)) {
    auto axes = cast<UnsqueezeOp>(op).getAxes();
    SmallVector<int64_t> sorted(axes.begin(), axes.end());
    llvm::sort(sorted);
    replaceWithResult(rw, op, insertUnitDims(rw, loc, x, sorted));
    return success();
  }
  SmallVector<OpFoldResult> in = dimsOf(rw, loc, x), dims;
  if (auto sq = dyn_cast<SqueezeOp>(op)) {
    for (int64_t i = 0; i < (int64_t)in.size(); ++i)
      if (!llvm::is_contained(sq.getAxes(), i))
        dims.push_back(in[i]);
  } else { // flatten
    int64_t axis = cast<FlattenOp>(op).getAxis();
    Value a = idx(rw, loc, 1), c = idx(rw, loc, 1);
    for (int64_t i = 0; i < (int64_t)in.size(); ++i) {
      Value d = getValueOrCreateConstantIndexOp(rw, loc, in[i]);
      if (i < axis)
        a = arith::MulIOp::create(rw, loc, a, d);
      else
        c = arith::MulIOp::create(rw, loc, c, d);
    }
    dims = {a, c};
  }
  replaceWithResult(rw, op, reshapeTo(rw, loc, x, resultType, dims));
  return success();
}

LogicalResult lowerTranspose(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  Location loc = op->getLoc();
  auto perm = cast<TransposeOp>(op).getPerm();
  auto resultType = signlessTensor(op->getResult(0).getType());
  SmallVector<OpFoldResult> in = dimsOf(rw, loc, operands[0]), dims;
  for (int64_t p : perm)
    dims.push_back(in[p]);
  Value init = emptyTensor(rw, loc, resultType, dims);
  Value r = linalg::TransposeOp::create(rw, loc, operands[0], init, perm).getResult()[0];
  replaceWithResult(rw, op, r);
  return success();
}

LogicalResult lowerConcat(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  Location loc = op->getLoc();
  int64_t axis = cast<ConcatOp>(op).getAxis();
  auto resultType = signlessTensor(op->getResult(0).getType());
  SmallVector<OpFoldResult> dims = dimsOf(rw, loc, operands[0]);
  Value total = idx(rw, loc, 0);
  for (Value v : operands)
    total = arith::AddIOp::create(rw, loc, total, dimValue(rw, loc, v, axis));
  dims[axis] = total;
  Value r = emptyTensor(rw, loc, resultType, dims);
  Value offset = idx(rw, loc, 0);
  int64_t rank = resultType.getRank();
  for (Value v : operands) {
    SmallVector<OpFoldResult> offsets(rank, rw.getIndexAttr(0)), strides(rank, rw.getIndexAttr(1));
    offsets[axis] = offset;
    r = tensor::InsertSliceOp::create(rw, loc, v, r, offsets, dimsOf(rw, loc, v), strides);
    offset = arith::AddIOp::create(rw, loc, offset, dimValue(rw, loc, v, axis));
  }
  replaceWithResult(rw, op, r);
  return success();
}

LogicalResult lowerSplit(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  auto split = cast<SplitOp>(op);
  Location loc = op->getLoc();
  Value x = operands[0];
  int64_t axis = split.getAxis(), n = op->getNumResults();
  auto inType = cast<RankedTensorType>(x.getType());
  SmallVector<OpFoldResult> dims = dimsOf(rw, loc, x);
  std::optional<SmallVector<int64_t>> sizes;
  if (split.getSplit())
    sizes = getConstantInts(split.getSplit());
  Value dim = dimValue(rw, loc, x, axis);
  // Equal parts: ceil(dim / n), the last one smaller.
  Value part = arith::CeilDivUIOp::create(rw, loc, dim, idx(rw, loc, n));
  Value offset = idx(rw, loc, 0);
  SmallVector<Value> results;
  int64_t rank = inType.getRank();
  for (int64_t i = 0; i < n; ++i) {
    auto rt = signlessTensor(op->getResult(i).getType());
    Value size;
    if (!rt.isDynamicDim(axis))
      size = idx(rw, loc, rt.getDimSize(axis));
    else if (sizes)
      size = idx(rw, loc, (*sizes)[i]);
    else if (split.getSplit())
      size = extractIndex(rw, loc, operands[1], i);
    else
      size = arith::MinUIOp::create(rw, loc, part, arith::SubIOp::create(rw, loc, dim, arith::MinUIOp::create(rw, loc, offset, dim)));
    SmallVector<OpFoldResult> offsets(rank, rw.getIndexAttr(0)), strides(rank, rw.getIndexAttr(1)), sz(dims);
    offsets[axis] = offset; // a Value: a static offset into a 0-sized dim fails verification
    sz[axis] = rt.isDynamicDim(axis) ? getAsOpFoldResult(size) : OpFoldResult(rw.getIndexAttr(rt.getDimSize(axis)));
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && !rt.isDynamicDim(d))
        sz[d] = rw.getIndexAttr(rt.getDimSize(d));
    Value s = tensor::ExtractSliceOp::create(rw, loc, rt, x, offsets, sz, strides);
    results.push_back(s);
    offset = arith::AddIOp::create(rw, loc, offset, size);
  }
  rw.replaceOp(op, results);
  return success();
}

LogicalResult lowerExpand(Operation *op, ValueRange operands, ConversionPatternRewriter &rw,
                          const LowerOptions &options) {
  Location loc = op->getLoc();
  Value x = operands[0], shape = operands[1];
  auto resultType = signlessTensor(op->getResult(0).getType());
  auto inType = cast<RankedTensorType>(x.getType());
  int64_t rank = resultType.getRank();
  SmallVector<OpFoldResult> dims;
  int64_t shapeLen = cast<RankedTensorType>(shape.getType()).getDimSize(0);
  for (int64_t i = 0; i < rank; ++i) {
    if (!resultType.isDynamicDim(i)) {
      dims.push_back(rw.getIndexAttr(resultType.getDimSize(i)));
      continue;
    }
    Value d = idx(rw, loc, 1);
    int64_t si = i - (rank - shapeLen), xi = i - (rank - inType.getRank());
    if (si >= 0)
      d = extractIndex(rw, loc, shape, si);
    if (xi >= 0)
      d = arith::MaxSIOp::create(rw, loc, d, dimValue(rw, loc, x, xi));
    dims.push_back(d);
  }
  // A dynamic dim of x is 1 (stretched) or the result's: known at run time,
  // unless the symbolic dims prove it the result's.
  for (int64_t xi = 0; xi < inType.getRank(); ++xi) {
    int64_t i = xi + rank - inType.getRank();
    if (!options.broadcastAtRunTime || !inType.isDynamicDim(xi) ||
        (resultType.isDynamicDim(i) && canonicalDim(op->getOperand(0), xi) == canonicalDim(op->getResult(0), i)))
      continue;
    x = stretchAtRunTime(rw, loc, x, xi, getValueOrCreateConstantIndexOp(rw, loc, dims[i]), op, 0);
  }
  replaceWithResult(rw, op, elementwiseTo(rw, loc, ValueRange{x}, resultType, dims,
                                [](OpBuilder &, Location, ValueRange a) { return a[0]; }));
  return success();
}

LogicalResult lowerTile(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  Location loc = op->getLoc();
  Value x = operands[0];
  auto resultType = signlessTensor(op->getResult(0).getType());
  int64_t rank = resultType.getRank();
  SmallVector<OpFoldResult> dims;
  SmallVector<Value> inDims;
  for (int64_t i = 0; i < rank; ++i) {
    inDims.push_back(dimValue(rw, loc, x, i));
    dims.push_back(resultType.isDynamicDim(i)
                       ? OpFoldResult(arith::MulIOp::create(rw, loc, inDims[i], extractIndex(rw, loc, operands[1], i)).getResult())
                       : OpFoldResult(rw.getIndexAttr(resultType.getDimSize(i))));
  }
  Value r = generate(rw, loc, resultType, dims, {}, {}, [&](OpBuilder &b, Location l, ValueRange iv, ValueRange) -> Value {
    SmallVector<Value> src;
    for (int64_t i = 0; i < rank; ++i)
      src.push_back(arith::RemUIOp::create(b, l, iv[i], inDims[i]));
    return tensor::ExtractOp::create(b, l, x, src);
  });
  replaceWithResult(rw, op, r);
  return success();
}

LogicalResult lowerGather(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  Location loc = op->getLoc();
  MLIRContext *ctx = rw.getContext();
  Value data = operands[0], indices = operands[1];
  int64_t axis = cast<GatherOp>(op).getAxis();
  auto resultType = signlessTensor(op->getResult(0).getType());
  auto it = cast<RankedTensorType>(indices.getType());
  int64_t q = it.getRank();
  SmallVector<OpFoldResult> dd = dimsOf(rw, loc, data), id = dimsOf(rw, loc, indices), dims;
  dims.append(dd.begin(), dd.begin() + axis);
  dims.append(id.begin(), id.end());
  dims.append(dd.begin() + axis + 1, dd.end());
  SmallVector<AffineExpr> ie;
  for (int64_t i = 0; i < q; ++i)
    ie.push_back(getAffineDimExpr(axis + i, ctx));
  AffineMap imap = AffineMap::get(resultType.getRank(), 0, ie, ctx);
  Value axisDim = dimValue(rw, loc, data, axis);
  Value res = generate(rw, loc, resultType, dims, ValueRange{indices}, {imap},
                       [&](OpBuilder &b, Location l, ValueRange iv, ValueRange a) -> Value {
                         SmallVector<Value> src(iv.begin(), iv.begin() + axis);
                         src.push_back(safeIndex(b, l, a[0], axisDim));
                         src.append(iv.begin() + axis + q, iv.end());
                         return tensor::ExtractOp::create(b, l, data, src);
                       });
  replaceWithResult(rw, op, res);
  return success();
}

LogicalResult lowerGatherElements(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  Location loc = op->getLoc();
  MLIRContext *ctx = rw.getContext();
  Value data = operands[0], indices = operands[1];
  int64_t axis = cast<GatherElementsOp>(op).getAxis();
  auto resultType = signlessTensor(op->getResult(0).getType());
  Value axisDim = dimValue(rw, loc, data, axis);
  Value res = generate(rw, loc, resultType, dimsOf(rw, loc, indices), ValueRange{indices},
                       {AffineMap::getMultiDimIdentityMap(resultType.getRank(), ctx)},
                       [&](OpBuilder &b, Location l, ValueRange iv, ValueRange a) -> Value {
                         SmallVector<Value> src(iv);
                         src[axis] = safeIndex(b, l, a[0], axisDim);
                         return tensor::ExtractOp::create(b, l, data, src);
                       });
  replaceWithResult(rw, op, res);
  return success();
}

LogicalResult lowerGatherND(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  Location loc = op->getLoc();
  Value data = operands[0], indices = operands[1];
  int64_t bd = cast<GatherNDOp>(op).getBatchDims();
  auto resultType = signlessTensor(op->getResult(0).getType());
  auto it = cast<RankedTensorType>(indices.getType());
  int64_t q = it.getRank(), k = it.getDimSize(q - 1);
  if (k == ShapedType::kDynamic)
    return unsupported(op, "indices with a dynamic last dim");
  SmallVector<OpFoldResult> dd = dimsOf(rw, loc, data), id = dimsOf(rw, loc, indices), dims;
  dims.append(id.begin(), id.end() - 1);
  dims.append(dd.begin() + bd + k, dd.end());
  SmallVector<Value> dataDims;
  for (int64_t i = 0; i < (int64_t)dd.size(); ++i)
    dataDims.push_back(dimValue(rw, loc, data, i));
  Value res = generate(rw, loc, resultType, dims, {}, {}, [&](OpBuilder &b, Location l, ValueRange iv, ValueRange) -> Value {
    SmallVector<Value> src(iv.begin(), iv.begin() + bd);
    SmallVector<Value> ipos(iv.begin(), iv.begin() + (q - 1));
    for (int64_t j = 0; j < k; ++j) {
      ipos.push_back(idx(b, l, j));
      Value v = tensor::ExtractOp::create(b, l, indices, ipos);
      ipos.pop_back();
      src.push_back(safeIndex(b, l, v, dataDims[bd + j]));
    }
    src.append(iv.begin() + (q - 1), iv.end());
    return tensor::ExtractOp::create(b, l, data, src);
  });
  replaceWithResult(rw, op, res);
  return success();
}

LogicalResult lowerSlice(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  Location loc = op->getLoc();
  Value x = operands[0];
  auto inType = cast<RankedTensorType>(x.getType());
  auto resultType = signlessTensor(op->getResult(0).getType());
  int64_t rank = inType.getRank();
  auto axes = getConstantInts(op->getOperand(3));
  auto steps = getConstantInts(op->getOperand(4));
  if (!axes || !steps)
    return unsupported(op, "axes and steps must be constants");
  SmallVector<OpFoldResult> offsets(rank, rw.getIndexAttr(0)), sizes = dimsOf(rw, loc, x),
      strides(rank, rw.getIndexAttr(1));
  SmallVector<int64_t> stepOf(rank, 1);
  bool negative = false;
  for (size_t j = 0; j < axes->size(); ++j) {
    int64_t a = (*axes)[j] < 0 ? (*axes)[j] + rank : (*axes)[j], t = (*steps)[j];
    if (t == 0)
      return unsupported(op, "a step of 0");
    Value d = toI64(rw, loc, dimValue(rw, loc, x, a));
    auto read = [&](Value tensor) {
      Value v = tensor::ExtractOp::create(rw, loc, tensor, ValueRange{idx(rw, loc, j)});
      return v.getType().isInteger(64) ? v : Value(arith::ExtSIOp::create(rw, loc, rw.getI64Type(), v));
    };
    Value s = read(operands[1]), e = read(operands[2]), zero = i64(rw, loc, 0);
    s = sel(rw, loc, cmpI(rw, loc, P::slt, s, zero), arith::AddIOp::create(rw, loc, s, d), s);
    e = sel(rw, loc, cmpI(rw, loc, P::slt, e, zero), arith::AddIOp::create(rw, loc, e, d), e);
    Value size;
    if (t > 0) {
      s = arith::MinSIOp::create(rw, loc, arith::MaxSIOp::create(rw, loc, s, zero), d);
      e = arith::MinSIOp::create(rw, loc, arith::MaxSIOp::create(rw, loc, e, zero), d);
      Value span = arith::MaxSIOp::create(rw, loc, arith::SubIOp::create(rw, loc, e, s), zero);
      size = arith::CeilDivSIOp::create(rw, loc, span, i64(rw, loc, t));
    } else {
      Value dm1 = arith::SubIOp::create(rw, loc, d, i64(rw, loc, 1));
      s = arith::MinSIOp::create(rw, loc, arith::MaxSIOp::create(rw, loc, s, zero), dm1);
      e = arith::MinSIOp::create(rw, loc, arith::MaxSIOp::create(rw, loc, e, i64(rw, loc, -1)), dm1);
      Value span = arith::MaxSIOp::create(rw, loc, arith::SubIOp::create(rw, loc, s, e), zero);
      size = arith::CeilDivSIOp::create(rw, loc, span, i64(rw, loc, -t));
      negative = true;
    }
    offsets[a] = indexCast(rw, loc, s);
    sizes[a] = resultType.isDynamicDim(a) ? OpFoldResult(indexCast(rw, loc, size))
                                          : OpFoldResult(rw.getIndexAttr(resultType.getDimSize(a)));
    strides[a] = rw.getIndexAttr(t);
    stepOf[a] = t;
  }
  Value r;
  if (!negative) {
    for (int64_t d = 0; d < rank; ++d) {
      offsets[d] = fold(offsets[d]);
      sizes[d] = resultType.isDynamicDim(d) ? fold(sizes[d]) : OpFoldResult(rw.getIndexAttr(resultType.getDimSize(d)));
    }
    r = tensor::ExtractSliceOp::create(rw, loc, resultType, x, offsets, sizes, strides);
  } else {
    r = generate(rw, loc, resultType, sizes, {}, {}, [&](OpBuilder &b, Location l, ValueRange iv, ValueRange) -> Value {
      SmallVector<Value> src;
      for (int64_t i = 0; i < rank; ++i) {
        Value o = getValueOrCreateConstantIndexOp(b, l, offsets[i]);
        src.push_back(arith::AddIOp::create(b, l, o, arith::MulIOp::create(b, l, iv[i], idx(b, l, stepOf[i]))));
      }
      return tensor::ExtractOp::create(b, l, x, src);
    });
  }
  replaceWithResult(rw, op, r);
  return success();
}

LogicalResult lowerRange(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  Location loc = op->getLoc();
  auto resultType = signlessTensor(op->getResult(0).getType());
  Type elem = resultType.getElementType();
  Value start = tensor::ExtractOp::create(rw, loc, operands[0], ValueRange{});
  Value limit = tensor::ExtractOp::create(rw, loc, operands[1], ValueRange{});
  Value delta = tensor::ExtractOp::create(rw, loc, operands[2], ValueRange{});
  OpFoldResult n;
  if (!resultType.isDynamicDim(0)) {
    n = rw.getIndexAttr(resultType.getDimSize(0));
  } else if (isa<FloatType>(elem)) {
    Value q = arith::DivFOp::create(rw, loc, arith::SubFOp::create(rw, loc, limit, start), delta);
    Value c = math::CeilOp::create(rw, loc, q);
    Value i = arith::FPToSIOp::create(rw, loc, rw.getI64Type(), c);
    n = indexCast(rw, loc, arith::MaxSIOp::create(rw, loc, i, i64(rw, loc, 0)));
  } else {
    Value q = arith::CeilDivSIOp::create(rw, loc, arith::SubIOp::create(rw, loc, limit, start), delta);
    Value i = convertScalar(rw, loc, q, elem, rw.getI64Type());
    n = indexCast(rw, loc, arith::MaxSIOp::create(rw, loc, i, i64(rw, loc, 0)));
  }
  Value r = generate(rw, loc, resultType, {n}, {}, {}, [&](OpBuilder &b, Location l, ValueRange iv, ValueRange) -> Value {
    Value i = convertScalar(b, l, toI64(b, l, iv[0]), b.getI64Type(), elem);
    if (isa<FloatType>(elem))
      return arith::AddFOp::create(b, l, start, arith::MulFOp::create(b, l, i, delta));
    return arith::AddIOp::create(b, l, start, arith::MulIOp::create(b, l, i, delta));
  });
  replaceWithResult(rw, op, r);
  return success();
}

LogicalResult lowerCumSum(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  auto cs = cast<CumSumOp>(op);
  Location loc = op->getLoc();
  MLIRContext *ctx = rw.getContext();
  Value x = operands[0];
  auto t = cast<RankedTensorType>(x.getType());
  int64_t rank = t.getRank(), axis = cs.getAxis();
  bool exclusive = cs.getExclusive(), reverse = cs.getReverse();
  Type elem = t.getElementType();
  // out[i] = sum over k of x[k] where k <= i (k >= i reversed; strict when exclusive).
  SmallVector<AffineExpr> xe, oe;
  for (int64_t i = 0; i < rank; ++i) {
    xe.push_back(getAffineDimExpr(i == axis ? rank : i, ctx));
    oe.push_back(getAffineDimExpr(i, ctx));
  }
  Value init = filledTensor(rw, loc, t, dimsOf(rw, loc, x), constantScalar(rw, loc, elem, 0));
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  iters.push_back(utils::IteratorType::reduction);
  Value r = linalg::GenericOp::create(
                rw, loc, TypeRange{t}, ValueRange{x}, ValueRange{init},
                SmallVector<AffineMap>{AffineMap::get(rank + 1, 0, xe, ctx), AffineMap::get(rank + 1, 0, oe, ctx)}, iters,
                [&](OpBuilder &b, Location l, ValueRange a) {
                  Value i = linalg::IndexOp::create(b, l, axis), k = linalg::IndexOp::create(b, l, rank);
                  P p = reverse ? (exclusive ? P::ugt : P::uge) : (exclusive ? P::ult : P::ule);
                  Value take = cmpI(b, l, p, k, i);
                  Value v = sel(b, l, take, a[0], constantScalar(b, l, elem, 0));
                  Value s = isa<FloatType>(elem) ? Value(arith::AddFOp::create(b, l, a[1], v))
                                                 : Value(arith::AddIOp::create(b, l, a[1], v));
                  linalg::YieldOp::create(b, l, s);
                })
                .getResult(0);
  replaceWithResult(rw, op, r);
  return success();
}

LogicalResult lowerConstantOfShape(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  Location loc = op->getLoc();
  auto resultType = signlessTensor(op->getResult(0).getType());
  auto value = cast<DenseElementsAttr>(op->getAttr("value"));
  Type elem = resultType.getElementType();
  Attribute v = value.getSplatValue<Attribute>();
  TypedAttr scalar;
  if (auto f = dyn_cast<FloatAttr>(v))
    scalar = FloatAttr::get(elem, f.getValue());
  else
    scalar = IntegerAttr::get(elem, cast<IntegerAttr>(v).getValue());
  Value fill = arith::ConstantOp::create(rw, loc, scalar);
  replaceWithResult(rw, op, filledTensor(rw, loc, resultType, dimsFromShape(rw, loc, resultType, operands[0]), fill));
  return success();
}

LogicalResult lowerPad(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  auto pad = cast<PadOp>(op);
  Location loc = op->getLoc();
  Value x = operands[0];
  auto t = cast<RankedTensorType>(x.getType());
  auto resultType = signlessTensor(op->getResult(0).getType());
  int64_t rank = t.getRank();
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  if (pad.getAxes()) {
    auto a = getConstantInts(pad.getAxes());
    if (!a)
      return unsupported(op, "axes must be a constant");
    axes.clear();
    for (int64_t v : *a)
      axes.push_back(v < 0 ? v + rank : v);
  }
  int64_t n = axes.size();
  SmallVector<OpFoldResult> lo(rank, rw.getIndexAttr(0)), hi(rank, rw.getIndexAttr(0));
  auto constPads = getConstantInts(pad.getPads());
  for (int64_t j = 0; j < n; ++j) {
    if (constPads) {
      if ((*constPads)[j] < 0 || (*constPads)[j + n] < 0)
        return unsupported(op, "negative pads");
      lo[axes[j]] = rw.getIndexAttr((*constPads)[j]);
      hi[axes[j]] = rw.getIndexAttr((*constPads)[j + n]);
    } else {
      lo[axes[j]] = extractIndex(rw, loc, operands[1], j);
      hi[axes[j]] = extractIndex(rw, loc, operands[1], j + n);
    }
  }
  StringRef mode = pad.getMode();
  if (mode == "constant") {
    // The pad value is a scalar, or a 1-element 1-D tensor (older exports).
    Value value = constantScalar(rw, loc, t.getElementType(), 0);
    if (pad.getConstantValue()) {
      Value v = operands[2];
      SmallVector<Value> at(cast<RankedTensorType>(v.getType()).getRank(), idx(rw, loc, 0));
      value = tensor::ExtractOp::create(rw, loc, v, at);
    }
    replaceWithResult(rw, op, tensor::PadOp::create(rw, loc, resultType, x, lo, hi, value));
    return success();
  }
  // edge, reflect, wrap: read the source index of every result element.
  SmallVector<OpFoldResult> dims;
  SmallVector<Value> inDims, los;
  for (int64_t i = 0; i < rank; ++i) {
    inDims.push_back(dimValue(rw, loc, x, i));
    los.push_back(getValueOrCreateConstantIndexOp(rw, loc, lo[i]));
    Value h = getValueOrCreateConstantIndexOp(rw, loc, hi[i]);
    dims.push_back(arith::AddIOp::create(rw, loc, inDims[i], arith::AddIOp::create(rw, loc, los[i], h)).getResult());
  }
  Value r = generate(rw, loc, resultType, dims, {}, {}, [&](OpBuilder &b, Location l, ValueRange iv, ValueRange) -> Value {
    SmallVector<Value> src;
    for (int64_t i = 0; i < rank; ++i) {
      Value j = arith::SubIOp::create(b, l, iv[i], los[i]);
      Value d = inDims[i], zero = idx(b, l, 0), last = arith::SubIOp::create(b, l, d, idx(b, l, 1));
      Value s;
      if (mode == "edge") {
        s = arith::MinSIOp::create(b, l, arith::MaxSIOp::create(b, l, j, zero), last);
      } else if (mode == "reflect") {
        // Reflect about the first and last element (period 2(d-1)).
        Value period = arith::MaxSIOp::create(b, l, arith::MulIOp::create(b, l, last, idx(b, l, 2)), idx(b, l, 1));
        Value m = arith::RemSIOp::create(b, l, j, period);
        m = sel(b, l, cmpI(b, l, P::slt, m, zero), arith::AddIOp::create(b, l, m, period), m);
        s = sel(b, l, cmpI(b, l, P::sgt, m, last), arith::SubIOp::create(b, l, period, m), m);
        s = arith::MinSIOp::create(b, l, arith::MaxSIOp::create(b, l, s, zero), last);
      } else { // wrap
        Value m = arith::RemSIOp::create(b, l, j, d);
        s = sel(b, l, cmpI(b, l, P::slt, m, zero), arith::AddIOp::create(b, l, m, d), m);
      }
      src.push_back(s);
    }
    return tensor::ExtractOp::create(b, l, x, src);
  });
  replaceWithResult(rw, op, r);
  return success();
}

LogicalResult lowerTrilu(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  auto trilu = cast<TriluOp>(op);
  Location loc = op->getLoc();
  Value x = operands[0];
  auto t = cast<RankedTensorType>(x.getType());
  int64_t rank = t.getRank();
  Value k = trilu.getK() ? tensor::ExtractOp::create(rw, loc, operands[1], ValueRange{}).getResult()
                         : i64(rw, loc, 0);
  bool upper = trilu.getUpper();
  Value r = generate(rw, loc, t, dimsOf(rw, loc, x), ValueRange{x},
                     {AffineMap::getMultiDimIdentityMap(rank, rw.getContext())},
                     [&](OpBuilder &b, Location l, ValueRange iv, ValueRange a) -> Value {
                       Value i = toI64(b, l, iv[rank - 2]), j = toI64(b, l, iv[rank - 1]);
                       Value diff = arith::SubIOp::create(b, l, j, i);
                       Value keep = cmpI(b, l, upper ? P::sge : P::sle, diff, k);
                       return sel(b, l, keep, a[0], constantScalar(b, l, t.getElementType(), 0));
                     });
  replaceWithResult(rw, op, r);
  return success();
}

} // namespace

void populateTensorLowerings(LoweringTable &t, const LowerOptions &options) {
  t["tern.constant"] = lowerConstant;
  t["tern.shape"] = lowerShape;
  t["tern.size"] = lowerSize;
  t["tern.reshape"] = lowerReshape;
  t["tern.squeeze"] = lowerSqueezeLike;
  t["tern.unsqueeze"] = lowerSqueezeLike;
  t["tern.flatten"] = lowerSqueezeLike;
  t["tern.transpose"] = lowerTranspose;
  t["tern.concat"] = lowerConcat;
  t["tern.split"] = lowerSplit;
  t["tern.expand"] = [options](Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
    return lowerExpand(op, operands, rw, options);
  };
  t["tern.tile"] = lowerTile;
  t["tern.gather"] = lowerGather;
  t["tern.gather_elements"] = lowerGatherElements;
  t["tern.gather_nd"] = lowerGatherND;
  t["tern.slice"] = lowerSlice;
  t["tern.range"] = lowerRange;
  t["tern.cumsum"] = lowerCumSum;
  t["tern.constant_of_shape"] = lowerConstantOfShape;
  t["tern.pad"] = lowerPad;
  t["tern.trilu"] = lowerTrilu;
}

} // namespace tern::lowering
