//===- FoldWeightDequantization.cpp - dequantized weights at compile time -===//
//
// QDQ exports keep weights as int8 and dequantize them in the graph
// (DequantizeLinear of constants, per tensor, per output channel or per
// block). Computed per run, the float weights are a value the matmul and
// convolution kernels cannot pack, and those fall back to scalar loops
// (resnet50.int8-qdq ran 20x slower than the float model). The QDQ
// convolutions that tern-integer-qdq (run first) turns into integer ones
// keep their int8 weights; for the rest (grouped convolutions, Gemm and
// MatMul on dequantized weights) such a DequantizeLinear becomes the f32
// constant it computes: packed like any float weights, at 4x the size.
//
//===----------------------------------------------------------------------===//

#include "passes/PatternUtils.h"
#include "passes/Passes.h"

#include "dialects/Tern/TernOps.h"


namespace tern {
#define GEN_PASS_DEF_TERNFOLDWEIGHTDEQUANTIZATIONPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;
using namespace tern;
using namespace tern::patterns;

namespace {

struct FoldWeightDequantizationPass
    : tern::impl::TernFoldWeightDequantizationPassBase<FoldWeightDequantizationPass> {
  void runOnOperation() override {
    SmallVector<DequantizeLinearOp> ops;
    getOperation().walk([&](DequantizeLinearOp op) { ops.push_back(op); });
    OpBuilder b(&getContext());
    for (DequantizeLinearOp op : ops) {
      auto type = cast<RankedTensorType>(op.getType());
      auto scaleType = cast<RankedTensorType>(op.getScale().getType());
      if (!type.getElementType().isF32() || !type.hasStaticShape())
        continue;
      std::optional<std::vector<double>> x = constantValues(op.getInput()), scale = constantValues(op.getScale());
      std::optional<std::vector<double>> zero =
          op.getZeroPoint() ? constantValues(op.getZeroPoint()) : std::vector<double>(scale ? scale->size() : 0, 0.0);
      if (!x || !scale || !zero || zero->size() != scale->size())
        continue;
      // Which scale each element takes: per tensor, per axis, or per block
      // along the axis (the scale of the input's rank, that dim divided).
      int64_t rank = type.getRank(), axis = op.getAxis() < 0 ? op.getAxis() + rank : op.getAxis();
      int64_t block = op.getBlockSize();
      ArrayRef<int64_t> shape = type.getShape();
      std::vector<float> out(x->size());
      SmallVector<int64_t> index(rank, 0);
      SmallVector<int64_t> scaleStrides(scaleType.getRank(), 1);
      for (int64_t d = scaleType.getRank() - 2; d >= 0; --d)
        scaleStrides[d] = scaleStrides[d + 1] * scaleType.getDimSize(d + 1);
      bool perTensor = scale->size() == 1;
      bool blockwise = !perTensor && scaleType.getRank() == rank && rank > 1;
      if (!perTensor && !blockwise && (scaleType.getRank() != 1 || axis < 0 || axis >= rank ||
                                       scaleType.getDimSize(0) != shape[axis]))
        continue;
      for (size_t n = 0; n < x->size(); ++n) {
        int64_t s = 0;
        if (blockwise) {
          for (int64_t d = 0; d < rank; ++d)
            s += (d == axis && block > 0 ? index[d] / block : index[d]) * scaleStrides[d];
        } else if (!perTensor) {
          s = index[axis];
        }
        out[n] = (float)(((*x)[n] - (*zero)[s]) * (*scale)[s]);
        for (int64_t d = rank - 1; d >= 0; --d) {
          if (++index[d] < shape[d])
            break;
          index[d] = 0;
        }
      }
      b.setInsertionPoint(op);
      ArrayRef<char> bytes(reinterpret_cast<const char *>(out.data()), out.size() * sizeof(float));
      auto folded = ConstantOp::create(b, op.getLoc(), constantAttr(type, bytes, "dequantized", 16));
      op.replaceAllUsesWith(folded.getResult());
      op.erase();
    }
  }
};

} // namespace
