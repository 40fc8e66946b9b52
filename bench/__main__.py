"""python -m bench [--quick] [--filter SUBSTR] [--threads N] [--out PATH] [--device cpu|cuda]

Per case: inputs made once; every library's result is checked against pyml's first; then each
library warms up, its repeat count is calibrated to a minimum sample time, and samples are taken
interleaved (pyml, torch, numpy, pyml, ...) so machine noise hits all alike. Before each sample
the process sleeps briefly, so thread pools left spinning by the previous library (OpenBLAS spins
~0.1 s after a call) don't steal the cores. Reports medians, GFLOP/s or GB/s, and
ratio = peer time / pyml time (> 1: pyml is faster). JSON goes to bench/results/.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

from .bandwidth import annotate, print_fractions

LIBS = ("pyml", "torch", "numpy")


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    p.add_argument("--quick", action="store_true", help="fewer, shorter samples (under 2 minutes)")
    p.add_argument("--filter", default="", help="run only cases whose name contains SUBSTR (or any of A,B,...)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for every library")
    p.add_argument("--out", default=None, help="JSON path (default bench/results/<time>.json)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                   help="cuda: pyml's CUDA kernels vs torch on the GPU (bench/gpu.py)")
    return p.parse_args(argv)


def setup_threads(n):
    # NumPy's OpenBLAS reads its thread count at import, so set it before importing anything.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    import pyml
    import torch
    pyml.set_num_threads(n)
    torch.set_num_threads(n)


def convert(case, inputs):
    """Each library's own copy of the inputs (zero-copy views), passed through the case's setup."""
    import pyml
    import torch
    args = {"pyml": [pyml.from_numpy(x.copy()) for x in inputs], "torch": [torch.from_numpy(x.copy()) for x in inputs],
            "numpy": [x.copy() for x in inputs]}
    if case.setup is not None:
        args = {lib: (case.setup(lib, a) if lib in case.ops and lib != "numpy" else a) for lib, a in args.items()}
    return args


def to_numpy(r):
    import numpy as np
    if isinstance(r, (list, tuple)):
        return np.concatenate([to_numpy(x).ravel() for x in r])
    if hasattr(r, "detach"):
        r = r.detach()
    a = np.asarray(r.numpy() if hasattr(r, "numpy") else r)
    if np.iscomplexobj(a):  # complex results (fft): compare both parts
        a = np.stack([a.real, a.imag], -1)
    return a.astype(np.float64)


def check(case, args):
    """Run every library once; compare each peer with pyml. Returns {lib: None or 'n/a: why'}."""
    status, results = {}, {}
    for lib in LIBS:
        if lib not in case.ops:
            status[lib] = "n/a: no such op"
            continue
        try:
            results[lib] = to_numpy(case.ops[lib](*args[lib]))
            status[lib] = None
        except (AttributeError, NotImplementedError, TypeError) as e:
            status[lib] = f"n/a: {type(e).__name__}: {e}"
    ref = results.get("pyml")
    for lib, r in results.items():
        if ref is None or lib == "pyml":
            continue
        scale = max(float(abs(ref).max()) if ref.size else 0.0, 1e-30)
        err = float(abs(r - ref).max()) / scale if ref.size else 0.0
        if r.shape != ref.shape or err > case.tol:
            raise SystemExit(f"bench: {case.name}: {lib} disagrees with pyml (shape {r.shape} vs {ref.shape}, "
                             f"relative error {err:.2e} > {case.tol:.1e})")
    return status


def calibrate(fn, min_time):
    for _ in range(3):  # warm-up
        fn()
    reps, t = 1, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        t = time.perf_counter() - t0
        if t >= min_time:
            return reps
        reps = max(reps * 2, int(reps * min_time / max(t, 1e-9)) + 1)


def measure(case, args, status, quick):
    min_time, samples, settle = (0.03, 5, 0.1) if quick else (0.1, 15, 0.15)
    live = [lib for lib in LIBS if status[lib] is None]
    fns = {lib: (lambda lib=lib: case.ops[lib](*args[lib])) for lib in live}
    reps = {}
    for lib in live:
        time.sleep(settle)
        reps[lib] = calibrate(fns[lib], min_time)
    return interleaved(fns, reps, samples, settle)


def interleaved(fns, reps, samples, settle):
    """Seconds per call of each library's fn: `samples` rounds, libraries interleaved in each round so
    load changes on the shared machine hit all of them alike."""
    times = {lib: [] for lib in fns}
    for _ in range(samples):
        for lib, fn in fns.items():
            time.sleep(settle)
            t0 = time.perf_counter()
            for _ in range(reps[lib]):
                fn()
            times[lib].append((time.perf_counter() - t0) / reps[lib])
    return times


def row(case, times, status):
    med = {lib: statistics.median(t) for lib, t in times.items()}
    out = {"case": case.name, "unit": case.unit, "work": case.work, "libs": {}}
    for lib in LIBS:
        if lib not in med:
            out["libs"][lib] = {"status": status[lib]}
            continue
        out["libs"][lib] = {"median_s": med[lib], "min_s": min(times[lib]), "samples_s": times[lib],
                            "rate": case.work / med[lib] / 1e9}
        if "pyml" in med and lib != "pyml":
            out["libs"][lib]["ratio"] = med[lib] / med["pyml"]
    return out


def print_table(rows, threads):
    def cell(r, lib, key, fmt, scale=1.0):
        v = r["libs"][lib].get(key)
        return fmt.format(v * scale) if v is not None else "n/a"
    head = (f"{'case':<44}" + "".join(f"{lib + ' ms':>11}" for lib in LIBS) + f"{'pyml rate':>16}"
            + f"{'torch/pyml':>12}{'numpy/pyml':>12}")
    print(f"\nthreads: {threads}   ratio = peer time / pyml time (> 1: pyml faster)\n{head}\n{'-' * len(head)}")
    for r in rows:
        ms = "".join(f"{cell(r, lib, 'median_s', '{:.3f}', 1e3):>11}" for lib in LIBS)
        rate = cell(r, "pyml", "rate", "{:.1f}") + " " + r["unit"]
        print(f"{r['case']:<44}{ms}{rate:>16}{cell(r, 'torch', 'ratio', '{:.2f}'):>12}"
              f"{cell(r, 'numpy', 'ratio', '{:.2f}'):>12}")
    for r in rows:
        for lib in LIBS:
            if r["libs"][lib].get("status"):
                print(f"  {r['case']}: {lib} {r['libs'][lib]['status']}")


def machine(threads):
    import numpy as np
    import pyml
    import torch
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "threads": threads, "host": platform.node(),
            "python": platform.python_version(), "pyml": pyml.info(), "torch": torch.__version__,
            "numpy": np.__version__, "time": time.strftime("%Y-%m-%dT%H:%M:%S")}


def main(argv=None):
    opts = parse(argv)
    if opts.device == "cuda":
        from .gpu import main as gpu_main
        return gpu_main(opts)
    setup_threads(opts.threads)
    from .cases import all_cases
    cases = [c for c in all_cases() if any(f in c.name for f in opts.filter.split(","))]
    if not cases:
        print(f"bench: no case matches --filter {opts.filter!r}", file=sys.stderr)
        return 2
    rows = []
    for case in cases:
        args = convert(case, case.make())
        status = check(case, args)
        rows.append(row(case, measure(case, args, status, opts.quick), status))
        print(f"  done: {case.name}", file=sys.stderr, flush=True)
    print_table(rows, opts.threads)
    print_fractions(rows, annotate(rows))
    path = opts.out or os.path.join(os.path.dirname(__file__), "results", time.strftime("%Y%m%d-%H%M%S") + ".json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"machine": machine(opts.threads), "quick": opts.quick, "cases": rows}, f, indent=1)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
