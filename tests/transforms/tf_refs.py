"""NumPy float64 references for pyml.transforms tests: bilinear/nearest resize and rotation by hand.

Written from the definitions, one output pixel at a time, so they share no code path with pyml:
resize maps output pixel centres back with align_corners=False; rotation turns output pixel
centres (relative to the output centre) into input positions and samples them with zero padding,
blending a fill value by the in-image weight the way torchvision does.
"""
import math

import numpy as np

import pyml


def to_pyml(a):
    return pyml.tensor(np.ascontiguousarray(a))


def np_of(t):
    return np.asarray(t.numpy(), dtype=np.float64)


def _linear_source(dst, n_in, n_out):
    """align_corners=False: (lower index, upper index, weight of the upper one)."""
    src = max((dst + 0.5) * n_in / n_out - 0.5, 0.0)
    lo = min(int(math.floor(src)), n_in - 1)
    return lo, min(lo + 1, n_in - 1), src - lo


def resize_bilinear(img, oh, ow):
    """img (..., H, W) float64 -> (..., oh, ow), interpolating rows then columns."""
    h, w = img.shape[-2:]
    out = np.zeros(img.shape[:-2] + (oh, ow))
    for i in range(oh):
        r0, r1, a = _linear_source(i, h, oh)
        for j in range(ow):
            c0, c1, b = _linear_source(j, w, ow)
            top = img[..., r0, c0] * (1 - b) + img[..., r0, c1] * b
            bottom = img[..., r1, c0] * (1 - b) + img[..., r1, c1] * b
            out[..., i, j] = top * (1 - a) + bottom * a
    return out


def resize_nearest(img, oh, ow):
    """Legacy 'nearest': source index floor(dst * in / out)."""
    h, w = img.shape[-2:]
    rows = [min(int(math.floor(i * h / oh)), h - 1) for i in range(oh)]
    cols = [min(int(math.floor(j * w / ow)), w - 1) for j in range(ow)]
    return img[..., rows, :][..., :, cols]


def _source_point(i, j, angle, centre, h, w, oh, ow):
    """Input (row, col) in pixel-index units sampled by output pixel (i, j) of a ccw turn by angle."""
    t = math.radians(angle)
    cx, cy = (0.5 * w, 0.5 * h) if centre is None else centre
    ocx, ocy = cx + 0.5 * (ow - w), cy + 0.5 * (oh - h)  # the turn centre in output pixel units
    dx, dy = j + 0.5 - ocx, i + 0.5 - ocy
    x = cx + math.cos(t) * dx - math.sin(t) * dy
    y = cy + math.sin(t) * dx + math.cos(t) * dy
    return y - 0.5, x - 0.5


def rotate(img, angle, mode="nearest", out_hw=None, centre=None, fill=None):
    """img (C, H, W) float64 turned counter-clockwise by angle degrees, zero padded or fill blended."""
    c, h, w = img.shape
    oh, ow = out_hw or (h, w)
    out = np.zeros((c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            y, x = _source_point(i, j, angle, centre, h, w, oh, ow)
            out[:, i, j] = _sample(img, y, x, mode, fill)
    return out


def _sample(img, y, x, mode, fill):
    _, h, w = img.shape
    if mode == "nearest":
        r, q = int(np.rint(y)), int(np.rint(x))
        if 0 <= r < h and 0 <= q < w:
            return img[:, r, q]
        return np.zeros(img.shape[0]) if fill is None else np.asarray(fill, dtype=np.float64)
    r0, q0 = int(math.floor(y)), int(math.floor(x))
    value, inside = np.zeros(img.shape[0]), 0.0
    for r, wr in ((r0, 1 - (y - r0)), (r0 + 1, y - r0)):
        for q, wq in ((q0, 1 - (x - q0)), (q0 + 1, x - q0)):
            if 0 <= r < h and 0 <= q < w:
                value += wr * wq * img[:, r, q]
                inside += wr * wq
    if fill is None:
        return value
    return value * inside + (1 - inside) * np.asarray(fill, dtype=np.float64)
