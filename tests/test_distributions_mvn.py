"""pyml.distributions.MultivariateNormal against torch (covariance, precision or scale_tril given; batch
dims broadcast between loc and the matrix): moments, the three matrices, log_prob, entropy, gradients,
KL between two of them; 200k samples' mean and covariance; reparameterised gradients; the errors."""
import numpy as np
import pytest
import torch

import pyml
import pyml.distributions as pd
import torch.distributions as td
from test_distributions import close, npy

KINDS = ["covariance_matrix", "precision_matrix", "scale_tril"]
SHAPES = [((3,), ()), ((4, 3), (1,)), ((3,), (2,)), ((2, 1, 2), (5,)), ((1,), ())]  # (loc, matrix batch)


def spd(rng, batch, d):
    a = rng.normal(size=tuple(batch) + (d, d))
    return a @ np.swapaxes(a, -1, -2) + d * np.eye(d)


def params(rng, loc_shape, batch, kind):
    d = loc_shape[-1]
    c = spd(rng, batch, d)
    return rng.normal(size=loc_shape), (np.linalg.cholesky(c) if kind == "scale_tril" else c)


def both(loc, matrix, kind, rg=False):
    out = []
    for lib, dist in ((pyml, pd), (torch, td)):
        a, m = lib.tensor(loc, requires_grad=rg), lib.tensor(matrix, requires_grad=rg)
        out.append((dist.MultivariateNormal(a, **{kind: m}), a, m))
    return out


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("kind", KINDS)
def test_matches_torch(kind, shapes):
    rng = np.random.default_rng(len(shapes[0]) + 7 * len(shapes[1]))
    loc, matrix = params(rng, *shapes, kind)
    (p, _, _), (t, _, _) = both(loc, matrix, kind)
    assert tuple(p.batch_shape) == tuple(t.batch_shape) and tuple(p.event_shape) == tuple(t.event_shape)
    for attr in ("mean", "mode", "variance", "stddev", "covariance_matrix", "precision_matrix", "scale_tril"):
        close(getattr(p, attr), getattr(t, attr), msg=attr)
    close(p.entropy(), t.entropy(), msg="entropy")
    d = shapes[0][-1]
    for vshape in [(d,), (2,) + tuple(t.batch_shape) + (d,), (3,) + (1,) * len(t.batch_shape) + (d,)]:
        v = rng.normal(size=vshape)
        close(p.log_prob(pyml.tensor(v)), t.log_prob(torch.tensor(v)), msg=f"log_prob {vshape}")
    for s in [(), (3, 2)]:
        assert tuple(p.rsample(s).shape) == tuple(t.rsample(s).shape)
    pe, te = p.expand((4,) + tuple(t.batch_shape)), t.expand((4,) + tuple(t.batch_shape))
    assert tuple(pe.batch_shape) == tuple(te.batch_shape)
    close(pe.entropy(), te.entropy())


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_match_torch(kind):
    rng = np.random.default_rng(3)
    loc, matrix = params(rng, (2, 3), (2,), kind)
    v, w = rng.normal(size=(4, 2, 3)), rng.normal(size=(4, 2))
    grads = []
    for d, a, m in both(loc, matrix, kind, rg=True):
        lib = pyml if isinstance(a, pyml.Tensor) else torch
        out = (d.log_prob(lib.tensor(v)) * lib.tensor(w)).sum() + d.entropy().sum()
        grads.append(lib.autograd.grad(out, [a, m]))
    for gp, gt in zip(*grads):
        close(gp, gt)


@pytest.mark.parametrize("kind", ["covariance_matrix", "scale_tril"])
def test_kl_matches_torch(kind):
    rng = np.random.default_rng(4)
    pp, qp = params(rng, (2, 3), (2,), kind), params(rng, (3,), (4, 1), kind)
    got = []
    for lib, dist in ((pyml, pd), (torch, td)):
        leaves = [lib.tensor(x, requires_grad=True) for x in pp + qp]
        p = dist.MultivariateNormal(leaves[0], **{kind: leaves[1]})
        q = dist.MultivariateNormal(leaves[2], **{kind: leaves[3]})
        kl = dist.kl_divergence(p, q)
        got.append((kl, lib.autograd.grad(kl.sum(), leaves)))
    close(got[0][0], got[1][0])
    for gp, gt in zip(got[0][1], got[1][1]):
        close(gp, gt)
    p = pd.MultivariateNormal(pyml.tensor(pp[0]), **{kind: pyml.tensor(pp[1])})
    np.testing.assert_allclose(npy(pd.kl_divergence(p, p)), 0, atol=1e-12)


def test_sampling_statistics_and_rsample_gradient():
    n = 200_000
    loc = np.array([1.0, -2.0, 0.5])
    cov = np.array([[2.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 0.5]])
    a = pyml.tensor(loc, requires_grad=True)
    s = pyml.tensor(np.linalg.cholesky(cov), requires_grad=True)
    pyml.manual_seed(21)
    x = pd.MultivariateNormal(a, scale_tril=s).rsample((n,))
    xs = npy(x)
    assert np.all(np.abs(xs.mean(0) - loc) < 5 * np.sqrt(np.diag(cov) / n))
    se = np.sqrt((cov ** 2 + np.outer(np.diag(cov), np.diag(cov))) / n)  # of a sample covariance entry
    assert np.all(np.abs(np.cov(xs.T) - cov) < 5 * se)
    ga, gs = pyml.autograd.grad(x.mean(0).sum(), [a, s])
    close(ga, pyml.ones(3, dtype=pyml.float64))  # d/dloc of mean(loc + L eps) = 1
    eps = np.linalg.solve(np.linalg.cholesky(cov), (xs - loc).T).T  # the draws behind the samples
    close(gs, pyml.tensor(np.tile(eps.mean(0), (3, 1))), "float32")  # d/dL_ij = mean(eps_j), as torch has it
    pyml.manual_seed(21)
    y = pd.MultivariateNormal(a, scale_tril=s).sample((n,))
    assert not y.requires_grad
    np.testing.assert_array_equal(npy(y), xs)


BAD = [{"covariance_matrix": np.array([[1.0, 2.0], [2.0, 1.0]])},
       {"covariance_matrix": np.array([[1.0, 0.5], [0.4, 1.0]])},
       {"scale_tril": np.array([[1.0, 2.0], [0.0, 1.0]])}, {"scale_tril": np.array([[-1.0, 0.0], [0.0, 1.0]])},
       {"precision_matrix": -np.eye(2)}, {"covariance_matrix": np.eye(2), "scale_tril": np.eye(2)}, {}]


@pytest.mark.parametrize("kw", BAD, ids=str)
def test_bad_parameters_raise_like_torch(kw):
    with pytest.raises(ValueError):
        td.MultivariateNormal(torch.zeros(2, dtype=torch.float64), **{k: torch.tensor(v) for k, v in kw.items()})
    with pytest.raises(ValueError, match="MultivariateNormal"):
        pd.MultivariateNormal(pyml.zeros(2, dtype=pyml.float64), **{k: pyml.tensor(v) for k, v in kw.items()})


def test_shape_errors():
    with pytest.raises(ValueError, match="square"):
        pd.MultivariateNormal(pyml.zeros(3), pyml.eye(2))
    with pytest.raises(ValueError, match="one-dimensional"):
        pd.MultivariateNormal(pyml.tensor(0.0), pyml.eye(1))
    with pytest.raises(ValueError, match="two-dimensional"):
        pd.MultivariateNormal(pyml.zeros(2), pyml.ones(2))
    d = pd.MultivariateNormal(pyml.zeros(2), pyml.eye(2))
    with pytest.raises(ValueError):
        d.log_prob(pyml.zeros(3))
    with pytest.raises(ValueError):
        d.log_prob(pyml.tensor([0.0, float("nan")]))
