//===- KernelReductions.cpp - k loops over specially packed weights -------===//
//
// The reductions of tern-vectorize-contractions' kernel for B packed other
// than as plain vectors: block-dequantized weights (MatMulNBits: q, scale
// and offset per block, dequantized in registers or once per panel into a
// stack buffer), int8 activations against 4-bit weights on the dot-product
// units (A quantized per row and block first), bytes on dot products
// (vpdpbusd, usdot, sdot) and i16 pairs (pmaddwd), and 2:4-sparse weights
// (values plus positions, expanded by a lane permute).
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
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;
using tern::Packing;
using tern::readablePerVector;
using tern::readsAlongK;
using tern::usesDim;

namespace tern {

/// Block `blk`'s scales or offsets (`packed`: packedScale or
/// packedOffset) for the panel's v-th vector, as f32.
Value KernelBuilder::blockParam(Value packed, Value blk, int64_t v) {
  Type t = getElementTypeOrSelf(packed.getType());
  Value x = vector::LoadOp::create(b, loc, VectorType::get({vl}, t), packed, ValueRange{panelIndex, blk, index(v * vl)});
  return t.isF32() ? x : Value(arith::ExtFOp::create(b, loc, vecType, x));
}

/// The current panel's weights q * s + z (q from the nibble or byte
/// panels, s and z per block) into `panelB` [k][vectors x VL] f32, a
/// stack buffer of the task: once per panel instead of once per tile of
/// rows.
void KernelBuilder::dequantizePanel() {
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

/// A parallel loop over A's `rows` flattened rows (a prompt's: the threads
/// share them): `body` gets the row and its loop position (m dims set, the
/// others 0).
void KernelBuilder::forEachRow(Value rows, function_ref<void(Value, SmallVector<Value>)> body) {
  SmallVector<Value> origin(sizes.size(), index(0));
  scf::ParallelOp::create(b, loc, ValueRange{index(0)}, ValueRange{rows}, ValueRange{index(1)},
                          [&](OpBuilder &rb, Location, ValueRange ivs) {
                            OpBuilder::InsertionGuard guard(b);
                            b.setInsertionPoint(rb.getInsertionBlock(), rb.getInsertionPoint());
                            body(ivs[0], atRow(origin, ivs[0]));
                          });
}

/// A (`rows` flattened rows, one reduction dim of static size, a whole
/// number of blocks) quantized for int8Reduce, block by block of c.block
/// k: d = max |a| / 127, q = round(a / d) as i8 [rows, k], and per row
/// and block d and the block's sum of a ([rows, blocks] f32). Runs once,
/// before the kernel's parallel loop, itself parallel over the rows.
void KernelBuilder::quantizeA(Value rows, std::optional<int64_t> staticRows) {
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
  forEachRow(rows, [&](Value row, SmallVector<Value> rowPos) {
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

Operation *KernelBuilder::windowGather() const {
  // A = collapse_shape(P) [positions..., taps..., c] -> [positions, k], P
  // written by a copy from a window (the generic's only op its yield of
  // the input) and read by nothing else; this contraction A's only reader.
  // (Besides the contraction, A may be read for its size: memref.dim, a
  // dynamic number of rows.)
  auto collapse = c.a.getDefiningOp<memref::CollapseShapeOp>();
  auto dataUsers = llvm::make_filter_range(c.a.getUsers(), [](Operation *u) { return !isa<memref::DimOp>(u); });
  if (!collapse || std::distance(dataUsers.begin(), dataUsers.end()) != 1 ||
      collapse.getReassociationIndices().size() != 2)
    return nullptr;
  Value patches = collapse.getSrc();
  linalg::GenericOp gather;
  for (Operation *user : patches.getUsers()) {
    if (user == collapse)
      continue;
    auto g = dyn_cast<linalg::GenericOp>(user);
    if (!g || gather || g.getNumDpsInputs() != 1 || g.getNumDpsInits() != 1 ||
        g.getDpsInitOperand(0)->get() != patches)
      return nullptr;
    gather = g;
  }
  if (!gather || !gather.getIndexingMapsArray()[1].isIdentity() ||
      gather.getNumLoops() != gather.getNumParallelLoops() ||
      gather.getBlock()->getTerminator()->getOperand(0) != gather.getBlock()->getArgument(0) ||
      gather.getBlock()->getOperations().size() != 1 || gather->getBlock() != collapse->getBlock() ||
      !gather->isBeforeInBlock(collapse))
    return nullptr;
  auto t = cast<MemRefType>(patches.getType());
  // Static but for the outermost dim (images counted at run time), which
  // a row's position never divides by.
  if (llvm::any_of(t.getShape().drop_front(), ShapedType::isDynamic) || !t.getLayout().isIdentity() ||
      t.getShape().back() % vl != 0)
    return nullptr;
  // The source read along its last dim by the gather's last loop alone
  // (a tap's channels, loaded as vectors), with unit stride.
  Value source = gather.getDpsInputOperand(0)->get();
  AffineMap map = gather.getIndexingMapsArray()[0];
  unsigned inner = map.getNumDims() - 1;
  if (map.getNumResults() == 0 || map.getResults().back() != getAffineDimExpr(inner, map.getContext()) ||
      llvm::any_of(map.getResults().drop_back(), [&](AffineExpr e) { return e.isFunctionOfDim(inner); }) ||
      !tern::hasUnitInnerStride(source))
    return nullptr;
  // The source is read later than the gather read it (where the kernel
  // widens A): nothing in between may write it.
  auto base = [](Value v) {
    while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
      v = view.getViewSource();
    return v;
  };
  Value root = base(source);
  Operation *contraction = *dataUsers.begin();
  if (contraction->getBlock() != gather->getBlock())
    return nullptr;
  for (Operation *op = gather->getNextNode(); op && op != contraction; op = op->getNextNode()) {
    if (isMemoryEffectFree(op))
      continue;
    auto effects = dyn_cast<MemoryEffectOpInterface>(op);
    if (!effects)
      return nullptr;
    SmallVector<MemoryEffects::EffectInstance> written;
    effects.getEffects<MemoryEffects::Write>(written);
    for (const MemoryEffects::EffectInstance &w : written)
      if (!w.getValue() || base(w.getValue()) == root)
        return nullptr;
  }
  return gather;
}

void KernelBuilder::eraseFusedGather() {
  if (!fusedGather)
    return;
  Value patches = fusedGather->getOperand(1);
  auto patchesType = cast<MemRefType>(patches.getType());
  SmallVector<memref::CollapseShapeOp> collapses;
  for (Operation *user : patches.getUsers())
    if (auto collapse = dyn_cast<memref::CollapseShapeOp>(user))
      collapses.push_back(collapse);
  for (memref::CollapseShapeOp collapse : collapses) {
    SmallVector<ReassociationIndices> groups = collapse.getReassociationIndices();
    // What still asks A for its size (a dynamic number of rows) asks the
    // patches' buffer instead: the product of the group's dims.
    for (Operation *reader : llvm::make_early_inc_range(collapse.getResult().getUsers())) {
      auto dim = dyn_cast<memref::DimOp>(reader);
      std::optional<int64_t> which = dim ? dim.getConstantIndex() : std::nullopt;
      if (!which)
        continue;
      OpBuilder at(dim);
      Value size;
      for (int64_t d : groups[*which]) {
        Value part = patchesType.isDynamicDim(d)
                         ? Value(memref::DimOp::create(at, dim.getLoc(), patches, d))
                         : Value(arith::ConstantIndexOp::create(at, dim.getLoc(), patchesType.getDimSize(d)));
        size = size ? Value(arith::MulIOp::create(at, dim.getLoc(), size, part)) : part;
      }
      dim.replaceAllUsesWith(size);
      dim.erase();
    }
    if (collapse->use_empty())
      collapse->erase();
  }
  if (llvm::all_of(patches.getUsers(), [&](Operation *u) { return u == fusedGather || isa<memref::DimOp>(u); }))
    fusedGather->erase();
  fusedGather = nullptr;
}

void KernelBuilder::widenA(Value rows, std::optional<int64_t> staticRows) {
  unsigned kd = c.ks[0];
  int64_t k = *getConstantIntValue(sizes[kd]), padded = (k + 1) / 2 * 2;
  Type i16 = b.getI16Type();
  widened = memref::AllocOp::create(b, loc, MemRefType::get({staticRows ? *staticRows : ShapedType::kDynamic, padded}, i16),
                                    staticRows ? ValueRange{} : ValueRange{rows}, b.getI64IntegerAttr(64));
  auto bytes = VectorType::get({vl}, b.getI8Type()), words = VectorType::get({vl}, i16);
  auto widen = [&](Value x) {
    return c.aUnsigned ? Value(arith::ExtUIOp::create(b, loc, x.getType() == b.getI8Type() ? i16 : Type(words), x))
                       : Value(arith::ExtSIOp::create(b, loc, x.getType() == b.getI8Type() ? i16 : Type(words), x));
  };
  auto gather = cast_or_null<linalg::GenericOp>(windowGather());
  if (gather) {
    // Row r, k = (taps..., ch): the gather's source at its map of
    // (positions of r..., taps..., ch), a tap's channels whole vectors.
    auto collapse = c.a.getDefiningOp<memref::CollapseShapeOp>();
    ArrayRef<int64_t> shape = cast<MemRefType>(collapse.getSrc().getType()).getShape();
    SmallVector<int64_t> rowDims, kDims;
    SmallVector<ReassociationIndices> groups = collapse.getReassociationIndices();
    for (int64_t d : groups[0])
      rowDims.push_back(shape[d]);
    for (int64_t d : groups[1])
      kDims.push_back(shape[d]);
    int64_t channels = kDims.back(), taps = k / channels;
    Value source = gather.getDpsInputOperand(0)->get();
    AffineMap map = gather.getIndexingMapsArray()[0];
    auto delinearize = [&](Value flat, ArrayRef<int64_t> dims, SmallVector<Value> &out) {
      SmallVector<Value> parts(dims.size());
      for (int64_t i = dims.size() - 1; i >= 0; --i) {
        parts[i] = i ? Value(arith::RemUIOp::create(b, loc, flat, index(dims[i]))) : flat;
        if (i)
          flat = arith::DivUIOp::create(b, loc, flat, index(dims[i]));
      }
      out.append(parts.begin(), parts.end());
    };
    scf::ParallelOp::create(
        b, loc, ValueRange{index(0)}, ValueRange{rows}, ValueRange{index(1)},
        [&](OpBuilder &rb, Location, ValueRange ivs) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(rb.getInsertionBlock(), rb.getInsertionPoint());
          Value row = ivs[0];
          SmallVector<Value> at;
          delinearize(row, rowDims, at);
          scf::ForOp::create(
              b, loc, index(0), index(taps), index(1), ValueRange{},
              [&](OpBuilder &tb, Location, Value tap, ValueRange) {
                OpBuilder::InsertionGuard g(b);
                b.setInsertionPoint(tb.getInsertionBlock(), tb.getInsertionPoint());
                SmallVector<Value> pos = at;
                delinearize(tap, ArrayRef<int64_t>(kDims).drop_back(), pos);
                Value base = arith::MulIOp::create(b, loc, tap, index(channels));
                scf::ForOp::create(
                    b, loc, index(0), index(channels), index(vl), ValueRange{},
                    [&](OpBuilder &cb, Location, Value ch, ValueRange) {
                      OpBuilder::InsertionGuard g2(b);
                      b.setInsertionPoint(cb.getInsertionBlock(), cb.getInsertionPoint());
                      SmallVector<Value> full = pos;
                      full.push_back(ch);
                      SmallVector<Value> idx;
                      for (AffineExpr e : map.getResults())
                        idx.push_back(evaluate(e, full));
                      Value x = vector::LoadOp::create(b, loc, bytes, source, idx);
                      vector::StoreOp::create(b, loc, widen(x), widened,
                                              ValueRange{row, arith::AddIOp::create(b, loc, base, ch)});
                      scf::YieldOp::create(b, loc);
                    });
                scf::YieldOp::create(b, loc);
              });
          if (padded > k)
            memref::StoreOp::create(b, loc, arith::ConstantOp::create(b, loc, i16, b.getI16IntegerAttr(0)), widened,
                                    ValueRange{row, index(k)});
        });
    fusedGather = gather;
    return;
  }
  forEachRow(rows, [&](Value row, SmallVector<Value> rowPos) {
    auto at = [&](Value kk) {
      SmallVector<Value> pos = rowPos;
      pos[kd] = kk;
      return indices(c.aMap, pos);
    };
    // Whole vectors, then the last k % VL one at a time, then the pad.
    if (k >= vl)
      scf::ForOp::create(b, loc, index(0), index(k / vl * vl), index(vl), ValueRange{},
                         [&](OpBuilder &lb, Location, Value kk, ValueRange) {
                           OpBuilder::InsertionGuard g(b);
                           b.setInsertionPoint(lb.getInsertionBlock(), lb.getInsertionPoint());
                           Value x = vector::LoadOp::create(b, loc, bytes, c.a, at(kk));
                           vector::StoreOp::create(b, loc, widen(x), widened, ValueRange{row, kk});
                           scf::YieldOp::create(b, loc);
                         });
    for (int64_t kk = k / vl * vl; kk < k; ++kk) {
      Value x = memref::LoadOp::create(b, loc, c.a, at(index(kk)));
      memref::StoreOp::create(b, loc, widen(x), widened, ValueRange{row, index(kk)});
    }
    if (padded > k)
      memref::StoreOp::create(b, loc, arith::ConstantOp::create(b, loc, i16, b.getI16IntegerAttr(0)), widened,
                              ValueRange{row, index(k)});
  });
}

void KernelBuilder::packA(Value m, std::optional<int64_t> staticM, int64_t inner, int64_t k, int64_t rows) {
  int64_t width = kPackedRowsWidth;
  auto vf = VectorType::get({width}, b.getF32Type());
  packedRows = rows;
  bool planes = c.ms.size() == 2;
  Value tiles = staticM ? index((*staticM + rows - 1) / rows)
                        : Value(arith::CeilDivUIOp::create(b, loc, m, index(rows)));
  auto type = MemRefType::get({staticM ? (*staticM + rows - 1) / rows : ShapedType::kDynamic, k, width},
                              b.getF32Type());
  packedA = memref::AllocOp::create(b, loc, type, staticM ? ValueRange{} : ValueRange{tiles}, b.getI64IntegerAttr(64));
  scf::ParallelOp::create(
      b, loc, ValueRange{index(0)}, ValueRange{tiles}, ValueRange{index(1)},
      [&](OpBuilder &pb, Location, ValueRange ivs) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(pb.getInsertionBlock(), pb.getInsertionPoint());
        // The tile's rows and the next ones up to the width (lanes past the
        // tile are never read), none past the last row.
        Value r0 = arith::MulIOp::create(b, loc, ivs[0], index(rows));
        Value lanes = arith::MinSIOp::create(b, loc, arith::SubIOp::create(b, loc, m, r0), index(width));
        Value pass = arith::ConstantOp::create(b, loc, vf, DenseElementsAttr::get(vf, b.getF32FloatAttr(0).getValue()));
        // Rows over images: the tile's image and first position; whether
        // its rows stay in that image (then its load stops at the image's
        // end).
        Value image, m0 = r0, within, loaded = lanes;
        if (planes) {
          image = arith::DivUIOp::create(b, loc, r0, index(inner));
          m0 = arith::RemUIOp::create(b, loc, r0, index(inner));
          Value tileRows = arith::MinSIOp::create(b, loc, lanes, index(rows));
          within = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle,
                                         arith::AddIOp::create(b, loc, m0, tileRows), index(inner));
          Value inImage = arith::SubIOp::create(b, loc, index(inner), m0);
          loaded = arith::MinSIOp::create(b, loc, lanes, inImage);
        }
        Value mask = vector::CreateMaskOp::create(b, loc, VectorType::get({width}, b.getI1Type()), loaded);
        // Packs each k's lanes as `lanesAt` gives them.
        auto forK = [&](function_ref<Value(Value)> lanesAt) {
          scf::ForOp::create(b, loc, index(0), index(k), index(1), ValueRange{},
                             [&](OpBuilder &lb, Location, Value kk, ValueRange) {
                               OpBuilder::InsertionGuard g(b);
                               b.setInsertionPoint(lb.getInsertionBlock(), lb.getInsertionPoint());
                               vector::StoreOp::create(b, loc, lanesAt(kk), packedA, ValueRange{ivs[0], kk, index(0)});
                               scf::YieldOp::create(b, loc);
                             });
        };
        auto contiguous = [&](Value kk) -> Value {
          SmallVector<Value> at{kk, m0};
          if (planes)
            at.insert(at.begin(), image);
          return vector::MaskedLoadOp::create(b, loc, vf, c.a, at, mask, pass);
        };
        if (!planes) {
          forK(contiguous);
          return;
        }
        // A tile across two images: each lane from its own (lanes past the
        // last row repeat it), its image and position found once.
        scf::IfOp::create(
            b, loc, within,
            [&](OpBuilder &tb, Location) {
              OpBuilder::InsertionGuard ig(b);
              b.setInsertionPoint(tb.getInsertionBlock(), tb.getInsertionPoint());
              forK(contiguous);
              scf::YieldOp::create(b, loc);
            },
            [&](OpBuilder &eb, Location) {
              OpBuilder::InsertionGuard ig(b);
              b.setInsertionPoint(eb.getInsertionBlock(), eb.getInsertionPoint());
              Value last = arith::SubIOp::create(b, loc, m, index(1));
              SmallVector<std::pair<Value, Value>> at;
              for (int64_t l = 0; l < width; ++l) {
                Value r = arith::MinUIOp::create(b, loc, arith::AddIOp::create(b, loc, r0, index(l)), last);
                at.push_back({arith::DivUIOp::create(b, loc, r, index(inner)),
                              arith::RemUIOp::create(b, loc, r, index(inner))});
              }
              forK([&](Value kk) {
                Value v = pass;
                for (auto [l, pos] : llvm::enumerate(at))
                  v = vector::InsertOp::create(b, loc, memref::LoadOp::create(b, loc, c.a, ValueRange{pos.first, kk, pos.second}),
                                               v, static_cast<int64_t>(l));
                return v;
              });
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
SmallVector<Value> KernelBuilder::int8Reduce(Value row0, int64_t rowCount, SmallVector<Value> accs) {
  int64_t k = *getConstantIntValue(sizes[c.ks[0]]), bs = c.block, half = vectors / 2;
  auto i32v = VectorType::get({vl}, b.getI32Type());
  auto bytes = VectorType::get({vl * 4}, b.getI8Type());
  Value zero = arith::ConstantOp::create(b, loc, i32v, b.getZeroAttr(i32v));
  Value low = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(bytes, b.getI8IntegerAttr(15).getValue()));
  Value four = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(bytes, b.getI8IntegerAttr(4).getValue()));
  // pmaddubsw's i16 pairs, summed by pmaddwd against ones (x86 without VNNI).
  auto words = VectorType::get({vl * 2}, b.getI16Type());
  Value ones = int8DotWiden.empty()
                   ? Value()
                   : Value(arith::ConstantOp::create(b, loc, DenseElementsAttr::get(words, b.getI16IntegerAttr(1).getValue())));
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
        for (int64_t v = 0; v < vectors; ++v) {
          if (int8DotWiden.empty()) {
            next[r * vectors + v] = LLVM::CallIntrinsicOp::create(b, loc, i32v, b.getStringAttr(int8Dot),
                                                                  ValueRange{it[r * vectors + v], halves[v], av})
                                        .getResult(0);
            continue;
          }
          Value pairs = LLVM::CallIntrinsicOp::create(b, loc, words, b.getStringAttr(int8Dot), ValueRange{halves[v], av})
                            .getResult(0);
          Value quads = LLVM::CallIntrinsicOp::create(b, loc, i32v, b.getStringAttr(int8DotWiden), ValueRange{pairs, ones})
                            .getResult(0);
          next[r * vectors + v] = arith::AddIOp::create(b, loc, it[r * vectors + v], quads);
        }
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
SmallVector<Value> KernelBuilder::blockReduce(ArrayRef<SmallVector<Value>> rowAt, SmallVector<Value> accs) {
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
SmallVector<Value> KernelBuilder::sparseReduce(ArrayRef<SmallVector<Value>> rowAt, SmallVector<Value> accs) {
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
SmallVector<Value> KernelBuilder::dotReduce(ArrayRef<SmallVector<Value>> rowAt, SmallVector<Value> accs) {
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
/// units, or 16-bit A and B; A running along its one reduction dim with
/// unit stride; B packed as i16 pairs along k, Packing::Pairs2): per 2 k,
/// each row's 2 bytes of A are widened to i16 (16-bit A: read as they are)
/// and broadcast as one i32, and pmaddwd multiplies them with the panel's
/// 2 x VL values of B per vector, summing each lane's 2 products into i32
/// (exact: bytes times bytes fit i16 pairs summed in i32; 16-bit products
/// fit too, their sums as the caller bounds them), added to the
/// accumulators (vpdpwssd: in the same instruction). A last odd k is read
/// masked.
SmallVector<Value> KernelBuilder::pairReduce(Value row0, ArrayRef<SmallVector<Value>> rowAt, SmallVector<Value> accs) {
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
      Value two;
      if (widened) // zero-padded to an even k: no tail
        two = vector::LoadOp::create(b, loc, pair16, widened,
                                     ValueRange{r ? Value(arith::AddIOp::create(b, loc, row0, index(r))) : row0, kk});
      else
        two = readGroup(c.aBits == 16 ? b.getI16Type() : b.getI8Type(), 2, indices(c.aMap, pos), tail);
      if (c.aBits != 16 && !widened)
        two = c.aUnsigned ? Value(arith::ExtUIOp::create(b, loc, pair16, two))
                          : Value(arith::ExtSIOp::create(b, loc, pair16, two));
      Value word = vector::ExtractOp::create(
          b, loc, vector::BitCastOp::create(b, loc, VectorType::get({1}, b.getI32Type()), two), ArrayRef<int64_t>{0});
      Value av = vector::BitCastOp::create(b, loc, halves, vector::BroadcastOp::create(b, loc, vecType, word));
      for (int64_t v = 0; v < vectors; ++v) {
        Value acc = iter[r * vectors + v];
        if (maddAccumulates) {
          next.push_back(LLVM::CallIntrinsicOp::create(b, loc, vecType, b.getStringAttr(maddIntrinsic),
                                                       ValueRange{acc, av, bv[v]})
                             .getResult(0));
          continue;
        }
        Value products = LLVM::CallIntrinsicOp::create(b, loc, vecType, b.getStringAttr(maddIntrinsic),
                                                       ValueRange{av, bv[v]})
                             .getResult(0);
        next.push_back(arith::AddIOp::create(b, loc, acc, products));
      }
    }
    return next;
  };
  return byGroups(k, 2, accs, step);
}

} // namespace tern
