"""Dirichlet(concentration) over the probability simplex (event_shape (K,), K = concentration.shape[-1]) and
Beta(concentration1, concentration0), the K = 2 case seen through its first coordinate.

Both sample normalised gammas: x_k = g_k / sum_j g_j with g_k ~ Gamma(concentration_k, 1) from
gamma_family.standard_gamma, whose implicit-reparameterisation gradient makes rsample differentiable in
the concentrations (torch differentiates the Dirichlet cdf directly; the expected gradients are the same,
single draws differ). log_prob: sum_k (c_k - 1) log x_k + lgamma(sum c) - sum lgamma(c_k).
"""
import numbers

import pyml

from .. import lgamma, digamma, xlogy, stack
from .._tensor import Size, Tensor
from . import constraints
from .distribution import Distribution
from .gamma_family import standard_gamma
from .utils import broadcast_all

__all__ = ["Beta", "Dirichlet"]


def _dirichlet_mode(c):
    """(c - 1)+ normalised; where every c_k < 1 the density peaks at every vertex: like torch, the first one."""
    cm1 = (c - 1).clamp(min=0)
    mode = cm1 / cm1.sum(-1, keepdim=True)
    vertex = (pyml.arange(c.shape[-1], device=c.device) == 0).to(c.dtype)  # (K,) = e_0
    return pyml.where((c < 1).all(-1, keepdim=True), vertex, mode)


def _dirichlet_log_prob(c, x):
    return xlogy(c - 1, x).sum(-1) + lgamma(c.sum(-1)) - lgamma(c).sum(-1)


def _dirichlet_entropy(c):
    k = c.shape[-1]
    a0 = c.sum(-1)
    return lgamma(c).sum(-1) - lgamma(a0) - (k - a0) * digamma(a0) - ((c - 1) * digamma(c)).sum(-1)


class Dirichlet(Distribution):
    """rsample is differentiable in concentration (normalised implicit-reparameterised gammas)."""
    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if not isinstance(concentration, Tensor):
            raise TypeError(f"Dirichlet: concentration must be a Tensor, got {type(concentration).__name__}")
        if concentration.dim() < 1:
            raise ValueError("Dirichlet: concentration must be at least one-dimensional, got shape "
                             f"{tuple(concentration.shape)}")
        if not concentration.dtype.is_floating_point:
            concentration = concentration.to(pyml.get_default_dtype())
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = self._expand_batch(batch_shape, "Dirichlet.expand")
        new.concentration = self.concentration.expand(tuple(batch_shape) + tuple(self.event_shape))
        return self._expanded(new, batch_shape)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self):
        return _dirichlet_mode(self.concentration)

    @property
    def variance(self):
        c = self.concentration
        c0 = c.sum(-1, keepdim=True)
        return c * (c0 - c) / (c0.pow(2) * (c0 + 1))

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        g = standard_gamma(self.concentration.expand(shape))  # (..., K)
        return g / g.sum(-1, keepdim=True)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return _dirichlet_log_prob(self.concentration, value)

    def entropy(self):
        return _dirichlet_entropy(self.concentration)


class Beta(Distribution):
    """Density x^(c1-1) (1-x)^(c0-1) / B(c1, c0) on [0, 1]; rsample is differentiable in both concentrations."""
    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        scalar = all(isinstance(c, numbers.Number) for c in (concentration1, concentration0))
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        super().__init__(Size() if scalar else self.concentration1.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Beta, _instance)
        batch_shape = self._expand_batch(batch_shape, "Beta.expand")
        return self._expanded(new, batch_shape, "concentration1", "concentration0")

    def _pair(self):
        return stack([self.concentration1, self.concentration0], -1)  # (..., 2)

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        return _dirichlet_mode(self._pair())[..., 0]

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        g1 = standard_gamma(self.concentration1.expand(shape))
        g0 = standard_gamma(self.concentration0.expand(shape))
        return g1 / (g1 + g0)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        c1, c0 = self.concentration1, self.concentration0
        return xlogy(c1 - 1, value) + xlogy(c0 - 1, 1 - value) + lgamma(c1 + c0) - lgamma(c1) - lgamma(c0)

    def entropy(self):
        return _dirichlet_entropy(self._pair())
