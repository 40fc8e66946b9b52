"""Shared argument handling for pyml.transforms: image checks, sizes, interpolation modes, random draws.

Every transform and functional op sends its inputs through these helpers so that errors share one
format (`<op>: <what is required>, got <values>`). Every random draw goes through pyml's own
generators (the default one, or an explicit pyml.Generator), so pyml.manual_seed makes a whole
augmentation pipeline reproducible.
"""
import enum
import numbers
from collections.abc import Sequence

from .._tensor import Tensor


class InterpolationMode(enum.Enum):
    """Resampling filters, named like torchvision's; resize takes NEAREST, NEAREST_EXACT, BILINEAR and BICUBIC."""
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def interpolation(mode, op, supported):
    """InterpolationMode or its string value -> InterpolationMode, restricted to `supported`."""
    if isinstance(mode, str):
        names = {m.value: m for m in InterpolationMode}
        if mode not in names:
            raise ValueError(f"{op}: interpolation must be one of {sorted(names)}, got {mode!r}")
        mode = names[mode]
    if not isinstance(mode, InterpolationMode):
        raise TypeError(f"{op}: interpolation must be an InterpolationMode or its string value, "
                        f"got {type(mode).__name__}")
    if mode not in supported:
        raise NotImplementedError(f"{op}: interpolation must be one of {[m.value for m in supported]}, "
                                  f"got {mode.value!r}")
    return mode


def is_number(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def check_image(img, op, min_dim=2):
    """A pyml tensor image laid out (..., C, H, W) (or (H, W) where min_dim allows it)."""
    if not isinstance(img, Tensor):
        raise TypeError(f"{op}: expected a pyml.Tensor image, got {type(img).__name__}")
    if img.ndim < min_dim:
        layout = "(..., C, H, W)" if min_dim >= 3 else "(..., H, W)"
        raise ValueError(f"{op}: expected a tensor image of shape {layout} with at least {min_dim} dims, "
                         f"got shape {tuple(img.shape)}")
    return img


def image_hw(img):
    return int(img.shape[-2]), int(img.shape[-1])


def int_arg(v, op, name):
    if not is_int(v):
        raise TypeError(f"{op}: {name} must be an int, got {type(v).__name__} {v!r}")
    return int(v)


def pair_size(size, op, name="size"):
    """int s -> (s, s); [s] -> (s, s); (h, w) -> (h, w); every side a positive int."""
    if is_int(size):
        size = (size, size)
    elif not isinstance(size, Sequence) or isinstance(size, str):
        raise TypeError(f"{op}: {name} must be an int or a sequence of 1 or 2 ints, got {type(size).__name__}")
    elif len(size) == 1:
        size = (size[0], size[0])
    if len(size) != 2:
        raise ValueError(f"{op}: {name} must be an int or a sequence of 1 or 2 ints, got {list(size)}")
    h, w = (int_arg(s, op, name) for s in size)
    if h <= 0 or w <= 0:
        raise ValueError(f"{op}: {name} must be positive, got {(h, w)}")
    return h, w


def number_pair(v, op, name):
    """A (min, max) pair of real numbers with min <= max."""
    if not isinstance(v, Sequence) or len(v) != 2 or not all(is_number(x) for x in v):
        raise TypeError(f"{op}: {name} must be a sequence of two numbers (min, max), got {v!r}")
    lo, hi = float(v[0]), float(v[1])
    if lo > hi:
        raise ValueError(f"{op}: {name} must be ordered (min, max), got {tuple(v)}")
    return lo, hi


def probability(p, op):
    if not is_number(p) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: p must be a probability in [0, 1], got {p!r}")
    return float(p)


# ------------------------------------------------------------------------------ random draws
def check_generator(generator, op):
    from .._ops.random import Generator
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(f"{op}: generator must be a pyml.Generator or None, got {type(generator).__name__}")
    return generator


def draw_unit(generator=None):
    """One float32 sample of U[0, 1), the same draw torch.rand(1) makes for a coin flip."""
    from .. import rand
    return rand(1, generator=generator).item()


def draw_uniform(low, high, generator=None):
    """One float in [low, high]: the affine image of a float64 U[0, 1) sample."""
    from .. import rand, float64
    u = rand(1, generator=generator, dtype=float64).item()
    return low + (high - low) * u


def draw_int(high, generator=None):
    """One int uniform over 0 .. high - 1."""
    from .. import randint
    return int(randint(0, high, (1,), generator=generator).item())
