//===- ApproximateMath.cpp - math functions as inline polynomials ---------===//
//
// Left to LLVM, math.tanh/exp/erf/log become calls to libm, one element at
// a time, and the loops around them stay scalar: GPT-2's GELU spent a fifth
// of the model's time in tanhf/expm1f/powf. Here they become polynomial
// approximations made of arith ops (MLIR's, accurate to a few ulp in f32),
// which LLVM vectorizes with the rest of the loop; f16/bf16 math is done in
// f32 first. Powers with a constant exponent (x^2, x^3, x^0.5, x^-1) become
// multiplications, square roots and divisions.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tern {
#define GEN_PASS_DEF_TERNAPPROXIMATEMATHPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {
struct ApproximateMathPass : tern::impl::TernApproximateMathPassBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathAlgebraicSimplificationPatterns(patterns);
    auto approximated = [](StringRef name) {
      return llvm::is_contained({"math.tanh", "math.exp", "math.expm1", "math.erf", "math.log", "math.log1p", "math.log2"}, name);
    };
    populateMathF32ExpansionPatterns(patterns, approximated);
    populateMathPolynomialApproximationPatterns(patterns, approximated);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
