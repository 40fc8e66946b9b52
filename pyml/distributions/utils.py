"""Helpers shared by the distributions: broadcasting parameters, probs <-> logits, lazily computed
attributes, dtype limits (from pyml.finfo) and the sum over an event's rightmost dims.
"""
import numbers

from .._tensor import Tensor, Size
from .._ops.compat import finfo
from ..autograd import enable_grad


def eps(dtype):
    return finfo(dtype).eps


def tiny(dtype):
    return finfo(dtype).tiny


def max_value(dtype):
    return finfo(dtype).max


def broadcast_all(*values):
    """Tensors and numbers -> tensors broadcast to one shape. Numbers take the first tensor's dtype and
    device, or the default dtype when every value is a number."""
    from .. import tensor, get_default_dtype, broadcast_tensors
    like = next((v for v in values if isinstance(v, Tensor)), None)
    for v in values:
        if not isinstance(v, (Tensor, numbers.Number)) or isinstance(v, bool):
            raise TypeError(f"broadcast_all: input arguments must be Tensors or numbers, got {type(v).__name__}")
    if like is None:
        return tuple(tensor(float(v), dtype=get_default_dtype()) for v in values)
    dtype = like.dtype if like.dtype.is_floating_point else get_default_dtype()
    values = [v if isinstance(v, Tensor) else tensor(float(v), dtype=dtype, device=like.device) for v in values]
    return broadcast_tensors(*values)


def as_float_tensor(v, name, op):
    """A parameter given as a number or a tensor, as a floating tensor (ints become the default dtype)."""
    from .. import tensor, get_default_dtype
    if isinstance(v, Tensor):
        return v if v.dtype.is_floating_point else v.to(get_default_dtype())
    if isinstance(v, numbers.Number) and not isinstance(v, bool):
        return tensor(float(v), dtype=get_default_dtype())
    raise TypeError(f"{op}: {name} must be a Tensor or a number, got {type(v).__name__}")


class lazy_property:
    """Computed on first access, then stored on the instance (it shadows this descriptor afterwards).
    Computed with grad on: a first access inside sample()'s no_grad must not cache a value without history."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        with enable_grad():
            value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


def clamp_probs(probs):
    """Probabilities pulled into [eps, 1 - eps] so that their logs stay finite."""
    e = eps(probs.dtype)
    return probs.clamp(min=e, max=1 - e)


def logits_to_probs(logits, is_binary=False):
    from .. import sigmoid, softmax
    return sigmoid(logits) if is_binary else softmax(logits, -1)


def probs_to_logits(probs, is_binary=False):
    """Log-odds (binary) or log-probabilities (categorical) of clamped probabilities."""
    p = clamp_probs(probs)
    return p.log() - (-p).log1p() if is_binary else p.log()


def sum_rightmost(value, dim):
    """Sum over the `dim` rightmost dims (an event's log-density is the sum of its independent parts)."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:value.dim() - dim]) + (-1,)).sum(-1)


def extended_shape(sample_shape, batch_shape, event_shape):
    return Size(tuple(sample_shape) + tuple(batch_shape) + tuple(event_shape))
