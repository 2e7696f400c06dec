//===- LowerPointwiseDepthwise.cpp - tern.pointwise_depthwise_conv -------===//
//
// An inverted-residual block's expansion (a pointwise convolution to E
// channels and its activation) and the depthwise convolution that reads it,
// computed a band of R output rows and a group of G channels at a time: an
// scf.forall over (image, band x group), which the thread pool splits. Each
// iteration
//
//   1. zero-fills the padding rows and columns of a buffer L of its own
//      [G, rows, columns] (on the stack after tern-plan-memory; at most
//      bands::kBandBytes, so it stays in L2 from its writes to its reads),
//   2. runs the expansion on the input rows the band's taps read, a matmul
//      w_e[group] [G, C] x x[rows] [C, rows * W] (the matmul kernels, with
//      the activation fused into their stores into L's interior),
//   3. runs the depthwise convolution on L (depthwiseTaps: one
//      all-parallel op with an input per tap, as LowerNN.cpp lowers a
//      depthwise convolution) into the result's band of rows.
//
// The expanded tensor [N, E, H, W] is never stored whole: unfused it is
// written to memory and read back (mobilenetv2's first expansion,
// 96 x 112 x 112 floats, 4.8 MB, twice the L2 of a core). The price is the
// input rows two neighbouring bands share (the window's height less the
// stride), expanded by both.
//
// The cut (R, G and L's shape) is chosen by dialects/Tern/
// PointwiseDepthwise.h, which the fusion pass asks first.
//
// Every band computes the same number of input rows, so every shape in the
// loop is static: a band at the image's top or bottom edge computes rows
// shifted into the image, into a margin of L above or below the rows it
// reads, and its rows of padding stay zero.
//
//===----------------------------------------------------------------------===//

#include "lib/Conversion/TernToLinalg/Lowering.h"
#include "passes/PatternUtils.h"
#include "dialects/Tern/PointwiseDepthwise.h"
#include "dialects/Tern/TernOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace tern::lowering {
namespace {

/// act(v) with tern.relu's and tern.clip's semantics (lowered alike in
/// LowerMath.cpp): relu a maximumf with 0; clip v < lo ? lo : v, then
/// hi < v ? hi : v (an infinite bound skipped).
Value activate(OpBuilder &b, Location loc, Value v, StringRef activation, float lo, float hi) {
  Type f = v.getType();
  auto bound = [&](float x) { return arith::ConstantOp::create(b, loc, b.getFloatAttr(f, x)); };
  if (activation == "relu")
    return arith::MaximumFOp::create(b, loc, v, bound(0.0f));
  if (activation == "clip") {
    if (!std::isinf(lo)) {
      Value c = bound(lo);
      v = arith::SelectOp::create(b, loc, arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, v, c), c, v);
    }
    if (!std::isinf(hi)) {
      Value c = bound(hi);
      v = arith::SelectOp::create(b, loc, arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, c, v), c, v);
    }
  }
  return v;
}

LogicalResult lowerPointwiseDepthwise(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  auto fused = cast<PointwiseDepthwiseConvOp>(op);
  Location loc = op->getLoc();
  MLIRContext *ctx = rw.getContext();
  auto operand = [&](unsigned i) -> Value {
    auto [start, length] = fused.getODSOperandIndexAndLength(i);
    return length ? operands[start] : Value();
  };
  Value x = operand(0), we = operand(1), be = operand(2), w = operand(3), bias = operand(4);
  auto xt = cast<RankedTensorType>(x.getType());
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  Type f = xt.getElementType();
  if (!f.isF32() || !patterns::staticPastFirstDim(xt) || !patterns::staticPastFirstDim(resultType))
    return unsupported(op, "pointwise_depthwise_conv on other than f32 of static channels and spatial dims");
  auto wt = cast<RankedTensorType>(w.getType());
  int64_t c = xt.getDimSize(1), h = xt.getDimSize(2), width = xt.getDimSize(3);
  int64_t e = wt.getDimSize(0), kh = wt.getDimSize(2), kw = wt.getDimSize(3);
  int64_t oh = resultType.getDimSize(2), ow = resultType.getDimSize(3);
  auto expandedType = RankedTensorType::get({xt.getDimSize(0), e, h, width}, f);
  FailureOr<Window> win = readWindow(op, expandedType, {kh, kw});
  if (failed(win))
    return failure();
  int64_t sh = win->strides[0], sw = win->strides[1], dh = win->dilations[0], dw = win->dilations[1];
  int64_t pt = win->padBegin[0], pl = win->padBegin[1];
  bands::Geometry geometry = bands::geometryOf(e, h, width, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl);
  std::optional<bands::Bands> cut = bands::chooseBands(geometry);
  if (!cut)
    return unsupported(op, "pointwise_depthwise_conv whose bands of one row do not fit " +
                               Twine(bands::kBandBytes) + " bytes, or with no group of 4 to " +
                               Twine(bands::kMaxGroup) + " channels");
  const bands::Bands &plan = *cut;
  int64_t columns = geometry.columns;
  int64_t g = plan.group, r = plan.rows, rc = plan.computed;

  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  auto par = utils::IteratorType::parallel;
  auto tensor = [&](ArrayRef<int64_t> shape) { return RankedTensorType::get(shape, f); };
  auto index = [&](OpBuilder &b, int64_t v) -> Value { return arith::ConstantIndexOp::create(b, loc, v); };
  auto attr = [&](int64_t v) -> OpFoldResult { return rw.getIndexAttr(v); };
  auto attrs = [&](ArrayRef<int64_t> vs) {
    return llvm::map_to_vector(vs, [&](int64_t v) { return attr(v); });
  };
  Value zero = arith::ConstantOp::create(rw, loc, rw.getFloatAttr(f, 0.0));

  // The expansion's weights as a matrix [E, C].
  Value we2 = tensor::CollapseShapeOp::create(rw, loc, tensor({e, c}), we,
                                              SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
  Value init = emptyTensor(rw, loc, resultType, sizesWithFirst(resultType, dimsOf(rw, loc, x)[0]));
  // The bands and groups as one dim, groups fastest (the threads split it
  // evenly; a thread's consecutive iterations read the same input rows):
  // 7 bands of 4 groups on two threads were 4 bands against 3.
  int64_t groups = e / g;
  SmallVector<OpFoldResult> ubs{dimsOf(rw, loc, x)[0], attr(oh / r * groups)};
  auto forall = scf::ForallOp::create(rw, loc, ubs, ValueRange{init}, std::nullopt);
  OpBuilder::InsertionGuard guard(rw);
  rw.setInsertionPoint(forall.getTerminator());
  SmallVector<Value> ivs(forall.getInductionVars());
  Value image = ivs[0];
  Value out0 = arith::MulIOp::create(rw, loc, arith::DivUIOp::create(rw, loc, ivs[1], index(rw, groups)),
                                     index(rw, r));
  Value channel0 = arith::MulIOp::create(rw, loc, arith::RemUIOp::create(rw, loc, ivs[1], index(rw, groups)),
                                         index(rw, g));
  // The band reads padded rows from out0 * sh, image rows from top; it
  // computes rc image rows from first (top clamped into the image), which
  // land in L at row marginTop + first - top.
  Value top = arith::SubIOp::create(rw, loc, arith::MulIOp::create(rw, loc, out0, index(rw, sh)), index(rw, pt));
  Value first = arith::MinSIOp::create(rw, loc, arith::MaxSIOp::create(rw, loc, top, index(rw, 0)),
                                       index(rw, h - rc));
  Value lRow = arith::AddIOp::create(rw, loc, arith::SubIOp::create(rw, loc, first, top),
                                     index(rw, plan.marginTop));

  // 1. L, zero where it is padding: the rows above and below the image
  // (the expansion overwrites those of a band that lie inside it) and the
  // columns left and right of the row.
  int64_t lRows = plan.lRows();
  Value l = bufferization::AllocTensorOp::create(rw, loc, tensor({g, lRows, columns}), ValueRange{});
  auto zeroFill = [&](Value into, ArrayRef<int64_t> offsets, ArrayRef<int64_t> sizes) -> Value {
    if (llvm::is_contained(sizes, 0))
      return into;
    Value part = tensor::ExtractSliceOp::create(rw, loc, into, attrs(offsets), attrs(sizes), attrs({1, 1, 1}));
    Value filled = linalg::FillOp::create(rw, loc, zero, part).getResult(0);
    return tensor::InsertSliceOp::create(rw, loc, filled, into, attrs(offsets), attrs(sizes), attrs({1, 1, 1}))
        .getResult();
  };
  l = zeroFill(l, {0, plan.marginTop, 0}, {g, plan.zeroTop, columns});
  l = zeroFill(l, {0, plan.marginTop + plan.inRows - plan.zeroBottom, 0}, {g, plan.zeroBottom, columns});
  l = zeroFill(l, {0, 0, 0}, {g, lRows, pl});
  l = zeroFill(l, {0, 0, pl + width}, {g, lRows, columns - pl - width});

  // 2. The expansion of rows [first, first + rc): w_e[group] x x[rows].
  Value rowsIn = tensor::ExtractSliceOp::create(
      rw, loc, tensor({c, rc, width}), x, SmallVector<OpFoldResult>{image, attr(0), first, attr(0)},
      attrs({1, c, rc, width}), attrs({1, 1, 1, 1}));
  Value b2 = tensor::CollapseShapeOp::create(rw, loc, tensor({c, rc * width}), rowsIn,
                                             SmallVector<ReassociationIndices>{{0}, {1, 2}});
  Value a2 = tensor::ExtractSliceOp::create(rw, loc, tensor({g, c}), we2, SmallVector<OpFoldResult>{channel0, attr(0)},
                                            attrs({g, c}), attrs({1, 1}));
  auto accType = tensor({g, rc * width});
  Value acc;
  if (be) {
    Value bSlice = tensor::ExtractSliceOp::create(rw, loc, tensor({g}), be, SmallVector<OpFoldResult>{channel0},
                                                  attrs({g}), attrs({1}));
    acc = readInto(rw, loc, bSlice, accType, AffineMap::get(2, 0, {d(0)}, ctx));
  } else {
    acc = filledTensor(rw, loc, accType, attrs(accType.getShape()), zero);
  }
  Value expanded = linalg::MatmulOp::create(rw, loc, ValueRange{a2, b2}, ValueRange{acc}).getResult(0);
  Value expanded3 = tensor::ExpandShapeOp::create(rw, loc, tensor({g, rc, width}), expanded,
                                                  SmallVector<ReassociationIndices>{{0}, {1, 2}});
  SmallVector<OpFoldResult> interiorAt{attr(0), lRow, attr(pl)};
  Value interior = tensor::ExtractSliceOp::create(rw, loc, tensor({g, rc, width}), l, interiorAt,
                                                  attrs({g, rc, width}), attrs({1, 1, 1}));
  StringRef expandActivation = fused.getExpandActivation();
  float expandLo = fused.getExpandClipMin().convertToFloat(), expandHi = fused.getExpandClipMax().convertToFloat();
  AffineMap id3 = AffineMap::getMultiDimIdentityMap(3, ctx);
  Value activated = linalg::GenericOp::create(
                        rw, loc, TypeRange{interior.getType()}, ValueRange{expanded3}, ValueRange{interior},
                        SmallVector<AffineMap>{id3, id3}, SmallVector<utils::IteratorType>(3, par),
                        [&](OpBuilder &b, Location bl, ValueRange v) {
                          linalg::YieldOp::create(b, bl, activate(b, bl, v[0], expandActivation, expandLo, expandHi));
                        })
                        .getResult(0);
  l = tensor::InsertSliceOp::create(rw, loc, activated, l, interiorAt, attrs({g, rc, width}), attrs({1, 1, 1}));

  // 3. The depthwise convolution of the band: an input per tap, a strided
  // slice of L, and the group's weights.
  auto channelSlice = [&](Value v, ArrayRef<int64_t> shape) {
    SmallVector<OpFoldResult> offsets(shape.size(), attr(0));
    offsets[0] = channel0;
    return tensor::ExtractSliceOp::create(rw, loc, tensor(shape), v, offsets, attrs(shape),
                                          SmallVector<OpFoldResult>(shape.size(), attr(1)))
        .getResult();
  };
  SmallVector<Value> taps;
  SmallVector<SmallVector<int64_t>> tapOffsets;
  for (int64_t i = 0; i < kh; ++i)
    for (int64_t j = 0; j < kw; ++j) {
      taps.push_back(tensor::ExtractSliceOp::create(rw, loc, tensor({g, r, ow}), l,
                                                    attrs({0, plan.marginTop + dh * i, dw * j}), attrs({g, r, ow}),
                                                    attrs({1, sh, sw})));
      tapOffsets.push_back({i, j});
    }
  StringRef activation = fused.getActivation();
  float lo = fused.getClipMin().convertToFloat(), hi = fused.getClipMax().convertToFloat();
  Value band = depthwiseTaps(rw, loc, taps, SmallVector<AffineMap>(taps.size(), id3), tapOffsets,
                             channelSlice(w, {g, 1, kh, kw}), bias ? channelSlice(bias, {g}) : Value(),
                             /*channel=*/0, tensor({g, r, ow}), attrs({g, r, ow}),
                             [&](OpBuilder &b, Location bl, Value sum) {
                               return activate(b, bl, sum, activation, lo, hi);
                             });
  rw.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(rw, loc, band, forall.getRegionIterArgs()[0],
                                        SmallVector<OpFoldResult>{image, channel0, out0, attr(0)},
                                        attrs({1, g, r, ow}), attrs({1, 1, 1, 1}));
  rw.replaceOp(op, forall.getResult(0));
  return success();
}

} // namespace

void populatePointwiseDepthwiseLowerings(LoweringTable &t) {
  t["tern.pointwise_depthwise_conv"] = lowerPointwiseDepthwise;
}

} // namespace tern::lowering
