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

With --bands, blocks whose expanded maps are large enough (0.5 MB and
more) for tern-fuse-pointwise-depthwise, which computes the expansion and
the depthwise convolution together in bands of rows and groups of channels:

  - y4: x4 [N, 16, 56, 56] to 96 channels, depthwise stride 2 (bands of
    input rows overlapping by one, the top band's padding row zero);
  - y5: x5 [N, 24, 40, 40] to 144 channels, stride 1, residual;
  - y6: x6 [N, 8, 45, 45] to 72 channels, Relu, a 5x5 depthwise with pads
    2 and stride 2 and no activation: 23 output rows, a prime, so bands of
    one row, every one reading 5 input rows.

  make_inverted_residual.py OUT.onnx [--bands]
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


def block(p, x, c, inner, stride, residual, k=3, relu=False, last_activation=True):
    nodes.append(helper.make_node("Conv", [x, const(p + "we", [inner, c, 1, 1]), const(p + "be", [inner])],
                                  [p + "e"], name=p + "expand"))
    if relu:
        nodes.append(helper.make_node("Relu", [p + "e"], [p + "e6"], name=p + "relu_expand"))
    else:
        nodes.append(helper.make_node("Clip", [p + "e", "lo", "hi"], [p + "e6"], name=p + "clip_expand"))
    nodes.append(helper.make_node("Conv", [p + "e6", const(p + "wd", [inner, 1, k, k]), const(p + "bd", [inner])],
                                  [p + "d" if last_activation else p + "d6"], group=inner, pads=[k // 2] * 4,
                                  strides=[stride, stride], name=p + "depthwise"))
    if last_activation:
        nodes.append(helper.make_node("Clip", [p + "d", "lo", "hi"], [p + "d6"], name=p + "clip_depthwise"))
    out = p + "p" if residual else p + "y"
    nodes.append(helper.make_node("Conv", [p + "d6", const(p + "wp", [c, inner, 1, 1]), const(p + "bp", [c])],
                                  [out], name=p + "project"))
    if residual:
        nodes.append(helper.make_node("Add", [out, x], [p + "y"], name=p + "residual"))
    return p + "y"


info = lambda n, c, h: helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", c, h, h])
if "--bands" in sys.argv[2:]:
    y4 = block("b4", "x4", 16, 96, 2, False)
    y5 = block("b5", "x5", 24, 144, 1, True)
    y6 = block("b6", "x6", 8, 72, 2, False, k=5, relu=True, last_activation=False)
    inputs = [info("x4", 16, 56), info("x5", 24, 40), info("x6", 8, 45)]
    outputs = [info(y4, 16, 28), info(y5, 24, 40), info(y6, 8, 23)]
else:
    y1 = block("b1", "x1", 16, 48, 1, True)
    y2 = block("b2", "x2", 24, 96, 2, False)
    y3 = block("b3", "x3", 32, 192, 1, True)
    inputs = [info("x1", 16, 30), info("x2", 24, 20), info("x3", 32, 7)]
    outputs = [info(y1, 16, 30), info(y2, 24, 10), info(y3, 32, 7)]
graph = helper.make_graph(nodes, "inverted_residual", inputs, outputs, inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
