"""CUDA vs CPU for resampling (csrc/ops/vision.cpp -> cuda/vision.cu): interpolate in nearest,
nearest-exact, linear and bilinear modes (align_corners both ways, sizes and scale factors, up and
down), grid_sample (bilinear/nearest x zeros/border/reflection x align_corners), forward and
backward, float32/float64/float16/bfloat16, non-contiguous inputs. The backward passes add with
atomics on the GPU, so sums may differ in the last bits: compared within the dtype's tolerance.
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


def _grid(rng, n, p, q, dtype, spread=1.2):
    # coordinates a little beyond [-1, 1] so the padding modes matter
    return pyml.tensor(rng.uniform(-spread, spread, size=(n, p, q, 2))).to(getattr(pyml, dtype))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
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
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
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


def test_device_mismatch():
    x, g = pyml.ones(1, 1, 3, 3), pyml.zeros(1, 2, 2, 2)
    with pytest.raises(RuntimeError, match="grid_sample: expected all tensors to be on the same device"):
        F.grid_sample(to_cuda(x), g, align_corners=False)
