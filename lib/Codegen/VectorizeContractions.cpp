//===- VectorizeContractions.cpp - register-blocked matmul kernels --------===//
//
// A float contraction C[b.., m, n] += A[.., m, .., k, ..] * B[.., k, n] on
// buffers (linalg.matmul, Gemm's and batched matmuls' generics) becomes a
// register-blocked kernel: C is cut into panels of `vectors` x VL columns,
// the panels (and batch dims) form one scf.parallel the thread pool splits,
// and each panel runs down its rows `rows` at a time. For each k the kernel
// loads the panel's row of B as vectors, broadcasts one element of A per
// row and accumulates rows x vectors FMAs in registers; C is read and
// written once per panel. The last partial panel uses masked loads and
// stores, rows left over from `rows` use a one-row kernel.
//
// C must run along n with unit stride (vector stores); A is read one
// element at a time and may have any layout (a transposed A costs nothing).
// A constant B (weights) is packed at compile time, panel by panel, into
// the order the kernel reads it: [panels][k][panel columns], zero-padded,
// so each panel's B is one contiguous stream and the last panel needs no
// masked loads; a transposed constant B (Gemm's transB) is packed the same.
// Any other B must run along n with unit stride.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"

namespace tern {
#define GEN_PASS_DEF_TERNVECTORIZECONTRACTIONSPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {

/// The loop dims of a contraction and the operands' maps.
struct Contraction {
  unsigned m, n, k;
  SmallVector<unsigned> batch;
  AffineMap aMap, bMap, cMap;
  Value a, b, c;
  /// B is read as B[n, k] (a 2-D B transposed); only packed B can be.
  bool bTransposed = false;
};

bool unitInnerStride(Value v) {
  auto t = dyn_cast<MemRefType>(v.getType());
  if (!t || t.getRank() == 0)
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(t.getStridesAndOffset(strides, offset)) && strides.back() == 1;
}

bool usesDim(AffineMap map, unsigned d) {
  return llvm::any_of(map.getResults(), [&](AffineExpr e) {
    auto dim = dyn_cast<AffineDimExpr>(e);
    return dim && dim.getPosition() == d;
  });
}

/// Matches out += in0 * in1 on f32 buffers with one m, n and k dim.
std::optional<Contraction> matchContraction(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 1)
    return std::nullopt;
  for (OpOperand &o : op->getOpOperands()) {
    auto t = dyn_cast<MemRefType>(o.get().getType());
    if (!t || !t.getElementType().isF32())
      return std::nullopt;
  }
  // Body: yield(out + in0 * in1).
  Block *body = op.getBlock();
  auto yield = dyn_cast<linalg::YieldOp>(body->getTerminator());
  if (!yield || body->getOperations().size() != 3)
    return std::nullopt;
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return std::nullopt;
  Value acc = body->getArgument(2);
  Value product = add.getLhs() == acc ? add.getRhs() : add.getRhs() == acc ? add.getLhs() : Value();
  auto mul = product ? product.getDefiningOp<arith::MulFOp>() : arith::MulFOp();
  if (!mul)
    return std::nullopt;
  Value x = body->getArgument(0), y = body->getArgument(1);
  if (!((mul.getLhs() == x && mul.getRhs() == y) || (mul.getLhs() == y && mul.getRhs() == x)))
    return std::nullopt;

  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  Contraction c;
  c.a = op.getDpsInputOperand(0)->get();
  c.b = op.getDpsInputOperand(1)->get();
  c.c = op.getDpsInitOperand(0)->get();
  c.aMap = maps[0];
  c.bMap = maps[1];
  c.cMap = maps[2];
  for (AffineMap map : maps)
    if (!map.isProjectedPermutation(/*allowZeroInResults=*/true))
      return std::nullopt;
  if (!c.cMap.isProjectedPermutation() || c.cMap.getNumResults() < 2)
    return std::nullopt;
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  unsigned loops = op.getNumLoops();
  auto lastDim = [](AffineMap map, unsigned fromEnd) -> std::optional<unsigned> {
    auto d = dyn_cast<AffineDimExpr>(map.getResult(map.getNumResults() - 1 - fromEnd));
    return d ? std::optional<unsigned>(d.getPosition()) : std::nullopt;
  };
  auto n = lastDim(c.cMap, 0), m = lastDim(c.cMap, 1);
  if (!n || !m)
    return std::nullopt;
  if (lastDim(c.bMap, 0) != n) {
    if (c.bMap.getNumResults() != 2 || lastDim(c.bMap, 1) != n)
      return std::nullopt;
    c.bTransposed = true;
  }
  c.n = *n;
  c.m = *m;
  c.k = loops;
  for (unsigned d = 0; d < loops; ++d)
    if (iters[d] == utils::IteratorType::reduction)
      c.k = d;
  // m is A's alone, n is B's alone, k both's; all other dims are batch dims
  // of C.
  if (c.k == loops || !usesDim(c.aMap, c.k) || !usesDim(c.bMap, c.k) || usesDim(c.aMap, c.n) ||
      usesDim(c.bMap, c.m) || !usesDim(c.aMap, c.m))
    return std::nullopt;
  for (unsigned d = 0; d < loops; ++d) {
    if (d == c.m || d == c.n || d == c.k)
      continue;
    if (!usesDim(c.cMap, d))
      return std::nullopt;
    c.batch.push_back(d);
  }
  if ((!c.bTransposed && !unitInnerStride(c.b)) || !unitInnerStride(c.c))
    return std::nullopt;
  return c;
}

/// The float values of a constant global, or nothing.
std::optional<std::vector<float>> constantValues(memref::GlobalOp global) {
  if (!global || !global.getConstant() || !global.getInitialValue())
    return std::nullopt;
  Attribute init = *global.getInitialValue();
  int64_t count = global.getType().getNumElements();
  if (auto r = dyn_cast<DenseResourceElementsAttr>(init)) {
    AsmResourceBlob *blob = r.getRawHandle().getBlob();
    if (!blob || blob->getData().size() < size_t(count) * sizeof(float))
      return std::nullopt;
    std::vector<float> v(count);
    std::memcpy(v.data(), blob->getData().data(), count * sizeof(float));
    return v;
  }
  if (auto d = dyn_cast<DenseElementsAttr>(init)) {
    auto values = d.getValues<float>();
    return std::vector<float>(values.begin(), values.end());
  }
  return std::nullopt;
}

/// Packs constant 2-D B ([k, n], or [n, k] when transposed) into panels
/// [ceil(n / width)][k][width], zero-padded; one global per B and width.
class Packer {
public:
  Packer(ModuleOp module) : module(module), symbols(module) {}

  /// The packed global's type and name, or nothing if B is not a constant.
  std::optional<std::pair<MemRefType, StringAttr>> pack(const Contraction &c, int64_t width) {
    auto get = c.b.getDefiningOp<memref::GetGlobalOp>();
    if (!get || get.getType().getRank() != 2 || !get.getType().hasStaticShape())
      return std::nullopt;
    auto key = std::make_pair(Attribute(get.getNameAttr().getAttr()), width);
    if (auto it = cache.find(key); it != cache.end())
      return it->second;
    auto global = symbols.lookup<memref::GlobalOp>(get.getName());
    std::optional<std::vector<float>> src = constantValues(global);
    if (!src)
      return std::nullopt;
    int64_t k = get.getType().getDimSize(c.bTransposed ? 1 : 0), n = get.getType().getDimSize(c.bTransposed ? 0 : 1);
    int64_t panels = (n + width - 1) / width;
    std::vector<float> packed(panels * k * width, 0.0f);
    for (int64_t p = 0; p < panels; ++p)
      for (int64_t kk = 0; kk < k; ++kk)
        for (int64_t r = 0; r < width && p * width + r < n; ++r) {
          int64_t col = p * width + r;
          packed[(p * k + kk) * width + r] = c.bTransposed ? (*src)[col * k + kk] : (*src)[kk * n + col];
        }
    auto type = MemRefType::get({panels, k, width}, get.getType().getElementType());
    auto tensorType = RankedTensorType::get(type.getShape(), type.getElementType());
    ArrayRef<char> bytes(reinterpret_cast<const char *>(packed.data()), packed.size() * sizeof(float));
    std::string name = (global.getSymName() + "_packed" + Twine(width)).str();
    auto attr = DenseResourceElementsAttr::get(tensorType, name,
                                               HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, alignof(float)));
    OpBuilder b(module.getBodyRegion());
    b.setInsertionPoint(global);
    auto packedGlobal = memref::GlobalOp::create(b, global.getLoc(), name, b.getStringAttr("private"), type, attr,
                                                 /*constant=*/true, b.getI64IntegerAttr(64));
    StringAttr sym = symbols.insert(packedGlobal);
    packedNames.insert(global.getSymNameAttr());
    return cache[key] = std::make_pair(type, sym);
  }

  /// Erases the globals that were packed and are no longer read.
  void eraseUnused() {
    SmallVector<memref::GetGlobalOp> dead;
    module.walk([&](memref::GetGlobalOp get) {
      if (get->use_empty() && packedNames.contains(get.getNameAttr().getAttr()))
        dead.push_back(get);
    });
    for (memref::GetGlobalOp get : dead)
      get.erase();
    for (StringAttr name : packedNames) {
      auto global = symbols.lookup<memref::GlobalOp>(name);
      if (global && SymbolTable::symbolKnownUseEmpty(global, module))
        symbols.erase(global);
    }
  }

private:
  ModuleOp module;
  SymbolTable symbols;
  DenseMap<std::pair<Attribute, int64_t>, std::pair<MemRefType, StringAttr>> cache;
  llvm::SetVector<StringAttr> packedNames;
};

class KernelBuilder {
public:
  KernelBuilder(OpBuilder &b, Location loc, const Contraction &c, int64_t vl, int64_t vectors, Value packedB)
      : b(b), loc(loc), c(c), vl(vl), vectors(vectors), packedB(packedB),
        vecType(VectorType::get({vl}, b.getF32Type())) {}

  /// Replaces the contraction, whose loop sizes are `sizes`.
  void build(ArrayRef<Value> sizes, int64_t rows) {
    Value zero = index(0), one = index(1), width = index(vl * vectors);
    SmallVector<Value> lbs, ubs, steps;
    for (unsigned d : c.batch) {
      lbs.push_back(zero);
      ubs.push_back(sizes[d]);
      steps.push_back(one);
    }
    Value n = sizes[c.n], m = sizes[c.m], k = sizes[c.k];
    lbs.push_back(zero);
    ubs.push_back(arith::CeilDivUIOp::create(b, loc, n, width));
    steps.push_back(one);
    scf::ParallelOp::create(b, loc, lbs, ubs, steps, [&](OpBuilder &nb, Location, ValueRange ivs) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
      SmallVector<Value> at(sizes.size(), zero);
      for (auto [d, iv] : llvm::zip(c.batch, ivs))
        at[d] = iv;
      panelIndex = ivs.back();
      Value j0 = arith::MulIOp::create(b, loc, ivs.back(), width);
      at[c.n] = j0;
      Value left = arith::SubIOp::create(b, loc, n, j0);
      Value full = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, left, width);
      scf::IfOp::create(
          b, loc, full,
          [&](OpBuilder &tb, Location) {
            OpBuilder::InsertionGuard g(b);
            b.setInsertionPoint(tb.getInsertionBlock(), tb.getInsertionPoint());
            panel(at, m, k, rows, {});
            scf::YieldOp::create(b, loc);
          },
          [&](OpBuilder &eb, Location) {
            OpBuilder::InsertionGuard g(b);
            b.setInsertionPoint(eb.getInsertionBlock(), eb.getInsertionPoint());
            SmallVector<Value> masks;
            for (int64_t v = 0; v < vectors; ++v) {
              Value lanes = arith::SubIOp::create(b, loc, left, index(v * vl));
              lanes = arith::MaxSIOp::create(b, loc, arith::MinSIOp::create(b, loc, lanes, index(vl)), zero);
              masks.push_back(vector::CreateMaskOp::create(b, loc, VectorType::get({vl}, b.getI1Type()), lanes));
            }
            panel(at, m, k, rows, masks);
            scf::YieldOp::create(b, loc);
          });
    });
  }

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  /// The indices of an operand with map `map` at the loop position `at`.
  SmallVector<Value> indices(AffineMap map, ArrayRef<Value> at) {
    SmallVector<Value> idx;
    for (AffineExpr e : map.getResults()) {
      if (auto d = dyn_cast<AffineDimExpr>(e))
        idx.push_back(at[d.getPosition()]);
      else
        idx.push_back(index(cast<AffineConstantExpr>(e).getValue()));
    }
    return idx;
  }

  /// One panel: rows [0, m) in steps of `rows`, then one at a time.
  void panel(SmallVector<Value> at, Value m, Value k, int64_t rows, ArrayRef<Value> masks) {
    Value zero = index(0), one = index(1);
    Value split = m;
    if (rows > 1) {
      Value r = index(rows);
      split = arith::SubIOp::create(b, loc, m, arith::RemUIOp::create(b, loc, m, r));
      scf::ForOp::create(b, loc, zero, split, r, ValueRange{}, [&](OpBuilder &nb, Location, Value i0, ValueRange) {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
        at[c.m] = i0;
        kernel(at, k, rows, masks);
        scf::YieldOp::create(b, loc);
      });
    }
    scf::ForOp::create(b, loc, split, m, one, ValueRange{}, [&](OpBuilder &nb, Location, Value i, ValueRange) {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
      at[c.m] = i;
      kernel(at, k, 1, masks);
      scf::YieldOp::create(b, loc);
    });
  }

  /// C[at.m + r, at.n + v*VL] += sum_k A[.., k] * B[k, ..] for r < rows.
  void kernel(SmallVector<Value> at, Value k, int64_t rows, ArrayRef<Value> masks) {
    Value i0 = at[c.m], j0 = at[c.n];
    SmallVector<Value> rowIdx, colIdx;
    for (int64_t r = 0; r < rows; ++r)
      rowIdx.push_back(r == 0 ? i0 : Value(arith::AddIOp::create(b, loc, i0, index(r))));
    for (int64_t v = 0; v < vectors; ++v)
      colIdx.push_back(v == 0 ? j0 : Value(arith::AddIOp::create(b, loc, j0, index(v * vl))));
    Value zeros = arith::ConstantOp::create(b, loc, vecType, DenseElementsAttr::get(vecType, b.getF32FloatAttr(0)));
    auto load = [&](Value mem, ValueRange idx, int64_t v) -> Value {
      if (masks.empty())
        return vector::LoadOp::create(b, loc, vecType, mem, idx);
      return vector::MaskedLoadOp::create(b, loc, vecType, mem, idx, masks[v], zeros);
    };
    SmallVector<Value> accs;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t v = 0; v < vectors; ++v) {
        at[c.m] = rowIdx[r];
        at[c.n] = colIdx[v];
        accs.push_back(load(c.c, indices(c.cMap, at), v));
      }
    auto loop = scf::ForOp::create(
        b, loc, index(0), k, index(1), accs, [&](OpBuilder &nb, Location, Value kk, ValueRange iter) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          SmallVector<Value> pos = at;
          pos[c.k] = kk;
          SmallVector<Value> bv;
          for (int64_t v = 0; v < vectors; ++v) {
            pos[c.n] = colIdx[v];
            if (packedB)
              bv.push_back(vector::LoadOp::create(b, loc, vecType, packedB,
                                                  ValueRange{panelIndex, kk, index(v * vl)}));
            else
              bv.push_back(load(c.b, indices(c.bMap, pos), v));
          }
          SmallVector<Value> next;
          for (int64_t r = 0; r < rows; ++r) {
            pos[c.m] = rowIdx[r];
            Value a = memref::LoadOp::create(b, loc, c.a, indices(c.aMap, pos));
            Value av = vector::BroadcastOp::create(b, loc, vecType, a);
            for (int64_t v = 0; v < vectors; ++v)
              next.push_back(vector::FMAOp::create(b, loc, av, bv[v], iter[r * vectors + v]));
          }
          scf::YieldOp::create(b, loc, next);
        });
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t v = 0; v < vectors; ++v) {
        at[c.m] = rowIdx[r];
        at[c.n] = colIdx[v];
        Value acc = loop.getResult(r * vectors + v);
        if (masks.empty())
          vector::StoreOp::create(b, loc, acc, c.c, indices(c.cMap, at));
        else
          vector::MaskedStoreOp::create(b, loc, c.c, indices(c.cMap, at), masks[v], acc);
      }
  }

  OpBuilder &b;
  Location loc;
  const Contraction &c;
  int64_t vl, vectors;
  Value packedB, panelIndex;
  VectorType vecType;
};

struct VectorizeContractionsPass : tern::impl::TernVectorizeContractionsPassBase<VectorizeContractionsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (vectorBits < 64 || vectorBits % 32 != 0 || rows < 1 || vectors < 1) {
      getOperation().emitError("tern-vectorize-contractions: bad vector-bits, rows or vectors");
      return signalPassFailure();
    }
    SmallVector<std::pair<linalg::LinalgOp, Contraction>> found;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (auto c = matchContraction(op))
        found.push_back({op, *c});
    });
    int64_t vl = vectorBits / 32;
    Packer packer(getOperation());
    OpBuilder b(&getContext());
    for (auto &[op, c] : found) {
      std::optional<std::pair<MemRefType, StringAttr>> packed;
      if (packWeights)
        packed = packer.pack(c, vl * vectors);
      if (c.bTransposed && !packed)
        continue;
      b.setInsertionPoint(op);
      Location loc = op.getLoc();
      Value packedB;
      if (packed)
        packedB = memref::GetGlobalOp::create(b, loc, packed->first, packed->second.getValue());
      SmallVector<Value> sizes;
      for (Range r : op.createLoopRanges(b, loc))
        sizes.push_back(getValueOrCreateConstantIndexOp(b, loc, r.size));
      KernelBuilder(b, loc, c, vl, vectors, packedB).build(sizes, rows);
      op->erase();
    }
    packer.eraseUnused();
  }
};

} // namespace
