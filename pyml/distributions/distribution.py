"""Distribution: the base class of every distribution, like torch.distributions.Distribution.

Shapes: a sample has shape sample_shape + batch_shape + event_shape; log_prob reduces the event dims
(one log-density per batch element). Parameters are checked against arg_constraints when the
distribution is built, and values against support in log_prob/cdf/icdf, when validation is on
(the default, like torch's; Distribution.set_default_validate_args(False) or validate_args=False
turn it off). Subclasses write their math as pyml ops, so autograd and CUDA come with them.
"""
from .. import _dtype as D
from .._tensor import Tensor, Size
from ..autograd import no_grad
from . import constraints
from .utils import lazy_property, extended_shape

__all__ = ["Distribution"]


def _as_size(shape, name, op):
    """A shape argument (tuple/list/Size of ints) as a Size."""
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or any(isinstance(s, bool) or not isinstance(s, int) for s in shape):
        raise TypeError(f"{op}: {name} must be a tuple of ints, got {shape!r}")
    if any(s < 0 for s in shape):
        raise ValueError(f"{op}: {name} must hold non-negative sizes, got {tuple(shape)}")
    return Size(tuple(shape))


class Distribution:
    """A batch of probability distributions with batch_shape independent members, each over event_shape."""
    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__

    @staticmethod
    def set_default_validate_args(value):
        """Turn argument/value validation on or off for every distribution built afterwards."""
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args: value must be True or False, got {value!r}")
        Distribution._validate_args = value

    def __init__(self, batch_shape=Size(), event_shape=Size(), validate_args=None):
        op = type(self).__name__
        self._batch_shape = _as_size(batch_shape, "batch_shape", op)
        self._event_shape = _as_size(event_shape, "event_shape", op)
        if validate_args is not None:
            self._validate_args = bool(validate_args)
        if self._validate_args:
            self._check_parameters()

    def _check_parameters(self):
        try:
            arg_constraints = self.arg_constraints
        except NotImplementedError:
            arg_constraints = {}
        for param, constraint in arg_constraints.items():
            if constraints.is_dependent(constraint):
                continue  # checked by the subclass, or not checkable
            if param not in self.__dict__ and isinstance(getattr(type(self), param, None), lazy_property):
                continue  # the parameter was not given (probs when logits were)
            value = getattr(self, param)
            if not bool(constraint.check(value).all()):
                raise ValueError(f"{type(self).__name__}: parameter {param} must satisfy the constraint "
                                 f"{constraint!r}, got invalid values (Tensor of shape {tuple(value.shape)}): "
                                 f"{_short(value)}")

    # ------------------------------------------------------------------------------------ shapes
    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def _extended_shape(self, sample_shape=Size()):
        shape = _as_size(sample_shape, "sample_shape", type(self).__name__)
        return extended_shape(shape, self._batch_shape, self._event_shape)

    def expand(self, batch_shape, _instance=None):
        """The same distribution with its parameters broadcast to batch_shape (no copy)."""
        raise NotImplementedError(f"{type(self).__name__}.expand is not implemented")

    def _get_checked_instance(self, cls, _instance=None):
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(f"Subclass {type(self).__name__} of {cls.__name__} that defines a custom "
                                      "__init__ method must also define a custom .expand() method.")
        return type(self).__new__(type(self)) if _instance is None else _instance

    def _expand_batch(self, batch_shape, op):
        """batch_shape as a Size, checked to be an expansion of this distribution's batch_shape."""
        shape = _as_size(batch_shape, "batch_shape", op)
        ok = len(shape) >= len(self._batch_shape) and all(
            s == b or b == 1 for s, b in zip(shape[len(shape) - len(self._batch_shape):], self._batch_shape))
        if not ok:
            raise ValueError(f"{op}: batch_shape must be an expansion of {tuple(self._batch_shape)}, got "
                             f"{tuple(shape)}")
        return shape

    def _expanded(self, new, batch_shape, *names):
        """The end of every expand(): new gets self's tensors `names` expanded to batch_shape, then
        batch_shape, self's event_shape and self's validate_args setting (its parameters are not re-checked)."""
        for name in names:
            setattr(new, name, getattr(self, name).expand(batch_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    # ------------------------------------------------------------------------------------ interface
    @property
    def arg_constraints(self):
        raise NotImplementedError

    @property
    def support(self):
        raise NotImplementedError

    @property
    def mean(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement mean")

    @property
    def mode(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement mode")

    @property
    def variance(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement variance")

    @property
    def stddev(self):
        return self.variance.sqrt()

    def sample(self, sample_shape=Size()):
        """Samples of shape sample_shape + batch_shape + event_shape, outside the graph."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=Size()):
        """Reparameterised samples: gradients flow back to the parameters."""
        raise NotImplementedError(f"{type(self).__name__} does not implement rsample")

    def sample_n(self, n):
        return self.sample(Size((n,)))

    def log_prob(self, value):
        raise NotImplementedError(f"{type(self).__name__} does not implement log_prob")

    def cdf(self, value):
        raise NotImplementedError(f"{type(self).__name__} does not implement cdf")

    def icdf(self, value):
        raise NotImplementedError(f"{type(self).__name__} does not implement icdf")

    def entropy(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement entropy")

    def enumerate_support(self, expand=True):
        raise NotImplementedError(f"{type(self).__name__} does not implement enumerate_support")

    def perplexity(self):
        return self.entropy().exp()

    # ------------------------------------------------------------------------------------ validation
    def _validate_sample(self, value, method="log_prob"):
        """value must be a tensor whose rightmost dims are event_shape, broadcastable with
        batch_shape + event_shape, and inside the support."""
        op = f"{type(self).__name__}.{method}"
        if not isinstance(value, Tensor):  # torch raises ValueError here too
            raise ValueError(f"{op}: the value argument must be a Tensor, got {type(value).__name__}")
        n_event = len(self._event_shape)
        shape = tuple(value.shape)
        if len(shape) < n_event or tuple(shape[len(shape) - n_event:]) != tuple(self._event_shape):
            raise ValueError(f"{op}: the rightmost sizes of value must match event_shape "
                             f"{tuple(self._event_shape)}, got {shape}")
        want = tuple(self._batch_shape) + tuple(self._event_shape)
        for a, b in zip(reversed(shape), reversed(want)):
            if a != 1 and b != 1 and a != b:
                raise ValueError(f"{op}: value must be broadcastable with batch_shape + event_shape {want}, "
                                 f"got {shape}")
        self._check_support(value, op)

    def _check_support(self, value, op):
        try:
            support = self.support
        except NotImplementedError:
            return
        if value.dtype is D.bool_:
            value = value.long()
        if not bool(support.check(value).all()):
            raise ValueError(f"{op}: value must be within the support {support!r}, got (Tensor of shape "
                             f"{tuple(value.shape)}): {_short(value)}")

    def __repr__(self):
        names = [k for k in self.arg_constraints if k in self.__dict__]
        parts = []
        for k in names:
            v = self.__dict__[k]
            parts.append(f"{k}: {v.detach() if v.numel() == 1 else v.shape}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _short(value):
    """A tensor's values for an error message, on one line."""
    return " ".join(str(value.detach()).split())
