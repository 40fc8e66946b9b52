"""Pooling on CUDA (cuda/pool.cu) with channels_last inputs, whose forward kernels walk the
outputs channels first, and NCHW ones, against the CPU kernels: max/avg/adaptive pooling forward
and backward, odd sizes, padding, dilation, ceil_mode, every dtype the op takes."""
import numpy as np
import pytest

import pyml
import pyml.nn.functional as F
from cuda_compare import check, check_grads


def rand(shape, dtype="float32", seed=0):
    return pyml.tensor(np.random.default_rng(seed).standard_normal(shape)).to(getattr(pyml, dtype))


def channels_last(t):
    return t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)


LAYOUTS = ["nchw", "channels_last"]
SHAPES = [(1, 1, 1, 1), (2, 7, 9, 11), (1, 33, 13, 6), (3, 64, 8, 8)]


def make(shape, layout, dtype="float32", grad=False):
    x = rand(shape, dtype)
    x = channels_last(x) if layout == "channels_last" else x
    return x.detach().requires_grad_() if grad else x


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("args", [(1, 1, 0, 1, False), (3, 2, 1, 1, False), (2, 2, 0, 1, True), (3, 1, 1, 2, True)])
def test_max_pool(shape, layout, args):
    k, s, pad, dil, ceil = args
    if shape[2] + 2 * pad < dil * (k - 1) + 1 or shape[3] + 2 * pad < dil * (k - 1) + 1:
        pytest.skip("window larger than the padded input")
    fn = lambda x: F.max_pool2d(x, k, s, pad, dil, ceil_mode=ceil, return_indices=True)
    check(fn, make(shape, layout))
    check_grads(lambda x: F.max_pool2d(x, k, s, pad, dil, ceil_mode=ceil), make(shape, layout, grad=True))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("args", [(1, 1, 0, False, True), (3, 2, 1, False, False), (2, 2, 1, True, True)])
def test_avg_pool(shape, layout, args):
    k, s, pad, ceil, include = args
    if shape[2] + 2 * pad < k or shape[3] + 2 * pad < k:
        pytest.skip("window larger than the padded input")
    fn = lambda x: F.avg_pool2d(x, k, s, pad, ceil_mode=ceil, count_include_pad=include)
    check(fn, make(shape, layout))
    check_grads(fn, make(shape, layout, grad=True))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16", "int32"])
def test_pool_dtypes(layout, dtype):
    x = make((2, 5, 9, 7), layout, "float64")
    x = x.to(getattr(pyml, dtype)) if dtype != "int32" else (x * 10).to(pyml.int32)
    check(lambda x: F.max_pool2d(x, 3, 2, 1), x)
    if dtype != "int32":
        check(lambda x: F.avg_pool2d(x, 3, 2, 1), x)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("out", [1, (3, 2), 5])
def test_adaptive(layout, out):
    check(lambda x: F.adaptive_avg_pool2d(x, out), make((2, 9, 7, 6), layout))
    check(lambda x: F.adaptive_max_pool2d(x, out, return_indices=True), make((2, 9, 7, 6), layout))
    check_grads(lambda x: F.adaptive_avg_pool2d(x, out), make((2, 9, 7, 6), layout, grad=True))
