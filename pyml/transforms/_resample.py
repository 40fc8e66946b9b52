"""Resampling geometry for tensor images (..., C, H, W): resize, resized_crop, rotate.

Leading dims fold into one batch dim (N, C, H, W) so nn.functional's kernels see one layout, and
fold back afterwards. Integer images are resampled in float32 and rounded back (uint8 also clamped
to [0, 255]). resize is interpolate with align_corners=False; bilinear and bicubic downscales use
interpolate's antialias filter unless antialias=False, as torchvision does. rotate builds its own sampling grid in
pixel units around the image centre (torchvision's convention, so a 90 degree turn of a square
image is exact) and samples it with grid_sample; a ones channel rides along to locate the fill area.
"""
import math

from ._args import InterpolationMode, check_image, image_hw, is_int, is_number, pair_size
from ._args import interpolation as _mode
from .. import _dtype

_RESIZE_MODES = (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT, InterpolationMode.BILINEAR,
                 InterpolationMode.BICUBIC)
_ROTATE_MODES = (InterpolationMode.NEAREST, InterpolationMode.BILINEAR)


def _as_batch(img):
    """(..., C, H, W) or (H, W) -> (N, C, H, W) float, plus what is needed to undo it."""
    from .. import float32
    h, w = image_hw(img)
    lead = tuple(img.shape[:-2])
    channels = 1 if img.ndim == 2 else int(img.shape[-3])
    x = img.reshape(-1, channels, h, w)  # (N, C, H, W)
    return (x if img.is_floating_point() else x.to(float32)), (lead, img.dtype)


def _unbatch(y, undo):
    lead, dtype = undo
    y = y.reshape(*lead, int(y.shape[-2]), int(y.shape[-1]))
    if dtype.is_floating_point:
        return y
    y = y.round()
    if dtype is _dtype.uint8:
        y = y.clamp(0, 255)
    return y.to(dtype)


# ------------------------------------------------------------------------------ resize
def _resized_hw(h, w, size, max_size, op):
    """Output (h, w): a pair is taken as is; one number sets the shorter side, keeping the aspect ratio."""
    if is_int(size) or len(size) == 1:
        target = int(size if is_int(size) else size[0])
        if target <= 0:
            raise ValueError(f"{op}: size must be positive, got {size!r}")
        short, long = min(h, w), max(h, w)
        new_short, new_long = target, int(target * long / short)
        if max_size is not None:
            if max_size <= target:
                raise ValueError(f"{op}: max_size ({max_size}) must be larger than the requested size ({target})")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        return (new_short, new_long) if h <= w else (new_long, new_short)
    if max_size is not None:
        raise ValueError(f"{op}: max_size is only allowed when size is one number, got size {list(size)}")
    return pair_size(size, op)


def _check_resize_size(size, op):
    if is_int(size):
        return
    if not isinstance(size, (list, tuple)) or not all(is_int(s) for s in size):
        raise TypeError(f"{op}: size must be an int or a sequence of 1 or 2 ints, got {size!r}")
    if len(size) not in (1, 2):
        raise ValueError(f"{op}: size must be an int or a sequence of 1 or 2 ints, got {list(size)}")


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resample to size (see _resized_hw) with nearest, bilinear or bicubic (align_corners=False)
    interpolation; antialias filters bilinear and bicubic downscales (torchvision's default)."""
    op = "resize"
    check_image(img, op)
    _check_resize_size(size, op)
    mode = _mode(interpolation, op, _RESIZE_MODES)
    h, w = image_hw(img)
    oh, ow = _resized_hw(h, w, size, max_size, op)
    if (oh, ow) == (h, w):
        return img
    from ..nn.functional import interpolate
    x, undo = _as_batch(img)
    smooth = mode in (InterpolationMode.BILINEAR, InterpolationMode.BICUBIC)
    y = interpolate(x, size=[oh, ow], mode=mode.value, align_corners=False if smooth else None,
                    antialias=bool(antialias) and smooth)
    return _unbatch(y, undo)


def resized_crop(img, top, left, height, width, size, interpolation=InterpolationMode.BILINEAR, antialias=True):
    """crop(img, top, left, height, width) resized to size."""
    from .functional import crop
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


# ------------------------------------------------------------------------------ rotate
def _inverse_rotation(angle, centre):
    """2x3 map from output pixel offsets to input pixel offsets (both relative to the image centre).

    Turning the picture counter-clockwise on screen (y grows downwards) means the output point p
    samples the input at centre + M (p - centre), M = [[cos, -sin], [sin, cos]].
    """
    t = math.radians(angle)
    c, s = math.cos(t), math.sin(t)
    cx, cy = centre
    return [[c, -s, cx - (c * cx - s * cy)], [s, c, cy - (s * cx + c * cy)]]


def _expanded_hw(matrix, h, w):
    """Size of the box holding the whole turned image (corners through the map, 1e-4 tolerance)."""
    corners = [(-0.5 * w, -0.5 * h), (-0.5 * w, 0.5 * h), (0.5 * w, 0.5 * h), (0.5 * w, -0.5 * h)]
    xs = [matrix[0][0] * x + matrix[0][1] * y + matrix[0][2] for x, y in corners]
    ys = [matrix[1][0] * x + matrix[1][1] * y + matrix[1][2] for x, y in corners]

    def span(values, half):  # truncating to 1e-4 keeps 3.0000000001 from ceiling to 4
        hi = math.ceil(math.trunc((max(values) + half) / 1e-4) * 1e-4)
        lo = math.floor(math.trunc((min(values) + half) / 1e-4) * 1e-4)
        return int(hi - lo)
    return span(ys, 0.5 * h), span(xs, 0.5 * w)


def _rotation_grid(matrix, h, w, oh, ow, like):
    """(1, oh, ow, 2) grid_sample coordinates (align_corners=False) for the output pixel centres."""
    from .. import arange, stack, ones, tensor, matmul
    kw = {"dtype": like.dtype, "device": like.device}
    xs = arange(ow, **kw) + (0.5 - 0.5 * ow)  # output pixel centres, relative to the centre
    ys = arange(oh, **kw) + (0.5 - 0.5 * oh)
    base = stack([xs.reshape(1, ow).expand(oh, ow), ys.reshape(oh, 1).expand(oh, ow),
                  ones(oh, ow, **kw)], dim=-1)  # (oh, ow, 3)
    theta = tensor(matrix, **kw)  # (2, 3)
    src = matmul(base.reshape(oh * ow, 3), theta.transpose(0, 1))  # (oh*ow, 2) input offsets in pixels
    return (src / tensor([0.5 * w, 0.5 * h], **kw)).reshape(1, oh, ow, 2)


def _fill_list(fill, channels, op):
    if fill is None:
        return None
    values = [fill] if is_number(fill) else fill
    if not isinstance(values, (list, tuple)) or not all(is_number(v) for v in values):
        raise TypeError(f"{op}: fill must be None, a number or a sequence of numbers, got {fill!r}")
    if len(values) not in (1, channels):
        raise ValueError(f"{op}: fill must hold 1 or {channels} values (one per channel), got {len(values)}")
    return [float(v) for v in values]


def _sample_with_fill(x, grid, mode, fill):
    """grid_sample with zero padding; with a fill, blend it in where the ones channel says 'outside'.

    Bilinear output is out * mask + (1 - mask) * fill, torchvision's blend; nearest takes the fill
    wherever the mask sampled below 0.5.
    """
    from .. import cat, ones, tensor, where
    from ..nn.functional import grid_sample
    if fill is None:
        return grid_sample(x, grid, mode=mode.value, padding_mode="zeros", align_corners=False)
    n, c, h, w = x.shape
    y = grid_sample(cat([x, ones(n, 1, h, w, dtype=x.dtype, device=x.device)], dim=1), grid, mode=mode.value,
                    padding_mode="zeros", align_corners=False)
    out, mask = y[:, :c], y[:, c:]  # (N, C, oh, ow), (N, 1, oh, ow)
    fill_img = tensor(fill, dtype=x.dtype, device=x.device).reshape(1, -1, 1, 1)
    if mode is InterpolationMode.NEAREST:
        return where(mask < 0.5, fill_img, out)
    return out * mask + (1.0 - mask) * fill_img


def rotate(img, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=None):
    """Turn the image counter-clockwise by angle degrees about center (default: the image centre).

    center is (x, y) in pixels from the top-left corner; expand grows the output to hold the whole
    turned image; fill (number or per-channel list) paints the area outside the input, None = zeros.
    """
    op = "rotate"
    check_image(img, op)
    if not is_number(angle):
        raise TypeError(f"{op}: angle must be a number, got {type(angle).__name__}")
    mode = _mode(interpolation, op, _ROTATE_MODES)
    h, w = image_hw(img)
    x, undo = _as_batch(img)
    fill = _fill_list(fill, int(x.shape[1]), op)
    matrix = _inverse_rotation(float(angle), _centre_offset(center, h, w, op))
    oh, ow = _expanded_hw(matrix, h, w) if expand else (h, w)
    grid = _rotation_grid(matrix, h, w, oh, ow, x).expand(int(x.shape[0]), oh, ow, 2)
    return _unbatch(_sample_with_fill(x, grid, mode, fill), undo)


def _centre_offset(center, h, w, op):
    """center (x, y) in pixels from the top-left corner -> offset from the image centre."""
    if center is None:
        return 0.0, 0.0
    if not isinstance(center, (list, tuple)) or len(center) != 2 or not all(is_number(v) for v in center):
        raise TypeError(f"{op}: center must be None or a sequence (x, y) of two numbers, got {center!r}")
    return float(center[0]) - 0.5 * w, float(center[1]) - 0.5 * h
