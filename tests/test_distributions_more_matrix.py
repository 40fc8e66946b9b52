"""pyml.distributions Wishart, LKJCholesky, LowRankMultivariateNormal and MixtureSameFamily against
torch.distributions in float64, with batch dims broadcast between the parameters: moments, the matrices,
log_prob (on torch's own samples), entropy and their gradients; sampling checked statistically (sample means
and covariances within standard errors, the LKJ marginal of a correlation against its Beta law, LKJ's density
normalised over dim 2); rsample against its formula and torch's gradient for the same noise (low-rank) or
Monte-Carlo expected gradients (Wishart); expand, reprs and the errors."""
import functools
import math
import warnings

import numpy as np
import pytest
import scipy.stats as st
import torch

import pyml
import pyml.distributions as pd
import torch.distributions as td
from test_distributions import close, npy, ks_distance

P = functools.partial(pyml.tensor, dtype=pyml.float64)  # lists and numbers become float64 too
T = functools.partial(torch.tensor, dtype=torch.float64)


def spd(rng, batch, d):
    a = rng.normal(size=tuple(batch) + (d, d))
    return a @ np.swapaxes(a, -1, -2) + d * np.eye(d)


def relclose(a, b, rtol=1e-10, msg=""):
    assert tuple(a.shape) == tuple(b.shape), msg
    np.testing.assert_allclose(npy(a), npy(b), rtol=rtol, atol=rtol, equal_nan=True, err_msg=msg)


# ---------------------------------------------------------------------------------------- Wishart
WISHART_SHAPES = [((), (), 3), ((4,), (2, 1), 3), ((2, 1), (3,), 2), ((), (1,), 5)]  # (df, matrix batch, p)
KINDS = ["covariance_matrix", "precision_matrix", "scale_tril"]


def wishart_params(rng, df_shape, batch, p, kind):
    s = spd(rng, batch, p)
    return p - 1 + log_uniform(rng, 0.3, 8, df_shape), np.linalg.cholesky(s) if kind == "scale_tril" else s


def log_uniform(rng, lo, hi, shape):
    return np.exp(rng.uniform(math.log(lo), math.log(hi), shape))


def wishart_both(df, m, kind, rg=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # low df warnings
        out = []
        for lib, dist in ((pyml, pd), (torch, td)):
            a, b = lib.tensor(df, requires_grad=rg), lib.tensor(m, requires_grad=rg)
            out.append((dist.Wishart(a, **{kind: b}), a, b))
        return out


@pytest.mark.filterwarnings("ignore:Singular sample")  # torch 2.13 warns on every Wishart sample
@pytest.mark.parametrize("shapes", WISHART_SHAPES, ids=str)
@pytest.mark.parametrize("kind", KINDS)
def test_wishart_matches_torch(kind, shapes):
    rng = np.random.default_rng(len(shapes[0]) * 10 + len(shapes[1]) + shapes[2])
    df, m = wishart_params(rng, *shapes, kind)
    (p, pdf, pm), (t, tdf, tm) = wishart_both(df, m, kind, rg=True)
    assert tuple(p.batch_shape) == tuple(t.batch_shape) and tuple(p.event_shape) == tuple(t.event_shape)
    for attr in ("mean", "mode", "variance", "covariance_matrix", "precision_matrix", "scale_tril"):
        relclose(getattr(p, attr), getattr(t, attr), msg=attr)
    relclose(p.entropy(), t.entropy(), msg="entropy")
    torch.manual_seed(0)
    x = t.sample((3,)).detach()
    lp_p, lp_t = p.log_prob(P(x.numpy())), t.log_prob(x)
    relclose(lp_p, lp_t, msg="log_prob")
    w = rng.normal(size=tuple(lp_t.shape))
    gp = pyml.autograd.grad((lp_p * P(w)).sum() + p.entropy().sum(), [pdf, pm])
    gt = torch.autograd.grad((lp_t * T(w)).sum() + t.entropy().sum(), [tdf, tm])
    if kind == "scale_tril":  # torch also passes gradients to the structural zeros above the diagonal
        gp, gt = (gp[0], gp[1].tril()), (gt[0], gt[1].tril())
    for a, b in zip(gp, gt):
        relclose(a, b, rtol=1e-8, msg="grad")  # torch's trigamma is good to ~5e-10
    if len(shapes[0]):  # torch formats a one-element parameter as a number, pyml's base class as a tensor
        assert repr(p) == repr(t).replace("torch", "pyml")


def test_wishart_exponential_family_entropy_is_the_closed_form():
    rng = np.random.default_rng(1)
    df, m = wishart_params(rng, (3,), (3,), 4, "covariance_matrix")
    (p, _, _), _ = wishart_both(df, m, "covariance_matrix")
    relclose(pd.ExponentialFamily.entropy(p), p.entropy())


def test_wishart_sample_moments():
    """40k draws: the mean and the elementwise variance within 5 standard errors of df S and the variance formula."""
    n = 40_000
    rng = np.random.default_rng(2)
    df = np.array([3.5, 9.0])
    s = spd(rng, (2,), 3) / 3
    d = pd.Wishart(P(df), covariance_matrix=P(s))
    pyml.manual_seed(3)
    for method in ("sample", "rsample"):
        x = npy(getattr(d, method)((n,)))  # (n, 2, 3, 3)
        assert np.all(np.linalg.eigvalsh(x) > 0) and np.allclose(x, np.swapaxes(x, -1, -2))
        mean, var = npy(d.mean), npy(d.variance)
        assert np.all(np.abs(x.mean(0) - mean) < 5 * np.sqrt(var / n))
        m4 = ((x - x.mean(0)) ** 4).mean(0)
        assert np.all(np.abs(x.var(0) - var) < 5 * np.sqrt((m4 - var ** 2) / n))


def test_wishart_rsample_gradients_are_unbiased():
    """E[tr X] = df tr S: per-sample gradients in df (through Chi2's implicit reparameterisation) average to
    tr S, and those in the scale factor to d(df tr(L L^T))/dL = 2 df L."""
    n = 20_000
    L = np.array([[1.2, 0.0], [0.4, 0.7]])
    df = pyml.full((n,), 3.0, dtype=pyml.float64, requires_grad=True)
    lt = P(L, requires_grad=True)
    pyml.manual_seed(4)
    x = pd.Wishart(df, scale_tril=lt).rsample()
    gdf, gl = pyml.autograd.grad(x.diagonal(dim1=-2, dim2=-1).sum(), [df, lt])
    g = npy(gdf)
    assert abs(g.mean() - np.trace(L @ L.T)) < 5 * g.std() / math.sqrt(n)
    np.testing.assert_allclose(npy(gl) / n, np.tril(2 * 3.0 * L), atol=0.05)


def test_wishart_redraws_singular_samples():
    d = pd.Wishart(P(3.0), covariance_matrix=P(np.eye(2)))
    good = d._bartlett_sampling
    calls = []

    def first_singular(shape):
        out = good(shape)
        if not calls:
            out = out * 0  # every first draw singular
        calls.append(1)
        return out
    d._bartlett_sampling = first_singular
    with pytest.warns(UserWarning, match="Singular"):
        x = d.rsample((4,))
    assert len(calls) == 2 and bool(d.support.check(x).all())
    d._bartlett_sampling = good
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d.rsample((4,))  # no warning when every draw is fine (torch warns on every call)


def test_wishart_expand_and_errors():
    rng = np.random.default_rng(5)
    d = pd.Wishart(P([4.0, 6.0]), covariance_matrix=P(spd(rng, (), 3)))
    e = d.expand((3, 2))
    assert tuple(e.batch_shape) == (3, 2) and tuple(e.sample().shape) == (3, 2, 3, 3)
    x = P(spd(rng, (3, 2), 3))
    close(e.log_prob(x), d.log_prob(x))
    close(e.entropy(), d.entropy().expand((3, 2)))
    with pytest.raises(ValueError):
        d.expand((3,))
    eye = P(np.eye(3))
    for bad in (lambda: pd.Wishart(2.0, eye), lambda: pd.Wishart(P([5.0, 1.5]), eye),
                lambda: pd.Wishart(4.0, eye, scale_tril=eye), lambda: pd.Wishart(4.0),
                lambda: pd.Wishart(4.0, P(np.ones(3))), lambda: pd.Wishart(4.0, P(-np.eye(3))),
                lambda: pd.Wishart(4.0, eye).log_prob(P(-np.eye(3)))):
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(ValueError):
        td.Wishart(2.0, torch.eye(3))
    with pytest.warns(UserWarning, match="Low df"):
        pd.Wishart(2.5, eye)


# ---------------------------------------------------------------------------------------- LKJCholesky
@pytest.mark.parametrize("dim", [2, 3, 5])
@pytest.mark.parametrize("conc_shape", [(), (4,), (2, 3)], ids=str)
def test_lkj_log_prob_matches_torch(dim, conc_shape):
    rng = np.random.default_rng(dim * 10 + len(conc_shape))
    conc = log_uniform(rng, 0.2, 6, conc_shape)
    cp = P(conc, requires_grad=True)
    ct = T(conc, requires_grad=True)
    p, t = pd.LKJCholesky(dim, cp), td.LKJCholesky(dim, ct)
    assert tuple(p.batch_shape) == tuple(t.batch_shape) and tuple(p.event_shape) == (dim, dim)
    torch.manual_seed(1)
    x = t.sample((3,))
    a, b = p.log_prob(P(x.numpy())), t.log_prob(x)
    relclose(a, b, msg="log_prob")
    (gp,), (gt,) = pyml.autograd.grad(a.sum(), cp), torch.autograd.grad(b.sum(), ct)
    relclose(gp, gt, rtol=1e-8, msg="grad")
    if conc_shape:
        assert repr(p) == repr(t).replace("torch", "pyml")


def test_lkj_density_is_normalised_in_two_dims():
    """For dim 2, L = [[1, 0], [r, sqrt(1 - r^2)]]: exp(log_prob) integrates to 1 over r in (-1, 1)."""
    r = np.linspace(-1, 1, 400_001)[1:-1]
    L = np.zeros((r.size, 2, 2))
    L[:, 0, 0], L[:, 1, 0], L[:, 1, 1] = 1.0, r, np.sqrt(1 - r ** 2)
    for conc in (0.7, 1.0, 4.0):
        dens = np.exp(npy(pd.LKJCholesky(2, P(conc)).log_prob(P(L))))
        # the grid leaves out 5e-6 at the ends (where the density is infinite for conc < 1)
        assert abs(np.trapezoid(dens, r) - 1) < (1e-3 if conc < 1 else 1e-5)


@pytest.mark.parametrize("dim,conc", [(2, 0.5), (3, 1.0), (4, 2.5), (6, 0.7)])
def test_lkj_samples_have_the_beta_marginals(dim, conc):
    """Each correlation r_ij of LKJ(dim, eta) has (r + 1) / 2 ~ Beta(b, b), b = eta - 1 + dim / 2, and row i's
    1 - L_ii^2 ~ Beta(i / 2, eta + (dim - 2) / 2 - (i - 1) / 2) (what log_prob implies): KS distances of 50k draws
    below the 1e-6 critical value; samples are valid Cholesky factors. (torch 2.13's sampler fails this for
    dim >= 3: it draws the rows' norms from Beta(i - 1/2, ...).)"""
    n = 50_000
    d = pd.LKJCholesky(dim, P(conc))
    pyml.manual_seed(6)
    L = d.sample((n,))
    assert tuple(L.shape) == (n, dim, dim) and bool(d.support.check(L).all()) and not L.requires_grad
    Lh = npy(L)
    C = Lh @ np.swapaxes(Lh, -1, -2)
    np.testing.assert_allclose(np.diagonal(C, axis1=-2, axis2=-1), 1.0, atol=1e-12)
    b = conc - 1 + dim / 2
    crit = math.sqrt(-math.log(1e-6 / 2) / (2 * n))
    for i in range(dim):
        for j in range(i):
            assert ks_distance((C[:, i, j] + 1) / 2, st.beta(b, b).cdf) < crit, (i, j)
    for i in range(1, dim):
        row = st.beta(i / 2, conc + (dim - 2) / 2 - (i - 1) / 2)
        assert ks_distance(1 - Lh[:, i, i] ** 2, row.cdf) < crit, i


def test_lkj_expand_and_errors():
    d = pd.LKJCholesky(3, P([0.5, 2.0]))
    e = d.expand((4, 2))
    assert tuple(e.batch_shape) == (4, 2) and tuple(e.sample((5,)).shape) == (5, 4, 2, 3, 3)
    x = d.sample((4,))
    close(e.log_prob(x), d.log_prob(x))
    for bad in (lambda: pd.LKJCholesky(1), lambda: pd.LKJCholesky(3, -1.0), lambda: pd.LKJCholesky(3, 0.0),
                lambda: d.log_prob(P(2 * np.eye(3))), lambda: d.log_prob(P(np.ones((3, 3))))):
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(ValueError):
        td.LKJCholesky(1)
    assert d.has_rsample is td.LKJCholesky.has_rsample is False


# ---------------------------------------------------------------------------------------- LowRankMultivariateNormal
LOWRANK_SHAPES = [((4,), (4, 2), (4,)), ((3, 1, 4), (2, 4, 2), (4,)), ((5,), (3, 5, 1), (3, 5)), ((2,), (2, 3), (1, 2))]


def lowrank_params(rng, shapes):
    loc_s, w_s, d_s = shapes
    return rng.normal(size=loc_s), rng.normal(size=w_s), rng.uniform(0.2, 2, d_s)


def lowrank_both(args, rg=False):
    out = []
    for lib, dist in ((pyml, pd), (torch, td)):
        leaves = [lib.tensor(a, requires_grad=rg) for a in args]
        out.append((dist.LowRankMultivariateNormal(*leaves), leaves))
    return out


@pytest.mark.parametrize("shapes", LOWRANK_SHAPES, ids=str)
def test_lowrank_matches_torch(shapes):
    rng = np.random.default_rng(sum(map(len, shapes)))
    args = lowrank_params(rng, shapes)
    (p, pl), (t, tl) = lowrank_both(args, rg=True)
    assert tuple(p.batch_shape) == tuple(t.batch_shape) and tuple(p.event_shape) == tuple(t.event_shape)
    for attr in ("mean", "mode", "variance", "stddev", "covariance_matrix", "precision_matrix", "scale_tril",
                 "loc", "cov_factor", "cov_diag"):
        relclose(getattr(p, attr), getattr(t, attr), msg=attr)
    v = rng.normal(size=(3,) + tuple(t.batch_shape) + tuple(t.event_shape))
    a, b = p.log_prob(P(v)), t.log_prob(T(v))
    relclose(a, b, msg="log_prob")
    relclose(p.entropy(), t.entropy(), msg="entropy")
    w = rng.normal(size=tuple(b.shape))
    outs = [(a * P(w)).sum() + p.entropy().sum() + p.precision_matrix.sum() + p.scale_tril.sum(),
            (b * T(w)).sum() + t.entropy().sum() + t.precision_matrix.sum() + t.scale_tril.sum()]
    for gp, gt in zip(pyml.autograd.grad(outs[0], pl), torch.autograd.grad(outs[1], tl)):
        relclose(gp, gt, msg="grad")
    assert repr(p) == repr(t).replace("torch", "pyml")


def test_lowrank_rsample_is_the_formula_with_torchs_gradient():
    """rsample = loc + W eps_W + sqrt(D) eps_D with eps_W then eps_D from pyml.randn: the same noise in torch
    gives the same values and gradients."""
    rng = np.random.default_rng(3)
    args = lowrank_params(rng, ((2, 4), (4, 3), (4,)))
    (p, pl), (t, tl) = lowrank_both(args, rg=True)
    pyml.manual_seed(8)
    eps_w, eps_d = pyml.randn((5, 2, 3), dtype=pyml.float64), pyml.randn((5, 2, 4), dtype=pyml.float64)
    pyml.manual_seed(8)
    x = p.rsample((5,))
    ew, ed = T(eps_w.numpy()), T(eps_d.numpy())
    tx = tl[0] + (tl[1] @ ew.unsqueeze(-1)).squeeze(-1) + tl[2].sqrt() * ed
    close(x, tx)
    w = rng.normal(size=(5, 2, 4))
    for gp, gt in zip(pyml.autograd.grad((x * P(w)).sum(), pl), torch.autograd.grad((tx * T(w)).sum(), tl)):
        close(gp, gt)


def test_lowrank_sample_moments():
    n = 100_000
    rng = np.random.default_rng(4)
    loc, W, D = rng.normal(size=3), rng.normal(size=(3, 2)), rng.uniform(0.3, 1, 3)
    d = pd.LowRankMultivariateNormal(P(loc), P(W), P(D))
    pyml.manual_seed(9)
    x = npy(d.sample((n,)))
    cov = W @ W.T + np.diag(D)
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(x.mean(0) - loc) < 5 * sd / math.sqrt(n))
    se_cov = np.sqrt((cov ** 2 + np.outer(np.diag(cov), np.diag(cov))) / n)  # Gaussian: Var(x_i x_j)
    assert np.all(np.abs(np.cov(x.T) - cov) < 5 * se_cov)


def test_lowrank_expand_and_errors():
    rng = np.random.default_rng(6)
    d = pd.LowRankMultivariateNormal(P(rng.normal(size=(2, 3))), P(rng.normal(size=(3, 1))), P(np.ones(3)))
    e = d.expand((4, 2))
    assert tuple(e.batch_shape) == (4, 2) and tuple(e.rsample((5,)).shape) == (5, 4, 2, 3)
    v = P(rng.normal(size=(4, 2, 3)))
    close(e.log_prob(v), d.log_prob(v))
    with pytest.raises(ValueError):
        d.expand((3,))
    z3, w3 = P(np.zeros(3)), P(np.ones((3, 2)))
    for bad in (lambda: pd.LowRankMultivariateNormal(P(0.0), w3, P(np.ones(3))),
                lambda: pd.LowRankMultivariateNormal(z3, P(np.ones(3)), P(np.ones(3))),
                lambda: pd.LowRankMultivariateNormal(z3, P(np.ones((4, 2))), P(np.ones(3))),
                lambda: pd.LowRankMultivariateNormal(z3, w3, P(np.ones(4))),
                lambda: pd.LowRankMultivariateNormal(P(np.zeros((2, 3))), P(np.ones((3, 3, 2))), P(np.ones(3))),
                lambda: pd.LowRankMultivariateNormal(z3, w3, P(np.array([1.0, 0.0, 1.0]))),
                lambda: pd.LowRankMultivariateNormal(z3, w3, P(np.ones(3))).log_prob(P(np.zeros(2)))):
        with pytest.raises(ValueError):
            bad()


# ---------------------------------------------------------------------------------------- MixtureSameFamily
def mixture_both(rng, kind, mix_shape, batch):
    k = 3
    logits = rng.normal(size=tuple(mix_shape) + (k,))
    if kind == "Normal":
        params = [rng.normal(size=tuple(batch) + (k,)), rng.uniform(0.3, 2, tuple(batch) + (k,))]
    else:
        params = [rng.normal(size=tuple(batch) + (k, 2)), rng.uniform(0.3, 2, tuple(batch) + (k, 2))]
    out = []
    for lib, dist in ((pyml, pd), (torch, td)):
        leaves = [lib.tensor(logits, requires_grad=True)] + [lib.tensor(a, requires_grad=True) for a in params]
        comp = dist.Normal(*leaves[1:])
        if kind == "Independent":
            comp = dist.Independent(comp, 1)
        out.append((dist.MixtureSameFamily(dist.Categorical(logits=leaves[0]), comp), leaves))
    return out


MIX_CASES = [("Normal", (), (2,)), ("Normal", (4,), (4,)), ("Normal", (1, 2), (3, 2)), ("Independent", (), (2,)),
             ("Independent", (2,), (2,))]


@pytest.mark.parametrize("kind,mix_shape,batch", MIX_CASES, ids=str)
def test_mixture_matches_torch(kind, mix_shape, batch):
    rng = np.random.default_rng(len(batch) * 7 + len(mix_shape) + len(kind))
    (p, pl), (t, tl) = mixture_both(rng, kind, mix_shape, batch)
    assert tuple(p.batch_shape) == tuple(t.batch_shape) and tuple(p.event_shape) == tuple(t.event_shape)
    if not (kind == "Normal" and mix_shape == (1, 2)):  # torch's reshape of the weights fails in that case
        close(p.mean, t.mean)
        close(p.variance, t.variance)
    v = rng.normal(size=(4,) + tuple(t.batch_shape) + tuple(t.event_shape))
    a, b = p.log_prob(P(v)), t.log_prob(T(v))
    close(a, b)
    if kind == "Normal":
        close(p.cdf(P(v)), t.cdf(T(v)))
    w = rng.normal(size=tuple(b.shape))
    for gp, gt in zip(pyml.autograd.grad((a * P(w)).sum(), pl), torch.autograd.grad((b * T(w)).sum(), tl)):
        close(gp, gt)
    assert tuple(p.sample((5,)).shape) == (5,) + tuple(t.batch_shape) + tuple(t.event_shape)
    assert repr(p) == repr(t).replace("torch", "pyml")
    assert repr(p.support) == repr(t.support)


def test_mixture_broadcast_mean_against_a_loop():
    """Weights of batch (1, 2) against components of batch (3, 2): the mean is the per-row weighted sum."""
    rng = np.random.default_rng(2)
    logits, loc = rng.normal(size=(1, 2, 3)), rng.normal(size=(3, 2, 3))
    d = pd.MixtureSameFamily(pd.Categorical(logits=P(logits)), pd.Normal(P(loc), 1.0))
    w = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(npy(d.mean), (w * loc).sum(-1), rtol=1e-12)


def test_mixture_sample_moments():
    n = 100_000
    p = pd.MixtureSameFamily(pd.Categorical(P([0.2, 0.5, 0.3])),
                             pd.Normal(P([[-3.0, 0.0, 4.0], [1.0, 1.5, 2.0]]), P([[0.5, 1.0, 2.0], [0.1, 0.2, 0.3]])))
    pyml.manual_seed(10)
    x = npy(p.sample((n,)))
    mean, var = npy(p.mean), npy(p.variance)
    assert x.shape == (n, 2) and np.all(np.abs(x.mean(0) - mean) < 5 * np.sqrt(var / n))
    m4 = ((x - x.mean(0)) ** 4).mean(0)
    assert np.all(np.abs(x.var(0) - var) < 5 * np.sqrt((m4 - var ** 2) / n))
    d = ks_distance(x[:, 0], lambda v: npy(p.cdf(P(v[:, None]).expand(-1, 2)))[:, 0])
    assert d < math.sqrt(-math.log(1e-6 / 2) / (2 * n))


def test_mixture_expand_and_errors():
    rng = np.random.default_rng(3)
    p = pd.MixtureSameFamily(pd.Categorical(logits=P(rng.normal(size=3))), pd.Normal(P(rng.normal(size=(2, 3))), 1.0))
    e = p.expand((4, 2))
    assert tuple(e.batch_shape) == (4, 2) and tuple(e.sample((5,)).shape) == (5, 4, 2)
    v = P(rng.normal(size=(4, 2)))
    close(e.log_prob(v), p.log_prob(v))
    assert p.has_rsample is False
    cat3, norm = pd.Categorical(P(np.ones(3))), pd.Normal(P(np.zeros((2, 3))), 1.0)
    for bad in (lambda: pd.MixtureSameFamily(norm, norm), lambda: pd.MixtureSameFamily(cat3, "normal"),
                lambda: pd.MixtureSameFamily(pd.Categorical(P(np.ones(4))), norm),
                lambda: pd.MixtureSameFamily(pd.Categorical(P(np.ones((3, 3)))), norm),
                lambda: pd.MixtureSameFamily(cat3, pd.Normal(0.0, 1.0)),
                lambda: pd.MixtureSameFamily(cat3, pd.Uniform(P(np.zeros((2, 3))), 1.0)).log_prob(P([0.5, 2.0]))):
        with pytest.raises(ValueError):
            bad()
