//===- MathOps.cpp - elementwise, comparison and reduction ops -----------===//
//
// Most math ops get their inference and folding from the TableGen classes in
// TernMathOps.td (ShapeInference.cpp, ConstantFolding.cpp); the ops here have
// rules of their own.
//
//===----------------------------------------------------------------------===//

#include "dialects/Tern/TernOps.h"

using namespace mlir;
using namespace tern;

#define GET_OP_CLASSES
#include "dialects/Tern/TernMathOps.cpp.inc"

void TernDialect::registerMathOps() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Tern/TernMathOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// CastOp
//===----------------------------------------------------------------------===//

LogicalResult CastOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                       Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto t = cast<RankedTensorType>(adaptor.getInput().getType());
  Type to = adaptor.getTo();
  if (!to.isIntOrFloat())
    return inferError(loc, "cannot cast to ") << to;
  types.push_back(t.clone(to));
  return success();
}

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return castDense(adaptor.getInput(), getType());
}

//===----------------------------------------------------------------------===//
// ClipOp
//===----------------------------------------------------------------------===//

LogicalResult ClipOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                       Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto t = cast<RankedTensorType>(adaptor.getInput().getType());
  for (Value bound : {adaptor.getMin(), adaptor.getMax()}) {
    if (!bound)
      continue;
    auto bt = cast<RankedTensorType>(bound.getType());
    if (bt.getElementType() != t.getElementType())
      return inferError(loc, "clip bounds must have the input's element type ")
             << t.getElementType() << ", got " << bt.getElementType();
    if (bt.getRank() > 1 || (bt.getRank() == 1 && bt.getDimSize(0) != 1))
      return inferError(loc, "clip bounds must be scalars, got ") << bt;
  }
  types.push_back(t);
  return success();
}

OpFoldResult ClipOp::fold(FoldAdaptor) {
  if (!getMin() && !getMax())
    return getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// WhereOp
//===----------------------------------------------------------------------===//

LogicalResult WhereOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                        Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = cast<RankedTensorType>(adaptor.getX().getType());
  auto y = cast<RankedTensorType>(adaptor.getY().getType());
  if (x.getElementType() != y.getElementType())
    return inferError(loc, "x and y element types differ: ")
           << x.getElementType() << " and " << y.getElementType();
  auto c = cast<RankedTensorType>(adaptor.getCondition().getType());
  FailureOr<SmallVector<int64_t>> shape =
      broadcastShapes({c.getShape(), x.getShape(), y.getShape()});
  if (failed(shape))
    return inferError(loc, "condition, x and y shapes do not broadcast");
  types.push_back(RankedTensorType::get(*shape, x.getElementType()));
  return success();
}

OpFoldResult WhereOp::fold(FoldAdaptor adaptor) {
  auto resultType = getType();
  if (getX() == getY() && getX().getType() == resultType)
    return getX();
  auto c = dyn_cast_or_null<DenseElementsAttr>(adaptor.getCondition());
  auto x = dyn_cast_or_null<DenseElementsAttr>(adaptor.getX());
  auto y = dyn_cast_or_null<DenseElementsAttr>(adaptor.getY());
  if (c && c.isSplat()) {
    Value chosen = c.getSplatValue<bool>() ? getX() : getY();
    if (chosen.getType() == resultType)
      return chosen;
  }
  if (!c || !x || !y || !resultType.hasStaticShape() ||
      resultType.getNumElements() > kFoldElementLimit)
    return {};
  ArrayRef<int64_t> out = resultType.getShape();
  SmallVector<Attribute> cv = broadcastElements(c, out), xv = broadcastElements(x, out),
                         yv = broadcastElements(y, out);
  SmallVector<Attribute> result;
  for (size_t e = 0; e < cv.size(); ++e)
    result.push_back(cast<IntegerAttr>(cv[e]).getValue().getBoolValue() ? xv[e] : yv[e]);
  return DenseElementsAttr::get(resultType, result);
}

//===----------------------------------------------------------------------===//
// GeluOp
//===----------------------------------------------------------------------===//

LogicalResult GeluOp::verify() {
  if (getApproximate() != "none" && getApproximate() != "tanh")
    return emitOpError("approximate must be \"none\" or \"tanh\", got \"")
           << getApproximate() << "\"";
  return success();
}
