"""to_tensor: host images (NumPy arrays, PIL images) -> pyml tensor images (C, H, W).

Arrays arrive as (H, W) or (H, W, C), the layout image decoders produce; the channel axis moves to
the front because every pyml transform works on (..., C, H, W). uint8 pixels become float32 in
[0, 1] (divided by 255); float arrays become float32 with their values unchanged; other integer
arrays keep their values. PIL is never imported here: a PIL image can only exist if the caller
already imported PIL, so its module is looked up in sys.modules.
"""
import sys

import numpy as np

_WIDER = {np.dtype(np.uint16): np.int32, np.dtype(np.uint32): np.int64}  # pyml has no wide unsigned ints


def _pil_pixels(pic):
    """A PIL image's pixels as an array, or None when pic is not a PIL image."""
    image_module = sys.modules.get("PIL.Image")
    if image_module is None or not isinstance(pic, image_module.Image):
        return None
    if pic.mode == "1":  # bilevel images store 0/1; torchvision reads them as 0/255
        return np.asarray(pic, dtype=np.uint8) * np.uint8(255)
    return np.asarray(pic)


def _host_array(pic, op):
    if isinstance(pic, np.ndarray):
        return pic
    arr = _pil_pixels(pic)
    if arr is None:
        raise TypeError(f"{op}: pic must be a NumPy array or a PIL image, got {type(pic).__name__}")
    return arr


def to_tensor(pic):
    """(H, W) or (H, W, C) array/PIL image -> (C, H, W) tensor; uint8 scaled to float32 in [0, 1]."""
    op = "to_tensor"
    arr = _host_array(pic, op)
    if arr.ndim not in (2, 3):
        raise ValueError(f"{op}: pic must be 2-D (H, W) or 3-D (H, W, C), got {arr.ndim} dims, shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{op}: pic must hold bool, integer or float pixels, got dtype {arr.dtype}")
    hwc = arr[:, :, None] if arr.ndim == 2 else arr
    chw = np.ascontiguousarray(hwc.transpose(2, 0, 1))  # (C, H, W)
    from .. import from_numpy, float32
    if chw.dtype == np.uint8:
        return from_numpy(chw).to(float32).div(255)
    if chw.dtype.kind == "f":
        return from_numpy(chw.astype(np.float32))
    return from_numpy(chw.astype(_WIDER.get(chw.dtype, chw.dtype)))
