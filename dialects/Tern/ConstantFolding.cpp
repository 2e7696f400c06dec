//===- ConstantFolding.cpp - folding of small constant elementwise ops ---===//
//
// Exporters compute shapes at run time (Shape -> Gather -> Add -> Concat ->
// Reshape). When the input shapes are pinned these chains see only constants,
// and folding them here is what gives the rest of the graph static shapes.
// Only small tensors fold (kFoldElementLimit): weights are never touched.
//
//===----------------------------------------------------------------------===//

#include "dialects/Tern/TernOps.h"

#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/TypeSwitch.h"
#include <cmath>
#include <cstring>

using namespace mlir;

namespace tern {
namespace {

/// A small constant tensor read into host numbers.
struct HostTensor {
  SmallVector<int64_t> shape;
  bool isFloat = false;
  std::vector<double> f;
  std::vector<int64_t> i;

  double asDouble(int64_t k) const { return isFloat ? f[k] : (double)i[k]; }
  int64_t asInt(int64_t k) const { return isFloat ? (int64_t)f[k] : i[k]; }
};

std::optional<HostTensor> read(Attribute attr) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(attr);
  if (!dense || dense.getNumElements() > kFoldElementLimit)
    return std::nullopt;
  HostTensor t;
  auto type = cast<ShapedType>(dense.getType());
  t.shape.assign(type.getShape().begin(), type.getShape().end());
  Type element = type.getElementType();
  if (isa<FloatType>(element)) {
    t.isFloat = true;
    for (APFloat v : dense.getValues<APFloat>())
      t.f.push_back(v.convertToDouble());
  } else if (auto it = dyn_cast<IntegerType>(element)) {
    bool isUnsigned = it.isUnsigned() || it.getWidth() == 1;
    for (const APInt &v : dense.getValues<APInt>())
      t.i.push_back(isUnsigned ? (int64_t)v.getZExtValue() : v.getSExtValue());
  } else {
    return std::nullopt;
  }
  return t;
}

} // namespace

/// Builds a dense attribute of `type` from doubles or integers.
Attribute writeDense(RankedTensorType type, ArrayRef<double> f, ArrayRef<int64_t> i, bool isFloat) {
  Type element = type.getElementType();
  int64_t n = type.getNumElements();
  if (auto ft = dyn_cast<FloatType>(element)) {
    SmallVector<APFloat> values;
    values.reserve(n);
    for (int64_t k = 0; k < n; ++k) {
      APFloat v(isFloat ? f[k] : (double)i[k]);
      bool lost;
      v.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      values.push_back(v);
    }
    return DenseElementsAttr::get(type, values);
  }
  auto it = dyn_cast<IntegerType>(element);
  if (!it)
    return {};
  SmallVector<APInt> values;
  values.reserve(n);
  for (int64_t k = 0; k < n; ++k) {
    int64_t v = isFloat ? (int64_t)f[k] : i[k];
    if (it.getWidth() == 1)
      v = v != 0;
    values.push_back(APInt(it.getWidth(), (uint64_t)v, /*isSigned=*/!it.isUnsigned(),
                           /*implicitTrunc=*/true));
  }
  return DenseElementsAttr::get(type, values);
}

/// For each element of `resultShape`, the index of the broadcast element of
/// an operand of shape `shape`.
static SmallVector<int64_t> broadcastIndex(ArrayRef<int64_t> resultShape, ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : resultShape)
    n *= d;
  SmallVector<int64_t> strides(resultShape.size(), 0);
  int64_t stride = 1;
  size_t offset = resultShape.size() - shape.size();
  for (int64_t k = shape.size() - 1; k >= 0; --k) {
    strides[offset + k] = shape[k] == 1 ? 0 : stride;
    stride *= shape[k];
  }
  SmallVector<int64_t> index(n);
  SmallVector<int64_t> counter(resultShape.size(), 0);
  for (int64_t e = 0; e < n; ++e) {
    int64_t linear = 0;
    for (size_t d = 0; d < counter.size(); ++d)
      linear += counter[d] * strides[d];
    index[e] = linear;
    for (int64_t d = counter.size() - 1; d >= 0; --d) {
      if (++counter[d] < resultShape[d])
        break;
      counter[d] = 0;
    }
  }
  return index;
}

using FloatFn = std::function<std::optional<double>(ArrayRef<double>)>;
using IntFn = std::function<std::optional<int64_t>(ArrayRef<int64_t>)>;

/// The scalar function of each foldable elementwise op, on doubles and on
/// integers (either may be null when the op has no such form).
static std::pair<FloatFn, IntFn> scalarFunction(Operation *op) {
  using R = std::pair<FloatFn, IntFn>;
  auto fb = [](auto fn) -> FloatFn {
    return [fn](ArrayRef<double> a) -> std::optional<double> { return fn(a[0], a[1]); };
  };
  auto ib = [](auto fn) -> IntFn {
    return [fn](ArrayRef<int64_t> a) -> std::optional<int64_t> { return fn(a[0], a[1]); };
  };
  auto fu = [](double (*fn)(double)) -> FloatFn {
    return [fn](ArrayRef<double> a) -> std::optional<double> { return fn(a[0]); };
  };
  auto fold = [](auto fn) -> IntFn { // variadic reductions over operands
    return [fn](ArrayRef<int64_t> a) -> std::optional<int64_t> {
      int64_t r = a[0];
      for (int64_t v : a.drop_front())
        r = fn(r, v);
      return r;
    };
  };
  auto foldf = [](auto fn) -> FloatFn {
    return [fn](ArrayRef<double> a) -> std::optional<double> {
      double r = a[0];
      for (double v : a.drop_front())
        r = fn(r, v);
      return r;
    };
  };
  return llvm::TypeSwitch<Operation *, R>(op)
      .Case([&](AddOp) { return R{fb(std::plus<double>()), ib(std::plus<int64_t>())}; })
      .Case([&](SubOp) { return R{fb(std::minus<double>()), ib(std::minus<int64_t>())}; })
      .Case([&](MulOp) { return R{fb(std::multiplies<double>()), ib(std::multiplies<int64_t>())}; })
      .Case([&](DivOp) {
        return R{fb(std::divides<double>()), [](ArrayRef<int64_t> a) -> std::optional<int64_t> {
                   if (a[1] == 0)
                     return std::nullopt;
                   return a[0] / a[1];
                 }};
      })
      .Case([&](ModOp mod) {
        bool fmod = mod.getFmod();
        return R{fb([](double x, double y) { return std::fmod(x, y); }),
                 [fmod](ArrayRef<int64_t> a) -> std::optional<int64_t> {
                   if (a[1] == 0)
                     return std::nullopt;
                   int64_t r = a[0] % a[1];
                   if (!fmod && r != 0 && ((r < 0) != (a[1] < 0)))
                     r += a[1];
                   return r;
                 }};
      })
      .Case([&](PowOp) {
        return R{fb([](double x, double y) { return std::pow(x, y); }),
                 ib([](int64_t x, int64_t y) { return (int64_t)std::pow((double)x, (double)y); })};
      })
      .Case([&](MaxOp) {
        return R{foldf([](double x, double y) { return std::max(x, y); }),
                 fold([](int64_t x, int64_t y) { return std::max(x, y); })};
      })
      .Case([&](MinOp) {
        return R{foldf([](double x, double y) { return std::min(x, y); }),
                 fold([](int64_t x, int64_t y) { return std::min(x, y); })};
      })
      .Case([&](SumOp) {
        return R{foldf(std::plus<double>()), fold(std::plus<int64_t>())};
      })
      .Case([&](EqualOp) {
        return R{fb([](double x, double y) { return (double)(x == y); }),
                 ib([](int64_t x, int64_t y) { return (int64_t)(x == y); })};
      })
      .Case([&](LessOp) {
        return R{fb([](double x, double y) { return (double)(x < y); }),
                 ib([](int64_t x, int64_t y) { return (int64_t)(x < y); })};
      })
      .Case([&](LessOrEqualOp) {
        return R{fb([](double x, double y) { return (double)(x <= y); }),
                 ib([](int64_t x, int64_t y) { return (int64_t)(x <= y); })};
      })
      .Case([&](GreaterOp) {
        return R{fb([](double x, double y) { return (double)(x > y); }),
                 ib([](int64_t x, int64_t y) { return (int64_t)(x > y); })};
      })
      .Case([&](GreaterOrEqualOp) {
        return R{fb([](double x, double y) { return (double)(x >= y); }),
                 ib([](int64_t x, int64_t y) { return (int64_t)(x >= y); })};
      })
      .Case([&](AndOp) { return R{nullptr, ib([](int64_t x, int64_t y) { return (int64_t)(x && y); })}; })
      .Case([&](OrOp) { return R{nullptr, ib([](int64_t x, int64_t y) { return (int64_t)(x || y); })}; })
      .Case([&](XorOp) { return R{nullptr, ib([](int64_t x, int64_t y) { return (int64_t)((x != 0) != (y != 0)); })}; })
      .Case([&](NotOp) { return R{nullptr, [](ArrayRef<int64_t> a) -> std::optional<int64_t> { return !a[0]; }}; })
      .Case([&](NegOp) {
        return R{[](ArrayRef<double> a) -> std::optional<double> { return -a[0]; },
                 [](ArrayRef<int64_t> a) -> std::optional<int64_t> { return -a[0]; }};
      })
      .Case([&](AbsOp) {
        return R{fu(std::fabs), [](ArrayRef<int64_t> a) -> std::optional<int64_t> { return std::abs(a[0]); }};
      })
      .Case([&](ReluOp) {
        return R{[](ArrayRef<double> a) -> std::optional<double> { return std::max(a[0], 0.0); },
                 [](ArrayRef<int64_t> a) -> std::optional<int64_t> { return std::max<int64_t>(a[0], 0); }};
      })
      .Case([&](SignOp) {
        return R{[](ArrayRef<double> a) -> std::optional<double> { return (a[0] > 0) - (a[0] < 0); },
                 [](ArrayRef<int64_t> a) -> std::optional<int64_t> { return (a[0] > 0) - (a[0] < 0); }};
      })
      .Case([&](SqrtOp) { return R{fu(std::sqrt), nullptr}; })
      .Case([&](ExpOp) { return R{fu(std::exp), nullptr}; })
      .Case([&](LogOp) { return R{fu(std::log), nullptr}; })
      .Case([&](CosOp) { return R{fu(std::cos), nullptr}; })
      .Case([&](SinOp) { return R{fu(std::sin), nullptr}; })
      .Case([&](FloorOp) { return R{fu(std::floor), nullptr}; })
      .Case([&](CeilOp) { return R{fu(std::ceil), nullptr}; })
      .Case([&](RoundOp) { return R{fu(std::nearbyint), nullptr}; })
      .Case([&](ReciprocalOp) {
        return R{[](ArrayRef<double> a) -> std::optional<double> { return 1.0 / a[0]; }, nullptr};
      })
      .Default([](Operation *) { return R{nullptr, nullptr}; });
}

OpFoldResult foldElementwise(Operation *op, ArrayRef<Attribute> operands) {
  auto resultType = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!resultType || !resultType.hasStaticShape() ||
      resultType.getNumElements() > kFoldElementLimit || operands.empty())
    return {};
  SmallVector<HostTensor> inputs;
  for (Attribute a : operands) {
    std::optional<HostTensor> t = read(a);
    if (!t)
      return {};
    inputs.push_back(std::move(*t));
  }
  auto [floatFn, intFn] = scalarFunction(op);
  // Integer arithmetic when every operand is integral; the comparisons of
  // floats produce i1 but compute on doubles.
  bool anyFloat = llvm::any_of(inputs, [](const HostTensor &t) { return t.isFloat; });
  if ((anyFloat && !floatFn) || (!anyFloat && !intFn))
    return {};
  int64_t n = resultType.getNumElements();
  SmallVector<SmallVector<int64_t>> index;
  for (const HostTensor &t : inputs)
    index.push_back(broadcastIndex(resultType.getShape(), t.shape));
  std::vector<double> f;
  std::vector<int64_t> i;
  bool resultFloat = isa<FloatType>(resultType.getElementType());
  SmallVector<double> fa(inputs.size());
  SmallVector<int64_t> ia(inputs.size());
  for (int64_t e = 0; e < n; ++e) {
    if (anyFloat) {
      for (size_t k = 0; k < inputs.size(); ++k)
        fa[k] = inputs[k].asDouble(index[k][e]);
      std::optional<double> r = floatFn(fa);
      if (!r)
        return {};
      if (resultFloat)
        f.push_back(*r);
      else
        i.push_back((int64_t)*r);
    } else {
      for (size_t k = 0; k < inputs.size(); ++k)
        ia[k] = inputs[k].i[index[k][e]];
      std::optional<int64_t> r = intFn(ia);
      if (!r)
        return {};
      i.push_back(*r);
    }
  }
  bool computedFloat = anyFloat && resultFloat;
  return writeDense(resultType, f, i, computedFloat);
}

} // namespace tern

namespace tern {

Attribute castDense(Attribute input, RankedTensorType resultType) {
  std::optional<HostTensor> t = read(input);
  if (!t || !resultType.hasStaticShape())
    return {};
  return writeDense(resultType, t->f, t->i, t->isFloat);
}

} // namespace tern

namespace tern {

SmallVector<Attribute> broadcastElements(DenseElementsAttr a, ArrayRef<int64_t> shape) {
  SmallVector<Attribute> src(a.getValues<Attribute>());
  SmallVector<int64_t> index = broadcastIndex(shape, a.getType().getShape());
  SmallVector<Attribute> result;
  result.reserve(index.size());
  for (int64_t k : index)
    result.push_back(src[k]);
  return result;
}

} // namespace tern

namespace tern {

ElementsAttr constantAttr(ShapedType type, ArrayRef<char> bytes, StringRef name, int64_t denseLimit) {
  if (type.getNumElements() <= denseLimit)
    return DenseElementsAttr::getFromRawBuffer(type, bytes);
  return DenseResourceElementsAttr::get(type, name, HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, 64));
}

std::optional<std::vector<float>> constantFloats(Attribute value) {
  auto typed = dyn_cast_or_null<TypedAttr>(value);
  auto type = typed ? dyn_cast<ShapedType>(typed.getType()) : ShapedType();
  if (!type || !type.hasStaticShape() || !type.getElementType().isF32())
    return std::nullopt;
  int64_t n = type.getNumElements();
  if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    auto values = dense.getValues<float>();
    return std::vector<float>(values.begin(), values.end());
  }
  auto res = dyn_cast<DenseResourceElementsAttr>(value);
  AsmResourceBlob *blob = res ? res.getRawHandle().getBlob() : nullptr;
  if (!blob || (int64_t)blob->getData().size() != n * 4)
    return std::nullopt;
  std::vector<float> out(n);
  std::memcpy(out.data(), blob->getData().data(), n * 4);
  return out;
}

std::optional<std::vector<double>> constantElements(Attribute value, bool isUnsigned) {
  auto typed = dyn_cast_or_null<TypedAttr>(value);
  auto type = typed ? dyn_cast<ShapedType>(typed.getType()) : ShapedType();
  if (!type || !type.hasStaticShape())
    return std::nullopt;
  Type elem = type.getElementType();
  int64_t n = type.getNumElements();
  auto it = dyn_cast<IntegerType>(elem);
  if (!elem.isF32() && !(it && llvm::is_contained({8u, 16u, 32u}, it.getWidth())))
    return std::nullopt;
  std::vector<double> out;
  out.reserve(n);
  if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    if (it) {
      for (const APInt &x : dense.getValues<APInt>())
        out.push_back(isUnsigned ? (double)x.getZExtValue() : (double)x.getSExtValue());
    } else {
      for (float x : dense.getValues<float>())
        out.push_back(x);
    }
    return out;
  }
  auto res = dyn_cast<DenseResourceElementsAttr>(value);
  AsmResourceBlob *blob = res ? res.getRawHandle().getBlob() : nullptr;
  int64_t bytes = it ? it.getWidth() / 8 : 4;
  if (!blob || (int64_t)blob->getData().size() != n * bytes)
    return std::nullopt;
  const char *data = blob->getData().data();
  for (int64_t i = 0; i < n; ++i) {
    uint32_t raw = 0; // little-endian, as the blobs are
    std::memcpy(&raw, data + i * bytes, bytes);
    if (!it) {
      float f;
      std::memcpy(&f, &raw, 4);
      out.push_back(f);
    } else if (isUnsigned) {
      out.push_back((double)raw);
    } else {
      int shift = 32 - (int)it.getWidth();
      out.push_back((double)((int32_t)(raw << shift) >> shift));
    }
  }
  return out;
}

} // namespace tern
