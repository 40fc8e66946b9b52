"""Waiting-time counts: Geometric(probs | logits), the number of failures before the first success, and
NegativeBinomial(total_count, probs | logits), the number of successes (probability probs each) before
total_count failures (torch's convention; total_count may be fractional).

Geometric samples invert the cdf: floor(log u / log(1 - p)) with u ~ U(tiny, 1). NegativeBinomial samples
the Gamma-Poisson mixture: Poisson(lambda) with lambda ~ Gamma(total_count, rate = e^-logits).
Neither is reparameterisable.
"""
import numbers

import pyml

from .. import lgamma, where
from .._tensor import Size
from ..autograd import no_grad
from ..nn import functional as F
from . import constraints
from .bernoulli import ProbsLogits, one_parameter
from .distribution import Distribution, _short
from .gamma_family import Gamma
from .utils import broadcast_all, tiny

__all__ = ["Geometric", "NegativeBinomial"]


class Geometric(ProbsLogits, Distribution):
    """P(k) = (1 - p)^k p on k = 0, 1, 2, ... (p = probs > 0)."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        param, name = one_parameter(probs, logits, "Geometric")
        scalar = isinstance(param, numbers.Number)
        (value,) = broadcast_all(param)
        self._set_param(value, name)
        super().__init__(Size() if scalar else value.shape, validate_args=validate_args)
        if self._validate_args and name == "probs" and not bool((value > 0).all()):
            raise ValueError(f"Geometric: parameter probs must be greater than 0, got {_short(value)}")

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Geometric, _instance)
        batch_shape = self._expand_batch(batch_shape, "Geometric.expand")
        self._expand_params(new, batch_shape)
        return self._expanded(new, batch_shape)

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return pyml.zeros_like(self.probs)

    @property
    def variance(self):
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        probs = self.probs.detach()
        with no_grad():
            u = pyml.rand(shape, dtype=probs.dtype, device=probs.device).clamp(min=tiny(probs.dtype))
            return (u.log() / (-probs).log1p()).floor()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        q_log = (-where((probs == 1) & (value == 0), 0.0, probs)).log1p()  # 0 * log 0 counts as 0
        return value * q_log + self.probs.log()

    def entropy(self):
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none") / self.probs


class NegativeBinomial(ProbsLogits, Distribution):
    """P(k) = Gamma(r + k) / (k! Gamma(r)) p^k (1 - p)^r on k = 0, 1, 2, ... (r = total_count, p = probs)."""
    arg_constraints = {"total_count": constraints.greater_than_eq(0), "probs": constraints.half_open_interval(0.0, 1.0),
                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        param, name = one_parameter(probs, logits, "NegativeBinomial")
        value, total = broadcast_all(param, total_count)
        self.total_count = total.to(value.dtype)
        self._set_param(value, name)
        super().__init__(value.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(NegativeBinomial, _instance)
        batch_shape = self._expand_batch(batch_shape, "NegativeBinomial.expand")
        self._expand_params(new, batch_shape)
        return self._expanded(new, batch_shape, "total_count")

    @property
    def param_shape(self):
        return self._param.shape

    @property
    def mean(self):
        return self.total_count * self.logits.exp()

    @property
    def mode(self):
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self):
        return self.mean / pyml.sigmoid(-self.logits)

    def sample(self, sample_shape=Size()):
        with no_grad():
            gamma = Gamma(self.total_count.detach(), (-self.logits.detach()).exp(), validate_args=False)
            rate = gamma.sample(sample_shape)
            return pyml.poisson(rate.contiguous())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        r, logits = self.total_count, self.logits
        log_unnormalized = r * F.logsigmoid(-logits) + value * F.logsigmoid(logits)
        log_norm = -lgamma(r + value) + lgamma(1.0 + value) + lgamma(r)
        return log_unnormalized - where(r + value == 0.0, 0.0, log_norm)  # r = k = 0 has probability 1
