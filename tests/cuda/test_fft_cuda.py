"""Complex tensors and the FFT on CUDA against the CPU kernels on the same inputs: the Stockham
stages (radices 4, 2 and odd primes), Bluestein lengths, strided lines (inner > 1), every dtype,
the complex copies (16-byte complex128 elements in the index and layout kernels), the real
transforms (r2c / c2r, even and odd lengths, strided lines) and gradients."""
import numpy as np
import pytest

import pyml

pytestmark = pytest.mark.cuda
rng = np.random.default_rng(11)


def crand(*shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def check(cpu, gpu, tol):
    assert gpu.device.type == "cuda" and gpu.dtype is cpu.dtype and gpu.shape == cpu.shape
    g, c = gpu.detach().cpu().numpy(), cpu.detach().numpy()
    np.testing.assert_allclose(g, c, rtol=0, atol=tol * max(1.0, float(np.abs(c).max(initial=0))))


@pytest.mark.parametrize("n", [1, 2, 3, 8, 12, 30, 97, 128, 127, 1000, 1031, 4096])
@pytest.mark.parametrize("dtype,tol", [(pyml.complex64, 1e-5), (pyml.complex128, 1e-12)])
def test_c2c_matches_cpu(n, dtype, tol):
    z = pyml.tensor(crand(3, n), dtype=dtype)
    for fn in (pyml.fft.fft, pyml.fft.ifft):
        check(fn(z), fn(z.cuda()), tol * np.log2(n + 2))


def test_strided_lines_and_multi_dim():
    z = pyml.tensor(crand(6, 10, 7))
    g = z.cuda()
    check(pyml.fft.fft(z, dim=0), pyml.fft.fft(g, dim=0), 1e-12)
    check(pyml.fft.fftn(z, norm="ortho"), pyml.fft.fftn(g, norm="ortho"), 1e-12)
    check(pyml.fft.fft(z.transpose(0, 2), dim=1), pyml.fft.fft(g.transpose(0, 2), dim=1), 1e-12)
    x = pyml.tensor(rng.standard_normal((4, 67, 5)))
    check(pyml.fft.rfft(x, dim=1), pyml.fft.rfft(x.cuda(), dim=1), 1e-12)
    X = pyml.fft.rfft2(x)
    check(pyml.fft.irfft2(X, s=(67, 5)), pyml.fft.irfft2(X.cuda(), s=(67, 5)), 1e-12)


@pytest.mark.parametrize("dtype", [pyml.complex64, pyml.complex128])
def test_complex_copies_and_arithmetic(dtype):
    a, b = pyml.tensor(crand(5, 6), dtype=dtype), pyml.tensor(crand(5, 6), dtype=dtype)
    ga, gb = a.cuda(), b.cuda()
    tol = 1e-5 if dtype is pyml.complex64 else 1e-12
    check(a * b / (b + 2) - a.exp(), ga * gb / (gb + 2) - ga.exp(), tol * 10)
    check(pyml.cat([a, b], 1), pyml.cat([ga, gb], 1), 0)
    check(a.flip(0), ga.flip(0), 0)
    check(a[pyml.tensor([4, 0, 2])], ga[pyml.tensor([4, 0, 2]).cuda()], 0)
    check(a.t().contiguous(), ga.t().contiguous(), 0)
    check(a @ b.t(), ga @ gb.t(), tol * 10)
    check(a.sum(1), ga.sum(1), tol)


def test_gradient_on_cuda():
    z = pyml.tensor(crand(2, 12))
    zc = z.cuda().requires_grad_()
    z.requires_grad_()
    w = pyml.tensor(crand(2, 12))
    (pyml.fft.fft(z) * w).real.sum().backward()
    (pyml.fft.fft(zc) * w.cuda()).real.sum().backward()
    check(z.grad, zc.grad, 1e-12)


@pytest.mark.parametrize("n", [1, 2, 7, 16, 30, 97, 1031])
@pytest.mark.parametrize("dtype,tol", [(pyml.float32, 1e-5), (pyml.float64, 1e-12)])
def test_real_transforms_match_cpu(n, dtype, tol):
    x = pyml.tensor(rng.standard_normal((3, n, 4)), dtype=dtype)
    tol *= np.log2(n + 2)
    for dim in (1, -1):
        X = pyml.fft.rfft(x, dim=dim, norm="ortho")
        check(X, pyml.fft.rfft(x.cuda(), dim=dim, norm="ortho"), tol)
        m = x.shape[dim]
        check(pyml.fft.irfft(X, n=m, dim=dim), pyml.fft.irfft(X.cuda(), n=m, dim=dim), tol)
    X = pyml.fft.rfft(x, dim=1)
    check(pyml.fft.hfft(X, n=n, dim=1), pyml.fft.hfft(X.cuda(), n=n, dim=1), tol * n)


def test_real_transform_gradients_on_cuda():
    for n in (12, 9):
        x = pyml.tensor(rng.standard_normal((2, n)))
        xc = x.cuda().requires_grad_()
        x.requires_grad_()
        w = pyml.tensor(crand(2, n // 2 + 1))
        (pyml.fft.rfft(x) * w).real.sum().backward()
        (pyml.fft.rfft(xc) * w.cuda()).real.sum().backward()
        check(x.grad, xc.grad, 1e-12)
        X = pyml.tensor(crand(2, n // 2 + 1))
        Xc = X.cuda().requires_grad_()
        X.requires_grad_()
        g = pyml.tensor(rng.standard_normal((2, n)))
        (pyml.fft.irfft(X, n=n) * g).sum().backward()
        (pyml.fft.irfft(Xc, n=n) * g.cuda()).sum().backward()
        check(X.grad, Xc.grad, 1e-12)
