"""pyml.amp.custom_fwd / custom_bwd: autocast for the forward and backward of a custom autograd.Function,
as torch.amp.custom_fwd / custom_bwd.

custom_fwd records on ctx whether autocast was on (and its dtype) when forward ran; with cast_inputs it
instead casts the floating tensors on device_type (not float64) to cast_inputs and runs forward with
autocast off. custom_bwd runs backward under the autocast state forward saw (pyml's engine otherwise
runs every backward with autocast off).
"""
import collections.abc
import functools

from .. import _dtype as D
from .._tensor import Tensor
from .autocast_mode import autocast, is_autocast_enabled, get_autocast_dtype

__all__ = ["custom_fwd", "custom_bwd"]


def _cast(value, device_type, dtype):
    """value with every eligible floating tensor (nested in lists, tuples, dicts) cast to dtype."""
    if isinstance(value, Tensor):
        eligible = value.dtype.is_floating_point and value.device.type == device_type and value.dtype != D.float64
        return value.to(dtype) if eligible else value
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, collections.abc.Mapping):
        return {_cast(k, device_type, dtype): _cast(v, device_type, dtype) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(v, device_type, dtype) for v in value)
    return value


def _check_device_type(device_type):
    if not isinstance(device_type, str):
        raise ValueError(f"custom_fwd/custom_bwd: expected `device_type` of type `str`, got: `{type(device_type)}`")


def custom_fwd(fwd=None, *, device_type, cast_inputs=None):
    """Decorator for a custom Function's forward (see the module docstring)."""
    _check_device_type(device_type)
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        ctx, enabled = args[0], is_autocast_enabled(device_type)
        ctx._dtype = get_autocast_dtype(device_type)
        ctx._fwd_used_autocast = enabled and cast_inputs is None
        if cast_inputs is None or not enabled:
            return fwd(*args, **kwargs)
        with autocast(device_type=device_type, enabled=False):
            return fwd(*_cast(args, device_type, cast_inputs), **_cast(kwargs, device_type, cast_inputs))
    return decorate_fwd


def custom_bwd(bwd=None, *, device_type):
    """Decorator for a custom Function's backward: runs it under forward's autocast state."""
    _check_device_type(device_type)
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        ctx = args[0]
        with autocast(device_type=device_type, enabled=ctx._fwd_used_autocast, dtype=ctx._dtype):
            return bwd(*args, **kwargs)
    return decorate_bwd
