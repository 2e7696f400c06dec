//===- OutlineParallelLoops.cpp - parallel loops as thread-pool tasks -----===//

#include "lib/Codegen/EntryBuffers.h"
#include "passes/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/StringExtras.h"

namespace tern {
#define GEN_PASS_DEF_TERNOUTLINEPARALLELLOOPSPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {

/// Iterations of a dim that keep the pool's threads busy.
constexpr int64_t kEnoughTasks = 16;

std::optional<int64_t> constantIndex(Value v) {
  if (auto c = v.getDefiningOp<arith::ConstantIndexOp>())
    return c.value();
  return std::nullopt;
}

int64_t tripCount(Value lb, Value ub, Value step, bool &dynamic) {
  auto l = constantIndex(lb), u = constantIndex(ub), st = constantIndex(step);
  if (!l || !u || !st || *st <= 0) {
    dynamic = true;
    return 1;
  }
  return std::max<int64_t>(1, (*u - *l + *st - 1) / *st);
}

/// Iterations of the innermost loop bodies in `region` (a vector op counts
/// as one per lane), saturating; sets `dynamic` when a trip count is not a
/// constant.
int64_t regionWork(Region &region, bool &dynamic) {
  const int64_t cap = int64_t(1) << 40;
  int64_t sum = 0;
  for (Block &block : region)
    for (Operation &op : block) {
      int64_t w = 0;
      if (auto f = dyn_cast<scf::ForOp>(op)) {
        w = tripCount(f.getLowerBound(), f.getUpperBound(), f.getStep(), dynamic) *
            std::max<int64_t>(1, regionWork(f.getRegion(), dynamic));
      } else if (auto p = dyn_cast<scf::ParallelOp>(op)) {
        w = std::max<int64_t>(1, regionWork(p.getRegion(), dynamic));
        for (unsigned d = 0; d < p.getNumLoops(); ++d)
          w = std::min(cap, w * tripCount(p.getLowerBound()[d], p.getUpperBound()[d], p.getStep()[d], dynamic));
      } else if (op.getNumRegions() > 0) {
        for (Region &r : op.getRegions())
          w = std::max(w, regionWork(r, dynamic));
      } else if (op.getNumResults() == 1) {
        // A vector op does a scalar iteration's work per lane (a matmul
        // kernel's k step is hundreds of multiply-adds).
        if (auto v = dyn_cast<VectorType>(op.getResult(0).getType()))
          w = v.getNumElements();
      }
      sum = std::min(cap, sum + w);
    }
  return sum;
}

struct OutlineParallelLoopsPass : tern::impl::TernOutlineParallelLoopsPassBase<OutlineParallelLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<func::FuncOp> entry = tern::entryFunction(module);
    if (failed(entry) || failed(tern::appendEntryBuffer(*entry, "__runtime")))
      return signalPassFailure();
    func::FuncOp main = *entry;
    OpBuilder b(&getContext());

    SmallVector<scf::ParallelOp> loops;
    for (Operation &op : main.getBody().front())
      if (auto p = dyn_cast<scf::ParallelOp>(&op))
        loops.push_back(p);
    int counter = 0;
    for (scf::ParallelOp loop : loops) {
      // Pick the dim with the most iterations among those that start at 0
      // with a constant step; the task gets a range of its iteration numbers.
      // The innermost dim of several (a linalg op's loops: the one its
      // buffers run along) only when no other has enough iterations for
      // the threads: split there, each task's rows were slices of a few
      // elements, not vectorized, and two threads wrote the same cache
      // lines (a [1, 56, 56, 256] requantization split along its 256
      // channels ran 5.6x slower on two threads than on one).
      bool dynamic = false;
      int64_t total = 1, best = -1, bestCount = 0;
      unsigned loops = loop.getNumLoops();
      for (unsigned d = 0; d < loops; ++d) {
        auto lb = constantIndex(loop.getLowerBound()[d]), step = constantIndex(loop.getStep()[d]);
        auto ub = constantIndex(loop.getUpperBound()[d]);
        int64_t count = std::numeric_limits<int64_t>::max();
        if (ub && lb && step && *step > 0)
          count = std::max<int64_t>(0, (*ub - *lb + *step - 1) / *step);
        else
          dynamic = true;
        total = count == std::numeric_limits<int64_t>::max() ? total : total * std::max<int64_t>(count, 1);
        bool last = loops > 1 && d + 1 == loops;
        if (lb == 0 && step && *step > 0 && count > bestCount && (!last || bestCount < kEnoughTasks)) {
          bestCount = count;
          best = d;
        }
      }
      // The work is the whole nest's: inner loops (a matmul's k under its
      // parallel panels) multiply, loops side by side add, and a branch
      // counts as its larger side.
      total *= std::max<int64_t>(1, regionWork(loop.getRegion(), dynamic));
      if (best < 0 || bestCount < 2 || (!dynamic && total < minIterations))
        continue;
      // A best dim whose size is known only at run time (a batch of
      // images, usually 1) pairs with the dim with most iterations among
      // the others that are static: the tasks share the pair's iterations
      // counted as one (image x panels), so a single image still feeds
      // every thread.
      int64_t partner = -1, partnerCount = 0;
      if (!constantIndex(loop.getUpperBound()[best]) && loop.getInitVals().empty())
        for (unsigned d = 0; d < loops; ++d) {
          auto lb = constantIndex(loop.getLowerBound()[d]), step = constantIndex(loop.getStep()[d]);
          auto ub = constantIndex(loop.getUpperBound()[d]);
          if (d == (unsigned)best || lb != 0 || !step || *step <= 0 || !ub)
            continue;
          int64_t count = (*ub + *step - 1) / *step;
          // The innermost dim only in a nest of two (a kernel's images x
          // panels, each iteration a whole panel) and with enough
          // iterations of its own. Elsewhere its iterations are an
          // elementwise op's row, which must stay the innermost loop for
          // LLVM to vectorize: a channels-last requantization paired with
          // its channels ran 6-17x slower, not vectorized; a row of 4
          // would be cut for little gain.
          bool last = d + 1 == loops;
          if (count >= 2 && count > partnerCount && (!last || (loops == 2 && count >= kEnoughTasks))) {
            partnerCount = count;
            partner = d;
          }
        }
      // Values the loop reads from outside; constants are re-created inside.
      llvm::SetVector<Value> captured;
      getUsedValuesDefinedAbove(loop.getRegion(), captured);
      for (ValueRange bounds : {loop.getLowerBound(), loop.getUpperBound(), loop.getStep()})
        for (Value v : bounds)
          captured.insert(v);
      SmallVector<Value> args;
      for (Value v : captured)
        if (!v.getDefiningOp<arith::ConstantOp>())
          args.push_back(v);

      SmallVector<Type> types{b.getIndexType(), b.getIndexType()};
      for (Value v : args)
        types.push_back(v.getType());
      b.setInsertionPoint(main);
      auto task = func::FuncOp::create(b, loop.getLoc(), ("__tern_task_" + Twine(counter++) + tern::nodeSuffix(loop.getLoc())).str(),
                                       b.getFunctionType(types, {}));
      task.setPrivate();
      Block *entry = task.addEntryBlock();
      OpBuilder tb = OpBuilder::atBlockBegin(entry);
      IRMapping map;
      for (auto [v, arg] : llvm::zip(args, entry->getArguments().drop_front(2)))
        map.map(v, arg);
      for (Value v : captured)
        if (auto c = v.getDefiningOp<arith::ConstantOp>())
          map.map(v, tb.clone(*c)->getResult(0));
      if (partner >= 0)
        outlinePair(tb, loop, map, entry, best, partner);
      else
        outlineDim(tb, loop, map, entry, best);
      func::ReturnOp::create(tb, loop.getLoc());

      b.setInsertionPoint(loop);
      Value count = tripCountValue(b, loop, best);
      if (partner >= 0)
        count = arith::MulIOp::create(b, loop.getLoc(), count, tripCountValue(b, loop, partner));
      SmallVector<Value> callArgs{arith::ConstantIndexOp::create(b, loop.getLoc(), 0), count};
      callArgs.append(args);
      func::CallOp::create(b, loop.getLoc(), task, callArgs);
      loop.erase();
    }
    hoistStackAllocations(module);
  }

  /// The task's loop for dim `best` split: its iterations [lo, hi) of that
  /// dim, the others whole.
  static void outlineDim(OpBuilder &tb, scf::ParallelOp loop, IRMapping &map, Block *entry, unsigned best) {
    int64_t stride = *constantIndex(loop.getStep()[best]);
    SmallVector<Value> lbs, ubs, steps;
    for (unsigned d = 0; d < loop.getNumLoops(); ++d) {
      if (d != best) {
        lbs.push_back(map.lookup(loop.getLowerBound()[d]));
        ubs.push_back(map.lookup(loop.getUpperBound()[d]));
      } else if (stride == 1) {
        lbs.push_back(entry->getArgument(0));
        ubs.push_back(entry->getArgument(1));
      } else {
        // Iterations [lo, hi) are values [lo * step, min(hi * step, ub)).
        Value s = arith::ConstantIndexOp::create(tb, loop.getLoc(), stride);
        lbs.push_back(arith::MulIOp::create(tb, loop.getLoc(), entry->getArgument(0), s));
        Value hi = arith::MulIOp::create(tb, loop.getLoc(), entry->getArgument(1), s);
        ubs.push_back(arith::MinSIOp::create(tb, loop.getLoc(), hi, map.lookup(loop.getUpperBound()[d])));
      }
      steps.push_back(map.lookup(loop.getStep()[d]));
    }
    auto inner = scf::ParallelOp::create(tb, loop.getLoc(), lbs, ubs, steps);
    // Replace the new loop's empty body with a copy of the original one.
    inner.getRegion().getBlocks().clear();
    loop.getRegion().cloneInto(&inner.getRegion(), map);
  }

  /// Iterations of `loop`'s dim `d` (which starts at 0 with a positive
  /// constant step), as a value built at `b`; `map` maps the bounds where
  /// they were captured.
  static Value tripCountValue(OpBuilder &b, scf::ParallelOp loop, unsigned d, const IRMapping *map = nullptr) {
    Location loc = loop.getLoc();
    Value ub = loop.getUpperBound()[d];
    if (map)
      ub = map->lookupOrDefault(ub);
    int64_t step = *constantIndex(loop.getStep()[d]);
    if (auto c = constantIndex(loop.getUpperBound()[d]))
      return arith::ConstantIndexOp::create(b, loc, (*c + step - 1) / step);
    if (step == 1)
      return ub;
    return arith::CeilDivSIOp::create(b, loc, ub, arith::ConstantIndexOp::create(b, loc, step));
  }

  /// The task's loop for a pair of dims `x` and `y` split as one: its
  /// iterations [lo, hi) number the pair's in the order of the dims
  /// (the outer one's iteration times the inner one's count plus the
  /// inner one's), the other dims run whole.
  static void outlinePair(OpBuilder &tb, scf::ParallelOp loop, IRMapping &map, Block *entry, unsigned x, unsigned y) {
    Location loc = loop.getLoc();
    unsigned outer = std::min(x, y), inner = std::max(x, y);
    Value innerCount = tripCountValue(tb, loop, inner, &map);
    SmallVector<Value> lbs, ubs, steps;
    for (unsigned d = 0; d < loop.getNumLoops(); ++d) {
      if (d == inner)
        continue;
      if (d == outer) {
        lbs.push_back(entry->getArgument(0));
        ubs.push_back(entry->getArgument(1));
        steps.push_back(arith::ConstantIndexOp::create(tb, loc, 1));
        continue;
      }
      lbs.push_back(map.lookup(loop.getLowerBound()[d]));
      ubs.push_back(map.lookup(loop.getUpperBound()[d]));
      steps.push_back(map.lookup(loop.getStep()[d]));
    }
    Block &body = loop.getRegion().front();
    scf::ParallelOp::create(tb, loc, lbs, ubs, steps, [&](OpBuilder &nb, Location l, ValueRange ivs) {
      IRMapping bodyMap = map;
      unsigned next = 0;
      for (unsigned d = 0; d < loop.getNumLoops(); ++d) {
        if (d == inner)
          continue;
        if (d != outer) {
          bodyMap.map(body.getArgument(d), ivs[next++]);
          continue;
        }
        Value linear = ivs[next++];
        Value o = arith::DivUIOp::create(nb, l, linear, innerCount);
        Value i = arith::RemUIOp::create(nb, l, linear, innerCount);
        auto scaled = [&](Value iv, unsigned dim) -> Value {
          int64_t step = *constantIndex(loop.getStep()[dim]);
          return step == 1 ? iv : arith::MulIOp::create(nb, l, iv, arith::ConstantIndexOp::create(nb, l, step));
        };
        bodyMap.map(body.getArgument(outer), scaled(o, outer));
        bodyMap.map(body.getArgument(inner), scaled(i, inner));
      }
      for (Operation &op : body.without_terminator())
        nb.clone(op, bodyMap);
    });
  }

  /// Stack allocations inside loops (an attention tile's scratch, made
  /// allocas by tern-plan-memory) move to the entry block of their function:
  /// left in a loop, each iteration would grow the stack. A loop body's
  /// allocation is fresh per iteration, so one allocation reused by the
  /// iterations a task runs (one thread's) is equivalent.
  static void hoistStackAllocations(ModuleOp module) {
    module.walk([](func::FuncOp f) {
      if (f.isExternal())
        return;
      Block &entry = f.getBody().front();
      SmallVector<memref::AllocaOp> nested;
      f.walk([&](memref::AllocaOp a) {
        if (a->getBlock() != &entry && a->getNumOperands() == 0)
          nested.push_back(a);
      });
      for (memref::AllocaOp a : nested)
        a->moveBefore(&entry, entry.begin());
    });
  }
};

} // namespace
