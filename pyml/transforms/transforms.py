"""Transform classes with torchvision.transforms' names, arguments and semantics, on pyml tensor images.

A transform is a callable holding its settings; the work is done by pyml.transforms.functional.
The deterministic ones live here; the random ones (flips, crops, rotation, noise) are in
_random.py. Like torchvision, the image transforms are nn.Modules (so they fit in nn.Sequential)
while Compose, ToTensor and Lambda are plain callables; __repr__ prints the settings the way
torchvision does, so a printed pipeline reads the same in both libraries.
"""
from ..nn import Module
from . import functional as F
from ._args import InterpolationMode, is_int, pair_size
from ._args import interpolation as _mode
from ._resample import _RESIZE_MODES, _check_resize_size

__all__ = ["Compose", "ToTensor", "Lambda", "Normalize", "CenterCrop", "Resize"]


class Compose:
    """Apply transforms one after another, first to last."""

    def __init__(self, transforms):
        transforms = list(transforms)
        for i, t in enumerate(transforms):
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable, got {type(t).__name__} at position {i}")
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({body}\n)"


class ToTensor:
    """NumPy array or PIL image (H, W[, C]) -> tensor (C, H, W); uint8 becomes float32 in [0, 1]."""

    def __call__(self, pic):
        return F.to_tensor(pic)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Lambda:
    """Wrap any function of one image as a transform."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Lambda: lambd must be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Normalize(Module):
    """(x - mean[c]) / std[c] for each channel c of a float image (..., C, H, W)."""

    def __init__(self, mean, std, inplace=False):
        super().__init__()
        F._per_channel(mean, None, "Normalize", "mean")  # fail at construction, not at the first image
        F._positive_std(F._per_channel(std, None, "Normalize", "std"), "Normalize")
        self.mean, self.std, self.inplace = mean, std, inplace

    def forward(self, tensor):
        return F.normalize(tensor, self.mean, self.std, self.inplace)

    def __repr__(self):
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


class CenterCrop(Module):
    """The centred (h, w) box; int size means a square; zero padded if the box is larger than the image."""

    def __init__(self, size):
        super().__init__()
        self.size = pair_size(size, "CenterCrop")

    def forward(self, img):
        return F.center_crop(img, self.size)

    def __repr__(self):
        return f"{type(self).__name__}(size={self.size})"


class Resize(Module):
    """Resize to (h, w), or make the shorter side `size` keeping the aspect ratio (capped by max_size).

    Nearest or bilinear (align_corners=False). antialias is accepted but pyml has no antialias filter:
    downscales equal torchvision's antialias=False output (see functional.resize).
    """

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
        super().__init__()
        _check_resize_size(size, "Resize")
        if max_size is not None and (not is_int(max_size) or not (is_int(size) or len(size) == 1)):
            raise ValueError(f"Resize: max_size must be an int and is only allowed with a single size, "
                             f"got max_size={max_size!r}, size={size!r}")
        self.size, self.max_size, self.antialias = size, max_size, antialias
        self.interpolation = _mode(interpolation, "Resize", _RESIZE_MODES)

    def forward(self, img):
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self):
        return (f"{type(self).__name__}(size={self.size}, interpolation={self.interpolation.value}, "
                f"max_size={self.max_size}, antialias={self.antialias})")
