//===- LowerWinograd.cpp - tern.winograd_conv ----------------------------===//
//
// y = A^T [u . (B^T d B)] A per output tile of m x m (dialects/Tern/
// Winograd.h), a = m + 2, in four steps:
//
//   1. The input read channels-last (a transposing linalg.generic) and
//      zero-padded to whole tiles: pt [N, m * TH + 2, m * TW + 2, C].
//   2. Input transform: v [a * a, tiles, C], v[xi * a + nu, t] = (B^T d_t
//      B)[xi, nu] for each tile's a x a window d_t of pt.
//   3. One matmul per transformed tap e: p[e] = v[e] [tiles, C] x u[e]
//      [C, F] (a batched linalg.generic contraction: the matmul kernels).
//   4. Output transform: yt [N, m * TH, m * TW, F], each tile's m x m
//      (A^T p_t A) plus the bias; then y [N, F, H, W] reads yt transposed,
//      without the overhanging rows and columns (the activation after the
//      convolution fuses into that read).
//
// Steps 2 and 4 are scf.forall loops over tiles with vector code along
// the channels, 8 at a time (C and F are multiples of 8): B^T and A^T are
// small constant matrices with many zeros and ones, applied as adds,
// subtracts and fused multiply-adds of the non-zeros only, first down the
// tile's columns and then along its rows, which a linalg.generic (one value
// per iteration) cannot express without multiplying by every coefficient.
//
//===----------------------------------------------------------------------===//

#include "lib/Conversion/TernToLinalg/Lowering.h"
#include "passes/PatternUtils.h"
#include "dialects/Tern/TernOps.h"
#include "dialects/Tern/Winograd.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace tern::lowering {

namespace {

/// Vectors of 8 f32: one AVX register (Zen 4 runs 512-bit FMAs as two
/// 256-bit halves, so there is no loss), two NEON registers.
constexpr int64_t kLanes = 8;

/// sum over k of row[k] * in[k], from the non-zero coefficients only.
Value combine(OpBuilder &b, Location loc, ArrayRef<Value> in, const double *row, VectorType type) {
  Value acc;
  auto splat = [&](double c) {
    return arith::ConstantOp::create(b, loc, type, DenseElementsAttr::get(type, b.getF32FloatAttr(float(c))));
  };
  // A term of coefficient 1 first, so that a - b is one subtraction.
  size_t first = 0;
  while (first < in.size() && row[first] != 1)
    ++first;
  if (first < in.size())
    acc = in[first];
  for (size_t k = 0; k < in.size(); ++k) {
    double c = row[k];
    if (c == 0 || k == first)
      continue;
    if (!acc)
      acc = c == 1    ? in[k]
            : c == -1 ? Value(arith::NegFOp::create(b, loc, in[k]))
                      : Value(arith::MulFOp::create(b, loc, splat(c), in[k]));
    else if (c == 1)
      acc = arith::AddFOp::create(b, loc, acc, in[k]);
    else if (c == -1)
      acc = arith::SubFOp::create(b, loc, acc, in[k]);
    else
      acc = vector::FMAOp::create(b, loc, splat(c), in[k], acc);
  }
  return acc ? acc : splat(0);
}

/// Y = M X M^T on a tile of vectors: X a x a, read by `read(i, j)`; M
/// `rows` x a, row-major; Y written by `write(r, c, y)`. M is applied down
/// each column of X, then along each row of the result.
void transformTile(OpBuilder &b, Location loc, int64_t a, int64_t rows, const double *m, VectorType type,
                   function_ref<Value(int64_t i, int64_t j)> read, function_ref<void(int64_t r, int64_t c, Value)> write) {
  std::vector<std::vector<Value>> t(rows, std::vector<Value>(a));
  for (int64_t j = 0; j < a; ++j) {
    SmallVector<Value> column;
    for (int64_t i = 0; i < a; ++i)
      column.push_back(read(i, j));
    for (int64_t r = 0; r < rows; ++r)
      t[r][j] = combine(b, loc, column, m + r * a, type);
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < rows; ++c)
      write(r, c, combine(b, loc, t[r], m + c * a, type));
}

/// An scf.forall over `ubs` with shared output `init`, whose body `body`
/// builds (given the ivs and the shared output) the slice of the output one
/// iteration writes, at `offsets` / `sizes` (unit strides) as a rank-reduced
/// tensor; the loop's result.
using SliceFn = std::function<void(OpBuilder &, ValueRange ivs, SmallVectorImpl<OpFoldResult> &offsets,
                                   SmallVectorImpl<OpFoldResult> &sizes)>;
using TileBodyFn = std::function<Value(OpBuilder &, ValueRange ivs, Value slice)>;

Value forallTiles(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> bounds, Value init, RankedTensorType sliceType,
                  const SliceFn &place, const TileBodyFn &body) {
  auto forall = scf::ForallOp::create(b, loc, bounds, ValueRange{init}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getTerminator());
  SmallVector<Value> ivs = forall.getInductionVars();
  Value shared = forall.getRegionIterArgs()[0];
  SmallVector<OpFoldResult> offsets, sizes;
  place(b, ivs, offsets, sizes);
  SmallVector<OpFoldResult> strides(offsets.size(), b.getIndexAttr(1));
  Value slice = tensor::ExtractSliceOp::create(b, loc, sliceType, shared, offsets, sizes, strides);
  Value result = body(b, ivs, slice);
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, result, shared, offsets, sizes, strides);
  return forall.getResult(0);
}

/// An scf.for over [0, size) in steps of kLanes carrying tensor `slice`.
Value forChannels(OpBuilder &b, Location loc, int64_t size, Value slice,
                  const std::function<Value(OpBuilder &, Value c0, Value slice)> &body) {
  Value lb = arith::ConstantIndexOp::create(b, loc, 0), ub = arith::ConstantIndexOp::create(b, loc, size),
        step = arith::ConstantIndexOp::create(b, loc, kLanes);
  auto loop = scf::ForOp::create(b, loc, lb, ub, step, ValueRange{slice},
                                 [&](OpBuilder &nb, Location l, Value c0, ValueRange iter) {
                                   scf::YieldOp::create(nb, l, body(nb, c0, iter[0]));
                                 });
  return loop.getResult(0);
}

LogicalResult lowerWinogradConv(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  auto conv = cast<WinogradConvOp>(op);
  Location loc = op->getLoc();
  MLIRContext *ctx = rw.getContext();
  std::optional<winograd::Matrices> mats = winograd::matricesFor(conv.getTile());
  Value x = operands[0], u = operands[1], bias = operands.size() > 2 ? operands[2] : Value();
  auto xt = cast<RankedTensorType>(x.getType());
  auto rt = signlessTensor(op->getResult(0).getType());
  // Any number of images (n dynamic: counted at run time), the rest static.
  if (!mats || xt.getRank() != 4 || !patterns::staticPastFirstDim(xt) || !patterns::staticPastFirstDim(rt) ||
      !xt.getElementType().isF32())
    return unsupported(op, "winograd_conv of dynamic shape or not f32");
  int64_t m = mats->m, a = mats->alpha;
  int64_t n = xt.getDimSize(0), c = xt.getDimSize(1), h = xt.getDimSize(2), w = xt.getDimSize(3);
  int64_t f = rt.getDimSize(1), ho = rt.getDimSize(2), wo = rt.getDimSize(3);
  if (c % kLanes || f % kLanes)
    return unsupported(op, "winograd_conv channels not a multiple of 8");
  int64_t th = (ho + m - 1) / m, tw = (wo + m - 1) / m, hp = m * th + 2, wp = m * tw + 2;
  int64_t tiles = ShapedType::isDynamic(n) ? ShapedType::kDynamic : n * th * tw;
  OpFoldResult nDim = dimsOf(rw, loc, x)[0], tileCount = rw.getIndexAttr(tiles);
  if (ShapedType::isDynamic(n))
    tileCount = arith::MulIOp::create(rw, loc, getValueOrCreateConstantIndexOp(rw, loc, nDim),
                                      arith::ConstantIndexOp::create(rw, loc, th * tw))
                    .getResult();
  auto withImages = [&](RankedTensorType t) { return sizesWithFirst(t, nDim); };
  SmallVector<OpFoldResult> tileBounds{nDim, rw.getIndexAttr(th), rw.getIndexAttr(tw)};
  ArrayRef<int64_t> pads = conv.getPads();
  Type f32 = rw.getF32Type();
  auto vec = VectorType::get({kLanes}, f32);
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  auto idx = [&](OpBuilder &b, int64_t v) { return arith::ConstantIndexOp::create(b, loc, v).getResult(); };
  auto mul = [&](OpBuilder &b, Value v, int64_t k) { return arith::MulIOp::create(b, loc, v, idx(b, k)).getResult(); };
  auto add = [&](OpBuilder &b, Value v, int64_t k) {
    return k ? arith::AddIOp::create(b, loc, v, idx(b, k)).getResult() : v;
  };
  // (n * TH + i) * TW + j.
  auto tileIndex = [&](OpBuilder &b, ValueRange ivs) {
    Value row = arith::AddIOp::create(b, loc, mul(b, ivs[0], th), ivs[1]);
    return arith::AddIOp::create(b, loc, mul(b, row, tw), ivs[2]).getResult();
  };
  Value zero = constantScalar(rw, loc, f32, 0);

  // 1. Channels last, then padded to whole tiles: the transposing read
  //    writes straight into the padded buffer's interior (see
  //    tern-decompose-pads), only the border is zeroed.
  auto nhwcType = RankedTensorType::get({n, h, w, c}, f32);
  Value nhwc = readInto(rw, loc, x, nhwcType, AffineMap::get(4, 0, {d(0), d(3), d(1), d(2)}, ctx), withImages(nhwcType));
  SmallVector<OpFoldResult> lo = getAsIndexOpFoldResult(ctx, {0, pads[0], pads[1], 0}),
                            hi = getAsIndexOpFoldResult(ctx, {0, hp - h - pads[0], wp - w - pads[1], 0});
  Value pt = tensor::PadOp::create(rw, loc, RankedTensorType::get({n, hp, wp, c}, f32), nhwc, lo, hi, zero);

  // 2. v[xi * a + nu, t, c] = (B^T d_t B)[xi, nu].
  auto vType = RankedTensorType::get({a * a, tiles, c}, f32);
  Value v = forallTiles(
      rw, loc, tileBounds, emptyTensor(rw, loc, vType, {rw.getIndexAttr(a * a), tileCount, rw.getIndexAttr(c)}),
      RankedTensorType::get({a * a, c}, f32),
      [&](OpBuilder &b, ValueRange ivs, SmallVectorImpl<OpFoldResult> &offsets, SmallVectorImpl<OpFoldResult> &sizes) {
        offsets.assign({b.getIndexAttr(0), tileIndex(b, ivs), b.getIndexAttr(0)});
        sizes.assign({b.getIndexAttr(a * a), b.getIndexAttr(1), b.getIndexAttr(c)});
      },
      [&](OpBuilder &b, ValueRange ivs, Value slice) {
        Value row0 = mul(b, ivs[1], m), col0 = mul(b, ivs[2], m);
        return forChannels(b, loc, c, slice, [&](OpBuilder &b, Value c0, Value s) {
          // v = B^T d B.
          transformTile(
              b, loc, a, a, mats->bt, vec,
              [&](int64_t i, int64_t j) -> Value {
                return vector::TransferReadOp::create(b, loc, vec, pt,
                                                      ValueRange{ivs[0], add(b, row0, i), add(b, col0, j), c0}, zero,
                                                      ArrayRef<bool>{true});
              },
              [&](int64_t xi, int64_t nu, Value e) {
                s = vector::TransferWriteOp::create(b, loc, e, s, ValueRange{idx(b, xi * a + nu), c0},
                                                    ArrayRef<bool>{true})
                        .getResult();
              });
          return s;
        });
      });

  // 3. p[e, t, f] = sum over c of v[e, t, c] * u[e, c, f].
  auto pType = RankedTensorType::get({a * a, tiles, f}, f32);
  Value pInit = filledTensor(rw, loc, pType, {rw.getIndexAttr(a * a), tileCount, rw.getIndexAttr(f)}, zero);
  Value p = contract(rw, loc, v, u, pInit,
                     {AffineMap::get(4, 0, {d(0), d(1), d(3)}, ctx), AffineMap::get(4, 0, {d(0), d(3), d(2)}, ctx),
                      AffineMap::get(4, 0, {d(0), d(1), d(2)}, ctx)},
                     {utils::IteratorType::parallel, utils::IteratorType::parallel, utils::IteratorType::parallel,
                      utils::IteratorType::reduction});

  // 4. yt[n, m * i + r, m * j + s, f] = (A^T p_t A)[r, s] + bias[f].
  auto ytType = RankedTensorType::get({n, m * th, m * tw, f}, f32);
  Value yt = forallTiles(
      rw, loc, tileBounds, emptyTensor(rw, loc, ytType, withImages(ytType)),
      RankedTensorType::get({m, m, f}, f32),
      [&](OpBuilder &b, ValueRange ivs, SmallVectorImpl<OpFoldResult> &offsets, SmallVectorImpl<OpFoldResult> &sizes) {
        offsets.assign({ivs[0], mul(b, ivs[1], m), mul(b, ivs[2], m), b.getIndexAttr(0)});
        sizes.assign({b.getIndexAttr(1), b.getIndexAttr(m), b.getIndexAttr(m), b.getIndexAttr(f)});
      },
      [&](OpBuilder &b, ValueRange ivs, Value slice) {
        Value tile = tileIndex(b, ivs);
        return forChannels(b, loc, f, slice, [&](OpBuilder &b, Value f0, Value s) {
          Value biasVec = bias ? Value(vector::TransferReadOp::create(b, loc, vec, bias, ValueRange{f0}, zero,
                                                                      ArrayRef<bool>{true}))
                               : Value();
          // y = A^T p A (+ bias).
          transformTile(
              b, loc, a, m, mats->at, vec,
              [&](int64_t xi, int64_t nu) -> Value {
                return vector::TransferReadOp::create(b, loc, vec, p, ValueRange{idx(b, xi * a + nu), tile, f0}, zero,
                                                      ArrayRef<bool>{true});
              },
              [&](int64_t r, int64_t col, Value e) {
                if (biasVec)
                  e = arith::AddFOp::create(b, loc, e, biasVec);
                s = vector::TransferWriteOp::create(b, loc, e, s, ValueRange{idx(b, r), idx(b, col), f0},
                                                    ArrayRef<bool>{true})
                        .getResult();
              });
          return s;
        });
      });

  // y[n, f, h, w] = yt[n, h, w, f] within the result.
  auto cropType = RankedTensorType::get({n, ho, wo, f}, f32);
  SmallVector<OpFoldResult> zeros(4, rw.getIndexAttr(0)), ones(4, rw.getIndexAttr(1));
  Value cropped = tensor::ExtractSliceOp::create(rw, loc, cropType, yt, zeros, withImages(cropType), ones);
  rw.replaceOp(op, readInto(rw, loc, cropped, rt, AffineMap::get(4, 0, {d(0), d(2), d(3), d(1)}, ctx), withImages(rt)));
  return success();
}

} // namespace

void populateWinogradLowerings(LoweringTable &t) { t["tern.winograd_conv"] = lowerWinogradConv; }

} // namespace tern::lowering
