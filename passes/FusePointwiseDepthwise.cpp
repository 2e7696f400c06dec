//===- FusePointwiseDepthwise.cpp - expansion + depthwise in row bands ----===//
//
// An inverted-residual block (MobileNetV2, EfficientNet) expands its input
// with a pointwise convolution, applies an activation, and runs a depthwise
// convolution on the result:
//
//   %e = tern.conv %x, %we, %be            (1x1, stride 1, no pads, group 1)
//   %a = tern.clip %e min %lo max %hi      (or tern.relu, or nothing)
//   %d = tern.conv %a, %w, %b {group = E}  (depthwise: w [E, 1, KH, KW])
//   %y = tern.clip %d ...                  (or tern.relu, or nothing)
//
// becomes one tern.pointwise_depthwise_conv, whose lowering computes a band
// of rows and a group of channels of both convolutions at a time, so the
// expanded tensor is never written to memory and read back whole. Only
// where that tensor is large (at least `min-expanded-bytes`, past a core's
// L2): smaller ones stay in cache between the two convolutions anyway, and
// the bands' shared input rows would then cost more than they save.
// Chains whose intermediates are read elsewhere, non-f32 or dynamic
// channel and spatial dims, clips with bounds that are not constants,
// windows above 7 x 7 or with auto_pad, and maps too wide for a band of
// one row to fit the lowering's buffers are left.
//
//===----------------------------------------------------------------------===//

#include "passes/PatternUtils.h"
#include "passes/Passes.h"

#include "dialects/Tern/PointwiseDepthwise.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include <limits>

namespace tern {
#define GEN_PASS_DEF_TERNFUSEPOINTWISEDEPTHWISEPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;
using namespace tern;
using namespace tern::patterns;

namespace {

/// An activation the fused op applies: none, relu, or clip to [lo, hi].
struct Activation {
  StringRef kind = "none";
  float lo = 0, hi = 6;
};

/// The activation `op` applies, if it is one the fused op can (a clip's
/// bounds must be constants; a missing one is infinite).
std::optional<Activation> activationOf(Operation *op) {
  if (isa<ReluOp>(op))
    return Activation{"relu"};
  auto clip = dyn_cast<ClipOp>(op);
  if (!clip)
    return std::nullopt;
  Activation a{"clip", -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity()};
  if (clip.getMin()) {
    std::optional<double> lo = scalarConstant(clip.getMin());
    if (!lo)
      return std::nullopt;
    a.lo = *lo;
  }
  if (clip.getMax()) {
    std::optional<double> hi = scalarConstant(clip.getMax());
    if (!hi)
      return std::nullopt;
    a.hi = *hi;
  }
  return a;
}

bool allOnes(ArrayRef<int64_t> v) {
  return llvm::all_of(v, [](int64_t x) { return x == 1; });
}

/// A 2-D f32 convolution whose input and result have static channel and
/// spatial dims.
bool isStatic2d(ConvOp conv) {
  auto x = cast<RankedTensorType>(conv.getX().getType());
  auto y = cast<RankedTensorType>(conv.getOutput().getType());
  auto w = cast<RankedTensorType>(conv.getW().getType());
  return x.getRank() == 4 && x.getElementType().isF32() && staticPastFirstDim(x) && staticPastFirstDim(y) &&
         w.hasStaticShape() && (!conv.getBias() || cast<RankedTensorType>(conv.getBias().getType()).hasStaticShape());
}

struct FuseChain : OpRewritePattern<ConvOp> {
  FuseChain(MLIRContext *ctx, int64_t minBytes) : OpRewritePattern<ConvOp>(ctx), minBytes(minBytes) {}

  LogicalResult matchAndRewrite(ConvOp depthwise, PatternRewriter &rw) const override {
    if (!isStatic2d(depthwise))
      return failure();
    auto wt = cast<RankedTensorType>(depthwise.getW().getType());
    int64_t e = wt.getDimSize(0);
    if (static_cast<int64_t>(depthwise.getGroup()) != e || wt.getDimSize(1) != 1 || wt.getDimSize(2) * wt.getDimSize(3) > 49)
      return failure();
    // The expansion and its activation, read only here.
    Value input = depthwise.getX();
    Activation expandActivation;
    Operation *expandAct = nullptr;
    if (Operation *def = input.getDefiningOp())
      if (std::optional<Activation> a = activationOf(def)) {
        if (!input.hasOneUse())
          return failure();
        expandActivation = *a;
        expandAct = def;
        input = def->getOperand(0);
      }
    auto expand = input.getDefiningOp<ConvOp>();
    if (!expand || !input.hasOneUse() || !isStatic2d(expand) || expand.getGroup() != 1 ||
        expand.getAutoPad() != "NOTSET" || !allOnes(expand.getKernelShape()) ||
        (!expand.getStrides().empty() && !allOnes(expand.getStrides())) ||
        llvm::any_of(expand.getPads(), [](int64_t p) { return p != 0; }))
      return failure();
    auto et = cast<RankedTensorType>(expand.getOutput().getType());
    int64_t h = et.getDimSize(2), w = et.getDimSize(3);
    if (e * h * w * 4 < minBytes || depthwise.getAutoPad() != "NOTSET")
      return failure();
    // A cut into bands whose buffers fit (dialects/Tern/PointwiseDepthwise.h).
    auto yt = cast<RankedTensorType>(depthwise.getOutput().getType());
    auto at = [](ArrayRef<int64_t> v, size_t i) { return v.size() > i ? v[i] : int64_t(1); };
    ArrayRef<int64_t> strides = depthwise.getStrides(), dilations = depthwise.getDilations(),
                      pads = depthwise.getPads();
    if (!bands::chooseBands(bands::geometryOf(e, h, w, yt.getDimSize(2), yt.getDimSize(3), wt.getDimSize(2),
                                              wt.getDimSize(3), at(strides, 0), at(strides, 1), at(dilations, 0),
                                              at(dilations, 1), pads.empty() ? 0 : pads[0],
                                              pads.empty() ? 0 : pads[1])))
      return failure();
    // The depthwise convolution's activation, when it is its only reader.
    Value result = depthwise.getOutput();
    Activation activation;
    Operation *last = depthwise;
    if (result.hasOneUse()) {
      Operation *user = *result.getUsers().begin();
      if (std::optional<Activation> a = activationOf(user); a && user->getOperand(0) == result) {
        activation = *a;
        last = user;
      }
    }
    rw.setInsertionPoint(last);
    auto fused = PointwiseDepthwiseConvOp::create(
        rw, depthwise.getLoc(), last->getResult(0).getType(), expand.getX(), expand.getW(), expand.getBias(),
        depthwise.getW(), depthwise.getBias(), rw.getStringAttr(expandActivation.kind),
        rw.getF32FloatAttr(expandActivation.lo), rw.getF32FloatAttr(expandActivation.hi),
        depthwise.getKernelShapeAttr(), depthwise.getStridesAttr(), depthwise.getPadsAttr(),
        depthwise.getDilationsAttr(), depthwise.getAutoPadAttr(), rw.getStringAttr(activation.kind),
        rw.getF32FloatAttr(activation.lo), rw.getF32FloatAttr(activation.hi), rw.getF32FloatAttr(0.01f));
    rw.replaceOp(last, fused.getResult());
    if (last != depthwise)
      rw.eraseOp(depthwise);
    if (expandAct)
      rw.eraseOp(expandAct);
    rw.eraseOp(expand);
    return success();
  }

  int64_t minBytes;
};

struct FusePointwiseDepthwisePass
    : tern::impl::TernFusePointwiseDepthwisePassBase<FusePointwiseDepthwisePass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseChain>(&getContext(), minExpandedBytes);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
