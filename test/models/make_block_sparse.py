#!/usr/bin/python3
"""Writes small models of block-pruned matmuls (in each block of 32
columns, the half of the k rows of least L2 norm there zeroed), for the
kernel that stores and reads each panel's remaining rows only:

  - y1: x [16, 96] MatMul W1 [96, 80] + b1 (a partial last block and panel);
  - y2: Gemm(x, W2 [64, 96], transB=1): transposed weights.

OUT.onnx holds the pruned weights, OUT.dense.onnx the dense ones, and
OUT.data/ (an ONNX test-data folder) inputs and the pruned model's outputs
computed in float64: what `ternc OUT.dense.onnx --sparsity=block:0.5`
must reproduce (tern-prune-weights prunes as this script does).

  make_block_sparse.py OUT.onnx
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(32)


def prune(w, ratio=0.5, columns=32, transposed=False):
    """w [k, n] (or [n, k] when transposed), blocks of 1 x `columns`."""
    w = (w.T if transposed else w).copy()
    k, n = w.shape
    drop = int(ratio * k)
    for c0 in range(0, n, columns):
        block = w[:, c0:c0 + columns].astype(np.float64)
        norms = (block * block).sum(axis=1)
        # Smallest first; on equal norms the later row first.
        order = sorted(range(k), key=lambda r: (norms[r], -r))
        w[order[:drop], c0:c0 + columns] = 0
    return w.T if transposed else w


def main():
    out = sys.argv[1]
    stem = out[:-len(".onnx")] if out.endswith(".onnx") else out
    dense = {
        "W1": rng.standard_normal((96, 80)).astype(np.float32),
        "b1": rng.standard_normal(80).astype(np.float32),
        "W2": rng.standard_normal((64, 96)).astype(np.float32),
    }
    pruned = dict(dense, W1=prune(dense["W1"]), W2=prune(dense["W2"], transposed=True))
    nodes = [helper.make_node("MatMul", ["x", "W1"], ["t1"]),
             helper.make_node("Add", ["t1", "b1"], ["y1"]),
             helper.make_node("Gemm", ["x", "W2"], ["y2"], transB=1)]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [16, 96])]
    outputs = [helper.make_tensor_value_info("y1", TensorProto.FLOAT, [16, 80]),
               helper.make_tensor_value_info("y2", TensorProto.FLOAT, [16, 64])]
    for path, weights in ((out, pruned), (stem + ".dense.onnx", dense)):
        graph = helper.make_graph(nodes, "block_sparse", inputs, outputs,
                                  [numpy_helper.from_array(v, k) for k, v in weights.items()])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        onnx.save(model, path)
    data = stem + ".data"
    os.makedirs(data, exist_ok=True)
    x = rng.standard_normal((16, 96)).astype(np.float32)
    p = {k: v.astype(np.float64) for k, v in pruned.items()}
    with open(os.path.join(data, "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x, "x").SerializeToString())
    for i, (name, v) in enumerate((("y1", x @ p["W1"] + p["b1"]), ("y2", x @ p["W2"].T))):
        with open(os.path.join(data, "output_%d.pb" % i), "wb") as f:
            f.write(numpy_helper.from_array(v.astype(np.float32), name).SerializeToString())


if __name__ == "__main__":
    main()
