//===- MapToGPU.cpp - @main's loop nests as GPU launches ------------------===//
//
// The NVPTX pipeline's first GPU step, on loops (linalg lowered by
// convert-linalg-to-parallel-loops): every top-level op of @main that
// touches memory becomes a gpu.launch; the host keeps allocations, views,
// index arithmetic and the return. A parallel loop nest runs one thread per
// iteration over its linearized iteration space, so consecutive threads
// take consecutive elements of the last dim (coalesced loads and stores);
// anything else that reads or writes memory runs in one thread.
//
//===----------------------------------------------------------------------===//

#include "lib/Codegen/EntryBuffers.h"
#include "passes/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace tern {
#define GEN_PASS_DEF_TERNMAPTOGPUPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {

/// Buffers are allocated and freed by the host (through the runtime's CUDA
/// layer), which also returns them.
bool isHostBufferOp(Operation &op) { return isa<memref::AllocOp, memref::DeallocOp, func::ReturnOp>(op); }

/// The buffers (roots of views) that some op in `f` writes.
DenseSet<Value> writtenBuffers(func::FuncOp f) {
  DenseSet<Value> written;
  f.walk([&](Operation *op) {
    auto effects = dyn_cast<MemoryEffectOpInterface>(op);
    if (!effects) {
      if (!op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
        for (Value v : op->getOperands()) // unknown effects: may write
          if (isa<MemRefType>(v.getType()))
            written.insert(tern::rootBuffer(v));
      return;
    }
    SmallVector<MemoryEffects::EffectInstance> list;
    effects.getEffects(list);
    for (auto &e : list)
      if (isa<MemoryEffects::Write>(e.getEffect()))
        if (Value v = e.getValue(); v && isa<MemRefType>(v.getType()))
          written.insert(tern::rootBuffer(v));
  });
  return written;
}

struct MapToGPUPass : tern::impl::TernMapToGPUPassBase<MapToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<func::FuncOp> entry = tern::entryFunction(module);
    if (failed(entry) || failed(tern::appendEntryBuffer(*entry, "__runtime")))
      return signalPassFailure();
    func::FuncOp main = *entry;

    // Device work in program order: a parallel loop nest alone, or a run of
    // other ops touching memory (with the pure ops computing on what they
    // load: a 0-d tensor's arithmetic) for one thread. Pure ops on host
    // values (views, index arithmetic) stay on the host and do not end a
    // run; allocation, deallocation and the return do.
    //
    // A scalar read from an argument of @main the model never writes (an
    // input, the weights; not the arena), and pure arithmetic on such reads
    // (Trilu's k), is re-read inside each launch that uses it instead.
    SmallVector<SmallVector<Operation *>> groups;
    SmallVector<Operation *> run, rereads;
    DenseSet<Value> written = writtenBuffers(main);
    DenseSet<Value> onDevice, reread;
    auto endRun = [&] {
      if (!run.empty())
        groups.push_back(std::move(run));
      run.clear();
    };
    for (Operation &op : main.getBody().front()) {
      auto load = dyn_cast<memref::LoadOp>(op);
      Value root = load ? tern::rootBuffer(load.getMemRef()) : Value();
      bool readOnly = load && isa<BlockArgument>(root) && !written.contains(root);
      bool fromReread = llvm::any_of(op.getOperands(), [&](Value v) { return reread.contains(v); });
      bool fromDevice = llvm::any_of(op.getOperands(), [&](Value v) { return onDevice.contains(v); });
      // (An index computed in a one-thread run cannot be re-read elsewhere.)
      if (!fromDevice && (readOnly || (fromReread && op.getNumRegions() == 0 && isMemoryEffectFree(&op)))) {
        rereads.push_back(&op);
        for (Value r : op.getResults())
          reread.insert(r);
        continue;
      }
      fromDevice |= fromReread;
      if (isHostBufferOp(op)) {
        if (fromDevice) {
          op.emitError("'") << op.getName()
                            << "' needs a value computed from tensor data on the host (a shape read from a "
                               "tensor); the GPU target does not support that yet: pin the input shapes "
                               "(ternc --input-shape)";
          return signalPassFailure();
        }
        endRun();
        continue;
      }
      if (isa<gpu::LaunchOp>(op)) { // a kernel of its own (tensor cores)
        endRun();
        continue;
      }
      if (isMemoryEffectFree(&op) && !fromDevice)
        continue;
      if (isa<memref::AllocaOp, memref::GetGlobalOp>(op)) {
        op.emitError("'") << op.getName() << "' at the top of @main has no place on the GPU";
        return signalPassFailure();
      }
      if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
        if (loop.getNumResults() != 0) {
          loop.emitError("a parallel loop with reductions is not supported on the GPU target");
          return signalPassFailure();
        }
        endRun();
        groups.push_back({&op});
        continue;
      }
      run.push_back(&op);
      for (Value r : op.getResults())
        onDevice.insert(r);
    }
    endRun();

    for (SmallVector<Operation *> &group : groups) {
      llvm::SmallPtrSet<Operation *, 8> members(group.begin(), group.end());
      for (Operation *op : group)
        for (Value r : op->getResults())
          for (Operation *user : r.getUsers())
            if (!members.contains(user)) {
              user->emitError("'") << user->getName()
                                   << "' uses a value computed on the GPU outside its kernel; the GPU target "
                                      "does not support that yet";
              return signalPassFailure();
            }
      if (auto loop = dyn_cast<scf::ParallelOp>(group.front()); loop && group.size() == 1)
        launchLoop(loop);
      else
        launchSingle(group);
    }
    if (failed(rereadInLaunches(rereads)))
      return signalPassFailure();
  }

  /// Clones the re-read ops into each launch using them (at its start, in
  /// program order) and erases the originals; fails if the host still needs
  /// one of them.
  LogicalResult rereadInLaunches(ArrayRef<Operation *> rereads) {
    for (Operation *op : llvm::reverse(rereads)) {
      DenseMap<Operation *, Operation *> clones; // launch -> clone in it
      for (OpOperand &use : llvm::make_early_inc_range(op->getUses())) {
        auto launch = use.getOwner()->getParentOfType<gpu::LaunchOp>();
        if (!launch)
          return use.getOwner()->emitError("'")
                 << use.getOwner()->getName()
                 << "' needs a value computed from tensor data on the host; the GPU target does not support "
                    "that yet";
        Operation *&clone = clones[launch];
        if (!clone) {
          OpBuilder b = OpBuilder::atBlockBegin(&launch.getBody().front());
          clone = b.clone(*op);
        }
        use.set(clone->getResult(cast<OpResult>(use.get()).getResultNumber()));
      }
      op->erase();
    }
    return success();
  }

  /// A launch of `grid` blocks of `block` threads (x only; null: 1) at the
  /// builder; returns it with the builder at its body's start.
  gpu::LaunchOp createLaunch(OpBuilder &b, Location loc, Value grid, Value block) {
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    grid = grid ? grid : one;
    block = block ? block : one;
    auto launch = gpu::LaunchOp::create(b, loc, grid, one, one, block, one, one);
    b.setInsertionPointToStart(&launch.getBody().front());
    return launch;
  }

  /// One thread runs `ops` in order, launched where the last of them was
  /// (the host values they use are all defined by then).
  void launchSingle(ArrayRef<Operation *> ops) {
    OpBuilder b(ops.back());
    Location loc = ops.front()->getLoc();
    createLaunch(b, loc, nullptr, nullptr);
    auto terminator = gpu::TerminatorOp::create(b, loc);
    for (Operation *op : ops)
      op->moveBefore(terminator);
  }

  void launchLoop(scf::ParallelOp loop) {
    OpBuilder b(loop);
    Location loc = loop.getLoc();
    // Iterations per dim and in all (index arithmetic, folded when static).
    SmallVector<Value> counts;
    Value total = arith::ConstantIndexOp::create(b, loc, 1);
    for (unsigned d = 0; d < loop.getNumLoops(); ++d) {
      Value span = arith::SubIOp::create(b, loc, loop.getUpperBound()[d], loop.getLowerBound()[d]);
      Value count = arith::CeilDivSIOp::create(b, loc, span, loop.getStep()[d]);
      count = arith::MaxSIOp::create(b, loc, count, arith::ConstantIndexOp::create(b, loc, 0));
      counts.push_back(count);
      total = arith::MulIOp::create(b, loc, total, count);
    }
    Value blockSizeV = arith::ConstantIndexOp::create(b, loc, blockSize);
    // An empty nest still launches one (idle) block: a grid needs one.
    Value blocks = arith::CeilDivSIOp::create(b, loc, total, blockSizeV);
    blocks = arith::MaxSIOp::create(b, loc, blocks, arith::ConstantIndexOp::create(b, loc, 1));
    auto launch = createLaunch(b, loc, blocks, blockSizeV);

    Value id = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, launch.getBlockSizeX()),
        launch.getThreadIds().x);
    Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, id, total);
    auto guard = scf::IfOp::create(b, loc, inRange, /*withElseRegion=*/false);
    gpu::TerminatorOp::create(b, loc);

    b.setInsertionPointToStart(&guard.getThenRegion().front());
    IRMapping map;
    Value rest = id;
    for (int d = loop.getNumLoops() - 1; d >= 0; --d) {
      Value index = d == 0 ? rest : arith::RemUIOp::create(b, loc, rest, counts[d]).getResult();
      if (d > 0)
        rest = arith::DivUIOp::create(b, loc, rest, counts[d]);
      Value iv = arith::AddIOp::create(b, loc, loop.getLowerBound()[d],
                                       arith::MulIOp::create(b, loc, index, loop.getStep()[d]));
      map.map(loop.getInductionVars()[d], iv);
    }
    for (Operation &op : loop.getBody()->without_terminator())
      b.clone(op, map);
    loop.erase();
  }
};

} // namespace
