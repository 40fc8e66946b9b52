"""The fast float32 3x3 stride-1 convolution (Winograd F(4x4, 3x3), csrc/cpu/conv_winograd.cpp)
against a NumPy float64 direct convolution: output, grad-input and grad-weight on odd image sizes
(partial edge tiles), channel counts that are not multiples of the 16-lane tile groups or the
8-row GEMM panels, paddings 0-3, bias, non-contiguous inputs, a 256-channel accuracy case, the
transposed conv that runs the same kernels, and thread-count independence. Also the float32
im2col path with its filters packed once for the same GEMM kernel (strided, dilated, grouped, 1x1).

The engine picks Winograd when both channel counts are >= 2 and the pass has enough 4x4 tiles per
filter (N * ceil(P/4) * ceil(Q/4) >= K*C/2048, at least 4; the weight gradient >= K*C/1024 within
[16, 64]); the other cases below (one channel, 1x1 images) check the im2col path they fall back to.
"""
import itertools

import numpy as np
import pytest

import pyml
import pyml.nn.functional as F

REL = 1e-4  # max |error| / max |float64 result|: F(4x4, 3x3) in float32 stays near 1e-5


def direct_conv(x, w, b, pad):
    """float64 y (N, K, P, Q) = sum over c, r, s of x_padded[n, c, p + r, q + s] * w[k, c, r, s] + b[k]."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    P, Q = xp.shape[2] - 2, xp.shape[3] - 2
    y = np.zeros((x.shape[0], w.shape[0], P, Q))
    for r in range(3):
        for s in range(3):
            y += np.einsum("ncpq,kc->nkpq", xp[:, :, r:r + P, s:s + Q], w[:, :, r, s], optimize=True)
    return y + b[None, :, None, None]


def windows(xp, r, s, dil, stride, P, Q):
    """xp[:, :, r*dil + stride*p, s*dil + stride*q] for p < P, q < Q (a view)."""
    return xp[:, :, r * dil:r * dil + stride * (P - 1) + 1:stride, s * dil:s * dil + stride * (Q - 1) + 1:stride]


def general_conv(x, w, b, dy, stride, pad, dil, groups):
    """float64 grouped, strided, dilated direct convolution -> (y, dx, dw); dy may be None."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    K, Cg, R, S = w.shape
    P = (xp.shape[2] - dil * (R - 1) - 1) // stride + 1
    Q = (xp.shape[3] - dil * (S - 1) - 1) // stride + 1
    y, dxp, dw, Kg = np.zeros((x.shape[0], K, P, Q)), np.zeros_like(xp), np.zeros_like(w), K // groups
    for g, r, s in itertools.product(range(groups), range(R), range(S)):
        ks, cs = slice(g * Kg, (g + 1) * Kg), slice(g * Cg, (g + 1) * Cg)
        win = windows(xp[:, cs], r, s, dil, stride, P, Q)
        y[:, ks] += np.einsum("ncpq,kc->nkpq", win, w[ks, :, r, s], optimize=True)
        if dy is not None:
            dw[ks, :, r, s] = np.einsum("nkpq,ncpq->kc", dy[:, ks], win, optimize=True)
            windows(dxp[:, cs], r, s, dil, stride, P, Q)[...] += np.einsum("nkpq,kc->ncpq", dy[:, ks], w[ks, :, r, s],
                                                                            optimize=True)
    dx = dxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    return y + b[None, :, None, None], dx, dw


def direct_grads(x, w, dy, pad):
    """float64 (dx, dw, db) of direct_conv for the upstream gradient dy."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    P, Q = dy.shape[2], dy.shape[3]
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for r in range(3):
        for s in range(3):
            dw[:, :, r, s] = np.einsum("nkpq,ncpq->kc", dy, xp[:, :, r:r + P, s:s + Q], optimize=True)
            dxp[:, :, r:r + P, s:s + Q] += np.einsum("nkpq,kc->ncpq", dy, w[:, :, r, s], optimize=True)
    H, W = x.shape[2], x.shape[3]
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, dy.sum(axis=(0, 2, 3))


def assert_near(got, want, name):
    """Error bound relative to the result's scale (long float32 sums lose absolute digits)."""
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == want.shape, (name, got.shape, want.shape)
    scale = max(float(np.abs(want).max()), 1e-30)
    err = float(np.abs(got - want).max()) / scale
    assert err <= REL, f"{name}: max error {err:.2e} of the scale {scale:.3g} exceeds {REL}"


def inputs(rng, n, c, k, h, w, pad):
    """float32-representable float64 arrays x, w, b and an upstream gradient dy."""
    x = rng.standard_normal((n, c, h, w)).astype(np.float32).astype(np.float64)
    wt = (rng.standard_normal((k, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32).astype(np.float64)
    b = rng.standard_normal(k).astype(np.float32).astype(np.float64)
    dy = rng.standard_normal((n, k, h + 2 * pad - 2, w + 2 * pad - 2)).astype(np.float32).astype(np.float64)
    return x, wt, b, dy


def strided(a):
    """pyml float32 view of a whose last dim has stride 2 (every other element of a wider buffer)."""
    wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=np.float32)
    wide[..., ::2] = a
    return pyml.tensor(wide)[..., ::2]


def channels_last(a):
    """pyml float32 (N, C, H, W) view of an (N, H, W, C) buffer."""
    return pyml.tensor(np.ascontiguousarray(a.transpose(0, 2, 3, 1)).astype(np.float32)).permute(0, 3, 1, 2)


def run_pyml(x, w, b, dy, pad, layout="contiguous"):
    """pyml float32 forward and backward -> (y, dx, dw, db) as NumPy arrays."""
    if layout == "strided":
        xt = strided(x)
    elif layout == "channels_last":
        xt = channels_last(x)
    else:
        xt = pyml.tensor(x.astype(np.float32))
    assert (layout == "contiguous") == xt.is_contiguous()
    xt = xt.detach().requires_grad_()
    wt, bt = (pyml.tensor(a.astype(np.float32)).requires_grad_() for a in (w, b))
    y = F.conv2d(xt, wt, bt, padding=pad)
    y.backward(pyml.tensor(dy.astype(np.float32)))
    return [t.detach().numpy() for t in (y, xt.grad, wt.grad, bt.grad)]


def check_case(rng, n, c, k, h, w, pad, layout="contiguous"):
    x, wt, b, dy = inputs(rng, n, c, k, h, w, pad)
    y, dx, dw, db = run_pyml(x, wt, b, dy, pad, layout)
    assert_near(y, direct_conv(x, wt, b, pad), "output")
    for name, got, want in zip(("grad input", "grad weight", "grad bias"), (dx, dw, db), direct_grads(x, wt, dy, pad)):
        assert_near(got, want, name)


# (N, C, K, H, W, padding): every H, W in {1, 2, 3, 5, 7, 13, 56, 57}, C and K in {1, 3, 16, 17, 64},
# N in {1, 3}, padding 0, 1, 2 (and 3, which crops the grad-input pass: its padding is 2 - 3).
CASES = [
    (1, 16, 16, 56, 57, 1),
    (3, 17, 16, 57, 56, 1),
    (1, 64, 17, 56, 56, 0),
    (3, 16, 64, 13, 13, 2),
    (3, 3, 17, 13, 57, 1),
    (1, 17, 3, 57, 13, 2),
    (3, 64, 64, 7, 5, 1),
    (3, 16, 17, 5, 7, 0),
    (3, 17, 17, 3, 3, 1),
    (3, 3, 3, 2, 3, 2),
    (3, 16, 16, 1, 2, 2),
    (1, 64, 16, 3, 2, 1),
    (3, 17, 64, 2, 1, 1),
    (1, 1, 16, 13, 13, 1),
    (3, 16, 1, 7, 13, 0),
    (1, 3, 3, 1, 1, 1),
    (3, 16, 17, 13, 7, 3),
]


@pytest.mark.parametrize("n,c,k,h,w,pad", CASES)
def test_matches_float64_direct_conv(n, c, k, h, w, pad):
    check_case(np.random.default_rng(hash((n, c, k, h, w, pad)) % 2**32), n, c, k, h, w, pad)


@pytest.mark.parametrize("layout", ["strided", "channels_last"])
@pytest.mark.parametrize("n,c,k,h,w,pad", [(3, 17, 16, 13, 57, 1), (1, 16, 3, 7, 5, 2)])
def test_noncontiguous_input(n, c, k, h, w, pad, layout):
    check_case(np.random.default_rng(7), n, c, k, h, w, pad, layout)


def test_256_channels_accuracy():
    check_case(np.random.default_rng(3), 2, 256, 256, 28, 28, 1)


def test_conv_transpose_stride1_3x3():
    """conv_transpose2d runs the conv's grad-input kernel forward and the conv's forward backward."""
    rng = np.random.default_rng(5)
    pad = 1
    x = rng.standard_normal((3, 17, 13, 14)).astype(np.float32).astype(np.float64)
    w = (rng.standard_normal((17, 16, 3, 3)) / 12).astype(np.float32).astype(np.float64)  # (Cin, Cout, 3, 3)
    b = rng.standard_normal(16).astype(np.float32).astype(np.float64)
    g = rng.standard_normal((3, 16, 13, 14)).astype(np.float32).astype(np.float64)
    xt, wt, bt = (pyml.tensor(a.astype(np.float32)).requires_grad_() for a in (x, w, b))
    y = F.conv_transpose2d(xt, wt, bt, padding=pad)
    y.backward(pyml.tensor(g.astype(np.float32)))
    # the transposed conv is the conv's input adjoint: y = dx of a conv with weight w and upstream x
    want_y = direct_grads(np.zeros((3, 16, 13, 14)), w, x, pad)[0] + b[None, :, None, None]
    assert_near(y.detach().numpy(), want_y, "output")
    assert_near(xt.grad.numpy(), direct_conv(g, w, np.zeros(17), pad), "grad input")
    assert_near(wt.grad.numpy(), direct_grads(g, w, x, pad)[1], "grad weight")


def test_thread_count():
    """Forward and grad-input are identical for 1 and 2 threads (each tile's sums run in a fixed
    order whichever thread takes its block); grad-weight adds per-thread partial sums, so it agrees
    within rounding."""
    rng = np.random.default_rng(11)
    x, w, b, dy = inputs(rng, 3, 16, 17, 57, 56, 1)
    before = pyml.get_num_threads()
    try:
        pyml.set_num_threads(1)
        one = run_pyml(x, w, b, dy, 1)
        pyml.set_num_threads(2)
        two = run_pyml(x, w, b, dy, 1)
    finally:
        pyml.set_num_threads(before)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
    scale = np.abs(one[2]).max()
    np.testing.assert_allclose(two[2], one[2], rtol=0, atol=1e-5 * scale)


# (N, C, K, H, W, kernel, stride, padding, dilation, groups); column counts that leave partial
# 16-column vectors and 48-column slivers, and 1x1 convs that read the image in place
IM2COL = [
    (3, 16, 17, 29, 31, 3, 2, 1, 1, 1),
    (2, 6, 9, 23, 19, 3, 1, 2, 2, 3),
    (2, 64, 17, 15, 13, 1, 1, 0, 1, 1),
    (1, 3, 16, 45, 47, 7, 2, 3, 1, 1),
    (2, 8, 8, 9, 11, 5, 3, 2, 1, 2),
]


@pytest.mark.parametrize("n,c,k,h,w,rs,stride,pad,dil,groups", IM2COL)
def test_im2col_float32_paths(n, c, k, h, w, rs, stride, pad, dil, groups):
    rng = np.random.default_rng(n * 1000 + c + k)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32).astype(np.float64)
    wt = (rng.standard_normal((k, c // groups, rs, rs)) / rs).astype(np.float32).astype(np.float64)
    b = rng.standard_normal(k).astype(np.float32).astype(np.float64)
    y0 = general_conv(x, wt, b, None, stride, pad, dil, groups)[0]
    dy = rng.standard_normal(y0.shape).astype(np.float32).astype(np.float64)
    want = general_conv(x, wt, b, dy, stride, pad, dil, groups)
    xt, wtt, bt = (pyml.tensor(a.astype(np.float32)).requires_grad_() for a in (x, wt, b))
    y = F.conv2d(xt, wtt, bt, stride=stride, padding=pad, dilation=dil, groups=groups)
    y.backward(pyml.tensor(dy.astype(np.float32)))
    for name, got, ref in zip(("output", "grad input", "grad weight"), (y.detach(), xt.grad, wtt.grad), want):
        assert_near(got.numpy(), ref, name)
