"""CUDA pooling (cuda/pool.cu, cuda/pool3d.cu) against the CPU kernels on the same values: max/avg/adaptive
pooling forward and backward, max_unpool, 1-D, 2-D and 3-D, ceil_mode, padding, dilation, count_include_pad,
divisor_override, odd sizes, strided inputs, every dtype the CPU takes, NaN, bad indices, errors."""

import numpy as np
import pytest

import pyml
import pyml.nn.functional as F
from pyml._tensor import wrap
from cuda_compare import check, check_grads

INTS = ["uint8", "int8", "int16", "int32", "int64"]


def rand(shape, dtype="float32", seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0 if dtype == "uint8" else -50, 50, size=shape) if dtype in INTS else rng.standard_normal(shape)
    return pyml.tensor(a).to(getattr(pyml, dtype))


def strided(x):
    """Same values, every other element of a twice-as-wide buffer along the last dim."""
    wide = pyml.zeros(tuple(x.shape[:-1]) + (2 * x.shape[-1],), dtype=x.dtype)
    wide[..., ::2] = x
    return wide[..., ::2]


SIZES = [(1, 1, 1, 1), (2, 3, 7, 9), (1, 2, 13, 16), (2, 1, 97, 33)]
# kernel, stride, padding, dilation, ceil_mode
MAX_GEOM = [((1, 1), None, 0, 1, False), ((2, 2), None, 0, 1, False), ((3, 3), 2, 1, 1, True), ((3, 2), (2, 1), (1, 0), 2, False),
            ((2, 3), 3, (1, 1), 1, True), ((3, 3), 1, 1, 1, False)]


def fits(size, k, s, p, d, ceil_mode):
    k, p, d = [v if isinstance(v, tuple) else (v, v) for v in (k, p, d)]
    return all(size[2 + i] + 2 * p[i] >= d[i] * (k[i] - 1) + 1 for i in range(2))


@pytest.mark.parametrize("geom", MAX_GEOM)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("layout", ["contiguous", "strided"])
def test_max_pool2d(size, geom, layout):
    if not fits(size, *geom):
        pytest.skip("window larger than the padded input")
    k, s, p, d, c = geom
    x = rand(size)
    x = strided(x) if layout == "strided" else x
    check(lambda x: F.max_pool2d(x, k, s, p, d, c, return_indices=True), x)
    y, idx = F.max_pool2d(x, k, s, p, d, c, return_indices=True)
    dy = rand(tuple(y.shape), seed=1)
    check(lambda dy, x, idx: wrap(pyml._C.max_pool_backward(dy._impl, x._impl, idx._impl, 2, "max_pool2d")), dy, x, idx)


@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16"] + INTS)
def test_max_pool_dtypes(dtype):
    x = rand((2, 3, 11, 10), dtype)
    check(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True), x)
    check(lambda x: F.max_pool1d(x[0], 4, 3, 2, 2, return_indices=True), x[:, :, 0])


def test_max_pool_nan_and_ties():
    x = pyml.tensor([[[[1.0, 1.0, float("nan"), 2.0], [1.0, 1.0, 0.0, 2.0],
                       [float("-inf"), float("-inf"), 3.0, float("nan")], [float("-inf"), float("-inf"), 3.0, 3.0]]]])
    check(lambda x: F.max_pool2d(x, 2, return_indices=True), x)
    check(lambda x: F.adaptive_max_pool2d(x, (3, 2), return_indices=True), x)


@pytest.mark.parametrize("k,s,p,ceil_mode,cip,div", [
    (2, None, 0, False, True, None), (3, 2, 1, True, True, None), (3, 2, 1, True, False, None),
    ((3, 2), (2, 3), (1, 1), True, False, None), (4, 3, 2, False, True, 5), (3, 1, 1, False, False, None),
])
@pytest.mark.parametrize("size", SIZES[1:])
def test_avg_pool2d(size, k, s, p, ceil_mode, cip, div):
    x = strided(rand(size))
    fwd = lambda x: F.avg_pool2d(x, k, s, p, ceil_mode, cip, div)
    check(fwd, x)
    dy = rand(tuple(fwd(x).shape), seed=1)
    ks, ss, ps = [list(v) if isinstance(v, tuple) else [v, v] for v in (k, s if s else k, p)]
    check(lambda dy, x: wrap(pyml._C.avg_pool_backward(dy._impl, x._impl, ks, ss, ps, ceil_mode, cip, div)), dy, x)


@pytest.mark.parametrize("dtype", ["float64", "bfloat16"] + INTS)
def test_avg_pool_dtypes(dtype):
    x = rand((2, 3, 11, 10), dtype)
    check(lambda x: F.avg_pool2d(x, 3, 2, 1, True, False), x)
    check(lambda x: F.avg_pool1d(x[0], 3, 2, 1, True, True), x[:, :, 0])


@pytest.mark.parametrize("out", [(1, 1), (3, 4), (7, 9), (10, 20), (0, 3)])
@pytest.mark.parametrize("size", [(2, 3, 7, 9), (1, 2, 31, 17)])
def test_adaptive(size, out):
    x = strided(rand(size))
    check(lambda x: F.adaptive_avg_pool2d(x, out), x)
    check(lambda x: F.adaptive_max_pool2d(x, out, return_indices=True), x)
    dy = rand(size[:2] + out, seed=1)
    check(lambda dy, x: wrap(pyml._C.adaptive_avg_pool_backward(dy._impl, x._impl, 2)), dy, x)
    y, idx = F.adaptive_max_pool2d(x, out, return_indices=True)
    check(lambda dy, x, i: wrap(pyml._C.max_pool_backward(dy._impl, x._impl, i._impl, 2, "adaptive_max_pool2d")),
          dy, x, idx)


def test_adaptive_1d_and_float64():
    x = rand((2, 3, 50), "float64")
    check(lambda x: F.adaptive_avg_pool1d(x, 7), x)
    check(lambda x: F.adaptive_max_pool1d(x, 13, return_indices=True), x)


@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 2, 1), (3, 3, 0)])
def test_max_unpool(k, s, p):
    x = rand((2, 3, 10, 9))
    y, idx = F.max_pool2d(x, k, s, p, return_indices=True)
    check(lambda y, i: F.max_unpool2d(y, i, k, s, p, output_size=x.shape[2:]), y, idx)
    dz = rand(tuple(x.shape), seed=2)
    check(lambda dz, i: wrap(pyml._C.max_unpool_backward(dz._impl, i._impl, 2)), dz, idx)
    x1 = rand((2, 3, 17), seed=3)
    y1, i1 = F.max_pool1d(x1, k, s, p, return_indices=True)
    check(lambda y, i: F.max_unpool1d(y, i, k, s, p, output_size=x1.shape[2:]), y1, i1)


def test_max_unpool_duplicates_last_wins():
    x = rand((1, 2, 2, 3))
    idx = pyml.tensor([[[[0, 0, 23], [5, 1, 0]], [[3, 3, 3], [2, 2, 3]]]])
    check(lambda x, i: F.max_unpool2d(x, i, 2), x, idx)  # output (4, 6)


def test_bad_indices_raise_like_cpu():
    x = rand((1, 2, 4, 4))
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    bad = idx.clone()
    bad[0, 1, 1, 0] = 99
    bad[0, 1, 1, 1] = -1
    for dev in ("cpu", "cuda"):
        msg = r"found an invalid index 99 \(each plane has 16 elements\)"
        with pytest.raises(ValueError, match=msg):
            pyml._C.max_pool_backward(y.to(dev)._impl, x.to(dev)._impl, bad.to(dev)._impl, 2, "max_pool2d")
        with pytest.raises(ValueError, match=msg):
            F.max_unpool2d(y.to(dev), bad.to(dev), 2)
        with pytest.raises(ValueError, match=msg):
            pyml._C.max_unpool_backward(x.to(dev)._impl, bad.to(dev)._impl, 2)


@pytest.mark.parametrize("fn", [
    lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), lambda x: F.avg_pool2d(x, 3, 2, 1, True, False),
    lambda x: F.adaptive_avg_pool2d(x, (4, 3)), lambda x: F.adaptive_max_pool2d(x, (4, 3)),
    lambda x: F.max_pool1d(x[0], 3, 2),
])
def test_grads(fn):
    check_grads(fn, rand((2, 3, 9, 8)).requires_grad_())  # a fresh leaf: grads accumulate


def test_errors_match_cpu():
    x = rand((1, 2, 4, 4))
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    with pytest.raises(RuntimeError, match="same device"):
        pyml._C.max_pool_backward(y.cuda()._impl, x._impl, idx._impl, 2, "max_pool2d")
    with pytest.raises(RuntimeError, match="same device"):
        F.max_unpool2d(y.cuda(), idx, 2)
    with pytest.raises(RuntimeError, match="avg_pool2d: expected all tensors to be on the same device"):
        pyml._C.avg_pool_backward(y.cuda()._impl, x._impl, [2, 2], [2, 2], [0, 0], False, True, None)
    for dev in ("cpu", "cuda"):
        with pytest.raises(ValueError, match="padding should be at most half of kernel_size"):
            F.max_pool2d(x.to(dev), 2, 1, 2)
        with pytest.raises(TypeError, match="indices must be int64"):
            F.max_unpool2d(y.to(dev), idx.int().to(dev), 2)


# ------------------------------------------------------------------------------------- 3-D (cuda/pool3d.cu)
def channels_last3d(x):
    """(N, C, D, H, W) with the same values, viewed from a (N, D, H, W, C) buffer."""
    return x.permute(0, 2, 3, 4, 1).contiguous().permute(0, 4, 1, 2, 3)


# kernel, stride, padding, dilation, ceil_mode
MAX3_GEOM = [(2, None, 0, 1, False), ((3, 2, 3), (2, 1, 2), (1, 1, 0), (1, 2, 1), True), (3, 1, 1, 1, False)]


@pytest.mark.parametrize("geom", MAX3_GEOM)
@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_max_pool3d(geom, layout):
    k, s, p, d, c = geom
    x = rand((2, 3, 5, 7, 6))
    x = channels_last3d(x) if layout == "channels_last" else x
    check(lambda x: F.max_pool3d(x, k, s, p, d, c, return_indices=True), x)
    check(lambda x: F.max_pool3d(x[0], k, s, p, d, c), x)  # unbatched, values only
    y, idx = F.max_pool3d(x, k, s, p, d, c, return_indices=True)
    dy = rand(tuple(y.shape), seed=1)
    tri = lambda v: [v] * 3 if isinstance(v, int) else list(v)
    geo = (tri(k), tri(s if s else k), tri(p), tri(d), c)
    # the gather backward with the window geometry, and the scatter one by indices alone
    check(lambda dy, x, i: wrap(pyml._C.max_pool_backward_windows(dy._impl, x._impl, i._impl, *geo)), dy, x, idx)
    check(lambda dy, x, i: wrap(pyml._C.max_pool_backward(dy._impl, x._impl, i._impl, 3, "max_pool3d")), dy, x, idx)


@pytest.mark.parametrize("dtype", ["float64", "float16"] + INTS)
def test_max_pool3d_dtypes(dtype):
    check(lambda x: F.max_pool3d(x, 3, 2, 1, ceil_mode=True, return_indices=True), rand((2, 3, 5, 6, 4), dtype))


@pytest.mark.parametrize("k,s,p,ceil_mode,cip,div", [
    (2, None, 0, False, True, None), ((3, 2, 3), (2, 1, 2), (1, 1, 0), True, False, None), (3, 2, 1, False, True, 5),
])
def test_avg_pool3d(k, s, p, ceil_mode, cip, div):
    x = strided(rand((2, 3, 5, 7, 6)))
    fwd = lambda x: F.avg_pool3d(x, k, s, p, ceil_mode, cip, div)
    check(fwd, x)
    dy = rand(tuple(fwd(x).shape), seed=1)
    tri = lambda v: [v] * 3 if isinstance(v, int) else list(v)
    args = (tri(k), tri(s if s else k), tri(p), ceil_mode, cip, div)
    check(lambda dy, x: wrap(pyml._C.avg_pool_backward(dy._impl, x._impl, *args)), dy, x)


@pytest.mark.parametrize("dtype", ["float64", "bfloat16", "int64", "uint8"])
def test_avg_pool3d_dtypes(dtype):
    check(lambda x: F.avg_pool3d(x, 3, 2, 1, True, False), rand((2, 3, 5, 6, 4), dtype))


@pytest.mark.parametrize("out", [(1, 1, 1), (2, 3, 4), (7, 5, 9), (0, 2, 1)])
def test_adaptive_pool3d(out):
    size = (2, 3, 5, 7, 6)
    x = strided(rand(size))
    check(lambda x: F.adaptive_avg_pool3d(x, out), x)
    check(lambda x: F.adaptive_max_pool3d(x, out, return_indices=True), x)
    dy = rand(size[:2] + out, seed=1)
    check(lambda dy, x: wrap(pyml._C.adaptive_avg_pool_backward(dy._impl, x._impl, 3)), dy, x)
    y, idx = F.adaptive_max_pool3d(x, out, return_indices=True)
    check(lambda dy, x, i: wrap(pyml._C.max_pool_backward(dy._impl, x._impl, i._impl, 3, "adaptive_max_pool3d")),
          dy, x, idx)


def test_max_unpool3d():
    x = rand((2, 3, 6, 5, 7))
    y, idx = F.max_pool3d(x, 3, 2, 1, return_indices=True)
    check(lambda y, i: F.max_unpool3d(y, i, 3, 2, 1, output_size=x.shape[2:]), y, idx)
    dz = rand(tuple(x.shape), seed=2)
    check(lambda dz, i: wrap(pyml._C.max_unpool_backward(dz._impl, i._impl, 3)), dz, idx)


@pytest.mark.parametrize("fn", [
    lambda x: F.max_pool3d(x, 3, 2, 1, ceil_mode=True), lambda x: F.avg_pool3d(x, 3, 2, 1, True, False),
    lambda x: F.adaptive_avg_pool3d(x, (2, 4, 3)), lambda x: F.adaptive_max_pool3d(x, (2, 4, 3)),
    lambda x: F.lp_pool3d(x.abs() + 0.1, 2, (2, 3, 2)), lambda x: F.max_pool3d(x[0], 2),
])
def test_grads_3d(fn):
    check_grads(fn, rand((2, 3, 5, 7, 6)).requires_grad_())


def test_errors_match_cpu_3d():
    x = rand((1, 2, 4, 4, 4))
    y, idx = F.max_pool3d(x, 2, return_indices=True)
    with pytest.raises(RuntimeError, match="max_pool3d: expected all tensors to be on the same device"):
        pyml._C.max_pool_backward_windows(y.cuda()._impl, x._impl, idx._impl, [2] * 3, [2] * 3, [0] * 3, [1] * 3, False)
    bad = idx.clone()
    bad[0, 1, 1, 0, 1] = 64
    for dev in ("cpu", "cuda"):
        with pytest.raises(ValueError, match=r"found an invalid index 64 \(each plane has 64 elements\)"):
            F.max_unpool3d(y.to(dev), bad.to(dev), 2)
        with pytest.raises(ValueError, match="max_pool3d: padding should be at most half of kernel_size"):
            F.max_pool3d(x.to(dev), 2, 1, 2)
