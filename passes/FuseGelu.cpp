//===- FuseGelu.cpp - written-out GELU chains into tern.gelu --------------===//
//
// GPT-2's exporter writes GELU's tanh form out as eight ops,
//   0.5 * x * (1 + tanh(0.7978845608 * (x + 0.044715 * x^3)))
// and older exporters the erf form as five, 0.5 * x * (1 + erf(x / sqrt 2)).
// Each chain becomes one tern.gelu (approximate "tanh" or "none"), whose
// lowering is one elementwise op that fuses into the matmul before it.
// Products are matched in any order and grouping (0.5 * x times the rest,
// x times 0.5 times the rest); every intermediate must have no other use.
//
//===----------------------------------------------------------------------===//

#include "passes/PatternUtils.h"
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tern {
#define GEN_PASS_DEF_TERNFUSEGELUPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;
using namespace tern;
using namespace tern::patterns;

namespace {

/// Is `t` the argument of GELU's tanh, sqrt(2/pi) * (x + 0.044715 * x^3)?
bool isTanhArgument(Value t, Value x) {
  auto scaled = singleUse<MulOp>(t);
  if (!scaled)
    return false;
  for (int i = 0; i < 2; ++i) {
    if (!isConstant(scaled->getOperand(1 - i), 0.7978845608028654))
      continue;
    auto sum = singleUse<AddOp>(scaled->getOperand(i));
    if (!sum)
      return false;
    Value cubic = otherOperand(sum, x);
    auto cubicMul = cubic ? singleUse<MulOp>(cubic) : MulOp();
    if (!cubicMul)
      return false;
    for (int j = 0; j < 2; ++j) {
      if (!isConstant(cubicMul->getOperand(1 - j), 0.044715))
        continue;
      auto pow = singleUse<PowOp>(cubicMul->getOperand(j));
      return pow && pow.getOperand(0) == x && isConstant(pow.getOperand(1), 3.0);
    }
    return false;
  }
  return false;
}

/// Is `t` x / sqrt(2) (or x * (1 / sqrt(2)))?
bool isErfArgument(Value t, Value x) {
  if (auto div = singleUse<DivOp>(t))
    return div.getOperand(0) == x && isConstant(div.getOperand(1), 1.4142135623730951);
  if (auto mul = singleUse<MulOp>(t)) {
    Value other = otherOperand(mul, x);
    return other && isConstant(other, 0.7071067811865476);
  }
  return false;
}

/// If `v` is 1 + tanh(...) or 1 + erf(...) of x, the approximation.
std::optional<StringRef> geluBracket(Value v, Value x) {
  auto add = singleUse<AddOp>(v);
  if (!add)
    return std::nullopt;
  for (int i = 0; i < 2; ++i) {
    if (!isConstant(add->getOperand(1 - i), 1.0))
      continue;
    Value f = add->getOperand(i);
    if (auto tanh = singleUse<TanhOp>(f); tanh && isTanhArgument(tanh.getOperand(), x))
      return StringRef("tanh");
    if (auto erf = singleUse<ErfOp>(f); erf && isErfArgument(erf.getOperand(), x))
      return StringRef("none");
  }
  return std::nullopt;
}

struct FuseGelu : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MulOp root, PatternRewriter &rewriter) const override {
    // The root is a product of three factors: x, 0.5 and the bracket, as
    // (a * b) * c with either operand of the root the inner product.
    for (int i = 0; i < 2; ++i) {
      auto inner = singleUse<MulOp>(root->getOperand(i));
      if (!inner)
        continue;
      Value factors[3] = {inner.getOperand(0), inner.getOperand(1), root->getOperand(1 - i)};
      // Try each factor as the bracket; of the other two one is 0.5, the
      // other x.
      for (int b = 0; b < 3; ++b) {
        Value p = factors[(b + 1) % 3], q = factors[(b + 2) % 3];
        for (int swap = 0; swap < 2; ++swap, std::swap(p, q)) {
          if (!isConstant(p, 0.5) || q.getType() != root.getType())
            continue;
          std::optional<StringRef> approximate = geluBracket(factors[b], q);
          if (!approximate)
            continue;
          auto gelu = GeluOp::create(rewriter, root.getLoc(), root.getType(), q,
                                     rewriter.getStringAttr(*approximate));
          rewriter.replaceOp(root, gelu.getResult());
          return success();
        }
      }
    }
    return failure();
  }
};

struct FuseGeluPass : tern::impl::TernFuseGeluPassBase<FuseGeluPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseGelu>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
