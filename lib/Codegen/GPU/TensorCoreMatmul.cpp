//===- TensorCoreMatmul.cpp - 16-bit contractions on the tensor cores -----===//
//
// The kernel, per block of 128 threads (4 warps, 2x2) and 64x64 outputs:
//
//   for each 32-wide slice of k:
//     stage A[64 x 32] and B[32 x 64] in shared memory (B as [n][k]) as
//     32-bit words of two k-consecutive elements (an mma operand register),
//     each thread 8 words of each, out-of-range elements as 0, rows padded
//     to 20 words so that the fragment loads below hit 32 banks;
//     barrier
//     each warp, its 32x32 outputs as 2x4 tiles of m16n8: for both 16-wide
//     halves of the slice, mma.sync m16n8k16 (row-major A, column-major B,
//     f32 accumulators held in registers across the whole k loop);
//     barrier
//   each thread's 32 outputs, those inside the output, to emitResult.
//
// Lane l of a warp holds, with g = l / 4 and t = l % 4 (PTX ISA, mma.m16n8k16
// fragments): of A rows g and g+8, columns 2t, 2t+1, 2t+8, 2t+9; of B
// column g, rows 2t, 2t+1, 2t+8, 2t+9; of C rows g and g+8, columns 2t, 2t+1.
//
//===----------------------------------------------------------------------===//

#include "lib/Codegen/GPU/TensorCoreMatmul.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace tern {
namespace {

constexpr int64_t kTileM = 64, kTileN = 64, kTileK = 32, kThreads = 128;
constexpr int64_t kRowWords = kTileK / 2 + 4; // 80 bytes: fragment loads conflict-free
constexpr int64_t kWarpM = 32, kWarpN = 32, kMmaM = 16, kMmaN = 8, kMmaK = 16;
constexpr int64_t kTilesM = kWarpM / kMmaM, kTilesN = kWarpN / kMmaN; // 2 x 4 per warp

/// The block argument `v` is extended from (arith.extf of an argument).
BlockArgument extendedArg(Value v) {
  auto ext = v.getDefiningOp<arith::ExtFOp>();
  return ext ? dyn_cast<BlockArgument>(ext.getIn()) : nullptr;
}

bool dimsOrConstants(AffineMap map) {
  return llvm::all_of(map.getResults(), [](AffineExpr e) { return isa<AffineDimExpr, AffineConstantExpr>(e); });
}

/// The last dim among `own`'s results, other than `k`, that `other` does not use; -1 if none.
int lastOwnDim(AffineMap own, AffineMap other, unsigned k) {
  int found = -1;
  for (AffineExpr e : own.getResults())
    if (auto d = dyn_cast<AffineDimExpr>(e); d && d.getPosition() != k && !other.isFunctionOfDim(d.getPosition()))
      found = d.getPosition();
  return found;
}

bool lastResultIs(AffineMap map, unsigned dim) {
  if (map.getNumResults() == 0)
    return false;
  auto d = dyn_cast<AffineDimExpr>(map.getResults().back());
  return d && d.getPosition() == dim;
}

struct KernelBuilder {
  OpBuilder &b;
  Location loc;

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value add(Value x, int64_t y) { return y ? add(x, idx(y)) : x; }
  Value mul(Value x, int64_t y) { return arith::MulIOp::create(b, loc, x, idx(y)); }
  Value div(Value x, int64_t y) { return arith::DivUIOp::create(b, loc, x, idx(y)); }
  Value rem(Value x, int64_t y) { return arith::RemUIOp::create(b, loc, x, idx(y)); }
  Value lt(Value x, Value y) { return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, y); }
  Value both(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value min(Value x, Value y) { return arith::MinUIOp::create(b, loc, x, y); }

  /// `map`'s results at the loop dims' values `dims` (constants as they are).
  SmallVector<Value> indices(AffineMap map, ArrayRef<Value> dims) {
    SmallVector<Value> out;
    for (AffineExpr e : map.getResults()) {
      if (auto d = dyn_cast<AffineDimExpr>(e))
        out.push_back(dims[d.getPosition()]);
      else
        out.push_back(idx(cast<AffineConstantExpr>(e).getValue()));
    }
    return out;
  }

  /// The word of a staged tile holding columns `col` and `col`+1, as an
  /// mma operand register: vector<2xf16> for f16, i32 for bf16.
  Value pair(Value tile, Value row, Value col, bool bf16) {
    Value word = memref::LoadOp::create(b, loc, tile, ValueRange{row, div(col, 2)});
    if (bf16)
      return word;
    return LLVM::BitcastOp::create(b, loc, VectorType::get({2}, b.getF16Type()), word);
  }

  /// Two 16-bit floats as a word, `lo` in the low half.
  Value pack(Value lo, Value hi) {
    auto bits = [&](Value v) {
      Value i16 = arith::BitcastOp::create(b, loc, b.getI16Type(), v);
      return arith::ExtUIOp::create(b, loc, b.getI32Type(), i16).getResult();
    };
    Value high = arith::ShLIOp::create(b, loc, bits(hi), arith::ConstantIntOp::create(b, loc, b.getI32Type(), 16));
    return arith::OrIOp::create(b, loc, bits(lo), high);
  }
};

} // namespace

std::optional<MmaContraction> matchMmaContraction(linalg::LinalgOp linalgOp) {
  auto op = dyn_cast<linalg::GenericOp>(linalgOp.getOperation());
  if (!op || !op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 1 || op->getNumResults() != 0)
    return std::nullopt;
  OpOperand *a = op.getDpsInputOperand(0), *bo = op.getDpsInputOperand(1), *c = op.getDpsInitOperand(0);
  auto ta = dyn_cast<MemRefType>(a->get().getType()), tb = dyn_cast<MemRefType>(bo->get().getType());
  auto tc = dyn_cast<MemRefType>(c->get().getType());
  if (!ta || !tb || !tc)
    return std::nullopt;
  Type elem = ta.getElementType();
  if (elem != tb.getElementType() || !(elem.isF16() || elem.isBF16()) || !tc.getElementType().isF32())
    return std::nullopt;

  // out + ext(a) * ext(b), in any operand order.
  Block &body = op.getRegion().front();
  if (body.getOperations().size() != 5)
    return std::nullopt;
  auto add = body.getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return std::nullopt;
  Value outArg = body.getArgument(2);
  Value product = add.getLhs() == outArg ? add.getRhs() : add.getRhs() == outArg ? add.getLhs() : Value();
  auto mul = product ? product.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul)
    return std::nullopt;
  BlockArgument x = extendedArg(mul.getLhs()), y = extendedArg(mul.getRhs());
  if (!x || !y || x == y || x.getOwner() != &body || y.getOwner() != &body || x.getArgNumber() > 1 ||
      y.getArgNumber() > 1)
    return std::nullopt;

  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  unsigned k = 0;
  while (iters[k] != utils::IteratorType::reduction)
    ++k;
  AffineMap ma = op.getMatchingIndexingMap(a), mb = op.getMatchingIndexingMap(bo), mc = op.getMatchingIndexingMap(c);
  if (!dimsOrConstants(ma) || !dimsOrConstants(mb) || !mc.isProjectedPermutation() ||
      mc.getNumResults() != op.getNumParallelLoops() || !ma.isFunctionOfDim(k) || !mb.isFunctionOfDim(k))
    return std::nullopt;
  int m = lastOwnDim(ma, mb, k), n = lastOwnDim(mb, ma, k);
  if (m < 0 || n < 0)
    return std::nullopt;
  MmaContraction result{op, unsigned(m), unsigned(n), k, {}, elem.isBF16()};
  // Batch dims map to the grid's z: their extents must be known to fit.
  SmallVector<int64_t> extents = op.getStaticLoopRanges();
  int64_t blocks = 1;
  for (unsigned d = 0; d < iters.size(); ++d) {
    if (d == result.m || d == result.n || d == k)
      continue;
    if (ShapedType::isDynamic(extents[d]))
      return std::nullopt;
    blocks *= extents[d];
    result.batch.push_back(d);
  }
  if (blocks > 65535)
    return std::nullopt;
  return result;
}

void emitMmaKernel(OpBuilder &hb, Location loc, const MmaContraction &c, Value init,
                   llvm::function_ref<void(OpBuilder &, Location, ArrayRef<Value>, Value)> emitResult) {
  linalg::GenericOp op = c.op;
  MLIRContext *ctx = hb.getContext();
  KernelBuilder host{hb, loc};
  SmallVector<Value> sizes;
  for (Range &r : cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(hb, loc))
    sizes.push_back(getValueOrCreateConstantIndexOp(hb, loc, r.size));
  Value M = sizes[c.m], N = sizes[c.n], K = sizes[c.k];
  int64_t batches = 1;
  for (unsigned d : c.batch)
    batches *= op.getStaticLoopRanges()[d];
  Value one = host.idx(1);
  auto blocksFor = [&](Value extent, int64_t tile) {
    Value n = arith::CeilDivUIOp::create(hb, loc, extent, host.idx(tile));
    return arith::MaxUIOp::create(hb, loc, n, one).getResult();
  };
  Type elem = c.bf16 ? Type(hb.getBF16Type()) : Type(hb.getF16Type());
  auto workgroup = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto tileType = MemRefType::get({kTileM, kRowWords}, hb.getI32Type(), MemRefLayoutAttrInterface{}, workgroup);
  static_assert(kTileM == kTileN, "A and B tiles share a type");
  auto launch = gpu::LaunchOp::create(hb, loc, blocksFor(M, kTileM), blocksFor(N, kTileN), host.idx(std::max<int64_t>(batches, 1)),
                                      host.idx(kThreads), one, one, /*dynamicSharedMemorySize=*/nullptr,
                                      /*asyncTokenType=*/nullptr, /*asyncDependencies=*/{},
                                      /*workgroupAttributions=*/TypeRange{tileType, tileType});
  Block &kernel = launch.getBody().front();
  OpBuilder b = OpBuilder::atBlockBegin(&kernel);
  gpu::TerminatorOp::create(b, loc);
  b.setInsertionPointToStart(&kernel);
  KernelBuilder k{b, loc};
  Value tileA = launch.getWorkgroupAttributions()[0], tileB = launch.getWorkgroupAttributions()[1];

  Value tid = launch.getThreadIds().x;
  Value warp = k.div(tid, 32), lane = k.rem(tid, 32);
  Value g = k.div(lane, 4), t2 = k.mul(k.rem(lane, 4), 2);
  Value warpRow = k.mul(k.div(warp, 2), kWarpM), warpCol = k.mul(k.rem(warp, 2), kWarpN);
  Value m0 = k.mul(launch.getBlockIds().x, kTileM), n0 = k.mul(launch.getBlockIds().y, kTileN);
  SmallVector<Value> dims(op.getNumLoops());
  Value rest = launch.getBlockIds().z;
  for (unsigned d : llvm::reverse(c.batch)) {
    int64_t extent = op.getStaticLoopRanges()[d];
    dims[d] = k.rem(rest, extent);
    rest = k.div(rest, extent);
  }
  Value zero = k.idx(0);
  Value nonEmpty = k.both(k.lt(zero, M), k.lt(zero, N));
  auto guard = scf::IfOp::create(b, loc, nonEmpty, /*withElseRegion=*/false);
  b.setInsertionPointToStart(&guard.getThenRegion().front());
  Value lastM = arith::SubIOp::create(b, loc, M, one), lastN = arith::SubIOp::create(b, loc, N, one);

  // Each accumulator's output row and column: tile (i, j), element e.
  auto rowOf = [&](int64_t i, int64_t e) { return k.add(k.add(m0, warpRow), k.add(g, i * kMmaM + (e >= 2 ? 8 : 0))); };
  auto colOf = [&](int64_t j, int64_t e) { return k.add(k.add(n0, warpCol), k.add(t2, j * kMmaN + (e & 1))); };
  AffineMap mapA = op.getMatchingIndexingMap(op.getDpsInputOperand(0));
  AffineMap mapB = op.getMatchingIndexingMap(op.getDpsInputOperand(1));
  AffineMap mapC = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  Value C = op.getDpsInitOperand(0)->get();
  SmallVector<Value> rows, cols, accs;
  for (int64_t i = 0; i < kTilesM; ++i)
    for (int64_t j = 0; j < kTilesN; ++j)
      for (int64_t e = 0; e < 4; ++e) {
        rows.push_back(rowOf(i, e));
        cols.push_back(colOf(j, e));
        if (init) {
          accs.push_back(init);
          continue;
        }
        dims[c.m] = k.min(rows.back(), lastM);
        dims[c.n] = k.min(cols.back(), lastN);
        Value v = memref::LoadOp::create(b, loc, C, k.indices(mapC, dims));
        Value inside = k.both(k.lt(rows.back(), M), k.lt(cols.back(), N));
        accs.push_back(arith::SelectOp::create(b, loc, inside, v, arith::ConstantFloatOp::create(b, loc, b.getF32Type(), APFloat(0.0f))));
      }

  Value slices = arith::CeilDivUIOp::create(b, loc, K, k.idx(kTileK));
  auto loop = scf::ForOp::create(b, loc, zero, slices, one, accs);
  {
    OpBuilder::InsertionGuard scope(b);
    b.setInsertionPointToStart(loop.getBody());
    Value k0 = k.mul(loop.getInductionVar(), kTileK);
    Value lastK = arith::SubIOp::create(b, loc, K, one);
    Value zeroElem = arith::ConstantFloatOp::create(b, loc, cast<FloatType>(elem), APFloat::getZero(cast<FloatType>(elem).getFloatSemantics()));
    // Staging, a word (two elements along k) at a time: consecutive threads
    // take consecutive words along k when the operand's innermost dim is k,
    // else consecutive rows (m of A, n of B), which that dim then is.
    bool aAlongK = lastResultIs(mapA, c.k), bAlongK = !lastResultIs(mapB, c.n);
    constexpr int64_t wordsPerRow = kTileK / 2, perThread = kTileM * wordsPerRow / kThreads;
    auto stage = [&](OpOperand *operand, AffineMap map, unsigned dim, Value origin, Value extent, Value last,
                     bool alongK, Value tile) {
      for (int64_t s = 0; s < perThread; ++s) {
        Value r = alongK ? k.add(k.div(tid, wordsPerRow), s * (kThreads / wordsPerRow)) : k.rem(tid, kTileM);
        Value w = alongK ? k.rem(tid, wordsPerRow) : k.add(k.div(tid, kTileM), s * (kThreads / kTileM));
        Value g0 = k.add(origin, r), gk = k.add(k0, k.mul(w, 2));
        Value rowInside = k.lt(g0, extent);
        dims[dim] = k.min(g0, last);
        Value halves[2];
        for (int64_t h = 0; h < 2; ++h) {
          Value gkh = k.add(gk, h);
          dims[c.k] = k.min(gkh, lastK);
          Value v = memref::LoadOp::create(b, loc, operand->get(), k.indices(map, dims));
          halves[h] = arith::SelectOp::create(b, loc, k.both(rowInside, k.lt(gkh, K)), v, zeroElem);
        }
        memref::StoreOp::create(b, loc, k.pack(halves[0], halves[1]), tile, ValueRange{r, w});
      }
    };
    stage(op.getDpsInputOperand(0), mapA, c.m, m0, M, lastM, aAlongK, tileA);
    stage(op.getDpsInputOperand(1), mapB, c.n, n0, N, lastN, bAlongK, tileB);
    gpu::BarrierOp::create(b, loc);

    auto structType = LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(4, b.getF32Type()));
    NVVM::MMATypes ptxType = c.bf16 ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
    SmallVector<Value> next(loop.getRegionIterArgs().begin(), loop.getRegionIterArgs().end());
    for (int64_t ks = 0; ks < kTileK; ks += kMmaK) {
      Value lo = k.add(t2, ks), hi = k.add(t2, ks + 8);
      SmallVector<SmallVector<Value>> fragA, fragB;
      for (int64_t i = 0; i < kTilesM; ++i) {
        Value r = k.add(k.add(warpRow, g), i * kMmaM), r8 = k.add(r, 8);
        fragA.push_back({k.pair(tileA, r, lo, c.bf16), k.pair(tileA, r8, lo, c.bf16), k.pair(tileA, r, hi, c.bf16),
                         k.pair(tileA, r8, hi, c.bf16)});
      }
      for (int64_t j = 0; j < kTilesN; ++j) {
        Value nRow = k.add(k.add(warpCol, g), j * kMmaN);
        fragB.push_back({k.pair(tileB, nRow, lo, c.bf16), k.pair(tileB, nRow, hi, c.bf16)});
      }
      for (int64_t i = 0; i < kTilesM; ++i)
        for (int64_t j = 0; j < kTilesN; ++j) {
          int64_t base = (i * kTilesN + j) * 4;
          ValueRange acc(ArrayRef<Value>(next).slice(base, 4));
          Value d = NVVM::MmaOp::create(b, loc, structType, fragA[i], fragB[j], acc, {kMmaM, kMmaN, kMmaK},
                                        std::nullopt, std::nullopt,
                                        std::array<NVVM::MMATypes, 2>{ptxType, ptxType},
                                        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row, NVVM::MMALayout::col});
          for (int64_t e = 0; e < 4; ++e)
            next[base + e] = LLVM::ExtractValueOp::create(b, loc, d, ArrayRef<int64_t>{e});
        }
    }
    gpu::BarrierOp::create(b, loc);
    scf::YieldOp::create(b, loc, next);
  }

  for (auto [i, value] : llvm::enumerate(loop.getResults())) {
    Value inside = k.both(k.lt(rows[i], M), k.lt(cols[i], N));
    auto store = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard scope(b);
    b.setInsertionPointToStart(&store.getThenRegion().front());
    dims[c.m] = rows[i];
    dims[c.n] = cols[i];
    emitResult(b, loc, k.indices(mapC, dims), value);
  }
}

} // namespace tern
