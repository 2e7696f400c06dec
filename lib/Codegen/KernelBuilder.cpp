//===- KernelBuilder.cpp - the register-blocked contraction kernel --------===//
//
// The general kernel of tern-vectorize-contractions: C cut into panels of
// `vectors` x VL columns (one scf.parallel with the batch dims), each panel
// down its rows `rows` at a time, the k loop accumulating rows x vectors
// FMAs in registers (B's row as vectors, one broadcast of A per row), C
// read and written once per panel, the epilogue applied to the
// accumulators before the store. Partial panels use masks; leftover rows a
// one-row kernel.
//
//===----------------------------------------------------------------------===//

#include "lib/Codegen/KernelBuilder.h"

#include "VectorBody.h"
#include "lib/Codegen/EntryBuffers.h"
#include "lib/Codegen/PackWeights.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using tern::Packing;
using tern::readablePerVector;
using tern::readsAlongK;
using tern::usesDim;

namespace {
/// Parallel iterations a kernel offers the thread pool at the least, when
/// its shape allows: panels of columns, or chunks of rows too.
constexpr int64_t kMinTasks = 8;
} // namespace

namespace tern {

Value KernelBuilder::index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

/// Replaces the contraction, whose loop sizes are `sizes`.
void KernelBuilder::build(ArrayRef<Value> sizes, int64_t rows) {
  Value zero = index(0), one = index(1), width = index(vl * vectors);
  if (epilogue) {
    auto t = cast<MemRefType>(epilogue->expanded.getType());
    for (int64_t i = 0; i < t.getRank(); ++i)
      epilogueSizes.push_back(t.isDynamicDim(i) ? Value(memref::DimOp::create(b, loc, epilogue->expanded, i))
                                                : index(t.getDimSize(i)));
  }
  SmallVector<Value> lbs, ubs, steps;
  for (unsigned d : c.batch) {
    lbs.push_back(zero);
    ubs.push_back(sizes[d]);
    steps.push_back(one);
  }
  Value n = sizes[c.n], m = sizes[c.ms[0]];
  for (unsigned d : ArrayRef<unsigned>(c.ms).drop_front())
    m = arith::MulIOp::create(b, loc, m, sizes[d]);
  this->sizes.assign(sizes.begin(), sizes.end());
  // Few panels (a convolution with 32 filters over many positions): the
  // rows are cut into chunks too, so that the threads share them.
  std::optional<int64_t> staticM = 1, staticN = getConstantIntValue(n);
  for (unsigned d : c.ms) {
    std::optional<int64_t> size = getConstantIntValue(sizes[d]);
    staticM = size && staticM ? std::optional<int64_t>(*staticM * *size) : std::nullopt;
  }
  staticRows = staticM;
  onePanel = staticN && *staticN <= vl * vectors;
  int64_t tasks = staticN ? (*staticN + vl * vectors - 1) / (vl * vectors) : 0;
  for (unsigned d : c.batch) {
    std::optional<int64_t> size = getConstantIntValue(sizes[d]);
    tasks = size ? tasks * *size : 0;
  }
  if (!int8Dot.empty())
    quantizeA(m, staticM);
  if (!maddIntrinsic.empty() && c.aBits == 8 && c.batch.empty())
    widenA(m, staticM);
  // Rows in chunks (a whole number of tiles each): computed at run time
  // when their count is (images counted at run time).
  Value chunk;
  if (tasks > 0 && tasks < kMinTasks && (!staticM || *staticM >= 4 * rows)) {
    int64_t pieces = (kMinTasks + tasks - 1) / tasks;
    if (staticM) {
      chunk = index(((*staticM + pieces - 1) / pieces + rows - 1) / rows * rows);
    } else {
      Value rowsV = index(rows);
      Value perPiece = arith::CeilDivUIOp::create(b, loc, m, index(pieces));
      chunk = arith::MulIOp::create(b, loc, arith::CeilDivUIOp::create(b, loc, perPiece, rowsV), rowsV);
      chunk = arith::MaxUIOp::create(b, loc, chunk, rowsV);
    }
    lbs.push_back(zero);
    ubs.push_back(arith::CeilDivUIOp::create(b, loc, m, chunk));
    steps.push_back(one);
  }
  lbs.push_back(zero);
  ubs.push_back(arith::CeilDivUIOp::create(b, loc, n, width));
  steps.push_back(one);
  // A deep k (a 1x1 convolution over 1024 channels): its panels of B
  // (1024 x 16 floats, 64 KB) outgrow L1 and are read again by every tile
  // of rows. Each panel runs k in blocks of kBlock, all its rows per block,
  // so that B's block of the panel (16 KB) stays in L1 across them; C
  // holds the partial sums between blocks, the epilogue runs on the last.
  // (Blocks outside the parallel loop would keep A's block in L2 across
  // the panels too, but a parallel loop per block costs two threads more
  // in waits than it saves.)
  std::optional<int64_t> staticK =
      c.ks.size() == 1 ? getConstantIntValue(sizes[c.ks[0]]) : std::optional<int64_t>();
  int64_t kc = 16384 / (vl * vectors * 4);
  kBlock = 0;
  // Only where A or B is not read in order anyway: B read where it lies
  // (activations), or A read across k with a stride (a 7x7 map's positions
  // as rows); packed B and row-major A (a transformer's matmuls) stream
  // well, and the partial sums' trips through C cost more (gpt2-124m
  // [1,128] 10% slower blocked).
  AffineMap aMap = c.aMap;
  bool aInOrder = !aMap.getResults().empty() && aMap.getResults().back() == b.getAffineDimExpr(c.ks.front()) &&
                  tern::hasUnitInnerStride(c.a);
  // A stored along its rows rather than along k (a pointwise convolution
  // over a small map, positions as rows: x[k][m]) and read by more than one
  // panel: copied once into tiles of rows (packA), which the kernels then
  // read in order.
  // Also with the images as a row dim of their own (a batch known at run
  // time: x[image][k][m], the rows counted across them).
  auto dimExpr = [&](unsigned d) { return b.getAffineDimExpr(d); };
  std::optional<int64_t> inner = getConstantIntValue(sizes[c.ms.back()]);
  bool onePlane = c.ms.size() == 1 && staticM && aMap.getNumResults() == 2 && aMap.getResult(0) == dimExpr(c.ks[0]) &&
                  aMap.getResult(1) == dimExpr(c.ms[0]);
  bool planes = c.ms.size() == 2 && inner && aMap.getNumResults() == 3 && aMap.getResult(0) == dimExpr(c.ms[0]) &&
                aMap.getResult(1) == dimExpr(c.ks[0]) && aMap.getResult(2) == dimExpr(c.ms[1]);
  if (plainFloat() && !aInOrder && staticK && (onePlane || planes) && c.batch.empty() && !onePanel && rows > 1 &&
      rows <= kPackedRowsWidth && tern::hasUnitInnerStride(c.a)) {
    packA(m, staticM, *inner, *staticK, rows);
    aInOrder = true;
  }
  if (plainFloat() && staticK && *staticK >= 3 * kc && staticM && *staticM >= 4 * rows && c.batch.empty() &&
      kc >= 16 && (!packedB || !aInOrder))
    kBlock = kc;
  // A panel copied once for at least 8 tiles of rows (blocks of k read B
  // a block at a time instead), where its k rows span more than the L1 TLB
  // covers (an attention tile's q^T, rows 512 bytes apart, is read in
  // place).
  auto spansPages = [&]() {
    auto type = cast<MemRefType>(c.b.getType());
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(type.getStridesAndOffset(strides, offset)))
      return true;
    for (auto [i, e] : llvm::enumerate(c.bMap.getResults()))
      if (e == b.getAffineDimExpr(c.ks[0]))
        return ShapedType::isDynamic(strides[i]) ||
               strides[i] * *staticK * type.getElementTypeBitWidth() / 8 > kCopiedSpanBytes;
    return false;
  };
  copyPanels = copyPanels && plainFloat() && !packedB && c.ks.size() == 1 && staticK && !kBlock && staticM &&
               *staticM >= 8 * rows && !onePanel && !chunk && *staticK * vl * vectors * vecType.getElementTypeBitWidth() / 8 <= kCopiedPanelBytes &&
               spansPages();
  auto parallel = [&]() {
  scf::ParallelOp::create(b, loc, lbs, ubs, steps, [&](OpBuilder &nb, Location, ValueRange ivs) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
    SmallVector<Value> at(sizes.size(), zero);
    for (auto [d, iv] : llvm::zip(c.batch, ivs))
      at[d] = iv;
    Value rowsFrom = zero, rowsTo = m;
    if (chunk) {
      rowsFrom = arith::MulIOp::create(b, loc, ivs[c.batch.size()], chunk);
      rowsTo = arith::MinUIOp::create(b, loc, arith::AddIOp::create(b, loc, rowsFrom, chunk), m);
    }
    panelIndex = ivs.back();
    auto panels = [&]() {
      Value j0 = arith::MulIOp::create(b, loc, ivs.back(), width);
      at[c.n] = j0;
      // n a whole number of panels: no partial one to branch to.
      if (staticN && *staticN % (vl * vectors) == 0) {
        if (copyPanels)
          copyPanel(at, {});
        panel(at, rowsFrom, rowsTo, rows, {});
        return;
      }
      Value left = arith::SubIOp::create(b, loc, n, j0);
      Value full = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, left, width);
      scf::IfOp::create(
          b, loc, full,
          [&](OpBuilder &tb, Location) {
            OpBuilder::InsertionGuard g(b);
            b.setInsertionPoint(tb.getInsertionBlock(), tb.getInsertionPoint());
            if (copyPanels)
              copyPanel(at, {});
            panel(at, rowsFrom, rowsTo, rows, {});
            scf::YieldOp::create(b, loc);
          },
          [&](OpBuilder &eb, Location) {
            OpBuilder::InsertionGuard g(b);
            b.setInsertionPoint(eb.getInsertionBlock(), eb.getInsertionPoint());
            // The last panel: with n static, its masks are constants (whole
            // vectors plain, empty ones dropped, the one partial vector
            // split into pieces where masked stores are slow).
            Value partial = left;
            int64_t panelVectors = vectors;
            if (staticN && *staticN % (vl * vectors)) {
              int64_t lanes = *staticN % (vl * vectors);
              partial = index(lanes);
              // f32 kernels drop the vectors past the end (a 7x7 map's 49
              // positions: the last panel's one lane on one vector, not
              // two); the others' reductions read the panel whole.
              if (plainFloat())
                vectors = (lanes + vl - 1) / vl;
            }
            SmallVector<Value> masks;
            for (int64_t v = 0; v < vectors; ++v) {
              Value lanes = arith::SubIOp::create(b, loc, partial, index(v * vl));
              lanes = arith::MaxSIOp::create(b, loc, arith::MinSIOp::create(b, loc, lanes, index(vl)), zero);
              masks.push_back(vector::CreateMaskOp::create(b, loc, VectorType::get({vl}, b.getI1Type()), lanes));
            }
            if (copyPanels)
              copyPanel(at, masks);
            panel(at, rowsFrom, rowsTo, rows, masks);
            panelB = Value();
            vectors = panelVectors;
            scf::YieldOp::create(b, loc);
          });
    };
    if (dequantizePanels == PanelDequant::Always) {
      dequantizePanel();
      panels();
    } else if (dequantizePanels == PanelDequant::IfMany) {
      Value many = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, m, index(2 * rows));
      scf::IfOp::create(
          b, loc, many,
          [&](OpBuilder &tb, Location) {
            OpBuilder::InsertionGuard g(b);
            b.setInsertionPoint(tb.getInsertionBlock(), tb.getInsertionPoint());
            dequantizePanel();
            panels();
            scf::YieldOp::create(b, loc);
          },
          [&](OpBuilder &eb, Location) {
            OpBuilder::InsertionGuard g(b);
            b.setInsertionPoint(eb.getInsertionBlock(), eb.getInsertionPoint());
            panelB = Value();
            panels();
            scf::YieldOp::create(b, loc);
          });
    } else {
      panels();
    }
    panelB = Value();
  });
  };
  if (kBlock)
    kSize = *staticK;
  parallel();
}

/// The plain kernel: f32 products of B read as vectors, no reduction of
/// its own.
bool KernelBuilder::plainFloat() const {
  return isa<FloatType>(vecType.getElementType()) && !nibbles && !sparseValues && !rowIndices && !c.dequant &&
         int8Dot.empty() && dotIntrinsic.empty() && maddIntrinsic.empty();
}

void KernelBuilder::copyPanel(ArrayRef<Value> at, ArrayRef<Value> masks) {
  unsigned d = c.ks[0];
  int64_t k = *getConstantIntValue(sizes[d]);
  panelB = memref::AllocaOp::create(b, loc, MemRefType::get({k, vl * vectors}, vecType.getElementType()),
                                    b.getI64IntegerAttr(64));
  scf::ForOp::create(b, loc, index(0), index(k), index(1), ValueRange{},
                     [&](OpBuilder &nb, Location, Value kk, ValueRange) {
                       OpBuilder::InsertionGuard g(b);
                       b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                       SmallVector<Value> pos(at);
                       pos[d] = kk;
                       for (int64_t v = 0; v < vectors; ++v) {
                         pos[c.n] = v == 0 ? at[c.n] : Value(arith::AddIOp::create(b, loc, at[c.n], index(v * vl)));
                         Value x = loadVector(c.b, indices(c.bMap, pos), masks, v);
                         vector::StoreOp::create(b, loc, x, panelB, ValueRange{kk, index(v * vl)});
                       }
                       scf::YieldOp::create(b, loc);
                     });
}

/// `e` at the loop position `at`.
Value KernelBuilder::evaluate(AffineExpr e, ArrayRef<Value> at) { return evaluateAffine(b, loc, e, at); }

/// The indices of an operand with map `map` at the loop position `at`.
SmallVector<Value> KernelBuilder::indices(AffineMap map, ArrayRef<Value> at) {
  SmallVector<Value> idx;
  for (AffineExpr e : map.getResults())
    idx.push_back(evaluate(e, at));
  return idx;
}

/// One panel: flattened rows [from, to) in steps of `rows`, then the rows
/// left (see the header); with k in blocks, all of them per block.
void KernelBuilder::panel(SmallVector<Value> at, Value from, Value to, int64_t rows, ArrayRef<Value> masks) {
  if (!kBlock) {
    panelRows(at, from, to, rows, masks);
    return;
  }
  scf::ForOp::create(b, loc, index(0), index(kSize), index(kBlock), ValueRange{},
                     [&](OpBuilder &nb, Location, Value k0, ValueRange) {
                       OpBuilder::InsertionGuard guard(b);
                       b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                       kBlockStart = k0;
                       panelRows(at, from, to, rows, masks);
                       scf::YieldOp::create(b, loc);
                     });
}

void KernelBuilder::panelRows(SmallVector<Value> at, Value from, Value to, int64_t rows, ArrayRef<Value> masks) {
  Value one = index(1);
  Value split = from;
  // The rows left after whole kernels of `rows`: with M static, the same
  // count in the one chunk that has any (16 filters: 6 + 6 + 4), as one
  // kernel of that many rows. One row at a time, a kernel is one chain of
  // FMAs per vector, bound by their latency.
  std::optional<int64_t> rest;
  if (rows > 1 && staticRows)
    rest = *staticRows % rows;
  if (rows > 1) {
    Value r = index(rows), count = arith::SubIOp::create(b, loc, to, from);
    split = arith::SubIOp::create(b, loc, to, arith::RemUIOp::create(b, loc, count, r));
    scf::ForOp::create(b, loc, from, split, r, ValueRange{}, [&](OpBuilder &nb, Location, Value i0, ValueRange) {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
      kernel(at, i0, rows, masks);
      scf::YieldOp::create(b, loc);
    });
  }
  if (rest && *rest == 0)
    return;
  if (rest) {
    Value some = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, split, to);
    auto ifOp = scf::IfOp::create(b, loc, some, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    kernel(at, split, *rest, masks);
    return;
  }
  scf::ForOp::create(b, loc, split, to, one, ValueRange{}, [&](OpBuilder &nb, Location, Value i, ValueRange) {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
    kernel(at, i, 1, masks);
    scf::YieldOp::create(b, loc);
  });
}

/// `at` with the m dims set from the flattened row `row`.
SmallVector<Value> KernelBuilder::atRow(SmallVector<Value> at, Value row) {
  for (int64_t i = c.ms.size() - 1; i > 0; --i) {
    Value size = sizes[c.ms[i]];
    at[c.ms[i]] = arith::RemUIOp::create(b, loc, row, size);
    row = arith::DivUIOp::create(b, loc, row, size);
  }
  at[c.ms[0]] = row;
  return at;
}

/// Loops over the reduction dims (outermost first), carrying `accs`;
/// `body` computes the next accumulators at the innermost position.
SmallVector<Value> KernelBuilder::reduce(SmallVector<Value> at, unsigned level, ValueRange accs, Value flatK,
                          function_ref<SmallVector<Value>(ArrayRef<Value>, Value, ValueRange)> body) {
  unsigned d = c.ks[level];
  Value from = index(0), to = sizes[d];
  if (kBlock) {
    from = kBlockStart;
    to = arith::MinUIOp::create(b, loc, arith::AddIOp::create(b, loc, kBlockStart, index(kBlock)), sizes[d]);
  }
  auto loop = scf::ForOp::create(
      b, loc, from, to, index(1), accs, [&](OpBuilder &nb, Location, Value kk, ValueRange iter) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
        SmallVector<Value> pos = at;
        pos[d] = kk;
        Value flat = level == 0 ? kk : Value(arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, flatK, sizes[d]), kk));
        SmallVector<Value> next = level + 1 == c.ks.size() ? body(pos, flat, iter)
                                                            : reduce(pos, level + 1, iter, flat, body);
        scf::YieldOp::create(b, loc, next);
      });
  return SmallVector<Value>(loop.getResults());
}

SmallVector<Value> KernelBuilder::interleaved(SmallVector<Value> at, SmallVector<Value> accs,
                                             function_ref<SmallVector<Value>(ArrayRef<Value>, Value, ValueRange)> step) {
  unsigned d = c.ks[0];
  size_t count = accs.size();
  int64_t chains = std::min<int64_t>(4, (kLatencyAccumulators + count - 1) / count);
  Value from = index(0), to = sizes[d];
  if (kBlock) {
    from = kBlockStart;
    to = arith::MinUIOp::create(b, loc, arith::AddIOp::create(b, loc, kBlockStart, index(kBlock)), sizes[d]);
  }
  Value whole = arith::SubIOp::create(
      b, loc, to, arith::RemUIOp::create(b, loc, arith::SubIOp::create(b, loc, to, from), index(chains)));
  SmallVector<Value> init = accs;
  Value zero = vector::BroadcastOp::create(
      b, loc, vecType, arith::ConstantOp::create(b, loc, vecType.getElementType(), b.getZeroAttr(vecType.getElementType())));
  init.append((chains - 1) * count, zero);
  auto run = [&](Value lo, Value hi, int64_t width, ValueRange iters) {
    auto loop = scf::ForOp::create(
        b, loc, lo, hi, index(width), iters, [&](OpBuilder &nb, Location, Value kk, ValueRange iter) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          SmallVector<Value> next;
          for (int64_t j = 0; j < width; ++j) {
            SmallVector<Value> pos = at;
            pos[d] = j ? Value(arith::AddIOp::create(b, loc, kk, index(j))) : kk;
            llvm::append_range(next, step(pos, pos[d], iter.slice(j * count, count)));
          }
          scf::YieldOp::create(b, loc, next);
        });
    return SmallVector<Value>(loop.getResults());
  };
  SmallVector<Value> sums = run(from, whole, chains, init);
  // The last (to - from) % chains k on the first chain, then the chains
  // summed.
  SmallVector<Value> first = run(whole, to, 1, ArrayRef<Value>(sums).take_front(count));
  for (size_t i = 0; i < count; ++i)
    for (int64_t j = 1; j < chains; ++j)
      first[i] = arith::AddFOp::create(b, loc, first[i], sums[j * count + i]);
  return first;
}

/// The panel's v-th vector of weights q at `k`, as f32: a byte each, or
/// (nibbles) the low halves of the panel's first vectors' bytes and the
/// high halves of its last ones'.
Value KernelBuilder::weightsAt(Value k, int64_t v) {
  auto bytes = VectorType::get({vl}, b.getI8Type());
  Value q;
  if (nibbles) {
    int64_t half = vectors / 2;
    q = vector::LoadOp::create(b, loc, bytes, packedB, ValueRange{panelIndex, k, index(v % half * vl)});
    Value four = arith::ConstantOp::create(
        b, loc, bytes, DenseElementsAttr::get(bytes, b.getI8IntegerAttr(v < half ? 15 : 4).getValue()));
    q = v < half ? Value(arith::AndIOp::create(b, loc, q, four)) : Value(arith::ShRUIOp::create(b, loc, q, four));
  } else {
    q = vector::LoadOp::create(b, loc, bytes, packedB, ValueRange{panelIndex, k, index(v * vl)});
  }
  return arith::UIToFPOp::create(b, loc, vecType, q);
}

/// C[row i0 + r, at.n + v*VL] += sum_k A[.., k] * B[k, ..] for r < rows.
void KernelBuilder::kernel(SmallVector<Value> at, Value i0, int64_t rows, ArrayRef<Value> masks) {
  Value j0 = at[c.n];
  SmallVector<SmallVector<Value>> rowAt;
  SmallVector<Value> aTile, aLane; // packed A: each row's tile and place in it
  for (int64_t r = 0; r < rows; ++r) {
    Value row = r == 0 ? i0 : Value(arith::AddIOp::create(b, loc, i0, index(r)));
    rowAt.push_back(atRow(at, row));
    if (packedA) {
      aTile.push_back(arith::DivUIOp::create(b, loc, row, index(packedRows)));
      aLane.push_back(arith::RemUIOp::create(b, loc, row, index(packedRows)));
    }
  }
  SmallVector<Value> colIdx;
  for (int64_t v = 0; v < vectors; ++v)
    colIdx.push_back(v == 0 ? j0 : Value(arith::AddIOp::create(b, loc, j0, index(v * vl))));
  auto load = [&](Value mem, ValueRange idx, int64_t v) { return loadVector(mem, idx, masks, v); };
  SmallVector<Value> accs;
  Value splat = init.constant ? Value(vector::BroadcastOp::create(b, loc, vecType, init.constant)) : Value();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t v = 0; v < vectors; ++v) {
      SmallVector<Value> pos = rowAt[r];
      pos[c.n] = colIdx[v];
      SmallVector<Value> cIdx = indices(c.cMap, pos);
      if (splat) {
        accs.push_back(splat);
      } else if (init.broadcast) {
        // The bias at C's position (the broadcast's loops are C's dims).
        linalg::GenericOp broadcast = init.broadcast;
        OpOperand *in = broadcast.getDpsInputOperand(0);
        accs.push_back(readOperand(in->get(), broadcast.getMatchingIndexingMap(in), cIdx, masks, v));
      } else {
        accs.push_back(load(c.c, cIdx, v));
      }
      // Blocks of k after the first go on from C's partial sums.
      if (kBlock && (splat || init.broadcast)) {
        Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, kBlockStart, index(0));
        accs.back() = arith::SelectOp::create(b, loc, first, accs.back(), load(c.c, cIdx, v));
      }
    }
  SmallVector<Value> results = dotIntrinsic.empty() ? SmallVector<Value>() : dotReduce(rowAt, accs);
  auto step = [&](ArrayRef<Value> kpos, Value flatK, ValueRange iter) {
        SmallVector<Value> bv;
        for (int64_t v = 0; v < vectors; ++v) {
          SmallVector<Value> pos(kpos);
          pos[c.n] = colIdx[v];
          if (panelB)
            bv.push_back(vector::LoadOp::create(b, loc, vecType, panelB, ValueRange{flatK, index(v * vl)}));
          else if (packedB)
            bv.push_back(vector::LoadOp::create(b, loc, vecType, packedB,
                                                ValueRange{panelIndex, flatK, index(v * vl)}));
          else
            bv.push_back(load(c.b, indices(c.bMap, pos), v));
        }
        // B read where it lies (activations: a 1x1 convolution's input
        // channels, one plane apart): each k is a stream of its own, more
        // than the hardware prefetchers follow. The next panel's line of
        // each k (where there is one) is fetched while this panel computes.
        if (!panelB && !packedB && masks.empty() && !onePanel)
          for (int64_t v = 0; v < vectors; v += std::max<int64_t>(1, 64 * 8 / vecType.getElementTypeBitWidth() / vl)) {
            SmallVector<Value> pos(kpos);
            pos[c.n] = arith::AddIOp::create(b, loc, colIdx[v], index(vl * vectors));
            memref::PrefetchOp::create(b, loc, c.b, indices(c.bMap, pos), /*isWrite=*/false,
                                       /*localityHint=*/3, /*isDataCache=*/true);
          }
        SmallVector<Value> next;
        for (int64_t r = 0; r < rows; ++r) {
          SmallVector<Value> pos = rowAt[r];
          for (unsigned k : c.ks)
            pos[k] = kpos[k];
          Value a = packedA ? memref::LoadOp::create(b, loc, packedA, ValueRange{aTile[r], kpos[c.ks[0]], aLane[r]})
                            : memref::LoadOp::create(b, loc, c.a, indices(c.aMap, pos));
          if (c.bytes)
            a = c.aUnsigned ? Value(arith::ExtUIOp::create(b, loc, b.getI32Type(), a))
                            : Value(arith::ExtSIOp::create(b, loc, b.getI32Type(), a));
          Value av = vector::BroadcastOp::create(b, loc, vecType, a);
          for (int64_t v = 0; v < vectors; ++v) {
            Value acc = iter[r * vectors + v];
            if (isa<FloatType>(vecType.getElementType()))
              next.push_back(vector::FMAOp::create(b, loc, av, bv[v], acc));
            else
              next.push_back(arith::AddIOp::create(b, loc, acc, arith::MulIOp::create(b, loc, av, bv[v])));
          }
        }
        return next;
      };
  if (c.dequant && !int8Dot.empty())
    results = int8Reduce(i0, rows, accs);
  else if (c.dequant && !panelB)
    results = blockReduce(rowAt, accs);
  else if (sparseValues)
    results = sparseReduce(rowAt, accs);
  else if (!maddIntrinsic.empty())
    results = pairReduce(i0, rowAt, accs);
  else if (rowIndices) {
    // Block-pruned B: only the panel's non-zero rows, their k read from
    // the packed indices.
    auto loop = scf::ForOp::create(b, loc, index(0), index(keptRows), index(1), accs,
                                   [&](OpBuilder &nb, Location, Value j, ValueRange iter) {
                                     OpBuilder::InsertionGuard guard(b);
                                     b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                                     Value kk = memref::LoadOp::create(b, loc, rowIndices, ValueRange{panelIndex, j});
                                     SmallVector<Value> kpos = at;
                                     kpos[c.ks[0]] = arith::IndexCastOp::create(b, loc, b.getIndexType(), kk);
                                     scf::YieldOp::create(b, loc, step(kpos, j, iter));
                                   });
    results = SmallVector<Value>(loop.getResults());
  } else if (dotIntrinsic.empty() && plainFloat() && c.ks.size() == 1 && rows * vectors < kLatencyAccumulators)
    results = interleaved(at, accs, step);
  else if (dotIntrinsic.empty())
    results = reduce(at, 0, accs, Value(), step);
  auto finish = [&](bool partial) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t v = 0; v < vectors; ++v) {
        SmallVector<Value> pos = rowAt[r];
        pos[c.n] = colIdx[v];
        Value acc = results[r * vectors + v];
        SmallVector<Value> cIdx = indices(c.cMap, pos);
        if (partial || !epilogue || epilogue->storeC)
          store(acc, c.c, cIdx, masks, v);
        if (epilogue && !partial)
          applyEpilogue(acc, cIdx, masks, v);
      }
  };
  if (!kBlock) {
    finish(false);
    return;
  }
  // Partial sums to C until the last block of k.
  Value last = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge,
                                     arith::AddIOp::create(b, loc, kBlockStart, index(kBlock)), index(kSize));
  auto ifOp = scf::IfOp::create(b, loc, last, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  finish(false);
  b.setInsertionPointToStart(&ifOp.getElseRegion().front());
  finish(true);
}

/// Runs `step` (group of `size` k, accumulators, whether it is the
/// partial last group) over k / size groups in a loop, then once more for
/// a last partial group.
SmallVector<Value> KernelBuilder::byGroups(int64_t k, int64_t size, SmallVector<Value> accs,
                            function_ref<SmallVector<Value>(Value, ValueRange, bool)> step) {
  if (k >= size) {
    auto loop = scf::ForOp::create(b, loc, index(0), index(k / size), index(1), accs,
                                   [&](OpBuilder &nb, Location, Value g, ValueRange iter) {
                                     OpBuilder::InsertionGuard guard(b);
                                     b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                                     scf::YieldOp::create(b, loc, step(g, iter, false));
                                   });
    accs = SmallVector<Value>(loop.getResults());
  }
  if (k % size)
    accs = step(index(k / size), accs, true);
  return accs;
}

/// A's `n` consecutive elements of type `elem` at `idx` (along k), those
/// past the end of a partial last group read as 0.
Value KernelBuilder::readGroup(Type elem, int64_t n, ValueRange idx, bool tail) {
  auto quad = VectorType::get({n}, elem);
  if (!tail)
    return vector::LoadOp::create(b, loc, quad, c.a, idx);
  Value pad = arith::ConstantOp::create(b, loc, elem, b.getZeroAttr(elem));
  return vector::TransferReadOp::create(b, loc, quad, c.a, idx, pad, ArrayRef<bool>{false});
}

/// A vector of `mem` at `idx`, masked on the last panel.
Value KernelBuilder::loadVector(Value mem, ValueRange idx, ArrayRef<Value> masks, int64_t v) {
  auto type = VectorType::get({vl}, getElementTypeOrSelf(mem.getType()));
  if (masks.empty())
    return vector::LoadOp::create(b, loc, type, mem, idx);
  Value zeros = arith::ConstantOp::create(b, loc, type, b.getZeroAttr(type));
  return vector::MaskedLoadOp::create(b, loc, type, mem, idx, masks[v], zeros);
}

/// `mem` read through `map` at loop position `at` for the v-th vector of a
/// row of C: a vector when the map reads the last loop (C's n), else one
/// value broadcast (see readablePerVector).
Value KernelBuilder::readOperand(Value mem, AffineMap map, ArrayRef<Value> at, ArrayRef<Value> masks, int64_t v) {
  SmallVector<Value> idx = indices(map, at);
  if (usesDim(map, at.size() - 1))
    return loadVector(mem, idx, masks, v);
  Value x = memref::LoadOp::create(b, loc, mem, idx);
  return vector::BroadcastOp::create(b, loc, VectorType::get({vl}, x.getType()), x);
}

void KernelBuilder::store(Value value, Value mem, ValueRange idx, ArrayRef<Value> masks, int64_t v) {
  if (masks.empty())
    vector::StoreOp::create(b, loc, value, mem, idx);
  else
    vector::MaskedStoreOp::create(b, loc, mem, idx, masks[v], value);
}

/// Computes the epilogue's body on the accumulator `acc` (at C indices
/// `cIdx`) and stores its result.
void KernelBuilder::applyEpilogue(Value acc, ArrayRef<Value> cIdx, ArrayRef<Value> masks, int64_t v) {
  linalg::GenericOp op = epilogue->op;
  // The epilogue's loop indices: C's, split where C was expanded (C's
  // last index, n, given as `nIdx`).
  auto expandedType = cast<MemRefType>(epilogue->expanded.getType());
  int64_t innermost = -1;
  auto split = [&](Value nIdx) {
    SmallVector<Value> e(epilogueSizes.size());
    for (auto [i, group] : llvm::enumerate(epilogue->groups)) {
      // Unit dims are 0; the others split C's index, innermost first.
      SmallVector<int64_t> dims;
      for (int64_t d : group) {
        if (expandedType.getDimSize(d) == 1)
          e[d] = index(0);
        else
          dims.push_back(d);
      }
      Value x = i + 1 == epilogue->groups.size() ? nIdx : cIdx[i];
      for (int64_t j = (int64_t)dims.size() - 1; j > 0; --j) {
        Value size = epilogueSizes[dims[j]];
        e[dims[j]] = arith::RemUIOp::create(b, loc, x, size);
        x = arith::DivUIOp::create(b, loc, x, size);
      }
      if (!dims.empty())
        e[dims[0]] = x;
      if (i + 1 == epilogue->groups.size() && !dims.empty())
        innermost = dims.back();
    }
    return e;
  };
  SmallVector<Value> e = split(cIdx.back());
  IRMapping map;
  for (OpOperand *in : op.getDpsInputOperands()) {
    BlockArgument arg = op.getMatchingBlockArgument(in);
    map.map(arg, in->getOperandNumber() == epilogue->cInput
                     ? acc
                     : readOperand(in->get(), op.getMatchingIndexingMap(in), e, masks, v));
  }
  Value result = tern::vectorizeBody(b, loc, op, map, vl);
  Value out = op.getDpsInitOperand(0)->get();
  int64_t row = epilogue->rowLength;
  if (!row) {
    store(result, out, e, masks, v);
    return;
  }
  // The vector's lanes are positions w0.. of a row `row` long and may run
  // on into the next rows: one masked store per row, lanes [lo, hi) in
  // that row, at the row's start less lo (the lanes before it masked off)
  // in a flat view of the output (its layout is static), where that
  // address is never before the view's start.
  auto outType = cast<MemRefType>(out.getType());
  SmallVector<int64_t> strides;
  int64_t offset = 0, extent = 1;
  (void)outType.getStridesAndOffset(strides, offset);
  for (auto [size, stride] : llvm::zip(outType.getShape(), strides))
    extent += (size - 1) * stride;
  auto flatType = MemRefType::get({extent}, outType.getElementType(),
                                  StridedLayoutAttr::get(b.getContext(), offset, {1}));
  Value flat = memref::ReinterpretCastOp::create(b, loc, flatType, out, offset, ArrayRef<int64_t>{extent},
                                                 ArrayRef<int64_t>{1});
  auto flatIndex = [&](ArrayRef<Value> at, Value minus) {
    Value x = minus ? arith::SubIOp::create(b, loc, index(0), minus).getResult() : index(0);
    for (auto [i, stride] : llvm::enumerate(strides))
      x = arith::AddIOp::create(b, loc, x, arith::MulIOp::create(b, loc, at[i], index(stride)));
    return x;
  };
  auto maskType = VectorType::get({vl}, b.getI1Type());
  Value w0 = e[innermost];
  Value allOn = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(maskType, true));
  for (int64_t s = 0; s <= (vl - 2) / row + 1; ++s) {
    Value lo = s == 0 ? index(0)
                      : Value(arith::MaxSIOp::create(b, loc, index(0),
                                                     arith::SubIOp::create(b, loc, index(s * row), w0)));
    Value hi = arith::MinSIOp::create(b, loc, index(vl), arith::SubIOp::create(b, loc, index((s + 1) * row), w0));
    Value mask = vector::CreateMaskOp::create(b, loc, maskType, ValueRange{hi});
    if (s > 0)
      mask = arith::AndIOp::create(
          b, loc, mask, arith::XOrIOp::create(b, loc, vector::CreateMaskOp::create(b, loc, maskType, ValueRange{lo}), allOn));
    if (!masks.empty())
      mask = arith::AndIOp::create(b, loc, mask, masks[v]);
    Value at = s == 0 ? flatIndex(e, Value())
                      : flatIndex(split(arith::AddIOp::create(b, loc, cIdx.back(), lo)), lo);
    vector::MaskedStoreOp::create(b, loc, flat, ValueRange{at}, mask, result);
  }
}

} // namespace tern
