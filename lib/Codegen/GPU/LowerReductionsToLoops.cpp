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
      accs.push_back(memref::LoadOp::create(pb, l, out->get(), outIdx[r]));
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
