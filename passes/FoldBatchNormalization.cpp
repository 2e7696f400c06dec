//===- FoldBatchNormalization.cpp - Conv + BatchNormalization at compile time ===//
//
// A BatchNormalization reading a convolution's output, all of whose
// parameters and the convolution's weights (and bias) are constants, folds
// into the convolution:
//
//   s  = scale / sqrt(var + eps)          per output channel f
//   W' = W[f, ...] * s[f]
//   b' = (b[f] - mean[f]) * s[f] + bias[f]     (b = 0 without a bias)
//
// so the normalization costs nothing at run time and the convolution's
// epilogue (bias, activation) stays fusable. Training-style graphs whose
// statistics are computed, and convolutions read elsewhere, are left.
//
//===----------------------------------------------------------------------===//

#include "passes/PatternUtils.h"
#include "passes/Passes.h"

#include "dialects/Tern/TernOps.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tern {
#define GEN_PASS_DEF_TERNFOLDBATCHNORMALIZATIONPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;
using namespace tern;
using namespace tern::patterns;

namespace {

/// The f32 values of a constant with `n` elements (a splat repeated).
std::optional<std::vector<float>> floats(Value v, int64_t n) {
  auto type = v ? dyn_cast<RankedTensorType>(v.getType()) : RankedTensorType();
  std::optional<std::vector<double>> values = type && type.getElementType().isF32() ? constantValues(v) : std::nullopt;
  if (!values || (int64_t)values->size() != n)
    return std::nullopt;
  return std::vector<float>(values->begin(), values->end());
}

ConstantOp constantOf(PatternRewriter &rw, Location loc, RankedTensorType type, ArrayRef<float> values,
                      StringRef name) {
  ArrayRef<char> bytes(reinterpret_cast<const char *>(values.data()), values.size() * sizeof(float));
  return ConstantOp::create(rw, loc, constantAttr(type, bytes, name));
}

struct FoldBatchNormalization : OpRewritePattern<BatchNormalizationOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(BatchNormalizationOp bn, PatternRewriter &rw) const override {
    auto conv = bn.getX().getDefiningOp<ConvOp>();
    if (!conv || !conv->hasOneUse() || conv.getType() != bn.getType())
      return rw.notifyMatchFailure(bn, "not the only reader of a convolution");
    auto wType = cast<RankedTensorType>(conv.getW().getType());
    if (!wType.hasStaticShape() || wType.getRank() < 1)
      return failure();
    int64_t f = wType.getDimSize(0), per = wType.getNumElements() / std::max<int64_t>(f, 1);
    std::optional<std::vector<float>> w = floats(conv.getW(), wType.getNumElements());
    std::optional<std::vector<float>> scale = floats(bn.getScale(), f), bias = floats(bn.getBias(), f),
                                      mean = floats(bn.getMean(), f), var = floats(bn.getVariance(), f);
    std::optional<std::vector<float>> convBias =
        conv.getBias() ? floats(conv.getBias(), f) : std::optional<std::vector<float>>(std::vector<float>(f, 0.0f));
    if (!w || !scale || !bias || !mean || !var || !convBias)
      return rw.notifyMatchFailure(bn, "weights or statistics are not constants");
    float eps = bn.getEpsilon().convertToFloat();
    std::vector<float> newW(w->size()), newB(f);
    for (int64_t o = 0; o < f; ++o) {
      float s = (*scale)[o] / std::sqrt((*var)[o] + eps);
      for (int64_t i = 0; i < per; ++i)
        newW[o * per + i] = (*w)[o * per + i] * s;
      newB[o] = ((*convBias)[o] - (*mean)[o]) * s + (*bias)[o];
    }
    Location loc = conv.getLoc();
    rw.setInsertionPoint(conv);
    ConstantOp wc = constantOf(rw, loc, wType, newW, "bn_folded_weights");
    ConstantOp bc = constantOf(rw, loc, RankedTensorType::get({f}, wType.getElementType()), newB, "bn_folded_bias");
    auto folded = cast<ConvOp>(rw.clone(*conv));
    folded.getWMutable().assign(wc.getResult());
    if (folded.getBias())
      folded.getBiasMutable().assign(bc.getResult());
    else
      folded.getBiasMutable().append(bc.getResult());
    rw.replaceOp(bn, folded.getResult());
    rw.eraseOp(conv);
    return success();
  }
};

struct FoldBatchNormalizationPass : tern::impl::TernFoldBatchNormalizationPassBase<FoldBatchNormalizationPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldBatchNormalization>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
