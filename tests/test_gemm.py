"""The GEMM kernels (csrc/cpu/isa/gemm.cpp, csrc/cpu/matmul_int.cpp) through the raw entry
_C.gemm_(c, a, b, alpha, beta): c = alpha * a @ b + beta * c in place, any strides. Reference:
NumPy in float64. Sizes cross every tile (MR, NR, MC, KC, NC) with tails: 1, 7, 97, 1023, 1025."""
import itertools

import numpy as np
import pytest

import pyml
from pyml import _C

# read-only NumPy views (broadcast_to) are shared on purpose to test stride-0 operands
pytestmark = pytest.mark.filterwarnings("ignore:from_numpy. the given NumPy array is not writable")

SIZES = (1, 7, 97, 1023, 1025)
# every (M, N, K) over SIZES that stays cheap (at most ~15 MFLOP), plus one large square-ish case
COMBOS = [c for c in itertools.product(SIZES, repeat=3) if c[0] * c[1] * c[2] <= 1025 * 1025 * 7] + [(1025, 1023, 97)]


def P(a):
    return pyml.from_numpy(a)


def gemm(c, a, b, alpha=1.0, beta=0.0):
    _C.gemm_(P(c)._impl, P(a)._impl, P(b)._impl, alpha, beta)
    return c


def atol(dtype, k):
    return (1e-6 if dtype == np.float32 else 1e-13) * (k + 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_odd_sizes_overwrite_nan_output(rng, dtype):
    # beta = 0 must ignore C (NaN included) and write every element. All pyml products run before
    # the NumPy references: OpenBLAS threads spin after each call and would stall pyml's threads.
    runs = []
    for m, n, k in COMBOS:
        a, b = rng.uniform(-1, 1, (m, k)).astype(dtype), rng.uniform(-1, 1, (k, n)).astype(dtype)
        runs.append((a, b, gemm(np.full((m, n), np.nan, dtype), a, b)))
    for a, b, c in runs:
        np.testing.assert_allclose(c, a.astype(np.float64) @ b, rtol=0, atol=atol(dtype, a.shape[1]),
                                   err_msg=f"{c.shape} K={a.shape[1]}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,n,k", [(7, 3100, 5), (130, 33, 600), (250, 70, 257), (13, 17, 19), (2, 3, 4),
                                   (33, 70, 532), (20, 40, 288), (20, 40, 289)])  # K tails joining a slice
@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (-1.5, 0.25), (0.0, 2.0), (2.0, 0.0)])
def test_alpha_beta_across_k_blocks(rng, dtype, m, n, k, alpha, beta):
    # K > KC: beta applies once, later K blocks accumulate; N > NC: several column panels
    a, b = rng.uniform(-1, 1, (m, k)).astype(dtype), rng.uniform(-1, 1, (k, n)).astype(dtype)
    c0 = rng.uniform(-1, 1, (m, n)).astype(dtype)
    c = gemm(c0.copy(), a, b, alpha, beta)
    np.testing.assert_allclose(c, alpha * (a.astype(np.float64) @ b) + beta * c0, rtol=0, atol=4 * atol(dtype, k))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_k_zero(rng, dtype):
    c0 = rng.uniform(-1, 1, (9, 70)).astype(dtype)
    a, b = np.zeros((9, 0), dtype), np.zeros((0, 70), dtype)
    np.testing.assert_array_equal(gemm(c0.copy(), a, b, 1.0, 0.5), c0 * dtype(0.5))
    np.testing.assert_array_equal(gemm(np.full((9, 70), np.nan, dtype), a, b), np.zeros((9, 70), dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,n,k", [(97, 65, 130), (5, 7, 3), (1, 300, 64), (300, 1, 64), (33, 1025, 1),
                                   (4100, 1, 3), (1, 4100, 3)])
def test_any_strides(rng, dtype, m, n, k):
    base = rng.uniform(-1, 1, (3 * m + 3, 3 * k + 3)).astype(dtype)
    a_views = [rng.uniform(-1, 1, (k, m)).astype(dtype).T, base[1::3, 2::3][:m, :k],
               np.broadcast_to(rng.uniform(-1, 1, (1, k)).astype(dtype), (m, k))]
    b_views = [rng.uniform(-1, 1, (n, k)).astype(dtype).T, rng.uniform(-1, 1, (2 * k, 2 * n)).astype(dtype)[::2, ::2]]
    for a, b in itertools.product(a_views, b_views):
        for layout in ("T", "step"):
            c0 = rng.uniform(-1, 1, (m, n)).astype(dtype)
            store = c0.T.copy().T if layout == "T" else np.zeros((m, 2 * n), dtype)[:, ::2]
            store[...] = c0
            gemm(store, a, b, 0.5, -1.0)
            np.testing.assert_allclose(store, 0.5 * (a.astype(np.float64) @ b) - c0, rtol=0, atol=atol(dtype, k))


def test_threads_do_not_change_results(rng):
    # each C element is summed in the same k order by one thread, whatever the split
    a, b = rng.standard_normal((300, 517)).astype(np.float32), rng.standard_normal((517, 450)).astype(np.float32)
    n0 = pyml.get_num_threads()
    try:
        pyml.set_num_threads(1)
        one = gemm(np.empty((300, 450), np.float32), a, b)
        pyml.set_num_threads(2)
        two = gemm(np.empty((300, 450), np.float32), a, b)
    finally:
        pyml.set_num_threads(n0)
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32", "int64"])
def test_int_kernel_odd_sizes_and_strides(rng, dtype):
    for m, n, k in [(1, 1, 1), (7, 97, 33), (97, 7, 1), (3, 5, 0)]:
        a = rng.integers(0, 6, (k, m)).astype(dtype).T  # transposed
        b = rng.integers(0, 6, (k, 2 * n)).astype(dtype)[:, ::2]  # step-sliced
        r = pyml.matmul(P(a), P(b))
        expect = (a.astype(np.int64) @ b.astype(np.int64)).astype(dtype)
        np.testing.assert_array_equal(r.numpy(), expect)
    c0 = rng.integers(0, 6, (4, 3)).astype(dtype)
    a, b = rng.integers(0, 6, (4, 5)).astype(dtype), rng.integers(0, 6, (5, 3)).astype(dtype)
    r = pyml.addmm(P(c0), P(a), P(b), beta=2, alpha=3)
    np.testing.assert_array_equal(r.numpy(), (2 * c0.astype(np.int64) + 3 * (a.astype(np.int64) @ b)).astype(dtype))


@pytest.mark.parametrize("fn,exc,match", [
    (lambda: gemm(np.zeros((2, 3), np.float32), np.zeros((2, 4), np.float32), np.zeros((4, 4), np.float32)),
     ValueError, r"gemm_: shapes must be"),
    (lambda: gemm(np.zeros((2, 2), np.float32), np.zeros((2, 2), np.float64), np.zeros((2, 2), np.float32)),
     TypeError, r"gemm_: expected float32 or float64"),
    (lambda: gemm(np.zeros((2, 2), np.int32), np.zeros((2, 2), np.int32), np.zeros((2, 2), np.int32)),
     TypeError, r"gemm_: expected float32 or float64"),
    (lambda: gemm(np.zeros(2, np.float32), np.zeros((2, 2), np.float32), np.zeros((2, 2), np.float32)),
     ValueError, r"gemm_: expected 2-D"),
    (lambda: gemm(np.broadcast_to(np.zeros((1, 2), np.float32), (2, 2)), np.zeros((2, 2), np.float32),
                  np.zeros((2, 2), np.float32)), RuntimeError, r"gemm_: unsupported operation"),
])
def test_gemm_bad_inputs(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


def test_gemm_rejects_overlap():
    x = pyml.zeros(4, 4)
    with pytest.raises(ValueError, match=r"gemm_: c must not overlap"):
        _C.gemm_(x._impl, x._impl, x._impl, 1.0, 0.0)
