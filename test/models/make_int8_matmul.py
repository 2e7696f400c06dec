#!/usr/bin/python3
"""Writes a small ONNX model of 8-bit integer matmuls with constant
weights, for their u8 x s8 lowering (zero points applied after the sum)
against ONNX Runtime. The shapes leave remainders everywhere: k = 37 (not
a multiple of 4), n = 45 and 20 (partial panels), 26 rows.

  - o1: DynamicQuantizeLinear's uint8 activations x int8 weights with a
    zero point per column (the row sums of A are needed);
  - o2: int8 activations (QuantizeLinear) x uint8 weights, both zero points
    scalars (A read as u8 with its top bit flipped, B shifted at compile
    time);
  - o3: QLinearMatMul, uint8 x int8 with a per-column weight scale and zero
    point, requantized and dequantized to float.

  make_int8_matmul.py OUT.onnx [--full-range]

o1's weights are 7-bit unless --full-range: ONNX Runtime's u8 x s8 kernel
on x86 without VNNI (vpmaddubsw) sums each pair of products in i16 with
saturation, which 255 * 128 * 2 overflows, and its reference would be off
there (tern sums exactly); test/Models/int8-matmul-full-range.test runs
the full range where ONNX Runtime is exact.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

B, M, K, N1, N2 = 2, 13, 37, 45, 20
rng = np.random.default_rng(5)
W1 = 128 if "--full-range" in sys.argv[2:] else 64
inits = [
    numpy_helper.from_array(rng.integers(-W1, W1, (K, N1)).astype(np.int8), "w1"),
    numpy_helper.from_array(rng.integers(-5, 6, (N1,)).astype(np.int8), "w1_zp"),
    numpy_helper.from_array(np.array(0.05, np.float32), "x_scale"),
    numpy_helper.from_array(np.array(3, np.int8), "x_zp"),
    numpy_helper.from_array(rng.integers(0, 256, (K, N2)).astype(np.uint8), "w2"),
    numpy_helper.from_array(np.array(130, np.uint8), "w2_zp"),
    numpy_helper.from_array(np.array(7, np.uint8), "xu_zp"),
    numpy_helper.from_array(rng.integers(-128, 128, (K, N1)).astype(np.int8), "w3"),
    numpy_helper.from_array(rng.uniform(0.01, 0.02, (N1,)).astype(np.float32), "w3_scale"),
    numpy_helper.from_array(rng.integers(-3, 4, (N1,)).astype(np.int8), "w3_zp"),
    numpy_helper.from_array(np.array(0.4, np.float32), "y_scale"),
    numpy_helper.from_array(np.array(128, np.uint8), "y_zp"),
]
nodes = [
    helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
    helper.make_node("MatMulInteger", ["xq", "w1", "xz", "w1_zp"], ["o1"]),
    helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zp"], ["xq8"]),
    helper.make_node("MatMulInteger", ["xq8", "w2", "x_zp", "w2_zp"], ["o2"]),
    helper.make_node("QuantizeLinear", ["x", "x_scale", "xu_zp"], ["xu8"]),
    helper.make_node("QLinearMatMul", ["xu8", "x_scale", "xu_zp", "w3", "w3_scale", "w3_zp", "y_scale", "y_zp"],
                     ["y3"]),
    helper.make_node("DequantizeLinear", ["y3", "y_scale", "y_zp"], ["o3"]),
]
inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [B, M, K])]
outputs = [
    helper.make_tensor_value_info("o1", TensorProto.INT32, [B, M, N1]),
    helper.make_tensor_value_info("o2", TensorProto.INT32, [B, M, N2]),
    helper.make_tensor_value_info("o3", TensorProto.FLOAT, [B, M, N1]),
]
model = helper.make_model(helper.make_graph(nodes, "int8_matmul", inputs, outputs, inits),
                          opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
