#!/usr/bin/python3
"""Compiles models with ternc and compares tern's outputs with ONNX Runtime's.

For each model: fixed, seeded inputs; ONNX Runtime's outputs (bench/ort-run.js)
as the reference; tern compiled twice, with the model's dynamic dims and with
every input shape pinned (--input-shape), each run with tern-run on the same
inputs. An output matches when |tern - ort| <= atol + rtol * |ort| everywhere.

  test/models/check_models.py --build build MODEL.onnx...
"""
import argparse
import os
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
NP_TYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64, 9: np.bool_,
            10: np.float16, 11: np.float64}


def make_inputs(model_path, batch, seq, work, seed=0):
    """Seeded inputs for the model (`seed` varies them: calibration samples)."""
    graph = onnx.load(model_path, load_external_data=False).graph
    inits = {i.name for i in graph.initializer}
    rng = np.random.default_rng(zlib.crc32(os.path.basename(model_path).encode()) + seed)
    os.makedirs(work, exist_ok=True)
    inputs = []
    for info in graph.input:
        if info.name in inits:
            continue
        t = info.type.tensor_type
        dims = []
        for i, d in enumerate(t.shape.dim):
            if d.HasField("dim_value"):
                dims.append(d.dim_value)
            else:
                dims.append(batch if i == 0 else seq)
        dtype = NP_TYPES[t.elem_type]
        name = info.name.lower()
        if np.issubdtype(dtype, np.floating):
            value = rng.standard_normal(dims).astype(dtype)
        elif "mask" in name:
            value = np.ones(dims, dtype)
        elif "position" in name:
            value = np.broadcast_to(np.arange(dims[-1], dtype=dtype), dims).copy()
        elif "ids" in name and "type" not in name:
            value = rng.integers(0, 100, dims).astype(dtype)
        else:
            value = np.zeros(dims, dtype)
        path = os.path.join(work, "in_%d.npy" % len(inputs))
        np.save(path, value)
        inputs.append((info.name, path, dims))
    return inputs


def compare_quantized(name, got_path, want_path, min_cosine):
    """Quantized models: a value near a rounding boundary may land one step
    apart, and a step compounds through later layers, so outputs are
    compared as vectors (cosine similarity) and by their top-1 along the
    last axis rather than elementwise."""
    got, want = np.load(got_path), np.load(want_path)
    if got.shape != want.shape:
        return False, "%s: shape %s, expected %s" % (name, got.shape, want.shape)
    g, w = got.astype(np.float64).ravel(), want.astype(np.float64).ravel()
    cos = float(g @ w / (np.linalg.norm(g) * np.linalg.norm(w) + 1e-30))
    top1 = float((got.reshape(-1, got.shape[-1]).argmax(-1) == want.reshape(-1, want.shape[-1]).argmax(-1)).mean())
    msg = "%s: cosine %.5f, top-1 agreement %.3f, max abs error %.3g" % (name, cos, top1, float(np.abs(g - w).max()))
    return cos >= min_cosine, msg


def compare(name, got_path, want_path, rtol, atol, scale_atol=False):
    got, want = np.load(got_path), np.load(want_path)
    if got.shape != want.shape:
        return False, "%s: shape %s, expected %s" % (name, got.shape, want.shape)
    if got.dtype != want.dtype:
        return False, "%s: dtype %s, expected %s" % (name, got.dtype, want.dtype)
    g, w = got.astype(np.float64), want.astype(np.float64)
    largest = float(np.nanmax(np.abs(w))) if w.size else 0.0
    if scale_atol:
        atol *= largest
    elif 0 < largest < 10 * atol:
        # Every value within atol of 0: the check would pass nearly anything.
        return False, "%s: largest reference value %.3g is within 10x of atol %.3g (use --scale-atol)" % (
            name, largest, atol)
    err = np.abs(g - w)
    bad = ~(err <= atol + rtol * np.abs(w)) & ~(np.isnan(g) & np.isnan(w))
    max_err = float(np.nanmax(err)) if err.size else 0.0
    if bad.any():
        return False, "%s: %d of %d elements differ (max abs error %.3g)" % (name, bad.sum(), bad.size, max_err)
    return True, "%s: max abs error %.3g" % (name, max_err)


def run(cmd, what):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (what, p.returncode, (p.stderr or p.stdout).strip()[-600:]))
    return p.stdout


def check(model, args):
    name = os.path.basename(model)
    ok = True
    with tempfile.TemporaryDirectory(prefix="tern-model-") as work:
        inputs = make_inputs(model, args.batch, args.seq, work)
        feeds = ["--input=%s=%s" % (n, p) for n, p, _ in inputs]
        ref = os.path.join(work, "ort")
        ort = ["node", os.path.join(REPO, "bench", "ort-run.js"), model, "--output-dir", ref] + feeds
        run(ort + (["--no-optimize"] if args.ort_reference_semantics else []), "ONNX Runtime")
        pins = ["--input-shape=%s=%s" % (n, "x".join(map(str, d)) if d else "scalar") for n, _, d in inputs]
        for variant, extra in (("dynamic", []), ("pinned", pins)):
            if args.only and variant != args.only:
                continue
            lib = os.path.join(work, variant + ".so")
            out = os.path.join(work, variant)
            try:
                run([os.path.join(args.build, "bin", "ternc"), model, "-o", lib] + args.ternc_arg + extra, "ternc")
                run(args.runner.split() + [args.tern_run or os.path.join(args.build, "bin", "tern-run"), lib,
                     "--output-dir", out] + feeds, "tern-run")
            except RuntimeError as e:
                print("FAIL %s (%s): %s" % (name, variant, e))
                ok = False
                continue
            for f in sorted(os.listdir(ref)):
                if args.quantized:
                    good, msg = compare_quantized(f[:-4], os.path.join(out, f), os.path.join(ref, f), args.min_cosine)
                else:
                    good, msg = compare(f[:-4], os.path.join(out, f), os.path.join(ref, f), args.rtol, args.atol,
                                        args.scale_atol)
                print("%s %s (%s): %s" % ("ok  " if good else "FAIL", name, variant, msg))
                ok &= good
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--build", default="build")
    ap.add_argument("--batch", type=int, default=1, help="value of dynamic leading dims")
    ap.add_argument("--seq", type=int, default=16, help="value of other dynamic dims")
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--atol", type=float, default=1e-4)
    ap.add_argument("--scale-atol", action="store_true",
                    help="--atol relative to each output's largest magnitude (outputs far from 1: mobilenetv2's "
                         "random weights give logits of about 1e-9, which an absolute 1e-4 would always pass)")
    ap.add_argument("--ternc-arg", action="append", default=[])
    ap.add_argument("--only", choices=["dynamic", "pinned"], help="compile only with dynamic or pinned shapes")
    ap.add_argument("--runner", default="", help="command prefix for tern-run (e.g. qemu-aarch64 -L ...)")
    ap.add_argument("--tern-run", default="", help="tern-run binary (default: BUILD/bin/tern-run)")
    ap.add_argument("--quantized", action="store_true",
                    help="compare as a quantized model: cosine similarity of each output >= --min-cosine")
    ap.add_argument("--min-cosine", type=float, default=0.99)
    ap.add_argument("--ort-reference-semantics", action="store_true",
                    help="run ONNX Runtime without graph optimizations (quantized models: no integer fusion)")
    args = ap.parse_args()
    results = [check(m, args) for m in args.models]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
