"""pyml/_ops/compat_gamma.py: mvlgamma against torch; igamma/igammac against mpmath (50 digits) in the bulk, where
pyml is more accurate than torch's float64 kernel for large a, and against torch at the edges and in float32."""
import mpmath
import numpy as np
import pytest
import torch

import pyml
from pyml.autograd import gradcheck
from compat_helpers import pair, check, check_grads, backward_both


def _points(n, seed=0):
    rng = np.random.default_rng(seed)
    a = np.concatenate([rng.uniform(0, 5, n), rng.uniform(0, 100, n), np.exp(rng.uniform(-10, 10, n)),
                        np.exp(rng.uniform(-30, 1, n))])
    x = np.concatenate([rng.uniform(0, 5, n), rng.uniform(0, 120, n), np.exp(rng.uniform(-10, 10, n)),
                        np.exp(rng.uniform(-30, 0.1, n))])
    return a, x


def _reference(a, x, upper):
    mpmath.mp.dps = 50
    f = (lambda s, t: mpmath.gammainc(s, t, mpmath.inf, regularized=True)) if upper else (
        lambda s, t: mpmath.gammainc(s, 0, t, regularized=True))
    return np.array([float(f(mpmath.mpf(float(s)), mpmath.mpf(float(t)))) for s, t in zip(a, x)])


# ---------------------------------------------------------------------------- igamma / igammac
@pytest.mark.parametrize("name,upper", [("igamma", False), ("igammac", True)])
def test_incomplete_gamma_matches_mpmath(name, upper):
    a, x = _points(25)
    p = getattr(pyml, name)(pyml.tensor(a), pyml.tensor(x)).numpy()
    ref = _reference(a, x, upper)
    big = np.abs(ref) > 1e-280
    rel = np.abs(p - ref)[big] / np.abs(ref)[big]
    assert rel.max() < 1e-11, rel.max()
    assert np.all(np.abs(p - ref)[~big] < 1e-280)


@pytest.mark.parametrize("name", ["igamma", "igammac"])
@pytest.mark.parametrize("n", [1, 7, 97])
def test_incomplete_gamma_matches_torch_float32_broadcast(name, n):
    rng = np.random.default_rng(n)
    pa, ta = pair(rng.uniform(0.1, 20, (n, 1)), "float32", layout="strided")
    px, tx = pair(rng.uniform(0, 30, (1, 7)), "float32")
    check(getattr(pyml, name)(pa, px), getattr(torch, name)(ta, tx), 2e-5, 1e-6)
    check(getattr(pa, name)(px), getattr(ta, name)(tx), 2e-5, 1e-6)
    pi, ti = pair(rng.integers(0, 9, (1, 7)), "int64")
    check(getattr(pyml, name)(pa, pi), getattr(torch, name)(ta, ti), 2e-5, 1e-6)  # float with int promotes


@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_incomplete_gamma_edges(name):
    inf, nan = float("inf"), float("nan")
    a = np.array([0.0, 0, 1, 2, -1, 1, inf, 1, 0.5, inf, 1e-30, 3.0, nan])
    x = np.array([0.0, 1, 0, 3, 1, -1, 1, inf, nan, inf, 1e-30, 1e-300, 2.0])
    pa, ta = pair(a)
    px, tx = pair(x)
    r = getattr(pyml, name)(pa, px)
    t = getattr(torch, name)(ta, tx)
    check(r[:10], t[:10], 1e-12, 1e-300)
    ref = _reference(a[10:12], x[10:12], name == "igammac")
    np.testing.assert_allclose(r[10:12].numpy(), ref, rtol=1e-12)  # (torch loses the tiny Q at a = 1e-30)
    assert np.isnan(r[12].item())


def test_incomplete_gamma_grads_inplace_errors():
    pa, ta = pair(np.array([0.5, 1.5, 3.0, 20.0]))
    px, tx = pair(np.array([0.3, 2.0, 0.5, 25.0]), requires_grad=True)
    for name in ("igamma", "igammac"):
        px.grad, tx.grad = None, None
        backward_both(getattr(pyml, name)(pa, px), getattr(torch, name)(ta, tx))
        check_grads([px], [tx], 1e-10, 1e-14)
        assert gradcheck(lambda t: getattr(pyml, name)(pa, t), (px.detach().requires_grad_(),))
        with pytest.raises(NotImplementedError, match="input"):  # torch: no derivative with respect to a
            getattr(pyml, name)(pa.detach().requires_grad_(), px).sum().backward()
    y = pyml.tensor([1.0, 2.0], dtype=pyml.float64)
    v = y._version
    assert y.igamma_(pyml.tensor([1.0, 1.0], dtype=pyml.float64)) is y and y._version > v
    np.testing.assert_allclose(y.numpy(), torch.igamma(torch.tensor([1.0, 2.0]).double(), torch.ones(2).double()))
    z = pyml.tensor([1.0], dtype=pyml.float64).igammac_(pyml.tensor([1.0], dtype=pyml.float64))
    np.testing.assert_allclose(z.numpy(), [np.exp(-1.0)], rtol=1e-14)
    with pytest.raises(TypeError, match="floating"):
        pyml.igamma(pyml.tensor([1, 2]), pyml.tensor([1, 2]))
    with pytest.raises(TypeError):
        pyml.igamma(pyml.tensor([1.0]), 2.0)  # torch: other must be a Tensor
    with pytest.raises(ValueError):
        pyml.igamma(pyml.zeros(2), pyml.zeros(3))


# ---------------------------------------------------------------------------- mvlgamma
@pytest.mark.parametrize("p_dim", [1, 2, 5])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mvlgamma_matches_torch(p_dim, dtype):
    rng = np.random.default_rng(p_dim)
    p, t = pair((p_dim - 1) / 2 + 0.01 + rng.exponential(3, (7, 97)), dtype, layout="transposed")
    r = 1e-12 if dtype == "float64" else 1e-5
    check(pyml.mvlgamma(p, p_dim), torch.mvlgamma(t, p_dim), r, r)
    check(p.mvlgamma(p_dim), t.mvlgamma(p_dim), r, r)


def test_mvlgamma_ints_grad_inplace_errors():
    pi, ti = pair(np.array([2, 3]), "int64")
    check(pyml.mvlgamma(pi, 2), torch.mvlgamma(ti, 2), 1e-6, 1e-6)
    p, t = pair(np.array([2.5, 4.0, 10.0]), requires_grad=True)
    backward_both(pyml.mvlgamma(p, 3), torch.mvlgamma(t, 3))
    check_grads([p], [t], 1e-12, 1e-12)
    assert gradcheck(lambda v: pyml.mvlgamma(v, 2), (p.detach().requires_grad_(),))
    y = pyml.tensor([2.5, 3.0])
    assert y.mvlgamma_(2) is y
    np.testing.assert_allclose(y.numpy(), torch.mvlgamma(torch.tensor([2.5, 3.0]), 2).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="p"):
        pyml.mvlgamma(pyml.tensor([2.5]), 0)
    pb, tb = pair(np.array([0.4, -0.3, float("nan")]))  # below (p-1)/2: torch returns the formula's value
    check(pyml.mvlgamma(pb, 2), torch.mvlgamma(tb, 2), 1e-12, 1e-12)
