//===- TensorOps.cpp - constants, shapes and data movement ---------------===//
//
// Besides each op's inference, this file tracks "shape values": the 1-D i64
// tensors exporters build with Shape/Gather/Concat/Slice/Unsqueeze to feed
// Reshape, Expand and friends. Their elements are known wherever the dims
// they come from are static, even when other dims are dynamic, so
// `Reshape(x, Concat(Shape(x)[0:2], [12, 64]))` infers `?x?x12x64`.
//
//===----------------------------------------------------------------------===//

#include "dialects/Tern/TernOps.h"
#include "dialects/Tern/SymbolicDims.h"

#include "mlir/IR/Matchers.h"
#include "llvm/ADT/SmallBitVector.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace tern;

#define GET_OP_CLASSES
#include "dialects/Tern/TernTensorOps.cpp.inc"

void TernDialect::registerTensorOps() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Tern/TernTensorOps.cpp.inc"
      >();
}

static constexpr int64_t kDyn = ShapedType::kDynamic;

static RankedTensorType tensorType(Value v) { return cast<RankedTensorType>(v.getType()); }

//===----------------------------------------------------------------------===//
// Shape values
//===----------------------------------------------------------------------===//

/// Normalizes Slice parameters for a dim of size `dim` and returns the
/// (start, step, count) of the selected elements.
static std::tuple<int64_t, int64_t, int64_t> sliceRange(int64_t start, int64_t end, int64_t step,
                                                        int64_t dim) {
  if (start < 0)
    start = start < -dim ? 0 : start + dim;
  if (end < 0)
    end = end < -dim ? -1 : end + dim;
  int64_t count;
  if (step > 0) {
    start = std::min(start, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    count = end > start ? (end - start + step - 1) / step : 0;
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
    count = start > end ? (start - end + (-step) - 1) / (-step) : 0;
  }
  return {start, step, count};
}

/// An element known to be `v`.
static ShapeElement knownElement(int64_t v) { return ShapeElement{v, std::nullopt}; }

static std::optional<SmallVector<ShapeElement>> knownElements(std::optional<SmallVector<int64_t>> values) {
  if (!values)
    return std::nullopt;
  return llvm::map_to_vector(*values, knownElement);
}

static std::optional<SmallVector<ShapeElement>> symbolicShapeValues(Value v, int depth) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || type.getRank() > 1 || !type.getElementType().isInteger() || depth > 16)
    return std::nullopt;
  if (std::optional<SmallVector<int64_t>> c = getConstantInts(v))
    return knownElements(c);
  Operation *def = v.getDefiningOp();
  if (!def)
    return std::nullopt;
  return llvm::TypeSwitch<Operation *, std::optional<SmallVector<ShapeElement>>>(def)
      .Case([&](ShapeOp op) -> std::optional<SmallVector<ShapeElement>> {
        auto t = tensorType(op.getData());
        int64_t start = op.getStart(), end = op.getEnd();
        if (start < 0 || end > t.getRank() || start > end)
          return std::nullopt;
        SmallVector<ShapeElement> result;
        for (int64_t i = start; i < end; ++i)
          result.push_back(t.isDynamicDim(i) ? ShapeElement{kDyn, canonicalDim(op.getData(), i)}
                                             : knownElement(t.getDimSize(i)));
        return result;
      })
      .Case([&](ConcatOp op) -> std::optional<SmallVector<ShapeElement>> {
        SmallVector<ShapeElement> result;
        for (Value in : op.getInputs()) {
          if (std::optional<SmallVector<ShapeElement>> part = symbolicShapeValues(in, depth + 1)) {
            result.append(*part);
            continue;
          }
          std::optional<int64_t> n = getStaticLength(in);
          if (!n)
            return std::nullopt;
          result.append(*n, ShapeElement{});
        }
        return result;
      })
      .Case<UnsqueezeOp, SqueezeOp, ReshapeOp>(
          [&](auto op) { return symbolicShapeValues(op->getOperand(0), depth + 1); })
      .Case([&](CastOp op) -> std::optional<SmallVector<ShapeElement>> {
        if (!tensorType(op.getInput()).getElementType().isInteger())
          return std::nullopt;
        return symbolicShapeValues(op.getInput(), depth + 1);
      })
      .Case([&](GatherOp op) -> std::optional<SmallVector<ShapeElement>> {
        std::optional<SmallVector<ShapeElement>> data = symbolicShapeValues(op.getData(), depth + 1);
        std::optional<SmallVector<int64_t>> idx = getConstantInts(op.getIndices());
        if (!data || !idx || tensorType(op.getData()).getRank() != 1)
          return std::nullopt;
        SmallVector<ShapeElement> result;
        int64_t n = data->size();
        for (int64_t i : *idx) {
          if (i < -n || i >= n)
            return std::nullopt;
          result.push_back((*data)[i < 0 ? i + n : i]);
        }
        return result;
      })
      .Case([&](SliceOp op) -> std::optional<SmallVector<ShapeElement>> {
        std::optional<SmallVector<ShapeElement>> data = symbolicShapeValues(op.getData(), depth + 1);
        auto starts = getConstantInts(op.getStarts()), ends = getConstantInts(op.getEnds()),
             steps = getConstantInts(op.getSteps());
        if (!data || !starts || !ends || !steps || starts->size() != 1 || ends->size() != 1 ||
            steps->size() != 1 || (*steps)[0] == 0 || tensorType(op.getData()).getRank() != 1)
          return std::nullopt;
        auto [start, step, count] =
            sliceRange((*starts)[0], (*ends)[0], (*steps)[0], data->size());
        SmallVector<ShapeElement> result;
        for (int64_t k = 0; k < count; ++k)
          result.push_back((*data)[start + k * step]);
        return result;
      })
      .Default([](Operation *) { return std::nullopt; });
}

std::optional<SmallVector<ShapeElement>> tern::getSymbolicShapeValues(Value v) {
  return symbolicShapeValues(v, 0);
}

/// The elements of an integer tensor of rank <= 1, kDyn where unknown.
static std::optional<SmallVector<int64_t>> getShapeValues(Value v) {
  std::optional<SmallVector<ShapeElement>> elements = symbolicShapeValues(v, 0);
  if (!elements)
    return std::nullopt;
  return llvm::map_to_vector(*elements, [](const ShapeElement &e) { return e.value; });
}

/// Folds an op whose result is a shape value with every element known.
static OpFoldResult foldShapeValues(Value result) {
  auto type = dyn_cast<RankedTensorType>(result.getType());
  if (!type || !type.hasStaticShape() || type.getRank() > 1)
    return {};
  std::optional<SmallVector<int64_t>> values = getShapeValues(result);
  if (!values || (int64_t)values->size() != type.getNumElements() ||
      llvm::is_contained(*values, kDyn))
    return {};
  auto it = dyn_cast<IntegerType>(type.getElementType());
  if (!it)
    return {};
  SmallVector<APInt> elems;
  for (int64_t v : *values)
    elems.push_back(APInt(it.getWidth(), (uint64_t)v, !it.isUnsigned(), true));
  return DenseElementsAttr::get(type, elems);
}

/// Shape values of a 1-D shape operand, or all-dynamic of its static length.
static FailureOr<SmallVector<int64_t>> shapeOperand(std::optional<Location> loc, Value shape) {
  auto t = tensorType(shape);
  if (t.getRank() != 1)
    return inferError(loc, "shape operand must be 1-D, got ") << t;
  if (std::optional<SmallVector<int64_t>> v = getShapeValues(shape))
    return *v;
  if (t.isDynamicDim(0))
    return inferError(loc, "the length of the shape operand must be static to know the rank");
  return SmallVector<int64_t>(t.getDimSize(0), kDyn);
}

static int64_t product(ArrayRef<int64_t> dims) {
  int64_t p = 1;
  for (int64_t d : dims) {
    if (d == kDyn)
      return kDyn;
    p *= d;
  }
  return p;
}

//===----------------------------------------------------------------------===//
// ConstantOp
//===----------------------------------------------------------------------===//

LogicalResult ConstantOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                           Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto type = dyn_cast<RankedTensorType>(adaptor.getValue().getType());
  if (!type)
    return inferError(loc, "constant value must be a ranked tensor");
  types.push_back(type);
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

//===----------------------------------------------------------------------===//
// ShapeOp, SizeOp
//===----------------------------------------------------------------------===//

LogicalResult ShapeOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                        Adaptor adaptor, SmallVectorImpl<Type> &types) {
  int64_t rank = tensorType(adaptor.getData()).getRank();
  int64_t start = adaptor.getStart(), end = adaptor.getEnd();
  if (start < 0 || end > rank || start > end)
    return inferError(loc, "shape range [") << start << ", " << end << ") is invalid for rank "
                                            << rank;
  types.push_back(RankedTensorType::get({end - start}, IntegerType::get(ctx, 64)));
  return success();
}

OpFoldResult ShapeOp::fold(FoldAdaptor) { return foldShapeValues(getResult()); }

LogicalResult SizeOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location>, Adaptor,
                                       SmallVectorImpl<Type> &types) {
  types.push_back(RankedTensorType::get({}, IntegerType::get(ctx, 64)));
  return success();
}

OpFoldResult SizeOp::fold(FoldAdaptor) {
  auto t = tensorType(getData());
  if (!t.hasStaticShape())
    return {};
  return DenseElementsAttr::get(getType(), APInt(64, t.getNumElements()));
}

//===----------------------------------------------------------------------===//
// ReshapeOp
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto in = tensorType(adaptor.getData());
  auto shapeType = tensorType(adaptor.getShape());
  if (shapeType.getRank() != 1)
    return inferError(loc, "shape operand must be 1-D, got ") << shapeType;
  std::optional<SmallVector<ShapeElement>> requested = getSymbolicShapeValues(adaptor.getShape());
  if (!requested) {
    if (shapeType.isDynamicDim(0))
      return inferError(loc, "the length of the shape operand must be static to know the rank");
    requested = SmallVector<ShapeElement>(shapeType.getDimSize(0));
  }
  SmallVector<int64_t> shape;
  std::string error;
  if (failed(reshapeDims(adaptor.getData(), *requested, adaptor.getAllowzero(), shape, error)))
    return inferError(loc, error);
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getData().getType() == getType() && getType().hasStaticShape())
    return getData();
  if (OpFoldResult r = foldShapeValues(getResult()))
    return r;
  auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getData());
  if (dense && getType().hasStaticShape() &&
      (dense.isSplat() || dense.getNumElements() <= kFoldElementLimit))
    return dense.reshape(getType());
  return {};
}

//===----------------------------------------------------------------------===//
// TransposeOp
//===----------------------------------------------------------------------===//

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto in = tensorType(adaptor.getData());
  ArrayRef<int64_t> perm = adaptor.getPerm();
  if ((int64_t)perm.size() != in.getRank())
    return inferError(loc, "perm has ") << perm.size() << " entries for rank " << in.getRank();
  llvm::SmallBitVector seen(in.getRank());
  SmallVector<int64_t> shape;
  for (int64_t p : perm) {
    if (p < 0 || p >= in.getRank() || seen[p])
      return inferError(loc, "perm is not a permutation of the dims");
    seen.set(p);
    shape.push_back(in.getDimSize(p));
  }
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  if (llvm::equal(getPerm(), llvm::seq<int64_t>(0, getPerm().size())))
    return getData();
  auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getData());
  if (!dense || !getType().hasStaticShape())
    return {};
  if (dense.isSplat())
    return dense.reshape(getType());
  if (dense.getNumElements() > kFoldElementLimit)
    return {};
  SmallVector<Attribute> src(dense.getValues<Attribute>());
  ArrayRef<int64_t> inShape = dense.getType().getShape();
  SmallVector<int64_t> inStrides(inShape.size(), 1);
  for (int64_t d = (int64_t)inShape.size() - 2; d >= 0; --d)
    inStrides[d] = inStrides[d + 1] * inShape[d + 1];
  ArrayRef<int64_t> outShape = getType().getShape();
  SmallVector<Attribute> out;
  SmallVector<int64_t> counter(outShape.size(), 0);
  for (int64_t e = 0; e < getType().getNumElements(); ++e) {
    int64_t linear = 0;
    for (size_t d = 0; d < outShape.size(); ++d)
      linear += counter[d] * inStrides[getPerm()[d]];
    out.push_back(src[linear]);
    for (int64_t d = outShape.size() - 1; d >= 0; --d) {
      if (++counter[d] < outShape[d])
        break;
      counter[d] = 0;
    }
  }
  return DenseElementsAttr::get(getType(), out);
}

//===----------------------------------------------------------------------===//
// ConcatOp, SplitOp
//===----------------------------------------------------------------------===//

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return inferError(loc, "concat needs at least one input");
  auto first = tensorType(inputs.front());
  int64_t rank = first.getRank(), axis = adaptor.getAxis();
  if (axis < 0 || axis >= rank)
    return inferError(loc, "concat axis ") << axis << " is out of range for rank " << rank;
  SmallVector<int64_t> shape(first.getShape());
  shape[axis] = 0;
  for (Value v : inputs) {
    auto t = tensorType(v);
    if (t.getRank() != rank || t.getElementType() != first.getElementType())
      return inferError(loc, "concat inputs differ in rank or element type: ")
             << first << " and " << t;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t s = t.getDimSize(d);
      if (d == axis) {
        shape[d] = (shape[d] == kDyn || s == kDyn) ? kDyn : shape[d] + s;
      } else if (shape[d] == kDyn) {
        shape[d] = s;
      } else if (s != kDyn && s != shape[d]) {
        return inferError(loc, "concat inputs differ in dim ") << d << ": " << shape[d]
                                                               << " and " << s;
      }
    }
  }
  types.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  if (getInputs().size() == 1 && getInputs().front().getType() == getType())
    return getInputs().front();
  if (OpFoldResult r = foldShapeValues(getResult()))
    return r;
  if (!getType().hasStaticShape() || getType().getNumElements() > kFoldElementLimit)
    return {};
  SmallVector<DenseElementsAttr> parts;
  for (Attribute a : adaptor.getInputs()) {
    auto d = dyn_cast_or_null<DenseElementsAttr>(a);
    if (!d)
      return {};
    parts.push_back(d);
  }
  ArrayRef<int64_t> shape = getType().getShape();
  int64_t axis = getAxis();
  int64_t outer = product(shape.take_front(axis));
  SmallVector<SmallVector<Attribute>> values;
  for (DenseElementsAttr p : parts)
    values.emplace_back(p.getValues<Attribute>());
  SmallVector<Attribute> out;
  for (int64_t o = 0; o < outer; ++o)
    for (auto [p, v] : llvm::zip(parts, values)) {
      int64_t block = product(p.getType().getShape().drop_front(axis));
      out.append(v.begin() + o * block, v.begin() + (o + 1) * block);
    }
  return DenseElementsAttr::get(getType(), out);
}

LogicalResult SplitOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                        Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto in = tensorType(adaptor.getInput());
  int64_t axis = adaptor.getAxis(), n = adaptor.getNumOutputs();
  if (axis < 0 || axis >= in.getRank())
    return inferError(loc, "split axis ") << axis << " is out of range for rank " << in.getRank();
  if (n < 1)
    return inferError(loc, "split needs at least one output");
  int64_t dim = in.getDimSize(axis);
  SmallVector<int64_t> sizes(n, kDyn);
  if (Value split = adaptor.getSplit()) {
    std::optional<int64_t> len = getStaticLength(split);
    if (len && *len != n)
      return inferError(loc, "split has ") << *len << " sizes for " << n << " outputs";
    if (std::optional<SmallVector<int64_t>> v = getShapeValues(split)) {
      if ((int64_t)v->size() != n)
        return inferError(loc, "split has ") << v->size() << " sizes for " << n << " outputs";
      int64_t sum = 0;
      for (int64_t s : *v) {
        if (s < 0 && s != kDyn)
          return inferError(loc, "split sizes must be non-negative");
        sum = (sum == kDyn || s == kDyn) ? kDyn : sum + s;
      }
      if (sum != kDyn && dim != kDyn && sum != dim)
        return inferError(loc, "split sizes add up to ") << sum << ", not dim " << dim;
      sizes = *v;
    }
  } else if (dim != kDyn) {
    int64_t chunk = llvm::divideCeil(dim, n);
    if (chunk * (n - 1) >= dim && n > 1)
      return inferError(loc, "cannot split dim ") << dim << " into " << n << " parts";
    for (int64_t i = 0; i < n; ++i)
      sizes[i] = i + 1 < n ? chunk : dim - chunk * (n - 1);
  }
  for (int64_t s : sizes) {
    SmallVector<int64_t> shape(in.getShape());
    shape[axis] = s;
    types.push_back(RankedTensorType::get(shape, in.getElementType()));
  }
  return success();
}

//===----------------------------------------------------------------------===//
// SqueezeOp, UnsqueezeOp, FlattenOp
//===----------------------------------------------------------------------===//

LogicalResult SqueezeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto in = tensorType(adaptor.getData());
  llvm::SmallBitVector drop(in.getRank());
  for (int64_t a : adaptor.getAxes()) {
    if (a < 0 || a >= in.getRank())
      return inferError(loc, "squeeze axis ") << a << " is out of range for rank " << in.getRank();
    if (!in.isDynamicDim(a) && in.getDimSize(a) != 1)
      return inferError(loc, "cannot squeeze dim ") << a << " of size " << in.getDimSize(a);
    drop.set(a);
  }
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < in.getRank(); ++i)
    if (!drop[i])
      shape.push_back(in.getDimSize(i));
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

LogicalResult UnsqueezeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto in = tensorType(adaptor.getData());
  int64_t rank = in.getRank() + adaptor.getAxes().size();
  llvm::SmallBitVector insert(rank);
  for (int64_t a : adaptor.getAxes()) {
    if (a < 0 || a >= rank || insert[a])
      return inferError(loc, "unsqueeze axis ") << a << " is out of range or repeated for rank "
                                                << rank;
    insert.set(a);
  }
  SmallVector<int64_t> shape;
  int64_t next = 0;
  for (int64_t i = 0; i < rank; ++i)
    shape.push_back(insert[i] ? 1 : in.getDimSize(next++));
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

/// Squeeze and Unsqueeze only change the shape: fold constants by reshaping.
static OpFoldResult foldReshapeLike(Value result, Attribute input) {
  if (OpFoldResult r = foldShapeValues(result))
    return r;
  auto dense = dyn_cast_or_null<DenseElementsAttr>(input);
  auto type = cast<RankedTensorType>(result.getType());
  if (dense && type.hasStaticShape() &&
      (dense.isSplat() || dense.getNumElements() <= kFoldElementLimit))
    return dense.reshape(type);
  return {};
}

OpFoldResult SqueezeOp::fold(FoldAdaptor adaptor) {
  if (getAxes().empty())
    return getData();
  return foldReshapeLike(getResult(), adaptor.getData());
}

OpFoldResult UnsqueezeOp::fold(FoldAdaptor adaptor) {
  if (getAxes().empty())
    return getData();
  return foldReshapeLike(getResult(), adaptor.getData());
}

LogicalResult FlattenOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto in = tensorType(adaptor.getInput());
  int64_t axis = adaptor.getAxis();
  if (axis < 0 || axis > in.getRank())
    return inferError(loc, "flatten axis ") << axis << " is out of range for rank " << in.getRank();
  types.push_back(RankedTensorType::get(
      {product(in.getShape().take_front(axis)), product(in.getShape().drop_front(axis))},
      in.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// ExpandOp, TileOp, ConstantOfShapeOp
//===----------------------------------------------------------------------===//

LogicalResult ExpandOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto in = tensorType(adaptor.getInput());
  FailureOr<SmallVector<int64_t>> shape = shapeOperand(loc, adaptor.getShape());
  if (failed(shape))
    return failure();
  for (int64_t &d : *shape) {
    if (d < 0 && d != kDyn)
      return inferError(loc, "expand shape has negative dim ") << d;
  }
  FailureOr<SmallVector<int64_t>> out = broadcastShapes({in.getShape(), *shape});
  if (failed(out))
    return inferError(loc, "cannot expand ") << in << " to the requested shape";
  types.push_back(RankedTensorType::get(*out, in.getElementType()));
  return success();
}

OpFoldResult ExpandOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType() && getType().hasStaticShape())
    return getInput();
  auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput());
  if (!dense || !getType().hasStaticShape())
    return {};
  if (dense.isSplat())
    return DenseElementsAttr::get(getType(), dense.getSplatValue<Attribute>());
  if (getType().getNumElements() > kFoldElementLimit)
    return {};
  return DenseElementsAttr::get(getType(), broadcastElements(dense, getType().getShape()));
}

LogicalResult TileOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                       Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto in = tensorType(adaptor.getInput());
  FailureOr<SmallVector<int64_t>> repeats = shapeOperand(loc, adaptor.getRepeats());
  if (failed(repeats))
    return failure();
  if ((int64_t)repeats->size() != in.getRank())
    return inferError(loc, "tile has ") << repeats->size() << " repeats for rank " << in.getRank();
  SmallVector<int64_t> shape;
  for (auto [d, r] : llvm::zip(in.getShape(), *repeats)) {
    if (r < 0 && r != kDyn)
      return inferError(loc, "tile repeats must be non-negative");
    shape.push_back(d == kDyn || r == kDyn ? kDyn : d * r);
  }
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

LogicalResult ConstantOfShapeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                  Adaptor adaptor,
                                                  SmallVectorImpl<Type> &types) {
  FailureOr<SmallVector<int64_t>> shape = shapeOperand(loc, adaptor.getShape());
  if (failed(shape))
    return failure();
  for (int64_t d : *shape)
    if (d < 0 && d != kDyn)
      return inferError(loc, "constant_of_shape has negative dim ") << d;
  auto value = adaptor.getValue();
  if (value.getNumElements() != 1)
    return inferError(loc, "constant_of_shape value must have one element");
  types.push_back(RankedTensorType::get(*shape, value.getElementType()));
  return success();
}

OpFoldResult ConstantOfShapeOp::fold(FoldAdaptor) {
  auto value = dyn_cast<DenseElementsAttr>(getValue());
  if (!value || !getType().hasStaticShape())
    return {};
  return DenseElementsAttr::get(getType(), *value.value_begin<Attribute>());
}

//===----------------------------------------------------------------------===//
// GatherOp, GatherElementsOp, GatherNDOp
//===----------------------------------------------------------------------===//

LogicalResult GatherOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto data = tensorType(adaptor.getData()), idx = tensorType(adaptor.getIndices());
  int64_t axis = adaptor.getAxis();
  if (axis < 0 || axis >= data.getRank())
    return inferError(loc, "gather axis ") << axis << " is out of range for rank "
                                           << data.getRank();
  if (std::optional<SmallVector<int64_t>> c = getConstantInts(adaptor.getIndices())) {
    int64_t n = data.getDimSize(axis);
    for (int64_t i : *c)
      if (n != kDyn && (i < -n || i >= n))
        return inferError(loc, "gather index ") << i << " is out of range for dim " << n;
  }
  SmallVector<int64_t> shape(data.getShape().take_front(axis));
  shape.append(idx.getShape().begin(), idx.getShape().end());
  shape.append(data.getShape().begin() + axis + 1, data.getShape().end());
  types.push_back(RankedTensorType::get(shape, data.getElementType()));
  return success();
}

OpFoldResult GatherOp::fold(FoldAdaptor adaptor) {
  if (OpFoldResult r = foldShapeValues(getResult()))
    return r;
  auto data = dyn_cast_or_null<DenseElementsAttr>(adaptor.getData());
  std::optional<SmallVector<int64_t>> idx = getConstantInts(adaptor.getIndices());
  if (!data || !idx || !getType().hasStaticShape() ||
      getType().getNumElements() > kFoldElementLimit)
    return {};
  if (data.isSplat())
    return DenseElementsAttr::get(getType(), data.getSplatValue<Attribute>());
  if (data.getNumElements() > kFoldElementLimit)
    return {};
  ArrayRef<int64_t> shape = data.getType().getShape();
  int64_t axis = getAxis(), n = shape[axis];
  int64_t outer = product(shape.take_front(axis)), inner = product(shape.drop_front(axis + 1));
  SmallVector<Attribute> src(data.getValues<Attribute>()), out;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i : *idx) {
      if (i < -n || i >= n)
        return {};
      int64_t base = (o * n + (i < 0 ? i + n : i)) * inner;
      out.append(src.begin() + base, src.begin() + base + inner);
    }
  return DenseElementsAttr::get(getType(), out);
}

LogicalResult GatherElementsOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                 Adaptor adaptor,
                                                 SmallVectorImpl<Type> &types) {
  auto data = tensorType(adaptor.getData()), idx = tensorType(adaptor.getIndices());
  if (data.getRank() != idx.getRank())
    return inferError(loc, "gather_elements data and indices must have the same rank");
  int64_t axis = static_cast<int64_t>(adaptor.getAxis());
  if (axis < 0 || axis >= data.getRank())
    return inferError(loc, "gather_elements axis is out of range");
  types.push_back(idx.clone(data.getElementType()));
  return success();
}

LogicalResult GatherNDOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                           Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto data = tensorType(adaptor.getData()), idx = tensorType(adaptor.getIndices());
  int64_t b = adaptor.getBatchDims(), r = data.getRank(), q = idx.getRank();
  if (q < 1 || b < 0 || b >= std::min(r, q))
    return inferError(loc, "gather_nd batch_dims ") << b << " is invalid for data rank " << r
                                                    << " and indices rank " << q;
  int64_t k = idx.getDimSize(q - 1);
  if (k == kDyn)
    return inferError(loc, "gather_nd needs a static last dim of indices");
  if (k < 1 || k > r - b)
    return inferError(loc, "gather_nd indices address ") << k << " dims of a rank-" << r
                                                         << " tensor after " << b
                                                         << " batch dims";
  SmallVector<int64_t> shape(idx.getShape().drop_back());
  shape.append(data.getShape().begin() + b + k, data.getShape().end());
  types.push_back(RankedTensorType::get(shape, data.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// SliceOp
//===----------------------------------------------------------------------===//

LogicalResult SliceOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                        Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto in = tensorType(adaptor.getData());
  std::optional<int64_t> n = getStaticLength(adaptor.getStarts());
  for (Value v : {adaptor.getEnds(), adaptor.getAxes(), adaptor.getSteps()}) {
    std::optional<int64_t> m = getStaticLength(v);
    if (tensorType(v).getRank() != 1 || (n && m && *n != *m))
      return inferError(loc, "slice starts, ends, axes and steps must be 1-D of one length");
  }
  SmallVector<int64_t> shape(in.getShape());
  auto axes = getConstantInts(adaptor.getAxes());
  if (!axes) {
    // Which dims change is unknown: every dim may.
    types.push_back(RankedTensorType::get(SmallVector<int64_t>(in.getRank(), kDyn),
                                          in.getElementType()));
    return success();
  }
  auto starts = getConstantInts(adaptor.getStarts()), ends = getConstantInts(adaptor.getEnds()),
       steps = getConstantInts(adaptor.getSteps());
  llvm::SmallBitVector seen(in.getRank());
  for (auto [k, a] : llvm::enumerate(*axes)) {
    if (a < -in.getRank() || a >= in.getRank())
      return inferError(loc, "slice axis ") << a << " is out of range for rank " << in.getRank();
    int64_t axis = a < 0 ? a + in.getRank() : a;
    if (seen[axis])
      return inferError(loc, "slice axis ") << a << " is repeated";
    seen.set(axis);
    int64_t dim = in.getDimSize(axis);
    if (steps && (*steps)[k] == 0)
      return inferError(loc, "slice step is 0");
    if (dim == kDyn || !starts || !ends || !steps) {
      shape[axis] = kDyn;
      continue;
    }
    shape[axis] = std::get<2>(sliceRange((*starts)[k], (*ends)[k], (*steps)[k], dim));
  }
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  if (getData().getType() == getType() && getType().hasStaticShape()) {
    auto steps = getConstantInts(getSteps());
    if (steps && llvm::all_of(*steps, [](int64_t s) { return s == 1; }))
      return getData();
  }
  if (OpFoldResult r = foldShapeValues(getResult()))
    return r;
  auto data = dyn_cast_or_null<DenseElementsAttr>(adaptor.getData());
  auto starts = getConstantInts(getStarts()), axes = getConstantInts(getAxes()),
       ends = getConstantInts(getEnds()), steps = getConstantInts(getSteps());
  if (!data || !starts || !axes || !ends || !steps || !getType().hasStaticShape() ||
      getType().getNumElements() > kFoldElementLimit)
    return {};
  if (data.isSplat())
    return DenseElementsAttr::get(getType(), data.getSplatValue<Attribute>());
  if (data.getNumElements() > kFoldElementLimit)
    return {};
  ArrayRef<int64_t> inShape = data.getType().getShape();
  int64_t rank = inShape.size();
  SmallVector<int64_t> start(rank, 0), step(rank, 1);
  for (auto [k, a] : llvm::enumerate(*axes)) {
    int64_t axis = a < 0 ? a + rank : a;
    auto [s, st, count] = sliceRange((*starts)[k], (*ends)[k], (*steps)[k], inShape[axis]);
    (void)count;
    start[axis] = s;
    step[axis] = st;
  }
  SmallVector<int64_t> strides(rank, 1);
  for (int64_t d = rank - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * inShape[d + 1];
  SmallVector<Attribute> src(data.getValues<Attribute>()), out;
  ArrayRef<int64_t> outShape = getType().getShape();
  SmallVector<int64_t> counter(rank, 0);
  for (int64_t e = 0; e < getType().getNumElements(); ++e) {
    int64_t linear = 0;
    for (int64_t d = 0; d < rank; ++d)
      linear += (start[d] + counter[d] * step[d]) * strides[d];
    out.push_back(src[linear]);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++counter[d] < outShape[d])
        break;
      counter[d] = 0;
    }
  }
  return DenseElementsAttr::get(getType(), out);
}

//===----------------------------------------------------------------------===//
// RangeOp, CumSumOp
//===----------------------------------------------------------------------===//

/// A scalar operand's value as a double, if constant.
static std::optional<double> scalarValue(Attribute attr) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(attr);
  if (!dense || dense.getNumElements() != 1)
    return std::nullopt;
  Type t = dense.getElementType();
  if (isa<FloatType>(t))
    return (*dense.value_begin<APFloat>()).convertToDouble();
  APInt v = *dense.value_begin<APInt>();
  return t.isUnsignedInteger() ? (double)v.getZExtValue() : (double)v.getSExtValue();
}

LogicalResult RangeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                        Adaptor adaptor, SmallVectorImpl<Type> &types) {
  Type element = tensorType(adaptor.getStart()).getElementType();
  for (Value v : {adaptor.getStart(), adaptor.getLimit(), adaptor.getDelta()}) {
    auto t = tensorType(v);
    if (t.getElementType() != element || product(t.getShape()) > 1)
      return inferError(loc, "range operands must be scalars of one element type");
  }
  int64_t n = kDyn;
  Attribute s, l, d;
  if (matchPattern(adaptor.getStart(), m_Constant(&s)) &&
      matchPattern(adaptor.getLimit(), m_Constant(&l)) &&
      matchPattern(adaptor.getDelta(), m_Constant(&d))) {
    auto sv = scalarValue(s), lv = scalarValue(l), dv = scalarValue(d);
    if (sv && lv && dv) {
      if (*dv == 0)
        return inferError(loc, "range delta is 0");
      n = std::max<int64_t>(0, (int64_t)std::ceil((*lv - *sv) / *dv));
    }
  }
  types.push_back(RankedTensorType::get({n}, element));
  return success();
}

OpFoldResult RangeOp::fold(FoldAdaptor adaptor) {
  auto s = scalarValue(adaptor.getStart()), d = scalarValue(adaptor.getDelta());
  if (!s || !d || !getType().hasStaticShape() || getType().getNumElements() > kFoldElementLimit)
    return {};
  Type element = getType().getElementType();
  int64_t n = getType().getNumElements();
  if (auto ft = dyn_cast<FloatType>(element)) {
    SmallVector<APFloat> values;
    for (int64_t k = 0; k < n; ++k) {
      APFloat v(*s + k * *d);
      bool lost;
      v.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      values.push_back(v);
    }
    return DenseElementsAttr::get(getType(), values);
  }
  auto it = cast<IntegerType>(element);
  SmallVector<APInt> values;
  for (int64_t k = 0; k < n; ++k)
    values.push_back(APInt(it.getWidth(), (uint64_t)((int64_t)*s + k * (int64_t)*d),
                           !it.isUnsigned(), true));
  return DenseElementsAttr::get(getType(), values);
}

LogicalResult CumSumOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto in = tensorType(adaptor.getInput());
  int64_t axis = static_cast<int64_t>(adaptor.getAxis());
  if (axis < 0 || axis >= std::max<int64_t>(in.getRank(), 1))
    return inferError(loc, "cumsum axis ") << axis << " is out of range for rank " << in.getRank();
  types.push_back(in);
  return success();
}

OpFoldResult CumSumOp::fold(FoldAdaptor adaptor) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput());
  auto type = getType();
  if (!dense || !type.hasStaticShape() || type.getNumElements() > kFoldElementLimit ||
      type.getRank() == 0)
    return {};
  bool isFloat = isa<FloatType>(type.getElementType());
  auto it = dyn_cast<IntegerType>(type.getElementType());
  if (!isFloat && !it)
    return {};
  SmallVector<Attribute> src(dense.getValues<Attribute>());
  ArrayRef<int64_t> shape = type.getShape();
  int64_t axis = getAxis(), n = shape[axis];
  int64_t outer = product(shape.take_front(axis)), inner = product(shape.drop_front(axis + 1));
  SmallVector<Attribute> out(src.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double fsum = 0;
      APInt isum(it ? it.getWidth() : 64, 0);
      for (int64_t step = 0; step < n; ++step) {
        int64_t k = getReverse() ? n - 1 - step : step;
        int64_t e = (o * n + k) * inner + i;
        if (getExclusive())
          out[e] = isFloat ? (Attribute)FloatAttr::get(type.getElementType(), fsum)
                           : (Attribute)IntegerAttr::get(type.getElementType(), isum);
        if (isFloat)
          fsum += cast<FloatAttr>(src[e]).getValueAsDouble();
        else
          isum += cast<IntegerAttr>(src[e]).getValue();
        if (!getExclusive())
          out[e] = isFloat ? (Attribute)FloatAttr::get(type.getElementType(), fsum)
                           : (Attribute)IntegerAttr::get(type.getElementType(), isum);
      }
    }
  return DenseElementsAttr::get(type, out);
}

//===----------------------------------------------------------------------===//
// PadOp, TriluOp
//===----------------------------------------------------------------------===//

LogicalResult PadOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                      Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto in = tensorType(adaptor.getData());
  int64_t rank = in.getRank();
  SmallVector<int64_t> axes;
  if (Value a = adaptor.getAxes()) {
    std::optional<SmallVector<int64_t>> c = getConstantInts(a);
    if (!c)
      return inferError(loc, "pad axes must be constant");
    for (int64_t x : *c) {
      if (x < -rank || x >= rank)
        return inferError(loc, "pad axis ") << x << " is out of range for rank " << rank;
      axes.push_back(x < 0 ? x + rank : x);
    }
  } else {
    axes = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  }
  std::optional<int64_t> len = getStaticLength(adaptor.getPads());
  if (len && *len != 2 * (int64_t)axes.size())
    return inferError(loc, "pad expects ") << 2 * axes.size() << " pads, got " << *len;
  if (Value c = adaptor.getConstantValue())
    if (tensorType(c).getElementType() != in.getElementType())
      return inferError(loc, "pad constant_value must have the data's element type");
  SmallVector<int64_t> shape(in.getShape());
  std::optional<SmallVector<int64_t>> pads = getConstantInts(adaptor.getPads());
  for (auto [k, a] : llvm::enumerate(axes)) {
    if (!pads || shape[a] == kDyn) {
      shape[a] = kDyn;
      continue;
    }
    shape[a] += (*pads)[k] + (*pads)[k + axes.size()];
    if (shape[a] < 0)
      return inferError(loc, "pads make dim ") << a << " negative";
  }
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

LogicalResult PadOp::verify() {
  StringRef mode = getMode();
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    return emitOpError("mode must be constant, reflect, edge or wrap, got '") << mode << "'";
  return success();
}

LogicalResult TriluOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                        Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto in = tensorType(adaptor.getInput());
  if (in.getRank() < 2)
    return inferError(loc, "trilu expects rank 2 or more");
  types.push_back(in);
  return success();
}
