//===- RowKernels.cpp - a warp per row through a chain of row ops ---------===//
//
// A layer norm after bufferization is five linalg ops over the same rows
// (a sum, the mean, the squared deviations, their sum, the normalization),
// a softmax four (the maximum, the shifted exponentials, their sum, the
// division): each a kernel launch of its own, each re-reading the row from
// memory, and GPT-2's run on a GPU was a third layer norms and softmaxes.
// This pass makes each such chain one gpu.launch in which a warp carries
// one row through every op of the chain in order:
//
//   row = the warp's number; for each op of the chain:
//     a reduction over the row:  each lane combines every 32nd element,
//                                butterfly shuffles give every lane the
//                                total; lane 0 stores it
//     an op on one value a row:  every lane computes it, lane 0 stores it
//     an op on the row:          each lane every 32nd element, stored
//
// and a value an earlier op computed for the row (a mean, a maximum) is
// read from the lanes' registers, not from memory. The ops' order within
// a row is the original one, but rows no longer wait for each other, so
// the chain must touch memory row by row. Every operand's addresses are
// worked out as bytes of its root buffer (an arena, an argument): a linear
// function of the loop indices. Where two accesses of the chain may touch
// the same bytes and one of them writes, both must be the very same
// function (each row then touches only its own bytes, the same lane the
// same element), and a write must give each point of its loops bytes of
// its own. Ops between the chain's ops that are not part of it (the fill
// of the next matmul's output) move after the launch when they touch none
// of the bytes the later ops of the chain do; a fill that starts a
// reduction of the chain becomes its starting constant. All-parallel ops
// that share no bytes with the chain, between its ops or right after it,
// run in its launch as side jobs (each thread taking every n-th point):
// a launch fewer each. Runs of adjacent independent all-parallel ops
// outside any chain become one launch of side jobs too. The pass runs before the memory plan, when each
// tensor is an allocation of its own and only real sharing limits it.
//
// `lanes` 1 runs a row per thread without shuffles: tern-emulate-gpu-launches
// can run that on the host, a check of everything but the lanes' striding
// and the shuffles (which the warp reductions share).
//
//===----------------------------------------------------------------------===//

#include "lib/Codegen/GPU/TensorCoreMatmul.h"
#include "lib/Codegen/GPU/WarpReduction.h"
#include "passes/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace tern {
#define GEN_PASS_DEF_TERNGPUROWKERNELSPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {

constexpr int64_t kRowsPerBlock = 4;

/// Ops looked at after a chain for side jobs to join it.
constexpr int64_t kLookahead = 12;

/// The most points of a side job per thread of the chain's launch: more
/// would run a large op on a small grid (a chain of one row is one block).
constexpr int64_t kSidePointsPerThread = 256;

/// The bytes an operand of a linalg op touches: `base + sum(coef[d] * iv[d])`
/// bytes into `root` (a block argument or an allocation) at the loop point
/// `iv`, for elements of `bytes` bytes. Dims of extent 1 get coefficient 0.
struct Access {
  Value root;
  int64_t base = 0, bytes = 0;
  SmallVector<int64_t> coef;
  int64_t lo = 0, hi = 0; // [lo, hi): every byte it may touch
  bool write = false;

  bool sameAddresses(const Access &o) const {
    return root == o.root && base == o.base && bytes == o.bytes && coef == o.coef;
  }
  bool overlaps(const Access &o) const { return root == o.root && lo < o.hi && o.lo < hi; }
};

std::optional<int64_t> evaluate(AffineExpr e, ArrayRef<int64_t> point) {
  SmallVector<AffineExpr> dims;
  for (int64_t v : point)
    dims.push_back(getAffineConstantExpr(v, e.getContext()));
  if (auto c = dyn_cast<AffineConstantExpr>(e.replaceDimsAndSymbols(dims, {})))
    return c.getValue();
  return std::nullopt;
}

/// The buffer `v` is a view of, through reshapes, casts, subviews and
/// memref.view (whose byte shift is added to `shift`).
Value rootOf(Value v, int64_t &shift) {
  while (Operation *def = v.getDefiningOp()) {
    if (isa<memref::ExpandShapeOp, memref::CollapseShapeOp, memref::CastOp, memref::SubViewOp>(def)) {
      v = def->getOperand(0);
      continue;
    }
    if (auto view = dyn_cast<memref::ViewOp>(def)) {
      std::optional<int64_t> s = getConstantIntValue(view.getByteShift());
      if (!s)
        return nullptr;
      shift += *s;
      v = view.getSource();
      continue;
    }
    if (isa<memref::GetGlobalOp>(def))
      return v; // a constant (only read)
    if (isMemoryEffectFree(def))
      return nullptr; // a view whose layout we do not follow
    return v;         // an allocation
  }
  return v; // an argument
}

/// The access of `value` through `map` (loop dims -> indices) over loops of
/// `extents`; none when not a static, linear one.
std::optional<Access> accessOf(Value value, AffineMap map, ArrayRef<int64_t> extents, bool write) {
  auto type = dyn_cast<MemRefType>(value.getType());
  if (!type || !type.getElementType().isIntOrFloat() || map.getNumSymbols() != 0)
    return std::nullopt;
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)) || ShapedType::isDynamic(offset) ||
      llvm::any_of(strides, ShapedType::isDynamic))
    return std::nullopt;
  Access a;
  a.root = rootOf(value, a.base);
  if (!a.root)
    return std::nullopt;
  a.bytes = std::max<int64_t>(1, type.getElementTypeBitWidth() / 8);
  a.write = write;
  AffineExpr linear = getAffineConstantExpr(offset, map.getContext());
  for (auto [expr, stride] : llvm::zip(map.getResults(), strides)) {
    if (!expr.isPureAffine())
      return std::nullopt;
    linear = linear + expr * stride;
  }
  SmallVector<int64_t> point(extents.size(), 0);
  std::optional<int64_t> at0 = evaluate(linear, point);
  if (!at0)
    return std::nullopt;
  a.base += *at0 * a.bytes;
  a.lo = a.hi = a.base;
  for (unsigned d = 0; d < extents.size(); ++d) {
    point.assign(extents.size(), 0);
    point[d] = 1;
    std::optional<int64_t> at1 = evaluate(linear, point);
    if (!at1)
      return std::nullopt;
    int64_t c = extents[d] == 1 ? 0 : (*at1 - *at0) * a.bytes;
    a.coef.push_back(c);
    (c < 0 ? a.lo : a.hi) += c * (extents[d] - 1);
  }
  a.hi += a.bytes;
  return a;
}

/// Does the access give each point of the loops `dims` bytes of its own?
bool distinctPerPoint(const Access &a, ArrayRef<int64_t> extents, ArrayRef<unsigned> dims) {
  SmallVector<std::pair<int64_t, int64_t>> spans; // |coef|, extent
  for (unsigned d : dims) {
    if (extents[d] == 1)
      continue;
    if (a.coef[d] == 0)
      return false;
    spans.push_back({std::abs(a.coef[d]), extents[d]});
  }
  llvm::sort(spans);
  int64_t reach = a.bytes; // bytes the smaller dims span
  for (auto [c, n] : spans) {
    if (c < reach)
      return false;
    reach += c * (n - 1);
  }
  return true;
}

/// The whole of a buffer an op outside the chain uses.
std::optional<Access> wholeOf(Value value) {
  auto type = dyn_cast<MemRefType>(value.getType());
  if (!type || !type.hasStaticShape())
    return std::nullopt;
  MLIRContext *ctx = value.getContext();
  return accessOf(value, AffineMap::getMultiDimIdentityMap(type.getRank(), ctx), type.getShape(), true);
}

/// The buffers `op`'s regions use that are defined outside it (a gather's
/// table, loaded at computed indices): accesses no indexing map describes.
SmallVector<Value> capturedBuffers(Operation *op) {
  SmallVector<Value> buffers;
  for (Region &region : op->getRegions())
    region.walk([&](Operation *inner) {
      for (Value v : inner->getOperands())
        if (isa<MemRefType>(v.getType()) && !op->isAncestor(v.getParentRegion()->getParentOp()) &&
            !llvm::is_contained(buffers, v))
          buffers.push_back(v);
    });
  return buffers;
}

/// Every byte `op` may touch, buffer by buffer (its operands' and those
/// its regions use); none when one is unknown.
std::optional<SmallVector<Access>> wholeAccessesOf(Operation *op) {
  SmallVector<Value> buffers = capturedBuffers(op);
  for (Value v : op->getOperands())
    if (isa<MemRefType>(v.getType()))
      buffers.push_back(v);
  SmallVector<Access> whole;
  for (Value v : buffers) {
    std::optional<Access> a = wholeOf(v);
    if (!a)
      return std::nullopt;
    whole.push_back(*a);
  }
  return whole;
}

/// What a member of a chain is: a reduction over the row, an op computing
/// one value a row, an op over the row, or an op of its own iteration
/// space that touches none of the chain's bytes and runs beside it.
enum class Kind { Reduce, PerRow, Row, Side };

struct Member {
  linalg::LinalgOp op;
  Kind kind;
  Operation *combine = nullptr; // Reduce: its combining op
  Value init;                   // Reduce: the constant it starts from
  SmallVector<Access> accesses; // its operands' (inputs, then the output)
  SmallVector<int64_t> extents; // Side: its loops
};

bool clash(const Access &x, const Access &y) { return (x.write || y.write) && x.overlaps(y) && !x.sameAddresses(y); }

/// Do the accesses `xs` share no byte with those of `ops` that either
/// side writes (so that they may run in any order)?
bool apart(ArrayRef<Access> xs, ArrayRef<Member> ops) {
  for (const Member &other : ops)
    for (const Access &y : other.accesses)
      for (const Access &x : xs)
        if ((x.write || y.write) && x.overlaps(y))
          return false;
  return true;
}

int64_t pointsOf(const Member &m) { return computeProduct(m.extents); }

/// Will `op` be a matmul on the tensor cores (`tensorCores`) that splits
/// k among blocks (its sums final in no one block)?
bool splitOnTensorCores(linalg::LinalgOp op, bool tensorCores) {
  std::optional<tern::MmaContraction> mma = tensorCores ? tern::matchMmaContraction(op) : std::nullopt;
  return mma && tern::mmaSplits(*mma) > 1;
}

/// `p` as a side job: an all-parallel op of static shape, each loop point
/// writing bytes of its own and reading no byte it writes elsewhere.
std::optional<Member> asSideJob(Operation *p) {
  auto op = dyn_cast<linalg::LinalgOp>(p);
  if (!op || !op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 || op->getNumRegions() != 1 ||
      op->getNumResults() != 0 || op.getNumReductionLoops() != 0 || op.getNumLoops() == 0 ||
      op.payloadUsesValueFromOperand(op.getDpsInitOperand(0)) || !capturedBuffers(op).empty())
    return std::nullopt;
  Member m;
  m.op = op;
  m.kind = Kind::Side;
  m.extents = op.getStaticLoopRanges();
  if (llvm::any_of(m.extents, ShapedType::isDynamic))
    return std::nullopt;
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()))
      continue;
    bool isOut = op.isDpsInit(&operand);
    std::optional<Access> a = accessOf(operand.get(), op.getMatchingIndexingMap(&operand), m.extents, isOut);
    if (!a || (isOut && !distinctPerPoint(*a, m.extents, llvm::to_vector(llvm::seq<unsigned>(0, m.extents.size())))))
      return std::nullopt;
    m.accesses.push_back(*a);
  }
  for (auto [i, x] : llvm::enumerate(m.accesses))
    for (auto [j, y] : llvm::enumerate(m.accesses))
      if (i != j && clash(x, y))
        return std::nullopt;
  return m;
}

/// A chain of ops over the rows of one iteration space: every dim but
/// `row` indexes rows, `row` the elements of a row.
struct Chain {
  SmallVector<int64_t> space;
  unsigned row = 0;
  int64_t lanes = 32;
  SmallVector<Member> members;
  SmallVector<Member> sideJobs;
  SmallVector<Operation *> fills;                                    // absorbed as starting constants
  SmallVector<std::pair<Operation *, SmallVector<Access>>> deferred; // to move after the launch

  SmallVector<unsigned> rowDims() const {
    SmallVector<unsigned> dims;
    for (unsigned d = 0; d < space.size(); ++d)
      if (d != row)
        dims.push_back(d);
    return dims;
  }

  /// `op` as a member of the chain, or none.
  std::optional<Member> asMember(linalg::LinalgOp op) const {
    if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 || op->getNumRegions() != 1 ||
        op->getNumResults() != 0 || !capturedBuffers(op).empty())
      return std::nullopt;
    SmallVector<int64_t> extents = op.getStaticLoopRanges();
    if (extents.size() != space.size())
      return std::nullopt;
    Member m;
    m.op = op;
    m.kind = Kind::Row;
    SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
    if (op.getNumReductionLoops() == 1 && iters[row] == utils::IteratorType::reduction) {
      m.kind = Kind::Reduce;
      m.combine = tern::matchWarpReduction(op, /*minExtent=*/1);
      if (!m.combine)
        return std::nullopt;
    } else if (op.getNumReductionLoops() != 0) {
      return std::nullopt;
    } else if (extents[row] == 1 && space[row] != 1) {
      m.kind = Kind::PerRow;
    }
    for (unsigned d = 0; d < space.size(); ++d)
      if (extents[d] != space[d] && !(d == row && m.kind == Kind::PerRow))
        return std::nullopt;
    for (OpOperand &operand : op->getOpOperands()) {
      if (!isa<MemRefType>(operand.get().getType()))
        continue;
      bool isOut = op.isDpsInit(&operand);
      if (isOut && m.kind != Kind::Reduce && op.payloadUsesValueFromOperand(&operand))
        return std::nullopt; // reads its output: an accumulation we do not follow
      std::optional<Access> a = accessOf(operand.get(), op.getMatchingIndexingMap(&operand), extents, isOut);
      if (!a)
        return std::nullopt;
      if (isOut) {
        SmallVector<unsigned> dims = m.kind == Kind::Row ? llvm::to_vector(llvm::seq<unsigned>(0, space.size()))
                                                         : rowDims();
        if (!distinctPerPoint(*a, extents, dims))
          return std::nullopt;
      }
      m.accesses.push_back(*a);
    }
    return m;
  }

  /// May `m` join the chain (after its members, or before them when
  /// `front`)? Its accesses against the members' and its own, and against
  /// the ops that move past it.
  bool admits(const Member &m, bool front) const {
    for (auto [i, x] : llvm::enumerate(m.accesses)) {
      for (auto [j, y] : llvm::enumerate(m.accesses))
        if (i != j && clash(x, y))
          return false;
      for (const Member &other : members)
        for (const Access &y : other.accesses)
          if (clash(x, y))
            return false;
      if (!front)
        for (auto &[op, accesses] : deferred)
          for (const Access &y : accesses)
            if (x.overlaps(y))
              return false;
    }
    return true;
  }

  /// May the side job `s` run beside the chain? No byte it touches may be
  /// written by a member or another side job (or touched by an op before
  /// it that moves after the launch), nor may it write a byte they touch.
  bool besides(const Member &s) const {
    int64_t rows = 1;
    for (unsigned d : rowDims())
      rows *= space[d];
    int64_t threads = (rows + kRowsPerBlock - 1) / kRowsPerBlock * kRowsPerBlock * lanes;
    if (pointsOf(s) > threads * kSidePointsPerThread)
      return false;
    if (!apart(s.accesses, members) || !apart(s.accesses, sideJobs))
      return false;
    for (auto &[op, accesses] : deferred) {
      if (!op->isBeforeInBlock(s.op))
        continue; // it stays after `s`
      for (const Access &y : accesses)
        for (const Access &x : s.accesses)
          if (x.overlaps(y))
            return false;
    }
    return true;
  }
};

/// Ops the walks pass over: pure ones (views, constants) and allocations
/// (which stay before the launch; the memory plan comes later).
bool passedOver(Operation *op) { return isMemoryEffectFree(op) || isa<memref::AllocOp>(op); }

/// The fill right before `op` (pure ops aside) that writes its output, if
/// `op` is a reduction: what it starts from.
linalg::FillOp startingFill(linalg::LinalgOp op) {
  Operation *prev = op->getPrevNode();
  while (prev && passedOver(prev))
    prev = prev->getPrevNode();
  auto fill = dyn_cast_or_null<linalg::FillOp>(prev);
  if (!fill || !fill.hasPureBufferSemantics() || fill.getOutputs()[0] != op.getDpsInitOperand(0)->get())
    return nullptr;
  return fill;
}

/// Should `p` stay an op of its own rather than run beside a chain? A fill
/// that a reduction starts from becomes that reduction's starting
/// constant in tern-lower-reductions-to-loops (no launch of its own),
/// unless the reduction is a matmul on the tensor cores (`tensorCores`)
/// whose k is split among blocks.
bool staysOwn(Operation *p, bool tensorCores) {
  auto fill = dyn_cast<linalg::FillOp>(p);
  if (!fill)
    return false;
  Value out = fill.getOutputs()[0];
  for (Operation *user : out.getUsers()) {
    auto op = dyn_cast<linalg::LinalgOp>(user);
    if (!op || user == p || op.getNumReductionLoops() == 0 || op.getNumDpsInits() != 1 ||
        op.getDpsInitOperand(0)->get() != out)
      continue;
    if (!splitOnTensorCores(op, tensorCores))
      return true;
  }
  return false;
}

/// The chain around the reduction `start`, or none.
std::optional<Chain> chainAround(linalg::LinalgOp start, int64_t lanes, bool tensorCores) {
  if (!tern::matchWarpReduction(start, /*minExtent=*/1))
    return std::nullopt;
  Chain chain;
  chain.lanes = lanes;
  chain.space = start.getStaticLoopRanges();
  if (llvm::any_of(chain.space, [](int64_t e) { return ShapedType::isDynamic(e) || e == 0; }))
    return std::nullopt;
  SmallVector<utils::IteratorType> iters = start.getIteratorTypesArray();
  while (iters[chain.row] != utils::IteratorType::reduction)
    ++chain.row;
  std::optional<Member> first = chain.asMember(start);
  if (!first || !chain.admits(*first, false))
    return std::nullopt;
  linalg::FillOp fill = startingFill(start);
  if (!fill)
    return std::nullopt;
  first->init = fill.getInputs()[0];
  chain.fills.push_back(fill);
  chain.members.push_back(*first);

  // Row ops before it (the residual add before a layer norm, the mask
  // added to attention scores before their softmax).
  for (Operation *p = fill->getPrevNode(); p; p = p->getPrevNode()) {
    if (passedOver(p))
      continue;
    auto op = dyn_cast<linalg::LinalgOp>(p);
    std::optional<Member> m = op && !isa<linalg::FillOp>(p) ? chain.asMember(op) : std::nullopt;
    if (!m || m->kind != Kind::Row || !chain.admits(*m, true))
      break;
    chain.members.insert(chain.members.begin(), *m);
  }

  // The ops after it while they belong; others in between move past.
  for (Operation *p = start->getNextNode(); p && !p->hasTrait<OpTrait::IsTerminator>(); p = p->getNextNode()) {
    if (passedOver(p))
      continue;
    auto op = dyn_cast<linalg::LinalgOp>(p);
    if (!op)
      break;
    // Fills are never members: one may start a later reduction.
    if (std::optional<Member> m = isa<linalg::FillOp>(p) ? std::nullopt : chain.asMember(op)) {
      if (m->kind == Kind::Reduce) {
        // Its starting fill is the op deferred last.
        if (chain.deferred.empty() || chain.deferred.back().first != startingFill(op).getOperation())
          break;
        m->init = cast<linalg::FillOp>(chain.deferred.back().first).getInputs()[0];
        auto saved = chain.deferred.pop_back_val();
        if (!chain.admits(*m, false)) {
          chain.deferred.push_back(saved);
          break;
        }
        chain.fills.push_back(saved.first);
        chain.members.push_back(*m);
        continue;
      }
      if (chain.admits(*m, false)) {
        chain.members.push_back(*m);
        continue;
      }
    }
    // Not of the chain: it may move after the launch if it has no
    // results and touches none of the bytes later members do.
    if (p->getNumResults() != 0 || !op.hasPureBufferSemantics())
      break;
    std::optional<SmallVector<Access>> whole = wholeAccessesOf(p);
    if (!whole)
      break;
    chain.deferred.push_back({p, *whole});
  }
  // Ops deferred after the last member stay where they are.
  Operation *last = chain.members.back().op;
  while (!chain.deferred.empty() && last->isBeforeInBlock(chain.deferred.back().first))
    chain.deferred.pop_back();
  if (chain.members.size() < 2)
    return std::nullopt;

  // Deferred ops that share no bytes with the chain run in its launch
  // instead of after it (a launch fewer each: the bias a split matmul
  // starts from, copied into its output).
  for (size_t i = 0; i < chain.deferred.size();) {
    auto candidate = chain.deferred[i];
    chain.deferred.erase(chain.deferred.begin() + i);
    std::optional<Member> s = staysOwn(candidate.first, tensorCores) ? std::nullopt : asSideJob(candidate.first);
    if (s && chain.besides(*s)) {
      chain.sideJobs.push_back(*s);
      continue;
    }
    chain.deferred.insert(chain.deferred.begin() + i, candidate);
    ++i;
  }
  // So do the ops after it that do (the transposes of attention's values
  // after its softmax), and that share no bytes with the ops they would
  // move before either (the zero fill of a split matmul after the next
  // matmul), up to the next chain's reduction or kLookahead ops.
  SmallVector<Operation *> views, viewsUsed;
  SmallVector<Access> stay; // the bytes of the ops passed, whole
  int64_t budget = kLookahead;
  for (Operation *p = last->getNextNode(); p && !p->hasTrait<OpTrait::IsTerminator>() && budget > 0;
       p = p->getNextNode()) {
    if (passedOver(p)) {
      views.push_back(p);
      continue;
    }
    --budget;
    std::optional<Member> s = staysOwn(p, tensorCores) ? std::nullopt : asSideJob(p);
    auto apart = [&](const Member &job) {
      for (const Access &x : job.accesses)
        for (const Access &y : stay)
          if (x.overlaps(y))
            return false;
      return true;
    };
    if (s && chain.besides(*s) && apart(*s)) {
      chain.sideJobs.push_back(*s);
      viewsUsed = views;
      continue;
    }
    auto op = dyn_cast<linalg::LinalgOp>(p);
    if (!op || !op.hasPureBufferSemantics() || p->getNumResults() != 0 ||
        (op.getNumReductionLoops() == 1 && tern::matchWarpReduction(op, /*minExtent=*/1) && startingFill(op)))
      break;
    std::optional<SmallVector<Access>> whole = wholeAccessesOf(p);
    if (!whole)
      break;
    stay.append(*whole);
  }
  // The views and allocations before them move before the launch, in order.
  for (Operation *view : viewsUsed)
    view->moveBefore(last);
  return chain;
}

/// The body of `m` at the loop point `at`, its output's value as `out`;
/// a member's reads of values computed once a row (`known`, newest last)
/// from registers.
Value computeAt(OpBuilder &ib, Location loc, Member &m, ArrayRef<Value> at, Value out,
                ArrayRef<std::pair<Access, Value>> known) {
  Block &body = m.op->getRegion(0).front();
  IRMapping map;
  unsigned k = 0;
  for (OpOperand &operand : m.op->getOpOperands()) {
    BlockArgument arg = body.getArgument(operand.getOperandNumber());
    if (!isa<MemRefType>(operand.get().getType())) {
      map.map(arg, operand.get());
      continue;
    }
    const Access &a = m.accesses[k++];
    if (m.op.isDpsInit(&operand)) {
      if (out)
        map.map(arg, out);
      continue;
    }
    auto found = llvm::find_if(llvm::reverse(known), [&](auto &kv) { return kv.first.sameAddresses(a); });
    if (m.kind != Kind::Side && found != llvm::reverse(known).end())
      map.map(arg, found->second);
    else
      map.map(arg, memref::LoadOp::create(ib, loc, operand.get(),
                                          tern::indicesAt(ib, loc, m.op.getMatchingIndexingMap(&operand), at)));
  }
  for (Operation &inner : body.without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
      map.map(index.getResult(), at[index.getDim()]);
      continue;
    }
    ib.clone(inner, map);
  }
  return map.lookupOrDefault(body.getTerminator()->getOperand(0));
}

/// The side jobs, at the builder inside a launch: thread `first` of
/// `total` takes every total-th point of each.
void emitSideJobs(OpBuilder &b, Location loc, MutableArrayRef<Member> jobs, Value first, int64_t total) {
  for (Member &s : jobs) {
    auto loop = scf::ForOp::create(b, loc, first, arith::ConstantIndexOp::create(b, loc, pointsOf(s)),
                                   arith::ConstantIndexOp::create(b, loc, total));
    OpBuilder lb = OpBuilder::atBlockBegin(loop.getBody());
    lb.setInsertionPoint(loop.getBody()->getTerminator());
    SmallVector<Value> at = tern::delinearize(lb, loc, loop.getInductionVar(), s.extents);
    OpOperand *out = s.op.getDpsInitOperand(0);
    memref::StoreOp::create(lb, loc, computeAt(lb, loc, s, at, nullptr, {}), out->get(),
                            tern::indicesAt(lb, loc, s.op.getMatchingIndexingMap(out), at));
  }
}

/// Emits the chain's gpu.launch before its last member, erases its
/// members and fills and moves the ops deferred after the launch.
Operation *emit(Chain &chain) {
  Operation *last = chain.members.back().op;
  OpBuilder b(last);
  Location loc = chain.members[llvm::find_if(chain.members, [](const Member &m) { return m.kind == Kind::Reduce; }) -
                               chain.members.begin()]
                     .op.getLoc();
  auto idx = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(b, loc, v); };
  SmallVector<unsigned> rowDims = chain.rowDims();
  int64_t rows = 1;
  for (unsigned d : rowDims)
    rows *= chain.space[d];
  int64_t lanes = chain.lanes;
  OpBuilder::InsertionGuard scope(b);
  auto [launch, lane, rowId] =
      tern::emitWarpLaunch(b, loc, idx((rows + kRowsPerBlock - 1) / kRowsPerBlock), lanes, kRowsPerBlock);
  auto guard = scf::IfOp::create(b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, rowId, idx(rows)),
                                 /*withElseRegion=*/false);
  b.setInsertionPointToStart(&guard.getThenRegion().front());
  Value zero = idx(0);
  SmallVector<Value> ivs(chain.space.size(), zero);
  SmallVector<int64_t> rowExtents;
  for (unsigned d : rowDims)
    rowExtents.push_back(chain.space[d]);
  for (auto [d, iv] : llvm::zip(rowDims, tern::delinearize(b, loc, rowId, rowExtents)))
    ivs[d] = iv;
  Value isFirst = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, zero);

  // The values computed once a row so far, newest last.
  SmallVector<std::pair<Access, Value>> known;
  auto compute = [&](OpBuilder &ib, Member &m, ArrayRef<Value> at, Value out) {
    return computeAt(ib, loc, m, at, out, known);
  };
  auto storeOnce = [&](Member &m, Value v) {
    auto ifFirst = scf::IfOp::create(b, loc, isFirst, /*withElseRegion=*/false);
    OpBuilder tb = OpBuilder::atBlockBegin(&ifFirst.getThenRegion().front());
    OpOperand *out = m.op.getDpsInitOperand(0);
    memref::StoreOp::create(tb, loc, v, out->get(), tern::indicesAt(tb, loc, m.op.getMatchingIndexingMap(out), ivs));
    known.push_back({m.accesses.back(), v});
  };

  for (Member &m : chain.members) {
    switch (m.kind) {
    case Kind::Reduce: {
      Type f32 = b.getF32Type();
      Value identity =
          arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f32), APFloat(*tern::identityOf(m.combine)));
      auto loop = scf::ForOp::create(b, loc, lane, idx(chain.space[chain.row]), idx(lanes), ValueRange{identity});
      OpBuilder lb = OpBuilder::atBlockBegin(loop.getBody());
      SmallVector<Value> at = ivs;
      at[chain.row] = loop.getInductionVar();
      scf::YieldOp::create(lb, loc, compute(lb, m, at, loop.getRegionIterArgs()[0]));
      Value total = tern::combineAcrossLanes(b, loc, loop.getResult(0), m.combine, lanes);
      IRMapping map;
      map.map(m.combine->getOperand(0), m.init);
      map.map(m.combine->getOperand(1), total);
      storeOnce(m, b.clone(*m.combine, map)->getResult(0));
      break;
    }
    case Kind::PerRow:
      storeOnce(m, compute(b, m, ivs, nullptr));
      break;
    case Kind::Side:
      break;
    case Kind::Row: {
      auto loop = scf::ForOp::create(b, loc, lane, idx(chain.space[chain.row]), idx(lanes));
      OpBuilder lb = OpBuilder::atBlockBegin(loop.getBody());
      lb.setInsertionPoint(loop.getBody()->getTerminator());
      SmallVector<Value> at = ivs;
      at[chain.row] = loop.getInductionVar();
      OpOperand *out = m.op.getDpsInitOperand(0);
      memref::StoreOp::create(lb, loc, compute(lb, m, at, nullptr), out->get(),
                              tern::indicesAt(lb, loc, m.op.getMatchingIndexingMap(out), at));
      break;
    }
    }
  }

  // The side jobs: every thread of the launch takes every n-th point.
  b.setInsertionPointAfter(guard);
  int64_t threads = lanes * kRowsPerBlock, total = threads * ((rows + kRowsPerBlock - 1) / kRowsPerBlock);
  Value first = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, idx(threads)),
                                      launch.getThreadIds().x);
  emitSideJobs(b, loc, chain.sideJobs, first, total);

  Operation *after = launch;
  for (auto &[op, accesses] : chain.deferred) {
    op->moveAfter(after);
    after = op;
  }
  for (Member &m : chain.members)
    m.op->erase();
  for (Member &s : chain.sideJobs)
    s.op->erase();
  for (Operation *fill : chain.fills)
    fill->erase();
  return launch;
}

/// Would tern-lower-reductions-to-loops run `p` as the epilogue of the
/// reduction right before it? (If `p` reads that reduction's output,
/// unless the reduction is a matmul on the tensor cores splitting k, whose
/// sums are not final in any one block.)
bool mayBeEpilogue(Operation *p, bool tensorCores) {
  Operation *prev = p->getPrevNode();
  while (prev && passedOver(prev))
    prev = prev->getPrevNode();
  auto op = dyn_cast_or_null<linalg::LinalgOp>(prev);
  if (!op || op.getNumReductionLoops() == 0 || op.getNumDpsInits() != 1)
    return false;
  if (splitOnTensorCores(op, tensorCores))
    return false;
  std::optional<Access> out = wholeOf(op.getDpsInitOperand(0)->get());
  if (!out)
    return true;
  for (Value v : p->getOperands()) {
    if (!isa<MemRefType>(v.getType()))
      continue;
    std::optional<Access> a = wholeOf(v);
    if (!a || a->overlaps(*out))
      return true;
  }
  return false;
}

/// One launch for the side jobs `jobs` (threads of 256, about 4 points of
/// the largest each), before the last of them; erases them.
Operation *emitMerged(MutableArrayRef<Member> jobs) {
  constexpr int64_t kThreads = 256, kPointsPerThread = 4;
  OpBuilder b(jobs.back().op);
  Location loc = jobs.front().op.getLoc();
  int64_t points = 1;
  for (Member &job : jobs)
    points = std::max(points, pointsOf(job));
  int64_t blocks = std::max<int64_t>(1, (points + kThreads * kPointsPerThread - 1) / (kThreads * kPointsPerThread));
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto launch = gpu::LaunchOp::create(b, loc, arith::ConstantIndexOp::create(b, loc, blocks), one, one,
                                      arith::ConstantIndexOp::create(b, loc, kThreads), one, one);
  OpBuilder kb = OpBuilder::atBlockBegin(&launch.getBody().front());
  gpu::TerminatorOp::create(kb, loc);
  kb.setInsertionPointToStart(&launch.getBody().front());
  Value first = arith::AddIOp::create(
      kb, loc, arith::MulIOp::create(kb, loc, launch.getBlockIds().x, arith::ConstantIndexOp::create(kb, loc, kThreads)),
      launch.getThreadIds().x);
  emitSideJobs(kb, loc, jobs, first, blocks * kThreads);
  for (Member &job : jobs)
    job.op->erase();
  return launch;
}

/// Runs of adjacent all-parallel ops that share no bytes one writes (the
/// query and key transposes after a split QKV matmul) become one launch,
/// each op a side job of it; not the fills matmuls start from, nor an op
/// that may run as the epilogue of the reduction before it.
void mergeIndependent(Block *block, bool tensorCores) {
  for (Operation *p = block->empty() ? nullptr : &block->front(); p; p = p->getNextNode()) {
    SmallVector<Member> run;
    for (Operation *q = p; q && !q->hasTrait<OpTrait::IsTerminator>(); q = q->getNextNode()) {
      if (passedOver(q))
        continue;
      std::optional<Member> s =
          staysOwn(q, tensorCores) || mayBeEpilogue(q, tensorCores) ? std::nullopt : asSideJob(q);
      if (!s)
        break;
      if (!apart(s->accesses, run))
        break;
      run.push_back(*s);
    }
    if (run.size() >= 2)
      p = emitMerged(run);
  }
}

struct GPURowKernelsPass : tern::impl::TernGPURowKernelsPassBase<GPURowKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (lanes < 1 || lanes > 32 || (lanes & (lanes - 1)) != 0) {
      getOperation().emitError("tern-gpu-row-kernels: lanes must be a power of 2 from 1 to 32");
      return signalPassFailure();
    }
    // The function's top-level ops in order (bufferized @main is straight
    // line there); a chain's ops are erased and the walk goes on after its
    // launch. Not the blocks inside ops: those of erased ops go with them.
    SmallVector<Block *> blocks;
    for (Block &block : getOperation().getBody())
      blocks.push_back(&block);
    for (Block *block : blocks)
      for (Operation *p = block->empty() ? nullptr : &block->front(); p; p = p->getNextNode()) {
        auto op = dyn_cast<linalg::LinalgOp>(p);
        if (!op || !op.hasPureBufferSemantics() || op.getNumReductionLoops() != 1)
          continue;
        if (std::optional<Chain> chain = chainAround(op, lanes, tensorCores))
          p = emit(*chain);
      }
    for (Block *block : blocks)
      mergeIndependent(block, tensorCores);
  }
};

} // namespace
