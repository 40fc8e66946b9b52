"""Tensor-core convolutions (cuda/conv2d_tc.cu) and the depthwise kernels (cuda/conv2d.cu):
float16/bfloat16, and float32 as TF32 behind pyml.backends.cudnn.allow_tf32, forward and both
gradients, NCHW / channels_last / strided inputs, odd channel counts (3, 7, 33), odd spatial sizes,
stride, padding, dilation, groups, depthwise, empty batches. Low precision is judged against the
float64 result of the same (rounded) inputs: the CUDA error may be at most ~2x the error of the
CPU kernel in the same dtype (a naive same-precision reference); TF32 at most ~2x the error of
tf32-rounded inputs computed in float64."""
import numpy as np
import pytest

import pyml
import pyml.nn.functional as F
from cuda_compare import to_cuda, to_host

# (N, C, H, W), (K, C/groups, R, S), stride, padding, dilation, groups
CASES = [
    ((2, 3, 9, 9), (7, 3, 3, 3), 1, 1, 1, 1),          # odd C and K; M = 162 > one 128-row tile
    ((1, 33, 6, 5), (7, 33, 3, 3), 2, 1, 1, 1),        # C = 33 (padded to 40), stride 2, odd sizes
    ((2, 8, 7, 9), (16, 8, 3, 3), 1, 0, 1, 1),         # C a multiple of 8: channels_last read in place
    ((1, 16, 9, 8), (8, 16, 3, 3), 2, 2, 2, 1),        # dilation and padding with stride
    ((1, 16, 7, 7), (12, 4, 3, 3), 1, 1, 1, 4),        # groups (Cg = 4, Kg = 3)
    ((2, 32, 5, 5), (16, 16, 1, 1), 1, 0, 1, 2),       # 1x1, two groups of 16
    ((1, 8, 11, 11), (8, 1, 3, 3), 2, 1, 1, 8),        # depthwise
    ((1, 3, 15, 13), (9, 3, 7, 7), 2, 3, 1, 1),        # the ResNet stem's shape, small
    ((1, 136, 3, 3), (130, 136, 1, 1), 1, 0, 1, 1),    # two 128-column tiles, reduction > one step
    ((4, 8, 16, 16), (8, 8, 3, 3), 1, 1, 1, 1),        # grad weight splits its reduction
]
LOWP = ["bfloat16", "float16"]


@pytest.fixture
def tf32():
    old = pyml.backends.cudnn.allow_tf32
    pyml.backends.cudnn.allow_tf32 = True
    yield
    pyml.backends.cudnn.allow_tf32 = old


def rand(shape, dtype, seed):
    return pyml.tensor(np.random.default_rng(seed).standard_normal(shape)).to(getattr(pyml, dtype))


def channels_last(t):
    return t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)


def two(v):
    return list(v) if isinstance(v, tuple) else [v, v]


def run(x, w, b, g, case):
    """(y, dx, dw, db) of conv2d(x, w, b) against the output weights g."""
    _, _, stride, padding, dilation, groups = case
    x, w, b = [t.detach().requires_grad_() for t in (x, w, b)]
    y = F.conv2d(x, w, b, two(stride), two(padding), two(dilation), groups)
    (y * g).sum().backward()
    return [to_host(t).double().numpy() for t in (y, x.grad, w.grad, b.grad)]


def rel(a, ref):
    return np.linalg.norm(a - ref) / max(np.linalg.norm(ref), 1e-30)


def inputs(case, dtype, layout, seed=0):
    xs, ws = case[0], case[1]
    x, w, b = rand(xs, dtype, seed), rand(ws, dtype, seed + 1), rand((ws[0],), dtype, seed + 2)
    if layout == "channels_last":
        x = channels_last(x)
    elif layout == "strided":  # every other column of a wider buffer
        wide = rand(xs[:3] + (2 * xs[3],), dtype, seed)
        x = wide[:, :, :, ::2]
    yshape = F.conv2d(x.float(), w.float(), None, two(case[2]), two(case[3]), two(case[4]), case[5]).shape
    return x, w, b, rand(tuple(yshape), dtype, seed + 3)


def compare(case, dtype, layout, naive, slack=2.0):
    """CUDA's (y, dx, dw, db) error vs float64 is at most `slack` times the naive reference's."""
    x, w, b, g = inputs(case, dtype, layout)
    ref = run(*[t.double() for t in (x, w, b, g)], case)
    got = run(*to_cuda([x, w, b, g]), case)
    base = naive(x, w, b, g)
    for name, r, c, n in zip(("y", "dx", "dw", "db"), ref, got, base):
        assert c.shape == r.shape and np.isfinite(c).all(), name
        e, en = rel(c, r), rel(n, r)
        assert e <= slack * en + 1e-6, f"{name}: CUDA error {e:.3g} vs naive {en:.3g} ({dtype}, {layout})"


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("dtype", LOWP)
@pytest.mark.parametrize("case", CASES)
def test_conv_lowp(case, dtype, layout):
    compare(case, dtype, layout, lambda *t: run(*t, case))  # the CPU kernel in the same dtype


def tf32_round(t):
    """float32 values rounded to TF32 (10-bit mantissa, ties away from zero), as float64."""
    u = t.detach().numpy().astype(np.float32).view(np.uint32)
    return pyml.tensor(((u + np.uint32(0x1000)) & np.uint32(0xFFFFE000)).view(np.float32).astype(np.float64))


def tf32_naive(case):
    """float64 products of tf32-rounded operands: each GEMM rounds both of its inputs, so the
    backward products round g too (and x or w as the other operand)."""
    def f(x, w, b, g):
        return run(tf32_round(x), tf32_round(w), b.double(), tf32_round(g), case)
    return f


@pytest.mark.parametrize("layout", ["nchw", "channels_last", "strided"])
@pytest.mark.parametrize("case", CASES)
def test_conv_tf32(case, layout, tf32):
    naive = tf32_naive(case)
    compare(case, "float32", layout, naive)


def test_tf32_switch_changes_float32():
    """allow_tf32 off: float32 convs run the exact kernels; on: the TF32 ones (different rounding)."""
    case = CASES[2]
    x, w, b, g = to_cuda(list(inputs(case, "float32", "channels_last")))
    assert pyml.backends.cudnn.allow_tf32 is False
    exact = run(x, w, b, g, case)
    pyml.backends.cudnn.allow_tf32 = True
    try:
        fast = run(x, w, b, g, case)
    finally:
        pyml.backends.cudnn.allow_tf32 = False
    ref = run(*[to_host(t).double() for t in (x, w, b, g)], case)
    assert rel(exact[0], ref[0]) < 1e-6 and 1e-6 < rel(fast[0], ref[0]) < 3e-3


@pytest.mark.parametrize("dtype", LOWP)
def test_strided_input_lowp(dtype):
    case = CASES[1]
    compare(case, dtype, "strided", lambda *t: run(*t, case))


@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
def test_depthwise_dtypes(dtype):
    case = ((2, 6, 10, 9), (6, 1, 5, 3), (2, 1), (2, 1), (1, 2), 6)
    for layout in ("nchw", "channels_last"):
        if dtype == "float32":  # the depthwise kernels are exact float32 loops: plain tolerance
            x, w, b, g = inputs(case, dtype, layout)
            ref = run(*[t.double() for t in (x, w, b, g)], case)
            for r, c in zip(ref, run(*to_cuda([x, w, b, g]), case)):
                assert rel(c, r) < 1e-6
        else:
            compare(case, dtype, layout, lambda *t: run(*t, case))


@pytest.mark.parametrize("dtype", LOWP + ["float32"])
def test_empty_batch(dtype, tf32):
    x, w = rand((0, 8, 5, 5), dtype, 0).cuda(), rand((4, 8, 3, 3), dtype, 1).cuda()
    x.requires_grad_()
    w.requires_grad_()
    y = F.conv2d(x, w, None, 1, 1)
    assert tuple(y.shape) == (0, 4, 5, 5)
    y.sum().backward()
    assert np.all(to_host(w.grad).float().numpy() == 0)


@pytest.mark.parametrize("dtype", LOWP)
def test_conv_transpose_lowp(dtype):
    """conv_transpose2d's forward is the dgrad kernel with the bias in its epilogue."""
    x, w, b = rand((2, 12, 5, 6), dtype, 0), rand((12, 5, 3, 3), dtype, 1), rand((10,), dtype, 2)
    fn = lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 1, 1, 2)
    ref = to_host(fn(x.double(), w.double(), b.double())).numpy()
    got = to_host(fn(*to_cuda([x, w, b]))).double().numpy()
    naive = to_host(fn(x, w, b)).double().numpy()
    assert rel(got, ref) <= 2 * rel(naive, ref) + 1e-6


def test_half_output_dtype():
    x, w = rand((1, 3, 5, 5), "float16", 0).cuda(), rand((4, 3, 3, 3), "float16", 1).cuda()
    assert F.conv2d(x, w).dtype == pyml.float16


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("dtype", LOWP)
def test_pointwise_gemm_path(dtype, layout):
    """1x1 stride-1 convs without bias run on the GEMM kernel (forward and grad input)."""
    # H*W = 24: rows of 16 bytes, as the GEMM kernel needs for an NCHW operand
    x, w, g = rand((2, 16, 4, 6), dtype, 0), rand((24, 16, 1, 1), dtype, 1), rand((2, 24, 4, 6), dtype, 3)
    if layout == "channels_last":
        x = channels_last(x)

    def f(x, w, g):
        x, w = x.detach().requires_grad_(), w.detach().requires_grad_()
        y = F.conv2d(x, w)
        (y * g).sum().backward()
        return [to_host(t).double().numpy() for t in (y, x.grad, w.grad)]
    ref, got, naive = f(x.double(), w.double(), g.double()), f(*to_cuda([x, w, g])), f(x, w, g)
    for r, c, n in zip(ref, got, naive):
        assert rel(c, r) <= 2 * rel(n, r) + 1e-6


@pytest.mark.parametrize("dtype", LOWP + ["float32", "float64"])
def test_channels_last_output_and_strided_grad(dtype):
    """A channels_last x gives a channels_last y on CUDA (as in torch); the backward entries read
    dy through any strides: channels_last, and expanded (stride 0, as sum() hands back)."""
    x, w = channels_last(rand((2, 16, 6, 5), dtype, 0)), rand((8, 16, 3, 3), dtype, 1)
    y = F.conv2d(*to_cuda([x, w]), None, 1, 1)
    assert y.stride() == (6 * 5 * 8, 1, 5 * 8, 8)
    for make in (lambda t: channels_last(t), lambda t: t[:, :, :1, :1].expand(*t.shape)):
        dy = make(rand((2, 8, 6, 5), dtype, 3))
        for fn in (lambda dy, w, x: pyml._C.conv_backward_input(dy._impl, w._impl, list(x.shape), [1, 1], [1, 1],
                                                                 [1, 1], [1, 1], 1),
                   lambda dy, w, x: pyml._C.conv_backward_weight(dy._impl, x._impl, list(w.shape), [1, 1], [1, 1],
                                                                  [1, 1], [1, 1], 1)):
            from pyml._tensor import wrap
            want = wrap(fn(dy.double(), w.double(), x.double())).numpy()
            got = to_host(wrap(fn(*to_cuda([dy, w, x])))).double().numpy()
            naive = wrap(fn(dy, w, x)).double().numpy()
            tol = 1e-6 if dtype in ("float32", "float64") else 2 * rel(naive, want) + 1e-6
            assert rel(got, want) <= tol
