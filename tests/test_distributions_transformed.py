"""pyml.distributions.TransformedDistribution and the distributions built on it (LogNormal, HalfNormal, HalfCauchy,
Gumbel, Weibull, Pareto, Kumaraswamy, LogisticNormal, InverseGamma, RelaxedBernoulli, RelaxedOneHotCategorical)
against torch.distributions in float64 on random parameters with odd batch shapes and broadcasting: shapes,
log_prob, cdf/icdf, mean/mode/variance/stddev/entropy (NotImplementedError where torch has none), gradients;
rsample values and gradients against torch's transforms applied to the same base noise; 200k-sample moments and
KS distances; expand, validation errors, support; generic TransformedDistributions (event-changing transforms,
decreasing transforms, broadcasting transforms); kl_divergence for the pairs torch registers."""
import math

import numpy as np
import pytest
import torch

import pyml
import pyml.distributions as pd
import torch.distributions as td
from pyml.distributions.gamma_family import standard_gamma_grad
from test_distributions import close, npy, to_lib, ks_distance


def lib_of(lib):
    return pd if lib is pyml else td


def params_for(name, rng, s1, s2):
    u = rng.uniform
    return {"LogNormal": lambda: {"loc": rng.normal(0, 1, s1), "scale": u(0.2, 1.5, s2)},
            "HalfNormal": lambda: {"scale": u(0.2, 3, np.broadcast_shapes(s1, s2))},
            "HalfCauchy": lambda: {"scale": u(0.2, 3, np.broadcast_shapes(s1, s2))},
            "Gumbel": lambda: {"loc": rng.normal(0, 2, s1), "scale": u(0.2, 3, s2)},
            "Weibull": lambda: {"scale": u(0.2, 3, s1), "concentration": u(0.3, 4, s2)},
            "Pareto": lambda: {"scale": u(0.2, 3, s1), "alpha": u(0.5, 5, s2)},
            "Kumaraswamy": lambda: {"concentration1": u(0.3, 4, s1), "concentration0": u(0.3, 4, s2)},
            "InverseGamma": lambda: {"concentration": u(0.3, 5, s1), "rate": u(0.2, 3, s2)},
            "LogisticNormal": lambda: {"loc": rng.normal(0, 1, s1 + (4,)), "scale": u(0.3, 2, s2 + (4,))},
            "RelaxedBernoulli": lambda: {"temperature": u(0.2, 2, s2), "logits": rng.normal(0, 2, s1)},
            "RelaxedOneHotCategorical": lambda: {"temperature": u(0.2, 2, ()), "logits": rng.normal(0, 2, s1 + (5,))},
            }[name]()


NAMES = ["LogNormal", "HalfNormal", "HalfCauchy", "Gumbel", "Weibull", "Pareto", "Kumaraswamy", "InverseGamma",
         "LogisticNormal", "RelaxedBernoulli", "RelaxedOneHotCategorical"]
SHAPES = [((), ()), ((7,), (7,)), ((3, 1), (5,)), ((2, 1, 4), (1, 3, 1))]


def values(name, params, rng, shape):
    """Values in the support, of a shape broadcastable with the batch (+ event)."""
    if name in ("HalfNormal", "HalfCauchy"):
        return np.abs(rng.normal(0, 2, shape)) * (rng.uniform(size=shape) > 0.05)  # some exact zeros
    if name == "Gumbel":
        return rng.normal(0, 3, shape)
    if name == "Pareto":
        return params["scale"].max() * (1 + rng.exponential(1.0, shape))
    if name in ("Kumaraswamy", "RelaxedBernoulli"):
        return rng.uniform(0.005, 0.995, shape)
    if name in ("LogisticNormal", "RelaxedOneHotCategorical"):
        return rng.dirichlet(np.ones(shape[-1]), shape[:-1])
    return rng.gamma(2.0, 1.0, shape) if name in ("Weibull", "LogNormal") else 1 / rng.gamma(2.0, 1.0, shape)


def build(lib, name, params, rg=False):
    leaves = {k: to_lib(lib, v, rg=rg) for k, v in params.items()}
    return getattr(lib_of(lib), name)(**leaves), leaves


def kumaraswamy_mode(a, b):
    """The true mode; torch 2.13's formula is NaN everywhere (see kumaraswamy.py)."""
    with np.errstate(all="ignore"):
        mode = ((a - 1) / (a * b - 1)) ** (1 / a)
    return np.where((a < 1) | (b < 1), np.nan, mode)


def both(fp, ft):
    """fp() against ft(); where torch raises NotImplementedError (not defined) or ValueError (a cdf value
    outside the base's support) pyml must raise it too."""
    try:
        want = ft()
    except (NotImplementedError, ValueError) as e:
        with pytest.raises(type(e)):
            fp()
        return None
    return fp(), want


# ------------------------------------------------------------------------------------ values
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_values_match_torch(name, shapes):
    rng = np.random.default_rng(sum(map(ord, name)) + 7 * len(str(shapes)))
    params = params_for(name, rng, *shapes)
    (p, _), (t, _) = build(pyml, name, params), build(torch, name, params)
    assert (tuple(p.batch_shape), tuple(p.event_shape)) == (tuple(t.batch_shape), tuple(t.event_shape))
    assert p.has_rsample == t.has_rsample and type(p.support).__name__ == type(t.support).__name__
    for attr in ("mean", "mode", "variance", "stddev"):
        if name == "Kumaraswamy" and attr == "mode":
            close(p.mode, torch.tensor(kumaraswamy_mode(*np.broadcast_arrays(params["concentration1"],
                                                                           params["concentration0"]))))
            continue
        got = both(lambda: getattr(p, attr), lambda: getattr(t, attr))
        if got:
            close(*got, msg=attr)
    got = both(p.entropy, t.entropy)
    if got:
        close(*got, msg="entropy")
    batch, event = tuple(t.batch_shape), tuple(t.event_shape)
    for vshape in [(2,) + batch, batch[-1:], (3, 1) + batch]:
        v = values(name, params, rng, vshape + event)
        close(p.log_prob(to_lib(pyml, v)), t.log_prob(to_lib(torch, v)), msg=f"log_prob {vshape}")
        got = both(lambda: p.cdf(to_lib(pyml, v)), lambda: t.cdf(to_lib(torch, v)))
        if got:
            close(*got, msg=f"cdf {vshape}")
        q = rng.uniform(0.001, 0.999, vshape + event)
        got = both(lambda: p.icdf(to_lib(pyml, q)), lambda: t.icdf(to_lib(torch, q)))
        if got:
            close(*got, msg=f"icdf {vshape}")


@pytest.mark.parametrize("name", NAMES)
def test_gradients_match_torch(name):
    """d/d(parameters) of log_prob, entropy, mean and variance (those torch defines, finite)."""
    rng = np.random.default_rng(len(name))
    params = params_for(name, rng, (3, 1), (4,))
    if name in ("Pareto", "InverseGamma"):
        params = {k: v + 2.5 for k, v in params.items()}  # finite mean and variance
    (t, _) = build(torch, name, params)
    v = values(name, params, rng, (2,) + tuple(t.batch_shape) + tuple(t.event_shape))
    w = rng.normal(size=(2,) + tuple(t.batch_shape))
    got = {}
    for lib in (pyml, torch):
        d, leaves = build(lib, name, params, rg=True)
        out = (d.log_prob(to_lib(lib, v)) * to_lib(lib, w)).sum()
        for f in (d.entropy, lambda: d.mean, lambda: d.variance):
            try:
                out = out + (f() ** 2).sum()
            except NotImplementedError:
                pass
        got[lib] = lib.autograd.grad(out, list(leaves.values()), allow_unused=True)
    for gp, gt in zip(got[pyml], got[torch]):
        np.testing.assert_allclose(npy(gp), npy(gt), rtol=1e-8, atol=1e-10)


def test_scalar_parameters_and_float32():
    for name, args in (("LogNormal", (0.5, 2.0)), ("Gumbel", (1.0, 2.0)), ("Weibull", (1.5, 0.7)),
                       ("Pareto", (1.0, 3.0)), ("HalfNormal", (2.0,)), ("HalfCauchy", (1.5,)),
                       ("Kumaraswamy", (2.0, 3.0)), ("InverseGamma", (3.0, 2.0))):
        p, t = getattr(pd, name)(*args), getattr(td, name)(*args)
        assert tuple(p.batch_shape) == () == tuple(t.batch_shape), name
        v = np.array([1.25, 1.5, 2.75]) if name == "Pareto" else np.array([0.25, 0.5, 0.75])
        close(p.log_prob(pyml.tensor(v, dtype=pyml.float32)), t.log_prob(torch.tensor(v, dtype=torch.float32)),
              "float32", name)
        s = p.rsample((4,))
        assert s.dtype == pyml.float32 and tuple(s.shape) == (4,)
    close(pd.HalfCauchy(2.0, validate_args=False).log_prob(1.5), td.HalfCauchy(2.0).log_prob(torch.tensor(1.5)),
          "float32")


def test_log_prob_outside_the_support_without_validation():
    v = np.array([-1.0, 0.0, 2.0])
    for name in ("HalfNormal", "HalfCauchy"):
        p = getattr(pd, name)(pyml.tensor(1.5, dtype=pyml.float64), validate_args=False)
        t = getattr(td, name)(torch.tensor(1.5, dtype=torch.float64), validate_args=False)
        close(p.log_prob(pyml.tensor(v)), t.log_prob(torch.tensor(v)))  # -inf below 0


# ------------------------------------------------------------------------------------ rsample
def torch_base_sample(tb, pb, xb):
    """torch's base sample from pyml's base sample xb (no grad) through the same noise, differentiable in
    torch's parameters."""
    x = torch.tensor(npy(xb))
    if isinstance(tb, td.Independent):
        tb, pb = tb.base_dist, pb.base_dist
    if isinstance(tb, (td.Normal, td.Cauchy)):
        return tb.loc + (x - torch.tensor(npy(pb.loc))) / torch.tensor(npy(pb.scale)) * tb.scale
    if isinstance(tb, td.Uniform):
        u = (x - torch.tensor(npy(pb.low))) / torch.tensor(npy(pb.high - pb.low))
        return tb.low + u * (tb.high - tb.low)
    if isinstance(tb, td.Exponential):
        return x * torch.tensor(npy(pb.rate)) / tb.rate
    assert isinstance(tb, td.relaxed_bernoulli.LogitRelaxedBernoulli)
    pr = np.clip(npy(pb.probs), np.finfo(np.float64).eps, 1 - np.finfo(np.float64).eps)
    logit_u = torch.tensor(npy(xb) * npy(pb.temperature) - (np.log(pr) - np.log1p(-pr)))
    probs = td.utils.clamp_probs(tb.probs.expand(x.shape))
    return (logit_u + probs.log() - (-probs).log1p()) / tb.temperature


@pytest.mark.parametrize("name", ["LogNormal", "HalfNormal", "HalfCauchy", "Gumbel", "Weibull", "Pareto",
                                  "Kumaraswamy", "LogisticNormal", "RelaxedBernoulli"])
def test_rsample_matches_torch_on_the_same_noise(name):
    rng = np.random.default_rng(len(name) + 40)
    params = params_for(name, rng, (3, 1), (4,))
    if name == "RelaxedBernoulli":
        params["temperature"] = np.array(0.6)
    p, p_leaves = build(pyml, name, params, rg=True)
    t, t_leaves = build(torch, name, params, rg=True)
    pyml.manual_seed(17)
    xb = p.base_dist.sample((5,))
    pyml.manual_seed(17)
    y = p.rsample((5,))
    x = torch_base_sample(t.base_dist, p.base_dist, xb)
    for tr in t.transforms:
        x = tr(x)
    close(y, x, msg="rsample value")
    w = rng.normal(size=tuple(y.shape))
    gp = pyml.autograd.grad((y * pyml.tensor(w)).sum(), list(p_leaves.values()))
    gt = torch.autograd.grad((x * torch.tensor(w)).sum(), list(t_leaves.values()))
    for a, b in zip(gp, gt):
        np.testing.assert_allclose(npy(a), npy(b), rtol=1e-8, atol=1e-10)


def test_relaxed_one_hot_rsample_matches_torch_on_the_same_noise():
    rng = np.random.default_rng(3)
    logits, temp = rng.normal(size=(3, 5)), np.array(0.7)
    lp, tp = pyml.tensor(logits, requires_grad=True), pyml.tensor(temp, requires_grad=True)
    lt, tt = torch.tensor(logits, requires_grad=True), torch.tensor(temp, requires_grad=True)
    pyml.manual_seed(5)
    u = pyml.rand((4, 3, 5), dtype=pyml.float64)
    pyml.manual_seed(5)
    y = pd.RelaxedOneHotCategorical(tp, logits=lp).rsample((4,))
    gumbels = -(-(td.utils.clamp_probs(torch.tensor(npy(u))).log())).log()
    want = td.RelaxedOneHotCategorical(tt, logits=lt).transforms[0]._call(
        ((lt - lt.logsumexp(-1, keepdim=True) + gumbels) / tt).log_softmax(-1))
    close(y, want)
    w = rng.normal(size=(4, 3, 5))
    gp = pyml.autograd.grad((y * pyml.tensor(w)).sum(), [tp, lp])
    gt = torch.autograd.grad((want * torch.tensor(w)).sum(), [tt, lt])
    for a, b in zip(gp, gt):
        np.testing.assert_allclose(npy(a), npy(b), rtol=1e-8, atol=1e-12)


def test_inverse_gamma_rsample_gradient_is_the_implicit_one():
    """x = rate / g with g ~ Gamma(a, 1): dx/da = -rate / g^2 dg/da with dg/da pyml's implicit gamma gradient
    (checked against mpmath in test_distributions_gamma.py) and within 1e-3 of torch's approximation of it;
    dx/drate = x / rate."""
    n = 2000
    a = pyml.full((n,), 0.7, dtype=pyml.float64) + pyml.linspace(0, 6, n, dtype=pyml.float64)
    a.requires_grad_(True)
    rate = pyml.full((n,), 1.7, dtype=pyml.float64, requires_grad=True)
    pyml.manual_seed(3)
    x = pd.InverseGamma(a, rate).rsample()
    ga, gr = pyml.autograd.grad(x.sum(), [a, rate])
    g = 1.7 / npy(x)
    want = -1.7 / g ** 2 * npy(standard_gamma_grad(a.detach(), pyml.tensor(g)))
    np.testing.assert_allclose(npy(ga), want, rtol=1e-10)
    approx = -1.7 / g ** 2 * torch._standard_gamma_grad(torch.tensor(npy(a)), torch.tensor(g)).numpy()
    np.testing.assert_allclose(npy(ga), approx, rtol=1e-3)
    close(gr, x.detach() / 1.7)


# ------------------------------------------------------------------------------------ sampling statistics
MOMENT_PARAMS = {"LogNormal": {"loc": np.array([-1.0, 0.0, 1.0]), "scale": np.array([0.2, 0.5, 0.4])},
                 "HalfNormal": {"scale": np.array([0.5, 1.0, 3.0])},
                 "HalfCauchy": {"scale": np.array([0.5, 1.0, 3.0])},
                 "Gumbel": {"loc": np.array([-1.0, 0.0, 2.0]), "scale": np.array([0.5, 1.0, 3.0])},
                 "Weibull": {"scale": np.array([0.5, 1.0, 3.0]), "concentration": np.array([0.7, 1.5, 4.0])},
                 "Pareto": {"scale": np.array([0.5, 1.0, 3.0]), "alpha": np.array([9.0, 12.0, 20.0])},
                 "Kumaraswamy": {"concentration1": np.array([0.5, 2.0, 5.0]),
                                 "concentration0": np.array([0.7, 3.0, 1.0])},
                 "InverseGamma": {"concentration": np.array([9.0, 12.0, 20.0]), "rate": np.array([0.5, 1.0, 3.0])}}


@pytest.mark.parametrize("method", ["sample", "rsample"])
@pytest.mark.parametrize("name", list(MOMENT_PARAMS))
def test_sampling_statistics(name, method):
    """200k samples per member: mean and variance within 5 empirical standard errors of torch's (finite fourth
    moments by the choice of parameters; HalfCauchy: its median), KS distance below the 1e-6 critical value."""
    n = 200_000
    p, t = build(pyml, name, MOMENT_PARAMS[name])[0], build(torch, name, MOMENT_PARAMS[name])[0]
    pyml.manual_seed(321)
    s = npy(getattr(p, method)((n,)))
    assert s.shape == (n, 3) and bool(p.support.check(pyml.tensor(s)).all())
    if name == "HalfCauchy":
        frac = (s < MOMENT_PARAMS[name]["scale"]).mean(0)
        assert np.all(np.abs(frac - 0.5) < 5 * 0.5 / math.sqrt(n))
    else:
        mean, var = npy(t.mean), npy(t.variance)
        assert np.all(np.abs(s.mean(0) - mean) < 5 * s.std(0) / math.sqrt(n)), (s.mean(0), mean)
        dev2 = (s - s.mean(0)) ** 2
        assert np.all(np.abs(dev2.mean(0) - var) < 5 * dev2.std(0) / math.sqrt(n)), (dev2.mean(0), var)
    crit = math.sqrt(-math.log(1e-6 / 2) / (2 * n))
    for j in range(3):
        one = getattr(td, name)(**{k: torch.tensor(v[j]) for k, v in MOMENT_PARAMS[name].items()})
        assert ks_distance(s[:, j], lambda x: one.cdf(torch.tensor(x)).numpy()) < crit, j


def test_relaxed_and_logistic_normal_sampling_statistics():
    n = 200_000
    crit = math.sqrt(-math.log(1e-6 / 2) / (2 * n))
    logits, temp = np.array([-1.0, 0.5, 2.0]), 0.4
    pyml.manual_seed(8)
    y = npy(pd.RelaxedBernoulli(pyml.tensor(temp), logits=pyml.tensor(logits)).sample((n,)))
    z = np.log(y) - np.log1p(-y)  # ~ Logistic(logits / t, 1 / t)
    for j in range(3):
        assert ks_distance(z[:, j], lambda x: 1 / (1 + np.exp(-(temp * x - logits[j])))) < crit
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    pyml.manual_seed(9)
    s = npy(pd.RelaxedOneHotCategorical(pyml.tensor(0.5), probs=pyml.tensor(probs)).sample((n,)))
    assert np.allclose(s.sum(-1), 1.0) and np.all(s >= 0)
    freq = np.bincount(s.argmax(-1), minlength=4) / n  # Gumbel-max: the argmax is Categorical(probs)
    assert np.all(np.abs(freq - probs) < 5 * np.sqrt(probs * (1 - probs) / n))
    loc, scale = np.array([-1.0, 0.0, 2.0]), np.array([0.5, 1.0, 2.0])
    pyml.manual_seed(10)
    y = pd.LogisticNormal(pyml.tensor(loc), pyml.tensor(scale)).sample((n,))
    x = npy(pd.transforms.StickBreakingTransform().inv(y))  # back to the Normal logits
    assert np.all(np.abs(x.mean(0) - loc) < 5 * scale / math.sqrt(n))
    assert np.all(np.abs(x.std(0) - scale) < 5 * scale / math.sqrt(2 * n))


def test_samples_are_seeded_and_outside_the_graph():
    for name in NAMES:
        p, _ = build(pyml, name, params_for(name, np.random.default_rng(2), (3,), (3,)), rg=True)
        pyml.manual_seed(4)
        a = p.sample((2,))
        pyml.manual_seed(4)
        b = p.sample((2,))
        np.testing.assert_array_equal(npy(a), npy(b))
        assert not a.requires_grad and p.rsample().requires_grad
        assert bool(p.support.check(a).all()), name


# ------------------------------------------------------------------------------------ expand, validation
@pytest.mark.parametrize("name", NAMES)
def test_expand_matches_torch(name):
    rng = np.random.default_rng(6)
    params = params_for(name, rng, (3, 1), (1,))
    (p, _), (t, _) = build(pyml, name, params), build(torch, name, params)
    pe, te = p.expand((2, 3, 4)), t.expand((2, 3, 4))
    assert type(pe) is type(p) and tuple(pe.batch_shape) == tuple(te.batch_shape) == (2, 3, 4)
    assert tuple(pe.event_shape) == tuple(te.event_shape) and pe._validate_args == p._validate_args
    v = values(name, params, rng, (2, 3, 4) + tuple(t.event_shape))
    close(pe.log_prob(pyml.tensor(v)), te.log_prob(torch.tensor(v)))
    assert tuple(pe.sample((5,)).shape) == tuple(te.sample((5,)).shape)
    with pytest.raises(ValueError):
        p.expand((2, 5))


BAD = [("LogNormal", {"loc": 0.0, "scale": -1.0}), ("HalfNormal", {"scale": 0.0}), ("HalfCauchy", {"scale": -1.0}),
       ("Gumbel", {"loc": np.array([0.0, np.nan]), "scale": 1.0}), ("Gumbel", {"loc": 0.0, "scale": 0.0}),
       ("Weibull", {"scale": 1.0, "concentration": -1.0}), ("Weibull", {"scale": 0.0, "concentration": 1.0}),
       ("Pareto", {"scale": 1.0, "alpha": 0.0}), ("Kumaraswamy", {"concentration1": -1.0, "concentration0": 1.0}),
       ("InverseGamma", {"concentration": 1.0, "rate": -1.0}), ("LogisticNormal", {"loc": 0.0, "scale": -1.0}),
       ("RelaxedBernoulli", {"temperature": np.array(1.0), "probs": np.array([0.5, 1.5])}),
       ("RelaxedOneHotCategorical", {"temperature": np.array(1.0), "probs": np.array([0.5, -0.5, 1.0])})]


@pytest.mark.parametrize("name,params", BAD, ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD)])
def test_bad_parameters_raise_like_torch(name, params):
    for lib in (pyml, torch):
        with pytest.raises(ValueError):
            build(lib, name, params)
    try:  # unchecked; the relaxed ones validate their inner Bernoulli/Categorical anyway, like torch
        getattr(td, name)(**{k: to_lib(torch, v) for k, v in params.items()}, validate_args=False)
    except ValueError:
        with pytest.raises(ValueError):
            getattr(pd, name)(**{k: to_lib(pyml, v) for k, v in params.items()}, validate_args=False)
    else:
        getattr(pd, name)(**{k: to_lib(pyml, v) for k, v in params.items()}, validate_args=False)


OUTSIDE = [("LogNormal", np.array([1.0, -1.0])), ("HalfNormal", np.array([-0.5])), ("Weibull", np.array([0.0])),
           ("Pareto", np.array([0.25])), ("Kumaraswamy", np.array([1.5])), ("InverseGamma", np.array([-2.0])),
           ("RelaxedBernoulli", np.array([1.2])), ("LogisticNormal", np.array([0.5, 0.6])),
           ("RelaxedOneHotCategorical", np.array([0.5, 0.6, 0.1]))]


@pytest.mark.parametrize("name,value", OUTSIDE, ids=[n for n, _ in OUTSIDE])
def test_values_outside_the_support_raise_like_torch(name, value):
    params = {"LogisticNormal": {"loc": np.zeros(1), "scale": np.ones(1)},
              "RelaxedOneHotCategorical": {"temperature": np.array(1.0), "logits": np.zeros(3)},
              "RelaxedBernoulli": {"temperature": np.array(1.0), "probs": np.array(0.3)}}.get(name)
    params = params or {k: v[:1] for k, v in MOMENT_PARAMS[name].items()}
    for lib in (pyml, torch):
        d = build(lib, name, params)[0]
        with pytest.raises(ValueError):
            d.log_prob(to_lib(lib, value))


def test_supports_match_torch():
    rng = np.random.default_rng(12)
    for name in NAMES:
        params = params_for(name, rng, (4,), (4,))
        (p, _), (t, _) = build(pyml, name, params), build(torch, name, params)
        v = values(name, params, rng, (6, 4) + tuple(t.event_shape)) * rng.choice([1.0, -1.0, 3.0], (6, 4) + (1,) *
                                                                                  len(t.event_shape))
        assert p.support.check(pyml.tensor(v)).tolist() == t.support.check(torch.tensor(v)).tolist(), name
        assert p.support.event_dim == t.support.event_dim
    assert pd.constraints.is_dependent(pd.Pareto.support) and pd.constraints.is_dependent(
        pd.TransformedDistribution.support)


def test_reprs_match_torch():
    """Parameters kept on the instance are listed (shapes); LogNormal's live on its base, so none."""
    for name, args in (("LogNormal", ([0.5, 1.0], 2.0)), ("Gumbel", ([1.0, 2.0], 2.0)), ("Pareto", (1.0, [3.0]))):
        want = repr(getattr(td, name)(*[torch.tensor(a) for a in args])).replace("torch.", "pyml.")
        assert repr(getattr(pd, name)(*[pyml.tensor(a) for a in args])) == want


def test_logit_relaxed_and_exp_relaxed_match_torch():
    from pyml.distributions.relaxed_bernoulli import LogitRelaxedBernoulli
    from pyml.distributions.relaxed_categorical import ExpRelaxedCategorical
    rng = np.random.default_rng(14)
    temp, probs, logits = rng.uniform(0.3, 2, (4,)), rng.uniform(0.05, 0.95, (3, 4)), rng.normal(size=(3, 5))
    p = LogitRelaxedBernoulli(pyml.tensor(temp), probs=pyml.tensor(probs))
    t = td.relaxed_bernoulli.LogitRelaxedBernoulli(torch.tensor(temp), probs=torch.tensor(probs))
    v = rng.normal(0, 3, (2, 3, 4))
    close(p.log_prob(pyml.tensor(v)), t.log_prob(torch.tensor(v)))
    close(p.logits, t.logits)
    assert tuple(p.expand((2, 3, 4)).batch_shape) == (2, 3, 4) and tuple(p.param_shape) == (3, 4)
    p = ExpRelaxedCategorical(pyml.tensor(0.8), logits=pyml.tensor(logits))
    t = td.relaxed_categorical.ExpRelaxedCategorical(torch.tensor(0.8), logits=torch.tensor(logits))
    v = np.log(rng.dirichlet(np.ones(5), (2, 3)))
    close(p.log_prob(pyml.tensor(v)), t.log_prob(torch.tensor(v)))
    close(p.probs, t.probs)
    e = p.expand((2, 3))
    assert (tuple(e.batch_shape), tuple(e.event_shape)) == ((2, 3), (5,)) and tuple(e.rsample().shape) == (2, 3, 5)
    close(e.log_prob(pyml.tensor(v)), t.expand((2, 3)).log_prob(torch.tensor(v)))


def test_torch_module_paths_import():
    import importlib
    for mod, name in (("transforms", "ExpTransform"), ("constraint_registry", "biject_to"),
                      ("transformed_distribution", "TransformedDistribution"), ("log_normal", "LogNormal"),
                      ("half_normal", "HalfNormal"), ("half_cauchy", "HalfCauchy"), ("gumbel", "Gumbel"),
                      ("weibull", "Weibull"), ("pareto", "Pareto"), ("kumaraswamy", "Kumaraswamy"),
                      ("logistic_normal", "LogisticNormal"), ("inverse_gamma", "InverseGamma"),
                      ("relaxed_bernoulli", "LogitRelaxedBernoulli"), ("relaxed_categorical", "ExpRelaxedCategorical")):
        assert hasattr(importlib.import_module(f"pyml.distributions.{mod}"), name)
        assert hasattr(importlib.import_module(f"torch.distributions.{mod}"), name)
    assert set(td.transforms.__all__) <= set(pd.__all__) and pd.transforms.ExpTransform is pd.ExpTransform


# ------------------------------------------------------------------------------------ TransformedDistribution
_R = np.random.default_rng(21)
TD_DATA = {"loc": _R.normal(size=(3, 4)), "scale": _R.uniform(0.5, 2, (3, 4)), "shift": _R.normal(size=4),
           "neg": -_R.uniform(0.5, 2, 4), "rate": _R.uniform(0.5, 2, 4), "power": _R.uniform(0.5, 2, (3, 1)),
           "cov": np.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 1.5]]), "mvn_loc": _R.normal(size=3),
           "conc": _R.uniform(0.5, 3, (2, 3))}


def td_case(lib, name):
    D = lib_of(lib)
    T, d = D.transforms, {k: to_lib(lib, v) for k, v in TD_DATA.items()}
    normal = D.Normal(d["loc"], d["scale"])
    return {"affine_sigmoid": lambda: D.TransformedDistribution(normal, [T.AffineTransform(d["shift"], 2.0),
                                                                          T.SigmoidTransform()]),
            "decreasing": lambda: D.TransformedDistribution(normal, [T.AffineTransform(0.5, d["neg"])]),
            "decreasing_number": lambda: D.TransformedDistribution(D.Exponential(d["rate"]),
                                                                   T.AffineTransform(1.0, -2.0)),
            "stick_breaking": lambda: D.TransformedDistribution(normal, T.StickBreakingTransform()),
            "reshape": lambda: D.TransformedDistribution(D.Independent(normal, 1), T.ReshapeTransform((4,), (2, 2))),
            "mvn_affine": lambda: D.TransformedDistribution(
                D.MultivariateNormal(d["mvn_loc"], d["cov"]), T.AffineTransform(d["shift"][:3], d["neg"][:3],
                                                                                event_dim=1)),
            "broadcast_power": lambda: D.TransformedDistribution(D.Exponential(d["rate"]),
                                                                 [T.PowerTransform(d["power"])]),
            "corr_cholesky": lambda: D.TransformedDistribution(D.Normal(d["loc"][:2, :3] * 0, d["scale"][:2, :3]),
                                                               T.CorrCholeskyTransform()),
            "log_gamma": lambda: D.TransformedDistribution(D.Gamma(d["conc"], 1.5), T.ExpTransform().inv),
            "no_transforms": lambda: D.TransformedDistribution(normal, []),
            }[name]()


TD_NAMES = ["affine_sigmoid", "decreasing", "decreasing_number", "stick_breaking", "reshape", "mvn_affine",
            "broadcast_power", "corr_cholesky", "log_gamma", "no_transforms"]


@pytest.mark.parametrize("name", TD_NAMES)
def test_transformed_distribution_matches_torch(name):
    p, t = td_case(pyml, name), td_case(torch, name)
    assert (tuple(p.batch_shape), tuple(p.event_shape)) == (tuple(t.batch_shape), tuple(t.event_shape))
    assert (tuple(p.base_dist.batch_shape), tuple(p.base_dist.event_shape)) == (tuple(t.base_dist.batch_shape),
                                                                                tuple(t.base_dist.event_shape))
    assert type(p.base_dist).__name__ == type(t.base_dist).__name__ and p.has_rsample == t.has_rsample
    assert repr(p.support) == repr(t.support) or type(p.support).__name__ == type(t.support).__name__
    torch.manual_seed(0)
    v = t.sample((2,))
    close(p.log_prob(pyml.tensor(npy(v))), t.log_prob(v), msg="log_prob")
    got = both(lambda: p.cdf(pyml.tensor(npy(v))), lambda: t.cdf(v))
    if got:
        close(*got, msg="cdf")
    q = np.random.default_rng(2).uniform(0.01, 0.99, tuple(v.shape))
    got = both(lambda: p.icdf(pyml.tensor(q)), lambda: t.icdf(torch.tensor(q)))
    if got:
        close(*got, msg="icdf")
    assert p.support.check(pyml.tensor(npy(v))).tolist() == t.support.check(v).tolist()
    assert tuple(p.rsample((5,)).shape) == tuple(t.rsample((5,)).shape) if t.has_rsample else True
    pe, te = p.expand((2,) + tuple(p.batch_shape)), t.expand((2,) + tuple(t.batch_shape))
    assert tuple(pe.batch_shape) == tuple(te.batch_shape) and tuple(pe.base_dist.batch_shape) == tuple(
        te.base_dist.batch_shape)
    close(pe.log_prob(pyml.tensor(npy(v))), te.log_prob(v), msg="expanded log_prob")


def test_transformed_distribution_errors():
    n = pd.Normal(pyml.zeros(3), pyml.ones(3))
    for bad in (3, [pd.transforms.ExpTransform(), 3], (pd.transforms.ExpTransform(),)):
        for lib, base in ((pd, n), (td, td.Normal(torch.zeros(3), torch.ones(3)))):
            with pytest.raises(ValueError):
                lib.TransformedDistribution(base, bad if not isinstance(bad, list) or lib is pd else
                                            [td.transforms.ExpTransform(), 3])
    with pytest.raises(ValueError):  # the transform needs a 2-dim event, the base has 1 dim
        pd.TransformedDistribution(n, pd.transforms.IndependentTransform(pd.transforms.ExpTransform(), 2))
    d = pd.TransformedDistribution(n, pd.transforms.ExpTransform())
    with pytest.raises(ValueError):
        d.log_prob(pyml.tensor([-1.0, 1.0, 2.0]))
    with pytest.raises(ValueError):
        d.cdf(pyml.tensor([1.0, 2.0]).log().reshape(2, 1).expand(2, 5))  # not broadcastable with the base


# ------------------------------------------------------------------------------------ kl_divergence
def base_params(name, rng, shape):
    u = rng.uniform
    if name in ("Normal", "Laplace"):
        return {"loc": rng.normal(0, 1, shape), "scale": u(0.3, 2, shape)}
    if name == "Exponential":
        return {"rate": u(0.3, 3, shape)}
    if name == "Gamma":
        return {"concentration": u(0.3, 5, shape), "rate": u(0.3, 3, shape)}
    if name == "Uniform":
        low = u(0.1, 3, shape)
        return {"low": low, "high": low + u(0.2, 3, shape)}
    if name == "Beta":
        return {"concentration1": u(0.3, 4, shape), "concentration0": u(0.3, 4, shape)}
    if name == "ContinuousBernoulli":
        return {"probs": u(0.05, 0.95, shape)}
    return params_for(name, rng, shape, shape)


KL_PAIRS = [("LogNormal", "LogNormal"), ("HalfNormal", "HalfNormal"), ("Gumbel", "Gumbel"), ("Pareto", "Pareto"),
            ("InverseGamma", "InverseGamma"), ("LogisticNormal", "LogisticNormal"),
            ("Exponential", "Gumbel"), ("Gamma", "Gumbel"), ("Normal", "Gumbel"), ("Uniform", "Gumbel"),
            ("Gumbel", "Normal"), ("Pareto", "Exponential"), ("Pareto", "Gamma"), ("Pareto", "Normal"),
            ("Uniform", "Pareto"), ("Beta", "Pareto"), ("Exponential", "Pareto"), ("Gamma", "Pareto"),
            ("Laplace", "Pareto"), ("Normal", "Pareto"), ("ContinuousBernoulli", "Pareto"), ("Gumbel", "Beta"),
            ("Gumbel", "Exponential"), ("Gumbel", "Gamma"), ("Gumbel", "Pareto"), ("Gumbel", "Uniform"),
            ("Gumbel", "ContinuousBernoulli"), ("Pareto", "Beta"), ("Pareto", "Uniform"),
            ("Pareto", "ContinuousBernoulli")]


@pytest.mark.parametrize("pair", KL_PAIRS, ids=lambda pr: "-".join(pr))
def test_kl_matches_torch_values_and_gradients(pair):
    rng = np.random.default_rng(sum(map(ord, "".join(pair))))
    pp, qp = base_params(pair[0], rng, (3, 1)), base_params(pair[1], rng, (4,))
    got = {}
    for lib in (pyml, torch):
        p, p_leaves = build(lib, pair[0], pp, rg=True)
        q, q_leaves = build(lib, pair[1], qp, rg=True)
        batch = torch.broadcast_shapes(p.batch_shape, q.batch_shape)  # torch's masked formulas need it
        kl = lib_of(lib).kl_divergence(p.expand(batch), q.expand(batch))
        leaves = list(p_leaves.values()) + list(q_leaves.values())
        w = lib.tensor(np.random.default_rng(0).normal(size=tuple(kl.shape)))
        if not kl.requires_grad:  # a constant inf: the supports do not fit
            got[lib] = (kl, [])
            continue
        finite = lib.isfinite(kl)
        got[lib] = (kl, lib.autograd.grad((lib.where(finite, kl, 0.0) * w).sum(), leaves, allow_unused=True))
    close(got[pyml][0], got[torch][0], msg="kl")
    assert len(got[pyml][1]) == len(got[torch][1])
    if got[pyml][1]:  # pyml's formulas broadcast the batches themselves
        close(pd.kl_divergence(build(pyml, pair[0], pp)[0], build(pyml, pair[1], qp)[0]), got[torch][0])
    for gp, gt in zip(got[pyml][1], got[torch][1]):
        if gt is None:
            assert gp is None or not np.any(npy(gp))
        else:
            np.testing.assert_allclose(npy(gp), npy(gt), rtol=1e-8, atol=1e-10, equal_nan=True)


def test_kl_not_implemented_like_torch():
    for (pn, pp), (qn, qp) in [(("LogNormal", (0.0, 1.0)), ("Gumbel", (0.0, 1.0))),
                               (("Weibull", (1.0, 2.0)), ("Weibull", (1.0, 3.0))),  # different transforms
                               (("Gumbel", (0.0, 1.0)), ("Pareto", (1.0, 2.0)))]:
        for lib in (pd, td):
            args_p = [torch.tensor(a) if lib is td else pyml.tensor(a) for a in pp]
            args_q = [torch.tensor(a) if lib is td else pyml.tensor(a) for a in qp]
            if (pn, qn) == ("Gumbel", "Pareto"):
                assert bool(lib.kl_divergence(getattr(lib, pn)(*args_p), getattr(lib, qn)(*args_q)).isinf())
                continue
            with pytest.raises(NotImplementedError):
                lib.kl_divergence(getattr(lib, pn)(*args_p), getattr(lib, qn)(*args_q))
    for lib in (pd, td):
        rb = lib.RelaxedBernoulli(lib.Normal(0.0, 1.0).loc + 0.5, probs=lib.Normal(0.0, 1.0).loc + 0.3)
        with pytest.raises(NotImplementedError):  # TD pair with equal transforms, but no base pair
            lib.kl_divergence(rb, rb)


def test_every_torch_distributions_name_and_module_path_exists():
    import importlib
    import torch.distributions as td
    names = {n for n in dir(td) if not n.startswith("_")}
    assert names <= set(dir(pyml.distributions))
    for name, cls in (("beta", "Beta"), ("negative_binomial", "NegativeBinomial"), ("chi2", "Chi2"),
                      ("log_normal", "LogNormal"), ("studentT", "StudentT")):
        mod = importlib.import_module(f"pyml.distributions.{name}")
        assert getattr(mod, cls) is getattr(pyml.distributions, cls)
