"""python -m bench.autograd_overhead [--quick] [--filter SUBSTR] [--threads N] [--save [PATH]]

Autograd's per-op overhead: tiny tensors, so the time is Python and bookkeeping, not kernels.
Each case runs the same float32 inputs (NumPy, seeded) in pyml and torch in one process, with and
without requires_grad; forward-only cases show the recording cost, fwd+bwd cases the engine's.
Results are cross-checked (values and gradients) before timing. Samples alternate pyml, torch, ...;
the table shows medians in microseconds per call and ratio = torch time / pyml time (> 1: pyml faster).
JSON goes to bench/results/ only with --save.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

from .__main__ import calibrate, interleaved, machine, setup_threads

LIBS = ("pyml", "torch")


def _inputs(rg):
    """Per library: (4,) vectors a, b and a small MLP (x (8, 16), w1 (16, 32), b1, w2 (32, 4), b2)."""
    g = np.random.default_rng(0)
    arrays = {"a": g.standard_normal(4), "b": g.standard_normal(4), "x": g.standard_normal((8, 16)),
              "w1": g.standard_normal((16, 32)) * 0.25, "b1": g.standard_normal(32) * 0.1,
              "w2": g.standard_normal((32, 4)) * 0.25, "b2": g.standard_normal(4) * 0.1}
    import pyml
    import torch
    out = {}
    for lib, mod in (("pyml", pyml), ("torch", torch)):
        d = {}
        for k, v in arrays.items():
            t = mod.tensor(v.astype(np.float32))
            if rg and k != "x":
                t.requires_grad_(True)
            d[k] = t
        out[lib] = d
    return out


def _chain(t):
    return ((t["a"] * t["b"] + t["a"]).exp() * t["b"]).sum()


def _mlp(t):
    h = (t["x"] @ t["w1"] + t["b1"]).relu()
    y = h @ t["w2"] + t["b2"]
    return (y * y).mean()


def _backward(loss_fn):
    def run(t):
        for k in ("a", "b", "w1", "b1", "w2", "b2"):
            t[k].grad = None
        loss = loss_fn(t)
        loss.backward()
        return loss
    return run


# name -> (fn(tensors) -> result, requires_grad, ops per call: to report per-op time too)
CASES = {
    "add (4,)": (lambda t: t["a"] + t["b"], False, 1),
    "add (4,) rg": (lambda t: t["a"] + t["b"], True, 1),
    "mul (4,)": (lambda t: t["a"] * t["b"], False, 1),
    "mul (4,) rg": (lambda t: t["a"] * t["b"], True, 1),
    "exp (4,)": (lambda t: t["a"].exp(), False, 1),
    "exp (4,) rg": (lambda t: t["a"].exp(), True, 1),
    "sum (4,)": (lambda t: t["a"].sum(), False, 1),
    "sum (4,) rg": (lambda t: t["a"].sum(), True, 1),
    "chain (4,) fwd": (_chain, False, 5),
    "chain (4,) fwd rg": (_chain, True, 5),
    "chain (4,) fwd+bwd": (_backward(_chain), True, 5),
    "mlp 8x16-32-4 fwd": (_mlp, False, 7),
    "mlp 8x16-32-4 fwd rg": (_mlp, True, 7),
    "mlp 8x16-32-4 fwd+bwd": (_backward(_mlp), True, 7),
}


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m bench.autograd_overhead", description=__doc__.split("\n\n")[1])
    p.add_argument("--quick", action="store_true", help="fewer, shorter samples")
    p.add_argument("--filter", default="", help="run only cases whose name contains SUBSTR")
    p.add_argument("--threads", type=int, default=1,
                   help="threads for both libraries (default 1: tiny ops, so threads only add wake-up noise)")
    p.add_argument("--save", nargs="?", const="", default=None, metavar="PATH",
                   help="write JSON (default bench/results/autograd-<time>.json)")
    return p.parse_args(argv)


def _grads(t):
    return [t[k].grad for k in ("a", "b", "w1", "b1", "w2", "b2") if t[k].grad is not None]


def check(name, fn, tensors):
    """Run once in both libraries; values and any gradients must agree."""
    res = {}
    for lib in LIBS:
        out = fn(tensors[lib])
        res[lib] = [np.asarray(x.detach().numpy(), np.float64) for x in [out] + _grads(tensors[lib])]
    for p, q in zip(res["pyml"], res["torch"]):
        scale = max(float(np.abs(q).max()) if q.size else 0.0, 1e-30)
        if p.shape != q.shape or float(np.abs(p - q).max()) / scale > 1e-5:
            raise SystemExit(f"autograd_overhead: {name}: pyml and torch disagree")


def measure(fn, tensors, quick):
    min_time, samples, settle = (0.02, 5, 0.02) if quick else (0.1, 11, 0.05)
    calls = {lib: (lambda lib=lib: fn(tensors[lib])) for lib in LIBS}
    reps = {lib: calibrate(calls[lib], min_time) for lib in LIBS}
    return interleaved(calls, reps, samples, settle)


def main(argv=None):
    opts = parse(argv)
    setup_threads(opts.threads)
    rows = []
    for name, (fn, rg, n_ops) in CASES.items():
        if opts.filter not in name:
            continue
        tensors = _inputs(rg)
        check(name, fn, tensors)
        times = measure(fn, tensors, opts.quick)
        med = {lib: statistics.median(times[lib]) for lib in LIBS}
        rows.append({"case": name, "ops": n_ops, "requires_grad": rg,
                     "libs": {lib: {"median_s": med[lib], "min_s": min(times[lib]), "samples_s": times[lib]}
                              for lib in LIBS},
                     "ratio": med["torch"] / med["pyml"]})
        print(f"  done: {name}", file=sys.stderr, flush=True)
    if not rows:
        print(f"autograd_overhead: no case matches --filter {opts.filter!r}", file=sys.stderr)
        return 2
    head = f"{'case':<26}{'pyml us':>10}{'torch us':>10}{'pyml us/op':>12}{'torch/pyml':>12}"
    print(f"\nthreads: {opts.threads}   ratio = torch time / pyml time (> 1: pyml faster)\n{head}\n{'-' * len(head)}")
    for r in rows:
        p, t = r["libs"]["pyml"]["median_s"] * 1e6, r["libs"]["torch"]["median_s"] * 1e6
        print(f"{r['case']:<26}{p:>10.2f}{t:>10.2f}{p / r['ops']:>12.2f}{r['ratio']:>12.2f}")
    if opts.save is not None:
        path = opts.save or os.path.join(os.path.dirname(__file__), "results",
                                         "autograd-" + time.strftime("%Y%m%d-%H%M%S") + ".json")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            json.dump({"machine": machine(opts.threads), "quick": opts.quick, "cases": rows}, f, indent=1)
        print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
