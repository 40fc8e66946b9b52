"""kl_divergence formulas for Cauchy, ContinuousBernoulli, the ExponentialFamily base and
LowRankMultivariateNormal, registered into kl.py's registry (importing this module registers them), as torch
registers them.

ExponentialFamily pairs of one type use the Bregman divergence of the log normaliser (Wishart-Wishart goes
there), each <t_q - t_p, grad F> term summed over that natural parameter's own dims only (torch sums the
event_shape's count of rightmost dims, which for Wishart's scalar df term runs into the batch dims: its batched
Wishart KLs are wrong, even negative). The low-rank Gaussian pairs expand tr(S_q^-1 S_p) with Woodbury into
Frobenius norms of m x n triangular solves, so no n x n inverse is formed. ContinuousBernoulli is supported
on [0, 1]: pairs whose other side lives on a larger set are inf, and the Uniform pairs are inf only where the
supports really leave one another (torch also marks Uniform(0, 1) against ContinuousBernoulli as inf; the KL
is finite there). Pareto and Gumbel come from the transformed-distribution modules.
"""
import math

from .. import broadcast_shapes, where, full_like
from .. import linalg
from .beta_dirichlet import Beta
from .cauchy import Cauchy
from .continuous_bernoulli import ContinuousBernoulli
from .exp_family import ExponentialFamily, log_normalizer_and_grad, sum_beyond_batch
from .exponential import Exponential
from .gamma_family import Gamma
from .gumbel import Gumbel
from .kl import register_kl
from .laplace import Laplace
from .lowrank_multivariate_normal import (LowRankMultivariateNormal, _batch_lowrank_logdet,
                                          _batch_lowrank_mahalanobis, _batch_trace_XXT)
from .multivariate_normal import MultivariateNormal, _batch_mahalanobis
from .normal import Normal
from .pareto import Pareto
from .uniform import Uniform

__all__ = []


def _inf_like(t):
    return full_like(t, float("inf"))


def _check_events(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError(f"kl_divergence: {type(p).__name__} and {type(q).__name__} must have the same event shape, "
                         f"got {tuple(p.event_shape)} and {tuple(q.event_shape)}")


# ---------------------------------------------------------------------------- same family
@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p, q):
    """log(((s_p + s_q)^2 + (l_p - l_q)^2) / (4 s_p s_q)) (Chyzak & Nielsen, 2019)."""
    t1 = ((p.scale + q.scale).pow(2) + (p.loc - q.loc).pow(2)).log()
    return t1 - (4 * p.scale * q.scale).log()


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_continuous_bernoulli_continuous_bernoulli(p, q):
    t1 = p.mean * (p.logits - q.logits)
    t2 = p._cont_bern_log_norm() + (-p.probs).log1p()
    t3 = -q._cont_bern_log_norm() - (-q.probs).log1p()
    return t1 + t2 + t3


@register_kl(ExponentialFamily, ExponentialFamily)
def _kl_expfamily_expfamily(p, q):
    """F(t_q) - F(t_p) - <t_q - t_p, grad F(t_p)>: the Bregman divergence of the log normaliser F."""
    if type(p) is not type(q):
        raise NotImplementedError("kl_divergence: the cross KL-divergence between different exponential families "
                                  f"cannot be computed with Bregman divergences, got {type(p).__name__} and "
                                  f"{type(q).__name__}")
    p_params, p_log_norm, grads = log_normalizer_and_grad(p)
    result = q._log_normalizer(*q._natural_params) - p_log_norm
    n_batch = len(broadcast_shapes(p.batch_shape, q.batch_shape))
    for pt, qt, g in zip(p_params, q._natural_params, grads):
        result = result - sum_beyond_batch((qt - pt) * g, n_batch)
    return result


# ---------------------------------------------------------------------------- low-rank Gaussians
def _lowrank_parts(d):
    return d._unbroadcasted_cov_factor, d._unbroadcasted_cov_diag, d._capacitance_tril


def _woodbury_factor(q):
    """A = C_q^-1 W_q^T D_q^-1 (C_q its capacitance factor), so that S_q^-1 = D_q^-1 - A^T A."""
    W, D, C = _lowrank_parts(q)
    return linalg.solve_triangular(C, W.transpose(-2, -1) / D.unsqueeze(-2), upper=False)


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
def _kl_lowrank_lowrank(p, q):
    _check_events(p, q)
    (pW, pD, pC), (qW, qD, qC) = _lowrank_parts(p), _lowrank_parts(q)
    term1 = _batch_lowrank_logdet(qW, qD, qC) - _batch_lowrank_logdet(pW, pD, pC)
    term3 = _batch_lowrank_mahalanobis(qW, qD, q.loc - p.loc, qC)
    A = _woodbury_factor(q)
    # tr(S_q^-1 S_p) = tr((D_q^-1 - A^T A)(D_p + W_p W_p^T)), four Frobenius norms
    term2 = ((pD / qD).sum(-1) + _batch_trace_XXT(pW * qD.rsqrt().unsqueeze(-1))
             - _batch_trace_XXT(A * pD.sqrt().unsqueeze(-2)) - _batch_trace_XXT(A @ pW))
    return 0.5 * (term1 + term2 + term3 - p.event_shape[0])


@register_kl(MultivariateNormal, LowRankMultivariateNormal)
def _kl_multivariatenormal_lowrank(p, q):
    _check_events(p, q)
    qW, qD, qC = _lowrank_parts(q)
    pL = p._unbroadcasted_scale_tril
    term1 = _batch_lowrank_logdet(qW, qD, qC) - 2 * pL.diagonal(dim1=-2, dim2=-1).log().sum(-1)
    term3 = _batch_lowrank_mahalanobis(qW, qD, q.loc - p.loc, qC)
    A = _woodbury_factor(q)
    term2 = _batch_trace_XXT(pL * qD.rsqrt().unsqueeze(-1)) - _batch_trace_XXT(A @ pL)  # tr((D_q^-1 - A^T A) L L^T)
    return 0.5 * (term1 + term2 + term3 - p.event_shape[0])


@register_kl(LowRankMultivariateNormal, MultivariateNormal)
def _kl_lowrank_multivariatenormal(p, q):
    _check_events(p, q)
    pW, pD, pC = _lowrank_parts(p)
    qL = q._unbroadcasted_scale_tril
    n = p.event_shape[0]
    term1 = 2 * qL.diagonal(dim1=-2, dim2=-1).log().sum(-1) - _batch_lowrank_logdet(pW, pD, pC)
    term3 = _batch_mahalanobis(qL, q.loc - p.loc)
    batch = tuple(broadcast_shapes(qL.shape[:-2], pW.shape[:-2]))
    qL = qL.expand(batch + (n, n))
    # tr(S_q^-1 (W_p W_p^T + D_p)) = |L_q^-1 W_p|^2 + |L_q^-1 D_p^1/2|^2
    term21 = _batch_trace_XXT(linalg.solve_triangular(qL, pW.expand(batch + tuple(pW.shape[-2:])), upper=False))
    term22 = _batch_trace_XXT(linalg.solve_triangular(qL, pD.sqrt().diag_embed().expand(batch + (n, n)),
                                                      upper=False))
    return 0.5 * (term1 + term21 + term22 + term3 - n)


# ---------------------------------------------------------------------------- ContinuousBernoulli, mixed
def _cb_cross(q, mean):
    """-E_p[log q(x)] for q a ContinuousBernoulli, from p's mean (log q is linear in x)."""
    return -mean * q.logits - (-q.probs).log1p() - q._cont_bern_log_norm()


@register_kl(Beta, ContinuousBernoulli)
def _kl_beta_continuous_bernoulli(p, q):
    return -p.entropy() + _cb_cross(q, p.mean)


@register_kl(ContinuousBernoulli, Exponential)
def _kl_continuous_bernoulli_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * p.mean


@register_kl(ContinuousBernoulli, Normal)
def _kl_continuous_bernoulli_normal(p, q):
    t2 = 0.5 * (math.log(2.0 * math.pi) + (q.loc / q.scale).pow(2)) + q.scale.log()
    t3 = (p.variance + p.mean.pow(2) - 2.0 * q.loc * p.mean) / (2.0 * q.scale.pow(2))
    return -p.entropy() + t2 + t3


@register_kl(ContinuousBernoulli, Uniform)
def _kl_continuous_bernoulli_uniform(p, q):
    result = -p.entropy() + (q.high - q.low).log()
    return where((q.low > 0) | (q.high < 1), float("inf"), result)  # [0, 1] must lie inside [low, high]


@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_continuous_bernoulli(p, q):
    result = -p.entropy() + _cb_cross(q, p.mean)
    return where((p.low < 0) | (p.high > 1), float("inf"), result)  # [low, high] must lie inside [0, 1]


@register_kl(ContinuousBernoulli, Pareto)
def _kl_continuous_bernoulli_infinity(p, q):
    return _inf_like(p.probs)


@register_kl(Exponential, ContinuousBernoulli)
def _kl_exponential_infinity(p, q):
    return _inf_like(p.rate)


@register_kl(Gamma, ContinuousBernoulli)
def _kl_gamma_infinity(p, q):
    return _inf_like(p.concentration)


@register_kl(Gumbel, ContinuousBernoulli)
@register_kl(Laplace, ContinuousBernoulli)
@register_kl(Normal, ContinuousBernoulli)
def _kl_loc_infinity(p, q):
    return _inf_like(p.loc)


@register_kl(Pareto, ContinuousBernoulli)
def _kl_pareto_infinity(p, q):
    return _inf_like(p.scale)
