"""3-D pooling against torch: max_pool3d (indices too), avg_pool3d, adaptive_avg/max_pool3d, lp_pool3d,
max_unpool3d and their modules; outputs and input gradients in float64 and float32, odd sizes (1, 3, 7,
13), every kernel / stride / padding / dilation / ceil_mode / count_include_pad / divisor_override
combination on a grid, unbatched (C, D, H, W) and non-contiguous inputs, NaN and ties, integer and
half dtypes; gradcheck and gradgradcheck on tiny float64 cases; bad inputs naming the op and shapes."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import pyml
import pyml.nn as nn
import pyml.nn.functional as F
from pyml.autograd import gradcheck, gradgradcheck
from nn_helpers import leaf, pool_compare, rand

TOL = {"float64": 1e-12, "float32": 1e-5}




compare = pool_compare(leaf, TOL)


# ------------------------------------------------------------------------------------- max pooling
MAX_GRID = [(k, s, p, d, c) for k, s, p, d, c in itertools.product([2, 3], [1, 2], [0, 1], [1, 2], [False, True])
            if p <= k // 2]


@pytest.mark.parametrize("k,s,p,d,ceil", MAX_GRID)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_max_pool3d_grid(k, s, p, d, ceil, dtype):
    compare("max_pool3d", rand((2, 3, 7, 6, 5), k + s), dtype, kernel_size=k, stride=s, padding=p, dilation=d,
            ceil_mode=ceil, return_indices=True)


MAX_CASES = [
    ((1, 1, 1, 1, 1), dict(kernel_size=1)),
    ((1, 2, 7, 13, 3), dict(kernel_size=(2, 3, 1), stride=(1, 2, 1), padding=(1, 0, 0), dilation=(3, 2, 1))),
    ((3, 7, 6, 5), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),          # unbatched
    ((2, 3, 3, 5, 7), dict(kernel_size=(3, 5, 7))),                                     # one window
    ((2, 3, 6, 8, 4), dict(kernel_size=2)),                                             # stride = kernel_size
    ((2, 3, 13, 7, 7), dict(kernel_size=(3, 2, 2), stride=(3, 2, 2), ceil_mode=True)),  # partial last windows
    ((0, 3, 6, 8, 4), dict(kernel_size=2)),                                             # empty batch
]


@pytest.mark.parametrize("shape,kw", MAX_CASES, ids=[str(i) for i in range(len(MAX_CASES))])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_max_pool3d_cases(shape, kw, dtype):
    compare("max_pool3d", rand(shape), dtype, return_indices=True, **kw)
    compare("max_pool3d", rand(shape, 1), dtype, **kw)  # no indices asked for: autograd keeps its own


@pytest.mark.parametrize("layout", ["strided", "channels_last", "reversed"])
def test_max_pool3d_noncontiguous(layout):
    compare("max_pool3d", rand((3, 4, 7, 6, 5)), layout=layout, kernel_size=3, stride=2, padding=1,
            return_indices=True)


def test_max_pool3d_without_grad_returns_values_only():
    a = rand((2, 3, 5, 6, 7))
    y = F.max_pool3d(pyml.tensor(a), 3, 2, 1)
    np.testing.assert_array_equal(y.numpy(), TF.max_pool3d(torch.tensor(a), 3, 2, 1).numpy())
    assert not y.requires_grad


def test_max_pool3d_ties_and_nan_follow_torch():
    a = np.zeros((1, 2, 4, 4, 4))
    a[0, 0, 1, 1, 1] = np.nan
    a[0, 0, 3, 2, 0] = -np.inf
    a[0, 1] = -np.inf
    for fn, kw in (("max_pool3d", dict(kernel_size=2)), ("max_pool3d", dict(kernel_size=3, stride=1, padding=1)),
                   ("adaptive_max_pool3d", dict(output_size=3))):
        y, idx = getattr(F, fn)(pyml.tensor(a), return_indices=True, **kw)
        yt, it = getattr(TF, fn)(torch.tensor(a), return_indices=True, **kw)
        np.testing.assert_array_equal(y.numpy(), yt.numpy())
        np.testing.assert_array_equal(idx.numpy(), it.numpy())


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64"])
def test_integer_max_pool3d_like_torch(dtype):
    a = np.random.default_rng(4).integers(0 if dtype == "uint8" else -100, 100, (2, 3, 5, 7, 6))
    kw = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, dilation=(1, 2, 1))
    y, idx = F.max_pool3d(pyml.tensor(a).to(getattr(pyml, dtype)), return_indices=True, **kw)
    yt, it = TF.max_pool3d(torch.tensor(a).to(getattr(torch, dtype)), return_indices=True, **kw)
    assert y.dtype is getattr(pyml, dtype)
    np.testing.assert_array_equal(y.numpy(), yt.numpy())
    np.testing.assert_array_equal(idx.numpy(), it.numpy())


# ------------------------------------------------------------------------------------- avg pooling
AVG_GRID = [(k, s, p, c, i) for k, s, p, c, i in itertools.product([2, 3], [1, 2], [0, 1], [False, True],
                                                                  [False, True]) if p <= k // 2]


@pytest.mark.parametrize("k,s,p,ceil,include", AVG_GRID)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_avg_pool3d_grid(k, s, p, ceil, include, dtype):
    compare("avg_pool3d", rand((2, 3, 7, 6, 5), k), dtype, kernel_size=k, stride=s, padding=p, ceil_mode=ceil,
            count_include_pad=include)


AVG_CASES = [
    ((1, 1, 1, 1, 1), dict(kernel_size=1)),
    ((2, 3, 7, 13, 3), dict(kernel_size=(3, 2, 1), stride=(2, 3, 1), padding=(1, 1, 0), ceil_mode=True)),
    ((2, 3, 7, 6, 5), dict(kernel_size=3, stride=2, padding=1, divisor_override=5)),
    ((2, 3, 7, 6, 5), dict(kernel_size=2, ceil_mode=True, count_include_pad=False, divisor_override=-3)),
    ((3, 7, 6, 5), dict(kernel_size=(2, 3, 2), padding=1, count_include_pad=False)),   # unbatched
    ((2, 3, 13, 7, 7), dict(kernel_size=(3, 2, 2), stride=(3, 2, 2), padding=1, ceil_mode=True)),
]


@pytest.mark.parametrize("shape,kw", AVG_CASES, ids=[str(i) for i in range(len(AVG_CASES))])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_avg_pool3d_cases(shape, kw, dtype):
    compare("avg_pool3d", rand(shape), dtype, **kw)


@pytest.mark.parametrize("layout", ["strided", "channels_last", "reversed"])
def test_avg_pool3d_noncontiguous(layout):
    compare("avg_pool3d", rand((3, 4, 7, 6, 5)), layout=layout, kernel_size=3, stride=2, padding=1,
            count_include_pad=False)


def test_integer_avg_pool3d_like_torch():
    # integer windows sum in int64 and divide with truncation toward zero (torch's avg_pool3d takes int64)
    a = np.random.default_rng(5).integers(-100, 100, (2, 3, 5, 7, 6))
    for kw in (dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
               dict(kernel_size=2, ceil_mode=True, divisor_override=3)):
        y = F.avg_pool3d(pyml.tensor(a), **kw)
        assert y.dtype is pyml.int64
        np.testing.assert_array_equal(y.numpy(), TF.avg_pool3d(torch.tensor(a), **kw).numpy())
    y32 = F.avg_pool3d(pyml.tensor(a).to(pyml.int32), 2)
    assert y32.dtype is pyml.int32
    np.testing.assert_array_equal(y32.numpy(), TF.avg_pool3d(torch.tensor(a), 2).numpy())


# ------------------------------------------------------------------------------------- adaptive pooling
ADAPTIVE = [((2, 3, 7, 6, 5), (3, 4, 2)), ((2, 3, 7, 6, 5), 1), ((1, 2, 3, 5, 4), (7, 5, 9)),
            ((3, 13, 7, 3), (4, None, 2)), ((2, 1, 13, 1, 7), (5, 1, None))]


@pytest.mark.parametrize("shape,out", ADAPTIVE, ids=[str(i) for i in range(len(ADAPTIVE))])
@pytest.mark.parametrize("name", ["adaptive_avg_pool3d", "adaptive_max_pool3d"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_adaptive_pool3d(shape, out, name, dtype):
    compare(name, rand(shape), dtype, output_size=out)
    compare(name, rand(shape, 1), dtype, layout="strided", output_size=out)


def test_adaptive_max_pool3d_indices_and_layouts():
    compare("adaptive_max_pool3d", rand((2, 3, 7, 6, 5)), output_size=(3, 2, 4), return_indices=True)
    compare("adaptive_max_pool3d", rand((2, 3, 7, 6, 5)), layout="channels_last", output_size=(2, 5, 3),
            return_indices=True)
    compare("adaptive_avg_pool3d", rand((2, 3, 7, 6, 5)), layout="reversed", output_size=(2, 5, 3))


# ------------------------------------------------------------------------------------- lp pooling
@pytest.mark.parametrize("p,k,s,ceil", [(1, 2, None, False), (2, 3, 2, True), (3.5, (2, 3, 1), (1, 2, 1), False),
                                        (2, (3, 1, 2), None, True)])
def test_lp_pool3d(p, k, s, ceil):
    a = np.abs(rand((2, 3, 7, 6, 5))) + 0.1  # positive: fractional powers stay real
    compare("lp_pool3d", a, norm_type=p, kernel_size=k, stride=s, ceil_mode=ceil)
    compare("lp_pool3d", a[0], "float32", norm_type=p, kernel_size=k, stride=s, ceil_mode=ceil)


def test_lp_pool3d_infinite_norm_is_max_of_abs():
    a = rand((2, 3, 5, 6, 4))
    y = F.lp_pool3d(pyml.tensor(a), float("inf"), 2)
    np.testing.assert_array_equal(y.numpy(), TF.max_pool3d(torch.tensor(np.abs(a)), 2).numpy())


# ------------------------------------------------------------------------------------- max_unpool
@pytest.mark.parametrize("shape,kw,out", [((2, 3, 6, 8, 4), dict(kernel_size=2), None),
                                          ((2, 3, 7, 7, 5), dict(kernel_size=3, stride=2, padding=1), None),
                                          ((2, 3, 7, 7, 5), dict(kernel_size=2), [2, 3, 7, 7, 5]),
                                          ((3, 6, 8, 4), dict(kernel_size=(2, 1, 2)), (7, 8, 5)),   # unbatched
                                          ((1, 1, 3, 3, 3), dict(kernel_size=3, stride=1, padding=1), None)])
def test_max_unpool3d_roundtrip(shape, kw, out):
    a = rand(shape)
    pooled, idx = F.max_pool3d(pyml.tensor(a), return_indices=True, **kw)
    tp, ti = TF.max_pool3d(torch.tensor(a), return_indices=True, **kw)
    xp, xt = pooled.detach().requires_grad_(), tp.detach().requires_grad_()
    y = F.max_unpool3d(xp, idx, output_size=out, **kw)
    yt = TF.max_unpool3d(xt, ti, output_size=out, **kw)
    np.testing.assert_array_equal(y.detach().numpy(), yt.detach().numpy())
    g = rand(tuple(yt.shape), 1)
    y.backward(pyml.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(xp.grad.numpy(), xt.grad.numpy())


# ------------------------------------------------------------------------------------- modules
MODULES = [
    ("MaxPool3d", (3,), dict(stride=2, padding=1, ceil_mode=True), (2, 3, 7, 6, 5)),
    ("MaxPool3d", ((2, 3, 1),), dict(dilation=(2, 1, 1)), (3, 7, 6, 5)),
    ("AvgPool3d", (3,), dict(stride=2, padding=1, count_include_pad=False), (2, 3, 7, 6, 5)),
    ("AvgPool3d", (2,), dict(ceil_mode=True, divisor_override=3), (2, 3, 7, 6, 5)),
    ("AdaptiveAvgPool3d", ((4, None, 2),), {}, (2, 3, 7, 6, 5)),
    ("AdaptiveMaxPool3d", (3,), {}, (2, 3, 7, 6, 5)),
    ("LPPool3d", (2, 3), dict(stride=2), (2, 3, 7, 6, 5)),
    ("LPPool3d", (1, (2, 1, 3)), dict(ceil_mode=True), (3, 7, 6, 5)),
]


@pytest.mark.parametrize("name,args,kw,xs", MODULES, ids=[f"{m[0]}-{i}" for i, m in enumerate(MODULES)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_modules_match_torch(name, args, kw, xs, dtype):
    pm, tm = getattr(nn, name)(*args, **kw), getattr(tnn, name)(*args, **kw)
    assert repr(pm) == repr(tm)
    assert list(pm.state_dict()) == [] == list(tm.state_dict())
    a = np.abs(rand(xs)) + 0.1 if name.startswith("LP") else rand(xs)
    xp = pyml.tensor(a).to(getattr(pyml, dtype)).requires_grad_()
    xt = torch.tensor(a).to(getattr(torch, dtype)).requires_grad_()
    y, yt = pm(xp), tm(xt)
    tol = TOL[dtype]
    np.testing.assert_allclose(y.detach().double().numpy(), yt.detach().double().numpy(), rtol=tol, atol=tol)
    g = rand(tuple(yt.shape), 2)
    y.backward(pyml.tensor(g).to(y.dtype))
    yt.backward(torch.tensor(g).to(yt.dtype))
    np.testing.assert_allclose(xp.grad.double().numpy(), xt.grad.double().numpy(), rtol=tol, atol=tol)


def test_return_indices_and_unpool_modules():
    x = rand((2, 3, 6, 8, 4))
    pool, tpool = nn.MaxPool3d(2, return_indices=True), tnn.MaxPool3d(2, return_indices=True)
    unpool, tunpool = nn.MaxUnpool3d(2), tnn.MaxUnpool3d(2)
    assert repr(unpool) == repr(tunpool) and repr(nn.MaxUnpool3d((1, 2, 3), 1)) == repr(tnn.MaxUnpool3d((1, 2, 3), 1))
    y, idx = pool(pyml.tensor(x))
    yt, it = tpool(torch.tensor(x))
    np.testing.assert_array_equal(idx.numpy(), it.numpy())
    np.testing.assert_array_equal(unpool(y, idx).numpy(), tunpool(yt, it).numpy())
    np.testing.assert_array_equal(unpool(y, idx, output_size=(7, 9, 5)).numpy(),
                                  tunpool(yt, it, output_size=(7, 9, 5)).numpy())
    y2, i2 = nn.AdaptiveMaxPool3d((3, 4, 2), return_indices=True)(pyml.tensor(x))
    yt2, it2 = tnn.AdaptiveMaxPool3d((3, 4, 2), return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(i2.numpy(), it2.numpy())
    np.testing.assert_array_equal(y2.numpy(), yt2.numpy())


# ------------------------------------------------------------------------------------- gradcheck
TINY = [
    ("max_pool3d", lambda x: F.max_pool3d(x, 2, 1, padding=1, dilation=(1, 2, 1), ceil_mode=True), (1, 2, 2, 3, 4)),
    ("max_pool3d_unbatched", lambda x: F.max_pool3d(x, (2, 1, 2), (1, 1, 2)), (2, 3, 2, 3)),
    ("avg_pool3d", lambda x: F.avg_pool3d(x, 2, 1, padding=1, count_include_pad=False), (1, 2, 2, 3, 3)),
    ("avg_pool3d_divisor", lambda x: F.avg_pool3d(x, (2, 2, 3), 2, ceil_mode=True, divisor_override=5),
     (1, 1, 3, 3, 4)),
    ("adaptive_avg_pool3d", lambda x: F.adaptive_avg_pool3d(x, (2, 3, 2)), (1, 2, 3, 4, 3)),
    ("adaptive_max_pool3d", lambda x: F.adaptive_max_pool3d(x, (2, 2, 1)), (1, 2, 3, 3, 2)),
    ("lp_pool3d", lambda x: F.lp_pool3d(x, 2, (2, 2, 1)), (1, 2, 2, 3, 2)),
    ("max_unpool3d", lambda x: F.max_unpool3d(x, pyml.tensor([[[[[0, 3]], [[9, 14]]]]]), 2), (1, 1, 2, 1, 2)),
]


@pytest.mark.parametrize("name,f,shape", TINY, ids=[t[0] for t in TINY])
def test_gradcheck_and_gradgradcheck(name, f, shape):
    # distinct positive values: no max ties, lp_pool's powers stay smooth
    a = np.random.default_rng(3).permutation(int(np.prod(shape))).reshape(shape) * 0.1 + 0.05
    x = pyml.tensor(a).requires_grad_()
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name,kw", [("max_pool3d", dict(kernel_size=3, stride=2, padding=1)),
                                     ("avg_pool3d", dict(kernel_size=2)), ("adaptive_avg_pool3d", dict(output_size=3)),
                                     ("adaptive_max_pool3d", dict(output_size=(2, 3, 1)))])
def test_half_types_compute_in_float32(dtype, name, kw):
    a = rand((2, 3, 5, 7, 6))
    dt = getattr(pyml, dtype)
    x = pyml.tensor(a).to(dt).requires_grad_()
    y = getattr(F, name)(x, **kw)
    assert y.dtype is dt
    want = getattr(F, name)(x.detach().float(), **kw).to(dt)
    np.testing.assert_array_equal(y.detach().float().numpy(), want.float().numpy())
    y.sum().backward()
    assert x.grad.dtype is dt and tuple(x.grad.shape) == a.shape


# ------------------------------------------------------------------------------------- bad inputs
def _t(*shape, dtype=pyml.float32):
    return pyml.zeros(*shape, dtype=dtype)


def _i(*shape, value=0):
    return pyml.full(shape, value, dtype=pyml.int64)


BAD = [
    (lambda: F.max_pool3d(_t(4, 4, 4), 2), ValueError,
     r"max_pool3d: expected 4-D \(unbatched\) or 5-D \(batched\) input, got input of shape \(4, 4, 4\)"),
    (lambda: F.max_pool3d(_t(1, 2, 4, 4, 4), 2, padding=(0, 2, 0)), ValueError,
     r"max_pool3d: padding should be at most half of kernel_size, got padding \(0, 2, 0\), kernel_size \(2, 2, 2\)"),
    (lambda: F.max_pool3d(_t(1, 2, 3, 5, 5), 4), ValueError,
     r"max_pool3d: output size \(0, 1, 1\) is too small for input size \(3, 5, 5\) \(kernel_size \(4, 4, 4\), "
     r"stride \(4, 4, 4\), padding \(0, 0, 0\), dilation \(1, 1, 1\)\); input \(1, 2, 3, 5, 5\)"),
    (lambda: F.max_pool3d(_t(1, 2, 4, 4, 4), 2, dilation=(1, 4, 1)), ValueError,
     r"max_pool3d: output size \(2, 0, 2\) is too small"),
    (lambda: F.max_pool3d(_t(1, 2, 4, 4, 4), 2, stride=0), ValueError, r"max_pool3d: stride must be positive"),
    (lambda: F.max_pool3d(_t(1, 2, 4, 4, 4), (2, 2)), ValueError,
     r"max_pool3d: kernel_size must be an int or a tuple of 3 ints, got \(2, 2\)"),
    (lambda: F.max_pool3d(_t(1, 2, 4, 0, 4), 2), ValueError,
     r"max_pool3d: expected input with non-zero sizes in the non-batch dims, got input of shape \(1, 2, 4, 0, 4\)"),
    (lambda: F.max_pool3d(_t(1, 2, 4, 4, 4, dtype=pyml.bool), 2), TypeError,
     r"max_pool3d: expected a floating-point tensor"),
    (lambda: F.max_pool3d([1.0], 2), TypeError, r"max_pool3d: argument 'input' must be Tensor"),
    (lambda: F.avg_pool3d(_t(1, 2, 4, 4, 4), 3, padding=2), ValueError, r"avg_pool3d: padding should be at most half"),
    (lambda: F.avg_pool3d(_t(1, 2, 4, 4, 4), 2, divisor_override=0), ValueError,
     r"avg_pool3d: divisor_override must be non-zero"),
    (lambda: F.avg_pool3d(_t(2, 4, 4), 2), ValueError, r"avg_pool3d: expected 4-D \(unbatched\) or 5-D"),
    (lambda: F.adaptive_avg_pool3d(_t(2, 3, 3), 2), ValueError,
     r"adaptive_avg_pool3d: expected 4-D \(unbatched\) or 5-D \(batched\) input, got input of shape \(2, 3, 3\)"),
    (lambda: F.adaptive_avg_pool3d(_t(1, 2, 3, 3, 3), (2, 2)), ValueError,
     r"adaptive_avg_pool3d: output_size must be an int or 3 ints, got \(2, 2\)"),
    (lambda: F.adaptive_avg_pool3d(_t(1, 2, 3, 3, 3, dtype=pyml.int64), 2), TypeError,
     r"adaptive_avg_pool3d: expected a floating-point tensor"),
    (lambda: F.adaptive_max_pool3d(_t(1, 2, 3, 0, 3), 2), ValueError,
     r"adaptive_max_pool3d: expected input with non-zero sizes"),
    (lambda: F.adaptive_max_pool3d(_t(1, 2, 3, 3, 3), (2, -1, 2)), ValueError,
     r"adaptive_max_pool3d: output_size must be non-negative, got \(2, -1, 2\)"),
    (lambda: F.lp_pool3d(_t(1, 2, 4, 4, 4), 0, 2), ValueError, r"lp_pool3d: norm_type must be non-zero"),
    (lambda: F.lp_pool3d(_t(4, 4, 4), 2, 2), ValueError, r"lp_pool3d: expected 4-D \(unbatched\) or 5-D"),
    (lambda: F.max_unpool3d(_t(1, 1, 2, 2, 2), pyml.zeros(1, 1, 2, 2, 2, dtype=pyml.int32), 2), TypeError,
     r"max_unpool3d: indices must be int64"),
    (lambda: F.max_unpool3d(_t(1, 1, 2, 2, 2), _i(1, 1, 2, 2, 1), 2), ValueError,
     r"max_unpool3d: indices must have shape \(1, 1, 2, 2, 2\), got \(1, 1, 2, 2, 1\)"),
    (lambda: F.max_unpool3d(_t(1, 1, 2, 2, 2), _i(1, 1, 2, 2, 2, value=64), 2), ValueError,
     r"max_unpool3d: found an invalid index 64 \(each plane has 64 elements\)"),
    (lambda: F.max_unpool3d(_t(1, 1, 2, 2, 2), _i(1, 1, 2, 2, 2, value=-1), 2), ValueError,
     r"max_unpool3d: found an invalid index -1"),
    (lambda: F.max_unpool3d(_t(1, 1, 2, 2, 2), _i(1, 1, 2, 2, 2), 2, output_size=(4, 7, 4)), ValueError,
     r"max_unpool3d: invalid output_size \(4, 7, 4\) \(dim 1 must be between 2 and 6\)"),
    (lambda: F.max_unpool3d(_t(1, 1, 2, 2, 2), _i(1, 1, 2, 2, 2), 2, output_size=(4, 4)), ValueError,
     r"max_unpool3d: output_size should be a sequence containing 3 or 5 elements"),
    (lambda: F.max_unpool3d(_t(2, 2, 2), _i(2, 2, 2), 2), ValueError, r"max_unpool3d: expected 4-D \(unbatched\)"),
]


@pytest.mark.parametrize("fn,exc,msg", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_inputs(fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn()


def test_engine_backward_entries_validate_direct_calls():
    x = _t(1, 2, 4, 4, 4)._impl
    with pytest.raises(ValueError, match=r"max_pool3d: found an invalid index 99 \(each plane has 64 elements\)"):
        pyml._C.max_pool_backward(_t(1, 2, 2, 2, 2)._impl, x, _i(1, 2, 2, 2, 2, value=99)._impl, 3, "max_pool3d")
    with pytest.raises(ValueError, match=r"max_pool3d: found an invalid index 64"):
        pyml._C.max_pool_backward_windows(_t(1, 2, 2, 2, 2)._impl, x, _i(1, 2, 2, 2, 2, value=64)._impl, [2, 2, 2],
                                          [2, 2, 2], [0, 0, 0], [1, 1, 1], False)
    with pytest.raises(ValueError, match=r"avg_pool3d: grad_output must have the output's shape \(1, 2, 2, 2, 2\), "
                                         r"got \(1, 2, 3, 3, 3\)"):
        pyml._C.avg_pool_backward(_t(1, 2, 3, 3, 3)._impl, x, [2, 2, 2], [2, 2, 2], [0, 0, 0], False, True, None)
    with pytest.raises(ValueError, match=r"adaptive_avg_pool3d: grad_output must have the input's rank"):
        pyml._C.adaptive_avg_pool_backward(_t(1, 2, 3, 3)._impl, x, 3)
    with pytest.raises(TypeError, match=r"adaptive_avg_pool3d: grad_output must have the input's dtype float32, got "
                                        r"float64"):
        pyml._C.adaptive_avg_pool_backward(_t(1, 2, 3, 3, 3, dtype=pyml.float64)._impl, x, 3)
