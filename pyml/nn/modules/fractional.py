"""nn modules: FractionalMaxPool2d/3d (Graham's fractional max pooling), as torch.nn.

The layer holds kernel_size and either output_size or output_ratio (each in (0, 1)); `_random_samples`,
when given, is a buffer (N, C, 2|3) that fixes the windows (otherwise each call draws fresh samples).
The work is in nn.functional.fractional_max_pool2d/3d.
"""
from .module import Module
from .._functional import fractional as F

__all__ = ["FractionalMaxPool2d", "FractionalMaxPool3d"]


def _tuple(v, n):
    return None if v is None else tuple(v) if isinstance(v, (list, tuple)) else (v,) * n


class _FractionalMaxPoolNd(Module):
    _nd = 2

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices=False, _random_samples=None):
        super().__init__()
        name, nd = type(self).__name__, self._nd
        if any(k <= 0 for k in _tuple(kernel_size, nd)):
            raise ValueError(f"{name}: kernel_size must be greater than 0, got {kernel_size}")
        self.kernel_size = _tuple(kernel_size, nd)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size, self.output_ratio = _tuple(output_size, nd), _tuple(output_ratio, nd)
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError(f"{name}: only one of output_size and output_ratio may be specified, got "
                             f"output_size={output_size}, output_ratio={output_ratio}")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"{name}: output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input):
        pool = F.fractional_max_pool2d if self._nd == 2 else F.fractional_max_pool3d
        return pool(input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
                    _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """(N, C, H, W) or (C, H, W) -> max over pseudo-random kernel_size windows."""
    _nd = 2


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """(N, C, T, H, W) or (C, T, H, W) -> max over pseudo-random kernel_size windows."""
    _nd = 3
