"""pyml.distributions Gamma, Chi2, Beta and Dirichlet against torch.distributions in float64 on random parameters
with odd batch shapes and broadcasting: log_prob, cdf, entropy, mean, variance, mode, expand and their gradients;
sampling checked statistically (moments within a few standard errors of 200k seeded draws, a KS bound for Gamma);
rsample gradients: the implicit-reparameterisation derivative at fixed samples against torch's
_standard_gamma_grad and mpmath, and Monte-Carlo expected gradients against closed forms; ValueErrors like torch."""
import math

import mpmath
import numpy as np
import pytest
import torch

import pyml
import pyml.distributions as pd
import torch.distributions as td
from pyml.distributions.gamma_family import standard_gamma_grad
from test_distributions import close, npy, to_lib, ks_distance


def gamma_params(rng, s1, s2):
    return {"concentration": rng.uniform(0.1, 6, s1), "rate": rng.uniform(0.2, 3, s2)}


def chi2_params(rng, s1, s2):
    return {"df": rng.uniform(0.3, 9, np.broadcast_shapes(s1, s2))}


def beta_params(rng, s1, s2):
    return {"concentration1": rng.uniform(0.1, 5, s1), "concentration0": rng.uniform(0.1, 5, s2)}


def dirichlet_params(rng, s1, s2):
    return {"concentration": rng.uniform(0.1, 5, np.broadcast_shapes(s1, s2) + (4,))}


PARAMS = {"Gamma": gamma_params, "Chi2": chi2_params, "Beta": beta_params, "Dirichlet": dirichlet_params}
SHAPES = [((), ()), ((7,), (7,)), ((3, 1), (5,)), ((2, 1, 4), (1, 3, 1))]


def build(lib, name, params, rg=False):
    leaves = {k: to_lib(lib, v, rg=rg) for k, v in params.items()}
    return getattr(pd if lib is pyml else td, name)(**leaves), leaves


def values(name, rng, shape):
    if name == "Dirichlet":
        return rng.dirichlet(np.ones(4), shape)
    if name == "Beta":
        return rng.uniform(0.01, 0.99, shape)
    return rng.gamma(2.0, 1.5, shape)


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("name", list(PARAMS))
def test_values_match_torch(name, shapes):
    rng = np.random.default_rng(len(name) * 100 + len(str(shapes)))
    params = PARAMS[name](rng, *shapes)
    (p, _), (t, _) = build(pyml, name, params), build(torch, name, params)
    assert tuple(p.batch_shape) == tuple(t.batch_shape) and tuple(p.event_shape) == tuple(t.event_shape)
    for attr in ("mean", "variance", "stddev", "mode"):
        close(getattr(p, attr), getattr(t, attr), msg=attr)
    close(p.entropy(), t.entropy(), msg="entropy")
    batch = tuple(t.batch_shape)
    for vshape in [(2,) + batch, batch[-1:], (3, 1) + batch]:
        v = values(name, rng, vshape)
        close(p.log_prob(pyml.tensor(v)), t.log_prob(torch.tensor(v)), msg=f"log_prob {vshape}")
        if name in ("Gamma", "Chi2"):
            close(p.cdf(pyml.tensor(v)), t.cdf(torch.tensor(v)), msg=f"cdf {vshape}")


def test_boundary_values_and_modes_match_torch():
    c = np.array([0.5, 1.0, 3.0])
    p, t = pd.Gamma(pyml.tensor(c), 2.0), td.Gamma(torch.tensor(c), 2.0)
    close(p.log_prob(pyml.zeros(3, dtype=pyml.float64)), t.log_prob(torch.zeros(3, dtype=torch.float64)))
    c1, c0 = np.array([0.5, 0.3, 1.0, 0.5, 2.0, 1.0]), np.array([0.3, 0.5, 1.0, 1.0, 0.5, 3.0])
    p, t = pd.Beta(pyml.tensor(c1), pyml.tensor(c0)), td.Beta(torch.tensor(c1), torch.tensor(c0))
    close(p.mode, t.mode)  # both below 1: torch's first vertex; both 1: NaN
    edge = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    close(p.log_prob(pyml.tensor(edge)), t.log_prob(torch.tensor(edge)))
    conc = np.array([[0.5, 0.7, 0.2], [2.0, 0.5, 0.5], [1.5, 2.5, 3.0]])
    close(pd.Dirichlet(pyml.tensor(conc)).mode, td.Dirichlet(torch.tensor(conc)).mode)


def test_scalar_parameters_and_float32():
    for name, args in (("Gamma", (2.0, 3.0)), ("Chi2", (3.0,)), ("Beta", (0.5, 2.0))):
        p, t = getattr(pd, name)(*args), getattr(td, name)(*args)
        assert tuple(p.batch_shape) == () == tuple(t.batch_shape)
        assert p.mean.dtype == pyml.float32
        v = np.array([0.25, 0.5, 0.75])
        close(p.log_prob(pyml.tensor(v, dtype=pyml.float32)), t.log_prob(torch.tensor(v, dtype=torch.float32)),
              "float32")
        s = p.rsample((4,))
        assert s.dtype == pyml.float32 and tuple(s.shape) == (4,)
    assert pd.Chi2(pyml.tensor([1.0, 4.0])).df.tolist() == [1.0, 4.0]


@pytest.mark.parametrize("name", list(PARAMS))
def test_gradients_match_torch(name):
    """d/d(parameters) of log_prob, cdf (where torch has it: only w.r.t. rate) and entropy."""
    rng = np.random.default_rng(3)
    params = PARAMS[name](rng, (3, 1), (4,))
    v = values(name, rng, (2, 3, 4))
    w = rng.normal(size=(2, 3, 4))
    got = {}
    for lib in (pyml, torch):
        d, leaves = build(lib, name, params, rg=True)
        out = (d.log_prob(lib.tensor(v)) * lib.tensor(w)).sum() + (d.entropy() ** 2).sum()
        got[lib] = lib.autograd.grad(out, list(leaves.values()))
    for gp, gt in zip(got[pyml], got[torch]):  # trigamma (pyml's polygamma vs torch's) agrees to ~1e-9
        np.testing.assert_allclose(npy(gp), npy(gt), rtol=1e-8, atol=1e-8, err_msg=f"d {name}")
    rate = {lib: lib.tensor([0.5, 2.0], dtype=lib.float64, requires_grad=True) for lib in (pyml, torch)}
    g = [lib.autograd.grad(getattr(dist, "Gamma")(lib.tensor([1.5, 4.0], dtype=lib.float64), rate[lib])
                           .cdf(lib.tensor([1.0, 3.0], dtype=lib.float64)).sum(), rate[lib])[0]
         for lib, dist in ((pyml, pd), (torch, td))]
    close(g[0], g[1])


@pytest.mark.parametrize("name", list(PARAMS))
def test_expand_matches_torch(name):
    rng = np.random.default_rng(4)
    params = PARAMS[name](rng, (3, 1), (1,))
    (p, _), (t, _) = build(pyml, name, params), build(torch, name, params)
    pe, te = p.expand((2, 3, 5)), t.expand((2, 3, 5))
    assert type(pe) is type(p) and tuple(pe.batch_shape) == tuple(te.batch_shape) == (2, 3, 5)
    v = values(name, rng, (2, 3, 5))
    close(pe.log_prob(pyml.tensor(v)), te.log_prob(torch.tensor(v)))
    assert tuple(pe.sample((4,)).shape) == tuple(te.sample((4,)).shape)
    with pytest.raises(ValueError):
        p.expand((2, 7))


# ---------------------------------------------------------------------------------------- sampling
GAMMA_C = np.array([0.05, 0.4, 1.0, 3.5, 80.0])


@pytest.mark.parametrize("method", ["sample", "rsample"])
def test_gamma_sampling_statistics(method):
    """200k draws per member: mean and variance within 5 standard errors, KS distance below its 1e-6 bound."""
    n, rate = 200_000, np.array([2.0, 0.5, 1.0, 3.0, 0.1])
    p = pd.Gamma(pyml.tensor(GAMMA_C), pyml.tensor(rate))
    pyml.manual_seed(11)
    s = npy(getattr(p, method)((n,)))
    assert s.shape == (n, 5) and np.all(s > 0)
    mean, var = GAMMA_C / rate, GAMMA_C / rate ** 2
    kurt = 3 + 6 / GAMMA_C
    assert np.all(np.abs(s.mean(0) - mean) < 5 * np.sqrt(var / n))
    assert np.all(np.abs(s.var(0) - var) < 5 * var * np.sqrt((kurt - 1) / n))
    crit = math.sqrt(-math.log(1e-6 / 2) / (2 * n))
    for j in range(5):
        one = td.Gamma(torch.tensor(GAMMA_C[j]), torch.tensor(rate[j]))
        assert ks_distance(s[:, j], lambda x: one.cdf(torch.tensor(x)).numpy()) < crit, j


def test_beta_and_dirichlet_sampling_statistics():
    n = 200_000
    c1, c0 = np.array([0.2, 1.0, 2.5, 30.0]), np.array([0.3, 1.0, 0.7, 10.0])
    pyml.manual_seed(12)
    s = npy(pd.Beta(pyml.tensor(c1), pyml.tensor(c0)).sample((n,)))
    t = td.Beta(torch.tensor(c1), torch.tensor(c0))
    mean, var = npy(t.mean), npy(t.variance)
    assert np.all((s >= 0) & (s <= 1))
    assert np.all(np.abs(s.mean(0) - mean) < 5 * np.sqrt(var / n))
    assert np.all(np.abs(s.var(0) - var) < 5 * np.sqrt(((s - mean) ** 2).var(0) / n))
    conc = np.array([0.3, 1.0, 2.0, 5.0])
    x = npy(pd.Dirichlet(pyml.tensor(conc)).rsample((n,)))
    assert np.allclose(x.sum(-1), 1)
    td_ = td.Dirichlet(torch.tensor(conc))
    mean, var = npy(td_.mean), npy(td_.variance)
    assert np.all(np.abs(x.mean(0) - mean) < 5 * np.sqrt(var / n))
    a0 = conc.sum()
    cov01 = -conc[0] * conc[1] / (a0 ** 2 * (a0 + 1))
    prod = (x[:, 0] - mean[0]) * (x[:, 1] - mean[1])
    assert abs(prod.mean() - cov01) < 5 * prod.std() / np.sqrt(n)


@pytest.mark.parametrize("name", list(PARAMS))
def test_samples_are_seeded_and_in_the_support(name):
    params = PARAMS[name](np.random.default_rng(5), (3,), (3,))
    p, _ = build(pyml, name, params)
    pyml.manual_seed(21)
    a = p.sample((500,))
    pyml.manual_seed(21)
    b = p.sample((500,))
    np.testing.assert_array_equal(npy(a), npy(b))
    assert bool(p.support.check(a).all()) and not a.requires_grad
    assert p.has_rsample is True


# ---------------------------------------------------------------------------------------- rsample gradients
def mp_gamma_grad(a, x):
    """dx/da at fixed cdf value, -dP(a, x)/da / pdf(x), in 30-digit arithmetic."""
    mpmath.mp.dps = 30
    a, x = mpmath.mpf(a), mpmath.mpf(x)
    dP = mpmath.diff(lambda s: mpmath.gammainc(s, 0, x, regularized=True), a)
    return float(-dP / mpmath.exp((a - 1) * mpmath.log(x) - x - mpmath.loggamma(a)))


def test_implicit_gamma_gradient_matches_torch_and_mpmath():
    """At pyml's own samples: within 1e-3 of torch._standard_gamma_grad (an approximation accurate to ~3e-4),
    and within 1e-6 of the 30-digit derivative."""
    alpha = np.array([0.02, 0.3, 1.0, 2.5, 9.0, 60.0, 700.0])
    a = pyml.tensor(np.repeat(alpha[None], 300, 0), requires_grad=True)
    pyml.manual_seed(31)
    x = pd.Gamma(a, 1.0).rsample()
    g = pyml.autograd.grad(x.sum(), a)[0]
    ref = torch._standard_gamma_grad(torch.tensor(a.detach().numpy()), torch.tensor(npy(x)))
    np.testing.assert_allclose(npy(g), ref.numpy(), rtol=1e-3, atol=1e-300)
    for j, i in [(0, 0), (1, 5), (2, 7), (3, 11), (4, 2), (5, 3), (6, 13)]:
        want = mp_gamma_grad(alpha[j], float(npy(x)[i, j]))
        assert abs(float(npy(g)[i, j]) - want) <= 1e-6 * abs(want), (alpha[j], want)
    xs = pyml.tensor([1e-30, 0.4, 4.0, 40.0], dtype=pyml.float64)
    got = npy(standard_gamma_grad(pyml.tensor([0.01, 0.5, 4.0, 30.0], dtype=pyml.float64), xs))
    want = [mp_gamma_grad(a_, x_) for a_, x_ in zip([0.01, 0.5, 4.0, 30.0], npy(xs))]
    np.testing.assert_allclose(got, want, rtol=1e-7)


def mc_grad(make_dist, theta, f, n, seed):
    """Per-sample pathwise gradients of f(x) w.r.t. theta (n copies): their mean and standard error."""
    leaf = pyml.tensor(np.repeat(np.asarray(theta, dtype=np.float64)[None], n, 0), requires_grad=True)
    pyml.manual_seed(seed)
    x = make_dist(leaf).rsample()
    g = npy(pyml.autograd.grad(f(x).sum(), leaf)[0])
    return g.mean(0), g.std(0) / math.sqrt(n)


def test_expected_rsample_gradients_match_closed_forms():
    """d/dtheta E[f(x)] estimated by the mean of pathwise gradients, within 5 standard errors."""
    n = 20_000
    # Gamma(a, r): d/da E[x^2] = (2a + 1) / r^2, d/dr E[x^2] = -2 a (a + 1) / r^3
    a, r = 1.7, 0.8
    mean, se = mc_grad(lambda th: pd.Gamma(th[:, 0], th[:, 1]), [a, r], lambda x: x ** 2, n, 41)
    want = np.array([(2 * a + 1) / r ** 2, -2 * a * (a + 1) / r ** 3])
    assert np.all(np.abs(mean - want) < 5 * se), (mean, want, se)
    # Beta(c1, c0): d/dc1 E[x] = c0 / (c1 + c0)^2, d/dc0 E[x] = -c1 / (c1 + c0)^2
    c1, c0 = 0.6, 2.2
    mean, se = mc_grad(lambda th: pd.Beta(th[:, 0], th[:, 1]), [c1, c0], lambda x: x, n, 42)
    want = np.array([c0, -c1]) / (c1 + c0) ** 2
    assert np.all(np.abs(mean - want) < 5 * se), (mean, want, se)
    # Dirichlet(c): d/dc_j E[x_0] = (delta_0j a0 - c_0) / a0^2
    c = np.array([0.4, 1.5, 3.0])
    mean, se = mc_grad(lambda th: pd.Dirichlet(th), c, lambda x: x[:, 0], n, 43)
    want = (np.eye(3)[0] * c.sum() - c[0]) / c.sum() ** 2
    assert np.all(np.abs(mean - want) < 5 * se), (mean, want, se)


def test_rsample_gradients_match_torch_in_expectation():
    """Torch's draws differ, so compare d/dtheta E[log(1 + x)] estimated by both within 5 joint standard errors."""
    n = 20_000
    for name, theta in (("Gamma", [0.7, 1.3]), ("Beta", [1.4, 0.5])):
        ours, se = mc_grad(lambda th: getattr(pd, name)(th[:, 0], th[:, 1]), theta, lambda x: (1 + x).log(), n, 44)
        leaf = torch.tensor(np.repeat(np.array(theta)[None], n, 0), requires_grad=True)
        torch.manual_seed(0)
        y = getattr(td, name)(leaf[:, 0], leaf[:, 1]).rsample()
        g = torch.autograd.grad(torch.log1p(y).sum(), leaf)[0].numpy()
        se_t = g.std(0) / math.sqrt(n)
        assert np.all(np.abs(ours - g.mean(0)) < 5 * np.hypot(se, se_t)), (name, ours, g.mean(0))


# ---------------------------------------------------------------------------------------- validation and KL
BAD = [("Gamma", {"concentration": -1.0, "rate": 1.0}), ("Gamma", {"concentration": 1.0, "rate": np.array([1.0, 0.0])}),
       ("Chi2", {"df": np.array([0.0, 1.0])}), ("Beta", {"concentration1": 0.0, "concentration0": 1.0}),
       ("Beta", {"concentration1": 1.0, "concentration0": np.array([1.0, np.nan])}),
       ("Dirichlet", {"concentration": np.array([1.0, -0.5, 2.0])})]


@pytest.mark.parametrize("name,params", BAD, ids=str)
def test_bad_parameters_raise_like_torch(name, params):
    with pytest.raises(ValueError):
        build(torch, name, params)
    with pytest.raises(ValueError, match=name):
        build(pyml, name, params)
    getattr(pd, name)(**{k: to_lib(pyml, v) for k, v in params.items()}, validate_args=False)


def test_bad_values_and_shapes_raise():
    for lib, dist in ((torch, td), (pyml, pd)):
        with pytest.raises(ValueError):
            dist.Gamma(lib.tensor([1.0]), 1.0).log_prob(lib.tensor([-0.5]))
        with pytest.raises(ValueError):
            dist.Beta(lib.tensor([1.0]), 1.0).log_prob(lib.tensor([1.5]))
        with pytest.raises(ValueError):
            dist.Dirichlet(lib.ones(3)).log_prob(lib.tensor([0.2, 0.2, 0.2]))
        with pytest.raises(ValueError):
            dist.Dirichlet(lib.tensor(2.0))


KL_PAIRS = [("Gamma", "Gamma"), ("Chi2", "Gamma"), ("Gamma", "Chi2"), ("Beta", "Beta"), ("Dirichlet", "Dirichlet"),
            ("Beta", "Gamma"), ("Beta", "Exponential"), ("Beta", "Normal"), ("Gamma", "Exponential"),
            ("Gamma", "Normal"), ("Exponential", "Gamma")]
OTHER = {"Exponential": lambda rng, s: {"rate": rng.uniform(0.3, 3, s)},
         "Normal": lambda rng, s: {"loc": rng.normal(0, 1, s), "scale": rng.uniform(0.3, 3, s)}}


@pytest.mark.parametrize("pair", KL_PAIRS, ids=str)
def test_kl_matches_torch(pair):
    rng = np.random.default_rng(len(pair[0]) * 7 + len(pair[1]))
    shapes = ((3, 1), (1, 4)) if pair[0] != "Dirichlet" else ((3,), (2, 1))
    ps = [PARAMS[n](rng, s, s) if n in PARAMS else OTHER[n](rng, s) for n, s in zip(pair, shapes)]
    got = {}
    for lib in (pyml, torch):
        (p, lp), (q, lq) = build(lib, pair[0], ps[0], rg=True), build(lib, pair[1], ps[1], rg=True)
        kl = lib.distributions.kl_divergence(p, q)
        got[lib] = [kl] + list(lib.autograd.grad(kl.sum(), list(lp.values()) + list(lq.values())))
    close(got[pyml][0], got[torch][0], msg=str(pair))
    for a, b in zip(got[pyml][1:], got[torch][1:]):  # gradients go through trigamma: ~1e-9 apart
        np.testing.assert_allclose(npy(a), npy(b), rtol=1e-8, atol=1e-8, err_msg=str(pair))


def test_kl_beta_uniform_infinite_outside():
    for lib, dist in ((pyml, pd), (torch, td)):
        p = dist.Beta(lib.tensor([0.5, 2.0, 3.0], dtype=lib.float64), 1.5)
        q = dist.Uniform(lib.tensor([-1.0, 0.1, 0.0], dtype=lib.float64), lib.tensor([2.0, 1.0, 0.9],
                                                                                      dtype=lib.float64))
        if lib is pyml:
            got = dist.kl_divergence(p, q)
        else:
            want = dist.kl_divergence(p, q)
    close(got, want)
    assert np.isinf(npy(got)[1:]).all()
