#!/usr/bin/python3
"""Writes a small ONNX model of MobileNetV2's inverted residual block on
maps whose rows are not whole vectors (30 and 20 wide): the 1x1 expansion's
bias and Clip(0, 6) are stored by its matmul kernel straight into the
interior of the depthwise convolution's padded input, a vector of positions
split where it ends one row and starts the next.

  - y1: x1 [N, 16, 30, 30]: 1x1 conv to 48 + bias, Clip(0, 6), depthwise
    3x3 pads 1 + bias, Clip(0, 6), 1x1 conv to 16 + bias, + x1;
  - y2: x2 [N, 24, 20, 20]: the same with 96 channels inside, the
    depthwise convolution with stride 2 and no residual;
  - y3: x3 [N, 32, 7, 7]: the same with 192 channels inside, as in
    MobileNetV2's last stage: its 1x1 convolutions run positions as rows
    (49 = 8 x 6 + 1 or 6 x 8 + 1 rows, the last one on interleaved
    accumulators), A = x[channels][positions] packed into tiles of rows.

  make_inverted_residual.py OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(17)
inits, nodes = [numpy_helper.from_array(np.array(0.0, np.float32), "lo"),
                numpy_helper.from_array(np.array(6.0, np.float32), "hi")], []


def const(name, shape):
    inits.append(numpy_helper.from_array(rng.uniform(-0.5, 0.5, shape).astype(np.float32), name))
    return name


def block(p, x, c, inner, stride, residual):
    nodes.append(helper.make_node("Conv", [x, const(p + "we", [inner, c, 1, 1]), const(p + "be", [inner])],
                                  [p + "e"], name=p + "expand"))
    nodes.append(helper.make_node("Clip", [p + "e", "lo", "hi"], [p + "e6"], name=p + "clip_expand"))
    nodes.append(helper.make_node("Conv", [p + "e6", const(p + "wd", [inner, 1, 3, 3]), const(p + "bd", [inner])],
                                  [p + "d"], group=inner, pads=[1, 1, 1, 1], strides=[stride, stride],
                                  name=p + "depthwise"))
    nodes.append(helper.make_node("Clip", [p + "d", "lo", "hi"], [p + "d6"], name=p + "clip_depthwise"))
    out = p + "p" if residual else p + "y"
    nodes.append(helper.make_node("Conv", [p + "d6", const(p + "wp", [c, inner, 1, 1]), const(p + "bp", [c])],
                                  [out], name=p + "project"))
    if residual:
        nodes.append(helper.make_node("Add", [out, x], [p + "y"], name=p + "residual"))
    return p + "y"


y1 = block("b1", "x1", 16, 48, 1, True)
y2 = block("b2", "x2", 24, 96, 2, False)
y3 = block("b3", "x3", 32, 192, 1, True)
info = lambda n, c, h: helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", c, h, h])
graph = helper.make_graph(nodes, "inverted_residual", [info("x1", 16, 30), info("x2", 24, 20), info("x3", 32, 7)],
                          [info(y1, 16, 30), info(y2, 24, 10), info(y3, 32, 7)], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
