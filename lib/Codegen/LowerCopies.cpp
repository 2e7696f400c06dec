//===- LowerCopies.cpp - memref.copy to linalg.copy -----------------------===//

#include "passes/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace tern {
#define GEN_PASS_DEF_TERNLOWERCOPIESPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {
struct LowerCopiesPass : tern::impl::TernLowerCopiesPassBase<LowerCopiesPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp c) { copies.push_back(c); });
    OpBuilder b(&getContext());
    for (memref::CopyOp c : copies) {
      b.setInsertionPoint(c);
      linalg::CopyOp::create(b, c.getLoc(), c.getSource(), c.getTarget());
      c.erase();
    }
  }
};
} // namespace
