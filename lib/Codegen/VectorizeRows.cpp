//===- VectorizeRows.cpp - elementwise ops on short rows as masked vectors ===//
//
// An elementwise linalg.generic on buffers whose innermost dim is short or
// not a multiple of the vector length (a depthwise convolution's 14- and
// 7-wide rows, a 28-wide row) is left scalar, or vectorized with a scalar
// remainder, by LLVM's loop vectorizer: it will not vectorize a 14-trip
// loop at 16 lanes, and the weights a depthwise row reads are not hoisted
// as it cannot prove they do not alias the output. Such an op becomes an
// scf.parallel over its outer dims whose body runs along the row in whole
// vectors, the last one masked, with the inputs that do not depend on the
// row's position loaded once per row and broadcast. An input read with a
// stride of 2 to 4 along the row (a stride-2 depthwise convolution's taps,
// views of its padded input) is loaded as one contiguous vector that many
// times as wide and its lanes picked out (a permute).
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "VectorBody.h"
#include "lib/Codegen/EntryBuffers.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"

namespace tern {
#define GEN_PASS_DEF_TERNVECTORIZEROWSPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;

namespace {

using tern::Along;
using tern::along;

/// The row length of `op` when it is an elementwise op this pass rewrites.
std::optional<int64_t> rowLength(linalg::GenericOp op, int64_t vectorBits, int64_t &lanes) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 || op.getNumReductionLoops() != 0 ||
      op.getNumLoops() == 0 || op.hasIndexSemantics() || !tern::vectorizableBody(op))
    return std::nullopt;
  OpOperand *out = op.getDpsInitOperand(0);
  auto outType = dyn_cast<MemRefType>(out->get().getType());
  if (!outType || !op.getMatchingIndexingMap(out).isIdentity() || !tern::hasUnitInnerStride(out->get()) ||
      outType.isDynamicDim(outType.getRank() - 1))
    return std::nullopt;
  unsigned inner = op.getNumLoops() - 1;
  std::optional<int64_t> bits = tern::rowOperandBits(op, inner, 32, /*strided=*/true, /*windows=*/true);
  if (!bits)
    return std::nullopt;
  lanes = vectorBits / *bits;
  int64_t length = outType.getShape().back();
  // Rows of whole vectors are left to LLVM, which vectorizes them itself,
  // unless some input is one value per row (a depthwise convolution's
  // weights), which LLVM reloads for every element as it cannot prove the
  // output does not overwrite it. Long rows lose little to a remainder.
  bool perRowInput = llvm::any_of(op.getDpsInputOperands(), [&](OpOperand *in) {
    return along(op.getMatchingIndexingMap(in), inner) == Along::No;
  });
  // Nor does it do well with inputs read with a stride (a max pool's taps:
  // scalar code, on AVX2 masked stores).
  bool stridedInput = llvm::any_of(op.getDpsInputOperands(), [&](OpOperand *in) {
    return along(op.getMatchingIndexingMap(in), inner) == Along::Last && !tern::hasUnitInnerStride(in->get());
  });
  // Nor with a window's gather (an int8 convolution's patches, each tap a
  // row of channels): with the row's length a constant (the thread pool
  // splitting an outer dim) it unrolled the row into byte moves.
  bool gather = llvm::any_of(op.getDpsInputOperands(), [&](OpOperand *in) {
    return llvm::any_of(op.getMatchingIndexingMap(in).getResults(),
                        [](AffineExpr e) { return !isa<AffineDimExpr, AffineConstantExpr>(e); });
  });
  if (lanes < 2 || length < 4 || (length % lanes == 0 && !perRowInput && !stridedInput && !gather) ||
      length > (gather ? 32 : 8) * lanes)
    return std::nullopt;
  return length;
}

void rewrite(linalg::GenericOp op, int64_t length, int64_t lanes) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value out = op.getDpsInitOperand(0)->get();
  auto outType = cast<MemRefType>(out.getType());
  unsigned inner = op.getNumLoops() - 1;
  auto index = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(b, loc, v); };
  SmallVector<Value> lbs, ubs, steps;
  for (unsigned d = 0; d < inner; ++d) {
    lbs.push_back(index(0));
    ubs.push_back(outType.isDynamicDim(d) ? Value(memref::DimOp::create(b, loc, out, d)) : index(outType.getDimSize(d)));
    steps.push_back(index(1));
  }
  auto row = [&](OpBuilder &nb, ValueRange ivs) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
    auto indices = [&](AffineMap map, Value j) {
      SmallVector<Value> at(ivs.begin(), ivs.end());
      at.push_back(j); // the innermost loop
      return tern::mapIndices(b, loc, map, at);
    };
    // Inputs that do not run along the row: one value per row.
    IRMapping perRow;
    for (OpOperand *in : op.getDpsInputOperands()) {
      AffineMap map = op.getMatchingIndexingMap(in);
      if (along(map, inner) == Along::Last)
        continue;
      Value v = memref::LoadOp::create(b, loc, in->get(), indices(map, Value()));
      perRow.map(op.getMatchingBlockArgument(in), vector::BroadcastOp::create(b, loc, VectorType::get({lanes}, v.getType()), v));
    }
    for (int64_t j = 0; j < length; j += lanes) {
      Value at = index(j);
      Value mask;
      if (j + lanes > length)
        mask = vector::ConstantMaskOp::create(b, loc, VectorType::get({lanes}, b.getI1Type()),
                                              ArrayRef<int64_t>{length - j});
      IRMapping map = perRow;
      for (OpOperand *in : op.getDpsInputOperands()) {
        AffineMap m = op.getMatchingIndexingMap(in);
        if (along(m, inner) != Along::Last)
          continue;
        auto vt = VectorType::get({lanes}, getElementTypeOrSelf(in->get().getType()));
        SmallVector<Value> idx = indices(m, at);
        std::optional<tern::StridedView> view;
        if (!tern::hasUnitInnerStride(in->get()))
          view = tern::stridedView(in->get());
        Value v = view ? tern::loadStridedVector(b, loc, vt, *view, idx, std::min(lanes, length - j))
                       : tern::loadVector(b, loc, vt, in->get(), idx, mask);
        map.map(op.getMatchingBlockArgument(in), v);
      }
      Value result = tern::vectorizeBody(b, loc, op, map, lanes);
      SmallVector<Value> idx(ivs.begin(), ivs.end());
      idx.push_back(at);
      if (mask)
        vector::MaskedStoreOp::create(b, loc, out, idx, mask, result);
      else
        vector::StoreOp::create(b, loc, result, out, idx);
    }
  };
  if (inner == 0) {
    row(b, {});
  } else {
    scf::ParallelOp::create(b, loc, lbs, ubs, steps, [&](OpBuilder &nb, Location, ValueRange ivs) { row(nb, ivs); });
  }
  op.erase();
}

struct VectorizeRowsPass : tern::impl::TernVectorizeRowsPassBase<VectorizeRowsPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<std::tuple<linalg::GenericOp, int64_t, int64_t>> todo;
    getOperation()->walk([&](linalg::GenericOp op) {
      int64_t lanes = 0;
      if (std::optional<int64_t> length = rowLength(op, vectorBits, lanes))
        todo.emplace_back(op, *length, lanes);
    });
    for (auto [op, length, lanes] : todo)
      rewrite(op, length, lanes);
  }
};

} // namespace
