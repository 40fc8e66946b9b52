"""pyml.distributions, discrete (Bernoulli, Categorical, OneHotCategorical) and Independent against
torch.distributions: probs/logits both ways, log_prob of integer values with broadcasting, entropy (zero
probabilities included), mean, variance, mode, enumerate_support, expand, gradients; frequencies of 200k
samples (chi-square bound), sample shapes, and the validation errors torch raises."""
import numpy as np
import pytest
import torch

import pyml
import pyml.distributions as pd
import torch.distributions as td
from test_distributions import make, close, npy, to_lib, CONTINUOUS, inside

CHI2_BOUND = {1: 30.0, 3: 35.0, 4: 37.0, 5: 39.0}  # chi-square quantile at p ~ 1e-7 by degrees of freedom


def chi_square(counts, probs):
    expected = probs * counts.sum()
    return float(((counts - expected) ** 2 / expected).sum())


def rand_probs(rng, shape, zeros=False):
    p = rng.uniform(0.05, 1, shape)
    if zeros:
        p[..., 0] = 0.0
    return p


# ---------------------------------------------------------------------------------------- Categorical
CAT_SHAPES = [(5,), (3, 4), (2, 1, 7), (1, 2)]


@pytest.mark.parametrize("given", ["probs", "logits"])
@pytest.mark.parametrize("shape", CAT_SHAPES, ids=str)
@pytest.mark.parametrize("name", ["Categorical", "OneHotCategorical"])
def test_categoricals_match_torch(name, shape, given):
    rng = np.random.default_rng(len(shape) * 10 + shape[-1])
    param = rand_probs(rng, shape) if given == "probs" else rng.normal(0, 2, shape)
    p, t = make(name, {given: param})
    assert tuple(p.batch_shape) == tuple(t.batch_shape) and tuple(p.event_shape) == tuple(t.event_shape)
    for attr in ("probs", "logits", "mean", "variance", "mode", "param_shape"):
        a, b = getattr(p, attr), getattr(t, attr)
        if attr == "param_shape":
            assert tuple(a) == tuple(b)
        else:
            close(a, b, msg=attr)
    close(p.entropy(), t.entropy(), msg="entropy")
    close(p.enumerate_support(), t.enumerate_support(), msg="support")
    close(p.enumerate_support(expand=False), t.enumerate_support(expand=False), msg="support")
    k = shape[-1]
    idx = rng.integers(0, k, (3,) + shape[:-1])
    value = idx if name == "Categorical" else np.eye(k)[idx]
    close(p.log_prob(pyml.tensor(value)), t.log_prob(torch.tensor(value)), msg="log_prob")


def test_categorical_log_prob_broadcasts_integer_values():
    rng = np.random.default_rng(3)
    p, t = make("Categorical", {"logits": rng.normal(size=(3, 5))})
    for value in (np.array(4), np.array([[1], [2], [0], [4]]), rng.integers(0, 5, (2, 1, 3))):
        close(p.log_prob(pyml.tensor(value)), t.log_prob(torch.tensor(value)))
    close(p.log_prob(pyml.tensor(2.0)), t.log_prob(torch.tensor(2.0)))  # an integral float is accepted


def test_zero_probabilities():
    rng = np.random.default_rng(4)
    probs = rand_probs(rng, (4, 6), zeros=True)
    p, t = make("Categorical", {"probs": probs})
    close(p.entropy(), t.entropy())
    close(p.log_prob(pyml.tensor([0, 1, 2, 0])), t.log_prob(torch.tensor([0, 1, 2, 0])))
    q, u = make("Categorical", {"logits": np.where(probs > 0, np.log(np.maximum(probs, 1e-300)), -np.inf)})
    close(q.entropy(), u.entropy())


def test_categorical_gradients_match_torch():
    rng = np.random.default_rng(5)
    logits, w = rng.normal(size=(3, 5)), rng.normal(size=(3,))
    value = np.array([4, 0, 2])
    got = {}
    for lib, dist in ((pyml, pd), (torch, td)):
        leaf = lib.tensor(logits, requires_grad=True)
        d = dist.Categorical(logits=leaf)
        out = (d.log_prob(lib.tensor(value)) * lib.tensor(w)).sum() + d.entropy().sum()
        got[lib] = lib.autograd.grad(out, leaf)[0]
    close(got[pyml], got[torch])


@pytest.mark.parametrize("name", ["Categorical", "OneHotCategorical"])
def test_categorical_frequencies(name):
    n, probs = 200_000, np.array([[0.1, 0.2, 0.3, 0.4, 0.0], [0.5, 0.25, 0.125, 0.0625, 0.0625]])
    p, _ = make(name, {"probs": probs})
    pyml.manual_seed(11)
    s = npy(p.sample((n,)))
    for j in range(2):
        counts = np.bincount(s[:, j].astype(int), minlength=5) if name == "Categorical" else s[:, j].sum(0)
        keep = probs[j] > 0
        assert counts[~keep].sum() == 0  # never a zero-probability category
        assert chi_square(counts[keep], probs[j][keep]) < CHI2_BOUND[int(keep.sum()) - 1]


@pytest.mark.parametrize("sample_shape", [(), (3, 2), (0,), (1, 4, 1)], ids=str)
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 1, 3)], ids=str)
@pytest.mark.parametrize("name", ["Categorical", "OneHotCategorical", "Bernoulli"])
def test_discrete_sample_shapes_match_torch(name, shape, sample_shape):
    p, t = make(name, {"probs": rand_probs(np.random.default_rng(1), shape)})
    a, b = p.sample(sample_shape), t.sample()  # (torch's Categorical cannot draw 0 samples)
    assert tuple(a.shape) == tuple(t._extended_shape(sample_shape))
    assert (a.dtype == pyml.int64) == (b.dtype == torch.int64) and not a.requires_grad
    with pytest.raises(NotImplementedError):
        p.rsample()
    assert p.has_rsample is t.has_rsample is False


@pytest.mark.parametrize("name", ["Categorical", "OneHotCategorical", "Bernoulli"])
def test_discrete_expand_matches_torch(name):
    rng = np.random.default_rng(8)
    p, t = make(name, {"logits": rng.normal(size=(1, 4))})
    pe, te = p.expand((3, 1) if name != "Bernoulli" else (3, 4)), t.expand((3, 1) if name != "Bernoulli" else (3, 4))
    assert tuple(pe.batch_shape) == tuple(te.batch_shape)
    close(pe.entropy(), te.entropy())
    close(pe.enumerate_support(), te.enumerate_support())


@pytest.mark.parametrize("name", ["Categorical", "OneHotCategorical", "Bernoulli"])
def test_probs_first_computed_by_sample_keep_their_gradient(name):
    """sample() runs under no_grad; the probs it computes from logits on the way are cached for later use
    and must still lead back to the logits (torch computes lazy attributes with grad on too)."""
    logits = pyml.tensor([[0.3, -1.0, 2.0]], dtype=pyml.float64, requires_grad=True)
    d = getattr(pd, name)(logits=logits)
    d.sample((4,))
    g, = pyml.autograd.grad(d.probs[..., 0].sum(), logits)
    p = 1 / (1 + np.exp(-logits.detach().numpy()))
    if name != "Bernoulli":
        p = np.exp(logits.detach().numpy()) / np.exp(logits.detach().numpy()).sum()
        p = np.where(np.arange(3) == 0, p[0, 0], 0) - p[0, 0] * p  # d softmax_0 / d logits
    else:
        p = np.where(np.arange(3) == 0, p * (1 - p), 0)
    np.testing.assert_allclose(g.numpy(), p, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------- Bernoulli
@pytest.mark.parametrize("given", ["probs", "logits"])
@pytest.mark.parametrize("shape", [(), (7,), (3, 1, 2)], ids=str)
def test_bernoulli_matches_torch(shape, given):
    rng = np.random.default_rng(len(shape))
    param = rng.uniform(0, 1, shape) if given == "probs" else rng.normal(0, 3, shape)
    p, t = make("Bernoulli", {given: param})
    assert tuple(p.batch_shape) == tuple(t.batch_shape)
    for attr in ("probs", "logits", "mean", "variance", "mode"):
        close(getattr(p, attr), getattr(t, attr), msg=attr)
    close(p.entropy(), t.entropy())
    close(p.enumerate_support(), t.enumerate_support())
    value = rng.integers(0, 2, (2,) + shape).astype(np.float64)
    close(p.log_prob(pyml.tensor(value)), t.log_prob(torch.tensor(value)))


def test_bernoulli_edges_and_scalar():
    p, t = make("Bernoulli", {"probs": np.array([0.0, 0.5, 1.0])})
    for attr in ("mode", "variance"):
        close(getattr(p, attr), getattr(t, attr))
    close(p.entropy(), t.entropy())
    v = np.array([0.0, 1.0, 1.0])
    close(p.log_prob(to_lib(pyml, v)), t.log_prob(to_lib(torch, v)))
    p, t = make("Bernoulli", {"probs": 0.3})
    assert tuple(p.batch_shape) == () == tuple(t.batch_shape)
    close(p.log_prob(pyml.tensor([1.0, 0.0])), t.log_prob(torch.tensor([1.0, 0.0])), "float32")


def test_bernoulli_frequencies_and_gradients():
    n, probs = 200_000, np.array([0.02, 0.5, 0.9])
    p, _ = make("Bernoulli", {"probs": probs})
    pyml.manual_seed(12)
    mean = npy(p.sample((n,))).mean(0)
    assert np.all(np.abs(mean - probs) < 5 * np.sqrt(probs * (1 - probs) / n))
    logits, value = np.array([-1.0, 0.3, 2.0]), np.array([1.0, 0.0, 1.0])
    got = {}
    for lib, dist in ((pyml, pd), (torch, td)):
        leaf = lib.tensor(logits, requires_grad=True)
        d = dist.Bernoulli(logits=leaf)
        got[lib] = lib.autograd.grad(d.log_prob(lib.tensor(value)).sum() + d.entropy().sum(), leaf)[0]
    close(got[pyml], got[torch])


# ---------------------------------------------------------------------------------------- Independent
@pytest.mark.parametrize("ndims", [0, 1, 2])
@pytest.mark.parametrize("name", list(CONTINUOUS))
def test_independent_matches_torch(name, ndims):
    rng = np.random.default_rng(ndims)
    params = CONTINUOUS[name](rng, (2, 3, 1), (4,))
    bp, bt = make(name, params)
    p, t = pd.Independent(bp, ndims), td.Independent(bt, ndims)
    assert tuple(p.batch_shape) == tuple(t.batch_shape) and tuple(p.event_shape) == tuple(t.event_shape)
    assert p.has_rsample is t.has_rsample
    for attr in ("mean", "variance", "mode"):
        close(getattr(p, attr), getattr(t, attr))
    close(p.entropy(), t.entropy())
    v = inside(name, params, rng, (5, 2, 3, 4))
    close(p.log_prob(pyml.tensor(v)), t.log_prob(torch.tensor(v)))
    assert tuple(p.rsample((3,)).shape) == tuple(t.rsample((3,)).shape)
    pe, te = p.expand((7,) + tuple(t.batch_shape)), t.expand((7,) + tuple(t.batch_shape))
    assert tuple(pe.batch_shape) == tuple(te.batch_shape) and tuple(pe.event_shape) == tuple(te.event_shape)


def test_independent_of_a_discrete_distribution():
    p, t = make("Bernoulli", {"probs": np.random.default_rng(2).uniform(size=(3, 4))})
    pi, ti = pd.Independent(p, 1), td.Independent(t, 1)
    value = np.random.default_rng(3).integers(0, 2, (6, 3, 4)).astype(np.float64)
    close(pi.log_prob(pyml.tensor(value)), ti.log_prob(torch.tensor(value)))
    assert pi.has_enumerate_support is ti.has_enumerate_support is False
    ok = pi.support.check(pyml.tensor(value))
    assert bool(ok.all()) and tuple(ok.shape) == (6, 3)
    with pytest.raises(NotImplementedError):
        pi.enumerate_support()


# ---------------------------------------------------------------------------------------- validation
BAD = [("Categorical", {"probs": np.array([-0.1, 1.1])}), ("Categorical", {"probs": np.array(0.5)}),
       ("Categorical", {"logits": np.array([0.0, np.nan])}), ("Bernoulli", {"probs": np.array([0.5, 1.5])}),
       ("Bernoulli", {"probs": np.array([-0.5])}), ("Bernoulli", {"probs": 0.5, "logits": 0.0}),
       ("Bernoulli", {}), ("Categorical", {}), ("OneHotCategorical", {"probs": np.array([0.2, -0.2])}),
       ("Bernoulli", {"logits": np.array([np.nan])})]


@pytest.mark.parametrize("name,params", BAD, ids=str)
def test_bad_parameters_raise_like_torch(name, params):
    with pytest.raises(ValueError):
        getattr(td, name)(**{k: to_lib(torch, v) for k, v in params.items()})
    with pytest.raises(ValueError):
        getattr(pd, name)(**{k: to_lib(pyml, v) for k, v in params.items()})


OUTSIDE = [("Categorical", [5]), ("Categorical", [1.5]), ("Categorical", [-1]), ("Bernoulli", [0.5]),
           ("Bernoulli", [2.0]), ("OneHotCategorical", [1.0, 1.0, 0.0]), ("OneHotCategorical", [1.0, 0.0])]


@pytest.mark.parametrize("name,value", OUTSIDE, ids=str)
def test_values_outside_the_support_raise_like_torch(name, value):
    probs = np.array([0.2, 0.3, 0.5]) if name != "Bernoulli" else np.array(0.4)
    p, t = make(name, {"probs": probs})
    for lib, d in ((torch, t), (pyml, p)):
        with pytest.raises(ValueError):
            d.log_prob(lib.tensor(value))


def test_independent_bad_arguments():
    base = pd.Normal(pyml.zeros(3), 1.0)
    with pytest.raises(ValueError):
        td.Independent(td.Normal(torch.zeros(3), 1.0), 2)
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims"):
        pd.Independent(base, 2)
    with pytest.raises(TypeError):
        pd.Independent(3, 1)


def test_constraints_module():
    c = pd.constraints
    x = pyml.tensor([[0.2, 0.8], [0.5, 0.6]])
    assert c.simplex.check(x).tolist() == [True, False]
    assert c.integer_interval(0, 3).check(pyml.tensor([0.0, 3.0, 1.5, 4.0])).tolist() == [True, True, False, False]
    assert c.positive.check(pyml.tensor([1.0, 0.0])).tolist() == [True, False]
    assert c.real_vector.check(pyml.tensor([[1.0, float("nan")], [0.0, 1.0]])).tolist() == [False, True]
    assert c.one_hot.check(pyml.tensor([[0.0, 1.0], [1.0, 1.0]])).tolist() == [True, False]
    assert c.is_dependent(pd.Uniform.support) and not c.is_dependent(c.real)
    assert pd.Uniform(0.0, 2.0).support.check(pyml.tensor([2.5, 1.0])).tolist() == [False, True]
    with pytest.raises(ValueError):
        c.dependent.check(x)
