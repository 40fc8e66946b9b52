"""FFT cases: pyml.fft against torch.fft (pocketfft on CPU) and numpy.fft on the same float32 data.

Work is counted with the usual FFT convention, 5 n log2(n) flops per complex transform of n points
(2.5 n log2(n) for a real one), so GFLOP/s compare across lengths; the lengths cover a power of two,
a 2-3-5 smooth length, a prime (pyml's Bluestein path), one long line (pyml's four-step path), the
real transforms both ways and a 2-D transform (its dim-0 pass runs strided lines).
"""
import math

import numpy as np

from .cases import Case, _rng


def _complex_of(lib):
    if lib == "numpy":
        return lambda x: x.view(np.complex64)[..., 0]
    import importlib
    L = importlib.import_module(lib)
    return L.view_as_complex


def fft_case(batch, n):
    def make():
        return (_rng().standard_normal((batch, n, 2)).astype(np.float32),)

    def op(lib):
        as_c = _complex_of(lib)
        if lib == "numpy":
            return lambda x: np.fft.fft(as_c(x)).astype(np.complex64)
        import importlib
        L = importlib.import_module(lib)
        return lambda x: L.fft.fft(as_c(x))
    flops = 5.0 * batch * n * math.log2(n)
    return Case(f"fft c2c {batch}x{n}", "GFLOP/s", flops, make, {lib: op(lib) for lib in ("pyml", "torch", "numpy")},
                tol=1e-4 * math.log2(n))


def rfft_case(batch, n):
    def make():
        return (_rng().standard_normal((batch, n)).astype(np.float32),)

    def op(lib):
        if lib == "numpy":
            return lambda x: np.fft.rfft(x).astype(np.complex64)
        import importlib
        L = importlib.import_module(lib)
        return lambda x: L.fft.rfft(x)
    flops = 2.5 * batch * n * math.log2(n)
    return Case(f"rfft {batch}x{n}", "GFLOP/s", flops, make, {lib: op(lib) for lib in ("pyml", "torch", "numpy")},
                tol=1e-4 * math.log2(n))


def irfft_case(batch, n):
    def make():
        X = np.fft.rfft(_rng().standard_normal((batch, n)))
        return (np.stack([X.real, X.imag], -1).astype(np.float32),)  # (batch, n//2 + 1, 2)

    def op(lib):
        as_c = _complex_of(lib)
        if lib == "numpy":
            return lambda X: np.fft.irfft(as_c(X), n=n).astype(np.float32)
        import importlib
        L = importlib.import_module(lib)
        return lambda X: L.fft.irfft(as_c(X), n=n)
    flops = 2.5 * batch * n * math.log2(n)
    return Case(f"irfft {batch}x{n}", "GFLOP/s", flops, make, {lib: op(lib) for lib in ("pyml", "torch", "numpy")},
                tol=1e-4 * math.log2(n))


def fft2_case(h, w):
    """A 2-D transform: the dim-0 pass runs strided lines (columns side by side in memory)."""
    def make():
        return (_rng().standard_normal((h, w, 2)).astype(np.float32),)

    def op(lib):
        as_c = _complex_of(lib)
        if lib == "numpy":
            return lambda x: np.fft.fft2(as_c(x)).astype(np.complex64)
        import importlib
        L = importlib.import_module(lib)
        return lambda x: L.fft.fft2(as_c(x))
    flops = 5.0 * h * w * math.log2(h * w)
    return Case(f"fft2 {h}x{w}", "GFLOP/s", flops, make, {lib: op(lib) for lib in ("pyml", "torch", "numpy")},
                tol=1e-4 * math.log2(h * w))


def all_fft_cases():
    return [fft_case(64, 4096), fft_case(64, 3000), fft_case(64, 4099), rfft_case(64, 4096), fft_case(1, 1 << 20),
            irfft_case(64, 4096), fft2_case(512, 512)]
