"""Count distributions: Poisson(rate), Binomial(total_count, probs | logits) and
Multinomial(total_count, probs | logits) (event_shape (K,): counts of K categories summing to total_count).

Samples come from pyml.poisson, pyml.binomial and Categorical draws (one index per trial, one-hot summed),
so pyml.manual_seed reproduces them; none is reparameterisable. log-pmfs are written with lgamma/xlogy and,
for the binomial, with logits (n log(1 + e^l) split at l = 0 so that large |logits| stay finite).
"""
import numbers

import pyml

from .. import lgamma, xlogy, where
from .._tensor import Size
from ..autograd import no_grad
from ..nn import functional as F
from . import constraints
from .bernoulli import ProbsLogits, one_parameter
from .categorical import Categorical, CategoricalView
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Poisson", "Binomial", "Multinomial"]


class Poisson(Distribution):
    """P(k) = rate^k e^-rate / k! on k = 0, 1, 2, ..."""
    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        scalar = isinstance(rate, numbers.Number)
        (self.rate,) = broadcast_all(rate)
        super().__init__(Size() if scalar else self.rate.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Poisson, _instance)
        batch_shape = self._expand_batch(batch_shape, "Poisson.expand")
        return self._expanded(new, batch_shape, "rate")

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            return pyml.poisson(self.rate.detach().expand(shape).contiguous())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return xlogy(value, rate) - rate - lgamma(value + 1)


def _softplus_terms(logits):
    """(max(l, 0), log1p(e^-|l|)): their sum is log(1 + e^l) without overflow."""
    return 0.5 * (logits + logits.abs()), (-logits.abs()).exp().log1p()


class Binomial(ProbsLogits, Distribution):
    """The number of successes in total_count independent trials of success probability probs."""
    arg_constraints = {"total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval,
                       "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        param, name = one_parameter(probs, logits, "Binomial")
        value, total = broadcast_all(param, total_count)
        self.total_count = total.to(value.dtype)
        self._set_param(value, name)
        super().__init__(value.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Binomial, _instance)
        batch_shape = self._expand_batch(batch_shape, "Binomial.expand")
        self._expand_params(new, batch_shape)
        return self._expanded(new, batch_shape, "total_count")

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def param_shape(self):
        return self._param.shape

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            n = self.total_count.detach().expand(shape).contiguous()
            return pyml.binomial(n, self.probs.detach().expand(shape).contiguous())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        n, logits = self.total_count, self.logits
        pos, log1p_term = _softplus_terms(logits)
        log_norm = n * pos + n * log1p_term - lgamma(n + 1)  # n log(1 + e^l) - log n!
        return value * logits - lgamma(value + 1) - lgamma(n - value + 1) - log_norm

    def _common_count(self, op):
        n = int(self.total_count.max().item()) if self.total_count.numel() else 0
        if self.total_count.numel() and not bool((self.total_count == n).all()):
            raise NotImplementedError(f"Binomial.{op}: an inhomogeneous total_count is not supported, got counts "
                                      f"from {self.total_count.min().item()} to {n}")
        return n

    def entropy(self):
        self._common_count("entropy")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(log_prob.exp() * log_prob).sum(0)

    def enumerate_support(self, expand=True):
        n = self._common_count("enumerate_support")
        values = pyml.arange(1 + n, dtype=self._param.dtype, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))  # (n + 1, 1, ..., 1)
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values


class Multinomial(CategoricalView, Distribution):
    """Counts of K categories over total_count (an int) draws of Categorical(probs | logits)."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if isinstance(total_count, bool) or not isinstance(total_count, int):
            raise NotImplementedError(f"Multinomial: total_count must be an int (an inhomogeneous total_count "
                                      f"is not supported), got {type(total_count).__name__}")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = Binomial(total_count=total_count, probs=self.probs)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Multinomial, _instance)
        batch_shape = self._expand_batch(batch_shape, "Multinomial.expand")
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        new._binomial = Binomial(total_count=self.total_count, probs=new.probs, validate_args=False)
        return self._expanded(new, batch_shape)

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        k = self.event_shape[0]
        with no_grad():
            if self.total_count == 0:
                return pyml.zeros(shape, dtype=self.probs.dtype, device=self.probs.device)
            idx = self._categorical.sample(Size((self.total_count,) + tuple(sample_shape)))  # (n, S..., B...)
            return F.one_hot(idx, k).to(self.probs.dtype).sum(0)  # (..., K)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        logits = where((value == 0) & (logits == float("-inf")), 0.0, logits)  # 0 * log 0 counts as 0
        log_factorial_n = lgamma(value.sum(-1) + 1)
        return log_factorial_n - lgamma(value + 1).sum(-1) + (logits * value).sum(-1)

    def entropy(self):
        """n H(categorical) - log n! + sum_k E[log x_k!] with x_k ~ Binomial(n, p_k)."""
        n = self.total_count
        term1 = n * self._categorical.entropy() - lgamma(pyml.tensor(float(n + 1), dtype=self.probs.dtype))
        support = self._binomial.enumerate_support(expand=False)[1:]  # (n, 1, ..., 1)
        binomial_probs = self._binomial.log_prob(support).exp()  # (n, ..., K)
        term2 = (binomial_probs * lgamma(support + 1)).sum(0).sum(-1)
        return term1 + term2
