"""FFT cases: pyml.fft against torch.fft (pocketfft on CPU) and numpy.fft on the same float32 data.

Work is counted with the usual FFT convention, 5 n log2(n) flops per complex transform of n points
(2.5 n log2(n) for a real one), so GFLOP/s compare across lengths; the lengths cover a power of two,
a 2-3-5 smooth length and a prime (pyml's Bluestein path).
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


def all_fft_cases():
    return [fft_case(64, 4096), fft_case(64, 3000), fft_case(64, 4099), rfft_case(64, 4096), fft_case(1, 1 << 20)]
