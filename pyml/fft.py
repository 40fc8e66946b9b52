"""pyml.fft: discrete Fourier transforms with torch.fft's names, arguments and norms.

The engine computes three transforms with a scale (mixed-radix Stockham, SIMD across lines,
Bluestein for large prime factors): complex-to-complex along some dims (_C.fft_c2c), real-to-
complex keeping the n//2 + 1 non-negative bins (_C.fft_r2c) and its Hermitian inverse
(_C.fft_c2r), the real ones along one dim. Everything else is composed here: rfftn is r2c along
the last dim then c2c along the others, irfftn the reverse, hfft/ihfft are irfft/rfft of the
conjugate. Each transform is one autograd node whose backward is its adjoint: c2c the opposite-
sign transform with the same scale; r2c and c2r each other's transform with the bins that stand
for two conjugate bins of the full spectrum halved (r2c) or doubled (c2r), as in torch.
"""
import builtins
import math

import pyml
from . import _C
from . import _dtype as D
from ._tensor import wrap, need_tensor
from ._ops import complex as _cx
from .autograd import Function

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn",
           "irfftn", "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq", "rfftfreq", "fftshift",
           "ifftshift"]


class _C2C(Function):
    @staticmethod
    def forward(ctx, x, dims, inverse, scale):
        ctx.fft = (dims, inverse, scale)
        return wrap(_C.fft_c2c(x._impl, list(dims), inverse, scale))

    @staticmethod
    def backward(ctx, g):
        dims, inverse, scale = ctx.fft
        return _C2C.apply(g, dims, not inverse, scale), None, None, None


def _c2c(x, dims, inverse, scale):
    if not dims:
        return x * scale if scale != 1.0 else x.clone()
    return _C2C.apply(x, tuple(dims), inverse, float(scale))


def _paired_bins(g, dim, n, factor):
    """g (.., n//2 + 1 bins along dim, ..) with bins 1..(n-1)//2 times factor: the bins that stand
    for a conjugate pair of the full n-point spectrum."""
    real = g.dtype.to_real()
    k = pyml.arange(g.shape[dim], dtype=real, device=g.device)
    w = 1.0 + (factor - 1.0) * ((k >= 1) & (k <= (n - 1) // 2)).to(real)
    return g * w.reshape([g.shape[dim]] + [1] * (g.ndim - 1 - dim))  # broadcasts along dim


class _R2C(Function):
    @staticmethod
    def forward(ctx, x, dim, scale):
        ctx.fft = (dim, x.shape[dim], scale)
        return wrap(_C.fft_r2c(x._impl, dim, scale))

    @staticmethod
    def backward(ctx, g):
        dim, n, scale = ctx.fft
        return _C2R.apply(_paired_bins(g, dim, n, 0.5), dim, n, scale), None, None


class _C2R(Function):
    @staticmethod
    def forward(ctx, X, dim, n, scale):
        ctx.fft = (dim, n, scale)
        return wrap(_C.fft_c2r(X._impl, dim, n, scale))

    @staticmethod
    def backward(ctx, g):
        dim, n, scale = ctx.fft
        return _paired_bins(_R2C.apply(g, dim, scale), dim, n, 2.0), None, None, None


# ---------------------------------------------------------------------------- arguments
def _scale(norm, n, inverse, op):
    """The factor a transform of n points gets: torch's "backward" (default), "ortho" and "forward"."""
    if norm is None:
        norm = "backward"
    if norm not in ("backward", "ortho", "forward"):
        raise ValueError(f'{op}: Invalid normalization mode: "{norm}"; expected "backward", "ortho" or "forward"')
    if norm == "ortho":
        return 1.0 / math.sqrt(n)
    return 1.0 / n if (norm == "backward") == inverse else 1.0


def _swap(norm):
    """hfft is a forward transform built from an inverse one: the norm names swap."""
    return {None: "forward", "backward": "forward", "forward": "backward", "ortho": "ortho"}.get(norm, norm)


def _complex_input(x, op):
    need_tensor(x, op)
    if x.dtype.is_complex:
        return x
    return _cx._join(_real_input(x, op), None)


def _real_input(x, op):
    need_tensor(x, op)
    if x.dtype.is_complex:
        raise TypeError(f"{op}: expects a real input tensor, but got {x.dtype}")
    if x.dtype in (D.float32, D.float64):
        return x
    return x.to(D.float32 if x.dtype.is_floating_point else pyml.get_default_dtype())


def _dim(d, ndim, op):
    from ._tensor import _wrap_dim
    return _wrap_dim(d, ndim, op)


def _resize(x, dim, n, op):
    """x zero-padded or trimmed to n entries along dim."""
    if n < 1:
        raise ValueError(f"{op}: Invalid number of data points ({n}) specified")
    m = x.shape[dim]
    if m == n:
        return x
    if m > n:
        return x.narrow(dim, 0, n)
    shape = list(x.shape)
    shape[dim] = n - m
    return pyml.cat([x, pyml.zeros(shape, dtype=x.dtype, device=x.device)], dim)


def _dims_and_sizes(x, s, dim, op, default_all):
    """torch's fftn argument rules: dims (wrapped, unique) and the signal size along each."""
    if dim is None:
        if s is None:
            dims = list(range(x.ndim)) if default_all else [x.ndim - 2, x.ndim - 1]
        else:
            dims = list(range(x.ndim - len(s), x.ndim))
    else:
        dims = [dim] if isinstance(dim, int) else list(dim)
    dims = [_dim(d, x.ndim, op) for d in dims]
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"{op}: dims must be unique, got {tuple(dims)}")
    if s is None:
        sizes = [None] * len(dims)
    else:
        sizes = list(s)
        if len(sizes) != len(dims):
            raise RuntimeError(f"{op}: When given, dim and shape arguments must have the same length, got "
                               f"s={tuple(sizes)} and dim={tuple(dims)}")
    return dims, sizes


def _resized(x, dims, sizes, op):
    """x padded or trimmed to sizes along dims (None or -1: keep), and the product of those sizes."""
    total = 1
    for d, n in zip(dims, sizes):
        n = x.shape[d] if n is None or n == -1 else n
        x = _resize(x, d, n, op)
        total *= n
    return x, total


# ---------------------------------------------------------------------------- complex to complex
def _fftn(x, s, dim, norm, inverse, op, default_all=True):
    x = _complex_input(x, op)
    dims, sizes = _dims_and_sizes(x, s, dim, op, default_all)
    x, total = _resized(x, dims, sizes, op)
    return _c2c(x, dims, inverse, _scale(norm, total, inverse, op))


def _out(r, out):
    return _cx._store(r, out)


def fft(input, n=None, dim=-1, norm=None, *, out=None):
    return _out(_fftn(input, None if n is None else [n], [dim], norm, False, "fft"), out)


def ifft(input, n=None, dim=-1, norm=None, *, out=None):
    return _out(_fftn(input, None if n is None else [n], [dim], norm, True, "ifft"), out)


def fft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _out(_fftn(input, s, dim, norm, False, "fft2"), out)


def ifft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _out(_fftn(input, s, dim, norm, True, "ifft2"), out)


def fftn(input, s=None, dim=None, norm=None, *, out=None):
    return _out(_fftn(input, s, dim, norm, False, "fftn"), out)


def ifftn(input, s=None, dim=None, norm=None, *, out=None):
    return _out(_fftn(input, s, dim, norm, True, "ifftn"), out)


# ---------------------------------------------------------------------------- real input, Hermitian output
def _rfftn(x, s, dim, norm, op, default_all=True):
    x = _real_input(x, op)
    dims, sizes = _dims_and_sizes(x, s, dim, op, default_all)
    x, total = _resized(x, dims, sizes, op)
    # r2c along the last dim (the one that keeps n//2 + 1 bins), then c2c along the others (as torch)
    y = _R2C.apply(x, dims[-1], _scale(norm, total, False, op))
    return _c2c(y, dims[:-1], False, 1.0) if len(dims) > 1 else y


def _irfftn(X, s, dim, norm, op, default_all=True):
    X = _complex_input(X, op)
    dims, sizes = _dims_and_sizes(X, s, dim, op, default_all)
    last, n_last = dims[-1], sizes[-1]
    X, total = _resized(X, dims[:-1], sizes[:-1], op)
    if n_last is None or n_last == -1:
        n_last = 2 * (X.shape[last] - 1)
    if n_last < 1:
        raise ValueError(f"{op}: Invalid number of data points ({n_last}) specified")
    total *= n_last
    # the other dims first (as torch), then c2r along the last from its first n_last//2 + 1 bins
    X = _c2c(X, dims[:-1], True, 1.0) if len(dims) > 1 else X
    X = _resize(X, last, n_last // 2 + 1, op)
    return _C2R.apply(X, last, n_last, _scale(norm, total, True, op))


def rfft(input, n=None, dim=-1, norm=None, *, out=None):
    return _out(_rfftn(input, None if n is None else [n], [dim], norm, "rfft"), out)


def irfft(input, n=None, dim=-1, norm=None, *, out=None):
    return _out(_irfftn(input, None if n is None else [n], [dim], norm, "irfft"), out)


def rfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _out(_rfftn(input, s, dim, norm, "rfft2"), out)


def irfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _out(_irfftn(input, s, dim, norm, "irfft2"), out)


def rfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _out(_rfftn(input, s, dim, norm, "rfftn"), out)


def irfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _out(_irfftn(input, s, dim, norm, "irfftn"), out)


def hfft(input, n=None, dim=-1, norm=None, *, out=None):
    """The real signal of a Hermitian-symmetric one-sided spectrum: irfft of the conjugate."""
    x = _cx.conj(_complex_input(input, "hfft"))
    return _out(_irfftn(x, None if n is None else [n], [dim], _swap(norm), "hfft"), out)


def ihfft(input, n=None, dim=-1, norm=None, *, out=None):
    """The inverse of hfft: conj(rfft) of a real signal."""
    return _out(_cx.conj(_rfftn(input, None if n is None else [n], [dim], _swap(norm), "ihfft")), out)


def hfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _out(_irfftn(_cx.conj(_complex_input(input, "hfft2")), s, dim, _swap(norm), "hfft2"), out)


def ihfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _out(_cx.conj(_rfftn(input, s, dim, _swap(norm), "ihfft2")), out)


def hfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _out(_irfftn(_cx.conj(_complex_input(input, "hfftn")), s, dim, _swap(norm), "hfftn"), out)


def ihfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _out(_cx.conj(_rfftn(input, s, dim, _swap(norm), "ihfftn")), out)


# ---------------------------------------------------------------------------- frequencies and shifts
def fftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Sample frequencies [0, 1, ..., ceil(n/2) - 1, -floor(n/2), ..., -1] / (d * n)."""
    n = _positive(n, "fftfreq")
    k = pyml.arange(n, dtype=dtype or pyml.get_default_dtype(), device=device)
    k = pyml.where(k < (n + 1) // 2, k, k - n) * (1.0 / (d * n))
    k.requires_grad_(requires_grad)
    return _out(k, out)


def rfftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Sample frequencies of rfft: [0, 1, ..., n // 2] / (d * n)."""
    n = _positive(n, "rfftfreq")
    k = pyml.arange(n // 2 + 1, dtype=dtype or pyml.get_default_dtype(), device=device) * (1.0 / (d * n))
    k.requires_grad_(requires_grad)
    return _out(k, out)


def _positive(n, op):
    if isinstance(n, builtins.bool) or not isinstance(n, int):
        raise TypeError(f"{op}: n must be an int, got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"{op}: n must be non-negative, got {n}")
    return n


def _shift(x, dim, sign, op):
    need_tensor(x, op)
    dims = list(range(x.ndim)) if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    dims = [_dim(d, x.ndim, op) for d in dims]
    shifts = [(x.shape[d] // 2) if sign > 0 else -(x.shape[d] // 2) for d in dims]
    if not dims:
        return x.clone()
    return pyml.roll(x, shifts, dims)


def fftshift(input, dim=None):
    """Moves the zero-frequency bin to the centre (roll by n // 2 along each dim)."""
    return _shift(input, dim, 1, "fftshift")


def ifftshift(input, dim=None):
    """The inverse of fftshift (roll by -(n // 2))."""
    return _shift(input, dim, -1, "ifftshift")

