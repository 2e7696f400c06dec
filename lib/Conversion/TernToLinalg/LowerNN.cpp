//===- LowerNN.cpp - matmul, conv, pooling -------------------------------===//
//
// Matmuls become linalg.matmul when the right operand is a matrix (the
// batch dims of the left one folded into M), else a broadcasting
// linalg.generic. Convolutions of one image without groups are matmuls:
// pointwise ones on the input itself, float ones with a window as a
// contraction that reads the padded input in place (integer ones through
// im2col patches); depthwise ones an all-parallel generic with one input
// per window tap; others, and pools, one N-d linalg.generic over (batch, group,
// channel, out spatial..., in channel, kernel...) after a tensor.pad; pools with a small window read their taps like the
// depthwise ones. Softmax and the normalizations: LowerNormalization.cpp.
//
//===----------------------------------------------------------------------===//

#include "lib/Conversion/TernToLinalg/Lowering.h"
#include "passes/PatternUtils.h"
#include "dialects/Tern/TernOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"

namespace tern::lowering {
namespace {

using Combine = std::function<Value(OpBuilder &, Location, Value, Value)>;

Value addS(OpBuilder &b, Location l, Value x, Value y) {
  return isa<FloatType>(x.getType()) ? Value(arith::AddFOp::create(b, l, x, y)) : Value(arith::AddIOp::create(b, l, x, y));
}
Value mulS(OpBuilder &b, Location l, Value x, Value y) {
  return isa<FloatType>(x.getType()) ? Value(arith::MulFOp::create(b, l, x, y)) : Value(arith::MulIOp::create(b, l, x, y));
}

} // namespace

Value contract(OpBuilder &b, Location loc, Value a, Value bm, Value init, ArrayRef<AffineMap> maps,
               ArrayRef<utils::IteratorType> iters) {
  return linalg::GenericOp::create(b, loc, TypeRange{init.getType()}, ValueRange{a, bm}, ValueRange{init}, maps, iters,
                                   [](OpBuilder &nb, Location l, ValueRange v) {
                                     linalg::YieldOp::create(nb, l, addS(nb, l, v[2], mulS(nb, l, v[0], v[1])));
                                   })
      .getResult(0);
}

Value readInto(OpBuilder &b, Location loc, Value src, RankedTensorType type, AffineMap map) {
  return readInto(b, loc, src, type, map, getAsIndexOpFoldResult(b.getContext(), type.getShape()));
}

Value readInto(OpBuilder &b, Location loc, Value src, RankedTensorType type, AffineMap map,
               ArrayRef<OpFoldResult> dims) {
  int64_t rank = type.getRank();
  return linalg::GenericOp::create(b, loc, TypeRange{type}, ValueRange{src}, ValueRange{emptyTensor(b, loc, type, dims)},
                                   SmallVector<AffineMap>{map, AffineMap::getMultiDimIdentityMap(rank, b.getContext())},
                                   SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
                                   [](OpBuilder &nb, Location l, ValueRange v) { linalg::YieldOp::create(nb, l, v[0]); })
      .getResult(0);
}

Value depthwiseTaps(OpBuilder &b, Location loc, ArrayRef<Value> taps, ArrayRef<AffineMap> tapMaps,
                    ArrayRef<SmallVector<int64_t>> tapOffsets, Value w, Value bias, unsigned channel,
                    RankedTensorType outType, ArrayRef<OpFoldResult> outDims,
                    function_ref<Value(OpBuilder &, Location, Value)> finish) {
  MLIRContext *ctx = b.getContext();
  int64_t rank = outType.getRank();
  AffineExpr c = getAffineDimExpr(channel, ctx);
  SmallVector<Value> ins;
  SmallVector<AffineMap> maps;
  if (bias) {
    ins.push_back(bias);
    maps.push_back(AffineMap::get(rank, 0, {c}, ctx));
  }
  for (auto [tap, map, k] : llvm::zip(taps, tapMaps, tapOffsets)) {
    SmallVector<AffineExpr> we{c, getAffineConstantExpr(0, ctx)};
    for (int64_t i : k)
      we.push_back(getAffineConstantExpr(i, ctx));
    ins.push_back(tap);
    maps.push_back(map);
    ins.push_back(w);
    maps.push_back(AffineMap::get(rank, 0, we, ctx));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  Type elem = outType.getElementType();
  return linalg::GenericOp::create(b, loc, TypeRange{outType}, ins, ValueRange{emptyTensor(b, loc, outType, outDims)},
                                   maps, SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
                                   [&](OpBuilder &nb, Location l, ValueRange v) {
                                     int64_t first = bias ? 1 : 0;
                                     Value acc = bias ? v[0] : constantScalar(nb, l, elem, 0);
                                     for (size_t t = 0; t < taps.size(); ++t)
                                       acc = addS(nb, l, acc, mulS(nb, l, v[first + 2 * t], v[first + 2 * t + 1]));
                                     linalg::YieldOp::create(nb, l, finish ? finish(nb, l, acc) : acc);
                                   })
      .getResult(0);
}

namespace {

//===-- matmul -----------------------------------------------------------===//

/// C[..., m, n] += A[..., m, k] * B[..., k, n] over broadcast batch dims.
/// Both operands have rank >= 2.
Value batchMatmul(OpBuilder &b, Location loc, Value a, Value bm, RankedTensorType resultType,
                  ArrayRef<OpFoldResult> outDims) {
  MLIRContext *ctx = b.getContext();
  auto at = cast<RankedTensorType>(a.getType()), bt = cast<RankedTensorType>(bm.getType());
  Type elem = resultType.getElementType();
  // Right operand a matrix: fold A's batch dims into M.
  if (bt.getRank() == 2 && at.getRank() >= 2) {
    Value a2 = a;
    SmallVector<OpFoldResult> aDims = dimsOf(b, loc, a);
    int64_t r = at.getRank();
    if (r > 2) {
      ReassociationIndices batch = llvm::to_vector(llvm::seq<int64_t>(0, r - 1));
      int64_t m = 1;
      for (int64_t i = 0; i < r - 1; ++i)
        m = (m == ShapedType::kDynamic || at.isDynamicDim(i)) ? ShapedType::kDynamic : m * at.getDimSize(i);
      auto t2 = RankedTensorType::get({m, at.getDimSize(r - 1)}, at.getElementType());
      a2 = tensor::CollapseShapeOp::create(b, loc, t2, a, ArrayRef<ReassociationIndices>{batch, {r - 1}});
    }
    int64_t m2 = cast<RankedTensorType>(a2.getType()).getDimSize(0);
    auto out2 = RankedTensorType::get({m2, resultType.getShape().back()}, elem);
    SmallVector<OpFoldResult> o2{dimsOf(b, loc, a2)[0], outDims.back()};
    Value init2 = filledTensor(b, loc, out2, o2, constantScalar(b, loc, elem, 0));
    Value c = linalg::MatmulOp::create(b, loc, ValueRange{a2, bm}, ValueRange{init2}).getResult(0);
    if (r == 2)
      return c;
    ReassociationIndices batch = llvm::to_vector(llvm::seq<int64_t>(0, r - 1));
    return expandShape(b, loc, c, resultType, {batch, {r - 1}}, outDims);
  }
  int64_t rank = resultType.getRank(); // batch..., m, n
  int64_t loops = rank + 1;            // + k
  auto operandMap = [&](RankedTensorType t, bool isA) {
    SmallVector<AffineExpr> e;
    int64_t r = t.getRank();
    for (int64_t d = 0; d < r - 2; ++d) {
      int64_t o = d + (rank - r);
      if (t.getDimSize(d) == 1 && resultType.getDimSize(o) != 1)
        e.push_back(getAffineConstantExpr(0, ctx));
      else
        e.push_back(getAffineDimExpr(o, ctx));
    }
    AffineExpr m = getAffineDimExpr(rank - 2, ctx), n = getAffineDimExpr(rank - 1, ctx),
               k = getAffineDimExpr(rank, ctx);
    if (isA) {
      e.push_back(m);
      e.push_back(k);
    } else {
      e.push_back(k);
      e.push_back(n);
    }
    return AffineMap::get(loops, 0, e, ctx);
  };
  SmallVector<AffineExpr> outExprs;
  for (int64_t i = 0; i < rank; ++i)
    outExprs.push_back(getAffineDimExpr(i, ctx));
  SmallVector<AffineMap> maps{operandMap(at, true), operandMap(bt, false), AffineMap::get(loops, 0, outExprs, ctx)};
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  iters.push_back(utils::IteratorType::reduction);
  Value init = filledTensor(b, loc, resultType, outDims, constantScalar(b, loc, elem, 0));
  return contract(b, loc, a, bm, init, maps, iters);
}

LogicalResult lowerMatMul(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  Location loc = op->getLoc();
  Value a = operands[0], bm = operands[1];
  auto resultType = signlessTensor(op->getResult(0).getType());
  auto at = cast<RankedTensorType>(a.getType()), bt = cast<RankedTensorType>(bm.getType());
  if (isa<IntegerType>(at.getElementType()) && !isa<IntegerType>(resultType.getElementType()))
    return unsupported(op, "mixed element types");
  bool aVec = at.getRank() == 1, bVec = bt.getRank() == 1;
  if (aVec)
    a = insertUnitDims(rw, loc, a, {0});
  if (bVec)
    bm = insertUnitDims(rw, loc, bm, {1});
  at = cast<RankedTensorType>(a.getType());
  bt = cast<RankedTensorType>(bm.getType());
  // Full result shape: broadcast batch, then m, n.
  int64_t batchRank = std::max(at.getRank(), bt.getRank()) - 2;
  SmallVector<int64_t> shape;
  SmallVector<OpFoldResult> dims;
  SmallVector<OpFoldResult> aDims = dimsOf(rw, loc, a), bDims = dimsOf(rw, loc, bm);
  for (int64_t i = 0; i < batchRank; ++i) {
    int64_t ai = i - (batchRank - (at.getRank() - 2)), bi = i - (batchRank - (bt.getRank() - 2));
    int64_t as = ai >= 0 ? at.getDimSize(ai) : 1, bs = bi >= 0 ? bt.getDimSize(bi) : 1;
    if (as != 1 && as != ShapedType::kDynamic) {
      shape.push_back(as);
      dims.push_back(rw.getIndexAttr(as));
    } else if (bs != 1 && bs != ShapedType::kDynamic) {
      shape.push_back(bs);
      dims.push_back(rw.getIndexAttr(bs));
    } else if (as == 1 && bs == 1) {
      shape.push_back(1);
      dims.push_back(rw.getIndexAttr(1));
    } else {
      shape.push_back(ShapedType::kDynamic);
      Value v;
      if (as == ShapedType::kDynamic)
        v = getValueOrCreateConstantIndexOp(rw, loc, aDims[ai]);
      if (bs == ShapedType::kDynamic) {
        Value w = getValueOrCreateConstantIndexOp(rw, loc, bDims[bi]);
        v = v ? Value(arith::MaxUIOp::create(rw, loc, v, w)) : w;
      }
      dims.push_back(v);
    }
  }
  shape.push_back(at.getDimSize(at.getRank() - 2));
  dims.push_back(aDims[at.getRank() - 2]);
  shape.push_back(bt.getDimSize(bt.getRank() - 1));
  dims.push_back(bDims[bt.getRank() - 1]);
  auto fullType = RankedTensorType::get(shape, resultType.getElementType());
  Value c = batchMatmul(rw, loc, a, bm, fullType, dims);
  if (aVec || bVec) {
    SmallVector<OpFoldResult> outDims;
    for (int64_t i = 0; i < (int64_t)dims.size(); ++i)
      if (!((aVec && i == (int64_t)dims.size() - 2) || (bVec && i == (int64_t)dims.size() - 1)))
        outDims.push_back(dims[i]);
    c = reshapeTo(rw, loc, c, resultType, outDims);
  }
  replaceWithResult(rw, op, c);
  return success();
}

LogicalResult lowerGemm(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  auto gemm = cast<GemmOp>(op);
  Location loc = op->getLoc();
  MLIRContext *ctx = rw.getContext();
  Value a = operands[0], bm = operands[1];
  auto resultType = signlessTensor(op->getResult(0).getType());
  Type elem = resultType.getElementType();
  bool ta = gemm.getTransA(), tb = gemm.getTransB();
  SmallVector<OpFoldResult> dims{dimsOf(rw, loc, a)[ta ? 1 : 0], dimsOf(rw, loc, bm)[tb ? 0 : 1]};
  Value init = filledTensor(rw, loc, resultType, dims, constantScalar(rw, loc, elem, 0));
  AffineExpr m = getAffineDimExpr(0, ctx), n = getAffineDimExpr(1, ctx), k = getAffineDimExpr(2, ctx);
  SmallVector<AffineMap> maps{AffineMap::get(3, 0, ta ? ArrayRef<AffineExpr>{k, m} : ArrayRef<AffineExpr>{m, k}, ctx),
                              AffineMap::get(3, 0, tb ? ArrayRef<AffineExpr>{n, k} : ArrayRef<AffineExpr>{k, n}, ctx),
                              AffineMap::get(3, 0, {m, n}, ctx)};
  Value c = contract(rw, loc, a, bm, init, maps,
                     {utils::IteratorType::parallel, utils::IteratorType::parallel, utils::IteratorType::reduction});
  double alpha = gemm.getAlpha().convertToDouble(), beta = gemm.getBeta().convertToDouble();
  SmallVector<Value> ins{c};
  if (gemm.getC() && beta != 0)
    ins.push_back(operands[2]);
  if (alpha != 1 || ins.size() > 1) {
    c = elementwise(rw, loc, ins, resultType, [&](OpBuilder &b, Location l, ValueRange v) {
      Value r = v[0];
      if (alpha != 1)
        r = mulS(b, l, r, constantScalar(b, l, elem, alpha));
      if (v.size() > 1) {
        Value cc = v[1];
        if (beta != 1)
          cc = mulS(b, l, cc, constantScalar(b, l, elem, beta));
        r = addS(b, l, r, cc);
      }
      return r;
    });
  }
  rw.replaceOp(op, c);
  return success();
}

} // namespace

//===-- windows (conv, pools) --------------------------------------------===//

FailureOr<Window> readWindow(Operation *op, RankedTensorType x, ArrayRef<int64_t> kernel) {
  Window w;
  int64_t n = x.getRank() - 2;
  w.kernel.assign(kernel.begin(), kernel.end());
  w.strides = llvm::to_vector(cast<DenseI64ArrayAttr>(op->getAttr("strides")).asArrayRef());
  w.dilations = llvm::to_vector(cast<DenseI64ArrayAttr>(op->getAttr("dilations")).asArrayRef());
  auto pads = cast<DenseI64ArrayAttr>(op->getAttr("pads")).asArrayRef();
  StringRef autoPad = cast<StringAttr>(op->getAttr("auto_pad")).getValue();
  if (w.strides.empty())
    w.strides.assign(n, 1);
  if (w.dilations.empty())
    w.dilations.assign(n, 1);
  for (int64_t i = 0; i < n; ++i) {
    int64_t begin = pads.empty() ? 0 : pads[i], end = pads.empty() ? 0 : pads[i + n];
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      int64_t in = x.getDimSize(i + 2);
      if (in == ShapedType::kDynamic)
        return unsupported(op, "auto_pad " + autoPad + " with a dynamic spatial dim");
      int64_t out = (in + w.strides[i] - 1) / w.strides[i];
      int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[i] + w.dilations[i] * (w.kernel[i] - 1) + 1 - in);
      begin = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      end = total - begin;
    } else if (autoPad == "VALID") {
      begin = end = 0;
    }
    w.padBegin.push_back(begin);
    w.padEnd.push_back(end);
  }
  return w;
}

/// Pads the spatial dims of `x` ([N, C, spatial...]) with `value`, adding
/// `extraEnd` more at the end of each (ceil mode).
Value padSpatial(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> begin, ArrayRef<int64_t> end,
                 ArrayRef<int64_t> extraEnd, Value value) {
  auto t = cast<RankedTensorType>(x.getType());
  bool any = false;
  SmallVector<OpFoldResult> lo(2, b.getIndexAttr(0)), hi(2, b.getIndexAttr(0));
  SmallVector<int64_t> shape(t.getShape());
  for (size_t i = 0; i < begin.size(); ++i) {
    int64_t e = end[i] + (extraEnd.empty() ? 0 : extraEnd[i]);
    any |= begin[i] || e;
    lo.push_back(b.getIndexAttr(begin[i]));
    hi.push_back(b.getIndexAttr(e));
    if (shape[i + 2] != ShapedType::kDynamic)
      shape[i + 2] += begin[i] + e;
  }
  if (!any)
    return x;
  auto type = RankedTensorType::get(shape, t.getElementType());
  return tensor::PadOp::create(b, loc, type, x, lo, hi, value);
}

namespace {

/// Output size of spatial dim i at run time: (padded - d*(k-1) - 1) / s + 1.
OpFoldResult outSize(OpBuilder &b, Location loc, RankedTensorType result, int64_t dim, Value padded,
                     const Window &w, int64_t i) {
  if (!result.isDynamicDim(dim))
    return b.getIndexAttr(result.getDimSize(dim));
  Value p = dimValue(b, loc, padded, dim);
  Value span = arith::ConstantIndexOp::create(b, loc, w.dilations[i] * (w.kernel[i] - 1) + 1);
  Value s = arith::ConstantIndexOp::create(b, loc, w.strides[i]);
  Value q = arith::DivUIOp::create(b, loc, arith::SubIOp::create(b, loc, p, span), s);
  return arith::AddIOp::create(b, loc, q, arith::ConstantIndexOp::create(b, loc, 1)).getResult();
}

/// Extra end padding so that every output window of ceil mode fits.
SmallVector<int64_t> ceilExtra(RankedTensorType x, RankedTensorType result, const Window &w) {
  SmallVector<int64_t> extra;
  for (size_t i = 0; i < w.kernel.size(); ++i) {
    int64_t in = x.getDimSize(i + 2), out = result.getDimSize(i + 2);
    if (in == ShapedType::kDynamic || out == ShapedType::kDynamic) {
      extra.push_back(0);
      continue;
    }
    int64_t need = (out - 1) * w.strides[i] + w.dilations[i] * (w.kernel[i] - 1) + 1;
    extra.push_back(std::max<int64_t>(0, need - (in + w.padBegin[i] + w.padEnd[i])));
  }
  return extra;
}

/// The window's taps over a padded [N, C, spatial...] tensor, innermost
/// spatial dim fastest: tap k is the strided slice of `padded` starting at
/// k * dilation with the output's spatial sizes (`outShape`, `outDims`),
/// N and C whole. A view after bufferization, it lets an op read each tap
/// as an input of its own, with no reduction loops. Also returns the tap
/// offsets.
SmallVector<Value> windowTaps(OpBuilder &b, Location loc, Value padded, ArrayRef<int64_t> outShape,
                              ArrayRef<OpFoldResult> outDims, const Window &w,
                              SmallVector<SmallVector<int64_t>> *offsetsOut = nullptr) {
  auto pt = cast<RankedTensorType>(padded.getType());
  int64_t n = w.kernel.size(), taps = 1;
  for (int64_t k : w.kernel)
    taps *= k;
  SmallVector<OpFoldResult> xDims = dimsOf(b, loc, padded);
  SmallVector<Value> slices;
  for (int64_t t = 0; t < taps; ++t) {
    SmallVector<int64_t> k(n);
    for (int64_t i = n - 1, rest = t; i >= 0; --i) {
      k[i] = rest % w.kernel[i];
      rest /= w.kernel[i];
    }
    SmallVector<OpFoldResult> offsets{b.getIndexAttr(0), b.getIndexAttr(0)}, sizes{xDims[0], xDims[1]},
        strides{b.getIndexAttr(1), b.getIndexAttr(1)};
    SmallVector<int64_t> sliceShape{pt.getDimSize(0), pt.getDimSize(1)};
    for (int64_t i = 0; i < n; ++i) {
      offsets.push_back(b.getIndexAttr(k[i] * w.dilations[i]));
      sizes.push_back(outDims[2 + i]);
      strides.push_back(b.getIndexAttr(w.strides[i]));
      sliceShape.push_back(outShape[2 + i]);
    }
    auto sliceType = RankedTensorType::get(sliceShape, pt.getElementType());
    slices.push_back(tensor::ExtractSliceOp::create(b, loc, sliceType, padded, offsets, sizes, strides));
    if (offsetsOut)
      offsetsOut->push_back(k);
  }
  return slices;
}

LogicalResult lowerConv(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  auto conv = cast<ConvOp>(op);
  Location loc = op->getLoc();
  MLIRContext *ctx = rw.getContext();
  Value x = operands[0], wt = operands[1];
  auto xt = cast<RankedTensorType>(x.getType()), wtt = cast<RankedTensorType>(wt.getType());
  auto resultType = signlessTensor(op->getResult(0).getType());
  Type elem = resultType.getElementType();
  int64_t n = xt.getRank() - 2, groups = conv.getGroup();
  if (!wtt.hasStaticShape())
    return unsupported(op, "weights of dynamic shape");
  SmallVector<int64_t> kernel(wtt.getShape().drop_front(2));
  auto w = readWindow(op, xt, kernel);
  if (failed(w))
    return failure();
  int64_t f = wtt.getDimSize(0), cg = wtt.getDimSize(1), fg = f / groups;
  // No groups: a matmul W[F, C*K] x patches[C*K, O] per image, where the
  // patches are the input itself for a pointwise convolution; a float one
  // with a window reads its padded input in place, an integer one (one
  // image) gathers the patches once (im2col). Several images, or a batch
  // known only at run time, are one more loop of the same contraction (a
  // batch dim of the kernel or more of its rows), never the generic
  // convolution below, which runs a multiply-add at a time.
  int64_t batchSize = xt.getDimSize(0);
  bool batched = batchSize != 1;
  bool asMatmul = groups == 1 && patterns::staticPastFirstDim(xt) && patterns::staticPastFirstDim(resultType) &&
                  (!batched || isa<FloatType>(elem));
  if (asMatmul) {
    OpFoldResult batchDim = dimsOf(rw, loc, x)[0];
    SmallVector<OpFoldResult> resultDims = sizesWithFirst(resultType, batchDim);
    // A strided 1x1 convolution without pads reads every s-th position: a
    // pointwise one on that subsample (a strided slice, copied compact
    // once: C x H x W / s^2 elements), which runs on the matmul kernels'
    // fast path rather than through the window map.
    bool pointwise = llvm::all_of(kernel, [](int64_t k) { return k == 1; }) &&
                     llvm::all_of(w->padBegin, [](int64_t p) { return p == 0; }) &&
                     llvm::all_of(w->padEnd, [](int64_t p) { return p == 0; });
    if (pointwise && llvm::any_of(w->strides, [](int64_t s) { return s != 1; })) {
      SmallVector<int64_t> subShape{batchSize, xt.getDimSize(1)};
      SmallVector<OpFoldResult> offsets(n + 2, rw.getIndexAttr(0)), sizes{batchDim, rw.getIndexAttr(subShape[1])},
          strides(2, rw.getIndexAttr(1));
      for (int64_t i = 0; i < n; ++i) {
        subShape.push_back(resultType.getDimSize(i + 2));
        sizes.push_back(rw.getIndexAttr(subShape.back()));
        strides.push_back(rw.getIndexAttr(w->strides[i]));
      }
      x = tensor::ExtractSliceOp::create(rw, loc, RankedTensorType::get(subShape, xt.getElementType()), x, offsets,
                                         sizes, strides);
    }
    int64_t c = xt.getDimSize(1), taps = 1, hw = 1;
    for (int64_t k : kernel)
      taps *= k;
    for (int64_t i = 0; i < n; ++i)
      hw *= resultType.getDimSize(i + 2);
    ReassociationIndices spatialDims = llvm::to_vector(llvm::seq<int64_t>(2, n + 2));
    // Loop dims: the image first when there are several (`first` more).
    int64_t first = batched ? 1 : 0;
    auto d = [&](int64_t i) { return getAffineDimExpr(first + i, ctx); };
    AffineExpr image = batched ? getAffineDimExpr(0, ctx) : getAffineConstantExpr(0, ctx);
    auto withImage = [&](SmallVector<AffineExpr> e) {
      if (batched)
        e.insert(e.begin(), getAffineDimExpr(0, ctx));
      return e;
    };
    auto withBatch = [&](ArrayRef<int64_t> shape) {
      SmallVector<int64_t> s(shape);
      if (batched)
        s.insert(s.begin(), batchSize);
      return s;
    };
    auto dimsFor = [&](RankedTensorType t) {
      return batched ? sizesWithFirst(t, batchDim) : getAsIndexOpFoldResult(ctx, t.getShape());
    };
    auto parallel = utils::IteratorType::parallel, reduction = utils::IteratorType::reduction;
    // A float convolution with a window: out^T[o..., f] = sum over c, k of
    // padded[0, c, o*s + k*d] * w[f, c, k], read in place (no patches
    // copy): the matmul kernel reads the input one element at a time
    // through this map and the filters, packed, as its B. The transpose
    // back to [1, F, o...] fuses with the activation after it.
    if (!pointwise && isa<FloatType>(elem)) {
      Value padded = padSpatial(rw, loc, x, w->padBegin, w->padEnd, {}, constantScalar(rw, loc, xt.getElementType(), 0));
      // Loops: (image,) o_1..o_n, f, c, k_1..k_n.
      int64_t loops = first + 2 * n + 2;
      SmallVector<AffineExpr> xe{image, d(n + 1)}, we{d(n), d(n + 1)}, oe;
      SmallVector<int64_t> tShape;
      for (int64_t i = 0; i < n; ++i) {
        xe.push_back(d(i) * w->strides[i] + d(n + 2 + i) * w->dilations[i]);
        we.push_back(d(n + 2 + i));
        oe.push_back(d(i));
        tShape.push_back(resultType.getDimSize(2 + i));
      }
      oe.push_back(d(n));
      tShape.push_back(f);
      auto tType = RankedTensorType::get(withBatch(tShape), elem);
      Value init = conv.getBias() ? readInto(rw, loc, operands[2], tType,
                                             AffineMap::get(first + n + 1, 0, {d(n)}, ctx), dimsFor(tType))
                                  : filledTensor(rw, loc, tType, dimsFor(tType), constantScalar(rw, loc, elem, 0));
      SmallVector<utils::IteratorType> iters(first + n + 1, parallel);
      iters.append(n + 1, reduction);
      Value t = contract(rw, loc, padded, wt, init,
                         {AffineMap::get(loops, 0, xe, ctx), AffineMap::get(loops, 0, we, ctx),
                          AffineMap::get(loops, 0, withImage(oe), ctx)},
                         iters);
      // out[i, f, o...] = out^T[i, o..., f].
      SmallVector<AffineExpr> back;
      for (int64_t i = 0; i < n; ++i)
        back.push_back(getAffineDimExpr(2 + i, ctx));
      back.push_back(getAffineDimExpr(1, ctx));
      if (batched)
        back.insert(back.begin(), getAffineDimExpr(0, ctx));
      rw.replaceOp(op, readInto(rw, loc, t, resultType, AffineMap::get(n + 2, 0, back, ctx), resultDims));
      return success();
    }
    Value x2;
    if (pointwise) {
      SmallVector<ReassociationIndices> groups{{0, 1}, spatialDims};
      if (batched)
        groups = {{0}, {1}, spatialDims};
      x2 = tensor::CollapseShapeOp::create(rw, loc, RankedTensorType::get(withBatch({c, hw}), xt.getElementType()), x,
                                           groups);
    } else {
      Value padded = padSpatial(rw, loc, x, w->padBegin, w->padEnd, {}, constantScalar(rw, loc, xt.getElementType(), 0));
      // patches[c, k..., o...] = padded[0, c, o*s + k*d].
      SmallVector<int64_t> pShape{c};
      pShape.append(kernel);
      for (int64_t i = 0; i < n; ++i)
        pShape.push_back(resultType.getDimSize(i + 2));
      auto pType = RankedTensorType::get(pShape, xt.getElementType());
      SmallVector<AffineExpr> xe{getAffineConstantExpr(0, ctx), d(0)};
      for (int64_t i = 0; i < n; ++i)
        xe.push_back(d(1 + n + i) * w->strides[i] + d(1 + i) * w->dilations[i]);
      Value patches = readInto(rw, loc, padded, pType, AffineMap::get(1 + 2 * n, 0, xe, ctx));
      ReassociationIndices rows = llvm::to_vector(llvm::seq<int64_t>(0, n + 1));
      ReassociationIndices cols = llvm::to_vector(llvm::seq<int64_t>(n + 1, 2 * n + 1));
      x2 = tensor::CollapseShapeOp::create(rw, loc, RankedTensorType::get({c * taps, hw}, xt.getElementType()), patches,
                                           SmallVector<ReassociationIndices>{rows, cols});
    }
    ReassociationIndices inDims = llvm::to_vector(llvm::seq<int64_t>(1, n + 2));
    Value w2 = tensor::CollapseShapeOp::create(rw, loc, RankedTensorType::get({f, c * taps}, wtt.getElementType()), wt,
                                               SmallVector<ReassociationIndices>{{0}, inDims});
    // [(image,) F, HW] -> the result.
    auto expand = [&](Value v) {
      SmallVector<ReassociationIndices> groups{{0, 1}, spatialDims};
      if (batched) {
        groups = {{0}, {1}};
        groups.push_back(llvm::to_vector(llvm::seq<int64_t>(2, n + 2)));
      }
      return tensor::ExpandShapeOp::create(rw, loc, resultType, v, groups, resultDims).getResult();
    };
    // Small feature maps (7x7, 14x14) fill the matmul kernels' panels of
    // 32 output columns badly (49 columns run as 64): a float pointwise
    // convolution computes out^T[hw, f] = x^T x w^T instead, whose columns
    // are the filters (a multiple of 32), and transposes it back; the
    // transpose fuses with the activation after it.
    int64_t panel = 32, paddedHW = (hw + panel - 1) / panel * panel;
    if (f % panel == 0 && (paddedHW - hw) * 10 > hw && isa<FloatType>(elem)) {
      // Loops: (image,) hw, f, c.
      auto tType = RankedTensorType::get(withBatch({hw, f}), elem);
      AffineExpr m = d(0), nn = d(1), k = d(2);
      Value init = conv.getBias() ? readInto(rw, loc, operands[2], tType, AffineMap::get(first + 2, 0, {nn}, ctx),
                                             dimsFor(tType))
                                  : filledTensor(rw, loc, tType, dimsFor(tType), constantScalar(rw, loc, elem, 0));
      Value t = contract(rw, loc, x2, w2, init,
                         {AffineMap::get(first + 3, 0, withImage({k, m}), ctx),
                          AffineMap::get(first + 3, 0, {nn, k}, ctx),
                          AffineMap::get(first + 3, 0, withImage({m, nn}), ctx)},
                         batched ? SmallVector<utils::IteratorType>{parallel, parallel, parallel, reduction}
                                 : SmallVector<utils::IteratorType>{parallel, parallel, reduction});
      auto backType = RankedTensorType::get(withBatch({f, hw}), elem);
      Value back = readInto(rw, loc, t, backType, AffineMap::get(first + 2, 0, withImage({d(1), d(0)}), ctx),
                            dimsFor(backType));
      rw.replaceOp(op, expand(back));
      return success();
    }
    auto mType = RankedTensorType::get(withBatch({f, hw}), elem);
    Value acc = conv.getBias() ? readInto(rw, loc, operands[2], mType, AffineMap::get(first + 2, 0, {d(0)}, ctx),
                                          dimsFor(mType))
                               : filledTensor(rw, loc, mType, dimsFor(mType), constantScalar(rw, loc, elem, 0));
    Value m;
    if (batched) {
      // Loops: image, f, hw, c; the input is the kernel's B, one image at
      // a time (a batch dim), the filters its A.
      m = contract(rw, loc, w2, x2, acc,
                   {AffineMap::get(4, 0, {d(0), d(2)}, ctx), AffineMap::get(4, 0, {image, d(2), d(1)}, ctx),
                    AffineMap::get(4, 0, {image, d(0), d(1)}, ctx)},
                   {parallel, parallel, parallel, reduction});
    } else {
      m = linalg::MatmulOp::create(rw, loc, ValueRange{w2, x2}, ValueRange{acc}).getResult(0);
    }
    rw.replaceOp(op, expand(m));
    return success();
  }
  // Depthwise (one input channel per group) with a small window: every tap
  // is an input of its own, a strided slice of the padded input starting at
  // the tap (a view after bufferization), so the op has no reduction loops:
  // each output element is written once, the loop along the last output dim
  // vectorizes, and the activation after it fuses in as with any
  // elementwise op. Loops: n, f, o_1..o_n.
  int64_t taps = 1;
  for (int64_t k : kernel)
    taps *= k;
  if (cg == 1 && taps <= 49) {
    Value padded = padSpatial(rw, loc, x, w->padBegin, w->padEnd, {}, constantScalar(rw, loc, xt.getElementType(), 0));
    auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    SmallVector<OpFoldResult> outDims{dimsOf(rw, loc, x)[0], rw.getIndexAttr(f)};
    for (int64_t i = 0; i < n; ++i)
      outDims.push_back(outSize(rw, loc, resultType, i + 2, padded, *w, i));
    SmallVector<SmallVector<int64_t>> tapOffsets;
    SmallVector<Value> slices = windowTaps(rw, loc, padded, resultType.getShape(), outDims, *w, &tapOffsets);
    // Tap slices [N, C, O...] read at (n, f / fg, o...).
    SmallVector<AffineExpr> xe{d(0), fg == 1 ? d(1) : d(1).floorDiv(fg)};
    for (int64_t i = 0; i < n; ++i)
      xe.push_back(d(2 + i));
    SmallVector<AffineMap> tapMaps(slices.size(), AffineMap::get(2 + n, 0, xe, ctx));
    Value out = depthwiseTaps(rw, loc, slices, tapMaps, tapOffsets, wt, conv.getBias() ? operands[2] : Value(),
                              /*channel=*/1, resultType, outDims);
    rw.replaceOp(op, out);
    return success();
  }
  Value padded = padSpatial(rw, loc, x, w->padBegin, w->padEnd, {}, constantScalar(rw, loc, xt.getElementType(), 0));
  // Weights [F, Cg, K...] -> [G, Fg, Cg, K...].
  SmallVector<int64_t> w5{groups, fg, cg};
  w5.append(kernel.begin(), kernel.end());
  SmallVector<ReassociationIndices> wGroups{{0, 1}};
  for (int64_t i = 0; i < n + 1; ++i)
    wGroups.push_back({i + 2});
  Value wg = tensor::ExpandShapeOp::create(rw, loc, RankedTensorType::get(w5, wtt.getElementType()), wt, wGroups,
                                           getAsIndexOpFoldResult(ctx, w5));
  // Result [N, G, Fg, O...].
  SmallVector<int64_t> outShape{resultType.getDimSize(0), groups, fg};
  SmallVector<OpFoldResult> outDims{dimsOf(rw, loc, x)[0], rw.getIndexAttr(groups), rw.getIndexAttr(fg)};
  for (int64_t i = 0; i < n; ++i) {
    outShape.push_back(resultType.getDimSize(i + 2));
    outDims.push_back(outSize(rw, loc, resultType, i + 2, padded, *w, i));
  }
  auto outType = RankedTensorType::get(outShape, elem);
  Value init;
  if (conv.getBias()) {
    // Broadcast the bias [F] -> [G, Fg, 1...] into the accumulator.
    SmallVector<int64_t> bShape{groups, fg};
    Value bias = tensor::ExpandShapeOp::create(rw, loc, RankedTensorType::get(bShape, elem), operands[2],
                                               SmallVector<ReassociationIndices>{{0, 1}},
                                               getAsIndexOpFoldResult(ctx, bShape));
    SmallVector<AffineExpr> be{getAffineDimExpr(1, ctx), getAffineDimExpr(2, ctx)};
    Value empty = emptyTensor(rw, loc, outType, outDims);
    init = linalg::GenericOp::create(rw, loc, TypeRange{outType}, ValueRange{bias}, ValueRange{empty},
                                     SmallVector<AffineMap>{AffineMap::get(n + 3, 0, be, ctx),
                                                            AffineMap::getMultiDimIdentityMap(n + 3, ctx)},
                                     SmallVector<utils::IteratorType>(n + 3, utils::IteratorType::parallel),
                                     [](OpBuilder &b, Location l, ValueRange v) { linalg::YieldOp::create(b, l, v[0]); })
               .getResult(0);
  } else {
    init = filledTensor(rw, loc, outType, outDims, constantScalar(rw, loc, elem, 0));
  }
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  // Loops: n, g, fg, o_1..o_n, c, k_1..k_n.
  int64_t loops = 3 + n + 1 + n;
  SmallVector<AffineExpr> xe{d(0), d(1) * cg + d(3 + n)}, we{d(1), d(2), d(3 + n)}, oe{d(0), d(1), d(2)};
  for (int64_t i = 0; i < n; ++i) {
    xe.push_back(d(3 + i) * w->strides[i] + d(4 + n + i) * w->dilations[i]);
    we.push_back(d(4 + n + i));
    oe.push_back(d(3 + i));
  }
  SmallVector<utils::IteratorType> iters(3 + n, utils::IteratorType::parallel);
  iters.append(n + 1, utils::IteratorType::reduction);
  Value out = contract(rw, loc, padded, wg, init,
                       {AffineMap::get(loops, 0, xe, ctx), AffineMap::get(loops, 0, we, ctx),
                        AffineMap::get(loops, 0, oe, ctx)},
                       iters);
  SmallVector<ReassociationIndices> og{{0}, {1, 2}};
  for (int64_t i = 0; i < n; ++i)
    og.push_back({i + 3});
  Value r = tensor::CollapseShapeOp::create(rw, loc, resultType, out, og);
  rw.replaceOp(op, r);
  return success();
}

/// ConvTranspose, gathering: y[n, g, fg, o] = sum over c, k of
/// x[n, g*Cg + c, i] * w[g*Cg + c, fg, k] where o = i*s + k*d - pad, i.e. at
/// the k for which (o + pad - k*d) is a multiple of s inside the input.
LogicalResult lowerConvTranspose(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  auto ct = cast<ConvTransposeOp>(op);
  Location loc = op->getLoc();
  MLIRContext *ctx = rw.getContext();
  Value x = operands[0], wt = operands[1];
  auto xt = cast<RankedTensorType>(x.getType()), wtt = cast<RankedTensorType>(wt.getType());
  auto resultType = signlessTensor(op->getResult(0).getType());
  if (!xt.hasStaticShape() || !wtt.hasStaticShape() || !resultType.hasStaticShape())
    return unsupported(op, "dynamic shapes");
  Type elem = resultType.getElementType();
  int64_t n = xt.getRank() - 2, groups = ct.getGroup();
  int64_t cIn = wtt.getDimSize(0), fg = wtt.getDimSize(1), cg = cIn / groups;
  SmallVector<int64_t> kernel(wtt.getShape().drop_front(2));
  auto strides = ct.getStrides(), dilations = ct.getDilations(), pads = ct.getPads();
  StringRef autoPad = ct.getAutoPad();
  SmallVector<int64_t> padBegin;
  for (int64_t i = 0; i < n; ++i) {
    int64_t s = strides.empty() ? 1 : strides[i], d = dilations.empty() ? 1 : dilations[i];
    int64_t begin = pads.empty() ? 0 : pads[i];
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      int64_t in = xt.getDimSize(i + 2), out = resultType.getDimSize(i + 2);
      int64_t outPad = ct.getOutputPadding().empty() ? 0 : ct.getOutputPadding()[i];
      int64_t total = std::max<int64_t>(0, s * (in - 1) + outPad + (kernel[i] - 1) * d + 1 - out);
      begin = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
    }
    padBegin.push_back(begin);
  }
  // Result [N, G, Fg, O...], collapsed to [N, F, O...] at the end.
  SmallVector<int64_t> outShape{resultType.getDimSize(0), groups, fg};
  for (int64_t i = 0; i < n; ++i)
    outShape.push_back(resultType.getDimSize(i + 2));
  auto outType = RankedTensorType::get(outShape, elem);
  Value init = filledTensor(rw, loc, outType, getAsIndexOpFoldResult(ctx, outShape), constantScalar(rw, loc, elem, 0));
  // Loops: n, g, fg, o_1..o_n, c, k_1..k_n; a window tensor gives c and k their bounds.
  int64_t loops = 3 + n + 1 + n;
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  SmallVector<int64_t> windowShape{cg};
  windowShape.append(kernel);
  Value window = tensor::EmptyOp::create(rw, loc, windowShape, elem);
  SmallVector<AffineExpr> we{d(1) * cg + d(3 + n), d(2)}, ke{d(3 + n)}, oe{d(0), d(1), d(2)};
  for (int64_t i = 0; i < n; ++i) {
    we.push_back(d(4 + n + i));
    ke.push_back(d(4 + n + i));
    oe.push_back(d(3 + i));
  }
  SmallVector<utils::IteratorType> iters(3 + n, utils::IteratorType::parallel);
  iters.append(n + 1, utils::IteratorType::reduction);
  Value out = linalg::GenericOp::create(
                  rw, loc, TypeRange{outType}, ValueRange{wt, window}, ValueRange{init},
                  SmallVector<AffineMap>{AffineMap::get(loops, 0, we, ctx), AffineMap::get(loops, 0, ke, ctx),
                                         AffineMap::get(loops, 0, oe, ctx)},
                  iters,
                  [&](OpBuilder &b, Location l, ValueRange v) {
                    auto c = [&](int64_t value) { return arith::ConstantIndexOp::create(b, l, value).getResult(); };
                    auto idx = [&](int64_t i) { return linalg::IndexOp::create(b, l, i).getResult(); };
                    Value valid = arith::ConstantOp::create(b, l, b.getBoolAttr(true));
                    SmallVector<Value> src{idx(0), arith::AddIOp::create(b, l, arith::MulIOp::create(b, l, idx(1), c(cg)),
                                                                         idx(3 + n))};
                    for (int64_t i = 0; i < n; ++i) {
                      int64_t s = strides.empty() ? 1 : strides[i], dl = dilations.empty() ? 1 : dilations[i];
                      // p = o + pad - k*d must be s * i with 0 <= i < in.
                      Value p = arith::SubIOp::create(b, l, arith::AddIOp::create(b, l, idx(3 + i), c(padBegin[i])),
                                                      arith::MulIOp::create(b, l, idx(4 + n + i), c(dl)));
                      Value nonneg = arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, p, c(0));
                      Value q = arith::DivSIOp::create(b, l, p, c(s));
                      Value exact = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq,
                                                          arith::RemSIOp::create(b, l, p, c(s)), c(0));
                      Value inside = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, q, c(xt.getDimSize(i + 2)));
                      valid = arith::AndIOp::create(b, l, valid, arith::AndIOp::create(b, l, nonneg, arith::AndIOp::create(b, l, exact, inside)));
                      src.push_back(arith::SelectOp::create(b, l, valid, q, c(0)));
                    }
                    Value xv = tensor::ExtractOp::create(b, l, x, src);
                    Value prod = arith::MulFOp::create(b, l, xv, v[0]);
                    prod = arith::SelectOp::create(b, l, valid, prod, constantScalar(b, l, elem, 0));
                    linalg::YieldOp::create(b, l, Value(arith::AddFOp::create(b, l, v[2], prod)));
                  })
                  .getResult(0);
  SmallVector<ReassociationIndices> og{{0}, {1, 2}};
  for (int64_t i = 0; i < n; ++i)
    og.push_back({i + 3});
  Value r = tensor::CollapseShapeOp::create(rw, loc, resultType, out, og);
  if (ct.getBias()) {
    Value bias = insertUnitDims(rw, loc, operands[2], llvm::to_vector(llvm::seq<int64_t>(1, n + 1)));
    r = elementwise(rw, loc, ValueRange{r, bias}, resultType, [](OpBuilder &b, Location l, ValueRange v) -> Value {
      return arith::AddFOp::create(b, l, v[0], v[1]);
    });
  }
  rw.replaceOp(op, r);
  return success();
}

/// Sliding-window reduction over the spatial dims of an already padded x:
/// out[n, c, o...] = combine over k of x[n, c, o*s + k*d].
Value poolWindows(OpBuilder &b, Location loc, Value padded, RankedTensorType outType, ArrayRef<OpFoldResult> outDims,
                  const Window &w, Value init, const Combine &combine) {
  MLIRContext *ctx = b.getContext();
  int64_t n = w.kernel.size(), lead = outType.getRank() - n;
  int64_t loops = lead + 2 * n;
  // A small window over [N, C, spatial...]: its taps as inputs (see
  // windowTaps), combined in one all-parallel op, which vectorizes along
  // the output row (strided taps included) and fuses with its neighbours
  // like any elementwise op; the reduction form below leaves LLVM a
  // strided inner loop it vectorizes with masked stores.
  int64_t taps = 1;
  for (int64_t k : w.kernel)
    taps *= k;
  if (lead == 2 && taps <= 49) {
    SmallVector<Value> slices = windowTaps(b, loc, padded, outType.getShape(), outDims, w);
    SmallVector<AffineMap> maps(slices.size() + 1, AffineMap::getMultiDimIdentityMap(lead + n, ctx));
    return linalg::GenericOp::create(
               b, loc, TypeRange{outType}, slices, ValueRange{emptyTensor(b, loc, outType, outDims)}, maps,
               SmallVector<utils::IteratorType>(lead + n, utils::IteratorType::parallel),
               [&](OpBuilder &nb, Location l, ValueRange v) {
                 Value acc = combine(nb, l, init, v[0]);
                 for (int64_t t = 1; t < taps; ++t)
                   acc = combine(nb, l, acc, v[t]);
                 linalg::YieldOp::create(nb, l, acc);
               })
        .getResult(0);
  }
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineExpr> xe, ke, oe;
  for (int64_t i = 0; i < lead; ++i) {
    xe.push_back(d(i));
    oe.push_back(d(i));
  }
  for (int64_t i = 0; i < n; ++i) {
    xe.push_back(d(lead + i) * w.strides[i] + d(lead + n + i) * w.dilations[i]);
    ke.push_back(d(lead + n + i));
    oe.push_back(d(lead + i));
  }
  Value window = tensor::EmptyOp::create(b, loc, w.kernel, b.getF32Type());
  Value acc = filledTensor(b, loc, outType, outDims, init);
  SmallVector<utils::IteratorType> iters(lead + n, utils::IteratorType::parallel);
  iters.append(n, utils::IteratorType::reduction);
  return linalg::GenericOp::create(b, loc, TypeRange{outType}, ValueRange{padded, window}, ValueRange{acc},
                                   SmallVector<AffineMap>{AffineMap::get(loops, 0, xe, ctx), AffineMap::get(loops, 0, ke, ctx),
                                                          AffineMap::get(loops, 0, oe, ctx)},
                                   iters,
                                   [&](OpBuilder &nb, Location l, ValueRange v) {
                                     linalg::YieldOp::create(nb, l, combine(nb, l, v[2], v[0]));
                                   })
      .getResult(0);
}

LogicalResult lowerPool(Operation *op, ValueRange operands, ConversionPatternRewriter &rw, bool isMax) {
  Location loc = op->getLoc();
  Value x = operands[0];
  auto xt = cast<RankedTensorType>(x.getType());
  auto resultType = signlessTensor(op->getResult(0).getType());
  if (op->getNumResults() > 1)
    return unsupported(op, "the Indices output");
  Type orig = elementTypeOf(op->getOperand(0));
  Type elem = xt.getElementType();
  auto kernel = cast<DenseI64ArrayAttr>(op->getAttr("kernel_shape")).asArrayRef();
  auto w = readWindow(op, xt, kernel);
  if (failed(w))
    return failure();
  SmallVector<int64_t> extra = ceilExtra(xt, resultType, *w);
  int64_t n = kernel.size();
  Value padValue = isMax ? lowestValue(rw, loc, orig) : constantScalar(rw, loc, elem, 0);
  Value padded = padSpatial(rw, loc, x, w->padBegin, w->padEnd, extra, padValue);
  SmallVector<OpFoldResult> outDims = dimsOf(rw, loc, x);
  outDims.resize(2);
  for (int64_t i = 0; i < n; ++i)
    outDims.push_back(outSize(rw, loc, resultType, i + 2, padded, *w, i));
  bool unsignedElem = isUnsigned(orig);
  if (isMax) {
    Value r = poolWindows(rw, loc, padded, resultType, outDims, *w, lowestValue(rw, loc, orig),
                          [&](OpBuilder &b, Location l, Value acc, Value v) -> Value {
                            if (isa<FloatType>(v.getType()))
                              return arith::MaximumFOp::create(b, l, acc, v);
                            return unsignedElem ? Value(arith::MaxUIOp::create(b, l, acc, v))
                                                : Value(arith::MaxSIOp::create(b, l, acc, v));
                          });
    rw.replaceOp(op, r);
    return success();
  }
  auto avg = cast<AveragePoolOp>(op);
  Value sum = poolWindows(rw, loc, padded, resultType, outDims, *w, constantScalar(rw, loc, elem, 0),
                          [](OpBuilder &b, Location l, Value acc, Value v) { return addS(b, l, acc, v); });
  // The divisor per output position: pool a mask of ones over the spatial
  // dims, padded with ones where padding counts, zeros elsewhere.
  SmallVector<int64_t> spatial(xt.getShape().drop_front(2));
  if (ShapedType::isDynamicShape(spatial))
    return unsupported(op, "dynamic spatial dims");
  SmallVector<int64_t> maskShape{1, 1};
  maskShape.append(spatial);
  auto maskType = RankedTensorType::get(maskShape, elem);
  Value one = constantScalar(rw, loc, elem, 1), zero = constantScalar(rw, loc, elem, 0);
  Value mask = filledTensor(rw, loc, maskType, getAsIndexOpFoldResult(rw.getContext(), maskShape), one);
  if (avg.getCountIncludePad()) {
    mask = padSpatial(rw, loc, mask, w->padBegin, w->padEnd, {}, one);
    SmallVector<int64_t> none(n, 0);
    mask = padSpatial(rw, loc, mask, none, none, extra, zero);
  } else {
    mask = padSpatial(rw, loc, mask, w->padBegin, w->padEnd, extra, zero);
  }
  SmallVector<int64_t> countShape{1, 1};
  for (int64_t i = 0; i < n; ++i)
    countShape.push_back(resultType.getDimSize(i + 2));
  auto countType = RankedTensorType::get(countShape, elem);
  Value counts = poolWindows(rw, loc, mask, countType, getAsIndexOpFoldResult(rw.getContext(), countShape), *w, zero,
                             [](OpBuilder &b, Location l, Value acc, Value v) { return addS(b, l, acc, v); });
  Value r = elementwise(rw, loc, ValueRange{sum, counts}, resultType, [](OpBuilder &b, Location l, ValueRange v) -> Value {
    return arith::DivFOp::create(b, l, v[0], v[1]);
  });
  rw.replaceOp(op, r);
  return success();
}

LogicalResult lowerGlobalPool(Operation *op, ValueRange operands, ConversionPatternRewriter &rw, bool isMax) {
  Location loc = op->getLoc();
  Value x = operands[0];
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(2, rank));
  Value r;
  if (isMax) {
    r = reduceMaxKeep(rw, loc, x, axes);
  } else {
    Value nf = elementCount(rw, loc, x, axes, elementTypeOf(x));
    Value s = reduceSumKeep(rw, loc, x, axes);
    r = elementwise(rw, loc, ValueRange{s}, cast<RankedTensorType>(s.getType()),
                    [&](OpBuilder &b, Location l, ValueRange v) -> Value { return arith::DivFOp::create(b, l, v[0], nf); });
  }
  replaceWithResult(rw, op, r);
  return success();
}

} // namespace

void populateNNLowerings(LoweringTable &t) {
  t["tern.matmul"] = lowerMatMul;
  t["tern.gemm"] = lowerGemm;
  t["tern.conv"] = lowerConv;
  t["tern.conv_transpose"] = lowerConvTranspose;
  t["tern.max_pool"] = [](Operation *op, ValueRange o, ConversionPatternRewriter &rw) { return lowerPool(op, o, rw, true); };
  t["tern.average_pool"] = [](Operation *op, ValueRange o, ConversionPatternRewriter &rw) { return lowerPool(op, o, rw, false); };
  t["tern.global_max_pool"] = [](Operation *op, ValueRange o, ConversionPatternRewriter &rw) { return lowerGlobalPool(op, o, rw, true); };
  t["tern.global_average_pool"] = [](Operation *op, ValueRange o, ConversionPatternRewriter &rw) { return lowerGlobalPool(op, o, rw, false); };
}

} // namespace tern::lowering
