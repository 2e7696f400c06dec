#!/usr/bin/env python3
"""Runs a bundle made by prepare.py on the GPU machine (numpy only; PyTorch
for the baseline): each model against ONNX Runtime's and tern's CPU outputs,
the conformance sample against its expected outputs, the benchmarks beside
PyTorch (the ratio marked * is PyTorch's time over tern's at the same
precision), each also run under TERN_CUDA_PROFILE=all, whose per-kernel
times go to $OUT/profiles.txt, summed by op type in the output. Prints one line per check and a summary;
exit 1 when a check fails. Called by run.sh, from inside the bundle folder.

Tolerances: float models as the CPU tests, |gpu - ref| <= 1e-4 + 1e-3 |ref|
(the GPU kernels compute in fp32 with other summation orders); models and
matmuls compiled with 16-bit operands by relative L2 error, at most 5e-3
for fp16 (11-bit significands) and 3e-2 for bf16 (8-bit); quantized
models by cosine similarity >= 0.99 (a value on a rounding boundary of a
dynamically quantized activation may land one step apart).
"""
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

RTOL, ATOL, MIN_COSINE = 1e-3, 1e-4, 0.99


def tern_run(args, timeout=120):
    p = subprocess.run(["bin/tern-run"] + args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, (p.stdout + p.stderr).strip()


def compare(got, want, kind):
    if got.shape != want.shape:
        return False, "shape %s, expected %s" % (got.shape, want.shape)
    g, w = got.astype(np.float64), want.astype(np.float64)
    if kind in ("fp16", "bf16"):
        rel = float(np.linalg.norm((g - w).ravel()) / (np.linalg.norm(w.ravel()) + 1e-30))
        bound = 5e-3 if kind == "fp16" else 3e-2
        return rel <= bound and not np.isnan(g).any(), "relative L2 %.2g (bound %g)" % (rel, bound)
    if kind == "quantized":
        gv, wv = g.ravel(), w.ravel()
        cos = float(gv @ wv / (np.linalg.norm(gv) * np.linalg.norm(wv) + 1e-30))
        return cos >= MIN_COSINE, "cosine %.5f" % cos
    err = np.abs(g - w)
    bad = ~(err <= ATOL + RTOL * np.abs(w)) & ~(np.isnan(g) & np.isnan(w))
    rel = float(np.linalg.norm((g - w).ravel()) / (np.linalg.norm(w.ravel()) + 1e-30))
    msg = "max abs error %.3g, relative L2 %.2g" % (float(np.nanmax(err)) if err.size else 0.0, rel)
    if bad.any():
        return False, "%d of %d elements differ (%s)" % (int(bad.sum()), bad.size, msg)
    return True, msg


def profile_by_op(text):
    """TERN_CUDA_PROFILE's table summed by what its kernels run: the ONNX
    node's name without its number (main_kernel_31_node_Gemm_980_mma:
    Gemm_mma), most expensive first."""
    groups = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) != 5 or not fields[4].startswith("main_kernel"):
            continue
        kind = re.sub(r"^main_kernel(_\d+)*_?(node_)?", "", fields[4])
        kind = re.sub(r"_\d+", "", kind) or "?"
        ms, count = groups.get(kind, (0.0, 0))
        groups[kind] = (ms + float(fields[1]), count + 1)
    return ["%8.3f ms/run in %3d kernels: %s" % (ms, n, kind)
            for kind, (ms, n) in sorted(groups.items(), key=lambda g: -g[1][0])]


def main():
    manifest = json.load(open("manifest.json"))
    failures, lines = 0, []

    def report(ok, what):
        nonlocal failures
        failures += not ok
        line = "%s %s" % ("ok  " if ok else "FAIL", what)
        lines.append(line)
        print(line, flush=True)

    for m in manifest["models"]:
        name, out = m["name"], os.path.join("out", m["name"])
        if m.get("weights") and not os.path.exists(m["weights"]):
            subprocess.run("gunzip -c %s.gz > %s" % (m["weights"], m["weights"]), shell=True, check=True)
        feeds = ["--input=%s=%s" % (k, v) for k, v in m["inputs"].items()]
        start = time.time()
        rc, log = tern_run(["models/%s.so" % name, "--output-dir", out] + feeds)
        if rc != 0:
            report(False, "%s: tern-run exit %d: %s" % (name, rc, log[-400:]))
            continue
        for ref in ("ort", "cpu"):
            refdir = os.path.join("models", name, ref)
            for f in sorted(os.listdir(refdir)):
                ok, msg = compare(np.load(os.path.join(out, f)), np.load(os.path.join(refdir, f)), m["compare"])
                report(ok, "%s: %s vs %s: %s" % (name, f[:-4], "ONNX Runtime" if ref == "ort" else "tern CPU", msg))
        print("     (%s ran in %.1f s, first load included)" % (name, time.time() - start), flush=True)
        # The same after runs replayed as a CUDA graph (TERN_CUDA_GRAPH=1:
        # run 2 captured, runs 3 and 4 replayed; the last one's outputs).
        graph_out = out + "-graph"
        p = subprocess.run(["bin/tern-run", "models/%s.so" % name, "--benchmark", "--warmup", "2", "--runs", "2",
                            "--output-dir", graph_out] + feeds, capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, TERN_CUDA_GRAPH="1"))
        if p.returncode != 0:
            report(False, "%s: graph replay: tern-run exit %d: %s" % (name, p.returncode, (p.stdout + p.stderr)[-400:]))
        else:
            for f in sorted(os.listdir(os.path.join("models", name, "ort"))):
                ok, msg = compare(np.load(os.path.join(graph_out, f)), np.load(os.path.join("models", name, "ort", f)),
                                  m["compare"])
                report(ok, "%s: %s vs ONNX Runtime, replayed as a CUDA graph: %s" % (name, f[:-4], msg))
        rc, log = tern_run(["models/%s.so" % name, "--benchmark", "--warmup", "3", "--runs", "20", "--json"] + feeds)
        if rc == 0:
            lines.append("time %s: tern %.3f ms (median of 20)" % (name, json.loads(log.splitlines()[-1])["median_ms"]))
            print(lines[-1], flush=True)

    passed = 0
    for case in manifest["conformance"]:
        rc, log = tern_run(["conformance/%s.so" % case, "--data", "conformance/%s" % case])
        if rc == 0:
            passed += 1
        else:
            report(False, "conformance %s: exit %d: %s" % (case, rc, log[-300:]))
    report(passed == len(manifest["conformance"]),
           "conformance: %d of %d node cases match" % (passed, len(manifest["conformance"])))

    logdir = os.environ.get("OUT") or "out"
    os.makedirs(logdir, exist_ok=True)
    os.makedirs("out", exist_ok=True)
    torch_cache = {}
    for b in manifest["benchmarks"]:
        if b.get("weights") and not os.path.exists(b["weights"]):
            subprocess.run("gunzip -c %s.gz > %s" % (b["weights"], b["weights"]), shell=True, check=True)
        rng = np.random.default_rng(0)
        feeds = []
        for k, dims in b["inputs"].items():
            path = os.path.join("out", "%s-%s.npy" % (b["name"], k))
            if b["fill"] == "tokens":
                np.save(path, rng.integers(0, 50257, dims).astype(np.int64))
            else:
                np.save(path, rng.standard_normal(dims, dtype=np.float32))
            feeds.append("--input=%s=%s" % (k, path))
        if b.get("check") == "matmul":
            out = os.path.join("out", b["name"])
            rc, log = tern_run([b["library"], "--output-dir", out] + feeds, timeout=300)
            if rc != 0:
                report(False, "%s: tern-run exit %d: %s" % (b["name"], rc, log[-400:]))
            else:
                a, bb = (np.load(os.path.join("out", "%s-%s.npy" % (b["name"], k))).astype(np.float64)
                         for k in ("a", "b"))
                want, got = np.matmul(a, bb), np.load(os.path.join(out, "y.npy")).astype(np.float64)
                rel = float(np.linalg.norm(got - want) / np.linalg.norm(want))
                bound = {"fp32": 1e-5, "fp16": 5e-3, "bf16": 3e-2}[b["baseline"]]
                report(rel <= bound and not np.isnan(got).any(), "%s: relative L2 error %.2g (bound %g)" %
                       (b["name"], rel, bound))
        if "torch" not in b:
            continue  # checked only
        rc, log = tern_run([b["library"], "--benchmark", "--warmup", "3", "--runs", "20", "--json"] + feeds,
                           timeout=150)
        tern_ms = json.loads(log.splitlines()[-1]).get("median_ms") if rc == 0 else None
        if rc != 0:
            report(False, "%s benchmark: tern-run exit %d: %s" % (b["name"], rc, log[-400:]))
        p = subprocess.run(["bin/tern-run", b["library"], "--benchmark", "--warmup", "3", "--runs", "20", "--json"] + feeds,
                           capture_output=True, text=True, timeout=150, env=dict(os.environ, TERN_CUDA_GRAPH="1"))
        graph_ms = json.loads(p.stdout.splitlines()[-1]).get("median_ms") if p.returncode == 0 else None
        if p.returncode != 0:
            report(False, "%s benchmark as a CUDA graph: tern-run exit %d: %s" % (b["name"], p.returncode,
                                                                               (p.stdout + p.stderr)[-400:]))
        else:
            # Each kernel's time (TERN_CUDA_PROFILE: each launch waited for).
            p = subprocess.run(["bin/tern-run", b["library"], "--benchmark", "--warmup", "1", "--runs", "3"] + feeds,
                               capture_output=True, text=True, timeout=300,
                               env=dict(os.environ, TERN_CUDA_PROFILE="all"))
            with open(os.path.join(logdir, "profiles.txt"), "a") as f:
                f.write("== %s\n%s\n" % (b["name"], p.stderr))
            print("\n".join(p.stderr.splitlines()[:2]), flush=True)
            for line in profile_by_op(p.stderr)[:10]:
                print("     " + line, flush=True)
        key = " ".join(b["torch"])
        if key not in torch_cache:
            p = subprocess.run([sys.executable, "bench_torch.py"] + b["torch"], capture_output=True, text=True,
                               timeout=300)
            torch_cache[key] = json.loads(p.stdout.splitlines()[-1]) if p.returncode == 0 else {}
            if p.returncode != 0:
                print("     PyTorch baseline failed: %s" % p.stderr[-400:])
        line = "bench %s [%s]: tern %s ms" % (b["name"], ", ".join("x".join(map(str, d)) for d in b["inputs"].values()),
                                             "%.3f" % tern_ms if tern_ms else "-")
        if tern_ms and b.get("flops"):
            line += " (%.1f TFLOP/s)" % (b["flops"] / tern_ms / 1e9)
        if graph_ms:
            line += ", as a CUDA graph %.3f ms" % graph_ms
        for k, v in torch_cache[key].items():
            line += ", PyTorch %s %.3f ms" % (k, v)
            if tern_ms:
                best = min(tern_ms, graph_ms or tern_ms)
                line += " (%.2fx%s)" % (v / best, " *" if k == b["baseline"] else "")
        lines.append(line)
        print(line, flush=True)

    print("\n== summary (%s)" % manifest["gpu_arch"])
    for line in lines:
        if not line.startswith("ok  ") or "conformance" in line:
            print(line)  # failures, the conformance count, timings
    print("%d checks failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
