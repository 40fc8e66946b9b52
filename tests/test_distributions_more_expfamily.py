"""pyml.distributions ContinuousBernoulli's own behaviour (probs validated before the clamp, the Taylor band
around 1/2 joining the closed forms smoothly, custom lims), the ExponentialFamily base (Bregman entropy equal to
the closed forms, differentiable, abstract methods) and OneHotCategoricalStraightThrough (forward value the
one-hot sample, torch's straight-through gradient, KL through the one-hot pair), against torch where it applies."""
import numpy as np
import pytest
import torch

import pyml
import pyml.distributions as pd
import torch.distributions as td
from test_distributions import close, npy, to_lib


def test_continuous_bernoulli_probs_are_checked_before_the_clamp():
    for probs in (1.5, -0.1, np.array([0.3, 1.01])):
        with pytest.raises(ValueError):
            td.ContinuousBernoulli(to_lib(torch, probs), validate_args=True)
        with pytest.raises(ValueError):
            pd.ContinuousBernoulli(to_lib(pyml, probs))
        pd.ContinuousBernoulli(to_lib(pyml, probs), validate_args=False)
    with pytest.raises(ValueError):
        pd.ContinuousBernoulli(0.3, 0.1)
    with pytest.raises(ValueError):
        pd.ContinuousBernoulli()
    d = pd.ContinuousBernoulli(pyml.tensor([0.0, 1.0]))  # the ends are allowed, then clamped
    assert np.all(np.isfinite(npy(d.log_prob(pyml.tensor([0.5, 0.5])))))


def test_continuous_bernoulli_is_smooth_across_the_taylor_band():
    """The closed forms (outside lims) and the expansions (inside) meet: across p = 0.499 and 0.501 the second
    differences of log_prob/mean/variance/entropy and of their derivatives stay at the size of a smooth curve's
    (a jump of either would show here), and p = 1/2 has finite gradients."""
    h = 1e-5
    probs = np.array([0.499 - h, 0.499, 0.499 + h, 0.5, 0.501 - h, 0.501, 0.501 + h])
    x = pyml.tensor(probs, requires_grad=True)
    d = pd.ContinuousBernoulli(x)
    # the closed forms cancel near the band (like torch's, which they match): the variance to ~3e-9 in value and
    # ~1e-5 in derivative, the mean to ~1e-8 in derivative
    outs = [(d.log_prob(pyml.full((7,), 0.8, dtype=pyml.float64)), 1e-9, 1e-7), (d.mean, 1e-9, 1e-7),
            (d.variance, 1e-8, 3e-5), (d.entropy(), 1e-9, 1e-7)]  # f'' h^2 is ~1e-10
    for out, tol, gtol in outs:
        (g,) = pyml.autograd.grad(out.sum(), x, retain_graph=True)
        vals, grads = npy(out), npy(g)
        assert np.all(np.isfinite(grads))
        for a in (0, 4):
            assert abs(vals[a] - 2 * vals[a + 1] + vals[a + 2]) < tol
            assert abs(grads[a] - 2 * grads[a + 1] + grads[a + 2]) < gtol


def test_continuous_bernoulli_custom_lims_match_torch():
    probs = np.array([0.45, 0.48, 0.5, 0.53])
    p = pd.ContinuousBernoulli(pyml.tensor(probs), lims=(0.4, 0.6))
    t = td.ContinuousBernoulli(torch.tensor(probs), lims=(0.4, 0.6))
    close(p.mean, t.mean)
    close(p.log_prob(pyml.tensor(0.3, dtype=pyml.float64)), t.log_prob(torch.tensor(0.3, dtype=torch.float64)))
    assert p.expand((2, 4))._lims == (0.4, 0.6)


# ---------------------------------------------------------------------------------------- ExponentialFamily
def test_exponential_family_entropy_is_the_bregman_form():
    """ExponentialFamily.entropy (through grad of the log normaliser) equals the closed form; its gradient
    reaches the parameters (torch's detaches them), and equals the closed form's gradient."""
    logits = pyml.tensor([-3.0, -0.7, 0.4, 2.5], dtype=pyml.float64, requires_grad=True)
    d = pd.ContinuousBernoulli(logits=logits)
    bregman = pd.ExponentialFamily.entropy(d)
    close(bregman, d.entropy())
    close(bregman, td.ExponentialFamily.entropy(td.ContinuousBernoulli(logits=torch.tensor(logits.detach().numpy()))))
    (g1,) = pyml.autograd.grad(bregman.sum(), logits)
    (g2,) = pyml.autograd.grad(d.entropy().sum(), logits)
    np.testing.assert_allclose(npy(g1), npy(g2), rtol=1e-9, atol=1e-12)
    with pyml.no_grad():
        close(pd.ExponentialFamily.entropy(pd.ContinuousBernoulli(logits=logits.detach())), d.entropy())


def test_exponential_family_is_abstract():
    class Plain(pd.ExponentialFamily):
        pass
    d = Plain(validate_args=False)
    for call in (lambda: d._natural_params, lambda: d._log_normalizer(), lambda: d._mean_carrier_measure, d.entropy):
        with pytest.raises(NotImplementedError):
            call()
    assert isinstance(pd.ContinuousBernoulli(0.3), pd.ExponentialFamily)
    assert isinstance(pd.Wishart(3.0, pyml.eye(2)), pd.ExponentialFamily)


# ---------------------------------------------------------------------------------------- straight-through
def test_one_hot_straight_through_matches_torch():
    rng = np.random.default_rng(9)
    logits = rng.normal(size=(3, 5))
    w = rng.normal(size=(4, 3, 5))
    lp, lt = pyml.tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
    p, t = pd.OneHotCategoricalStraightThrough(logits=lp), td.OneHotCategoricalStraightThrough(logits=lt)
    assert p.has_rsample and isinstance(p, pd.OneHotCategorical) and tuple(p.event_shape) == (5,)
    pyml.manual_seed(4)
    x = p.rsample((4,))
    pyml.manual_seed(4)
    np.testing.assert_array_equal(npy(x), npy(p.sample((4,))))  # the forward value is the one-hot sample
    assert bool(p.support.check(x.detach()).all())
    (gp,) = pyml.autograd.grad((x * pyml.tensor(w)).sum(), lp)
    (gt,) = torch.autograd.grad((t.rsample((4,)) * torch.tensor(w)).sum(), lt)  # independent of the draw
    close(gp, gt)
    v = npy(x)
    close(p.log_prob(pyml.tensor(v)), t.log_prob(torch.tensor(v)))
    close(p.entropy(), t.entropy())
    e = p.expand((2, 3))
    assert type(e) is pd.OneHotCategoricalStraightThrough and tuple(e.rsample().shape) == (2, 3, 5)
    assert repr(p).startswith("OneHotCategoricalStraightThrough(")


def test_one_hot_straight_through_kl_uses_the_one_hot_pair():
    a, b = np.array([0.2, 0.3, 0.5]), np.array([0.6, 0.1, 0.3])
    p = pd.kl_divergence(pd.OneHotCategoricalStraightThrough(pyml.tensor(a)), pd.OneHotCategorical(pyml.tensor(b)))
    t = td.kl_divergence(td.OneHotCategoricalStraightThrough(torch.tensor(a)), td.OneHotCategorical(torch.tensor(b)))
    close(p, t)
