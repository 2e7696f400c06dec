//===- DecomposePads.cpp - padded tensors written in place ----------------===//

#include "passes/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tern {
#define GEN_PASS_DEF_TERNDECOMPOSEPADSPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {
struct DecomposePadsPass : tern::impl::TernDecomposePadsPassBase<DecomposePadsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::populateDecomposePadPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
