//===- LowerAttention.cpp - tern.attention with an online softmax ---------===//
//
// tern.attention (softmax(q k^T * scale + mask) v per batch and head) lowers
// to an scf.forall over (batch, query head, tile of Tq query rows), which
// the thread pool splits. Each tile walks the keys in blocks of Bk with an
// online softmax, keeping per row the running max m, the running sum l of
// exp(s - m) and the running output acc [Tq, Dv]:
//
//   s      = k_block x q_tile^T                  (a matmul kernel, [Bk, Tq])
//   m'     = max(m, rowmax(s * scale + mask))
//   p      = exp(s * scale + mask - m')
//   c      = exp(m - m')                          (rescales what came before)
//   l      = l * c + rowsum(p)
//   acc    = acc * c + p^T x v_block              (a matmul kernel)
//   m      = m'
//
// and writes acc / l. Only a tile's [Bk, Tq] block of scores exists at a
// time, in a buffer of the tile's own (on the stack after
// tern-plan-memory); the score matrix is never stored. The block is keys
// by queries so that the max and sum over keys run a vector of queries at
// a time; q is transposed once up front so that both matmuls read their B
// along n with unit stride.
// Grouped-query attention reads key/value head h / (Hq / Hkv). The running
// state is updated in place (each op's destination is the loop-carried
// tensor), so bufferization allocates nothing per block.
//
//===----------------------------------------------------------------------===//

#include "lib/Conversion/TernToLinalg/Lowering.h"
#include "dialects/Tern/TernOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace tern::lowering {
namespace {

/// The largest divisor of n not above cap; n itself when that is small and
/// n is not much larger than cap (a prime length runs as one tile).
int64_t tileSize(int64_t n, int64_t cap, int64_t minimum) {
  int64_t t = std::min(n, cap);
  while (n % t)
    --t;
  return t < minimum && n <= 4 * cap ? n : t;
}

using Body = std::function<void(OpBuilder &, Location, ValueRange)>;

/// A linalg.generic over `loops` with the given operand maps.
SmallVector<Value> generic(OpBuilder &b, Location loc, ValueRange ins, ValueRange outs, ArrayRef<AffineMap> maps,
                           ArrayRef<utils::IteratorType> iters, const Body &body) {
  SmallVector<Type> types;
  for (Value o : outs)
    types.push_back(o.getType());
  auto op = linalg::GenericOp::create(b, loc, types, ins, outs, maps, iters, body);
  return SmallVector<Value>(op.getResults());
}

LogicalResult lowerAttention(Operation *op, ValueRange operands, ConversionPatternRewriter &rw) {
  auto attention = cast<AttentionOp>(op);
  Location loc = op->getLoc();
  MLIRContext *ctx = rw.getContext();
  Value q = operands[0], k = operands[1], v = operands[2];
  Value mask = attention.getMask() ? operands[3] : Value();
  auto qt = cast<RankedTensorType>(q.getType()), kt = cast<RankedTensorType>(k.getType()),
       vt = cast<RankedTensorType>(v.getType());
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  if (!qt.hasStaticShape() || !kt.hasStaticShape() || !vt.hasStaticShape() || !resultType.hasStaticShape() ||
      (mask && !cast<RankedTensorType>(mask.getType()).hasStaticShape()))
    return unsupported(op, "attention with dynamic shapes");
  Type f = qt.getElementType();
  if (!f.isF32())
    return unsupported(op, "attention on element type other than f32");
  int64_t batch = qt.getDimSize(0), hq = qt.getDimSize(1), s = qt.getDimSize(2), d = qt.getDimSize(3);
  int64_t hkv = kt.getDimSize(1), l = kt.getDimSize(2), dv = vt.getDimSize(3);
  int64_t group = hq / hkv;
  int64_t tq = tileSize(s, 32, 8), bk = tileSize(l, 64, 16);
  float scale = attention.getScale().convertToFloat();
  bool causal = attention.getCausal();

  auto d2 = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  auto c0 = getAffineConstantExpr(0, ctx);
  auto par = utils::IteratorType::parallel, red = utils::IteratorType::reduction;
  auto tensor = [&](ArrayRef<int64_t> shape) { return RankedTensorType::get(shape, f); };
  auto index = [&](OpBuilder &b, int64_t x) -> Value { return arith::ConstantIndexOp::create(b, loc, x); };

  // The scores are computed transposed, a block [Bk, Tq] of keys by queries,
  // so that the softmax's reductions over keys run across rows, a vector
  // of queries at a time. q^T [B, Hq, D, S] once, so that the scores' matmul
  // (k_block x q_tile^T) reads its B along n with unit stride.
  auto transposeLast = [&](Value x) {
    auto t = cast<RankedTensorType>(x.getType());
    SmallVector<int64_t> shape(t.getShape());
    std::swap(shape[2], shape[3]);
    return readInto(rw, loc, x, tensor(shape), AffineMap::get(4, 0, {d2(0), d2(1), d2(3), d2(2)}, ctx));
  };
  Value qT = transposeLast(q);
  // The mask as rank 4 (broadcast dims of size 1), transposed like the
  // scores when it has both a query and a key dim.
  SmallVector<int64_t> maskShape;
  bool maskTransposed = false;
  if (mask) {
    auto mt = cast<RankedTensorType>(mask.getType());
    mask = insertUnitDims(rw, loc, mask, llvm::to_vector(llvm::seq<int64_t>(0, 4 - mt.getRank())));
    maskShape = llvm::to_vector(cast<RankedTensorType>(mask.getType()).getShape());
    if (maskShape[2] != 1 && maskShape[3] != 1) {
      mask = transposeLast(mask);
      maskTransposed = true;
    }
  }

  Value init = tensor::EmptyOp::create(rw, loc, resultType.getShape(), f);
  SmallVector<OpFoldResult> ubs{rw.getIndexAttr(batch), rw.getIndexAttr(hq), rw.getIndexAttr(s / tq)};
  auto forall = scf::ForallOp::create(rw, loc, ubs, ValueRange{init}, std::nullopt);
  OpBuilder::InsertionGuard guard(rw);
  rw.setInsertionPoint(forall.getTerminator());
  SmallVector<Value> ivs(forall.getInductionVars());
  Value bi = ivs[0], hi = ivs[1];
  Value row0 = arith::MulIOp::create(rw, loc, ivs[2], index(rw, tq));
  Value hk = group == 1 ? hi : Value(arith::DivUIOp::create(rw, loc, hi, index(rw, group)));
  auto one = rw.getIndexAttr(1);
  auto zero = rw.getIndexAttr(0);
  SmallVector<OpFoldResult> unit4(4, one);
  auto slice = [&](OpBuilder &b, Value src, ArrayRef<OpFoldResult> offsets, int64_t rows, int64_t cols) {
    return tensor::ExtractSliceOp::create(b, loc, tensor({rows, cols}), src, offsets,
                                          SmallVector<OpFoldResult>{one, one, b.getIndexAttr(rows), b.getIndexAttr(cols)},
                                          unit4)
        .getResult();
  };
  Value qTile = slice(rw, qT, {bi, hi, zero, row0}, d, tq); // [D, Tq]
  Value negInf = arith::ConstantOp::create(rw, loc, rw.getFloatAttr(f, -std::numeric_limits<double>::infinity()));
  Value fzero = arith::ConstantOp::create(rw, loc, rw.getFloatAttr(f, 0.0));
  // Fills of new buffers: bufferization.alloc_tensor, not tensor.empty,
  // which CSE would share between the running state's initial values and
  // the blocks' fresh scores and maxima (bufferization then copies).
  auto fill = [&](OpBuilder &b, ArrayRef<int64_t> shape, Value x) {
    Value buffer = bufferization::AllocTensorOp::create(b, loc, tensor(shape), ValueRange{});
    return linalg::FillOp::create(b, loc, x, buffer).getResult(0);
  };
  Value m0 = fill(rw, {tq}, negInf), l0 = fill(rw, {tq}, fzero), acc0 = fill(rw, {tq, dv}, fzero);

  // Loops over a block: (j key, i query); per query row: (i).
  AffineMap perQuery = AffineMap::get(2, 0, {d2(1)}, ctx), id2 = AffineMap::getMultiDimIdentityMap(2, ctx),
            id1 = AffineMap::getMultiDimIdentityMap(1, ctx);
  auto loop = scf::ForOp::create(
      rw, loc, index(rw, 0), index(rw, l / bk), index(rw, 1), ValueRange{m0, l0, acc0},
      [&](OpBuilder &b, Location, Value j, ValueRange state) {
        Value m = state[0], sum = state[1], acc = state[2];
        Value key0 = arith::MulIOp::create(b, loc, j, index(b, bk));
        Value kBlock = slice(b, k, {bi, hk, key0, zero}, bk, d);  // [Bk, D]
        Value vBlock = slice(b, v, {bi, hk, key0, zero}, bk, dv); // [Bk, Dv]
        Value scores =
            linalg::MatmulOp::create(b, loc, ValueRange{kBlock, qTile}, ValueRange{fill(b, {bk, tq}, fzero)})
                .getResult(0); // [Bk, Tq]
        // The softmax's inputs: the scores, then the mask's block.
        SmallVector<Value> ins{scores};
        SmallVector<AffineMap> maps{id2};
        if (mask) {
          auto at = [&](int64_t dim, Value x) -> OpFoldResult { return maskShape[dim] == 1 ? zero : OpFoldResult(x); };
          int64_t rows = maskShape[2] == 1 ? 1 : tq, cols = maskShape[3] == 1 ? 1 : bk;
          if (maskTransposed) {
            ins.push_back(slice(b, mask, {at(0, bi), at(1, hi), key0, row0}, bk, tq));
            maps.push_back(id2);
          } else {
            ins.push_back(slice(b, mask, {at(0, bi), at(1, hi), at(2, row0), at(3, key0)}, rows, cols));
            maps.push_back(AffineMap::get(2, 0, {rows == 1 ? c0 : d2(1), cols == 1 ? c0 : d2(0)}, ctx));
          }
        }
        // x = s * scale (+ mask), -inf where causal masking hides the key.
        auto logit = [&](OpBuilder &nb, Location nl, ValueRange a) {
          Value x = arith::MulFOp::create(nb, nl, a[0], arith::ConstantOp::create(nb, nl, nb.getFloatAttr(f, scale)));
          if (mask)
            x = arith::AddFOp::create(nb, nl, x, a[1]);
          if (causal) {
            Value kpos = arith::AddIOp::create(nb, nl, linalg::IndexOp::create(nb, nl, 0), key0);
            Value qpos = arith::AddIOp::create(nb, nl, linalg::IndexOp::create(nb, nl, 1), row0);
            Value last = arith::AddIOp::create(nb, nl, qpos, index(nb, l - s));
            Value hidden = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sgt, kpos, last);
            x = arith::SelectOp::create(nb, nl, hidden,
                                        arith::ConstantOp::create(nb, nl, nb.getFloatAttr(f, -INFINITY)), x);
          }
          return x;
        };
        SmallVector<AffineMap> withQuery = maps;
        withQuery.push_back(perQuery);
        // The block's max per query.
        Value blockMax = generic(b, loc, ins, {fill(b, {tq}, negInf)}, withQuery, {red, par},
                                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                                   Value x = logit(nb, nl, a.drop_back());
                                   linalg::YieldOp::create(nb, nl, Value(arith::MaximumFOp::create(nb, nl, a.back(), x)));
                                 })[0];
        // m' = max(m, block max) in place; c = exp(m - m'). A query with
        // nothing visible yet keeps m' = -inf and subtracts 0 instead.
        auto safe = [&](OpBuilder &nb, Location nl, Value x) -> Value {
          Value isInf = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, x,
                                              arith::ConstantOp::create(nb, nl, nb.getFloatAttr(f, -INFINITY)));
          return arith::SelectOp::create(nb, nl, isInf, arith::ConstantOp::create(nb, nl, nb.getFloatAttr(f, 0.0)), x);
        };
        SmallVector<Value> mc = generic(b, loc, {blockMax}, {m, tensor::EmptyOp::create(b, loc, {tq}, f)},
                                        {id1, id1, id1}, {par}, [&](OpBuilder &nb, Location nl, ValueRange a) {
                                          Value mNew = arith::MaximumFOp::create(nb, nl, a[1], a[0]);
                                          Value c = math::ExpOp::create(
                                              nb, nl, arith::SubFOp::create(nb, nl, a[1], safe(nb, nl, mNew)));
                                          linalg::YieldOp::create(nb, nl, ValueRange{mNew, c});
                                        });
        Value mNew = mc[0], c = mc[1];
        // p = exp(x - m'), [Bk, Tq].
        SmallVector<Value> pIns = ins;
        pIns.push_back(mNew);
        SmallVector<AffineMap> pMaps = withQuery;
        pMaps.push_back(id2);
        Value p = generic(b, loc, pIns, {tensor::EmptyOp::create(b, loc, {bk, tq}, f)}, pMaps, {par, par},
                          [&](OpBuilder &nb, Location nl, ValueRange a) {
                            Value x = logit(nb, nl, a.drop_back(2));
                            Value e = math::ExpOp::create(
                                nb, nl, arith::SubFOp::create(nb, nl, x, safe(nb, nl, a[a.size() - 2])));
                            linalg::YieldOp::create(nb, nl, e);
                          })[0];
        // l = l * c + sum over keys of p, in place.
        Value scaled = generic(b, loc, {c}, {sum}, {id1, id1}, {par}, [](OpBuilder &nb, Location nl, ValueRange a) {
          linalg::YieldOp::create(nb, nl, Value(arith::MulFOp::create(nb, nl, a[1], a[0])));
        })[0];
        Value sumNew = generic(b, loc, {p}, {scaled}, {id2, perQuery}, {red, par},
                               [](OpBuilder &nb, Location nl, ValueRange a) {
                                 linalg::YieldOp::create(nb, nl, Value(arith::AddFOp::create(nb, nl, a[1], a[0])));
                               })[0];
        // acc = acc * c + p^T x v, in place; loops (i, e, j).
        AffineMap row = AffineMap::get(2, 0, {d2(0)}, ctx);
        Value accScaled = generic(b, loc, {c}, {acc}, {row, id2}, {par, par},
                                  [](OpBuilder &nb, Location nl, ValueRange a) {
                                    linalg::YieldOp::create(nb, nl, Value(arith::MulFOp::create(nb, nl, a[1], a[0])));
                                  })[0];
        Value accNew = contract(b, loc, p, vBlock, accScaled,
                                {AffineMap::get(3, 0, {d2(2), d2(0)}, ctx), AffineMap::get(3, 0, {d2(2), d2(1)}, ctx),
                                 AffineMap::get(3, 0, {d2(0), d2(1)}, ctx)},
                                {par, par, red});
        scf::YieldOp::create(b, loc, ValueRange{mNew, sumNew, accNew});
      });
  // out = acc / l, written into the result's tile.
  Value outTile = slice(rw, forall.getRegionIterArgs()[0], {bi, hi, row0, zero}, tq, dv);
  Value out = generic(rw, loc, {loop.getResult(2), loop.getResult(1)}, {outTile},
                      {id2, AffineMap::get(2, 0, {d2(0)}, ctx), id2}, {par, par},
                      [](OpBuilder &nb, Location nl, ValueRange a) {
                        linalg::YieldOp::create(nb, nl, Value(arith::DivFOp::create(nb, nl, a[0], a[1])));
                      })[0];
  rw.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(rw, loc, out, forall.getRegionIterArgs()[0],
                                        SmallVector<OpFoldResult>{bi, hi, row0, zero},
                                        SmallVector<OpFoldResult>{one, one, rw.getIndexAttr(tq), rw.getIndexAttr(dv)},
                                        unit4);
  rw.replaceOp(op, forall.getResult(0));
  return success();
}

} // namespace

void populateAttentionLowerings(LoweringTable &t) { t["tern.attention"] = lowerAttention; }

} // namespace tern::lowering
