"""pyml.autocast: mixed precision by op, as torch.autocast.

Inside `with pyml.autocast("cuda")` (float16 by default; "cpu" defaults to bfloat16) the ops whose
cost is matrix products (matmul, linear, conv, attention, ...) cast their floating inputs to the
low-precision dtype, ops that lose accuracy in it (exp, log, pow, norms, losses, softmax, sums, ...)
cast them to float32, and a few multi-input ops cast to the widest input type. float64 tensors and
tensors on another device type are never cast. Casts are ordinary differentiable `.to()` calls, so
gradients flow back in each input's own dtype; the engine turns autocast off while it runs a
backward (backward ops run in the dtypes their forward ops chose). Within the outermost region
the low-precision copy of a leaf that requires grad (a parameter) is made once and reused (unless
set_autocast_cache_enabled(False) or autocast(cache_enabled=False)). torch's global state functions
(set_autocast_enabled, set_autocast_dtype, ...) read and write the same thread-local state the context
manager saves and restores, so `set_autocast_enabled("cpu", True)` autocasts like a region does.

The op functions are wrapped once at import (install()); outside any region a wrapper costs one
attribute read.
"""
import functools
import sys
import threading
import warnings

from .. import _dtype as D
from .._tensor import Tensor

# Per device type: op name -> policy ("lower", "fp32", "promote", "banned"), PyTorch's lists for the
# ops pyml has (the CPU lists are the ones torch 2.13's CPU autocast applies; the CUDA lists are its
# documented CUDA lists). Names are looked up on pyml, Tensor and pyml.nn.functional.
_LOWER = ("matmul", "__matmul__", "__rmatmul__", "mm", "bmm", "addmm", "addbmm", "baddbmm", "einsum", "chain_matmul",
          "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "prelu",
          "scaled_dot_product_attention")
_LOSSES_FP32 = ("mse_loss", "cross_entropy", "nll_loss", "binary_cross_entropy_with_logits", "l1_loss",
                "smooth_l1_loss", "huber_loss", "kl_div", "poisson_nll_loss", "cosine_embedding_loss",
                "hinge_embedding_loss", "margin_ranking_loss", "soft_margin_loss", "triplet_margin_loss",
                "multi_margin_loss", "multilabel_margin_loss")
_CUDA_FP32 = _LOSSES_FP32 + (
    "acos", "asin", "cosh", "erfinv", "exp", "expm1", "log", "log10", "log2", "log1p", "reciprocal", "rsqrt", "sinh",
    "tan", "pow", "__pow__", "__rpow__", "softplus", "layer_norm", "group_norm", "norm", "cosine_similarity", "dist",
    "pdist", "cdist", "renorm", "logsumexp", "prod", "softmax", "log_softmax", "cumprod", "cumsum", "sum")
_PROMOTE = ("addcdiv", "addcmul", "atan2", "cat", "stack", "grid_sample")
POLICY = {
    "cuda": {**{n: "lower" for n in _LOWER + ("mv", "addmv", "addr")}, **{n: "fp32" for n in _CUDA_FP32},
             **{n: "promote" for n in _PROMOTE + ("bilinear", "cross", "dot", "index_put", "scatter_add", "tensordot")},
             "binary_cross_entropy": "banned"},
    "cpu": {**{n: "lower" for n in _LOWER + ("tensordot",)},
            **{n: "fp32" for n in _LOSSES_FP32 + ("binary_cross_entropy", "cdist", "prod")},
            **{n: "promote" for n in _PROMOTE}},
}
DEFAULT_DTYPE = {"cuda": D.float16, "cpu": D.bfloat16}


class _State(threading.local):
    def __init__(self):
        self.dtype = {}     # device type -> low-precision dtype, only while enabled (what the op wrappers read)
        self.fast = {}      # device type -> its autocast dtype, enabled or not (set_autocast_dtype)
        self.depth = 0      # nesting of autocast regions (the cast cache lives while > 0)
        self.cache = {}     # id(leaf) -> (leaf, dtype, version, cast copy)
        self.cache_enabled = True


_state = _State()


# ---------------------------------------------------------------------------------------- global state
# torch's autocast state functions: thread-local flags and dtypes per device type, which the autocast
# context manager saves, sets and restores. The deprecated cpu/gpu forms warn and forward, as torch's.
def _check_device_type(device_type, op):
    if not isinstance(device_type, str):
        raise TypeError(f"{op}: device_type must be a str, got {type(device_type).__name__}")
    if device_type not in DEFAULT_DTYPE:
        raise RuntimeError(f"{op}: device_type must be 'cuda' or 'cpu', got {device_type!r}")
    return device_type


def _fast_dtype(dtype, op):
    dtype = D.to_dtype(dtype, op)
    if dtype not in (D.float16, D.bfloat16):
        raise ValueError(f"{op}: dtype must be float16 or bfloat16, got {dtype}")
    return dtype


def _need_bool(v, op, arg="enabled"):
    if not isinstance(v, bool):
        raise TypeError(f"{op}: {arg} must be a bool, got {type(v).__name__}")
    return v


def is_autocast_enabled(device_type="cuda"):
    return device_type in _state.dtype  # (a device type pyml has no autocast for is never enabled)


def get_autocast_dtype(device_type):
    return _state.fast.get(device_type, DEFAULT_DTYPE.get(device_type, D.float16))


def set_autocast_enabled(device_type, enabled=None):
    """set_autocast_enabled(device_type, enabled), or the older set_autocast_enabled(enabled) for 'cuda'."""
    if enabled is None:
        device_type, enabled = "cuda", device_type
    device_type = _check_device_type(device_type, "set_autocast_enabled")
    if _need_bool(enabled, "set_autocast_enabled"):
        _state.dtype[device_type] = get_autocast_dtype(device_type)
    else:
        _state.dtype.pop(device_type, None)


def set_autocast_dtype(device_type, dtype):
    device_type = _check_device_type(device_type, "set_autocast_dtype")
    _state.fast[device_type] = _fast_dtype(dtype, "set_autocast_dtype")
    if device_type in _state.dtype:  # an enabled region casts to the new dtype from now on
        _state.dtype[device_type] = _state.fast[device_type]


def is_autocast_cache_enabled():
    return _state.cache_enabled


def set_autocast_cache_enabled(enabled):
    _state.cache_enabled = _need_bool(enabled, "set_autocast_cache_enabled")


def clear_autocast_cache():
    _state.cache.clear()


def _deprecated(old, new):
    warnings.warn(f"pyml.{old} is deprecated. Please use pyml.{new} instead.", DeprecationWarning, stacklevel=3)


def is_autocast_cpu_enabled():
    _deprecated("is_autocast_cpu_enabled()", "is_autocast_enabled('cpu')")
    return is_autocast_enabled("cpu")


def set_autocast_cpu_enabled(enabled):
    _deprecated("set_autocast_cpu_enabled(enabled)", "set_autocast_enabled('cpu', enabled)")
    set_autocast_enabled("cpu", enabled)


def get_autocast_cpu_dtype():
    _deprecated("get_autocast_cpu_dtype()", "get_autocast_dtype('cpu')")
    return get_autocast_dtype("cpu")


def set_autocast_cpu_dtype(dtype):
    _deprecated("set_autocast_cpu_dtype(dtype)", "set_autocast_dtype('cpu', dtype)")
    set_autocast_dtype("cpu", dtype)


def get_autocast_gpu_dtype():
    _deprecated("get_autocast_gpu_dtype()", "get_autocast_dtype('cuda')")
    return get_autocast_dtype("cuda")


def set_autocast_gpu_dtype(dtype):
    _deprecated("set_autocast_gpu_dtype(dtype)", "set_autocast_dtype('cuda', dtype)")
    set_autocast_dtype("cuda", dtype)


class autocast:
    """Context manager and decorator: autocast(device_type, dtype=None, enabled=True, cache_enabled=None).
    dtype None takes get_autocast_dtype(device_type); cache_enabled None keeps is_autocast_cache_enabled()."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if device_type not in DEFAULT_DTYPE:
            raise RuntimeError(f"autocast: device_type must be 'cuda' or 'cpu', got {device_type!r}")
        dtype = get_autocast_dtype(device_type) if dtype is None else D.to_dtype(dtype, "autocast")
        if dtype not in (D.float16, D.bfloat16):
            raise ValueError(f"autocast: dtype must be float16 or bfloat16, got {dtype}")
        self.device_type, self.fast_dtype = device_type, dtype
        self._enabled = bool(enabled)
        self._cache_enabled = is_autocast_cache_enabled() if cache_enabled is None else bool(cache_enabled)

    def __enter__(self):
        dev = self.device_type
        self._prev = (_state.dtype.get(dev), _state.fast.get(dev), _state.cache_enabled)
        _state.fast[dev] = self.fast_dtype
        if self._enabled:
            _state.dtype[dev] = self.fast_dtype
        else:
            _state.dtype.pop(dev, None)
        _state.cache_enabled = self._cache_enabled
        _state.depth += 1
        return self

    def __exit__(self, *exc):
        dev = self.device_type
        active, fast, _state.cache_enabled = self._prev
        for table, value in ((_state.dtype, active), (_state.fast, fast)):
            if value is None:
                table.pop(dev, None)
            else:
                table[dev] = value
        _state.depth -= 1
        if _state.depth == 0:
            _state.cache.clear()
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            with autocast(self.device_type, self.fast_dtype, self._enabled, self._cache_enabled):
                return fn(*args, **kwargs)
        return run


class suspended:
    """Autocast off for the enclosed code (the backward engine uses it)."""

    def __enter__(self):
        self._saved = _state.dtype
        _state.dtype = {}

    def __exit__(self, *exc):
        _state.dtype = self._saved
        return False


# ---------------------------------------------------------------------------------------- casting
def _eligible(t, device_type):
    return isinstance(t, Tensor) and t.dtype in (D.float16, D.bfloat16, D.float32) and t.device.type == device_type


def _cast(t, dtype):
    if t.dtype is dtype:
        return t
    if t._requires_grad and t.grad_fn is None and _state.depth and _state.cache_enabled:  # a parameter: one copy
        hit = _state.cache.get(id(t))
        if hit is not None and hit[0] is t and hit[1] is dtype and hit[2] == t._impl.version:
            return hit[3]
        out = t.to(dtype)
        _state.cache[id(t)] = (t, dtype, t._impl.version, out)
        return out
    return t.to(dtype)


def _map(args, kwargs, f):
    def one(a):
        if isinstance(a, Tensor):
            return f(a)
        if isinstance(a, (list, tuple)) and any(isinstance(x, Tensor) for x in a):
            return type(a)(f(x) if isinstance(x, Tensor) else x for x in a)
        return a
    return [one(a) for a in args], {k: one(v) for k, v in kwargs.items()}


def _tensors(args, kwargs):
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, Tensor):
            yield a
        elif isinstance(a, (list, tuple)):
            yield from (x for x in a if isinstance(x, Tensor))


def _device_type(args, kwargs):
    """The enabled device type this call runs on: that of its first floating tensor argument."""
    for t in _tensors(args, kwargs):
        if t.dtype.is_floating_point:
            dev = t.device.type
            return dev if dev in _state.dtype else None
    return None


def _autocast_args(name, args, kwargs):
    dev = _device_type(args, kwargs)
    policy = POLICY[dev].get(name) if dev is not None else None
    if policy is None:
        return args, kwargs
    if policy == "banned":
        raise RuntimeError(f"{name}: unsafe to autocast (the low-precision result overflows easily); use "
                           "binary_cross_entropy_with_logits, or cast the inputs to float32 with autocast disabled")
    if policy == "promote":
        dtypes = [t.dtype for t in _tensors(args, kwargs) if t.dtype.is_floating_point]
        target = functools.reduce(_promote, dtypes)
    else:
        target = _state.dtype[dev] if policy == "lower" else D.float32
    return _map(args, kwargs, lambda t: _cast(t, target) if _eligible(t, dev) else t)


def _promote(a, b):
    from .. import promote_types
    return promote_types(a, b)


def _wrap(fn, name):
    @functools.wraps(fn)
    def cast_then_call(*args, **kwargs):
        if _state.dtype:
            args, kwargs = _autocast_args(name, args, kwargs)
        return fn(*args, **kwargs)
    cast_then_call._pyml_ag = getattr(fn, "_pyml_ag", False)
    cast_then_call._pyml_amp = True
    return cast_then_call


def install():
    import pyml
    import pyml.nn.functional as F
    names = set(POLICY["cuda"]) | set(POLICY["cpu"])
    for name in sorted(names):
        for owner in (pyml, Tensor, F):
            fn = owner.__dict__.get(name) if owner is Tensor else getattr(owner, name, None)
            if not callable(fn) or getattr(fn, "_pyml_amp", False):
                continue
            wrapped = _wrap(fn, name)
            setattr(owner, name, wrapped)
            home = sys.modules.get(getattr(fn, "__module__", "") or "")
            if owner is F and getattr(home, name, None) is fn:  # the layers call their family module's function
                setattr(home, name, wrapped)
