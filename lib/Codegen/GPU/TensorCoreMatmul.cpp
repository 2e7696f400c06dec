//===- TensorCoreMatmul.cpp - 16-bit contractions on the tensor cores -----===//
//
// The kernel, per block of 128 threads (4 warps, 2x2) and 64x64 outputs,
// over its slices of k (all, or one split's along the grid's z):
//
//   stage the first 32-wide slice: A[64 x 32] and B[32 x 64] in shared
//   memory (B as [n][k]) as 32-bit words of two k-consecutive elements (an
//   mma operand register), out-of-range elements as 0, rows padded to 20
//   words so that the fragment loads below hit 32 banks (SliceStager: 16
//   bytes a load where the operand allows); barrier
//   for each slice:
//     load the next slice into registers (not waited for yet)
//     each warp, its 32x32 outputs as 2x4 tiles of m16n8: for both 16-wide
//     halves of the slice, mma.sync m16n8k16 (row-major A, column-major B,
//     f32 accumulators held in registers across the whole k loop)
//     barrier; store the next slice; barrier
//   each thread's 32 outputs, those inside the output, to emitResult (or,
//   split, added to the output atomically).
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
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace tern {
namespace {

constexpr int64_t kTileM = 64, kTileN = 64, kTileK = 32, kThreads = 128;
constexpr int64_t kRowWords = kTileK / 2 + 4; // 80 bytes: fragment loads conflict-free
constexpr int64_t kWarpM = 32, kWarpN = 32, kMmaM = 16, kMmaN = 8, kMmaK = 16;
constexpr int64_t kTilesM = kWarpM / kMmaM, kTilesN = kWarpN / kMmaN; // 2 x 4 per warp
// Split k when a matmul has fewer tiles than this (2 per multiprocessor of
// an H100 or H200), each split at least this many slices.
constexpr int64_t kSplitBlocks = 256, kMinSplitSlices = 4;

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

constexpr int64_t kVector = 8; // 16-bit elements per 16-byte load

/// How a thread moves its share of an operand's slice (a tile of 64 rows,
/// m of A or n of B, by 32 along k) into shared memory, as words of two
/// k-consecutive elements.
enum class Staging {
  Words,      ///< 8 words, each two scalar loads
  VectorK,    ///< 2 loads of 8 elements along k (k innermost), 4 words each
  VectorRows, ///< 2 loads of 8 rows at k and k+1 (the row dim innermost), 8 words
};

struct StagedOperand {
  OpOperand *operand;
  AffineMap map;
  unsigned rowDim;           ///< m or n
  Value origin, extent, last; ///< the block's first row; the rows; the last row
  Value tile;
  Staging how;
};

/// Can `o` be read 16 bytes at a time along the dim `dim` (its innermost)?
/// Its strides and offset are static, the innermost unit and its extent and
/// every other stride multiples of 8 elements; tern's buffers (arena,
/// weights, the runtime's) start 64-byte aligned.
bool vectorizable(const StagedOperand &o, unsigned dim) {
  auto type = cast<MemRefType>(o.operand->get().getType());
  if (!lastResultIs(o.map, dim) || type.getRank() == 0 || ShapedType::isDynamic(type.getShape().back()) ||
      type.getShape().back() % kVector != 0)
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)) || strides.back() != 1 || ShapedType::isDynamic(offset) ||
      offset % kVector != 0)
    return false;
  return llvm::all_of(ArrayRef<int64_t>(strides).drop_back(),
                      [](int64_t s) { return !ShapedType::isDynamic(s) && s % kVector == 0; });
}

Staging stagingFor(const StagedOperand &o, unsigned k) {
  if (vectorizable(o, k))
    return Staging::VectorK;
  if (vectorizable(o, o.rowDim))
    return Staging::VectorRows;
  return Staging::Words;
}

/// What a thread loaded of one part of a slice: where its words go in the
/// tile, the loaded values (scalars or vectors) and whether each is inside
/// the operand.
struct StagedUnit {
  Value row, word;
  SmallVector<Value, 2> values, inside;
};

struct SliceStager {
  KernelBuilder &k;
  const MmaContraction &c;
  SmallVector<Value> &dims;
  Value tid, K, lastK, zeroElem, zeroVector;

  Value loadAt(const StagedOperand &o, bool vector) {
    Value memref = o.operand->get();
    SmallVector<Value> indices = k.indices(o.map, dims);
    if (!vector)
      return memref::LoadOp::create(k.b, k.loc, memref, indices);
    return vector::LoadOp::create(k.b, k.loc, VectorType::get({kVector}, zeroElem.getType()), memref, indices,
                                  /*nontemporal=*/false, /*alignment=*/llvm::MaybeAlign(16));
  }

  /// Issues the loads of the thread's share of the slice at `k0`.
  SmallVector<StagedUnit> load(const StagedOperand &o, Value k0) {
    SmallVector<StagedUnit> units;
    constexpr int64_t wordsPerRow = kTileK / 2;
    switch (o.how) {
    case Staging::Words:
    case Staging::VectorK: {
      bool vector = o.how == Staging::VectorK;
      int64_t perRow = vector ? kTileK / kVector : wordsPerRow; // threads per row
      int64_t count = kTileM * perRow / kThreads;
      bool alongK = vector || lastResultIs(o.map, c.k);
      for (int64_t s = 0; s < count; ++s) {
        StagedUnit u;
        // Along k: consecutive threads take consecutive k of a row; else
        // consecutive rows (the operand's innermost dim).
        u.row = alongK ? k.add(k.div(tid, perRow), s * (kThreads / perRow)) : k.rem(tid, kTileM);
        Value w = alongK ? k.rem(tid, perRow) : k.add(k.div(tid, kTileM), s * (kThreads / kTileM));
        u.word = vector ? k.mul(w, kVector / 2) : w;
        Value g0 = k.add(o.origin, u.row), gk = k.add(k0, k.mul(u.word, 2));
        Value rowInside = k.lt(g0, o.extent);
        dims[o.rowDim] = k.min(g0, o.last);
        for (int64_t h = 0; h < (vector ? 1 : 2); ++h) {
          Value gkh = k.add(gk, h);
          dims[c.k] = k.min(gkh, vector ? arith::SubIOp::create(k.b, k.loc, K, k.idx(kVector)).getResult() : lastK);
          u.values.push_back(loadAt(o, vector));
          u.inside.push_back(k.both(rowInside, k.lt(gkh, K)));
        }
        units.push_back(u);
      }
      break;
    }
    case Staging::VectorRows: {
      // 16 pairs of k by 8 groups of 8 rows: one unit per thread.
      StagedUnit u;
      Value group = k.rem(tid, kTileM / kVector);
      u.word = k.div(tid, kTileM / kVector);
      u.row = k.mul(group, kVector);
      Value g0 = k.add(o.origin, u.row), gk = k.add(k0, k.mul(u.word, 2));
      Value rowInside = k.lt(g0, o.extent);
      dims[o.rowDim] = k.min(g0, arith::SubIOp::create(k.b, k.loc, o.extent, k.idx(kVector)));
      for (int64_t h = 0; h < 2; ++h) {
        Value gkh = k.add(gk, h);
        dims[c.k] = k.min(gkh, lastK);
        u.values.push_back(loadAt(o, true));
        u.inside.push_back(k.both(rowInside, k.lt(gkh, K)));
      }
      units.push_back(u);
      break;
    }
    }
    return units;
  }

  /// Stores what `load` loaded into the tile, out-of-range values as 0.
  void store(const StagedOperand &o, ArrayRef<StagedUnit> units) {
    OpBuilder &b = k.b;
    Location loc = k.loc;
    for (const StagedUnit &u : units) {
      SmallVector<Value, 2> v;
      for (auto [value, inside] : llvm::zip(u.values, u.inside))
        v.push_back(arith::SelectOp::create(b, loc, inside, value,
                                            isa<VectorType>(value.getType()) ? zeroVector : zeroElem));
      switch (o.how) {
      case Staging::Words:
        memref::StoreOp::create(b, loc, k.pack(v[0], v[1]), o.tile, ValueRange{u.row, u.word});
        break;
      case Staging::VectorK: {
        Value words = vector::BitCastOp::create(b, loc, VectorType::get({kVector / 2}, b.getI32Type()), v[0]);
        for (int64_t j = 0; j < kVector / 2; ++j)
          memref::StoreOp::create(b, loc, vector::ExtractOp::create(b, loc, words, ArrayRef<int64_t>{j}), o.tile,
                                  ValueRange{u.row, k.add(u.word, j)});
        break;
      }
      case Staging::VectorRows:
        for (int64_t i = 0; i < kVector; ++i) {
          Value lo = vector::ExtractOp::create(b, loc, v[0], ArrayRef<int64_t>{i});
          Value hi = vector::ExtractOp::create(b, loc, v[1], ArrayRef<int64_t>{i});
          memref::StoreOp::create(b, loc, k.pack(lo, hi), o.tile, ValueRange{k.add(u.row, i), u.word});
        }
        break;
      }
    }
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

int64_t mmaSplits(const MmaContraction &c) {
  SmallVector<int64_t> extents = linalg::GenericOp(c.op).getStaticLoopRanges();
  if (ShapedType::isDynamic(extents[c.m]) || ShapedType::isDynamic(extents[c.n]) || ShapedType::isDynamic(extents[c.k]))
    return 1;
  int64_t batches = 1;
  for (unsigned d : c.batch)
    batches *= extents[d];
  int64_t blocks = llvm::divideCeil(extents[c.m], kTileM) * llvm::divideCeil(extents[c.n], kTileN) * batches;
  int64_t slices = llvm::divideCeil(extents[c.k], kTileK);
  if (blocks >= kSplitBlocks || slices < 2 * kMinSplitSlices)
    return 1;
  int64_t splits = std::min<int64_t>(llvm::divideCeil(kSplitBlocks, blocks), slices / kMinSplitSlices);
  // As many splits as it takes to cover the slices evenly (none empty).
  splits = llvm::divideCeil(slices, llvm::divideCeil(slices, splits));
  if (splits <= 1 || batches * splits > 65535) // the grid's z: batches x splits
    return 1;
  return splits;
}

void emitMmaKernel(OpBuilder &hb, Location loc, const MmaContraction &c, Value init, int64_t splits,
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
  auto launch = gpu::LaunchOp::create(hb, loc, blocksFor(M, kTileM), blocksFor(N, kTileN),
                                      host.idx(std::max<int64_t>(batches, 1) * splits),
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
  // z: the batch, then the split of k (slices [first, end) of its own).
  Value rest = launch.getBlockIds().z;
  Value firstSlice, endSlice;
  if (splits > 1) {
    int64_t slices = llvm::divideCeil(op.getStaticLoopRanges()[c.k], kTileK);
    int64_t slicesPerSplit = llvm::divideCeil(slices, splits);
    firstSlice = k.mul(k.rem(rest, splits), slicesPerSplit);
    endSlice = k.min(k.add(firstSlice, slicesPerSplit), k.idx(slices));
    rest = k.div(rest, splits);
  }
  for (unsigned d : llvm::reverse(c.batch)) {
    int64_t extent = op.getStaticLoopRanges()[d];
    dims[d] = k.rem(rest, extent);
    rest = k.div(rest, extent);
  }
  Value zero = k.idx(0);
  if (splits == 1) {
    firstSlice = zero;
    endSlice = arith::CeilDivUIOp::create(b, loc, K, k.idx(kTileK));
  }
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
        if (init || splits > 1) {
          accs.push_back(init ? init
                              : arith::ConstantFloatOp::create(b, loc, b.getF32Type(), APFloat(0.0f)).getResult());
          continue;
        }
        dims[c.m] = k.min(rows.back(), lastM);
        dims[c.n] = k.min(cols.back(), lastN);
        Value v = memref::LoadOp::create(b, loc, C, k.indices(mapC, dims));
        Value inside = k.both(k.lt(rows.back(), M), k.lt(cols.back(), N));
        accs.push_back(arith::SelectOp::create(b, loc, inside, v, arith::ConstantFloatOp::create(b, loc, b.getF32Type(), APFloat(0.0f))));
      }

  // Staging: each thread loads its share of slice s + 1 (into registers)
  // before the mma instructions on slice s (in shared memory), and stores
  // it after them: the loads' latency overlaps the arithmetic.
  Value lastK = arith::SubIOp::create(b, loc, K, one);
  Value zeroElem = arith::ConstantFloatOp::create(b, loc, cast<FloatType>(elem),
                                                  APFloat::getZero(cast<FloatType>(elem).getFloatSemantics()));
  Value zeroVector = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(VectorType::get({kVector}, elem),
                                                                               cast<TypedAttr>(b.getZeroAttr(elem))));
  StagedOperand stagedA{op.getDpsInputOperand(0), mapA, c.m, m0, M, lastM, tileA, Staging::Words};
  StagedOperand stagedB{op.getDpsInputOperand(1), mapB, c.n, n0, N, lastN, tileB, Staging::Words};
  for (StagedOperand *o : {&stagedA, &stagedB})
    o->how = stagingFor(*o, c.k);
  SliceStager stager{k, c, dims, tid, K, lastK, zeroElem, zeroVector};
  Value firstK0 = k.mul(firstSlice, kTileK);
  {
    // (An empty k reads nothing: its clamped indices would be -1.)
    auto anyK = scf::IfOp::create(b, loc, k.lt(zero, K), /*withElseRegion=*/false);
    OpBuilder::InsertionGuard scope(b);
    b.setInsertionPointToStart(&anyK.getThenRegion().front());
    stager.store(stagedA, stager.load(stagedA, firstK0));
    stager.store(stagedB, stager.load(stagedB, firstK0));
  }
  gpu::BarrierOp::create(b, loc);

  auto loop = scf::ForOp::create(b, loc, firstSlice, endSlice, one, accs);
  {
    OpBuilder::InsertionGuard scope(b);
    b.setInsertionPointToStart(loop.getBody());
    // The next slice (past the end: clamped loads, all zeros, never used).
    Value nextK0 = k.mul(k.add(loop.getInductionVar(), 1), kTileK);
    SmallVector<StagedUnit> nextA = stager.load(stagedA, nextK0), nextB = stager.load(stagedB, nextK0);

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
    stager.store(stagedA, nextA);
    stager.store(stagedB, nextB);
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
    if (splits > 1) // the splits' partial sums meet in the output
      memref::AtomicRMWOp::create(b, loc, arith::AtomicRMWKind::addf, value, C, k.indices(mapC, dims));
    else
      emitResult(b, loc, k.indices(mapC, dims), value);
  }
}

} // namespace tern
