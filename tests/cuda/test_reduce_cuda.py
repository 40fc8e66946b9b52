"""CUDA reductions, scans and softmax against the CPU kernels on the same values and strides
(cuda_compare.check): every dim/keepdim combination on 3-d and 4-d inputs, transposed, stepped and
expanded layouts, every dtype, odd and long sizes (the split and two-pass paths), NaN/inf, ties
(argmax/argmin first occurrence, cummax/cummin newest), empty reductions (identity values, and the
same errors as on CPU), inputs over the kernels' dim limit, and autograd through check_grads."""
import math

import numpy as np
import pytest

import pyml
from cuda_compare import check, check_grads, to_cuda

FLOATS = ("float32", "float64", "float16", "bfloat16")
INTS = ("int8", "int16", "int32", "int64", "uint8")
ALL = FLOATS + INTS + ("bool",)
LAYOUTS = ("contiguous", "transposed", "stepped", "expanded")
SIZES = (1, 7, 97, 1023, 1025, 100000)


def cast(t, dtype):
    if dtype == "bool":
        return t > 0
    if dtype == "uint8":
        return t.abs().round().to(pyml.uint8)
    if dtype in INTS:
        return t.round().to(getattr(pyml, dtype))
    return t.to(getattr(pyml, dtype))


def relayout(t, kind):
    """Same values, another memory layout (the CUDA copy keeps the strides)."""
    if kind in ("contiguous", "expanded") or t.ndim == 0:  # expanded: see in_layout
        return t
    rev = list(reversed(range(t.ndim)))
    if kind == "transposed":
        return t.permute(*rev).contiguous().permute(*rev)
    if kind == "stepped":  # every other element of a wider buffer along the last dim
        wide = pyml.zeros(*t.shape[:-1], 2 * t.shape[-1], dtype=t.dtype)
        v = wide[..., ::2]
        v.copy_(t)
        return v
    raise ValueError(kind)


def make(rng, shape, dtype="float32", layout="contiguous", lo=-3.0, hi=3.0):
    """An input of shape in the layout; for "expanded", the (1, ...) base that in_layout expands."""
    if layout == "expanded":
        shape = (1,) + tuple(shape[1:])
    return relayout(cast(pyml.tensor(rng.uniform(lo, hi, size=shape)), dtype), layout)


def in_layout(fn, layout, shape):
    """fn, seeing its input expanded to shape (stride 0 along dim 0) when layout is "expanded". The
    view is made on each device: cuda_compare re-creates strides by writing through them, which
    stride 0 forbids."""
    if layout != "expanded":
        return fn
    return lambda t, *a, **k: fn(t.expand(*shape), *a, **k)


def dim_choices(ndim):
    out = [None] + list(range(ndim)) + [-1]
    if ndim >= 3:
        out += [(0, ndim - 1), (1, 2), tuple(range(ndim))]
    if ndim >= 4:
        out += [(0, 2), (1, 3)]
    return out


def same_error(fn, *args):
    """fn raises on CPU; on CUDA it raises the same exception type with the same message."""
    with pytest.raises(Exception) as cpu:
        fn(*args)
    with pytest.raises(type(cpu.value)) as dev:
        fn(*to_cuda(list(args)))
    assert str(dev.value) == str(cpu.value)


# name -> (fn(x, dim, keepdim), dtypes, input range); reductions over a tuple of dims
RED = {
    "sum": (lambda x, d, k: x.sum(d, k), ALL, 3),
    "nansum": (lambda x, d, k: x.nansum(d, k), ALL, 3),
    "prod": (lambda x, d, k: x.prod(d, k) if d is None or isinstance(d, int) else x.prod(d[0], k), ALL, 1.4),
    "mean": (lambda x, d, k: x.mean(d, k), FLOATS, 3),
    "nanmean": (lambda x, d, k: x.nanmean(d, k), FLOATS, 3),
    "amax": (lambda x, d, k: x.amax(() if d is None else d, k), ALL, 3),
    "amin": (lambda x, d, k: x.amin(() if d is None else d, k), ALL, 3),
    "all": (lambda x, d, k: x.all(d, k), ALL, 3),
    "any": (lambda x, d, k: x.any(d, k), ALL, 3),
    "count_nonzero": (lambda x, d, k: x.count_nonzero(d), ALL, 3),
    "logsumexp": (lambda x, d, k: x.logsumexp(tuple(range(x.ndim)) if d is None else d, k), FLOATS, 3),
    "var": (lambda x, d, k: x.var(d, keepdim=k), FLOATS, 3),
    "std": (lambda x, d, k: x.std(d, keepdim=k, correction=0), FLOATS, 3),
    "var_mean": (lambda x, d, k: pyml.var_mean(x, d, keepdim=k), FLOATS, 3),
    "norm2": (lambda x, d, k: x.norm(2, d, k), FLOATS, 3),
    "norm1": (lambda x, d, k: x.norm(1, d, k), FLOATS, 3),
    "norm0": (lambda x, d, k: x.norm(0, d, k), FLOATS, 3),
    "norm3": (lambda x, d, k: x.norm(3, d, k), FLOATS, 3),
    "norm_half": (lambda x, d, k: x.norm(0.5, d, k), FLOATS, 3),
    "norm_inf": (lambda x, d, k: x.norm(math.inf, d, k), FLOATS, 3),
    "norm_ninf": (lambda x, d, k: x.norm(-math.inf, d, k), FLOATS, 3),
}


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(RED))
def test_reduce_every_dim_and_keepdim(rng, name, layout, shape):
    fn, dtypes, hi = RED[name]
    x = make(rng, shape, "float32" if "float32" in dtypes else dtypes[0], layout, -hi, hi)
    for d in dim_choices(len(shape)):
        for k in (False, True):
            check(in_layout(fn, layout, shape), x, d, k)


@pytest.mark.parametrize("name", sorted(RED))
def test_reduce_every_dtype(rng, name):
    fn, dtypes, hi = RED[name]
    for dt in dtypes:
        for shape, layout in (((13, 17), "contiguous"), ((13, 17), "transposed"), ((97,), "stepped")):
            x = make(rng, shape, dt, layout, -hi, hi)
            for d in (None, 0, -1):
                check(fn, x, d, False)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dt", ("float32", "float64", "float16", "int32"))
def test_reduce_sizes(rng, n, dt):
    """1-d (one long reduction: split over blocks), (n, 3) over dim 0 (columns), (3, n) over dim 1."""
    names = ("sum", "amax", "amin", "count_nonzero", "all", "any") if dt == "int32" else \
        ("sum", "mean", "amax", "nansum", "var", "logsumexp", "norm2", "norm3", "norm_inf")
    for shape, d in (((n,), 0), ((n, 3), 0), ((3, n), 1), ((n, 3), 1)):
        x = make(rng, shape, dt)
        for name in names:
            check(RED[name][0], x, d, False)
            check(RED[name][0], x, None, False)


@pytest.mark.parametrize("dt", FLOATS)
def test_reduce_nan_inf(rng, dt):
    a = rng.uniform(-3, 3, size=(6, 1025))
    a[0, 5] = np.nan
    a[1, :] = -np.inf
    a[2, 7] = np.inf
    a[3, [3, 900]] = np.nan
    a[4, 10] = np.inf
    a[4, 11] = -np.inf
    x = cast(pyml.tensor(a), dt)
    for name in ("sum", "nansum", "mean", "nanmean", "amax", "amin", "logsumexp", "norm2", "norm_inf", "norm_ninf",
                 "var", "prod"):
        for d in (None, 0, 1):
            check(RED[name][0], x, d, False)
    for d in (0, 1):
        check(lambda t: tuple(t.max(d)), x)
        check(lambda t: tuple(t.min(d)), x)
        check(lambda t: t.argmax(d), x)
        check(lambda t: t.argmin(d), x)
    check(lambda t: t.max(), x)
    check(lambda t: t.argmin(), x)


@pytest.mark.parametrize("dt", ALL)
def test_max_min_with_indices_first_occurrence(rng, dt):
    """Ties everywhere (few distinct values): the index is the first occurrence, as on CPU."""
    for shape in ((5, 7, 3), (4, 1025), (2, 100000)):
        x = cast(pyml.tensor(rng.integers(0, 3, size=shape).astype(np.float64)), dt)
        for d in range(len(shape)):
            for k in (False, True):
                check(lambda t: tuple(t.max(d, k)), x)
                check(lambda t: tuple(t.min(d, k)), x)
                check(lambda t: t.argmax(d, k), x)
                check(lambda t: t.argmin(d, k), x)
        check(lambda t: t.argmax(), x)
        check(lambda t: t.argmin(keepdim=True), x)
        check(lambda t: (t.max(), t.min()), x)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_arg_reductions_layouts(rng, layout):
    x = make(rng, (6, 9, 11), "float32", layout)
    for d in (0, 1, 2, -1):
        check(in_layout(lambda t: tuple(t.max(d)), layout, (6, 9, 11)), x)
        check(in_layout(lambda t: t.argmin(d, True), layout, (6, 9, 11)), x)


def test_empty_reductions_identities_and_errors():
    for shape in ((0,), (3, 0, 2), (2, 0)):
        for dt in ("float32", "float16", "int64", "bool"):
            x = cast(pyml.zeros(shape), dt)
            for name in ("sum", "nansum", "prod", "all", "any", "count_nonzero"):
                for d in (None, 0, -1):
                    check(RED[name][0], x, d, False)
            if dt.startswith("float"):
                for name in ("mean", "nanmean", "logsumexp", "norm2", "norm1", "norm_inf", "var"):
                    check(RED[name][0], x, None, True)
        x = pyml.zeros(shape)
        same_error(lambda t: t.amax(), x)
        same_error(lambda t: t.max(), x)
        same_error(lambda t: t.argmax(), x)
        same_error(lambda t: t.norm(-math.inf), x)
    x = pyml.zeros(3, 0, 2)
    same_error(lambda t: t.amax(1), x)
    same_error(lambda t: t.max(1), x)
    check(lambda t: t.amax(0), x)  # the reduced dim is non-empty: an empty result
    check(lambda t: tuple(t.max(2)), x)


def test_reduce_errors_match_cpu(rng):
    x = make(rng, (3, 4))
    same_error(lambda t: t.sum((0, 0)), x)
    same_error(lambda t: t.sum(2), x)
    same_error(lambda t: t.mean(), cast(x, "int32"))
    same_error(lambda t: t.var(), cast(x, "int64"))
    same_error(lambda t: t.norm(2), cast(x, "int32"))
    same_error(lambda t: pyml.logcumsumexp(t, 0), cast(x, "int32"))


def test_reduce_dtype_argument(rng):
    x = make(rng, (7, 9), "float16")
    check(lambda t: t.sum(1, dtype=pyml.float32), x)
    check(lambda t: t.mean(0, dtype=pyml.float64), x)
    check(lambda t: t.sum(dtype=pyml.int32), make(rng, (7, 9), "int8"))
    check(lambda t: t.norm(2, 1, dtype=pyml.float64), x)
    check(lambda t: t.logsumexp(1), make(rng, (7, 9), "int32"))


def test_many_dims_go_contiguous(rng):
    """10 dims: more than the CUDA kernels take after coalescing; the host copies first."""
    x = make(rng, (2, 3, 2, 1, 2, 3, 2, 2, 1, 3), "float32", "transposed")
    for d in (None, (0, 2, 4, 6, 8), (1, 3, 5, 7, 9), 5, (9,)):
        for k in (False, True):
            check(lambda t: t.sum(d, k), x)
            check(lambda t: t.amax(() if d is None else d, k), x)
    check(lambda t: tuple(t.max(4)), x)
    for d in (0, 5, 9):
        check(lambda t: t.cumsum(d), x)
        check(lambda t: pyml.softmax(t, d), x)


# ------------------------------------------------------------------------------------ scans
SCANS = {
    "cumsum": (lambda x, d: x.cumsum(d), ALL),
    "cumprod": (lambda x, d: x.cumprod(d), ALL),
    "cummax": (lambda x, d: tuple(x.cummax(d)), ALL),
    "cummin": (lambda x, d: tuple(x.cummin(d)), ALL),
    "logcumsumexp": (lambda x, d: x.logcumsumexp(d), FLOATS),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(SCANS))
def test_scan_every_dim(rng, name, layout):
    fn, _ = SCANS[name]
    for shape in ((3, 4, 5), (2, 3, 4, 5)):
        x = make(rng, shape, "float32", layout, 0.5, 1.5)
        for d in list(range(len(shape))) + [-1]:
            check(in_layout(fn, layout, shape), x, d)


@pytest.mark.parametrize("name", sorted(SCANS))
def test_scan_every_dtype(rng, name):
    fn, dtypes = SCANS[name]
    for dt in dtypes:
        x = make(rng, (13, 17), dt, "contiguous", -1.5, 1.5)
        for d in (0, 1):
            check(fn, x, d)
        check(fn, make(rng, (5, 6), dt, "stepped", -1.5, 1.5), 1)


@pytest.mark.parametrize("n", SIZES)
def test_scan_sizes(rng, n):
    """Long lines (chunks with a carry), many short lines, and the thread-per-line path."""
    for shape, d in (((n,), 0), ((3, n), 1), ((n, 3), 0), ((n, 3), 1)):
        x = make(rng, shape, "float32", "contiguous", 0.9, 1.1)
        check(lambda t: t.cumsum(d), x)
        check(lambda t: t.logcumsumexp(d), x)
        check(lambda t: tuple(t.cummax(d)), x)
        check(lambda t: t.cumsum(d), cast(x * 10, "int32"))
        if n <= 1025:
            check(lambda t: t.cumprod(d), x)
    x = make(rng, (7, 4096), "float64")  # dim 0 of many lines: a thread per line
    check(lambda t: t.cumsum(0), x)
    check(lambda t: tuple(t.cummin(0)), x)


@pytest.mark.parametrize("dt", ALL)
def test_cummax_cummin_ties_and_nan(rng, dt):
    a = rng.integers(0, 3, size=(4, 2000)).astype(np.float64)
    if dt in FLOATS:
        a[0, 7] = np.nan
        a[1, [5, 1500]] = np.nan
        a[2, 3] = -np.inf
    x = cast(pyml.tensor(a), dt)
    for d in (0, 1):
        check(lambda t: tuple(t.cummax(d)), x)
        check(lambda t: tuple(t.cummin(d)), x)


def test_scan_special_values_and_dtype(rng):
    a = rng.uniform(-2, 2, size=(5, 300))
    a[0, 4] = np.nan
    a[1, :] = -np.inf
    a[2, 9] = np.inf
    a[3, 10:20] = -np.inf
    for dt in FLOATS:
        x = cast(pyml.tensor(a), dt)
        check(lambda t: t.logcumsumexp(1), x)
        check(lambda t: t.cumsum(1), x)
    x = make(rng, (6, 7), "int8")
    check(lambda t: t.cumsum(1), x)  # integers accumulate (and return) int64
    check(lambda t: t.cumsum(0, dtype=pyml.float32), x)
    check(lambda t: t.cumprod(1, dtype=pyml.float64), make(rng, (6, 7), "float16"))
    for shape in ((0,), (3, 0), (0, 4)):
        check(lambda t: t.cumsum(0), pyml.zeros(shape))
        check(lambda t: tuple(t.cummax(-1)), pyml.zeros(shape))
    check(lambda t: t.cumsum(0), pyml.tensor(2.5))


# ------------------------------------------------------------------------------------ softmax
@pytest.mark.parametrize("log", (False, True))
@pytest.mark.parametrize("layout", LAYOUTS)
def test_softmax_every_dim(rng, layout, log):
    f = pyml.log_softmax if log else pyml.softmax
    for shape in ((3, 4, 5), (2, 3, 4, 5)):
        x = make(rng, shape, "float32", layout)
        for d in list(range(len(shape))) + [-1]:
            check(in_layout(f, layout, shape), x, d)


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("log", (False, True))
def test_softmax_dtypes_sizes_and_special_values(rng, dt, log):
    f = pyml.log_softmax if log else pyml.softmax
    for n in SIZES:
        check(f, make(rng, (2, n), dt), 1)
        check(f, make(rng, (n, 3), dt), 0)
    check(f, make(rng, (5, 4096), dt), 0)  # many lines, dim not innermost: a thread per line
    a = rng.uniform(-3, 3, size=(5, 33))
    a[0, 3] = np.nan
    a[1, :] = -np.inf
    a[2, 4] = -np.inf
    a[3, 5] = np.inf
    x = cast(pyml.tensor(a), dt)
    check(f, x, 1)
    check(f, x, 0)
    check(f, make(rng, (4, 7), dt), 1, dtype=pyml.float32)
    check(f, pyml.zeros(0, 5).to(getattr(pyml, dt)), 1)
    check(f, pyml.tensor(1.5).to(getattr(pyml, dt)), 0)


@pytest.mark.parametrize("dt", ("float32", "float64"))
@pytest.mark.parametrize("log", (False, True))
def test_softmax_backward_kernel(rng, dt, log):
    from pyml._tensor import wrap

    def bwd(g, y):
        return wrap(pyml._C.softmax_backward(g._impl, y._impl, -1, log))
    f = pyml.log_softmax if log else pyml.softmax
    for shape in ((7, 1025), (1, 100000), (3, 5, 1), (4096, 3), (0, 5)):
        y = f(make(rng, shape, dt), -1)
        g = make(rng, shape, dt)
        check(bwd, g, y)
    y = f(make(rng, (6, 9), dt), -1)
    check(bwd, relayout(make(rng, (6, 9), dt), "transposed"), y)
    same_error(lambda g, yy: bwd(g, yy), make(rng, (6, 9), dt), f(make(rng, (6, 8), dt), -1))


def test_softmax_backward_device_mismatch(rng):
    from pyml._tensor import wrap
    y = pyml.softmax(make(rng, (4, 5)), -1)
    g = make(rng, (4, 5))
    with pytest.raises(RuntimeError, match="softmax_backward: expected all tensors to be on the same device, "
                                           "got cpu and cuda:0"):
        pyml._C.softmax_backward(g._impl, y.cuda()._impl, -1, False)
    with pytest.raises(RuntimeError, match="got cuda:0 and cpu"):
        wrap(pyml._C.softmax_backward(g.cuda()._impl, y._impl, -1, True))


# ------------------------------------------------------------------------------------ autograd
@pytest.mark.parametrize("dt", ("float32", "float64"))
def test_autograd_through_reductions_and_softmax(rng, dt):
    x0 = make(rng, (5, 7, 9), dt)
    xs0 = relayout(make(rng, (6, 8), dt), "transposed")
    fns = [lambda t: t.sum(1), lambda t: t.sum((0, 2), keepdim=True), lambda t: t.mean(-1),
           lambda t: t.amax(1), lambda t: t.max(2).values, lambda t: t.max(), lambda t: pyml.softmax(t, -1),
           lambda t: pyml.softmax(t, 1), lambda t: pyml.log_softmax(t, -1), lambda t: t.logsumexp(2),
           lambda t: t.norm(2, 1), lambda t: t.var(0), lambda t: t.cumsum(1)]
    for fn in fns:  # a fresh leaf each time: the CPU grads must not accumulate across calls
        check_grads(fn, x0.detach().requires_grad_())
    check_grads(lambda t: pyml.softmax(t, 0), xs0.detach().requires_grad_())
    check_grads(lambda t: t.sum(0), xs0.detach().requires_grad_())
