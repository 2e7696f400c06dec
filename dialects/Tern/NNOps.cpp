//===- NNOps.cpp - matmul, convolution, pooling, normalization -----------===//

#include "dialects/Tern/TernOps.h"

using namespace mlir;
using namespace tern;

#define GET_OP_CLASSES
#include "dialects/Tern/TernNNOps.cpp.inc"

void TernDialect::registerNNOps() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Tern/TernNNOps.cpp.inc"
      >();
}

static constexpr int64_t kDyn = ShapedType::kDynamic;

static RankedTensorType tensorType(Value v) { return cast<RankedTensorType>(v.getType()); }

LogicalResult MatMulOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto a = tensorType(adaptor.getA()), b = tensorType(adaptor.getB());
  if (a.getElementType() != b.getElementType())
    return inferError(loc, "matmul operand element types differ: ")
           << a.getElementType() << " and " << b.getElementType();
  FailureOr<SmallVector<int64_t>> shape = matmulShape(loc, a.getShape(), b.getShape());
  if (failed(shape))
    return failure();
  types.push_back(RankedTensorType::get(*shape, a.getElementType()));
  return success();
}

LogicalResult GemmOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                       Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto a = tensorType(adaptor.getA()), b = tensorType(adaptor.getB());
  if (a.getRank() != 2 || b.getRank() != 2)
    return inferError(loc, "gemm operands A and B must be matrices, got ") << a << " and " << b;
  if (a.getElementType() != b.getElementType())
    return inferError(loc, "gemm operand element types differ");
  int64_t m = a.getDimSize(adaptor.getTransA() ? 1 : 0);
  int64_t ka = a.getDimSize(adaptor.getTransA() ? 0 : 1);
  int64_t kb = b.getDimSize(adaptor.getTransB() ? 1 : 0);
  int64_t n = b.getDimSize(adaptor.getTransB() ? 0 : 1);
  if (ka != kDyn && kb != kDyn && ka != kb)
    return inferError(loc, "gemm contraction dims differ: ") << ka << " and " << kb;
  if (Value c = adaptor.getC()) {
    auto ct = tensorType(c);
    if (ct.getRank() > 2 || failed(broadcastShapes({ArrayRef<int64_t>{m, n}, ct.getShape()})))
      return inferError(loc, "gemm C of type ") << ct << " does not broadcast to [M, N]";
  }
  types.push_back(RankedTensorType::get({m, n}, a.getElementType()));
  return success();
}

LogicalResult ConvOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                       Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = tensorType(adaptor.getX()), w = tensorType(adaptor.getW());
  if (w.getRank() != x.getRank())
    return inferError(loc, "conv weight rank ") << w.getRank() << " differs from input rank "
                                                << x.getRank();
  int64_t group = adaptor.getGroup();
  if (group < 1)
    return inferError(loc, "group must be positive");
  if (!x.isDynamicDim(1) && !w.isDynamicDim(1) && x.getDimSize(1) != w.getDimSize(1) * group)
    return inferError(loc, "input channels ")
           << x.getDimSize(1) << " differ from weight channels " << w.getDimSize(1) << " x group "
           << group;
  if (Value b = adaptor.getBias()) {
    auto bt = tensorType(b);
    if (bt.getRank() != 1 || (!bt.isDynamicDim(0) && !w.isDynamicDim(0) &&
                              bt.getDimSize(0) != w.getDimSize(0)))
      return inferError(loc, "conv bias must be 1-D with one element per output channel");
  }
  for (int64_t i = 2; i < w.getRank(); ++i)
    if (!w.isDynamicDim(i) && (int64_t)adaptor.getKernelShape().size() == w.getRank() - 2 &&
        adaptor.getKernelShape()[i - 2] != w.getDimSize(i))
      return inferError(loc, "kernel_shape differs from the weight's spatial dims");
  return inferWindowOp(loc, x, w.getDimSize(0), adaptor.getKernelShape(), adaptor.getStrides(),
                       adaptor.getPads(), adaptor.getDilations(), false, adaptor.getAutoPad(),
                       x.getElementType(), types);
}

LogicalResult ConvTransposeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = tensorType(adaptor.getX()), w = tensorType(adaptor.getW());
  int64_t spatial = x.getRank() - 2;
  if (spatial < 1 || w.getRank() != x.getRank())
    return inferError(loc, "conv_transpose expects input and weight of the same rank >= 3");
  ArrayRef<int64_t> k = adaptor.getKernelShape(), s = adaptor.getStrides(),
                    p = adaptor.getPads(), d = adaptor.getDilations(),
                    op = adaptor.getOutputPadding();
  if ((int64_t)k.size() != spatial || (int64_t)s.size() != spatial ||
      (int64_t)d.size() != spatial || (int64_t)p.size() != 2 * spatial ||
      (int64_t)op.size() != spatial)
    return inferError(loc, "window attributes do not match the input rank");
  int64_t channels =
      w.isDynamicDim(1) ? kDyn : w.getDimSize(1) * adaptor.getGroup();
  SmallVector<int64_t> shape = {x.getDimSize(0), channels};
  bool same = adaptor.getAutoPad() == "SAME_UPPER" || adaptor.getAutoPad() == "SAME_LOWER";
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t in = x.getDimSize(i + 2);
    if (in == kDyn) {
      shape.push_back(kDyn);
      continue;
    }
    int64_t out = same ? in * s[i]
                       : s[i] * (in - 1) + op[i] + (k[i] - 1) * d[i] + 1 - p[i] - p[i + spatial];
    if (out < 1)
      return inferError(loc, "conv_transpose output dim ") << i << " would be " << out;
    shape.push_back(out);
  }
  types.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}

LogicalResult MaxPoolOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = tensorType(adaptor.getX());
  return inferWindowOp(loc, x, x.getRank() > 1 ? x.getDimSize(1) : kDyn,
                       adaptor.getKernelShape(), adaptor.getStrides(), adaptor.getPads(),
                       adaptor.getDilations(), adaptor.getCeilMode(), adaptor.getAutoPad(),
                       x.getElementType(), types);
}

LogicalResult AveragePoolOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                              Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = tensorType(adaptor.getX());
  return inferWindowOp(loc, x, x.getRank() > 1 ? x.getDimSize(1) : kDyn,
                       adaptor.getKernelShape(), adaptor.getStrides(), adaptor.getPads(),
                       adaptor.getDilations(), adaptor.getCeilMode(), adaptor.getAutoPad(),
                       x.getElementType(), types);
}

/// Checks per-channel parameters (1-D, C elements) of the normalization ops.
static LogicalResult checkChannelParams(std::optional<Location> loc, RankedTensorType x,
                                        ValueRange params) {
  if (x.getRank() < 2)
    return inferError(loc, "expects an input of rank 2 or more ([N, C, ...])");
  for (Value p : params) {
    auto t = tensorType(p);
    if (t.getRank() != 1 ||
        (!t.isDynamicDim(0) && !x.isDynamicDim(1) && t.getDimSize(0) != x.getDimSize(1)))
      return inferError(loc, "per-channel parameter of type ")
             << t << " does not match " << x.getDimSize(1) << " channels";
  }
  return success();
}

LogicalResult BatchNormalizationOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                     Adaptor adaptor,
                                                     SmallVectorImpl<Type> &types) {
  auto x = tensorType(adaptor.getX());
  if (failed(checkChannelParams(loc, x,
                                {adaptor.getScale(), adaptor.getBias(), adaptor.getMean(),
                                 adaptor.getVariance()})))
    return failure();
  types.push_back(x);
  return success();
}

LogicalResult InstanceNormalizationOp::inferReturnTypes(MLIRContext *,
                                                        std::optional<Location> loc,
                                                        Adaptor adaptor,
                                                        SmallVectorImpl<Type> &types) {
  auto x = tensorType(adaptor.getX());
  if (failed(checkChannelParams(loc, x, {adaptor.getScale(), adaptor.getBias()})))
    return failure();
  types.push_back(x);
  return success();
}

LogicalResult LayerNormalizationOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                     Adaptor adaptor,
                                                     SmallVectorImpl<Type> &types) {
  auto x = tensorType(adaptor.getX());
  int64_t axis = adaptor.getAxis();
  if (axis < 0 || axis >= std::max<int64_t>(x.getRank(), 1))
    return inferError(loc, "axis ") << axis << " is out of range for rank " << x.getRank();
  ArrayRef<int64_t> normalized = x.getShape().drop_front(axis);
  for (Value p : {adaptor.getScale(), adaptor.getBias()}) {
    if (!p)
      continue;
    FailureOr<SmallVector<int64_t>> b = broadcastShapes({normalized, tensorType(p).getShape()});
    if (failed(b) || b->size() != normalized.size())
      return inferError(loc, "scale/bias of type ")
             << p.getType() << " does not broadcast to the normalized dims";
  }
  types.push_back(x);
  return success();
}
