"""pyml/_ops/compat_sampling.py: poisson, binomial, cauchy_, log_normal_, geometric_. The numbers differ from
torch's (other generators), so the tests compare distributions: empirical probabilities against the exact
pmf/cdf within 5 standard errors, on 100k samples, plus reproducibility under manual_seed/Generator,
dtypes, shapes and the errors torch raises."""
import math

import numpy as np
import pytest
import torch

import pyml

N = 100_000


def _pmf_close(samples, pmf, support):
    """Empirical frequencies of each k in support match pmf(k) within 5 standard errors (+ a tiny slack)."""
    s = np.asarray(samples)
    for k in support:
        p = pmf(k)
        freq = np.mean(s == k)
        assert abs(freq - p) <= 5 * math.sqrt(p * (1 - p) / len(s)) + 1e-4, (k, freq, p)


def _poisson_pmf(lam):
    return lambda k: math.exp(k * math.log(lam) - lam - math.lgamma(k + 1)) if lam > 0 else float(k == 0)


def _binomial_pmf(n, p):
    return lambda k: math.comb(n, k) * p ** k * (1 - p) ** (n - k)


@pytest.mark.parametrize("lam", [0.0, 0.3, 3.0, 9.99, 10.0, 37.5, 1000.0])
def test_poisson_distribution(lam):
    pyml.manual_seed(1)
    s = pyml.poisson(pyml.full((N,), lam, dtype=pyml.float64)).numpy()
    assert s.dtype == np.float64 and np.all(s == np.floor(s)) and s.min() >= 0
    lo, hi = max(0, int(lam - 3 * math.sqrt(lam + 1))), int(lam + 3 * math.sqrt(lam + 1)) + 1
    _pmf_close(s, _poisson_pmf(lam), range(lo, hi, max(1, (hi - lo) // 12)))
    assert abs(s.mean() - lam) <= 5 * math.sqrt(lam / N) + 1e-9
    assert abs(s.var() - lam) <= 0.05 * lam + 1e-9


def test_poisson_huge_rate_mixed_shapes_and_dtypes():
    pyml.manual_seed(2)
    rates = pyml.tensor([0.0, 0.5, 40.0, 1e6], dtype=pyml.float32).repeat(1000).reshape(1000, 4).mT  # (4, 1000)
    s = pyml.poisson(rates)
    assert s.shape == rates.shape and s.dtype is pyml.float32
    np.testing.assert_allclose(s.double().mean(-1).numpy(), [0.0, 0.5, 40.0, 1e6], rtol=0.02, atol=0.1)
    assert pyml.poisson(pyml.tensor([float("inf")])).tolist() == [float("inf")]
    t = torch.poisson(torch.full((N,), 4.0))  # same moments as torch's sampler
    p = pyml.poisson(pyml.full((N,), 4.0))
    assert abs(float(p.mean()) - float(t.mean())) < 0.05 and abs(float(p.var()) - float(t.var())) < 0.1


@pytest.mark.parametrize("n,p", [(10, 0.5), (5, 0.2), (100, 0.3), (1000, 0.9), (40, 0.999), (3, 0.0), (7, 1.0)])
def test_binomial_distribution(n, p):
    pyml.manual_seed(3)
    s = pyml.binomial(pyml.full((N,), float(n), dtype=pyml.float64), pyml.full((N,), p, dtype=pyml.float64)).numpy()
    assert s.min() >= 0 and s.max() <= n and np.all(s == np.floor(s))
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    lo, hi = max(0, int(mean - 3 * sd)), min(n, int(mean + 3 * sd) + 1)
    _pmf_close(s, _binomial_pmf(n, p), range(lo, hi + 1, max(1, (hi - lo) // 12)))


def test_binomial_broadcast_and_torch_conventions():
    pyml.manual_seed(4)
    count = pyml.tensor([10.0, 5.0, -3.0, 10.7])
    prob = pyml.tensor([0.5])
    s = pyml.binomial(count, prob)
    assert s.shape == (4,) and s[2].item() == 0 and s[3].item() <= 10  # negative counts: 0, fractions floored
    assert pyml.binomial(pyml.tensor([6.0]), pyml.tensor([1.5])).tolist() == [6.0]  # p clamped to 1, like torch
    assert pyml.binomial(pyml.tensor([6.0]), pyml.tensor([-0.5])).tolist() == [0.0]
    rows = pyml.binomial(pyml.full((20000, 3), 50.0), pyml.tensor([0.1, 0.5, 0.95])).mean(0).numpy()
    np.testing.assert_allclose(rows, [5.0, 25.0, 47.5], rtol=0.02)
    with pytest.raises(TypeError, match="floating"):
        pyml.binomial(pyml.tensor([10, 5]), pyml.tensor([0.5, 0.5]))
    with pytest.raises(TypeError, match="same dtype"):
        pyml.binomial(pyml.tensor([10.0], dtype=pyml.float64), pyml.tensor([0.5]))


def test_poisson_errors():
    with pytest.raises(TypeError, match="floating"):
        pyml.poisson(pyml.tensor([1, 2]))
    with pytest.raises(ValueError, match="non-negative"):
        pyml.poisson(pyml.tensor([-1.0, 2.0]))
    with pytest.raises(ValueError, match="non-negative"):
        pyml.poisson(pyml.tensor([float("nan")]))


def test_reproducible_with_manual_seed_and_generator():
    rates = pyml.tensor([0.5, 3.0, 50.0, 500.0]).repeat(50)
    for fn in (lambda g: pyml.poisson(rates, g), lambda g: pyml.binomial(rates.floor(), rates * 0 + 0.3, g),
               lambda g: pyml.zeros(200).cauchy_(generator=g), lambda g: pyml.zeros(200).log_normal_(generator=g),
               lambda g: pyml.zeros(200, dtype=pyml.int64).geometric_(0.3, generator=g)):
        pyml.manual_seed(11)
        a = fn(None)
        pyml.manual_seed(11)
        b = fn(None)
        assert a.tolist() == b.tolist()
        g1, g2 = pyml.Generator().manual_seed(5), pyml.Generator().manual_seed(5)
        assert fn(g1).tolist() == fn(g2).tolist()
        assert fn(g1).tolist() != fn(g2.manual_seed(6)).tolist()


def test_cauchy_():
    pyml.manual_seed(5)
    x = pyml.empty(N, dtype=pyml.float64)
    v = x._version
    assert x.cauchy_(1.0, 2.0) is x and x._version > v
    q = np.quantile(x.numpy(), [0.25, 0.5, 0.75])
    np.testing.assert_allclose(q, [1.0 - 2.0, 1.0, 1.0 + 2.0], atol=0.05)  # quartiles: median -+ sigma
    assert pyml.zeros(3, dtype=pyml.float16).cauchy_().dtype is pyml.float16
    with pytest.raises(TypeError, match="floating"):
        pyml.zeros(3, dtype=pyml.int64).cauchy_()
    with pytest.raises(ValueError, match="sigma"):
        pyml.zeros(3).cauchy_(0, -1)


def test_log_normal_():
    pyml.manual_seed(6)
    x = pyml.empty(N, dtype=pyml.float64).log_normal_(0.5, 0.25)
    logs = np.log(x.numpy())
    assert abs(logs.mean() - 0.5) < 0.005 and abs(logs.std() - 0.25) < 0.005
    y = pyml.zeros(2, 3).log_normal_()
    assert y.shape == (2, 3) and bool((y > 0).all())
    with pytest.raises(ValueError, match="std"):
        pyml.zeros(3).log_normal_(1, -1)
    with pytest.raises(TypeError, match="floating"):
        pyml.zeros(3, dtype=pyml.int32).log_normal_()


@pytest.mark.parametrize("dtype", ["int64", "int32", "float32", "float64"])
def test_geometric_(dtype):
    pyml.manual_seed(7)
    p = 0.25
    x = pyml.zeros(N, dtype=getattr(pyml, dtype)).geometric_(p)
    s = x.double().numpy()
    assert s.min() >= 1 and np.all(s == np.floor(s))
    _pmf_close(s, lambda k: (1 - p) ** (k - 1) * p, range(1, 12))
    t = torch.zeros(N).geometric_(p)  # torch's support and mean agree
    assert t.min().item() >= 1 and abs(t.mean().item() - s.mean()) < 0.05


def test_geometric_errors():
    for bad in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="p"):
            pyml.zeros(3).geometric_(bad)
    with pytest.raises(TypeError, match="bool"):
        pyml.zeros(3, dtype=pyml.bool).geometric_(0.5)
