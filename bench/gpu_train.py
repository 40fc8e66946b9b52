"""python -m bench.gpu_train [--device cuda|cpu] [--dtype bf16|fp16] [--steps N] [--batch B] [--tiny] [--out PATH]

End-to-end mixed-precision training (issue 8): a GPT-2-small-shaped model (12 pre-LN blocks, d=768,
12 heads, T=1024, GPT-2's 50257-token vocabulary) trained with AdamW under autocast, in pyml and in
PyTorch eager (SDPA) from the same initial weights on the same batches, one library after the other
in one process. The data are sequences from a fixed random bigram table, so the loss falls and the
two curves can be compared step by step. Reports tokens/s (timed steps after warm-up, device
synchronised) with ratio = pyml / torch tokens per second, and the largest loss difference. float16
uses a GradScaler; bfloat16 does not need one. --tiny shrinks the model for a CPU smoke run.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from .cases_train import build_gpt, init_weights

GPT2_SMALL = dict(vocab=50257, d=768, heads=12, layers=12, t=1024)
TINY = dict(vocab=97, d=64, heads=4, layers=2, t=32)


def bigram_batches(n, batch, t, vocab, seed=0):
    """n batches of (input, target) token ids (B, T) drawn from one random bigram table (4 likely
    successors per token), so that a model can learn them."""
    g = np.random.default_rng(seed)
    succ = g.integers(0, vocab, (vocab, 4))
    out = []
    for _ in range(n):
        seq = np.empty((batch, t + 1), np.int64)
        seq[:, 0] = g.integers(0, vocab, batch)
        for i in range(t):
            seq[:, i + 1] = succ[seq[:, i], g.integers(0, 4, batch)]
        out.append((seq[:, :-1], seq[:, 1:]))
    return out


def train(lib_name, cfg, batches, device, dtype_name, warmup):
    """Loss per step and seconds per timed step for one library."""
    import importlib
    L = importlib.import_module(lib_name)
    model, loss_fn = build_gpt(L, **cfg)
    model = model.to(device)
    init_weights(model)
    opt = L.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    dtype = {"bf16": L.bfloat16, "fp16": L.float16}[dtype_name]
    scaler = L.amp.GradScaler(device, enabled=dtype_name == "fp16")
    sync = (lambda: L.cuda.synchronize()) if device == "cuda" else (lambda: None)
    losses, times = [], []
    for step, (x, y) in enumerate(batches):
        xb, yb = L.tensor(x, device=device), L.tensor(y, device=device)
        sync()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with L.autocast(device, dtype=dtype):
            loss = loss_fn(model, xb, yb)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        sync()
        if step >= warmup:
            times.append(time.perf_counter() - t0)
        losses.append(float(loss.item()))
    return losses, times


def run(device="cuda", dtype="bf16", steps=30, batch=8, tiny=False, warmup=5):
    cfg = TINY if tiny else GPT2_SMALL
    batches = bigram_batches(steps, batch, cfg["t"], cfg["vocab"])
    res = {}
    for lib in ("pyml", "torch"):
        losses, times = train(lib, cfg, batches, device, dtype, min(warmup, steps - 1))
        res[lib] = {"losses": losses, "tokens_per_s": batch * cfg["t"] / float(np.median(times))}
    diff = [abs(a - b) for a, b in zip(res["pyml"]["losses"], res["torch"]["losses"])]
    return {"config": dict(cfg, batch=batch, steps=steps, dtype=dtype, device=device), "libs": res,
            "ratio": res["pyml"]["tokens_per_s"] / res["torch"]["tokens_per_s"], "max_loss_diff": max(diff)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--dtype", default="bf16", choices=["bf16", "fp16"])
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--tiny", action="store_true")
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    r = run(a.device, a.dtype, a.steps, a.batch, a.tiny)
    for lib in ("pyml", "torch"):
        L = r["libs"][lib]
        print(f"{lib:6s} {L['tokens_per_s']:12.0f} tokens/s   loss {L['losses'][0]:.4f} -> {L['losses'][-1]:.4f}")
    print(f"ratio (pyml / torch tokens/s) {r['ratio']:.3f}; largest loss difference {r['max_loss_diff']:.4f}")
    path = a.out or os.path.join(os.path.dirname(__file__), "results",
                                 time.strftime("%Y%m%d-%H%M%S") + f"-train-{a.device}.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(r, f, indent=1)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
