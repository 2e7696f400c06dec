#!/usr/bin/python3
"""Writes a small ONNX model of Conv + BatchNormalization (+ Relu) pairs, as
an exporter writes a network it did not fold: one Conv with a bias, one
without, and one BatchNormalization whose Conv is also read elsewhere.

  make_conv_bn.py OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)


def const(name, shape, lo=-1.0, hi=1.0):
    return numpy_helper.from_array(rng.uniform(lo, hi, shape).astype(np.float32), name)


def bn_params(prefix, c):
    return [const(prefix + "_scale", [c], 0.5, 1.5), const(prefix + "_bias", [c]),
            const(prefix + "_mean", [c], -0.5, 0.5), const(prefix + "_var", [c], 0.1, 2.0)]


inits = [const("w1", [8, 3, 3, 3]), const("b1", [8]), const("w2", [16, 8, 1, 1]), const("w3", [16, 16, 3, 3])]
inits += bn_params("bn1", 8) + bn_params("bn2", 16) + bn_params("bn3", 16)
bn = lambda i, x, y: helper.make_node("BatchNormalization", [x] + [f"bn{i}_{p}" for p in ("scale", "bias", "mean", "var")],
                                      [y], epsilon=1e-3, name=f"bn{i}")
nodes = [
    helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
    bn(1, "c1", "n1"),
    helper.make_node("Relu", ["n1"], ["r1"]),
    helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2"),
    bn(2, "c2", "n2"),
    helper.make_node("Conv", ["n2", "w3"], ["c3"], pads=[1, 1, 1, 1], name="conv3"),
    bn(3, "c3", "n3"),
    helper.make_node("Add", ["n3", "c3"], ["y"]),
]
graph = helper.make_graph(nodes, "conv_bn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 12, 12])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 16, 12, 12])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
