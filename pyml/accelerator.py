"""torch.accelerator for pyml: the one accelerator pyml knows is CUDA. Scripts written against the
device-generic API (`torch.accelerator.current_accelerator()` and friends) forward to pyml.cuda when a GPU
is present and answer 'none' otherwise."""
from . import cuda as _cuda
from ._device import device as _device

__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index", "current_device_idx",
           "set_device_index", "set_device_idx", "synchronize", "current_stream", "set_stream", "empty_cache",
           "memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved",
           "reset_peak_memory_stats", "memory_stats", "get_device_capability"]


def is_available():
    return _cuda.is_available()


def current_accelerator(check_available=False):
    """pyml.device('cuda') when pyml was built with CUDA (and, with check_available, a GPU is present)."""
    if check_available and not is_available():
        return None
    return _device("cuda") if is_available() else None


def device_count():
    return _cuda.device_count() if is_available() else 0


def _need():
    if not is_available():
        raise RuntimeError("accelerator: no accelerator is available (pyml's only accelerator is a CUDA GPU)")


def current_device_index():
    _need()
    return _cuda.current_device()


current_device_idx = current_device_index


def set_device_index(device):
    _need()
    _cuda.set_device(device)


set_device_idx = set_device_index


def synchronize(device=None):
    _need()
    _cuda.synchronize(device)


def current_stream(device=None):
    _need()
    return _cuda.current_stream(device)


def set_stream(stream):
    _need()
    _cuda.set_stream(stream)


def empty_cache():
    if is_available():
        _cuda.empty_cache()


def get_device_capability(device=None):
    _need()
    major, minor = _cuda.get_device_capability(device)
    return {"major": major, "minor": minor}


def _memory(name):
    def fn(device=None):
        _need()
        return getattr(_cuda, name)(device)
    fn.__name__ = name
    fn.__doc__ = f"pyml.cuda.{name} of the current (or given) GPU."
    return fn


memory_allocated = _memory("memory_allocated")
max_memory_allocated = _memory("max_memory_allocated")
memory_reserved = _memory("memory_reserved")
max_memory_reserved = _memory("max_memory_reserved")
reset_peak_memory_stats = _memory("reset_peak_memory_stats")
memory_stats = _memory("memory_stats")
