"""pyml.distributions Poisson, Binomial, Multinomial, Geometric and NegativeBinomial against torch.distributions
in float64: probs/logits both ways, log_prob of integer values with broadcasting, entropy, mean, variance, mode,
enumerate_support, expand, gradients; frequencies of 200k seeded samples against the pmf (chi-square bound) and
their moments; the ValueErrors torch raises; kl_divergence of the pairs torch registers."""
import numpy as np
import pytest
import torch

import pyml
import pyml.distributions as pd
import torch.distributions as td
from test_distributions import close, npy, to_lib


def poisson_params(rng, shape):
    return {"rate": rng.uniform(0.0, 12, shape)}


def binomial_params(given):
    def make(rng, shape):
        p = {"probs": rng.uniform(0.02, 0.98, shape)} if given == "probs" else {"logits": rng.normal(0, 2, shape)}
        return dict(p, total_count=rng.integers(0, 15, shape).astype(np.float64))
    return make


def geometric_params(given):
    def make(rng, shape):
        return {"probs": rng.uniform(0.05, 1.0, shape)} if given == "probs" else {"logits": rng.normal(0, 2, shape)}
    return make


def negbin_params(given):
    def make(rng, shape):
        p = {"probs": rng.uniform(0.0, 0.9, shape)} if given == "probs" else {"logits": rng.normal(0, 1.5, shape)}
        return dict(p, total_count=rng.uniform(0.0, 6, shape))
    return make


CASES = {"Poisson": poisson_params, "Binomial-probs": binomial_params("probs"),
         "Binomial-logits": binomial_params("logits"), "Geometric-probs": geometric_params("probs"),
         "Geometric-logits": geometric_params("logits"), "NegativeBinomial-probs": negbin_params("probs"),
         "NegativeBinomial-logits": negbin_params("logits")}
SHAPES = [(), (7,), (3, 4), (2, 1, 3)]
HAS_ENTROPY = ("Binomial", "Geometric")


def build(lib, name, params, rg=False):
    leaves = {k: to_lib(lib, v, rg=rg and k != "total_count") for k, v in params.items()}
    return getattr(pd if lib is pyml else td, name)(**leaves), {k: v for k, v in leaves.items() if k != "total_count"}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("case", list(CASES))
def test_values_match_torch(case, shape):
    name = case.split("-")[0]
    rng = np.random.default_rng(len(case) * 10 + len(shape))
    params = CASES[case](rng, shape)
    if shape == () and name == "Binomial":
        params["total_count"] = 9.0  # a number total_count with a 0-dim parameter
    (p, _), (t, _) = build(pyml, name, params), build(torch, name, params)
    assert tuple(p.batch_shape) == tuple(t.batch_shape)
    for attr in ("mean", "variance", "stddev", "mode", "probs", "logits"):
        if hasattr(t, attr) and attr in dir(type(t)):
            close(getattr(p, attr), getattr(t, attr), msg=attr)
    if name == "Binomial" and np.ptp(params["total_count"]) > 0:
        for d in (p, t):
            with pytest.raises(NotImplementedError):
                d.entropy()  # only for one common total_count
        (pe, _), (te, _) = [build(lib, name, dict(params, total_count=11.0)) for lib in (pyml, torch)]
        close(pe.entropy(), te.entropy(), msg="entropy")
    elif name in HAS_ENTROPY:
        close(p.entropy(), t.entropy(), msg="entropy")
    for vshape in [(2,) + shape, shape[-1:], (3, 1) + shape]:
        total = params.get("total_count") if name == "Binomial" else None
        k = rng.integers(0, 12, vshape).astype(np.float64)
        if total is not None:
            k = np.minimum(k, total) + np.zeros(np.broadcast_shapes(vshape, np.shape(total)))
        close(p.log_prob(pyml.tensor(k)), t.log_prob(torch.tensor(k)), msg=f"log_prob {vshape}")


def test_edge_values_match_torch():
    pairs = [("Poisson", {"rate": np.array([0.0, 0.0, 3.0])}, [0.0, 2.0, 0.0]),
             ("Binomial", {"total_count": np.array([0.0, 5.0, 5.0]), "probs": np.array([0.3, 0.0, 1.0])}, [0.0, 0.0, 5.0]),
             ("Geometric", {"probs": np.array([1.0, 1.0, 0.3])}, [0.0, 2.0, 0.0]),
             ("NegativeBinomial", {"total_count": np.array([0.0, 0.0, 2.5]), "probs": np.array([0.3, 0.5, 0.0])},
              [0.0, 3.0, 0.0])]
    for name, params, k in pairs:
        (p, _), (t, _) = build(pyml, name, params), build(torch, name, params)
        close(p.log_prob(pyml.tensor(k)), t.log_prob(torch.tensor(k)), msg=name)
    logits = np.array([-800.0, -30.0, 0.0, 40.0, 900.0])
    (p, _), (t, _) = build(pyml, "Binomial", {"total_count": 7.0, "logits": logits}), \
        build(torch, "Binomial", {"total_count": 7.0, "logits": logits})
    k = np.array([0.0, 1.0, 3.0, 7.0, 7.0])
    close(p.log_prob(pyml.tensor(k)), t.log_prob(torch.tensor(k)))


@pytest.mark.parametrize("case", list(CASES))
def test_gradients_match_torch(case):
    name = case.split("-")[0]
    rng = np.random.default_rng(8)
    params = CASES[case](rng, (3, 4))
    k = rng.integers(0, 4, (2, 3, 4)).astype(np.float64)
    if name == "Binomial":
        params["total_count"] = np.full((3, 4), 6.0)  # entropy needs one common count
    w = rng.normal(size=(2, 3, 4))
    got = {}
    for lib in (pyml, torch):
        d, leaves = build(lib, name, params, rg=True)
        out = (d.log_prob(lib.tensor(k)) * lib.tensor(w)).sum() + (d.mean * d.variance).sum()
        if name in HAS_ENTROPY:
            out = out + d.entropy().sum()
        got[lib] = lib.autograd.grad(out, list(leaves.values()))
    for gp, gt in zip(got[pyml], got[torch]):
        np.testing.assert_allclose(npy(gp), npy(gt), rtol=1e-10, atol=1e-10)


def test_enumerate_support_and_expand_match_torch():
    probs = np.array([[0.2, 0.7, 0.5]])
    (p, _), (t, _) = build(pyml, "Binomial", {"total_count": 4.0, "probs": probs}), \
        build(torch, "Binomial", {"total_count": 4.0, "probs": probs})
    assert p.has_enumerate_support and t.has_enumerate_support
    for expand in (True, False):
        close(p.enumerate_support(expand), t.enumerate_support(expand))
    uneven = pd.Binomial(pyml.tensor([2.0, 3.0]), pyml.tensor([0.5, 0.5]))
    with pytest.raises(NotImplementedError):
        uneven.enumerate_support()
    for case in CASES:
        name = case.split("-")[0]
        params = CASES[case](np.random.default_rng(2), (3, 1))
        (p, _), (t, _) = build(pyml, name, params), build(torch, name, params)
        pe, te = p.expand((2, 3, 5)), t.expand((2, 3, 5))
        assert tuple(pe.batch_shape) == tuple(te.batch_shape) == (2, 3, 5)
        k = np.zeros((2, 3, 5))
        close(pe.log_prob(pyml.tensor(k)), te.log_prob(torch.tensor(k)), msg=case)
        assert tuple(pe.sample((4,)).shape) == (4, 2, 3, 5)
        with pytest.raises(ValueError):
            p.expand((4, 4))


# ---------------------------------------------------------------------------------------- Multinomial
@pytest.mark.parametrize("given", ["probs", "logits"])
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 1, 3)], ids=str)
def test_multinomial_matches_torch(shape, given):
    rng = np.random.default_rng(len(shape) * 7 + shape[-1])
    param = rng.uniform(0.05, 1, shape) if given == "probs" else rng.normal(0, 2, shape)
    p, t = pd.Multinomial(6, **{given: pyml.tensor(param)}), td.Multinomial(6, **{given: torch.tensor(param)})
    assert tuple(p.batch_shape) == tuple(t.batch_shape) and tuple(p.event_shape) == tuple(t.event_shape)
    for attr in ("mean", "variance", "probs", "logits"):
        close(getattr(p, attr), getattr(t, attr), msg=attr)
    # torch takes lgamma(n + 1) of an int64 tensor, which rounds through float32 (~1e-7)
    np.testing.assert_allclose(npy(p.entropy()), npy(t.entropy()), rtol=1e-6)
    x = npy(t.sample((5,)))
    close(p.log_prob(pyml.tensor(x)), t.log_prob(torch.tensor(x)))
    s = p.sample((4, 2))
    assert tuple(s.shape) == (4, 2) + shape and np.all(npy(s).sum(-1) == 6)


def test_multinomial_zero_probabilities_and_errors():
    probs = np.array([0.0, 0.3, 0.7])
    p, t = pd.Multinomial(4, probs=pyml.tensor(probs)), td.Multinomial(4, probs=torch.tensor(probs))
    x = np.array([[0.0, 1.0, 3.0], [1.0, 1.0, 2.0]])
    close(p.log_prob(pyml.tensor(x)), t.log_prob(torch.tensor(x)))
    assert np.all(npy(p.sample((1000,)))[:, 0] == 0)
    with pytest.raises(NotImplementedError):
        pd.Multinomial(pyml.tensor([3.0]), probs=pyml.tensor(probs))
    for lib, dist in ((torch, td), (pyml, pd)):
        with pytest.raises(ValueError):
            dist.Multinomial(4, probs=lib.tensor([0.5, -0.1, 0.6], dtype=lib.float64))
        with pytest.raises(ValueError):
            dist.Multinomial(4, probs=lib.tensor(probs)).log_prob(lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64))


def test_multinomial_sample_frequencies():
    n, probs = 50_000, np.array([0.1, 0.2, 0.3, 0.4])
    pyml.manual_seed(5)
    x = npy(pd.Multinomial(10, probs=pyml.tensor(probs)).sample((n,)))
    mean, var = 10 * probs, 10 * probs * (1 - probs)
    assert np.all(np.abs(x.mean(0) - mean) < 5 * np.sqrt(var / n))
    cov01 = -10 * probs[0] * probs[1]
    prod = (x[:, 0] - mean[0]) * (x[:, 1] - mean[1])
    assert abs(prod.mean() - cov01) < 5 * prod.std() / np.sqrt(n)


# ---------------------------------------------------------------------------------------- sampling
SAMPLE_CASES = [("Poisson", {"rate": np.array([0.3, 4.0, 25.0])}),
                ("Binomial", {"total_count": np.array([1.0, 10.0, 60.0]), "probs": np.array([0.3, 0.55, 0.8])}),
                ("Geometric", {"probs": np.array([0.15, 0.5, 0.9])}),
                ("NegativeBinomial", {"total_count": np.array([0.7, 3.0, 12.0]), "probs": np.array([0.2, 0.5, 0.7])})]


@pytest.mark.parametrize("name,params", SAMPLE_CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_sample_frequencies_match_the_pmf(name, params):
    """200k draws per member: a chi-square test of the counts against torch's pmf (cells with expected count
    >= 20, the tail pooled), at a p-value of ~1e-7, plus mean within 5 standard errors."""
    n = 200_000
    (p, _), (t, _) = build(pyml, name, params), build(torch, name, params)
    pyml.manual_seed(17)
    s = npy(p.sample((n,)))
    assert np.all(s == np.floor(s)) and np.all(s >= 0)
    mean, var = npy(t.mean), npy(t.variance)
    assert np.all(np.abs(s.mean(0) - mean) < 5 * np.sqrt(var / n))
    for j in range(3):
        ks = np.arange(int(s[:, j].max()) + 1, dtype=np.float64)
        one = getattr(td, name)(**{k: torch.tensor(v[j]) for k, v in params.items()})
        pmf = one.log_prob(torch.tensor(ks)).exp().numpy()
        keep = pmf * n >= 20
        obs = np.bincount(s[:, j].astype(np.int64), minlength=len(ks))
        o = np.append(obs[keep], n - obs[keep].sum())
        e = np.append(pmf[keep] * n, n - pmf[keep].sum() * n)
        o, e = (o[:-1], e[:-1]) if e[-1] < 20 else (o, e)
        chi2 = ((o - e) ** 2 / e).sum()
        dof = len(o) - 1
        assert chi2 < dof + 5.5 * np.sqrt(2 * dof) + 15, (j, chi2, dof)


@pytest.mark.parametrize("case", list(CASES))
def test_samples_are_seeded_shaped_and_not_reparameterised(case):
    name = case.split("-")[0]
    params = CASES[case](np.random.default_rng(3), (2, 3))
    (p, _), (t, _) = build(pyml, name, params), build(torch, name, params)
    pyml.manual_seed(4)
    a = p.sample((5,))
    pyml.manual_seed(4)
    b = p.sample((5,))
    np.testing.assert_array_equal(npy(a), npy(b))
    assert tuple(a.shape) == tuple(t.sample((5,)).shape) == (5, 2, 3)
    assert p.has_rsample is t.has_rsample is False
    with pytest.raises(NotImplementedError):
        p.rsample()


# ---------------------------------------------------------------------------------------- validation and KL
BAD = [("Poisson", {"rate": np.array([1.0, -0.5])}), ("Binomial", {"total_count": 2.5, "probs": 0.5}),
       ("Binomial", {"total_count": -1.0, "probs": 0.5}), ("Binomial", {"total_count": 3.0, "probs": 1.5}),
       ("Geometric", {"probs": 0.0}), ("Geometric", {"probs": np.array([0.5, 1.2])}),
       ("NegativeBinomial", {"total_count": 2.0, "probs": 1.0}),
       ("NegativeBinomial", {"total_count": -2.0, "probs": 0.5})]


@pytest.mark.parametrize("name,params", BAD, ids=str)
def test_bad_parameters_raise_like_torch(name, params):
    with pytest.raises(ValueError):
        build(torch, name, params)
    with pytest.raises(ValueError, match=name):
        build(pyml, name, params)
    getattr(pd, name)(**{k: to_lib(pyml, v) for k, v in params.items()}, validate_args=False)


def test_values_outside_the_support_raise_like_torch():
    for lib, dist in ((torch, td), (pyml, pd)):
        f = lib.float64
        for d, v in ((dist.Poisson(lib.tensor([2.0], dtype=f)), [1.5]), (dist.Poisson(lib.tensor([2.0], dtype=f)), [-1.0]),
                     (dist.Binomial(4, lib.tensor([0.5], dtype=f)), [5.0]), (dist.Geometric(lib.tensor([0.5])), [0.5]),
                     (dist.NegativeBinomial(3.0, lib.tensor([0.5], dtype=f)), [-2.0])):
            with pytest.raises(ValueError):
                d.log_prob(lib.tensor(v, dtype=f))
    with pytest.raises(ValueError):
        pd.Binomial(pyml.tensor([1.0]))
    with pytest.raises(ValueError):
        pd.Geometric(probs=0.5, logits=0.0)


KL_PAIRS = [("Poisson", "Poisson"), ("Binomial-probs", "Binomial-logits"), ("Geometric-probs", "Geometric-logits")]


@pytest.mark.parametrize("pair", KL_PAIRS, ids=str)
def test_kl_matches_torch(pair):
    rng = np.random.default_rng(len(pair[0]))
    pp, qp = CASES[pair[0]](rng, (3, 4)), CASES[pair[1]](rng, (3, 4))
    if "total_count" in pp:
        qp["total_count"] = pp["total_count"] = np.full((3, 4), 8.0)
    name = pair[0].split("-")[0]
    got = {}
    for lib in (pyml, torch):
        (p, lp), (q, lq) = build(lib, name, pp, rg=True), build(lib, name, qp, rg=True)
        kl = lib.distributions.kl_divergence(p, q)
        got[lib] = [kl] + list(lib.autograd.grad(kl.sum(), list(lp.values()) + list(lq.values())))
    for a, b in zip(got[pyml], got[torch]):
        np.testing.assert_allclose(npy(a), npy(b), rtol=1e-10, atol=1e-12)


def test_kl_infinite_and_unsupported_cases_match_torch():
    out = {}
    for lib, dist in ((pyml, pd), (torch, td)):
        f = lib.float64
        bp, bq = dist.Binomial(lib.tensor([5.0, 3.0], dtype=f), 0.3), dist.Binomial(3, lib.tensor([0.4, 0.4], dtype=f))
        po = dist.Poisson(lib.tensor([1.5, 2.0], dtype=f))
        be = dist.Bernoulli(lib.tensor([0.3, 0.9], dtype=f))
        out[lib] = [dist.kl_divergence(bp, bq), dist.kl_divergence(po, be), dist.kl_divergence(po, bq),
                    dist.kl_divergence(be, po)]
        with pytest.raises(NotImplementedError):
            dist.kl_divergence(bq, bp)
    for a, b in zip(out[pyml], out[torch]):
        close(a, b)
