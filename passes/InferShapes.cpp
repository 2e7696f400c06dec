//===- InferShapes.cpp - re-infer tern result types and fold -------------===//

#include "passes/Passes.h"

#include "dialects/Tern/SymbolicDims.h"
#include "dialects/Tern/TernOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

namespace tern {
#define GEN_PASS_DEF_TERNINFERSHAPESPASS
#include "passes/Passes.h.inc"
} // namespace tern

using namespace mlir;
using namespace tern;

namespace {

/// True when `refined` is `current` with some dynamic dims made static.
bool isRefinement(Type current, Type refined) {
  auto c = dyn_cast<RankedTensorType>(current), r = dyn_cast<RankedTensorType>(refined);
  if (!c || !r || c == r || !areCompatibleReturnTypes(c, r))
    return false;
  for (auto [a, b] : llvm::zip(c.getShape(), r.getShape()))
    if (a != ShapedType::kDynamic && b == ShapedType::kDynamic)
      return false;
  return true;
}

/// A Reshape whose shape operand is shape arithmetic on dims equal to the
/// input's own (bert's `Concat(Shape(ids)[0:1], Shape(ids)[1:2], [-1, 64])`
/// on a [batch, seq, 768] input) gets the constant operand [0, 0, -1, 64]
/// instead: lowering then sizes the result from the input's dims, which
/// trace to the function's inputs, not from values read at run time.
void copyDimsInReshape(OpBuilder &builder, ReshapeOp reshape) {
  if (getConstantInts(reshape.getShape()))
    return;
  std::optional<SmallVector<ShapeElement>> requested = getSymbolicShapeValues(reshape.getShape());
  if (!requested)
    return;
  std::optional<SmallVector<int64_t>> shape =
      reshapeAsCopies(reshape.getData(), *requested, reshape.getAllowzero());
  if (!shape)
    return;
  auto type = RankedTensorType::get({(int64_t)shape->size()}, builder.getI64Type());
  Value constant = ConstantOp::create(builder, reshape.getLoc(),
                                      cast<ElementsAttr>(DenseElementsAttr::get(type, ArrayRef<int64_t>(*shape))));
  reshape.getShapeMutable().assign(constant);
  reshape.setAllowzero(false);
}

struct InferShapesPass : tern::impl::TernInferShapesPassBase<InferShapesPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    OpBuilder builder(func.getContext());
    SmallVector<Operation *> ops;
    func.walk([&](Operation *op) {
      if (isa<TernDialect>(op->getDialect()))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      auto infer = dyn_cast<InferTypeOpInterface>(op);
      if (!infer)
        continue;
      SmallVector<Type> types;
      if (failed(infer.inferReturnTypes(op->getContext(), op->getLoc(), op->getOperands(),
                                        op->getRawDictionaryAttrs(), op->getPropertiesStorage(),
                                        op->getRegions(), types))) {
        signalPassFailure();
        return;
      }
      for (auto [result, type] : llvm::zip(op->getResults(), types))
        if (isRefinement(result.getType(), type))
          result.setType(type);
      builder.setInsertionPoint(op);
      if (auto reshape = dyn_cast<ReshapeOp>(op))
        copyDimsInReshape(builder, reshape);
      SmallVector<Value> folded;
      if (succeeded(builder.tryFold(op, folded)) && !folded.empty()) {
        op->replaceAllUsesWith(folded);
        op->erase();
      }
    }
    // Folding leaves unused (pure) producers behind.
    SmallVector<Operation *> remaining;
    func.walk([&](Operation *op) {
      if (isa<TernDialect>(op->getDialect()))
        remaining.push_back(op);
    });
    for (Operation *op : llvm::reverse(remaining))
      if (op->use_empty())
        op->erase();
    // The function returns what its body now computes.
    Operation *ret = func.getBody().back().getTerminator();
    func.setType(FunctionType::get(func.getContext(), func.getArgumentTypes(),
                                   ret->getOperandTypes()));
  }
};

} // namespace
