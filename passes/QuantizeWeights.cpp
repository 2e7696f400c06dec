//===- QuantizeWeights.cpp - weight-only 4-bit post-training quantization ===//
//
// `ternc --quantize=int4-weight --group-size G`: every MatMul and Gemm whose
// weights are a constant float matrix becomes a MatMulNBits with those
// weights quantized to 4 bits, symmetric per group of G along k and per
// column: s = max |w| / 7 over the group, q = clamp(round(w / s), -8, 7)
// stored as q + 8 (MatMulNBits' default zero point), packed two to a byte;
// s is the one of least squared error among max |w| / 7 and a few
// clipped scales (0.7 to 0.95 of it).
// The activations stay float; the kernel dequantizes the weights in
// registers (what LLM decoding, bound by reading the weights, gains from).
// Ops named in `exclude` (by ONNX node name or op type) stay float.
//
//===----------------------------------------------------------------------===//

#include "passes/PatternUtils.h"
#include "passes/Passes.h"

#include "dialects/Tern/TernOps.h"

#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tern {
#define GEN_PASS_DEF_TERNQUANTIZEWEIGHTSPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;
using namespace tern;
using namespace tern::patterns;

namespace {

/// The ONNX node name an op was imported from (its location's name), or "".
StringRef nodeName(Operation *op) {
  Location loc = op->getLoc();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location l : fused.getLocations())
      if (auto name = dyn_cast<NameLoc>(l))
        return name.getName().getValue();
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().getValue();
  return "";
}

/// Is `op` excluded by node name or ONNX op type (the tern op's name
/// matched case-insensitively without underscores: "MatMul" ~ matmul)?
bool excluded(Operation *op, ArrayRef<std::string> exclude) {
  StringRef name = nodeName(op);
  std::string type = op->getName().stripDialect().str();
  llvm::erase(type, '_');
  for (const std::string &e : exclude)
    if ((!name.empty() && e == name) || StringRef(e).equals_insensitive(type))
      return true;
  return false;
}

/// The 4-bit quantization of a constant weight matrix for MatMulNBits.
struct Quantized {
  Value packed, scales;
};

/// Quantizes `w` (read as B[k, n], or [n, k] when `transposed`) in groups of
/// `group` along k.
std::optional<Quantized> quantize(PatternRewriter &rw, Location loc, Value w, bool transposed, int64_t group) {
  auto type = dyn_cast<RankedTensorType>(w.getType());
  if (!type || type.getRank() != 2 || !type.hasStaticShape() || !type.getElementType().isF32())
    return std::nullopt;
  std::optional<std::vector<double>> values = constantValues(w);
  if (!values)
    return std::nullopt;
  int64_t k = type.getDimSize(transposed ? 1 : 0), n = type.getDimSize(transposed ? 0 : 1);
  int64_t blocks = (k + group - 1) / group;
  std::vector<uint8_t> packed(n * blocks * (group / 2), 0x88); // padding: q = 8, weight 0
  std::vector<float> scales(n * blocks);
  auto at = [&](int64_t kk, int64_t col) { return (*values)[transposed ? col * k + kk : kk * n + col]; };
  for (int64_t col = 0; col < n; ++col)
    for (int64_t blk = 0; blk < blocks; ++blk) {
      int64_t lo = blk * group, hi = std::min(k, (blk + 1) * group);
      double amax = 0;
      for (int64_t kk = lo; kk < hi; ++kk)
        amax = std::max(amax, std::abs(at(kk, col)));
      // The scale of least squared error among amax / 7 and a few clipped
      // ones (clipping the largest values costs less than coarser steps
      // for the many small ones).
      float s = amax > 0 ? (float)(amax / 7.0) : 1.0f;
      double best = -1;
      for (double clip : {1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7}) {
        float trial = amax > 0 ? (float)(amax * clip / 7.0) : 1.0f;
        double err = 0;
        for (int64_t kk = lo; kk < hi; ++kk) {
          double q = std::clamp<double>(std::nearbyint(at(kk, col) / trial), -8, 7);
          err += (q * trial - at(kk, col)) * (q * trial - at(kk, col));
        }
        if (best < 0 || err < best) {
          best = err;
          s = trial;
        }
      }
      scales[col * blocks + blk] = s;
      for (int64_t kk = blk * group; kk < std::min(k, (blk + 1) * group); ++kk) {
        int64_t q = std::clamp<int64_t>((int64_t)std::nearbyint(at(kk, col) / s), -8, 7) + 8;
        int64_t within = kk - blk * group;
        uint8_t &byte = packed[(col * blocks + blk) * (group / 2) + within / 2];
        byte = within % 2 ? (uint8_t)((byte & 0x0F) | (q << 4)) : (uint8_t)((byte & 0xF0) | q);
      }
    }
  auto u8 = IntegerType::get(rw.getContext(), 8, IntegerType::Unsigned);
  auto packedType = RankedTensorType::get({n, blocks, group / 2}, u8);
  auto scalesType = RankedTensorType::get({n * blocks}, rw.getF32Type());
  ArrayRef<char> pBytes(reinterpret_cast<const char *>(packed.data()), packed.size());
  ArrayRef<char> sBytes(reinterpret_cast<const char *>(scales.data()), scales.size() * 4);
  Value p = ConstantOp::create(rw, loc, cast<ElementsAttr>(DenseResourceElementsAttr::get(
                                            packedType, "int4_weights", HeapAsmResourceBlob::allocateAndCopyWithAlign(pBytes, 64))));
  Value s = ConstantOp::create(rw, loc, cast<ElementsAttr>(DenseResourceElementsAttr::get(
                                            scalesType, "int4_scales", HeapAsmResourceBlob::allocateAndCopyWithAlign(sBytes, 64))));
  return Quantized{p, s};
}

struct QuantizeOptions {
  int64_t group;
  int64_t minElements;
  ArrayRef<std::string> exclude;
};

Value nbits(PatternRewriter &rw, Location loc, Type result, Value a, const Quantized &q, Value bias, int64_t k,
            int64_t n, int64_t group) {
  return MatMulNBitsOp::create(rw, loc, result, a, q.packed, q.scales, Value(), Value(), bias, k, n, 4, group);
}

struct QuantizeMatMul : OpRewritePattern<MatMulOp> {
  QuantizeMatMul(MLIRContext *ctx, QuantizeOptions options) : OpRewritePattern(ctx), options(options) {}

  LogicalResult matchAndRewrite(MatMulOp op, PatternRewriter &rw) const override {
    auto bType = dyn_cast<RankedTensorType>(op.getB().getType());
    auto aType = dyn_cast<RankedTensorType>(op.getA().getType());
    if (!bType || !aType || aType.getRank() < 2 || bType.getRank() != 2 ||
        bType.getNumElements() < options.minElements || excluded(op, options.exclude))
      return failure();
    std::optional<Quantized> q = quantize(rw, op.getLoc(), op.getB(), false, options.group);
    if (!q)
      return failure();
    rw.replaceOp(op, nbits(rw, op.getLoc(), op.getType(), op.getA(), *q, Value(), bType.getDimSize(0),
                           bType.getDimSize(1), options.group));
    return success();
  }
  QuantizeOptions options;
};

struct QuantizeGemm : OpRewritePattern<GemmOp> {
  QuantizeGemm(MLIRContext *ctx, QuantizeOptions options) : OpRewritePattern(ctx), options(options) {}

  LogicalResult matchAndRewrite(GemmOp op, PatternRewriter &rw) const override {
    auto bType = dyn_cast<RankedTensorType>(op.getB().getType());
    auto type = dyn_cast<RankedTensorType>(op.getType());
    if (!bType || !type || bType.getRank() != 2 || op.getTransA() || op.getAlpha().convertToFloat() != 1.0f ||
        (op.getC() && op.getBeta().convertToFloat() != 1.0f) || bType.getNumElements() < options.minElements ||
        excluded(op, options.exclude))
      return failure();
    bool tb = op.getTransB();
    int64_t k = bType.getDimSize(tb ? 1 : 0), n = bType.getDimSize(tb ? 0 : 1);
    std::optional<Quantized> q = quantize(rw, op.getLoc(), op.getB(), tb, options.group);
    if (!q)
      return failure();
    // A bias of [n] goes into MatMulNBits; any other is added after.
    Value c = op.getC(), bias;
    auto cType = c ? dyn_cast<RankedTensorType>(c.getType()) : RankedTensorType();
    if (cType && cType.getRank() == 1 && cType.getDimSize(0) == n)
      bias = c;
    Value y = nbits(rw, op.getLoc(), type, op.getA(), *q, bias, k, n, options.group);
    if (c && !bias)
      y = AddOp::create(rw, op.getLoc(), type, y, c);
    rw.replaceOp(op, y);
    return success();
  }
  QuantizeOptions options;
};

struct QuantizeWeightsPass : tern::impl::TernQuantizeWeightsPassBase<QuantizeWeightsPass> {
  using Base::Base;
  void runOnOperation() override {
    if (bits != 4) {
      getOperation().emitError("tern-quantize-weights: only bits=4 (int4 weights) is supported");
      return signalPassFailure();
    }
    if (groupSize < 16 || (groupSize & (groupSize - 1)) != 0) {
      getOperation().emitError("tern-quantize-weights: group-size must be a power of 2 >= 16, got ") << groupSize;
      return signalPassFailure();
    }
    std::vector<std::string> ex(exclude.begin(), exclude.end());
    QuantizeOptions options{groupSize, minElements, ex};
    RewritePatternSet patterns(&getContext());
    patterns.add<QuantizeMatMul, QuantizeGemm>(&getContext(), options);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
