//===- VectorBody.cpp - a linalg body computed on vectors -----------------===//

#include "VectorBody.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace tern {

bool vectorizableBody(linalg::GenericOp op) {
  for (BlockArgument out : op.getRegionOutputArgs())
    if (!out.use_empty())
      return false;
  for (Operation &inner : op.getBlock()->without_terminator()) {
    if (!isa_and_nonnull<arith::ArithDialect, math::MathDialect>(inner.getDialect()))
      return false;
    if (!inner.hasTrait<OpTrait::Elementwise>() && !isa<arith::ConstantOp>(inner))
      return false;
    if (isa<arith::DivSIOp, arith::DivUIOp, arith::RemSIOp, arith::RemUIOp, arith::CeilDivSIOp,
            arith::CeilDivUIOp, arith::FloorDivSIOp>(inner))
      return false;
    for (Type t : inner.getResultTypes())
      if (!t.isIntOrFloat())
        return false;
  }
  return true;
}

Value vectorizeBody(OpBuilder &b, Location loc, linalg::GenericOp op, IRMapping &map, int64_t lanes) {
  auto vectorOf = [&](Type t) { return VectorType::get({lanes}, t); };
  for (Operation &inner : op.getBlock()->without_terminator()) {
    if (auto cst = dyn_cast<arith::ConstantOp>(inner)) {
      auto t = vectorOf(cst.getType());
      map.map(cst.getResult(),
              arith::ConstantOp::create(b, loc, t, DenseElementsAttr::get(t, cast<TypedAttr>(cst.getValue()))));
      continue;
    }
    SmallVector<Value> operands;
    for (Value o : inner.getOperands()) {
      Value mapped = map.lookupOrNull(o);
      if (!mapped) // a scalar from outside the body
        mapped = vector::BroadcastOp::create(b, loc, vectorOf(o.getType()), o);
      operands.push_back(mapped);
    }
    SmallVector<Type> types;
    for (Type t : inner.getResultTypes())
      types.push_back(vectorOf(t));
    OperationState state(loc, inner.getName().getIdentifier(), operands, types, inner.getAttrs());
    map.map(inner.getResults(), b.create(state)->getResults());
  }
  Value result = map.lookupOrDefault(op.getBlock()->getTerminator()->getOperand(0));
  if (!isa<VectorType>(result.getType())) // the body yields a value from outside (or a block argument)
    result = vector::BroadcastOp::create(b, loc, vectorOf(result.getType()), result);
  return result;
}

} // namespace tern
