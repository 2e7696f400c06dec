//===- ImportMath.cpp - elementwise, comparison and reduction ops --------===//

#include "NodeImporter.h"

#include "dialects/Tern/TernOps.h"

using namespace mlir;

namespace tern {

/// Registers an op whose inputs map one to one onto a tern op's operands.
static void addDirect(ImporterRegistry &r, StringRef onnx, StringRef tern, int64_t arity) {
  std::string ternName = tern.str();
  r.add("", onnx, [ternName, arity](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(arity)) || failed(n.checkAttrs({})))
      return failure();
    SmallVector<Value> operands;
    for (int64_t i = 0; i < arity; ++i)
      operands.push_back(n.input(i));
    Value v = n.createOne(ternName, operands);
    return v ? n.setOutputs(v) : failure();
  });
}

/// Registers an op with float attributes, each with its ONNX default.
static void addWithFloats(ImporterRegistry &r, StringRef onnx, StringRef tern,
                          std::vector<std::pair<std::string, float>> attrs) {
  std::string ternName = tern.str();
  r.add("", onnx, [ternName, attrs](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(1)))
      return failure();
    SmallVector<NamedAttribute> named;
    SmallVector<StringRef> known;
    for (const auto &[name, dflt] : attrs) {
      named.push_back(n.f32(name, n.getFloat(name, dflt)));
      known.push_back(name);
    }
    if (failed(n.checkAttrs(known)))
      return failure();
    Value v = n.createOne(ternName, {n.input(0)}, named);
    return v ? n.setOutputs(v) : failure();
  });
}

static LogicalResult importVariadic(NodeImporter &n, StringRef tern) {
  if (failed(n.requireInputs(1)))
    return failure();
  SmallVector<Value> operands;
  for (int64_t i = 0; i < n.numInputs(); ++i)
    if (n.hasInput(i))
      operands.push_back(n.input(i));
  Value v = n.createOne(tern, operands);
  return v ? n.setOutputs(v) : failure();
}

/// ReduceX: axes are an attribute before opset 13 (ReduceSum) or 18 (the
/// others), an optional input after.
static LogicalResult importReduce(NodeImporter &n, StringRef tern, int64_t axesInputSince) {
  if (failed(n.requireInputs(1)) ||
      failed(n.checkAttrs({"axes", "keepdims", "noop_with_empty_axes"})))
    return failure();
  RankedTensorType t = n.inputType(0);
  SmallVector<int64_t> axes;
  if (n.opset >= axesInputSince) {
    if (n.hasAttr("axes"))
      return n.fail("axes is an input from opset " + Twine(axesInputSince));
    if (n.hasInput(1)) {
      std::optional<SmallVector<int64_t>> c = n.constantInts(1);
      if (!c)
        return n.fail("axes must be a constant");
      axes = *c;
    }
  } else {
    axes = n.getInts("axes");
  }
  FailureOr<SmallVector<int64_t>> normalized = n.axes(axes, t.getRank());
  if (failed(normalized))
    return failure();
  Value v = n.createOne(tern, {n.input(0)},
                        {n.ints("axes", *normalized), n.boolean("keepdims", n.getInt("keepdims", 1)),
                         n.boolean("noop_with_empty_axes", n.getInt("noop_with_empty_axes", 0))});
  return v ? n.setOutputs(v) : failure();
}

static LogicalResult importArgReduce(NodeImporter &n, StringRef tern) {
  if (failed(n.requireInputs(1)) || failed(n.checkAttrs({"axis", "keepdims", "select_last_index"})))
    return failure();
  FailureOr<int64_t> axis = n.axis(n.getInt("axis", 0), n.inputType(0).getRank());
  if (failed(axis))
    return failure();
  Value v = n.createOne(tern, {n.input(0)},
                        {n.i64("axis", *axis), n.boolean("keepdims", n.getInt("keepdims", 1)),
                         n.boolean("select_last_index", n.getInt("select_last_index", 0))});
  return v ? n.setOutputs(v) : failure();
}

static LogicalResult importCast(NodeImporter &n, Type to) {
  Value v = n.createOne("cast", {n.input(0)},
                        {n.type("to", to), n.boolean("saturate", n.getInt("saturate", 1))});
  return v ? n.setOutputs(v) : failure();
}

void registerMathImporters(ImporterRegistry &r) {
  // Shrink: x < -lambd ? x + bias : (x > lambd ? x - bias : 0).
  r.add("", "Shrink", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(1)) || failed(n.checkAttrs({"bias", "lambd"})))
      return failure();
    Value x = n.input(0);
    Type elem = n.inputType(0).getElementType();
    double lambd = n.getFloat("lambd", 0.5f), bias = n.getFloat("bias", 0.0f);
    Value low = n.createOne("less", {x, n.constScalar(elem, -lambd)});
    Value high = n.createOne("greater", {x, n.constScalar(elem, lambd)});
    Value up = n.createOne("add", {x, n.constScalar(elem, bias)});
    Value down = n.createOne("sub", {x, n.constScalar(elem, bias)});
    Value inner = high && down ? n.createOne("where", {high, down, n.constScalar(elem, 0)}) : Value();
    Value v = low && up && inner ? n.createOne("where", {low, up, inner}) : Value();
    return v ? n.setOutputs(v) : failure();
  });
  static const std::pair<const char *, const char *> unary[] = {
      {"Abs", "abs"},         {"Neg", "neg"},           {"Sign", "sign"},
      {"Relu", "relu"},       {"Sigmoid", "sigmoid"},   {"Tanh", "tanh"},
      {"Sqrt", "sqrt"},       {"Reciprocal", "reciprocal"}, {"Exp", "exp"},
      {"Log", "log"},         {"Erf", "erf"},           {"Cos", "cos"},
      {"Sin", "sin"},         {"Tan", "tan"},           {"Acos", "acos"},
      {"Asin", "asin"},       {"Atan", "atan"},         {"Cosh", "cosh"},
      {"Sinh", "sinh"},       {"Acosh", "acosh"},       {"Asinh", "asinh"},
      {"Atanh", "atanh"},     {"Floor", "floor"},       {"Ceil", "ceil"},
      {"Round", "round"},     {"Softplus", "softplus"}, {"Softsign", "softsign"},
      {"HardSwish", "hard_swish"}, {"Mish", "mish"},    {"Not", "not"},
      {"BitwiseNot", "bitwise_not"}, {"IsNaN", "is_nan"}};
  for (auto [onnx, tern] : unary)
    addDirect(r, onnx, tern, 1);

  static const std::pair<const char *, const char *> binary[] = {
      {"Add", "add"},           {"Sub", "sub"},
      {"Mul", "mul"},           {"Div", "div"},
      {"Pow", "pow"},           {"PRelu", "prelu"},
      {"And", "and"},           {"Or", "or"},
      {"Xor", "xor"},           {"BitwiseAnd", "bitwise_and"},
      {"BitwiseOr", "bitwise_or"}, {"BitwiseXor", "bitwise_xor"},
      {"Equal", "equal"},       {"Less", "less"},
      {"LessOrEqual", "less_or_equal"}, {"Greater", "greater"},
      {"GreaterOrEqual", "greater_or_equal"}};
  for (auto [onnx, tern] : binary)
    addDirect(r, onnx, tern, 2);
  addDirect(r, "Where", "where", 3);

  addWithFloats(r, "LeakyRelu", "leaky_relu", {{"alpha", 0.01f}});
  addWithFloats(r, "Elu", "elu", {{"alpha", 1.0f}});
  addWithFloats(r, "Celu", "celu", {{"alpha", 1.0f}});
  addWithFloats(r, "Selu", "selu",
                {{"alpha", 1.67326319217681884765625f}, {"gamma", 1.05070102214813232421875f}});
  addWithFloats(r, "HardSigmoid", "hard_sigmoid", {{"alpha", 0.2f}, {"beta", 0.5f}});
  addWithFloats(r, "ThresholdedRelu", "thresholded_relu", {{"alpha", 1.0f}});

  r.add("", "Gelu", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(1)) || failed(n.checkAttrs({"approximate"})))
      return failure();
    Value v = n.createOne("gelu", {n.input(0)},
                          {n.str("approximate", n.getString("approximate", "none"))});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "IsInf", [](NodeImporter &n) -> LogicalResult {
    Value v = n.createOne("is_inf", {n.input(0)},
                          {n.boolean("detect_negative", n.getInt("detect_negative", 1)),
                           n.boolean("detect_positive", n.getInt("detect_positive", 1))});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "Mod", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(2)))
      return failure();
    Value v = n.createOne("mod", {n.input(0), n.input(1)},
                          {n.boolean("fmod", n.getInt("fmod", 0))});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "BitShift", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(2)))
      return failure();
    std::string dir = n.getString("direction", "");
    if (dir != "LEFT" && dir != "RIGHT")
      return n.fail("direction must be LEFT or RIGHT");
    Value v = n.createOne("bit_shift", {n.input(0), n.input(1)}, {n.str("direction", dir)});
    return v ? n.setOutputs(v) : failure();
  });
  for (auto [onnx, tern] : {std::pair("Max", "max"), std::pair("Min", "min"),
                            std::pair("Sum", "sum"), std::pair("Mean", "mean")}) {
    std::string ternName = tern;
    r.add("", onnx, [ternName](NodeImporter &n) { return importVariadic(n, ternName); });
  }

  r.add("", "Cast", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(1)) || failed(n.checkAttrs({"to", "saturate"})))
      return failure();
    int64_t to = n.getInt("to", 0);
    Type type = convertElementType(n.builder.getContext(), to);
    if (!type)
      return n.fail("cannot cast to " + onnxTypeName(to));
    return importCast(n, type);
  });
  r.add("", "CastLike", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(2)))
      return failure();
    return importCast(n, n.inputType(1).getElementType());
  });

  r.add("", "Clip", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(1)))
      return failure();
    Value min, max;
    if (n.opset < 11) {
      if (failed(n.checkAttrs({"min", "max"})))
        return failure();
      Type e = n.inputType(0).getElementType();
      if (n.hasAttr("min"))
        min = n.constScalar(e, n.getFloat("min", 0));
      if (n.hasAttr("max"))
        max = n.constScalar(e, n.getFloat("max", 0));
    } else {
      min = n.input(1);
      max = n.input(2);
    }
    Value v = n.createOne("clip", {n.input(0), min, max},
                          {n.segments({1, min ? 1 : 0, max ? 1 : 0})});
    return v ? n.setOutputs(v) : failure();
  });

  auto identity = [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(1)))
      return failure();
    if (n.node.op_type() == "Dropout" && n.getInt("training_mode", 0))
      return n.fail("training mode is not supported");
    if (n.node.op_type() == "Dropout" && n.hasInput(2)) {
      std::optional<SmallVector<int64_t>> training = n.constantInts(2);
      if (!training || (*training)[0] != 0)
        return n.fail("training mode is not supported (training_mode must be a constant false)");
    }
    return n.setOutputs(n.input(0));
  };
  r.add("", "Identity", identity);
  r.add("", "Dropout", identity);

  static const std::pair<const char *, const char *> reductions[] = {
      {"ReduceMean", "reduce_mean"},     {"ReduceMax", "reduce_max"},
      {"ReduceMin", "reduce_min"},       {"ReduceProd", "reduce_prod"},
      {"ReduceL1", "reduce_l1"},         {"ReduceL2", "reduce_l2"},
      {"ReduceLogSum", "reduce_log_sum"}, {"ReduceLogSumExp", "reduce_log_sum_exp"},
      {"ReduceSumSquare", "reduce_sum_square"}};
  for (auto [onnx, tern] : reductions) {
    std::string ternName = tern;
    r.add("", onnx, [ternName](NodeImporter &n) { return importReduce(n, ternName, 18); });
  }
  r.add("", "ReduceSum", [](NodeImporter &n) { return importReduce(n, "reduce_sum", 13); });
  r.add("", "ArgMax", [](NodeImporter &n) { return importArgReduce(n, "arg_max"); });
  r.add("", "ArgMin", [](NodeImporter &n) { return importArgReduce(n, "arg_min"); });
}

} // namespace tern
