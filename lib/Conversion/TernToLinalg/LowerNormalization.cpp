//===- LowerNormalization.cpp - softmax and the normalizations -----------===//
//
// Softmax, LogSoftmax and Hardmax over an axis, and the normalizations
// (LayerNormalization, tern.normalization's layer and RMS forms from
// tern-fuse-normalization, BatchNormalization in inference, Instance-
// Normalization): reductions kept as 1s plus elementwise generics.
//
//===----------------------------------------------------------------------===//

#include "lib/Conversion/TernToLinalg/Lowering.h"
#include "dialects/Tern/TernOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

namespace tern::lowering {
namespace {

/// Mean and variance over `axes` (kept as 1s).
std::pair<Value, Value> moments(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> axes) {
  auto t = cast<RankedTensorType>(x.getType());
  Value nf = elementCount(b, loc, x, axes, t.getElementType());
  Value sum = reduceSumKeep(b, loc, x, axes);
  auto kt = cast<RankedTensorType>(sum.getType());
  Value mean = elementwise(b, loc, ValueRange{sum}, kt, [&](OpBuilder &nb, Location l, ValueRange v) -> Value {
    return arith::DivFOp::create(nb, l, v[0], nf);
  });
  Value sq = elementwise(b, loc, ValueRange{x, mean}, t, [](OpBuilder &nb, Location l, ValueRange v) -> Value {
    Value dlt = arith::SubFOp::create(nb, l, v[0], v[1]);
    return arith::MulFOp::create(nb, l, dlt, dlt);
  });
  Value var = elementwise(b, loc, ValueRange{reduceSumKeep(b, loc, sq, axes)}, kt,
                          [&](OpBuilder &nb, Location l, ValueRange v) -> Value { return arith::DivFOp::create(nb, l, v[0], nf); });
  return {mean, var};
}

LogicalResult lowerSoftmax(Operation *op, ValueRange operands, ConversionPatternRewriter &rw, int kind) {
  Location loc = op->getLoc();
  Value x = operands[0];
  auto t = cast<RankedTensorType>(x.getType());
  int64_t axis = cast<IntegerAttr>(op->getAttr("axis")).getInt();
  Value m = reduceMaxKeep(rw, loc, x, {axis});
  if (kind == 2) { // hardmax: 1 at the first maximum
    MLIRContext *ctx = rw.getContext();
    int64_t rank = t.getRank();
    // First index reaching the max, as an i64 per row.
    SmallVector<AffineExpr> ke;
    for (int64_t i = 0; i < rank; ++i)
      ke.push_back(i == axis ? getAffineConstantExpr(0, ctx) : getAffineDimExpr(i, ctx));
    SmallVector<int64_t> kshape(t.getShape());
    kshape[axis] = 1;
    SmallVector<OpFoldResult> kdims = dimsOf(rw, loc, x);
    kdims[axis] = rw.getIndexAttr(1);
    auto it = RankedTensorType::get(kshape, rw.getI64Type());
    Value big = arith::ConstantOp::create(rw, loc, rw.getI64IntegerAttr(std::numeric_limits<int64_t>::max()));
    Value first = filledTensor(rw, loc, it, kdims, big);
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    iters[axis] = utils::IteratorType::reduction;
    first = linalg::GenericOp::create(
                rw, loc, TypeRange{it}, ValueRange{x, m}, ValueRange{first},
                SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, ctx), AffineMap::get(rank, 0, ke, ctx),
                                       AffineMap::get(rank, 0, ke, ctx)},
                iters,
                [&](OpBuilder &b, Location l, ValueRange v) {
                  Value i = toI64(b, l, linalg::IndexOp::create(b, l, axis));
                  Value isMax = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, v[0], v[1]);
                  Value cand = arith::SelectOp::create(b, l, isMax, i, big);
                  linalg::YieldOp::create(b, l, Value(arith::MinSIOp::create(b, l, v[2], cand)));
                })
                .getResult(0);
    Value empty = emptyTensor(rw, loc, t, dimsOf(rw, loc, x));
    Value r = linalg::GenericOp::create(
                  rw, loc, TypeRange{t}, ValueRange{first}, ValueRange{empty},
                  SmallVector<AffineMap>{AffineMap::get(rank, 0, ke, ctx), AffineMap::getMultiDimIdentityMap(rank, ctx)},
                  SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
                  [&](OpBuilder &b, Location l, ValueRange v) {
                    Value i = toI64(b, l, linalg::IndexOp::create(b, l, axis));
                    Value eq = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, i, v[0]);
                    Value one = constantScalar(b, l, t.getElementType(), 1), zero = constantScalar(b, l, t.getElementType(), 0);
                    linalg::YieldOp::create(b, l, Value(arith::SelectOp::create(b, l, eq, one, zero)));
                  })
                  .getResult(0);
    rw.replaceOp(op, r);
    return success();
  }
  Value e = elementwise(rw, loc, ValueRange{x, m}, t, [](OpBuilder &b, Location l, ValueRange v) -> Value {
    return math::ExpOp::create(b, l, arith::SubFOp::create(b, l, v[0], v[1]));
  });
  Value s = reduceSumKeep(rw, loc, e, {axis});
  Value r;
  if (kind == 0)
    r = elementwise(rw, loc, ValueRange{e, s}, t, [](OpBuilder &b, Location l, ValueRange v) -> Value {
      return arith::DivFOp::create(b, l, v[0], v[1]);
    });
  else
    r = elementwise(rw, loc, ValueRange{x, m, s}, t, [](OpBuilder &b, Location l, ValueRange v) -> Value {
      Value shifted = arith::SubFOp::create(b, l, v[0], v[1]);
      return arith::SubFOp::create(b, l, shifted, math::LogOp::create(b, l, v[2]));
    });
  rw.replaceOp(op, r);
  return success();
}

/// Normalization over the dims from `axis` on: "layer" (x - mean) *
/// rsqrt(var + eps) * scale (+ bias); "rms" one sum of squares and
/// x * rsqrt(sum / n + eps) * scale (+ bias). operands: x, scale, bias?.
LogicalResult lowerNormalizationOver(Operation *op, ValueRange operands, bool layer, int64_t axis, double eps,
                                     ConversionPatternRewriter &rw) {
  Location loc = op->getLoc();
  Value x = operands[0];
  auto t = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(axis, t.getRank()));
  Value mean, second;
  if (layer) {
    std::tie(mean, second) = moments(rw, loc, x, axes);
  } else {
    Value sq = elementwise(rw, loc, ValueRange{x}, t, [](OpBuilder &b, Location l, ValueRange v) -> Value {
      return arith::MulFOp::create(b, l, v[0], v[0]);
    });
    Value sum = reduceSumKeep(rw, loc, sq, axes);
    Value nf = elementCount(rw, loc, x, axes, t.getElementType());
    second = elementwise(rw, loc, ValueRange{sum}, cast<RankedTensorType>(sum.getType()),
                         [&](OpBuilder &b, Location l, ValueRange v) -> Value { return arith::DivFOp::create(b, l, v[0], nf); });
  }
  bool bias = operands.size() > 2 && operands[2];
  SmallVector<Value> ins{x, second, operands[1]};
  if (layer)
    ins.push_back(mean);
  if (bias)
    ins.push_back(operands[2]);
  Value r = elementwise(rw, loc, ins, signlessTensor(op->getResult(0).getType()),
                        [&](OpBuilder &b, Location l, ValueRange v) -> Value {
                          Value e = constantScalar(b, l, v[0].getType(), eps);
                          Value inv = math::RsqrtOp::create(b, l, arith::AddFOp::create(b, l, v[1], e));
                          Value y = layer ? Value(arith::SubFOp::create(b, l, v[0], v[3])) : v[0];
                          y = arith::MulFOp::create(b, l, arith::MulFOp::create(b, l, y, inv), v[2]);
                          if (bias)
                            y = arith::AddFOp::create(b, l, y, v.back());
                          return y;
                        });
  rw.replaceOp(op, r);
  return success();
}

LogicalResult lowerLayerNorm(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  auto ln = cast<LayerNormalizationOp>(op);
  return lowerNormalizationOver(op, operands, /*layer=*/true, ln.getAxis(), ln.getEpsilon().convertToDouble(), rw);
}

/// tern.normalization, the fused form of written-out norms.
LogicalResult lowerNormalization(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  auto norm = cast<NormalizationOp>(op);
  return lowerNormalizationOver(op, operands, norm.getKind() == "layer", norm.getAxis(),
                                norm.getEpsilon().convertToDouble(), rw);
}

/// [C] -> [C, 1, ...] so that it broadcasts along dim 1 of a rank-r tensor.
Value channelParam(OpBuilder &b, Location loc, Value p, int64_t rank) {
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(1, rank - 1));
  return insertUnitDims(b, loc, p, axes);
}

/// (x - mean) / sqrt(var + eps) * scale + bias over x's shape, the four
/// broadcast to it: BatchNormalization's and InstanceNormalization's body.
Value scaleShift(ConversionPatternRewriter &rw, Location loc, Operation *op, Value x, Value mean, Value var,
                 Value scale, Value bias, double eps) {
  return elementwise(rw, loc, ValueRange{x, mean, var, scale, bias}, signlessTensor(op->getResult(0).getType()),
                     [&](OpBuilder &b, Location l, ValueRange v) -> Value {
                       Value e = constantScalar(b, l, v[0].getType(), eps);
                       Value inv = math::RsqrtOp::create(b, l, arith::AddFOp::create(b, l, v[2], e));
                       Value y = arith::MulFOp::create(b, l, arith::SubFOp::create(b, l, v[0], v[1]), inv);
                       return arith::AddFOp::create(b, l, arith::MulFOp::create(b, l, y, v[3]), v[4]);
                     });
}

LogicalResult lowerBatchNorm(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  auto bn = cast<BatchNormalizationOp>(op);
  Location loc = op->getLoc();
  int64_t rank = cast<RankedTensorType>(operands[0].getType()).getRank();
  auto param = [&](int i) { return channelParam(rw, loc, operands[i], rank); };
  // Operands: x, scale, bias, mean, var.
  rw.replaceOp(op, scaleShift(rw, loc, op, operands[0], param(3), param(4), param(1), param(2),
                              bn.getEpsilon().convertToDouble()));
  return success();
}

LogicalResult lowerInstanceNorm(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  auto in = cast<InstanceNormalizationOp>(op);
  Location loc = op->getLoc();
  Value x = operands[0];
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(2, rank));
  auto [mean, var] = moments(rw, loc, x, axes);
  rw.replaceOp(op, scaleShift(rw, loc, op, x, mean, var, channelParam(rw, loc, operands[1], rank),
                              channelParam(rw, loc, operands[2], rank), in.getEpsilon().convertToDouble()));
  return success();
}

} // namespace

void populateNormalizationLowerings(LoweringTable &t) {
  t["tern.softmax"] = [](Operation *op, ValueRange o, ConversionPatternRewriter &rw) { return lowerSoftmax(op, o, rw, 0); };
  t["tern.log_softmax"] = [](Operation *op, ValueRange o, ConversionPatternRewriter &rw) { return lowerSoftmax(op, o, rw, 1); };
  t["tern.hardmax"] = [](Operation *op, ValueRange o, ConversionPatternRewriter &rw) { return lowerSoftmax(op, o, rw, 2); };
  t["tern.layer_normalization"] = lowerLayerNorm;
  t["tern.normalization"] = lowerNormalization;
  t["tern.batch_normalization"] = lowerBatchNorm;
  t["tern.instance_normalization"] = lowerInstanceNorm;
}

} // namespace tern::lowering
