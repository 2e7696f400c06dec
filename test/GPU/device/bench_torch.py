#!/usr/bin/env python3
"""PyTorch eager baselines for run_bundle.py, on the GPU: prints one JSON
object of medians in milliseconds (CUDA events, 50 runs after 10 warm-ups:
eager GPT-2 is bound by the host's launches, which vary on a busy VM).

  bench_torch.py gpt2 BATCH SEQ    GPT-2 124M (random weights), fp32 and fp16, and
                                   fp16 with its logits copied to the host as f32
  bench_torch.py matmul N          an NxNxN matmul (cuBLAS): fp32, tf32, fp16
"""
import json
import sys

import torch


def time_ms(fn, warmup=10, runs=50):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return sorted(times)[len(times) // 2]


def gpt2(batch, seq):
    from transformers import GPT2Config, GPT2LMHeadModel
    model = GPT2LMHeadModel(GPT2Config()).eval().cuda()
    ids = torch.randint(0, 50257, (batch, seq), device="cuda")
    result = {}
    with torch.no_grad():
        result["fp32"] = time_ms(lambda: model(ids))
        model = model.half()
        result["fp16"] = time_ms(lambda: model(ids))
        # As tern's API returns them: f32 logits in host memory.
        result["fp16+copy"] = time_ms(lambda: model(ids).logits.float().cpu())
    return result


def matmul(n):
    result = {}
    a32, b32 = torch.randn(n, n, device="cuda"), torch.randn(n, n, device="cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    result["fp32"] = time_ms(lambda: a32 @ b32)
    torch.backends.cuda.matmul.allow_tf32 = True
    result["tf32"] = time_ms(lambda: a32 @ b32)
    a16, b16 = a32.half(), b32.half()
    result["fp16"] = time_ms(lambda: a16 @ b16)
    return result


if __name__ == "__main__":
    which, dims = sys.argv[1], [int(a) for a in sys.argv[2:]]
    print(json.dumps({"gpt2": gpt2, "matmul": matmul}[which](*dims)))
