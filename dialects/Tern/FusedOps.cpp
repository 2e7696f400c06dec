//===- FusedOps.cpp - ops the graph passes produce -----------------------===//

#include "dialects/Tern/TernOps.h"

using namespace mlir;
using namespace tern;

#define GET_OP_CLASSES
#include "dialects/Tern/TernFusedOps.cpp.inc"

void TernDialect::registerFusedOps() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Tern/TernFusedOps.cpp.inc"
      >();
}

static constexpr int64_t kDyn = ShapedType::kDynamic;

static RankedTensorType tensorType(Value v) { return cast<RankedTensorType>(v.getType()); }

static LogicalResult verifyEpilogue(Operation *op, StringRef activation) {
  static constexpr StringRef kActivations[] = {"none",      "relu",      "clip",    "gelu_erf",
                                               "gelu_tanh", "silu",      "sigmoid", "tanh",
                                               "leaky_relu"};
  if (!llvm::is_contained(kActivations, activation))
    return op->emitOpError("unknown epilogue activation '") << activation << "'";
  return success();
}

/// Checks the optional bias (1-D, `channels` elements) and residual (the
/// result's shape) of a fused op.
static LogicalResult checkEpilogueOperands(std::optional<Location> loc, Value bias,
                                           Value residual, int64_t channels,
                                           ArrayRef<int64_t> shape) {
  if (bias) {
    auto b = tensorType(bias);
    if (b.getRank() != 1 ||
        (channels != kDyn && !b.isDynamicDim(0) && b.getDimSize(0) != channels))
      return inferError(loc, "bias must be 1-D with ") << channels << " elements, got " << b;
  }
  if (residual) {
    FailureOr<SmallVector<int64_t>> s = broadcastShapes({shape, tensorType(residual).getShape()});
    if (failed(s) || s->size() != shape.size())
      return inferError(loc, "residual of type ") << residual.getType()
                                                  << " does not broadcast to the result";
  }
  return success();
}

LogicalResult FusedMatMulOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                              Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto a = tensorType(adaptor.getA()), b = tensorType(adaptor.getB());
  SmallVector<int64_t> bShape(b.getShape());
  if (adaptor.getTransB()) {
    if (bShape.size() < 2)
      return inferError(loc, "trans_b needs B of rank 2 or more");
    std::swap(bShape[bShape.size() - 1], bShape[bShape.size() - 2]);
  }
  FailureOr<SmallVector<int64_t>> shape = matmulShape(loc, a.getShape(), bShape);
  if (failed(shape))
    return failure();
  if (failed(checkEpilogueOperands(loc, adaptor.getBias(), adaptor.getResidual(),
                                   shape->empty() ? 1 : shape->back(), *shape)))
    return failure();
  types.push_back(RankedTensorType::get(*shape, a.getElementType()));
  return success();
}

LogicalResult FusedMatMulOp::verify() { return verifyEpilogue(*this, getActivation()); }

LogicalResult FusedConvOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = tensorType(adaptor.getX()), w = tensorType(adaptor.getW());
  if (w.getRank() != x.getRank())
    return inferError(loc, "weight rank differs from input rank");
  SmallVector<Type> inferred;
  if (failed(inferWindowOp(loc, x, w.getDimSize(0), adaptor.getKernelShape(),
                           adaptor.getStrides(), adaptor.getPads(), adaptor.getDilations(), false,
                           adaptor.getAutoPad(), x.getElementType(), inferred)))
    return failure();
  auto result = cast<RankedTensorType>(inferred.front());
  if (failed(checkEpilogueOperands(loc, adaptor.getBias(), adaptor.getResidual(),
                                   w.getDimSize(0), result.getShape())))
    return failure();
  types.push_back(result);
  return success();
}

LogicalResult FusedConvOp::verify() { return verifyEpilogue(*this, getActivation()); }

LogicalResult NormalizationOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                Adaptor adaptor, SmallVectorImpl<Type> &types) {
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
      return inferError(loc, "scale/bias does not broadcast to the normalized dims");
  }
  types.push_back(x);
  return success();
}

LogicalResult NormalizationOp::verify() {
  if (getKind() != "layer" && getKind() != "rms")
    return emitOpError("kind must be \"layer\" or \"rms\", got \"") << getKind() << "\"";
  return success();
}

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto q = tensorType(adaptor.getQ()), k = tensorType(adaptor.getK()),
       v = tensorType(adaptor.getV());
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4)
    return inferError(loc, "attention expects q, k, v of rank 4 ([B, H, S, D])");
  int64_t hq = q.getDimSize(1), hkv = k.getDimSize(1);
  if (hq != kDyn && hkv != kDyn && (hkv == 0 || hq % hkv != 0))
    return inferError(loc, "query heads ") << hq << " are not a multiple of key/value heads "
                                           << hkv;
  if (!k.isDynamicDim(1) && !v.isDynamicDim(1) && k.getDimSize(1) != v.getDimSize(1))
    return inferError(loc, "k and v head counts differ");
  if (!q.isDynamicDim(3) && !k.isDynamicDim(3) && q.getDimSize(3) != k.getDimSize(3))
    return inferError(loc, "q and k head dims differ");
  if (!k.isDynamicDim(2) && !v.isDynamicDim(2) && k.getDimSize(2) != v.getDimSize(2))
    return inferError(loc, "k and v sequence lengths differ");
  SmallVector<int64_t> shape = {q.getDimSize(0), hq, q.getDimSize(2), v.getDimSize(3)};
  if (Value mask = adaptor.getMask()) {
    SmallVector<int64_t> scores = {q.getDimSize(0), hq, q.getDimSize(2), k.getDimSize(2)};
    FailureOr<SmallVector<int64_t>> b = broadcastShapes({scores, tensorType(mask).getShape()});
    if (failed(b) || b->size() != 4)
      return inferError(loc, "mask does not broadcast to [B, Hq, S, L]");
  }
  types.push_back(RankedTensorType::get(shape, q.getElementType()));
  return success();
}

LogicalResult SparseMatMul24Op::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                 Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto a = tensorType(adaptor.getA()), values = tensorType(adaptor.getValues()),
       indices = tensorType(adaptor.getIndices());
  if (a.getRank() < 1 || values.getRank() != 2 || indices.getRank() != 2)
    return inferError(loc, "sparse_matmul_2_4 expects A of rank >= 1 and 2-D values and indices");
  int64_t k = a.getDimSize(a.getRank() - 1), n = values.getDimSize(0);
  if (k != kDyn && k % 4 != 0)
    return inferError(loc, "K = ") << k << " is not a multiple of 4";
  if (k != kDyn && !values.isDynamicDim(1) && values.getDimSize(1) != k / 2)
    return inferError(loc, "values must be [N, K/2] = [") << n << ", " << k / 2 << "]";
  if (k != kDyn && !indices.isDynamicDim(1) && indices.getDimSize(1) != k / 8)
    return inferError(loc, "indices must be [N, K/8] = [") << n << ", " << k / 8 << "]";
  if (!indices.isDynamicDim(0) && n != kDyn && indices.getDimSize(0) != n)
    return inferError(loc, "values and indices differ in N");
  SmallVector<int64_t> shape(a.getShape());
  shape.back() = n;
  types.push_back(RankedTensorType::get(shape, a.getElementType()));
  return success();
}

LogicalResult WinogradConvOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                               Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = tensorType(adaptor.getX()), u = tensorType(adaptor.getU());
  int64_t m = adaptor.getTile(), alpha = m + 2;
  ArrayRef<int64_t> pads = adaptor.getPads();
  if (m != 2 && m != 4)
    return inferError(loc, "winograd_conv tile must be 2 or 4, got ") << m;
  if (x.getRank() != 4 || u.getRank() != 3 || pads.size() != 4 || llvm::any_of(pads, [](int64_t p) { return p < 0; }))
    return inferError(loc, "winograd_conv expects x [N, C, H, W], u [(m+2)^2, C, F] and 4 pads of 0 or more");
  if (!u.isDynamicDim(0) && u.getDimSize(0) != alpha * alpha)
    return inferError(loc, "winograd_conv u must have ") << alpha * alpha << " transformed taps for tile " << m;
  if (!x.isDynamicDim(1) && !u.isDynamicDim(1) && x.getDimSize(1) != u.getDimSize(1))
    return inferError(loc, "winograd_conv input channels differ: x has ")
           << x.getDimSize(1) << ", u " << u.getDimSize(1);
  int64_t f = u.getDimSize(2);
  if (failed(checkEpilogueOperands(loc, adaptor.getBias(), Value(), f, {})))
    return failure();
  SmallVector<int64_t> shape{x.getDimSize(0), f};
  for (int64_t i = 0; i < 2; ++i) {
    int64_t in = x.getDimSize(2 + i);
    int64_t out = in == kDyn ? kDyn : in + pads[i] + pads[2 + i] - 2;
    if (out != kDyn && out < 1)
      return inferError(loc, "winograd_conv output would be empty");
    shape.push_back(out);
  }
  types.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}

LogicalResult PointwiseDepthwiseConvOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = tensorType(adaptor.getX()), we = tensorType(adaptor.getExpandW()), w = tensorType(adaptor.getW());
  if (x.getRank() != 4 || we.getRank() != 4 || w.getRank() != 4)
    return inferError(loc, "pointwise_depthwise_conv expects x [N, C, H, W] and 4-D weights");
  if (!we.hasStaticShape() || !w.hasStaticShape())
    return inferError(loc, "pointwise_depthwise_conv weights must have static shapes");
  int64_t e = we.getDimSize(0);
  if (we.getDimSize(2) != 1 || we.getDimSize(3) != 1 || (!x.isDynamicDim(1) && x.getDimSize(1) != we.getDimSize(1)))
    return inferError(loc, "expand_w must be [E, C, 1, 1] for x's C channels, got ") << we;
  if (w.getDimSize(0) != e || w.getDimSize(1) != 1)
    return inferError(loc, "w must be [E, 1, KH, KW] with E = ") << e << ", got " << w;
  if (failed(checkEpilogueOperands(loc, adaptor.getExpandBias(), Value(), e, {})))
    return failure();
  auto expanded = RankedTensorType::get({x.getDimSize(0), e, x.getDimSize(2), x.getDimSize(3)}, x.getElementType());
  SmallVector<Type> inferred;
  if (failed(inferWindowOp(loc, expanded, e, adaptor.getKernelShape(), adaptor.getStrides(), adaptor.getPads(),
                           adaptor.getDilations(), false, adaptor.getAutoPad(), x.getElementType(), inferred)))
    return failure();
  auto result = cast<RankedTensorType>(inferred.front());
  if (failed(checkEpilogueOperands(loc, adaptor.getBias(), Value(), e, result.getShape())))
    return failure();
  types.push_back(result);
  return success();
}

LogicalResult PointwiseDepthwiseConvOp::verify() {
  for (StringRef a : {getExpandActivation(), getActivation()})
    if (a != "none" && a != "relu" && a != "clip")
      return emitOpError("activation '") << a << "' is not none, relu or clip";
  return success();
}
