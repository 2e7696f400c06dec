//===- ShapeInference.cpp - shared type inference rules ------------------===//

#include "dialects/Tern/ShapeInference.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallBitVector.h"

using namespace mlir;

namespace tern {

static constexpr int64_t kDyn = ShapedType::kDynamic;

InferError::operator LogicalResult() const {
  if (loc)
    emitError(*loc) << message;
  return failure();
}

bool areCompatibleReturnTypes(TypeRange lhs, TypeRange rhs) {
  if (lhs.size() != rhs.size())
    return false;
  for (auto [l, r] : llvm::zip(lhs, rhs)) {
    auto lt = dyn_cast<RankedTensorType>(l);
    auto rt = dyn_cast<RankedTensorType>(r);
    if (!lt || !rt) {
      if (l != r)
        return false;
      continue;
    }
    if (lt.getElementType() != rt.getElementType() || lt.getRank() != rt.getRank())
      return false;
    for (auto [a, b] : llvm::zip(lt.getShape(), rt.getShape()))
      if (a != kDyn && b != kDyn && a != b)
        return false;
  }
  return true;
}

FailureOr<SmallVector<int64_t>> broadcastShapes(ArrayRef<ArrayRef<int64_t>> shapes) {
  size_t rank = 0;
  for (ArrayRef<int64_t> s : shapes)
    rank = std::max(rank, s.size());
  SmallVector<int64_t> result(rank, 1);
  for (ArrayRef<int64_t> s : shapes) {
    size_t offset = rank - s.size();
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t &r = result[offset + i];
      int64_t d = s[i];
      if (d == 1)
        continue;
      if (r == 1) {
        r = d;
      } else if (d == kDyn) {
        // r is static and not 1 (so d must equal it at run time), or dynamic.
      } else if (r == kDyn) {
        r = d;
      } else if (r != d) {
        return failure();
      }
    }
  }
  return result;
}

static std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "[";
  llvm::interleave(shape, os, [&](int64_t d) { d == kDyn ? os << "?" : os << d; }, ",");
  os << "]";
  return s;
}

LogicalResult inferElementwise(std::optional<Location> loc, ValueRange operands,
                               ElementRule rule, SmallVectorImpl<Type> &types) {
  if (operands.empty())
    return inferError(loc, "expects at least one operand");
  SmallVector<ArrayRef<int64_t>> shapes;
  Type element;
  for (Value v : operands) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t)
      return inferError(loc, "expects ranked tensor operands");
    shapes.push_back(t.getShape());
    if (!element)
      element = t.getElementType();
    else if (rule == ElementRule::SameAsOperands && element != t.getElementType())
      return inferError(loc, "operand element types differ: ")
             << element << " and " << t.getElementType();
  }
  FailureOr<SmallVector<int64_t>> shape = broadcastShapes(shapes);
  if (failed(shape)) {
    std::string msg = "operand shapes do not broadcast:";
    for (ArrayRef<int64_t> s : shapes)
      msg += " " + shapeString(s);
    return inferError(loc, msg);
  }
  Type resultElement = rule == ElementRule::Bool
                           ? IntegerType::get(operands.front().getContext(), 1)
                           : element;
  types.push_back(RankedTensorType::get(*shape, resultElement));
  return success();
}

FailureOr<int64_t> normalizeAxis(std::optional<Location> loc, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1) || (rank == 0 && axis != 0 && axis != -1))
    return inferError(loc, "axis ") << axis << " is out of range for rank " << rank;
  return axis < 0 ? axis + rank : axis;
}

LogicalResult inferReduction(std::optional<Location> loc, Value data, ArrayRef<int64_t> axes,
                             bool keepdims, bool noopWithEmptyAxes,
                             SmallVectorImpl<Type> &types) {
  auto t = cast<RankedTensorType>(data.getType());
  int64_t rank = t.getRank();
  if (axes.empty() && noopWithEmptyAxes) {
    types.push_back(t);
    return success();
  }
  llvm::SmallBitVector reduced(rank, axes.empty());
  for (int64_t a : axes) {
    if (a < 0 || a >= rank)
      return inferError(loc, "reduction axis ") << a << " is out of range for rank " << rank;
    if (reduced[a])
      return inferError(loc, "reduction axis ") << a << " is repeated";
    reduced.set(a);
  }
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < rank; ++i) {
    if (!reduced[i])
      shape.push_back(t.getDimSize(i));
    else if (keepdims)
      shape.push_back(1);
  }
  types.push_back(RankedTensorType::get(shape, t.getElementType()));
  return success();
}

LogicalResult inferArgReduction(std::optional<Location> loc, Value data, int64_t axis,
                                bool keepdims, SmallVectorImpl<Type> &types) {
  auto t = cast<RankedTensorType>(data.getType());
  if (axis < 0 || axis >= t.getRank())
    return inferError(loc, "axis ") << axis << " is out of range for rank " << t.getRank();
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < t.getRank(); ++i) {
    if (i != axis)
      shape.push_back(t.getDimSize(i));
    else if (keepdims)
      shape.push_back(1);
  }
  types.push_back(RankedTensorType::get(shape, IntegerType::get(data.getContext(), 64)));
  return success();
}

LogicalResult inferSameWithAxis(std::optional<Location> loc, Value input, int64_t axis,
                                SmallVectorImpl<Type> &types) {
  auto t = cast<RankedTensorType>(input.getType());
  if (axis < 0 || axis >= std::max<int64_t>(t.getRank(), 1))
    return inferError(loc, "axis ") << axis << " is out of range for rank " << t.getRank();
  types.push_back(t);
  return success();
}

LogicalResult inferGlobalPool(std::optional<Location> loc, Value x, SmallVectorImpl<Type> &types) {
  auto t = cast<RankedTensorType>(x.getType());
  if (t.getRank() < 3)
    return inferError(loc, "expects an input of rank 3 or more ([N, C, spatial...]), got rank ")
           << t.getRank();
  SmallVector<int64_t> shape(t.getShape());
  for (int64_t i = 2; i < t.getRank(); ++i)
    shape[i] = 1;
  types.push_back(RankedTensorType::get(shape, t.getElementType()));
  return success();
}

FailureOr<int64_t> windowOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t padBegin,
                                    int64_t padEnd, int64_t dilation, bool ceilMode,
                                    StringRef autoPad) {
  if (in == kDyn)
    return kDyn;
  if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER")
    return llvm::divideCeil(in, stride);
  int64_t effective = dilation * (kernel - 1) + 1;
  int64_t span = in + padBegin + padEnd - effective;
  if (span < 0)
    return failure();
  int64_t out = (ceilMode ? llvm::divideCeil(span, stride) : span / stride) + 1;
  // With ceil_mode, a last window that starts inside the end padding is dropped.
  if (ceilMode && (out - 1) * stride >= in + padBegin)
    --out;
  return out;
}

LogicalResult inferWindowOp(std::optional<Location> loc, RankedTensorType x, int64_t channels,
                            ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                            ArrayRef<int64_t> pads, ArrayRef<int64_t> dilations, bool ceilMode,
                            StringRef autoPad, Type elementType, SmallVectorImpl<Type> &types) {
  int64_t spatial = x.getRank() - 2;
  if (spatial < 1)
    return inferError(loc, "expects an input of rank 3 or more ([N, C, spatial...]), got rank ")
           << x.getRank();
  if ((int64_t)kernel.size() != spatial || (int64_t)strides.size() != spatial ||
      (int64_t)dilations.size() != spatial || (int64_t)pads.size() != 2 * spatial)
    return inferError(loc, "kernel_shape, strides and dilations need ")
           << spatial << " entries and pads " << 2 * spatial << " for a rank-" << x.getRank()
           << " input";
  if (autoPad != "NOTSET" && autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER" &&
      autoPad != "VALID")
    return inferError(loc, "unknown auto_pad '") << autoPad << "'";
  SmallVector<int64_t> shape = {x.getDimSize(0), channels};
  for (int64_t i = 0; i < spatial; ++i) {
    if (kernel[i] < 1 || strides[i] < 1 || dilations[i] < 1 || pads[i] < 0 || pads[i + spatial] < 0)
      return inferError(loc, "kernel, stride and dilation must be positive and pads non-negative");
    FailureOr<int64_t> out = windowOutputSize(x.getDimSize(i + 2), kernel[i], strides[i], pads[i],
                                              pads[i + spatial], dilations[i], ceilMode, autoPad);
    if (failed(out))
      return inferError(loc, "the window (kernel ")
             << kernel[i] << ", dilation " << dilations[i] << ") is larger than spatial dim " << i
             << " (" << x.getDimSize(i + 2) << " plus pads)";
    shape.push_back(*out);
  }
  types.push_back(RankedTensorType::get(shape, elementType));
  return success();
}

FailureOr<SmallVector<int64_t>> matmulShape(std::optional<Location> loc, ArrayRef<int64_t> a,
                                            ArrayRef<int64_t> b) {
  if (a.empty() || b.empty())
    return inferError(loc, "matmul operands must have rank 1 or more");
  SmallVector<int64_t> as(a), bs(b);
  bool dropM = false, dropN = false;
  if (as.size() == 1) {
    as.insert(as.begin(), 1);
    dropM = true;
  }
  if (bs.size() == 1) {
    bs.push_back(1);
    dropN = true;
  }
  int64_t ka = as.back(), kb = bs[bs.size() - 2];
  if (ka != kDyn && kb != kDyn && ka != kb)
    return inferError(loc, "matmul contraction dims differ: ")
           << shapeString(a) << " x " << shapeString(b);
  FailureOr<SmallVector<int64_t>> batch =
      broadcastShapes({ArrayRef<int64_t>(as).drop_back(2), ArrayRef<int64_t>(bs).drop_back(2)});
  if (failed(batch))
    return inferError(loc, "matmul batch dims do not broadcast: ")
           << shapeString(a) << " x " << shapeString(b);
  SmallVector<int64_t> shape = *batch;
  if (!dropM)
    shape.push_back(as[as.size() - 2]);
  if (!dropN)
    shape.push_back(bs.back());
  return shape;
}

std::optional<SmallVector<int64_t>> getConstantInts(Attribute attr) {
  auto dense = dyn_cast_or_null<DenseIntElementsAttr>(attr);
  if (!dense || dense.getNumElements() > kFoldElementLimit)
    return std::nullopt;
  SmallVector<int64_t> values;
  values.reserve(dense.getNumElements());
  bool isUnsigned = dense.getElementType().isUnsignedInteger();
  for (const APInt &v : dense.getValues<APInt>())
    values.push_back(isUnsigned ? (int64_t)v.getZExtValue() : v.getSExtValue());
  return values;
}

std::optional<SmallVector<int64_t>> getConstantInts(Value v) {
  Attribute attr;
  if (!v || !matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  return getConstantInts(attr);
}

std::optional<int64_t> getStaticLength(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (!t || t.getRank() > 1)
    return std::nullopt;
  if (t.getRank() == 0)
    return 1;
  if (t.isDynamicDim(0))
    return std::nullopt;
  return t.getDimSize(0);
}

} // namespace tern
