//===- FuseAttention.cpp - exported attention into tern.attention ---------===//
//
// Exporters write scaled dot-product attention out, per head:
//
//   scores = q x k^T          (MatMul; k^T a Transpose of k or of the
//                              [B, L, H, D] projection it is reshaped from)
//   scores = scores * c       (Mul, or Div by a constant; optional)
//   scores = scores + mask    (Add of a mask broadcast to [B, H, S, L]; optional)
//   p      = softmax(scores)  (along the last dim)
//   out    = p x v            (MatMul)
//
// The chain becomes one tern.attention, whose lowering never stores the
// score matrix. Grouped-query attention's keys and values, repeated per
// query head (Unsqueeze, Expand, Reshape: [B, Hkv, L, D] -> [B, Hkv*G, L, D]),
// are read from their Hkv heads instead. Every intermediate must be read
// only inside the chain; shapes must be static, rank 4, f32.
//
//===----------------------------------------------------------------------===//

#include "passes/PatternUtils.h"
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tern {
#define GEN_PASS_DEF_TERNFUSEATTENTIONPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;
using namespace tern;
using namespace tern::patterns;

namespace {

RankedTensorType staticF32Rank4(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && t.getRank() == 4 && t.hasStaticShape() && t.getElementType().isF32() ? t : RankedTensorType();
}

/// scores * c, c * scores or scores / c with c a scalar constant: the scores
/// and the scale; anything else is the scores with scale 1.
std::pair<Value, double> unscale(Value v) {
  if (auto mul = singleUse<MulOp>(v))
    for (int i = 0; i < 2; ++i)
      if (std::optional<double> c = scalarConstant(mul->getOperand(1 - i));
          c && mul->getOperand(i).getType() == mul.getType())
        return {mul->getOperand(i), *c};
  if (auto div = singleUse<DivOp>(v))
    if (std::optional<double> c = scalarConstant(div.getOperand(1));
        c && *c != 0 && div.getOperand(0).getType() == div.getType())
      return {div.getOperand(0), 1.0 / *c};
  return {v, 1.0};
}

/// k [B, H, L, D] given k^T [B, H, D, L]: the transpose's input when it
/// transposes back to k, else a transpose of it (k^T from the [B, L, H, D]
/// projection: one transpose instead of two), else a new transpose.
Value keysOf(Value kt, PatternRewriter &rw, Location loc) {
  SmallVector<int64_t> perm{0, 1, 3, 2};
  Value source = kt;
  if (auto t = kt.getDefiningOp<TransposeOp>()) {
    ArrayRef<int64_t> p = t.getPerm();
    perm = {p[0], p[1], p[3], p[2]};
    source = t.getData();
  }
  if (llvm::equal(perm, llvm::seq<int64_t>(0, 4)))
    return source;
  return TransposeOp::create(rw, loc, source, rw.getDenseI64ArrayAttr(perm)).getResult();
}

/// For keys or values repeated per query head, Reshape(Expand(Unsqueeze(x,
/// axis 2), [B, Hkv, G, L, D]), [B, Hkv*G, L, D]): x and G.
std::optional<std::pair<Value, int64_t>> repeatedHeads(Value v) {
  auto reshape = v.getDefiningOp<ReshapeOp>();
  auto expand = reshape ? reshape.getData().getDefiningOp<ExpandOp>() : ExpandOp();
  auto unsqueeze = expand ? expand.getInput().getDefiningOp<UnsqueezeOp>() : UnsqueezeOp();
  if (!unsqueeze || unsqueeze.getAxes().size() != 1 || unsqueeze.getAxes()[0] != 2)
    return std::nullopt;
  RankedTensorType x = staticF32Rank4(unsqueeze.getData());
  auto e = dyn_cast<RankedTensorType>(expand.getType());
  RankedTensorType r = staticF32Rank4(reshape.getResult());
  if (!x || !e || !r || !e.hasStaticShape() || e.getRank() != 5)
    return std::nullopt;
  int64_t g = e.getDimSize(2);
  if (e.getDimSize(0) != x.getDimSize(0) || e.getDimSize(1) != x.getDimSize(1) || e.getDimSize(3) != x.getDimSize(2) ||
      e.getDimSize(4) != x.getDimSize(3) || r.getDimSize(0) != x.getDimSize(0) ||
      r.getDimSize(1) != x.getDimSize(1) * g || r.getDimSize(2) != x.getDimSize(2) || r.getDimSize(3) != x.getDimSize(3))
    return std::nullopt;
  return std::make_pair(unsqueeze.getData(), g);
}

/// Does `mask` broadcast to `scores` without changing its shape?
bool broadcastsTo(Value mask, RankedTensorType scores) {
  auto m = dyn_cast<RankedTensorType>(mask.getType());
  if (!m || !m.hasStaticShape() || !m.getElementType().isF32() || m.getRank() > 4)
    return false;
  for (int64_t i = 1; i <= m.getRank(); ++i) {
    int64_t d = m.getDimSize(m.getRank() - i);
    if (d != 1 && d != scores.getDimSize(4 - i))
      return false;
  }
  return true;
}

struct FuseAttention : OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatMulOp pv, PatternRewriter &rw) const override {
    RankedTensorType outType = staticF32Rank4(pv.getResult());
    auto softmax = singleUse<SoftmaxOp>(pv.getA());
    if (!outType || !softmax || softmax.getAxis() != 3)
      return rw.notifyMatchFailure(pv, "not p x v with p a softmax along the last dim");
    RankedTensorType scoresType = staticF32Rank4(softmax.getResult());
    if (!scoresType)
      return failure();
    // softmax(scale * q k^T [+ mask])
    Value x = softmax.getInput(), mask;
    std::pair<Value, double> scaled = unscale(x);
    MatMulOp qk = singleUse<MatMulOp>(scaled.first);
    if (!qk)
      if (auto add = singleUse<AddOp>(x); add && add.getType() == scoresType)
        for (int i = 0; i < 2 && !qk; ++i) {
          scaled = unscale(add->getOperand(i));
          qk = singleUse<MatMulOp>(scaled.first);
          mask = add->getOperand(1 - i);
        }
    if (!qk || qk.getType() != scoresType || (mask && !broadcastsTo(mask, scoresType)))
      return rw.notifyMatchFailure(pv, "the scores are not [scale *] q x k^T [+ mask]");
    RankedTensorType qType = staticF32Rank4(qk.getA()), ktType = staticF32Rank4(qk.getB()),
                     vType = staticF32Rank4(pv.getB());
    if (!qType || !ktType || !vType)
      return failure();
    // Batch and head dims must match as they are (no matmul broadcasting).
    int64_t b = qType.getDimSize(0), h = qType.getDimSize(1);
    if (ktType.getDimSize(0) != b || vType.getDimSize(0) != b || ktType.getDimSize(1) != h ||
        vType.getDimSize(1) != h)
      return rw.notifyMatchFailure(pv, "batch or head dims are broadcast");

    Location loc = pv.getLoc();
    Value k = keysOf(qk.getB(), rw, loc), v = pv.getB();
    auto rk = repeatedHeads(k), rv = repeatedHeads(v);
    if (rk && rv && rk->second == rv->second) {
      k = rk->first;
      v = rv->first;
    }
    auto attention = AttentionOp::create(rw, loc, qk.getA(), k, v, mask, rw.getF32FloatAttr(scaled.second),
                                         rw.getBoolAttr(false));
    rw.replaceOp(pv, attention.getResult());
    return success();
  }
};

struct FuseAttentionPass : tern::impl::TernFuseAttentionPassBase<FuseAttentionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseAttention>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
