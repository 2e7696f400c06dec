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
#include "mlir/IR/DialectResourceBlobManager.h"
#include <cstring>
#include <vector>
#include <cmath>
#include <optional>

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

/// The values of a constant (dense, splat or resource blob; integers of 8,
/// 16 or 32 bits, or f32) as doubles, a splat repeated; nothing for other
/// values.
inline std::optional<std::vector<double>> constantValues(mlir::Value v) {
  auto c = v ? v.getDefiningOp<ConstantOp>() : ConstantOp();
  if (!c)
    return std::nullopt;
  auto type = mlir::cast<mlir::RankedTensorType>(c.getType());
  if (!type.hasStaticShape())
    return std::nullopt;
  mlir::Type elem = type.getElementType();
  int64_t n = type.getNumElements();
  std::vector<double> out;
  out.reserve(n);
  mlir::Attribute value = c.getValue();
  if (auto dense = mlir::dyn_cast<mlir::DenseElementsAttr>(value)) {
    if (auto it = mlir::dyn_cast<mlir::IntegerType>(elem)) {
      for (const llvm::APInt &x : dense.getValues<llvm::APInt>())
        out.push_back(it.isUnsigned() ? (double)x.getZExtValue() : (double)x.getSExtValue());
    } else if (mlir::isa<mlir::FloatType>(elem)) {
      for (const llvm::APFloat &x : dense.getValues<llvm::APFloat>())
        out.push_back(x.convertToDouble());
    } else {
      return std::nullopt;
    }
    return out;
  }
  auto res = mlir::dyn_cast<mlir::DenseResourceElementsAttr>(value);
  mlir::AsmResourceBlob *blob = res ? res.getRawHandle().getBlob() : nullptr;
  if (!blob)
    return std::nullopt;
  llvm::ArrayRef<char> data = blob->getData();
  if (elem.isF32()) { // a large scale
    if ((int64_t)data.size() != n * 4)
      return std::nullopt;
    std::vector<float> f(n);
    std::memcpy(f.data(), data.data(), data.size());
    return std::vector<double>(f.begin(), f.end());
  }
  auto it = mlir::dyn_cast<mlir::IntegerType>(elem);
  if (!it || !llvm::is_contained({8u, 16u, 32u}, it.getWidth()))
    return std::nullopt;
  int64_t bytes = it.getWidth() / 8;
  if ((int64_t)data.size() != n * bytes)
    return std::nullopt;
  for (int64_t i = 0; i < n; ++i) {
    const char *p = data.data() + i * bytes;
    if (bytes == 1)
      out.push_back(it.isUnsigned() ? (double)(uint8_t)*p : (double)(int8_t)*p);
    else if (bytes == 2) {
      uint16_t u;
      std::memcpy(&u, p, 2);
      out.push_back(it.isUnsigned() ? (double)u : (double)(int16_t)u);
    } else {
      uint32_t u;
      std::memcpy(&u, p, 4);
      out.push_back(it.isUnsigned() ? (double)u : (double)(int32_t)u);
    }
  }
  return out;
}

} // namespace tern::patterns

#endif // TERN_PASSES_PATTERNUTILS_H
