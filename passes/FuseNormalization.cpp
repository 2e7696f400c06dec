//===- FuseNormalization.cpp - written-out norms into tern.normalization --===//
//
// Exporters write normalizations out:
//
//   RMSNorm (Llama):   w * (x * 1/sqrt(mean(x^2) + eps))      (or x / sqrt(..))
//   LayerNorm (older): (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps) * g + b
//
// with the means ReduceMeans over the trailing dims (keepdims) and x^2 a Pow
// by 2 or x * x. Each chain becomes one tern.normalization (kind "rms" or
// "layer"), lowered as one reduction and one elementwise op instead of five
// to nine ops and their temporaries. Every intermediate must be read only
// inside the chain; the scale (and bias) must not change the result's shape.
//
//===----------------------------------------------------------------------===//

#include "passes/PatternUtils.h"
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tern {
#define GEN_PASS_DEF_TERNFUSENORMALIZATIONPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;
using namespace tern;
using namespace tern::patterns;

namespace {

/// If `v` is mean(x) over trailing dims from some axis (keepdims), that
/// axis; `oneUse` asks for the mean to have one use.
std::optional<int64_t> trailingMean(Value v, Value x, bool oneUse = true) {
  auto mean = v.getDefiningOp<ReduceMeanOp>();
  if (!mean || mean.getData() != x || !mean.getKeepdims() || (oneUse && !mean->hasOneUse()))
    return std::nullopt;
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  ArrayRef<int64_t> axes = mean.getAxes();
  if (axes.empty())
    return std::nullopt;
  for (auto [i, a] : llvm::enumerate(axes))
    if (a != rank - (int64_t)axes.size() + (int64_t)i)
      return std::nullopt;
  return axes.front();
}

/// Is `v` x^2 (Pow by 2 or x * x), used once?
bool isSquare(Value v, Value x) {
  if (auto pow = singleUse<PowOp>(v))
    return pow.getOperand(0) == x && isConstant(pow.getOperand(1), 2.0);
  if (auto mul = singleUse<MulOp>(v))
    return mul.getOperand(0) == x && mul.getOperand(1) == x;
  return false;
}

struct MeanSquare {
  int64_t axis;
  double epsilon;
};

/// If `s` is sqrt(mean(x^2) + eps), used once.
std::optional<MeanSquare> rootMeanSquare(Value s, Value x) {
  auto sqrt = singleUse<SqrtOp>(s);
  auto add = sqrt ? singleUse<AddOp>(sqrt.getOperand()) : AddOp();
  if (!add)
    return std::nullopt;
  for (int i = 0; i < 2; ++i) {
    std::optional<double> eps = scalarConstant(add->getOperand(1 - i));
    if (!eps)
      continue;
    auto mean = add->getOperand(i).getDefiningOp<ReduceMeanOp>();
    if (!mean || !isSquare(mean.getData(), x))
      continue;
    if (auto axis = trailingMean(add->getOperand(i), mean.getData()))
      return MeanSquare{*axis, *eps};
  }
  return std::nullopt;
}

/// If `n` is x / sqrt(mean(x^2) + eps) or x * (1 / sqrt(..)), x and the
/// statistics.
std::optional<std::pair<Value, MeanSquare>> normalized(Value n) {
  if (auto div = singleUse<DivOp>(n))
    if (auto ms = rootMeanSquare(div.getOperand(1), div.getOperand(0)))
      return std::make_pair(div.getOperand(0), *ms);
  if (auto mul = singleUse<MulOp>(n))
    for (int i = 0; i < 2; ++i)
      if (auto rec = singleUse<ReciprocalOp>(mul->getOperand(1 - i)))
        if (auto ms = rootMeanSquare(rec.getOperand(), mul->getOperand(i)))
          return std::make_pair(mul->getOperand(i), *ms);
  return std::nullopt;
}

/// Does a scale or bias of type `p` keep `x`'s shape when broadcast over the
/// normalized dims from `axis`?
bool fitsNormalizedDims(Value p, Value x, int64_t axis) {
  auto pt = cast<RankedTensorType>(p.getType());
  return pt.getRank() <= cast<RankedTensorType>(x.getType()).getRank() - axis;
}

/// scale * normalized(x): RMSNorm, or LayerNorm when x is x0 - mean(x0).
struct FuseNormalization : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MulOp root, PatternRewriter &rewriter) const override {
    for (int i = 0; i < 2; ++i) {
      std::optional<std::pair<Value, MeanSquare>> n = normalized(root->getOperand(i));
      if (!n)
        continue;
      auto [x, ms] = *n;
      Value scale = root->getOperand(1 - i);
      if (x.getType() != root.getType() || !fitsNormalizedDims(scale, x, ms.axis))
        continue;
      // LayerNorm: x = x0 - mean(x0) over the same dims, read only by the
      // square and the normalization.
      Value input = x;
      StringRef kind = "rms";
      if (auto sub = x.getDefiningOp<SubOp>()) {
        std::optional<int64_t> axis = trailingMean(sub.getOperand(1), sub.getOperand(0));
        if (axis && *axis == ms.axis && llvm::range_size(x.getUsers()) == 2) {
          input = sub.getOperand(0);
          kind = "layer";
        }
      }
      // A bias added right after, as LayerNorm's exports have it.
      Operation *last = root;
      Value bias;
      if (kind == "layer" && root->hasOneUse())
        if (auto add = dyn_cast<AddOp>(*root->getUsers().begin())) {
          Value b = otherOperand(add, root.getResult());
          if (b && fitsNormalizedDims(b, input, ms.axis) && add.getType() == root.getType()) {
            bias = b;
            last = add;
          }
        }
      auto norm = NormalizationOp::create(rewriter, root.getLoc(), root.getType(), input, scale, bias,
                                          rewriter.getStringAttr(kind), rewriter.getI64IntegerAttr(ms.axis),
                                          rewriter.getF32FloatAttr(ms.epsilon));
      rewriter.replaceOp(last, norm.getResult());
      return success();
    }
    return failure();
  }
};

struct FuseNormalizationPass : tern::impl::TernFuseNormalizationPassBase<FuseNormalizationPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseNormalization>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
