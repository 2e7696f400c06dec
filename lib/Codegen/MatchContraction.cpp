//===- MatchContraction.cpp - contractions the matmul kernels take --------===//

#include "lib/Codegen/MatchContraction.h"

#include "lib/Codegen/EntryBuffers.h"
#include "lib/Codegen/VectorBody.h"
#include "passes/PatternUtils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;

namespace tern {


/// The body of a block-dequantized contraction: out + x * (uitofp(q) * s +
/// z) with x, q, s, z the four inputs in order (any operand order).
static bool isDequantBody(Block *body) {
  auto yield = dyn_cast<linalg::YieldOp>(body->getTerminator());
  if (!yield || body->getNumArguments() != 5 || body->getOperations().size() != 6)
    return false;
  Value x = body->getArgument(0), q = body->getArgument(1), sc = body->getArgument(2), z = body->getArgument(3),
        acc = body->getArgument(4);
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  Value product = add ? tern::patterns::otherOperand(add, acc) : Value();
  auto mul = product ? product.getDefiningOp<arith::MulFOp>() : arith::MulFOp();
  Value w = mul ? tern::patterns::otherOperand(mul, x) : Value();
  auto wAdd = w ? w.getDefiningOp<arith::AddFOp>() : arith::AddFOp();
  Value scaled = wAdd ? tern::patterns::otherOperand(wAdd, z) : Value();
  auto wMul = scaled ? scaled.getDefiningOp<arith::MulFOp>() : arith::MulFOp();
  Value converted = wMul ? tern::patterns::otherOperand(wMul, sc) : Value();
  auto cvt = converted ? converted.getDefiningOp<arith::UIToFPOp>() : arith::UIToFPOp();
  return cvt && cvt.getIn() == q && q.getType().isInteger(8) && x.getType().isF32();
}

/// The element types the kernels compute in: f32 (FMAs) and i32 (integer
/// multiply-adds, the integer matmuls and convolutions of quantized models
/// after their zero points are subtracted).
bool isKernelElement(Type t) { return t.isF32() || t.isInteger(32); }

bool usesDim(AffineMap map, unsigned d) {
  return llvm::any_of(map.getResults(), [&](AffineExpr e) {
    auto dim = dyn_cast<AffineDimExpr>(e);
    return dim && dim.getPosition() == d;
  });
}

/// Can the kernel read 32-bit `mem` through `map` per vector of C along
/// loop `last`: as a vector (map's last result is `last`, unit stride) or as
/// one value broadcast (the map does not read `last`)?
bool readablePerVector(Value mem, AffineMap map, unsigned last) {
  auto t = dyn_cast<MemRefType>(mem.getType());
  if (!t || !isKernelElement(t.getElementType()) || !map.isProjectedPermutation(/*allowZeroInResults=*/true))
    return false;
  if (!usesDim(map, last))
    return true;
  auto d = dyn_cast<AffineDimExpr>(map.getResults().back());
  return d && d.getPosition() == last && tern::hasUnitInnerStride(mem);
}

static std::optional<Contraction> analyzeMaps(linalg::LinalgOp op, Contraction c);
static std::optional<Contraction> matchDequantContraction(linalg::LinalgOp op);

/// Matches out += in0 * in1 on f32 or i32 buffers: C[batch.., m.., n] with
/// B reading n, A not.
std::optional<Contraction> matchContraction(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 || op.getNumReductionLoops() < 1)
    return std::nullopt;
  if (op.getNumDpsInputs() == 4)
    return matchDequantContraction(op);
  if (op.getNumDpsInputs() != 2)
    return std::nullopt;
  Type elem = getElementTypeOrSelf(op.getDpsInitOperand(0)->get().getType());
  if (!isKernelElement(elem))
    return std::nullopt;
  // Body: yield(out + in0 * in1), the inputs maybe bytes widened to i32.
  Block *body = op.getBlock();
  auto yield = dyn_cast<linalg::YieldOp>(body->getTerminator());
  if (!yield)
    return std::nullopt;
  Operation *add = yield.getOperand(0).getDefiningOp();
  if (!add || !(elem.isF32() ? isa<arith::AddFOp>(add) : isa<arith::AddIOp>(add)))
    return std::nullopt;
  Value acc = body->getArgument(2);
  Value product = tern::patterns::otherOperand(add, acc);
  Operation *mul = product ? product.getDefiningOp() : nullptr;
  if (!mul || !(elem.isF32() ? isa<arith::MulFOp>(mul) : isa<arith::MulIOp>(mul)))
    return std::nullopt;
  Value x = body->getArgument(0), y = body->getArgument(1);
  Contraction c;
  // A widened byte: which extension, or nothing.
  auto widened = [&](Value v, Value arg, bool &isUnsigned, unsigned &bits) {
    Operation *ext = v.getDefiningOp();
    if (!ext || !isa<arith::ExtUIOp, arith::ExtSIOp>(ext) || ext->getOperand(0) != arg ||
        !(arg.getType().isInteger(8) || arg.getType().isInteger(16)))
      return false;
    isUnsigned = isa<arith::ExtUIOp>(ext);
    bits = arg.getType().getIntOrFloatBitWidth();
    return true;
  };
  Value lhs = mul->getOperand(0), rhs = mul->getOperand(1);
  if (tern::patterns::otherOperand(mul, x) == y) {
    for (OpOperand &o : op->getOpOperands()) {
      auto t = dyn_cast<MemRefType>(o.get().getType());
      if (!t || t.getElementType() != elem)
        return std::nullopt;
    }
    if (body->getOperations().size() != 3)
      return std::nullopt;
  } else if (elem.isInteger(32) && widened(lhs, x, c.aUnsigned, c.aBits) && widened(rhs, y, c.bUnsigned, c.bBits)) {
    if (body->getOperations().size() != 5 || !isa<MemRefType>(op.getDpsInputOperand(0)->get().getType()) ||
        !isa<MemRefType>(op.getDpsInputOperand(1)->get().getType()))
      return std::nullopt;
    c.bytes = true;
  } else {
    return std::nullopt;
  }

  return analyzeMaps(op, c);
}

/// The loop dims of contraction `op` (inputs A and B first) into `c`.
static std::optional<Contraction> analyzeMaps(linalg::LinalgOp op, Contraction c) {
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  c.a = op.getDpsInputOperand(0)->get();
  c.b = op.getDpsInputOperand(1)->get();
  c.c = op.getDpsInitOperand(0)->get();
  c.aMap = maps[0];
  c.bMap = maps[1];
  c.cMap = maps.back();
  // A is read one element at a time: any map (a convolution's window).
  if (c.aMap.getNumSymbols() != 0 || !c.bMap.isProjectedPermutation(/*allowZeroInResults=*/true) ||
      !c.cMap.isProjectedPermutation() || c.cMap.getNumResults() < 2)
    return std::nullopt;
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  unsigned loops = op.getNumLoops();
  c.n = cast<AffineDimExpr>(c.cMap.getResults().back()).getPosition();
  SmallVector<unsigned> reductions;
  for (unsigned d = 0; d < loops; ++d)
    if (iters[d] == utils::IteratorType::reduction)
      reductions.push_back(d);
  for (AffineExpr e : c.cMap.getResults().drop_back()) {
    unsigned d = cast<AffineDimExpr>(e).getPosition();
    (usesDim(c.bMap, d) ? c.batch : c.ms).push_back(d);
  }
  if (c.ms.empty() || reductions.empty() || c.aMap.isFunctionOfDim(c.n) || !usesDim(c.bMap, c.n) ||
      c.ms.size() + c.batch.size() + 1 + reductions.size() != loops)
    return std::nullopt;
  for (unsigned m : c.ms)
    if (!c.aMap.isFunctionOfDim(m))
      return std::nullopt;
  for (unsigned k : reductions)
    if (!c.aMap.isFunctionOfDim(k) || !usesDim(c.bMap, k))
      return std::nullopt;
  auto dimAt = [](AffineMap map, unsigned i) -> std::optional<unsigned> {
    auto d = dyn_cast<AffineDimExpr>(map.getResult(i));
    return d ? std::optional<unsigned>(d.getPosition()) : std::nullopt;
  };
  unsigned bRank = c.bMap.getNumResults();
  if (dimAt(c.bMap, bRank - 1) == c.n) {
    // B[.., k, n]: one reduction dim.
    if (reductions.size() != 1 || !tern::hasUnitInnerStride(c.b))
      return std::nullopt;
    c.ks = reductions;
  } else if (dimAt(c.bMap, 0) == c.n && bRank == 1 + reductions.size() && c.batch.empty()) {
    // B[n, k...]: the reductions in B's order, packed.
    for (unsigned i = 1; i < bRank; ++i)
      c.ks.push_back(*dimAt(c.bMap, i));
    c.bTransposed = true;
  } else {
    return std::nullopt;
  }
  if (!tern::hasUnitInnerStride(c.c))
    return std::nullopt;
  return c;
}

/// A float contraction whose B is block-dequantized in the body (see
/// Contraction::dequant): B a [k, n] byte matrix, the scales and offsets
/// read at (k floordiv block, n).
static std::optional<Contraction> matchDequantContraction(linalg::LinalgOp op) {
  if (!isDequantBody(op.getBlock()) || !isa<MemRefType>(op.getDpsInitOperand(0)->get().getType()) ||
      !getElementTypeOrSelf(op.getDpsInitOperand(0)->get().getType()).isF32())
    return std::nullopt;
  for (OpOperand *in : op.getDpsInputOperands())
    if (!isa<MemRefType>(in->get().getType()))
      return std::nullopt;
  Contraction c;
  c.dequant = true;
  c.int8Activations = op->hasAttr(tern::kInt8ActivationsAttr);
  c.scale = op.getDpsInputOperand(2)->get();
  c.offset = op.getDpsInputOperand(3)->get();
  std::optional<Contraction> r = analyzeMaps(op, c);
  if (!r || r->bTransposed || r->ks.size() != 1 || !r->batch.empty())
    return std::nullopt;
  // Scales and offsets at (k floordiv block, n).
  MLIRContext *ctx = op.getContext();
  for (unsigned i : {2u, 3u}) {
    AffineMap map = op.getMatchingIndexingMap(op.getDpsInputOperand(i));
    if (map.getNumResults() != 2 || map.getResult(1) != getAffineDimExpr(r->n, ctx))
      return std::nullopt;
    auto div = dyn_cast<AffineBinaryOpExpr>(map.getResult(0));
    auto blockSize = div ? dyn_cast<AffineConstantExpr>(div.getRHS()) : AffineConstantExpr(nullptr);
    if (!div || div.getKind() != AffineExprKind::FloorDiv || div.getLHS() != getAffineDimExpr(r->ks[0], ctx) ||
        !blockSize || (r->block && r->block != blockSize.getValue()))
      return std::nullopt;
    r->block = blockSize.getValue();
  }
  return r;
}


static bool isViewOrAlloc(Operation *op) {
  return isa<memref::ExpandShapeOp, memref::CollapseShapeOp, memref::SubViewOp, memref::ViewOp,
             memref::AllocOp, memref::AllocaOp, memref::GetGlobalOp>(op) ||
         isMemoryEffectFree(op);
}

/// Is `op` a fill of a buffer of its own, which the contraction neither
/// reads nor writes (the padded buffer the epilogue writes the interior of,
/// its border zeroed first)? The kernel may then run after it.
static bool fillsOtherBuffer(Operation *op, const Contraction &c) {
  auto fill = dyn_cast<linalg::FillOp>(op);
  if (!fill || !fill.hasPureBufferSemantics())
    return false;
  Value root = tern::rootBuffer(fill.getDpsInitOperand(0)->get());
  return root.getDefiningOp<memref::AllocOp>() && root != tern::rootBuffer(c.a) && root != tern::rootBuffer(c.b) &&
         root != tern::rootBuffer(c.c);
}

/// The epilogue of contraction `op` writing `c`, if one can be fused.
/// Are `type`'s dims `dims` (in order) contiguous: each one's stride the
/// next one's times its size, the last one's 1?
static bool contiguousDims(MemRefType type, ArrayRef<int64_t> dims) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)))
    return false;
  int64_t expected = 1;
  for (int64_t d : llvm::reverse(dims)) {
    if (strides[d] != expected || type.isDynamicDim(d))
      return false;
    expected *= type.getDimSize(d);
  }
  return true;
}

std::optional<Epilogue> findEpilogue(Operation *op, const Contraction &c, int64_t vl) {
  auto cType = cast<MemRefType>(c.c.getType());
  int64_t rank = cType.getRank();
  for (Operation *it = op->getNextNode(); it; it = it->getNextNode()) {
    auto generic = dyn_cast<linalg::GenericOp>(it);
    if (!generic) {
      if (isViewOrAlloc(it) || fillsOtherBuffer(it, c))
        continue;
      return std::nullopt;
    }
    // The first generic after the contraction must read C (directly or
    // through an expand_shape that keeps n the last dim on its own).
    Epilogue e;
    e.op = generic;
    bool found = false;
    for (OpOperand *in : generic.getDpsInputOperands()) {
      Value v = in->get();
      if (v == c.c) {
        e.groups.clear();
        for (int64_t i = 0; i < rank; ++i)
          e.groups.push_back({i});
      } else if (auto ex = v.getDefiningOp<memref::ExpandShapeOp>(); ex && ex.getSrc() == c.c) {
        e.groups = ex.getReassociationIndices();
      } else {
        continue;
      }
      if (found)
        return std::nullopt; // C read twice
      found = true;
      e.cInput = in->getOperandNumber();
      e.expanded = v;
    }
    if (!found || generic.getNumDpsInits() != 1 || !generic.hasPureBufferSemantics() ||
        generic.getNumReductionLoops() != 0 || !tern::vectorizableBody(generic))
      return std::nullopt;
    unsigned loops = generic.getNumLoops();
    auto expandedType = cast<MemRefType>(e.expanded.getType());
    if ((int64_t)loops != expandedType.getRank() ||
        !generic.getMatchingIndexingMap(generic.getDpsInputOperand(e.cInput)).isIdentity())
      return std::nullopt;
    OpOperand *out = generic.getDpsInitOperand(0);
    auto outType = dyn_cast<MemRefType>(out->get().getType());
    if (!outType || !isKernelElement(outType.getElementType()) || !generic.getMatchingIndexingMap(out).isIdentity() ||
        !tern::hasUnitInnerStride(out->get()))
      return std::nullopt;
    // n expanded into several dims of more than one element (positions into
    // rows; C runs along n with unit stride, so its expansion is contiguous
    // across them): a vector of C stays within a row when the rows are whole
    // vectors; else, if the output is not contiguous across the rows, it is
    // split at the row ends (rowLength) and the other inputs may not read
    // those dims.
    SmallVector<int64_t> nDims;
    for (int64_t d : e.groups.back())
      if (expandedType.getDimSize(d) != 1)
        nDims.push_back(d);
    bool rowsSplit = false;
    if (nDims.size() > 1) {
      int64_t row = expandedType.getDimSize(nDims.back());
      if (ShapedType::isDynamic(row))
        return std::nullopt;
      if (row % vl != 0 && !contiguousDims(outType, nDims)) {
        // Split stores address a flat view of the output: static layout.
        SmallVector<int64_t> strides;
        int64_t offset;
        if (!outType.hasStaticShape() || failed(outType.getStridesAndOffset(strides, offset)) ||
            ShapedType::isDynamic(offset) || llvm::any_of(strides, ShapedType::isDynamic))
          return std::nullopt;
        e.rowLength = row;
        rowsSplit = true;
      }
    }
    // Other inputs: f32, read along the last loop with unit stride, or not
    // along it at all (broadcast); with rows of n split into several dims,
    // not along those when the stores are split, else contiguously across
    // them unless the rows are whole vectors.
    for (OpOperand *in : generic.getDpsInputOperands()) {
      if (in->getOperandNumber() == e.cInput)
        continue;
      AffineMap map = generic.getMatchingIndexingMap(in);
      if (!readablePerVector(in->get(), map, loops - 1))
        return std::nullopt;
      if (nDims.size() > 1 && llvm::any_of(nDims, [&](int64_t d) { return usesDim(map, d); })) {
        auto inType = cast<MemRefType>(in->get().getType());
        bool wholeRows = expandedType.getDimSize(nDims.back()) % vl == 0;
        if (rowsSplit || !map.isIdentity() || (!wholeRows && !contiguousDims(inType, nDims)))
          return std::nullopt;
      }
    }
    // Does anything but the contraction, the epilogue and the init read C?
    auto isAlloc = c.c.getDefiningOp<memref::AllocOp>();
    e.storeC = !isAlloc;
    for (Operation *user : c.c.getUsers()) {
      if (user == op || user == generic.getOperation() || isa<memref::DeallocOp>(user))
        continue;
      if (user == e.expanded.getDefiningOp() && llvm::all_of(user->getUsers(), [&](Operation *u) {
            return u == generic.getOperation();
          }))
        continue;
      // What set C before the contraction (a fill, copy or broadcast) is no
      // reader; a view made before it may be read after.
      if (user->getBlock() == op->getBlock() && user->isBeforeInBlock(op) &&
          !isa<ViewLikeOpInterface>(user) && !user->getNumResults())
        continue;
      e.storeC = true;
    }
    return e;
  }
  return std::nullopt;
}


/// Is `op` a copy of a bias into all of C that the kernel can read itself?
static bool isBiasBroadcast(linalg::GenericOp op, Value c) {
  if (op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 1 || op.getDpsInitOperand(0)->get() != c ||
      op.getNumReductionLoops() != 0 || !op.hasPureBufferSemantics() ||
      !op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity())
    return false;
  auto yield = cast<linalg::YieldOp>(op.getBlock()->getTerminator());
  OpOperand *in = op.getDpsInputOperand(0);
  return op.getBlock()->getOperations().size() == 1 && yield.getOperand(0) == op.getMatchingBlockArgument(in) &&
         readablePerVector(in->get(), op.getMatchingIndexingMap(in), op.getNumLoops() - 1);
}

/// The constant a fill writes into all of `out`: linalg.fill, or a generic
/// without inputs yielding a constant (a zero bias broadcast, folded).
static Value constantFilling(Operation *op, Value out) {
  if (auto fill = dyn_cast<linalg::FillOp>(op); fill && fill.getOutputs()[0] == out)
    return fill.getInputs()[0];
  auto g = dyn_cast<linalg::GenericOp>(op);
  if (!g || g.getNumDpsInputs() != 0 || g.getNumDpsInits() != 1 || g.getDpsInits()[0] != out ||
      g.getNumParallelLoops() != g.getNumLoops() || !g.getIndexingMapsArray()[0].isIdentity())
    return {};
  Value y = cast<linalg::YieldOp>(g.getBody()->getTerminator()).getOperand(0);
  return y.getParentRegion() != &g.getRegion() && matchPattern(y, m_Constant()) ? y : Value();
}

Init initOf(Operation *op, const Contraction &c) {
  for (Operation *it = op->getPrevNode(); it; it = it->getPrevNode()) {
    bool touches = llvm::is_contained(it->getOperands(), c.c);
    if (!touches) {
      if (isViewOrAlloc(it) || isa<linalg::FillOp>(it) ||
          (it->getNumOperands() == 1 && constantFilling(it, it->getOperand(0))))
        continue;
      if (auto copy = dyn_cast<memref::CopyOp>(it); copy && copy.getTarget() != c.c)
        continue;
      return {};
    }
    if (auto g = dyn_cast<linalg::GenericOp>(it); g && isBiasBroadcast(g, c.c))
      return {Value(), g, it};
    Value filled = constantFilling(it, c.c);
    if (auto copy = dyn_cast<memref::CopyOp>(it); copy && copy.getTarget() == c.c) {
      // The copy's source must be filled with a constant and not written
      // since: look for the fill writing it, skipping copies out of it.
      for (Operation *p = copy->getPrevNode(); p; p = p->getPrevNode()) {
        if (!llvm::is_contained(p->getOperands(), copy.getSource()))
          continue;
        if (Value v = constantFilling(p, copy.getSource()))
          filled = v;
        else if (auto other = dyn_cast<memref::CopyOp>(p); other && other.getSource() == copy.getSource())
          continue;
        break;
      }
    }
    if (!filled || !matchPattern(filled, m_Constant()))
      return {};
    return {filled, linalg::GenericOp(), it};
  }
  return {};
}

/// Does A run along the (one) reduction dim with unit stride, so that 4
/// consecutive k are 4 consecutive bytes?
bool readsAlongK(const Contraction &c) {
  auto last = dyn_cast<AffineDimExpr>(c.aMap.getResults().back());
  if (!last || last.getPosition() != c.ks[0] || !tern::hasUnitInnerStride(c.a))
    return false;
  // k appears nowhere else in A's indices.
  for (AffineExpr e : c.aMap.getResults().drop_back())
    if (e.isFunctionOfDim(c.ks[0]))
      return false;
  return true;
}

} // namespace tern
