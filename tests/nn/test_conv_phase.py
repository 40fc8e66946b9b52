"""The float32 convolution by shift planes (csrc/cpu/conv_phase.cpp) against torch in float64:
output, grad-input and grad-weight for strides 1-3 (unequal per dim), non-square kernels smaller
and larger than the stride (phases without taps), paddings 0-3, odd image sizes whose rows leave
partial 16-float vectors and 48-column slivers, contiguous / strided / channels_last inputs,
conv_transpose2d (which runs the same kernels the other way round), uninitialised gradient
buffers, and thread-count independence.

The engine takes this path for float32 convs without dilation or groups, with at least 16 input
and output channels, strided or with a kernel other than 1x1 (3x3 stride 1 goes to Winograd first),
on AVX-512 CPUs; elsewhere the same cases check im2col.
"""
import numpy as np
import pytest
import torch

import pyml
import pyml.nn.functional as F

REL = 2e-5  # max |error| / max |float64 result|


def assert_near(got, want, name):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, (name, got.shape, want.shape)
    scale = max(float(np.abs(want).max()), 1e-30)
    err = float(np.abs(got - want).max()) / scale
    assert err <= REL, f"{name}: max error {err:.2e} of the scale {scale:.3g} exceeds {REL}"


def make_x(a, layout):
    """pyml float32 (N, C, H, W) holding a, stored contiguously, with a stride-2 last dim, or NHWC."""
    if layout == "strided":
        wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=np.float32)
        wide[..., ::2] = a
        return pyml.tensor(wide)[..., ::2]
    if layout == "channels_last":
        return pyml.tensor(np.ascontiguousarray(a.transpose(0, 2, 3, 1)).astype(np.float32)).permute(0, 3, 1, 2)
    return pyml.tensor(a.astype(np.float32))


def reference(x, w, b, dy, stride, pad):
    """torch float64 (y, dx, dw, db)."""
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y = torch.nn.functional.conv2d(tx, tw, tb, stride, pad)
    y.backward(torch.tensor(dy))
    return [t.detach().numpy() for t in (y, tx.grad, tw.grad, tb.grad)]


def case_inputs(seed, n, c, k, h, wd, r, s, stride, pad):
    rng = np.random.default_rng(seed)
    f32 = lambda a: a.astype(np.float32).astype(np.float64)
    x, w = f32(rng.standard_normal((n, c, h, wd))), f32(rng.standard_normal((k, c, r, s)) / np.sqrt(c * r * s))
    b = f32(rng.standard_normal(k))
    P = (h + 2 * pad[0] - r) // stride[0] + 1
    Q = (wd + 2 * pad[1] - s) // stride[1] + 1
    return x, w, b, f32(rng.standard_normal((n, k, P, Q)))


def run_pyml(x, w, b, dy, stride, pad, layout="contiguous"):
    xt = make_x(x, layout).detach().requires_grad_()
    wt, bt = (pyml.tensor(a.astype(np.float32)).requires_grad_() for a in (w, b))
    y = F.conv2d(xt, wt, bt, stride=stride, padding=pad)
    y.backward(pyml.tensor(dy.astype(np.float32)))
    return [t.detach().numpy() for t in (y, xt.grad, wt.grad, bt.grad)]


# (N, C, K, H, W, R, S, stride, padding)
CASES = [
    (2, 16, 16, 9, 11, 3, 3, (2, 2), (1, 1)),
    (1, 17, 19, 14, 13, 3, 3, (2, 2), (0, 1)),
    (3, 32, 16, 20, 21, 3, 3, (3, 2), (1, 2)),
    (2, 16, 33, 15, 15, 1, 1, (2, 2), (0, 0)),     # 1x1 downsample: one phase of four
    (1, 20, 24, 17, 18, 5, 4, (2, 3), (2, 1)),
    (2, 16, 16, 7, 8, 2, 2, (3, 3), (0, 0)),       # kernel smaller than the stride: empty phases
    (1, 16, 16, 3, 3, 3, 3, (2, 2), (1, 1)),
    (1, 16, 20, 9, 131, 3, 3, (2, 2), (3, 1)),     # wide rows: several slivers and vectors per row
    (2, 48, 40, 28, 28, 3, 3, (2, 2), (1, 1)),
    (2, 16, 16, 12, 13, 5, 5, (1, 1), (0, 0)),     # stride 1, no padding: dx written by the GEMM itself
    (1, 16, 24, 11, 9, 5, 3, (1, 1), (2, 1)),      # stride 1, padded: one phase copied out
    (2, 40, 16, 10, 10, 7, 7, (1, 1), (3, 3)),     # more than 4 output-channel panels (packed slivers)
]


@pytest.mark.parametrize("n,c,k,h,w,r,s,stride,pad", CASES)
def test_matches_torch_float64(n, c, k, h, w, r, s, stride, pad):
    x, wt, b, dy = case_inputs(n * 7 + c + h, n, c, k, h, w, r, s, stride, pad)
    for name, got, want in zip(("output", "grad input", "grad weight", "grad bias"),
                               run_pyml(x, wt, b, dy, stride, pad), reference(x, wt, b, dy, stride, pad)):
        assert_near(got, want, name)


@pytest.mark.parametrize("layout", ["strided", "channels_last"])
def test_noncontiguous_input(layout):
    args = (2, 17, 16, 13, 19, 3, 3, (2, 2), (1, 1))
    x, wt, b, dy = case_inputs(5, *args)
    want = reference(x, wt, b, dy, args[7], args[8])
    for name, got, ref in zip(("output", "grad input", "grad weight"), run_pyml(x, wt, b, dy, args[7], args[8], layout),
                              want):
        assert_near(got, ref, name)


# (stride, padding, dilation, groups, dtype): phase path strided and stride-1 in place, and the
# im2col path (dilated, grouped, float64), which zeroes its own dx planes
UNZEROED = [((2, 2), (1, 1), 1, 1, np.float32), ((1, 1), (0, 0), 1, 1, np.float32),
            ((1, 1), (2, 2), 2, 1, np.float32), ((2, 1), (1, 1), 1, 2, np.float32), ((2, 2), (1, 1), 1, 1, np.float64)]


@pytest.mark.parametrize("stride,pad,dil,groups,dtype", UNZEROED)
def test_grad_input_buffer_need_not_be_zero(stride, pad, dil, groups, dtype):
    """The grad-input kernels write every element of dx: a recycled NaN-filled buffer changes nothing."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 16, 30, 30))
    w = rng.standard_normal((16, 16 // groups, 5, 5)) / 20
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w)
    ty = torch.nn.functional.conv2d(tx, tw, None, stride, pad, dil, groups)
    dy = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(dy))
    for _ in range(3):
        junk = pyml.full(x.shape, float("nan"), dtype=pyml.float32 if dtype == np.float32 else pyml.float64)
        del junk
        dx = pyml._C.conv_backward_input(pyml.tensor(dy.astype(dtype))._impl, pyml.tensor(w.astype(dtype))._impl,
                                         list(x.shape), list(stride), list(pad), list(pad), [dil, dil], groups)
        assert_near(pyml._tensor.wrap(dx).numpy(), tx.grad.numpy(), "grad input")


def test_conv_transpose_stride2():
    """conv_transpose2d's forward is the conv's grad-input pass, its grad-input the conv's forward."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 24, 11, 12)).astype(np.float32).astype(np.float64)
    w = (rng.standard_normal((24, 16, 3, 3)) / 12).astype(np.float32).astype(np.float64)  # (Cin, Cout, R, S)
    b = rng.standard_normal(16).astype(np.float32).astype(np.float64)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.conv_transpose2d(tx, tw, tb, stride=2, padding=1, output_padding=1)
    g = rng.standard_normal(tuple(ty.shape)).astype(np.float32).astype(np.float64)
    ty.backward(torch.tensor(g))
    xt, wt, bt = (pyml.tensor(a.astype(np.float32)).requires_grad_() for a in (x, w, b))
    y = F.conv_transpose2d(xt, wt, bt, stride=2, padding=1, output_padding=1)
    y.backward(pyml.tensor(g.astype(np.float32)))
    for name, got, want in (("output", y, ty), ("grad input", xt.grad, tx.grad), ("grad weight", wt.grad, tw.grad)):
        assert_near(got.detach().numpy(), want.detach().numpy(), name)


def test_thread_count():
    """Forward and grad-input do not depend on the thread count (each output band's sums run in a
    fixed order); grad-weight adds per-thread partial sums, so it agrees within rounding."""
    x, wt, b, dy = case_inputs(11, 3, 16, 17, 27, 26, 3, 3, (2, 2), (1, 1))
    before = pyml.get_num_threads()
    try:
        pyml.set_num_threads(1)
        one = run_pyml(x, wt, b, dy, (2, 2), (1, 1))
        pyml.set_num_threads(2)
        two = run_pyml(x, wt, b, dy, (2, 2), (1, 1))
    finally:
        pyml.set_num_threads(before)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
    np.testing.assert_allclose(two[2], one[2], rtol=0, atol=1e-5 * np.abs(one[2]).max())
