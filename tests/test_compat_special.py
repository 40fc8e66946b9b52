"""Special functions of pyml/_ops/compat_special.py (erfinv, lgamma, digamma, polygamma) against torch and
SciPy in float64 (~1e-12 and better), other dtypes, edge values, gradients and second derivatives."""
import numpy as np
import pytest
import scipy.special as sp
import torch

import pyml
from compat_helpers import pair, check, check_grads, backward_both, tol, SIZES

GAMMA_EDGE = [0.0, -0.0, -1.0, -2.0, -2.5, -1e-300, 1e-300, 5e-324, float("inf"), float("-inf"), float("nan"),
              1e308, 1.0, 2.0, 0.5, -0.5, 1.4616321449683622, 1 + 1e-8, 3e-5, 171.5, -170.5, 1e15]


def _grid(n, lo, hi, seed):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.uniform(lo, hi, n), np.exp(rng.uniform(-30, 30, n))])


def _close(a, b, rtol, atol):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


# ---------------------------------------------------------------------------- float64 accuracy
@pytest.mark.parametrize("n", SIZES)
def test_erfinv_float64_accuracy(n):
    rng = np.random.default_rng(n)
    u = np.concatenate([rng.uniform(-1, 1, n), 1 - np.logspace(-16, -1, n), -1 + np.logspace(-16, -1, n),
                        np.logspace(-300, -1, n)])
    _close(pyml.erfinv(pyml.tensor(u)).numpy(), sp.erfinv(u), 2e-15, 0)
    _close(pyml.erfinv(pyml.tensor(u)).numpy(), torch.erfinv(torch.from_numpy(u)).numpy(), 2e-15, 0)


def test_erfinv_edges():
    p, t = pair(np.array([1.0, -1.0, 1.5, -1.5, 0.0, -0.0, float("nan"), float("inf"), 1 - 2 ** -53]))
    check(pyml.erfinv(p), torch.erfinv(t), 1e-15, 0)
    got, want = pyml.erfinv(p).numpy(), torch.erfinv(t).numpy()
    assert np.array_equal(np.signbit(got[~np.isnan(want)]), np.signbit(want[~np.isnan(want)]))  # -0.0 stays


@pytest.mark.parametrize("name", ["lgamma", "digamma"])
@pytest.mark.parametrize("n", SIZES)
def test_gamma_family_float64_accuracy(name, n):
    x = np.concatenate([_grid(n, -30, 30, n), GAMMA_EDGE])
    want = torch.from_numpy(x)
    got = getattr(pyml, name)(pyml.tensor(x)).numpy()
    ref = getattr(torch, name)(want).numpy()
    # absolute 1e-12 near the roots (lgamma(1) = lgamma(2) = 0, digamma(1.4616...) = 0), relative elsewhere
    _close(got, ref, 1e-12, 1e-12)
    assert np.array_equal(np.isinf(got), np.isinf(ref)) and np.array_equal(np.isnan(got), np.isnan(ref))


@pytest.mark.parametrize("k", [0, 1, 2, 3, 4, 6])
def test_polygamma_float64_accuracy(k):
    x = np.concatenate([_grid(300, -30, 30, k), [0.5, 1.0, 2.0, 1e-3, 1e-8, 50.5, 1e6, -0.5, -1.5, -10.25]])
    x = x[np.abs(x - np.round(x)) > 1e-6]  # off the poles, where torch's values are meaningful
    got = pyml.polygamma(k, pyml.tensor(x)).numpy()
    _close(got, sp.polygamma(k, x), 1e-11 if k < 4 else 1e-10, 1e-12)  # reflection cancels digits as k grows
    pos = x > 0  # torch's polygamma is good to ~1e-9 only (x < 0: worse); SciPy's agrees with mpmath
    _close(got[pos], torch.polygamma(k, torch.from_numpy(x[pos])).numpy(), 1e-8, 1e-12)


@pytest.mark.parametrize("k", [20, 100, 170])
def test_polygamma_high_order(k):
    # the factorials are carried as (s/z)^p, so large n is fine wherever the result is representable
    x = np.array([0.5, 2.0, 37.7, 300.0, 1e4])
    got = pyml.polygamma(k, pyml.tensor(x)).numpy()
    want = sp.polygamma(k, x)
    ok = np.isfinite(want) & (want != 0)
    _close(got[ok], want[ok], 1e-15 * k * 4, 0)
    assert np.array_equal(np.isinf(got), np.isinf(want))


def test_polygamma_poles_and_errors():
    x = pyml.tensor([0.0, -1.0, -3.0], dtype=pyml.float64)
    assert pyml.polygamma(1, x).tolist() == [float("inf")] * 3
    assert pyml.polygamma(2, x).tolist() == [float("-inf")] * 3
    check(pyml.polygamma(0, x), torch.polygamma(0, torch.tensor([0.0, -1.0, -3.0], dtype=torch.float64)))
    with pytest.raises(ValueError):
        pyml.polygamma(-1, x)
    with pytest.raises(ValueError):
        pyml.polygamma(1 << 40, x)
    with pytest.raises(TypeError):
        pyml.polygamma(1.5, x)
    with pytest.raises(TypeError):
        pyml.polygamma(1, [1.0])


# ---------------------------------------------------------------------------- dtypes, layouts, methods
@pytest.mark.parametrize("name", ["erfinv", "lgamma", "digamma"])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_low_precision_dtypes(name, dtype):
    data = np.random.default_rng(3).uniform(-0.99, 0.99, 97) if name == "erfinv" else _grid(48, -8, 8, 3)[:97]
    p, t = pair(data, dtype, layout="strided")
    r, a = tol(dtype)
    got, want = getattr(pyml, name)(p), getattr(torch, name)(t)
    assert got.dtype is p.dtype
    # pyml rounds the float64 result once; torch may be a few ulps off in these dtypes
    check(got, want, r * 8, a * 8)


@pytest.mark.parametrize("name", ["erfinv", "lgamma", "digamma"])
def test_int_inputs_methods_inplace_out(name):
    pi, ti = pair(np.array([0, 1, 3]) if name != "erfinv" else np.array([0, 1, -1]), "int64")
    check(getattr(pyml, name)(pi), getattr(torch, name)(ti), 1e-6, 1e-6)
    p, t = pair(np.array([[0.1, 0.7], [0.3, 0.9]]), layout="transposed")
    check(getattr(p, name)(), getattr(t, name)())
    assert getattr(p, name + "_")() is p
    getattr(t, name + "_")()
    check(p, t)
    out = pyml.empty(0, dtype=pyml.float64)
    assert getattr(pyml, name)(pyml.tensor([0.25], dtype=pyml.float64), out=out) is out
    with pytest.raises(TypeError):
        getattr(pyml.ones(2, dtype=pyml.int64), name + "_")()


def test_polygamma_method_and_inplace():
    p, t = pair(np.array([0.3, 2.5, 7.0]))
    check(p.polygamma(2), t.polygamma(2), 1e-8)  # torch's polygamma: ~1e-9 relative
    p.polygamma_(1)
    t.polygamma_(1)
    check(p, t, 1e-8)
    check(pyml.polygamma(1, pyml.tensor([1, 2])), torch.polygamma(1, torch.tensor([1, 2])), 1e-6, 1e-6)


# ---------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("name", ["erfinv", "lgamma", "digamma"])
def test_grads_match_torch(name):
    data = (np.array([-0.999, -0.5, -0.0, 0.0, 0.1, 0.9, 0.9999999, 1.0, 1.5])
            if name == "erfinv" else np.array([0.3, 1.0, 2.5, 13.7, -0.5, -2.5, 1e-5, -3.7, 0.0]))
    p, t = pair(data, requires_grad=True)
    po, to = getattr(pyml, name)(p), getattr(torch, name)(t)
    backward_both(po, to)
    check_grads([p], [t], rtol=1e-8, atol=1e-9)  # digamma' and beyond: torch's polygamma (~1e-9)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_polygamma_grad_matches_torch(k):
    p, t = pair(np.array([0.3, 1.0, 2.5, 13.7, -0.5, -2.5]), requires_grad=True)
    backward_both(pyml.polygamma(k, p), torch.polygamma(k, t))
    check_grads([p], [t], rtol=1e-8, atol=1e-9)  # digamma' and beyond: torch's polygamma (~1e-9)


@pytest.mark.parametrize("name", ["erfinv", "lgamma", "digamma"])
def test_gradcheck_and_second_derivative(name):
    data = np.array([-0.7, 0.2, 0.55]) if name == "erfinv" else np.array([0.7, 2.2, -1.4])
    x = pyml.tensor(data, dtype=pyml.float64, requires_grad=True)
    assert pyml.autograd.gradcheck(getattr(pyml, name), (x,))
    p, t = pair(data, requires_grad=True)
    (gp,) = pyml.autograd.grad(getattr(pyml, name)(p).sum(), (p,), create_graph=True)
    (gt,) = torch.autograd.grad(getattr(torch, name)(t).sum(), (t,), create_graph=True)
    backward_both(gp, gt)
    check_grads([p], [t], rtol=1e-8, atol=1e-9)  # digamma' and beyond: torch's polygamma (~1e-9)


def test_float32_grad_dtype():
    x = pyml.tensor([0.5, 2.0], requires_grad=True)
    pyml.lgamma(x).sum().backward()
    assert x.grad.dtype is pyml.float32
    want = torch.digamma(torch.tensor([0.5, 2.0])).numpy()
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-6)


@pytest.mark.parametrize("name", ["erfinv", "lgamma", "digamma"])
def test_inplace_autograd_on_non_leaf(name):
    p, t = pair(np.array([0.2, 0.5, 0.9]), requires_grad=True)
    py, ty = p * 1, t * 1
    getattr(py, name + "_")()
    getattr(ty, name + "_")()
    check(py, ty)
    backward_both(py * py, ty * ty)
    check_grads([p], [t], rtol=1e-8, atol=1e-9)
