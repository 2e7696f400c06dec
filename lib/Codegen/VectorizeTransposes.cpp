//===- VectorizeTransposes.cpp - elementwise ops that transpose, in tiles ===//
//
// An elementwise linalg.generic that writes its output along one dim while
// its main input runs along another (the [positions, channels] result of
// a convolution computed as a matmul, written back as NCHW together with
// its scale, bias, activation and quantization) reads that input with a
// stride in its innermost loop: LLVM gathers it one element at a time.
//
// Such an op becomes tiles of L x L (L = vector-bits / the widest element):
// for each of the tile's L output positions along the output's innermost
// dim, the body is computed on a vector of L elements read contiguously
// along the input's innermost dim; the L result vectors, a tile
// [output inner][input inner], are transposed in registers
// (transposeRows: 8 x 8 of 32 bits as 24 AVX shuffles of whole rows, others
// as rounds of interleaves of whole rows) and stored as L contiguous
// vectors of the output. Partial tiles at the edges are masked. Where that
// transposes fewer tiles (a residual in the output's layout besides the
// output itself), the inputs along p are transposed instead and the body
// computed along the output's rows (Plan::transposeFirst).
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "VectorBody.h"
#include "lib/Codegen/EntryBuffers.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"

namespace tern {
#define GEN_PASS_DEF_TERNVECTORIZETRANSPOSESPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {

/// How an input is read in a tile whose vectors run along loop `p` and
/// whose rows are positions along the output's innermost loop `inner`.
enum class Read {
  Vector,    ///< along p, contiguous (reads p as its last dim, not inner)
  PerRow,    ///< one value per row (reads inner as its last dim, not p)
  Broadcast, ///< one value per tile (reads neither)
  Transposed, ///< in the output's layout (inner last, p elsewhere): the tile
              ///< loaded along inner and transposed in registers
};

bool reads(AffineMap map, unsigned d) {
  return llvm::any_of(map.getResults(), [&](AffineExpr e) { return e.isFunctionOfDim(d); });
}

/// The number of trailing dims of `type` of size 1 that `map` reads at 0
/// (a per-channel scale [C, 1, 1]): the input is read as if they were not
/// there.
unsigned trailingUnits(MemRefType type, AffineMap map) {
  unsigned n = 0;
  while (n + 1 < map.getNumResults()) {
    unsigned i = map.getNumResults() - 1 - n;
    auto c = dyn_cast<AffineConstantExpr>(map.getResult(i));
    if (!c || c.getValue() != 0 || type.getDimSize(i) != 1)
      break;
    ++n;
  }
  return n;
}

/// Does `map` read loop `d` as its last result (past trailing unit dims)?
bool readsLast(MemRefType type, AffineMap map, unsigned d) {
  unsigned units = trailingUnits(type, map);
  if (map.getNumResults() <= units)
    return false;
  auto last = dyn_cast<AffineDimExpr>(map.getResult(map.getNumResults() - 1 - units));
  return last && last.getPosition() == d;
}

struct Plan {
  unsigned p = 0, inner = 0;
  int64_t lanes = 0;
  SmallVector<Read> inputs;
  /// The tile's inputs that run along p and read inner (a convolution's
  /// [positions, channels] result) transposed first, the body then
  /// computed along inner, in the output's layout: inputs in that layout (a
  /// residual) are read as they are and the result is stored untransposed.
  /// Chosen when it transposes fewer tiles, narrow ones counting more (an
  /// i32 tile instead of an output's byte tile).
  bool transposeFirst = false;
};

std::optional<Plan> match(linalg::GenericOp op, int64_t vectorBits) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 || op.getNumReductionLoops() != 0 ||
      op.getNumLoops() < 2 || op.hasIndexSemantics() || !tern::vectorizableBody(op))
    return std::nullopt;
  OpOperand *out = op.getDpsInitOperand(0);
  auto outType = dyn_cast<MemRefType>(out->get().getType());
  if (!outType || !op.getMatchingIndexingMap(out).isIdentity() || !tern::hasUnitInnerStride(out->get()))
    return std::nullopt;
  Plan plan;
  plan.inner = op.getNumLoops() - 1;
  // The transposed input: runs along some p != inner with unit stride and
  // reads inner elsewhere.
  std::optional<unsigned> p;
  for (OpOperand *in : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(in);
    auto last = map.getNumResults() ? dyn_cast<AffineDimExpr>(map.getResults().back()) : AffineDimExpr(nullptr);
    if (last && last.getPosition() != plan.inner && reads(map, plan.inner) && tern::hasUnitInnerStride(in->get()) &&
        outType.getDimSize(last.getPosition()) > 1) {
      p = last.getPosition();
      break;
    }
  }
  // Dims other than the tile's two may be dynamic (images counted at run
  // time): they are the parallel loop around the tiles.
  if (!p || outType.isDynamicDim(*p) || outType.isDynamicDim(plan.inner))
    return std::nullopt;
  plan.p = *p;
  int64_t bits = 8;
  auto widen = [&](Type t) {
    if (!t.isIntOrFloat() || t.getIntOrFloatBitWidth() < 8 || t.getIntOrFloatBitWidth() > 32)
      return false;
    bits = std::max<int64_t>(bits, t.getIntOrFloatBitWidth());
    return true;
  };
  if (!widen(outType.getElementType()))
    return std::nullopt;
  // Comparisons' i1 results (a clip's, a ReLU's) are masks of the same
  // lanes, not elements that set the tile's width.
  for (Operation &inner : op.getBlock()->without_terminator())
    for (Type t : inner.getResultTypes())
      if (!t.isInteger(1) && !widen(t))
        return std::nullopt;
  for (OpOperand *in : op.getDpsInputOperands()) {
    auto t = dyn_cast<MemRefType>(in->get().getType());
    AffineMap map = op.getMatchingIndexingMap(in);
    if (!t || !widen(t.getElementType()) || map.getNumSymbols() != 0 ||
        !llvm::all_of(map.getResults(), [](AffineExpr e) { return isa<AffineDimExpr, AffineConstantExpr>(e); }))
      return std::nullopt;
    bool rp = reads(map, plan.p), ri = reads(map, plan.inner);
    if (rp && readsLast(t, map, plan.p))
      plan.inputs.push_back(Read::Vector); // along p; the transposed input reads inner too
    else if (!rp && ri && readsLast(t, map, plan.inner) && trailingUnits(t, map) == 0)
      plan.inputs.push_back(Read::PerRow);
    else if (!rp && !ri)
      plan.inputs.push_back(Read::Broadcast);
    else if (rp && ri && readsLast(t, map, plan.inner) && trailingUnits(t, map) == 0 &&
             tern::hasUnitInnerStride(in->get()) &&
             llvm::any_of(map.getResults(), [&](AffineExpr e) { return e == getAffineDimExpr(plan.p, op.getContext()); }))
      plan.inputs.push_back(Read::Transposed);
    else
      return std::nullopt;
    // Vectors: contiguous along p, the trailing unit dims dropped.
    if (plan.inputs.back() == Read::Vector &&
        (!tern::hasUnitInnerStride(in->get()) || (trailingUnits(t, map) && !t.getLayout().isIdentity())))
      return std::nullopt;
  }
  plan.lanes = vectorBits / bits;
  if (plan.lanes < 4)
    return std::nullopt;
  // The tiles transposed per tile: the inputs in the output's layout and
  // the output, or the inputs along p that read inner. Tiles of narrower
  // elements count 3 (x86's shuffles of 8- and 16-bit lanes: an 8 x 8 byte
  // tile on AVX2 cost more than its 32-bit one, resnet50.int8-qdq's
  // requantizing epilogues 42% of the run with them). Per-row inputs must
  // then be contiguous along inner (read as vectors).
  auto cost = [](Type t) { return getElementTypeOrSelf(t).getIntOrFloatBitWidth() >= 32 ? 1 : 3; };
  int64_t afterwards = cost(outType), first = 0;
  bool rowsContiguous = true;
  for (auto [in, how] : llvm::zip(op.getDpsInputOperands(), plan.inputs)) {
    if (how == Read::Transposed)
      afterwards += cost(in->get().getType());
    if (how == Read::Vector && reads(op.getMatchingIndexingMap(in), plan.inner))
      first += cost(in->get().getType());
    rowsContiguous &= how != Read::PerRow || tern::hasUnitInnerStride(in->get());
  }
  plan.transposeFirst = rowsContiguous && first < afterwards;
  return plan;
}

class Rewriter {
public:
  Rewriter(linalg::GenericOp op, const Plan &plan) : op(op), plan(plan), b(op), loc(op.getLoc()) {}

  void rewrite() {
    // Inputs read as vectors past trailing unit dims: collapsed views and
    // maps without those dims.
    for (auto [in, how] : llvm::zip(op.getDpsInputOperands(), plan.inputs)) {
      Value v = in->get();
      AffineMap map = op.getMatchingIndexingMap(in);
      auto t = cast<MemRefType>(v.getType());
      unsigned units = how == Read::Vector ? trailingUnits(t, map) : 0;
      if (units) {
        unsigned rank = t.getRank();
        SmallVector<ReassociationIndices> groups;
        for (unsigned i = 0; i + units + 1 < rank; ++i)
          groups.push_back({(int64_t)i});
        ReassociationIndices last;
        for (unsigned i = rank - units - 1; i < rank; ++i)
          last.push_back(i);
        groups.push_back(last);
        v = memref::CollapseShapeOp::create(b, loc, v, groups);
        map = map.dropResults(llvm::to_vector(llvm::seq<int64_t>(rank - units, rank)));
      }
      operands.push_back(v);
      maps.push_back(map);
    }
    auto outType = cast<MemRefType>(op.getDpsInitOperand(0)->get().getType());
    ArrayRef<int64_t> shape = outType.getShape();
    int64_t lanes = plan.lanes, pSize = shape[plan.p], iSize = shape[plan.inner];
    SmallVector<unsigned> outer;
    for (unsigned d = 0; d < op.getNumLoops(); ++d)
      if (d != plan.p && d != plan.inner)
        outer.push_back(d);
    auto body = [&](ArrayRef<Value> outerIvs) {
      SmallVector<Value> at(op.getNumLoops());
      for (auto [d, iv] : llvm::zip(outer, outerIvs))
        at[d] = iv;
      int64_t pFull = pSize - pSize % lanes, iFull = iSize - iSize % lanes;
      // Tiles along p, then the partial one; in each, tiles along inner.
      auto alongInner = [&](Value p0, int64_t pLen) {
        if (iFull > 0)
          loop(0, iFull, [&](Value i0) { tile(at, p0, i0, pLen, lanes); });
        if (iSize % lanes)
          tile(at, p0, index(iFull), pLen, iSize % lanes);
      };
      // Without outer dims (a [positions, channels] result written back as
      // [channels, positions]), the tiles along p are the parallel loop the
      // thread pool splits; else the outer dims are.
      if (pFull > 0)
        loop(0, pFull, [&](Value p0) { alongInner(p0, lanes); }, /*parallel=*/outerIvs.empty());
      if (pSize % lanes)
        alongInner(index(pFull), pSize % lanes);
    };
    if (outer.empty()) {
      body({});
    } else {
      SmallVector<Value> lbs, ubs, steps;
      for (unsigned d : outer) {
        lbs.push_back(index(0));
        ubs.push_back(ShapedType::isDynamic(shape[d])
                          ? Value(memref::DimOp::create(b, loc, op.getDpsInitOperand(0)->get(), d))
                          : index(shape[d]));
        steps.push_back(index(1));
      }
      scf::ParallelOp::create(b, loc, lbs, ubs, steps, [&](OpBuilder &nb, Location, ValueRange ivs) {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
        body(SmallVector<Value>(ivs.begin(), ivs.end()));
      });
    }
    op.erase();
  }

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  void loop(int64_t from, int64_t to, function_ref<void(Value)> fn, bool parallel = false) {
    if (parallel) {
      scf::ParallelOp::create(b, loc, ValueRange{index(from)}, ValueRange{index(to)}, ValueRange{index(plan.lanes)},
                              [&](OpBuilder &nb, Location, ValueRange ivs) {
                                OpBuilder::InsertionGuard g(b);
                                b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                                fn(ivs[0]);
                              });
      return;
    }
    scf::ForOp::create(b, loc, index(from), index(to), index(plan.lanes), ValueRange{},
                       [&](OpBuilder &nb, Location, Value iv, ValueRange) {
                         OpBuilder::InsertionGuard g(b);
                         b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                         fn(iv);
                         scf::YieldOp::create(b, loc);
                       });
  }

  SmallVector<Value> indices(AffineMap map, ArrayRef<Value> at) { return tern::mapIndices(b, loc, map, at); }

  /// Input k's tile, transposed: `len` vectors (masked by `mask`), the
  /// j-th read at `pos` with loop `along` at `start` + j, as rows of an
  /// L x L tile (rows past `len` zero) and then its columns.
  SmallVector<Value> transposedTile(unsigned k, SmallVector<Value> pos, unsigned along, Value start, int64_t len,
                                    Value mask) {
    int64_t lanes = plan.lanes;
    Type elem = getElementTypeOrSelf(operands[k].getType());
    auto vt = VectorType::get({lanes}, elem);
    SmallVector<Value> rows;
    for (int64_t j = 0; j < len; ++j) {
      pos[along] = j ? Value(arith::AddIOp::create(b, loc, start, index(j))) : start;
      rows.push_back(tern::loadVector(b, loc, vt, operands[k], indices(maps[k], pos), mask));
    }
    return tern::transposeRows(b, loc, vt, rows);
  }

  /// One tile with plan.transposeFirst: the inputs along p that read inner
  /// loaded as L vectors along p and transposed; then for each output row
  /// p0 + j, the body along inner from row j of those, vectors along inner
  /// of the inputs in the output's layout and per-row ones, and scalars
  /// along p broadcast; stored as it is.
  void tileTransposingInputs(SmallVector<Value> at, Value p0, Value i0, int64_t pLen, int64_t iLen, Value pMask,
                             Value iMask, const IRMapping &perTile) {
    int64_t lanes = plan.lanes;
    Value out = op.getDpsInitOperand(0)->get();
    DenseMap<unsigned, SmallVector<Value>> transposed;
    for (auto [k, how] : llvm::enumerate(plan.inputs)) {
      if (how != Read::Vector || !reads(maps[k], plan.inner))
        continue;
      SmallVector<Value> pos = at;
      pos[plan.p] = p0;
      transposed[k] = transposedTile(k, pos, plan.inner, i0, iLen, pMask);
    }
    at[plan.inner] = i0;
    for (int64_t j = 0; j < pLen; ++j) {
      at[plan.p] = j ? Value(arith::AddIOp::create(b, loc, p0, index(j))) : p0;
      IRMapping map = perTile;
      for (auto [k, in] : llvm::enumerate(op.getDpsInputOperands())) {
        Read how = plan.inputs[k];
        if (how == Read::Broadcast)
          continue;
        Value v;
        auto vt = VectorType::get({lanes}, getElementTypeOrSelf(operands[k].getType()));
        if (auto it = transposed.find(k); it != transposed.end())
          v = it->second[j];
        else if (how == Read::Vector) // along p only: one value per row
          v = vector::BroadcastOp::create(b, loc, vt, memref::LoadOp::create(b, loc, operands[k], indices(maps[k], at)));
        else // in the output's layout, or per row: along inner
          v = tern::loadVector(b, loc, vt, operands[k], indices(maps[k], at), iMask);
        map.map(op.getMatchingBlockArgument(in), v);
      }
      Value row = tern::vectorizeBody(b, loc, op, map, lanes);
      SmallVector<Value> idx(at.begin(), at.end());
      if (iMask)
        vector::MaskedStoreOp::create(b, loc, out, idx, iMask, row);
      else
        vector::StoreOp::create(b, loc, row, out, idx);
    }
  }

  /// One tile: p in [p0, p0 + pLen), inner in [i0, i0 + iLen).
  void tile(SmallVector<Value> at, Value p0, Value i0, int64_t pLen, int64_t iLen) {
    int64_t lanes = plan.lanes;
    auto maskOf = [&](int64_t len) -> Value {
      if (len == lanes)
        return Value();
      return vector::ConstantMaskOp::create(b, loc, VectorType::get({lanes}, b.getI1Type()), ArrayRef<int64_t>{len});
    };
    Value pMask = maskOf(pLen), iMask = maskOf(iLen);
    Value out = op.getDpsInitOperand(0)->get();
    Type outElem = getElementTypeOrSelf(out.getType());
    SmallVector<Value> results; // the tile's rows: [inner][p]
    at[plan.p] = p0;
    // Inputs that read neither p nor inner: once per tile.
    IRMapping perTile;
    for (auto [i, in] : llvm::enumerate(op.getDpsInputOperands())) {
      if (plan.inputs[i] != Read::Broadcast)
        continue;
      Value v = memref::LoadOp::create(b, loc, operands[i], indices(maps[i], at));
      perTile.map(op.getMatchingBlockArgument(in), vector::BroadcastOp::create(b, loc, VectorType::get({lanes}, v.getType()), v));
    }
    if (plan.transposeFirst)
      return tileTransposingInputs(at, p0, i0, pLen, iLen, pMask, iMask, perTile);
    // Inputs in the output's layout: L vectors along inner, transposed.
    DenseMap<unsigned, SmallVector<Value>> transposed;
    for (auto [k, how] : llvm::enumerate(plan.inputs)) {
      if (how != Read::Transposed)
        continue;
      SmallVector<Value> pos = at;
      pos[plan.inner] = i0;
      transposed[k] = transposedTile(k, pos, plan.p, p0, pLen, iMask);
    }
    for (int64_t i = 0; i < iLen; ++i) {
      at[plan.inner] = i ? Value(arith::AddIOp::create(b, loc, i0, index(i))) : i0;
      IRMapping map = perTile;
      for (auto &[k, cols] : transposed)
        map.map(op.getMatchingBlockArgument(op.getDpsInputOperand(k)), cols[i]);
      for (auto [k, in] : llvm::enumerate(op.getDpsInputOperands())) {
        Read how = plan.inputs[k];
        SmallVector<Value> idx = indices(maps[k], at);
        Type elem = getElementTypeOrSelf(operands[k].getType());
        auto vt = VectorType::get({lanes}, elem);
        Value v;
        if (how == Read::Vector)
          v = tern::loadVector(b, loc, vt, operands[k], idx, pMask);
        else if (how == Read::PerRow)
          v = vector::BroadcastOp::create(b, loc, vt, memref::LoadOp::create(b, loc, operands[k], idx));
        else
          continue; // per tile or transposed: mapped already
        map.map(op.getMatchingBlockArgument(in), v);
      }
      Value row = tern::vectorizeBody(b, loc, op, map, lanes);
      results.push_back(row);
    }
    // [inner][p] -> [p][inner]: row j is output row p0 + j along inner.
    SmallVector<Value> cols = tern::transposeRows(b, loc, VectorType::get({lanes}, outElem), results);
    at[plan.inner] = i0;
    for (int64_t j = 0; j < pLen; ++j) {
      at[plan.p] = j ? Value(arith::AddIOp::create(b, loc, p0, index(j))) : p0;
      Value col = cols[j];
      SmallVector<Value> idx(at.begin(), at.end());
      if (iMask)
        vector::MaskedStoreOp::create(b, loc, out, idx, iMask, col);
      else
        vector::StoreOp::create(b, loc, col, out, idx);
    }
  }

  linalg::GenericOp op;
  const Plan &plan;
  SmallVector<Value> operands; ///< the inputs as read (collapsed)
  SmallVector<AffineMap> maps;
  OpBuilder b;
  Location loc;
};

struct VectorizeTransposesPass : tern::impl::TernVectorizeTransposesPassBase<VectorizeTransposesPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<std::pair<linalg::GenericOp, Plan>> todo;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (std::optional<Plan> plan = match(op, vectorBits))
        todo.emplace_back(op, *plan);
    });
    for (auto &[op, plan] : todo)
      Rewriter(op, plan).rewrite();
  }
};

} // namespace
