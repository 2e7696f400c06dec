//===- FoldWeightDequantization.cpp - dequantized weights at compile time -===//
//
// QDQ exports keep weights as int8 and dequantize them in the graph
// (DequantizeLinear of constants, per tensor, per output channel or per
// block). Computed per run, the float weights are a value the matmul and
// convolution kernels cannot pack, and those fall back to scalar loops
// (resnet50.int8-qdq ran 20x slower than the float model). Until the
// integer kernels of the quantization work read int8 weights directly,
// such a DequantizeLinear becomes the f32 constant it computes: the
// weights are packed like any float weights, at 4x the size of the int8.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialects/Tern/TernOps.h"

#include "mlir/IR/DialectResourceBlobManager.h"

namespace tern {
#define GEN_PASS_DEF_TERNFOLDWEIGHTDEQUANTIZATIONPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;
using namespace tern;

namespace {

/// The values of an integer or float constant as doubles, or nothing.
std::optional<std::vector<double>> values(Value v) {
  auto c = v ? v.getDefiningOp<ConstantOp>() : ConstantOp();
  if (!c)
    return std::nullopt;
  auto type = cast<RankedTensorType>(c.getType());
  if (!type.hasStaticShape())
    return std::nullopt;
  Type elem = type.getElementType();
  int64_t n = type.getNumElements();
  std::vector<double> out;
  out.reserve(n);
  Attribute value = c.getValue();
  if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    if (auto it = dyn_cast<IntegerType>(elem)) {
      for (const APInt &x : dense.getValues<APInt>())
        out.push_back(it.isUnsigned() ? (double)x.getZExtValue() : (double)x.getSExtValue());
    } else if (isa<FloatType>(elem)) {
      for (const APFloat &x : dense.getValues<APFloat>())
        out.push_back(x.convertToDouble());
    } else {
      return std::nullopt;
    }
    return out;
  }
  auto res = dyn_cast<DenseResourceElementsAttr>(value);
  AsmResourceBlob *blob = res ? res.getRawHandle().getBlob() : nullptr;
  if (!blob)
    return std::nullopt;
  ArrayRef<char> data = blob->getData();
  if (elem.isF32()) { // a large scale
    if ((int64_t)data.size() != n * 4)
      return std::nullopt;
    std::vector<float> f(n);
    std::memcpy(f.data(), data.data(), data.size());
    return std::vector<double>(f.begin(), f.end());
  }
  auto it = dyn_cast<IntegerType>(elem);
  if (!it || !llvm::is_contained({8u, 16u, 32u}, it.getWidth()))
    return std::nullopt;
  int64_t bytes = it.getWidth() / 8;
  if ((int64_t)data.size() != n * bytes)
    return std::nullopt;
  for (int64_t i = 0; i < n; ++i) {
    const char *p = data.data() + i * bytes;
    if (bytes == 1)
      out.push_back(it.isUnsigned() ? (double)(uint8_t)*p : (double)(int8_t)*p);
    else if (bytes == 2) {
      uint16_t u;
      std::memcpy(&u, p, 2);
      out.push_back(it.isUnsigned() ? (double)u : (double)(int16_t)u);
    } else {
      uint32_t u;
      std::memcpy(&u, p, 4);
      out.push_back(it.isUnsigned() ? (double)u : (double)(int32_t)u);
    }
  }
  return out;
}

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
      std::optional<std::vector<double>> x = values(op.getInput()), scale = values(op.getScale());
      std::optional<std::vector<double>> zero =
          op.getZeroPoint() ? values(op.getZeroPoint()) : std::vector<double>(scale ? scale->size() : 0, 0.0);
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
      Attribute value;
      if (out.size() <= 16)
        value = DenseElementsAttr::getFromRawBuffer(type, bytes);
      else
        value = DenseResourceElementsAttr::get(
            type, "dequantized", HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, alignof(std::max_align_t)));
      auto folded = ConstantOp::create(b, op.getLoc(), cast<ElementsAttr>(value));
      op.replaceAllUsesWith(folded.getResult());
      op.erase();
    }
  }
};

} // namespace
