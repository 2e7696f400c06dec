//===- VectorizeContractions.cpp - register-blocked matmul kernels --------===//
//
// A float contraction C[b.., m.., n] += A[f(m.., k..)] * B[.., k, n] on
// buffers (linalg.matmul, Gemm's and batched matmuls' generics, convolutions
// reading their input in place) becomes a register-blocked kernel: C is
// cut into panels of `vectors` x VL columns, the panels (and batch dims)
// form one scf.parallel the thread pool splits, and each panel runs down its
// rows (the m dims flattened) `rows` at a time. For each k the kernel
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
// masked loads; a transposed constant B (Gemm's transB, convolution filters
// [F, C, KH, KW] with k = (c, kh, kw)) is packed the same.
// Any other B must run along n with unit stride.
//
// Integer contractions: i32 C from i32 operands (integer multiply-adds), or
// from bytes widened in the body (out += ext(a) * ext(b), the 8-bit matmuls
// of quantized models) with a constant B: with VNNI (option vnni) and u8 A
// running along k, B is packed in groups of 4 bytes along k and the kernel
// runs on vpdpbusd (AArch64: usdot with FEAT_I8MM), A's 4 bytes broadcast
// as one i32; on x86 without VNNI, B is packed as i16 pairs along k for
// pmaddwd; otherwise B is packed widened to i32 and A widened as read.
//
// Block-dequantized contractions (out += a * (uitofp(q) * s + z), q bytes
// [k, n], s and z per block of k and column: MatMulNBits' weights): q, s and
// z are packed into panels (q two per byte when below 16) and the kernel
// multiplies A by the converted q into block accumulators, applying each
// block's s and z once at its end. Marked kInt8ActivationsAttr
// (MatMulNBits' accuracy_level 4), A is quantized to int8 per row and
// block before the kernel and the 4-bit
// weights, packed in groups of 4 along k, multiply it on the dot-product
// units (vpdpbusd, usdot), 4 rows at a time: decoding a token, the
// weights' bytes, not their conversion to float, then bound the run (the
// block scales and offsets are packed as f16 to shrink those bytes
// further); on a prompt, the products run at four times the FMAs' rate.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "VectorBody.h"
#include "lib/Codegen/EntryBuffers.h"
#include "lib/Codegen/MatchContraction.h"
#include "lib/Codegen/PackWeights.h"
#include "passes/PatternUtils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/IR/SymbolTable.h"

namespace tern {
#define GEN_PASS_DEF_TERNVECTORIZECONTRACTIONSPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;
using tern::Contraction;
using tern::Epilogue;
using tern::Init;
using tern::findEpilogue;
using tern::initOf;
using tern::matchContraction;
using tern::Packing;
using tern::readablePerVector;
using tern::readsAlongK;
using tern::usesDim;

namespace {

/// Parallel iterations a kernel offers the thread pool at the least, when
/// its shape allows: panels of columns, or chunks of rows too.
constexpr int64_t kMinTasks = 8;

/// Rows of A per kernel on int8 dot products of 4-bit weights (int8Reduce):
/// rows x vectors i32 block sums plus as many f32 totals in registers.
constexpr int64_t kInt8Rows = 4;

/// The largest stack buffer of one panel's dequantized weights (k x panel
/// width f32) that a task allocates.
constexpr int64_t kPanelBytes = 256 * 1024;

class KernelBuilder {
public:
  /// `dotIntrinsic`: the LLVM intrinsic of the u8 x s8 dot product when B
  /// is packed in groups of 4 bytes (Packing::Groups4), else empty.
  KernelBuilder(OpBuilder &b, Location loc, const Contraction &c, int64_t vl, int64_t vectors, Value packedB,
                StringRef dotIntrinsic, const Init &init, const std::optional<Epilogue> &epilogue)
      : b(b), loc(loc), c(c), vl(vl), vectors(vectors), packedB(packedB), dotIntrinsic(dotIntrinsic), init(init),
        epilogue(epilogue), vecType(VectorType::get({vl}, getElementTypeOrSelf(c.c.getType()))) {}

  /// B's packed block scales and offsets (c.dequant); `halves`: B is
  /// packed as nibbles (Packing::Nibbles).
  void setDequantization(Value scale, Value offset, bool halves) {
    packedScale = scale;
    packedOffset = offset;
    nibbles = halves;
  }

  /// The dequantized B is packed as Packing::Nibbles4 and A is quantized
  /// to int8 per row and block before the kernel runs: the products run on
  /// `intrinsic` (u8 x s8 dot products of 4 bytes per i32 lane: x86's
  /// vpdpbusd, AArch64's usdot), see int8Reduce.
  void setInt8Activations(StringRef intrinsic) { int8Dot = intrinsic.str(); }

  /// The dequantized B (f32 products) runs against many rows: each panel's
  /// weights are dequantized once, into a stack buffer of k x panel width
  /// f32, which the plain kernel then reads for every tile of rows
  /// (dequantizePanel). `ifMany`: the number of rows is known at run time
  /// only; each task checks it (at least twice the kernel's rows) and runs
  /// the per-tile dequantization otherwise.
  void setDequantizePanels(bool ifMany) { dequantizePanels = ifMany ? PanelDequant::IfMany : PanelDequant::Always; }

  /// B is 2:4 sparse, packed as `values` and `positions`
  /// (WeightPacker::packSparse24); `permute` is the LLVM intrinsic of the
  /// lane permute (a vector of f32, indices of i32).
  void setSparse(Value values, Value positions, StringRef permute) {
    sparseValues = values;
    sparseIndices = positions;
    permuteIntrinsic = permute.str();
  }

  /// B is packed as i16 pairs (Packing::Pairs2) for `intrinsic`, x86's
  /// pmaddwd at the vector width.
  void setPairs(StringRef intrinsic) { maddIntrinsic = intrinsic.str(); }

  /// The dot intrinsic multiplies s8 by s8 (AArch64's sdot without usdot):
  /// A's u8 are shifted to s8 (a - 128, a flip of the top bit), and
  /// 128 * sum_k B, accumulated on the side with the same instruction
  /// (a dot of B with ones), is added back at the end.
  void setSignedDot() { signedDot = true; }

  /// B was block-pruned: `packedB` holds each panel's `kept` non-zero rows,
  /// `indices` ([panels][kept] i32) their k.
  void setRowSparse(Value indices, int64_t kept) {
    rowIndices = indices;
    keptRows = kept;
  }

  /// Replaces the contraction, whose loop sizes are `sizes`.
  void build(ArrayRef<Value> sizes, int64_t rows) {
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
    int64_t tasks = staticN ? (*staticN + vl * vectors - 1) / (vl * vectors) : 0;
    for (unsigned d : c.batch) {
      std::optional<int64_t> size = getConstantIntValue(sizes[d]);
      tasks = size ? tasks * *size : 0;
    }
    if (!int8Dot.empty())
      quantizeA(m, staticM);
    int64_t chunk = 0;
    if (staticM && tasks > 0 && tasks < kMinTasks && *staticM >= 4 * rows) {
      int64_t pieces = (kMinTasks + tasks - 1) / tasks;
      chunk = ((*staticM + pieces - 1) / pieces + rows - 1) / rows * rows;
      lbs.push_back(zero);
      ubs.push_back(index((*staticM + chunk - 1) / chunk));
      steps.push_back(one);
    }
    lbs.push_back(zero);
    ubs.push_back(arith::CeilDivUIOp::create(b, loc, n, width));
    steps.push_back(one);
    scf::ParallelOp::create(b, loc, lbs, ubs, steps, [&](OpBuilder &nb, Location, ValueRange ivs) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
      SmallVector<Value> at(sizes.size(), zero);
      for (auto [d, iv] : llvm::zip(c.batch, ivs))
        at[d] = iv;
      Value rowsFrom = zero, rowsTo = m;
      if (chunk) {
        rowsFrom = arith::MulIOp::create(b, loc, ivs[c.batch.size()], index(chunk));
        rowsTo = arith::MinUIOp::create(b, loc, arith::AddIOp::create(b, loc, rowsFrom, index(chunk)), m);
      }
      panelIndex = ivs.back();
      auto panels = [&]() {
        Value j0 = arith::MulIOp::create(b, loc, ivs.back(), width);
        at[c.n] = j0;
        Value left = arith::SubIOp::create(b, loc, n, j0);
        Value full = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, left, width);
        scf::IfOp::create(
            b, loc, full,
            [&](OpBuilder &tb, Location) {
              OpBuilder::InsertionGuard g(b);
              b.setInsertionPoint(tb.getInsertionBlock(), tb.getInsertionPoint());
              panel(at, rowsFrom, rowsTo, rows, {});
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
              panel(at, rowsFrom, rowsTo, rows, masks);
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
  }

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  /// `e` at the loop position `at`.
  Value evaluate(AffineExpr e, ArrayRef<Value> at) {
    if (auto d = dyn_cast<AffineDimExpr>(e))
      return at[d.getPosition()];
    if (auto k = dyn_cast<AffineConstantExpr>(e))
      return index(k.getValue());
    auto bin = cast<AffineBinaryOpExpr>(e);
    Value l = evaluate(bin.getLHS(), at), r = evaluate(bin.getRHS(), at);
    switch (e.getKind()) {
    case AffineExprKind::Add:
      return arith::AddIOp::create(b, loc, l, r);
    case AffineExprKind::Mul:
      return arith::MulIOp::create(b, loc, l, r);
    case AffineExprKind::FloorDiv:
      return arith::FloorDivSIOp::create(b, loc, l, r);
    case AffineExprKind::CeilDiv:
      return arith::CeilDivSIOp::create(b, loc, l, r);
    default:
      return arith::RemSIOp::create(b, loc, l, r);
    }
  }

  /// The indices of an operand with map `map` at the loop position `at`.
  SmallVector<Value> indices(AffineMap map, ArrayRef<Value> at) {
    SmallVector<Value> idx;
    for (AffineExpr e : map.getResults())
      idx.push_back(evaluate(e, at));
    return idx;
  }

  /// One panel: flattened rows [from, to) in steps of `rows`, then one at
  /// a time.
  void panel(SmallVector<Value> at, Value from, Value to, int64_t rows, ArrayRef<Value> masks) {
    Value one = index(1);
    Value split = from;
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
    scf::ForOp::create(b, loc, split, to, one, ValueRange{}, [&](OpBuilder &nb, Location, Value i, ValueRange) {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
      kernel(at, i, 1, masks);
      scf::YieldOp::create(b, loc);
    });
  }

  /// `at` with the m dims set from the flattened row `row`.
  SmallVector<Value> atRow(SmallVector<Value> at, Value row) {
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
  SmallVector<Value> reduce(SmallVector<Value> at, unsigned level, ValueRange accs, Value flatK,
                            function_ref<SmallVector<Value>(ArrayRef<Value>, Value, ValueRange)> body) {
    unsigned d = c.ks[level];
    auto loop = scf::ForOp::create(
        b, loc, index(0), sizes[d], index(1), accs, [&](OpBuilder &nb, Location, Value kk, ValueRange iter) {
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

  /// The panel's v-th vector of weights q at `k`, as f32: a byte each, or
  /// (nibbles) the low halves of the panel's first vectors' bytes and the
  /// high halves of its last ones'.
  Value weightsAt(Value k, int64_t v) {
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

  /// Block `blk`'s scales or offsets (`packed`: packedScale or
  /// packedOffset) for the panel's v-th vector, as f32.
  Value blockParam(Value packed, Value blk, int64_t v) {
    Type t = getElementTypeOrSelf(packed.getType());
    Value x = vector::LoadOp::create(b, loc, VectorType::get({vl}, t), packed, ValueRange{panelIndex, blk, index(v * vl)});
    return t.isF32() ? x : Value(arith::ExtFOp::create(b, loc, vecType, x));
  }

  /// The current panel's weights q * s + z (q from the nibble or byte
  /// panels, s and z per block) into `panelB` [k][vectors x VL] f32, a
  /// stack buffer of the task: once per panel instead of once per tile of
  /// rows.
  void dequantizePanel() {
    unsigned d = c.ks[0];
    int64_t k = *getConstantIntValue(sizes[d]), bs = c.block;
    panelB = memref::AllocaOp::create(b, loc, MemRefType::get({k, vl * vectors}, b.getF32Type()),
                                      b.getI64IntegerAttr(64));
    auto fill = [&](Value blk, int64_t length) {
      SmallVector<Value> sv, zv;
      for (int64_t v = 0; v < vectors; ++v) {
        sv.push_back(blockParam(packedScale, blk, v));
        zv.push_back(blockParam(packedOffset, blk, v));
      }
      Value base = arith::MulIOp::create(b, loc, blk, index(bs));
      scf::ForOp::create(b, loc, index(0), index(length), index(1), ValueRange{},
                         [&](OpBuilder &nb, Location, Value kk, ValueRange) {
                           OpBuilder::InsertionGuard g(b);
                           b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                           Value at = arith::AddIOp::create(b, loc, base, kk);
                           for (int64_t v = 0; v < vectors; ++v) {
                             Value w = vector::FMAOp::create(b, loc, weightsAt(at, v), sv[v], zv[v]);
                             vector::StoreOp::create(b, loc, w, panelB, ValueRange{at, index(v * vl)});
                           }
                           scf::YieldOp::create(b, loc);
                         });
    };
    if (k >= bs)
      scf::ForOp::create(b, loc, index(0), index(k / bs), index(1), ValueRange{},
                         [&](OpBuilder &nb, Location, Value blk, ValueRange) {
                           OpBuilder::InsertionGuard g(b);
                           b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                           fill(blk, bs);
                           scf::YieldOp::create(b, loc);
                         });
    if (k % bs)
      fill(index(k / bs), k % bs);
  }

  /// A (`rows` flattened rows, one reduction dim of static size, a whole
  /// number of blocks) quantized for int8Reduce, block by block of c.block
  /// k: d = max |a| / 127, q = round(a / d) as i8 [rows, k], and per row
  /// and block d and the block's sum of a ([rows, blocks] f32). Runs once,
  /// before the kernel's parallel loop, itself parallel over the rows.
  void quantizeA(Value rows, std::optional<int64_t> staticRows) {
    unsigned kd = c.ks[0];
    int64_t k = *getConstantIntValue(sizes[kd]), bs = c.block, blocks = k / bs;
    Type f32 = b.getF32Type(), i8 = b.getI8Type();
    // Planned into the arena, or allocated per run for a dynamic number of
    // rows.
    auto alloc = [&](int64_t cols, Type t) {
      auto type = MemRefType::get({staticRows ? *staticRows : ShapedType::kDynamic, cols}, t);
      return memref::AllocOp::create(b, loc, type, staticRows ? ValueRange{} : ValueRange{rows},
                                     b.getI64IntegerAttr(64))
          .getResult();
    };
    quantized = alloc(k, i8);
    quantizedScale = alloc(blocks, f32);
    quantizedSum = alloc(blocks, f32);
    auto vf = VectorType::get({vl}, f32);
    Value zero = arith::ConstantOp::create(b, loc, f32, b.getF32FloatAttr(0));
    Value q127 = arith::ConstantOp::create(b, loc, f32, b.getF32FloatAttr(127));
    SmallVector<Value> origin(sizes.size(), index(0));
    // Rows in parallel (a prompt's: the threads share them).
    scf::ParallelOp::create(b, loc, ValueRange{index(0)}, ValueRange{rows}, ValueRange{index(1)},
                            [&](OpBuilder &rb, Location, ValueRange ivs) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(rb.getInsertionBlock(), rb.getInsertionPoint());
      Value row = ivs[0];
      SmallVector<Value> rowPos = atRow(origin, row);
      scf::ForOp::create(b, loc, index(0), index(blocks), index(1), ValueRange{}, [&](OpBuilder &bb, Location, Value blk, ValueRange) {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPoint(bb.getInsertionBlock(), bb.getInsertionPoint());
        Value base = arith::MulIOp::create(b, loc, blk, index(bs));
        SmallVector<Value> xs, at;
        Value amax, sum;
        for (int64_t v = 0; v < bs / vl; ++v) {
          SmallVector<Value> pos = rowPos;
          at.push_back(v ? Value(arith::AddIOp::create(b, loc, base, index(v * vl))) : base);
          pos[kd] = at.back();
          xs.push_back(vector::LoadOp::create(b, loc, vf, c.a, indices(c.aMap, pos)));
          Value mag = math::AbsFOp::create(b, loc, xs.back());
          amax = amax ? Value(arith::MaxNumFOp::create(b, loc, amax, mag)) : mag;
          sum = sum ? Value(arith::AddFOp::create(b, loc, sum, xs.back())) : xs.back();
        }
        Value m = vector::ReductionOp::create(b, loc, vector::CombiningKind::MAXNUMF, amax);
        Value s = vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, sum);
        Value d = arith::DivFOp::create(b, loc, m, q127);
        Value inv = arith::SelectOp::create(
            b, loc, arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, m, zero),
            arith::DivFOp::create(b, loc, q127, m), zero);
        Value invv = vector::BroadcastOp::create(b, loc, vf, inv);
        for (auto [x, kk] : llvm::zip(xs, at)) {
          Value r = math::RoundEvenOp::create(b, loc, arith::MulFOp::create(b, loc, x, invv));
          Value q = arith::FPToSIOp::create(b, loc, VectorType::get({vl}, b.getI32Type()), r);
          q = arith::TruncIOp::create(b, loc, VectorType::get({vl}, i8), q);
          vector::StoreOp::create(b, loc, q, quantized, ValueRange{row, kk});
        }
        memref::StoreOp::create(b, loc, d, quantizedScale, ValueRange{row, blk});
        memref::StoreOp::create(b, loc, s, quantizedSum, ValueRange{row, blk});
        scf::YieldOp::create(b, loc);
      });
    });
  }

  /// The reduction of a block-dequantized B (nibbles, Packing::Nibbles4)
  /// with A quantized by quantizeA, rows `row0` + r for r < `rowCount`:
  /// per block, sum_k a_k (q_k s + z) = s d sum_k qa_k q_k + z sum_k a_k,
  /// the integer sum on dot-product instructions (per 4 k, each row's 4
  /// bytes of qa broadcast as one i32 against the 4 x VL nibbles of B per
  /// vector, low halves for the panel's first vectors, high for the
  /// others), then converted and scaled once per block: two FMAs per
  /// accumulator.
  SmallVector<Value> int8Reduce(Value row0, int64_t rowCount, SmallVector<Value> accs) {
    int64_t k = *getConstantIntValue(sizes[c.ks[0]]), bs = c.block, half = vectors / 2;
    auto i32v = VectorType::get({vl}, b.getI32Type());
    auto bytes = VectorType::get({vl * 4}, b.getI8Type());
    Value zero = arith::ConstantOp::create(b, loc, i32v, b.getZeroAttr(i32v));
    Value low = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(bytes, b.getI8IntegerAttr(15).getValue()));
    Value four = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(bytes, b.getI8IntegerAttr(4).getValue()));
    SmallVector<Value> rowIdx;
    for (int64_t r = 0; r < rowCount; ++r)
      rowIdx.push_back(r ? Value(arith::AddIOp::create(b, loc, row0, index(r))) : row0);
    auto loop = scf::ForOp::create(b, loc, index(0), index(k / bs), index(1), accs, [&](OpBuilder &nb, Location, Value blk, ValueRange totals) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
      Value from = arith::MulIOp::create(b, loc, blk, index(bs / 4));
      Value to = arith::AddIOp::create(b, loc, from, index(bs / 4));
      SmallVector<Value> init(rowCount * vectors, zero);
      auto inner = scf::ForOp::create(b, loc, from, to, index(1), init, [&](OpBuilder &ib, Location, Value k4, ValueRange it) {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPoint(ib.getInsertionBlock(), ib.getInsertionPoint());
        SmallVector<Value> halves(vectors);
        for (int64_t v = 0; v < half; ++v) {
          Value p = vector::LoadOp::create(b, loc, bytes, packedB, ValueRange{panelIndex, k4, index(v * vl * 4)});
          halves[v] = arith::AndIOp::create(b, loc, p, low);
          halves[v + half] = arith::ShRUIOp::create(b, loc, p, four);
        }
        Value kk = arith::MulIOp::create(b, loc, k4, index(4));
        SmallVector<Value> next(it.begin(), it.end());
        for (int64_t r = 0; r < rowCount; ++r) {
          Value quad = vector::LoadOp::create(b, loc, VectorType::get({4}, b.getI8Type()), quantized, ValueRange{rowIdx[r], kk});
          Value word = vector::ExtractOp::create(
              b, loc, vector::BitCastOp::create(b, loc, VectorType::get({1}, b.getI32Type()), quad), ArrayRef<int64_t>{0});
          Value av = vector::BitCastOp::create(b, loc, bytes, vector::BroadcastOp::create(b, loc, i32v, word));
          for (int64_t v = 0; v < vectors; ++v)
            next[r * vectors + v] = LLVM::CallIntrinsicOp::create(b, loc, i32v, b.getStringAttr(int8Dot),
                                                                  ValueRange{it[r * vectors + v], halves[v], av})
                                        .getResult(0);
        }
        scf::YieldOp::create(b, loc, next);
      });
      // Each row's d and sum(a) of the block, broadcast once for its vectors.
      SmallVector<Value> rowScale, rowSum;
      for (int64_t r = 0; r < rowCount; ++r) {
        Value d = memref::LoadOp::create(b, loc, quantizedScale, ValueRange{rowIdx[r], blk});
        Value sum = memref::LoadOp::create(b, loc, quantizedSum, ValueRange{rowIdx[r], blk});
        rowScale.push_back(vector::BroadcastOp::create(b, loc, vecType, d));
        rowSum.push_back(vector::BroadcastOp::create(b, loc, vecType, sum));
      }
      SmallVector<Value> out(totals.begin(), totals.end());
      for (int64_t v = 0; v < vectors; ++v) {
        Value s = blockParam(packedScale, blk, v), z = blockParam(packedOffset, blk, v);
        for (int64_t r = 0; r < rowCount; ++r) {
          Value sd = arith::MulFOp::create(b, loc, s, rowScale[r]);
          Value dot = arith::SIToFPOp::create(b, loc, vecType, inner.getResult(r * vectors + v));
          Value t = vector::FMAOp::create(b, loc, dot, sd, out[r * vectors + v]);
          out[r * vectors + v] = vector::FMAOp::create(b, loc, rowSum[r], z, t);
        }
      }
      scf::YieldOp::create(b, loc, out);
    });
    return SmallVector<Value>(loop.getResults());
  }

  /// C[row i0 + r, at.n + v*VL] += sum_k A[.., k] * B[k, ..] for r < rows.
  void kernel(SmallVector<Value> at, Value i0, int64_t rows, ArrayRef<Value> masks) {
    Value j0 = at[c.n];
    SmallVector<SmallVector<Value>> rowAt;
    for (int64_t r = 0; r < rows; ++r)
      rowAt.push_back(atRow(at, r == 0 ? i0 : Value(arith::AddIOp::create(b, loc, i0, index(r)))));
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
          SmallVector<Value> next;
          for (int64_t r = 0; r < rows; ++r) {
            SmallVector<Value> pos = rowAt[r];
            for (unsigned k : c.ks)
              pos[k] = kpos[k];
            Value a = memref::LoadOp::create(b, loc, c.a, indices(c.aMap, pos));
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
      results = pairReduce(rowAt, accs);
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
    } else if (dotIntrinsic.empty())
      results = reduce(at, 0, accs, Value(), step);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t v = 0; v < vectors; ++v) {
        SmallVector<Value> pos = rowAt[r];
        pos[c.n] = colIdx[v];
        Value acc = results[r * vectors + v];
        SmallVector<Value> cIdx = indices(c.cMap, pos);
        if (!epilogue || epilogue->storeC)
          store(acc, c.c, cIdx, masks, v);
        if (epilogue)
          applyEpilogue(acc, cIdx, masks, v);
      }
  }

  /// The reduction of a block-dequantized B (c.dequant, one reduction dim
  /// of static size), block by block (c.block k; a last partial block if
  /// k % c.block), each weight q * s + z with the block's s and z per
  /// column, loaded once per block. Several rows share each k's
  /// dequantization (one FMA per vector) and then an FMA per row. One row
  /// factors the scale out instead:
  ///
  ///   sum_k a_k (q_k s + z) = s * sum_k a_k q_k + z * sum_k a_k:
  ///
  /// per k it multiplies A's value by the raw q (converted to float) into
  /// block accumulators and sums A; at the end of the block two FMAs per
  /// accumulator apply s and z. It interleaves 4 chains of k (its few
  /// accumulators would wait on each FMA's latency).
  SmallVector<Value> blockReduce(ArrayRef<SmallVector<Value>> rowAt, SmallVector<Value> accs) {
    unsigned d = c.ks[0];
    int64_t k = *getConstantIntValue(sizes[d]), bs = c.block, rowCount = rowAt.size();
    int64_t per = accs.size(); // rows x vectors
    int64_t chains = rowCount == 1 && vectors <= 4 && bs % 4 == 0 ? 4 : 1; // only when factored
    Value zero = arith::ConstantOp::create(b, loc, vecType, b.getZeroAttr(vecType));
    // One k: block accumulators `it` (chain-major: [chain][row][vector])
    // and A's sums (per chain and row, after them).
    // Several rows share each k's dequantization (q * s + z once, then an
    // FMA per row); one row factors the scale out instead (two FMAs per
    // block, not one per k).
    bool factored = rowCount == 1;
    SmallVector<Value> sv, zv; // the block's, when not factored
    auto stepAt = [&](Value flatK, ValueRange it, int64_t chain, SmallVector<Value> &next) {
      SmallVector<Value> qf;
      for (int64_t v = 0; v < vectors; ++v) {
        qf.push_back(weightsAt(flatK, v));
        if (!factored)
          qf.back() = vector::FMAOp::create(b, loc, qf.back(), sv[v], zv[v]);
      }
      for (int64_t r = 0; r < rowCount; ++r) {
        SmallVector<Value> pos = rowAt[r];
        pos[d] = flatK;
        Value a = memref::LoadOp::create(b, loc, c.a, indices(c.aMap, pos));
        Value av = vector::BroadcastOp::create(b, loc, vecType, a);
        for (int64_t v = 0; v < vectors; ++v)
          next[chain * per + r * vectors + v] = vector::FMAOp::create(b, loc, av, qf[v], it[chain * per + r * vectors + v]);
        if (factored) {
          int64_t sumAt = chains * per + chain * rowCount + r;
          next[sumAt] = arith::AddFOp::create(b, loc, it[sumAt], av);
        }
      }
    };
    auto block = [&](Value blk, int64_t length, ValueRange total) {
      int64_t ways = length % chains == 0 ? chains : 1;
      SmallVector<Value> init(chains * per + (factored ? chains * rowCount : 0), zero);
      if (!factored) {
        // Accumulate straight into the totals, the weights dequantized.
        for (int64_t i = 0; i < per; ++i)
          init[i] = total[i];
        sv.clear();
        zv.clear();
        for (int64_t v = 0; v < vectors; ++v) {
          sv.push_back(blockParam(packedScale, blk, v));
          zv.push_back(blockParam(packedOffset, blk, v));
        }
      }
      Value base = arith::MulIOp::create(b, loc, blk, index(bs));
      auto inner = scf::ForOp::create(b, loc, index(0), index(length), index(ways), init,
                                      [&](OpBuilder &nb, Location, Value kk, ValueRange it) {
                                        OpBuilder::InsertionGuard g(b);
                                        b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                                        SmallVector<Value> next(it.begin(), it.end());
                                        for (int64_t j = 0; j < ways; ++j) {
                                          Value at = j ? Value(arith::AddIOp::create(b, loc, kk, index(j))) : kk;
                                          stepAt(arith::AddIOp::create(b, loc, base, at), it, j, next);
                                        }
                                        scf::YieldOp::create(b, loc, next);
                                      });
      if (!factored) {
        SmallVector<Value> out(inner.getResults().take_front(per));
        for (int64_t j = 1; j < chains; ++j)
          for (int64_t i = 0; i < per; ++i)
            out[i] = arith::AddFOp::create(b, loc, out[i], inner.getResult(j * per + i));
        return out;
      }
      // Chains summed, then total += s * block + z * sum(a).
      SmallVector<Value> out(total.begin(), total.end());
      for (int64_t v = 0; v < vectors; ++v) {
        Value sv = blockParam(packedScale, blk, v), zv = blockParam(packedOffset, blk, v);
        for (int64_t r = 0; r < rowCount; ++r) {
          Value acc = inner.getResult(r * vectors + v), sum = inner.getResult(chains * per + r);
          for (int64_t j = 1; j < chains; ++j) {
            acc = arith::AddFOp::create(b, loc, acc, inner.getResult(j * per + r * vectors + v));
            sum = arith::AddFOp::create(b, loc, sum, inner.getResult(chains * per + j * rowCount + r));
          }
          Value t = vector::FMAOp::create(b, loc, acc, sv, out[r * vectors + v]);
          out[r * vectors + v] = vector::FMAOp::create(b, loc, sum, zv, t);
        }
      }
      return out;
    };
    return byGroups(k, bs, accs,
                    [&](Value blk, ValueRange it, bool tail) { return block(blk, tail ? k % bs : bs, it); });
  }

  /// The reduction of a 2:4-sparse B (one reduction dim of static size, A
  /// running along it with unit stride), a group of 4 k per step: each
  /// vector's two slots of values and the 2-bit positions of them (a byte
  /// per lane for two vectors, widened to i32 and shifted: the permute
  /// reads only each index's low bits, and A's 4 values repeat in every
  /// 128-bit lane, so bits above the first 2 select among equal copies). Per
  /// row A's 4 values are broadcast to every 128-bit lane, permuted per
  /// slot and multiplied into the accumulators. With one row, slot 1 sums
  /// apart (two chains of FMAs). The last k % 4 values of A are read masked
  /// (their packed values are 0).
  SmallVector<Value> sparseReduce(ArrayRef<SmallVector<Value>> rowAt, SmallVector<Value> accs) {
    unsigned d = c.ks[0];
    int64_t k = *getConstantIntValue(sizes[d]);
    int64_t rowCount = rowAt.size(), per = accs.size();
    auto byteVec = VectorType::get({vl}, b.getI8Type());
    auto idxVec = VectorType::get({vl}, b.getI32Type());
    SmallVector<int64_t> repeat;
    for (int64_t i = 0; i < vl; ++i)
      repeat.push_back(i % 4);
    bool split = rowCount == 1;
    if (split) {
      Value zero = arith::ConstantOp::create(b, loc, vecType, b.getZeroAttr(vecType));
      accs.append(per, zero);
    }
    auto step = [&](Value g, ValueRange iter, bool tail) {
      Value kk = arith::MulIOp::create(b, loc, g, index(4));
      // Positions [vector][slot] and values [vector][slot].
      SmallVector<Value> pos(vectors * 2), val(vectors * 2);
      for (int64_t q = 0; q < vectors / 2; ++q) {
        Value bytes = vector::LoadOp::create(b, loc, byteVec, sparseIndices, ValueRange{panelIndex, g, index(q * vl)});
        Value x = arith::ExtUIOp::create(b, loc, idxVec, bytes);
        for (int64_t j = 0; j < 4; ++j) {
          Value shift = arith::ConstantOp::create(b, loc, idxVec,
                                                  DenseElementsAttr::get(idxVec, b.getI32IntegerAttr(2 * j).getValue()));
          pos[(2 * q + j / 2) * 2 + j % 2] = j ? Value(arith::ShRUIOp::create(b, loc, x, shift)) : x;
        }
      }
      Value g2 = arith::MulIOp::create(b, loc, g, index(2));
      Value g21 = arith::AddIOp::create(b, loc, g2, index(1));
      for (int64_t v = 0; v < vectors; ++v)
        for (int64_t slot = 0; slot < 2; ++slot)
          val[v * 2 + slot] = vector::LoadOp::create(b, loc, vecType, sparseValues,
                                                     ValueRange{panelIndex, slot ? g21 : g2, index(v * vl)});
      SmallVector<Value> next(iter.begin(), iter.end());
      for (auto [r, rowPos] : llvm::enumerate(rowAt)) {
        SmallVector<Value> at = rowPos;
        at[d] = kk;
        SmallVector<Value> idx = indices(c.aMap, at);
        Value four = readGroup(b.getF32Type(), 4, idx, tail);
        Value a = vector::ShuffleOp::create(b, loc, four, four, repeat);
        for (int64_t v = 0; v < vectors; ++v)
          for (int64_t slot = 0; slot < 2; ++slot) {
            Value picked = LLVM::CallIntrinsicOp::create(b, loc, vecType, b.getStringAttr(permuteIntrinsic),
                                                         ValueRange{a, pos[v * 2 + slot]})
                               .getResult(0);
            int64_t at = (split && slot ? per : 0) + r * vectors + v;
            next[at] = vector::FMAOp::create(b, loc, picked, val[v * 2 + slot], next[at]);
          }
      }
      return next;
    };
    accs = byGroups(k, 4, accs, step);
    if (split) {
      for (int64_t i = 0; i < per; ++i)
        accs[i] = arith::AddFOp::create(b, loc, accs[i], accs[per + i]);
      accs.resize(per);
    }
    return accs;
  }

  /// The reduction on dot-product instructions (c.bytes, u8 A x s8 B, one
  /// reduction dim k along which A runs with unit stride; B packed in groups
  /// of 4 along k): per 4 k, each row's 4 bytes of A are broadcast as one
  /// i32 and multiplied with the panel's 4 x VL bytes of B per vector, the
  /// 4 products summed into each i32 lane. The last k % 4 bytes of a row
  /// are read masked (B's padding there is 0).
  SmallVector<Value> dotReduce(ArrayRef<SmallVector<Value>> rowAt, SmallVector<Value> accs) {
    unsigned d = c.ks[0];
    int64_t k = *getConstantIntValue(sizes[d]);
    auto bytesType = VectorType::get({vl * 4}, b.getI8Type());
    // With s8 x s8 dot products, B's column sums ride along after the
    // accumulators (one per vector), and A's bytes get their top bit flipped.
    size_t numAccs = accs.size();
    Value ones, flip;
    if (signedDot) {
      for (int64_t v = 0; v < vectors; ++v)
        accs.push_back(arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vecType, b.getI32IntegerAttr(0))));
      ones = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(bytesType, b.getI8IntegerAttr(1)));
      flip = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(int32_t(0x80808080u)));
    }
    auto step = [&](Value k4, ValueRange iter, bool tail) {
      Value kk = arith::MulIOp::create(b, loc, k4, index(4));
      SmallVector<Value> bv;
      for (int64_t v = 0; v < vectors; ++v)
        bv.push_back(vector::LoadOp::create(b, loc, bytesType, packedB, ValueRange{panelIndex, k4, index(v * vl * 4)}));
      SmallVector<Value> next;
      for (auto [r, rowPos] : llvm::enumerate(rowAt)) {
        SmallVector<Value> pos = rowPos;
        pos[d] = kk;
        SmallVector<Value> idx = indices(c.aMap, pos);
        Value four = readGroup(b.getI8Type(), 4, idx, tail);
        Value word = vector::ExtractOp::create(
            b, loc, vector::BitCastOp::create(b, loc, VectorType::get({1}, b.getI32Type()), four), ArrayRef<int64_t>{0});
        if (signedDot) // zero-padded k tails: B is zero there, so any A byte works
          word = arith::XOrIOp::create(b, loc, word, flip);
        Value av = vector::BitCastOp::create(b, loc, bytesType, vector::BroadcastOp::create(b, loc, vecType, word));
        for (int64_t v = 0; v < vectors; ++v)
          next.push_back(LLVM::CallIntrinsicOp::create(b, loc, vecType, b.getStringAttr(dotIntrinsic),
                                                       ValueRange{iter[r * vectors + v], av, bv[v]})
                             .getResult(0));
      }
      if (signedDot)
        for (int64_t v = 0; v < vectors; ++v)
          next.push_back(LLVM::CallIntrinsicOp::create(b, loc, vecType, b.getStringAttr(dotIntrinsic),
                                                       ValueRange{iter[numAccs + v], ones, bv[v]})
                             .getResult(0));
      return next;
    };
    SmallVector<Value> results = byGroups(k, 4, accs, step);
    if (!signedDot)
      return results;
    // sum (a - 128) b + 128 sum b = sum a b.
    Value seven = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vecType, b.getI32IntegerAttr(7)));
    SmallVector<Value> out;
    for (size_t i = 0; i < numAccs; ++i) {
      Value colSum = results[numAccs + i % vectors];
      out.push_back(arith::AddIOp::create(b, loc, results[i], arith::ShLIOp::create(b, loc, colSum, seven)));
    }
    return out;
  }

  /// The reduction on 16-bit multiply-adds (c.bytes without dot-product
  /// units, A running along its one reduction dim with unit stride; B packed
  /// as i16 pairs along k, Packing::Pairs2): per 2 k, each row's 2 bytes of A
  /// are widened to i16 and broadcast as one i32, and pmaddwd multiplies
  /// them with the panel's 2 x VL values of B per vector, summing each
  /// lane's 2 products into i32 (exact: bytes times bytes fit i16 pairs
  /// summed in i32), added to the accumulators. A last odd k is read
  /// masked.
  SmallVector<Value> pairReduce(ArrayRef<SmallVector<Value>> rowAt, SmallVector<Value> accs) {
    unsigned d = c.ks[0];
    int64_t k = *getConstantIntValue(sizes[d]);
    auto halves = VectorType::get({vl * 2}, b.getI16Type());
    auto pair16 = VectorType::get({2}, b.getI16Type());
    auto step = [&](Value k2, ValueRange iter, bool tail) {
      Value kk = arith::MulIOp::create(b, loc, k2, index(2));
      SmallVector<Value> bv;
      for (int64_t v = 0; v < vectors; ++v)
        bv.push_back(vector::LoadOp::create(b, loc, halves, packedB, ValueRange{panelIndex, k2, index(v * vl * 2)}));
      SmallVector<Value> next;
      for (auto [r, rowPos] : llvm::enumerate(rowAt)) {
        SmallVector<Value> pos = rowPos;
        pos[d] = kk;
        Value two = readGroup(b.getI8Type(), 2, indices(c.aMap, pos), tail);
        two = c.aUnsigned ? Value(arith::ExtUIOp::create(b, loc, pair16, two))
                          : Value(arith::ExtSIOp::create(b, loc, pair16, two));
        Value word = vector::ExtractOp::create(
            b, loc, vector::BitCastOp::create(b, loc, VectorType::get({1}, b.getI32Type()), two), ArrayRef<int64_t>{0});
        Value av = vector::BitCastOp::create(b, loc, halves, vector::BroadcastOp::create(b, loc, vecType, word));
        for (int64_t v = 0; v < vectors; ++v) {
          Value products = LLVM::CallIntrinsicOp::create(b, loc, vecType, b.getStringAttr(maddIntrinsic),
                                                         ValueRange{av, bv[v]})
                               .getResult(0);
          next.push_back(arith::AddIOp::create(b, loc, iter[r * vectors + v], products));
        }
      }
      return next;
    };
    return byGroups(k, 2, accs, step);
  }

  /// Runs `step` (group of `size` k, accumulators, whether it is the
  /// partial last group) over k / size groups in a loop, then once more for
  /// a last partial group.
  SmallVector<Value> byGroups(int64_t k, int64_t size, SmallVector<Value> accs,
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
  Value readGroup(Type elem, int64_t n, ValueRange idx, bool tail) {
    auto quad = VectorType::get({n}, elem);
    if (!tail)
      return vector::LoadOp::create(b, loc, quad, c.a, idx);
    Value pad = arith::ConstantOp::create(b, loc, elem, b.getZeroAttr(elem));
    return vector::TransferReadOp::create(b, loc, quad, c.a, idx, pad, ArrayRef<bool>{false});
  }

  /// A vector of `mem` at `idx`, masked on the last panel.
  Value loadVector(Value mem, ValueRange idx, ArrayRef<Value> masks, int64_t v) {
    auto type = VectorType::get({vl}, getElementTypeOrSelf(mem.getType()));
    if (masks.empty())
      return vector::LoadOp::create(b, loc, type, mem, idx);
    Value zeros = arith::ConstantOp::create(b, loc, type, b.getZeroAttr(type));
    return vector::MaskedLoadOp::create(b, loc, type, mem, idx, masks[v], zeros);
  }

  /// `mem` read through `map` at loop position `at` for the v-th vector of a
  /// row of C: a vector when the map reads the last loop (C's n), else one
  /// value broadcast (see readablePerVector).
  Value readOperand(Value mem, AffineMap map, ArrayRef<Value> at, ArrayRef<Value> masks, int64_t v) {
    SmallVector<Value> idx = indices(map, at);
    if (usesDim(map, at.size() - 1))
      return loadVector(mem, idx, masks, v);
    Value x = memref::LoadOp::create(b, loc, mem, idx);
    return vector::BroadcastOp::create(b, loc, VectorType::get({vl}, x.getType()), x);
  }

  void store(Value value, Value mem, ValueRange idx, ArrayRef<Value> masks, int64_t v) {
    if (masks.empty())
      vector::StoreOp::create(b, loc, value, mem, idx);
    else
      vector::MaskedStoreOp::create(b, loc, mem, idx, masks[v], value);
  }

  /// Computes the epilogue's body on the accumulator `acc` (at C indices
  /// `cIdx`) and stores its result.
  void applyEpilogue(Value acc, ArrayRef<Value> cIdx, ArrayRef<Value> masks, int64_t v) {
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

  OpBuilder &b;
  Location loc;
  const Contraction &c;
  int64_t vl, vectors;
  Value packedB, panelIndex;
  Value packedScale, packedOffset; ///< c.dequant: B's packed block scales and offsets
  Value sparseValues, sparseIndices; ///< a 2:4-sparse B's packed values and positions
  Value rowIndices;                  ///< a block-pruned B's kept rows per panel
  std::string maddIntrinsic;         ///< B packed as i16 pairs for pmaddwd
  int64_t keptRows = 0;
  std::string permuteIntrinsic;
  bool nibbles = false;
  std::string int8Dot;                      ///< A quantized to int8 for this dot product (int8Reduce)
  enum class PanelDequant { Never, Always, IfMany };
  PanelDequant dequantizePanels = PanelDequant::Never;
  Value panelB; ///< the current panel's dequantized weights (dequantizePanel)
  Value quantized, quantizedScale, quantizedSum; ///< quantizeA's buffers
  std::string dotIntrinsic;
  bool signedDot = false;
  SmallVector<Value> sizes;
  const Init &init;
  const std::optional<Epilogue> &epilogue;
  SmallVector<Value> epilogueSizes;
  VectorType vecType;
};

struct VectorizeContractionsPass : tern::impl::TernVectorizeContractionsPassBase<VectorizeContractionsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (vectorBits < 64 || vectorBits % 32 != 0 || rows < 1 || vectors < 1) {
      getOperation().emitError("tern-vectorize-contractions: bad vector-bits, rows or vectors");
      return signalPassFailure();
    }
    SmallVector<std::pair<linalg::LinalgOp, Contraction>, 4> found;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (auto c = matchContraction(op))
        found.push_back({op, *c});
    });
    int64_t vl = vectorBits / 32;
    tern::WeightPacker packer(getOperation());
    OpBuilder b(&getContext());
    for (auto &[op, c] : found) {
      // Bytes: u8 x s8 along a k that A stores contiguously go to the dot
      // product instructions; other byte contractions widen B to i32 at
      // compile time and each element of A as it is read.
      // (AArch64's usdot takes the same u8 x s8 groups of 4 on 128 bits.)
      bool dotUnits = vnni || ((usdot || sdot) && vectorBits == 128);
      bool dot = c.bytes && dotUnits && c.aUnsigned && !c.bUnsigned && c.ks.size() == 1 && readsAlongK(c);
      // Without dot products, x86 multiplies bytes widened to i16 pairs
      // (pmaddwd: 2 products per i32 lane) rather than widened to i32.
      bool pairs = c.bytes && !dot && pmaddwd && c.ks.size() == 1 && readsAlongK(c);
      Packing how = !c.bytes ? Packing::Move : dot ? Packing::Groups4 : pairs ? Packing::Pairs2 : Packing::Widen;
      std::optional<std::pair<MemRefType, StringAttr>> packed, scales, offsets;
      // Dequantized 4-bit weights: two per byte where they fit (in groups of
      // 4 along k for int8 dot products: nibbles4).
      bool nibbles = false, nibbles4 = false;
      // Fewer rows than the kernel's (decoding one token): each k step's
      // fixed cost (A's broadcast, the loop, the block's scales) is spread
      // over panels twice as wide.
      int64_t vecs = vectors;
      SmallVector<int64_t> ranges = op.getStaticLoopRanges();
      int64_t m = 1;
      for (unsigned d : c.ms)
        m = ShapedType::isDynamic(ranges[d]) || ShapedType::isDynamic(m) ? ShapedType::kDynamic : m * ranges[d];
      bool fewRows = !ShapedType::isDynamic(m) && m < rows;
      if (c.dequant && fewRows)
        vecs = 2 * vectors;
      // Dequantized 4-bit weights against rows of A that may be quantized
      // to int8: the products on the 8-bit dot-product units, u8 weights x
      // s8 activations (int8Reduce). Many rows (a prompt) run kInt8Rows at
      // a time: their i32 block sums and f32 totals both stay in registers.
      std::string int8Dot = !dotUnits || !(vnni || usdot) ? ""
                            : vnni ? ("llvm.x86.avx512.vpdpbusd." + Twine(vectorBits)).str()
                                   : "llvm.aarch64.neon.usdot.v4i32.v16i8";
      if (!(c.dequant && c.int8Activations && vecs % 2 == 0 && c.ks.size() == 1 && readsAlongK(c) &&
            getElementTypeOrSelf(c.a.getType()).isF32() && c.block % 4 == 0 && c.block % vl == 0 &&
            !ShapedType::isDynamic(ranges[c.ks[0]]) && ranges[c.ks[0]] % c.block == 0))
        int8Dot.clear();
      // 2:4-sparse weights where reading them bounds the run (up to 4 rows,
      // all in one kernel, each step's values and positions loaded once).
      // Panels of the usual width: twice as wide streamed the weights 40%
      // slower (a 4096 x 8192 matmul, one row: 3.2-4.1 ms against 2.7-3.0).
      std::optional<tern::SparsePanels> sparsePanels;
      if (sparse && fewRows && m <= 4 && !c.bytes && !c.dequant && (vectorBits == 256 || vectorBits == 512) &&
          c.ks.size() == 1 && getElementTypeOrSelf(c.c.getType()).isF32() && readsAlongK(c) &&
          !ShapedType::isDynamic(ranges[c.ks[0]]))
        sparsePanels = packer.packSparse24(c.b, c.bTransposed, vl, vectors);
      // Panels with few non-zero rows (block-pruned weights): those rows
      // only, at any number of rows of A.
      std::optional<tern::RowSparsePanels> rowSparse;
      if (!sparsePanels && packWeights && !c.bytes && !c.dequant && c.ks.size() == 1 &&
          getElementTypeOrSelf(c.c.getType()).isF32())
        rowSparse = packer.packRowSparse(c.b, c.bTransposed, vl * vecs, 0.75);
      if (rowSparse)
        packed = std::make_pair(rowSparse->valuesType, rowSparse->values);
      else if (sparsePanels)
        ; // packed above
      else if (!int8Dot.empty() &&
               (packed = packer.pack(c.b, c.bTransposed, c.bUnsigned, vl * vecs, Packing::Nibbles4)))
        nibbles = nibbles4 = true;
      else if (c.dequant && vecs % 2 == 0 && (packed = packer.pack(c.b, c.bTransposed, c.bUnsigned, vl * vecs, Packing::Nibbles)))
        nibbles = true;
      else if (packWeights || c.bytes || c.dequant)
        packed = packer.pack(c.b, c.bTransposed, c.bUnsigned, vl * vecs, how);
      if (c.dequant) {
        // With int8 activations, the block scales and offsets as f16 where
        // they fit: a sixth of the bytes per weight (0.625 instead of 0.75)
        // at a relative error (2^-11) far below 4-bit rounding's.
        if (nibbles4) {
          scales = packer.pack(c.scale, false, false, vl * vecs, Packing::Half);
          offsets = packer.pack(c.offset, false, false, vl * vecs, Packing::Half);
        }
        if (!scales || !offsets) {
          scales = packer.pack(c.scale, false, false, vl * vecs, Packing::Move);
          offsets = packer.pack(c.offset, false, false, vl * vecs, Packing::Move);
        }
        if (!scales || !offsets)
          continue;
      }
      if ((c.bTransposed || c.bytes || c.dequant) && !packed && !sparsePanels)
        continue;
      // With an epilogue, the kernel goes where the epilogue was: only views,
      // allocations (of the epilogue's output, say) and fills of other
      // buffers are in between.
      std::optional<Epilogue> epilogue = fuseEpilogues ? findEpilogue(op, c, vl) : std::nullopt;
      b.setInsertionPoint(epilogue ? epilogue->op.getOperation() : op.getOperation());
      Location loc = op.getLoc();
      Value packedB;
      if (packed)
        packedB = memref::GetGlobalOp::create(b, loc, packed->first, packed->second.getValue());
      SmallVector<Value> sizes;
      for (Range r : op.createLoopRanges(b, loc))
        sizes.push_back(getValueOrCreateConstantIndexOp(b, loc, r.size));
      Init init = initOf(op, c);
      std::string intrinsic = !dot                           ? ""
                              : usdot && vectorBits == 128 ? "llvm.aarch64.neon.usdot.v4i32.v16i8"
                              : sdot && vectorBits == 128  ? "llvm.aarch64.neon.sdot.v4i32.v16i8"
                                                           : ("llvm.x86.avx512.vpdpbusd." + Twine(vectorBits)).str();
      KernelBuilder kernel(b, loc, c, vl, vecs, packedB, intrinsic, init, epilogue);
      if (c.dequant)
        kernel.setDequantization(memref::GetGlobalOp::create(b, loc, scales->first, scales->second.getValue()),
                                 memref::GetGlobalOp::create(b, loc, offsets->first, offsets->second.getValue()),
                                 nibbles);
      if (dot && !usdot && sdot && vectorBits == 128)
        kernel.setSignedDot();
      if (nibbles4)
        kernel.setInt8Activations(int8Dot);
      // Dequantized weights in f32 against many rows (a prompt, with f32
      // activations): each panel dequantized once into a stack buffer (at
      // most kPanelBytes) that every tile of rows reads, instead of once
      // per tile.
      if (c.dequant && !nibbles4 && (ShapedType::isDynamic(m) || m >= 2 * rows) &&
          !ShapedType::isDynamic(ranges[c.ks[0]]) && ranges[c.ks[0]] * vl * vecs * 4 <= kPanelBytes)
        kernel.setDequantizePanels(/*ifMany=*/ShapedType::isDynamic(m));
      if (pairs)
        kernel.setPairs(vectorBits == 512   ? "llvm.x86.avx512.pmaddw.d.512"
                        : vectorBits == 256 ? "llvm.x86.avx2.pmadd.wd"
                                            : "llvm.x86.sse2.pmadd.wd");
      if (rowSparse)
        kernel.setRowSparse(
            memref::GetGlobalOp::create(b, loc, rowSparse->indicesType, rowSparse->indices.getValue()),
            rowSparse->rows);
      if (sparsePanels)
        kernel.setSparse(
            memref::GetGlobalOp::create(b, loc, sparsePanels->valuesType, sparsePanels->values.getValue()),
            memref::GetGlobalOp::create(b, loc, sparsePanels->indicesType, sparsePanels->indices.getValue()),
            vectorBits == 512 ? "llvm.x86.avx512.permvar.sf.512" : "llvm.x86.avx2.permps");
      kernel.build(sizes, sparsePanels ? m : nibbles4 ? std::min<int64_t>(rows, kInt8Rows) : rows);
      if (init.setter)
        init.setter->erase();
      if (epilogue) {
        Operation *expand = epilogue->expanded.getDefiningOp();
        epilogue->op->erase();
        if (expand && expand->use_empty())
          expand->erase();
      }
      op->erase();
    }
    packer.eraseUnused();
  }
};

} // namespace
