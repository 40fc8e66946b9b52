"""Fuzz driver (run in a subprocess by test_fuzz.py): throws random, mostly invalid arguments at every
public pyml function and Tensor method. Any Python exception is fine as long as it is one of the
documented error types; a crash kills the process and fails the test. Prints a summary line and any
calls that raised an undocumented exception type."""
import random
import sys

import numpy as np

import pyml

ALLOWED = (ValueError, TypeError, IndexError, RuntimeError, NotImplementedError, OverflowError)
SKIP = {"set_num_threads", "set_default_dtype", "manual_seed", "seed", "set_rng_state", "set_printoptions",
        "empty", "zeros", "ones", "full", "rand", "randn", "randint", "eye", "arange", "linspace", "logspace",
        "randperm", "normal", "info", "from_numpy", "from_dlpack", "cuda", "load", "save"}
DTYPES = [pyml.float32, pyml.float64, pyml.float16, pyml.bfloat16, pyml.int64, pyml.int32, pyml.int8,
          pyml.uint8, pyml.bool]


def rand_tensor(r):
    nd = r.choice([0, 1, 1, 2, 2, 3, 4])
    shape = [r.choice([0, 1, 2, 3, 5]) for _ in range(nd)]
    t = pyml.tensor(np.random.default_rng(r.randrange(1 << 30)).standard_normal(shape) * 3)
    t = t.to(r.choice(DTYPES))
    if nd >= 2 and r.random() < 0.3:
        t = t.transpose(0, 1)
    return t


def rand_arg(r):
    k = r.random()
    if k < 0.45:
        return rand_tensor(r)
    if k < 0.6:
        return r.choice([-7, -2, -1, 0, 1, 2, 3, 9, 1 << 40])
    if k < 0.7:
        return r.choice([0.5, -1.5, float("nan"), float("inf"), 1e300])
    if k < 0.8:
        return [r.choice([-1, 0, 1, 2, 5]) for _ in range(r.randint(0, 4))]
    if k < 0.85:
        return tuple(r.choice([-3, -1, 0, 1, 2]) for _ in range(r.randint(0, 3)))
    if k < 0.9:
        return None
    if k < 0.95:
        return r.choice(DTYPES)
    return r.choice(["x", "mean", "sum", "reflect", b"b", object()])


def rand_kwargs(r):
    kw = {}
    if r.random() < 0.3:
        kw["dim"] = r.choice([-5, -1, 0, 1, 2, 7, (0, 0), (0, 1), None])
    if r.random() < 0.15:
        kw["keepdim"] = r.choice([True, False])
    return kw


def targets():
    import pyml.nn.functional as F
    funcs = [(n, getattr(pyml, n)) for n in sorted(dir(pyml)) if not n.startswith("_") and n not in SKIP
             and callable(getattr(pyml, n)) and not isinstance(getattr(pyml, n), type)]
    funcs += [("F." + n, getattr(F, n)) for n in sorted(getattr(F, "__all__", dir(F))) if not n.startswith("_")
              and callable(getattr(F, n)) and not isinstance(getattr(F, n), type)]
    meths = [n for n in sorted(dir(pyml.Tensor)) if not n.startswith("_") and n not in SKIP
             and callable(getattr(pyml.Tensor, n, None))]
    meths += ["__getitem__", "__setitem__", "__add__", "__matmul__", "__iadd__", "__pow__", "__and__", "__lshift__"]
    return funcs, meths


def main(seed, calls):
    r = random.Random(seed)
    funcs, meths = targets()
    bad = []
    done = 0
    for _ in range(calls):
        args = [rand_arg(r) for _ in range(r.randint(0, 3))]
        kwargs = rand_kwargs(r)
        if r.random() < 0.5:
            name, fn = r.choice(funcs)
        else:
            name = r.choice(meths)
            fn = getattr(rand_tensor(r), name, None)
            if fn is None:
                continue
        try:
            fn(*args, **kwargs)
        except ALLOWED:
            pass
        except Exception as e:  # an undocumented exception type: report it
            bad.append(f"{name}({', '.join(type(a).__name__ for a in args)}, {kwargs}): {type(e).__name__}: {e}")
        done += 1
    print(f"fuzz: {done} calls, {len(bad)} undocumented exceptions")
    for b in bad[:50]:
        print("  " + b[:300])
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
