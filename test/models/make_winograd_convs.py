#!/usr/bin/python3
"""Writes a small ONNX model of 3x3 convolutions that Winograd's algorithm
can run (stride 1, one group, channels multiples of 8) in the forms that
exercise its tiles and pads, and two it must not:

  - conv0: 3 input channels (not a multiple of 8): stays direct;
  - conv1: 16 -> 24, pads 1, a bias, then Relu, on 13 x 11 (tiles that
    overhang the output on both axes);
  - conv2: 24 -> 32, no pads (the output shrinks), no bias;
  - conv3: 32 -> 32, pads top 0, left 1, bottom 2, right 1;
  - conv4: 32 -> 16, auto_pad SAME_UPPER, plus a residual Add;
  - conv5: 16 -> 16 with stride 2: stays direct.

  make_winograd_convs.py OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(11)


def const(name, shape, scale):
    return numpy_helper.from_array(rng.uniform(-scale, scale, shape).astype(np.float32), name)


inits = [const("w0", [16, 3, 3, 3], 0.5), const("w1", [24, 16, 3, 3], 0.2), const("b1", [24], 0.5),
         const("w2", [32, 24, 3, 3], 0.2), const("w3", [32, 32, 3, 3], 0.2), const("w4", [16, 32, 3, 3], 0.2),
         const("b4", [16], 0.5), const("w5", [16, 16, 3, 3], 0.2)]
nodes = [
    helper.make_node("Conv", ["x", "w0"], ["c0"], pads=[1, 1, 1, 1], name="conv0"),
    helper.make_node("Conv", ["c0", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
    helper.make_node("Relu", ["c1"], ["r1"]),
    helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2"),
    helper.make_node("Conv", ["c2", "w3"], ["c3"], pads=[0, 1, 2, 1], name="conv3"),
    helper.make_node("Conv", ["c3", "w4", "b4"], ["c4"], auto_pad="SAME_UPPER", name="conv4"),
    helper.make_node("Conv", ["c4", "w5"], ["c5"], pads=[1, 1, 1, 1], strides=[2, 2], name="conv5"),
    helper.make_node("Add", ["c4", "c4"], ["y"]),
]
graph = helper.make_graph(nodes, "winograd_convs",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 13, 11])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 16, 11, 9]),
                           helper.make_tensor_value_info("c5", TensorProto.FLOAT, ["N", 16, 6, 5])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
