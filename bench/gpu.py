"""python -m bench --device cuda: pyml's CUDA kernels against PyTorch's on the same GPU, same inputs.

Inputs are made once in NumPy (float32, seeded), copied to the GPU for both libraries, the results
cross-checked, then each op is timed with CUDA events: warm-up, a repeat count calibrated to ~20 ms
per sample, libraries interleaved sample by sample, median of the samples. Memory-bound cases
report GB/s (minimum bytes: each input read once, each output written once) and the fraction of
the device-to-device copy bandwidth measured first in the same run (the ceiling, issue 7: >= 70%);
compute-bound cases report TFLOP/s. ratio = torch time / pyml time (> 1: pyml faster).
"""
import json
import os
import statistics
import sys
import time

from .gpu_cases import gpu_cases, copy_case
from .gpu_cases_conv import conv_pool_cases

LIBS = ("pyml", "torch")


def _event_timer(lib):
    if lib == "pyml":
        import pyml
        return lambda: pyml.cuda.Event(enable_timing=True), pyml.cuda.synchronize
    import torch
    return lambda: torch.cuda.Event(enable_timing=True), torch.cuda.synchronize


def time_per_call(lib, fn, reps):
    new_event, sync = _event_timer(lib)
    start, end = new_event(), new_event()
    sync()
    start.record()
    for _ in range(reps):
        fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / 1e3 / reps


def calibrate(lib, fn, target=0.02):
    for _ in range(3):
        fn()
    reps = 1
    while True:
        t = time_per_call(lib, fn, reps) * reps
        if t >= target or reps >= 1 << 16:
            return reps
        reps = max(reps * 2, int(reps * target / max(t, 1e-9)) + 1)


def check(case, args):
    import numpy as np
    got = {lib: case.ops[lib](*args[lib]) for lib in LIBS}
    to_np = lambda r: (r.detach().float().cpu().numpy() if hasattr(r, "detach") else np.asarray(r)).astype(np.float64)
    ref, other = to_np(got["pyml"]), to_np(got["torch"])
    err = float(abs(ref - other).max()) / max(float(abs(other).max()), 1e-30) if ref.size else 0.0
    if ref.shape != other.shape or not err <= case.tol:
        raise SystemExit(f"bench: {case.name}: torch disagrees with pyml (relative error {err:.2e} > {case.tol:.1e})")


def run_case(case, samples):
    args = case.device_args()
    check(case, args)
    fns = {lib: (lambda lib=lib: case.ops[lib](*args[lib])) for lib in LIBS}
    reps = {lib: calibrate(lib, fns[lib]) for lib in LIBS}
    times = {lib: [] for lib in LIBS}
    for _ in range(samples):
        for lib in LIBS:
            times[lib].append(time_per_call(lib, fns[lib], reps[lib]))
    med = {lib: statistics.median(t) for lib, t in times.items()}
    return {"case": case.name, "unit": case.unit, "work": case.work,
            "libs": {lib: {"median_s": med[lib], "samples_s": times[lib], "rate": case.work / med[lib] / 1e9}
                     for lib in LIBS},
            "ratio": med["torch"] / med["pyml"]}


def print_table(rows, copy_gbs):
    print(f"\ndevice-to-device copy ceiling: {copy_gbs:.0f} GB/s (read + write)   ratio = torch / pyml time")
    head = f"{'case':<40}{'pyml ms':>10}{'torch ms':>10}{'pyml rate':>16}{'of ceiling':>12}{'ratio':>8}"
    print(head + "\n" + "-" * len(head))
    for r in rows:
        p, t = r["libs"]["pyml"], r["libs"]["torch"]
        frac = f"{p['rate'] / copy_gbs:.0%}" if r["unit"] == "GB/s" else ""
        rate = f"{p['rate'] / (1e3 if r['unit'] == 'TFLOP/s' else 1):.1f} {r['unit']}"
        print(f"{r['case']:<40}{p['median_s'] * 1e3:>10.3f}{t['median_s'] * 1e3:>10.3f}{rate:>16}{frac:>12}"
              f"{r['ratio']:>8.2f}")


def main(opts):
    import pyml
    import torch
    if not (pyml.cuda.is_available() and torch.cuda.is_available()):
        print("bench --device cuda: needs a GPU visible to both pyml and torch", file=sys.stderr)
        return 2
    samples = 5 if opts.quick else 15
    copy = run_case(copy_case(), samples)
    copy_gbs = max(copy["libs"]["torch"]["rate"], copy["libs"]["pyml"]["rate"])
    rows = [copy]
    for case in gpu_cases() + conv_pool_cases():
        if opts.filter in case.name:
            try:
                rows.append(run_case(case, samples))
            except (RuntimeError, NotImplementedError, TypeError) as e:  # an op pyml lacks on CUDA so far
                print(f"  {case.name}: n/a: {type(e).__name__}: {e}", file=sys.stderr)
                continue
            print(f"  done: {case.name}", file=sys.stderr, flush=True)
    print_table(rows, copy_gbs)
    props = pyml.cuda.get_device_properties()
    meta = {"device": props.name, "props": vars(props), "torch": torch.__version__, "pyml": pyml.info(),
            "copy_GBps": copy_gbs, "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
    name = time.strftime("%Y%m%d-%H%M%S") + "-cuda.json"
    path = opts.out if opts.out and opts.out.endswith(".json") else os.path.join(
        opts.out or os.path.join(os.path.dirname(__file__), "results"), name)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"machine": meta, "quick": opts.quick, "cases": rows}, f, indent=1)
    print(f"\nwrote {path}")
    return 0
