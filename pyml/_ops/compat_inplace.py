"""In-place spellings PyTorch has: Tensor method aliases (absolute_, arccos_, greater_, multiply_, ...), the
in-place forms of clamp_min/clamp_max/cumsum/cumprod, and the top-level in-place functions (pyml.exp_(x),
pyml.clamp_(x, 0, 1), pyml.zero_(x), ...) together with pyml.fill.

Every alias and top-level form looks its target method up on the tensor at call time: autograd replaces
the methods with recording wrappers after import, so binding them here would bypass it.
"""
import pyml
from .. import _dtype as D
from .._tensor import Tensor, export
from .compat_util import need, need_number, inplace, store_out

# Tensor method alias -> the method it spells differently
_METHOD_ALIASES = {"absolute_": "abs_", "arccos_": "acos_", "arcsin_": "asin_", "arctan_": "atan_",
                   "arctan2_": "atan2_", "greater_": "gt_", "greater_equal_": "ge_", "less_": "lt_",
                   "less_equal_": "le_", "not_equal_": "ne_", "multiply_": "mul_", "subtract_": "sub_",
                   "negative_": "neg_", "fix_": "trunc_"}

# top-level in-place functions torch has; each calls input.<name>(...)
_TOPLEVEL = ("abs_", "acos_", "acosh_", "addmv_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_",
             "arctanh_", "as_strided_", "asin_", "asinh_", "atan_", "atanh_", "ceil_", "clamp_", "clamp_max_",
             "clamp_min_", "clip_", "conj_physical_", "cos_", "cosh_", "deg2rad_", "detach_", "erf_", "erfc_",
             "exp2_", "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_", "gcd_", "i0_", "index_put_", "lcm_",
             "ldexp_", "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_", "negative_",
             "rad2deg_", "reciprocal_", "resize_as_", "round_", "rsqrt_", "sin_", "sinc_", "sinh_", "sqrt_",
             "square_", "tan_", "trunc_", "xlogy_", "zero_")


def _alias(name, target):
    def m(self, *args, **kwargs):
        return getattr(self, target)(*args, **kwargs)
    m.__name__ = name
    m.__doc__ = f"In-place alias of Tensor.{target}."
    return m


for _n, _t in _METHOD_ALIASES.items():
    setattr(Tensor, _n, _alias(_n, _t))


def _clamp_min_(self, min):
    others = [min] if isinstance(min, Tensor) else []
    return inplace(self, pyml.clamp_min, others, "clamp_min_", min)


def _clamp_max_(self, max):
    others = [max] if isinstance(max, Tensor) else []
    return inplace(self, pyml.clamp_max, others, "clamp_max_", max)


def _check_dtype(self, dtype, op):
    if dtype is not None and D.to_dtype(dtype, op) is not self.dtype:
        raise TypeError(f"{op}: bad in-place call: input tensor dtype {self.dtype} and output tensor dtype {dtype} "
                        "should match")


def _cumsum_(self, dim, *, dtype=None):
    """In-place cumulative sum along dim (dtype, if given, must be self's)."""
    _check_dtype(self, dtype, "cumsum_")
    return inplace(self, pyml.cumsum, [], "cumsum_", dim)


def _cumprod_(self, dim, *, dtype=None):
    _check_dtype(self, dtype, "cumprod_")
    return inplace(self, pyml.cumprod, [], "cumprod_", dim)


for _f in (_clamp_min_, _clamp_max_, _cumsum_, _cumprod_):
    _f.__name__ = _f.__name__[1:]
    setattr(Tensor, _f.__name__, _f)


def _toplevel(name):
    def fn(input, *args, **kwargs):
        need(input, name, "input")
        return getattr(input, name)(*args, **kwargs)
    fn.__name__ = name
    fn.__doc__ = f"pyml.{name}(input, ...) is input.{name}(...): in place, returns input."
    return fn


for _n in _TOPLEVEL:
    globals()[_n] = _toplevel(_n)


def fill(input, value, *, out=None):
    """A new tensor of input's shape and dtype filled with value (a number or a 0-dim tensor, whose gradient
    is the sum of the output's)."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(f"fill: only supports 0-dimension value tensor, got a {value.ndim}-dimensional tensor")
        r = value.to(input.dtype).expand(input.shape).clone()
    else:
        r = pyml.full(input.shape, need_number(value, "fill", "value"), dtype=input.dtype, device=input.device)
    return store_out(r, out, "fill")


__all__ = export(globals())
