"""Tensor functions PyTorch users expect beyond the engine's core ops (allclose, meshgrid, nan_to_num, ...),
written as composites of engine ops. The ops live in compat_*.py by family; this module gathers their
public names for `from pyml._ops.compat import *` in pyml/__init__.py. compat_inplace comes last: its
aliases and top-level in-place functions stand for methods the other modules define."""
from . import (compat_compare, compat_create, compat_pointwise, compat_views, compat_math, compat_special,
               compat_search, compat_stats, compat_more_math, compat_gamma, compat_blas, compat_scatter, compat_split,
               compat_windows, compat_sampling, compat_binning, compat_lowrank, compat_attrs, compat_env,
               compat_legacy, compat_inplace)

_MODULES = (compat_compare, compat_create, compat_pointwise, compat_views, compat_math, compat_special,
            compat_search, compat_stats, compat_more_math, compat_gamma, compat_blas, compat_scatter, compat_split,
            compat_windows, compat_sampling, compat_binning, compat_lowrank, compat_attrs, compat_env,
            compat_legacy, compat_inplace)
__all__ = []
for _m in _MODULES:
    for _n in _m.__all__:
        globals()[_n] = getattr(_m, _n)
    __all__ += _m.__all__
del _m, _n
