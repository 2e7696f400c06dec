#!/usr/bin/python3
"""Writes a small model of com.microsoft MatMulNBits (4-bit weights, as LLM
exports ship them), for their compile-time unpacking and the kernel that
dequantizes them in registers, against ONNX Runtime:

  - o1: block 32, no zero points (8 implied), k = 64, n = 48 (a partial
    panel), 3-D activations [2, 5, 64];
  - o2: block 16 with packed uint8 zero points, k = 40 (the last block
    partial), n = 33, and a bias;
  - o3: block 32 with float zero points, k = 32, n = 16, one row;
  - o4: block 32 with packed zero points, k = 80 (the last block
    partial), n = 40, 24 rows (each panel's weights dequantized once for
    all of them).

  make_matmul_nbits.py OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(9)
inits, nodes = [], []


def nbits(name, x, k, n, block, zp=None, bias=False):
    blocks = (k + block - 1) // block
    w = rng.integers(0, 256, (n, blocks, block // 2)).astype(np.uint8)
    s = rng.uniform(0.01, 0.05, n * blocks).astype(np.float32)
    inits.extend([numpy_helper.from_array(w, name + "_w"), numpy_helper.from_array(s, name + "_s")])
    ins = [x, name + "_w", name + "_s"]
    if zp == "packed":
        z = rng.integers(0, 256, n * ((blocks + 1) // 2)).astype(np.uint8)
        inits.append(numpy_helper.from_array(z, name + "_z"))
        ins.append(name + "_z")
    elif zp == "float":
        z = rng.uniform(6.0, 10.0, n * blocks).astype(np.float32)
        inits.append(numpy_helper.from_array(z, name + "_z"))
        ins.append(name + "_z")
    if bias:
        if len(ins) == 3:
            ins.append("")
        ins.extend(["", name + "_b"])
        inits.append(numpy_helper.from_array(rng.standard_normal(n).astype(np.float32), name + "_b"))
    nodes.append(helper.make_node("MatMulNBits", ins, [name], domain="com.microsoft", K=k, N=n, bits=4,
                                  block_size=block))


nbits("o1", "x1", 64, 48, 32)
nbits("o2", "x2", 40, 33, 16, zp="packed", bias=True)
nbits("o3", "x3", 32, 16, 32, zp="float")
nbits("o4", "x4", 80, 40, 32, zp="packed")
f = TensorProto.FLOAT
model = helper.make_model(
    helper.make_graph(nodes, "matmul_nbits",
                      [helper.make_tensor_value_info("x1", f, [2, 5, 64]), helper.make_tensor_value_info("x2", f, [7, 40]),
                       helper.make_tensor_value_info("x3", f, [1, 32]), helper.make_tensor_value_info("x4", f, [3, 8, 80])],
                      [helper.make_tensor_value_info("o1", f, [2, 5, 48]), helper.make_tensor_value_info("o2", f, [7, 33]),
                       helper.make_tensor_value_info("o3", f, [1, 16]), helper.make_tensor_value_info("o4", f, [3, 8, 40])],
                      inits),
    opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
model.ir_version = 8
onnx.save(model, sys.argv[1])
