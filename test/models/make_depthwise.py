#!/usr/bin/python3
"""Writes a small ONNX model of depthwise 3x3 convolutions with strides 2
and 3 (their taps are strided views of the padded input, read as wide
vectors whose lanes are picked out), on sizes that leave partial vectors:

  - dw1: 16 channels, 57 x 57, stride 2, pads 1, a bias, then Clip(0, 6)
    (29-wide output rows);
  - dw2: on dw1's output, stride 2, no pads (14-wide rows);
  - dw3: on dw1's output, stride 3, pads 1 (10-wide rows);
  - dw4: on the input, stride (2, 1), pads 1 (57-wide rows, unit stride
    along them).

  make_depthwise.py OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(13)
C = 16


def const(name, shape):
    return numpy_helper.from_array(rng.uniform(-1, 1, shape).astype(np.float32), name)


inits = [const("w1", [C, 1, 3, 3]), const("b1", [C]), const("w2", [C, 1, 3, 3]), const("w3", [C, 1, 3, 3]),
         const("w4", [C, 1, 3, 3]),
         numpy_helper.from_array(np.array(0.0, np.float32), "lo"),
         numpy_helper.from_array(np.array(6.0, np.float32), "hi")]
nodes = [
    helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], group=C, pads=[1, 1, 1, 1], strides=[2, 2], name="dw1"),
    helper.make_node("Clip", ["c1", "lo", "hi"], ["y1"]),
    helper.make_node("Conv", ["y1", "w2"], ["y2"], group=C, strides=[2, 2], name="dw2"),
    helper.make_node("Conv", ["y1", "w3"], ["y3"], group=C, pads=[1, 1, 1, 1], strides=[3, 3], name="dw3"),
    helper.make_node("Conv", ["x", "w4"], ["y4"], group=C, pads=[1, 1, 1, 1], strides=[2, 1], name="dw4"),
]
out = lambda n, h, w: helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", C, h, w])
graph = helper.make_graph(nodes, "depthwise", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", C, 57, 57])],
                          [out("y1", 29, 29), out("y2", 14, 14), out("y3", 10, 10), out("y4", 29, 57)], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
