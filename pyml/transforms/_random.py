"""Random transforms: flips, RandomCrop, RandomResizedCrop, RandomRotation, GaussianNoise.

Each call draws its parameters once from pyml's RNG (the default generator, or the pyml.Generator
passed as the keyword-only `generator`, a pyml addition for per-worker streams) and applies them to
the whole input, so every image of a batch (N, C, H, W) gets the same flip, box or angle, as in
torchvision. GaussianNoise is the exception by nature: it draws one value per element. The box and
angle samplers are exposed as get_params static methods like torchvision's.
"""
import math

from ..nn import Module
from . import functional as F
from ._args import (InterpolationMode, check_generator, check_image, draw_int, draw_uniform, draw_unit,
                    is_number, number_pair, pair_size, probability)
from ._args import interpolation as _mode
from ._resample import _RESIZE_MODES, _ROTATE_MODES, _centre_offset

__all__ = ["RandomHorizontalFlip", "RandomVerticalFlip", "RandomCrop", "RandomResizedCrop", "RandomRotation",
           "GaussianNoise"]


class _RandomFlip(Module):
    def __init__(self, p=0.5, *, generator=None):
        super().__init__()
        self.p = probability(p, type(self).__name__)
        self.generator = check_generator(generator, type(self).__name__)

    def forward(self, img):
        check_image(img, type(self).__name__)
        return self._flip(img) if draw_unit(self.generator) < self.p else img

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p})"


class RandomHorizontalFlip(_RandomFlip):
    """Mirror left-right with probability p."""
    _flip = staticmethod(F.hflip)


class RandomVerticalFlip(_RandomFlip):
    """Mirror top-bottom with probability p."""
    _flip = staticmethod(F.vflip)


# ------------------------------------------------------------------------------ RandomCrop
class RandomCrop(Module):
    """A uniformly placed (h, w) box, after optional padding.

    padding pads every image first (see functional.pad for the forms and modes); pad_if_needed then
    pads an image smaller than the box by the missing amount on both sides of the short axis.
    """

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant", *,
                 generator=None):
        super().__init__()
        op = "RandomCrop"
        self.size = pair_size(size, op)
        if padding is not None:
            F._ltrb(padding, op)
        if not is_number(fill):
            raise TypeError(f"{op}: fill must be a number for tensor images, got {type(fill).__name__} {fill!r}")
        if padding_mode not in F._PAD_MODES:
            raise ValueError(f"{op}: padding_mode must be one of {list(F._PAD_MODES)}, got {padding_mode!r}")
        self.padding, self.pad_if_needed, self.fill, self.padding_mode = padding, pad_if_needed, fill, padding_mode
        self.generator = check_generator(generator, op)

    @staticmethod
    def get_params(img, output_size, generator=None):
        """(top, left, height, width) of a uniformly placed output_size box inside img."""
        _, h, w = F.get_dimensions(img)
        th, tw = pair_size(output_size, "RandomCrop.get_params", "output_size")
        if th > h or tw > w:
            raise ValueError(f"RandomCrop: crop size {(th, tw)} must not exceed the image size {(h, w)} "
                             f"(use padding or pad_if_needed)")
        return draw_int(h - th + 1, generator), draw_int(w - tw + 1, generator), th, tw

    def forward(self, img):
        check_image(img, "RandomCrop")
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, h, w = F.get_dimensions(img)
        th, tw = self.size
        if self.pad_if_needed and w < tw:
            img = F.pad(img, [tw - w, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and h < th:
            img = F.pad(img, [0, th - h], self.fill, self.padding_mode)
        return F.crop(img, *self.get_params(img, self.size, self.generator))

    def __repr__(self):
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


# ------------------------------------------------------------------------------ RandomResizedCrop
def _fallback_box(h, w, ratio):
    """After ten misses: the largest centred box whose aspect w/h is clamped into ratio."""
    lo, hi = min(ratio), max(ratio)
    if w / h < lo:
        bh, bw = int(round(w / lo)), w
    elif w / h > hi:
        bh, bw = h, int(round(h * hi))
    else:
        bh, bw = h, w
    return (h - bh) // 2, (w - bw) // 2, bh, bw


class RandomResizedCrop(Module):
    """A random box (area fraction in scale, aspect w/h log-uniform in ratio) resized to size."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True, *, generator=None):
        super().__init__()
        op = "RandomResizedCrop"
        self.size = pair_size(size, op)
        self.scale, self.ratio = number_pair(scale, op, "scale"), number_pair(ratio, op, "ratio")
        if self.scale[0] < 0 or self.ratio[0] <= 0:
            raise ValueError(f"{op}: scale must be non-negative and ratio positive, got scale={scale}, ratio={ratio}")
        self.interpolation = _mode(interpolation, op, _RESIZE_MODES)
        self.antialias = antialias
        self.generator = check_generator(generator, op)

    @staticmethod
    def get_params(img, scale, ratio, generator=None):
        """(top, left, height, width): up to ten tries of a random area and aspect, then a centred fallback."""
        _, h, w = F.get_dimensions(img)
        log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
        for _ in range(10):
            area = h * w * draw_uniform(scale[0], scale[1], generator)
            aspect = math.exp(draw_uniform(log_lo, log_hi, generator))
            bw, bh = int(round(math.sqrt(area * aspect))), int(round(math.sqrt(area / aspect)))
            if 0 < bw <= w and 0 < bh <= h:
                return draw_int(h - bh + 1, generator), draw_int(w - bw + 1, generator), bh, bw
        return _fallback_box(h, w, ratio)

    def forward(self, img):
        check_image(img, "RandomResizedCrop")
        top, left, h, w = self.get_params(img, self.scale, self.ratio, self.generator)
        return F.resized_crop(img, top, left, h, w, self.size, self.interpolation, self.antialias)

    def __repr__(self):
        scale = tuple(round(s, 4) for s in self.scale)
        ratio = tuple(round(r, 4) for r in self.ratio)
        return (f"{type(self).__name__}(size={self.size}, scale={scale}, ratio={ratio}, "
                f"interpolation={self.interpolation.value}, antialias={self.antialias})")


# ------------------------------------------------------------------------------ RandomRotation
def _degree_range(degrees, op):
    if is_number(degrees):
        if degrees < 0:
            raise ValueError(f"{op}: a single degrees value must be non-negative, got {degrees}")
        return -float(degrees), float(degrees)
    return number_pair(degrees, op, "degrees")


class RandomRotation(Module):
    """Turn counter-clockwise by an angle uniform in degrees ([-d, d] for one number d)."""

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=0, *,
                 generator=None):
        super().__init__()
        op = "RandomRotation"
        self.degrees = list(_degree_range(degrees, op))
        self.interpolation = _mode(interpolation, op, _ROTATE_MODES)
        _centre_offset(center, 0, 0, op)  # validates center now rather than at the first image
        fill = 0 if fill is None else fill
        if not is_number(fill) and not (isinstance(fill, (list, tuple)) and all(is_number(v) for v in fill)):
            raise TypeError(f"{op}: fill must be a number or a sequence of numbers, got {fill!r}")
        self.expand, self.center, self.fill = expand, center, fill
        self.generator = check_generator(generator, op)

    @staticmethod
    def get_params(degrees, generator=None):
        """An angle uniform in [degrees[0], degrees[1]]."""
        return draw_uniform(float(degrees[0]), float(degrees[1]), generator)

    def forward(self, img):
        check_image(img, "RandomRotation")
        angle = self.get_params(self.degrees, self.generator)
        return F.rotate(img, angle, self.interpolation, self.expand, self.center, self.fill)

    def __repr__(self):
        text = f"{type(self).__name__}(degrees={self.degrees}, interpolation={self.interpolation.value}"
        text += f", expand={self.expand}"
        if self.center is not None:
            text += f", center={self.center}"
        return text + f", fill={self.fill})"


# ------------------------------------------------------------------------------ GaussianNoise
class GaussianNoise(Module):
    """x + N(mean, sigma^2) drawn per element, clamped to [0, 1] when clip (torchvision.transforms.v2)."""

    def __init__(self, mean=0.0, sigma=0.1, clip=True, *, generator=None):
        super().__init__()
        if not is_number(mean) or not is_number(sigma):
            raise TypeError(f"GaussianNoise: mean and sigma must be numbers, got {mean!r} and {sigma!r}")
        if sigma < 0:
            raise ValueError(f"GaussianNoise: sigma must be non-negative, got {sigma}")
        self.mean, self.sigma, self.clip = float(mean), float(sigma), bool(clip)
        self.generator = check_generator(generator, "GaussianNoise")

    def forward(self, img):
        F._check_noise_input(img, "GaussianNoise")
        return F._add_noise(img, self.mean, self.sigma, self.clip, self.generator)

    def __repr__(self):
        return f"{type(self).__name__}(mean={self.mean}, sigma={self.sigma}, clip={self.clip})"
