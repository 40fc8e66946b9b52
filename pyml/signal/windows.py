"""pyml.signal.windows: window functions with torch.signal.windows' names and keyword-only arguments.

Each takes the window length M, sym (True: symmetric, for filter design; False: periodic, the length-(M + 1)
symmetric window less its last sample, for spectral analysis) and the factory keywords. The formulas are
the ones pyml's top-level *_window functions use (pyml/_ops/compat_windows.py: float64 evaluation, one
rounding to dtype); only the argument rules differ, and they are torch.signal.windows': M >= 0, float32 or
float64 only, strided layout, positive std / tau, non-negative beta.
"""
import math
from collections.abc import Iterable

import pyml
from .. import _dtype as D
from .._ops.compat_util import as_int, need_number
from .._ops.compat_windows import build_window, cosine_sum_values, bartlett_values, kaiser_values

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine", "general_hamming",
           "hamming", "hann", "kaiser", "nuttall"]

_NUTTALL = (0.3635819, 0.4891775, 0.1365995, 0.0106411)


def _checked(op, M, dtype, layout):
    """(M, dtype) after torch.signal.windows' checks."""
    n = as_int(M, op, "M")
    if n < 0:
        raise ValueError(f"{op}: requires non-negative window length, got M={n}")
    if layout is not None and layout is not pyml.strided:
        raise ValueError(f"{op}: is implemented for strided tensors only, got layout={layout}")
    dt = pyml.get_default_dtype() if dtype is None else D.to_dtype(dtype, op)
    if dt not in (D.float32, D.float64):
        raise ValueError(f"{op}: expects float32 or float64 dtypes, got {dt}")
    return n, dt


def _make(op, M, sym, values, dtype, layout, device, requires_grad):
    n, dt = _checked(op, M, dtype, layout)
    w = build_window(n, not sym, values, dt, device)
    return w.requires_grad_(True) if requires_grad else w


def _positive(v, op, arg, strict=True):
    v = float(need_number(v, op, arg))
    if v < 0 or (strict and v == 0):
        raise ValueError(f"{op}: {arg} must be {'positive' if strict else 'non-negative'}, got {arg}={v}")
    return v


def general_cosine(M, *, a, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """sum_i (-1)^i a_i cos(2 pi i n / (M - 1)) (M in the denominator when sym=False)."""
    op = "general_cosine"
    if isinstance(a, (str, bytes)) or not isinstance(a, Iterable):
        raise TypeError(f"{op}: coefficients a must be a list/tuple of numbers, got {type(a).__name__}")
    coeffs = tuple(float(need_number(c, op, "a")) for c in a)
    if not coeffs:
        raise ValueError(f"{op}: coefficients a cannot be empty, got a={a!r}")
    return _make(op, M, sym, cosine_sum_values(coeffs), dtype, layout, device, requires_grad)


def general_hamming(M, *, alpha=0.54, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """alpha - (1 - alpha) cos(2 pi n / (M - 1))."""
    alpha = float(need_number(alpha, "general_hamming", "alpha"))
    return _make("general_hamming", M, sym, cosine_sum_values((alpha, 1.0 - alpha)), dtype, layout, device,
                 requires_grad)


def hamming(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return _make("hamming", M, sym, cosine_sum_values((0.54, 0.46)), dtype, layout, device, requires_grad)


def hann(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return _make("hann", M, sym, cosine_sum_values((0.5, 0.5)), dtype, layout, device, requires_grad)


def blackman(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return _make("blackman", M, sym, cosine_sum_values((0.42, 0.5, 0.08)), dtype, layout, device, requires_grad)


def nuttall(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """The 4-term Blackman-Nuttall window (torch's coefficients)."""
    return _make("nuttall", M, sym, cosine_sum_values(_NUTTALL), dtype, layout, device, requires_grad)


def bartlett(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return _make("bartlett", M, sym, bartlett_values, dtype, layout, device, requires_grad)


def kaiser(M, *, beta=12.0, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    beta = _positive(beta, "kaiser", "beta", strict=False)
    return _make("kaiser", M, sym, kaiser_values(beta), dtype, layout, device, requires_grad)


def cosine(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """sin(pi (n + 1/2) / M) (M + 1 when sym=False)."""
    def values(k, m):
        return pyml.sin((k + 0.5) * (math.pi / m))
    return _make("cosine", M, sym, values, dtype, layout, device, requires_grad)


def gaussian(M, *, std=1.0, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """exp(-((n - (M - 1) / 2) / std)^2 / 2)."""
    std = _positive(std, "gaussian", "std")

    def values(k, m):
        r = (k - (m - 1) / 2.0) * (1.0 / std)
        return pyml.exp(-0.5 * r * r)
    return _make("gaussian", M, sym, values, dtype, layout, device, requires_grad)


def exponential(M, *, center=None, tau=1.0, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    """exp(-|n - center| / tau), center (M - 1) / 2 by default (a given center needs sym=False)."""
    op = "exponential"
    tau = _positive(tau, op, "tau")
    if sym and center is not None:
        raise ValueError(f"{op}: center must be None for symmetric windows (sym=True), got center={center}")
    if center is None:
        return _make(op, M, sym, lambda k, m: pyml.exp(-pyml.abs(k - (m - 1) / 2.0) / tau), dtype, layout, device,
                     requires_grad)
    center = float(need_number(center, op, "center"))
    n, dt = _checked(op, M, dtype, layout)
    k = pyml.arange(n, dtype=pyml.float64, device=device)  # a given centre does not depend on M: no length-1 rule
    w = pyml.exp(-pyml.abs(k - center) / tau).to(dt)
    return w.requires_grad_(True) if requires_grad else w
