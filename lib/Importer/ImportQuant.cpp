//===- ImportQuant.cpp - quantized and low-bit ops -----------------------===//

#include "NodeImporter.h"

#include "dialects/Tern/TernOps.h"

using namespace mlir;

namespace tern {

/// The axis of a per-axis or block-wise parameter; per-tensor ones keep 0.
static FailureOr<int64_t> quantAxis(NodeImporter &n) {
  int64_t rank = n.inputType(0).getRank();
  int64_t axis = n.getInt("axis", 1);
  RankedTensorType scale = n.inputType(1);
  bool perTensor = scale.getRank() == 0 || (scale.hasStaticShape() && scale.getNumElements() == 1 &&
                                            n.getInt("block_size", 0) == 0);
  if (perTensor || rank == 0)
    return axis < 0 ? std::max<int64_t>(0, axis + rank) : std::min<int64_t>(axis, std::max<int64_t>(rank - 1, 0));
  return n.axis(axis, rank);
}

static LogicalResult importQuantizeLinear(NodeImporter &n) {
  if (failed(n.requireInputs(2)) ||
      failed(n.checkAttrs({"axis", "block_size", "saturate", "output_dtype"})))
    return failure();
  FailureOr<int64_t> axis = quantAxis(n);
  if (failed(axis))
    return failure();
  Type out;
  if (n.hasInput(2)) {
    out = n.inputType(2).getElementType();
  } else if (int64_t dt = n.getInt("output_dtype", 0)) {
    out = convertElementType(n.builder.getContext(), dt);
    if (!out)
      return n.fail("unsupported output_dtype " + onnxTypeName(dt));
  } else {
    out = IntegerType::get(n.builder.getContext(), 8, IntegerType::Unsigned);
  }
  Value v = n.createOne("quantize_linear", {n.input(0), n.input(1), n.input(2)},
                        {n.type("output_type", out), n.i64("axis", *axis),
                         n.i64("block_size", n.getInt("block_size", 0)),
                         n.boolean("saturate", n.getInt("saturate", 1))});
  return v ? n.setOutputs(v) : failure();
}

static LogicalResult importDequantizeLinear(NodeImporter &n) {
  if (failed(n.requireInputs(2)) || failed(n.checkAttrs({"axis", "block_size"})))
    return failure();
  FailureOr<int64_t> axis = quantAxis(n);
  if (failed(axis))
    return failure();
  Value v = n.createOne("dequantize_linear", {n.input(0), n.input(1), n.input(2)},
                        {n.i64("axis", *axis), n.i64("block_size", n.getInt("block_size", 0))});
  return v ? n.setOutputs(v) : failure();
}

static LogicalResult importQLinearConv(NodeImporter &n) {
  if (failed(n.requireInputs(8)))
    return failure();
  RankedTensorType w = n.inputType(3);
  auto attrs = importWindowAttrs(n, n.inputType(0), w.getShape().drop_front(2));
  if (failed(attrs))
    return failure();
  attrs->push_back(n.i64("group", n.getInt("group", 1)));
  SmallVector<Value> operands;
  for (int64_t i = 0; i < 9; ++i)
    operands.push_back(n.input(i));
  Value v = n.createOne("qlinear_conv", operands, *attrs);
  return v ? n.setOutputs(v) : failure();
}

static LogicalResult importConvInteger(NodeImporter &n) {
  if (failed(n.requireInputs(2)))
    return failure();
  RankedTensorType w = n.inputType(1);
  auto attrs = importWindowAttrs(n, n.inputType(0), w.getShape().drop_front(2));
  if (failed(attrs))
    return failure();
  attrs->push_back(n.i64("group", n.getInt("group", 1)));
  attrs->push_back(n.segments({1, 1, n.hasInput(2) ? 1 : 0, n.hasInput(3) ? 1 : 0}));
  Value v = n.createOne("conv_integer", {n.input(0), n.input(1), n.input(2), n.input(3)}, *attrs);
  return v ? n.setOutputs(v) : failure();
}

void registerQuantImporters(ImporterRegistry &r) {
  r.add("", "QuantizeLinear", importQuantizeLinear);
  r.add("", "DequantizeLinear", importDequantizeLinear);
  r.add("", "DynamicQuantizeLinear", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(1)))
      return failure();
    FailureOr<SmallVector<Value>> v = n.create("dynamic_quantize_linear", {n.input(0)});
    return succeeded(v) ? n.setOutputs(*v) : failure();
  });
  r.add("", "MatMulInteger", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(2)))
      return failure();
    // tern.matmul_integer also takes int16 activations; ONNX's takes bytes.
    for (int64_t i : {0, 2})
      if (Value v = n.input(i))
        if (auto t = dyn_cast<RankedTensorType>(v.getType()); t && t.getElementTypeBitWidth() != 8)
          return n.fail("input " + std::to_string(i) + " must be int8 or uint8");
    Value v = n.createOne("matmul_integer", {n.input(0), n.input(1), n.input(2), n.input(3)},
                          {n.segments({1, 1, n.hasInput(2) ? 1 : 0, n.hasInput(3) ? 1 : 0})});
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "ConvInteger", importConvInteger);
  r.add("", "QLinearMatMul", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(8)))
      return failure();
    SmallVector<Value> operands;
    for (int64_t i = 0; i < 8; ++i)
      operands.push_back(n.input(i));
    Value v = n.createOne("qlinear_matmul", operands);
    return v ? n.setOutputs(v) : failure();
  });
  r.add("", "QLinearConv", importQLinearConv);

  r.add(kMicrosoftDomain, "MatMulNBits", [](NodeImporter &n) -> LogicalResult {
    if (failed(n.requireInputs(3)) ||
        failed(n.checkAttrs({"K", "N", "bits", "block_size", "accuracy_level"})))
      return failure();
    if (!n.hasAttr("K") || !n.hasAttr("N") || !n.hasAttr("block_size"))
      return n.fail("K, N and block_size are required");
    Value v = n.createOne(
        "matmul_nbits", {n.input(0), n.input(1), n.input(2), n.input(3), n.input(4), n.input(5)},
        {n.i64("k", n.getInt("K", 0)), n.i64("n", n.getInt("N", 0)),
         n.i64("bits", n.getInt("bits", 4)), n.i64("block_size", n.getInt("block_size", 0)),
         n.i64("accuracy_level", n.getInt("accuracy_level", 0)),
         n.segments({1, 1, 1, n.hasInput(3) ? 1 : 0, n.hasInput(4) ? 1 : 0,
                     n.hasInput(5) ? 1 : 0})});
    return v ? n.setOutputs(v) : failure();
  });
}

} // namespace tern
