//===- LowerReductionsToLoops.cpp - reductions accumulating in registers --===//
//
// A linalg op with reduction dims (after bufferization) becomes
//
//   scf.parallel (parallel dims) {
//     %init = memref.load %out[output indices]
//     %r = scf.for (reduction dim 1) iter_args(%acc = %init) {
//            ... scf.for (reduction dim n) iter_args(...) {
//                  loads of the inputs; the body with %acc as the output
//                  value; scf.yield of what the body yields } }
//     memref.store %r, %out[output indices]
//   }
//
// so each output element is read and written once, not once per step; on
// the GPU each thread of tern-map-to-gpu's launch then keeps its
// accumulator in a register.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace tern {
#define GEN_PASS_DEF_TERNLOWERREDUCTIONSTOLOOPSPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {

/// The operand's indices at the loop ivs `ivs` (one per loop dim).
SmallVector<Value> indicesAt(OpBuilder &b, Location loc, AffineMap map, ArrayRef<Value> ivs) {
  SmallVector<Value> idx;
  for (AffineExpr e : map.getResults()) {
    if (auto d = dyn_cast<AffineDimExpr>(e)) {
      idx.push_back(ivs[d.getPosition()]);
      continue;
    }
    idx.push_back(affine::AffineApplyOp::create(b, loc, AffineMap::get(map.getNumDims(), 0, e), ivs));
  }
  return idx;
}

bool lowerable(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumReductionLoops() == 0 || op.getNumDpsInits() != 1 ||
      op->getNumRegions() != 1 || op->getNumResults() != 0)
    return false;
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  for (unsigned d = 0; d < iters.size(); ++d)
    if (iters[d] == utils::IteratorType::reduction && outMap.isFunctionOfDim(d))
      return false;
  return isa<MemRefType>(op.getDpsInitOperand(0)->get().getType());
}

/// The parallel dim to give each thread `rows` outputs along: one of static
/// extent divisible by `rows` that the largest input (the weights) does not
/// use, so that each of its loads serves `rows` products. -1 when none.
int blockedDim(linalg::LinalgOp op, int64_t rows) {
  if (rows <= 1)
    return -1;
  OpOperand *largest = nullptr;
  int64_t largestSize = 0;
  for (OpOperand *in : op.getDpsInputOperands())
    if (auto t = dyn_cast<MemRefType>(in->get().getType()); t && t.hasStaticShape() && t.getNumElements() > largestSize) {
      largest = in;
      largestSize = t.getNumElements();
    }
  if (!largest)
    return -1;
  AffineMap map = op.getMatchingIndexingMap(largest);
  SmallVector<int64_t> extents = op.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  for (unsigned d = 0; d < iters.size(); ++d)
    if (iters[d] == utils::IteratorType::parallel && !map.isFunctionOfDim(d) && !ShapedType::isDynamic(extents[d]) &&
        extents[d] >= rows && extents[d] % rows == 0)
      return d;
  return -1;
}

/// Is `v` the buffer `root` or a view of it?
bool viewOf(Value v, Value root) {
  while (v != root) {
    Operation *def = v.getDefiningOp();
    if (auto view = dyn_cast_or_null<ViewLikeOpInterface>(def))
      v = view.getViewSource();
    else if (auto cast = dyn_cast_or_null<memref::CastOp>(def))
      v = cast.getSource();
    else
      return false;
  }
  return true;
}

/// Does `op` (or an op inside it) use `buffer` or a view of it?
bool touches(Operation *op, Value buffer) {
  bool found = false;
  op->walk([&](Operation *inner) {
    for (Value v : inner->getOperands())
      if (isa<MemRefType>(v.getType()) && viewOf(v, buffer))
        found = true;
  });
  return found;
}

/// When the output's content before `op` is a constant (a fill, or a copy
/// of a buffer nothing but a fill writes: bufferization's copy of a zero
/// fill that several contractions share), that constant, with the ops it
/// makes dead erased. Valid because the contraction writes every element
/// of its output, and a region of the arena belongs to one tensor while it
/// is live.
Value constantInit(linalg::LinalgOp op) {
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!outMap.isProjectedPermutation() || outMap.getNumResults() != op.getNumParallelLoops())
    return nullptr;
  Value out = op.getDpsInitOperand(0)->get();
  Operation *last = nullptr; // the last op before `op` touching the output
  for (Operation *p = op->getPrevNode(); p && !last; p = p->getPrevNode())
    if (!isMemoryEffectFree(p) && touches(p, out))
      last = p;
  if (auto fill = dyn_cast_or_null<linalg::FillOp>(last);
      fill && fill.hasPureBufferSemantics() && fill.getOutputs()[0] == out) {
    Value v = fill.getInputs()[0];
    fill->erase();
    return v;
  }
  auto copy = dyn_cast_or_null<linalg::CopyOp>(last);
  if (!copy || copy.getOutputs()[0] != out)
    return nullptr;
  // The source's last writer before the copy must be a fill: between the
  // two only copies read it (later, the buffer may be reused in place).
  Value src = copy.getInputs()[0];
  Block *block = op->getBlock();
  linalg::FillOp fill;
  for (Operation *p = copy->getPrevNode(); p && !fill; p = p->getPrevNode()) {
    if (auto f = dyn_cast<linalg::FillOp>(p); f && f.hasPureBufferSemantics() && f.getOutputs()[0] == src)
      fill = f;
    else if (auto c = dyn_cast<linalg::CopyOp>(p); c && c.getInputs()[0] == src)
      continue;
    else if (!isMemoryEffectFree(p) && touches(p, src))
      return nullptr;
  }
  if (!fill)
    return nullptr;
  for (Operation *user : src.getUsers()) {
    Operation *top = block->findAncestorOpInBlock(*user);
    if (top && fill->isBeforeInBlock(top) && top->isBeforeInBlock(copy) && !isa<linalg::CopyOp>(top))
      return nullptr; // a view of the source used in between
  }
  Value v = fill.getInputs()[0];
  copy->erase();
  if (src.hasOneUse())
    fill->erase();
  return v;
}

void lower(linalg::LinalgOp op, int64_t rows) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  SmallVector<Range> ranges = op.createLoopRanges(b, loc);
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  int blocked = blockedDim(op, rows);
  if (blocked < 0)
    rows = 1;
  // Every bound as a value, before the loops that use them.
  SmallVector<Value> offsets, sizes, strides;
  for (Range &r : ranges) {
    offsets.push_back(getValueOrCreateConstantIndexOp(b, loc, r.offset));
    sizes.push_back(getValueOrCreateConstantIndexOp(b, loc, r.size));
    strides.push_back(getValueOrCreateConstantIndexOp(b, loc, r.stride));
  }
  SmallVector<Value> lbs, ubs, steps;
  SmallVector<unsigned> parallelDims, reductionDims;
  for (unsigned d = 0; d < iters.size(); ++d)
    (iters[d] == utils::IteratorType::parallel ? parallelDims : reductionDims).push_back(d);
  for (unsigned d : parallelDims) {
    lbs.push_back(offsets[d]);
    ubs.push_back(sizes[d]);
    steps.push_back((int)d == blocked
                        ? arith::MulIOp::create(b, loc, strides[d], arith::ConstantIndexOp::create(b, loc, rows))
                        : strides[d]);
  }
  Value init = constantInit(op);
  SmallVector<Value> ivs(iters.size());
  OpOperand *out = op.getDpsInitOperand(0);
  AffineMap outMap = op.getMatchingIndexingMap(out);
  Block &body = op->getRegion(0).front();

  // `rows` copies of the nest's work, the r-th at the blocked dim's index
  // plus r steps; the reduction loops carry one accumulator per copy.
  auto emitNest = [&](OpBuilder &pb, Location l) {
    Value zero = arith::ConstantIndexOp::create(pb, l, 0);
    for (unsigned d : reductionDims)
      ivs[d] = zero; // the output's indices do not use them
    SmallVector<SmallVector<Value>> rowIvs(rows, ivs);
    if (blocked >= 0)
      for (int64_t r = 1; r < rows; ++r) {
        Value delta = arith::MulIOp::create(pb, l, strides[blocked], arith::ConstantIndexOp::create(pb, l, r));
        rowIvs[r][blocked] = arith::AddIOp::create(pb, l, ivs[blocked], delta);
      }
    SmallVector<SmallVector<Value>> outIdx;
    SmallVector<Value> accs;
    for (int64_t r = 0; r < rows; ++r) {
      outIdx.push_back(indicesAt(pb, l, outMap, rowIvs[r]));
      accs.push_back(init ? init : memref::LoadOp::create(pb, l, out->get(), outIdx[r]).getResult());
    }
    // The reduction loops, outermost first, each carrying the accumulators.
    SmallVector<scf::ForOp> loops;
    OpBuilder ib = pb;
    for (unsigned d : reductionDims) {
      auto loop = scf::ForOp::create(ib, l, offsets[d], sizes[d], strides[d], accs);
      for (int64_t r = 0; r < rows; ++r)
        rowIvs[r][d] = loop.getInductionVar();
      accs.assign(loop.getRegionIterArgs().begin(), loop.getRegionIterArgs().end());
      if (!loops.empty()) {
        ib.setInsertionPointAfter(loop);
        scf::YieldOp::create(ib, l, loop.getResults());
      }
      loops.push_back(loop);
      ib.setInsertionPointToStart(loop.getBody());
    }
    SmallVector<Value> next;
    DenseMap<OpOperand *, Value> shared; // loads of the inputs the blocked dim does not index
    for (int64_t r = 0; r < rows; ++r) {
      IRMapping map;
      for (OpOperand *in : op.getDpsInputOperands()) {
        BlockArgument arg = body.getArgument(in->getOperandNumber());
        if (!isa<MemRefType>(in->get().getType())) {
          map.map(arg, in->get());
          continue;
        }
        // An input the blocked dim does not index is loaded once.
        AffineMap inMap = op.getMatchingIndexingMap(in);
        if (r > 0 && !inMap.isFunctionOfDim(blocked)) {
          map.map(arg, shared.lookup(in));
          continue;
        }
        Value v = memref::LoadOp::create(ib, l, in->get(), indicesAt(ib, l, inMap, rowIvs[r]));
        if (r == 0)
          shared[in] = v;
        map.map(arg, v);
      }
      map.map(body.getArgument(out->getOperandNumber()), accs[r]);
      for (Operation &inner : body.without_terminator()) {
        if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
          map.map(index.getResult(), rowIvs[r][index.getDim()]);
          continue;
        }
        ib.clone(inner, map);
      }
      next.push_back(map.lookupOrDefault(cast<linalg::YieldOp>(body.getTerminator()).getOperand(0)));
    }
    scf::YieldOp::create(ib, l, next);
    for (int64_t r = 0; r < rows; ++r)
      memref::StoreOp::create(pb, l, loops.front().getResult(r), out->get(), outIdx[r]);
  };

  if (parallelDims.empty()) {
    emitNest(b, loc);
  } else {
    auto par = scf::ParallelOp::create(b, loc, lbs, ubs, steps);
    for (auto [i, d] : llvm::enumerate(parallelDims))
      ivs[d] = par.getInductionVars()[i];
    OpBuilder pb = OpBuilder::atBlockBegin(par.getBody());
    emitNest(pb, loc);
  }
  op->erase();
}

struct LowerReductionsToLoopsPass : tern::impl::TernLowerReductionsToLoopsPassBase<LowerReductionsToLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (lowerable(op))
        ops.push_back(op);
    });
    for (linalg::LinalgOp op : ops)
      lower(op, rows);
  }
};

} // namespace
