"""max/avg/adaptive pooling (1-D, 2-D) and max_unpool against torch.nn.functional: outputs, indices
and input gradients, float64 and float32, odd sizes, batch 1 and 3, unbatched and non-contiguous
inputs, ceil_mode / count_include_pad / divisor_override / dilation, NaN propagation, Jacobians
of first and second order on tiny float64 cases, bad inputs, the TEXTBOOK.md 2x2 max-pool."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pyml
import pyml.nn.functional as F
from nn_helpers import full_jacobian_check, leaf, pool_compare, rand

TOL = {"float64": 1e-12, "float32": 1e-5}




compare = pool_compare(leaf, TOL)


# ------------------------------------------------------------------------------------- max pooling
MAX_GRID = [(k, s, p, d, c) for k, s, p, d, c in itertools.product([2, 3], [1, 2], [0, 1], [1, 2], [False, True])
            if p <= k // 2]


@pytest.mark.parametrize("k,s,p,d,ceil", MAX_GRID)
def test_max_pool2d_grid(k, s, p, d, ceil):
    compare("max_pool2d", rand((3, 2, 9, 7), k + s), kernel_size=k, stride=s, padding=p, dilation=d,
            ceil_mode=ceil, return_indices=True)


@pytest.mark.parametrize("k,s,p,d,ceil", MAX_GRID)
def test_max_pool1d_grid(k, s, p, d, ceil):
    compare("max_pool1d", rand((3, 2, 11), k + s), kernel_size=k, stride=s, padding=p, dilation=d,
            ceil_mode=ceil, return_indices=True)


@pytest.mark.parametrize("shape,kw", [
    ((1, 1, 1, 1), dict(kernel_size=1)),
    ((1, 3, 7, 9), dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0), dilation=(2, 3))),
    ((3, 7, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),     # unbatched
    ((2, 3, 5, 5), dict(kernel_size=5)),                                        # one window
    ((2, 3, 6, 8), dict(kernel_size=2)),                                        # stride defaults to kernel_size
    ((0, 3, 6, 8), dict(kernel_size=2)),                                        # empty batch
])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_max_pool2d_cases(shape, kw, dtype):
    compare("max_pool2d", rand(shape), dtype, **kw)


@pytest.mark.parametrize("layout", ["strided", "transposed"])
def test_max_pool_noncontiguous(layout):
    compare("max_pool2d", rand((3, 4, 9, 8)), layout=layout, kernel_size=3, stride=2, padding=1,
            return_indices=True)
    compare("max_pool1d", rand((3, 4, 9)), layout="strided", kernel_size=2, stride=1)


def test_max_pool_large_float32():
    compare("max_pool2d", rand((3, 16, 61, 67)), "float32", kernel_size=3, stride=2, padding=1)


def test_max_pool_ties_and_nan_follow_torch():
    a = np.zeros((1, 1, 4, 4))
    a[0, 0, 1, 1] = np.nan
    a[0, 0, 3, 2] = -np.inf
    for fn in ("max_pool2d",):
        y, idx = F.max_pool2d(pyml.tensor(a), 2, return_indices=True)
        yt, it = TF.max_pool2d(torch.tensor(a), 2, return_indices=True)
        np.testing.assert_array_equal(y.numpy(), yt.numpy())
        np.testing.assert_array_equal(idx.numpy(), it.numpy())
    y, idx = F.adaptive_max_pool2d(pyml.tensor(a), 3, return_indices=True)
    yt, it = TF.adaptive_max_pool2d(torch.tensor(a), 3, return_indices=True)
    np.testing.assert_array_equal(y.numpy(), yt.numpy())
    np.testing.assert_array_equal(idx.numpy(), it.numpy())


# ------------------------------------------------------------------------------------- avg pooling
AVG_GRID = [(k, s, p, c, i) for k, s, p, c, i in itertools.product([2, 3], [1, 2], [0, 1], [False, True],
                                                                  [False, True]) if p <= k // 2]


@pytest.mark.parametrize("k,s,p,ceil,include", AVG_GRID)
def test_avg_pool2d_grid(k, s, p, ceil, include):
    compare("avg_pool2d", rand((3, 2, 9, 7), k), kernel_size=k, stride=s, padding=p, ceil_mode=ceil,
            count_include_pad=include)


@pytest.mark.parametrize("k,s,p,ceil,include", AVG_GRID)
def test_avg_pool1d_grid(k, s, p, ceil, include):
    compare("avg_pool1d", rand((3, 2, 11), k), kernel_size=k, stride=s, padding=p, ceil_mode=ceil,
            count_include_pad=include)


@pytest.mark.parametrize("shape,kw", [
    ((1, 3, 7, 9), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), divisor_override=5)),
    ((1, 3, 7, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, divisor_override=2)),
    ((3, 7, 9), dict(kernel_size=2)),                                          # unbatched
    ((1, 1, 1, 1), dict(kernel_size=1)),
    ((2, 3, 6, 8), dict(kernel_size=(4, 5), stride=3, padding=2, ceil_mode=True, count_include_pad=False)),
])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_avg_pool2d_cases(shape, kw, dtype):
    compare("avg_pool2d", rand(shape), dtype, **kw)


def test_avg_pool_noncontiguous_and_large():
    compare("avg_pool2d", rand((3, 4, 9, 8)), layout="transposed", kernel_size=3, stride=2, padding=1)
    compare("avg_pool1d", rand((3, 4, 9)), layout="strided", kernel_size=3, stride=2, padding=1)
    compare("avg_pool2d", rand((3, 16, 61, 67)), "float32", kernel_size=2)


# ------------------------------------------------------------------------------------- adaptive pooling
@pytest.mark.parametrize("shape,out", [((3, 2, 9, 7), (4, 5)), ((1, 3, 7, 9), 1), ((2, 3, 5, 5), (5, 5)),
                                       ((2, 3, 5, 6), (7, 11)), ((2, 3, 9, 7), (None, 3)), ((3, 10, 9), (4, 4))])
@pytest.mark.parametrize("name", ["adaptive_avg_pool2d", "adaptive_max_pool2d"])
def test_adaptive_pool2d(shape, out, name):
    compare(name, rand(shape), output_size=out)
    compare(name, rand(shape), "float32", layout="transposed", output_size=out)


def test_adaptive_max_pool2d_indices():
    compare("adaptive_max_pool2d", rand((2, 3, 9, 7)), output_size=(4, 3), return_indices=True)


@pytest.mark.parametrize("shape,out", [((3, 2, 11), 4), ((2, 9), 3), ((1, 3, 5), 7), ((2, 3, 8), 1)])
@pytest.mark.parametrize("name", ["adaptive_avg_pool1d", "adaptive_max_pool1d"])
def test_adaptive_pool1d(shape, out, name):
    compare(name, rand(shape), output_size=out)
    compare(name, rand(shape), layout="strided", output_size=out)


# ------------------------------------------------------------------------------------- max_unpool
@pytest.mark.parametrize("shape,kw,out", [((2, 3, 8, 10), dict(kernel_size=2), None),
                                          ((2, 3, 9, 9), dict(kernel_size=3, stride=2, padding=1), None),
                                          ((2, 3, 9, 9), dict(kernel_size=2), (9, 9)),
                                          ((3, 8, 10), dict(kernel_size=2), None)])
def test_max_unpool2d_roundtrip(shape, kw, out):
    a = rand(shape)
    pooled, idx = F.max_pool2d(pyml.tensor(a), return_indices=True, **kw)
    tp, ti = TF.max_pool2d(torch.tensor(a), return_indices=True, **kw)
    xp = pooled.detach().requires_grad_()
    xt = tp.detach().requires_grad_()
    y = F.max_unpool2d(xp, idx, output_size=out, **kw)
    yt = TF.max_unpool2d(xt, ti, output_size=out, **kw)
    np.testing.assert_array_equal(y.detach().numpy(), yt.detach().numpy())
    g = rand(tuple(yt.shape), 1)
    y.backward(pyml.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(xp.grad.numpy(), xt.grad.numpy())


def test_max_unpool1d_roundtrip():
    a = rand((2, 3, 11))
    pooled, idx = F.max_pool1d(pyml.tensor(a), 3, 2, return_indices=True)
    tp, ti = TF.max_pool1d(torch.tensor(a), 3, 2, return_indices=True)
    np.testing.assert_array_equal(F.max_unpool1d(pooled, idx, 3, 2).numpy(), TF.max_unpool1d(tp, ti, 3, 2).numpy())


# ------------------------------------------------------------------------------------- Jacobians


def second_order_check(f, a, seed=0):
    """The Jacobian of (x, v) -> d(f(x) . v)/dx, built with create_graph=True."""
    v0 = np.random.default_rng(seed).standard_normal(tuple(f(pyml.tensor(a)).shape))

    def vjp(x, v):
        with pyml.enable_grad():
            x = x if x.requires_grad else x.detach().requires_grad_()
            (g,) = pyml.autograd.grad([f(x)], [x], [v], create_graph=True)
        return g * x  # a non-linear use of the gradient, so second derivatives wrt x are not all zero
    full_jacobian_check(vjp, [a, v0])


TINY = [
    ("max_pool2d", lambda x: F.max_pool2d(x, 2, 1, padding=1, dilation=(1, 2), ceil_mode=True), (1, 2, 3, 4)),
    ("max_pool1d", lambda x: F.max_pool1d(x, 3, 2, padding=1), (2, 1, 6)),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 2, 1, padding=1, count_include_pad=False), (1, 2, 3, 3)),
    ("avg_pool1d", lambda x: F.avg_pool1d(x, 3, 2, padding=1, ceil_mode=True), (2, 1, 6)),
    ("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (2, 3)), (1, 2, 3, 4)),
    ("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (2, 2)), (1, 2, 3, 4)),
    ("max_unpool2d", lambda x: F.max_unpool2d(x, pyml.tensor([[[[0, 3], [9, 14]]]]), 2), (1, 1, 2, 2)),
]


@pytest.mark.parametrize("name,f,shape", TINY, ids=[t[0] for t in TINY])
def test_jacobians_first_and_second_order(name, f, shape):
    a = np.random.default_rng(3).permutation(np.prod(shape)).reshape(shape) * 0.1 + 0.01  # distinct: no max ties
    full_jacobian_check(f, [a])
    second_order_check(f, a)


# ------------------------------------------------------------------------------------- TEXTBOOK.md
def test_textbook_6x6_conv_then_2x2_max_pool():
    img = pyml.tensor([[1, 0, 0, 0, 0, 1], [0, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 0], [1, 0, 0, 0, 1, 0],
                       [0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 1, 0]], dtype=pyml.float32).reshape(1, 1, 6, 6)
    filt = pyml.tensor([[1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=pyml.float32).reshape(1, 1, 3, 3)
    feature = F.conv2d(img, filt)
    assert F.max_pool2d(feature, 2)[0, 0].tolist() == [[3, 0], [3, 1]]
    fm = pyml.tensor([[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1], [3, -2, -2, -1]],
                     dtype=pyml.float32).reshape(1, 1, 4, 4)
    assert F.max_pool2d(fm, 2, 2)[0, 0].tolist() == [[3, 0], [3, 1]]
    assert F.avg_pool2d(fm, 2)[0, 0].tolist() == [[0.0, -1.75], [-1.25, -0.5]]


# ------------------------------------------------------------------------------------- bad inputs
def _t(*shape, dtype=pyml.float32):
    return pyml.zeros(*shape, dtype=dtype)


BAD = [
    (lambda: F.max_pool2d(_t(4, 4), 2), ValueError,
     r"max_pool2d: expected 3-D \(unbatched\) or 4-D \(batched\) input, got input of shape \(4, 4\)"),
    (lambda: F.max_pool1d(_t(1, 2, 3, 4), 2), ValueError, r"max_pool1d: expected 2-D \(unbatched\) or 3-D"),
    (lambda: F.max_pool2d(_t(1, 2, 4, 4), 2, padding=2), ValueError,
     r"max_pool2d: padding should be at most half of kernel_size, got padding \(2, 2\), kernel_size \(2, 2\)"),
    (lambda: F.max_pool2d(_t(1, 2, 3, 3), 4), ValueError,
     r"max_pool2d: output size \(0, 0\) is too small for input size \(3, 3\)"),
    (lambda: F.max_pool2d(_t(1, 2, 4, 4), 2, stride=0), ValueError, r"max_pool2d: stride must be positive"),
    (lambda: F.max_pool2d(_t(1, 2, 4, 4), 0), ValueError, r"max_pool2d: kernel_size must be positive"),
    (lambda: F.max_pool2d(_t(1, 2, 4, 4), (2, 2, 2)), ValueError, r"max_pool2d: kernel_size must be an int or a"),
    (lambda: F.max_pool2d(_t(1, 0, 4, 4), 2), ValueError, r"max_pool2d: expected input with non-zero sizes"),
    (lambda: F.max_pool2d(_t(1, 2, 4, 4, dtype=pyml.bool), 2), TypeError,
     r"max_pool2d: expected a floating-point tensor"),
    (lambda: F.adaptive_avg_pool2d(_t(1, 2, 4, 4, dtype=pyml.int64), 2), TypeError,
     r"adaptive_avg_pool2d: expected a floating-point tensor"),
    (lambda: F.avg_pool2d(_t(1, 2, 4, 4), 3, padding=2), ValueError, r"avg_pool2d: padding should be at most half"),
    (lambda: F.avg_pool2d(_t(1, 2, 4, 4), 2, divisor_override=0), ValueError,
     r"avg_pool2d: divisor_override must be non-zero"),
    (lambda: F.avg_pool1d(_t(5), 2), ValueError, r"avg_pool1d: expected 2-D \(unbatched\) or 3-D"),
    (lambda: F.adaptive_avg_pool2d(_t(2, 3), 2), ValueError, r"adaptive_avg_pool2d: expected 3-D \(unbatched\)"),
    (lambda: F.adaptive_avg_pool2d(_t(1, 2, 3, 3), (2, 2, 2)), ValueError,
     r"adaptive_avg_pool2d: output_size must be an int or 2 ints"),
    (lambda: F.adaptive_max_pool2d(_t(1, 2, 0, 3), 2), ValueError,
     r"adaptive_max_pool2d: expected input with non-zero sizes"),
    (lambda: F.adaptive_avg_pool1d(_t(1, 2, 3), -1), ValueError, r"adaptive_avg_pool1d: output_size must be non"),
    (lambda: F.max_unpool2d(_t(1, 1, 2, 2), pyml.zeros(1, 1, 2, 2, dtype=pyml.int32), 2), TypeError,
     r"max_unpool2d: indices must be int64"),
    (lambda: F.max_unpool2d(_t(1, 1, 2, 2), pyml.zeros(1, 1, 2, 3, dtype=pyml.int64), 2), ValueError,
     r"max_unpool2d: indices must have shape \(1, 1, 2, 2\), got \(1, 1, 2, 3\)"),
    (lambda: F.max_unpool2d(_t(1, 1, 2, 2), pyml.full((1, 1, 2, 2), 16, dtype=pyml.int64), 2), ValueError,
     r"max_unpool2d: found an invalid index 16 \(each plane has 16 elements\)"),
    (lambda: F.max_unpool2d(_t(1, 1, 2, 2), pyml.full((1, 1, 2, 2), -1, dtype=pyml.int64), 2), ValueError,
     r"max_unpool2d: found an invalid index -1"),
    (lambda: F.max_unpool2d(_t(1, 1, 2, 2), pyml.zeros(1, 1, 2, 2, dtype=pyml.int64), 2, output_size=(7, 4)),
     ValueError, r"max_unpool2d: invalid output_size \(7, 4\) \(dim 0 must be between 2 and 6\)"),
    (lambda: F.max_pool2d([1.0], 2), TypeError, r"max_pool2d: argument 'input' must be Tensor"),
]


@pytest.mark.parametrize("fn,exc,msg", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_inputs(fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn()


def test_engine_backward_entries_validate_direct_calls():
    x = _t(1, 2, 4, 4)._impl
    with pytest.raises(ValueError, match=r"max_pool2d: found an invalid index 99"):
        pyml._C.max_pool_backward(_t(1, 2, 2, 2)._impl, x, pyml.full((1, 2, 2, 2), 99, dtype=pyml.int64)._impl, 2,
                                  "max_pool2d")
    with pytest.raises(ValueError, match=r"avg_pool2d: grad_output must have the output's shape \(1, 2, 2, 2\)"):
        pyml._C.avg_pool_backward(_t(1, 2, 3, 3)._impl, x, [2, 2], [2, 2], [0, 0], False, True, None)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name,kw", [("max_pool2d", dict(kernel_size=3, stride=2, padding=1)),
                                     ("avg_pool2d", dict(kernel_size=2)), ("adaptive_avg_pool2d", dict(output_size=3)),
                                     ("adaptive_max_pool2d", dict(output_size=(2, 3))),
                                     ("avg_pool1d", dict(kernel_size=3, stride=2))])
def test_half_types_compute_in_float32(dtype, name, kw):
    a = rand((2, 3, 7, 8) if name != "avg_pool1d" else (2, 3, 9))
    dt = getattr(pyml, dtype)
    x = pyml.tensor(a).to(dt).requires_grad_()
    y = getattr(F, name)(x, **kw)
    assert y.dtype is dt
    want = getattr(F, name)(x.detach().float(), **kw).to(dt)
    np.testing.assert_array_equal(y.detach().float().numpy(), want.float().numpy())
    y.sum().backward()
    assert x.grad.dtype is dt and tuple(x.grad.shape) == a.shape


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64"])
@pytest.mark.parametrize("kw", [dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                dict(kernel_size=(2, 3), dilation=(2, 1))])
def test_integer_max_pool2d_like_torch(dtype, kw):
    a = np.random.default_rng(4).integers(0 if dtype == "uint8" else -100, 100, (2, 3, 7, 9))
    y, idx = F.max_pool2d(pyml.tensor(a).to(getattr(pyml, dtype)), return_indices=True, **kw)
    yt, it = TF.max_pool2d(torch.tensor(a).to(getattr(torch, dtype)), return_indices=True, **kw)
    assert y.dtype is getattr(pyml, dtype)
    np.testing.assert_array_equal(y.numpy(), yt.numpy())
    np.testing.assert_array_equal(idx.numpy(), it.numpy())


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64"])
@pytest.mark.parametrize("kw", [dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
                                dict(kernel_size=2, ceil_mode=True, divisor_override=3), dict(kernel_size=(3, 2))])
def test_integer_avg_pool2d_like_torch(dtype, kw):
    # integer windows sum in int64 and divide with truncation toward zero, as torch does for int64 (the
    # only integer type torch's avg_pool2d takes; the narrower ones here give the int64 result cast)
    a = np.random.default_rng(5).integers(0 if dtype == "uint8" else -100, 100, (2, 3, 7, 9))
    y = F.avg_pool2d(pyml.tensor(a).to(getattr(pyml, dtype)), **kw)
    yt = TF.avg_pool2d(torch.tensor(a), **kw).to(getattr(torch, dtype))
    assert y.dtype is getattr(pyml, dtype)
    np.testing.assert_array_equal(y.numpy(), yt.numpy())
