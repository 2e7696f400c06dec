//===- SinkConstantComputations.cpp - computations on weights to their use ===//
//
// QDQ exports list every weight's DequantizeLinear at the top of the graph.
// Computed there, each dequantized weight would be live from the start of a
// run to its convolution: resnet50's planned arena held all of them at once
// (118 MB instead of 21). An op computed only from constants (and from other
// such ops) moves to just before its first user; it extends no other value's
// lifetime by moving later.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialects/Tern/TernOps.h"

namespace tern {
#define GEN_PASS_DEF_TERNSINKCONSTANTCOMPUTATIONSPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;
using namespace tern;

namespace {

struct SinkConstantComputationsPass
    : tern::impl::TernSinkConstantComputationsPassBase<SinkConstantComputationsPass> {
  void runOnOperation() override {
    Block &body = getOperation().getBody().front();
    // Ops computed from constants only, in order.
    llvm::SmallPtrSet<Operation *, 16> fromConstants;
    SmallVector<Operation *> candidates;
    for (Operation &op : body) {
      if (isa<ConstantOp>(op) || op.getNumRegions() > 0 || op.getNumResults() == 0 || !isPure(&op) ||
          op.getNumOperands() == 0)
        continue;
      bool constantInputs = llvm::all_of(op.getOperands(), [&](Value v) {
        Operation *def = v.getDefiningOp();
        return def && (isa<ConstantOp>(def) || fromConstants.contains(def));
      });
      if (!constantInputs || !isa<TernDialect>(op.getDialect()))
        continue;
      fromConstants.insert(&op);
      candidates.push_back(&op);
    }
    // Last first, so that a chain follows its last link down.
    for (Operation *op : llvm::reverse(candidates)) {
      Operation *first = nullptr;
      for (Operation *user : op->getUsers()) {
        Operation *top = body.findAncestorOpInBlock(*user);
        if (top && (!first || top->isBeforeInBlock(first)))
          first = top;
      }
      if (first && op->isBeforeInBlock(first) && op->getNextNode() != first)
        op->moveBefore(first);
    }
  }
};

} // namespace
