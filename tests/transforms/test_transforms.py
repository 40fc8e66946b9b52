"""pyml.transforms classes: random behaviour, reproducibility, batches, Compose, reprs and bad settings.

Random transforms are checked at their extremes (p=0 / p=1), by frequency over many draws, by the
ranges of the parameters they sample (get_params), by reseeding (pyml.manual_seed or an explicit
pyml.Generator gives the same output again), and on batches, where every image must receive the
same draw: with x[n] = (n + 1) * x[0], any such linear transform must give out[n] = (n + 1) * out[0].
"""
import math

import numpy as np
import pytest

import pyml
import pyml.transforms as T
import pyml.transforms.functional as F
from tf_refs import to_pyml, np_of, resize_bilinear


def _image(rng, shape=(3, 8, 10)):
    return to_pyml(rng.standard_normal(shape))


def _scaled_batch(rng, n=4, shape=(3, 9, 11)):
    base = rng.standard_normal(shape)
    return to_pyml(np.stack([(k + 1) * base for k in range(n)]))


# ------------------------------------------------------------------------------ flips
@pytest.mark.parametrize("cls,flip", [(T.RandomHorizontalFlip, F.hflip), (T.RandomVerticalFlip, F.vflip)])
def test_flip_p0_never_p1_always(rng, cls, flip):
    x = _image(rng)
    for _ in range(20):
        np.testing.assert_array_equal(np_of(cls(p=0.0)(x)), np_of(x))
        np.testing.assert_array_equal(np_of(cls(p=1.0)(x)), np_of(flip(x)))


@pytest.mark.parametrize("cls,flip", [(T.RandomHorizontalFlip, F.hflip), (T.RandomVerticalFlip, F.vflip)])
def test_flip_frequency_near_p(rng, cls, flip):
    pyml.manual_seed(11)
    x = _image(rng, (1, 3, 4))
    flipped = np_of(flip(x))
    t, n, p = cls(p=0.3), 2000, 0.3
    hits = sum(np.array_equal(np_of(t(x)), flipped) for _ in range(n))
    assert abs(hits - n * p) < 4 * math.sqrt(n * p * (1 - p))


def test_flip_same_draw_for_the_whole_batch(rng):
    x = _scaled_batch(rng)
    for seed in range(6):
        pyml.manual_seed(seed)
        out = np_of(T.RandomHorizontalFlip()(x))
        assert any(np.array_equal(out[0], r) for r in (np_of(x[0]), np_of(F.hflip(x[0]))))
        for k in range(4):
            np.testing.assert_allclose(out[k], (k + 1) * out[0], rtol=1e-12)


# ------------------------------------------------------------------------------ RandomCrop
def test_random_crop_get_params_range_and_uniformity():
    pyml.manual_seed(3)
    img = pyml.zeros(3, 10, 12)
    boxes = [T.RandomCrop.get_params(img, (4, 5)) for _ in range(1500)]
    tops, lefts = {b[0] for b in boxes}, {b[1] for b in boxes}
    assert tops == set(range(7)) and lefts == set(range(8))  # every placement happens, none outside
    assert all(b[2:] == (4, 5) for b in boxes)
    assert T.RandomCrop.get_params(img, (10, 12)) == (0, 0, 10, 12)


def test_random_crop_output_is_a_crop_of_the_padded_image(rng):
    a = rng.standard_normal((2, 6, 7))
    padded = np.pad(a, [(0, 0), (2, 2), (2, 2)], mode="reflect")
    t = T.RandomCrop(6, padding=2, padding_mode="reflect")
    windows = {padded[:, i:i + 6, j:j + 6].tobytes() for i in range(5) for j in range(6)}
    for _ in range(25):
        out = np_of(t(to_pyml(a)))
        assert out.shape == (2, 6, 6) and out.tobytes() in windows


def test_random_crop_pad_if_needed_pads_both_sides(rng):
    a = rng.standard_normal((1, 3, 4))
    out = np_of(T.RandomCrop((5, 6), pad_if_needed=True, fill=-7.0)(to_pyml(a)))
    # width 4 -> 4 + 2*2 = 8 and height 3 -> 3 + 2*2 = 7 before a (5, 6) window: the image stays inside it
    padded = np.pad(a, [(0, 0), (2, 2), (2, 2)], constant_values=-7.0)
    found = [(i, j) for i in range(3) for j in range(3) if np.array_equal(padded[:, i:i + 5, j:j + 6], out)]
    assert found


def test_random_crop_same_box_for_the_batch(rng):
    x = _scaled_batch(rng)
    out = np_of(T.RandomCrop((5, 6))(x))
    for k in range(4):
        np.testing.assert_allclose(out[k], (k + 1) * out[0], rtol=1e-12)


def test_random_crop_larger_than_image_raises():
    with pytest.raises(ValueError, match="crop size"):
        T.RandomCrop(9)(pyml.zeros(3, 8, 12))


# ------------------------------------------------------------------------------ RandomResizedCrop
def test_random_resized_crop_boxes_within_scale_and_ratio():
    pyml.manual_seed(5)
    img = pyml.zeros(3, 40, 60)
    scale, ratio = (0.2, 0.7), (0.5, 2.0)
    areas = []
    for _ in range(800):
        top, left, h, w = T.RandomResizedCrop.get_params(img, scale, ratio)
        assert 0 <= top and top + h <= 40 and 0 <= left and left + w <= 60
        # the sampler rounds each side, so the exact area/aspect lie within half a pixel of the box
        assert (h - 0.5) * (w - 0.5) <= scale[1] * 2400 and (h + 0.5) * (w + 0.5) >= scale[0] * 2400
        assert (w - 0.5) / (h + 0.5) <= ratio[1] and (w + 0.5) / (h - 0.5) >= ratio[0]
        areas.append(h * w / 2400)
    assert min(areas) < 0.25 and max(areas) > 0.6  # the whole scale range is used


def test_random_resized_crop_area_uniform_and_aspect_log_uniform():
    pyml.manual_seed(8)
    img = pyml.zeros(1, 40, 60)  # every proposal fits, so no draw is rejected and the laws show unbiased
    boxes = [T.RandomResizedCrop.get_params(img, (0.05, 0.2), (0.5, 2.0)) for _ in range(1000)]
    areas = np.array([h * w / 2400 for _, _, h, w in boxes])
    logs = np.array([math.log(w / h) for _, _, h, w in boxes])
    assert abs(areas.mean() - 0.125) < 0.01 and abs(areas.std() - 0.15 / math.sqrt(12)) < 0.01
    assert abs(logs.mean()) < 0.06 and abs(logs.std() - math.log(4) / math.sqrt(12)) < 0.04


@pytest.mark.parametrize("hw,ratio,expect", [((20, 20), (0.5, 2.0), (0, 0, 20, 20)), ((10, 40), (0.5, 2.0),
                                                                                      (0, 10, 10, 20)),
                                             ((40, 10), (0.5, 2.0), (10, 0, 20, 10))])
def test_random_resized_crop_falls_back_to_a_centred_box(hw, ratio, expect):
    img = pyml.zeros(1, *hw)  # scale > 1 never fits, so the ten tries fail and the centre crop is used
    assert T.RandomResizedCrop.get_params(img, (2.0, 3.0), ratio) == expect


def test_random_resized_crop_output_is_resized_box(rng):
    a = rng.standard_normal((3, 12, 16))
    t = T.RandomResizedCrop((6, 7), scale=(0.3, 0.9), antialias=False)
    gen = pyml.Generator().manual_seed(21)
    box = T.RandomResizedCrop.get_params(to_pyml(a), t.scale, t.ratio, generator=gen)
    t.generator = pyml.Generator().manual_seed(21)
    top, left, h, w = box
    ref = resize_bilinear(a[:, top:top + h, left:left + w], 6, 7)
    np.testing.assert_allclose(np_of(t(to_pyml(a))), ref, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------ RandomRotation
def test_random_rotation_angles_within_degrees():
    pyml.manual_seed(2)
    angles = [T.RandomRotation.get_params([-10.0, 25.0]) for _ in range(500)]
    assert min(angles) >= -10.0 and max(angles) <= 25.0
    assert min(angles) < -8.0 and max(angles) > 23.0
    assert T.RandomRotation(15).degrees == [-15.0, 15.0]


def test_random_rotation_applies_drawn_angle_to_the_batch(rng):
    x = _scaled_batch(rng)
    t = T.RandomRotation((5, 40), interpolation=T.InterpolationMode.BILINEAR, generator=pyml.Generator().manual_seed(4))
    angle = T.RandomRotation.get_params([5.0, 40.0], generator=pyml.Generator().manual_seed(4))
    out = np_of(t(x))
    np.testing.assert_allclose(out, np_of(F.rotate(x, angle, "bilinear", fill=0)), atol=1e-12)
    for k in range(4):
        np.testing.assert_allclose(out[k], (k + 1) * out[0], rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------ GaussianNoise
def test_gaussian_noise_transform_statistics_and_clip():
    pyml.manual_seed(9)
    x = pyml.full((2, 3, 100, 100), 0.5)
    noise = np_of(T.GaussianNoise(mean=-0.1, sigma=0.05, clip=False)(x)) - 0.5
    assert abs(noise.mean() + 0.1) < 0.002 and abs(noise.std() - 0.05) < 0.002
    out = np_of(T.GaussianNoise(sigma=1.0)(x))
    assert out.min() == 0.0 and out.max() == 1.0  # clipped at both ends
    assert abs(np.mean(out == 0.0) - 0.5 * math.erfc(0.5 / math.sqrt(2))) < 0.01


# ------------------------------------------------------------------------------ reproducibility
def _pipeline(**gen):
    return T.Compose([T.RandomResizedCrop(8, antialias=False, **gen), T.RandomHorizontalFlip(**gen),
                      T.RandomRotation(20, **gen), T.RandomCrop(6, padding=1, **gen),
                      T.GaussianNoise(sigma=0.2, clip=False, **gen)])


def test_manual_seed_reproduces_a_pipeline(rng):
    x, t = _image(rng, (3, 16, 16)), _pipeline()
    pyml.manual_seed(123)
    first = [np_of(t(x)) for _ in range(3)]
    pyml.manual_seed(123)
    again = [np_of(t(x)) for _ in range(3)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])  # successive draws differ


def test_explicit_generator_reproduces_and_leaves_the_default_alone(rng):
    x = _image(rng, (3, 16, 16))
    first = np_of(_pipeline(generator=pyml.Generator().manual_seed(77))(x))
    pyml.manual_seed(5)
    pyml.rand(10)  # moving the default stream must not change a pipeline with its own generator
    np.testing.assert_array_equal(np_of(_pipeline(generator=pyml.Generator().manual_seed(77))(x)), first)
    pyml.manual_seed(5)
    expected = pyml.rand(3).numpy()
    pyml.manual_seed(5)
    _pipeline(generator=pyml.Generator().manual_seed(1))(x)
    np.testing.assert_array_equal(pyml.rand(3).numpy(), expected)  # the default stream was not used


# ------------------------------------------------------------------------------ deterministic classes
def test_compose_applies_in_order(rng):
    x = _image(rng)
    t = T.Compose([T.Lambda(lambda v: v + 1.0), T.Lambda(lambda v: v * 2.0), T.CenterCrop(4)])
    np.testing.assert_allclose(np_of(t(x)), (np_of(x)[:, 2:6, 3:7] + 1.0) * 2.0, rtol=1e-12)


def test_to_tensor_then_normalize_pipeline(rng):
    a = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    t = T.Compose([T.ToTensor(), T.Normalize((0.5, 0.4, 0.3), (0.2, 0.25, 0.5)), T.Resize((3, 4), antialias=False)])
    out = t(a)
    ref = (a.transpose(2, 0, 1) / 255.0 - np.reshape([0.5, 0.4, 0.3], (3, 1, 1))) / np.reshape([0.2, 0.25, 0.5],
                                                                                               (3, 1, 1))
    np.testing.assert_allclose(np_of(out), resize_bilinear(ref, 3, 4), rtol=1e-5, atol=1e-5)


def test_reprs_read_like_torchvision():
    t = T.Compose([T.ToTensor(), T.Normalize([0.5], [0.25]), T.RandomHorizontalFlip(0.3), T.CenterCrop(4),
                   T.Resize(32), T.RandomCrop(28, padding=4), T.Lambda(abs)])
    assert repr(t) == ("Compose(\n    ToTensor()\n    Normalize(mean=[0.5], std=[0.25])\n"
                       "    RandomHorizontalFlip(p=0.3)\n    CenterCrop(size=(4, 4))\n"
                       "    Resize(size=32, interpolation=bilinear, max_size=None, antialias=True)\n"
                       "    RandomCrop(size=(28, 28), padding=4)\n    Lambda()\n)")
    assert repr(T.RandomVerticalFlip()) == "RandomVerticalFlip(p=0.5)"
    assert repr(T.RandomResizedCrop(224)) == ("RandomResizedCrop(size=(224, 224), scale=(0.08, 1.0), "
                                              "ratio=(0.75, 1.3333), interpolation=bilinear, antialias=True)")
    assert repr(T.RandomRotation(10, center=(1, 2))) == ("RandomRotation(degrees=[-10.0, 10.0], "
                                                         "interpolation=nearest, expand=False, center=(1, 2), fill=0)")
    assert repr(T.GaussianNoise()) == "GaussianNoise(mean=0.0, sigma=0.1, clip=True)"


@pytest.mark.parametrize("make,exc,text", [
    (lambda: T.Normalize([0.5], [-0.1]), ValueError, "std must be positive"),
    (lambda: T.Normalize([0.5], [0.0]), ValueError, "std must be positive"),
    (lambda: T.Normalize("0.5", [1.0]), TypeError, "mean"),
    (lambda: T.RandomHorizontalFlip(p=1.5), ValueError, "probability"),
    (lambda: T.RandomCrop(0), ValueError, "positive"),
    (lambda: T.RandomCrop((2, 3, 4)), ValueError, "size"),
    (lambda: T.RandomCrop(4, padding=[1, 2, 3]), ValueError, "padding"),
    (lambda: T.RandomCrop(4, padding_mode="wrap"), ValueError, "padding_mode"),
    (lambda: T.CenterCrop("4"), TypeError, "size"),
    (lambda: T.Resize([4, 5], max_size=10), ValueError, "max_size"),
    (lambda: T.Resize(4, interpolation="lanczos"), NotImplementedError, "interpolation"),
    (lambda: T.RandomResizedCrop(8, scale=(0.9, 0.1)), ValueError, "scale"),
    (lambda: T.RandomResizedCrop(8, ratio=(0.0, 2.0)), ValueError, "ratio"),
    (lambda: T.RandomRotation(-5), ValueError, "degrees"),
    (lambda: T.RandomRotation(5, interpolation="bicubic"), NotImplementedError, "interpolation"),
    (lambda: T.RandomRotation(5, center=(1, 2, 3)), TypeError, "center"),
    (lambda: T.RandomRotation(5, fill="white"), TypeError, "fill"),
    (lambda: T.GaussianNoise(sigma=-1.0), ValueError, "sigma"),
    (lambda: T.Lambda(3), TypeError, "callable"),
    (lambda: T.Compose([T.ToTensor(), 5]), TypeError, "callable"),
    (lambda: T.RandomHorizontalFlip(generator=3), TypeError, "generator"),
])
def test_bad_settings_raise_at_construction(make, exc, text):
    with pytest.raises(exc, match=text):
        make()


@pytest.mark.parametrize("t,img,exc,text", [
    (T.Normalize([0.5, 0.5], [0.2, 0.2]), pyml.zeros(3, 4, 4), ValueError, "mean must hold 1 or 3"),
    (T.Normalize([0.5], [0.2]), pyml.zeros(4, 4), ValueError, "Normalize|normalize"),
    (T.RandomHorizontalFlip(), pyml.zeros(4), ValueError, "RandomHorizontalFlip"),
    (T.RandomRotation(10), np.zeros((3, 4, 4)), TypeError, "RandomRotation"),
    (T.GaussianNoise(), pyml.zeros(3, 4, 4, dtype=pyml.uint8), TypeError, "floating"),
    (T.ToTensor(), np.zeros(5), ValueError, "to_tensor"),
])
def test_bad_images_raise_at_call(t, img, exc, text):
    with pytest.raises(exc, match=text):
        t(img)
