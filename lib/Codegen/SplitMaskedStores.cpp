//===- SplitMaskedStores.cpp - masked stores as plain stores of pieces ----===//
//
// Without AVX-512, x86 has no cheap masked store: vmaskmovps to memory is
// microcoded (about 4 ns per ymm store on a Zen 3, twelve times a plain
// store), and AArch64 has none at all (LLVM scalarizes it into a branch
// per lane). The kernels store masked vectors at the end of a row that is
// not a whole number of vectors (a 28-, 14- or 7-wide feature map) and
// where a vector of positions crosses into the next row of a padded
// buffer: in mobilenetv2 on a Zen 3 such stores took half the time of the
// 1x1 convolutions on 28x28 maps.
//
// A vector.maskedstore whose mask keeps a range of lanes [lo, hi) (a
// vector.constant_mask, vector.create_mask, a constant, or their
// intersections and complements as the kernels build them) becomes plain
// stores of the vector's pieces: halves, quarters, ... down to single
// lanes. With lo and hi known, just the pieces the range needs (28 lanes
// left of 32: 16 + 8 + 4); else a binary tree of scf.if that stores a
// piece whole as soon as the range covers it and skips it as soon as it
// misses it (a vector inside its row: one compare and a store).
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"

namespace tern {
#define GEN_PASS_DEF_TERNSPLITMASKEDSTORESPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {

/// Lanes [lo, hi) of a mask; a null Value is a constant given beside it.
struct LaneRange {
  Value lo, hi;
  int64_t loConst = 0, hiConst = 0;
};

/// The lane range `mask` keeps, when it is one.
std::optional<LaneRange> laneRange(Value mask, int64_t lanes) {
  LaneRange r;
  r.hiConst = lanes;
  if (auto c = mask.getDefiningOp<vector::ConstantMaskOp>()) {
    r.hiConst = c.getMaskDimSizes()[0];
    return r;
  }
  if (auto c = mask.getDefiningOp<vector::CreateMaskOp>()) {
    Value n = c.getOperand(0);
    if (std::optional<int64_t> k = getConstantIntValue(n))
      r.hiConst = std::clamp<int64_t>(*k, 0, lanes);
    else
      r.hi = n;
    return r;
  }
  DenseIntElementsAttr dense;
  if (matchPattern(mask, m_Constant(&dense))) {
    SmallVector<bool> bits(dense.getValues<bool>());
    int64_t lo = llvm::find(bits, true) - bits.begin(), hi = lo;
    while (hi < lanes && bits[hi])
      ++hi;
    if (std::find(bits.begin() + hi, bits.end(), true) != bits.end())
      return std::nullopt;
    r.loConst = lo == lanes ? 0 : lo;
    r.hiConst = lo == lanes ? 0 : hi;
    return r;
  }
  Operation *def = mask.getDefiningOp();
  if (auto x = dyn_cast_or_null<arith::XOrIOp>(def)) {
    // not(lanes < hi) = lanes >= hi: [hi, lanes) when the first keeps a
    // prefix and the other is all ones.
    for (int i = 0; i < 2; ++i) {
      std::optional<LaneRange> all = laneRange(x->getOperand(1 - i), lanes);
      std::optional<LaneRange> prefix = laneRange(x->getOperand(i), lanes);
      if (!all || all->lo || all->hi || all->loConst != 0 || all->hiConst != lanes || !prefix || prefix->lo ||
          prefix->loConst != 0)
        continue;
      LaneRange rest;
      rest.lo = prefix->hi;
      rest.loConst = prefix->hi ? 0 : prefix->hiConst;
      rest.hiConst = lanes;
      return rest;
    }
    return std::nullopt;
  }
  if (auto a = dyn_cast_or_null<arith::AndIOp>(def)) {
    std::optional<LaneRange> x = laneRange(a.getLhs(), lanes), y = laneRange(a.getRhs(), lanes);
    if (!x || !y)
      return std::nullopt;
    // Each bound is a constant or one value: where both sides have a
    // value, the mask is not read as a range (the kernels never build it).
    if ((x->lo && y->lo) || (x->hi && y->hi))
      return std::nullopt;
    LaneRange r;
    r.lo = x->lo ? x->lo : y->lo;
    r.loConst = std::max(x->loConst, y->loConst);
    r.hi = x->hi ? x->hi : y->hi;
    r.hiConst = std::min(x->hiConst, y->hiConst);
    return r;
  }
  return std::nullopt;
}

struct Splitter {
  OpBuilder &b;
  Location loc;
  vector::MaskedStoreOp store;
  LaneRange range;

  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  /// `bound pred x` as an i1 for a bound given as a value (`v`, the other
  /// bound of the pair being its constant), or known: false when
  /// `impossible` (the constant alone decides it), true when there is no
  /// value (the constant alone passes).
  Value check(Value v, bool impossible, arith::CmpIPredicate pred, int64_t x, std::optional<bool> &known) {
    known.reset();
    if (impossible)
      known = false;
    else if (!v)
      known = true;
    else
      return arith::CmpIOp::create(b, loc, pred, v, index(x));
    return {};
  }
  /// lo <= x (lo is the larger of its value and its constant).
  Value loAtMost(int64_t x, std::optional<bool> &known) {
    return check(range.lo, range.loConst > x, arith::CmpIPredicate::sle, x, known);
  }
  /// x <= hi (hi is the smaller of its value and its constant).
  Value hiAtLeast(int64_t x, std::optional<bool> &known) {
    return check(range.hi, range.hiConst < x, arith::CmpIPredicate::sge, x, known);
  }
  /// a && b where either may be known.
  Value both(Value x, std::optional<bool> kx, Value y, std::optional<bool> ky, std::optional<bool> &known) {
    known.reset();
    if ((kx && !*kx) || (ky && !*ky)) {
      known = false;
      return {};
    }
    if (kx && ky) {
      known = true;
      return {};
    }
    if (kx)
      return y;
    if (ky)
      return x;
    return arith::AndIOp::create(b, loc, x, y);
  }

  /// Stores lanes [s, s + n) of the value.
  void storePiece(int64_t s, int64_t n) {
    Value value = store.getValueToStore();
    SmallVector<Value> idx(store.getIndices());
    if (s)
      idx.back() = arith::AddIOp::create(b, loc, idx.back(), index(s));
    if (n == cast<VectorType>(value.getType()).getNumElements()) {
      vector::StoreOp::create(b, loc, value, store.getBase(), idx);
      return;
    }
    Value piece = vector::ExtractStridedSliceOp::create(b, loc, value, ArrayRef<int64_t>{s}, ArrayRef<int64_t>{n},
                                                        ArrayRef<int64_t>{1});
    vector::StoreOp::create(b, loc, piece, store.getBase(), idx);
  }

  /// Stores the lanes of [s, s + n) in the range.
  void emit(int64_t s, int64_t n) {
    std::optional<bool> kLo, kHi, kFull, kLoEnd, kHiStart, kAny;
    // The piece is whole in the range: lo <= s and s + n <= hi.
    Value loOk = loAtMost(s, kLo), hiOk = hiAtLeast(s + n, kHi);
    Value full = both(loOk, kLo, hiOk, kHi, kFull);
    // It meets the range: lo < s + n and s < hi, i.e. lo <= s + n - 1 and
    // s + 1 <= hi.
    Value meetsLo = loAtMost(s + n - 1, kLoEnd), meetsHi = hiAtLeast(s + 1, kHiStart);
    Value any = both(meetsLo, kLoEnd, meetsHi, kHiStart, kAny);
    if (kAny && !*kAny)
      return;
    if (kFull && *kFull) {
      storePiece(s, n);
      return;
    }
    auto split = [&]() {
      if (n > 1) {
        emit(s, n / 2);
        emit(s + n / 2, n - n / 2);
      }
    };
    auto inside = [&](Value cond, function_ref<void()> then, function_ref<void()> otherwise) {
      auto op = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/static_cast<bool>(otherwise));
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(&op.getThenRegion().front());
      then();
      if (otherwise) {
        b.setInsertionPointToStart(&op.getElseRegion().front());
        otherwise();
      }
    };
    // Known to be partial where both bounds are constants: just the pieces.
    if (kFull && !*kFull && kAny) {
      split();
      return;
    }
    auto partial = [&]() {
      if (kAny)
        split();
      else
        inside(any, split, nullptr);
    };
    if (kFull)
      partial();
    else
      inside(full, [&]() { storePiece(s, n); }, n > 1 ? function_ref<void()>(partial) : nullptr);
  }
};

struct SplitMaskedStoresPass : tern::impl::TernSplitMaskedStoresPassBase<SplitMaskedStoresPass> {
  void runOnOperation() override {
    SmallVector<vector::MaskedStoreOp> stores;
    getOperation()->walk([&](vector::MaskedStoreOp s) {
      if (s.getVectorType().getRank() == 1 && !s.getVectorType().isScalable())
        stores.push_back(s);
    });
    for (vector::MaskedStoreOp s : stores) {
      int64_t lanes = s.getVectorType().getNumElements();
      std::optional<LaneRange> range = laneRange(s.getMask(), lanes);
      if (!range)
        continue;
      OpBuilder b(s);
      Splitter{b, s.getLoc(), s, *range}.emit(0, lanes);
      s.erase();
    }
  }
};

} // namespace
