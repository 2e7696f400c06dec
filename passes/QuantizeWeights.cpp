//===- QuantizeWeights.cpp - post-training quantization of matmul weights -===//
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
//
// `ternc --quantize=int8-dynamic` (bits 8): the weights int8 per column,
// symmetric (s = max |w| / 127), the activations quantized at run time per
// tensor (DynamicQuantizeLinear, uint8) and the product an 8-bit
// MatMulInteger, scaled back by both scales: what ONNX Runtime's
// quantize_dynamic writes, here run on the VNNI kernel.
//
// `ternc --quantize=int8 --calibration-data DIR` (bits 8, calibrated): the
// activations' ranges were measured on the calibration samples (ternc's
// calibration sets tern.activation_range on each op); each is quantized to
// uint8 at its constant scale and zero point, and convolutions too (int8
// filters per output channel, as a QDQ convolution for tern-integer-qdq).
//
// With bits 8, a MatMul whose weights the model itself dequantizes from a
// constant 8-bit matrix (per tensor or per column) runs on those bytes.
//
// Ops named in `exclude` (by ONNX node name or op type) stay float.
//
//===----------------------------------------------------------------------===//

#include "passes/PatternUtils.h"
#include "passes/Passes.h"

#include "dialects/Tern/TernOps.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tern {
#define GEN_PASS_DEF_TERNQUANTIZEWEIGHTSPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;
using namespace tern;
using namespace tern::patterns;

namespace {

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
  Value p = ConstantOp::create(rw, loc, constantAttr(packedType, pBytes, "int4_weights", /*denseLimit=*/0));
  Value s = ConstantOp::create(rw, loc, constantAttr(scalesType, sBytes, "int4_scales", /*denseLimit=*/0));
  return Quantized{p, s};
}

struct QuantizeOptions {
  int64_t bits;
  int64_t group;
  int64_t minElements;
  ArrayRef<std::string> exclude;
  /// bits 8: activations at the scale of each op's calibrated range
  /// (tern.activation_range), not quantized at run time.
  bool calibrated;
  /// bits 4: MatMulNBits' accuracy_level (4: the kernel may quantize the
  /// activations to int8; 0: f32).
  int64_t accuracyLevel;
};

/// A calibrated activation range as uint8 with a zero point: the range
/// widened to hold 0, s = (hi - lo) / 255, z = round(-lo / s).
struct ActivationScale {
  float scale;
  uint8_t zeroPoint;
};

std::optional<ActivationScale> calibratedScale(Operation *op) {
  auto range = op->getAttrOfType<DenseF32ArrayAttr>(kActivationRangeAttr);
  if (!range || range.size() != 2 || !std::isfinite(range[0]) || !std::isfinite(range[1]))
    return std::nullopt;
  double lo = std::min<double>(range[0], 0.0), hi = std::max<double>(range[1], 0.0);
  if (hi - lo < 1e-30)
    hi = lo + 1e-30;
  double s = (hi - lo) / 255.0;
  return ActivationScale{(float)s, (uint8_t)std::clamp<double>(std::nearbyint(-lo / s), 0, 255)};
}

/// `x` quantized to uint8 at a constant scale and zero point.
Value quantizeStatic(PatternRewriter &rw, Location loc, Value x, ActivationScale as, Value &scale, Value &zeroPoint) {
  auto u8 = IntegerType::get(rw.getContext(), 8, IntegerType::Unsigned);
  auto f32Scalar = RankedTensorType::get({}, rw.getF32Type());
  auto u8Scalar = RankedTensorType::get({}, u8);
  scale = ConstantOp::create(rw, loc, cast<ElementsAttr>(DenseElementsAttr::get(f32Scalar, ArrayRef<float>(as.scale))));
  zeroPoint = ConstantOp::create(
      rw, loc, cast<ElementsAttr>(DenseElementsAttr::get(u8Scalar, APInt(8, as.zeroPoint))));
  auto type = cast<RankedTensorType>(x.getType());
  return QuantizeLinearOp::create(rw, loc, RankedTensorType::get(type.getShape(), u8), x, scale, zeroPoint,
                                  TypeAttr::get(u8), rw.getI64IntegerAttr(1), rw.getI64IntegerAttr(0),
                                  rw.getBoolAttr(true));
}

/// The int8 weights of matrix `w` ([k, n], or [n, k] when `transposed`)
/// per column, symmetric: s[n] = max |w| / 127, q = round(w / s) as
/// [k, n]; nothing unless `w` is a constant f32 matrix.
std::optional<std::pair<Value, std::vector<float>>> int8Columns(PatternRewriter &rw, Location loc, Value w,
                                                                 bool transposed) {
  auto wType = dyn_cast<RankedTensorType>(w.getType());
  if (!wType || wType.getRank() != 2 || !wType.hasStaticShape() || !wType.getElementType().isF32())
    return std::nullopt;
  std::optional<std::vector<double>> values = constantValues(w);
  if (!values)
    return std::nullopt;
  int64_t k = wType.getDimSize(transposed ? 1 : 0), n = wType.getDimSize(transposed ? 0 : 1);
  auto at = [&](int64_t kk, int64_t col) { return (*values)[transposed ? col * k + kk : kk * n + col]; };
  std::vector<int8_t> q(k * n);
  std::vector<float> scales(n);
  for (int64_t col = 0; col < n; ++col) {
    double amax = 0;
    for (int64_t kk = 0; kk < k; ++kk)
      amax = std::max(amax, std::abs(at(kk, col)));
    float s = amax > 0 ? (float)(amax / 127.0) : 1.0f;
    scales[col] = s;
    for (int64_t kk = 0; kk < k; ++kk)
      q[kk * n + col] = (int8_t)std::clamp<int64_t>((int64_t)std::nearbyint(at(kk, col) / s), -127, 127);
  }
  auto qType = RankedTensorType::get({k, n}, IntegerType::get(rw.getContext(), 8));
  ArrayRef<char> qBytes(reinterpret_cast<const char *>(q.data()), q.size());
  Value wq = ConstantOp::create(rw, loc, constantAttr(qType, qBytes, "int8_weights", /*denseLimit=*/0));
  return std::make_pair(wq, std::move(scales));
}

/// int8 weights per column (see int8Columns; or the model's own 8-bit
/// weights, see existingInt8) and uint8 activations: the product an 8-bit
/// MatMulInteger (u8 x s8, the VNNI kernel), scaled back by a's scale times
/// s[n]; `bias` (any shape that broadcasts) added after. int8-dynamic
/// quantizes a per tensor at run time (DynamicQuantizeLinear), what ONNX
/// Runtime's quantize_dynamic writes; with `calibrated`, at the constant
/// scale of its calibrated range.
std::optional<Value> int8MatMul(PatternRewriter &rw, Location loc, Value a, Value w, bool transposed, Value bias,
                                RankedTensorType type, std::optional<ActivationScale> calibrated) {
  auto aType = dyn_cast<RankedTensorType>(a.getType());
  if (!aType || !aType.getElementType().isF32())
    return std::nullopt;
  Value wq, wz;
  std::vector<float> ws;
  if (auto existing = transposed ? std::nullopt : existingInt8(w)) {
    std::tie(wq, wz, ws) = *existing;
  } else if (auto columns = int8Columns(rw, loc, w, transposed)) {
    wq = columns->first;
    ws = std::move(columns->second);
  } else {
    return std::nullopt;
  }
  MLIRContext *ctx = rw.getContext();
  auto sType = RankedTensorType::get({(int64_t)ws.size()}, rw.getF32Type());
  auto u8 = IntegerType::get(ctx, 8, IntegerType::Unsigned);
  auto accType = RankedTensorType::get(type.getShape(), rw.getI32Type());
  auto toFloat = [&](Value acc) { return CastOp::create(rw, loc, type, acc, TypeAttr::get(rw.getF32Type())); };
  Value y, scale;
  if (calibrated) {
    Value sa, za;
    Value aq = quantizeStatic(rw, loc, a, *calibrated, sa, za);
    y = toFloat(MatMulIntegerOp::create(rw, loc, accType, aq, wq, za, wz));
    // sa * s[n] folded at compile time.
    std::vector<float> product(ws);
    for (float &p : product)
      p *= calibrated->scale;
    scale = ConstantOp::create(rw, loc, cast<ElementsAttr>(DenseElementsAttr::get(sType, ArrayRef<float>(product))));
  } else {
    auto dq = DynamicQuantizeLinearOp::create(rw, loc, RankedTensorType::get(aType.getShape(), u8),
                                              RankedTensorType::get({}, rw.getF32Type()), RankedTensorType::get({}, u8), a);
    y = toFloat(MatMulIntegerOp::create(rw, loc, accType, dq.getOutput(), wq, dq.getZeroPoint(), wz));
    Value sw = ConstantOp::create(rw, loc, cast<ElementsAttr>(DenseElementsAttr::get(sType, ArrayRef<float>(ws))));
    scale = MulOp::create(rw, loc, sType, dq.getScale(), sw);
  }
  y = MulOp::create(rw, loc, type, y, scale);
  if (bias)
    y = AddOp::create(rw, loc, type, y, bias);
  return y;
}

Value nbits(PatternRewriter &rw, Location loc, Type result, Value a, const Quantized &q, Value bias, int64_t k,
            int64_t n, int64_t group, int64_t accuracyLevel) {
  return MatMulNBitsOp::create(rw, loc, result, a, q.packed, q.scales, Value(), Value(), bias, k, n, 4, group,
                               accuracyLevel);
}

struct QuantizeMatMul : OpRewritePattern<MatMulOp> {
  QuantizeMatMul(MLIRContext *ctx, QuantizeOptions options) : OpRewritePattern(ctx), options(options) {}

  LogicalResult matchAndRewrite(MatMulOp op, PatternRewriter &rw) const override {
    auto bType = dyn_cast<RankedTensorType>(op.getB().getType());
    auto aType = dyn_cast<RankedTensorType>(op.getA().getType());
    if (!bType || !aType || aType.getRank() < 2 || bType.getRank() != 2 ||
        bType.getNumElements() < options.minElements || excluded(op, options.exclude))
      return failure();
    if (options.bits == 8) {
      std::optional<ActivationScale> as = calibratedScale(op);
      if (options.calibrated && !as)
        return failure();
      std::optional<Value> y =
          int8MatMul(rw, op.getLoc(), op.getA(), op.getB(), false, Value(), cast<RankedTensorType>(op.getType()), as);
      if (!y)
        return failure();
      rw.replaceOp(op, *y);
      return success();
    }
    std::optional<Quantized> q = quantize(rw, op.getLoc(), op.getB(), false, options.group);
    if (!q)
      return failure();
    rw.replaceOp(op, nbits(rw, op.getLoc(), op.getType(), op.getA(), *q, Value(), bType.getDimSize(0),
                           bType.getDimSize(1), options.group, options.accuracyLevel));
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
    if (options.bits == 8) {
      std::optional<ActivationScale> as = calibratedScale(op);
      if (options.calibrated && !as)
        return failure();
      std::optional<Value> y = int8MatMul(rw, op.getLoc(), op.getA(), op.getB(), tb, op.getC(), type, as);
      if (!y)
        return failure();
      rw.replaceOp(op, *y);
      return success();
    }
    std::optional<Quantized> q = quantize(rw, op.getLoc(), op.getB(), tb, options.group);
    if (!q)
      return failure();
    // A bias of [n] goes into MatMulNBits; any other is added after.
    Value c = op.getC(), bias;
    auto cType = c ? dyn_cast<RankedTensorType>(c.getType()) : RankedTensorType();
    if (cType && cType.getRank() == 1 && cType.getDimSize(0) == n)
      bias = c;
    Value y = nbits(rw, op.getLoc(), type, op.getA(), *q, bias, k, n, options.group, options.accuracyLevel);
    if (c && !bias)
      y = AddOp::create(rw, op.getLoc(), type, y, c);
    rw.replaceOp(op, y);
    return success();
  }
  QuantizeOptions options;
};

/// Static int8 convolutions (one group, one image, static shapes): filters
/// int8 per output channel (symmetric,
/// s[f] = max |w[f]| / 127), the input uint8 at its calibrated scale, as
/// conv(dequantize(quantize(x)), dequantize(wq)) for tern-integer-qdq to
/// run on the integers.
struct QuantizeConv : OpRewritePattern<ConvOp> {
  QuantizeConv(MLIRContext *ctx, QuantizeOptions options) : OpRewritePattern(ctx), options(options) {}

  LogicalResult matchAndRewrite(ConvOp op, PatternRewriter &rw) const override {
    auto wType = dyn_cast<RankedTensorType>(op.getW().getType());
    auto xType = dyn_cast<RankedTensorType>(op.getX().getType());
    std::optional<ActivationScale> as = calibratedScale(op);
    // What the integer convolution kernel runs: one group, one image,
    // static shapes (others would only gain a quantize-dequantize pair).
    if (!options.calibrated || !as || !wType || !xType || !wType.hasStaticShape() || !xType.hasStaticShape() ||
        xType.getDimSize(0) != 1 || op.getGroup() != 1 || !wType.getElementType().isF32() ||
        !xType.getElementType().isF32() || wType.getNumElements() < options.minElements ||
        excluded(op, options.exclude))
      return failure();
    std::optional<std::vector<double>> w = constantValues(op.getW());
    if (!w)
      return failure();
    Location loc = op.getLoc();
    int64_t f = wType.getDimSize(0), per = wType.getNumElements() / f;
    std::vector<int8_t> q(w->size());
    std::vector<float> scales(f);
    for (int64_t i = 0; i < f; ++i) {
      double amax = 0;
      for (int64_t j = 0; j < per; ++j)
        amax = std::max(amax, std::abs((*w)[i * per + j]));
      float s = amax > 0 ? (float)(amax / 127.0) : 1.0f;
      scales[i] = s;
      for (int64_t j = 0; j < per; ++j)
        q[i * per + j] = (int8_t)std::clamp<int64_t>((int64_t)std::nearbyint((*w)[i * per + j] / s), -127, 127);
    }
    auto i8 = IntegerType::get(rw.getContext(), 8);
    auto qType = RankedTensorType::get(wType.getShape(), i8);
    ArrayRef<char> qBytes(reinterpret_cast<const char *>(q.data()), q.size());
    Value wq = ConstantOp::create(rw, loc, constantAttr(qType, qBytes, "int8_filters", /*denseLimit=*/0));
    auto sType = RankedTensorType::get({f}, rw.getF32Type());
    Value sw = ConstantOp::create(rw, loc, cast<ElementsAttr>(DenseElementsAttr::get(sType, ArrayRef<float>(scales))));
    std::vector<int8_t> zeros(f, 0);
    Value zw = ConstantOp::create(rw, loc, cast<ElementsAttr>(DenseElementsAttr::get(RankedTensorType::get({f}, i8),
                                                                                         ArrayRef<int8_t>(zeros))));
    Value sx, zx;
    Value xq = quantizeStatic(rw, loc, op.getX(), *as, sx, zx);
    Value x = DequantizeLinearOp::create(rw, loc, xType, xq, sx, zx, rw.getI64IntegerAttr(1), rw.getI64IntegerAttr(0));
    Value wd = DequantizeLinearOp::create(rw, loc, wType, wq, sw, zw, rw.getI64IntegerAttr(0), rw.getI64IntegerAttr(0));
    rw.modifyOpInPlace(op, [&] {
      op.getXMutable().assign(x);
      op.getWMutable().assign(wd);
      op->removeAttr(kActivationRangeAttr);
    });
    return success();
  }
  QuantizeOptions options;
};

struct QuantizeWeightsPass : tern::impl::TernQuantizeWeightsPassBase<QuantizeWeightsPass> {
  using Base::Base;
  void runOnOperation() override {
    if (bits != 4 && bits != 8) {
      getOperation().emitError("tern-quantize-weights: bits must be 4 (int4 weights) or 8 (int8 dynamic)");
      return signalPassFailure();
    }
    if (groupSize < 16 || (groupSize & (groupSize - 1)) != 0) {
      getOperation().emitError("tern-quantize-weights: group-size must be a power of 2 >= 16, got ") << groupSize;
      return signalPassFailure();
    }
    std::vector<std::string> ex(exclude.begin(), exclude.end());
    QuantizeOptions options{bits, groupSize, minElements, ex, calibrated, accuracyLevel};
    if (calibrated && bits != 8) {
      getOperation().emitError("tern-quantize-weights: calibrated needs bits=8");
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<QuantizeMatMul, QuantizeGemm, QuantizeConv>(&getContext(), options);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
