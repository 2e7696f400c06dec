//===- InterchangeForVectorization.cpp - contiguous parallel dim innermost -===//

#include "passes/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace tern {
#define GEN_PASS_DEF_TERNINTERCHANGEFORVECTORIZATIONPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {

/// The loop order with `inner` last and the reductions just before it, or
/// nothing when the op does not qualify.
std::optional<SmallVector<unsigned>> vectorFriendlyOrder(linalg::LinalgOp op) {
  if (op.getNumDpsInits() != 1 || op.getNumReductionLoops() == 0)
    return std::nullopt;
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  AffineMap out = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (out.getNumResults() == 0)
    return std::nullopt;
  auto last = dyn_cast<AffineDimExpr>(out.getResults().back());
  if (!last || iters[last.getPosition()] != utils::IteratorType::parallel)
    return std::nullopt;
  unsigned inner = last.getPosition();
  // Some input must run along `inner` in its last dim (else the inner loop
  // would read with a large stride).
  bool contiguousInput = false;
  for (OpOperand *in : op.getDpsInputOperands()) {
    AffineMap m = op.getMatchingIndexingMap(in);
    if (m.getNumResults() && m.getResults().back().isFunctionOfDim(inner))
      contiguousInput = true;
  }
  if (!contiguousInput)
    return std::nullopt;
  SmallVector<unsigned> order;
  for (unsigned d = 0; d < iters.size(); ++d)
    if (d != inner && iters[d] == utils::IteratorType::parallel)
      order.push_back(d);
  for (unsigned d = 0; d < iters.size(); ++d)
    if (iters[d] == utils::IteratorType::reduction)
      order.push_back(d);
  order.push_back(inner);
  bool identity = true;
  for (unsigned i = 0; i < order.size(); ++i)
    identity &= order[i] == i;
  if (identity)
    return std::nullopt;
  return order;
}

struct InterchangeForVectorizationPass
    : tern::impl::TernInterchangeForVectorizationPassBase<InterchangeForVectorizationPass> {
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (vectorFriendlyOrder(op))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : ops) {
      std::optional<SmallVector<unsigned>> order = vectorFriendlyOrder(op);
      rewriter.setInsertionPoint(op);
      auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
      if (!generic) {
        FailureOr<linalg::GenericOp> g = linalg::generalizeNamedOp(rewriter, op);
        if (failed(g))
          continue;
        generic = *g;
      }
      (void)linalg::interchangeGenericOp(rewriter, generic, *order);
    }
  }
};

} // namespace
