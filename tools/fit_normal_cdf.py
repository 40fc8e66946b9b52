"""Derives the float32 polynomial coefficients of csrc/cpu/isa/vmath.h (vexp_nonpos, vnormal_cdf).

R(a) = erfc(a/sqrt2)/2 * exp(a^2/2) on [0, 5], as a degree-12 polynomial in (a - 2.5), minimising the
maximum relative error; e^r on [-ln2/2, ln2/2] as 1 + r * (a degree-4 polynomial). Both by Lawson's iteratively
reweighted least squares on Chebyshev-spaced points (converges to the minimax fit). Run:
`python tools/fit_normal_cdf.py`; it prints the coefficients (highest degree last) and the fit errors."""
import math

import numpy as np


def minimax_fit(t, f, deg, scale=None, iters=80):
    """Polynomial P in t (|t| <= 1) minimising max |scale * (P - f)| (scale = 1/|f|: relative error),
    by Lawson's reweighting."""
    scale = 1 / np.abs(f) if scale is None else scale
    V = np.vander(t, deg + 1, increasing=True) * scale[:, None]
    w = np.full(len(t), 1.0 / len(t))
    for _ in range(iters):
        c, *_ = np.linalg.lstsq(V * np.sqrt(w)[:, None], f * scale * np.sqrt(w), rcond=None)
        err = np.abs(V @ c - f * scale)
        w = w * (err / err.max() + 1e-4)
        w /= w.sum()
    return c, err.max()


def chebyshev_points(lo, hi, n=6000):
    return lo + (hi - lo) * (1 - np.cos(np.linspace(0, math.pi, n))) / 2


def main():
    erfc = np.vectorize(math.erfc)
    a = chebyshev_points(0.0, 5.0)
    c, err = minimax_fit((a - 2.5) / 2.5, 0.5 * erfc(a / math.sqrt(2)) * np.exp(a * a / 2), 12)
    print(f"R: max relative error {err:.2e}")
    for k, ck in enumerate(c / 2.5 ** np.arange(13)):
        print(f"  s^{k}: {np.float32(ck):.9e}f")
    # e^r = 1 + r * Q(r): the constant term is exactly 1, so e^0 = 1 exactly; Q (degree 4) minimises the
    # relative error of e^r, i.e. |r| / e^r * |Q - (e^r - 1)/r|
    h = math.log(2) / 2
    r = chebyshev_points(-h, h, 6001)
    r = r[np.abs(r) > 1e-9]
    c, err = minimax_fit(r / h, np.expm1(r) / r, 4, scale=np.abs(r) * np.exp(-r))
    print(f"exp: max relative error {err:.2e}")
    print(f"  r^0: {1.0:.9e}f")
    for k, ck in enumerate(c / h ** np.arange(5)):
        print(f"  r^{k + 1}: {np.float32(ck):.9e}f")


if __name__ == "__main__":
    main()
