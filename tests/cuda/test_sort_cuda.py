"""CUDA sort family against the CPU kernels on the same values and strides (cuda_compare.check):
sort/argsort (stable: ties keep index order; NaN last ascending, first descending; -0.0 == 0.0),
topk, kthvalue, median/nanmedian, mode, unique and unique_consecutive (flat and along a dim), on
every dtype and layout, short lines sharing a block, lines past the 2048-element shared-memory
tile (the merge passes), empty inputs, and the same errors as on CPU."""
import numpy as np
import pytest

import pyml
from cuda_compare import check, to_cuda
from test_reduce_cuda import ALL, FLOATS, LAYOUTS, cast, in_layout, make, relayout, same_error

LENGTHS = (1, 7, 97, 1023, 1025, 2048, 2049, 5000, 100000)


def ties(rng, shape, dt, nvals=5, nan=False):
    """Few distinct values (many ties); optionally NaN, inf and -0.0 mixed in for float dtypes."""
    a = rng.integers(-nvals // 2, nvals - nvals // 2, size=shape).astype(np.float64)
    if nan and dt in FLOATS and a.size:
        flat = a.reshape(-1)
        k = flat.size
        flat[rng.integers(0, k, size=max(1, k // 20))] = np.nan
        flat[rng.integers(0, k, size=max(1, k // 50))] = np.inf
        flat[rng.integers(0, k, size=max(1, k // 50))] = -np.inf
        flat[rng.integers(0, k, size=max(1, k // 10))] = -0.0
    return cast(pyml.tensor(a), dt)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_sort_every_dim(rng, layout):
    for shape in ((3, 4, 5), (2, 3, 4, 5)):
        x = make(rng, shape, "float32", layout)
        for d in list(range(len(shape))) + [-1]:
            for desc in (False, True):
                check(in_layout(lambda t: tuple(pyml.sort(t, d, desc)), layout, shape), x)


@pytest.mark.parametrize("dt", ALL)
def test_sort_dtypes_ties_nan(rng, dt):
    for shape in ((6, 33), (40, 7)):
        x = ties(rng, shape, dt, nan=True)
        for d in (0, 1):
            for desc in (False, True):
                check(lambda t: tuple(pyml.sort(t, d, desc, stable=True)), x)
                check(lambda t: pyml.argsort(t, d, desc), x)
    check(lambda t: pyml.msort(t), ties(rng, (9, 4), dt))
    check(lambda t: tuple(pyml.sort(t, 1)), relayout(ties(rng, (5, 12), dt), "stepped"))


@pytest.mark.parametrize("n", LENGTHS)
def test_sort_lengths(rng, n):
    """Single tiles, short lines sharing a block, and merge passes past 2048 elements."""
    for dt in ("float32", "float64", "int64", "float16"):
        x = ties(rng, (2, n), dt, nvals=max(2, n // 3), nan=True)
        for desc in (False, True):
            check(lambda t: tuple(pyml.sort(t, 1, desc)), x)
        check(lambda t: tuple(pyml.sort(t, 0)), x)
    check(lambda t: tuple(pyml.sort(t, 0, True)), make(rng, (n, 3), "int32", "transposed", -100, 100))


def test_sort_many_short_lines(rng):
    x = ties(rng, (20000, 3), "float32", nan=True)
    check(lambda t: tuple(pyml.sort(t, 1)), x)
    check(lambda t: tuple(pyml.sort(t, 0, True)), make(rng, (3000, 5), "bfloat16"))


@pytest.mark.parametrize("dt", ALL)
def test_topk(rng, dt):
    for shape, d in (((6, 50), 1), ((50, 6), 0), ((3, 5000), 1), ((2, 4, 9), 1)):
        x = ties(rng, shape, dt, nvals=7, nan=True)
        n = shape[d]
        for k in sorted({0, 1, 3, n // 2, n}):
            for largest in (True, False):
                check(lambda t: tuple(pyml.topk(t, k, d, largest)), x)


@pytest.mark.parametrize("dt", ALL)
def test_kthvalue_median_mode(rng, dt):
    for shape in ((5, 9), (4, 2049), (3, 4, 6)):
        x = ties(rng, shape, dt, nvals=6, nan=True)
        for d in range(len(shape)):
            n = shape[d]
            for k in sorted({1, (n + 1) // 2, n}):
                check(lambda t: tuple(pyml.kthvalue(t, k, d)), x)
            for keep in (False, True):
                check(lambda t: tuple(pyml.median(t, d, keep)), x)
                check(lambda t: tuple(pyml.nanmedian(t, d, keep)), x)
                check(lambda t: tuple(pyml.kthvalue(t, 1, d, keep)), x)
                if dt not in FLOATS:  # mode of a line with NaN: the CPU rule, checked there
                    check(lambda t: tuple(pyml.mode(t, d, keep)), x)
        check(lambda t: pyml.median(t), x)
        check(lambda t: pyml.nanmedian(t), x)
    xm = ties(rng, (6, 40), dt, nvals=4, nan=True)
    check(lambda t: tuple(pyml.mode(t, 1)), xm)
    check(lambda t: tuple(pyml.mode(t, 0, True)), xm)


def test_median_all_nan_rows_and_empty(rng):
    a = rng.uniform(-1, 1, size=(4, 7))
    a[0, :] = np.nan
    a[1, 3] = np.nan
    for dt in FLOATS:
        x = cast(pyml.tensor(a), dt)
        check(lambda t: tuple(pyml.median(t, 1)), x)
        check(lambda t: tuple(pyml.nanmedian(t, 1)), x)
        check(lambda t: pyml.nanmedian(t), x)
    check(lambda t: pyml.median(t), pyml.zeros(0))
    check(lambda t: pyml.median(t), pyml.zeros(3, 0))
    check(lambda t: tuple(pyml.median(t, 0)), pyml.zeros(3, 0))
    check(lambda t: tuple(pyml.sort(t, 1)), pyml.zeros(3, 0))
    check(lambda t: tuple(pyml.topk(t, 0, 0)), pyml.zeros(0, 2))
    check(lambda t: tuple(pyml.sort(t, 0)), pyml.tensor(3.0))


def test_sort_family_errors_match_cpu(rng):
    x = make(rng, (4, 5))
    same_error(lambda t: pyml.topk(t, 6, 1), x)
    same_error(lambda t: pyml.topk(t, -1, 1), x)
    same_error(lambda t: pyml.kthvalue(t, 0, 1), x)
    same_error(lambda t: pyml.kthvalue(t, 6, 1), x)
    same_error(lambda t: pyml.sort(t, 2), x)
    same_error(lambda t: pyml.median(t, 1), pyml.zeros(4, 0))
    same_error(lambda t: pyml.mode(t, 1), pyml.zeros(4, 0))
    same_error(lambda t: pyml.unique(t, dim=0), pyml.tensor(1.0))


@pytest.mark.parametrize("dt", ALL)
def test_unique_flat(rng, dt):
    for shape in ((50,), (7, 9), (3000,), (0,)):
        x = ties(rng, shape, dt, nvals=9, nan=True)
        for inv in (False, True):
            for cnt in (False, True):
                check(lambda t: pyml.unique(t, return_inverse=inv, return_counts=cnt), x)
                check(lambda t: pyml.unique_consecutive(t, return_inverse=inv, return_counts=cnt), x)
    check(lambda t: pyml.unique(t, return_inverse=True), relayout(ties(rng, (6, 8), dt), "transposed"))


@pytest.mark.parametrize("dt", ("float32", "float16", "int64", "bool", "uint8"))
def test_unique_dim(rng, dt):
    for shape in ((12, 3), (5, 4, 2), (2, 3000), (6, 0)):
        x = ties(rng, shape, dt, nvals=2, nan=True)
        for d in range(len(shape)):
            if shape[d] == 0:
                continue
            check(lambda t: pyml.unique(t, dim=d, return_inverse=True, return_counts=True), x)
            check(lambda t: pyml.unique(t, dim=d), x)
            check(lambda t: pyml.unique_consecutive(t, dim=d, return_inverse=True, return_counts=True), x)
    rows = pyml.tensor(np.repeat(rng.integers(0, 3, size=(4, 2)), 3, axis=0).astype(np.float32))
    check(lambda t: pyml.unique(t, dim=0, return_inverse=True, return_counts=True), rows)
    check(lambda t: pyml.unique_consecutive(t, dim=0, return_counts=True), rows)


def test_sort_many_dims(rng):
    """10 dims: more than the CUDA kernels take; the host copies first."""
    x = make(rng, (2, 3, 2, 1, 2, 3, 2, 2, 1, 3), "float32", "transposed")
    for d in (0, 5, 9):
        check(lambda t: tuple(pyml.sort(t, d)), x)
        check(lambda t: tuple(pyml.topk(t, 1, d)), x)
        check(lambda t: tuple(pyml.median(t, d)), x)
