"""Convolution switches under torch.backends.cudnn's names (pyml has no cuDNN: these steer its own
CUDA convolution kernels). `allow_tf32` lets float32 convolutions on CUDA run on TF32 tensor cores
(10-bit mantissa inputs, float32 accumulation). PyTorch turns it on by default; pyml keeps it off,
like `pyml.backends.cuda.matmul.allow_tf32`, so float32 results match the CPU's unless asked.
`enabled`, `benchmark` and `deterministic` are accepted and kept, and change nothing: pyml picks its
convolution kernel from the shapes alone, and its kernels are deterministic."""
import sys
import types

from .. import _C


class _CudnnModule(types.ModuleType):
    @property
    def allow_tf32(self):
        return bool(_C._get_conv_allow_tf32())

    @allow_tf32.setter
    def allow_tf32(self, value):
        _C._set_conv_allow_tf32(bool(value))


enabled = True
benchmark = False
deterministic = False
benchmark_limit = 10


def is_available():
    """False: pyml runs its own convolution kernels, never cuDNN."""
    return False


def version():
    return None


sys.modules[__name__].__class__ = _CudnnModule
