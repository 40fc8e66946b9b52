"""Channels_last pooling on CUDA (cuda/pool_nhwc.cu: 16-byte channel vectors, tiles written
transposed) and the max-pool backward that gathers through the windows (no atomics), against the
CPU kernels: max (with its indices), avg, adaptive avg/max; C a multiple of the vector width and
not, misaligned views that must fall back, float32/float64/float16/bfloat16, ties and NaNs (same
index rule as the CPU), and max-pool gradients compared exactly (the indices decide)."""
import numpy as np
import pytest

import pyml
import pyml.nn.functional as F
from pyml._tensor import wrap
from cuda_compare import assert_match, check, check_grads


def rand(shape, dtype="float32", seed=0):
    return pyml.tensor(np.random.default_rng(seed).standard_normal(shape)).to(getattr(pyml, dtype))


def channels_last(t):
    return t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)


# (N, C, H, W): C = 16, 32 (one tile), 40 (a partial channel tile), 96, 18 (not a multiple of 4:
# scalar fallback for float32, vectors of 2 for float64); spatial sizes odd and 1.
SHAPES = [(1, 16, 1, 1), (2, 32, 7, 9), (1, 40, 13, 6), (3, 96, 5, 11), (2, 18, 9, 8)]
# kernel, stride, padding, dilation, ceil_mode
MAX_ARGS = [(1, 1, 0, 1, False), (2, 2, 0, 1, False), (3, 2, 1, 1, True), (3, 1, 1, 2, False), ((3, 2), (2, 1), (1, 0), 1, True)]


def fits(shape, k, s, p, d):
    k, p, d = [v if isinstance(v, tuple) else (v, v) for v in (k, p, d)]
    return all(shape[2 + i] + 2 * p[i] >= d[i] * (k[i] - 1) + 1 for i in range(2))


def host(t):
    """t's values as a NumPy array (half types widened to float32, which is exact)."""
    t = t.cpu()
    return (t.float() if t.dtype in (pyml.float16, pyml.bfloat16) else t).numpy()


def exact(fn, *args):
    """fn on CPU and CUDA gives bit-identical results."""
    np.testing.assert_array_equal(host(fn(*[a.cuda() for a in args])), host(fn(*args)))


@pytest.mark.parametrize("args", MAX_ARGS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_pool_channels_last(shape, args, dtype):
    k, s, p, d, c = args
    if not fits(shape, k, s, p, d):
        pytest.skip("window larger than the padded input")
    x = channels_last(rand(shape, dtype))
    check(lambda x: F.max_pool2d(x, k, s, p, d, c, return_indices=True), x)
    check(lambda x: F.max_pool2d(x, k, s, p, d, c), x)


@pytest.mark.parametrize("args", [(2, None, 0, False, True, None), (3, 2, 1, True, False, None),
                                  ((3, 2), (2, 3), (1, 1), True, True, None), (3, 1, 1, False, True, 5)])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_avg_pool_channels_last(shape, args, dtype):
    k, s, p, c, cip, div = args
    if not fits(shape, k, s, p, 1):
        pytest.skip("window larger than the padded input")
    x = channels_last(rand(shape, dtype))
    check(lambda x: F.avg_pool2d(x, k, s, p, c, cip, div), x)


@pytest.mark.parametrize("out", [(1, 1), (3, 4), (7, 9), (10, 3)])
@pytest.mark.parametrize("shape", SHAPES[1:])
def test_adaptive_channels_last(shape, out):
    x = channels_last(rand(shape))
    check(lambda x: F.adaptive_avg_pool2d(x, out), x)
    check(lambda x: F.adaptive_max_pool2d(x, out, return_indices=True), x)


@pytest.mark.parametrize("out", [(1, 1), (2, 3), (1, 7), (3, 3)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_adaptive_few_pixels_channels_last(out, dtype):
    # outputs of < 8 pixels take 1-pixel x 256-vector tiles: several and partial channel tiles
    for shape in [(2, 1100, 3, 5), (1, 2056, 7, 7), (3, 16, 4, 9)]:
        x = channels_last(rand(shape, dtype))
        check(lambda x: F.adaptive_avg_pool2d(x, out), x)
        check(lambda x: F.adaptive_max_pool2d(x, out, return_indices=True), x)


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_adaptive_avg_big_windows_nchw(dtype):
    # windows of 16+ taps on average: one warp per output (a shuffle sum: equal to rounding)
    for shape, out in [((2, 40, 7, 7), (1, 1)), ((1, 3, 31, 17), (3, 4)), ((2, 5, 9, 40), (1, 2)), ((1, 2, 50, 1), (2, 1))]:
        x = rand(shape, dtype)
        check(lambda x: F.adaptive_avg_pool2d(x, out), x)
        check(lambda x: F.adaptive_avg_pool2d(x, out), x.transpose(2, 3).contiguous().transpose(2, 3))  # w stride H
    check(lambda x: F.adaptive_avg_pool1d(x, 1), rand((3, 4, 100), dtype))


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half(dtype, layout):
    # read natively on CUDA (8-channel vectors when channels_last), compared and summed in float
    x = rand((2, 24, 9, 10), dtype)
    x = channels_last(x) if layout == "channels_last" else x
    check(lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True), x)
    check(lambda x: F.max_pool2d(x, 2, 1, 0, 2, ceil_mode=True), x)
    check(lambda x: F.avg_pool2d(x, 3, 2, 1, True, False), x)
    check(lambda x: F.avg_pool2d(x, 2, 2, 1, False, True, 3), x)
    check(lambda x: F.adaptive_avg_pool2d(x, (4, 3)), x)
    check(lambda x: F.adaptive_max_pool2d(x, (5, 7), return_indices=True), x)
    y, idx = F.max_pool2d(x.cuda(), 3, 2, 1, return_indices=True)
    assert y.dtype == x.dtype and idx.dtype == pyml.int64


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_backward(dtype):
    # avg, adaptive avg and max (gather) backward read and write halves natively, sum in float
    x = channels_last(rand((2, 16, 9, 10), dtype))
    for fwd in (lambda x: F.avg_pool2d(x, 3, 2, 1, True, False), lambda x: F.avg_pool2d(x, 2),
                lambda x: F.adaptive_avg_pool2d(x, (4, 3)), lambda x: F.max_pool2d(x, 3, 1, 1)):
        dy = rand(tuple(fwd(x).shape), dtype, seed=1)
        check(lambda x, dy: pyml.autograd.grad(fwd(x), x, dy)[0], x.detach().requires_grad_(), dy)


def test_half_nans_and_1d():
    a = np.random.default_rng(5).integers(-2, 3, size=(1, 16, 6, 5)).astype(np.float32)
    a[0, 2, 1, 1] = a[0, 9, 5, 4] = np.nan
    for dtype in ("float16", "bfloat16"):
        x = pyml.tensor(a).to(getattr(pyml, dtype))
        check(lambda x: F.max_pool2d(x, 2, 1, return_indices=True), channels_last(x))
        check(lambda x: F.max_pool1d(x[0], 3, 2, 1, return_indices=True), x[:, :, 0])
        check(lambda x: F.avg_pool1d(x[0], 3, 2, 1), x[:, :, 0])


def test_misaligned_and_strided_views_fall_back():
    base = channels_last(rand((2, 33, 7, 8)))
    x = base[:, 1:]  # 32 channels starting one float in: not 16-byte aligned
    check(lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True), x)
    check(lambda x: F.avg_pool2d(x, 2), x)
    wide = channels_last(rand((2, 64, 7, 8)))[:, ::2]  # channels stride 2: not channels_last
    check(lambda x: F.max_pool2d(x, 2, return_indices=True), wide)


def test_ties_and_nans_channels_last():
    # small integers: many ties in every window; NaNs in some channels (NaN wins, as on the CPU)
    a = np.random.default_rng(3).integers(-2, 3, size=(2, 32, 9, 7)).astype(np.float32)
    a[0, 3, 2, 2] = a[1, 17, 0, 6] = a[1, 17, 4, 1] = a[0, 31, 8, 6] = np.nan
    a[1, 5, :, :] = -np.inf
    x = channels_last(pyml.tensor(a))
    check(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True), x)
    check(lambda x: F.max_pool2d(x, 2, 1, 0, 2, return_indices=True), x)
    check(lambda x: F.adaptive_max_pool2d(x, (4, 3), return_indices=True), x)


# --- max-pool backward through the windows: dx is bit-identical to the CPU scatter
@pytest.mark.parametrize("args", MAX_ARGS + [(3, 1, 1, 1, True), (2, 3, 1, 1, True)])
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16", "float16"])
def test_max_pool_backward_windows_exact(args, layout, dtype):
    k, s, p, d, c = args
    shape = (2, 20, 11, 9)
    x = rand(shape, dtype)
    x = channels_last(x) if layout == "channels_last" else x
    y, idx = F.max_pool2d(x, k, s, p, d, c, return_indices=True)
    dy = rand(tuple(y.shape), dtype, seed=1)
    kk, ss, pp, dd = [list(v) if isinstance(v, tuple) else [v, v] for v in (k, s, p, d)]
    fn = lambda dy, x, i: wrap(pyml._C.max_pool_backward_windows(dy._impl, x._impl, i._impl, kk, ss, pp, dd, c))
    exact(fn, dy, x, idx)
    scatter = lambda dy, x, i: wrap(pyml._C.max_pool_backward(dy._impl, x._impl, i._impl, 2, "max_pool2d"))
    np.testing.assert_array_equal(host(fn(dy.cuda(), x.cuda(), idx.cuda())), host(scatter(dy, x, idx)))


def test_max_pool_backward_windows_ties():
    a = np.random.default_rng(4).integers(0, 2, size=(1, 8, 10, 10)).astype(np.float32)
    x = pyml.tensor(a)
    for k, s in [(3, 1), (4, 2), (2, 2)]:
        y, idx = F.max_pool2d(x, k, s, 1, return_indices=True)
        dy = rand(tuple(y.shape), seed=k)
        fn = lambda dy, x, i: wrap(pyml._C.max_pool_backward_windows(dy._impl, x._impl, i._impl, [k, k], [s, s],
                                                                      [1, 1], [1, 1], False))
        exact(fn, dy, x, idx)


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_max_pool_grads(layout, dtype):
    def leaf(shape):  # a fresh leaf per check: grads accumulate
        x = rand(shape, dtype)
        x = channels_last(x) if layout == "channels_last" and x.dim() == 4 else x
        return x.detach().requires_grad_()
    check_grads(lambda x: F.max_pool2d(x, 3, 1, 1), leaf((2, 16, 9, 8)))
    check_grads(lambda x: F.max_pool2d(x, 3, 2, 1, 2, ceil_mode=True), leaf((2, 16, 9, 8)))
    check_grads(lambda x: F.max_pool1d(x, 4, 3, 2, 2), leaf((2, 5, 17)))


def test_max_pool_double_backward():
    x = rand((1, 4, 6, 6)).requires_grad_()

    def fn(x):
        y = F.max_pool2d(x, 3, 1, 1)
        g, = pyml.autograd.grad((y * y).sum(), x, create_graph=True)  # scatter of 2 y: depends on x
        return (g * g).sum()
    check_grads(fn, x)


def test_windows_errors():
    x = rand((1, 2, 4, 4))
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    with pytest.raises(RuntimeError, match="same device"):
        pyml._C.max_pool_backward_windows(y.cuda()._impl, x._impl, idx._impl, [2, 2], [2, 2], [0, 0], [1, 1], False)
    with pytest.raises(ValueError, match="grad_output must have the output's shape"):
        pyml._C.max_pool_backward_windows(x.cuda()._impl, x.cuda()._impl, idx.cuda()._impl, [2, 2], [2, 2], [0, 0],
                                          [1, 1], False)


# --- channels_last end to end: outputs, indices and gradients come back channels_last (as on the
# CPU and in torch) straight from the kernels, whichever path runs them
POOLS = {
    "max": lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True),
    "max_dil": lambda x: F.max_pool2d(x, 2, 1, 1, 2, ceil_mode=True),
    "avg": lambda x: F.avg_pool2d(x, 3, 2, 1, True, False),
    "adaptive_avg": lambda x: F.adaptive_avg_pool2d(x, (4, 3)),
    "global_avg": lambda x: F.adaptive_avg_pool2d(x, 1),
    "adaptive_max": lambda x: F.adaptive_max_pool2d(x, (5, 2), return_indices=True),
}


def outputs(r):
    return r if isinstance(r, tuple) else (r,)


# C = 32 (16-byte vectors), 18 and 3 (the per-element walk), 1 (both layouts coincide)
@pytest.mark.parametrize("shape", [(2, 32, 9, 10), (3, 18, 7, 5), (2, 3, 8, 8), (2, 1, 6, 7)])
@pytest.mark.parametrize("name", sorted(POOLS))
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_channels_last_results_keep_the_layout(name, shape, dtype):
    x = channels_last(rand(shape, dtype))
    want = outputs(POOLS[name](x))
    got = outputs(POOLS[name](x.cuda()))
    for g, w in zip(got, want):
        assert g.stride() == w.stride(), (g.stride(), w.stride())
        assert_match(g.cpu(), w)  # max: exact (same comparisons); averages: to rounding


@pytest.mark.parametrize("dy_layout", ["channels_last", "nchw", "expanded"])
@pytest.mark.parametrize("name", ["max", "max_dil", "avg", "adaptive_avg", "global_avg"])
@pytest.mark.parametrize("shape", [(2, 32, 9, 10), (3, 18, 7, 5)])
def test_channels_last_grads_keep_the_layout(name, shape, dy_layout):
    # dy arrives channels_last (read in place), contiguous or expanded (copied to channels_last)
    x = channels_last(rand(shape, "float64"))
    grads = []
    for dev in ("cpu", "cuda"):
        xi = x.to(dev).requires_grad_()
        y = outputs(POOLS[name](xi))[0]
        dy = rand(tuple(y.shape), "float64", seed=2).to(dev)
        if dy_layout == "channels_last":
            dy = dy.contiguous(memory_format=pyml.channels_last)
        elif dy_layout == "expanded":
            dy = dy[:1].expand(*y.shape)
        grads.append(pyml.autograd.grad(y, xi, dy)[0])
    assert grads[1].stride() == grads[0].stride() == x.stride()
    np.testing.assert_allclose(host(grads[1]), host(grads[0]), rtol=1e-12, atol=1e-14)
