"""kl_divergence for the pairs kl_more.py registers, against torch.distributions.kl_divergence on random
parameters with broadcast batch shapes (values and gradients): Cauchy, ContinuousBernoulli (with probs in
the Taylor band), the low-rank / full Gaussians, Wishart through the ExponentialFamily Bregman form (against
the closed form where torch's sums over batch dims), the mixed ContinuousBernoulli pairs and the infinite
ones; KL(p, p) = 0; the Uniform boundary cases torch marks inf; and the errors."""
import functools
import math
import zlib

import numpy as np
import pytest
import scipy.special as sps
import torch

import pyml
import pyml.distributions as pd
import torch.distributions as td
from test_distributions import close, npy

P = functools.partial(pyml.tensor, dtype=pyml.float64)
PAIR_SHAPES = [((4,), (4,)), ((3, 1), (1, 5)), ((), (2, 3))]


def cb_params(rng, shape):
    probs = np.where(rng.uniform(size=shape) < 0.5, rng.uniform(0.01, 0.99, shape), rng.uniform(0.4985, 0.5015, shape))
    return {"probs": probs}


def spd(rng, batch, d):
    a = rng.normal(size=tuple(batch) + (d, d))
    return a @ np.swapaxes(a, -1, -2) + d * np.eye(d)


def lowrank(rng, batch, n=4, m=2):
    return {"loc": rng.normal(size=tuple(batch) + (n,)), "cov_factor": rng.normal(size=tuple(batch) + (n, m)),
            "cov_diag": rng.uniform(0.3, 2, tuple(batch) + (n,))}


def mvn(rng, batch, n=4):
    return {"loc": rng.normal(size=tuple(batch) + (n,)), "scale_tril": np.linalg.cholesky(spd(rng, batch, n))}


MAKERS = {"Cauchy": lambda rng, s: {"loc": rng.normal(0, 2, s), "scale": rng.uniform(0.2, 3, s)},
          "ContinuousBernoulli": cb_params, "LowRankMultivariateNormal": lowrank, "MultivariateNormal": mvn,
          "Beta": lambda rng, s: {"concentration1": rng.uniform(0.3, 4, s), "concentration0": rng.uniform(0.3, 4, s)},
          "Exponential": lambda rng, s: {"rate": rng.uniform(0.2, 3, s)},
          "Normal": lambda rng, s: {"loc": rng.normal(0, 2, s), "scale": rng.uniform(0.2, 3, s)},
          "Gamma": lambda rng, s: {"concentration": rng.uniform(0.3, 4, s), "rate": rng.uniform(0.2, 3, s)},
          "Laplace": lambda rng, s: {"loc": rng.normal(0, 2, s), "scale": rng.uniform(0.2, 3, s)},
          "Gumbel": lambda rng, s: {"loc": rng.normal(0, 2, s), "scale": rng.uniform(0.2, 3, s)},
          "Pareto": lambda rng, s: {"scale": rng.uniform(0.2, 3, s), "alpha": rng.uniform(0.5, 3, s)},
          "UniformOut": lambda rng, s: {"low": rng.uniform(-2, -0.01, s), "high": rng.uniform(1.01, 3, s)},
          "UniformIn": lambda rng, s: {"low": rng.uniform(0.01, 0.4, s), "high": rng.uniform(0.6, 0.99, s)}}
FINITE = [("Cauchy", "Cauchy"), ("ContinuousBernoulli", "ContinuousBernoulli"),
          ("LowRankMultivariateNormal", "LowRankMultivariateNormal"),
          ("MultivariateNormal", "LowRankMultivariateNormal"), ("LowRankMultivariateNormal", "MultivariateNormal"),
          ("Beta", "ContinuousBernoulli"), ("ContinuousBernoulli", "Exponential"),
          ("ContinuousBernoulli", "Normal"), ("ContinuousBernoulli", "UniformOut"),
          ("UniformIn", "ContinuousBernoulli")]
INFINITE = [("Exponential", "ContinuousBernoulli"), ("Gamma", "ContinuousBernoulli"),
            ("Laplace", "ContinuousBernoulli"), ("Normal", "ContinuousBernoulli"), ("Gumbel", "ContinuousBernoulli"),
            ("Pareto", "ContinuousBernoulli"), ("ContinuousBernoulli", "Pareto")]


def build(lib, name, params, rg=False):
    leaves = {k: lib.tensor(v, requires_grad=rg) for k, v in params.items()}
    cls = "Uniform" if name.startswith("Uniform") else name
    return getattr(lib.distributions, cls)(**leaves), leaves


@pytest.mark.parametrize("shapes", PAIR_SHAPES, ids=str)
@pytest.mark.parametrize("pname,qname", FINITE, ids=str)
def test_kl_matches_torch_values_and_gradients(pname, qname, shapes):
    rng = np.random.default_rng(zlib.crc32(repr((pname, qname, shapes)).encode()))  # (hash() varies per run)
    pp, qp = MAKERS[pname](rng, shapes[0]), MAKERS[qname](rng, shapes[1])
    got = {}
    for lib in (pyml, torch):
        (p, pl), (q, ql) = build(lib, pname, pp, rg=True), build(lib, qname, qp, rg=True)
        kl = lib.distributions.kl_divergence(p, q)
        w = lib.tensor(np.random.default_rng(0).normal(size=tuple(kl.shape)))
        leaves = list(pl.values()) + list(ql.values())
        got[lib] = (kl, lib.autograd.grad((kl * w).sum(), leaves, allow_unused=True))
    assert np.all(np.isfinite(npy(got[pyml][0])))
    # the ContinuousBernoulli closed forms cancel near probs 1/2: ~1e-10 relative in the value
    rtol = 1e-9 if "ContinuousBernoulli" in (pname, qname) else 1e-11
    np.testing.assert_allclose(npy(got[pyml][0]), npy(got[torch][0]), rtol=rtol, atol=1e-12, err_msg="kl")
    for gp, gt in zip(got[pyml][1], got[torch][1]):
        if gt is None:
            assert gp is None or not np.any(npy(gp))
        else:  # torch's trigamma (Beta's entropy) is good to ~5e-10, and the ContinuousBernoulli closed
            # forms cancel near probs 1/2 (~1e-8 in derivative, both libraries)
            np.testing.assert_allclose(npy(gp), npy(gt), rtol=1e-7, atol=1e-10, err_msg="d kl")


@pytest.mark.parametrize("pname,qname", INFINITE, ids=str)
def test_infinite_pairs_match_torch(pname, qname):
    rng = np.random.default_rng(3)
    pp, qp = MAKERS[pname](rng, (2, 3)), MAKERS[qname](rng, (2, 3))
    got = pd.kl_divergence(build(pyml, pname, pp)[0], build(pyml, qname, qp)[0])
    want = td.kl_divergence(build(torch, pname, pp)[0], build(torch, qname, qp)[0])
    close(got, want)
    assert np.all(np.isposinf(npy(got)))


@pytest.mark.parametrize("name", ["Cauchy", "ContinuousBernoulli", "LowRankMultivariateNormal"])
def test_kl_of_a_distribution_with_itself_is_zero(name):
    p, _ = build(pyml, name, MAKERS[name](np.random.default_rng(4), (5,)))
    np.testing.assert_allclose(npy(pd.kl_divergence(p, p)), 0, atol=1e-12)


def test_lowrank_and_full_gaussians_agree():
    """A LowRankMultivariateNormal and the MultivariateNormal with its covariance give the same divergences."""
    rng = np.random.default_rng(5)
    a, b = lowrank(rng, (3,)), lowrank(rng, (3,))
    la, lb = build(pyml, "LowRankMultivariateNormal", a)[0], build(pyml, "LowRankMultivariateNormal", b)[0]
    fa, fb = (pd.MultivariateNormal(d.loc, covariance_matrix=d.covariance_matrix) for d in (la, lb))
    want = pd.kl_divergence(fa, fb)
    for p, q in ((la, lb), (fa, lb), (la, fb)):
        np.testing.assert_allclose(npy(pd.kl_divergence(p, q)), npy(want), rtol=1e-10)


def wishart_kl_closed_form(df_p, s_p, df_q, s_q):
    """KL(W(df_p, S_p) || W(df_q, S_q)) in NumPy/SciPy."""
    p = s_p.shape[-1]
    logdet_p, logdet_q = np.linalg.slogdet(s_p)[1], np.linalg.slogdet(s_q)[1]
    trace = np.trace(np.linalg.solve(s_q, s_p), axis1=-2, axis2=-1)
    mvdigamma = sum(sps.digamma(df_p / 2 - i / 2) for i in range(p))
    return (df_q / 2 * (logdet_q - logdet_p) + df_p / 2 * (trace - p) + sps.multigammaln(df_q / 2, p)
            - sps.multigammaln(df_p / 2, p) + (df_p - df_q) / 2 * mvdigamma)


def test_wishart_kl_is_the_bregman_divergence():
    rng = np.random.default_rng(6)
    df_p, df_q = rng.uniform(3, 8, (4,)), rng.uniform(3, 8, (4,))
    s_p, s_q = spd(rng, (4,), 3), spd(rng, (4,), 3)
    dfp = P(df_p, requires_grad=True)
    p = pd.Wishart(dfp, covariance_matrix=P(s_p))
    q = pd.Wishart(P(df_q), precision_matrix=P(np.linalg.inv(s_q)))
    kl = pd.kl_divergence(p, q)
    want = np.array([float(wishart_kl_closed_form(df_p[i], s_p[i], df_q[i], s_q[i])) for i in range(4)])
    np.testing.assert_allclose(npy(kl), want, rtol=1e-9)
    (g,) = pyml.autograd.grad(kl.sum(), dfp)  # the Bregman form stays differentiable in p's parameters
    h = 1e-6
    fd = (np.array([wishart_kl_closed_form(df_p[i] + h, s_p[i], df_q[i], s_q[i]) for i in range(4)])
          - np.array([wishart_kl_closed_form(df_p[i] - h, s_p[i], df_q[i], s_q[i]) for i in range(4)])) / (2 * h)
    np.testing.assert_allclose(npy(g), fd, rtol=1e-6)
    one = td.kl_divergence(td.Wishart(torch.tensor(df_p[0]), torch.tensor(s_p[0])),
                           td.Wishart(torch.tensor(df_q[0]), torch.tensor(s_q[0])))  # unbatched: torch agrees
    np.testing.assert_allclose(one.item(), want[0], rtol=1e-9)


def test_continuous_bernoulli_uniform_boundaries_are_finite():
    """Uniform(0, 1) covers the ContinuousBernoulli's [0, 1] and Uniform(0.2, 1) lies inside it: both KLs are
    finite (torch's >= / <= tests make them inf); a support poking out either way is inf."""
    cb = pd.ContinuousBernoulli(P([0.3, 0.8]))
    u01 = pd.Uniform(P([0.0, 0.0]), P([1.0, 1.0]))
    close(pd.kl_divergence(cb, u01), -cb.entropy())
    inner = pd.Uniform(P([0.2, 0.0]), P([1.0, 0.7]))
    for j, (lo, hi) in enumerate([(0.2, 1.0), (0.0, 0.7)]):
        x = np.linspace(lo, hi, 200_001)
        lq = npy(cb.log_prob(P(x[:, None]).expand(-1, 2)))[:, j]
        want = -math.log(hi - lo) - np.trapezoid(lq, x) / (hi - lo)  # -H(U) - E_U[log q]
        np.testing.assert_allclose(npy(pd.kl_divergence(inner, cb))[j], want, rtol=1e-8)
    out = pd.Uniform(P([-0.1, 0.5]), P([1.0, 1.2]))
    assert np.all(np.isposinf(npy(pd.kl_divergence(out, cb))))
    assert np.all(np.isposinf(npy(pd.kl_divergence(cb, pd.Uniform(P([0.05, 0.0]), P([1.0, 0.9]))))))


def test_kl_errors():
    rng = np.random.default_rng(7)
    a, b = lowrank(rng, (), n=4), lowrank(rng, (), n=3)
    la, lb = build(pyml, "LowRankMultivariateNormal", a)[0], build(pyml, "LowRankMultivariateNormal", b)[0]
    fb = build(pyml, "MultivariateNormal", mvn(rng, (), 3))[0]
    for p, q in ((la, lb), (la, fb), (fb, la)):
        with pytest.raises(ValueError):
            pd.kl_divergence(p, q)
    w = pd.Wishart(P(4.0), P(np.eye(2)))
    with pytest.raises(NotImplementedError):
        pd.kl_divergence(w, pd.ContinuousBernoulli(P(0.3)))
    with pytest.raises(NotImplementedError):
        pd.kl_divergence(pd.Cauchy(0.0, 1.0), pd.Normal(0.0, 1.0))
