"""pyml.transforms.functional against NumPy float64 references on random images.

Index-only ops (flip, crop, pad) must match NumPy exactly; resampling ops (resize, rotate,
resized_crop) match the hand references in tf_refs.py; normalize, to_tensor and gaussian_noise
match their formulas. Bad inputs raise the documented exception types with the op's name.
"""
import math
import sys
import types

import numpy as np
import pytest

import pyml
import pyml.transforms.functional as F
from pyml.transforms import InterpolationMode
from tf_refs import to_pyml, np_of, resize_bilinear, resize_nearest, rotate as rotate_ref

SHAPES = [(3, 5, 7), (2, 3, 4, 6), (1, 1, 9), (7, 8)]


def _image(rng, shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


# ------------------------------------------------------------------------------ flips and crops
@pytest.mark.parametrize("shape", SHAPES)
def test_flips_match_numpy(rng, shape):
    a = _image(rng, shape)
    np.testing.assert_array_equal(np_of(F.hflip(to_pyml(a))), a[..., ::-1])
    np.testing.assert_array_equal(np_of(F.vflip(to_pyml(a))), a[..., ::-1, :])


@pytest.mark.parametrize("box", [(1, 2, 3, 4), (0, 0, 5, 7), (-2, 3, 4, 6), (3, -3, 4, 5), (-9, -9, 2, 3),
                                 (6, 9, 2, 2), (-1, -1, 8, 10)])
def test_crop_matches_zero_padded_numpy(rng, box):
    a = _image(rng, (2, 3, 5, 7))
    top, left, h, w = box
    padded = np.pad(a, [(0, 0), (0, 0), (20, 20), (20, 20)])  # zeros wherever the box leaves the image
    ref = padded[..., 20 + top:20 + top + h, 20 + left:20 + left + w]
    np.testing.assert_array_equal(np_of(F.crop(to_pyml(a), top, left, h, w)), ref)


@pytest.mark.parametrize("hw,out", [((6, 8), (4, 4)), ((7, 9), (4, 5)), ((5, 5), (5, 5)), ((4, 6), (7, 9)),
                                    ((5, 4), (2, 8)), ((3, 3), 1)])
def test_center_crop(rng, hw, out):
    a = _image(rng, (2,) + hw)
    th, tw = (out, out) if isinstance(out, int) else out
    h, w = hw
    # reference: pad the short side (odd extra after), then take the box at round((size - crop) / 2)
    ph, pw = max(th - h, 0), max(tw - w, 0)
    p = np.pad(a, [(0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)])
    top, left = int(round((p.shape[1] - th) / 2)), int(round((p.shape[2] - tw) / 2))
    np.testing.assert_array_equal(np_of(F.center_crop(to_pyml(a), out)), p[:, top:top + th, left:left + tw])


# ------------------------------------------------------------------------------ pad
_NP_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}


def _ltrb(padding):
    p = list(padding) if isinstance(padding, (list, tuple)) else [padding]
    if len(p) == 1:
        return p * 4
    return [p[0], p[1], p[0], p[1]] if len(p) == 2 else p


@pytest.mark.parametrize("mode", list(_NP_MODES))
@pytest.mark.parametrize("padding", [2, [1], [1, 3], [0, 1, 2, 3], (3, 0, 1, 4)])
def test_pad_every_mode_matches_np_pad(rng, mode, padding):
    a = _image(rng, (2, 3, 5, 6))
    left, top, right, bottom = _ltrb(padding)
    kw = {"constant_values": 2.5} if mode == "constant" else {}
    ref = np.pad(a, [(0, 0), (0, 0), (top, bottom), (left, right)], mode=_NP_MODES[mode], **kw)
    out = F.pad(to_pyml(a), padding, fill=2.5, padding_mode=mode)
    np.testing.assert_array_equal(np_of(out), ref)


def test_symmetric_pad_wider_than_image_and_uint8(rng):
    a = rng.integers(0, 256, (3, 2, 3), dtype=np.uint8)
    out = F.pad(pyml.tensor(a), [5, 4, 7, 6], padding_mode="symmetric")
    assert out.dtype == pyml.uint8
    np.testing.assert_array_equal(out.numpy(), np.pad(a, [(0, 0), (4, 6), (5, 7)], mode="symmetric"))


def test_negative_padding_crops_first(rng):
    a = _image(rng, (2, 6, 7))
    out = F.pad(to_pyml(a), [-1, 2, 1, -2], padding_mode="edge")
    ref = np.pad(a[:, :, 1:], [(0, 0), (2, 0), (0, 1)], mode="edge")[:, :-2]
    np.testing.assert_array_equal(np_of(out), ref)


# ------------------------------------------------------------------------------ normalize
@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 3, 4, 5)])
def test_normalize_per_channel(rng, shape):
    a = _image(rng, shape)
    mean, std = [0.1, -0.4, 2.0], [0.5, 1.5, 0.25]
    ref = (a - np.reshape(mean, (3, 1, 1))) / np.reshape(std, (3, 1, 1))
    np.testing.assert_allclose(np_of(F.normalize(to_pyml(a), mean, std)), ref, rtol=1e-12)
    x = to_pyml(a)
    out = F.normalize(x, mean, std, inplace=True)
    np.testing.assert_allclose(np_of(x), ref, rtol=1e-12)  # written into x itself
    assert out is x


def test_normalize_single_value_broadcasts_and_float32(rng):
    a = _image(rng, (3, 4, 5), np.float32)
    out = F.normalize(pyml.tensor(a), [0.5], (0.25,))
    assert out.dtype == pyml.float32
    np.testing.assert_allclose(np_of(out), (a.astype(np.float64) - 0.5) / 0.25, rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------------------ resize and resized_crop
@pytest.mark.parametrize("hw,size", [((5, 7), (9, 4)), ((8, 8), (3, 5)), ((4, 6), [10, 13]), ((6, 5), (1, 1))])
def test_resize_bilinear_matches_hand_reference(rng, hw, size):
    a = _image(rng, (2, 3) + hw)
    out = F.resize(to_pyml(a), size, antialias=False)
    np.testing.assert_allclose(np_of(out), resize_bilinear(a, *size), rtol=1e-10, atol=1e-12)
    if size[0] >= hw[0] and size[1] >= hw[1]:  # upscaling: the antialias filter is the plain one
        np.testing.assert_allclose(np_of(F.resize(to_pyml(a), size)), np_of(out), rtol=1e-12)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("hw,size", [((17, 23), (6, 9)), ((8, 8), (3, 5)), ((7, 9), (12, 4)), ((5, 6), (11, 13))])
def test_resize_antialias_matches_torchvision_rule(rng, mode, hw, size):
    """torchvision's tensor resize is interpolate(align_corners=False, antialias=antialias) for these modes."""
    import torch
    a = _image(rng, (2, 3) + hw)
    for antialias in (True, False):
        out = F.resize(to_pyml(a), size, interpolation=mode, antialias=antialias)
        ref = torch.nn.functional.interpolate(torch.tensor(a), size=size, mode=mode, align_corners=False,
                                              antialias=antialias)
        np.testing.assert_allclose(np_of(out), ref.numpy(), rtol=1e-9, atol=1e-11)


def test_resize_nearest_and_uint8_rounds(rng):
    a = _image(rng, (3, 5, 6))
    out = F.resize(to_pyml(a), [8, 4], interpolation=InterpolationMode.NEAREST)
    np.testing.assert_array_equal(np_of(out), resize_nearest(a, 8, 4))
    u = rng.integers(0, 256, (3, 5, 6), dtype=np.uint8)
    out = F.resize(pyml.tensor(u), [9, 11], interpolation="bilinear")
    assert out.dtype == pyml.uint8
    ref = np.clip(np.round(resize_bilinear(u.astype(np.float64), 9, 11)), 0, 255)
    assert np.abs(out.numpy().astype(np.float64) - ref).max() <= 1  # float32 arithmetic may flip a .5


@pytest.mark.parametrize("hw,size,max_size,expect", [((10, 20), 5, None, (5, 10)), ((21, 7), [4], None, (12, 4)),
                                                     ((10, 30), 6, 12, (4, 12)), ((9, 9), 4, None, (4, 4))])
def test_resize_single_size_keeps_aspect(hw, size, max_size, expect):
    x = pyml.zeros(1, *hw)
    assert tuple(F.resize(x, size, max_size=max_size, antialias=False).shape) == (1,) + expect


def test_resize_same_size_returns_input():
    x = pyml.ones(3, 4, 5)
    assert F.resize(x, [4, 5]) is x


def test_resized_crop_of_known_box(rng):
    a = _image(rng, (3, 10, 12))
    out = F.resized_crop(to_pyml(a), 2, 3, 5, 6, [7, 9])
    np.testing.assert_allclose(np_of(out), resize_bilinear(a[:, 2:7, 3:9], 7, 9), rtol=1e-10, atol=1e-12)


def test_resampling_keeps_any_leading_dims(rng):
    a = _image(rng, (2, 2, 3, 5, 6))
    out = F.resize(to_pyml(a), [7, 4], antialias=False)
    assert tuple(out.shape) == (2, 2, 3, 7, 4)
    np.testing.assert_allclose(np_of(out), resize_bilinear(a, 7, 4), rtol=1e-10, atol=1e-12)
    g = _image(rng, (6, 6))  # a plain (H, W) image is one channel
    np.testing.assert_allclose(np_of(F.rotate(to_pyml(g), 90.0)), np.rot90(g), atol=1e-12)
    np.testing.assert_allclose(np_of(F.resize(to_pyml(g), [3, 9], antialias=False)), resize_bilinear(g, 3, 9),
                               rtol=1e-10, atol=1e-12)




# ------------------------------------------------------------------------------ rotate
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_rotate_right_angles_equal_rot90(rng, k, mode):
    a = _image(rng, (2, 3, 6, 6))
    out = F.rotate(to_pyml(a), 90.0 * k, interpolation=mode)
    np.testing.assert_allclose(np_of(out), np.rot90(a, k, axes=(2, 3)), atol=1e-12)


@pytest.mark.parametrize("angle", [90.0, -90.0, 180.0])
def test_rotate_expand_non_square_equals_rot90(rng, angle):
    a = _image(rng, (3, 4, 6))
    out = F.rotate(to_pyml(a), angle, expand=True)
    np.testing.assert_array_equal(np_of(out), np.rot90(a, int(angle // 90), axes=(1, 2)))


@pytest.mark.parametrize("angle,mode,centre,fill", [(17.0, "nearest", None, None), (-23.5, "bilinear", None, None),
                                                    (11.0, "bilinear", [2, 3], [0.5, -1.0, 2.0]),
                                                    (-40.0, "nearest", [1.5, 6.0], 3.0), (33.0, "bilinear", None, 0)])
def test_rotate_small_angles_match_hand_reference(rng, angle, mode, centre, fill):
    a = _image(rng, (3, 7, 9))
    out = F.rotate(to_pyml(a), angle, interpolation=mode, center=centre, fill=fill)
    fill_ref = None if fill is None else np.broadcast_to(np.asarray(fill, dtype=np.float64), (3,))
    ref = rotate_ref(a, angle, mode, centre=centre, fill=fill_ref)
    np.testing.assert_allclose(np_of(out), ref, atol=1e-10)


def test_rotate_expand_grows_to_hold_the_turned_image(rng):
    a = _image(rng, (2, 6, 10))
    out = F.rotate(to_pyml(a), 30.0, interpolation="bilinear", expand=True)
    t = math.radians(30.0)
    half_h, half_w = (10 * math.sin(t) + 6 * math.cos(t)) / 2, (10 * math.cos(t) + 6 * math.sin(t)) / 2
    # PIL's rule (torchvision follows it): whole pixels of the image grid that the turned box touches
    oh = math.ceil(3 + half_h) - math.floor(3 - half_h)
    ow = math.ceil(5 + half_w) - math.floor(5 - half_w)
    assert tuple(out.shape) == (2, oh, ow)
    np.testing.assert_allclose(np_of(out), rotate_ref(a, 30.0, "bilinear", out_hw=(oh, ow)), atol=1e-10)


def test_rotate_uint8_rounds_back(rng):
    u = rng.integers(0, 256, (3, 8, 8), dtype=np.uint8)
    out = F.rotate(pyml.tensor(u), 12.0, interpolation="bilinear", fill=[255])
    assert out.dtype == pyml.uint8
    ref = np.round(rotate_ref(u.astype(np.float64), 12.0, "bilinear", fill=np.full(3, 255.0)))
    assert np.abs(out.numpy().astype(np.float64) - ref).max() <= 1


# ------------------------------------------------------------------------------ to_tensor
def test_to_tensor_uint8_hwc(rng):
    a = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    t = F.to_tensor(a)
    assert t.dtype == pyml.float32 and tuple(t.shape) == (3, 5, 7)
    np.testing.assert_allclose(np_of(t), a.transpose(2, 0, 1) / 255.0, rtol=1e-6, atol=1e-7)
    assert float(t.max()) <= 1.0 and float(t.min()) >= 0.0


def test_to_tensor_grayscale_float_and_int(rng):
    g = rng.integers(0, 256, (4, 6), dtype=np.uint8)
    np.testing.assert_allclose(np_of(F.to_tensor(g)), g[None] / 255.0, rtol=1e-6)
    f = rng.standard_normal((4, 6, 2))  # float64 values kept (not scaled), stored as float32
    t = F.to_tensor(f)
    assert t.dtype == pyml.float32
    np.testing.assert_array_equal(t.numpy(), f.transpose(2, 0, 1).astype(np.float32))
    i = rng.integers(-500, 500, (3, 4, 2)).astype(np.int16)
    ti = F.to_tensor(i)
    assert ti.dtype == pyml.int16
    np.testing.assert_array_equal(ti.numpy(), i.transpose(2, 0, 1))


def test_to_tensor_reads_pil_images_without_importing_pil(rng, monkeypatch):
    # a stand-in PIL.Image module: to_tensor must recognise its Image class via sys.modules only
    fake = types.ModuleType("PIL.Image")

    class Image:
        def __init__(self, pixels, mode):
            self.pixels, self.mode = pixels, mode

        def __array__(self, dtype=None, copy=None):
            return self.pixels if dtype is None else self.pixels.astype(dtype)
    fake.Image = Image
    monkeypatch.setitem(sys.modules, "PIL.Image", fake)
    rgb = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    np.testing.assert_allclose(np_of(F.to_tensor(Image(rgb, "RGB"))), rgb.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    bits = rng.integers(0, 2, (4, 5)).astype(bool)
    np.testing.assert_array_equal(np_of(F.to_tensor(Image(bits, "1"))), bits[None].astype(np.float64))


# ------------------------------------------------------------------------------ gaussian_noise
def test_gaussian_noise_statistics_and_clip():
    pyml.manual_seed(7)
    x = pyml.full((4, 100, 100), 0.5)
    noisy = np_of(F.gaussian_noise(x, mean=0.05, sigma=0.2, clip=False)) - 0.5
    assert abs(noisy.mean() - 0.05) < 0.006 and abs(noisy.std() - 0.2) < 0.006
    near_top = np_of(F.gaussian_noise(pyml.full((4, 100, 100), 0.9), sigma=0.1))
    assert near_top.max() == 1.0 and near_top.min() >= 0.0
    frac_clipped = np.mean(near_top == 1.0)  # P(N(0, 0.1) > 0.1) = 1 - Phi(1)
    assert abs(frac_clipped - 0.5 * math.erfc(1 / math.sqrt(2))) < 0.01


# ------------------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize("call,exc,text", [
    (lambda: F.hflip(pyml.zeros(5)), ValueError, "hflip"),
    (lambda: F.vflip(np.zeros((3, 4))), TypeError, "vflip"),
    (lambda: F.normalize(pyml.zeros(4, 5), [0.0], [1.0]), ValueError, "normalize"),
    (lambda: F.normalize(pyml.zeros(3, 4, 5), [0.0], [-1.0]), ValueError, "std must be positive"),
    (lambda: F.normalize(pyml.zeros(3, 4, 5), [0.0], [0.0, 1.0, 1.0]), ValueError, "std must be positive"),
    (lambda: F.normalize(pyml.zeros(3, 4, 5), [0.0, 1.0], [1.0]), ValueError, "mean must hold 1 or 3"),
    (lambda: F.normalize(pyml.zeros(3, 4, 5), [0.0], [1.0, 2.0]), ValueError, "std must hold 1 or 3"),
    (lambda: F.normalize(pyml.zeros(3, 4, 5, dtype=pyml.float16), [0.0], [1e-9]), ValueError, "zero"),
    (lambda: F.normalize(pyml.zeros(3, 4, 5, dtype=pyml.uint8), [0.0], [1.0]), TypeError, "floating"),
    (lambda: F.crop(pyml.zeros(3, 4, 5), 0, 0, 0, 2), ValueError, "crop"),
    (lambda: F.pad(pyml.zeros(3, 4, 5), [1, 2, 3]), ValueError, "pad"),
    (lambda: F.pad(pyml.zeros(3, 4, 5), 1, padding_mode="wrap"), ValueError, "padding_mode"),
    (lambda: F.pad(pyml.zeros(3, 4, 5), 4, padding_mode="reflect"), ValueError, "reflect"),
    (lambda: F.pad(pyml.zeros(3, 4, 5), 1, fill=(1, 2)), TypeError, "fill"),
    (lambda: F.resize(pyml.zeros(3, 4, 5), [2, 3, 4]), ValueError, "resize"),
    (lambda: F.resize(pyml.zeros(3, 4, 5), [2, 3], max_size=9), ValueError, "max_size"),
    (lambda: F.resize(pyml.zeros(3, 4, 5), 2, interpolation="box"), NotImplementedError, "interpolation"),
    (lambda: F.rotate(pyml.zeros(3, 4, 5), 10.0, fill=[1.0, 2.0]), ValueError, "fill"),
    (lambda: F.rotate(pyml.zeros(3, 4, 5), "10"), TypeError, "angle"),
    (lambda: F.to_tensor(np.zeros((2, 3, 4, 5))), ValueError, "to_tensor"),
    (lambda: F.to_tensor([[1, 2]]), TypeError, "to_tensor"),
    (lambda: F.gaussian_noise(pyml.zeros(3, 4, dtype=pyml.uint8)), TypeError, "floating"),
    (lambda: F.gaussian_noise(pyml.zeros(3, 4), sigma=-0.1), ValueError, "sigma"),
])
def test_bad_inputs_raise_clear_errors(call, exc, text):
    with pytest.raises(exc, match=text):
        call()
