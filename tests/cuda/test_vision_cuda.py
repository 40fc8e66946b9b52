"""CUDA vs CPU for resampling (csrc/ops/vision.cpp -> cuda/vision.cu): interpolate in nearest,
nearest-exact, linear and bilinear modes (align_corners both ways, sizes and scale factors, up and
down), the separable resampler (bicubic, 5-D nearest/nearest-exact/trilinear, antialiased
bilinear/bicubic/lanczos), grid_sample (bilinear/nearest/bicubic x zeros/border/reflection x
align_corners), forward and backward, float32/float64/float16/bfloat16, non-contiguous inputs. The
backward passes add with atomics on the GPU, so sums may differ in the last bits: compared within the
dtype's tolerance.
"""
import numpy as np
import pytest

import pyml
import pyml.nn.functional as F
from cuda_compare import check, check_grads, to_cuda

FLOATS = ["float32", "float64", "float16", "bfloat16"]


def randn(rng, shape, dtype, transposed=False):
    t = pyml.tensor(rng.standard_normal(shape)).to(getattr(pyml, dtype))
    return t.transpose(-1, -2).clone().transpose(-1, -2) if transposed else t


RESIZES = [  # (input spatial shape, interpolate kwargs)
    ((7,), dict(size=15)), ((7,), dict(scale_factor=2.0)), ((97,), dict(size=33)), ((5,), dict(scale_factor=1.7)),
    ((6, 9), dict(size=(13, 4))), ((7, 7), dict(scale_factor=2.0)), ((1, 5), dict(size=(3, 1))),
    ((9, 6), dict(scale_factor=(0.6, 1.5))), ((33, 65), dict(size=(97, 31))),
    ((8, 8), dict(scale_factor=0.5, recompute_scale_factor=True)),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("spatial,kw", RESIZES)
def test_interpolate(dtype, spatial, kw):
    rng = np.random.default_rng(len(spatial))
    x = randn(rng, (2, 3) + spatial, dtype, transposed=True)
    modes = ["nearest", "nearest-exact", "linear" if len(spatial) == 1 else "bilinear"]
    for mode in modes:
        if mode in ("linear", "bilinear"):
            for ac in (False, True):
                check(lambda x: F.interpolate(x, mode=mode, align_corners=ac, **kw), x)
        else:
            check(lambda x: F.interpolate(x, mode=mode, **kw), x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("spatial,kw", RESIZES)
def test_interpolate_backward(dtype, spatial, kw):
    rng = np.random.default_rng(7)
    a = rng.standard_normal((2, 3) + spatial)
    modes = ["nearest", "nearest-exact", "linear" if len(spatial) == 1 else "bilinear"]
    for mode in modes:
        for ac in ((False, True) if mode in ("linear", "bilinear") else (None,)):
            x = pyml.tensor(a).to(getattr(pyml, dtype)).requires_grad_()
            check_grads(lambda x: F.interpolate(x, mode=mode, align_corners=ac, **kw), x)


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
@pytest.mark.parametrize("spatial,kw", [s for s in RESIZES if len(s[0]) == 2])
@pytest.mark.parametrize("C", [1, 5, 40])
def test_interpolate_channels_last(dtype, spatial, kw, C):
    # a channels_last image stays so on CUDA (kernels walk (N, H, W, C)): values, result and grad
    # strides as on the CPU; dy arrives channels_last (so is dx) or contiguous (dx too)
    rng = np.random.default_rng(C)
    a = rng.standard_normal((2, C) + spatial)
    for mode, ac in [("nearest", None), ("nearest-exact", None), ("bilinear", False), ("bilinear", True)]:
        want, got = check(lambda x: F.interpolate(x, mode=mode, align_corners=ac, **kw),
                          pyml.tensor(a).to(getattr(pyml, dtype)).contiguous(memory_format=pyml.channels_last))
        assert got.stride() == want.stride()
        if dtype == "bfloat16":
            continue
        for cl_dy in (True, False):
            dy = pyml.tensor(rng.standard_normal(tuple(want.shape)), dtype=want.dtype)
            dy = dy.contiguous(memory_format=pyml.channels_last) if cl_dy else dy
            grads = []
            for dev in ("cpu", "cuda"):
                x = pyml.tensor(a, dtype=getattr(pyml, dtype)).contiguous(memory_format=pyml.channels_last).to(dev)
                y = F.interpolate(x.requires_grad_(), mode=mode, align_corners=ac, **kw)
                grads.append(pyml.autograd.grad(y, x, dy.to(dev))[0].cpu())
            assert grads[1].stride() == grads[0].stride()  # dx follows dy's layout, as in torch
            assert C == 1 or (grads[1].stride() == x.stride()) == cl_dy  # C = 1: both layouts coincide
            np.testing.assert_allclose(grads[1].numpy(), grads[0].numpy(), rtol=1e-5, atol=1e-6)


RESAMPLES = [  # (input shape, interpolate kwargs) for the separable resampler
    ((2, 3, 7, 9), dict(size=(13, 4), mode="bicubic", align_corners=False)),
    ((2, 3, 7, 9), dict(scale_factor=(1.7, 0.6), mode="bicubic", align_corners=True)),
    ((1, 2, 1, 5), dict(size=(3, 1), mode="bicubic", align_corners=False)),
    ((2, 3, 4, 5, 7), dict(size=(7, 3, 9), mode="trilinear", align_corners=False)),
    ((2, 3, 4, 5, 7), dict(scale_factor=(0.6, 1.7, 2.0), mode="trilinear", align_corners=True)),
    ((2, 3, 4, 5, 7), dict(scale_factor=(1.1, 2.1, 0.7), mode="nearest")),
    ((1, 2, 3, 1, 9), dict(size=(7, 2, 4), mode="nearest-exact")),
    ((2, 3, 33, 17), dict(size=(5, 7), mode="bilinear", antialias=True)),
    ((2, 3, 33, 17), dict(scale_factor=(0.3, 1.6), mode="bicubic", antialias=True, align_corners=True)),
    ((1, 2, 97, 13), dict(size=(4, 13), mode="lanczos", antialias=True)),
    ((2, 1, 9, 11), dict(size=(1, 1), mode="bicubic", antialias=True)),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,kw", RESAMPLES)
def test_resample(dtype, shape, kw):
    x = randn(np.random.default_rng(len(shape)), shape, dtype, transposed=True)
    check(lambda x: F.interpolate(x, **kw), x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,kw", RESAMPLES)
def test_resample_backward(dtype, shape, kw):
    a = np.random.default_rng(8).standard_normal(shape)
    x = pyml.tensor(a).to(getattr(pyml, dtype)).requires_grad_()
    check_grads(lambda x: F.interpolate(x, **kw), x)


def _grid(rng, n, p, q, dtype, spread=1.2):
    # coordinates a little beyond [-1, 1] so the padding modes matter
    return pyml.tensor(rng.uniform(-spread, spread, size=(n, p, q, 2))).to(getattr(pyml, dtype))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample(dtype, mode, padding_mode, align_corners):
    rng = np.random.default_rng(11)
    for (n, c, h, w, p, q) in ((2, 3, 7, 9, 5, 4), (1, 1, 1, 1, 3, 3), (1, 5, 33, 17, 97, 1), (3, 2, 4, 6, 0, 3)):
        x = randn(rng, (n, c, h, w), dtype, transposed=True)
        g = _grid(rng, n, p, q, dtype, spread=3.0 if padding_mode == "reflection" else 1.2)
        check(lambda x, g: F.grid_sample(x, g, mode=mode, padding_mode=padding_mode, align_corners=align_corners),
              x, g)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_backward(dtype, mode, padding_mode, align_corners):
    rng = np.random.default_rng(12)
    a, ga = rng.standard_normal((2, 3, 6, 5)), rng.uniform(-1.3, 1.3, size=(2, 4, 7, 2))
    x = pyml.tensor(a).to(getattr(pyml, dtype)).requires_grad_()
    g = pyml.tensor(ga).to(getattr(pyml, dtype)).requires_grad_()
    check_grads(lambda x, g: F.grid_sample(x, g, mode=mode, padding_mode=padding_mode, align_corners=align_corners),
                x, g)
    x = pyml.tensor(a).to(getattr(pyml, dtype)).requires_grad_()  # grad for the input only
    check_grads(lambda x, g: F.grid_sample(x, g, mode=mode, padding_mode=padding_mode, align_corners=align_corners),
                x, pyml.tensor(ga).to(getattr(pyml, dtype)))


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_far_and_nonfinite_points(mode, padding_mode):
    x = randn(np.random.default_rng(13), (1, 2, 4, 5), "float32")
    g = pyml.tensor(np.array([[[[1e30, 0.0], [-1e30, 0.5], [np.nan, 0.0], [0.2, -1e20], [7.5, -9.25]]]],
                             dtype=np.float32))
    check(lambda x, g: F.grid_sample(x, g, mode=mode, padding_mode=padding_mode, align_corners=False), x, g)


def test_device_mismatch():
    x, g = pyml.ones(1, 1, 3, 3), pyml.zeros(1, 2, 2, 2)
    with pytest.raises(RuntimeError, match="grid_sample: expected all tensors to be on the same device"):
        F.grid_sample(to_cuda(x), g, align_corners=False)
