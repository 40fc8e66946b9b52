"""The caching allocator's statistics (bytes; rounded block sizes, like torch.cuda)."""
from .. import _C


def _stats(device, op):
    from . import _index, _require
    _require(op)
    return _C.cuda_memory_stats(_index(device, op))


def memory_stats(device=None):
    return dict(_stats(device, "memory_stats"))


def memory_allocated(device=None):
    """Bytes held by live tensors on the device."""
    return _stats(device, "memory_allocated")["allocated_bytes"]


def max_memory_allocated(device=None):
    return _stats(device, "max_memory_allocated")["max_allocated_bytes"]


def memory_reserved(device=None):
    """Bytes obtained from cudaMalloc: live tensors plus the cache."""
    return _stats(device, "memory_reserved")["reserved_bytes"]


def max_memory_reserved(device=None):
    return _stats(device, "max_memory_reserved")["max_reserved_bytes"]


def reset_peak_memory_stats(device=None):
    from . import _index, _require
    _require("reset_peak_memory_stats")
    _C.cuda_reset_peak_memory_stats(_index(device, "reset_peak_memory_stats"))


def empty_cache():
    """Returns every cached block that no tensor uses to the driver (a no-op without a GPU)."""
    if _C.cuda_compiled() and _C.cuda_device_count() > 0:
        _C.cuda_empty_cache()
