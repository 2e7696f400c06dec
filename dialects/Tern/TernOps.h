//===- TernOps.h - the tern dialect and its ops --------------------------===//

#ifndef TERN_DIALECT_TERNOPS_H
#define TERN_DIALECT_TERNOPS_H

#include "dialects/Tern/ShapeInference.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/Tern/TernDialect.h.inc"

namespace tern::OpTrait {
/// The result's shape is the numpy broadcast of the operands' (elementwise
/// ops, Where); see SymbolicDims.h.
template <typename ConcreteType>
class Broadcasts : public mlir::OpTrait::TraitBase<ConcreteType, Broadcasts> {};
} // namespace tern::OpTrait

#define GET_OP_CLASSES
#include "dialects/Tern/TernMathOps.h.inc"
#define GET_OP_CLASSES
#include "dialects/Tern/TernNNOps.h.inc"
#define GET_OP_CLASSES
#include "dialects/Tern/TernTensorOps.h.inc"
#define GET_OP_CLASSES
#include "dialects/Tern/TernQuantOps.h.inc"
#define GET_OP_CLASSES
#include "dialects/Tern/TernFusedOps.h.inc"

#endif // TERN_DIALECT_TERNOPS_H
