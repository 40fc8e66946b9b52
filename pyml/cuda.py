"""pyml.cuda: device queries. The extension works on CPU where no GPU or driver exists."""
from . import _C


class OutOfMemoryError(RuntimeError):
    """Raised when a CUDA allocation fails after freeing cached blocks."""


def is_available():
    return _C.cuda_compiled() and _C.cuda_device_count() > 0


def device_count():
    return _C.cuda_device_count()


def get_device_name(device=None):
    idx = 0 if device is None else (device if isinstance(device, int) else (device.index or 0))
    return _C.cuda_device_name(idx)


def synchronize(device=None):
    if is_available():
        _C.cuda_synchronize(0 if device is None else int(device))
