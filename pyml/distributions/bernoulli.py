"""Bernoulli(probs=None, logits=None): 1 with probability probs (or sigmoid(logits)), else 0, elementwise.
Exactly one of probs/logits is given; the other is computed on first use. log_prob and entropy go through
binary_cross_entropy_with_logits, which stays finite for probabilities of 0 and 1.
"""
import numbers

from .. import arange, bernoulli as _bernoulli, where
from .._tensor import Size
from ..autograd import no_grad
from ..nn import functional as F
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Bernoulli"]


def one_parameter(probs, logits, op):
    """The one given parameter (probs or logits) and its name; both or neither raise ValueError."""
    if (probs is None) == (logits is None):
        raise ValueError(f"{op}: either `probs` or `logits` must be specified, but not both, got probs "
                         f"{'given' if probs is not None else 'None'} and logits "
                         f"{'given' if logits is not None else 'None'}")
    return (probs, "probs") if probs is not None else (logits, "logits")


class ProbsLogits:
    """A distribution parameterised by probs or logits, whichever was given: the other one is derived on
    first use (binary: sigmoid/logit; else softmax/log over the last dim). _set_param records the given one
    (and _param); _expand_params gives another instance both, expanded. Shared by Bernoulli, Binomial,
    Geometric, NegativeBinomial and Categorical."""
    _binary = True

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=self._binary)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=self._binary)

    def _set_param(self, value, name):
        setattr(self, name, value)
        self._param = value

    def _expand_params(self, new, shape):
        for name in ("probs", "logits"):
            if name in self.__dict__:
                new._set_param(self.__dict__[name].expand(shape), name)


class Bernoulli(ProbsLogits, Distribution):
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        param, name = one_parameter(probs, logits, "Bernoulli")
        is_scalar = isinstance(param, numbers.Number)
        (value,) = broadcast_all(param)
        self._set_param(value, name)
        batch_shape = Size() if is_scalar else value.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Bernoulli, _instance)
        batch_shape = self._expand_batch(batch_shape, "Bernoulli.expand")
        self._expand_params(new, batch_shape)
        return self._expanded(new, batch_shape)

    @property
    def param_shape(self):
        return self._param.shape

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return where(self.probs == 0.5, float("nan"), mode)  # both outcomes are modes

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            return _bernoulli(self.probs.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -F.binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand=True):
        values = arange(2, dtype=self._param.dtype, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))  # (2, 1, ..., 1)
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values
