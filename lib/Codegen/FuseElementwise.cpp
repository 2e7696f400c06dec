//===- FuseElementwise.cpp - elementwise fusion that never recomputes -----===//

#include "passes/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tern {
#define GEN_PASS_DEF_TERNFUSEELEMENTWISEPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {
/// linalg.transpose as the generic it stands for (which fusion takes).
struct GeneralizeTranspose : OpRewritePattern<linalg::TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::TransposeOp op, PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics())
      return failure();
    return linalg::generalizeNamedOp(rewriter, op);
  }
};

struct FuseElementwisePass : tern::impl::TernFuseElementwisePassBase<FuseElementwisePass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::ControlFusionFn control = [](OpOperand *fused) {
      auto consumer = dyn_cast<linalg::LinalgOp>(fused->getOwner());
      Operation *producer = fused->get().getDefiningOp();
      return consumer && producer && consumer.getNumReductionLoops() == 0 && producer->hasOneUse();
    };
    linalg::populateElementwiseOpsFusionPatterns(patterns, control);
    if (throughViews) {
      patterns.add<GeneralizeTranspose>(&getContext());
      // A reshape moves past an all-parallel generic: one that reads it
      // (each such reader then reads the reshape's source, in its shape:
      // BERT's three f16 copies of a layer norm's output, for its query, key
      // and value matmuls, then run over the norm's rows), or the only
      // producer of its operand. Never into a contraction.
      linalg::ControlFusionFn reshapes = [](OpOperand *fused) {
        auto generic = dyn_cast<linalg::LinalgOp>(fused->getOwner());
        Operation *producer = fused->get().getDefiningOp();
        if (auto g = dyn_cast_or_null<linalg::LinalgOp>(producer))
          return g.getNumReductionLoops() == 0 && producer->hasOneUse();
        return generic && generic.getNumReductionLoops() == 0 && producer;
      };
      linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, reshapes);
    }
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
