"""Reductions, scans, the sort family and softmax: PyTorch-shaped functions and Tensor methods.

All math runs in the engine (pyml._C); this layer normalises arguments (dim/axis, keepdim/keepdims,
dtype, legacy positional forms) and packs (values, indices) results into named tuples.
"""
import builtins
import operator
from collections import namedtuple

from .. import _C
from .. import _dtype as D
from .._tensor import Tensor, wrap, export


def _result(name, fields=("values", "indices")):
    cls = namedtuple(name, fields)
    cls.__module__ = "pyml.return_types"
    return cls


_RT = {n: _result(n) for n in ("max", "min", "sort", "topk", "kthvalue", "median", "nanmedian", "mode",
                               "cummax", "cummin")}
_RT["aminmax"] = _result("aminmax", ("min", "max"))


def _impl(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(x).__name__}")
    return x._impl


def _int(v, op, what="dim"):
    if isinstance(v, builtins.bool):
        raise TypeError(f"{op}: {what} must be an int, got bool")
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"{op}: {what} must be an int, got {type(v).__name__}") from None


def _dims(dim, op):
    """None -> None (all dims); int or sequence of ints -> list."""
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        return [_int(d, op) for d in dim]
    return [_int(dim, op)]


def _pick(dim, axis, keepdim, keepdims):
    """Resolve the NumPy aliases axis= and keepdims=."""
    if axis is not None:
        dim = axis
    return dim, builtins.bool(keepdim if keepdims is None else keepdims)


def _dt(dtype, op):
    return None if dtype is None else D.to_dtype(dtype, op)._code


def _store_out(r, out):
    if out is None:  # (the usual call: no import statement on the hot path)
        return r
    from .elementwise import _store_out as store
    return store(r, out)


def _pair(name, vi):
    return _RT[name](wrap(vi[0]), wrap(vi[1]))


# ---------------------------------------------------------------------------- sums and means
def _sum_like(name):
    def fn(input, dim=None, keepdim=False, *, dtype=None, out=None, axis=None, keepdims=None):
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        # the engine function is looked up per call, so pyml.profiler's timing wrapper sees it
        r = wrap(getattr(_C, name)(_impl(input, name), _dims(dim, name), keepdim, _dt(dtype, name)))
        return _store_out(r, out)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{name} over dim (int, tuple or None = all dims), like torch.{name}."
    return fn


sum = _sum_like("sum")
nansum = _sum_like("nansum")
prod = _sum_like("prod")
mean = _sum_like("mean")
nanmean = _sum_like("nanmean")


def count_nonzero(input, dim=None, *, axis=None):
    dim = dim if axis is None else axis
    return wrap(_C.count_nonzero(_impl(input, "count_nonzero"), _dims(dim, "count_nonzero")))


def all(input, dim=None, keepdim=False, *, out=None, axis=None, keepdims=None):
    dim, keepdim = _pick(dim, axis, keepdim, keepdims)
    return _store_out(wrap(_C.all(_impl(input, "all"), _dims(dim, "all"), keepdim)), out)


def any(input, dim=None, keepdim=False, *, out=None, axis=None, keepdims=None):
    dim, keepdim = _pick(dim, axis, keepdim, keepdims)
    return _store_out(wrap(_C.any(_impl(input, "any"), _dims(dim, "any"), keepdim)), out)


# ---------------------------------------------------------------------------- extremes
def amax(input, dim=(), keepdim=False, *, out=None, axis=None, keepdims=None):
    dim, keepdim = _pick(dim, axis, keepdim, keepdims)
    return _store_out(wrap(_C.amax(_impl(input, "amax"), _dims(dim, "amax"), keepdim)), out)


def amin(input, dim=(), keepdim=False, *, out=None, axis=None, keepdims=None):
    dim, keepdim = _pick(dim, axis, keepdim, keepdims)
    return _store_out(wrap(_C.amin(_impl(input, "amin"), _dims(dim, "amin"), keepdim)), out)


def _extreme(name, input, dim, keepdim, axis, keepdims):
    if isinstance(dim, Tensor):  # max(a, b): elementwise
        from . import elementwise
        return getattr(elementwise, "maximum" if name == "max" else "minimum")(input, dim)
    dim, keepdim = _pick(dim, axis, keepdim, keepdims)
    x = _impl(input, name)
    if dim is None:
        return wrap(getattr(_C, name + "_all")(x))
    return _pair(name, getattr(_C, name + "_dim")(x, _int(dim, name), keepdim))


def max(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """max(x) -> value; max(x, dim) -> (values, indices); max(x, other) -> maximum(x, other)."""
    return _extreme("max", input, dim, keepdim, axis, keepdims)


def min(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """min(x) -> value; min(x, dim) -> (values, indices); min(x, other) -> minimum(x, other)."""
    return _extreme("min", input, dim, keepdim, axis, keepdims)


def aminmax(input, *, dim=None, keepdim=False):
    return _RT["aminmax"](amin(input, dim if dim is not None else (), keepdim),
                          amax(input, dim if dim is not None else (), keepdim))


def argmax(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    dim, keepdim = _pick(dim, axis, keepdim, keepdims)
    return wrap(_C.argmax(_impl(input, "argmax"), None if dim is None else _int(dim, "argmax"), keepdim))


def argmin(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    dim, keepdim = _pick(dim, axis, keepdim, keepdims)
    return wrap(_C.argmin(_impl(input, "argmin"), None if dim is None else _int(dim, "argmin"), keepdim))


# ---------------------------------------------------------------------------- moments, logsumexp, norm
def _var_args(op, dim, unbiased, keepdim, correction, axis, keepdims):
    if isinstance(dim, builtins.bool):  # legacy var(x, unbiased)
        dim, unbiased = None, dim
    dim, keepdim = _pick(dim, axis, keepdim, keepdims)
    if unbiased is not None and correction is not None:
        raise ValueError(f"{op}: pass either unbiased or correction, not both; got unbiased={unbiased}, "
                         f"correction={correction}")
    if correction is None:
        correction = 0 if unbiased is False else 1
    if not isinstance(correction, (int, float)):
        raise TypeError(f"{op}: correction must be a number, got {type(correction).__name__}")
    return _dims(dim, op), keepdim, float(correction)


def _moments(op, input, dim, unbiased, keepdim, correction, axis, keepdims):
    dims, keepdim, corr = _var_args(op, dim, unbiased, keepdim, correction, axis, keepdims)
    v, m = _C.var_mean(_impl(input, op), dims, corr, keepdim, op.startswith("std"), op)
    return wrap(v), wrap(m)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
    """Variance with divisor max(0, N - correction); correction=1 (unbiased) by default."""
    return _moments("var", input, dim, unbiased, keepdim, correction, axis, keepdims)[0]


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
    return _moments("std", input, dim, unbiased, keepdim, correction, axis, keepdims)[0]


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
    return _moments("var_mean", input, dim, unbiased, keepdim, correction, axis, keepdims)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
    return _moments("std_mean", input, dim, unbiased, keepdim, correction, axis, keepdims)


def logsumexp(input, dim=None, keepdim=False, *, out=None, axis=None, keepdims=None):
    dim, keepdim = _pick(dim, axis, keepdim, keepdims)
    r = wrap(_C.logsumexp(_impl(input, "logsumexp"), _dims(dim, "logsumexp"), keepdim))
    return _store_out(r, out)


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    """Vector p-norm over dim (all dims by default): p = number, inf, -inf, 'fro' (= 2)."""
    if isinstance(p, str):
        if p != "fro":
            raise ValueError(f"norm: p must be a number, inf, -inf or 'fro', got {p!r} "
                             "(matrix norms such as 'nuc' are not supported)")
        p = 2.0
    if p is None:
        p = 2.0
    if isinstance(p, builtins.bool) or not isinstance(p, (int, float)):
        raise TypeError(f"norm: p must be a number or 'fro', got {type(p).__name__}")
    r = wrap(_C.norm(_impl(input, "norm"), float(p), _dims(dim, "norm"), builtins.bool(keepdim), _dt(dtype, "norm")))
    return _store_out(r, out)


# ---------------------------------------------------------------------------- scans
def cumsum(input, dim=None, *, dtype=None, out=None, axis=None):
    dim = _req_dim("cumsum", dim, axis)
    return _store_out(wrap(_C.cumsum(_impl(input, "cumsum"), dim, _dt(dtype, "cumsum"))), out)


def cumprod(input, dim=None, *, dtype=None, out=None, axis=None):
    dim = _req_dim("cumprod", dim, axis)
    return _store_out(wrap(_C.cumprod(_impl(input, "cumprod"), dim, _dt(dtype, "cumprod"))), out)


def cummax(input, dim=None, *, axis=None):
    return _pair("cummax", _C.cummax(_impl(input, "cummax"), _req_dim("cummax", dim, axis)))


def cummin(input, dim=None, *, axis=None):
    return _pair("cummin", _C.cummin(_impl(input, "cummin"), _req_dim("cummin", dim, axis)))


def logcumsumexp(input, dim=None, *, out=None, axis=None):
    dim = _req_dim("logcumsumexp", dim, axis)
    return _store_out(wrap(_C.logcumsumexp(_impl(input, "logcumsumexp"), dim)), out)


def _req_dim(op, dim, axis):
    dim = dim if axis is None else axis
    if dim is None:
        raise TypeError(f"{op}: missing required argument 'dim', got dim=None")
    return _int(dim, op)


# ---------------------------------------------------------------------------- softmax
def _softmax(op, input, dim, dtype, log):
    x = _impl(input, op)
    if dim is None:  # PyTorch's legacy implicit dim
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return wrap(_C.softmax(x, _int(dim, op), _dt(dtype, op), log))


def softmax(input, dim=None, dtype=None, *, axis=None):
    """exp(x - max) / sum(exp(x - max)) along dim, fused in one engine kernel (any strides)."""
    return _softmax("softmax", input, dim if axis is None else axis, dtype, False)


def log_softmax(input, dim=None, dtype=None, *, axis=None):
    """(x - max) - log(sum(exp(x - max))) along dim."""
    return _softmax("log_softmax", input, dim if axis is None else axis, dtype, True)


# ---------------------------------------------------------------------------- sort family
def sort(input, dim=-1, descending=False, *, stable=False, axis=None):
    """Stable sort along dim; NaN sorts last ascending, first descending."""
    dim = _int(dim if axis is None else axis, "sort")
    return _pair("sort", _C.sort(_impl(input, "sort"), dim, builtins.bool(descending), builtins.bool(stable)))


def argsort(input, dim=-1, descending=False, stable=False, *, axis=None):
    return sort(input, dim, descending, stable=stable, axis=axis).indices


def msort(input):
    return sort(input, 0).values


def topk(input, k, dim=-1, largest=True, sorted=True, *, axis=None):
    dim = _int(dim if axis is None else axis, "topk")
    r = _C.topk(_impl(input, "topk"), _int(k, "topk", "k"), dim, builtins.bool(largest), builtins.bool(sorted))
    return _pair("topk", r)


def kthvalue(input, k, dim=-1, keepdim=False, *, axis=None, keepdims=None):
    dim, keepdim = _pick(dim, axis, keepdim, keepdims)
    r = _C.kthvalue(_impl(input, "kthvalue"), _int(k, "kthvalue", "k"), _int(dim, "kthvalue"), keepdim)
    return _pair("kthvalue", r)


def _median(op, input, dim, keepdim, axis, keepdims):
    dim, keepdim = _pick(dim, axis, keepdim, keepdims)
    x = _impl(input, op)
    if dim is None:
        return wrap(_C.median_all(x, op == "nanmedian"))
    return _pair(op, _C.median_dim(x, _int(dim, op), keepdim, op == "nanmedian"))


def median(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Lower median: of all elements (a value), or along dim (values, indices). NaN propagates."""
    return _median("median", input, dim, keepdim, axis, keepdims)


def nanmedian(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """median ignoring NaN (NaN only where a slice is all NaN)."""
    return _median("nanmedian", input, dim, keepdim, axis, keepdims)


def mode(input, dim=-1, keepdim=False, *, axis=None, keepdims=None):
    """Most frequent value along dim (the smallest on ties) and its last index."""
    dim, keepdim = _pick(dim, axis, keepdim, keepdims)
    return _pair("mode", _C.mode(_impl(input, "mode"), _int(dim, "mode"), keepdim))


def _unique_result(r, return_inverse, return_counts):
    vals, inv, cnt = (wrap(t) for t in r)
    if not return_inverse and not return_counts:
        return vals
    return (vals,) + ((inv,) if return_inverse else ()) + ((cnt,) if return_counts else ())


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """Sorted unique values (always sorted, as PyTorch on CPU), optionally inverse indices and counts."""
    d = None if dim is None else _int(dim, "unique")
    r = _C.unique(_impl(input, "unique"), builtins.bool(return_inverse), builtins.bool(return_counts), d)
    return _unique_result(r, return_inverse, return_counts)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    d = None if dim is None else _int(dim, "unique_consecutive")
    r = _C.unique_consecutive(_impl(input, "unique_consecutive"), builtins.bool(return_inverse),
                              builtins.bool(return_counts), d)
    return _unique_result(r, return_inverse, return_counts)


# ---------------------------------------------------------------------------- Tensor methods
for _n in ("sum", "nansum", "prod", "mean", "nanmean", "count_nonzero", "all", "any", "amax", "amin", "max", "min",
           "aminmax", "argmax", "argmin", "var", "std", "logsumexp", "norm", "cumsum", "cumprod", "cummax", "cummin",
           "logcumsumexp", "softmax", "log_softmax", "sort", "argsort", "msort", "topk", "kthvalue", "median",
           "nanmedian", "mode", "unique", "unique_consecutive"):
    setattr(Tensor, _n, globals()[_n])
del _n

__all__ = export(globals())
