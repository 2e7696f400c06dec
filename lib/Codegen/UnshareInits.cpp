//===- UnshareInits.cpp - each destination its own fill -------------------===//
//
// CSE merges equal fills of equal empty tensors: every matmul or
// convolution of one shape without a bias (or with a zero one) then starts
// from the same zero tensor. One-shot bufferization writes a destination
// in place, so all but one of those ops get a copy of the shared buffer
// (a fill and a copy per op where there was a fill), and the matmul
// kernels, seeing a copy rather than a fill, read C instead of starting
// their accumulators at the constant. Cloned per destination just before
// bufferization, each op fills its own buffer (which the kernels fold).
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

namespace tern {
#define GEN_PASS_DEF_TERNUNSHAREINITSPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {

/// A fill of a tensor.empty: linalg.fill, or an all-parallel generic that
/// reads constants only (a constant, or a constant bias broadcast).
bool isFillOfEmpty(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp || !linalgOp.hasPureTensorSemantics() || linalgOp.getNumDpsInits() != 1 ||
      !linalgOp.getDpsInitOperand(0)->get().getDefiningOp<tensor::EmptyOp>())
    return false;
  if (isa<linalg::FillOp>(op))
    return true;
  auto generic = dyn_cast<linalg::GenericOp>(op);
  return generic && generic.getNumParallelLoops() == generic.getNumLoops() &&
         !generic.payloadUsesValueFromOperand(generic.getDpsInitOperand(0)) &&
         llvm::all_of(generic.getDpsInputs(), [](Value in) { return in.getDefiningOp<arith::ConstantOp>(); });
}

struct UnshareInitsPass : tern::impl::TernUnshareInitsPassBase<UnshareInitsPass> {
  void runOnOperation() override {
    SmallVector<Operation *> fills;
    getOperation().walk([&](Operation *op) {
      if (isFillOfEmpty(op))
        fills.push_back(op);
    });
    for (Operation *fill : fills) {
      Value result = fill->getResult(0);
      // Its uses as a destination (an operand an op writes in place).
      SmallVector<OpOperand *> destinations;
      for (OpOperand &use : result.getUses()) {
        auto dps = dyn_cast<DestinationStyleOpInterface>(use.getOwner());
        if (dps && dps.isDpsInit(&use))
          destinations.push_back(&use);
      }
      // The original stays with the readers when there are any, else with
      // the first destination in program order (a use list runs newest
      // first).
      bool readers = llvm::range_size(result.getUses()) > destinations.size();
      if (destinations.size() < (readers ? 1u : 2u))
        continue;
      if (!readers) {
        size_t first = 0;
        for (size_t i = 1; i < destinations.size(); ++i) {
          Operation *a = destinations[i]->getOwner(), *b = destinations[first]->getOwner();
          if (a->getBlock() == b->getBlock() && a->isBeforeInBlock(b))
            first = i;
        }
        destinations.erase(destinations.begin() + first);
      }
      OpBuilder b(fill->getContext());
      for (OpOperand *use : destinations) {
        b.setInsertionPoint(use->getOwner());
        Operation *empty = fill->getOperand(fill->getNumOperands() - 1).getDefiningOp();
        Operation *emptyClone = b.clone(*empty);
        IRMapping map;
        map.map(empty->getResult(0), emptyClone->getResult(0));
        use->set(b.clone(*fill, map)->getResult(0));
      }
    }
  }
};

} // namespace
