"""kl_divergence formulas for the gamma family, Beta/Dirichlet and the count distributions, registered into
kl.py's registry (importing this module registers them). Same-family pairs are the closed forms; the mixed
pairs are -H(p) - E_p[log q(x)] with p's moments (E x, Var x, E log x). Pairs whose supports make the
divergence infinite return inf, as torch does.
"""
import math

import pyml

from .. import lgamma, digamma, where, xlogy
from .beta_dirichlet import Beta, Dirichlet
from .bernoulli import Bernoulli
from .discrete_counts import Binomial, Poisson
from .exponential import Exponential
from .gamma_family import Gamma
from .kl import register_kl
from .normal import Normal
from .uniform import Uniform
from .waiting_times import Geometric

__all__ = []

_EULER = 0.57721566490153286061


def _inf_like(t):
    return pyml.full_like(t, float("inf"))


# ---------------------------------------------------------------------------- same family
@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    a, b, c, d = p.concentration, p.rate, q.concentration, q.rate
    return c * (b / d).log() + lgamma(c) - lgamma(a) + (a - c) * digamma(a) + (d - b) * (a / b)


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    p_sum = p.concentration1 + p.concentration0
    q_sum = q.concentration1 + q.concentration0
    log_beta_ratio = (lgamma(q.concentration1) + lgamma(q.concentration0) - lgamma(q_sum)
                      - lgamma(p.concentration1) - lgamma(p.concentration0) + lgamma(p_sum))
    return (log_beta_ratio + (p.concentration1 - q.concentration1) * digamma(p.concentration1)
            + (p.concentration0 - q.concentration0) * digamma(p.concentration0)
            + (q_sum - p_sum) * digamma(p_sum))


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    pc, qc = p.concentration, q.concentration
    p_sum, q_sum = pc.sum(-1), qc.sum(-1)
    e_log_x = digamma(pc) - digamma(p_sum).unsqueeze(-1)  # E_p[log x_k]
    return (lgamma(p_sum) - lgamma(q_sum) - (lgamma(pc) - lgamma(qc)).sum(-1)
            + ((pc - qc) * e_log_x).sum(-1))


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    return xlogy(p.rate, p.rate) - xlogy(p.rate, q.rate) - (p.rate - q.rate)


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    """Finite only for equal counts; p.total_count > q.total_count is inf; smaller is not implemented (torch)."""
    if bool((p.total_count < q.total_count).any()):
        raise NotImplementedError("kl_divergence: KL between Binomials where q.total_count > p.total_count is not "
                                  "implemented, got larger counts in q")
    kl = p.total_count * (p.probs * (p.logits - q.logits) + (-p.probs).log1p() - (-q.probs).log1p())
    return where(p.total_count > q.total_count, float("inf"), kl)


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p, q):
    return -p.entropy() - (1.0 / p.probs - 1.0) * (-q.probs).log1p() - q.probs.log()


# ---------------------------------------------------------------------------- mixed pairs
def _beta_e_log_x(p):
    return digamma(p.concentration1) - digamma(p.concentration1 + p.concentration0)


def _gaussian_cross(mean, var, q):
    """-E_p[log N(x; q.loc, q.scale)] from p's mean and variance."""
    sq = q.scale.pow(2)
    return 0.5 * (2 * math.pi * sq).log() + (var + (mean - q.loc).pow(2)) / (2 * sq)


def _gamma_cross(mean, e_log_x, q):
    """-E_p[log Gamma(x; q.concentration, q.rate)] from p's E x and E log x."""
    c, r = q.concentration, q.rate
    return lgamma(c) - c * r.log() - (c - 1) * e_log_x + r * mean


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * p.mean


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p, q):
    return -p.entropy() + _gamma_cross(p.mean, _beta_e_log_x(p), q)


@register_kl(Beta, Normal)
def _kl_beta_normal(p, q):
    return -p.entropy() + _gaussian_cross(p.mean, p.variance, q)


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p, q):
    result = -p.entropy() + (q.high - q.low).log()
    return where((q.low > 0) | (q.high < 1), float("inf"), result)  # [0, 1] must lie inside [low, high]


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    e_log_x = -_EULER - p.rate.log()
    return -p.entropy() + _gamma_cross(p.rate.reciprocal(), e_log_x, q)


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * p.mean


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p, q):
    return -p.entropy() + _gaussian_cross(p.mean, p.variance, q)


@register_kl(Poisson, Bernoulli)
@register_kl(Poisson, Binomial)
def _kl_poisson_infinity(p, q):
    return _inf_like(p.rate)  # Poisson's support is unbounded


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    return -p.entropy() - (p.probs * q.rate.log() - q.rate)
