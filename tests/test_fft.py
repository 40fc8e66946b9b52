"""pyml.fft against torch.fft (float64 as the reference of float32 too): every function, lengths with
every kind of factor (powers of two, odd primes, primes above the direct-DFT limit that take the
Bluestein path), n/s padding and trimming, dims, norms, strided input, gradients and errors."""
import numpy as np
import pytest
import torch

import pyml

SIZES = [1, 2, 3, 7, 8, 12, 30, 97, 128, 210, 1000, 1025, 127, 254, 2 * 67 * 3]
NORMS = [None, "backward", "ortho", "forward"]


def close(a, b, tol):
    a = a.detach().numpy()
    b = b.detach().resolve_conj().numpy()
    assert a.shape == b.shape, (a.shape, b.shape)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    scale = max(1.0, float(np.abs(b).max(initial=0)))
    np.testing.assert_allclose(a, b, rtol=0, atol=tol * scale)


def crand(rng, *shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("fn", ["fft", "ifft"])
def test_c2c_sizes(rng, n, fn):
    z = crand(rng, 3, n)
    for pdt, tol in ((pyml.complex128, 1e-12), (pyml.complex64, 2e-5)):
        got = getattr(pyml.fft, fn)(pyml.tensor(z, dtype=pdt))
        want = getattr(torch.fft, fn)(torch.tensor(z, dtype=getattr(torch, pdt.name)))
        close(got, want, tol * np.log2(n + 1))


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("fn", ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"])
@pytest.mark.parametrize("n", [None, 5, 16, 33])
def test_one_dim_functions(rng, norm, fn, n):
    real_in = fn in ("rfft", "ihfft")
    x = rng.standard_normal((4, 11, 6)) if real_in else crand(rng, 4, 11, 6)
    for dim in (-1, 1, 0):
        got = getattr(pyml.fft, fn)(pyml.tensor(x), n=n, dim=dim, norm=norm)
        want = getattr(torch.fft, fn)(torch.tensor(x), n=n, dim=dim, norm=norm)
        close(got, want, 1e-12)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("fn", ["fft2", "ifft2", "fftn", "ifftn", "rfft2", "irfft2", "rfftn", "irfftn",
                                "hfft2", "ihfft2", "hfftn", "ihfftn"])
def test_multi_dim_functions(rng, norm, fn):
    real_in = fn.startswith("rfft") or fn.startswith("ihfft")
    x = rng.standard_normal((3, 6, 5, 4)) if real_in else crand(rng, 3, 6, 5, 4)
    cases = [{}, {"dim": (0, 2)}, {"s": (7, 4)}, {"s": (4, 3), "dim": (1, 3)}]
    if fn.endswith("n"):
        cases += [{"dim": (1,)}, {"s": (2, 8, 6)}, {"dim": (3, 0, 1)}]
    for kw in cases:
        got = getattr(pyml.fft, fn)(pyml.tensor(x), norm=norm, **kw)
        want = getattr(torch.fft, fn)(torch.tensor(x), norm=norm, **kw)
        close(got, want, 1e-12)


def test_float32_real_and_integer_inputs(rng):
    x = rng.standard_normal((5, 64)).astype(np.float32)
    got = pyml.fft.rfft(pyml.tensor(x))
    assert got.dtype is pyml.complex64
    close(got, torch.fft.rfft(torch.tensor(x)), 1e-5)
    i = np.arange(10)
    got = pyml.fft.fft(pyml.tensor(i))
    assert got.dtype is pyml.complex64
    close(got, torch.fft.fft(torch.tensor(i)), 1e-5)


def test_strided_input(rng):
    z = crand(rng, 12, 10)
    p, t = pyml.tensor(z).t()[::2], torch.tensor(z).t()[::2]
    close(pyml.fft.fft(p, dim=0), torch.fft.fft(t, dim=0), 1e-12)
    close(pyml.fft.fft2(p), torch.fft.fft2(t), 1e-12)
    x = rng.standard_normal((9, 16))
    close(pyml.fft.rfft(pyml.tensor(x).t(), dim=0), torch.fft.rfft(torch.tensor(x).t(), dim=0), 1e-12)


def test_inverse_round_trip(rng):
    x = pyml.tensor(rng.standard_normal((3, 97)))
    np.testing.assert_allclose(pyml.fft.irfft(pyml.fft.rfft(x), n=97).numpy(), x.numpy(), atol=1e-12)
    z = pyml.tensor(crand(rng, 2, 3, 1031))  # a prime length: the Bluestein path
    np.testing.assert_allclose(pyml.fft.ifft(pyml.fft.fft(z)).numpy(), z.numpy(), atol=1e-12)
    # Parseval: sum |x|^2 = sum |X|^2 / n
    X = pyml.fft.fft(z, dim=-1)
    np.testing.assert_allclose((X.abs() ** 2).sum().item() / 1031, (z.abs() ** 2).sum().item(), rtol=1e-12)


def test_large_mixed_lengths(rng):
    for n in (4096 * 3, 65536, 30030, 8191):  # 8191 is a prime
        z = crand(rng, n)
        got = pyml.fft.fft(pyml.tensor(z))
        np.testing.assert_allclose(got.numpy(), np.fft.fft(z), atol=1e-9 * np.sqrt(n))


# ---------------------------------------------------------------------------- gradients
GRAD = {
    "fft": lambda m, x: m.fft.fft(x, n=9), "ifft": lambda m, x: m.fft.ifft(x, norm="ortho"),
    "rfft": lambda m, x: m.fft.rfft(x.real, n=12), "irfft": lambda m, x: m.fft.irfft(x, n=10),
    "irfft_odd": lambda m, x: m.fft.irfft(x, n=9, norm="forward"), "hfft": lambda m, x: m.fft.hfft(x),
    "ihfft": lambda m, x: m.fft.ihfft(x.real), "fft2": lambda m, x: m.fft.fft2(x.reshape(2, 4, 2)),
    "rfftn": lambda m, x: m.fft.rfftn(x.real.reshape(2, 8)),
    "irfftn": lambda m, x: m.fft.irfftn(x.reshape(4, 4), s=(3, 6)),
    "fftshift": lambda m, x: m.fft.fftshift(m.fft.fft(x)),
}


@pytest.mark.parametrize("name", sorted(GRAD))
def test_gradients_match_torch(rng, name):
    z = crand(rng, 16)
    pz = pyml.tensor(z, requires_grad=True)
    tz = torch.tensor(z, requires_grad=True)
    po, to = GRAD[name](pyml, pz), GRAD[name](torch, tz)
    w = crand(rng, *to.shape) if to.is_complex() else rng.standard_normal(to.shape)
    if to.is_complex():
        (po * pyml.tensor(w)).real.sum().backward()
        (to * torch.tensor(w)).real.sum().backward()
    else:
        (po * pyml.tensor(w)).sum().backward()
        (to * torch.tensor(w)).sum().backward()
    close(pz.grad, tz.grad, 1e-12)


# ---------------------------------------------------------------------------- helpers and errors
@pytest.mark.parametrize("n", [1, 2, 7, 10])
def test_freqs_and_shifts(rng, n):
    close(pyml.fft.fftfreq(n, d=0.5), torch.fft.fftfreq(n, d=0.5), 0)
    close(pyml.fft.rfftfreq(n, dtype=pyml.float64), torch.fft.rfftfreq(n, dtype=torch.float64), 0)
    x = rng.standard_normal((n, n + 1))
    for dim in (None, 0, (1,), (0, 1)):
        close(pyml.fft.fftshift(pyml.tensor(x), dim), torch.fft.fftshift(torch.tensor(x), dim), 0)
        close(pyml.fft.ifftshift(pyml.tensor(x), dim), torch.fft.ifftshift(torch.tensor(x), dim), 0)
    z = crand(rng, n)
    close(pyml.fft.fftshift(pyml.tensor(z)), torch.fft.fftshift(torch.tensor(z)), 0)


def test_errors():
    x = pyml.randn(8)
    with pytest.raises(ValueError, match="normalization mode"):
        pyml.fft.fft(x, norm="unitary")
    with pytest.raises(ValueError, match="Invalid number of data points"):
        pyml.fft.fft(x, n=0)
    with pytest.raises(TypeError, match="real input"):
        pyml.fft.rfft(pyml.fft.fft(x))
    with pytest.raises(RuntimeError, match="unique"):
        pyml.fft.fftn(pyml.randn(4, 4), dim=(0, 0))
    with pytest.raises(RuntimeError, match="same length"):
        pyml.fft.fftn(pyml.randn(4, 4), s=(4,), dim=(0, 1))
    with pytest.raises(IndexError):
        pyml.fft.fft(x, dim=3)
    with pytest.raises(TypeError):
        pyml._C.fft_c2c(x._impl, [0], False, 1.0)
