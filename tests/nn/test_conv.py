"""conv1d/conv2d, conv_transpose1d/2d, unfold/fold against torch.nn.functional: outputs and the
gradients of input, weight and bias, float64 and float32 (float16/bfloat16 through float32),
odd sizes, batch 1 and 3, unbatched and non-contiguous inputs, large images that run the chunked
im2col; full-Jacobian checks (first and second order) on tiny float64 cases; bad inputs; the
TEXTBOOK.md 6x6 image."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pyml
import pyml.nn.functional as F
from nn_helpers import full_jacobian_check, conv_assert_close as assert_close, leaf

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")





def compare(fp, ft, arrays, dtype="float64", layout="contiguous", grads=True, rng=None, **kw):
    """Run fp (pyml) and ft (torch) on the same leaves; compare the output and every leaf's grad."""
    rng = rng or np.random.default_rng(0)
    P = [None if a is None else leaf(pyml, a, dtype, layout if i == 0 else "contiguous") for i, a in enumerate(arrays)]
    T = [None if a is None else leaf(torch, a, dtype, layout if i == 0 else "contiguous") for i, a in enumerate(arrays)]
    if layout != "contiguous":
        assert not P[0].is_contiguous()
    y, yt = fp(*P, **kw), ft(*T, **kw)
    assert tuple(y.shape) == tuple(yt.shape)
    assert y.dtype is getattr(pyml, dtype)
    assert_close(y.detach().double().numpy(), yt.detach().double().numpy(), dtype, "output")
    if not grads:
        return y
    g = rng.standard_normal(tuple(yt.shape))
    y.backward(pyml.tensor(g).to(y.dtype))
    yt.backward(torch.tensor(g).to(yt.dtype))
    for i, (p, t) in enumerate(zip(P, T)):
        if p is None:
            continue
        assert p.grad is not None, f"no gradient for argument {i}"
        assert_close(p.grad.double().numpy(), t.grad.double().numpy(), dtype, f"gradient of argument {i}")
    return y


def conv_arrays(rng, x_shape, w_shape, bias=True):
    return [rng.standard_normal(x_shape), rng.standard_normal(w_shape),
            rng.standard_normal(w_shape[0]) if bias else None]


# ------------------------------------------------------------------------------------- conv2d
GRID = list(itertools.product([1, 2], [0, 1], [1, 2], [1, 2]))  # stride, padding, dilation, groups


@pytest.mark.parametrize("stride,padding,dilation,groups", GRID)
def test_conv2d_grid(stride, padding, dilation, groups):
    rng = np.random.default_rng(stride * 100 + padding * 10 + dilation * 3 + groups)
    compare(F.conv2d, TF.conv2d, conv_arrays(rng, (3, 4, 9, 7), (6, 4 // groups, 3, 2)), stride=stride,
            padding=padding, dilation=dilation, groups=groups)


CASES_2D = [  # x shape, w shape, kwargs
    ((1, 3, 7, 9), (5, 3, 1, 1), {}),                                        # 1x1: plain GEMM on x
    ((3, 3, 7, 9), (5, 3, 1, 1), dict(stride=2)),                            # strided 1x1 goes through im2col
    ((1, 1, 1, 1), (1, 1, 1, 1), {}),
    ((2, 3, 5, 5), (4, 3, 5, 5), {}),                                        # kernel as large as the image
    ((1, 3, 3, 4), (2, 3, 5, 6), dict(padding=(1, 1))),                      # kernel fits only with padding
    ((3, 6, 8, 9), (6, 1, 3, 3), dict(groups=6, padding=1)),                 # depthwise
    ((2, 6, 8, 9), (12, 1, 3, 3), dict(groups=6, stride=2)),                 # depthwise, channel multiplier 2
    ((2, 4, 8, 9), (4, 4, 4, 4), dict(padding="same")),                      # even kernel: asymmetric 'same'
    ((2, 4, 8, 9), (4, 4, 3, 2), dict(padding="same", dilation=(2, 3))),
    ((2, 4, 8, 9), (4, 4, 3, 3), dict(padding="valid")),
    ((2, 4, 11, 13), (6, 2, 3, 5), dict(stride=(3, 2), padding=(2, 0), dilation=(1, 2), groups=2)),
    ((3, 4, 7, 9), (5, 4, 3, 3), dict(padding=(0, 4))),                      # padding larger than half the kernel
    ((4, 7, 9), (5, 4, 3, 3), dict(padding=1)),                             # unbatched
    ((0, 4, 7, 9), (5, 4, 3, 3), {}),                                        # empty batch
]


@pytest.mark.parametrize("xs,ws,kw", CASES_2D, ids=[str(i) for i in range(len(CASES_2D))])
def test_conv2d_cases(xs, ws, kw):
    rng = np.random.default_rng(len(xs) * 7 + ws[0])
    compare(F.conv2d, TF.conv2d, conv_arrays(rng, xs, ws), **kw)


@pytest.mark.parametrize("layout", ["strided", "channels_last"])
@pytest.mark.parametrize("ws,kw", [((5, 4, 3, 3), dict(padding=1, stride=2)), ((5, 4, 1, 1), {})])
def test_conv2d_noncontiguous_input(layout, ws, kw):
    rng = np.random.default_rng(3)
    compare(F.conv2d, TF.conv2d, conv_arrays(rng, (3, 4, 7, 9), ws), layout=layout, **kw)


def test_conv2d_noncontiguous_weight_and_expanded_input():
    rng = np.random.default_rng(4)
    w = rng.standard_normal((3, 3, 4, 5))
    wp = pyml.tensor(w).permute(3, 2, 0, 1)          # (5, 4, 3, 3) with permuted strides
    wt = torch.tensor(w).permute(3, 2, 0, 1)
    x = rng.standard_normal((1, 4, 1, 9))
    xp = pyml.tensor(x).expand(3, 4, 6, 9)           # stride-0 batch and rows
    xt = torch.tensor(x).expand(3, 4, 6, 9)
    np.testing.assert_allclose(F.conv2d(xp, wp, padding=1).numpy(), TF.conv2d(xt, wt, padding=1).numpy(),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", [1, 3])
def test_conv2d_large_image_chunked(n):
    # 16 channels x 3x3 -> 144 im2col rows: 70x65 outputs need several column chunks
    rng = np.random.default_rng(n)
    compare(F.conv2d, TF.conv2d, conv_arrays(rng, (n, 16, 70, 65), (8, 16, 3, 3)), dtype="float32", padding=1)


def test_conv2d_large_1x1_and_strided():
    rng = np.random.default_rng(5)
    compare(F.conv2d, TF.conv2d, conv_arrays(rng, (2, 32, 41, 37), (24, 32, 1, 1)), dtype="float32")
    compare(F.conv2d, TF.conv2d, conv_arrays(rng, (2, 8, 97, 61), (6, 4, 5, 5)), dtype="float32", stride=(2, 3),
            groups=2, padding=2)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_dtypes_and_bias(dtype, bias):
    rng = np.random.default_rng(6)
    compare(F.conv2d, TF.conv2d, conv_arrays(rng, (3, 5, 9, 8), (7, 5, 3, 3), bias), dtype=dtype, padding=1)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_conv2d_half_types_compute_in_float32(dtype):
    rng = np.random.default_rng(7)
    x, w, b = conv_arrays(rng, (2, 3, 6, 7), (4, 3, 3, 3))
    dt = getattr(pyml, dtype)
    xh, wh, bh = (pyml.tensor(a).to(dt) for a in (x, w, b))
    y = F.conv2d(xh, wh, bh, padding=1)
    assert y.dtype is dt
    want = F.conv2d(xh.float(), wh.float(), bh.float(), padding=1).to(dt)
    np.testing.assert_array_equal(y.float().numpy(), want.float().numpy())
    ref = TF.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), padding=1).numpy()
    np.testing.assert_allclose(y.float().numpy(), ref, rtol=0.05, atol=0.1)


def test_conv2d_grad_only_for_inputs_that_need_it():
    rng = np.random.default_rng(8)
    x, w, b = conv_arrays(rng, (2, 3, 5, 5), (4, 3, 3, 3))
    xp = pyml.tensor(x)                               # no grad
    wp = pyml.tensor(w).requires_grad_()
    bp = pyml.tensor(b)
    F.conv2d(xp, wp, bp).sum().backward()
    assert xp.grad is None and bp.grad is None
    wt = torch.tensor(w).requires_grad_()
    TF.conv2d(torch.tensor(x), wt, torch.tensor(b)).sum().backward()
    np.testing.assert_allclose(wp.grad.numpy(), wt.grad.numpy(), rtol=1e-10, atol=1e-10)
    with pyml.no_grad():
        y = F.conv2d(pyml.tensor(x), wp)
    assert not y.requires_grad


# ------------------------------------------------------------------------------------- conv1d
@pytest.mark.parametrize("stride,padding,dilation,groups", GRID)
def test_conv1d_grid(stride, padding, dilation, groups):
    rng = np.random.default_rng(stride * 100 + padding * 10 + dilation * 3 + groups + 1)
    compare(F.conv1d, TF.conv1d, conv_arrays(rng, (3, 4, 17), (6, 4 // groups, 3)), stride=stride,
            padding=padding, dilation=dilation, groups=groups)


@pytest.mark.parametrize("xs,ws,kw", [((1, 3, 1), (2, 3, 1), {}), ((4, 15), (5, 4, 4), dict(padding="same")),
                                      ((2, 4, 97), (4, 1, 7), dict(groups=4, padding=3, stride=2)),
                                      ((3, 2, 33), (3, 2, 2), dict(padding="same", dilation=3))])
def test_conv1d_cases(xs, ws, kw):
    rng = np.random.default_rng(9)
    compare(F.conv1d, TF.conv1d, conv_arrays(rng, xs, ws), **kw)


def test_conv1d_noncontiguous():
    rng = np.random.default_rng(10)
    compare(F.conv1d, TF.conv1d, conv_arrays(rng, (3, 4, 13), (5, 4, 3)), layout="strided", padding=1)
    compare(F.conv1d, TF.conv1d, conv_arrays(rng, (3, 4, 13), (5, 4, 3)), dtype="float32",
            layout="channels_last", stride=2)


# ------------------------------------------------------------------------------------- conv_transpose
TGRID = list(itertools.product([1, 2, 3], [0, 1], [0, 1], [1, 2], [1, 2]))  # stride, pad, out_pad, dil, groups


@pytest.mark.parametrize("stride,padding,output_padding,dilation,groups",
                         [g for g in TGRID if g[2] < max(g[0], g[3])])
def test_conv_transpose2d_grid(stride, padding, output_padding, dilation, groups):
    rng = np.random.default_rng(stride * 1000 + padding * 100 + output_padding * 10 + dilation * 3 + groups)
    x, w, _ = conv_arrays(rng, (3, 4, 5, 6), (4, 6 // groups, 3, 2))
    b = rng.standard_normal(6)
    compare(F.conv_transpose2d, TF.conv_transpose2d, [x, w, b], stride=stride, padding=padding,
            output_padding=output_padding, dilation=dilation, groups=groups)


@pytest.mark.parametrize("xs,ws,kw", [
    ((1, 2, 1, 1), (2, 3, 1, 1), {}),
    ((2, 4, 7, 5), (4, 3, 1, 1), {}),
    ((5, 3, 4), (5, 2, 3, 3), dict(stride=2, output_padding=1)),                       # unbatched
    ((2, 4, 5, 6), (4, 2, 3, 3), dict(stride=1, dilation=3, output_padding=2)),        # output_padding >= stride
    ((2, 6, 5, 7), (6, 1, 4, 3), dict(stride=(2, 3), padding=(1, 2), output_padding=(1, 0), groups=6)),
])
def test_conv_transpose2d_cases(xs, ws, kw):
    rng = np.random.default_rng(11)
    x, w, _ = conv_arrays(rng, xs, ws)
    b = rng.standard_normal(ws[1] * kw.get("groups", 1))
    compare(F.conv_transpose2d, TF.conv_transpose2d, [x, w, b], **kw)


@pytest.mark.parametrize("kw", [dict(), dict(stride=3, padding=1, output_padding=2, dilation=2),
                                dict(stride=2, groups=2, padding=2, output_padding=1)])
@pytest.mark.parametrize("layout", ["contiguous", "strided"])
def test_conv_transpose1d(kw, layout):
    rng = np.random.default_rng(12)
    x, w, _ = conv_arrays(rng, (3, 4, 9), (4, 3, 3))
    b = rng.standard_normal(3 * kw.get("groups", 1))
    compare(F.conv_transpose1d, TF.conv_transpose1d, [x, w, b], layout=layout, **kw)


def test_conv_transpose2d_float32_large():
    rng = np.random.default_rng(13)
    x, w, _ = conv_arrays(rng, (2, 16, 33, 31), (16, 8, 4, 4))
    compare(F.conv_transpose2d, TF.conv_transpose2d, [x, w, rng.standard_normal(8)], dtype="float32", stride=2,
            padding=1)


# ------------------------------------------------------------------------------------- unfold / fold
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(2, 3), stride=2, padding=1, dilation=(1, 2)),
                                dict(kernel_size=3, padding=2, stride=(3, 1))])
@pytest.mark.parametrize("layout", ["contiguous", "strided"])
def test_unfold(kw, layout):
    rng = np.random.default_rng(14)
    compare(F.unfold, TF.unfold, [rng.standard_normal((3, 2, 7, 8))], layout=layout, **kw)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(2, 3), stride=2, padding=1, dilation=(1, 2)),
                                dict(kernel_size=3, padding=2, stride=(3, 1))])
def test_fold(kw):
    rng = np.random.default_rng(15)
    blocks = TF.unfold(torch.zeros(1, 2, 7, 8), **kw).shape
    compare(F.fold, TF.fold, [rng.standard_normal((3,) + tuple(blocks[1:]))], output_size=(7, 8), **kw)


def test_unfold_fold_unbatched():
    rng = np.random.default_rng(16)
    compare(F.unfold, TF.unfold, [rng.standard_normal((2, 5, 6))], kernel_size=2, stride=1)
    compare(F.fold, TF.fold, [rng.standard_normal((8, 6))], output_size=(3, 4), kernel_size=2)


# ------------------------------------------------------------------------------------- Jacobians


def second_order_check(f, arrays, seed=0):
    """Jacobian check of (x..., v) -> grad(f(x) . v, x) computed with create_graph=True."""
    rng = np.random.default_rng(seed)
    shape = tuple(f(*[pyml.tensor(a) for a in arrays]).shape)
    n = len(arrays)

    def vjp(*args):
        xs, v = args[:n], args[n]
        with pyml.enable_grad():
            xs = [x if x.requires_grad else x.detach().requires_grad_() for x in xs]
            gs = pyml.autograd.grad([f(*xs)], list(xs), [v], create_graph=True)
        return pyml.cat([g.reshape(-1) for g in gs])
    full_jacobian_check(vjp, list(arrays) + [rng.standard_normal(shape)])


TINY = [
    ("conv2d", lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 0), groups=2), (1, 4, 3, 2), (2, 2, 2, 2)),
    ("conv2d_same", lambda x, w, b: F.conv2d(x, w, b, padding="same", dilation=(1, 2)), (1, 1, 3, 4), (2, 1, 2, 2)),
    ("conv1d", lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2), (2, 2, 5), (2, 2, 2)),
    ("conv_transpose2d", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1,
                                                            groups=2), (1, 2, 2, 2), (2, 1, 3, 2)),
    ("conv_transpose1d", lambda x, w, b: F.conv_transpose1d(x, w, b, dilation=3, output_padding=2), (2, 2, 3),
     (2, 2, 2)),
]


@pytest.mark.parametrize("name,f,xs,ws", TINY, ids=[t[0] for t in TINY])
def test_jacobians_first_and_second_order(name, f, xs, ws):
    rng = np.random.default_rng(17)
    nb = ws[1] * (2 if "transpose2d" in name else 1) if "transpose" in name else ws[0]
    arrays = [rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(nb)]
    full_jacobian_check(f, arrays)
    second_order_check(f, arrays)


def test_unfold_fold_jacobians():
    rng = np.random.default_rng(18)
    full_jacobian_check(lambda x: F.unfold(x, 2, padding=1, stride=2), [rng.standard_normal((1, 2, 3, 3))])
    second_order_check(lambda x: F.unfold(x, 2, padding=1, stride=2) ** 2, [rng.standard_normal((1, 2, 3, 3))])
    full_jacobian_check(lambda x: F.fold(x, (3, 3), 2), [rng.standard_normal((1, 8, 4))])


def test_gradient_penalty_matches_torch():
    # WGAN-GP style: d/dw of ||d conv(x, w)/dx||^2 needs the conv's second derivatives
    rng = np.random.default_rng(19)
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3))
    res = []
    for mod, fn in ((pyml, F.conv2d), (torch, TF.conv2d)):
        xt, wt = mod.tensor(x).requires_grad_(), mod.tensor(w).requires_grad_()
        y = fn(xt, wt, stride=2, padding=1)
        (gx,) = (pyml.autograd.grad if mod is pyml else torch.autograd.grad)([(y * y).sum()], [xt],
                                                                             create_graph=True)
        (gx * gx).sum().backward()
        res.append((wt.grad.detach().numpy(), xt.grad.detach().numpy()))
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------------------------- TEXTBOOK.md
def test_textbook_6x6_convolution():
    img = pyml.tensor([[1, 0, 0, 0, 0, 1], [0, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 0], [1, 0, 0, 0, 1, 0],
                       [0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 1, 0]], dtype=pyml.float32).reshape(1, 1, 6, 6)
    filt = pyml.tensor([[1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=pyml.float32).reshape(1, 1, 3, 3)
    y = F.conv2d(img, filt)
    assert y.shape == (1, 1, 4, 4)
    assert y[0, 0].tolist() == [[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1], [3, -2, -2, -1]]


# ------------------------------------------------------------------------------------- bad inputs
def _t(*shape, dtype=pyml.float32):
    return pyml.zeros(*shape, dtype=dtype)


BAD = [
    (lambda: F.conv2d(_t(8, 4, 32, 32), _t(16, 3, 3, 3)), ValueError,
     r"conv2d: input channels \(4\) must equal weight.shape\[1\]\*groups \(3\); input \(8, 4, 32, 32\), weight "
     r"\(16, 3, 3, 3\)"),
    (lambda: F.conv2d(_t(2, 4, 8, 8), _t(6, 2, 3, 3), groups=4), ValueError,
     r"conv2d: out_channels \(weight.shape\[0\] = 6\) must be divisible by groups \(4\)"),
    (lambda: F.conv2d(_t(2, 4, 8, 8), _t(6, 2, 3, 3), groups=0), ValueError, r"conv2d: groups must be positive"),
    (lambda: F.conv2d(_t(2, 3, 4, 4), _t(5, 3, 7, 3)), ValueError,
     r"conv2d: kernel size after dilation \(7, 3\) can't be greater than the padded input size \(4, 4\); "
     r"input \(2, 3, 4, 4\)"),
    (lambda: F.conv2d(_t(2, 3, 4, 4), _t(5, 3, 3, 3), dilation=3), ValueError, r"conv2d: kernel size after dilation"),
    (lambda: F.conv2d(_t(3, 4, 4), _t(5, 3, 3)), ValueError, r"conv2d: expected 4-D weight"),
    (lambda: F.conv2d(_t(4, 4), _t(5, 4, 3, 3)), ValueError,
     r"conv2d: expected 3-D \(unbatched\) or 4-D \(batched\) input, got input of shape \(4, 4\)"),
    (lambda: F.conv1d(_t(1, 2, 3, 4, 5), _t(5, 2, 3)), ValueError, r"conv1d: expected 2-D \(unbatched\) or 3-D"),
    (lambda: F.conv2d(_t(1, 3, 5, 5), _t(4, 3, 3, 3), _t(5)), ValueError,
     r"conv2d: bias must be 1-D with out_channels \(4\) elements, got bias of shape \(5,\)"),
    (lambda: F.conv2d(_t(1, 3, 5, 5), _t(4, 3, 3, 3, dtype=pyml.float64)), TypeError,
     r"conv2d: input and weight must have the same dtype, got float32 and float64"),
    (lambda: F.conv2d(_t(1, 3, 5, 5, dtype=pyml.int64), _t(4, 3, 3, 3, dtype=pyml.int64)), TypeError,
     r"conv2d: expected a floating-point tensor"),
    (lambda: F.conv2d(_t(1, 3, 5, 5), _t(4, 3, 3, 3), stride=0), ValueError, r"conv2d: stride must be positive"),
    (lambda: F.conv2d(_t(1, 3, 5, 5), _t(4, 3, 3, 3), padding=-1), ValueError,
     r"conv2d: padding must be non-negative"),
    (lambda: F.conv2d(_t(1, 3, 5, 5), _t(4, 3, 3, 3), stride=(1, 2, 3)), ValueError,
     r"conv2d: stride must be an int or a tuple of 2 ints"),
    (lambda: F.conv2d(_t(1, 3, 5, 5), _t(4, 3, 3, 3), padding="same", stride=2), ValueError,
     r"conv2d: padding='same' is not supported for strided convolutions"),
    (lambda: F.conv2d(_t(1, 3, 5, 5), _t(4, 3, 3, 3), padding="full"), ValueError, r"conv2d: padding must be"),
    (lambda: F.conv2d([1.0], _t(4, 3, 3, 3)), TypeError, r"conv2d: argument 'input' must be Tensor"),
    (lambda: F.conv2d(_t(1, 3, 5, 5), None), TypeError, r"conv2d: argument 'weight' must be Tensor"),
    (lambda: F.conv_transpose2d(_t(1, 3, 5, 5), _t(4, 2, 3, 3)), ValueError,
     r"conv_transpose2d: input channels \(3\) must equal weight.shape\[0\] \(4\); input \(1, 3, 5, 5\)"),
    (lambda: F.conv_transpose2d(_t(1, 4, 5, 5), _t(4, 2, 3, 3), groups=3), ValueError,
     r"conv_transpose2d: in_channels \(weight.shape\[0\] = 4\) must be divisible by groups \(3\)"),
    (lambda: F.conv_transpose2d(_t(1, 4, 5, 5), _t(4, 2, 3, 3), stride=2, output_padding=2), ValueError,
     r"conv_transpose2d: output_padding must be smaller than either stride or dilation"),
    (lambda: F.conv_transpose2d(_t(1, 4, 1, 1), _t(4, 2, 1, 1), padding=1), ValueError,
     r"conv_transpose2d: the output size \(-1, -1\) must be positive"),
    (lambda: F.conv_transpose1d(_t(1, 4, 5), _t(4, 2, 3), _t(3)), ValueError,
     r"conv_transpose1d: bias must be 1-D with out_channels \(2\) elements"),
    (lambda: F.unfold(_t(4, 5), 2), ValueError, r"unfold: expected 3-D \(unbatched\) or 4-D \(batched\) input"),
    (lambda: F.unfold(_t(1, 2, 3, 3), 4), ValueError, r"unfold: image size \(3, 3\) with padding \(0, 0\) is smaller"),
    (lambda: F.fold(_t(1, 7, 4), (3, 3), 2), ValueError, r"fold: input.shape\[-2\] \(7\) must be divisible"),
    (lambda: F.fold(_t(1, 8, 5), (3, 3), 2), ValueError,
     r"fold: input.shape\[-1\] \(5\) must equal the number of sliding blocks 2 \* 2 = 4"),
]


@pytest.mark.parametrize("fn,exc,msg", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_inputs(fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn()


def test_engine_entries_validate_direct_calls():
    # the raw _C entries are reachable from Python: they validate on their own
    x, w = _t(1, 3, 5, 5)._impl, _t(4, 3, 3, 3)._impl
    with pytest.raises(ValueError, match=r"conv2d: grad_output must have the output's shape \(1, 4, 3, 3\)"):
        pyml._C.conv_backward_input(_t(1, 4, 2, 2)._impl, w, [1, 3, 5, 5], [1, 1], [0, 0], [0, 0], [1, 1], 1)
    with pytest.raises(ValueError, match=r"conv2d: input_shape must have non-negative sizes"):
        pyml._C.conv_backward_input(_t(1, 4, 3, 3)._impl, w, [1, -3, 5, 5], [1, 1], [0, 0], [0, 0], [1, 1], 1)
    with pytest.raises(ValueError, match=r"conv2d: padding must have 2 element"):
        pyml._C.conv_forward(x, w, None, [1, 1], [0], [0, 0], [1, 1], 1)
