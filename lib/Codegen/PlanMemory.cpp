//===- PlanMemory.cpp - one arena for @main's temporaries, by liveness ----===//
//
// @main is straight-line at its top level after bufferization (loops live
// inside the ops), so a buffer's lifetime is the span of top-level ops from
// its allocation to the last op that touches it or any view of it. Buffers
// of static size are then packed into one arena: largest first, each at the
// lowest 64-byte aligned offset free for its whole lifetime. Buffers whose
// size is a static number of bytes times one or two inputs' dims (the
// images of a batch known at run time; a transformer's batch x sequence)
// are packed the same way by their bytes per unit, after the static ones:
// every offset and size times the same count keeps them apart, and the
// runtime lends an arena of the static bytes plus the scaled ones times
// that product of the inputs' dims.
//
//===----------------------------------------------------------------------===//

#include "lib/Codegen/EntryBuffers.h"
#include "passes/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include <map>

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

/// An input's dim: (argument number, index).
using InputDim = std::pair<unsigned, int64_t>;

/// A size: `coef` times the product of inputs' dims `dims` (sorted; a dim
/// may repeat).
struct Monomial {
  SmallVector<InputDim, 2> dims;
  int64_t coef = 1;
  Monomial &operator*=(const Monomial &o) {
    dims.append(o.dims.begin(), o.dims.end());
    llvm::sort(dims);
    coef *= o.coef;
    return *this;
  }
};

/// The size of `source`'s dim `index` as a monomial in inputs' dims, or
/// nothing: through allocations, reshapes and casts of buffers to the
/// inputs themselves.
std::optional<Monomial> dimMonomial(Value source, int64_t index, func::FuncOp main);

/// `v` as a monomial in inputs' dims (through products), or nothing.
std::optional<Monomial> monomialOf(Value v, func::FuncOp main) {
  if (auto k = v.getDefiningOp<arith::ConstantIndexOp>())
    return k.value() >= 0 ? std::optional<Monomial>(Monomial{{}, k.value()}) : std::nullopt;
  if (auto dim = v.getDefiningOp<memref::DimOp>()) {
    std::optional<int64_t> index = dim.getConstantIndex();
    return index ? dimMonomial(dim.getSource(), *index, main) : std::nullopt;
  }
  if (auto mul = v.getDefiningOp<arith::MulIOp>()) {
    std::optional<Monomial> l = monomialOf(mul.getLhs(), main), r = monomialOf(mul.getRhs(), main);
    if (!l || !r)
      return std::nullopt;
    return *l *= *r;
  }
  return std::nullopt;
}

std::optional<Monomial> dimMonomial(Value source, int64_t index, func::FuncOp main) {
  auto type = dyn_cast<MemRefType>(source.getType());
  if (!type || index < 0 || index >= type.getRank())
    return std::nullopt;
  if (!type.isDynamicDim(index))
    return Monomial{{}, type.getDimSize(index)};
  if (auto arg = dyn_cast<BlockArgument>(source)) {
    // An input: not one of the byte buffers the codegen passes append
    // after the inputs (the weights first).
    if (arg.getOwner() != &main.getBody().front())
      return std::nullopt;
    for (unsigned i = 0; i <= arg.getArgNumber(); ++i)
      if (auto name = main.getArgAttrOfType<StringAttr>(i, "tern.name");
          name && llvm::is_contained({"__weights", "__arena", "__runtime"}, name.getValue()))
        return std::nullopt;
    return Monomial{{{arg.getArgNumber(), index}}, 1};
  }
  Operation *def = source.getDefiningOp();
  if (auto alloc = dyn_cast_or_null<memref::AllocOp>(def))
    return monomialOf(alloc.getDynamicSizes()[type.getDynamicDimIndex(index)], main);
  if (auto expand = dyn_cast_or_null<memref::ExpandShapeOp>(def)) {
    auto v = dyn_cast<Value>(expand.getMixedOutputShape()[index]);
    return v ? monomialOf(v, main) : std::nullopt;
  }
  if (auto collapse = dyn_cast_or_null<memref::CollapseShapeOp>(def)) {
    // The product of the group's sizes ([N, H, W] as rows).
    SmallVector<ReassociationIndices> groups = collapse.getReassociationIndices();
    Monomial m;
    for (int64_t d : groups[index]) {
      std::optional<Monomial> f = dimMonomial(collapse.getSrc(), d, main);
      if (!f)
        return std::nullopt;
      m *= *f;
    }
    return m;
  }
  if (auto cast = dyn_cast_or_null<memref::CastOp>(def))
    return dimMonomial(cast.getSource(), index, main);
  return std::nullopt;
}

/// Places `buffers` (their `bytes` set) by liveness, largest first, at
/// 64-byte aligned offsets; returns the bytes they span.
int64_t place(SmallVector<Buffer *> &buffers) {
  llvm::sort(buffers, [](Buffer *a, Buffer *b) {
    return a->bytes != b->bytes ? a->bytes > b->bytes : a->begin < b->begin;
  });
  int64_t size = 0;
  SmallVector<Buffer *> placed;
  for (Buffer *buf : buffers) {
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
    size = std::max(size, offset + buf->bytes);
    placed.push_back(buf);
  }
  return size;
}


/// Allocations inside a top-level loop of `body` (an attention tile's
/// scratch) belong to one iteration, and in a parallel loop to one thread:
/// they become stack allocations at the top of that loop's body
/// (tern-outline-parallel-loops then allocates them once per task).
/// Fails on one of dynamic or large size.
LogicalResult stackAllocateLoopTemporaries(Block &body) {
  constexpr int64_t kMaxStackBytes = 256 * 1024;
  for (Operation &top : body) {
    if (top.getNumRegions() == 0 || isa<scf::IfOp>(top))
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

/// Whether `v` is a buffer allocated inside `within` on every path (an
/// allocation, a cast of one, or an scf.if's result that each branch
/// yields so); those allocations go into `allocs`. (A temporary of the
/// function that a branch yields as it is, not.)
bool freshOnEveryPath(Value v, Operation *within, llvm::DenseSet<Operation *> &allocs) {
  Operation *def = v.getDefiningOp();
  if (!def || !within->isProperAncestor(def))
    return false;
  if (auto alloc = dyn_cast<memref::AllocOp>(def)) {
    allocs.insert(alloc);
    return true;
  }
  if (auto cast = dyn_cast<memref::CastOp>(def))
    return freshOnEveryPath(cast.getSource(), within, allocs);
  if (auto ifOp = dyn_cast<scf::IfOp>(def)) {
    unsigned i = cast<OpResult>(v).getResultNumber();
    return ifOp.elseBlock() && freshOnEveryPath(ifOp.thenYield().getOperand(i), within, allocs) &&
           freshOnEveryPath(ifOp.elseYield().getOperand(i), within, allocs);
  }
  return false;
}

/// Buffers allocated inside a top-level scf.if stay there, allocated only
/// when their branch runs (a broadcast stretched at run time: one branch
/// yields the operand as it is, the other a copy). One yielded on every
/// path of a branch is freed, under the branch's condition, after the if's
/// result is last read; one used only inside its block is freed at the
/// block's end. Fails on others.
LogicalResult freeBranchAllocations(Block &body) {
  for (Operation &top : llvm::make_early_inc_range(body)) {
    auto ifOp = dyn_cast<scf::IfOp>(&top);
    if (!ifOp)
      continue;
    llvm::DenseSet<Operation *> yielded;
    for (unsigned i = 0; i < ifOp.getNumResults(); ++i) {
      bool inThen = freshOnEveryPath(ifOp.thenYield().getOperand(i), ifOp, yielded);
      bool inElse = ifOp.elseBlock() && freshOnEveryPath(ifOp.elseYield().getOperand(i), ifOp, yielded);
      if (!inThen && !inElse)
        continue;
      Value result = ifOp.getResult(i);
      // The result's last reader in the body (through views and casts).
      Operation *last = ifOp;
      SmallVector<Value> work{result};
      while (!work.empty()) {
        Value v = work.pop_back_val();
        for (OpOperand &use : v.getUses()) {
          Operation *user = body.findAncestorOpInBlock(*use.getOwner());
          if (user && last->isBeforeInBlock(user))
            last = user;
          if (isa<ViewLikeOpInterface, memref::CastOp>(use.getOwner()))
            llvm::append_range(work, use.getOwner()->getResults());
        }
      }
      if (isa<func::ReturnOp>(last))
        return ifOp.emitError("a buffer allocated in a branch is returned");
      OpBuilder b(last->getContext());
      b.setInsertionPointAfter(last);
      if (inThen && inElse) {
        memref::DeallocOp::create(b, ifOp.getLoc(), result);
        continue;
      }
      auto freeIf = scf::IfOp::create(b, ifOp.getLoc(), TypeRange{}, ifOp.getCondition(), /*withElseRegion=*/inElse);
      OpBuilder fb = inThen ? freeIf.getThenBodyBuilder() : freeIf.getElseBodyBuilder();
      memref::DeallocOp::create(fb, ifOp.getLoc(), result);
    }
    SmallVector<memref::AllocOp> allocs;
    ifOp.walk([&](memref::AllocOp alloc) { allocs.push_back(alloc); });
    for (memref::AllocOp alloc : allocs) {
      if (yielded.contains(alloc))
        continue;
      // A temporary of its block: freed before the block yields, unless a
      // view of it is yielded (or outlives the block another way).
      Block *block = alloc->getBlock();
      bool local = true;
      SmallVector<Value> work{alloc.getResult()};
      while (!work.empty() && local) {
        Value v = work.pop_back_val();
        for (OpOperand &use : v.getUses()) {
          Operation *user = block->findAncestorOpInBlock(*use.getOwner());
          if (!user || user == block->getTerminator())
            local = false;
          else if (isa<ViewLikeOpInterface, memref::CastOp>(use.getOwner()))
            llvm::append_range(work, use.getOwner()->getResults());
        }
      }
      if (!local)
        return alloc.emitError("a temporary inside a branch must be what the branch yields or its own");
      OpBuilder b(block->getTerminator());
      memref::DeallocOp::create(b, alloc.getLoc(), alloc.getResult());
    }
  }
  return success();
}

struct PlanMemoryPass : tern::impl::TernPlanMemoryPassBase<PlanMemoryPass> {
  using Base::Base;
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
    if (failed(freeBranchAllocations(body)) || failed(stackAllocateLoopTemporaries(body)))
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
          // Yielded out of a branch (an operand a broadcast stretches at
          // run time, as it is): it lives on as the branching op's result.
          if (isa<scf::YieldOp>(user) && isa<scf::IfOp>(user->getParentOp()))
            work.push_back(user->getParentOp()->getResult(use.getOperandNumber()));
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
    int64_t arenaSize = place(planned);

    // Then those whose size is a multiple of one or two inputs' dims (the
    // images; a transformer's batch x sequence): by the product with the
    // most bytes per unit (bytes and offsets per unit of that product).
    SmallVector<Buffer *> scaled;
    SmallVector<InputDim, 2> unit;
    if (scaleWithInputs) {
      std::map<SmallVector<InputDim, 2>, SmallVector<std::pair<Buffer *, int64_t>>> byUnit;
      for (Buffer &buf : buffers) {
        MemRefType type = buf.alloc.getType();
        if (buf.returned || type.hasStaticShape() || !type.getLayout().isIdentity() ||
            !type.getElementType().isIntOrFloat() || type.getElementTypeBitWidth() % 8 != 0)
          continue;
        std::optional<Monomial> size = Monomial{{}, type.getElementTypeBitWidth() / 8};
        for (int64_t d = 0; d < type.getRank() && size; ++d) {
          std::optional<Monomial> f = dimMonomial(buf.alloc.getResult(), d, main);
          size = f ? std::optional<Monomial>(*size *= *f) : std::nullopt;
        }
        if (!size || size->dims.empty() || size->dims.size() > 2)
          continue;
        byUnit[size->dims].push_back({&buf, std::max<int64_t>(1, size->coef)});
      }
      int64_t best = 0;
      for (auto &[dims, list] : byUnit) {
        int64_t total = 0;
        for (auto [buf, bytes] : list)
          total += bytes;
        if (total <= best)
          continue;
        best = total;
        unit = dims;
        scaled.clear();
        for (auto [buf, bytes] : list) {
          buf->bytes = bytes;
          scaled.push_back(buf);
        }
      }
    }
    int64_t scaledBase = llvm::alignTo(arenaSize, 64), scaledSize = place(scaled);
    Value scaledDim;
    if (!scaled.empty()) {
      // The count every scaled offset multiplies, at the top of @main.
      b.setInsertionPointToStart(&body);
      for (auto [arg, index] : unit) {
        Value c = arith::ConstantIndexOp::create(b, main.getLoc(), index);
        Value d = memref::DimOp::create(b, main.getLoc(), main.getArgument(arg), c);
        scaledDim = scaledDim ? Value(arith::MulIOp::create(b, main.getLoc(), scaledDim, d)) : d;
      }
      module->setAttr("tern.arena_scaled_size", b.getI64IntegerAttr(scaledSize));
      SmallVector<int64_t> by;
      for (auto [arg, index] : unit) {
        by.push_back(arg);
        by.push_back(index);
      }
      module->setAttr("tern.arena_scaled_by", b.getDenseI64ArrayAttr(by));
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
    for (Buffer *buf : scaled) {
      b.setInsertionPoint(buf->alloc);
      Location loc = buf->alloc.getLoc();
      Value off = arith::MulIOp::create(b, loc, arith::ConstantIndexOp::create(b, loc, buf->offset), scaledDim);
      off = arith::AddIOp::create(b, loc, off, arith::ConstantIndexOp::create(b, loc, scaledBase));
      Value view = memref::ViewOp::create(b, loc, buf->alloc.getType(), arena, off, buf->alloc.getDynamicSizes());
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
    for (Buffer *buf : llvm::concat<Buffer *>(planned, scaled))
      buf->alloc.erase();
    module->setAttr("tern.arena_size", b.getI64IntegerAttr(arenaSize));
  }
};

} // namespace
