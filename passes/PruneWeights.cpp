//===- PruneWeights.cpp - magnitude pruning of matmul and conv weights ----===//
//
// `ternc --sparsity=2:4`: the constant f32 weights of MatMul, Gemm and Conv
// keep, in every group of 4 consecutive weights along the reduction (k),
// the 2 of largest magnitude; the other 2 become 0 (NVIDIA's 2:4 pattern,
// what torch's semi-structured sparsity writes). MatMul's B [k, n] is
// pruned down its columns, Gemm's transposed B [n, k] and Conv's filters
// [f, c, kh, kw] along each row (k = (c, kh, kw) flattened, the order the
// convolution kernels read). A last group of fewer than 4 keeps at most 2.
//
// The zeros are what the code generator looks for: a constant B with at
// most 2 non-zeros in each 4 along k is stored packed (the values plus a
// 2-bit index each) where the sparse kernel pays (see
// tern-vectorize-contractions). Models pruned this way before export get
// the same kernels without this pass.
//
// `ternc --sparsity=block:R` (pattern block): in MatMul and Gemm weights,
// per group of 32 columns, the fraction R of k rows of least L2 norm over
// those columns become 0 (blocks of 1 x 32): the code generator stores each
// kernel panel's remaining rows only and skips the others, at any number of
// rows of A.
//
// Ops named in `exclude` (ONNX node names or op types), run-time weights and
// matrices below `min-elements` stay dense. Each pruned weight is a new
// constant: a weight also read elsewhere (an embedding table shared with
// the LM head) keeps its dense values there.
//
//===----------------------------------------------------------------------===//

#include "passes/PatternUtils.h"
#include "passes/Passes.h"

#include "dialects/Tern/ShapeInference.h"
#include "dialects/Tern/TernOps.h"

namespace tern {
#define GEN_PASS_DEF_TERNPRUNEWEIGHTSPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;
using namespace tern;

namespace {

/// Prunes `w` to 2:4 along k, `w` read as [k, n] (or [n, k] when
/// `transposed`, k the product of the trailing dims). Returns the number of
/// weights set to 0.
int64_t prune24(std::vector<float> &w, int64_t k, int64_t n, bool transposed) {
  auto at = [&](int64_t kk, int64_t col) -> float & { return w[transposed ? col * k + kk : kk * n + col]; };
  int64_t zeroed = 0;
  for (int64_t col = 0; col < n; ++col)
    for (int64_t g = 0; g < k; g += 4) {
      int64_t len = std::min<int64_t>(4, k - g);
      // The two largest magnitudes (the first on ties) stay.
      int64_t first = -1, second = -1;
      for (int64_t i = 0; i < len; ++i) {
        float m = std::abs(at(g + i, col));
        if (first < 0 || m > std::abs(at(g + first, col))) {
          second = first;
          first = i;
        } else if (second < 0 || m > std::abs(at(g + second, col))) {
          second = i;
        }
      }
      for (int64_t i = 0; i < len; ++i)
        if (i != first && i != second && at(g + i, col) != 0.0f) {
          at(g + i, col) = 0.0f;
          ++zeroed;
        }
    }
  return zeroed;
}

/// Prunes `w` ([k, n], or [n, k] when `transposed`) in blocks of one k row
/// by `columns` columns: in each group of `columns` columns the rows of
/// least L2 norm there become 0, floor(ratio * k) of them (the later row on
/// ties). Returns the number of weights set to 0.
int64_t pruneBlocks(std::vector<float> &w, int64_t k, int64_t n, bool transposed, double ratio, int64_t columns) {
  auto at = [&](int64_t kk, int64_t col) -> float & { return w[transposed ? col * k + kk : kk * n + col]; };
  int64_t drop = (int64_t)(ratio * k), zeroed = 0;
  std::vector<std::pair<double, int64_t>> norms(k);
  for (int64_t c0 = 0; c0 < n; c0 += columns) {
    int64_t c1 = std::min(n, c0 + columns);
    for (int64_t kk = 0; kk < k; ++kk) {
      double sum = 0;
      for (int64_t col = c0; col < c1; ++col)
        sum += (double)at(kk, col) * at(kk, col);
      norms[kk] = {sum, kk};
    }
    // Smallest first; on equal norms the later row goes first.
    std::sort(norms.begin(), norms.end(), [](auto x, auto y) { return x.first < y.first || (x.first == y.first && x.second > y.second); });
    for (int64_t i = 0; i < drop; ++i)
      for (int64_t col = c0; col < c1; ++col)
        if (at(norms[i].second, col) != 0.0f) {
          at(norms[i].second, col) = 0.0f;
          ++zeroed;
        }
  }
  return zeroed;
}

struct PruneWeightsPass : tern::impl::TernPruneWeightsPassBase<PruneWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    bool blocks = pattern == "block";
    if (pattern != "2:4" && !blocks) {
      getOperation().emitError("tern-prune-weights: pattern must be 2:4 or block, got '") << pattern << "'";
      return signalPassFailure();
    }
    if (blocks && (!(ratio > 0 && ratio < 1) || blockColumns < 1)) {
      getOperation().emitError("tern-prune-weights: block pruning needs 0 < ratio < 1 and block-columns >= 1");
      return signalPassFailure();
    }
    std::vector<std::string> ex(exclude.begin(), exclude.end());
    // The weight operand of each candidate and how it is read.
    struct Candidate {
      Operation *op;
      OpOperand *weight;
      bool transposed;
    };
    SmallVector<Candidate> candidates;
    getOperation().walk([&](Operation *op) {
      if (auto mm = dyn_cast<MatMulOp>(op))
        candidates.push_back({op, &mm.getBMutable(), false});
      else if (auto gemm = dyn_cast<GemmOp>(op))
        candidates.push_back({op, &gemm.getBMutable(), gemm.getTransB()});
      else if (auto conv = dyn_cast<ConvOp>(op); conv && !blocks)
        candidates.push_back({op, &conv.getWMutable(), true});
    });
    for (auto [op, weight, transposed] : candidates) {
      auto c = weight->get().getDefiningOp<ConstantOp>();
      auto type = c ? dyn_cast<RankedTensorType>(c.getType()) : RankedTensorType();
      if (!type || !type.getElementType().isF32() || type.getNumElements() < minElements ||
          patterns::excluded(op, ex))
        continue;
      // MatMul and Gemm: 2-D weights only (a batched constant B is left).
      if (!isa<ConvOp>(op) && type.getRank() != 2)
        continue;
      std::optional<std::vector<float>> w = constantFloats(c.getValue());
      if (!w)
        continue;
      int64_t n = type.getDimSize(transposed ? 0 : type.getRank() - 1);
      int64_t k = type.getNumElements() / n;
      if (!(blocks ? pruneBlocks(*w, k, n, transposed, ratio, blockColumns) : prune24(*w, k, n, transposed)))
        continue; // already pruned
      OpBuilder b(op);
      ArrayRef<char> bytes(reinterpret_cast<const char *>(w->data()), w->size() * 4);
      Value pruned =
          ConstantOp::create(b, c.getLoc(), constantAttr(type, bytes, blocks ? "pruned_block_weights" : "pruned_2_4_weights"));
      weight->set(pruned);
      if (c->use_empty())
        c->erase();
    }
  }
};

} // namespace
