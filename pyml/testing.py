"""pyml.testing: assert_close, like torch.testing.assert_close.

Compares tensors, Python numbers (and NumPy arrays), or nested lists/tuples/dicts of them: attributes first
(shape, device, dtype, strides if asked), then values with isclose at the dtype's default tolerances
(PyTorch's table; the looser of two dtypes when check_dtype=False). A mismatch raises AssertionError naming
the count of mismatched elements and the greatest absolute and relative differences with their indices.
"""
import builtins
import collections.abc as abc
import math

import numpy as np

import pyml
from ._tensor import Tensor

__all__ = ["assert_close"]

# (rtol, atol) by dtype; every other dtype compares exactly
_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7)}
_NUMBER_DTYPE = {builtins.bool: "bool", builtins.int: "int64", builtins.float: "float64"}


class _Mismatch(AssertionError):
    """A failed comparison; `path` is where in a nested input it happened."""

    def __init__(self, text, path=""):
        super().__init__(text)
        self.text, self.path = text, path


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Raise AssertionError unless actual and expected are close: |actual - expected| <= atol + rtol * |expected|
    elementwise (NaN equal to NaN with equal_nan), with matching shape, device, dtype (and strides with
    check_stride). rtol and atol default to the dtype's tolerances; give both or neither."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                         f"{'atol' if atol is None else 'rtol'}.")
    opts = dict(rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=check_device, check_dtype=check_dtype,
                check_stride=check_stride)
    try:
        _compare(actual, expected, "", opts)
    except _Mismatch as e:
        text = e.text + (f"\n\nThe failure occurred for item {e.path}" if e.path else "")
        if msg is None:
            raise AssertionError(text) from None
        raise AssertionError(msg(text) if callable(msg) else msg) from None


# ---------------------------------------------------------------------------- structure
def _is_sequence(x):
    return isinstance(x, abc.Sequence) and not isinstance(x, (str, bytes))


def _compare(actual, expected, path, opts):
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _Mismatch(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", path)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, f"{path}[{i}]", opts)
        return
    if isinstance(actual, abc.Mapping) and isinstance(expected, abc.Mapping):
        _compare_mappings(actual, expected, path, opts)
        return
    a, e = _leaf(actual, expected), _leaf(expected, actual)
    if isinstance(a, Tensor):
        _compare_tensors(a, e, path, opts)
    else:
        _compare_numbers(a, e, path, opts)


def _compare_mappings(actual, expected, path, opts):
    if set(actual) != set(expected):
        missing = sorted(set(expected) - set(actual), key=repr)
        extra = sorted(set(actual) - set(expected), key=repr)
        raise _Mismatch(f"The keys of the mappings do not match:\nMissing keys in the actual mapping: {missing}\n"
                        f"Additional keys in the actual mapping: {extra}", path)
    for k in actual:
        _compare(actual[k], expected[k], f"{path}[{k!r}]", opts)


def _leaf(x, other):
    """A tensor, or a Python number (NumPy arrays and scalars become tensors / numbers); refuse the rest."""
    if isinstance(x, np.ndarray):
        x = pyml.tensor(x)
    elif isinstance(x, np.generic):
        x = x.item()
    ok_pair = isinstance(x, Tensor) == isinstance(other, (Tensor, np.ndarray))
    if not ok_pair or not isinstance(x, (Tensor, builtins.bool, builtins.int, builtins.float)):
        raise TypeError(f"No comparison pair was able to handle inputs of type {type(x)} and {type(other)}.")
    return x


# ---------------------------------------------------------------------------- numbers
def _compare_numbers(a, e, path, opts):
    if opts["check_dtype"] and type(a) is not type(e):
        raise _Mismatch(f"The (d)types do not match: {type(a)} != {type(e)}.", path)
    rtol, atol = _tolerances(opts, _NUMBER_DTYPE[type(a)], _NUMBER_DTYPE[type(e)])
    if _numbers_close(a, e, rtol, atol, opts["equal_nan"]):
        return
    abs_diff = abs(a - e)
    rel_diff = abs_diff / abs(e) if e != 0 else (math.inf if abs_diff else math.nan)
    extra = f"Expected {e} but got {a}."
    raise _Mismatch(_message("Scalars", rtol, atol, extra, abs_diff, None, rel_diff, None), path)


def _numbers_close(a, e, rtol, atol, equal_nan):
    if a == e:
        return True
    if isinstance(a, float) and isinstance(e, float) and math.isnan(a) and math.isnan(e):
        return equal_nan
    d = abs(a - e)
    return math.isfinite(d) and d <= atol + rtol * abs(e)


# ---------------------------------------------------------------------------- tensors
def _compare_tensors(a, e, path, opts):
    a, e = a.detach(), e.detach()
    _attribute("shape", a.shape, e.shape, path)
    if opts["check_device"]:
        _attribute("device", a.device, e.device, path)
    else:
        a, e = a.cpu(), e.cpu()
    if opts["check_dtype"]:
        _attribute("dtype", a.dtype, e.dtype, path)
    if opts["check_stride"]:
        _attribute("stride()", a.stride(), e.stride(), path)
    rtol, atol = _tolerances(opts, a.dtype.name, e.dtype.name)
    if a.dtype is not e.dtype:
        dt = pyml.promote_types(a.dtype, e.dtype)
        a, e = a.to(dt), e.to(dt)
    if a.numel() == 0:
        return
    matches = pyml.isclose(a, e, rtol=rtol, atol=atol, equal_nan=opts["equal_nan"])
    if builtins.bool(matches.all()):
        return
    if a.ndim == 0:
        abs_diff = abs(a.item() - e.item())
        rel_diff = abs_diff / abs(e.item()) if e.item() != 0 else (math.inf if abs_diff else math.nan)
        raise _Mismatch(_message("Scalars", rtol, atol, f"Expected {e.item()} but got {a.item()}.", abs_diff, None,
                                 rel_diff, None), path)
    raise _Mismatch(_tensor_message(a, e, matches, rtol, atol), path)


def _attribute(name, a, e, path):
    if a != e:
        raise _Mismatch(f"The values for attribute '{name}' do not match: {a} != {e}.", path)


def _tolerances(opts, *dtype_names):
    if opts["rtol"] is not None:
        return builtins.float(opts["rtol"]), builtins.float(opts["atol"])
    pairs = [_TOLERANCES.get(n, (0.0, 0.0)) for n in dtype_names]
    return builtins.max(p[0] for p in pairs), builtins.max(p[1] for p in pairs)


def _tensor_message(a, e, matches, rtol, atol):
    n, bad = matches.numel(), builtins.int((~matches).sum().item())
    extra = f"Mismatched elements: {bad} / {n} ({bad / n:.1%})"
    af, ef, mf = a.reshape(-1), e.reshape(-1), matches.reshape(-1)
    if not af.dtype.is_floating_point:  # integer differences without overflow or wrap-around
        af, ef = af.to(pyml.int64), ef.to(pyml.int64)
    abs_diff = pyml.where(mf, 0, pyml.abs(af - ef))
    rel_diff = pyml.where(mf, 0, abs_diff / pyml.abs(ef))
    i_abs, i_rel = _argmax(abs_diff), _argmax(rel_diff)
    shape = tuple(a.shape)
    return _message("Tensor-likes", rtol, atol, extra, abs_diff[i_abs].item(), _unravel(i_abs, shape),
                    rel_diff[i_rel].item(), _unravel(i_rel, shape))


def _argmax(d):
    """Index of the greatest value, a NaN winning (as torch.max does)."""
    if d.dtype.is_floating_point and builtins.bool(pyml.isnan(d).any()):
        return builtins.int(pyml.isnan(d).to(pyml.int64).argmax().item())
    return builtins.int(d.argmax().item())


def _unravel(i, shape):
    idx = []
    for s in reversed(shape):
        idx.append(i % s)
        i //= s
    return tuple(reversed(idx))


def _message(what, rtol, atol, extra, abs_diff, abs_idx, rel_diff, rel_idx):
    equal = rtol == 0 and atol == 0
    lines = [f"{what} are not {'equal' if equal else 'close'}!", "", extra]
    for kind, diff, idx, tol in (("absolute", abs_diff, abs_idx, atol), ("relative", rel_diff, rel_idx, rtol)):
        where = "" if idx is None else f" at index {idx}"
        line = f"{kind.title()} difference: {diff}" if idx is None else f"Greatest {kind} difference: {diff}{where}"
        lines.append(line + (f" (up to {tol} allowed)" if tol > 0 else ""))
    return "\n".join(lines)
