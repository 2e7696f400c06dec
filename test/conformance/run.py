#!/usr/bin/python3
"""ONNX conformance: compiles and runs every case of the ONNX backend test data.

For each case folder (model.onnx + test_data_set_*/{input,output}_N.pb) it
compiles the model with ternc, runs every data set with tern-run and
records passed / wrong result / unsupported (compile error) / error (run
failed). It writes a Markdown table of every case and keeps a list of the
cases expected to pass: a listed case that no longer passes fails the run;
a newly passing case is reported (and added with --update).

  test/conformance/run.py --build build                 # check
  test/conformance/run.py --build build --update        # refresh the table and list
"""
import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = "/usr/share/libonnx-testdata/data"
SUITES = ["node", "pytorch-converted", "pytorch-operator", "simple"]


def first_line(text, prefix):
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(prefix):
            line = line[len(prefix):]
        if line:
            return re.sub(r"/tmp/\S+", "...", line)[:200]
    return "(no message)"


def run_case(case_dir, args, workdir):
    name = os.path.basename(case_dir)
    lib = os.path.join(workdir, name + ".so")
    cmd = [args.ternc, os.path.join(case_dir, "model.onnx"), "-o", lib] + args.ternc_arg
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return "unsupported", "compile timed out"
    if p.returncode != 0:
        status = "unsupported" if p.returncode == 1 else "error"
        msg = first_line(p.stderr, "ternc: error: ")
        if p.returncode != 1:
            msg = "compiler crashed (exit %d): %s" % (p.returncode, msg)
        return status, msg
    sets = sorted(d for d in os.listdir(case_dir) if d.startswith("test_data_set_"))
    try:
        for s in sets:
            run = args.runner + [args.tern_run, lib, "--data", os.path.join(case_dir, s)]
            p = subprocess.run(run, capture_output=True, text=True, timeout=args.timeout)
            if p.returncode == 1:
                bad = [l for l in p.stdout.splitlines() if "matches" not in l]
                return "wrong result", (bad[0] if bad else "mismatch")[:200]
            if p.returncode != 0:
                return "error", first_line(p.stderr or p.stdout, "tern-run: error: ")
    except subprocess.TimeoutExpired:
        return "error", "run timed out"
    finally:
        if os.path.exists(lib):
            os.unlink(lib)
    return "passed", ""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="tern's build folder (bin/ternc, bin/tern-run)")
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--suites", default=",".join(SUITES))
    ap.add_argument("--filter", default="", help="regular expression on case names")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--expected", default=os.path.join(HERE, "expected-pass.txt"))
    ap.add_argument("--table", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--update", action="store_true", help="rewrite the table and the expected-pass list")
    ap.add_argument("--ternc-arg", action="append", default=[], help="extra ternc argument (repeatable)")
    ap.add_argument("--runner", default="", help="command prefix for tern-run (e.g. qemu-aarch64 -L ...)")
    ap.add_argument("--tern-run", default="", help="tern-run binary (default: BUILD/bin/tern-run)")
    ap.add_argument("--label", default="", help="prefix for the expected list entries (e.g. aarch64)")
    args = ap.parse_args()
    args.ternc = os.path.join(args.build, "bin", "ternc")
    args.tern_run = args.tern_run or os.path.join(args.build, "bin", "tern-run")
    args.runner = args.runner.split()

    cases = []
    for suite in args.suites.split(","):
        root = os.path.join(args.data, suite)
        for name in sorted(os.listdir(root)):
            if args.filter and not re.search(args.filter, name):
                continue
            if os.path.exists(os.path.join(root, name, "model.onnx")):
                cases.append((suite, name, os.path.join(root, name)))

    results = {}
    with tempfile.TemporaryDirectory(prefix="tern-conformance-") as work:
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            futures = {pool.submit(run_case, d, args, work): (s, n) for s, n, d in cases}
            for f in concurrent.futures.as_completed(futures):
                results[futures[f]] = f.result()

    key = lambda s, n: "%s/%s" % (s, n)
    passed = {key(s, n) for (s, n), (st, _) in results.items() if st == "passed"}
    expected = set()
    if os.path.exists(args.expected):
        with open(args.expected) as f:
            expected = {l.strip() for l in f if l.strip() and not l.startswith("#")}
    ran = {key(s, n) for s, n, _ in cases}
    regressions = sorted((expected & ran) - passed)
    new = sorted(passed - expected)

    counts = {}
    for (s, n), (st, _) in results.items():
        counts.setdefault(s, {}).setdefault(st, 0)
        counts[s][st] += 1
    for s in sorted(counts):
        c = counts[s]
        total = sum(c.values())
        print("%-18s %4d/%4d passed  (%s)" % (s, c.get("passed", 0), total,
              ", ".join("%s %d" % (k, v) for k, v in sorted(c.items()) if k != "passed")))

    if args.update:
        with open(args.table, "w") as f:
            f.write("# ONNX conformance results\n\n")
            f.write("Generated by `test/conformance/run.py --update` over Debian's libonnx-testdata;"
                    " do not edit.\n\n| suite | passed | wrong result | unsupported | error | total |\n"
                    "|---|---|---|---|---|---|\n")
            for s in sorted(counts):
                c = counts[s]
                f.write("| %s | %d | %d | %d | %d | %d |\n" % (s, c.get("passed", 0), c.get("wrong result", 0),
                        c.get("unsupported", 0), c.get("error", 0), sum(c.values())))
            f.write("\n| case | result | detail |\n|---|---|---|\n")
            for (s, n) in sorted(results):
                st, msg = results[(s, n)]
                f.write("| %s/%s | %s | %s |\n" % (s, n, st, msg.replace("|", "\\|")))
        with open(args.expected, "w") as f:
            f.write("# Conformance cases that pass; test/conformance/run.py fails when one stops passing.\n")
            for k in sorted(passed | (expected - ran)):
                f.write(k + "\n")
        print("updated %s and %s" % (args.table, args.expected))
    if new and not args.update:
        print("newly passing (run with --update to record): %s" % " ".join(new))
    if regressions:
        print("REGRESSIONS (expected to pass):")
        for r in regressions:
            s, n = r.split("/", 1)
            print("  %s: %s: %s" % (r, *results[(s, n)]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
