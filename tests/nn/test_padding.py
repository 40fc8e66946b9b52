"""F.pad and the padding layers (Zero/Constant/Reflection/Replication/CircularPad 1d/2d/3d) against torch:
values and input gradients for every mode, 1-3 padded dims, batched and unbatched inputs, odd sizes,
negative (cropping) pads, several dtypes and non-contiguous inputs; torch's rank and size rules with
exceptions of torch's class (TypeError, NotImplementedError) or ValueError where torch raises a generic
RuntimeError for a bad shape or value; the layers' printouts and attributes."""
import random

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import pyml
import pyml.nn as nn
import pyml.nn.functional as F

MODES = ["constant", "reflect", "replicate", "circular"]
TOL = {"float64": 1e-12, "float32": 1e-5, "float16": 1e-3, "bfloat16": 1e-2}


def _side_ok(mode, n, left, right):
    out = n + left + right
    if mode == "constant":
        return out >= 0
    if mode == "reflect":
        return left < n and right < n and out >= 1
    if mode == "replicate":
        return out >= 1
    kept = n - max(0, -left) - max(0, -right)  # circular: wraps at most once around what is kept
    return out == 0 or (kept >= 1 and left <= kept and right <= kept)


def _cases(n_cases=40, seed=0):
    """(mode, shape, pads): 1-3 padded dims of odd sizes, batched or not, pads valid for the mode."""
    r = random.Random(seed)
    cases = []
    for mode in MODES:
        for k in (1, 2, 3):
            for batched in (False, True):
                for _ in range(n_cases // 8):
                    lead = [r.choice([1, 2, 3])] + ([r.choice([1, 3])] if batched else [])
                    shape = lead + [r.choice([1, 2, 3, 5, 7]) for _ in range(k)]
                    pads = []
                    for i in range(k):
                        n = shape[-1 - i]
                        sides = [(a, b) for a in range(-n, n + 3) for b in range(-n, n + 3)
                                 if _side_ok(mode, n, a, b)]
                        pads += list(r.choice(sides))
                    cases.append((mode, tuple(shape), tuple(pads)))
    return cases


CASES = _cases()


def both(a, dtype="float64", requires_grad=True):
    xp = pyml.tensor(a).to(getattr(pyml, dtype))
    xt = torch.tensor(a).to(getattr(torch, dtype))
    if requires_grad:
        xp.requires_grad_()
        xt.requires_grad_()
    return xp, xt


def check_pad(fp, ft, a, dtype="float64", seed=0):
    """Values, then input gradients for one random upstream gradient."""
    xp, xt = both(a, dtype)
    y, yt = fp(xp), ft(xt)
    assert tuple(y.shape) == tuple(yt.shape) and y.dtype is getattr(pyml, dtype)
    tol = TOL[dtype]
    np.testing.assert_allclose(y.detach().double().numpy(), yt.detach().double().numpy(), rtol=tol, atol=tol)
    g = np.random.default_rng(seed).standard_normal(tuple(yt.shape))
    y.backward(pyml.tensor(g).to(y.dtype))
    yt.backward(torch.tensor(g).to(yt.dtype))
    np.testing.assert_allclose(xp.grad.double().numpy(), xt.grad.double().numpy(), rtol=tol * 4, atol=tol * 4)


# ------------------------------------------------------------------------------------- F.pad
@pytest.mark.parametrize("mode,shape,pads", CASES, ids=[f"{m}-{s}-{p}" for m, s, p in CASES])
def test_pad_matches_torch(mode, shape, pads):
    a = np.random.default_rng(len(CASES)).standard_normal(shape)
    check_pad(lambda x: F.pad(x, pads, mode=mode), lambda x: TF.pad(x, pads, mode=mode), a)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("mode", MODES)
def test_pad_float_dtypes(mode, dtype):
    a = np.random.default_rng(1).standard_normal((2, 3, 5, 7))
    pads = (2, 1, -1, 3)
    check_pad(lambda x: F.pad(x, pads, mode), lambda x: TF.pad(x, pads, mode), a, dtype)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "int8", "bool"])
@pytest.mark.parametrize("mode", MODES)
def test_pad_integer_dtypes(mode, dtype):
    a = np.random.default_rng(2).integers(0, 100, (3, 4, 6)) % (2 if dtype == "bool" else 100)
    xp = pyml.tensor(a).to(getattr(pyml, dtype))
    xt = torch.tensor(a).to(torch.uint8 if dtype == "bool" else getattr(torch, dtype))  # torch: no bool reflect
    y, yt = F.pad(xp, (3, 2, 1, -2), mode), TF.pad(xt, (3, 2, 1, -2), mode)
    assert y.dtype is getattr(pyml, dtype)
    np.testing.assert_array_equal(y.to(pyml.int64).numpy(), yt.long().numpy())


@pytest.mark.parametrize("value", [None, 0, 2.5, -7, True])
def test_pad_constant_values(value):
    a = np.random.default_rng(3).standard_normal((2, 3, 4))
    for dtype in ("float64", "int64"):
        xp, xt = both(a * 10, dtype, requires_grad=False)
        kw = {} if value is None else {"value": value}
        np.testing.assert_array_equal(F.pad(xp, (1, 2, 0, 1), **kw).double().numpy(),
                                      TF.pad(xt, (1, 2, 0, 1), **kw).double().numpy())


@pytest.mark.parametrize("pads", [(1, 2, 0, 1, 2, 0, 1, 1), (1, 1, 1, 1, 1, 1, 1, 1, 1, 1), (0, 0), (), (-1, 2)])
def test_pad_constant_any_number_of_dims(pads):
    a = np.random.default_rng(4).standard_normal((2, 3, 4, 5, 3))
    check_pad(lambda x: F.pad(x, pads, value=1.5), lambda x: TF.pad(x, pads, value=1.5), a)


def test_pad_accepts_lists_sizes_and_numpy_ints():
    a = np.random.default_rng(5).standard_normal((2, 3, 4))
    x = pyml.tensor(a)
    ref = TF.pad(torch.tensor(a), (1, 2), "reflect").numpy()
    for pads in ([1, 2], pyml.Size([1, 2]), (np.int64(1), np.int32(2))):
        np.testing.assert_array_equal(F.pad(x, pads, "reflect").numpy(), ref)


@pytest.mark.parametrize("mode", MODES)
def test_pad_non_contiguous_input(mode):
    a = np.random.default_rng(6).standard_normal((2, 3, 6, 5))
    pads = (2, 1, 1, 2)

    def run(mod, fn):
        x = mod.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2))).requires_grad_()
        y = fn(x.transpose(-1, -2), pads, mode)
        y.backward(mod.tensor(np.random.default_rng(7).standard_normal(tuple(y.shape))))
        return y.detach().numpy(), x.grad.numpy()

    for p, t in zip(run(pyml, F.pad), run(torch, TF.pad)):
        np.testing.assert_allclose(p, t, rtol=1e-13, atol=1e-13)  # gradients: sums in another order


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_empty_batch(mode):
    check_pad(lambda x: F.pad(x, (1, 1), mode), lambda x: TF.pad(x, (1, 1), mode), np.zeros((0, 3, 4)))


@pytest.mark.parametrize("shape,pads", [((2, 2), (-1, -1)), ((1, 3, 4), (0, -4)), ((1, 2, 3, 3), (1, 1, -3, 0))])
def test_pad_circular_empty_result(shape, pads):
    check_pad(lambda x: F.pad(x, pads, "circular"), lambda x: TF.pad(x, pads, "circular"),
              np.random.default_rng(8).standard_normal(shape))


def test_pad_reflect_gradcheck():
    from nn_helpers import gradcheck
    a = np.random.default_rng(9).standard_normal((1, 2, 3, 4))
    assert gradcheck(lambda x: F.pad(x, (3, 2, 2, -1), "reflect") ** 2, [pyml.tensor(a)])


def _t(*shape):
    return np.random.default_rng(10).standard_normal(shape)


# (args applied to F.pad/TF.pad with a tensor of `shape`, pyml's exception, message); torch must raise too,
# of the same class unless it raises a bare RuntimeError (pyml: ValueError, per DESIGN.md)
BAD = [
    ((2, 3, 4), ((1,),), ValueError, r"pad: padding length must be divisible by 2, got 1 values \(1,\)"),
    ((2, 3, 4), ((1,) * 8,), ValueError, r"pad: padding length \(8\) must be at most twice the number of input"),
    ((2, 3, 4), ((1, 1), "wrap"), NotImplementedError, r"pad: mode must be 'constant', 'reflect', 'replicate' "),
    ((2, 3, 4), ((1, 1), "reflect", 1.0), ValueError, r"pad: padding mode 'reflect' doesn't take a value"),
    ((2, 3, 4), ((4, 1), "reflect"), ValueError,
     r"pad: reflect padding must be less than the size of the padded dim, got padding \(4, 1\) at dim 2 of size 4"),
    ((2, 3, 4), ((0, 0, 3, 0), "reflect"), ValueError, r"got padding \(3, 0\) at dim 1 of size 3"),
    ((2, 3, 4), ((1,) * 6, "reflect"), NotImplementedError,
     r"pad: reflect padding needs 2 values for a 2-D or 3-D input, .*got 6 values for input of shape \(2, 3, 4\)"),
    ((2, 3, 4), ((1,) * 6, "replicate"), NotImplementedError, r"pad: replicate padding needs"),
    ((2, 3, 4), ((1,) * 6, "circular"), NotImplementedError, r"pad: circular padding needs"),
    ((4,), ((1, 1), "reflect"), NotImplementedError, r"got 2 values for input of shape \(4,\)"),
    ((2, 3, 4, 5, 6, 7), ((1, 1), "circular"), NotImplementedError, r"got 2 values for input of shape"),
    ((2, 3, 4), ((), "replicate"), NotImplementedError, r"got 0 values"),
    ((2, 3, 4), ((5, 1), "circular"), ValueError, r"pad: circular padding must not exceed the size of the padded dim"),
    ((2, 3, 4), ((-3, -3), "circular"), ValueError, r"pad: circular padding gives a negative size -2 at dim 2"),
    ((2, 0, 4), ((1, 1), "reflect"), ValueError,
     r"pad: reflect padding needs non-zero sizes in every dim but the batch dim, got input of shape \(2, 0, 4\)"),
    ((2, 3, 0), ((0, 0), "replicate"), ValueError, r"pad: replicate padding needs non-zero sizes"),
    ((3, 4), ((-2, -2), "replicate"), ValueError, r"pad: replicate padding must leave at least one element.*size 0"),
    ((3, 4), ((-1, -3), "reflect"), ValueError, r"pad: reflect padding must leave at least one element"),
    ((2, 3, 4), ((-3, -3),), ValueError, r"pad: padding \(-3, -3\) of dim 2 gives a negative size"),
    ((2, 3, 4), ((1.5, 1),), TypeError, r"pad: argument 'pad' must be a tuple of ints, got \(1.5, 1\)"),
    ((2, 3, 4), (1,), TypeError, r"pad: argument 'pad' must be a tuple of ints, got int"),
    ((2, 3, 4), ((1, 1), "constant", "a"), TypeError, r"pad: expected a number as value, got str"),
]


@pytest.mark.parametrize("shape,args,exc,msg", BAD, ids=[str(i) for i in range(len(BAD))])
def test_pad_bad_inputs(shape, args, exc, msg):
    a = _t(*shape)
    with pytest.raises(exc, match=msg):
        F.pad(pyml.tensor(a), *args)
    with pytest.raises(Exception) as te:
        TF.pad(torch.tensor(a), *args)
    assert te.type is exc or (te.type is RuntimeError and exc is ValueError)


def test_pad_circular_wrapping_more_than_once_after_cropping_is_rejected():
    # torch reads uninitialised memory (or raises) here: the kept part (1 element) is shorter than the pad
    with pytest.raises(ValueError, match=r"pad: circular padding \(3, -5\) must not exceed the size 1"):
        F.pad(pyml.tensor(_t(3, 6)), (3, -5), "circular")


def test_pad_non_tensor_input():
    with pytest.raises(TypeError, match=r"pad: argument 'input' must be Tensor, not list"):
        F.pad([1.0, 2.0], (1, 1))


# ------------------------------------------------------------------------------------- modules
LAYERS = ["ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "CircularPad"]


def make(mod, name, k, padding):
    cls = getattr(mod, f"{name}{k}d")
    return cls(padding, 2.5) if name == "ConstantPad" else cls(padding)


def _padding_for(k, n_min):
    """An int and a tuple of 2k mixed values, all below n_min (valid for reflection)."""
    r = random.Random(k)
    return [min(2, n_min - 1), tuple(r.randint(-1, n_min - 1) for _ in range(2 * k))]


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("name", LAYERS)
def test_layer_matches_torch(name, k):
    for batched in (False, True):
        shape = ((2,) if batched else ()) + (3,) + (5, 4, 6)[:k]
        a = np.random.default_rng(k).standard_normal(shape)
        for padding in _padding_for(k, min(shape[-k:])):
            mp, mt = make(nn, name, k, padding), make(tnn, name, k, padding)
            assert repr(mp) == repr(mt) and mp.extra_repr() == mt.extra_repr()
            assert mp.padding == mt.padding
            check_pad(mp, mt, a)


@pytest.mark.parametrize("name", LAYERS)
def test_layer_attributes_and_tuple_paddings(name):
    for k in (1, 2, 3):
        mp, mt = make(nn, name, k, [1, 2] * k), make(tnn, name, k, [1, 2] * k)
        assert mp.padding == mt.padding and isinstance(mp.padding, tuple)
        if name in ("ConstantPad", "ZeroPad"):
            assert mp.value == mt.value
        assert str(mp) == str(mt)


def test_layers_in_a_sequential_print_like_torch():
    args = [(2,), ((1, 0, 2, 1),), ((1, 2, 0, 1), -1.0)]
    mp = nn.Sequential(nn.ReflectionPad2d(*args[0]), nn.ZeroPad2d(*args[1]), nn.ConstantPad2d(*args[2]),
                       nn.CircularPad2d(1), nn.ReplicationPad2d(1))
    mt = tnn.Sequential(tnn.ReflectionPad2d(*args[0]), tnn.ZeroPad2d(*args[1]), tnn.ConstantPad2d(*args[2]),
                        tnn.CircularPad2d(1), tnn.ReplicationPad2d(1))
    assert repr(mp) == repr(mt)
    check_pad(mp, mt, np.random.default_rng(11).standard_normal((2, 3, 4, 5)))


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("name", LAYERS)
def test_layer_ranks_like_torch(name, k):
    """Constant layers pad any input with at least k dims; the others need k + 1 or k + 2 dims."""
    for ndim in (k, k + 3):
        a = np.ones((2,) * ndim)
        mp, mt = make(nn, name, k, 1), make(tnn, name, k, 1)
        if name in ("ZeroPad", "ConstantPad"):
            np.testing.assert_array_equal(mp(pyml.tensor(a)).numpy(), mt(torch.tensor(a)).numpy())
            continue
        exc = ValueError if name == "CircularPad" else NotImplementedError
        with pytest.raises(exc):
            mt(torch.tensor(a))
        msg = rf"CircularPad{k}d: expected {k + 1}D or {k + 2}D input \(got {ndim}D input\)" \
            if name == "CircularPad" else r"padding needs"
        with pytest.raises(exc, match=msg):
            mp(pyml.tensor(a))


def test_constant_layers_reject_too_few_dims():
    with pytest.raises(ValueError, match=r"pad: padding length \(6\) must be at most twice"):
        nn.ConstantPad3d(1, 0.0)(pyml.ones(2, 2))
    with pytest.raises(RuntimeError):
        tnn.ConstantPad3d(1, 0.0)(torch.ones(2, 2))


def test_reflection_layer_too_much_padding():
    with pytest.raises(ValueError, match=r"reflect padding must be less than the size of the padded dim"):
        nn.ReflectionPad1d(3)(pyml.ones(1, 2, 3))
    with pytest.raises(RuntimeError):
        tnn.ReflectionPad1d(3)(torch.ones(1, 2, 3))


def test_layers_have_no_parameters_and_export():
    for name in LAYERS:
        for k in (1, 2, 3):
            m = make(nn, name, k, 1)
            assert list(m.parameters()) == [] and m.state_dict() == {} and hasattr(pyml.nn, f"{name}{k}d")
