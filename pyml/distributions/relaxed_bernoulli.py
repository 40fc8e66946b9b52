"""RelaxedBernoulli(temperature, probs=None, logits=None): the Concrete / Gumbel-softmax relaxation of a
Bernoulli (Maddison et al. 2017, Jang et al. 2017), values in (0, 1), reparameterised. It is sigmoid of
LogitRelaxedBernoulli, whose sample is (logit(u) + logits) / temperature with u ~ U(0, 1), clamped away from
0 and 1; its density is t e^(l - t y) / (1 + e^(l - t y))^2 (a logistic). As temperature -> 0 the samples
approach {0, 1}.
"""
import math
import numbers

from .. import rand
from .._tensor import Size, Tensor
from . import constraints
from .bernoulli import ProbsLogits, one_parameter
from .distribution import Distribution
from .transformed_distribution import TransformedDistribution
from .transforms import SigmoidTransform
from .utils import broadcast_all, clamp_probs

__all__ = ["LogitRelaxedBernoulli", "RelaxedBernoulli"]


def log_of(t):
    """log of a tensor or a number (temperature may be either)."""
    return t.log() if isinstance(t, Tensor) else math.log(t)


class LogitRelaxedBernoulli(ProbsLogits, Distribution):
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self.temperature = temperature
        param, name = one_parameter(probs, logits, type(self).__name__)
        (value,) = broadcast_all(param)
        self._set_param(value, name)
        batch_shape = Size() if isinstance(param, numbers.Number) else value.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LogitRelaxedBernoulli, _instance)
        batch_shape = self._expand_batch(batch_shape, "LogitRelaxedBernoulli.expand")
        new.temperature = self.temperature
        self._expand_params(new, batch_shape)
        return self._expanded(new, batch_shape)

    @property
    def param_shape(self):
        return self._param.shape

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        probs = clamp_probs(self.probs.expand(shape))
        uniforms = clamp_probs(rand(shape, dtype=probs.dtype, device=probs.device))
        return (uniforms.log() - (-uniforms).log1p() + probs.log() - (-probs).log1p()) / self.temperature

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        diff = logits - value * self.temperature
        return log_of(self.temperature) + diff - 2 * diff.exp().log1p()


class RelaxedThroughBase(TransformedDistribution):
    """A relaxed distribution as a transform of its log-space base (RelaxedBernoulli, RelaxedOneHotCategorical):
    temperature, logits and probs are the base's."""
    has_rsample = True

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(type(self), _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def logits(self):
        return self.base_dist.logits

    @property
    def probs(self):
        return self.base_dist.probs


class RelaxedBernoulli(RelaxedThroughBase):
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base_dist = LogitRelaxedBernoulli(temperature, probs, logits)
        super().__init__(base_dist, SigmoidTransform(), validate_args=validate_args)
