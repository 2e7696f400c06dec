//===- QuantOps.cpp - quantized and low-bit ops --------------------------===//

#include "dialects/Tern/TernOps.h"

using namespace mlir;
using namespace tern;

#define GET_OP_CLASSES
#include "dialects/Tern/TernQuantOps.cpp.inc"

void TernDialect::registerQuantOps() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Tern/TernQuantOps.cpp.inc"
      >();
}

static constexpr int64_t kDyn = ShapedType::kDynamic;

static RankedTensorType tensorType(Value v) { return cast<RankedTensorType>(v.getType()); }

/// Checks that a scale (or zero point) has a per-tensor, per-axis or
/// block-wise shape for data `x`.
static LogicalResult checkQuantParam(std::optional<Location> loc, RankedTensorType x, Value param,
                                     int64_t axis, int64_t blockSize, StringRef what) {
  auto p = tensorType(param);
  int64_t elems = 1;
  for (int64_t d : p.getShape())
    elems = (d == kDyn || elems == kDyn) ? kDyn : elems * d;
  if (blockSize > 0) {
    if (p.getRank() != x.getRank())
      return inferError(loc, "block-wise ") << what << " must have the data's rank " << x.getRank();
    if (axis < 0 || axis >= x.getRank())
      return inferError(loc, "axis ") << axis << " is out of range for rank " << x.getRank();
    for (int64_t d = 0; d < x.getRank(); ++d) {
      int64_t xd = x.getDimSize(d), pd = p.getDimSize(d);
      if (xd == kDyn || pd == kDyn)
        continue;
      int64_t expected = d == axis ? llvm::divideCeil(xd, blockSize) : xd;
      if (pd != expected)
        return inferError(loc, "block-wise ") << what << " dim " << d << " is " << pd
                                              << ", expected " << expected;
    }
    return success();
  }
  if (elems == 1 && p.getRank() <= 1)
    return success(); // per tensor
  if (p.getRank() != 1)
    return inferError(loc, what) << " must be a scalar or 1-D, got " << p;
  if (axis < 0 || axis >= x.getRank())
    return inferError(loc, "axis ") << axis << " is out of range for rank " << x.getRank();
  if (!p.isDynamicDim(0) && !x.isDynamicDim(axis) && p.getDimSize(0) != x.getDimSize(axis))
    return inferError(loc, "per-axis ") << what << " has " << p.getDimSize(0)
                                        << " elements for dim " << axis << " of size "
                                        << x.getDimSize(axis);
  return success();
}

LogicalResult QuantizeLinearOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                 Adaptor adaptor,
                                                 SmallVectorImpl<Type> &types) {
  auto x = tensorType(adaptor.getInput());
  int64_t axis = adaptor.getAxis(), block = adaptor.getBlockSize();
  if (failed(checkQuantParam(loc, x, adaptor.getScale(), axis, block, "scale")))
    return failure();
  Type out = adaptor.getOutputType();
  if (Value zp = adaptor.getZeroPoint()) {
    if (failed(checkQuantParam(loc, x, zp, axis, block, "zero point")))
      return failure();
    if (tensorType(zp).getElementType() != out)
      return inferError(loc, "zero point element type ")
             << tensorType(zp).getElementType() << " differs from output_type " << out;
  }
  types.push_back(x.clone(out));
  return success();
}

LogicalResult DequantizeLinearOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                   Adaptor adaptor,
                                                   SmallVectorImpl<Type> &types) {
  auto x = tensorType(adaptor.getInput());
  int64_t axis = adaptor.getAxis(), block = adaptor.getBlockSize();
  if (failed(checkQuantParam(loc, x, adaptor.getScale(), axis, block, "scale")))
    return failure();
  if (Value zp = adaptor.getZeroPoint()) {
    if (failed(checkQuantParam(loc, x, zp, axis, block, "zero point")))
      return failure();
    if (tensorType(zp).getElementType() != x.getElementType())
      return inferError(loc, "zero point element type differs from the input's");
  }
  types.push_back(x.clone(tensorType(adaptor.getScale()).getElementType()));
  return success();
}

LogicalResult DynamicQuantizeLinearOp::inferReturnTypes(MLIRContext *ctx,
                                                        std::optional<Location>,
                                                        Adaptor adaptor,
                                                        SmallVectorImpl<Type> &types) {
  auto x = tensorType(adaptor.getInput());
  Type u8 = IntegerType::get(ctx, 8, IntegerType::Unsigned);
  types.push_back(x.clone(u8));
  types.push_back(RankedTensorType::get({}, x.getElementType()));
  types.push_back(RankedTensorType::get({}, u8));
  return success();
}

LogicalResult MatMulIntegerOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                                Adaptor adaptor, SmallVectorImpl<Type> &types) {
  FailureOr<SmallVector<int64_t>> shape =
      matmulShape(loc, tensorType(adaptor.getA()).getShape(), tensorType(adaptor.getB()).getShape());
  if (failed(shape))
    return failure();
  for (auto [v, z] : {std::pair(adaptor.getA(), adaptor.getAZeroPoint()),
                      std::pair(adaptor.getB(), adaptor.getBZeroPoint())})
    if (z && tensorType(z).getElementType() != tensorType(v).getElementType())
      return inferError(loc, "zero point element type differs from its operand's");
  types.push_back(RankedTensorType::get(*shape, IntegerType::get(ctx, 32)));
  return success();
}

LogicalResult ConvIntegerOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                              Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = tensorType(adaptor.getX()), w = tensorType(adaptor.getW());
  if (w.getRank() != x.getRank())
    return inferError(loc, "weight rank differs from input rank");
  return inferWindowOp(loc, x, w.getDimSize(0), adaptor.getKernelShape(), adaptor.getStrides(),
                       adaptor.getPads(), adaptor.getDilations(), false, adaptor.getAutoPad(),
                       IntegerType::get(ctx, 32), types);
}

LogicalResult QLinearMatMulOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                Adaptor adaptor, SmallVectorImpl<Type> &types) {
  FailureOr<SmallVector<int64_t>> shape =
      matmulShape(loc, tensorType(adaptor.getA()).getShape(), tensorType(adaptor.getB()).getShape());
  if (failed(shape))
    return failure();
  types.push_back(
      RankedTensorType::get(*shape, tensorType(adaptor.getYZeroPoint()).getElementType()));
  return success();
}

LogicalResult QLinearConvOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                              Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = tensorType(adaptor.getX()), w = tensorType(adaptor.getW());
  if (w.getRank() != x.getRank())
    return inferError(loc, "weight rank differs from input rank");
  return inferWindowOp(loc, x, w.getDimSize(0), adaptor.getKernelShape(), adaptor.getStrides(),
                       adaptor.getPads(), adaptor.getDilations(), false, adaptor.getAutoPad(),
                       tensorType(adaptor.getYZeroPoint()).getElementType(), types);
}

LogicalResult MatMulNBitsOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                              Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto a = tensorType(adaptor.getA()), b = tensorType(adaptor.getB());
  int64_t k = adaptor.getK(), n = adaptor.getN(), bits = adaptor.getBits(),
          block = adaptor.getBlockSize();
  if (bits < 2 || bits > 8)
    return inferError(loc, "matmul_nbits supports 2 to 8 bits, got ") << bits;
  if (block < 16 || !llvm::isPowerOf2_64(block))
    return inferError(loc, "matmul_nbits block_size must be a power of 2 >= 16, got ") << block;
  if (a.getRank() < 1 || (!a.isDynamicDim(a.getRank() - 1) && a.getDimSize(a.getRank() - 1) != k))
    return inferError(loc, "the last dim of A must be K = ") << k << ", got " << a;
  int64_t blocks = llvm::divideCeil(k, block);
  int64_t blobBytes = block * bits / 8;
  if (b.getRank() != 3 || (b.hasStaticShape() && (b.getDimSize(0) != n || b.getDimSize(1) != blocks ||
                                                   b.getDimSize(2) != blobBytes)))
    return inferError(loc, "packed B must be [N, ceil(K / block_size), block_size * bits / 8] = [")
           << n << ", " << blocks << ", " << blobBytes << "], got " << b;
  auto scales = tensorType(adaptor.getScales());
  if (scales.hasStaticShape() && scales.getNumElements() != n * blocks)
    return inferError(loc, "scales must have N * blocks = ") << n * blocks << " elements";
  if (scales.getElementType() != a.getElementType())
    return inferError(loc, "scales must have A's element type");
  if (Value bias = adaptor.getBias())
    if (tensorType(bias).getRank() != 1 || tensorType(bias).getDimSize(0) != n)
      return inferError(loc, "bias must be 1-D with N elements");
  SmallVector<int64_t> shape(a.getShape());
  shape.back() = n;
  types.push_back(RankedTensorType::get(shape, a.getElementType()));
  return success();
}
