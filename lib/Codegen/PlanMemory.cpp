//===- PlanMemory.cpp - one arena for @main's temporaries, by liveness ----===//
//
// @main is straight-line at its top level after bufferization (loops live
// inside the ops), so a buffer's lifetime is the span of top-level ops from
// its allocation to the last op that touches it or any view of it. Buffers
// of static size are then packed into one arena: largest first, each at the
// lowest 64-byte aligned offset free for its whole lifetime.
//
//===----------------------------------------------------------------------===//

#include "lib/Codegen/EntryBuffers.h"
#include "passes/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace tern {
#define GEN_PASS_DEF_TERNPLANMEMORYPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {

struct Buffer {
  memref::AllocOp alloc;
  int64_t begin = 0, end = 0, bytes = 0, offset = -1;
  bool returned = false;
};


/// Allocations inside a top-level loop of `body` (an attention tile's
/// scratch) belong to one iteration, and in a parallel loop to one thread:
/// they become stack allocations at the top of that loop's body
/// (tern-outline-parallel-loops then allocates them once per task).
/// Fails on one of dynamic or large size.
LogicalResult stackAllocateLoopTemporaries(Block &body) {
  constexpr int64_t kMaxStackBytes = 256 * 1024;
  for (Operation &top : body) {
    if (top.getNumRegions() == 0)
      continue;
    SmallVector<memref::AllocOp> allocs;
    top.walk([&](memref::AllocOp alloc) { allocs.push_back(alloc); });
    if (allocs.empty())
      continue;
    if (top.getNumRegions() != 1 || !top.getRegion(0).hasOneBlock())
      return top.emitError("temporaries inside an op with several regions or blocks");
    OpBuilder b = OpBuilder::atBlockBegin(&top.getRegion(0).front());
    for (memref::AllocOp alloc : allocs) {
      if (!alloc.getType().hasStaticShape() || tern::bufferBytes(alloc.getType()) > kMaxStackBytes)
        return alloc.emitError("a temporary inside a loop must have a static size of at most ")
               << kMaxStackBytes << " bytes";
      auto alloca = memref::AllocaOp::create(b, alloc.getLoc(), alloc.getType(), ValueRange{},
                                             alloc.getAlignmentAttr());
      alloc.replaceAllUsesWith(alloca.getResult());
      alloc.erase();
    }
  }
  return success();
}

struct PlanMemoryPass : tern::impl::TernPlanMemoryPassBase<PlanMemoryPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<func::FuncOp> entry = tern::entryFunction(module);
    if (failed(entry))
      return signalPassFailure();
    func::FuncOp main = *entry;
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    Block &body = main.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    if (failed(stackAllocateLoopTemporaries(body)))
      return signalPassFailure();

    // Results the caller owns: a fresh allocation per result.
    llvm::DenseSet<Value> owned;
    for (OpOperand &operand : ret->getOpOperands()) {
      Value v = operand.get();
      Value root = tern::rootBuffer(v);
      auto alloc = root.getDefiningOp<memref::AllocOp>();
      // A fresh buffer (or a view of one) returned once stays the caller's.
      if (alloc && alloc->getBlock() == &body && owned.insert(root).second)
        continue;
      auto type = cast<MemRefType>(v.getType());
      b.setInsertionPoint(ret);
      SmallVector<Value> dyn;
      for (int64_t i = 0; i < type.getRank(); ++i)
        if (type.isDynamicDim(i))
          dyn.push_back(memref::DimOp::create(b, ret.getLoc(), v, i));
      auto plain = MemRefType::get(type.getShape(), type.getElementType());
      Value copy = memref::AllocOp::create(b, ret.getLoc(), plain, dyn, b.getI64IntegerAttr(64));
      memref::CopyOp::create(b, ret.getLoc(), v, copy);
      operand.set(copy);
      owned.insert(copy);
    }

    // Lifetimes in top-level op positions.
    llvm::DenseMap<Operation *, int64_t> position;
    SmallVector<Operation *> ops; // by position, before this pass adds any
    for (Operation &op : body) {
      position[&op] = static_cast<int64_t>(ops.size());
      ops.push_back(&op);
    }
    SmallVector<Buffer> buffers;
    for (Operation &op : body) {
      auto alloc = dyn_cast<memref::AllocOp>(&op);
      if (!alloc)
        continue;
      Buffer buf{alloc, position[&op], position[&op]};
      buf.returned = owned.count(alloc.getResult());
      SmallVector<Value> work{alloc.getResult()};
      while (!work.empty()) {
        Value v = work.pop_back_val();
        for (OpOperand &use : v.getUses()) {
          Operation *user = use.getOwner();
          Operation *top = body.findAncestorOpInBlock(*user);
          if (top)
            buf.end = std::max(buf.end, position[top]);
          if (isa<ViewLikeOpInterface, memref::CastOp>(user))
            for (Value r : user->getResults())
              work.push_back(r);
        }
      }
      buffers.push_back(buf);
    }

    // Place the static, non-returned buffers.
    SmallVector<Buffer *> planned;
    for (Buffer &buf : buffers)
      if (!buf.returned && buf.alloc.getType().hasStaticShape() && buf.alloc.getType().getLayout().isIdentity())
        planned.push_back(&buf);
    for (Buffer *buf : planned)
      buf->bytes = std::max<int64_t>(tern::bufferBytes(buf->alloc.getType()), 1);
    llvm::sort(planned, [](Buffer *a, Buffer *b) {
      return a->bytes != b->bytes ? a->bytes > b->bytes : a->begin < b->begin;
    });
    int64_t arenaSize = 0;
    SmallVector<Buffer *> placed;
    for (Buffer *buf : planned) {
      // Busy ranges of placed buffers whose lifetimes overlap, by offset.
      SmallVector<std::pair<int64_t, int64_t>> busy;
      for (Buffer *other : placed)
        if (!(other->end < buf->begin || buf->end < other->begin))
          busy.push_back({other->offset, other->offset + other->bytes});
      llvm::sort(busy);
      int64_t offset = 0;
      for (auto [lo, hi] : busy) {
        if (offset + buf->bytes <= lo)
          break;
        offset = std::max<int64_t>(offset, llvm::alignTo(hi, 64));
      }
      buf->offset = offset;
      arenaSize = std::max(arenaSize, offset + buf->bytes);
      placed.push_back(buf);
    }

    FailureOr<Value> arenaArg = tern::appendEntryBuffer(main, "__arena");
    if (failed(arenaArg))
      return signalPassFailure();
    Value arena = *arenaArg;

    for (Buffer *buf : planned) {
      b.setInsertionPoint(buf->alloc);
      Value off = arith::ConstantIndexOp::create(b, buf->alloc.getLoc(), buf->offset);
      Value view = memref::ViewOp::create(b, buf->alloc.getLoc(), buf->alloc.getType(), arena, off, ValueRange{});
      buf->alloc.replaceAllUsesWith(view);
    }
    // Temporaries of dynamic size: freed after their last use.
    for (Buffer &buf : buffers) {
      if (buf.returned || buf.offset >= 0)
        continue;
      b.setInsertionPointAfter(ops[buf.end]);
      if (isa<func::ReturnOp>(ops[buf.end]))
        continue;
      memref::DeallocOp::create(b, buf.alloc.getLoc(), buf.alloc.getResult());
    }
    for (Buffer *buf : planned)
      buf->alloc.erase();
    module->setAttr("tern.arena_size", b.getI64IntegerAttr(arenaSize));
  }
};

} // namespace
