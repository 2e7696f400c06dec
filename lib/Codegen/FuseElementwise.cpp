//===- FuseElementwise.cpp - elementwise fusion that never recomputes -----===//

#include "passes/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
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

constexpr llvm::StringLiteral kRelayout = "tern.relayout";

bool allParallel(linalg::GenericOp g) { return g.getNumLoops() == g.getNumParallelLoops(); }

/// An all-parallel generic that moves its one input to another layout (a
/// permutation, not the identity), its body the value as read or that value
/// with bits flipped by a constant (an int8 convolution's input moved to
/// channels last as bytes to multiply).
bool isRelayout(linalg::GenericOp g) {
  if (!g.hasPureTensorSemantics() || g.getNumDpsInputs() != 1 || g.getNumDpsInits() != 1 || !allParallel(g))
    return false;
  AffineMap in = g.getIndexingMapsArray()[0], out = g.getIndexingMapsArray()[1];
  if (!out.isIdentity() || !in.isPermutation() || in.isIdentity())
    return false;
  Block &body = *g.getBlock();
  Value yielded = body.getTerminator()->getOperand(0);
  if (yielded == body.getArgument(0))
    return body.getOperations().size() == 1;
  auto x = yielded.getDefiningOp<arith::XOrIOp>();
  return x && body.getOperations().size() == 2 && x.getLhs() == body.getArgument(0) &&
         x.getRhs().getDefiningOp<arith::ConstantOp>();
}

/// Whether generic `g`, its result read through `read` (loops -> its
/// result's indices), reads its inputs along loop `innermost` as their last
/// dim (but for trailing constants: a per-channel scale [C, 1, 1]) or not
/// at all, looking through the producers fusion will fold into it (one
/// reader) and relayout copies (folded into every reader).
bool readsAlongInnermost(linalg::GenericOp g, AffineMap read, unsigned innermost) {
  for (OpOperand *in : g.getDpsInputOperands()) {
    AffineMap m = g.getMatchingIndexingMap(in).compose(read);
    auto producer = in->get().getDefiningOp<linalg::GenericOp>();
    if (producer && producer->getNumResults() == 1 && allParallel(producer) &&
        producer.getIndexingMapsArray().back().isIdentity() &&
        (in->get().hasOneUse() || producer->hasAttr(kRelayout))) {
      if (!readsAlongInnermost(producer, m, innermost))
        return false;
      continue;
    }
    ArrayRef<AffineExpr> results = m.getResults();
    while (!results.empty() && isa<AffineConstantExpr>(results.back()))
      results = results.drop_back();
    AffineExpr last = getAffineDimExpr(innermost, g->getContext());
    for (auto [i, e] : llvm::enumerate(results))
      if (e.isFunctionOfDim(innermost) && (i + 1 != results.size() || e != last))
        return false;
  }
  return true;
}

/// A tensor that several ops read, one of them a relayout `t`, written by
/// an elementwise generic: that generic writes it in t's layout instead
/// (its result moved there, which fusion folds into it) and the other
/// readers read it from there, through a copy back marked tern.relayout
/// that fusion folds into each of them (a view, recomputed for free). The
/// transposes on both sides cancel: resnet50.int8-qdq's residual blocks
/// wrote their outputs as NCHW, which the next block's convolutions moved
/// to channels last again, and their residual adds read against the
/// convolutions' channels-last results.
void writeInReadersLayout(linalg::GenericOp t) {
  Value x = t.getDpsInputOperand(0)->get();
  auto p = x.getDefiningOp<linalg::GenericOp>();
  if (!p || x.hasOneUse() || p->getNumResults() != 1 || !allParallel(p) ||
      !p.getIndexingMapsArray().back().isIdentity() || p->hasAttr(kRelayout))
    return;
  // Only where what the producer reads then runs along the new innermost
  // dim (its result's rows, read in order), through the elementwise ops
  // that fusion will fold into it and the copies back of tensors already
  // moved: data in the old layout would be gathered across the new rows
  // instead (resnet50.int8-qdq's max pool over NCHW taps, written channels
  // last, ran a float at a time).
  AffineMap perm = t.getIndexingMapsArray()[0];
  if (!readsAlongInnermost(p, perm, perm.getNumDims() - 1))
    return;
  OpBuilder b(p->getContext());
  b.setInsertionPointAfter(p);
  Location loc = p.getLoc();
  auto xt = cast<RankedTensorType>(x.getType());
  auto moved = cast<RankedTensorType>(t->getResult(0).getType()).clone(xt.getElementType());
  // A dynamic dim (images counted at run time) of a copy is the source's,
  // read from what the source was written into (no use of the source that
  // would keep fusion from folding its producer into the copy): loop i
  // reads source dim j where the permutation's result j is i.
  auto copy = [&](Value from, Value sizedLikeFrom, RankedTensorType to, AffineMap map) {
    SmallVector<Value> dynamic;
    for (int64_t i = 0; i < to.getRank(); ++i)
      if (to.isDynamicDim(i))
        dynamic.push_back(
            tensor::DimOp::create(b, loc, sizedLikeFrom, *map.getResultPosition(b.getAffineDimExpr(i))));
    return linalg::GenericOp::create(
        b, loc, TypeRange{to}, ValueRange{from}, ValueRange{tensor::EmptyOp::create(b, loc, to, dynamic)},
        SmallVector<AffineMap>{map, AffineMap::getMultiDimIdentityMap(to.getRank(), b.getContext())},
        SmallVector<utils::IteratorType>(to.getRank(), utils::IteratorType::parallel),
        [](OpBuilder &nb, Location l, ValueRange v) { linalg::YieldOp::create(nb, l, v[0]); });
  };
  linalg::GenericOp there = copy(x, p.getDpsInits()[0], moved, perm);
  linalg::GenericOp back = copy(there->getResult(0), there.getDpsInits()[0], xt, inversePermutation(perm));
  back->setAttr(kRelayout, b.getUnitAttr());
  x.replaceAllUsesExcept(back->getResult(0), there);
}

struct FuseElementwisePass : tern::impl::TernFuseElementwisePassBase<FuseElementwisePass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<linalg::GenericOp> relayouts;
    getOperation().walk([&](linalg::GenericOp g) {
      if (isRelayout(g))
        relayouts.push_back(g);
    });
    for (linalg::GenericOp t : relayouts)
      writeInReadersLayout(t);
    RewritePatternSet patterns(&getContext());
    linalg::ControlFusionFn control = [](OpOperand *fused) {
      auto consumer = dyn_cast<linalg::LinalgOp>(fused->getOwner());
      Operation *producer = fused->get().getDefiningOp();
      return consumer && producer && consumer.getNumReductionLoops() == 0 &&
             (producer->hasOneUse() || producer->hasAttr(kRelayout));
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
