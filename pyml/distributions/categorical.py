"""Categorical(probs=None, logits=None): an index in 0..K-1 drawn with the probabilities of the last dim
(K = probs.shape[-1]); the leading dims are the batch. probs are normalised to sum to 1 and logits to
log-probabilities (logits - logsumexp). Samples come from pyml.multinomial on the (batch, K) rows:
one call draws every sample of every batch member.
"""
from .. import _dtype as D
from .. import arange, broadcast_tensors, full, multinomial, gather
from .._tensor import Size, Tensor
from ..autograd import no_grad
from . import constraints
from .distribution import Distribution
from .bernoulli import ProbsLogits, one_parameter
from .utils import max_value

__all__ = ["Categorical"]


def _event_param(v, name, op):
    """probs/logits as a floating tensor of at least one dim."""
    from .. import get_default_dtype
    if not isinstance(v, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(v).__name__}")
    if v.dim() < 1:
        raise ValueError(f"{op}: {name} must have at least one dimension, got shape {tuple(v.shape)}")
    return v if v.dtype.is_floating_point else v.to(get_default_dtype())


class Categorical(ProbsLogits, Distribution):
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True
    _binary = False  # probs and logits over the last dim

    def __init__(self, probs=None, logits=None, validate_args=None):
        param, name = one_parameter(probs, logits, type(self).__name__)
        param = _event_param(param, name, type(self).__name__)
        if name == "probs":
            self._set_param(param / param.sum(-1, keepdim=True), name)
        else:
            self._set_param(param - param.logsumexp(-1, keepdim=True), name)
        self._num_events = self._param.shape[-1]
        batch_shape = self._param.shape[:-1] if self._param.dim() > 1 else Size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Categorical, _instance)
        batch_shape = self._expand_batch(batch_shape, "Categorical.expand")
        self._expand_params(new, tuple(batch_shape) + (self._num_events,))
        new._num_events = self._num_events
        return self._expanded(new, batch_shape)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def param_shape(self):
        return self._param.shape

    @property
    def mean(self):
        return full(self._extended_shape(), float("nan"), dtype=self.probs.dtype, device=self.probs.device)

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        return full(self._extended_shape(), float("nan"), dtype=self.probs.dtype, device=self.probs.device)

    def sample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        n = shape.numel() // max(self._batch_shape.numel(), 1)
        with no_grad():
            probs_2d = self.probs.reshape(-1, self._num_events)  # (B, K)
            if n == 0 or probs_2d.shape[0] == 0:
                return full(shape, 0, dtype=D.int64, device=self.probs.device)
            idx = multinomial(probs_2d, n, True)  # (B, n)
            return idx.T.reshape(shape)  # (n, B) -> sample_shape + batch_shape

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        value, log_pmf = broadcast_tensors(value, self.logits)
        return gather(log_pmf, -1, value[..., :1]).squeeze(-1)

    def entropy(self):
        logits = self.logits.clamp(min=-max_value(self.logits.dtype))  # -inf logits of zero probs stay finite
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        values = arange(self._num_events, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))  # (K, 1, ..., 1)
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values


class CategoricalView:
    """probs, logits and param_shape of the Categorical a distribution is built on (self._categorical):
    OneHotCategorical and Multinomial."""

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def param_shape(self):
        return self._categorical.param_shape
