"""pyml.fft against torch.fft (float64 as the reference of float32 too): every function, lengths with
every kind of factor (powers of two, odd primes, primes above the direct-DFT limit that take the
Bluestein path), n/s padding and trimming, dims, norms, strided input, gradients and errors. The CPU
kernels run lines in SIMD groups: line counts around every group width, on every instruction set
this CPU runs, check full groups, zero-padded groups and the one-line path; the real transforms
(r2c, c2r) take the half-length path for even n and the full-length one for odd n."""
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
    "rfft_odd": lambda m, x: m.fft.rfft(x.real, n=15, norm="ortho"), "rfft_full": lambda m, x: m.fft.rfft(x.imag),
    "irfft_full": lambda m, x: m.fft.irfft(x, norm="ortho"), "hfft_odd": lambda m, x: m.fft.hfft(x, n=11),
    "ihfft_odd": lambda m, x: m.fft.ihfft(x.real, n=13), "rfft2": lambda m, x: m.fft.rfft2(x.real.reshape(4, 4)),
    "irfft2": lambda m, x: m.fft.irfft2(x.reshape(2, 8), s=(2, 7)),
    "rfft_dim0": lambda m, x: m.fft.rfft(x.real.reshape(8, 2), dim=0),
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


def test_real_op_errors():
    x, X = pyml.randn(3, 8), pyml.fft.fft(pyml.randn(3, 8))
    with pytest.raises(TypeError, match="fft_r2c: expected a float32 or float64"):
        pyml._C.fft_r2c(X._impl, 1, 1.0)
    with pytest.raises(TypeError, match="fft_r2c"):
        pyml._C.fft_r2c(pyml.tensor([[1, 2]])._impl, 1, 1.0)
    with pytest.raises(IndexError):
        pyml._C.fft_r2c(x._impl, 2, 1.0)
    with pytest.raises(ValueError, match="fft_r2c: invalid number of data points"):
        pyml._C.fft_r2c(pyml.randn(3, 0)._impl, 1, 1.0)
    with pytest.raises(TypeError, match="fft_c2r: expected a complex64 or complex128"):
        pyml._C.fft_c2r(x._impl, 1, 8, 1.0)
    with pytest.raises(ValueError, match="fft_c2r: x.shape\\[1\\] must be n/2 \\+ 1 = 5 for n = 8"):
        pyml._C.fft_c2r(X._impl, 1, 8, 1.0)
    with pytest.raises(ValueError, match="fft_c2r: invalid number of output points"):
        pyml._C.fft_c2r(X._impl, 1, 0, 1.0)
    with pytest.raises(IndexError):
        pyml._C.fft_c2r(X._impl, -3, 14, 1.0)
    with pytest.raises(ValueError, match="Invalid number of data points"):
        pyml.fft.irfft(X, n=0)


# ---------------------------------------------------------------------------- SIMD groups, every ISA
@pytest.fixture(params=["avx512", "avx2", "generic"])
def isa(request):
    best = pyml._C.cpu_isa()
    try:
        pyml._C._set_cpu_isa(request.param)
    except ValueError:
        pytest.skip(f"this CPU does not run {request.param}")
    yield request.param
    pyml._C._set_cpu_isa(best)


def check_np(got, want, tol):
    got = got.numpy()
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=0, atol=tol * max(1.0, float(np.abs(want).max(initial=0))))


@pytest.mark.parametrize("n", [1, 2, 3, 6, 15, 16, 24, 64, 97, 134, 1000, 1031, 4096])
def test_line_groups_every_isa(rng, isa, n):
    for lines in (1, 3, 5, 17, 37):  # one line, remainders below / above a quarter group, full groups
        z, x = crand(rng, lines, n), rng.standard_normal((lines, n))
        for cdt, rdt, tol in ((pyml.complex64, pyml.float32, 3e-6), (pyml.complex128, pyml.float64, 1e-13)):
            tol *= np.log2(n + 2) * 4
            pz, px = pyml.tensor(z, dtype=cdt), pyml.tensor(x, dtype=rdt)
            check_np(pyml.fft.fft(pz), np.fft.fft(z), tol)
            check_np(pyml.fft.ifft(pz, norm="ortho"), np.fft.ifft(z, norm="ortho"), tol)
            check_np(pyml.fft.rfft(px), np.fft.rfft(x), tol)
            X = np.fft.rfft(x)
            check_np(pyml.fft.irfft(pyml.tensor(X, dtype=cdt), n=n), np.fft.irfft(X, n=n), tol)


@pytest.mark.parametrize("n", [7, 12, 61, 128, 4099])
def test_strided_lines_every_isa(rng, isa, n):
    # (3, n, 7) along dim 1: 21 lines 7 apart, groups crossing the outer blocks; and transposed views
    x = rng.standard_normal((3, n, 7))
    z = crand(rng, 3, n, 7)
    tol = 1e-13 * np.log2(n + 2) * 4
    check_np(pyml.fft.fft(pyml.tensor(z), dim=1), np.fft.fft(z, axis=1), tol)
    check_np(pyml.fft.rfft(pyml.tensor(x), dim=1), np.fft.rfft(x, axis=1), tol)
    X = np.fft.rfft(x, axis=1)
    check_np(pyml.fft.irfft(pyml.tensor(X), n=n, dim=1), np.fft.irfft(X, n=n, axis=1), tol)
    xt = pyml.tensor(x).transpose(1, 2)  # (3, 7, n), not contiguous
    check_np(pyml.fft.rfft(xt, norm="forward"), np.fft.rfft(x.transpose(0, 2, 1), norm="forward"), tol)
    Xt = pyml.tensor(X).transpose(0, 1)
    check_np(pyml.fft.irfft(Xt, n=n, dim=0), np.fft.irfft(X.transpose(1, 0, 2), n=n, axis=0), tol)


@pytest.mark.parametrize("n", [16384, 20011, 40000, 3 * 65536])
def test_long_lines_every_isa(rng, isa, n):
    # the four-step path (c2c n >= 16384, real n with n/2 >= 16384; 20011 is a prime: Bluestein)
    for lines in (1, 3):
        z, x = crand(rng, lines, n), rng.standard_normal((lines, n))
        X = np.fft.rfft(x)
        for cdt, rdt, tol in ((pyml.complex64, pyml.float32, 3e-6), (pyml.complex128, pyml.float64, 1e-13)):
            tol *= np.log2(n) * 4
            check_np(pyml.fft.fft(pyml.tensor(z, dtype=cdt)), np.fft.fft(z), tol)
            check_np(pyml.fft.ifft(pyml.tensor(z, dtype=cdt), norm="forward"), np.fft.ifft(z, norm="forward"), tol)
            check_np(pyml.fft.rfft(pyml.tensor(x, dtype=rdt), norm="ortho"), np.fft.rfft(x, norm="ortho"), tol)
            check_np(pyml.fft.irfft(pyml.tensor(X, dtype=cdt), n=n), np.fft.irfft(X, n=n), tol)


def test_real_ops_ignore_imaginary_dc_and_nyquist(rng):
    X = crand(rng, 4, 9)
    for n in (16, 17):
        got = pyml._tensor.wrap(pyml._C.fft_c2r(pyml.tensor(X)._impl, 1, n, 0.25))
        check_np(got, 0.25 * n * np.fft.irfft(X, n=n), 1e-13)
