"""interpolate (nearest, nearest-exact, linear, bilinear with/without align_corners, area; size or
scale_factor, recompute_scale_factor), pixel_shuffle/unshuffle, grid_sample (bilinear/nearest x
zeros/border/reflection x align_corners) and affine_grid against torch.nn.functional: outputs and
gradients (input and grid), float64/float32, odd sizes, non-contiguous inputs, Jacobians, bad inputs."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pyml
import pyml.nn.functional as F
from nn_helpers import full_jacobian_check, leaf

pytestmark = pytest.mark.filterwarnings("ignore:Since version 1.3.0, affine_grid")

TOL = {"float64": 1e-12, "float32": 2e-5}




def compare(name, arrays, dtype="float64", layout="contiguous", seed=0, **kw):
    tol = TOL[dtype]
    P = [leaf(pyml, a, dtype, layout if i == 0 else "contiguous") for i, a in enumerate(arrays)]
    T = [leaf(torch, a, dtype, layout if i == 0 else "contiguous") for i, a in enumerate(arrays)]
    if layout != "contiguous":
        assert not P[0].is_contiguous()
    y, yt = getattr(F, name)(*P, **kw), getattr(TF, name)(*T, **kw)
    assert tuple(y.shape) == tuple(yt.shape) and y.dtype is getattr(pyml, dtype)
    np.testing.assert_allclose(y.detach().double().numpy(), yt.detach().double().numpy(), rtol=tol, atol=tol)
    g = np.random.default_rng(seed).standard_normal(tuple(yt.shape))
    y.backward(pyml.tensor(g).to(y.dtype))
    yt.backward(torch.tensor(g).to(yt.dtype))
    for i, (p, t) in enumerate(zip(P, T)):
        np.testing.assert_allclose(p.grad.double().numpy(), t.grad.double().numpy(), rtol=tol * 10, atol=tol * 10,
                                   err_msg=f"gradient of argument {i}")
    return y


def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ------------------------------------------------------------------------------------- interpolate
SIZES_2D = [dict(size=(9, 4)), dict(size=(10, 14)), dict(size=7), dict(size=(5, 7)), dict(size=(1, 1)),
            dict(scale_factor=2), dict(scale_factor=1.7), dict(scale_factor=(2.3, 0.6)), dict(scale_factor=0.5),
            dict(scale_factor=1.7, recompute_scale_factor=True), dict(scale_factor=(3, 1.25))]


@pytest.mark.parametrize("kw", SIZES_2D, ids=[str(i) for i in range(len(SIZES_2D))])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear-False", "bilinear-True", "area"])
def test_interpolate_2d(kw, mode):
    kw = dict(kw)
    if mode.startswith("bilinear"):
        mode, ac = mode.split("-")
        kw["align_corners"] = ac == "True"
    if mode == "area" and "scale_factor" in kw and not kw.get("recompute_scale_factor"):
        kw["recompute_scale_factor"] = None  # torch recomputes for area
    compare("interpolate", [rand((2, 3, 5, 7))], mode=mode, **kw)


SIZES_1D = [dict(size=9), dict(size=3), dict(size=5), dict(size=1), dict(scale_factor=2.5), dict(scale_factor=0.4),
            dict(scale_factor=3, recompute_scale_factor=True)]


@pytest.mark.parametrize("kw", SIZES_1D, ids=[str(i) for i in range(len(SIZES_1D))])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "linear-False", "linear-True", "area"])
def test_interpolate_1d(kw, mode):
    kw = dict(kw)
    if mode.startswith("linear"):
        mode, ac = mode.split("-")
        kw["align_corners"] = ac == "True"
    compare("interpolate", [rand((2, 3, 5))], mode=mode, **kw)


@pytest.mark.parametrize("layout", ["strided", "batch_channel"])
@pytest.mark.parametrize("mode,ac", [("nearest", None), ("bilinear", False), ("bilinear", True)])
def test_interpolate_noncontiguous_float32(layout, mode, ac):
    compare("interpolate", [rand((3, 4, 7, 6))], "float32", layout, size=(11, 9), mode=mode, align_corners=ac)


def test_interpolate_large_float32():
    compare("interpolate", [rand((2, 8, 31, 37))], "float32", scale_factor=2, mode="bilinear", align_corners=False)
    compare("interpolate", [rand((2, 8, 31, 37))], "float32", size=(61, 17), mode="nearest")


def test_upsample_aliases():
    a = rand((1, 2, 3, 4))
    np.testing.assert_allclose(F.upsample_bilinear(pyml.tensor(a), scale_factor=2).numpy(),
                               TF.interpolate(torch.tensor(a), scale_factor=2, mode="bilinear",
                                              align_corners=True).numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(F.upsample_nearest(pyml.tensor(a), size=(5, 5)).numpy(),
                                  TF.interpolate(torch.tensor(a), size=(5, 5)).numpy())
    np.testing.assert_array_equal(F.upsample(pyml.tensor(a), scale_factor=3).numpy(),
                                  TF.interpolate(torch.tensor(a), scale_factor=3).numpy())


# ------------------------------------------------------------------------------------- pixel shuffle
@pytest.mark.parametrize("shape,r", [((2, 12, 3, 5), 2), ((8, 2, 2), 2), ((2, 3, 18, 1, 1), 3), ((1, 1, 1, 1), 1)])
def test_pixel_shuffle(shape, r):
    compare("pixel_shuffle", [rand(shape)], upscale_factor=r)
    if shape[-1] > 1:
        compare("pixel_shuffle", [rand(shape)], layout="strided", upscale_factor=r)


@pytest.mark.parametrize("shape,r", [((2, 3, 6, 4), 2), ((2, 6, 9), 3), ((2, 2, 1, 4, 6), 2)])
def test_pixel_unshuffle(shape, r):
    compare("pixel_unshuffle", [rand(shape)], downscale_factor=r)
    compare("pixel_unshuffle", [rand(shape)], layout="batch_channel", downscale_factor=r)


# ------------------------------------------------------------------------------------- grid_sample
GRID_CASES = list(itertools.product(["bilinear", "nearest"], ["zeros", "border", "reflection"], [False, True]))


def grid_points(shape, seed=1):
    # beyond [-1, 1] so every padding mode is exercised; nearest avoids half-way ties
    return np.random.default_rng(seed).uniform(-1.4, 1.4, shape)


@pytest.mark.parametrize("mode,padding_mode,align_corners", GRID_CASES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_grid_sample(mode, padding_mode, align_corners, dtype):
    compare("grid_sample", [rand((2, 3, 5, 7)), grid_points((2, 4, 6, 2))], dtype, mode=mode,
            padding_mode=padding_mode, align_corners=align_corners)


def test_grid_sample_noncontiguous_and_batch1():
    compare("grid_sample", [rand((2, 3, 5, 7)), grid_points((2, 9, 3, 2))], layout="batch_channel",
            align_corners=False)
    compare("grid_sample", [rand((1, 2, 1, 1)), grid_points((1, 2, 2, 2))], padding_mode="border",
            align_corners=True)


def test_grid_sample_far_outside_and_nan_grid():
    x = pyml.tensor(rand((1, 2, 4, 4)))
    g = np.array([[[[1e30, 0.0], [-1e30, 5.0], [np.nan, 0.0]]]])
    y = F.grid_sample(x, pyml.tensor(g), align_corners=False)
    assert y.shape == (1, 2, 1, 3)
    np.testing.assert_array_equal(y.numpy()[..., :2], 0)   # out of range with zero padding


def test_grid_sample_only_needed_grads():
    x = pyml.tensor(rand((1, 2, 4, 4))).requires_grad_()
    g = pyml.tensor(grid_points((1, 3, 3, 2)))
    F.grid_sample(x, g, align_corners=False).sum().backward()
    assert x.grad is not None and g.grad is None


# ------------------------------------------------------------------------------------- affine_grid
@pytest.mark.parametrize("size", [(2, 3, 5, 4), (1, 1, 1, 6), (3, 2, 7, 1)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid(size, align_corners):
    compare("affine_grid", [rand((size[0], 2, 3))], size=size, align_corners=align_corners)


def test_spatial_transformer_end_to_end():
    # affine_grid + grid_sample: gradients reach theta and the image, as in torch
    x, th = rand((2, 3, 6, 5)), rand((2, 2, 3), 3) * 0.5
    res = []
    for mod, f in ((pyml, F), (torch, TF)):
        xt, tt = mod.tensor(x).requires_grad_(), mod.tensor(th).requires_grad_()
        grid = f.affine_grid(tt, (2, 3, 4, 4), align_corners=False)
        y = f.grid_sample(xt, grid, align_corners=False)
        (y * y).sum().backward()
        res.append((y.detach().numpy(), xt.grad.numpy(), tt.grad.numpy()))
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------------------------- Jacobians


def test_interpolate_jacobians_first_and_second_order():
    a = rand((1, 2, 3, 2))
    for kw in (dict(size=(4, 3), mode="bilinear", align_corners=False), dict(scale_factor=1.5, mode="nearest")):
        f = (lambda x, kw=kw: F.interpolate(x, **kw))
        full_jacobian_check(f, [a])
        v0 = rand(tuple(f(pyml.tensor(a)).shape), 1)

        def vjp(x, v, f=f):
            with pyml.enable_grad():
                x = x if x.requires_grad else x.detach().requires_grad_()
                (g,) = pyml.autograd.grad([f(x)], [x], [v], create_graph=True)
            return g * x
        full_jacobian_check(vjp, [a, v0])


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_jacobian(padding_mode):
    x, g = rand((1, 2, 3, 4)), grid_points((1, 2, 2, 2), 5)
    full_jacobian_check(lambda a, b: F.grid_sample(a, b, padding_mode=padding_mode, align_corners=False), [x, g])


# ------------------------------------------------------------------------------------- bad inputs
def _t(*shape, dtype=pyml.float32):
    return pyml.zeros(*shape, dtype=dtype)


BAD = [
    (lambda: F.interpolate(_t(1, 2, 3, 3), size=4, scale_factor=2), ValueError,
     r"interpolate: only one of size or scale_factor should be defined"),
    (lambda: F.interpolate(_t(1, 2, 3, 3)), ValueError, r"interpolate: either size or scale_factor"),
    (lambda: F.interpolate(_t(1, 2, 3, 3), size=(4, 4, 4)), ValueError,
     r"interpolate: input and output must have the same number of spatial dimensions"),
    (lambda: F.interpolate(_t(1, 2, 3, 3), size=4, mode="nearest", align_corners=True), ValueError,
     r"interpolate: align_corners option can only be set with the interpolating modes"),
    # rank errors are NotImplementedError, as in torch
    (lambda: F.interpolate(_t(1, 2, 3, 3), size=4, mode="linear"), NotImplementedError,
     r"interpolate: got 4-D input, but linear mode needs 3-D input"),
    (lambda: F.interpolate(_t(1, 2, 3), size=4, mode="bilinear"), NotImplementedError,
     r"interpolate: got 3-D input, but bilinear mode needs 4-D input"),
    (lambda: F.interpolate(_t(2, 3), size=4), NotImplementedError, r"interpolate: expected a 3-D \(N, C, L\), 4-D"),
    (lambda: F.interpolate(_t(1, 2, 3, 3), size=4, mode="cubic"), ValueError, r"interpolate: mode must be one of"),
    (lambda: F.interpolate(_t(1, 2, 3, 3), size=0), ValueError,
     r"upsample_nearest2d: input and output sizes must be greater than 0"),
    (lambda: F.interpolate(_t(1, 2, 3, 3), scale_factor=0.1), ValueError,
     r"upsample_nearest2d: input and output sizes must be greater than 0"),
    (lambda: F.interpolate(_t(1, 2, 3, 3, dtype=pyml.int64), size=4), TypeError,
     r"upsample_nearest2d: expected a floating-point tensor"),
    (lambda: F.pixel_shuffle(_t(1, 5, 2, 2), 2), ValueError,
     r"pixel_shuffle: input channels \(5\) must be divisible by upscale_factor squared \(4\); input \(1, 5, 2, 2\)"),
    (lambda: F.pixel_shuffle(_t(4, 2), 2), ValueError, r"pixel_shuffle: expected at least 3-D input"),
    (lambda: F.pixel_shuffle(_t(1, 4, 2, 2), 0), ValueError, r"pixel_shuffle: upscale_factor must be a positive"),
    (lambda: F.pixel_unshuffle(_t(1, 1, 3, 4), 2), ValueError,
     r"pixel_unshuffle: height \(3\) and width \(4\) must be divisible by downscale_factor \(2\)"),
    (lambda: F.grid_sample(_t(1, 2, 3, 3), _t(2, 4, 4, 2)), ValueError,
     r"grid_sample: grid and input must have the same batch size, got input \(1, 2, 3, 3\) and grid \(2, 4, 4, 2\)"),
    (lambda: F.grid_sample(_t(1, 2, 3, 3), _t(1, 4, 4, 3)), ValueError, r"grid_sample: expected a 4-D grid"),
    (lambda: F.grid_sample(_t(2, 3, 3), _t(1, 4, 4, 2)), ValueError, r"grid_sample: expected a 4-D input"),
    (lambda: F.grid_sample(_t(1, 2, 3, 3), _t(1, 4, 4, 2, dtype=pyml.float64)), TypeError,
     r"grid_sample: input and grid must have the same dtype"),
    (lambda: F.grid_sample(_t(1, 2, 3, 3), _t(1, 4, 4, 2), mode="area"), ValueError, r"grid_sample: mode must be"),
    (lambda: F.grid_sample(_t(1, 2, 3, 3), _t(1, 4, 4, 2), padding_mode="wrap"), ValueError,
     r"grid_sample: padding_mode must be"),
    (lambda: F.affine_grid(_t(2, 3, 3), (2, 1, 4, 4)), ValueError,
     r"affine_grid: expected a batch of 2D affine matrices of shape Nx2x3"),
    (lambda: F.affine_grid(_t(2, 2, 3), (3, 1, 4, 4)), ValueError, r"affine_grid: expected a batch of 2D affine"),
    (lambda: F.affine_grid(_t(2, 2, 3, dtype=pyml.int64), (2, 1, 4, 4)), TypeError,
     r"affine_grid: expected theta to have a floating point dtype"),
]


@pytest.mark.parametrize("fn,exc,msg", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_inputs(fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_types_compute_in_float32(dtype):
    dt = getattr(pyml, dtype)
    x = pyml.tensor(rand((2, 3, 5, 7))).to(dt).requires_grad_()
    g = pyml.tensor(grid_points((2, 4, 6, 2))).to(dt).requires_grad_()
    for f in (lambda a: F.interpolate(a, scale_factor=1.5, mode="bilinear"), lambda a: F.interpolate(a, size=(3, 9)),
              lambda a: F.grid_sample(a, g if a.dtype is dt else g.detach().float(), align_corners=False)):
        y = f(x)
        assert y.dtype is dt
        np.testing.assert_array_equal(y.detach().float().numpy(), f(x.detach().float()).to(dt).float().numpy())
        y.sum().backward()
        assert x.grad.dtype is dt
    assert g.grad.dtype is dt and tuple(g.grad.shape) == (2, 4, 6, 2)
