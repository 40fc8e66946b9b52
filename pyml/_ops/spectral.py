"""Short-time Fourier transforms, as torch.stft / torch.istft, composed from differentiable pyml ops.

stft: the signal (L,) or (B, L) is padded by n_fft // 2 on both sides when center=True (pad_mode), cut into
frames with unfold (B, T, n_fft), each frame multiplied by the window (zero-padded to n_fft, centred), and
transformed by pyml.fft.rfft (onesided) or fft; the result is (B?, F, T) complex, or its view_as_real form.
istft inverts it by least squares: inverse FFT of each frame, times the window, overlap-added with fold
(col2im), divided by the overlap-added squared window (the envelope, which must not vanish: NOLA).
Every step is an autograd-recorded op, so the gradients are torch's with no backward formula here.
"""
import builtins
import os
import sys
import warnings

import pyml
from .. import _dtype as D
from .._tensor import Tensor, export, need_tensor
from .compat_util import as_int, method

_PAD_MODES = ("reflect", "constant", "replicate", "circular")
_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------------- arguments
def _warn(message):
    """A UserWarning pointing at the first caller outside pyml (the autograd and type guards wrap stft and
    istft a varying number of times, so no fixed stacklevel does)."""
    frame, level = sys._getframe(0), 1  # level 1 is this function, the caller of warnings.warn
    while frame is not None and frame.f_code.co_filename.startswith(_PKG):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level)


def _lengths(op, n_fft, hop_length, win_length):
    """(n_fft, hop, win) with torch's defaults: hop = n_fft // 4, win = n_fft."""
    n_fft = as_int(n_fft, op, "n_fft")
    hop = n_fft // 4 if hop_length is None else as_int(hop_length, op, "hop_length")
    win = n_fft if win_length is None else as_int(win_length, op, "win_length")
    if n_fft <= 0:
        raise ValueError(f"{op}: expected n_fft > 0, got n_fft={n_fft}")
    if not 0 < win <= n_fft:
        raise ValueError(f"{op}: expected 0 < win_length <= n_fft, got win_length={win}, n_fft={n_fft}")
    return n_fft, hop, win


def _check_window(op, window, win):
    if window is None:
        return
    need_tensor(window, op, "window")
    if window.ndim != 1 or window.shape[0] != win:
        raise ValueError(f"{op}: expected a 1-D window tensor of size equal to win_length={win}, got window of "
                         f"shape {tuple(window.shape)}")


def _padded_window(window, win, n_fft, like):
    """The window zero-padded to n_fft, centred (left = (n_fft - win) // 2); None when it is all ones."""
    if window is None and win == n_fft:
        return None
    if window is None:
        window = pyml.ones(win, dtype=_real_dtype(like.dtype), device=like.device)
    left = (n_fft - win) // 2
    return pyml.nn.functional.pad(window, (left, n_fft - win - left)) if win < n_fft else window


def _real_dtype(dt):
    return {D.complex64: D.float32, D.complex128: D.float64}.get(dt, dt)


def _is_complex(t):
    return t is not None and t.dtype.is_complex


def _return_complex(op, input, window, return_complex):
    """torch's rule: complex input or window defaults to a complex result; real input must say which it wants,
    and the real (view_as_real) form is deprecated."""
    if return_complex is None:
        if not (_is_complex(input) or _is_complex(window)):
            raise ValueError(f"{op}: requires the return_complex parameter be given for real inputs (and "
                             "return_complex=True is preferred), got return_complex=None")
        return True
    if not return_complex:
        _warn(f"{op} with return_complex=False is deprecated. In a future release, {op} will return complex tensors "
              "for all inputs; call pyml.view_as_real on the complex output to get the old format.")
    return builtins.bool(return_complex)


def _warn_no_window(op):
    _warn(f"{op}: a window was not provided. A rectangular window will be applied, which is known to cause spectral "
          "leakage; pass window=pyml.ones(n_fft) to use it explicitly, or a tapered window such as pyml.hann_window.")


# ---------------------------------------------------------------------------- stft
def _center_pad(x, pad, mode):
    """(B, L) -> (B, L + 2 pad), padded as F.pad pads the last dim of (1, B, L)."""
    if mode not in _PAD_MODES:
        raise ValueError(f"stft: pad_mode must be one of {', '.join(map(repr, _PAD_MODES))}, got {mode!r}")
    return pyml.nn.functional.pad(x.unsqueeze(0), (pad, pad), mode).squeeze(0)


def _frames(x, n_fft, hop, win, window, align):
    """(B, L) -> windowed frames (B, T, n_fft). align_to_window: frames of win samples start every hop (then
    are zero-padded to n_fft); otherwise frames of n_fft samples, multiplied by the padded window."""
    L = x.shape[-1]
    if not 0 < n_fft <= L:
        raise ValueError(f"stft: expected 0 < n_fft <= {L} (the signal length, after center padding), got "
                         f"n_fft={n_fft}")
    if not align:
        frames = x.unfold(-1, n_fft, hop)  # (B, T, n_fft)
        w = _padded_window(window, win, n_fft, x)
        return frames if w is None else frames * w
    frames = x.unfold(-1, win, hop)  # (B, T, win)
    if window is not None:
        frames = frames * window
    left = (n_fft - win) // 2
    return pyml.nn.functional.pad(frames, (left, n_fft - win - left)) if win < n_fft else frames


def _stft_input(op, input, center, align_to_window):
    need_tensor(input, op)
    if center and align_to_window is not None:
        raise ValueError(f"{op}: align_to_window should only be set when center=False, got "
                         f"align_to_window={align_to_window}")
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise TypeError(f"{op}: expected a tensor of floating point or complex values, got {input.dtype}")
    if input.ndim not in (1, 2):
        raise ValueError(f"{op}: expected a 1-D (L) or 2-D (B, L) tensor, got shape {tuple(input.shape)}")


def _onesided(op, input, window, onesided):
    """torch's default: one-sided for real input and window; a complex one has no Hermitian symmetry."""
    complex_fft = input.dtype.is_complex or _is_complex(window)
    onesided = not complex_fft if onesided is None else builtins.bool(onesided)
    if complex_fft and onesided:
        raise ValueError(f"{op}: cannot have onesided output if window or input is complex, got onesided=True")
    return onesided


def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect",
         normalized=False, onesided=None, return_complex=None, align_to_window=None):
    """Short-time Fourier transform: (L,) or (B, L) -> (B?, F, T) complex with F = n_fft // 2 + 1 (onesided) or
    n_fft, T = 1 + (L' - n_fft) // hop_length (L' = L + 2 (n_fft // 2) when center)."""
    op = "stft"
    _stft_input(op, input, center, align_to_window)
    return_complex = _return_complex(op, input, window, return_complex)
    n_fft, hop, win = _lengths(op, n_fft, hop_length, win_length)
    if hop <= 0:
        raise ValueError(f"{op}: expected hop_length > 0, got hop_length={hop}")
    _check_window(op, window, win)
    if window is None:
        _warn_no_window(op)
    onesided = _onesided(op, input, window, onesided)
    x = input if input.ndim == 2 else input.unsqueeze(0)  # (B, L)
    if center:
        x = _center_pad(x, n_fft // 2, pad_mode)
    frames = _frames(x, n_fft, hop, win, window, builtins.bool(align_to_window))  # (B, T, n_fft)
    norm = "ortho" if normalized else "backward"
    spec = pyml.fft.rfft(frames, dim=-1, norm=norm) if onesided else pyml.fft.fft(frames, dim=-1, norm=norm)
    out = spec.transpose(1, 2)  # (B, F, T)
    if input.ndim == 1:
        out = out.squeeze(0)
    return out if return_complex else pyml.view_as_real(out)


# ---------------------------------------------------------------------------- istft
def _overlap_add(frames, hop, length):
    """Frames (B, T, n) summed into (B, length) with frame t starting at t * hop (fold is col2im)."""
    B, T, n = frames.shape
    cols = frames.transpose(1, 2)  # (B, n, T): one column of n samples per frame
    return pyml.nn.functional.fold(cols, (1, length), (1, n), stride=(1, hop)).reshape(B, length)


def _istft_checks(op, input, n_fft, hop, win, onesided):
    if not 0 < hop <= win:
        raise ValueError(f"{op}: expected 0 < hop_length <= win_length, got hop_length={hop}, win_length={win}")
    fft_size = input.shape[-2]
    if onesided and fft_size != n_fft // 2 + 1:
        raise ValueError(f"{op}: expected the frequency dimension (2nd to last) of the input to match n_fft // 2 + 1 "
                         f"= {n_fft // 2 + 1} when onesided=True, got {fft_size}; input {tuple(input.shape)}")
    if not onesided and fft_size != n_fft:
        raise ValueError(f"{op}: expected the frequency dimension (2nd to last) of the input to match n_fft = "
                         f"{n_fft} when onesided=False, got {fft_size}; input {tuple(input.shape)}")


def _frames_back(X, n_fft, onesided, normalized, return_complex, window):
    """(B, F, T) spectra -> (B, T, n_fft) frames by the inverse transform torch uses."""
    X = X.transpose(1, 2)  # (B, T, F)
    norm = "ortho" if normalized else "backward"
    if return_complex:
        if onesided:
            raise ValueError("istft: cannot have onesided output if window or input is complex, got onesided=True "
                             "with return_complex=True")
        return pyml.fft.ifft(X, dim=-1, norm=norm)
    if _is_complex(window):
        raise ValueError(f"istft: complex windows are incompatible with return_complex=False, got window of dtype "
                         f"{window.dtype}")
    if not onesided:
        X = X[..., :n_fft // 2 + 1]  # the other half is the Hermitian mirror irfft rebuilds
    return pyml.fft.irfft(X, n=n_fft, dim=-1, norm=norm)


def _check_nola(envelope):
    low = envelope.abs().min().item() if envelope.numel() else 0.0
    if low < 1e-11:
        raise ValueError(f"istft: window overlap-add envelope must be >= 1e-11 everywhere (the NOLA condition: pick "
                         f"a window, hop_length and center that cover every output sample), got min {low:.3g}")


def _istft_input(op, input):
    need_tensor(input, op)
    if not input.dtype.is_complex:
        raise TypeError(f"{op}: requires a complex-valued input tensor matching the output from stft with "
                        f"return_complex=True, got {input.dtype}")
    if input.ndim not in (2, 3):
        raise ValueError(f"{op}: expected a 2-D (F, T) or 3-D (B, F, T) tensor, got shape {tuple(input.shape)}")
    if input.numel() == 0:
        raise ValueError(f"{op}: input tensor cannot be empty, got shape {tuple(input.shape)}")


def _istft_window(op, window, win, input):
    """The window checked, or ones (with torch's warning) when none is given."""
    if window is None:
        _warn_no_window(op)
        return pyml.ones(win, dtype=_real_dtype(input.dtype), device=input.device)
    need_tensor(window, op, "window")
    if window.ndim != 1 or window.shape[0] != win:
        raise ValueError(f"{op}: invalid window shape: window has to be 1-D of length win_length={win}, got "
                         f"{tuple(window.shape)}")
    return window


def _trim(y, env, start, end, expected):
    """y / envelope over [start, end), zero-padded (with torch's warning) past the last frame."""
    y, env = y[:, start:end], env[:, start:end]
    _check_nola(env)
    y = y / env
    if end > expected:
        _warn("istft: the length of signal is shorter than the length parameter. Result is being padded with zeros in "
              "the tail. Please check your center and hop_length settings.")
        y = pyml.nn.functional.pad(y, (0, end - expected))
    return y


def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, normalized=False,
          onesided=None, length=None, return_complex=False):
    """Inverse of stft: (B?, F, T) complex -> (B?, length) signal, the least-squares estimate whose stft is input."""
    op = "istft"
    _istft_input(op, input)
    n_fft, hop, win = _lengths(op, n_fft, hop_length, win_length)
    onesided = input.shape[-2] != n_fft if onesided is None else builtins.bool(onesided)
    _istft_checks(op, input, n_fft, hop, win, onesided)
    window = _istft_window(op, window, win, input)
    w = _padded_window(window, win, n_fft, input)  # (n_fft,)
    X = input if input.ndim == 3 else input.unsqueeze(0)  # (B, F, T)
    frames = _frames_back(X, n_fft, onesided, normalized, return_complex, window) * w  # (B, T, n_fft)
    T = X.shape[-1]
    expected = n_fft + hop * (T - 1)
    y = _overlap_add(frames, hop, expected)  # (B, expected)
    env = _overlap_add((w * w).expand(1, T, n_fft), hop, expected)  # (1, expected)
    start = n_fft // 2 if center else 0
    end = start + as_int(length, op, "length") if length is not None else expected - start
    y = _trim(y, env, start, end, expected)
    return y.squeeze(0) if input.ndim == 2 else y


__all__ = export(globals())
for _n in __all__:
    setattr(Tensor, _n, method(globals()[_n]))  # Tensor.stft / Tensor.istft call pyml's (autocast-wrappable) function
