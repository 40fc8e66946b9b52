"""pyml.transforms.functional: the stateless image ops behind the transform classes.

Images are pyml tensors laid out (..., C, H, W); a 2-D tensor is read as one (H, W) channel. Every
leading dim is a batch dim and gets exactly the same treatment, so a batch (N, C, H, W) is flipped,
cropped or rotated as one. Geometry that needs resampling (resize, resized_crop, rotate) lives in
_resample.py; array -> tensor conversion in _convert.py; this file holds the index-only ops
(flips, crops, padding) and the value ops (normalize, gaussian_noise).
"""
from collections.abc import Sequence

from .._tensor import Tensor
from ._args import InterpolationMode, check_image, image_hw, int_arg, is_int, is_number, pair_size
from ._convert import to_tensor
from ._resample import resize, resized_crop, rotate

__all__ = ["InterpolationMode", "get_dimensions", "get_image_size", "get_image_num_channels", "to_tensor",
           "normalize", "hflip", "vflip", "crop", "center_crop", "pad", "resize", "resized_crop", "rotate",
           "gaussian_noise"]


def get_dimensions(img):
    """[channels, height, width] of a tensor image (a 2-D image has one channel)."""
    check_image(img, "get_dimensions")
    h, w = image_hw(img)
    return [1 if img.ndim == 2 else int(img.shape[-3]), h, w]


def get_image_size(img):
    """[width, height], in torchvision's order."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img):
    return get_dimensions(img)[0]


# ------------------------------------------------------------------------------ normalize
def _per_channel(values, channels, op, name):
    """mean/std as a list of floats holding one value, or one per channel."""
    if isinstance(values, Tensor):
        values = values.reshape(-1).tolist()
    elif is_number(values):
        values = [values]
    if not isinstance(values, Sequence) or not all(is_number(v) for v in values):
        raise TypeError(f"{op}: {name} must be a number or a sequence of numbers, got {values!r}")
    if channels is not None and len(values) not in (1, channels):
        raise ValueError(f"{op}: {name} must hold 1 or {channels} values (one per channel), got {len(values)}")
    return [float(v) for v in values]


def _positive_std(std, op):
    if any(not s > 0 for s in std):  # also catches NaN
        raise ValueError(f"{op}: std must be positive for every channel, got {std}")
    return std


def normalize(tensor, mean, std, inplace=False):
    """(x - mean[c]) / std[c] per channel of a float image (..., C, H, W)."""
    op = "normalize"
    check_image(tensor, op, min_dim=3)
    if not tensor.is_floating_point():
        raise TypeError(f"{op}: expected a floating point tensor image, got dtype {tensor.dtype}")
    channels = int(tensor.shape[-3])
    mean = _per_channel(mean, channels, op, "mean")
    std = _positive_std(_per_channel(std, channels, op, "std"), op)
    from .. import tensor as make
    m = make(mean, dtype=tensor.dtype, device=tensor.device).reshape(-1, 1, 1)  # (C, 1, 1)
    s = make(std, dtype=tensor.dtype, device=tensor.device).reshape(-1, 1, 1)
    if not bool((s != 0).all()):  # a tiny std may round to zero in float16
        raise ValueError(f"{op}: std {std} becomes zero in {tensor.dtype}, which would divide by zero")
    if inplace:
        return tensor.sub_(m).div_(s)
    return (tensor - m) / s


# ------------------------------------------------------------------------------ flips and crops
def hflip(img):
    """Mirror left-right (the W axis)."""
    return check_image(img, "hflip").flip(-1)


def vflip(img):
    """Mirror top-bottom (the H axis)."""
    return check_image(img, "vflip").flip(-2)


def _inside(start, length, limit):
    """Split [start, start + length) against [0, limit): (lo, hi) inside, and zeros needed before/after."""
    lo = min(max(start, 0), limit)
    hi = max(min(start + length, limit), lo)
    before = min(max(lo - start, 0), length)
    return lo, hi, before, length - before - (hi - lo)


def crop(img, top, left, height, width):
    """img[..., top:top+height, left:left+width]; parts of the box outside the image read as zeros."""
    op = "crop"
    check_image(img, op)
    top, left = int_arg(top, op, "top"), int_arg(left, op, "left")
    height, width = int_arg(height, op, "height"), int_arg(width, op, "width")
    if height <= 0 or width <= 0:
        raise ValueError(f"{op}: height and width must be positive, got {(height, width)}")
    h, w = image_hw(img)
    r0, r1, above, below = _inside(top, height, h)
    c0, c1, before, after = _inside(left, width, w)
    out = img[..., r0:r1, c0:c1]
    if above or below or before or after:
        out = _pad_zeros(out, before, after, above, below)
    return out


def _pad_zeros(img, left, right, top, bottom):
    from .. import pad as engine_pad
    return engine_pad(img, (left, right, top, bottom), mode="constant", value=0)


def _center_start(size, crop_size):
    """First row/col of a centred crop; a crop larger than the image puts the odd extra zero after it."""
    if crop_size > size:
        return -((crop_size - size) // 2)
    return int(round((size - crop_size) / 2.0))


def center_crop(img, output_size):
    """The centred (h, w) box of the image, zero padded where the box is larger than the image."""
    check_image(img, "center_crop")
    th, tw = pair_size(output_size, "center_crop", "output_size")
    h, w = image_hw(img)
    return crop(img, _center_start(h, th), _center_start(w, tw), th, tw)


# ------------------------------------------------------------------------------ padding
_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def _ltrb(padding, op):
    """torchvision's padding forms -> (left, top, right, bottom)."""
    if is_int(padding):
        return (int(padding),) * 4
    if not isinstance(padding, Sequence) or not all(is_int(p) for p in padding):
        raise TypeError(f"{op}: padding must be an int or a sequence of ints, got {padding!r}")
    if len(padding) == 1:
        return (int(padding[0]),) * 4
    if len(padding) == 2:
        return int(padding[0]), int(padding[1]), int(padding[0]), int(padding[1])
    if len(padding) == 4:
        return tuple(int(p) for p in padding)
    raise ValueError(f"{op}: padding must hold 1, 2 or 4 values, got {len(padding)}: {list(padding)}")


def _mirror_index(n, before, after, device):
    """Source rows for symmetric padding: the edge row is repeated, period 2n, any pad width."""
    from .. import tensor as make
    idx = []
    for k in range(-before, n + after):
        m = k % (2 * n)
        idx.append(m if m < n else 2 * n - 1 - m)
    return make(idx, device=device)


def _pad_symmetric(img, left, top, right, bottom):
    from .. import index_select
    h, w = image_hw(img)
    img = index_select(img, -2, _mirror_index(h, top, bottom, img.device)) if top or bottom else img
    return index_select(img, -1, _mirror_index(w, left, right, img.device)) if left or right else img


def _check_reflect(img, ltrb, op):
    h, w = image_hw(img)
    left, top, right, bottom = ltrb
    if max(left, right) >= w or max(top, bottom) >= h:
        raise ValueError(f"{op}: reflect padding must be smaller than the image side it mirrors, got padding "
                         f"(left, top, right, bottom) {ltrb} for an image of height {h} and width {w}")


def _padded(img, ltrb, fill, mode):
    """Pad (..., H, W) by non-negative (left, top, right, bottom) in one of the four modes."""
    from .. import pad as engine_pad
    left, top, right, bottom = ltrb
    if mode == "symmetric":
        return _pad_symmetric(img, left, top, right, bottom)
    lead, (h, w) = tuple(img.shape[:-2]), image_hw(img)
    flat = img.reshape(-1, h, w)  # (B, H, W): the engine's replicate/reflect pad two trailing dims
    if mode == "constant":
        out = engine_pad(flat, (left, right, top, bottom), mode="constant", value=fill)
    else:
        out = engine_pad(flat, (left, right, top, bottom), mode="replicate" if mode == "edge" else "reflect")
    return out.reshape(*lead, h + top + bottom, w + left + right)


def pad(img, padding, fill=0, padding_mode="constant"):
    """Pad the borders: padding is p, (p,), (left/right, top/bottom) or (left, top, right, bottom).

    padding_mode: 'constant' (fill), 'edge' (repeat the last pixel), 'reflect' (mirror without the
    edge pixel; pads must be smaller than the image) or 'symmetric' (mirror with the edge pixel).
    Negative pads crop that border first.
    """
    op = "pad"
    check_image(img, op)
    ltrb = _ltrb(padding, op)
    if not is_number(fill):
        raise TypeError(f"{op}: fill must be a number for tensor images, got {type(fill).__name__} {fill!r}")
    if padding_mode not in _PAD_MODES:
        raise ValueError(f"{op}: padding_mode must be one of {list(_PAD_MODES)}, got {padding_mode!r}")
    if min(ltrb) < 0:
        img = _crop_borders(img, ltrb, op)
        ltrb = tuple(max(p, 0) for p in ltrb)
    if padding_mode == "reflect":
        _check_reflect(img, ltrb, op)
    return _padded(img, ltrb, fill, padding_mode)


def _crop_borders(img, ltrb, op):
    h, w = image_hw(img)
    left, top, right, bottom = (max(-p, 0) for p in ltrb)
    if left + right >= w or top + bottom >= h:
        raise ValueError(f"{op}: negative padding {ltrb} would remove the whole image of height {h}, width {w}")
    return img[..., top:h - bottom, left:w - right]


# ------------------------------------------------------------------------------ noise
def gaussian_noise(inpt, mean=0.0, sigma=0.1, clip=True):
    """x + N(mean, sigma^2) per element (torchvision.transforms.v2 semantics), clamped to [0, 1] if clip."""
    op = "gaussian_noise"
    _check_noise_input(inpt, op)
    if not is_number(mean) or not is_number(sigma):
        raise TypeError(f"{op}: mean and sigma must be numbers, got {mean!r} and {sigma!r}")
    if sigma < 0:
        raise ValueError(f"{op}: sigma must be non-negative, got {sigma}")
    return _add_noise(inpt, float(mean), float(sigma), clip, None)


def _check_noise_input(x, op):
    check_image(x, op, min_dim=1)
    if not x.is_floating_point():
        raise TypeError(f"{op}: expected a floating point tensor, got dtype {x.dtype}")


def _add_noise(x, mean, sigma, clip, generator):
    from .. import randn
    noise = randn(*x.shape, generator=generator, dtype=x.dtype, device=x.device)
    out = x + (noise * sigma + mean)
    return out.clamp(0.0, 1.0) if clip else out
