#!/usr/bin/python3
"""Writes a small QDQ convolution model, as ONNX Runtime's static
quantization writes them (int8 activations with one scale and zero point,
int8 filters per output channel with zero points, int32 biases), for
tern-integer-qdq and the 8-bit convolution lowering against ONNX Runtime:

  - a 3x3 convolution with padding over 3 channels (k = 27, not a multiple
    of 4; its pads hold the activations' zero point), Relu, requantized;
  - a 1x1 convolution with stride 2, no bias;
  - a 3x3 convolution without a bias whose filters have zero points of 0,
    added to the dequantized input of the block (a residual).

  make_qdq_conv.py OUT.onnx [--dynamic-batch]

With --dynamic-batch the images are counted at run time (dim "N").
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(3)
C0, C1, C2, H = 3, 16, 24, 12
N = "N" if "--dynamic-batch" in sys.argv[2:] else 1
inits, nodes = [], []


def const(name, value):
    inits.append(numpy_helper.from_array(value, name))
    return name


def qdq(x, scale, zp, name):
    s, z = const(name + "_s", np.array(scale, np.float32)), const(name + "_z", np.array(zp, np.int8))
    nodes.append(helper.make_node("QuantizeLinear", [x, s, z], [name + "_q"]))
    nodes.append(helper.make_node("DequantizeLinear", [name + "_q", s, z], [name + "_dq"]))
    return name + "_dq"


def qconv(x, f, c, k, name, stride=1, bias=True, zero_zp=False):
    w = const(name + "_w", rng.integers(-127, 128, (f, c, k, k)).astype(np.int8))
    ws = const(name + "_ws", rng.uniform(0.002, 0.01, f).astype(np.float32))
    wz = const(name + "_wz", np.zeros(f, np.int8) if zero_zp else rng.integers(-4, 5, f).astype(np.int8))
    nodes.append(helper.make_node("DequantizeLinear", [w, ws, wz], [name + "_wdq"], axis=0))
    ins = [x, name + "_wdq"]
    if bias:
        b = const(name + "_b", rng.integers(-2000, 2000, f).astype(np.int32))
        bs = const(name + "_bs", rng.uniform(1e-4, 2e-4, f).astype(np.float32))
        bz = const(name + "_bz", np.zeros(f, np.int32))
        nodes.append(helper.make_node("DequantizeLinear", [b, bs, bz], [name + "_bdq"], axis=0))
        ins.append(name + "_bdq")
    nodes.append(helper.make_node("Conv", ins, [name + "_y"], kernel_shape=[k, k], pads=[k // 2] * 4,
                                  strides=[stride, stride]))
    return name + "_y"


x = qdq("x", 0.03, 2, "in")
y = qconv(x, C1, C0, 3, "c1")
nodes.append(helper.make_node("Relu", [y], ["c1_r"]))
y = qdq("c1_r", 0.02, -128, "a1")
z = qconv(y, C2, C1, 1, "c2", stride=2, bias=False)
z = qdq(z, 0.05, 0, "a2")
r = qconv(z, C2, C2, 3, "c3", bias=False, zero_zp=True)
nodes.append(helper.make_node("Add", [r, z], ["out"]))
model = helper.make_model(
    helper.make_graph(nodes, "qdq_conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [N, C0, H, H])],
                      [helper.make_tensor_value_info("out", TensorProto.FLOAT, [N, C2, H // 2, H // 2])], inits),
    opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
