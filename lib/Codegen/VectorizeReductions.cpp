//===- VectorizeReductions.cpp - innermost reductions on vectors ----------===//
//
// A linalg.generic on buffers that reduces along its innermost loop
// (out = combine(out, f(inputs)): a sum, a max, a min over a row or over a
// whole tensor) is left as a scalar loop by LLVM: it does not reassociate
// float sums without fast-math flags, and the accumulator lives in the
// output buffer, which it cannot prove the inputs do not alias. The
// DynamicQuantizeLinear of an int8 model reduces each activation tensor to
// its min and max this way, one element per iteration through memory.
//
// Such an op becomes loops over its outer dims (an scf.parallel over the
// leading parallel ones, which the thread pool may split) and, along the
// row, `accumulators` vector accumulators started at the combining op's
// identity: f is computed on whole vectors of the inputs (inputs that do not
// run along the row are broadcast), combined lane by lane, the last partial
// vector masked; at the end of the row the accumulators are combined, then
// their lanes (vector.reduction), and the result combined into the output
// element once. Float sums are reassociated, as the matmul kernels do.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "VectorBody.h"
#include "lib/Codegen/EntryBuffers.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"

namespace tern {
#define GEN_PASS_DEF_TERNVECTORIZEREDUCTIONSPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {

/// The combining op of a reduction: its vector.reduction kind and the
/// identity its accumulators start from.
struct Combiner {
  Operation *op;
  vector::CombiningKind kind;
  TypedAttr identity;
};

std::optional<Combiner> combinerOf(Operation *op) {
  Type t = op->getResult(0).getType();
  auto f = dyn_cast<FloatType>(t);
  auto i = dyn_cast<IntegerType>(t);
  if (!f && !i)
    return std::nullopt;
  auto floatAttr = [&](const APFloat &v) { return TypedAttr(FloatAttr::get(t, v)); };
  auto intAttr = [&](const APInt &v) { return TypedAttr(IntegerAttr::get(t, v)); };
  using K = vector::CombiningKind;
  if (f) {
    const llvm::fltSemantics &sem = f.getFloatSemantics();
    if (isa<arith::AddFOp>(op))
      return Combiner{op, K::ADD, floatAttr(APFloat::getZero(sem, /*Negative=*/true))};
    if (isa<arith::MulFOp>(op))
      return Combiner{op, K::MUL, floatAttr(APFloat::getOne(sem))};
    if (isa<arith::MaximumFOp>(op))
      return Combiner{op, K::MAXIMUMF, floatAttr(APFloat::getInf(sem, /*Negative=*/true))};
    if (isa<arith::MinimumFOp>(op))
      return Combiner{op, K::MINIMUMF, floatAttr(APFloat::getInf(sem))};
    // maxnum/minnum ignore a NaN operand: NaN is their identity.
    if (isa<arith::MaxNumFOp>(op))
      return Combiner{op, K::MAXNUMF, floatAttr(APFloat::getQNaN(sem))};
    if (isa<arith::MinNumFOp>(op))
      return Combiner{op, K::MINNUMF, floatAttr(APFloat::getQNaN(sem))};
    return std::nullopt;
  }
  unsigned w = i.getWidth();
  if (isa<arith::AddIOp>(op))
    return Combiner{op, K::ADD, intAttr(APInt::getZero(w))};
  if (isa<arith::MulIOp>(op))
    return Combiner{op, K::MUL, intAttr(APInt(w, 1))};
  if (isa<arith::MaxSIOp>(op))
    return Combiner{op, K::MAXSI, intAttr(APInt::getSignedMinValue(w))};
  if (isa<arith::MinSIOp>(op))
    return Combiner{op, K::MINSI, intAttr(APInt::getSignedMaxValue(w))};
  if (isa<arith::MaxUIOp>(op))
    return Combiner{op, K::MAXUI, intAttr(APInt::getZero(w))};
  if (isa<arith::MinUIOp>(op))
    return Combiner{op, K::MINUI, intAttr(APInt::getAllOnes(w))};
  if (isa<arith::AndIOp>(op))
    return Combiner{op, K::AND, intAttr(APInt::getAllOnes(w))};
  if (isa<arith::OrIOp>(op))
    return Combiner{op, K::OR, intAttr(APInt::getZero(w))};
  if (isa<arith::XOrIOp>(op))
    return Combiner{op, K::XOR, intAttr(APInt::getZero(w))};
  return std::nullopt;
}

using tern::Along;
using tern::along;

/// The combining op of `op` when it is a reduction along its innermost
/// loop that this pass rewrites; `lanes` is set to the vector length.
std::optional<Combiner> match(linalg::GenericOp op, int64_t vectorBits, int64_t &lanes) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 || op.getNumLoops() == 0 || op.hasIndexSemantics())
    return std::nullopt;
  unsigned inner = op.getNumLoops() - 1;
  if (op.getIteratorTypesArray()[inner] != utils::IteratorType::reduction)
    return std::nullopt;
  OpOperand *out = op.getDpsInitOperand(0);
  AffineMap outMap = op.getMatchingIndexingMap(out);
  if (!outMap.isProjectedPermutation() || outMap.isFunctionOfDim(inner))
    return std::nullopt;
  // Body: yield combine(out, f(inputs)), out read only there.
  Block *body = op.getBlock();
  BlockArgument acc = op.getMatchingBlockArgument(out);
  Operation *comb = body->getTerminator()->getOperand(0).getDefiningOp();
  if (!comb || comb->getBlock() != body || comb->getNumOperands() != 2 || !acc.hasOneUse() ||
      *acc.getUsers().begin() != comb)
    return std::nullopt;
  std::optional<Combiner> combiner = combinerOf(comb);
  if (!combiner)
    return std::nullopt;
  for (Operation &inner : body->without_terminator()) {
    if (&inner == comb)
      continue;
    if (!isa_and_nonnull<arith::ArithDialect, math::MathDialect>(inner.getDialect()) ||
        (!inner.hasTrait<OpTrait::Elementwise>() && !isa<arith::ConstantOp>(inner)) ||
        isa<arith::DivSIOp, arith::DivUIOp, arith::RemSIOp, arith::RemUIOp, arith::CeilDivSIOp, arith::CeilDivUIOp,
            arith::FloorDivSIOp>(inner))
      return std::nullopt;
    for (Type t : inner.getResultTypes())
      if (!t.isIntOrFloat() || t.getIntOrFloatBitWidth() < 8)
        return std::nullopt;
  }
  std::optional<int64_t> bits = tern::rowOperandBits(op, inner, 64);
  if (!bits)
    return std::nullopt;
  lanes = vectorBits / *bits;
  if (lanes < 2)
    return std::nullopt;
  // Rows shorter than a vector (a 7x7 pooling window's rows of 7) would be
  // one masked vector each: left to LLVM.
  int64_t length = op.getStaticLoopRanges()[inner];
  if (!ShapedType::isDynamic(length) && length < lanes)
    return std::nullopt;
  return combiner;
}

class Rewriter {
public:
  Rewriter(linalg::GenericOp op, const Combiner &comb, int64_t lanes, int64_t accumulators)
      : op(op), comb(comb), lanes(lanes), accumulators(accumulators), b(op), loc(op.getLoc()) {}

  void rewrite() {
    SmallVector<Value> sizes;
    for (Range r : cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(b, loc))
      sizes.push_back(getValueOrCreateConstantIndexOp(b, loc, r.size));
    unsigned inner = op.getNumLoops() - 1;
    // Leading parallel loops: one scf.parallel; the other outer loops nest
    // inside it.
    SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
    unsigned leading = 0;
    while (leading < inner && iters[leading] == utils::IteratorType::parallel)
      ++leading;
    SmallVector<Value> ivs(op.getNumLoops());
    std::function<void(unsigned)> nest = [&](unsigned d) {
      if (d == inner)
        return row(sizes[inner], ivs);
      scf::ForOp::create(b, loc, index(0), sizes[d], index(1), ValueRange{},
                         [&](OpBuilder &nb, Location, Value iv, ValueRange) {
                           OpBuilder::InsertionGuard g(b);
                           b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                           ivs[d] = iv;
                           nest(d + 1);
                           scf::YieldOp::create(b, loc);
                         });
    };
    if (leading == 0) {
      nest(0);
    } else {
      SmallVector<Value> lbs(leading, index(0)), steps(leading, index(1));
      scf::ParallelOp::create(b, loc, lbs, ArrayRef<Value>(sizes).take_front(leading), steps,
                              [&](OpBuilder &nb, Location, ValueRange pivs) {
                                OpBuilder::InsertionGuard g(b);
                                b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                                for (unsigned d = 0; d < leading; ++d)
                                  ivs[d] = pivs[d];
                                nest(leading);
                              });
    }
    op.erase();
  }

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  SmallVector<Value> indices(AffineMap map, ArrayRef<Value> ivs, Value j) {
    SmallVector<Value> at(ivs);
    at[op.getNumLoops() - 1] = j;
    return tern::mapIndices(b, loc, map, at);
  }

  /// The body on the vectors at row position `j` combined into `acc`
  /// (masked loads with `mask`).
  Value step(IRMapping perRow, ArrayRef<Value> ivs, Value j, Value acc, Value mask) {
    unsigned inner = op.getNumLoops() - 1;
    IRMapping map = perRow;
    for (OpOperand *in : op.getDpsInputOperands()) {
      AffineMap m = op.getMatchingIndexingMap(in);
      if (along(m, inner) != Along::Last)
        continue;
      auto vt = VectorType::get({lanes}, getElementTypeOrSelf(in->get().getType()));
      SmallVector<Value> idx = indices(m, ivs, j);
      Value v = tern::loadVector(b, loc, vt, in->get(), idx, mask);
      map.map(op.getMatchingBlockArgument(in), v);
    }
    map.map(op.getMatchingBlockArgument(op.getDpsInitOperand(0)), acc);
    Value next = tern::vectorizeBody(b, loc, op, map, lanes);
    return mask ? Value(arith::SelectOp::create(b, loc, mask, next, acc)) : next;
  }

  /// `comb` applied to x and y (vectors or scalars).
  Value combine(Value x, Value y) {
    OperationState state(loc, comb.op->getName().getIdentifier(), ValueRange{x, y}, TypeRange{x.getType()},
                         comb.op->getAttrs());
    return b.create(state)->getResult(0);
  }

  void row(Value n, ArrayRef<Value> ivs) {
    unsigned inner = op.getNumLoops() - 1;
    // Inputs that do not run along the row: one value per row.
    IRMapping perRow;
    for (OpOperand *in : op.getDpsInputOperands()) {
      AffineMap map = op.getMatchingIndexingMap(in);
      if (along(map, inner) == Along::Last)
        continue;
      Value v = memref::LoadOp::create(b, loc, in->get(), indices(map, ivs, Value()));
      perRow.map(op.getMatchingBlockArgument(in), vector::BroadcastOp::create(b, loc, VectorType::get({lanes}, v.getType()), v));
    }
    auto accType = VectorType::get({lanes}, comb.op->getResult(0).getType());
    Value identity = arith::ConstantOp::create(b, loc, accType, DenseElementsAttr::get(accType, comb.identity));
    // Whole groups of `accumulators` vectors, independent chains.
    Value group = index(lanes * accumulators);
    Value groupsEnd = arith::SubIOp::create(b, loc, n, arith::RemUIOp::create(b, loc, n, group));
    SmallVector<Value> init(accumulators, identity);
    auto groups = scf::ForOp::create(b, loc, index(0), groupsEnd, group, init,
                                     [&](OpBuilder &nb, Location, Value j, ValueRange accs) {
                                       OpBuilder::InsertionGuard g(b);
                                       b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                                       SmallVector<Value> next;
                                       for (int64_t u = 0; u < accumulators; ++u) {
                                         Value at = u ? Value(arith::AddIOp::create(b, loc, j, index(u * lanes))) : j;
                                         next.push_back(step(perRow, ivs, at, accs[u], Value()));
                                       }
                                       scf::YieldOp::create(b, loc, next);
                                     });
    Value acc = groups.getResult(0);
    for (int64_t u = 1; u < accumulators; ++u)
      acc = combine(acc, groups.getResult(u));
    // Whole vectors left, then the masked rest.
    Value vl = index(lanes);
    Value vectorsEnd = arith::SubIOp::create(b, loc, n, arith::RemUIOp::create(b, loc, n, vl));
    auto singles = scf::ForOp::create(b, loc, groupsEnd, vectorsEnd, vl, ValueRange{acc},
                                      [&](OpBuilder &nb, Location, Value j, ValueRange accs) {
                                        OpBuilder::InsertionGuard g(b);
                                        b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                                        scf::YieldOp::create(b, loc, step(perRow, ivs, j, accs[0], Value()));
                                      });
    acc = singles.getResult(0);
    Value left = arith::SubIOp::create(b, loc, n, vectorsEnd);
    Value mask = vector::CreateMaskOp::create(b, loc, VectorType::get({lanes}, b.getI1Type()), left);
    acc = step(perRow, ivs, vectorsEnd, acc, mask);
    Value total = vector::ReductionOp::create(b, loc, comb.kind, acc);
    OpOperand *out = op.getDpsInitOperand(0);
    SmallVector<Value> outIdx = indices(op.getMatchingIndexingMap(out), ivs, Value());
    Value old = memref::LoadOp::create(b, loc, out->get(), outIdx);
    memref::StoreOp::create(b, loc, combine(old, total), out->get(), outIdx);
  }

  linalg::GenericOp op;
  Combiner comb;
  int64_t lanes, accumulators;
  OpBuilder b;
  Location loc;
};

struct VectorizeReductionsPass : tern::impl::TernVectorizeReductionsPassBase<VectorizeReductionsPass> {
  using Base::Base;
  void runOnOperation() override {
    if (vectorBits < 64 || accumulators < 1) {
      getOperation()->emitError("tern-vectorize-reductions: bad vector-bits or accumulators");
      return signalPassFailure();
    }
    SmallVector<std::tuple<linalg::GenericOp, Combiner, int64_t>> todo;
    getOperation()->walk([&](linalg::GenericOp op) {
      int64_t lanes = 0;
      if (std::optional<Combiner> c = match(op, vectorBits, lanes))
        todo.emplace_back(op, *c, lanes);
    });
    for (auto &[op, comb, lanes] : todo)
      Rewriter(op, comb, lanes, accumulators).rewrite();
  }
};

} // namespace
