#!/usr/bin/python3
"""Writes a small ONNX model of float MatMuls on 8-bit weights that the
graph dequantizes (weight-only quantization, as a QDQ model's LM head),
which tern runs as integer products of 16-bit activations
(tern-int16-activations). k = 37 (odd: the last pair of k half empty),
n = 45 and 20 (partial panels), 26 rows.

  - o1: uint8 weights, one scale and zero point (130);
  - o2: int8 weights, a scale and zero point per column (axis 1).

  make_weight_only_int8.py OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

B, M, K, N1, N2 = 2, 13, 37, 45, 20
rng = np.random.default_rng(11)
inits = [
    numpy_helper.from_array(rng.integers(0, 256, (K, N1)).astype(np.uint8), "w1"),
    numpy_helper.from_array(np.array(0.02, np.float32), "w1_scale"),
    numpy_helper.from_array(np.array(130, np.uint8), "w1_zp"),
    numpy_helper.from_array(rng.integers(-128, 128, (K, N2)).astype(np.int8), "w2"),
    numpy_helper.from_array(rng.uniform(0.01, 0.03, (N2,)).astype(np.float32), "w2_scale"),
    numpy_helper.from_array(rng.integers(-4, 5, (N2,)).astype(np.int8), "w2_zp"),
]
nodes = [
    helper.make_node("DequantizeLinear", ["w1", "w1_scale", "w1_zp"], ["w1f"]),
    helper.make_node("MatMul", ["x", "w1f"], ["o1"]),
    helper.make_node("DequantizeLinear", ["w2", "w2_scale", "w2_zp"], ["w2f"], axis=1),
    helper.make_node("MatMul", ["x", "w2f"], ["o2"]),
]
inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [B, M, K])]
outputs = [
    helper.make_tensor_value_info("o1", TensorProto.FLOAT, [B, M, N1]),
    helper.make_tensor_value_info("o2", TensorProto.FLOAT, [B, M, N2]),
]
model = helper.make_model(helper.make_graph(nodes, "weight_only_int8", inputs, outputs, inits),
                          opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
