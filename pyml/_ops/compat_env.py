"""Top-level construction and process-wide settings PyTorch scripts call: asarray, frombuffer, scalar_tensor,
the default device, the deterministic-algorithms flags, and small runtime queries and switches (typename,
get_device, the inter-op thread count, ...). The legacy tensor types live in compat_legacy.py.

Defaults: pyml's factory functions create CPU tensors unless given device=, so the default device is
always 'cpu' here; set_default_device accepts 'cpu' (or None) and refuses anything else with a message
pointing at device=. Determinism: pyml has no alternative deterministic kernels to switch to, so
use_deterministic_algorithms only records the flag (random numbers are counter-based, the same bits for
the same seed whatever the thread count; but on CUDA the scatter-style backward kernels of index_add /
scatter_add, embedding, grid_sample and attention accumulate with float atomics, whose order, and so the
last bits of the result, can vary between runs, and the flag does not change that).
"""
import builtins
import warnings

import numpy as np

import pyml
from .. import _C
from .. import _dtype as D
from .._tensor import Tensor, export, wrap

# ---------------------------------------------------------------------------- asarray / frombuffer / scalar_tensor


def _no_alias(why):
    raise ValueError(f"asarray: copy=False, but {why}")


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    """A tensor from obj, sharing memory with a Tensor or NumPy array when dtype and device allow and copy is
    not True; copy=False refuses any conversion that would need a copy."""
    dt = None if dtype is None else D.to_dtype(dtype, "asarray")
    if isinstance(obj, Tensor):
        same = (dt is None or dt is obj.dtype) and (device is None or pyml.device(device) == obj.device)
        if copy is False and not same:
            _no_alias(f"the tensor ({obj.dtype} on {obj.device}) needs a conversion to {dt} on {device}")
        r = obj.to(dtype=dt, device=device, copy=builtins.bool(copy)) if (copy or not same) else obj
    elif isinstance(obj, np.ndarray) or hasattr(obj, "__array_interface__") or isinstance(obj, (bytes, bytearray)):
        a = np.frombuffer(obj, dtype=np.uint8) if isinstance(obj, (bytes, bytearray)) else np.asarray(obj)
        src = D.from_numpy_dtype(a.dtype)
        if copy is False and (dt not in (None, src) or (device is not None and pyml.device(device).type != "cpu")):
            _no_alias(f"the array ({a.dtype}) needs a conversion to {dt} on {device}")
        r = pyml.tensor(a, dtype=dt, device=device) if copy else pyml.as_tensor(a, dtype=dt, device=device)
    else:
        if copy is False:
            _no_alias(f"a {type(obj).__name__} can't be aliased into a tensor")
        r = pyml.tensor(obj, dtype=dt, device=device)
    if requires_grad:
        r = r.detach() if r is obj else r
        r.requires_grad_(True)
    return r


def _bfloat16_from(buf, count, offset):
    """bfloat16 has no NumPy dtype: widen the raw 16-bit patterns to float32 (exact) and narrow back (a copy)."""
    bits = np.frombuffer(buf, dtype=np.uint16, count=count, offset=offset).astype(np.uint32) << 16
    return pyml.from_numpy(bits.view(np.float32).copy()).to(D.bfloat16)


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    """A 1-D tensor over the bytes of a buffer-protocol object (shared, not copied: writes go both ways);
    count elements (all by default) from byte offset. bfloat16 is the exception: a copy."""
    dt = D.to_dtype(dtype, "frombuffer")
    n_bytes = memoryview(buffer).nbytes
    size = dt.itemsize
    if n_bytes == 0 or count == 0:
        raise ValueError(f"frombuffer: both buffer length ({n_bytes}) and count ({count}) must not be 0")
    if not 0 <= offset < n_bytes:
        raise ValueError(f"frombuffer: offset ({offset} bytes) must be non-negative and no greater than buffer length "
                         f"({n_bytes} bytes) minus 1")
    if count < 0 and (n_bytes - offset) % size:
        raise ValueError(f"frombuffer: buffer length ({n_bytes - offset} bytes) after offset ({offset} bytes) must be "
                         f"a multiple of element size ({size})")
    if count > 0 and count * size > n_bytes - offset:
        raise ValueError(f"frombuffer: requested buffer length ({count} * {size} bytes) after offset ({offset} "
                         f"bytes) must not be greater than actual buffer length ({n_bytes} bytes)")
    if dt is D.bfloat16:
        t = _bfloat16_from(buffer, count, offset)
    else:
        a = np.frombuffer(buffer, dtype=dt._np, count=count, offset=offset)
        if not a.flags.writeable:
            warnings.warn("frombuffer: the given buffer is not writable; the tensor shares its memory, so writing to "
                          "the tensor is undefined behaviour", UserWarning, stacklevel=2)
        t = wrap(_C.from_numpy(a))
    return t.requires_grad_(True) if requires_grad else t


def scalar_tensor(s, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=None):
    """A 0-dim tensor holding the number s, in the default float dtype unless dtype says otherwise."""
    if isinstance(s, Tensor):
        s = s.item()
    dt = pyml.get_default_dtype() if dtype is None else dtype
    return pyml.full([], s, dtype=dt, device=device, requires_grad=requires_grad)


# ---------------------------------------------------------------------------- default device
def get_default_device():
    """The device factory functions use when given none: always cpu in pyml."""
    return pyml.device("cpu")


def set_default_device(device):
    """Accepts 'cpu' or None (pyml's fixed default); other devices raise: pass device= to the factory
    functions (or move modules with .to(device)) instead."""
    if device is None:
        return
    dev = pyml.device(device) if not isinstance(device, builtins.int) else pyml.device("cuda", device)
    if dev.type != "cpu":
        raise RuntimeError(f"set_default_device: pyml's factory functions always default to 'cpu'; pass device= "
                           f"explicitly (e.g. pyml.zeros(3, device='{dev}')), got {str(dev)!r}")


# ---------------------------------------------------------------------------- determinism
_DETERMINISM = {"mode": False, "warn_only": False}
_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Record the flag for are_deterministic_algorithms_enabled. Nothing else changes: pyml has no separate
    deterministic kernels, and does not warn about the CUDA atomics-based ones (see the module notes)."""
    for name, v in (("mode", mode), ("warn_only", warn_only)):
        if not isinstance(v, builtins.bool):
            raise TypeError(f"use_deterministic_algorithms: argument '{name}' must be bool, got {type(v).__name__}")
    _DETERMINISM["mode"], _DETERMINISM["warn_only"] = mode, warn_only


def are_deterministic_algorithms_enabled():
    return _DETERMINISM["mode"]


def is_deterministic_algorithms_warn_only_enabled():
    return _DETERMINISM["mode"] and _DETERMINISM["warn_only"]


def set_deterministic_debug_mode(debug_mode):
    """'default' / 0: off, 'warn' / 1: deterministic with warnings, 'error' / 2: deterministic."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise ValueError(f"set_deterministic_debug_mode: invalid mode, expected one of 'default', 'warn', "
                             f"'error', got {debug_mode!r}")
        debug_mode = _DEBUG_MODES[debug_mode]
    if debug_mode not in (0, 1, 2) or isinstance(debug_mode, builtins.bool):
        raise ValueError(f"set_deterministic_debug_mode: invalid mode, expected 0, 1 or 2, got {debug_mode!r}")
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode():
    if not _DETERMINISM["mode"]:
        return 0
    return 1 if _DETERMINISM["warn_only"] else 2


# ---------------------------------------------------------------------------- small runtime queries
def is_complex(input):
    """False: pyml has no complex dtypes."""
    return False


def is_storage(obj):
    """False: pyml has no Storage objects."""
    return False


def get_device(input):
    """-1 for a CPU tensor, the CUDA device index otherwise."""
    return input.get_device()


def typename(obj):
    """'pyml.FloatTensor' style names for tensors, the qualified class name otherwise."""
    if isinstance(obj, Tensor):
        return obj.type()
    mod = getattr(type(obj), "__module__", "")
    return f"{mod}.{type(obj).__qualname__}" if mod not in ("", "builtins") else type(obj).__qualname__


_INTEROP_THREADS = [1]


def get_num_interop_threads():
    """The recorded inter-op thread count (1 by default): pyml runs one op at a time, parallel inside it."""
    return _INTEROP_THREADS[0]


def set_num_interop_threads(num):
    """Recorded for get_num_interop_threads; pyml has no inter-op pool (use set_num_threads for intra-op)."""
    if isinstance(num, builtins.bool) or not isinstance(num, builtins.int) or num <= 0:
        raise ValueError(f"set_num_interop_threads: expects a positive int, got {num!r}")
    _INTEROP_THREADS[0] = num


_WARN_ALWAYS = [False]


def set_warn_always(b):
    """Recorded for is_warn_always_enabled (pyml's warnings follow Python's warnings filters)."""
    _WARN_ALWAYS[0] = builtins.bool(b)


def is_warn_always_enabled():
    return _WARN_ALWAYS[0]


__all__ = export(globals())
