//===- DecomposePads.cpp - padded tensors written in place ----------------===//
//
// tensor.pad bufferizes to a new buffer filled with the padding value and a
// copy of the source into its interior. Written instead as fills of the
// border and an insert of the source, bufferization's empty-tensor
// elimination lets the op producing the source write straight into the
// interior (no copy), and only the border is filled: a depthwise
// convolution's padded input on a 112x112 map is 5 MB, its border 2%.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
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

/// Size `d` of `v`: a constant, else the size its producer was made with
/// (through destination-style ops to their inits, to a tensor.empty's
/// operand), else a tensor.dim. The insert of the source must name sizes
/// that exist before the source's producer (an image count at the top of
/// the function, not a dim of the source asked after it), or empty-tensor
/// elimination cannot make that producer write into the padded tensor
/// (with a batch known at run time it copied every padded map once more).
OpFoldResult sizeOf(OpBuilder &b, Location loc, Value v, int64_t d) {
  auto type = cast<RankedTensorType>(v.getType());
  if (!type.isDynamicDim(d))
    return b.getIndexAttr(type.getDimSize(d));
  for (Value at = v;;) {
    if (auto empty = at.getDefiningOp<tensor::EmptyOp>())
      return empty.getMixedSizes()[d];
    auto result = dyn_cast<OpResult>(at);
    auto dps = at.getDefiningOp<DestinationStyleOpInterface>();
    if (!result || !dps || !dps.hasPureTensorSemantics() ||
        cast<RankedTensorType>(dps.getDpsInitOperand(result.getResultNumber())->get().getType()).getShape() !=
            type.getShape())
      break;
    at = dps.getDpsInitOperand(result.getResultNumber())->get();
  }
  return tensor::DimOp::create(b, loc, v, d).getResult();
}

/// pad(x) -> insert_slice(x, fills of the border slabs of empty). The
/// border is cut by the first dim a point lies outside the interior in:
/// for dim d, the slabs below and above the interior along d span the
/// interior along the dims before d and everything along the dims after.
struct DecomposePad : OpRewritePattern<tensor::PadOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(tensor::PadOp pad, PatternRewriter &rw) const override {
    Value value = pad.getConstantPaddingValue();
    if (!value)
      return rw.notifyMatchFailure(pad, "padding value depends on the index");
    Location loc = pad.getLoc();
    auto type = pad.getResultType();
    int64_t rank = type.getRank();
    SmallVector<OpFoldResult> lo = pad.getMixedLowPad(), hi = pad.getMixedHighPad();
    SmallVector<OpFoldResult> in;
    for (int64_t d = 0; d < rank; ++d)
      in.push_back(sizeOf(rw, loc, pad.getSource(), d));
    auto add = [&](OpFoldResult a, OpFoldResult b) -> OpFoldResult {
      std::optional<int64_t> ca = getConstantIntValue(a), cb = getConstantIntValue(b);
      if (ca && cb)
        return rw.getIndexAttr(*ca + *cb);
      return arith::AddIOp::create(rw, loc, getValueOrCreateConstantIndexOp(rw, loc, a),
                                   getValueOrCreateConstantIndexOp(rw, loc, b))
          .getResult();
    };
    SmallVector<OpFoldResult> full;
    for (int64_t d = 0; d < rank; ++d)
      full.push_back(add(add(lo[d], in[d]), hi[d]));
    Value result = tensor::EmptyOp::create(rw, loc, full, type.getElementType());
    auto isZero = [](OpFoldResult v) { return isConstantIntValue(v, 0); };
    SmallVector<OpFoldResult> ones(rank, rw.getIndexAttr(1));
    for (int64_t d = 0; d < rank; ++d) {
      for (bool high : {false, true}) {
        OpFoldResult extent = high ? hi[d] : lo[d];
        if (isZero(extent))
          continue;
        SmallVector<OpFoldResult> offsets, sizes;
        for (int64_t e = 0; e < rank; ++e) {
          if (e < d) {
            offsets.push_back(lo[e]);
            sizes.push_back(in[e]);
          } else if (e == d) {
            offsets.push_back(high ? add(lo[d], in[d]) : rw.getIndexAttr(0));
            sizes.push_back(extent);
          } else {
            offsets.push_back(rw.getIndexAttr(0));
            sizes.push_back(full[e]);
          }
        }
        Value slab = tensor::EmptyOp::create(rw, loc, sizes, type.getElementType());
        Value filled = linalg::FillOp::create(rw, loc, value, slab).getResult(0);
        result = tensor::InsertSliceOp::create(rw, loc, filled, result, offsets, sizes, ones);
      }
    }
    result = tensor::InsertSliceOp::create(rw, loc, pad.getSource(), result, lo, in, ones);
    rw.replaceOpWithNewOp<tensor::CastOp>(pad, type, result);
    return success();
  }
};

struct DecomposePadsPass : tern::impl::TernDecomposePadsPassBase<DecomposePadsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<DecomposePad>(&getContext(), /*benefit=*/2);
    linalg::populateDecomposePadPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
