"""conv3d / conv_transpose3d and nn.Conv3d / ConvTranspose3d / LazyConv*d against torch: outputs and
the gradients of input, weight and bias in float64 and float32, odd sizes (1, 3, 7, 13), every stride /
padding ('same', 'valid', asymmetric) / output_padding / dilation / groups (depthwise too) / bias /
padding_mode, unbatched and non-contiguous inputs, volumes large enough for several vol2col chunks;
gradcheck and gradgradcheck on tiny float64 cases; module parameter shapes, initialisation,
state_dict round trips; bad inputs naming the op and the shapes."""
import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import pyml
import pyml.nn as nn
import pyml.nn.functional as F
from pyml._tensor import wrap
from pyml.autograd import gradcheck, gradgradcheck
from nn_helpers import conv_assert_close as assert_close, leaf

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")





def compare(fp, ft, arrays, dtype="float64", layout="contiguous", seed=0, **kw):
    """fp (pyml) and ft (torch) on the same leaves: the output and every leaf's gradient agree."""
    P = [None if a is None else leaf(pyml, a, dtype, layout if i == 0 else "contiguous") for i, a in enumerate(arrays)]
    T = [None if a is None else leaf(torch, a, dtype, layout if i == 0 else "contiguous") for i, a in enumerate(arrays)]
    if layout != "contiguous":
        assert not P[0].is_contiguous()
    y, yt = fp(*P, **kw), ft(*T, **kw)
    assert tuple(y.shape) == tuple(yt.shape)
    assert y.dtype is getattr(pyml, dtype)
    assert_close(y.detach().double().numpy(), yt.detach().double().numpy(), dtype, "output")
    g = np.random.default_rng(seed).standard_normal(tuple(yt.shape))
    y.backward(pyml.tensor(g).to(y.dtype))
    yt.backward(torch.tensor(g).to(yt.dtype))
    for i, (p, t) in enumerate(zip(P, T)):
        if p is not None:
            assert p.grad is not None, f"no gradient for argument {i}"
            assert_close(p.grad.double().numpy(), t.grad.double().numpy(), dtype, f"gradient of argument {i}")
    return y


def arrays_for(seed, x_shape, w_shape, n_bias):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(x_shape), rng.standard_normal(w_shape),
            None if n_bias is None else rng.standard_normal(n_bias)]


# ------------------------------------------------------------------------------------- conv3d
GRID = list(itertools.product([1, 2], [0, 1], [1, 2], [1, 2]))  # stride, padding, dilation, groups


@pytest.mark.parametrize("stride,padding,dilation,groups", GRID)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_conv3d_grid(stride, padding, dilation, groups, dtype):
    # D = 7 and W = 5 take a dilated kernel of 3 and 2 taps; H = 3 a kernel of 1
    arrays = arrays_for(stride * 8 + padding * 4 + dilation * 2 + groups, (2, 4, 7, 3, 5), (6, 4 // groups, 3, 1, 2), 6)
    compare(F.conv3d, TF.conv3d, arrays, dtype, stride=stride, padding=padding, dilation=dilation, groups=groups)


CASES = [
    ((1, 1, 1, 1, 1), (1, 1, 1, 1, 1), {}),                                         # a single voxel
    ((3, 2, 13, 7, 3), (5, 2, 3, 3, 3), dict(padding=1)),
    ((2, 3, 7, 7, 7), (4, 3, 2, 3, 1), dict(stride=(3, 2, 1), padding=(1, 0, 0))),     # per-dim geometry
    ((1, 3, 7, 13, 7), (4, 3, 3, 3, 3), dict(stride=(2, 3, 1), padding=(0, 1, 1), dilation=(3, 1, 2))),
    ((2, 3, 7, 6, 5), (4, 3, 4, 3, 2), dict(padding="same")),                        # even kernels: pad more at the end
    ((2, 2, 7, 6, 5), (3, 2, 3, 2, 3), dict(padding="same", dilation=(2, 3, 1))),
    ((2, 3, 7, 6, 5), (4, 3, 3, 3, 3), dict(padding="valid")),
    ((2, 6, 7, 5, 3), (6, 1, 3, 3, 3), dict(padding=1, groups=6)),                   # depthwise
    ((2, 3, 5, 7, 3), (6, 1, 3, 2, 1), dict(stride=2, padding=(1, 1, 0), groups=3)),  # depthwise, multiplier 2
    ((2, 6, 5, 5, 5), (9, 2, 1, 1, 1), dict(groups=3)),                              # grouped 1x1x1
    ((3, 4, 3, 3, 3), (2, 4, 3, 3, 3), {}),                                          # kernel = volume: 1x1x1 out
    ((2, 3, 13, 1, 7), (2, 3, 3, 1, 3), dict(stride=(1, 1, 2))),                     # a flat volume
    ((0, 3, 5, 5, 5), (2, 3, 3, 3, 3), {}),                                          # empty batch
]


@pytest.mark.parametrize("xs,ws,kw", CASES, ids=[str(i) for i in range(len(CASES))])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_conv3d_cases(xs, ws, kw, bias, dtype):
    arrays = arrays_for(len(xs) * 7 + ws[0], xs, ws, ws[0] if bias else None)
    compare(F.conv3d, TF.conv3d, arrays, dtype, **kw)


@pytest.mark.parametrize("layout", ["strided", "channels_last", "depth_last"])
@pytest.mark.parametrize("ws,kw", [((5, 4, 3, 3, 3), dict(padding=1, stride=2)), ((6, 2, 1, 1, 1), dict(groups=2))])
def test_conv3d_noncontiguous_input(layout, ws, kw):
    compare(F.conv3d, TF.conv3d, arrays_for(3, (3, 4, 7, 5, 6), ws, ws[0]), layout=layout, **kw)


def test_conv3d_noncontiguous_weight_and_expanded_input():
    rng = np.random.default_rng(4)
    w = rng.standard_normal((3, 3, 4, 5, 2))
    wp, wt = pyml.tensor(w).permute(3, 2, 4, 0, 1), torch.tensor(w).permute(3, 2, 4, 0, 1)  # (5, 4, 2, 3, 3)
    x = rng.standard_normal((1, 4, 1, 1, 9))
    xp, xt = pyml.tensor(x).expand(3, 4, 5, 6, 9), torch.tensor(x).expand(3, 4, 5, 6, 9)  # stride-0 dims
    np.testing.assert_allclose(F.conv3d(xp, wp, padding=1).numpy(), TF.conv3d(xt, wt, padding=1).numpy(),
                               rtol=1e-12, atol=1e-12)


def test_conv3d_unbatched():
    arrays = arrays_for(5, (3, 7, 5, 6), (4, 3, 3, 2, 3), 4)
    y = compare(F.conv3d, TF.conv3d, arrays, stride=(1, 2, 1), padding=1)
    assert y.shape == (4, 7, 3, 6)


@pytest.mark.parametrize("n", [1, 3])
def test_conv3d_large_volume_chunked(n):
    # 8 channels x 27 taps = 216 vol2col rows: 13^3 outputs need two column chunks; n = 1 runs the
    # chunk's GEMM and packing multi-threaded, n = 3 one item per thread
    compare(F.conv3d, TF.conv3d, arrays_for(n, (n, 8, 13, 13, 13), (6, 8, 3, 3, 3), 6), dtype="float32", padding=1)
    compare(F.conv3d, TF.conv3d, arrays_for(n, (n, 8, 13, 13, 13), (6, 4, 3, 3, 3), 6), dtype="float32", groups=2,
            stride=(1, 2, 1))


# The float32 tap-GEMM path (cpu/conv3d_taps.cpp: undilated, ungrouped, >= 16 channels in and out,
# not 1x1x1, AVX-512) against torch and against pyml's float64 vol2col reference on the same inputs:
# channel counts off the 8/16 tiles, sizes 1 and 7, every stride / padding mix (stride-1 grad input
# by the flipped forward while padding < kernel, by dx phases otherwise), even kernels, a volume of
# several depth bands and items, non-contiguous input; dilation and groups fall back to vol2col.
TAPS = [
    ((2, 16, 16, 16, 16), (32, 16, 3, 3, 3), dict(padding=1)),
    ((1, 17, 7, 9, 5), (19, 17, 3, 3, 3), dict(padding=1)),
    ((2, 17, 7, 9, 5), (19, 17, 3, 2, 3), dict(padding=(0, 1, 2))),
    ((3, 16, 1, 7, 1), (16, 16, 1, 3, 1), {}),                                       # sizes 1
    ((1, 16, 5, 5, 5), (16, 16, 3, 3, 3), dict(padding=3)),                          # padding >= kernel
    ((1, 16, 6, 7, 5), (17, 16, 4, 3, 2), dict(padding="same")),
    ((2, 32, 13, 11, 7), (16, 32, 3, 3, 3), dict(stride=2, padding=1)),
    ((1, 16, 7, 7, 7), (16, 16, 3, 3, 3), dict(stride=(1, 2, 3), padding=(1, 0, 1))),
    ((2, 16, 9, 8, 7), (17, 16, 2, 2, 2), dict(stride=3, padding=(2, 1, 0))),        # phases without taps
    ((1, 16, 11, 10, 13), (32, 16, 5, 3, 4), dict(stride=(2, 3, 2), padding=(2, 1, 3))),
    ((1, 16, 40, 9, 7), (16, 16, 3, 3, 3), dict(stride=2, padding=1)),               # several depth bands
    ((2, 16, 9, 8, 7), (17, 16, 1, 1, 1), dict(stride=2)),                           # 1x1x1: vol2col
    ((2, 16, 7, 6, 5), (16, 16, 3, 3, 3), dict(padding=1, dilation=2)),              # dilated: vol2col
    ((2, 32, 7, 6, 5), (16, 16, 3, 3, 3), dict(padding=1, groups=2)),                # grouped: vol2col
]


@pytest.mark.parametrize("xs,ws,kw", TAPS, ids=[str(i) for i in range(len(TAPS))])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv3d_tap_gemm_path(xs, ws, kw, dtype):
    arrays = arrays_for(xs[1] + ws[0] + len(kw), xs, ws, ws[0])
    y = compare(F.conv3d, TF.conv3d, arrays, dtype, **kw)
    if dtype == "float32":  # the float64 reference path on the same leaves
        y64 = compare(F.conv3d, TF.conv3d, arrays, "float64", **kw)
        assert_close(y.detach().double().numpy(), y64.detach().numpy(), "float32", "float64 reference")


@pytest.mark.parametrize("layout", ["strided", "channels_last"])
def test_conv3d_tap_gemm_noncontiguous_input(layout):
    arrays = arrays_for(11, (2, 16, 7, 6, 9), (17, 16, 3, 3, 3), None)
    compare(F.conv3d, TF.conv3d, arrays, "float32", layout=layout, padding=1)
    compare(F.conv3d, TF.conv3d, arrays, "float32", layout=layout, stride=2, padding=1)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_conv3d_half_types_compute_in_float32(dtype):
    x, w, b = arrays_for(7, (2, 3, 5, 6, 4), (4, 3, 3, 3, 3), 4)
    dt = getattr(pyml, dtype)
    xh, wh, bh = (pyml.tensor(a).to(dt) for a in (x, w, b))
    y = F.conv3d(xh, wh, bh, padding=1)
    assert y.dtype is dt
    want = F.conv3d(xh.float(), wh.float(), bh.float(), padding=1).to(dt)
    np.testing.assert_array_equal(y.float().numpy(), want.float().numpy())
    ref = TF.conv3d(torch.tensor(x), torch.tensor(w), torch.tensor(b), padding=1).numpy()
    np.testing.assert_allclose(y.float().numpy(), ref, rtol=0.05, atol=0.2)


def test_conv3d_grad_only_for_inputs_that_need_it():
    x, w, b = arrays_for(8, (2, 3, 4, 5, 4), (4, 3, 3, 3, 3), 4)
    xp, wp, bp = pyml.tensor(x), pyml.tensor(w).requires_grad_(), pyml.tensor(b)
    F.conv3d(xp, wp, bp).sum().backward()
    assert xp.grad is None and bp.grad is None
    wt = torch.tensor(w).requires_grad_()
    TF.conv3d(torch.tensor(x), wt, torch.tensor(b)).sum().backward()
    np.testing.assert_allclose(wp.grad.numpy(), wt.grad.numpy(), rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------------------------- conv_transpose3d
T_GRID = [(s, p, op, d, g) for s, p, op, d, g in itertools.product([1, 2], [0, 1], [0, 1], [1, 2], [1, 2])
          if op < s or op < d]


@pytest.mark.parametrize("stride,padding,output_padding,dilation,groups", T_GRID)
def test_conv_transpose3d_grid(stride, padding, output_padding, dilation, groups):
    # weight (in_channels, out_channels / groups, kD, kH, kW): 3 output channels per group
    arrays = arrays_for(stride + 2 * padding + 4 * output_padding + 8 * dilation, (2, 4, 3, 5, 3), (4, 3, 3, 2, 2),
                        3 * groups)
    compare(F.conv_transpose3d, TF.conv_transpose3d, arrays, stride=stride, padding=padding,
            output_padding=output_padding, dilation=dilation, groups=groups)


T_CASES = [
    ((1, 1, 1, 1, 1), (1, 1, 1, 1, 1), 1, {}),
    ((2, 3, 3, 7, 5), (3, 2, 3, 3, 3), 2, dict(stride=(2, 1, 3), padding=(1, 0, 1), output_padding=(1, 0, 2))),
    ((2, 4, 3, 3, 3), (4, 1, 3, 3, 3), 4, dict(groups=4, stride=2, padding=1)),        # depthwise
    ((1, 2, 7, 3, 1), (2, 3, 2, 3, 1), 3, dict(dilation=(3, 1, 1), output_padding=(2, 0, 0))),
    ((4, 3, 5, 2), (4, 2, 3, 3, 2), 2, dict(stride=2, output_padding=1)),               # unbatched
]


@pytest.mark.parametrize("xs,ws,nb,kw", T_CASES, ids=[str(i) for i in range(len(T_CASES))])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_conv_transpose3d_cases(xs, ws, nb, kw, bias, dtype):
    arrays = arrays_for(len(xs) + ws[1], xs, ws, nb if bias else None)
    compare(F.conv_transpose3d, TF.conv_transpose3d, arrays, dtype, **kw)


def test_conv_transpose3d_noncontiguous_input():
    compare(F.conv_transpose3d, TF.conv_transpose3d, arrays_for(9, (2, 4, 3, 5, 4), (4, 2, 3, 3, 3), 2),
            layout="channels_last", stride=2, padding=1, output_padding=1)


# ------------------------------------------------------------------------------------- gradcheck
TINY = [
    ("conv3d", lambda x, w, b: F.conv3d(x, w, b, stride=(2, 1, 1), padding=(1, 0, 1), groups=2),
     (1, 4, 3, 2, 2), (2, 2, 2, 2, 1), 2),
    ("conv3d_same", lambda x, w, b: F.conv3d(x, w, b, padding="same", dilation=(1, 2, 1)), (1, 1, 2, 3, 2),
     (2, 1, 2, 2, 1), 2),
    ("conv3d_unbatched", lambda x, w, b: F.conv3d(x, w, b, padding=1), (2, 2, 1, 2), (1, 2, 2, 1, 2), 1),
    ("conv_transpose3d", lambda x, w, b: F.conv_transpose3d(x, w, b, stride=2, padding=1, output_padding=1,
                                                            groups=2), (1, 2, 2, 1, 2), (2, 1, 2, 3, 2), 2),
]


@pytest.mark.parametrize("name,f,xs,ws,nb", TINY, ids=[t[0] for t in TINY])
def test_gradcheck_and_gradgradcheck(name, f, xs, ws, nb):
    arrays = arrays_for(17, xs, ws, nb)
    inputs = tuple(pyml.tensor(a).requires_grad_() for a in arrays)
    assert gradcheck(f, inputs)
    assert gradgradcheck(f, inputs)


def test_gradient_penalty_matches_torch():
    # d/dw of ||d conv3d(x, w)/dx||^2 needs the conv's second derivatives (conv of conv adjoints)
    x, w, _ = arrays_for(19, (2, 3, 5, 4, 5), (4, 3, 3, 2, 3), None)
    res = []
    for mod, fn, grad in ((pyml, F.conv3d, pyml.autograd.grad), (torch, TF.conv3d, torch.autograd.grad)):
        xt, wt = mod.tensor(x).requires_grad_(), mod.tensor(w).requires_grad_()
        y = fn(xt, wt, stride=2, padding=1)
        (gx,) = grad([(y * y).sum()], [xt], create_graph=True)
        (gx * gx).sum().backward()
        res.append((wt.grad.detach().numpy(), xt.grad.detach().numpy()))
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------------------------- modules
def copy_state(pm, tm):
    pm.load_state_dict({k: pyml.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


def check_module(pm, tm, x, dtype="float64", extra=()):
    """Same state, same input: outputs, input grads and parameter grads agree with torch."""
    assert list(pm.state_dict().keys()) == list(tm.state_dict().keys())
    copy_state(pm, tm)
    if dtype == "float64":
        pm, tm = pm.double(), tm.double()
    xp = pyml.tensor(x).to(getattr(pyml, dtype)).requires_grad_()
    xt = torch.tensor(x).to(getattr(torch, dtype)).requires_grad_()
    y, yt = pm(xp, *extra), tm(xt, *extra)
    assert tuple(y.shape) == tuple(yt.shape)
    assert_close(y.detach().double().numpy(), yt.detach().double().numpy(), dtype, "output")
    g = np.random.default_rng(1).standard_normal(tuple(yt.shape))
    y.backward(pyml.tensor(g).to(y.dtype))
    yt.backward(torch.tensor(g).to(yt.dtype))
    assert_close(xp.grad.double().numpy(), xt.grad.double().numpy(), dtype, "input gradient")
    tparams = dict(tm.named_parameters())
    for name, p in pm.named_parameters():
        assert_close(p.grad.double().numpy(), tparams[name].grad.double().numpy(), dtype, name)


def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


MODULES = [
    ("Conv3d", (3, 5, 3), {}, (2, 3, 7, 6, 5)),
    ("Conv3d", (4, 6, (3, 1, 2)), dict(stride=(2, 1, 1), padding=(1, 0, 1), dilation=(1, 1, 2), groups=2),
     (1, 4, 7, 3, 7)),
    ("Conv3d", (4, 4, 3), dict(groups=4, padding="same", bias=False), (1, 4, 5, 3, 7)),
    ("Conv3d", (3, 2, (2, 3, 4)), dict(padding="same", padding_mode="reflect"), (2, 3, 5, 6, 7)),
    ("Conv3d", (3, 2, 3), dict(padding=2, padding_mode="replicate", stride=2), (2, 3, 7, 5, 3)),
    ("Conv3d", (3, 2, 3), dict(padding=(1, 0, 2), padding_mode="circular"), (2, 3, 5, 3, 7)),
    ("Conv3d", (3, 2, 3), dict(padding=1, padding_mode="reflect"), (3, 5, 4, 6)),       # unbatched
    ("Conv3d", (3, 5, 1), {}, (3, 7, 1, 13)),
    ("ConvTranspose3d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2), (2, 4, 3, 5, 2)),
    ("ConvTranspose3d", (3, 2, (2, 3, 1)), dict(dilation=2, bias=False), (1, 3, 4, 5, 3)),
    ("ConvTranspose3d", (3, 2, 3), dict(stride=(1, 2, 3), output_padding=(0, 1, 2)), (3, 3, 2, 4)),
]


@pytest.mark.parametrize("name,args,kw,xs", MODULES, ids=[f"{m[0]}-{i}" for i, m in enumerate(MODULES)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_modules_match_torch(name, args, kw, xs, dtype):
    torch.manual_seed(0)
    check_module(getattr(nn, name)(*args, **kw), getattr(tnn, name)(*args, **kw), rand(xs), dtype)


@pytest.mark.parametrize("name,args,kw,xs", MODULES, ids=[f"{m[0]}-{i}" for i, m in enumerate(MODULES)])
def test_module_printout_parameters_and_state_dict_round_trip(name, args, kw, xs):
    pm, tm = getattr(nn, name)(*args, **kw), getattr(tnn, name)(*args, **kw)
    assert repr(pm) == repr(tm)
    assert list(pm.state_dict()) == list(tm.state_dict())
    assert [tuple(p.shape) for p in pm.parameters()] == [tuple(p.shape) for p in tm.parameters()]
    other = getattr(nn, name)(*args, **kw)
    other.load_state_dict(pm.state_dict())
    x = pyml.tensor(rand(xs)).float()
    np.testing.assert_array_equal(other(x).detach().numpy(), pm(x).detach().numpy())
    for k, v in other.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), pm.state_dict()[k].numpy())


def test_conv_transpose3d_output_size():
    torch.manual_seed(0)
    pm, tm = nn.ConvTranspose3d(3, 2, 3, stride=2, padding=1), tnn.ConvTranspose3d(3, 2, 3, stride=2, padding=1)
    x = rand((1, 3, 3, 4, 5))
    for size in [(5, 7, 9), (6, 8, 10), [1, 2, 6, 7, 9]]:
        check_module(pm, tm, x, extra=(size,))
    with pytest.raises(ValueError, match=r"ConvTranspose3d: requested an output size of \[5, 7, 11\], but valid "
                                         r"sizes range from \[5, 7, 9\] to \[6, 8, 10\]"):
        pm(pyml.tensor(x), (5, 7, 11))


def test_volumetric_block_trains_like_torch():
    torch.manual_seed(0)
    pm = nn.Sequential(nn.Conv3d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool3d(2), nn.Conv3d(4, 4, 3, groups=4),
                       nn.ConvTranspose3d(4, 3, 2, stride=2), nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(3, 2))
    tm = tnn.Sequential(tnn.Conv3d(2, 4, 3, padding=1), tnn.ReLU(), tnn.MaxPool3d(2), tnn.Conv3d(4, 4, 3, groups=4),
                        tnn.ConvTranspose3d(4, 3, 2, stride=2), tnn.AdaptiveAvgPool3d(1), tnn.Flatten(),
                        tnn.Linear(3, 2))
    check_module(pm, tm, rand((2, 2, 7, 9, 8)))


# ------------------------------------------------------------------------------------- lazy modules
LAZY = [
    ("LazyConv1d", "Conv1d", (5, 3), dict(stride=2, padding=1), (2, 4, 11)),
    ("LazyConv2d", "Conv2d", (6, (3, 2)), dict(groups=2, padding="same", padding_mode="reflect"), (2, 4, 7, 5)),
    ("LazyConv3d", "Conv3d", (4, 3), dict(padding=1, bias=False), (3, 5, 4, 6)),   # unbatched
    ("LazyConvTranspose1d", "ConvTranspose1d", (3, 3), dict(stride=2, output_padding=1), (2, 4, 7)),
    ("LazyConvTranspose2d", "ConvTranspose2d", (4, 2), dict(groups=2, dilation=2), (1, 6, 5, 3)),
    ("LazyConvTranspose3d", "ConvTranspose3d", (2, 3), dict(stride=2, padding=1), (2, 3, 3, 4, 2)),
]


@pytest.mark.parametrize("name,plain,args,kw,xs", LAZY, ids=[m[0] for m in LAZY])
def test_lazy_modules_materialise_and_match_torch(name, plain, args, kw, xs):
    torch.manual_seed(0)
    pm, tm = getattr(nn, name)(*args, **kw), getattr(tnn, name)(*args, **kw)
    assert repr(pm) == repr(tm)
    x = rand(xs)
    y = pm(pyml.tensor(x).float())
    tm(torch.tensor(x).float())
    assert type(pm) is getattr(nn, plain) and type(pm.weight) is nn.Parameter
    assert pm.in_channels == tm.in_channels
    assert [tuple(p.shape) for p in pm.parameters()] == [tuple(p.shape) for p in tm.parameters()]
    bound = 1 / math.sqrt(pm.weight.shape[1] * math.prod(pm.weight.shape[2:]))
    assert 0 < float(pm.weight.abs().max()) <= bound
    assert tuple(y.shape) == tuple(tm(torch.tensor(x).float()).shape)
    check_module(pm, tm, x)  # now a plain layer: same state, same results


def test_lazy_module_bad_inputs():
    with pytest.raises(ValueError, match=r"LazyConv3d: in_channels \(5\) must be divisible by groups \(2\)"):
        nn.LazyConv3d(4, 3, groups=2)(pyml.zeros(1, 5, 4, 4, 4))
    with pytest.raises(ValueError, match=r"LazyConv3d: expected 4-D \(unbatched\) or 5-D \(batched\) input, got "
                                         r"input of shape \(4, 4, 4\)"):
        nn.LazyConv3d(4, 3)(pyml.zeros(4, 4, 4))


# ------------------------------------------------------------------------------------- bad inputs
def _t(*shape, dtype=pyml.float32):
    return pyml.zeros(*shape, dtype=dtype)


BAD = [
    (lambda: F.conv3d(_t(2, 4, 5, 5, 5), _t(6, 3, 3, 3, 3)), ValueError,
     r"conv3d: input channels \(4\) must equal weight.shape\[1\]\*groups \(3\); input \(2, 4, 5, 5, 5\), weight "
     r"\(6, 3, 3, 3, 3\)"),
    (lambda: F.conv3d(_t(2, 4, 5, 5, 5), _t(6, 2, 3, 3, 3), groups=4), ValueError,
     r"conv3d: out_channels \(weight.shape\[0\] = 6\) must be divisible by groups \(4\)"),
    (lambda: F.conv3d(_t(2, 3, 2, 4, 4), _t(5, 3, 3, 3, 3)), ValueError,
     r"conv3d: kernel size after dilation \(3, 3, 3\) can't be greater than the padded input size \(2, 4, 4\); "
     r"input \(2, 3, 2, 4, 4\), weight \(5, 3, 3, 3, 3\)"),
    (lambda: F.conv3d(_t(2, 3, 5, 5, 5), _t(5, 3, 3, 3, 3), dilation=(1, 3, 1)), ValueError,
     r"conv3d: kernel size after dilation \(3, 7, 3\)"),
    (lambda: F.conv3d(_t(1, 3, 5, 5, 5), _t(5, 3, 3, 3)), ValueError,
     r"conv3d: expected 5-D weight \(out_channels, in_channels/groups, kD, kH, kW\), got weight of shape "
     r"\(5, 3, 3, 3\)"),
    (lambda: F.conv3d(_t(3, 5, 5), _t(5, 3, 3, 3, 3)), ValueError,
     r"conv3d: expected 4-D \(unbatched\) or 5-D \(batched\) input, got input of shape \(3, 5, 5\)"),
    (lambda: F.conv3d(_t(1, 3, 5, 5, 5), _t(4, 3, 3, 3, 3), _t(5)), ValueError,
     r"conv3d: bias must be 1-D with out_channels \(4\) elements, got bias of shape \(5,\)"),
    (lambda: F.conv3d(_t(1, 3, 5, 5, 5), _t(4, 3, 3, 3, 3, dtype=pyml.float64)), TypeError,
     r"conv3d: input and weight must have the same dtype, got float32 and float64"),
    (lambda: F.conv3d(_t(1, 3, 5, 5, 5, dtype=pyml.int64), _t(4, 3, 3, 3, 3, dtype=pyml.int64)), TypeError,
     r"conv3d: expected a floating-point tensor"),
    (lambda: F.conv3d(_t(1, 3, 5, 5, 5), _t(4, 3, 3, 3, 3), stride=(1, 0, 1)), ValueError,
     r"conv3d: stride must be positive, got \(1, 0, 1\)"),
    (lambda: F.conv3d(_t(1, 3, 5, 5, 5), _t(4, 3, 3, 3, 3), padding=-1), ValueError,
     r"conv3d: padding must be non-negative"),
    (lambda: F.conv3d(_t(1, 3, 5, 5, 5), _t(4, 3, 3, 3, 3), stride=(1, 2)), ValueError,
     r"conv3d: stride must be an int or a tuple of 3 ints, got \(1, 2\)"),
    (lambda: F.conv3d(_t(1, 3, 5, 5, 5), _t(4, 3, 3, 3, 3), padding="same", stride=2), ValueError,
     r"conv3d: padding='same' is not supported for strided convolutions"),
    (lambda: F.conv3d(_t(1, 3, 5, 5, 5), _t(4, 3, 3, 3, 3), groups=0), ValueError, r"conv3d: groups must be positive"),
    (lambda: F.conv3d([1.0], _t(4, 3, 3, 3, 3)), TypeError, r"conv3d: argument 'input' must be Tensor"),
    (lambda: F.conv_transpose3d(_t(1, 3, 5, 5, 5), _t(4, 2, 3, 3, 3)), ValueError,
     r"conv_transpose3d: input channels \(3\) must equal weight.shape\[0\] \(4\); input \(1, 3, 5, 5, 5\), weight "
     r"\(4, 2, 3, 3, 3\)"),
    (lambda: F.conv_transpose3d(_t(1, 4, 5, 5, 5), _t(4, 2, 3, 3, 3), groups=3), ValueError,
     r"conv_transpose3d: in_channels \(weight.shape\[0\] = 4\) must be divisible by groups \(3\)"),
    (lambda: F.conv_transpose3d(_t(1, 4, 5, 5, 5), _t(4, 2, 3, 3, 3), stride=2, output_padding=(0, 2, 0)),
     ValueError, r"conv_transpose3d: output_padding must be smaller than either stride or dilation, got "
                 r"output_padding \(0, 2, 0\), stride \(2, 2, 2\)"),
    (lambda: F.conv_transpose3d(_t(1, 4, 1, 1, 1), _t(4, 2, 1, 1, 1), padding=(0, 1, 0)), ValueError,
     r"conv_transpose3d: the output size \(1, -1, 1\) must be positive"),
    (lambda: F.conv_transpose3d(_t(1, 4, 5, 5, 5), _t(4, 2, 3, 3, 3), _t(3)), ValueError,
     r"conv_transpose3d: bias must be 1-D with out_channels \(2\) elements"),
    (lambda: F.conv_transpose3d(_t(1, 4, 5, 5, 5), _t(4, 2, 3, 3, 3), padding="same"), ValueError,
     r"conv_transpose3d: padding must be an int or a tuple of ints"),
    (lambda: nn.Conv3d(4, 6, 3, groups=4), ValueError, r"Conv3d: out_channels \(6\) must be divisible by groups"),
    (lambda: nn.Conv3d(4, 6, (3, 3)), ValueError, r"Conv3d: kernel_size must be an int or a tuple of 3 ints"),
    (lambda: nn.Conv3d(4, 6, 3, padding_mode="wrap"), ValueError, r"Conv3d: padding_mode must be one of"),
    (lambda: nn.ConvTranspose3d(4, 6, 3, padding_mode="reflect"), ValueError,
     r'ConvTranspose3d: only "zeros" padding mode'),
    (lambda: nn.Conv3d(4, 6, 3)(_t(1, 3, 8, 8, 8)), ValueError,
     r"conv3d: input channels \(3\) must equal weight.shape\[1\]\*groups \(4\); input \(1, 3, 8, 8, 8\)"),
]


@pytest.mark.parametrize("fn,exc,msg", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_inputs(fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn()


def test_engine_entries_validate_direct_calls():
    # the raw _C entries are reachable from Python: they validate on their own
    x, w = _t(1, 3, 5, 5, 5)._impl, _t(4, 3, 3, 3, 3)._impl
    geo = ([1, 1, 1], [0, 0, 0], [0, 0, 0], [1, 1, 1], 1)
    with pytest.raises(ValueError, match=r"conv3d: grad_output must have the output's shape \(1, 4, 3, 3, 3\), got "
                                         r"\(1, 4, 2, 3, 3\)"):
        pyml._C.conv_backward_input(_t(1, 4, 2, 3, 3)._impl, w, [1, 3, 5, 5, 5], *geo)
    with pytest.raises(ValueError, match=r"conv3d: weight_shape must have non-negative sizes"):
        pyml._C.conv_backward_weight(_t(1, 4, 3, 3, 3)._impl, x, [4, -3, 3, 3, 3], *geo)
    with pytest.raises(TypeError, match=r"conv3d: grad_output must have the input's dtype float32, got float64"):
        pyml._C.conv_backward_weight(_t(1, 4, 3, 3, 3, dtype=pyml.float64)._impl, x, [4, 3, 3, 3, 3], *geo)
    with pytest.raises(ValueError, match=r"conv3d: padding must have 3 element"):
        pyml._C.conv_forward(x, w, None, [1, 1, 1], [0], [0, 0, 0], [1, 1, 1], 1)
    with pytest.raises(ValueError, match=r"only 1-D, 2-D and 3-D convolutions are supported, got 4 spatial dims"):
        pyml._C.conv_forward(_t(1, 1, 2, 2, 2, 2)._impl, _t(1, 1, 1, 1, 1, 1)._impl, None, [1] * 4, [0] * 4, [0] * 4,
                             [1] * 4, 1)


def test_asymmetric_and_cropping_pad_hi_entries():
    """pad_hi above padding pads more at the end, below it crops (the adjoint of conv_transpose3d with
    output_padding uses that): the forward, grad-input and grad-weight entries match torch on an input
    padded and cropped by F.pad."""
    rng = np.random.default_rng(21)
    x, w = rng.standard_normal((2, 3, 6, 5, 7)), rng.standard_normal((4, 3, 3, 2, 3))
    geo = ([2, 1, 2], [1, 2, 0], [2, -1, 1], [1, 1, 1], 1)  # stride, padding, pad_hi, dilation, groups
    xt, wt = torch.tensor(x).requires_grad_(), torch.tensor(w).requires_grad_()
    yt = TF.conv3d(TF.pad(xt, (0, 1, 2, -1, 1, 2)), wt, stride=(2, 1, 2))
    y = wrap(pyml._C.conv_forward(pyml.tensor(x)._impl, pyml.tensor(w)._impl, None, *geo))
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    dy = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(dy))
    dx = wrap(pyml._C.conv_backward_input(pyml.tensor(dy)._impl, pyml.tensor(w)._impl, list(x.shape), *geo))
    dw = wrap(pyml._C.conv_backward_weight(pyml.tensor(dy)._impl, pyml.tensor(x)._impl, list(w.shape), *geo))
    np.testing.assert_allclose(dx.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dw.numpy(), wt.grad.numpy(), rtol=1e-10, atol=1e-10)
