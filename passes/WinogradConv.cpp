//===- WinogradConv.cpp - 3x3 convolutions by Winograd's minimal filtering ===//
//
// A float 3x3 convolution of stride and dilation 1, one group, constant
// filters and static shapes becomes tern.winograd_conv when a cost model
// says so: its filters g [F, C, 3, 3] are transformed here, in double, into
// u [(m + 2)^2, C, F] = G g G^T (dialects/Tern/Winograd.h), and the
// lowering computes (m + 2)^2 products per channel pair and output tile of
// m x m instead of 9 m^2, in one batched matmul [tiles, C] x [C, F] per
// transformed tap, between an input and an output transform.
//
// The cost model, in nanoseconds on one core: a matmul kernel's multiply-
// adds at about 50 G/s, the transforms' adds at a quarter of that (each
// reads and writes memory), and the filters streamed at 10 GB/s (memory
// shared with the activations' traffic), a term that grows (m + 2)^2 / 9
// times: large 3 x 3 filters over few tiles (7 x 7 feature maps of 512
// channels) stay direct, as the filters' bytes then bound the run, and
// 14 x 14 maps of 256 channels take F(2x2) (measured one by one: direct
// 2.10 ms, F(2x2) 1.07, F(4x4) 1.25; 7 x 7 x 512: 2.15, 2.43, 3.95). m is
// 4 or 2, whichever costs less; the convolution is rewritten only when
// that saves a quarter. Option `tile` forces m (for tests and for
// measuring); channel counts must be multiples of 8, the vectors the
// transforms work on.
//
// Winograd sums differ from the direct sums by rounding only, grown by the
// transforms' coefficients (up to 8 in A, 5 in B for m = 4): on
// test/Models/winograd.test's outputs (magnitude about 10) the largest
// error against ONNX Runtime is 1.7e-4 for F(4x4), 3.5e-5 for F(2x2) and
// 4.2e-5 direct; on resnet50 9.8e-4 with Winograd and 1.0e-3 without.
//
//===----------------------------------------------------------------------===//

#include "passes/PatternUtils.h"
#include "passes/Passes.h"

#include "dialects/Tern/TernOps.h"
#include "dialects/Tern/Winograd.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tern {
#define GEN_PASS_DEF_TERNWINOGRADCONVPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;
using namespace tern;
using namespace tern::patterns;

namespace {

/// Shapes of a convolution: batch, channels in and out, output size.
struct ConvShape {
  int64_t n, c, f, ho, wo;
};

/// Additions (and multiplications) one application of the matrix's rows to
/// a vector takes: its non-zeros.
int64_t nonZeros(const double *matrix, int64_t count) {
  int64_t nz = 0;
  for (int64_t i = 0; i < count; ++i)
    nz += matrix[i] != 0.0;
  return nz;
}

double directCost(const ConvShape &s) {
  double macs = 9.0 * s.n * s.ho * s.wo * s.c * s.f, bytes = 9.0 * 4 * s.c * s.f;
  return macs / 50 + bytes / 10;
}

double winogradCost(const ConvShape &s, const winograd::Matrices &w) {
  int64_t a = w.alpha, tiles = s.n * ((s.ho + w.m - 1) / w.m) * ((s.wo + w.m - 1) / w.m);
  // The matmul kernels take 8 rows (tiles) at a time; the rows left over
  // run one at a time, at about a third of the speed.
  double rows = double(tiles / 8 * 8 + 3 * (tiles % 8));
  double macs = rows * a * a * s.c * s.f, bytes = 4.0 * a * a * s.c * s.f;
  // Input transform: B^T down each of the a columns of a tile, then along
  // each of its a rows; output: A^T down the a columns, then along the m
  // rows: an add (or multiply-add) per non-zero coefficient.
  int64_t bt = nonZeros(w.bt, a * a), at = nonZeros(w.at, w.m * a);
  double transforms = double(tiles) * (s.c * 2.0 * a * bt + s.f * double(a + w.m) * at);
  // The input read into channels-last order once.
  double transpose = double(s.n) * s.c * (w.m * ((s.ho + w.m - 1) / w.m) + 2) * (w.m * ((s.wo + w.m - 1) / w.m) + 2);
  return macs / 50 + bytes / 10 + (transforms + transpose) / 12.5;
}

struct RewriteConv : OpRewritePattern<ConvOp> {
  RewriteConv(MLIRContext *ctx, int64_t tile) : OpRewritePattern(ctx), tile(tile) {}

  LogicalResult matchAndRewrite(ConvOp conv, PatternRewriter &rw) const override {
    auto xType = dyn_cast<RankedTensorType>(conv.getX().getType());
    auto wType = dyn_cast<RankedTensorType>(conv.getW().getType());
    auto yType = dyn_cast<RankedTensorType>(conv.getType());
    // Static but for the number of images (counted at run time).
    if (!xType || !wType || !yType || xType.getRank() != 4 || !staticPastFirstDim(xType) || !staticPastFirstDim(yType) ||
        !wType.hasStaticShape() || !xType.getElementType().isF32() || !wType.getElementType().isF32())
      return rw.notifyMatchFailure(conv, "not a static 2-D f32 convolution");
    if (conv.getGroup() != 1 || wType.getDimSize(2) != 3 || wType.getDimSize(3) != 3)
      return rw.notifyMatchFailure(conv, "not 3x3 with one group");
    auto ones = [](ArrayRef<int64_t> v) { return llvm::all_of(v, [](int64_t e) { return e == 1; }); };
    if (!ones(conv.getStrides()) || !ones(conv.getDilations()))
      return rw.notifyMatchFailure(conv, "strided or dilated");
    SmallVector<int64_t> pads(conv.getPads());
    StringRef autoPad = conv.getAutoPad();
    if (autoPad == "VALID")
      pads.assign(4, 0);
    else if (autoPad != "NOTSET")
      pads.assign(4, 1); // SAME_*: a total of 2 per dim, split evenly
    if (pads.size() != 4 || llvm::any_of(pads, [](int64_t p) { return p < 0; }))
      return rw.notifyMatchFailure(conv, "pads");
    // The costs per image (both grow with the images alike).
    ConvShape s{xType.isDynamicDim(0) ? 1 : xType.getDimSize(0), xType.getDimSize(1), wType.getDimSize(0), yType.getDimSize(2),
                yType.getDimSize(3)};
    if (s.c % 8 || s.f % 8 || wType.getDimSize(1) != s.c)
      return rw.notifyMatchFailure(conv, "channels not multiples of 8");
    std::optional<winograd::Matrices> chosen;
    if (tile) {
      chosen = winograd::matricesFor(tile);
    } else {
      double best = 0.75 * directCost(s);
      for (int64_t m : {4, 2}) {
        winograd::Matrices w = *winograd::matricesFor(m);
        if (double cost = winogradCost(s, w); cost < best) {
          best = cost;
          chosen = w;
        }
      }
    }
    if (!chosen)
      return rw.notifyMatchFailure(conv, "direct convolution costs less");
    std::optional<std::vector<double>> g = constantValues(conv.getW());
    if (!g || (int64_t)g->size() != wType.getNumElements())
      return rw.notifyMatchFailure(conv, "filters are not a constant");
    // u[xi * a + nu, c, f] = sum over k, l of G[xi, k] g[f, c, k, l] G[nu, l].
    int64_t a = chosen->alpha;
    const double *gm = chosen->g;
    std::vector<float> u(a * a * s.c * s.f);
    for (int64_t f = 0; f < s.f; ++f)
      for (int64_t c = 0; c < s.c; ++c) {
        const double *w = g->data() + (f * s.c + c) * 9;
        double left[6][3]; // G g
        for (int64_t xi = 0; xi < a; ++xi)
          for (int64_t l = 0; l < 3; ++l)
            left[xi][l] = gm[xi * 3] * w[l] + gm[xi * 3 + 1] * w[3 + l] + gm[xi * 3 + 2] * w[6 + l];
        for (int64_t xi = 0; xi < a; ++xi)
          for (int64_t nu = 0; nu < a; ++nu)
            u[((xi * a + nu) * s.c + c) * s.f + f] =
                float(left[xi][0] * gm[nu * 3] + left[xi][1] * gm[nu * 3 + 1] + left[xi][2] * gm[nu * 3 + 2]);
      }
    auto uType = RankedTensorType::get({a * a, s.c, s.f}, rw.getF32Type());
    ArrayRef<char> bytes(reinterpret_cast<const char *>(u.data()), u.size() * sizeof(float));
    Value uc = ConstantOp::create(rw, conv.getLoc(), constantAttr(uType, bytes, "winograd_filters"));
    rw.replaceOpWithNewOp<WinogradConvOp>(conv, yType, conv.getX(), uc, conv.getBias(), chosen->m,
                                          rw.getDenseI64ArrayAttr(pads));
    return success();
  }

  int64_t tile;
};

struct WinogradConvPass : tern::impl::TernWinogradConvPassBase<WinogradConvPass> {
  using Base::Base;

  void runOnOperation() override {
    if (tile != 0 && tile != 2 && tile != 4) {
      getOperation().emitError("tern-winograd-conv: tile must be 0 (chosen per convolution), 2 or 4");
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<RewriteConv>(&getContext(), tile);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
