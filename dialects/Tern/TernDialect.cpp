//===- TernDialect.cpp - the tern dialect --------------------------------===//

#include "dialects/Tern/TernOps.h"

using namespace mlir;
using namespace tern;

#include "dialects/Tern/TernDialect.cpp.inc"

void TernDialect::initialize() {
  registerMathOps();
  registerNNOps();
  registerTensorOps();
  registerQuantOps();
  registerFusedOps();
}

Operation *TernDialect::materializeConstant(OpBuilder &builder, Attribute value, Type type,
                                            Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return ConstantOp::create(builder, loc, elements);
}
