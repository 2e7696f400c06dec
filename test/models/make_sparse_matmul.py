#!/usr/bin/python3
"""Writes small models of 2:4-sparse matmuls (2 non-zeros in every 4
consecutive weights along k), for the kernel that stores and reads only
the non-zeros:

  - o1: x [1, 70] MatMul W1 [70, 100] + b1: one row, k % 4 = 2 (a last
    partial group), n = 100 (a partial panel);
  - o2: Gemm(x, W2 [64, 70], transB=1): transposed weights;
  - o3: x3 [3, 72] MatMul W3 [72, 64]: three rows in one kernel;
  - o4: x MatMul W4 [70, 32], dense (below --sparsity's 4096 weights, and
    not 2:4 in OUT.onnx): the dense kernel.

OUT.onnx holds the weights pruned by magnitude (what tern-prune-weights
does: in each group of 4 along k the 2 largest |w| stay, the first on
ties); OUT.dense.onnx the same graph with the dense weights, and
OUT.data/ (an ONNX test-data folder) inputs and the outputs of the pruned
model computed in float64, what `ternc OUT.dense.onnx --sparsity=2:4` must
reproduce.

  make_sparse_matmul.py OUT.onnx
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(24)


def prune(w, transposed=False):
    """2:4 along k of w [k, n] (or [n, k] when transposed)."""
    w = (w.T if transposed else w).copy()
    k = w.shape[0]
    for g in range(0, k, 4):
        blk = w[g:g + 4]
        order = np.argsort(-np.abs(blk), axis=0, kind="stable")
        for r in range(2, blk.shape[0]):
            blk[order[r], np.arange(w.shape[1])] = 0
    return w.T if transposed else w


def main():
    out = sys.argv[1]
    stem = out[:-len(".onnx")] if out.endswith(".onnx") else out
    dense = {
        "W1": rng.standard_normal((70, 100)).astype(np.float32),
        "b1": rng.standard_normal(100).astype(np.float32),
        "W2": rng.standard_normal((64, 70)).astype(np.float32),
        "W3": rng.standard_normal((72, 64)).astype(np.float32),
        "W4": rng.standard_normal((70, 32)).astype(np.float32),
    }
    pruned = dict(dense)
    pruned["W1"] = prune(dense["W1"])
    pruned["W2"] = prune(dense["W2"], transposed=True)
    pruned["W3"] = prune(dense["W3"])
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["t1"]),
        helper.make_node("Add", ["t1", "b1"], ["o1"]),
        helper.make_node("Gemm", ["x", "W2"], ["o2"], transB=1),
        helper.make_node("MatMul", ["x3", "W3"], ["o3"]),
        helper.make_node("MatMul", ["x", "W4"], ["o4"]),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 70]),
              helper.make_tensor_value_info("x3", TensorProto.FLOAT, [3, 72])]
    outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s)
               for n, s in (("o1", [1, 100]), ("o2", [1, 64]), ("o3", [3, 64]), ("o4", [1, 32]))]
    for path, weights in ((out, pruned), (stem + ".dense.onnx", dense)):
        graph = helper.make_graph(nodes, "sparse_matmul", inputs, outputs,
                                  [numpy_helper.from_array(v, k) for k, v in weights.items()])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        onnx.save(model, path)
    # Expected outputs of the pruned model, for the dense one compiled with
    # --sparsity=2:4.
    data = stem + ".data"
    os.makedirs(data, exist_ok=True)
    x = rng.standard_normal((1, 70)).astype(np.float32)
    x3 = rng.standard_normal((3, 72)).astype(np.float32)
    p = {k: v.astype(np.float64) for k, v in pruned.items()}
    results = [x @ p["W1"] + p["b1"], x @ p["W2"].T, x3 @ p["W3"], x @ p["W4"]]
    for i, (name, v) in enumerate((("x", x), ("x3", x3))):
        with open(os.path.join(data, "input_%d.pb" % i), "wb") as f:
            f.write(numpy_helper.from_array(v, name).SerializeToString())
    for i, (name, v) in enumerate(zip(("o1", "o2", "o3", "o4"), results)):
        with open(os.path.join(data, "output_%d.pb" % i), "wb") as f:
            f.write(numpy_helper.from_array(v.astype(np.float32), name).SerializeToString())


if __name__ == "__main__":
    main()
