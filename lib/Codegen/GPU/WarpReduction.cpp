//===- WarpReduction.cpp - a warp per output of a reduction ---------------===//
//
//   warp w of the grid (4 a block) computes output w, if there is one:
//     acc = the combiner's identity
//     for r = lane; r < R; r += 32: acc = body(acc, inputs at (output, r))
//     for s = 16, 8, 4, 2, 1: acc = combine(acc, shuffle_xor(acc, s))
//     lane 0: emitResult(combine(start, acc))
//
// The lanes' order of combination differs from the sequential one (a sum
// is reassociated), as any parallel reduction's does.
//
//===----------------------------------------------------------------------===//

#include "lib/Codegen/GPU/WarpReduction.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

#include <limits>

using namespace mlir;

namespace tern {
namespace {

constexpr int64_t kWarp = 32, kWarpsPerBlock = 4;

} // namespace

std::optional<float> identityOf(Operation *combine) {
  if (isa<arith::AddFOp>(combine))
    return 0.0f;
  if (isa<arith::MaximumFOp, arith::MaxNumFOp>(combine))
    return -std::numeric_limits<float>::infinity();
  if (isa<arith::MinimumFOp, arith::MinNumFOp>(combine))
    return std::numeric_limits<float>::infinity();
  return std::nullopt;
}

WarpLaunch emitWarpLaunch(OpBuilder &b, Location loc, Value blocks, int64_t lanes, int64_t warps) {
  auto idx = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(b, loc, v); };
  Value one = idx(1);
  auto launch = gpu::LaunchOp::create(b, loc, blocks, one, one, idx(lanes * warps), one, one);
  Block &kernel = launch.getBody().front();
  b.setInsertionPointToStart(&kernel);
  gpu::TerminatorOp::create(b, loc);
  b.setInsertionPointToStart(&kernel);
  Value tid = launch.getThreadIds().x;
  Value lane = lanes == 1 ? idx(0) : arith::RemUIOp::create(b, loc, tid, idx(lanes)).getResult();
  Value warp = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, idx(warps)),
                                     arith::DivUIOp::create(b, loc, tid, idx(lanes)));
  return {launch, lane, warp};
}

Value combineAcrossLanes(OpBuilder &b, Location loc, Value acc, Operation *combine, int64_t lanes) {
  for (int64_t shift = lanes / 2; shift >= 1; shift /= 2) {
    Value other =
        gpu::ShuffleOp::create(b, loc, acc, static_cast<int32_t>(shift), static_cast<int32_t>(lanes), gpu::ShuffleMode::XOR)
            .getShuffleResult();
    IRMapping map;
    map.map(combine->getOperand(0), acc);
    map.map(combine->getOperand(1), other);
    acc = b.clone(*combine, map)->getResult(0);
  }
  return acc;
}

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

SmallVector<Value> delinearize(OpBuilder &b, Location loc, Value linear, ArrayRef<int64_t> extents) {
  SmallVector<Value> idx(extents.size());
  for (int d = extents.size() - 1; d >= 0; --d) {
    Value extent = arith::ConstantIndexOp::create(b, loc, extents[d]);
    idx[d] = d == 0 ? linear : arith::RemUIOp::create(b, loc, linear, extent).getResult();
    if (d > 0)
      linear = arith::DivUIOp::create(b, loc, linear, extent);
  }
  return idx;
}

Operation *matchWarpReduction(linalg::LinalgOp op, int64_t minExtent) {
  if (!op.hasPureBufferSemantics() || op.getNumReductionLoops() != 1 || op.getNumDpsInits() != 1 ||
      op->getNumRegions() != 1)
    return nullptr;
  OpOperand *out = op.getDpsInitOperand(0);
  auto outType = dyn_cast<MemRefType>(out->get().getType());
  if (!outType || !outType.getElementType().isF32())
    return nullptr;
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  unsigned r = 0;
  while (iters[r] != utils::IteratorType::reduction)
    ++r;
  int64_t extent = op.getStaticLoopRanges()[r];
  if (!ShapedType::isDynamic(extent) && extent < minExtent)
    return nullptr;
  // Every output reads its own inputs: no input is shared across outputs
  // (a matmul's are; it has kernels of its own).
  for (OpOperand *in : op.getDpsInputOperands()) {
    if (!isa<MemRefType>(in->get().getType()))
      continue;
    AffineMap map = op.getMatchingIndexingMap(in);
    for (unsigned d = 0; d < iters.size(); ++d)
      if (iters[d] == utils::IteratorType::parallel && !map.isFunctionOfDim(d))
        return nullptr;
  }
  Block &body = op->getRegion(0).front();
  BlockArgument outArg = body.getArgument(out->getOperandNumber());
  Operation *combine = body.getTerminator()->getOperand(0).getDefiningOp();
  if (!combine || combine->getBlock() != &body || combine->getNumOperands() != 2 || !identityOf(combine) ||
      !outArg.hasOneUse() || outArg.getUses().begin()->getOwner() != combine)
    return nullptr;
  return combine;
}

void emitWarpReduction(OpBuilder &b, Location loc, linalg::LinalgOp op, Operation *combine, Value init,
                       llvm::function_ref<void(OpBuilder &, Location, ArrayRef<Value>, Value)> emitResult) {
  auto idx = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(b, loc, v); };
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  SmallVector<Value> sizes;
  for (Range &range : op.createLoopRanges(b, loc))
    sizes.push_back(getValueOrCreateConstantIndexOp(b, loc, range.size));
  SmallVector<unsigned> parallel;
  unsigned r = 0;
  for (unsigned d = 0; d < iters.size(); ++d)
    (iters[d] == utils::IteratorType::parallel ? (void)parallel.push_back(d) : (void)(r = d));
  Value outputs = idx(1);
  for (unsigned d : parallel)
    outputs = arith::MulIOp::create(b, loc, outputs, sizes[d]);
  Value blocks = arith::CeilDivUIOp::create(b, loc, outputs, idx(kWarpsPerBlock));
  blocks = arith::MaxUIOp::create(b, loc, blocks, idx(1));
  OpBuilder::InsertionGuard scope(b);
  auto [launch, lane, warp] = emitWarpLaunch(b, loc, blocks, kWarp, kWarpsPerBlock);
  auto guard = scf::IfOp::create(b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, warp, outputs),
                                 /*withElseRegion=*/false);
  b.setInsertionPointToStart(&guard.getThenRegion().front());
  SmallVector<Value> ivs(iters.size());
  Value rest = warp;
  for (unsigned d : llvm::reverse(parallel)) {
    ivs[d] = arith::RemUIOp::create(b, loc, rest, sizes[d]);
    rest = arith::DivUIOp::create(b, loc, rest, sizes[d]);
  }

  Type f32 = b.getF32Type();
  Value identity = arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f32), APFloat(*identityOf(combine)));
  Block &body = op->getRegion(0).front();
  OpOperand *out = op.getDpsInitOperand(0);
  auto loop = scf::ForOp::create(b, loc, lane, sizes[r], idx(kWarp), ValueRange{identity});
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> at = ivs;
    at[r] = loop.getInductionVar();
    IRMapping map;
    for (OpOperand *in : op.getDpsInputOperands()) {
      BlockArgument arg = body.getArgument(in->getOperandNumber());
      if (!isa<MemRefType>(in->get().getType()))
        map.map(arg, in->get());
      else
        map.map(arg, memref::LoadOp::create(b, loc, in->get(), indicesAt(b, loc, op.getMatchingIndexingMap(in), at)));
    }
    map.map(body.getArgument(out->getOperandNumber()), loop.getRegionIterArgs()[0]);
    for (Operation &o : body.without_terminator()) {
      if (auto index = dyn_cast<linalg::IndexOp>(o)) {
        map.map(index.getResult(), at[index.getDim()]);
        continue;
      }
      b.clone(o, map);
    }
    scf::YieldOp::create(b, loc, map.lookupOrDefault(body.getTerminator()->getOperand(0)));
  }
  auto combined = [&](Value x, Value y) {
    IRMapping map;
    map.map(combine->getOperand(0), x);
    map.map(combine->getOperand(1), y);
    return b.clone(*combine, map)->getResult(0);
  };
  Value acc = combineAcrossLanes(b, loc, loop.getResult(0), combine, kWarp);
  auto first = scf::IfOp::create(b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, idx(0)),
                                 /*withElseRegion=*/false);
  b.setInsertionPointToStart(&first.getThenRegion().front());
  SmallVector<Value> outIdx = indicesAt(b, loc, op.getMatchingIndexingMap(out), ivs);
  Value start = init ? init : memref::LoadOp::create(b, loc, out->get(), outIdx).getResult();
  emitResult(b, loc, outIdx, combined(start, acc));
}

} // namespace tern
