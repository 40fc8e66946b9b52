"""RelaxedOneHotCategorical(temperature, probs=None, logits=None): the Concrete / Gumbel-softmax relaxation
of a OneHotCategorical over K classes: a point of the simplex (event (K,)), reparameterised. It is exp of
ExpRelaxedCategorical, whose sample is log_softmax((logits + g) / temperature) with g standard Gumbel noise
(-log(-log u)); its log-density (Maddison et al. 2017) is
lgamma(K) + (K - 1) log t + sum_k (l_k - t y_k) - K logsumexp_k(l_k - t y_k).
"""
import math

from .. import full_like, lgamma, rand
from .._tensor import Size, Tensor
from . import constraints
from .categorical import Categorical
from .distribution import Distribution
from .relaxed_bernoulli import RelaxedThroughBase, log_of
from .transforms import ExpTransform
from .utils import broadcast_all, clamp_probs

__all__ = ["ExpRelaxedCategorical", "RelaxedOneHotCategorical"]


class ExpRelaxedCategorical(Distribution):
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector  # the samples lie on a submanifold of it: logsumexp(y) = 0
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits)
        self.temperature = temperature
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(ExpRelaxedCategorical, _instance)
        batch_shape = self._expand_batch(batch_shape, "ExpRelaxedCategorical.expand")
        new.temperature = self.temperature
        new._categorical = self._categorical.expand(batch_shape)
        return self._expanded(new, batch_shape)

    @property
    def param_shape(self):
        return self._categorical.param_shape

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def probs(self):
        return self._categorical.probs

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        uniforms = clamp_probs(rand(shape, dtype=self.logits.dtype, device=self.logits.device))
        gumbels = -((-(uniforms.log())).log())
        scores = (self.logits + gumbels) / self.temperature
        return scores - scores.logsumexp(-1, keepdim=True)

    def _log_scale(self, k):
        """lgamma(K) + (K - 1) log t, shaped like temperature."""
        t = self.temperature
        if isinstance(t, Tensor):
            return lgamma(full_like(t, float(k))) + (k - 1) * t.log()
        return math.lgamma(k) + (k - 1) * log_of(t)

    def log_prob(self, value):
        k = self._categorical._num_events
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        score = logits - value * self.temperature
        score = (score - score.logsumexp(-1, keepdim=True)).sum(-1)
        return score + self._log_scale(k)


class RelaxedOneHotCategorical(RelaxedThroughBase):
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base_dist = ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base_dist, ExpTransform(), validate_args=validate_args)
