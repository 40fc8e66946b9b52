"""Spectral window functions, as torch.*_window: bartlett, blackman, hamming, hann, kaiser.

Each window of length N is computed in float64 over n = 0..M-1 and rounded once to the requested floating
dtype (torch evaluates in that dtype, so float16 windows can differ from torch's in the last bit, toward
the exact value). periodic=True computes the symmetric window of length N + 1 and drops its last sample,
the form spectral analysis wants; N = 1 gives [1] and N = 0 an empty tensor in both forms.
The value makers (cosine_sum_values, bartlett_values, kaiser_values) and build_window are shared with
pyml.signal.windows, which has torch.signal.windows' argument rules but the same formulas.
"""
import math

import pyml
from .. import _dtype as D
from .._tensor import export
from .compat_util import as_int, need_number


def build_window(n, periodic, values, dt, device):
    """values(k, m) on float64 k = 0..m-1 (m = n + 1 when periodic), cut to n and cast to dt; n <= 1: ones."""
    if n <= 1:
        return pyml.ones(n, dtype=dt, device=device)
    m = n + 1 if periodic else n
    k = pyml.arange(m, dtype=pyml.float64, device=device)
    return values(k, m)[:n].to(dt)


def _window(op, window_length, periodic, values, dtype, device, requires_grad):
    """torch.*_window's argument rules around build_window."""
    n = as_int(window_length, op, "window_length")
    if n < 0:
        raise ValueError(f"{op}: requires non-negative window_length, got window_length={n}")
    dt = pyml.get_default_dtype() if dtype is None else D.to_dtype(dtype, op)
    if not dt.is_floating_point:
        raise TypeError(f"{op}: expects floating point dtypes, got {dt}")
    w = build_window(n, periodic, values, dt, device)
    return w.requires_grad_(True) if requires_grad else w


def cosine_sum_values(coeffs):
    """sum_j (-1)^j a_j cos(2 pi j n / (M - 1)): the generalised cosine windows, summed from the highest
    harmonic down (torch's order, so blackman's ends are exactly 0.08 - 0.5 + 0.42 = 0)."""
    def values(k, m):
        phase = k * (2 * math.pi / (m - 1))
        w = None
        for j in range(len(coeffs) - 1, 0, -1):
            term = (-coeffs[j] if j % 2 else coeffs[j]) * pyml.cos(phase * j)
            w = term if w is None else w + term
        return w + coeffs[0] if w is not None else pyml.full_like(k, coeffs[0])
    return values


def bartlett_values(k, m):
    """The triangle 1 - |2n / (M - 1) - 1|."""
    return 1 - pyml.abs(k * (2.0 / (m - 1)) - 1)


def kaiser_values(beta):
    """I0(beta sqrt(1 - ((n - a) / a)^2)) / I0(beta) with a = (M - 1) / 2."""
    def values(k, m):
        a = (m - 1) / 2.0
        r = (k - a) / a
        return pyml.i0(beta * pyml.sqrt(pyml.clamp(1 - r * r, min=0.0))) / pyml.i0(pyml.full_like(k, beta))
    return values


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False,
                pin_memory=False):
    """0.5 - 0.5 cos(2 pi n / (M - 1))."""
    return _window("hann_window", window_length, periodic, cosine_sum_values((0.5, 0.5)), dtype, device,
                   requires_grad)


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, layout=None, device=None,
                   requires_grad=False, pin_memory=False):
    """alpha - beta cos(2 pi n / (M - 1))."""
    alpha, beta = need_number(alpha, "hamming_window", "alpha"), need_number(beta, "hamming_window", "beta")
    return _window("hamming_window", window_length, periodic, cosine_sum_values((alpha, beta)), dtype, device,
                   requires_grad)


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False,
                    pin_memory=False):
    """0.42 - 0.5 cos(2 pi n / (M - 1)) + 0.08 cos(4 pi n / (M - 1))."""
    return _window("blackman_window", window_length, periodic, cosine_sum_values((0.42, 0.5, 0.08)), dtype, device,
                   requires_grad)


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False,
                    pin_memory=False):
    """The triangle 1 - |2n / (M - 1) - 1|."""
    return _window("bartlett_window", window_length, periodic, bartlett_values, dtype, device, requires_grad)


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None, device=None,
                  requires_grad=False, pin_memory=False):
    """I0(beta sqrt(1 - ((n - a) / a)^2)) / I0(beta) with a = (M - 1) / 2."""
    beta = float(need_number(beta, "kaiser_window", "beta"))
    if beta < 0:
        raise ValueError(f"kaiser_window: beta must be non-negative, got {beta}")
    return _window("kaiser_window", window_length, periodic, kaiser_values(beta), dtype, device, requires_grad)


__all__ = export(globals(), exclude=("build_window", "cosine_sum_values", "bartlett_values", "kaiser_values"))
