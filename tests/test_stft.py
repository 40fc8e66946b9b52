"""pyml.stft / pyml.istft (pyml/_ops/spectral.py) against torch.stft / torch.istft: shapes, dtypes, values and
gradients (input and window) for 1-D and batched input, every pad_mode, centred or not, normalized, one- and
two-sided, align_to_window, complex input and window, odd lengths and windows shorter than n_fft; istft's
length, return_complex and NOLA check; every error and warning."""
import warnings

import numpy as np
import pytest
import torch

import pyml


def _np(x):
    return x.detach().numpy()


def close(p, t, rtol=1e-10, atol=1e-10):
    assert tuple(p.shape) == tuple(t.shape), (tuple(p.shape), tuple(t.shape))
    assert str(p.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], (p.dtype, t.dtype)
    np.testing.assert_allclose(_np(p), _np(t), rtol=rtol, atol=atol)


def pair(a, requires_grad=False):
    """(pyml, torch) tensors of the NumPy array a (real or complex), optionally leaves requiring grad."""
    a = np.asarray(a)
    t = torch.tensor(a)
    if np.iscomplexobj(a):
        p = pyml.complex(pyml.tensor(a.real.copy()), pyml.tensor(a.imag.copy()))
    else:
        p = pyml.tensor(a)
    return p.requires_grad_(requires_grad), t.requires_grad_(requires_grad)


def as_real(x):
    return (pyml.view_as_real if isinstance(x, pyml.Tensor) else torch.view_as_real)(x) if x.dtype.is_complex \
        else x


def backward_both(p_out, t_out, seed=0):
    """Backward the same random cotangent (on the view_as_real form of complex outputs) through both."""
    pr, tr = as_real(p_out), as_real(t_out)
    g = np.random.default_rng(seed).standard_normal(tuple(tr.shape))
    (pr * pyml.tensor(g).to(pr.dtype)).sum().backward()
    (tr * torch.tensor(g).to(tr.dtype)).sum().backward()


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


# (L, n_fft, hop, win, center, pad_mode, normalized, onesided)
STFT_CASES = [
    (30, 8, 2, 8, True, "reflect", False, None),
    (31, 8, 3, 5, True, "constant", True, None),
    (31, 9, 2, 7, False, "reflect", False, None),
    (40, 16, None, None, True, "replicate", False, False),
    (33, 10, 3, 6, True, "circular", True, False),
    (97, 31, 7, 30, True, "reflect", True, True),
    (9, 9, 1, 1, False, "reflect", False, None),
]


@pytest.mark.parametrize("case", STFT_CASES)
@pytest.mark.parametrize("batched", [True, False])
def test_stft_values_and_grads_match_torch(case, batched, rng):
    L, n_fft, hop, win, center, mode, normalized, onesided = case
    x = rng.standard_normal((3, L) if batched else (L,))
    x[..., :2] = 0.0  # a tail of zeros and one of large values
    x[..., -1] = 1e4
    w = rng.random(win or n_fft) + 0.2
    (px, tx), (pw, tw) = pair(x, True), pair(w, True)
    P = pyml.stft(px, n_fft, hop, win, pw, center, mode, normalized, onesided, return_complex=True)
    T = torch.stft(tx, n_fft, hop, win, tw, center, mode, normalized, onesided, return_complex=True)
    close(P, T, 1e-10, 1e-9)
    backward_both(P, T)
    close(px.grad, tx.grad, 1e-10, 1e-9)
    close(pw.grad, tw.grad, 1e-9, 1e-7)


@pytest.mark.parametrize("dtypes", [("float32", "float32", "complex64"), ("float32", "float64", "complex128"),
                                    ("float64", "float32", "complex128")])
def test_stft_dtype_promotion(dtypes, rng):
    xd, wd, out = dtypes
    x, w = rng.standard_normal(25), rng.random(8)
    P = pyml.stft(pyml.tensor(x).to(getattr(pyml, xd)), 8, 3, window=pyml.tensor(w).to(getattr(pyml, wd)),
                  return_complex=True)
    T = torch.stft(torch.tensor(x).to(getattr(torch, xd)), 8, 3, window=torch.tensor(w).to(getattr(torch, wd)),
                   return_complex=True)
    assert str(P.dtype) == f"pyml.{out}" and str(T.dtype) == f"torch.{out}"
    close(P, T, 1e-5, 1e-5)


def test_stft_complex_input_and_window(rng):
    z = rng.standard_normal((2, 25)) + 1j * rng.standard_normal((2, 25))
    (pz, tz) = pair(z, True)
    P = pyml.stft(pz, 8, 3, window=pyml.hann_window(8, dtype=pyml.float64))
    T = torch.stft(tz, 8, 3, window=torch.hann_window(8, dtype=torch.float64))
    assert P.dtype is pyml.complex128 and P.shape == (2, 8, 9)  # complex input: two-sided, complex by default
    close(P, T)
    backward_both(P, T)
    close(pz.grad, tz.grad)
    cw = rng.standard_normal(6) + 1j * rng.standard_normal(6)
    x = rng.standard_normal(21)
    (px, tx), (pw, tw) = pair(x, True), pair(cw, True)
    P = pyml.stft(px, 8, 2, 6, pw, pad_mode="constant")
    T = torch.stft(tx, 8, 2, 6, tw, pad_mode="constant")
    close(P, T)
    backward_both(P, T)
    close(px.grad, tx.grad)
    close(pw.grad, tw.grad)


@pytest.mark.parametrize("align", [True, False])
@pytest.mark.parametrize("window", [True, False])
def test_stft_align_to_window(align, window, rng):
    x, w = rng.standard_normal(23), rng.random(5) + 0.1
    px, tx = pair(x)
    pw, tw = (pair(w) if window else (None, None))
    P = pyml.stft(px, 9, 2, 5, pw, center=False, return_complex=True, align_to_window=align)
    T = torch.stft(tx, 9, 2, 5, tw, center=False, return_complex=True, align_to_window=align)
    close(P, T)


def test_stft_return_complex_false_is_view_as_real_and_warns(rng):
    x = rng.standard_normal((2, 20))
    with pytest.warns(UserWarning, match="return_complex=False is deprecated"):
        P = pyml.stft(pyml.tensor(x), 8, 2, window=pyml.ones(8, dtype=pyml.float64), return_complex=False)
    T = torch.stft(torch.tensor(x), 8, 2, window=torch.ones(8, dtype=torch.float64), return_complex=False)
    assert P.dtype is pyml.float64 and P.shape == (2, 5, 11, 2)
    close(P, T)


def test_stft_method_and_missing_window_warning(rng):
    x = rng.standard_normal(20)
    with pytest.warns(UserWarning, match="window was not provided"):
        P = pyml.tensor(x).stft(8, return_complex=True)
    close(P, torch.tensor(x).stft(8, return_complex=True))
    with pytest.warns(UserWarning, match="window was not provided") as record:
        pyml.stft(pyml.tensor(x), 8, return_complex=True)
    assert record[0].filename == __file__  # the warning names the caller's line, not pyml's wrappers
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a given window: no warning
        pyml.stft(pyml.tensor(x), 8, window=pyml.ones(8, dtype=pyml.float64), return_complex=True)


def test_stft_float16_input_transforms_in_float32(rng):
    # (torch's CPU FFT refuses float16; pyml.fft computes it in float32, after the float16 windowing)
    x = rng.standard_normal(30)
    P = pyml.stft(pyml.tensor(x).half(), 8, 2, window=pyml.hann_window(8).half(), return_complex=True)
    T = torch.stft(torch.tensor(x).half().float(), 8, 2, window=torch.hann_window(8).half().float(),
                   return_complex=True)
    close(P, T, 2e-3, 4e-3)


def test_stft_errors():
    x = pyml.randn(20)
    w = pyml.ones(8)
    with pytest.raises(ValueError, match="stft: requires the return_complex parameter"):
        pyml.stft(x, 8, window=w)
    with pytest.raises(TypeError, match="stft: argument 'input' must be Tensor"):
        pyml.stft([1.0, 2.0], 8, return_complex=True)
    with pytest.raises(TypeError, match="stft: expected a tensor of floating point or complex values, got"):
        pyml.stft(pyml.arange(20), 8, window=w, return_complex=True)
    with pytest.raises(ValueError, match=r"stft: expected a 1-D \(L\) or 2-D \(B, L\) tensor, got shape \(2, 3, 20\)"):
        pyml.stft(pyml.randn(2, 3, 20), 8, window=w, return_complex=True)
    with pytest.raises(ValueError, match="stft: expected n_fft > 0, got n_fft=0"):
        pyml.stft(x, 0, window=w, return_complex=True)
    with pytest.raises(ValueError, match=r"stft: expected 0 < n_fft <= 20 \(the signal length"):
        pyml.stft(x, 21, window=pyml.ones(21), center=False, return_complex=True)
    with pytest.raises(ValueError, match="stft: expected hop_length > 0, got hop_length=0"):
        pyml.stft(x, 8, 0, window=w, return_complex=True)
    with pytest.raises(ValueError, match="stft: expected 0 < win_length <= n_fft, got win_length=9"):
        pyml.stft(x, 8, 2, 9, return_complex=True)
    with pytest.raises(ValueError, match=r"stft: expected a 1-D window tensor of size equal to win_length=8, got "
                                         r"window of shape \(7,\)"):
        pyml.stft(x, 8, window=pyml.ones(7), return_complex=True)
    with pytest.raises(ValueError, match="stft: pad_mode must be one of"):
        pyml.stft(x, 8, window=w, pad_mode="bogus", return_complex=True)
    with pytest.raises(ValueError, match="stft: cannot have onesided output if window or input is complex"):
        pyml.stft(x, 8, window=w.to(pyml.complex64), onesided=True, return_complex=True)
    with pytest.raises(ValueError, match="stft: align_to_window should only be set when center=False"):
        pyml.stft(x, 8, window=w, align_to_window=True, return_complex=True)
    with pytest.raises(ValueError, match="pad: reflect padding must be less than"):
        pyml.stft(x, 40, window=pyml.ones(40), return_complex=True)
    with pytest.raises(TypeError, match="stft: argument 'n_fft' must be an int"):
        pyml.stft(x, 8.0, window=w, return_complex=True)


# (L, n_fft, hop, win, normalized, onesided, length, return_complex)
ISTFT_CASES = [
    (30, 8, 2, 8, False, None, None, False),
    (31, 8, 3, 5, True, None, 29, False),
    (30, 8, 2, 8, False, None, 40, False),  # longer than the signal: zero tail
    (31, 9, 2, 7, False, False, None, False),
    (40, 16, 4, 16, False, False, 20, True),
    (97, 31, 7, 30, True, None, None, False),
]


@pytest.mark.parametrize("case", ISTFT_CASES)
@pytest.mark.parametrize("batched", [True, False])
def test_istft_values_and_grads_match_torch(case, batched, rng):
    L, n_fft, hop, win, normalized, onesided, length, return_complex = case
    x = rng.standard_normal((2, L) if batched else (L,))
    w = rng.random(win) + 0.2
    spec = torch.stft(torch.tensor(x), n_fft, hop, win, torch.tensor(w), True, "reflect", normalized, onesided,
                      return_complex=True).numpy()
    (pX, tX), (pw, tw) = pair(spec, True), pair(w, True)
    P = pyml.istft(pX, n_fft, hop, win, pw, True, normalized, onesided, length, return_complex)
    T = torch.istft(tX, n_fft, hop, win, tw, True, normalized, onesided, length, return_complex)
    close(P, T, 1e-10, 1e-10)
    n = min(L, T.shape[-1])
    np.testing.assert_allclose(_np(P).real[..., :n], x[..., :n], atol=1e-10)  # the inverse of stft
    backward_both(P, T)
    close(pX.grad, tX.grad, 1e-9, 1e-10)
    close(pw.grad, tw.grad, 1e-9, 1e-9)


def test_istft_not_centered_and_default_window(rng):
    x = rng.standard_normal(30)
    w = pyml.hann_window(8, periodic=False, dtype=pyml.float64) + 0.1
    X = pyml.stft(pyml.tensor(x), 8, 2, window=w, center=False, return_complex=True)
    close(pyml.istft(X, 8, 2, window=w, center=False),
          torch.istft(torch.tensor(X.numpy()), 8, 2, window=torch.tensor(w.numpy()), center=False))
    Xr = pyml.stft(pyml.tensor(x), 8, 2, window=pyml.ones(8, dtype=pyml.float64), return_complex=True)
    with pytest.warns(UserWarning, match="window was not provided"):
        y = pyml.istft(Xr, 8, 2)
    np.testing.assert_allclose(y.numpy(), x, atol=1e-12)
    assert y.dtype is pyml.float64 and pyml.istft(Xr.to(pyml.complex64), 8, 2).dtype is pyml.float32


def test_istft_length_warning_and_method(rng):
    x = rng.standard_normal(30)
    X = pyml.stft(pyml.tensor(x), 8, 2, window=pyml.ones(8, dtype=pyml.float64), return_complex=True)
    with pytest.warns(UserWarning, match="padded with zeros"):
        y = X.istft(8, 2, window=pyml.ones(8, dtype=pyml.float64), length=40)
    assert y.shape == (40,) and not y[34:].abs().max().item()  # frames end at 8 + 2 * 15 - 4 (centre) = 34
    np.testing.assert_allclose(y[:30].numpy(), x, atol=1e-12)
    close(y, torch.istft(torch.tensor(X.numpy()), 8, 2, window=torch.ones(8, dtype=torch.float64), length=40))


def test_istft_errors():
    w = pyml.hann_window(8)
    X = pyml.stft(pyml.randn(2, 30), 8, 2, window=w, return_complex=True)  # (2, 5, 16)
    with pytest.raises(TypeError, match="istft: requires a complex-valued input tensor"):
        pyml.istft(pyml.real(X), 8, 2, window=w)
    with pytest.raises(ValueError, match=r"istft: expected a 2-D \(F, T\) or 3-D \(B, F, T\) tensor, got shape"):
        pyml.istft(X[0, 0], 8, 2, window=w)
    with pytest.raises(ValueError, match="istft: input tensor cannot be empty"):
        pyml.istft(X[:, :, :0], 8, 2, window=w)
    with pytest.raises(ValueError, match=r"match n_fft // 2 \+ 1 = 6 when onesided=True, got 5"):
        pyml.istft(X, 10, 2, window=pyml.hann_window(10))
    with pytest.raises(ValueError, match="match n_fft = 8 when onesided=False, got 5"):
        pyml.istft(X, 8, 2, window=w, onesided=False)
    with pytest.raises(ValueError, match="istft: expected 0 < hop_length <= win_length, got hop_length=9"):
        pyml.istft(X, 8, 9, window=w)
    with pytest.raises(ValueError, match="istft: expected 0 < win_length <= n_fft, got win_length=9"):
        pyml.istft(X, 8, 2, 9, window=w)
    with pytest.raises(ValueError, match="istft: invalid window shape"):
        pyml.istft(X, 8, 2, window=pyml.ones(7))
    with pytest.raises(ValueError, match="istft: cannot have onesided output if window or input is complex"):
        pyml.istft(X, 8, 2, window=w, return_complex=True)
    Xf = pyml.stft(pyml.randn(30), 8, 2, window=w, onesided=False, return_complex=True)
    with pytest.raises(ValueError, match="istft: complex windows are incompatible with return_complex=False"):
        pyml.istft(Xf, 8, 2, window=w.to(pyml.complex64))
    with pytest.raises(ValueError, match="istft: window overlap-add envelope must be >= 1e-11"):
        pyml.istft(X, 8, 2, window=w, center=False)  # the periodic Hann window is 0 at the first sample
    with pytest.raises(ValueError, match="istft: window overlap-add envelope"):
        pyml.istft(X, 8, 2, window=pyml.zeros(8))


@pytest.mark.cuda
def test_stft_istft_on_cuda_match_cpu(rng):
    x, w = rng.standard_normal((2, 50)).astype(np.float32), (rng.random(12) + 0.2).astype(np.float32)
    cpu = pyml.stft(pyml.tensor(x), 16, 4, 12, pyml.tensor(w), return_complex=True)
    xd = pyml.tensor(x, device="cuda").requires_grad_(True)
    gpu = pyml.stft(xd, 16, 4, 12, pyml.tensor(w, device="cuda"), return_complex=True)
    assert gpu.device.type == "cuda"
    np.testing.assert_allclose(gpu.detach().cpu().numpy(), cpu.detach().numpy(), rtol=1e-4, atol=1e-4)
    y = pyml.istft(gpu, 16, 4, 12, pyml.tensor(w, device="cuda"), length=50)
    np.testing.assert_allclose(y.detach().cpu().numpy(), x, atol=1e-4)
    y.sum().backward()
    assert xd.grad.device.type == "cuda"
    np.testing.assert_allclose(xd.grad.cpu().numpy(), np.ones_like(x), atol=1e-4)  # istft(stft(x)) = x
