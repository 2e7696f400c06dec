//===- ImportTensor.cpp - constants, shapes and data movement ------------===//

#include "NodeImporter.h"
#include "TensorImporter.h"

#include "dialects/Tern/TernOps.h"

using namespace mlir;

namespace tern {

static LogicalResult importConstant(NodeImporter &n) {
  if (n.node.attribute_size() != 1)
    return n.fail("expects exactly one value attribute");
  const onnx::AttributeProto &a = n.node.attribute(0);
  Builder &b = n.builder;
  ElementsAttr value;
  if (a.name() == "value") {
    llvm::Expected<ElementsAttr> t = importTensor(a.t(), *n.tensors);
    if (!t)
      return n.fail(llvm::toString(t.takeError()));
    value = *t;
  } else if (a.name() == "value_float") {
    value = DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()), a.f());
  } else if (a.name() == "value_floats") {
    SmallVector<float> v(a.floats().begin(), a.floats().end());
    value = DenseElementsAttr::get(
        RankedTensorType::get({(int64_t)v.size()}, b.getF32Type()), ArrayRef<float>(v));
  } else if (a.name() == "value_int") {
    value = DenseElementsAttr::get(RankedTensorType::get({}, b.getI64Type()), (int64_t)a.i());
  } else if (a.name() == "value_ints") {
    SmallVector<int64_t> v(a.ints().begin(), a.ints().end());
    value = DenseElementsAttr::get(
        RankedTensorType::get({(int64_t)v.size()}, b.getI64Type()), ArrayRef<int64_t>(v));
  } else {
    return n.fail("constant attribute '" + a.name() + "' is not supported");
  }
  Value v = n.createOne("constant", {}, {n.named("value", value)});
  return v ? n.setOutputs(v) : failure();
}

/// Axes from the attribute (before `inputSince`) or the constant input #1.
static FailureOr<std::optional<SmallVector<int64_t>>> axesOperand(NodeImporter &n,
                                                                  int64_t inputSince) {
  if (n.opset < inputSince) {
    if (!n.hasAttr("axes"))
      return std::optional<SmallVector<int64_t>>();
    return std::optional<SmallVector<int64_t>>(n.getInts("axes"));
  }
  if (!n.hasInput(1))
    return std::optional<SmallVector<int64_t>>();
  std::optional<SmallVector<int64_t>> c = n.constantInts(1);
  if (!c)
    return (void)n.fail("axes must be a constant"), failure();
  return c;
}

static LogicalResult importSqueeze(NodeImporter &n) {
  if (failed(n.requireInputs(1)))
    return failure();
  RankedTensorType t = n.inputType(0);
  auto axes = axesOperand(n, 13);
  if (failed(axes))
    return failure();
  SmallVector<int64_t> normalized;
  if (*axes) {
    auto a = n.axes(**axes, t.getRank());
    if (failed(a))
      return failure();
    normalized = *a;
  } else {
    for (int64_t i = 0; i < t.getRank(); ++i) {
      if (t.isDynamicDim(i))
        return n.fail("squeeze without axes needs static dims (dim " + Twine(i) +
                      " is dynamic); pin the input shapes");
      if (t.getDimSize(i) == 1)
        normalized.push_back(i);
    }
  }
  Value v = n.createOne("squeeze", {n.input(0)}, {n.ints("axes", normalized)});
  return v ? n.setOutputs(v) : failure();
}

static LogicalResult importUnsqueeze(NodeImporter &n) {
  if (failed(n.requireInputs(1)))
    return failure();
  auto axes = axesOperand(n, 13);
  if (failed(axes))
    return failure();
  if (!*axes)
    return n.fail("axes are required");
  auto normalized = n.axes(**axes, n.inputType(0).getRank() + (*axes)->size());
  if (failed(normalized))
    return failure();
  Value v = n.createOne("unsqueeze", {n.input(0)}, {n.ints("axes", *normalized)});
  return v ? n.setOutputs(v) : failure();
}

static LogicalResult importSplit(NodeImporter &n) {
  if (failed(n.requireInputs(1)) || failed(n.checkAttrs({"axis", "split", "num_outputs"})))
    return failure();
  RankedTensorType t = n.inputType(0);
  FailureOr<int64_t> axis = n.axis(n.getInt("axis", 0), t.getRank());
  if (failed(axis))
    return failure();
  int64_t outputs = n.node.output_size();
  if (n.hasAttr("num_outputs") && n.getInt("num_outputs", 0) != outputs)
    return n.fail("num_outputs is " + Twine(n.getInt("num_outputs", 0)) + " but the node has " +
                  Twine(outputs) + " outputs");
  Value split;
  if (n.opset < 13) {
    if (n.hasAttr("split"))
      split = n.constI64(n.getInts("split"));
  } else {
    split = n.input(1);
  }
  FailureOr<SmallVector<Value>> r = n.create(
      "split", {n.input(0), split}, {n.i64("axis", *axis), n.i64("num_outputs", outputs)});
  return succeeded(r) ? n.setOutputs(*r) : failure();
}

static LogicalResult importSlice(NodeImporter &n) {
  if (failed(n.requireInputs(1)))
    return failure();
  Value starts, ends, axes, steps;
  if (n.opset < 10) {
    SmallVector<int64_t> s = n.getInts("starts"), e = n.getInts("ends");
    if (s.size() != e.size())
      return n.fail("starts and ends differ in length");
    SmallVector<int64_t> a = n.getInts("axes", llvm::to_vector(llvm::seq<int64_t>(0, s.size())));
    starts = n.constI64(s);
    ends = n.constI64(e);
    axes = n.constI64(a);
    steps = n.constI64(SmallVector<int64_t>(s.size(), 1));
  } else {
    if (failed(n.requireInputs(3)))
      return failure();
    starts = n.input(1);
    ends = n.input(2);
    std::optional<int64_t> len = getStaticLength(starts);
    axes = n.input(3);
    steps = n.input(4);
    if ((!axes || !steps) && !len)
      return n.fail("starts must have a static length when axes or steps are omitted");
    if (!axes)
      axes = n.constI64(llvm::to_vector(llvm::seq<int64_t>(0, *len)));
    if (!steps)
      steps = n.constI64(SmallVector<int64_t>(*len, 1));
  }
  Value v = n.createOne("slice", {n.input(0), starts, ends, axes, steps});
  return v ? n.setOutputs(v) : failure();
}

static LogicalResult importPad(NodeImporter &n) {
  if (failed(n.requireInputs(1)))
    return failure();
  std::string mode = n.getString("mode", "constant");
  Value pads, value, axes;
  if (n.opset < 11) {
    pads = n.constI64(n.getInts("pads"));
    float f = n.getFloat("value", 0.0f);
    if (f != 0.0f)
      value = n.constScalar(n.inputType(0).getElementType(), f);
  } else {
    if (failed(n.requireInputs(2)))
      return failure();
    pads = n.input(1);
    value = n.input(2);
    axes = n.input(3);
  }
  Value v = n.createOne("pad", {n.input(0), pads, value, axes},
                        {n.str("mode", mode), n.segments({1, 1, value ? 1 : 0, axes ? 1 : 0})});
  return v ? n.setOutputs(v) : failure();
}

/// DepthToSpace and SpaceToDepth as reshape, transpose, reshape (static
/// shapes: the block moves between the channel and the spatial dims).
static LogicalResult importDepthSpace(NodeImporter &n, bool toSpace) {
  if (failed(n.requireInputs(1)) || failed(n.checkAttrs({"blocksize", "mode"})))
    return failure();
  RankedTensorType t = n.inputType(0);
  int64_t bs = n.getInt("blocksize", 0);
  if (t.getRank() != 4 || !t.hasStaticShape())
    return n.fail("needs a static 4-D input");
  if (bs <= 0)
    return n.fail("blocksize must be positive");
  int64_t N = t.getDimSize(0), C = t.getDimSize(1), H = t.getDimSize(2), W = t.getDimSize(3);
  SmallVector<int64_t> first, perm, last;
  if (toSpace) {
    if (C % (bs * bs))
      return n.fail("channels " + Twine(C) + " are not a multiple of blocksize^2");
    if (n.getString("mode", "DCR") == "CRD") {
      first = {N, C / (bs * bs), bs, bs, H, W};
      perm = {0, 1, 4, 2, 5, 3};
    } else {
      first = {N, bs, bs, C / (bs * bs), H, W};
      perm = {0, 3, 4, 1, 5, 2};
    }
    last = {N, C / (bs * bs), H * bs, W * bs};
  } else {
    if (H % bs || W % bs)
      return n.fail("spatial dims are not multiples of blocksize");
    first = {N, C, H / bs, bs, W / bs, bs};
    perm = {0, 3, 5, 1, 2, 4};
    last = {N, C * bs * bs, H / bs, W / bs};
  }
  Value v = n.createOne("reshape", {n.input(0), n.constI64(first)});
  v = v ? n.createOne("transpose", {v}, {n.ints("perm", perm)}) : Value();
  v = v ? n.createOne("reshape", {v, n.constI64(last)}) : Value();
  return v ? n.setOutputs(v) : failure();
}

void registerTensorImporters(ImporterRegistry &r) {
  r.add("", "Constant", importConstant);
  r.add("", "Shape", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(1)) || failed(n.checkAttrs({"start", "end"})))
      return failure();
    int64_t rank = n.inputType(0).getRank();
    auto clampDim = [rank](int64_t d) {
      if (d < 0)
        d += rank;
      return std::clamp<int64_t>(d, 0, rank);
    };
    int64_t start = clampDim(n.getInt("start", 0)), end = clampDim(n.getInt("end", rank));
    Value v = n.createOne("shape", {n.input(0)},
                          {n.i64("start", start), n.i64("end", std::max(start, end))});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "Size", [](NodeImporter &n) -> LogicalResult {
    Value v = n.createOne("size", {n.input(0)});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "Reshape", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(2)) || failed(n.checkAttrs({"allowzero"})))
      return failure();
    Value v = n.createOne("reshape", {n.input(0), n.input(1)},
                          {n.boolean("allowzero", n.getInt("allowzero", 0))});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "Transpose", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(1)) || failed(n.checkAttrs({"perm"})))
      return failure();
    int64_t rank = n.inputType(0).getRank();
    SmallVector<int64_t> reversed = llvm::to_vector(llvm::reverse(llvm::seq<int64_t>(0, rank)));
    Value v = n.createOne("transpose", {n.input(0)}, {n.ints("perm", n.getInts("perm", reversed))});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "Concat", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(1)) || failed(n.checkAttrs({"axis"})))
      return failure();
    SmallVector<Value> inputs;
    for (int64_t i = 0; i < n.numInputs(); ++i)
      if (n.hasInput(i))
        inputs.push_back(n.input(i));
    FailureOr<int64_t> axis = n.axis(n.getInt("axis", 0), n.inputType(0).getRank());
    if (failed(axis))
      return failure();
    Value v = n.createOne("concat", inputs, {n.i64("axis", *axis)});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "Split", importSplit);
  r.add("", "Squeeze", importSqueeze);
  r.add("", "Unsqueeze", importUnsqueeze);
  r.add("", "Flatten", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(1)) || failed(n.checkAttrs({"axis"})))
      return failure();
    int64_t rank = n.inputType(0).getRank(), axis = n.getInt("axis", 1);
    if (axis < -rank || axis > rank)
      return n.fail("axis " + Twine(axis) + " is out of range for rank " + Twine(rank));
    Value v = n.createOne("flatten", {n.input(0)}, {n.i64("axis", axis < 0 ? axis + rank : axis)});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "Expand", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(2)))
      return failure();
    Value v = n.createOne("expand", {n.input(0), n.input(1)});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "Tile", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(2)))
      return failure();
    Value v = n.createOne("tile", {n.input(0), n.input(1)});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "Gather", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(2)) || failed(n.checkAttrs({"axis"})))
      return failure();
    FailureOr<int64_t> axis = n.axis(n.getInt("axis", 0), n.inputType(0).getRank());
    if (failed(axis))
      return failure();
    Value v = n.createOne("gather", {n.input(0), n.input(1)}, {n.i64("axis", *axis)});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "GatherElements", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(2)) || failed(n.checkAttrs({"axis"})))
      return failure();
    FailureOr<int64_t> axis = n.axis(n.getInt("axis", 0), n.inputType(0).getRank());
    if (failed(axis))
      return failure();
    Value v = n.createOne("gather_elements", {n.input(0), n.input(1)}, {n.i64("axis", *axis)});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "GatherND", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(2)) || failed(n.checkAttrs({"batch_dims"})))
      return failure();
    Value v = n.createOne("gather_nd", {n.input(0), n.input(1)},
                          {n.i64("batch_dims", n.getInt("batch_dims", 0))});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "Slice", importSlice);
  r.add("", "Range", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(3)))
      return failure();
    Value v = n.createOne("range", {n.input(0), n.input(1), n.input(2)});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "CumSum", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(2)) || failed(n.checkAttrs({"exclusive", "reverse"})))
      return failure();
    std::optional<SmallVector<int64_t>> a = n.constantInts(1);
    if (!a || a->size() != 1)
      return n.fail("axis must be a constant scalar");
    FailureOr<int64_t> axis = n.axis((*a)[0], std::max<int64_t>(1, n.inputType(0).getRank()));
    if (failed(axis))
      return failure();
    Value v = n.createOne("cumsum", {n.input(0)},
                          {n.i64("axis", *axis), n.boolean("exclusive", n.getInt("exclusive", 0)),
                           n.boolean("reverse", n.getInt("reverse", 0))});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "ConstantOfShape", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(1)) || failed(n.checkAttrs({"value"})))
      return failure();
    ElementsAttr value;
    if (const onnx::AttributeProto *a = n.attr("value")) {
      llvm::Expected<ElementsAttr> t = importTensor(a->t(), *n.tensors);
      if (!t)
        return n.fail(llvm::toString(t.takeError()));
      value = *t;
    } else {
      value = DenseElementsAttr::get(RankedTensorType::get({1}, n.builder.getF32Type()), 0.0f);
    }
    Value v = n.createOne("constant_of_shape", {n.input(0)}, {n.named("value", value)});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "Pad", importPad);
  r.add("", "DepthToSpace", [](NodeImporter &n) { return importDepthSpace(n, true); });
  r.add("", "SpaceToDepth", [](NodeImporter &n) { return importDepthSpace(n, false); });
  r.add("", "EyeLike", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(1)) || failed(n.checkAttrs({"dtype", "k"})))
      return failure();
    RankedTensorType t = n.inputType(0);
    if (t.getRank() != 2 || !t.hasStaticShape())
      return n.fail("needs a static 2-D input");
    Type elem = n.hasAttr("dtype") ? convertElementType(n.builder.getContext(), n.getInt("dtype", 1))
                                   : t.getElementType();
    if (!elem || !(isa<FloatType>(elem) || isa<IntegerType>(elem)))
      return n.fail("unsupported dtype");
    int64_t k = n.getInt("k", 0), rows = t.getDimSize(0), cols = t.getDimSize(1);
    auto type = RankedTensorType::get({rows, cols}, elem);
    SmallVector<Attribute> values;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        bool one = j - i == k;
        values.push_back(isa<FloatType>(elem) ? Attribute(FloatAttr::get(elem, one ? 1.0 : 0.0))
                                              : Attribute(IntegerAttr::get(elem, one ? 1 : 0)));
      }
    return n.setOutputs(ConstantOp::create(n.builder, n.loc, DenseElementsAttr::get(type, values)).getResult());
  });
  r.add("", "Trilu", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(1)) || failed(n.checkAttrs({"upper"})))
      return failure();
    Value v = n.createOne("trilu", {n.input(0), n.input(1)},
                          {n.boolean("upper", n.getInt("upper", 1))});
    return v ? n.setOutputs(v) : failure();
  });
}

} // namespace tern
