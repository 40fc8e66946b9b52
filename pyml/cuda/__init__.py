"""pyml.cuda: devices, memory, streams and events of the CUDA backend (names follow torch.cuda).
The extension imports and works on CPU where no GPU or driver exists: is_available() is then False
and every call that needs a device raises RuntimeError."""
from .. import _C
from .._device import device as _device_cls
from .memory import (memory_allocated, max_memory_allocated, memory_reserved, max_memory_reserved,
                     memory_stats, reset_peak_memory_stats, empty_cache)
from .streams import Stream, Event, current_stream, default_stream, set_stream, stream
from . import amp  # noqa: F401  (pyml.cuda.amp.autocast, GradScaler)
from .random import (manual_seed, manual_seed_all, seed, seed_all, initial_seed, get_rng_state, set_rng_state,
                     get_rng_state_all, set_rng_state_all)

OutOfMemoryError = _C.OutOfMemoryError  # a RuntimeError, raised after the cache was freed and retried

__all__ = ["is_available", "device_count", "current_device", "set_device", "get_device_name",
           "get_device_properties", "get_device_capability", "synchronize", "OutOfMemoryError",
           "memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved",
           "memory_stats", "reset_peak_memory_stats", "empty_cache", "Stream", "Event", "current_stream",
           "default_stream", "set_stream", "stream", "device"]


def is_available():
    return _C.cuda_compiled() and _C.cuda_device_count() > 0


def device_count():
    return _C.cuda_device_count()


def _index(device, op):
    """The device index of None (the current device), an int, 'cuda:N' or a pyml.device."""
    if device is None:
        return current_device()
    if isinstance(device, int) and not isinstance(device, bool):
        return device
    d = _device_cls(device)
    if d.type != "cuda":
        raise ValueError(f"{op}: expected a CUDA device, got {d}")
    return current_device() if d.index is None else d.index


def _require(op):
    if not is_available():
        raise RuntimeError(f"{op}: no CUDA GPU is available (pyml.cuda.is_available() is False)")


def current_device():
    _require("current_device")
    return _C.cuda_current_device()


def set_device(device):
    _require("set_device")
    _C.cuda_set_device(_index(device, "set_device"))


class device:
    """Context manager that makes `device` the current CUDA device for its body."""

    def __init__(self, device):
        self.idx = _index(device, "device")
        self.prev = None

    def __enter__(self):
        self.prev = current_device()
        set_device(self.idx)

    def __exit__(self, *exc):
        set_device(self.prev)


def get_device_name(device=None):
    _require("get_device_name")
    return _C.cuda_device_name(_index(device, "get_device_name"))


class _DeviceProperties:
    def __init__(self, d):
        self.__dict__.update(d)

    def __repr__(self):
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
                f"total_memory={self.total_memory // (1 << 20)}MB, "
                f"multi_processor_count={self.multi_processor_count})")


def get_device_properties(device=None):
    _require("get_device_properties")
    return _DeviceProperties(_C.cuda_device_properties(_index(device, "get_device_properties")))


def get_device_capability(device=None):
    p = get_device_properties(device)
    return (p.major, p.minor)


def synchronize(device=None):
    """Waits for every kernel on the device to finish."""
    _require("synchronize")
    _C.cuda_synchronize(_index(device, "synchronize"))


from .extra import *  # noqa: F401,F403,E402  (is_bf16_supported, mem_get_info, nvtx, device_of, ...)
from .extra import __all__ as _extra_all  # noqa: E402
__all__ += _extra_all
