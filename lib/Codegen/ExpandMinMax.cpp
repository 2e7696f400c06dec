//===- ExpandMinMax.cpp - min/max against a constant as compare + select --===//
//
// arith.maximumf and minimumf propagate NaN and order -0 below +0. x86 has
// no instruction for that (vmaxps returns its second operand when either is
// NaN and either zero for two zeros), so LLVM lowers each to five: blends
// on the sign, vmaxps, an unordered compare and a blend. A Relu or a clamp
// (ReLU6, the polynomial approximations' range limits) compares against a
// constant, where one compare and one select keep the same semantics:
//
//   maximumf(x, c) = x <= c ? c : x   (x < c for c = -0: max(+0, -0) = +0)
//   minimumf(x, c) = x >= c ? c : x   (x > c for c = +0: min(-0, +0) = -0)
//
// a NaN x fails the compare and is returned. c must not be NaN.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tern {
#define GEN_PASS_DEF_TERNEXPANDMINMAXPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {

/// The constant `v` is (one value, or a splat), unless NaN.
std::optional<APFloat> constantOperand(Value v) {
  FloatAttr scalar;
  if (matchPattern(v, m_Constant(&scalar)))
    return scalar.getValue().isNaN() ? std::nullopt : std::optional<APFloat>(scalar.getValue());
  SplatElementsAttr splat;
  if (matchPattern(v, m_Constant(&splat)) && isa<FloatType>(splat.getElementType())) {
    APFloat f = splat.getSplatValue<APFloat>();
    return f.isNaN() ? std::nullopt : std::optional<APFloat>(f);
  }
  return std::nullopt;
}

template <typename OpTy, bool isMax>
struct AgainstConstant : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rw) const override {
    Value x = op.getLhs(), c = op.getRhs();
    std::optional<APFloat> k = constantOperand(c);
    if (!k) {
      std::swap(x, c);
      k = constantOperand(c);
    }
    if (!k)
      return rw.notifyMatchFailure(op, "no constant operand");
    // Ties return c, except where c is the zero that loses the tie.
    bool strict = k->isZero() && (isMax ? k->isNegative() : !k->isNegative());
    arith::CmpFPredicate pred = isMax ? (strict ? arith::CmpFPredicate::OLT : arith::CmpFPredicate::OLE)
                                      : (strict ? arith::CmpFPredicate::OGT : arith::CmpFPredicate::OGE);
    Value cond = arith::CmpFOp::create(rw, op.getLoc(), pred, x, c);
    rw.replaceOpWithNewOp<arith::SelectOp>(op, cond, c, x);
    return success();
  }
};

struct ExpandMinMaxPass : tern::impl::TernExpandMinMaxPassBase<ExpandMinMaxPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<AgainstConstant<arith::MaximumFOp, true>, AgainstConstant<arith::MinimumFOp, false>>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
