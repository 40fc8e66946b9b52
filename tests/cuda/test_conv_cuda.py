"""CUDA convolutions (cuda/conv2d.cu, cuda/conv3d.cu) against the CPU kernels on the same values:
conv1d/2d/3d forward, the grad-input and grad-weight entries, conv_transpose and unfold/fold, over
odd sizes and every stride/padding/dilation/groups/depthwise combination, NCHW and channels_last
inputs, each floating dtype; gradients through autograd; errors."""
import itertools
import math

import numpy as np
import pytest

import pyml
import pyml.nn.functional as F
from pyml._tensor import wrap
from cuda_compare import check, check_grads, to_cuda, to_host, assert_match

DTYPES = ["float32", "float64", "float16", "bfloat16"]


def rand(shape, dtype="float32", seed=0):
    return pyml.tensor(np.random.default_rng(seed).standard_normal(shape)).to(getattr(pyml, dtype))


def channels_last(t):
    """Same values, (N, C, H, W) viewed from an (N, H, W, C) buffer."""
    return t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)


def tols(dtype, k):
    base = {"float32": (2e-5, 2e-6), "float64": (1e-10, 1e-12), "float16": (4e-3, 2e-3), "bfloat16": (3e-2, 2e-2)}
    r, a = base[dtype]
    return dict(rtol=r, atol=a * math.sqrt(max(k, 1)))


def check64(fn, *args, rtol=None, atol=None):
    """float32 on CUDA against the CPU kernel run in float64 (the CPU's float32 3x3 convs go through
    Winograd, whose rounding would dominate a float32-vs-float32 comparison)."""
    want = fn(*[a.double() if isinstance(a, pyml.Tensor) else a for a in args]).float()
    got = to_host(fn(*to_cuda(list(args))))
    assert_match(got, want, rtol=rtol, atol=atol)


# (N, C, H, W), (K, C/groups, R, S), stride, padding, dilation, groups
CASES = [
    ((1, 1, 1, 1), (1, 1, 1, 1), 1, 0, 1, 1),
    ((2, 3, 7, 9), (5, 3, 3, 3), 1, 1, 1, 1),
    ((2, 3, 13, 11), (4, 3, 3, 2), 2, (1, 0), 1, 1),
    ((1, 4, 12, 10), (6, 2, 3, 3), 1, 2, 2, 2),          # groups, dilation
    ((2, 6, 9, 9), (6, 1, 3, 3), 2, 1, 1, 6),             # depthwise, strided
    ((3, 8, 5, 17), (16, 8, 1, 1), 1, 0, 1, 1),           # 1x1
    ((2, 5, 8, 8), (7, 5, 5, 5), 3, 2, 1, 1),             # stride 3: dx elements no window reaches
    ((1, 70, 9, 9), (66, 70, 3, 3), 1, 1, 1, 1),          # more than one 64-tile of channels
    ((4, 8, 40, 40), (16, 8, 3, 3), 1, 0, 1, 1),          # grad weight splits its reduction
]


def geom(case):
    xs, ws, stride, padding, dilation, groups = case
    two = lambda v: list(v) if isinstance(v, tuple) else [v, v]
    return xs, ws, two(stride), two(padding), two(dilation), groups


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("case", CASES)
def test_conv2d_forward(case, layout):
    xs, ws, stride, padding, dilation, groups = geom(case)
    x, w, b = rand(xs), rand(ws, seed=1), rand((ws[0],), seed=2)
    if layout == "channels_last":
        x = channels_last(x)
    k = ws[1] * ws[2] * ws[3]
    check64(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups), x, w, b, **tols("float32", k))
    check64(lambda x, w: F.conv2d(x, w, None, stride, padding, dilation, groups), x, w, **tols("float32", k))


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_dtypes(dtype):
    x, w, b = rand((2, 4, 11, 13), dtype), rand((6, 2, 3, 3), dtype, 1), rand((6,), dtype, 2)
    check(lambda x, w, b: F.conv2d(x, w, b, 2, 1, 1, 2), x, w, b, **tols(dtype, 18))
    check(lambda x, w: F.conv2d(x, w, padding="same"), x, rand((6, 4, 3, 3), dtype, 1), **tols(dtype, 36))


def bwd_input(dy, w, xshape, stride, padding, dilation, groups):
    return wrap(pyml._C.conv_backward_input(dy._impl, w._impl, list(xshape), stride, padding, padding, dilation,
                                            groups))


def bwd_weight(dy, x, wshape, stride, padding, dilation, groups):
    return wrap(pyml._C.conv_backward_weight(dy._impl, x._impl, list(wshape), stride, padding, padding, dilation,
                                             groups))


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("case", CASES)
def test_conv2d_backward_entries(case, layout):
    """The grad-input and grad-weight kernels directly, on a random grad_output."""
    xs, ws, stride, padding, dilation, groups = geom(case)
    x, w = rand(xs), rand(ws, seed=1)
    if layout == "channels_last":
        x = channels_last(x)
    dy = rand(tuple(F.conv2d(x, w, None, stride, padding, dilation, groups).shape), seed=3)
    kin = ws[0] // groups * ws[2] * ws[3]
    check64(lambda dy, w: bwd_input(dy, w, xs, stride, padding, dilation, groups), dy, w, **tols("float32", kin))
    kw = dy.shape[0] * dy.shape[2] * dy.shape[3]
    check64(lambda dy, x: bwd_weight(dy, x, ws, stride, padding, dilation, groups), dy, x, **tols("float32", kw))


def test_conv2d_backward_entries_float64_and_half():
    x, w = rand((2, 4, 9, 8), "float64"), rand((6, 2, 3, 3), "float64", 1)
    dy = rand((2, 6, 5, 4), "float64", 3)
    check(lambda dy, w: bwd_input(dy, w, x.shape, [2, 2], [1, 1], [1, 1], 2), dy, w)
    check(lambda dy, x: bwd_weight(dy, x, w.shape, [2, 2], [1, 1], [1, 1], 2), dy, x)
    h = lambda t: t.to(pyml.float16)
    check(lambda dy, w: bwd_input(dy, w, x.shape, [2, 2], [1, 1], [1, 1], 2), h(dy), h(w), **tols("float16", 27))
    check(lambda dy, x: bwd_weight(dy, x, w.shape, [2, 2], [1, 1], [1, 1], 2), h(dy), h(x), **tols("float16", 40))


@pytest.mark.parametrize("case", CASES[:7])
def test_conv2d_grads(case):
    xs, ws, stride, padding, dilation, groups = geom(case)
    x, w, b = rand(xs).requires_grad_(), rand(ws, seed=1).requires_grad_(), rand((ws[0],), seed=2).requires_grad_()
    check_grads(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups), x, w, b,
                **tols("float32", 4096))


@pytest.mark.parametrize("stride,padding,dilation,groups", itertools.product([1, 2], [0, 2], [1, 3], [1, 3]))
def test_conv1d(stride, padding, dilation, groups):
    x, w, b = rand((2, 6, 31)), rand((9, 6 // groups, 4), seed=1), rand((9,), seed=2)
    check(lambda x, w, b: F.conv1d(x, w, b, stride, padding, dilation, groups), x, w, b, **tols("float32", 24))
    check(lambda x, w: F.conv1d(x[0], w, None, stride, padding, dilation, groups), x, w, **tols("float32", 24))


@pytest.mark.parametrize("stride,padding,output_padding,dilation,groups", [
    (1, 0, 0, 1, 1), (2, 1, 1, 1, 1), (3, 2, 2, 2, 1), (2, 0, 1, 1, 2), (2, 1, 0, 1, 4), ((2, 3), (0, 1), (1, 2), 1, 1),
])
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_conv_transpose2d(stride, padding, output_padding, dilation, groups, dtype):
    # weight (in_channels, out_channels / groups, kH, kW): 3 output channels per group
    x, w, b = rand((2, 4, 7, 6), dtype), rand((4, 3, 3, 4), dtype, 1), rand((3 * groups,), dtype, 2)
    fn = lambda x, w, b: F.conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation)
    check(fn, x, w, b, **tols(dtype, 48))
    check(lambda x, w: F.conv_transpose2d(x, w, None, stride, padding, output_padding, groups, dilation), x, w,
          **tols(dtype, 48))


def test_conv_transpose_grads():
    x, w, b = rand((2, 4, 5, 6)).requires_grad_(), rand((4, 3, 3, 3), seed=1).requires_grad_(), \
        rand((3,), seed=2).requires_grad_()
    check_grads(lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 1, 1), x, w, b, **tols("float32", 512))
    x1, w1 = rand((2, 4, 9)).requires_grad_(), rand((4, 2, 3), seed=1).requires_grad_()
    check_grads(lambda x, w: F.conv_transpose1d(x, w, None, 2, 1, 1, 2), x1, w1, **tols("float32", 64))


@pytest.mark.parametrize("kernel,dilation,padding,stride", [
    ((1, 1), 1, 0, 1), ((3, 3), 1, 1, 1), ((2, 3), (2, 1), (1, 0), (2, 3)), ((4, 4), 1, 2, 3),
])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_unfold_fold(kernel, dilation, padding, stride, dtype):
    x = rand((2, 3, 11, 9), dtype)
    check(lambda x: F.unfold(x, kernel, dilation, padding, stride), x)
    check(lambda x: F.unfold(x, kernel, dilation, padding, stride), channels_last(x))
    check(lambda x: F.unfold(x[0], kernel, dilation, padding, stride), x)
    cols = F.unfold(x, kernel, dilation, padding, stride)
    c = rand(tuple(cols.shape), dtype, 1)
    check(lambda c: F.fold(c, (11, 9), kernel, dilation, padding, stride), c, **tols(dtype, 16))
    check(lambda c: F.fold(c[0], (11, 9), kernel, dilation, padding, stride), c, **tols(dtype, 16))


def test_asymmetric_padding():
    """'same' with an even kernel pads more at the bottom/right; a pad_hi below padding crops (the
    adjoint of conv_transpose with output_padding uses that)."""
    x, w = rand((2, 3, 10, 9)), rand((4, 3, 4, 2), seed=1)
    check64(lambda x, w: F.conv2d(x, w, padding="same"), x, w, **tols("float32", 24))
    geo = ([2, 2], [1, 2], [0, -1], [1, 1], 1)  # stride, padding, pad_hi, dilation, groups
    fwd = lambda x, w: wrap(pyml._C.conv_forward(x._impl, w._impl, None, *geo))
    check64(fwd, x, w, **tols("float32", 24))
    dy = rand(tuple(fwd(x, w).shape), seed=2)
    check64(lambda dy, w: wrap(pyml._C.conv_backward_input(dy._impl, w._impl, list(x.shape), *geo)), dy, w,
            **tols("float32", 32))
    check64(lambda dy, x: wrap(pyml._C.conv_backward_weight(dy._impl, x._impl, list(w.shape), *geo)), dy, x,
            **tols("float32", 40))


def test_empty_batch_and_channels():
    check(lambda x, w: F.conv2d(x, w, None, 1, 1), rand((0, 3, 5, 5)), rand((4, 3, 3, 3), seed=1))
    dy, x = rand((0, 4, 5, 5)), rand((0, 3, 5, 5), seed=1)
    check(lambda dy, x: bwd_weight(dy, x, (4, 3, 3, 3), [1, 1], [1, 1], [1, 1], 1), dy, x)  # zeros


def test_errors_match_cpu():
    x, w = rand((1, 3, 5, 5)), rand((4, 3, 3, 3), seed=1)
    with pytest.raises(RuntimeError, match="conv2d: expected all tensors to be on the same device, got cuda:0 and cpu"):
        F.conv2d(x.cuda(), w)
    with pytest.raises(RuntimeError, match="same device"):
        F.conv2d(x.cuda(), w.cuda(), rand((4,)))
    with pytest.raises(RuntimeError, match="same device"):
        bwd_input(rand((1, 4, 3, 3)), w.cuda(), x.shape, [1, 1], [0, 0], [1, 1], 1)
    for dev in ("cpu", "cuda"):
        with pytest.raises(ValueError, match=r"input channels \(3\) must equal weight.shape\[1\]\*groups \(2\)"):
            F.conv2d(x.to(dev), rand((4, 2, 3, 3)).to(dev))
        with pytest.raises(TypeError, match="floating-point"):
            F.conv2d(x.to(dev).int(), w.to(dev).int())


# ------------------------------------------------------------------------------------- 3-D (cuda/conv3d.cu)
def channels_last3d(t):
    """Same values, (N, C, D, H, W) viewed from an (N, D, H, W, C) buffer."""
    return t.permute(0, 2, 3, 4, 1).contiguous().permute(0, 4, 1, 2, 3)


# (N, C, D, H, W), (K, C/groups, T, R, S), stride, padding, dilation, groups
CASES_3D = [
    ((1, 1, 1, 1, 1), (1, 1, 1, 1, 1), [1] * 3, [0] * 3, [1] * 3, 1),
    ((2, 3, 5, 7, 4), (5, 3, 3, 3, 2), [1, 2, 1], [1, 1, 0], [1, 1, 2], 1),
    ((1, 4, 7, 5, 6), (6, 2, 2, 3, 3), [2, 1, 3], [0, 2, 1], [2, 1, 1], 2),   # groups, dilation
    ((2, 4, 5, 5, 3), (4, 1, 3, 3, 3), [1, 1, 1], [1, 1, 1], [1, 1, 1], 4),   # depthwise
    ((2, 2, 13, 13, 13), (3, 2, 3, 3, 3), [1, 1, 1], [0, 0, 0], [1, 1, 1], 1),  # grad weight splits its reduction
]


@pytest.mark.parametrize("layout", ["ncdhw", "channels_last"])
@pytest.mark.parametrize("case", CASES_3D)
def test_conv3d_forward_and_backward_entries(case, layout):
    xs, ws, stride, padding, dilation, groups = case
    x, w, b = rand(xs), rand(ws, seed=1), rand((ws[0],), seed=2)
    if layout == "channels_last":
        x = channels_last3d(x)
    k = ws[1] * ws[2] * ws[3] * ws[4]
    check64(lambda x, w, b: F.conv3d(x, w, b, stride, padding, dilation, groups), x, w, b, **tols("float32", k))
    dy = rand(tuple(F.conv3d(x, w, None, stride, padding, dilation, groups).shape), seed=3)
    kin = ws[0] // groups * ws[2] * ws[3] * ws[4]
    check64(lambda dy, w: bwd_input(dy, w, xs, stride, padding, dilation, groups), dy, w, **tols("float32", kin))
    kw = dy.shape[0] * dy.shape[2] * dy.shape[3] * dy.shape[4]
    check64(lambda dy, x: bwd_weight(dy, x, ws, stride, padding, dilation, groups), dy, x, **tols("float32", kw))


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv3d_dtypes_and_unbatched(dtype):
    x, w, b = rand((2, 4, 5, 4, 6), dtype), rand((6, 2, 3, 2, 3), dtype, 1), rand((6,), dtype, 2)
    check(lambda x, w, b: F.conv3d(x, w, b, 2, 1, 1, 2), x, w, b, **tols(dtype, 36))
    check(lambda x, w: F.conv3d(x[1], w, padding="same", groups=2), x, w, **tols(dtype, 36))


@pytest.mark.parametrize("stride,padding,output_padding,dilation,groups", [
    (1, 0, 0, 1, 1), (2, 1, 1, 1, 2), ((2, 1, 3), (0, 1, 1), (1, 0, 2), (1, 2, 1), 1),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv_transpose3d(stride, padding, output_padding, dilation, groups, dtype):
    x, w, b = rand((2, 4, 3, 4, 2), dtype), rand((4, 3, 3, 2, 3), dtype, 1), rand((3 * groups,), dtype, 2)
    fn = lambda x, w, b: F.conv_transpose3d(x, w, b, stride, padding, output_padding, groups, dilation)
    check(fn, x, w, b, **tols(dtype, 54))
    check(lambda x, w: F.conv_transpose3d(x[0], w, None, stride, padding, output_padding, groups, dilation), x, w,
          **tols(dtype, 54))


def test_conv3d_grads():
    x, w, b = rand((2, 4, 4, 5, 3)).requires_grad_(), rand((6, 2, 3, 3, 2), seed=1).requires_grad_(), \
        rand((6,), seed=2).requires_grad_()
    check_grads(lambda x, w, b: F.conv3d(x, w, b, (1, 2, 1), 1, 1, 2), x, w, b, **tols("float32", 512))
    xt, wt = rand((2, 4, 3, 2, 3)).requires_grad_(), rand((4, 2, 2, 3, 2), seed=1).requires_grad_()
    check_grads(lambda x, w: F.conv_transpose3d(x, w, None, 2, 1, 1), xt, wt, **tols("float32", 512))


def test_conv3d_errors_match_cpu():
    x, w = rand((1, 3, 4, 5, 5)), rand((4, 3, 3, 3, 3), seed=1)
    with pytest.raises(RuntimeError, match="conv3d: expected all tensors to be on the same device, got cuda:0 and cpu"):
        F.conv3d(x.cuda(), w)
    for dev in ("cpu", "cuda"):
        with pytest.raises(ValueError, match=r"conv3d: input channels \(3\) must equal weight.shape\[1\]\*groups "
                                             r"\(2\)"):
            F.conv3d(x.to(dev), rand((4, 2, 3, 3, 3)).to(dev))
