#!/usr/bin/python3
"""Builds the bundle test/GPU/device/run.sh runs on a GPU machine, here on the
build machine (the GPU machine has no LLVM, and room for 64 MiB of files).

  test/GPU/device/prepare.py --build build [--out gpu-bundle] [--gpu-arch sm_90]

The bundle holds tern-run and the runtime (no LLVM or MLIR in either); each
shared model compiled for the GPU with its pinned shapes, its seeded inputs
and the outputs ONNX Runtime and tern's CPU build give for them; a sample of
the ONNX node cases compiled for the GPU with their test data; and
gpt2-124m compiled for the GPU from its graph with all-zero weights, for
timing only (its 621 MB weights file travels gzipped, a few MB).
Run it from the repository root; name the bundle folder in
.git/info/exclude so that it travels only when carried.
"""
import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(REPO, "test", "models"))
import check_models  # noqa: E402  (make_inputs: the seeded inputs of the model tests)

SHARED = os.path.join(os.path.dirname(REPO), "shared", "models")
# name, file, how outputs are compared ("float" or "quantized")
MODELS = [
    ("digits-mlp", "digits-mlp.onnx", "float"),
    ("gpt2-tiny", "gpt2-tiny.onnx", "float"),
    ("bert-tiny", "bert-tiny.onnx", "float"),
    ("mobilenetv2", "mobilenetv2.onnx", "float"),
    ("llama-tiny.int4", "llama-tiny.int4-matmulnbits.onnx", "float"),
    ("gpt2-tiny.int8", "gpt2-tiny.int8-dynamic.onnx", "quantized"),
]
# ONNX node cases: elementwise, matmul/conv/pooling, reductions, normalization,
# data movement and the quantized kernels.
CONFORMANCE = (r"^test_(add|mul|div|relu|sigmoid|tanh|erf|exp|sqrt|pow|clip|gelu|softmax_axis_1|matmul_2d|matmul_3d|"
               r"gemm_default|conv_with_strides_padding|convinteger|maxpool_2d_pads|averagepool_2d_default|"
               r"reduce_mean_default|reduce_sum_default|layer_normalization_3d|gather_0|slice$|transpose_default|"
               r"concat_3d|where_example|cast_FLOAT_to|trilu|qlinearmatmul_2D|matmulinteger|dequantizelinear$|"
               r"quantizelinear$|dynamicquantizelinear$|expand_dim_changed|cumsum_1d$|argmax_default)")
NODE_DATA = "/usr/share/libonnx-testdata/data/node"


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit("prepare: %s failed (exit %d): %s" % (cmd[0], p.returncode, (p.stderr or p.stdout)[-800:]))
    return p.stdout


def zero_weights(model):
    """Gives a graph-only model (external data not shipped) all-zero weights:
    sparse files of the sizes its initializers name, beside it."""
    sizes = {}
    for t in onnx.load(model, load_external_data=False).graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            d = {e.key: e.value for e in t.external_data}
            end = int(d.get("offset", 0)) + int(d.get("length", 0))
            sizes[d["location"]] = max(sizes.get(d["location"], 0), end)
    for location, size in sizes.items():
        with open(os.path.join(os.path.dirname(model), location), "wb") as f:
            f.truncate(size)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", default="gpu-bundle")
    ap.add_argument("--gpu-arch", default="sm_90")
    args = ap.parse_args()
    ternc = os.path.join(args.build, "bin", "ternc")
    gpu = ["--target=nvptx", "--gpu-arch=" + args.gpu_arch]
    shutil.rmtree(args.out, ignore_errors=True)
    for d in ("bin", "lib", "models", "conformance"):
        os.makedirs(os.path.join(args.out, d))
    shutil.copy2(os.path.join(args.build, "bin", "tern-run"), os.path.join(args.out, "bin"))
    shutil.copy2(os.path.join(args.build, "lib", "libtern_runtime.so"), os.path.join(args.out, "lib"))
    for tool in ("run.sh", "run_bundle.py", "bench_torch.py"):
        shutil.copy2(os.path.join(HERE, tool), args.out)
    manifest = {"gpu_arch": args.gpu_arch, "models": [], "conformance": [], "benchmarks": []}

    for name, file, kind in MODELS:
        model = os.path.join(SHARED, file)
        work = os.path.join(args.out, "models", name)
        inputs = check_models.make_inputs(model, 1, 16, work)
        feeds = ["--input=%s=%s" % (n, p) for n, p, _ in inputs]
        pins = ["--input-shape=%s=%s" % (n, "x".join(map(str, d)) if d else "scalar") for n, _, d in inputs]
        run(["node", os.path.join(REPO, "bench", "ort-run.js"), model, "--output-dir", os.path.join(work, "ort")] + feeds)
        cpu = os.path.join(args.out, "cpu.so")
        run([ternc, model, "-o", cpu] + pins)
        run([os.path.join(args.build, "bin", "tern-run"), cpu, "--output-dir", os.path.join(work, "cpu")] + feeds)
        os.remove(cpu)
        run([ternc, model, "-o", os.path.join(args.out, "models", name + ".so")] + pins + gpu)
        manifest["models"].append({"name": name, "compare": kind,
                                   "inputs": {n: os.path.relpath(p, args.out) for n, p, _ in inputs}})

    if os.path.isdir(NODE_DATA):
        for case in sorted(os.listdir(NODE_DATA)):
            if not re.search(CONFORMANCE, case):
                continue
            lib = os.path.join(args.out, "conformance", case + ".so")
            p = subprocess.run([ternc, os.path.join(NODE_DATA, case, "model.onnx"), "-o", lib] + gpu,
                               capture_output=True, text=True)
            if p.returncode != 0:
                continue  # cases tern does not support on the GPU
            shutil.copytree(os.path.join(NODE_DATA, case, "test_data_set_0"),
                            os.path.join(args.out, "conformance", case))
            manifest["conformance"].append(case)

    graph = os.path.join(SHARED, "gpt2-124m.graph.onnx")
    if os.path.exists(graph):
        lib = os.path.join(args.out, "models", "gpt2-124m.so")
        with tempfile.TemporaryDirectory(prefix="tern-gpu-") as tmp:
            model = os.path.join(tmp, "gpt2-124m.onnx")
            shutil.copy2(graph, model)
            zero_weights(model)
            run([ternc, model, "-o", lib, "--weights=external", "--input-shape=input_ids=1x128"] + gpu)
        weights = lib[:-3] + ".weights"
        size = os.path.getsize(weights)
        with open(weights, "rb") as src, gzip.open(weights + ".gz", "wb", compresslevel=1) as dst:
            shutil.copyfileobj(src, dst, 1 << 24)
        os.remove(weights)
        manifest["benchmarks"].append({"name": "gpt2-124m", "library": "models/gpt2-124m.so",
                                       "weights": "models/gpt2-124m.weights", "weights_bytes": size,
                                       "inputs": {"input_ids": [1, 128]}, "torch": "gpt2"})
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(args.out) for f in fs)
    print("prepare: %s: %d models, %d conformance cases, %d benchmarks, %.1f MiB" %
          (args.out, len(manifest["models"]), len(manifest["conformance"]), len(manifest["benchmarks"]),
           total / 2**20))
    if total > 60 * 2**20:
        sys.exit("prepare: the bundle is over 60 MiB; the GPU machine takes 64 MiB with the checkout")


if __name__ == "__main__":
    main()
