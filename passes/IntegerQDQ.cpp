//===- IntegerQDQ.cpp - QDQ convolutions computed on their integers -------===//
//
// A QDQ model (what ONNX Runtime's static quantization writes) keeps every
// convolution in float between DequantizeLinear and QuantizeLinear:
//
//   y = Conv(DequantizeLinear(xq, sx, zx), DequantizeLinear(wq, sw, zw), b)
//
// with xq the int8/uint8 activations, sx one scale, wq constant int8
// filters with a scale (and zero point) per output channel. Since
// (xq - zx) sx * (wq - zw) sw[f] summed is sx sw[f] times the integer sum,
// the same y is
//
//   y = Cast<f32>(ConvInteger(xq, wq, zx, zw)) * (sx sw)[f] + b
//
// whose integer part runs on 8-bit dot products (VNNI) and whose scale and
// bias are an elementwise epilogue (fused with the activation and the next
// QuantizeLinear). The integer sum is exact; the float result differs from
// the dequantized float convolution only by the rounding of its sums.
//
//===----------------------------------------------------------------------===//

#include "passes/PatternUtils.h"
#include "passes/Passes.h"

#include "dialects/Tern/TernOps.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tern {
#define GEN_PASS_DEF_TERNINTEGERQDQPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;
using namespace tern;
using namespace tern::patterns;

namespace {

bool isByteTensor(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && t.getElementType().isInteger(8);
}

struct IntegerQDQConv : OpRewritePattern<ConvOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ConvOp conv, PatternRewriter &rw) const override {
    auto dqx = conv.getX().getDefiningOp<DequantizeLinearOp>();
    auto dqw = conv.getW().getDefiningOp<DequantizeLinearOp>();
    auto type = dyn_cast<RankedTensorType>(conv.getType());
    // Any number of images; the other dims static (the integer kernels'
    // lowering needs them).
    if (!dqx || !dqw || !type || !type.getElementType().isF32() || type.getRank() < 3 || !staticPastFirstDim(type) ||
        conv.getGroup() != 1)
      return rw.notifyMatchFailure(conv, "not a one-group float convolution of two DequantizeLinear");
    // Activations: 8-bit, one constant scale and one zero point.
    std::optional<double> sx = scalarConstant(dqx.getScale());
    if (!isByteTensor(dqx.getInput()) || !sx || dqx.getBlockSize() != 0 ||
        (dqx.getZeroPoint() && cast<RankedTensorType>(dqx.getZeroPoint().getType()).getNumElements() != 1))
      return rw.notifyMatchFailure(conv, "activations not 8-bit per tensor");
    // Filters: 8-bit constants, a scale (and zero point) per tensor or per
    // output channel.
    auto wType = cast<RankedTensorType>(dqw.getInput().getType());
    int64_t f = wType.getDimSize(0);
    std::optional<std::vector<double>> sw = constantValues(dqw.getScale());
    std::optional<std::vector<double>> zw =
        dqw.getZeroPoint() ? constantValues(dqw.getZeroPoint()) : std::optional<std::vector<double>>(std::vector<double>{0});
    int64_t rank = wType.getRank(), axis = dqw.getAxis() < 0 ? dqw.getAxis() + rank : dqw.getAxis();
    if (!isByteTensor(dqw.getInput()) || !constantValues(dqw.getInput()) || !sw || !zw || dqw.getBlockSize() != 0 ||
        !wType.hasStaticShape() || (sw->size() != 1 && (axis != 0 || (int64_t)sw->size() != f)) ||
        (zw->size() != 1 && zw->size() != sw->size()))
      return rw.notifyMatchFailure(conv, "filters not constant 8-bit per tensor or per output channel");
    Location loc = conv.getLoc();
    MLIRContext *ctx = rw.getContext();
    auto accType = RankedTensorType::get(type.getShape(), rw.getI32Type());
    Value acc = ConvIntegerOp::create(rw, loc, accType, dqx.getInput(), dqw.getInput(), dqx.getZeroPoint(),
                                      dqw.getZeroPoint(), conv.getGroupAttr(), conv.getKernelShapeAttr(),
                                      conv.getStridesAttr(), conv.getPadsAttr(), conv.getDilationsAttr(),
                                      conv.getAutoPadAttr());
    Value y = CastOp::create(rw, loc, type, acc, TypeAttr::get(rw.getF32Type()));
    // The scales per output channel, [F, 1, ...] against [1, F, o...].
    SmallVector<int64_t> perChannel(type.getRank() - 1, 1);
    perChannel[0] = f;
    auto scaleType = RankedTensorType::get(perChannel, rw.getF32Type());
    std::vector<float> scales(f);
    for (int64_t o = 0; o < f; ++o)
      scales[o] = (float)(*sx * (*sw)[sw->size() == 1 ? 0 : o]);
    auto scaleAttr = DenseElementsAttr::get(scaleType, ArrayRef<float>(scales));
    y = MulOp::create(rw, loc, type, y, ConstantOp::create(rw, loc, cast<ElementsAttr>(scaleAttr)));
    if (Value bias = conv.getBias()) {
      auto shapeType = RankedTensorType::get({(int64_t)perChannel.size()}, rw.getI64Type());
      Value shape = ConstantOp::create(rw, loc, cast<ElementsAttr>(DenseElementsAttr::get(shapeType, ArrayRef<int64_t>(perChannel))));
      Value b = ReshapeOp::create(rw, loc, scaleType, bias, shape, BoolAttr::get(ctx, false));
      y = AddOp::create(rw, loc, type, y, b);
    }
    rw.replaceOp(conv, y);
    return success();
  }
};

struct IntegerQDQPass : tern::impl::TernIntegerQDQPassBase<IntegerQDQPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<IntegerQDQConv>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
