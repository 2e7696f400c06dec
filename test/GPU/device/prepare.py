#!/usr/bin/python3
"""Builds the bundle test/GPU/device/run.sh runs on a GPU machine, here on the
build machine (the GPU machine has no LLVM, and room for 64 MiB of files).

  test/GPU/device/prepare.py --build build [--out gpu-bundle] [--gpu-arch sm_90]
                             [--models A,B] [--benchmarks A,B] [--big]

The bundle holds tern-run and the runtime (no LLVM or MLIR in either); each
shared model compiled for the GPU with its pinned shapes, its seeded inputs
and the outputs ONNX Runtime and tern's CPU build give for them; a sample of
the ONNX node cases compiled for the GPU with their test data; gpt2-124m in
fp16 from its graph, for timing; matmuls of two inputs (random there),
checked, and one of 4096^3 timed beside cuBLAS. Graph-only models get
weights that repeat a small random table (periodic_weights): their blobs
travel gzipped in a few MB, and nothing is timed on zeros. --big makes a
bundle of the full-size models instead (gpt2-124m and bert-base in fp16,
resnet50), checked like the small ones.
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

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(REPO, "test", "models"))
import check_models  # noqa: E402  (make_inputs: the seeded inputs of the model tests)

SHARED = os.path.join(os.path.dirname(REPO), "shared", "models")
# name, file, how outputs are compared ("float", "quantized", or the
# 16-bit precision it is compiled for, "fp16" or "bf16")
MODELS = [
    ("digits-mlp", "digits-mlp.onnx", "float"),
    ("gpt2-tiny", "gpt2-tiny.onnx", "float"),
    ("bert-tiny", "bert-tiny.onnx", "float"),
    ("mobilenetv2", "mobilenetv2.onnx", "float"),
    ("llama-tiny.int4", "llama-tiny.int4-matmulnbits.onnx", "float"),
    ("gpt2-tiny.int8", "gpt2-tiny.int8-dynamic.onnx", "quantized"),
    # The tensor cores' kernels (16-bit operands, f32 sums): against the
    # same fp32 references, by relative L2 error.
    ("gpt2-tiny.fp16", "gpt2-tiny.onnx", "fp16"),
    ("bert-tiny.bf16", "bert-tiny.onnx", "bf16"),
    ("llama-tiny.int4.fp16", "llama-tiny.int4-matmulnbits.onnx", "fp16"),
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


# The full-size models, from their graphs (--big, a bundle of its own): with
# weights that repeat a 4099-value table of N(0, 1) scaled as
# materialize-weights scales its (rank-4: He; rank-1 *weight: 1 + N(0,
# 0.02); others N(0, 0.02)), so that their blobs compress to a few MB each
# and the GPU computes on values that are not zeros.
BIG = [
    ("gpt2-124m.fp16", "gpt2-124m.graph.onnx", "fp16"),
    ("bert-base.fp16", "bert-base.graph.onnx", "fp16"),
    ("resnet50", "resnet50.graph.onnx", "float"),
]
PERIOD = 4099


def periodic_weights(model):
    """Writes a graph-only model's external data: float tensors from a
    repeating table (see BIG), anything else zeros."""
    table = np.random.default_rng(1).standard_normal(PERIOD)
    files = {}
    for t in onnx.load(model, load_external_data=False).graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            d = {e.key: e.value for e in t.external_data}
            files.setdefault(d["location"], []).append((int(d.get("offset", 0)), int(d["length"]), t))
    for location, parts in files.items():
        data = np.zeros(max(o + n for o, n, _ in parts), np.uint8)
        for offset, length, t in parts:
            if t.data_type != onnx.TensorProto.FLOAT:
                continue
            # As materialize-weights scales its: He for convolutions, else 0.02.
            std = np.sqrt(2.0 / max(1, int(np.prod(t.dims[1:])))) if len(t.dims) == 4 else 0.02
            values = table[np.arange(length // 4) % PERIOD] * std
            if len(t.dims) == 1 and t.name.endswith("weight"):
                values = values + 1.0
            data[offset:offset + length] = values.astype(np.float32).view(np.uint8)
        data.tofile(os.path.join(os.path.dirname(model), location))


def gzip_file(path):
    with open(path, "rb") as src, gzip.open(path + ".gz", "wb", compresslevel=1) as dst:
        shutil.copyfileobj(src, dst, 1 << 24)
    os.remove(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", default="gpu-bundle")
    ap.add_argument("--gpu-arch", default="sm_90")
    ap.add_argument("--benchmarks", default="",
                    help="the benchmarks and matmul checks to bring, by name prefix (comma-separated; default all)")
    ap.add_argument("--big", action="store_true",
                    help="a bundle of the full-size models instead (BIG: checked, with periodic weights)")
    ap.add_argument("--models", default=",".join(m[0] for m in MODELS if m[0] not in ("mobilenetv2", "bert-tiny")),
                    help="the models to bring, by name (comma-separated; all of them are over the 64 MiB a call "
                         "takes: the default leaves out mobilenetv2 and bert-tiny in fp32)")
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

    tmpdir = tempfile.TemporaryDirectory(prefix="tern-gpu-")
    models = [(n, f, k) for n, f, k in MODELS if n in args.models.split(",")]
    if args.big:
        models = []
        for name, file, kind in BIG:
            model = os.path.join(tmpdir.name, file.replace(".graph", ""))
            shutil.copy2(os.path.join(SHARED, file), model)
            periodic_weights(model)
            models.append((name, model, kind))
    for name, file, kind in models:
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
        if os.path.exists(cpu[:-3] + ".weights"):  # a big model's, beside its library
            os.remove(cpu[:-3] + ".weights")
        precision = ["--precision=" + kind] if kind in ("fp16", "bf16") else []
        lib = os.path.join(args.out, "models", name + ".so")
        run([ternc, model, "-o", lib] + pins + gpu + precision + (["--weights=external"] if args.big else []))
        entry = {"name": name, "compare": kind, "inputs": {n: os.path.relpath(p, args.out) for n, p, _ in inputs}}
        if args.big:
            gzip_file(lib[:-3] + ".weights")
            entry["weights"] = os.path.relpath(lib[:-3] + ".weights", args.out)
        manifest["models"].append(entry)

    # The cases the CPU fails too (test/conformance/RESULTS.md) stay out.
    with open(os.path.join(REPO, "test", "conformance", "RESULTS.md")) as f:
        failing = set(re.findall(r"^\| node/(\S+) \| (?:wrong result|error) \|", f.read(), re.M))
    if os.path.isdir(NODE_DATA) and not args.big:
        for case in sorted(os.listdir(NODE_DATA)):
            if not re.search(CONFORMANCE, case) or case in failing:
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
    if os.path.exists(graph) and not args.big:
        with tempfile.TemporaryDirectory(prefix="tern-gpu-") as tmp:
            model = os.path.join(tmp, "gpt2-124m.onnx")
            shutil.copy2(graph, model)
            periodic_weights(model)  # not zeros: they can run faster than data
            for precision in ("fp16",):  # (fp32 contractions are still scalar kernels)
                name = "gpt2-124m" + ("" if precision == "fp32" else "-" + precision)
                lib = os.path.join(args.out, "models", name + ".so")
                run([ternc, model, "-o", lib, "--weights=external", "--input-shape=input_ids=1x128",
                     "--precision=" + precision] + gpu)
                weights = lib[:-3] + ".weights"
                size = os.path.getsize(weights)
                with open(weights, "rb") as src, gzip.open(weights + ".gz", "wb", compresslevel=1) as dst:
                    shutil.copyfileobj(src, dst, 1 << 24)
                os.remove(weights)
                manifest["benchmarks"].append({"name": name, "library": "models/%s.so" % name,
                                               "weights": "models/%s.weights" % name, "weights_bytes": size,
                                               "inputs": {"input_ids": [1, 128]}, "fill": "tokens",
                                               "torch": ["gpt2", "1", "128"], "baseline": precision})
    # Matmuls of two inputs (random on the GPU machine; checked there against
    # numpy): one 4096^3, timed beside cuBLAS through PyTorch, and odd and
    # batched shapes that cut through the kernels' tiles, checked only.
    matmuls = [((4096, 4096), (4096, 4096), p, True) for p in ("fp32", "fp16")]
    matmuls += [((300, 200), (200, 70), p, False) for p in ("fp16", "bf16")]
    matmuls += [((3, 50, 40), (3, 40, 33), "fp16", False), ((2, 3, 17, 9), (9, 130), "bf16", False)]
    # Few tiles and a long k: k split among blocks, partial sums added atomically.
    matmuls += [((100, 1000), (1000, 72), "fp16", False), ((64, 2048), (2048, 100), "bf16", False)]
    for a, b, precision, timed in ([] if args.big else matmuls):
        out = list(np.broadcast_shapes(a[:-2], b[:-2])) + [a[-2], b[-1]]
        model = onnx.helper.make_model(onnx.helper.make_graph(
            [onnx.helper.make_node("MatMul", ["a", "b"], ["y"], name="matmul")], "matmul",
            [onnx.helper.make_tensor_value_info("a", onnx.TensorProto.FLOAT, a),
             onnx.helper.make_tensor_value_info("b", onnx.TensorProto.FLOAT, b)],
            [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, out)]),
            opset_imports=[onnx.helper.make_opsetid("", 17)])
        name = "matmul-%s-%s-%s" % ("x".join(map(str, a)), "x".join(map(str, b)), precision)
        with tempfile.TemporaryDirectory(prefix="tern-gpu-") as tmp:
            path = os.path.join(tmp, "matmul.onnx")
            onnx.save(model, path)
            run([ternc, path, "-o", os.path.join(args.out, "models", name + ".so"), "--precision=" + precision] + gpu)
        entry = {"name": name, "library": "models/%s.so" % name, "inputs": {"a": list(a), "b": list(b)},
                 "fill": "normal", "check": "matmul", "baseline": precision}
        if timed:
            entry.update({"torch": ["matmul", str(a[0])], "flops": 2 * a[0] * a[1] * b[1]})
        manifest["benchmarks"].append(entry)
    if args.benchmarks:
        keep = tuple(args.benchmarks.split(","))
        for b in [b for b in manifest["benchmarks"] if not b["name"].startswith(keep)]:
            manifest["benchmarks"].remove(b)
            for f in (b["library"], b.get("weights", "") + ".gz"):
                if os.path.exists(os.path.join(args.out, f)):
                    os.remove(os.path.join(args.out, f))
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
