"""Padding layers: ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and CircularPad in 1d/2d/3d, with
torch's constructor arguments and printouts. An int pads every side; a tuple is taken as it is (its
length is checked by F.pad, as in torch). Each layer is F.pad with its mode; the circular ones also
check the input's rank first, as torch's do.
"""
from collections.abc import Iterable

from .._functional.padding import pad as _pad
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
           "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d"]


def _ntuple(padding, n):
    """An iterable -> a tuple of its values; anything else -> n copies (F.pad checks them, as in torch)."""
    if isinstance(padding, Iterable):
        return tuple(padding)
    return (padding,) * n


class _PadNd(Module):
    mode = "constant"
    _n_pads = 2  # 2 * the number of padded dims

    def __init__(self, padding):
        super().__init__()
        self.padding = _ntuple(padding, self._n_pads)

    def forward(self, input):
        return _pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


# ------------------------------------------------------------------------------------- constant
class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return _pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    pass


class ConstantPad2d(_ConstantPadNd):
    _n_pads = 4


class ConstantPad3d(_ConstantPadNd):
    _n_pads = 6


class ZeroPad1d(ConstantPad1d):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


# ------------------------------------------------------------------------------------- reflection
class ReflectionPad1d(_PadNd):
    mode = "reflect"


class ReflectionPad2d(_PadNd):
    mode, _n_pads = "reflect", 4


class ReflectionPad3d(_PadNd):
    mode, _n_pads = "reflect", 6


# ------------------------------------------------------------------------------------- replication
class ReplicationPad1d(_PadNd):
    mode = "replicate"


class ReplicationPad2d(_PadNd):
    mode, _n_pads = "replicate", 4


class ReplicationPad3d(_PadNd):
    mode, _n_pads = "replicate", 6


# ------------------------------------------------------------------------------------- circular
class _CircularPadNd(_PadNd):
    mode = "circular"

    def forward(self, input):
        nd = self._n_pads // 2
        ndim = getattr(input, "ndim", None)
        if ndim is not None and ndim not in (nd + 1, nd + 2):
            raise ValueError(f"{type(self).__name__}: expected {nd + 1}D or {nd + 2}D input (got {ndim}D input)")
        return _pad(input, self.padding, "circular")


class CircularPad1d(_CircularPadNd):
    pass


class CircularPad2d(_CircularPadNd):
    _n_pads = 4


class CircularPad3d(_CircularPadNd):
    _n_pads = 6
