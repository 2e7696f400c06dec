#!/usr/bin/python3
"""Writes a small ONNX model of attention blocks as exporters write them,
for tern-fuse-attention and its lowering against ONNX Runtime:

  - keys and values longer than the queries (S = 8 queries, L = 80 keys:
    two key blocks of 40, tiles of 8 queries), a padding mask [B, 1, 1, L]
    added, the scale a Div, k^T a Transpose of the [B, L, H, D] projection;
  - grouped-query heads (2 key/value heads repeated to 4 with Unsqueeze,
    Expand, Reshape), a full [1, 1, S, L] mask, the scale a Mul.

  make_attention.py OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

B, S, L, H, D = 2, 8, 80, 4, 16
rng = np.random.default_rng(11)
inits = [
    numpy_helper.from_array(np.array(np.sqrt(D), np.float32), "sqrt_d"),
    numpy_helper.from_array(np.array(1.0 / np.sqrt(D), np.float32), "inv_sqrt_d"),
    numpy_helper.from_array(np.array([1, 2, 2, L, D], np.int64), "rep_shape"),
    numpy_helper.from_array(np.array([1, H, L, D], np.int64), "heads_shape"),
    numpy_helper.from_array(np.array([2], np.int64), "axis2"),
    numpy_helper.from_array(np.where(rng.uniform(size=(1, 1, S, L)) < 0.2, -1e9, 0.0).astype(np.float32), "full_mask"),
]
nodes = [
    # Block 1: q [B,H,S,D], k projection [B,L,H,D], v [B,H,L,D], mask [B,1,1,L].
    helper.make_node("Transpose", ["k1"], ["k1t"], perm=[0, 2, 3, 1]),
    helper.make_node("MatMul", ["q1", "k1t"], ["s1"]),
    helper.make_node("Div", ["s1", "sqrt_d"], ["s1d"]),
    helper.make_node("Add", ["s1d", "pad_mask"], ["s1m"]),
    helper.make_node("Softmax", ["s1m"], ["p1"], axis=-1),
    helper.make_node("MatMul", ["p1", "v1"], ["o1"]),
    # Block 2: grouped-query heads, batch 1.
    helper.make_node("Unsqueeze", ["k2", "axis2"], ["k2u"]),
    helper.make_node("Expand", ["k2u", "rep_shape"], ["k2e"]),
    helper.make_node("Reshape", ["k2e", "heads_shape"], ["k2r"]),
    helper.make_node("Unsqueeze", ["v2", "axis2"], ["v2u"]),
    helper.make_node("Expand", ["v2u", "rep_shape"], ["v2e"]),
    helper.make_node("Reshape", ["v2e", "heads_shape"], ["v2r"]),
    helper.make_node("Transpose", ["k2r"], ["k2t"], perm=[0, 1, 3, 2]),
    helper.make_node("MatMul", ["q2", "k2t"], ["s2"]),
    helper.make_node("Mul", ["s2", "inv_sqrt_d"], ["s2s"]),
    helper.make_node("Add", ["s2s", "full_mask"], ["s2m"]),
    helper.make_node("Softmax", ["s2m"], ["p2"], axis=3),
    helper.make_node("MatMul", ["p2", "v2r"], ["o2"]),
]
f = TensorProto.FLOAT
inputs = [
    helper.make_tensor_value_info("q1", f, [B, H, S, D]),
    helper.make_tensor_value_info("k1", f, [B, L, H, D]),
    helper.make_tensor_value_info("v1", f, [B, H, L, D]),
    helper.make_tensor_value_info("pad_mask", f, [B, 1, 1, L]),
    helper.make_tensor_value_info("q2", f, [1, H, S, D]),
    helper.make_tensor_value_info("k2", f, [1, 2, L, D]),
    helper.make_tensor_value_info("v2", f, [1, 2, L, D]),
]
outputs = [helper.make_tensor_value_info("o1", f, [B, H, S, D]), helper.make_tensor_value_info("o2", f, [1, H, S, D])]
model = helper.make_model(helper.make_graph(nodes, "attention", inputs, outputs, inits),
                          opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
