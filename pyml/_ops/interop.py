"""DLPack and NumPy interop: Tensor.__dlpack__/__dlpack_device__, pyml.from_dlpack, pyml.to_dlpack,
and Tensor.__array__ with NumPy's copy semantics. Exchanges are zero-copy for CPU tensors: the
producer's memory stays alive while any consumer view exists, and its deleter runs exactly once.
"""
import builtins
import enum

import numpy as np

from .. import _C
from .. import _dtype as D
from .._device import to_device
from .._tensor import Tensor, wrap, tensor_method, export


class DLDeviceType(enum.IntEnum):
    kDLCPU = 1
    kDLCUDA = 2
    kDLCUDAHost = 3
    kDLOpenCL = 4
    kDLVulkan = 7
    kDLMetal = 8
    kDLVPI = 9
    kDLROCM = 10
    kDLROCMHost = 11
    kDLExtDev = 12
    kDLCUDAManaged = 13
    kDLOneAPI = 14


def _device_pair(dev):
    kind, idx = dev
    try:
        kind = DLDeviceType(builtins.int(kind))
    except ValueError:
        pass
    return kind, builtins.int(idx)


@tensor_method()
def __dlpack_device__(self):
    return _device_pair(_C.dlpack_device(self._impl))


@tensor_method()
def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
    """A DLPack capsule viewing this tensor: versioned ("dltensor_versioned") when the consumer's
    max_version is at least (1, 0), else the legacy "dltensor" one."""
    if self.requires_grad:
        raise BufferError("__dlpack__: can't export a tensor that requires grad; use tensor.detach()")
    dev = self.__dlpack_device__()
    if dev[0] == DLDeviceType.kDLCPU and stream is not None and stream != -1:
        raise ValueError(f"__dlpack__: stream must be None (or -1) for cpu tensors, got {stream!r}")
    if dl_device is not None and _device_pair(dl_device) != dev:
        raise BufferError(f"__dlpack__: can't export a tensor on {self.device} to DLPack device {tuple(dl_device)}; "
                          "move it with .to() first")
    if dev[0] == DLDeviceType.kDLCUDA:
        _order_consumer_stream(dev[1], stream)
    versioned = max_version is not None and builtins.int(max_version[0]) >= 1
    return _C.to_dlpack(self._impl, versioned, copy is True)


def _stream_handle(stream):
    """DLPack's CUDA stream numbers: None and 1 are the legacy default stream (handle 0), 2 the
    per-thread default stream (cudaStreamPerThread, handle 2), anything else a cudaStream_t."""
    if stream is None or stream == 1:
        return 0
    if isinstance(stream, builtins.bool) or not isinstance(stream, builtins.int) or stream == 0 or stream < -1:
        raise ValueError(f"__dlpack__: stream must be None, -1, 1, 2 or a CUDA stream handle, got {stream!r}")
    return stream


def _order_consumer_stream(index, stream):
    """The consumer's stream must not read the data before our queued kernels wrote it."""
    if stream == -1:
        return
    consumer, ours = _stream_handle(stream), _C.cuda_current_stream(index)
    if consumer == ours:
        return
    ev = _C.cuda_event_create(index, False)
    try:
        _C.cuda_event_record(ev, ours, index)
        _C.cuda_stream_wait_event(consumer, ev, index)
    finally:
        _C.cuda_event_destroy(ev, index)


def to_dlpack(tensor):
    """A legacy "dltensor" capsule viewing `tensor` (like torch.utils.dlpack.to_dlpack)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dlpack: expected a Tensor, got {type(tensor).__name__}")
    return tensor.__dlpack__()


def _is_capsule(x):
    return type(x).__name__ == "PyCapsule"


def from_dlpack(ext_tensor, *, device=None, copy=None):
    """A tensor sharing memory with any object implementing __dlpack__ (NumPy, PyTorch, ...) or with a
    DLPack capsule. copy=True always copies; copy=False never does (read-only producers then fail)."""
    if copy is not None and not isinstance(copy, builtins.bool):
        raise TypeError(f"from_dlpack: copy must be None or a bool, got {copy!r}")
    dev = to_device(device) if device is not None else None
    if dev is not None and dev.type != "cpu" and copy is False:
        raise ValueError(f"from_dlpack: moving to {dev} needs a copy, got copy=False")
    if _is_capsule(ext_tensor):
        t = wrap(_C.from_dlpack(ext_tensor, copy))
    elif hasattr(ext_tensor, "__dlpack__"):
        t = wrap(_C.from_dlpack(_capsule_of(ext_tensor, copy), copy))
    else:
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ or a DLPack capsule, "
                        f"got {type(ext_tensor).__name__}")
    return t if dev is None or dev.type == "cpu" else t.to(dev)


def _capsule_of(x, copy):
    kwargs = {"max_version": (1, 0)}
    if hasattr(x, "__dlpack_device__"):
        kind, idx = x.__dlpack_device__()
        if builtins.int(kind) not in (DLDeviceType.kDLCPU, DLDeviceType.kDLCUDA):
            raise RuntimeError(f"from_dlpack: only cpu (kDLCPU) and cuda (kDLCUDA) tensors can be imported, got "
                               f"device {_device_pair((kind, idx))}")
        if builtins.int(kind) == DLDeviceType.kDLCUDA:
            if builtins.int(idx) >= _C.cuda_device_count():
                raise RuntimeError(f"from_dlpack: the producer's tensor is on cuda:{idx} but pyml sees "
                                   f"{_C.cuda_device_count()} CUDA devices")
            ours = _C.cuda_current_stream(builtins.int(idx))
            kwargs["stream"] = 1 if ours == 0 else ours  # the producer orders its work before our stream
    if copy is not None:
        kwargs["copy"] = copy
    try:
        return x.__dlpack__(**kwargs)
    except TypeError:  # a producer predating DLPack 1.0: no max_version / copy keywords
        return x.__dlpack__()


# ---------------------------------------------------------------------------- NumPy
def _array(self, dtype=None, copy=None):
    """np.asarray(t) shares memory with a cpu tensor; np.array(t) (copy=True) copies; copy=False
    raises when a copy can't be avoided (a bfloat16 or cuda tensor, a dtype change)."""
    needs_copy = self.device.type != "cpu" or self.dtype is D.bfloat16
    if dtype is not None and np.dtype(dtype) != np.dtype(self.dtype._np or np.float32):
        needs_copy = True
    if copy is False and needs_copy:
        raise ValueError(f"__array__: converting a {self.dtype} tensor on {self.device} to NumPy"
                         f"{'' if dtype is None else ' ' + str(np.dtype(dtype))} needs a copy, got copy=False")
    t = self.detach()
    a = (t.float() if t.dtype is D.bfloat16 else t).numpy(force=True)
    if dtype is not None:
        a = a.astype(dtype, copy=False)
    if copy and not needs_copy:  # a is still a view of the tensor
        a = a.copy()
    return a


Tensor.__array__ = _array  # replaces _tensor.py's version, which shared memory even for copy=True

__all__ = export(globals(), exclude=("__dlpack__", "__dlpack_device__"))
