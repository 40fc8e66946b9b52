"""nn.functional: interpolate / upsample, pixel_shuffle / pixel_unshuffle, channel_shuffle, grid_sample,
affine_grid.

interpolate resolves size vs scale_factor exactly like torch (the scale factors the user gave
reach the kernels, which use 1/scale rather than in/out when they have one) and runs one fused
resampling kernel (csrc/ops/vision.cpp: nearest, nearest-exact, (bi/tri)linear, bicubic, and the
antialiased bilinear/bicubic/lanczos filters); its backward is a Function whose adjoint is the forward.
pixel_shuffle/unshuffle and channel_shuffle are reshapes and a permute (no arithmetic, autograd
for free); affine_grid is a batched matmul with a base grid; grid_sample is a fused op with a fused
backward for the input and the grid.
"""
import math

from ... import _C
from ..._tensor import wrap, export
from ...autograd import Function
from ...autograd.composite_backward import composite_backward
from .conv import _tensor
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d

__all__ = []

# kernel mode codes (ResampleNdParams) and the spatial dims of the interpolating modes
_UPSAMPLE_MODES = {"nearest": 0, "nearest-exact": 1, "linear": 2, "bilinear": 2, "trilinear": 2, "bicubic": 3,
                   "lanczos": 4}
_LINEAR_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3, "lanczos": 2}


class _Upsample(Function):
    @staticmethod
    def forward(ctx, input, output_size, scales, mode, align_corners, antialias):
        ctx.args = (scales, mode, align_corners, antialias)
        ctx.in_size = list(input.shape)
        return wrap(_C.resample_forward(input._impl, list(output_size), scales, mode, align_corners, antialias))

    @staticmethod
    def backward(ctx, grad):
        return (_UpsampleBackward.apply(grad, ctx.in_size, *ctx.args),) + (None,) * 5


class _UpsampleBackward(Function):
    @staticmethod
    def forward(ctx, grad, input_size, scales, mode, align_corners, antialias):
        ctx.args = (scales, mode, align_corners, antialias)
        ctx.out_size = list(grad.shape[2:])
        return wrap(_C.resample_backward(grad._impl, list(input_size), scales, mode, align_corners, antialias))

    @staticmethod
    def backward(ctx, gg):
        return (_Upsample.apply(gg, ctx.out_size, *ctx.args),) + (None,) * 5


def _spatial_list(v, dim, what, input, op):
    if isinstance(v, (list, tuple)):
        if len(v) != dim:
            raise ValueError(f"{op}: input and output must have the same number of spatial dimensions, but got "
                             f"input with spatial dimensions of {list(input.shape[2:])} and {what} {list(v)}")
        return list(v)
    return [v] * dim


def _resolve(input, size, scale_factor, recompute_scale_factor, op):
    """-> (output_size, scale factors handed to the kernel ([] for none))."""
    dim = input.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError(f"{op}: only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError(f"{op}: either size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError(f"{op}: recompute_scale_factor is not meaningful with an explicit size")
        return [int(s) for s in _spatial_list(size, dim, "output size of", input, op)], []
    scales = [float(s) for s in _spatial_list(scale_factor, dim, "scale_factor of", input, op)]
    out = [int(math.floor(float(input.shape[i + 2]) * scales[i])) for i in range(dim)]
    return out, ([] if recompute_scale_factor else scales)


def _check_mode(mode, align_corners, op):
    """-> align_corners as the kernels take it (False for the modes without it)."""
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(f"{op}: align_corners option can only be set with the interpolating modes: "
                             f"linear | bilinear | bicubic | trilinear, got mode {mode!r}")
        return False
    if mode not in _LINEAR_DIMS:
        raise ValueError(f"{op}: mode must be one of nearest, nearest-exact, linear, bilinear, bicubic, trilinear, "
                         f"lanczos, area, got {mode!r}")
    return bool(align_corners)


def _check_antialias(input, mode, align_corners, antialias, op):
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.ndim == 4):
        raise ValueError(f"{op}: anti-alias option is restricted to bilinear, bicubic, and lanczos modes and "
                         f"requires a 4-D tensor as input, got mode {mode!r} and input {tuple(input.shape)}")
    if mode == "lanczos" and input.ndim == 4:
        if not antialias:
            raise ValueError(f"{op}: lanczos mode requires antialias=True")
        if align_corners:
            raise ValueError(f"{op}: lanczos mode does not support align_corners=True")


def _area(input, out):
    if input.ndim == 5:
        return adaptive_avg_pool3d(input, out)
    return (adaptive_avg_pool1d if input.ndim == 3 else adaptive_avg_pool2d)(input, out)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize x (N, C, L), (N, C, H, W) or (N, C, D, H, W): nearest, nearest-exact, linear, bilinear, bicubic,
    trilinear, area, and with antialias=True the widened bilinear/bicubic/lanczos filters of downscaling."""
    op = "interpolate"
    _tensor(input, op, "input")
    align_corners = _check_mode(mode, align_corners, op)
    if input.ndim not in (3, 4, 5):
        raise NotImplementedError(f"{op}: expected a 3-D (N, C, L), 4-D (N, C, H, W) or 5-D (N, C, D, H, W) "
                                  f"input, got input of shape {tuple(input.shape)}")
    out, scales = _resolve(input, size, scale_factor, recompute_scale_factor, op)
    _check_antialias(input, mode, align_corners, antialias, op)
    if mode == "area":
        return _area(input, out)
    if mode in _LINEAR_DIMS and _LINEAR_DIMS[mode] != input.ndim - 2:
        raise NotImplementedError(f"{op}: got {input.ndim}-D input, but {mode} mode needs "
                                  f"{_LINEAR_DIMS[mode] + 2}-D input; input {tuple(input.shape)}")
    return _Upsample.apply(input, out, scales, _UPSAMPLE_MODES[mode], align_corners, bool(antialias))


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of interpolate (as in torch)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ------------------------------------------------------------------------------------- pixel shuffle
def _factor(r, op, name):
    if isinstance(r, bool) or not isinstance(r, int) or r <= 0:
        raise ValueError(f"{op}: {name} must be a positive int, got {r!r}")
    return r


def pixel_shuffle(input, upscale_factor):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r)."""
    op = "pixel_shuffle"
    _tensor(input, op, "input")
    r = _factor(upscale_factor, op, "upscale_factor")
    if input.ndim < 3:
        raise ValueError(f"{op}: expected at least 3-D input (*, C, H, W), got input of shape {tuple(input.shape)}")
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise ValueError(f"{op}: input channels ({c}) must be divisible by upscale_factor squared ({r * r}); "
                         f"input {tuple(input.shape)}")
    nb = len(batch)
    x = input.reshape(*batch, c // (r * r), r, r, h, w)  # (*, C, r, r, H, W)
    x = x.permute(*range(nb), nb, nb + 3, nb + 1, nb + 4, nb + 2)  # (*, C, H, r, W, r)
    return x.reshape(*batch, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W)."""
    op = "pixel_unshuffle"
    _tensor(input, op, "input")
    r = _factor(downscale_factor, op, "downscale_factor")
    if input.ndim < 3:
        raise ValueError(f"{op}: expected at least 3-D input (*, C, H, W), got input of shape {tuple(input.shape)}")
    *batch, c, h, w = input.shape
    if h % r or w % r:
        raise ValueError(f"{op}: height ({h}) and width ({w}) must be divisible by downscale_factor ({r}); "
                         f"input {tuple(input.shape)}")
    nb = len(batch)
    x = input.reshape(*batch, c, h // r, r, w // r, r)  # (*, C, H, r, W, r)
    x = x.permute(*range(nb), nb, nb + 2, nb + 4, nb + 1, nb + 3)  # (*, C, r, r, H, W)
    return x.reshape(*batch, c * r * r, h // r, w // r)


def channel_shuffle(input, groups):
    """(N, g*k, *) -> (N, k*g, *): channel i*k + j moves to j*g + i (the groups' channels interleave)."""
    op = "channel_shuffle"
    _tensor(input, op, "input")
    if isinstance(groups, bool) or not isinstance(groups, int):
        raise TypeError(f"{op}: groups must be an int, got {type(groups).__name__}")
    if input.ndim < 3:
        raise ValueError(f"{op}: expected an input with more than 2 dims (N, C, *), got input of shape "
                         f"{tuple(input.shape)}")
    if groups <= 0:
        raise ValueError(f"{op}: the number of groups must be positive, got groups={groups}")
    n, c, *rest = input.shape
    if c % groups:
        raise ValueError(f"{op}: input channels ({c}) must be divisible by groups ({groups}); input "
                         f"{tuple(input.shape)}")
    x = input.reshape(n, groups, c // groups, *rest)  # (N, g, k, *)
    return x.transpose(1, 2).reshape(input.shape)     # (N, k, g, *) -> (N, C, *)


# ------------------------------------------------------------------------------------- spatial transformer
_GRID_MODES = {"bilinear": 0, "nearest": 1, "bicubic": 2}
_GRID_PADDING = {"zeros": 0, "border": 1, "reflection": 2}


def _unnormalize(c, size, align):
    return (c + 1) / 2 * (size - 1) if align else ((c + 1) * size - 1) / 2


def _reflect(c, size, align):
    """Reflection about the borders (pixel centres with align_corners, edges without) as recorded ops."""
    import pyml
    lo, hi = (0, 2 * (size - 1)) if align else (-1, 2 * size - 1)
    if lo == hi:
        return c * 0
    mn, span = lo / 2, (hi - lo) / 2
    a = (c - mn).abs()
    extra = a.fmod(span)
    even = (a.detach() / span).floor().fmod(2) == 0
    return pyml.where(even, extra + mn, span - extra + mn)


def _grid_source(c, size, padding, align):
    """The kernels' map from a grid coordinate in [-1, 1] to a source pixel coordinate (source_index
    and tame in csrc/ops/resample.h) as recorded ops."""
    import pyml
    c = _unnormalize(c, size, align)
    if padding == 2:
        c = _reflect(c, size, align)
    if padding >= 1:
        c = c.clamp(0, size - 1)
    far = (c.detach() > -2) & (c.detach() < size + 1)  # far away or NaN: every corner falls outside
    return pyml.where(far, c, -2.0)


def _gather_pixels(x, h, w):
    """x (N, C, H, W) at integer positions h, w (N, P, Q) -> (N, C, P, Q), 0 where outside."""
    N, C, H, W = x.shape
    ok = (h >= 0) & (h < H) & (w >= 0) & (w < W)
    flat = (h.clamp(0, H - 1) * W + w.clamp(0, W - 1)).long().reshape(N, 1, -1).expand(N, C, -1)  # (N, C, P*Q)
    return x.flatten(2).gather(2, flat).reshape(N, C, *h.shape[1:]) * ok.unsqueeze(1).to(x.dtype)


def _cubic_weights(t, a=-0.75):
    """Keys' cubic convolution weights of the taps floor(u) - 1 .. floor(u) + 2 for the fraction t."""
    def near(s):
        return ((a + 2) * s - (a + 3)) * s * s + 1

    def far(s):
        return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a
    s = 1 - t
    return [far(t + 1), near(t), near(s), far(s + 1)]  # rounded as the kernels (and torch) round them


def _cubic_axis(c, size, padding, align):
    """Bicubic taps of grid coordinates c (N, P, Q) along one axis (cubic_axis in csrc/ops/resample.h):
    -> (four padded integer tap positions, four weights (N, 1, P, Q)) with the weights recorded."""
    import pyml
    u = _unnormalize(c, size, align)
    f = u.detach().floor()
    lo, hi = (-2.0 ** 50, 2.0 ** 50) if padding == 2 else (-3, size + 2)
    f = pyml.where(f == f, f, -3.0).clamp(lo, hi)  # far taps stay outside; NaN keeps NaN weights
    taps = []
    for j in range(4):
        k = f + (j - 1)
        if padding == 2:
            k = _reflect(k, size, align)
        taps.append(k.clamp(0, size - 1) if padding else k)
    return taps, _cubic_weights((u - u.detach().floor()).unsqueeze(1))


def _grid_sample_bicubic(x, grid, padding, align):
    H, W = x.shape[2], x.shape[3]
    xs, wx = _cubic_axis(grid[..., 0], W, padding, align)
    ys, wy = _cubic_axis(grid[..., 1], H, padding, align)
    out = 0
    for j in range(4):
        row = sum(_gather_pixels(x, ys[j], xs[i]) * wx[i] for i in range(4))  # (N, C, P, Q)
        out = out + row * wy[j]
    return out


def _grid_sample_composite(ctx):
    x, grid = ctx.saved_tensors
    mode, padding, align = ctx.args

    def fn(x, grid):
        if mode == 2:
            return _grid_sample_bicubic(x, grid, padding, align)
        H, W = x.shape[2], x.shape[3]
        ix = _grid_source(grid[..., 0], W, padding, align)  # (N, P, Q)
        iy = _grid_source(grid[..., 1], H, padding, align)
        if mode == 1:
            return _gather_pixels(x, iy.detach().round(), ix.detach().round())
        x0, y0 = ix.detach().floor(), iy.detach().floor()
        fx, fy = (ix - x0).unsqueeze(1), (iy - y0).unsqueeze(1)  # (N, 1, P, Q)
        return (_gather_pixels(x, y0, x0) * (1 - fx) * (1 - fy) + _gather_pixels(x, y0, x0 + 1) * fx * (1 - fy)
                + _gather_pixels(x, y0 + 1, x0) * (1 - fx) * fy + _gather_pixels(x, y0 + 1, x0 + 1) * fx * fy)
    return (x, grid), fn


class _GridSample(Function):
    @staticmethod
    def forward(ctx, input, grid, mode, padding_mode, align_corners):
        ctx.args = (mode, padding_mode, align_corners)
        ctx.save_for_backward(input, grid)
        return wrap(_C.grid_sample_forward(input._impl, grid._impl, mode, padding_mode, align_corners))

    @staticmethod
    @composite_backward(_grid_sample_composite)
    def backward(ctx, grad):
        x, grid = ctx.saved_tensors
        mask = list(ctx.needs_input_grad[:2])
        dx, dgrid = _C.grid_sample_backward(grad._impl, x._impl, grid._impl, *ctx.args, mask)
        return (None if dx is None else wrap(dx)), (None if dgrid is None else wrap(dgrid)), None, None, None


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample x (N, C, H, W) at grid (N, H_out, W_out, 2) of (x, y) in [-1, 1] -> (N, C, H_out, W_out):
    bilinear, nearest or bicubic (4x4 taps, each padded on its own as in torch)."""
    op = "grid_sample"
    _tensor(input, op, "input")
    _tensor(grid, op, "grid")
    if mode not in _GRID_MODES:
        raise ValueError(f"{op}: mode must be 'bilinear', 'nearest' or 'bicubic', got {mode!r}")
    if padding_mode not in _GRID_PADDING:
        raise ValueError(f"{op}: padding_mode must be 'zeros', 'border' or 'reflection', got {padding_mode!r}")
    if mode == "bicubic" and input.ndim == 5:
        raise RuntimeError(f"{op}: bicubic interpolation only supports 4-D input, got input of shape "
                           f"{tuple(input.shape)}")
    return _GridSample.apply(input, grid, _GRID_MODES[mode], _GRID_PADDING[padding_mode], bool(align_corners))


def _base_coords(n, align_corners, like):
    """torch's linspace_from_neg_one: n points in [-1, 1], pulled in to pixel centres unless align_corners."""
    from ... import linspace, zeros
    if n <= 1:
        return zeros(n, dtype=like.dtype)
    r = linspace(-1.0, 1.0, n, dtype=like.dtype)
    return r if align_corners else r * ((n - 1) / n)


def affine_grid(theta, size, align_corners=None):
    """theta (N, 2, 3), size (N, C, H, W) -> grid (N, H, W, 2) = base (H*W, [x, y, 1]) @ theta^T."""
    op = "affine_grid"
    _tensor(theta, op, "theta")
    size = [int(s) for s in size]
    if not theta.dtype.is_floating_point:
        raise TypeError(f"{op}: expected theta to have a floating point dtype, got {theta.dtype}")
    if len(size) != 4:
        raise ValueError(f"{op}: only 4-D sizes (N, C, H, W) are supported, got size {size}")
    n, _, h, w = size
    if tuple(theta.shape) != (n, 2, 3):
        raise ValueError(f"{op}: expected a batch of 2D affine matrices of shape Nx2x3 for size {size}, got "
                         f"theta of shape {tuple(theta.shape)}")
    if min(size) <= 0:
        raise ValueError(f"{op}: expected non-zero, positive size, got {size}")
    from ... import stack, ones, matmul
    xs = _base_coords(w, bool(align_corners), theta)
    ys = _base_coords(h, bool(align_corners), theta)
    base = stack([xs.reshape(1, w).expand(h, w), ys.reshape(h, 1).expand(h, w),
                  ones(h, w, dtype=theta.dtype)], dim=-1)  # (H, W, 3)
    grid = matmul(base.reshape(1, h * w, 3), theta.transpose(1, 2))  # (N, H*W, 2)
    return grid.reshape(n, h, w, 2)


__all__ = export(globals(), exclude=())
