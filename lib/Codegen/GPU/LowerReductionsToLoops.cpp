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

#include "lib/Codegen/GPU/TensorCoreMatmul.h"
#include "lib/Codegen/GPU/WarpReduction.h"
#include "passes/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace tern {
#define GEN_PASS_DEF_TERNLOWERREDUCTIONSTOLOOPSPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {

using tern::indicesAt;

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
    if (isa_and_nonnull<memref::ExpandShapeOp, memref::CollapseShapeOp, memref::CastOp>(def))
      v = def->getOperand(0);
    else if (auto view = dyn_cast_or_null<ViewLikeOpInterface>(def))
      v = view.getViewSource();
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

/// The bytes of memory a buffer value covers: (root buffer, first, end),
/// end -1 for "to the root's end"; none when unknown (a subview...).
struct Region {
  Value root;
  int64_t begin = 0, end = -1;
};
std::optional<Region> regionOf(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (isa<memref::ExpandShapeOp, memref::CollapseShapeOp, memref::CastOp>(def)) {
      v = def->getOperand(0);
      continue;
    }
    if (auto view = dyn_cast<memref::ViewOp>(def)) {
      auto t = view.getType();
      std::optional<int64_t> offset = getConstantIntValue(view.getByteShift());
      if (!offset || !t.hasStaticShape() || !t.getElementType().isIntOrFloat())
        return std::nullopt;
      int64_t bytes = t.getNumElements() * ((t.getElementTypeBitWidth() + 7) / 8);
      return Region{view.getSource(), *offset, *offset + bytes};
    }
    if (isa<memref::AllocOp>(def))
      return Region{v, 0, -1};
    return std::nullopt;
  }
  return Region{v, 0, -1}; // an argument
}
bool mayOverlap(Value a, Value b) {
  std::optional<Region> x = regionOf(a), y = regionOf(b);
  if (!x || !y)
    return true;
  if (x->root != y->root)
    return false;
  auto before = [](const Region &p, const Region &q) { return p.end >= 0 && p.end <= q.begin; };
  return !(before(*x, *y) || before(*y, *x));
}

/// Is `v` the buffer `root` seen through reshapes only?
bool reshapeOf(Value v, Value root) {
  while (v != root) {
    Operation *def = v.getDefiningOp();
    if (!isa_and_nonnull<memref::ExpandShapeOp, memref::CollapseShapeOp>(def))
      return false;
    v = def->getOperand(0);
  }
  return true;
}

/// An elementwise op right after `op` that reads `op`'s output element by
/// element (through a reshape at most, in any order of its dims: attention's
/// output transposed back to [seq, heads, dim]) and can run in `op`'s loop
/// nest as each output is produced: same number of elements, a permutation
/// map for that read and identity maps for the rest, static identity
/// layouts, and its output apart from every buffer `op` reads.
linalg::GenericOp epilogueOf(linalg::LinalgOp op) {
  Value out = op.getDpsInitOperand(0)->get();
  auto outType = dyn_cast<MemRefType>(out.getType());
  if (!outType || !outType.hasStaticShape() || !outType.getLayout().isIdentity())
    return nullptr;
  Operation *next = op->getNextNode();
  while (next && isMemoryEffectFree(next))
    next = next->getNextNode();
  auto e = dyn_cast_or_null<linalg::GenericOp>(next);
  if (!e || !e.hasPureBufferSemantics() || e.getNumDpsInits() != 1 || e.getNumReductionLoops() != 0 ||
      e.getNumLoops() == 0)
    return nullptr;
  Value eOut = e.getDpsInitOperand(0)->get();
  auto eType = dyn_cast<MemRefType>(eOut.getType());
  if (!eType || !eType.hasStaticShape() || !eType.getLayout().isIdentity() ||
      eType.getNumElements() != outType.getNumElements() ||
      !e.getMatchingIndexingMap(e.getDpsInitOperand(0)).isIdentity() || e.payloadUsesValueFromOperand(e.getDpsInitOperand(0)))
    return nullptr;
  int reads = 0;
  for (OpOperand *in : e.getDpsInputOperands()) {
    if (!isa<MemRefType>(in->get().getType()))
      continue;
    if (reshapeOf(in->get(), out)) {
      auto viewType = dyn_cast<MemRefType>(in->get().getType());
      if (!e.getMatchingIndexingMap(in).isPermutation() || !viewType || !viewType.hasStaticShape())
        return nullptr;
      ++reads;
    } else if (mayOverlap(in->get(), out)) {
      return nullptr;
    }
  }
  if (reads != 1 || mayOverlap(eOut, out))
    return nullptr;
  for (OpOperand *in : op.getDpsInputOperands())
    if (isa<MemRefType>(in->get().getType()) && mayOverlap(eOut, in->get()))
      return nullptr;
  for (int64_t extent : e.getStaticLoopRanges())
    if (ShapedType::isDynamic(extent))
      return nullptr;
  return e;
}

/// Runs the epilogue `e` on the output element `value` at `outIdx` of
/// `op`'s output (shape `outShape`), inside `op`'s nest.
void emitEpilogue(OpBuilder &b, Location loc, linalg::GenericOp e, Value out, ArrayRef<int64_t> outShape,
                  ArrayRef<Value> outIdx, Value value) {
  // The element's index in the view of the output `e` reads: the same
  // linear index; its point in `e`'s iteration space through the view's
  // (permutation) map.
  OpOperand *read = nullptr;
  for (OpOperand *in : e.getDpsInputOperands())
    if (isa<MemRefType>(in->get().getType()) && reshapeOf(in->get(), out))
      read = in;
  Value linear = arith::ConstantIndexOp::create(b, loc, 0);
  for (auto [i, idx] : llvm::enumerate(outIdx))
    linear = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, linear,
                                                                  arith::ConstantIndexOp::create(b, loc, outShape[i])),
                                   idx);
  ArrayRef<int64_t> viewShape = cast<MemRefType>(read->get().getType()).getShape();
  AffineMap readMap = e.getMatchingIndexingMap(read);
  SmallVector<Value> ivs(e.getNumLoops());
  for (auto [j, idx] : llvm::enumerate(tern::delinearize(b, loc, linear, viewShape)))
    ivs[readMap.getDimPosition(j)] = idx;
  Block &body = e.getRegion().front();
  IRMapping map;
  for (OpOperand *in : e.getDpsInputOperands()) {
    BlockArgument arg = body.getArgument(in->getOperandNumber());
    if (!isa<MemRefType>(in->get().getType()))
      map.map(arg, in->get());
    else if (reshapeOf(in->get(), out))
      map.map(arg, value);
    else
      map.map(arg, memref::LoadOp::create(b, loc, in->get(), indicesAt(b, loc, e.getMatchingIndexingMap(in), ivs)));
  }
  for (Operation &inner : body.without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
      map.map(index.getResult(), ivs[index.getDim()]);
      continue;
    }
    b.clone(inner, map);
  }
  Value result = map.lookupOrDefault(cast<linalg::YieldOp>(body.getTerminator()).getOperand(0));
  memref::StoreOp::create(b, loc, result, e.getDpsInitOperand(0)->get(), ivs);
}

/// Is the buffer `out` read after `op` other than by `e`?
bool readAfter(Operation *op, linalg::GenericOp e, Value out) {
  for (Operation *p = op->getNextNode(); p; p = p->getNextNode()) {
    if (p == e.getOperation() || isMemoryEffectFree(p))
      continue;
    if (touches(p, out))
      return true;
  }
  return op->getBlock()->getTerminator() && touches(op->getBlock()->getTerminator(), out);
}

void lower(linalg::LinalgOp op, int64_t rows, bool tensorCores, bool warpReductions) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  std::optional<tern::MmaContraction> mma = tensorCores ? tern::matchMmaContraction(op) : std::nullopt;
  Operation *combine = !mma && warpReductions ? tern::matchWarpReduction(op) : nullptr;
  if (int64_t splits = mma ? tern::mmaSplits(*mma) : 1; splits > 1) {
    // The blocks' partial sums add up in the output: its start (a fill)
    // and whatever comes after (an epilogue) stay ops of their own.
    tern::emitMmaKernel(b, loc, *mma, /*init=*/nullptr, splits, {});
    op->erase();
    return;
  }
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
  linalg::GenericOp epilogue = epilogueOf(op);
  if (epilogue) {
    // The pure ops between the two (views of the epilogue's operands) move
    // before the nest that uses them, in order.
    SmallVector<Operation *> between;
    for (Operation *p = op->getNextNode(); p != epilogue.getOperation(); p = p->getNextNode())
      between.push_back(p);
    for (Operation *p : between)
      p->moveBefore(op);
  }
  bool storeOutput = !epilogue || readAfter(op, epilogue, op.getDpsInitOperand(0)->get());
  SmallVector<Value> ivs(iters.size());
  OpOperand *out = op.getDpsInitOperand(0);
  AffineMap outMap = op.getMatchingIndexingMap(out);
  Block &body = op->getRegion(0).front();

  auto emitResult = [&](OpBuilder &eb, Location l, ArrayRef<Value> outIdx, Value value) {
    if (storeOutput)
      memref::StoreOp::create(eb, l, value, out->get(), outIdx);
    if (epilogue)
      emitEpilogue(eb, l, epilogue, out->get(), cast<MemRefType>(out->get().getType()).getShape(), outIdx, value);
  };
  if (mma || combine) {
    if (mma)
      tern::emitMmaKernel(b, loc, *mma, init, /*splits=*/1, emitResult);
    else
      tern::emitWarpReduction(b, loc, op, combine, init, emitResult);
    op->erase();
    if (epilogue)
      epilogue->erase();
    return;
  }

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
      emitResult(pb, l, outIdx[r], loops.front().getResult(r));
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
  if (epilogue)
    epilogue->erase();
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
      lower(op, rows, tensorCores, warpReductions);
  }
};

} // namespace
