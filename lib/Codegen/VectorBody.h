//===- VectorBody.h - a linalg body computed on vectors ---------*- C++ -*-===//
//
// The kernels that tern-vectorize-contractions and tern-vectorize-rows emit
// compute an elementwise linalg.generic's scalar body on whole vectors: the
// same arith/math ops with vector types.
//
//===----------------------------------------------------------------------===//

#ifndef TERN_CODEGEN_VECTORBODY_H
#define TERN_CODEGEN_VECTORBODY_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/IRMapping.h"

namespace tern {

/// Can vectorizeBody compute `op`'s body: arith/math elementwise ops on
/// scalars (and constants), not reading the outputs' current values? Integer
/// divisions are left out, as masked-off lanes would divide by zero.
bool vectorizableBody(mlir::linalg::GenericOp op);

/// Computes `op`'s body on vectors of `lanes` lanes and returns the value
/// it yields, as a vector of the first result's element type. The body's
/// input block arguments must be mapped in `map` to vectors; constants
/// become splats and scalars from outside the body broadcasts.
mlir::Value vectorizeBody(mlir::OpBuilder &b, mlir::Location loc, mlir::linalg::GenericOp op,
                          mlir::IRMapping &map, int64_t lanes);

} // namespace tern

#endif
