#!/usr/bin/python3
"""tern against ONNX Runtime, side by side, in one run, on the same inputs.

For each model and input shape: seeded inputs written once; the model
compiled by ternc with those shapes pinned (with --unpinned: its dynamic
dims left dynamic, as ternc compiles by default); then, for each thread count,
ONNX Runtime (bench/ort-run.js) and tern (tern-run) each time the median of
N runs after W warm-up runs (at least 500 after 50 for models ONNX Runtime
runs in under a millisecond), taking turns for R rounds; each side's figure
is the median of its R medians. (On a shared machine whose speed drifts
from minute to minute, one side timed in a slow minute and the other in a
fast one would skew the ratio; turns give both the same minutes.) Prints a
Markdown table of
milliseconds and the ratio ONNX Runtime / tern (above 1: tern is faster), and
with --png draws it as a bar chart (needs python3-matplotlib). Variants
tern compiles from the same model (pruned by --sparsity=2:4) also get a
second table against tern's own dense run of that model and input.

  bench/compare.py --build build [--models digits-mlp,gpt2-124m] [--threads 1,2] [--runs 10] [--rounds 3]
                   [--unpinned]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "test", "models"))
from check_models import make_inputs  # noqa: E402

SHARED = os.path.join(os.path.dirname(REPO), "shared", "models")

# name, model file (relative to the build folder's models/ or ../shared/models), batch, sequence
CONFIGS = [
    ("resnet50", "resnet50.onnx", "[1,3,224,224]", 1, 1),
    ("mobilenetv2", "mobilenetv2.onnx", "[1,3,224,224]", 1, 1),
    ("bert-base", "bert-base.onnx", "[1,128]", 1, 128),
    ("gpt2-124m", "gpt2-124m.onnx", "[1,128]", 1, 128),
    ("gpt2-124m", "gpt2-124m.onnx", "[1,1]", 1, 1),
    ("llama-tiny", "llama-tiny.onnx", "[1,128]", 1, 128),
    ("digits-mlp", "digits-mlp.onnx", "batch 1", 1, 1),
    ("digits-mlp", "digits-mlp.onnx", "batch 397", 397, 1),
    # Quantized models (the quantization issue's); compiled by tern from the
    # same file ONNX Runtime runs.
    ("resnet50.int8-qdq", "resnet50.int8-qdq.onnx", "[1,3,224,224]", 1, 1),
    ("gpt2-124m.int8-dynamic", "gpt2-124m.int8-dynamic.onnx", "[1,128]", 1, 128),
    ("gpt2-124m.int8-dynamic", "gpt2-124m.int8-dynamic.onnx", "[1,1]", 1, 1),
    ("llama-tiny.int4", "llama-tiny.int4-matmulnbits.onnx", "[1,128]", 1, 128),
    ("llama-tiny.int4", "llama-tiny.int4-matmulnbits.onnx", "[1,1]", 1, 1),
    # Quantized by tern (ternc --quantize=int4-weight) against ONNX Runtime
    # running the float model.
    ("gpt2-124m.tern-int4", "gpt2-124m.onnx", "[1,1]", 1, 1, ["--quantize=int4-weight"]),
    ("gpt2-124m.tern-int4", "gpt2-124m.onnx", "[1,128]", 1, 128, ["--quantize=int4-weight"], "gpt2-124m"),
    ("gpt2-124m.tern-int8", "gpt2-124m.onnx", "[1,128]", 1, 128, ["--quantize=int8-dynamic"]),
    # Static int8, calibrated on 8 seeded inputs ({calibration}: a folder of
    # them, written beside the model's inputs).
    ("resnet50.tern-int8", "resnet50.onnx", "[1,3,224,224]", 1, 1,
     ["--quantize=int8", "--calibration-data={calibration}"], "resnet50"),
    # Pruned by tern (ternc --sparsity=2:4); also compared with the dense
    # model's row in tern (the last field).
    ("gpt2-124m.tern-2:4", "gpt2-124m.onnx", "[1,1]", 1, 1, ["--sparsity=2:4"], "gpt2-124m"),
    # The QDQ model's float LM head (a MatMul of its dequantized int8
    # embedding) run on those bytes by --quantize=int8-dynamic.
    ("gpt2-124m.int8-dynamic.tern-int8", "gpt2-124m.int8-dynamic.onnx", "[1,128]", 1, 128,
     ["--quantize=int8-dynamic"], "gpt2-124m.int8-dynamic"),
    ("gpt2-124m.tern-block50", "gpt2-124m.onnx", "[1,128]", 1, 128, ["--sparsity=block:0.5"], "gpt2-124m"),
    # The same LM head in f32 (the model as given runs it on 16-bit
    # activations, tern-int16-activations).
    ("gpt2-124m.int8-dynamic.f32-head", "gpt2-124m.int8-dynamic.onnx", "[1,128]", 1, 128,
     ["--int8-weight-compute=f32"], "gpt2-124m.int8-dynamic"),
]


def find_model(build, file):
    for d in (os.path.join(build, "models"), SHARED, os.path.join(REPO, "models")):
        if os.path.exists(os.path.join(d, file)):
            return os.path.join(d, file)
    return None


def bench(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError((p.stderr or p.stdout).strip()[-400:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--models", default="", help="comma-separated names (default: all)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3, help="turns of ONNX Runtime and tern (median of their medians)")
    ap.add_argument("--png", default="", help="also draw the table into this PNG file")
    ap.add_argument("--unpinned", action="store_true",
                    help="compile tern with the model's dynamic dims left dynamic (ternc's default) instead of "
                         "pinned to the inputs' shapes")
    args = ap.parse_args()
    wanted = set(filter(None, args.models.split(",")))
    threads = [int(t) for t in args.threads.split(",")]
    rows = []
    tern_ms = {}  # (name, input, threads) -> tern's median
    variants = []  # (name, dense name, input, threads): tern against tern
    print("| model | input | threads | ONNX Runtime ms | tern ms | ratio (ORT / tern) |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="tern-bench-") as work:
        for name, file, label, batch, seq, *extra in CONFIGS:
            ternc_args = extra[0] if extra else []
            against = extra[1] if len(extra) > 1 else None
            if wanted and name not in wanted:
                continue
            model = find_model(args.build, file)
            if not model:
                print("| %s | %s | | missing %s | | |" % (name, label, file))
                continue
            case = os.path.join(work, "%s-%d-%d" % (name, batch, seq))
            os.makedirs(case)
            inputs = make_inputs(model, batch, seq, case)
            if any("{calibration}" in a for a in ternc_args):
                calibration = os.path.join(case, "calibration")
                os.makedirs(calibration)
                samples = [make_inputs(model, batch, seq, os.path.join(case, "sample%d" % i), seed=i + 1)
                           for i in range(8)]
                for k, (n, _, _) in enumerate(inputs):
                    np.save(os.path.join(calibration, n + ".npy"),
                            np.concatenate([np.load(s[k][1]) for s in samples]))
                ternc_args = [a.replace("{calibration}", calibration) for a in ternc_args]
            feeds = ["--input=%s=%s" % (n, p) for n, p, _ in inputs]
            pins = ["--input-shape=%s=%s" % (n, "x".join(map(str, d)) if d else "scalar") for n, _, d in inputs]
            if args.unpinned:
                pins = []
            lib = os.path.join(case, "model.so")
            c = subprocess.run([os.path.join(args.build, "bin", "ternc"), model, "-o", lib] + pins + ternc_args,
                               capture_output=True, text=True)
            if c.returncode != 0:
                print("| %s | %s | | | compile failed: %s | |" % (name, label, c.stderr.strip()[:120]))
                continue
            for t in threads:
                ort_cmd = ["node", os.path.join(HERE, "ort-run.js"), model, "--threads", str(t)] + feeds
                tern_cmd = [os.path.join(args.build, "bin", "tern-run"), lib, "--threads", str(t)] + feeds
                common = ["--benchmark", "--json", "--warmup", str(args.warmup), "--runs", str(args.runs)]
                try:
                    ort_runs, tern_runs = [], []
                    for r in range(max(1, args.rounds)):
                        ort_runs.append(bench(ort_cmd + common)["median_ms"])
                        # Sub-millisecond models: a few runs measure thread
                        # wake-up and timer noise; both sides get many more.
                        if r == 0 and ort_runs[0] < 1.0:
                            common = ["--benchmark", "--json", "--warmup", str(max(args.warmup, 50)),
                                      "--runs", str(max(args.runs, 500))]
                            ort_runs[0] = bench(ort_cmd + common)["median_ms"]
                        tern_runs.append(bench(tern_cmd + common)["median_ms"])
                    ort = {"median_ms": float(np.median(ort_runs))}
                    tern = {"median_ms": float(np.median(tern_runs))}
                except RuntimeError as e:
                    print("| %s | %s | %d | | error: %s | |" % (name, label, t, str(e)[:120]))
                    continue
                ratio = ort["median_ms"] / tern["median_ms"]
                rows.append((name, label, t, ort["median_ms"], tern["median_ms"], ratio))
                tern_ms[(name, label, t)] = tern["median_ms"]
                if against:
                    variants.append((name, against, label, t))
                ms = lambda v: "%.3f" % v if v < 1 else "%.2f" % v
                print("| %s | %s | %d | %s | %s | %.2fx |" % (name, label, t, ms(ort["median_ms"]),
                                                             ms(tern["median_ms"]), ratio), flush=True)
    if variants:
        print()
        print("| model | input | threads | tern, model as given ms | tern ms | ratio (as given / this) |")
        print("|---|---|---|---|---|---|")
        for name, dense, label, t in variants:
            base = tern_ms.get((dense, label, t))
            if base:
                mine = tern_ms[(name, label, t)]
                print("| %s | %s | %d | %.2f | %.2f | %.2fx |" % (name, label, t, base, mine, base / mine))
    if args.png and rows:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        labels = ["%s %s\n%d thr" % (r[0], r[1], r[2]) for r in rows]
        fig, ax = plt.subplots(figsize=(max(8, len(rows) * 1.1), 4.5))
        xs = range(len(rows))
        ax.bar([x - 0.2 for x in xs], [r[3] for r in rows], 0.4, label="ONNX Runtime 1.30")
        ax.bar([x + 0.2 for x in xs], [r[4] for r in rows], 0.4, label="tern")
        ax.set_yscale("log")
        ax.set_ylabel("median ms (log)")
        ax.set_xticks(list(xs))
        ax.set_xticklabels(labels, fontsize=7, rotation=30, ha="right")
        for x, r in zip(xs, rows):
            ax.annotate("%.2fx" % r[5], (x, max(r[3], r[4])), ha="center", va="bottom", fontsize=7)
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.png, dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
