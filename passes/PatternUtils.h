//===- PatternUtils.h - matching written-out op chains --------------------===//
//
// Small helpers the fusion passes share to recognize the chains exporters
// write out (GELU, RMSNorm, LayerNorm): scalar constants, commutative
// operands, single use.
//
//===----------------------------------------------------------------------===//

#ifndef TERN_PASSES_PATTERNUTILS_H
#define TERN_PASSES_PATTERNUTILS_H

#include "dialects/Tern/TernOps.h"
#include <vector>
#include <cmath>
#include <optional>
#include <tuple>

namespace tern::patterns {

/// The value of a scalar (or splat) float constant.
inline std::optional<double> scalarConstant(mlir::Value v) {
  auto c = v ? v.getDefiningOp<ConstantOp>() : ConstantOp();
  if (!c)
    return std::nullopt;
  auto dense = mlir::dyn_cast<mlir::DenseElementsAttr>(c.getValue());
  if (!dense || !dense.isSplat() || !mlir::isa<mlir::FloatType>(dense.getElementType()))
    return std::nullopt;
  return dense.getSplatValue<llvm::APFloat>().convertToDouble();
}

/// `v` is a scalar constant within a relative 1e-4 of `expected`.
inline bool isConstant(mlir::Value v, double expected) {
  std::optional<double> c = scalarConstant(v);
  return c && std::abs(*c - expected) <= 1e-4 * std::max(1.0, std::abs(expected));
}

/// The op defining `v` when it is an `OpTy` whose result has one use.
template <typename OpTy>
OpTy singleUse(mlir::Value v) {
  auto op = v.getDefiningOp<OpTy>();
  return op && op->getResult(0).hasOneUse() ? op : OpTy();
}

/// For a binary op, the operand that is not `one` (either order), or null.
inline mlir::Value otherOperand(mlir::Operation *op, mlir::Value one) {
  if (op->getOperand(0) == one)
    return op->getOperand(1);
  if (op->getOperand(1) == one)
    return op->getOperand(0);
  return {};
}

/// The values of a constant op (see tern::constantElements), or nothing.
inline std::optional<std::vector<double>> constantValues(mlir::Value v) {
  auto c = v ? v.getDefiningOp<ConstantOp>() : ConstantOp();
  if (!c)
    return std::nullopt;
  return constantElements(c.getValue(), c.getType().getElementType().isUnsignedInteger());
}

/// The ONNX node name an op was imported from (its location's name), or "".
inline llvm::StringRef nodeName(mlir::Operation *op) {
  mlir::Location loc = op->getLoc();
  if (auto fused = mlir::dyn_cast<mlir::FusedLoc>(loc))
    for (mlir::Location l : fused.getLocations())
      if (auto name = mlir::dyn_cast<mlir::NameLoc>(l))
        return name.getName().getValue();
  if (auto name = mlir::dyn_cast<mlir::NameLoc>(loc))
    return name.getName().getValue();
  return "";
}

/// Is `op` excluded by node name or ONNX op type (the tern op's name
/// matched case-insensitively without underscores: "MatMul" ~ matmul)?
inline bool excluded(mlir::Operation *op, llvm::ArrayRef<std::string> exclude) {
  llvm::StringRef name = nodeName(op);
  std::string type = op->getName().stripDialect().str();
  llvm::erase(type, '_');
  for (const std::string &e : exclude)
    if ((!name.empty() && e == name) || llvm::StringRef(e).equals_insensitive(type))
      return true;
  return false;
}

/// Weights already 8-bit in the model: `w` = DequantizeLinear(q, s, z) of a
/// constant [k, n] matrix q of int8 or uint8, s and z per tensor or per
/// column (axis 1), as the LM head of a QDQ model dequantizes its int8
/// embedding. Returns q, z (or null) and s per column.
inline std::optional<std::tuple<mlir::Value, mlir::Value, std::vector<float>>> existingInt8(mlir::Value w) {
  auto dq = w.getDefiningOp<DequantizeLinearOp>();
  if (!dq || dq.getBlockSize() != 0 || !dq.getInput().getDefiningOp<ConstantOp>())
    return std::nullopt;
  auto qType = mlir::cast<mlir::RankedTensorType>(dq.getInput().getType());
  if (qType.getRank() != 2 || !qType.hasStaticShape() || qType.getElementTypeBitWidth() != 8)
    return std::nullopt;
  int64_t n = qType.getDimSize(1), axis = dq.getAxis() < 0 ? dq.getAxis() + 2 : dq.getAxis();
  std::optional<std::vector<double>> scales = constantValues(dq.getScale());
  if (!scales || (scales->size() != 1 && (axis != 1 || (int64_t)scales->size() != n)))
    return std::nullopt;
  if (mlir::Value z = dq.getZeroPoint()) {
    std::optional<std::vector<double>> zeros = constantValues(z);
    if (!zeros || (zeros->size() != 1 && (axis != 1 || (int64_t)zeros->size() != n)))
      return std::nullopt;
  }
  std::vector<float> perColumn(n);
  for (int64_t c = 0; c < n; ++c)
    perColumn[c] = (float)(*scales)[scales->size() == 1 ? 0 : c];
  return std::make_tuple(dq.getInput(), dq.getZeroPoint(), std::move(perColumn));
}

/// Static but for the first dim: a batch of images, counted at run time or
/// not, that convolutions and their lowerings take as one more loop.
inline bool staticPastFirstDim(mlir::ShapedType t) {
  return t.getRank() >= 1 && llvm::none_of(t.getShape().drop_front(), mlir::ShapedType::isDynamic);
}

} // namespace tern::patterns

#endif // TERN_PASSES_PATTERNUTILS_H
