#!/usr/bin/env python3
"""ConvInteger with int8 inputs and a zero point, against numpy's exact sums.

Compiles one-node models (ternc) for channel counts that are whole, partial
and several register tiles of bytes, maps of 7 to 28, 1x1 and 3x3 windows,
and batches of 1 to 3 images, static or dynamic (the batch dim named), runs
them (tern-run), and prints one line per case:
"ok" when the i32 result equals numpy's, else the largest difference. The
input moves to channels last as bytes with its top bit flipped before the
patches are gathered (LowerQuant.cpp byteConv): these cases check that path
and its register transposes of byte tiles without ONNX Runtime.
"""
import argparse
import os
import subprocess
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def case(build, work, c, size, f, k, rng, batch=1, dynamic=False):
    x = rng.integers(-128, 128, size=(batch, c, size, size), dtype=np.int8)
    w = rng.integers(-127, 128, size=(f, c, k, k), dtype=np.int8)
    pad = k // 2
    node = helper.make_node("ConvInteger", ["x", "w", "zx"], ["y"], pads=[pad] * 4)
    graph = helper.make_graph(
        [node], "conv", [helper.make_tensor_value_info("x", TensorProto.INT8, ["N" if dynamic else batch, c, size, size])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, None)],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array(3, np.int8), "zx")])
    model = os.path.join(work, "m.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), model)
    np.save(os.path.join(work, "x.npy"), x)
    lib = os.path.join(work, "m.so")
    subprocess.run([os.path.join(build, "bin", "ternc"), model, "-o", lib], check=True)
    out = os.path.join(work, "out")
    subprocess.run([os.path.join(build, "bin", "tern-run"), lib, "--input", "x=" + os.path.join(work, "x.npy"),
                    "--output-dir", out], check=True, capture_output=True)
    y = np.load(os.path.join(out, "y.npy"))
    xp = np.pad(x.astype(np.int64) - 3, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ref = np.zeros((batch, f, size, size), np.int64)
    for i in range(k):
        for j in range(k):
            ref += np.einsum("fc,nchw->nfhw", w[:, :, i, j].astype(np.int64), xp[:, :, i:i + size, j:j + size])
    name = "c%d %dx%d f%d k%d" % (c, size, size, f, k)
    if batch != 1 or dynamic:
        name += " batch %d%s" % (batch, " (dynamic)" if dynamic else "")
    if y.shape == ref.shape and np.array_equal(y, ref):
        print("ok", name)
    else:
        print("FAIL", name, "max difference", np.abs(y.astype(np.int64) - ref).max() if y.shape == ref.shape else y.shape)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", required=True)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="tern-conv-integer-") as work:
        for c, size, f, k in [(16, 7, 16, 1), (24, 14, 32, 1), (64, 14, 64, 3), (96, 7, 32, 1), (32, 28, 16, 3),
                              (160, 7, 32, 1), (384, 14, 64, 1)]:
            case(args.build, work, c, size, f, k, rng)
        # Several images, as many as the model says or known at run time:
        # every image's positions are rows of one product.
        for c, size, f, k, batch, dynamic in [(64, 14, 64, 3, 2, False), (24, 14, 32, 1, 3, True),
                                              (32, 28, 16, 3, 2, True), (16, 7, 16, 1, 1, True)]:
            case(args.build, work, c, size, f, k, rng, batch, dynamic)


if __name__ == "__main__":
    main()
