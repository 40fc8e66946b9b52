"""Gamma(concentration, rate) and Chi2(df) = Gamma(df / 2, 1 / 2), plus standard_gamma, the sampler that
Beta and Dirichlet share.

standard_gamma(alpha) draws Gamma(alpha, 1) with Marsaglia-Tsang (2000): x = d v, v = (1 + c z)^3 with
z ~ N(0, 1), d = alpha - 1/3, c = 1 / sqrt(9 d), accepted when log u < z^2 / 2 + d - d v + d log v. The loop
is vectorised: every round draws only for the elements still pending. alpha < 1 is boosted: Gamma(alpha + 1)
times u^(1 / alpha). Sampling runs in float64 and rounds once to the parameter's dtype.

Gradients use implicit reparameterisation (like torch): x = F^-1(u; alpha), so dx/dalpha = -dF/dalpha / f(x),
with F the regularised lower incomplete gamma P(alpha, x). dF/dalpha is a 4-point central difference of
pyml.igamma (of igammac in the right tail, where P is close to 1 and would cancel), accurate to ~1e-8.
"""
import pyml

from .. import lgamma, digamma, xlogy, igamma, zeros_like
from .._tensor import Size
from ..autograd import no_grad
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, tiny

__all__ = ["Gamma", "Chi2", "standard_gamma"]

_MAX_ROUNDS = 10000  # each round accepts > 95% of the pending draws, so this is never reached


def _marsaglia_tsang(a):
    """Gamma(a, 1) draws for a flat float64 tensor a >= 1."""
    d = a - 1.0 / 3.0
    c = (9.0 * d).rsqrt()
    out = zeros_like(a)
    idx = pyml.arange(a.numel(), device=a.device)
    for _ in range(_MAX_ROUNDS):
        if idx.numel() == 0:
            return out
        di, ci = d[idx], c[idx]
        z = pyml.randn(idx.numel(), dtype=pyml.float64, device=a.device)
        u = 1 - pyml.rand(idx.numel(), dtype=pyml.float64, device=a.device)  # (0, 1]
        v = (1 + ci * z) ** 3
        v_pos = v.clamp(min=1e-300)
        ok = (v > 0) & (u.log() < 0.5 * z * z + di - di * v_pos + di * v_pos.log())
        out[idx[ok]] = (di * v)[ok]
        idx = idx[~ok]
    raise RuntimeError(f"standard_gamma: rejection sampling did not finish in {_MAX_ROUNDS} rounds")


def _sample_standard_gamma(alpha):
    """Gamma(alpha, 1) draws (no graph) for a float64 tensor alpha > 0 of any shape."""
    flat = alpha.reshape(-1)
    boost = flat < 1
    g = _marsaglia_tsang(pyml.where(boost, flat + 1, flat))
    u = 1 - pyml.rand(flat.numel(), dtype=pyml.float64, device=flat.device)
    log_x = g.log() + pyml.where(boost, u.log() / flat, zeros_like(flat))
    return log_x.exp().clamp(min=tiny(pyml.float64)).reshape(alpha.shape)


def _dcdf_dalpha(alpha, x):
    """d/dalpha of P(alpha, x), float64: a 4-point central difference, taken on Q = 1 - P where x > alpha."""
    h = 1e-3 * alpha
    upper = x > alpha

    def cdf(a):
        return pyml.where(upper, -pyml.igammac(a, x), igamma(a, x))
    return (8 * (cdf(alpha + h) - cdf(alpha - h)) - (cdf(alpha + 2 * h) - cdf(alpha - 2 * h))) / (12 * h)


def standard_gamma_grad(alpha, x):
    """dx/dalpha of a Gamma(alpha, 1) sample x held at a fixed cdf value (float64 tensors, same shape)."""
    log_pdf = (alpha - 1) * x.log() - x - lgamma(alpha)
    return -_dcdf_dalpha(alpha, x) / log_pdf.exp()


def standard_gamma(alpha):
    """Gamma(alpha, 1) samples shaped like alpha, differentiable in alpha by implicit reparameterisation."""
    needs_grad = pyml.is_grad_enabled() and alpha.requires_grad
    with no_grad():
        a64 = alpha.detach().double()
        x = _sample_standard_gamma(a64)
        dx = standard_gamma_grad(a64, x).to(alpha.dtype) if needs_grad else None
    x = x.to(alpha.dtype).clamp(min=tiny(alpha.dtype))
    if not needs_grad:
        return x
    return x + (alpha - alpha.detach()) * dx  # value x, gradient dx/dalpha


class Gamma(Distribution):
    """Density rate^c x^(c-1) e^(-rate x) / Gamma(c) on x > 0. rsample is differentiable in concentration
    (implicit reparameterisation, see the module header) and in rate."""
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.concentration.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Gamma, _instance)
        batch_shape = self._expand_batch(batch_shape, f"{type(self).__name__}.expand")
        return self._expanded(new, batch_shape, "concentration", "rate")

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        return standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        c, r = self.concentration, self.rate
        return xlogy(c, r) + xlogy(c - 1, value) - r * value - lgamma(c)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value, "cdf")
        return igamma(self.concentration, self.rate * value)

    def entropy(self):
        c = self.concentration
        return c - self.rate.log() + lgamma(c) + (1.0 - c) * digamma(c)


class Chi2(Gamma):
    """Chi-squared with df degrees of freedom: Gamma(df / 2, 1 / 2)."""
    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args=None):
        (df,) = broadcast_all(df)
        super().__init__(0.5 * df, 0.5 * pyml.ones_like(df), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return super().expand(batch_shape, self._get_checked_instance(Chi2, _instance))

    @property
    def df(self):
        return self.concentration * 2

    def __repr__(self):
        df = self.df.detach()
        return f"Chi2(df: {df if df.numel() == 1 else df.shape})"
