//===- Int16Activations.cpp - integer products for 8-bit weights ---------===//
//
// A QDQ or dynamically quantized export may leave a matmul in float on
// weights it stores as 8 bits: gpt2-124m.int8-dynamic's LM head is
//
//   y = MatMul(a, DequantizeLinear(q, s, z))      q: [768, 50257] uint8
//
// whose 9.9 GFLOP (at seq 128) ran on f32 FMAs over the dequantized f32
// weights, more than half the model's run. With a's rows quantized to
// 16 bits (d[m] = max_k |a[m, k]| / Q, qa = round(a / d)),
//
//   y[m, n] ~ d[m] s[n] sum_k qa[m, k] (q[k, n] - z[n])
//
// is an integer sum of 16-bit products: two per i32 lane on pmaddwd /
// vpdpwssd, twice the FMAs' rate, reading (q - z) as 16-bit weights (half
// the f32 bytes). Q is chosen so that no sum can leave i32
// (Q max|q - z| K < 2^31, max|q - z| over q's type range; 32767 at most): each row keeps 14-15 bits, a
// relative error of about 2^-15 of the row's largest value per element, far
// below the 8-bit weights' own. The MatMul becomes
//
//   d = max(reduce_max(abs(a)), tiny) / Q
//   y = cast<f32>(matmul_integer(quantize_linear<i16>(a, d), q, z)) * d * s
//
// where the scales are an epilogue of the integer kernel. Weights per
// tensor or per column only (a per-row or block-wise scale does not factor
// out of the sum); other matmuls, and every op when ternc targets a GPU or
// a CPU without 16-bit multiply-adds (`ternc --int8-weight-compute`), keep
// tern-fold-weight-dequantization's f32 weights.
//
//===----------------------------------------------------------------------===//

#include "passes/PatternUtils.h"
#include "passes/Passes.h"

#include "dialects/Tern/TernOps.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tern {
#define GEN_PASS_DEF_TERNINT16ACTIVATIONSPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;
using namespace tern;
using namespace tern::patterns;

namespace {

/// Fewer bits per row than this, the weights stay f32 (a reduction so long
/// that 12 bits of activations would be all the i32 sum can hold).
constexpr int64_t kMinLevels = 4095;

struct Int16MatMul : OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatMulOp op, PatternRewriter &rw) const override {
    auto aType = dyn_cast<RankedTensorType>(op.getA().getType());
    auto type = dyn_cast<RankedTensorType>(op.getType());
    if (!aType || !type || !aType.getElementType().isF32() || aType.getRank() < 2 ||
        aType.isDynamicDim(aType.getRank() - 1))
      return rw.notifyMatchFailure(op, "not a float matmul with a static k");
    auto weights = existingInt8(op.getB());
    if (!weights)
      return rw.notifyMatchFailure(op, "B is not a DequantizeLinear of constant 8-bit weights per tensor or column");
    auto [q, z, s] = *weights;
    std::optional<std::vector<double>> zs = z ? constantValues(z) : std::vector<double>{0};
    if (!zs)
      return failure();
    int64_t k = aType.getDimSize(aType.getRank() - 1), n = (int64_t)s.size();
    // max|q - z| bounded by q's type range and the zero points, not read
    // off the weights (an LM head's 38.6M of them).
    bool isUnsigned = cast<RankedTensorType>(q.getType()).getElementType().isUnsignedInteger();
    double lo = isUnsigned ? 0 : -128, hi = isUnsigned ? 255 : 127, widest = 1;
    for (double zp : *zs)
      widest = std::max({widest, std::abs(lo - zp), std::abs(hi - zp)});
    // Q max|q - z| k < 2^31, one level to spare for rounding at the top.
    int64_t levels = std::min<int64_t>(32767, (int64_t)(2147483647.0 / (widest * (double)k)) - 1);
    if (levels < kMinLevels)
      return rw.notifyMatchFailure(op, "k too long for 16-bit activations summed in i32");

    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    int64_t rank = aType.getRank();
    auto f32 = rw.getF32Type();
    auto scalar = [&](float v) {
      return ConstantOp::create(rw, loc, cast<ElementsAttr>(DenseElementsAttr::get(RankedTensorType::get({}, f32), v)));
    };
    SmallVector<int64_t> rowShape(aType.getShape());
    rowShape.back() = 1;
    auto rowType = RankedTensorType::get(rowShape, f32);
    // d = max(max |a|, tiny) / Q per row (tiny: a row of zeros quantizes to zeros).
    Value absA = AbsOp::create(rw, loc, aType, op.getA());
    Value amax = ReduceMaxOp::create(rw, loc, rowType, absA, rw.getDenseI64ArrayAttr({rank - 1}), rw.getBoolAttr(true),
                                     rw.getBoolAttr(false));
    amax = MaxOp::create(rw, loc, rowType, ValueRange{amax, scalar(1e-30f)});
    Value d = MulOp::create(rw, loc, rowType, amax, scalar(1.0f / (float)levels));
    auto i16 = IntegerType::get(ctx, 16);
    Value qa = QuantizeLinearOp::create(rw, loc, RankedTensorType::get(aType.getShape(), i16), op.getA(), d, Value(),
                                        TypeAttr::get(i16), rw.getI64IntegerAttr(rank - 1), rw.getI64IntegerAttr(k),
                                        rw.getBoolAttr(true));
    Value acc = MatMulIntegerOp::create(rw, loc, RankedTensorType::get(type.getShape(), rw.getI32Type()), qa, q,
                                        Value(), z);
    Value y = CastOp::create(rw, loc, type, acc, TypeAttr::get(f32));
    y = MulOp::create(rw, loc, type, y, d);
    auto sType = RankedTensorType::get({n}, f32);
    Value sw = ConstantOp::create(rw, loc, cast<ElementsAttr>(DenseElementsAttr::get(sType, ArrayRef<float>(s))));
    rw.replaceOp(op, MulOp::create(rw, loc, type, y, sw));
    return success();
  }
};

struct Int16ActivationsPass : tern::impl::TernInt16ActivationsPassBase<Int16ActivationsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<Int16MatMul>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
