//===- ImportNN.cpp - matmul, convolution, pooling, normalization --------===//

#include "NodeImporter.h"

#include "dialects/Tern/TernOps.h"

using namespace mlir;

namespace tern {

FailureOr<SmallVector<NamedAttribute>> importWindowAttrs(NodeImporter &n, RankedTensorType x,
                                                         ArrayRef<int64_t> kernel) {
  int64_t spatial = x.getRank() - 2;
  if (spatial < 1)
    return (void)n.fail("expects an input of rank 3 or more, got " + Twine(x.getRank())), failure();
  SmallVector<int64_t> k = n.getInts("kernel_shape", kernel);
  if ((int64_t)k.size() != spatial)
    return (void)n.fail("kernel_shape needs " + Twine(spatial) + " entries"), failure();
  SmallVector<int64_t> strides = n.getInts("strides", SmallVector<int64_t>(spatial, 1));
  SmallVector<int64_t> dilations = n.getInts("dilations", SmallVector<int64_t>(spatial, 1));
  SmallVector<int64_t> pads = n.getInts("pads", SmallVector<int64_t>(2 * spatial, 0));
  std::string autoPad = n.getString("auto_pad", "NOTSET");
  if ((int64_t)strides.size() != spatial || (int64_t)dilations.size() != spatial ||
      (int64_t)pads.size() != 2 * spatial)
    return (void)n.fail("strides, dilations and pads do not match " + Twine(spatial) +
                  " spatial dims"),
           failure();
  if (autoPad == "VALID") {
    pads.assign(2 * spatial, 0);
    autoPad = "NOTSET";
  } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    bool staticSpatial = llvm::none_of(x.getShape().drop_front(2),
                                       [](int64_t d) { return d == ShapedType::kDynamic; });
    if (staticSpatial) {
      for (int64_t i = 0; i < spatial; ++i) {
        int64_t in = x.getDimSize(i + 2), out = llvm::divideCeil(in, strides[i]);
        int64_t total =
            std::max<int64_t>(0, (out - 1) * strides[i] + (k[i] - 1) * dilations[i] + 1 - in);
        int64_t small = total / 2, large = total - small;
        pads[i] = autoPad == "SAME_UPPER" ? small : large;
        pads[i + spatial] = autoPad == "SAME_UPPER" ? large : small;
      }
      autoPad = "NOTSET";
    }
  } else if (autoPad != "NOTSET") {
    return (void)n.fail("unknown auto_pad '" + autoPad + "'"), failure();
  }
  return SmallVector<NamedAttribute>{n.ints("kernel_shape", k), n.ints("strides", strides),
                                     n.ints("pads", pads), n.ints("dilations", dilations),
                                     n.str("auto_pad", autoPad)};
}

static LogicalResult importConv(NodeImporter &n) {
  if (failed(n.requireInputs(2)) ||
      failed(n.checkAttrs({"kernel_shape", "strides", "pads", "dilations", "auto_pad", "group"})))
    return failure();
  RankedTensorType x = n.inputType(0), w = n.inputType(1);
  if (w.getRank() < 3)
    return n.fail("the weight must have rank 3 or more");
  auto attrs = importWindowAttrs(n, x, w.getShape().drop_front(2));
  if (failed(attrs))
    return failure();
  attrs->push_back(n.i64("group", n.getInt("group", 1)));
  Value v = n.createOne("conv", {n.input(0), n.input(1), n.input(2)}, *attrs);
  return v ? n.setOutputs(v) : failure();
}

static LogicalResult importConvTranspose(NodeImporter &n) {
  if (failed(n.requireInputs(2)) ||
      failed(n.checkAttrs({"kernel_shape", "strides", "pads", "dilations", "auto_pad", "group",
                           "output_padding"})))
    return failure();
  RankedTensorType x = n.inputType(0), w = n.inputType(1);
  if (w.getRank() < 3)
    return n.fail("the weight must have rank 3 or more");
  int64_t spatial = x.getRank() - 2;
  SmallVector<int64_t> k = n.getInts("kernel_shape", w.getShape().drop_front(2));
  SmallVector<int64_t> strides = n.getInts("strides", SmallVector<int64_t>(spatial, 1));
  SmallVector<int64_t> dilations = n.getInts("dilations", SmallVector<int64_t>(spatial, 1));
  SmallVector<int64_t> pads = n.getInts("pads", SmallVector<int64_t>(2 * spatial, 0));
  SmallVector<int64_t> outPad = n.getInts("output_padding", SmallVector<int64_t>(spatial, 0));
  std::string autoPad = n.getString("auto_pad", "NOTSET");
  if (autoPad == "VALID")
    autoPad = "NOTSET";
  Value v = n.createOne("conv_transpose", {n.input(0), n.input(1), n.input(2)},
                        {n.ints("kernel_shape", k), n.ints("strides", strides),
                         n.ints("pads", pads), n.ints("dilations", dilations),
                         n.str("auto_pad", autoPad), n.ints("output_padding", outPad),
                         n.i64("group", n.getInt("group", 1))});
  return v ? n.setOutputs(v) : failure();
}

static LogicalResult importPool(NodeImporter &n, StringRef tern) {
  if (failed(n.requireInputs(1)))
    return failure();
  if (!n.hasAttr("kernel_shape"))
    return n.fail("kernel_shape is required");
  if (n.getInt("storage_order", 0) != 0 && n.node.output_size() > 1)
    return n.fail("column-major indices (storage_order 1) are not supported");
  auto attrs = importWindowAttrs(n, n.inputType(0), {});
  if (failed(attrs))
    return failure();
  attrs->push_back(n.boolean("ceil_mode", n.getInt("ceil_mode", 0)));
  if (tern == "average_pool")
    attrs->push_back(n.boolean("count_include_pad", n.getInt("count_include_pad", 0)));
  Value v = n.createOne(tern, {n.input(0)}, *attrs);
  return v ? n.setOutputs(v) : failure();
}

/// Softmax, LogSoftmax, Hardmax. Before opset 13 they flattened the input to
/// 2-D at `axis` (default 1); that form becomes flatten, op, reshape.
static Type elementTypeOf(Value v) { return cast<ShapedType>(v.getType()).getElementType(); }

/// Binds as many of `values` as the node has outputs.
static LogicalResult setSomeOutputs(NodeImporter &n, ArrayRef<Value> values) {
  size_t count = std::min<size_t>(values.size(), n.node.output_size());
  return n.setOutputs(ValueRange(values.take_front(count)));
}

/// LayerNormalization with its Mean and InvStdDev outputs read: written out
/// as reductions so that every output exists (stash_type 1 computes in f32).
static LogicalResult importLayerNormWithStats(NodeImporter &n, int64_t axis) {
  Value x = n.input(0);
  auto t = n.inputType(0);
  Type elem = t.getElementType();
  bool stash = n.getInt("stash_type", 1) == 1 && !elem.isF32() && !elem.isF64();
  Type f32 = n.builder.getF32Type();
  Type work = stash ? f32 : elem;
  auto castTo = [&](Value v, Type to) {
    return elementTypeOf(v) == to ? v : n.createOne("cast", {v}, {n.type("to", to)});
  };
  x = castTo(x, work);
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(axis, t.getRank()));
  auto reduceMean = [&](Value v) {
    return n.createOne("reduce_mean", {v}, {n.ints("axes", axes), n.boolean("keepdims", true),
                                            n.boolean("noop_with_empty_axes", false)});
  };
  Value mean = reduceMean(x);
  Value d = mean ? n.createOne("sub", {x, mean}) : Value();
  Value var = d ? reduceMean(n.createOne("mul", {d, d})) : Value();
  Value eps = n.constScalar(work, n.getFloat("epsilon", 1e-5f));
  Value inv = var ? n.createOne("reciprocal", {n.createOne("sqrt", {n.createOne("add", {var, eps})})}) : Value();
  if (!inv)
    return failure();
  Value y = n.createOne("mul", {n.createOne("mul", {d, inv}), castTo(n.input(1), work)});
  if (n.hasInput(2))
    y = n.createOne("add", {y, castTo(n.input(2), work)});
  if (!y)
    return failure();
  return setSomeOutputs(n, {castTo(y, elem), mean, inv});
}

/// NegativeLogLikelihoodLoss over (already log-) probabilities `input`
/// [N, C, d...] and integer `target` [N, d...], written out as gathers,
/// masks and reductions.
static Value negativeLogLikelihood(NodeImporter &n, Value input, Value target, Value weight) {
  std::string reduction = n.getString("reduction", "mean");
  Type elem = elementTypeOf(input), idx = elementTypeOf(target);
  Value zero = n.constScalar(elem, 0), one = n.constScalar(elem, 1);
  Value mask;
  if (n.hasAttr("ignore_index")) {
    mask = n.createOne("equal", {target, n.constScalar(idx, n.getInt("ignore_index", 0))});
    if (!mask)
      return {};
    target = n.createOne("where", {mask, n.constScalar(idx, 0), target});
  }
  Value picked = n.createOne("gather_elements",
                             {input, n.createOne("unsqueeze", {target}, {n.ints("axes", {1})})}, {n.i64("axis", 1)});
  if (!picked)
    return {};
  Value loss = n.createOne("neg", {n.createOne("squeeze", {picked}, {n.ints("axes", {1})})});
  Value w;
  if (weight) {
    w = n.createOne("gather", {weight, target}, {n.i64("axis", 0)});
    loss = n.createOne("mul", {loss, w});
  }
  if (mask) {
    loss = n.createOne("where", {mask, zero, loss});
    w = n.createOne("where", {mask, zero, w ? w : one});
  }
  if (!loss)
    return {};
  if (reduction == "none")
    return loss;
  auto rank = cast<RankedTensorType>(loss.getType()).getRank();
  SmallVector<int64_t> all = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  auto sum = [&](Value v) {
    return n.createOne("reduce_sum", {v}, {n.ints("axes", all), n.boolean("keepdims", false),
                                           n.boolean("noop_with_empty_axes", false)});
  };
  if (reduction == "sum")
    return sum(loss);
  if (reduction != "mean")
    return (void)n.fail("unknown reduction '" + reduction + "'"), Value();
  if (!w)
    return n.createOne("reduce_mean", {loss}, {n.ints("axes", all), n.boolean("keepdims", false),
                                               n.boolean("noop_with_empty_axes", false)});
  return n.createOne("div", {sum(loss), sum(w)});
}

static LogicalResult importSoftmaxLike(NodeImporter &n, StringRef tern) {
  if (failed(n.requireInputs(1)) || failed(n.checkAttrs({"axis"})))
    return failure();
  RankedTensorType t = n.inputType(0);
  int64_t rank = t.getRank();
  bool legacy = n.opset < 13;
  FailureOr<int64_t> axis = n.axis(n.getInt("axis", legacy ? 1 : -1), std::max<int64_t>(rank, 1));
  if (failed(axis))
    return failure();
  if (!legacy || *axis == rank - 1) {
    Value v = n.createOne(tern, {n.input(0)}, {n.i64("axis", *axis)});
    return v ? n.setOutputs(v) : failure();
  }
  Value flat = n.createOne("flatten", {n.input(0)}, {n.i64("axis", *axis)});
  if (!flat)
    return failure();
  Value y = n.createOne(tern, {flat}, {n.i64("axis", 1)});
  if (!y)
    return failure();
  Value shape = n.createOne("shape", {n.input(0)}, {n.i64("start", 0), n.i64("end", rank)});
  Value v = shape ? n.createOne("reshape", {y, shape}) : Value();
  return v ? n.setOutputs(v) : failure();
}

void registerNNImporters(ImporterRegistry &r) {
  r.add("", "MatMul", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(2)))
      return failure();
    Value v = n.createOne("matmul", {n.input(0), n.input(1)});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "Gemm", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(2)) ||
        failed(n.checkAttrs({"alpha", "beta", "transA", "transB", "broadcast"})))
      return failure();
    Value v = n.createOne("gemm", {n.input(0), n.input(1), n.input(2)},
                          {n.f32("alpha", n.getFloat("alpha", 1.0f)),
                           n.f32("beta", n.getFloat("beta", 1.0f)),
                           n.boolean("trans_a", n.getInt("transA", 0)),
                           n.boolean("trans_b", n.getInt("transB", 0))});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "Conv", importConv);
  r.add("", "ConvTranspose", importConvTranspose);
  r.add("", "MaxPool", [](NodeImporter &n) { return importPool(n, "max_pool"); });
  r.add("", "AveragePool", [](NodeImporter &n) { return importPool(n, "average_pool"); });
  r.add("", "GlobalAveragePool", [](NodeImporter &n) -> LogicalResult {
    Value v = n.createOne("global_average_pool", {n.input(0)});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "GlobalMaxPool", [](NodeImporter &n) -> LogicalResult {
    Value v = n.createOne("global_max_pool", {n.input(0)});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "BatchNormalization", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(5)))
      return failure();
    if (n.getInt("training_mode", 0) || n.getInt("is_test", 1) == 0)
      return n.fail("training mode is not supported");
    if (n.getInt("spatial", 1) != 1)
      return n.fail("spatial = 0 is not supported");
    Value v = n.createOne("batch_normalization",
                          {n.input(0), n.input(1), n.input(2), n.input(3), n.input(4)},
                          {n.f32("epsilon", n.getFloat("epsilon", 1e-5f))});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "InstanceNormalization", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(3)))
      return failure();
    Value v = n.createOne("instance_normalization", {n.input(0), n.input(1), n.input(2)},
                          {n.f32("epsilon", n.getFloat("epsilon", 1e-5f))});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "LayerNormalization", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(2)) || failed(n.checkAttrs({"axis", "epsilon", "stash_type"})))
      return failure();
    FailureOr<int64_t> axis = n.axis(n.getInt("axis", -1), n.inputType(0).getRank());
    if (failed(axis))
      return failure();
    bool stats = false;
    for (int i = 1; i < n.node.output_size(); ++i)
      stats |= !n.node.output(i).empty();
    if (stats)
      return importLayerNormWithStats(n, *axis);
    Value v = n.createOne("layer_normalization", {n.input(0), n.input(1), n.input(2)},
                          {n.i64("axis", *axis), n.f32("epsilon", n.getFloat("epsilon", 1e-5f))});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "NegativeLogLikelihoodLoss", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(2)) || failed(n.checkAttrs({"reduction", "ignore_index"})))
      return failure();
    Value v = negativeLogLikelihood(n, n.input(0), n.input(1), n.input(2));
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "SoftmaxCrossEntropyLoss", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(2)) || failed(n.checkAttrs({"reduction", "ignore_index"})))
      return failure();
    Value logProb = n.createOne("log_softmax", {n.input(0)}, {n.i64("axis", 1)});
    Value v = logProb ? negativeLogLikelihood(n, logProb, n.input(1), n.input(2)) : Value();
    return v ? setSomeOutputs(n, {v, logProb}) : failure();
  });
  r.add("", "Softmax", [](NodeImporter &n) { return importSoftmaxLike(n, "softmax"); });
  r.add("", "LogSoftmax", [](NodeImporter &n) { return importSoftmaxLike(n, "log_softmax"); });
  r.add("", "Hardmax", [](NodeImporter &n) { return importSoftmaxLike(n, "hardmax"); });
}

} // namespace tern
