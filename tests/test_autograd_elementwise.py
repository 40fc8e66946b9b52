"""Autograd of elementwise ops, views, casts and in-place ops: gradcheck/gradgradcheck in float64 on
small inputs (non-contiguous ones built inside the function, since gradcheck perturbs contiguous
leaves), and gradients compared with PyTorch's on larger inputs with odd sizes, broadcasting and
non-contiguous layouts. Each case is one function fn(M, *xs) run with M = pyml and M = torch."""
import math

import numpy as np
import pytest
import torch

import pyml
from pyml.autograd import gradcheck, gradgradcheck

TF = torch.nn.functional


def _fn_ns(M):
    """pyml has gelu/softplus/silu/relu at top level; torch keeps some in nn.functional."""
    return TF if M is torch else pyml


# ------------------------------------------------------------------------------------------ harness
def _leaf(M, a):
    if M is torch:
        return torch.tensor(a, requires_grad=a.dtype.kind == "f")
    t = pyml.tensor(a)
    return t.requires_grad_() if a.dtype.kind == "f" else t


def _np(t):
    return None if t is None else t.detach().numpy()


def _layout(kind, shape, rng, domain):
    """(leaf array, view fn): the view of the leaf has `shape` and the requested memory layout."""
    lo, hi = domain
    if kind == "T" and len(shape) >= 2:
        a = rng.uniform(lo, hi, size=shape[:-2] + (shape[-1], shape[-2]))
        return a, lambda x: x.transpose(-1, -2)
    if kind == "step" and len(shape) >= 1:
        a = rng.uniform(lo, hi, size=shape[:-1] + (2 * shape[-1],))
        return a, lambda x: x[..., ::2]
    return rng.uniform(lo, hi, size=shape), lambda x: x


def compare_torch(fn, arrays, views=None, seed=0, rtol=1e-9, atol=1e-11, check_value=True):
    """Run fn on pyml and torch leaves made from the same float64 arrays, backward with the same random
    grad_outputs, and compare outputs and every leaf's gradient (None counts as zeros)."""
    rng = np.random.default_rng(seed)
    views = views or [lambda x: x] * len(arrays)
    results = {}
    gouts = None
    for M in (pyml, torch):
        leaves = [_leaf(M, a) for a in arrays]
        outs = fn(M, *[v(x) for v, x in zip(views, leaves)])
        outs = outs if isinstance(outs, (tuple, list)) else (outs,)
        diff = [o for o in outs if o.requires_grad]
        if gouts is None:
            gouts = [rng.standard_normal(tuple(o.shape)) for o in diff]
        if diff:
            M.autograd.backward(diff, [M.tensor(g) for g in gouts])
        results[M] = ([_np(o) for o in outs], [o.requires_grad for o in outs],
                      [_np(x.grad) if x.requires_grad else None for x in leaves], [x.requires_grad for x in leaves])
    (po, prg, pg, _), (to, trg, tg, lrg) = results[pyml], results[torch]
    assert prg == trg, f"requires_grad of outputs: pyml {prg}, torch {trg}"
    if check_value:
        for a, b in zip(po, to):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg="forward value")
    for i, (a, b, r) in enumerate(zip(pg, tg, lrg)):
        if not r:
            continue
        shape = arrays[i].shape
        a = np.zeros(shape) if a is None else a
        b = np.zeros(shape) if b is None else b
        assert a.shape == b.shape, f"grad of input {i}: shape {a.shape} vs torch {b.shape}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"grad of input {i}")


def pyml_fn(fn):
    return lambda *xs: fn(pyml, *xs)


def P(a):
    return pyml.tensor(np.asarray(a, dtype=np.float64)).requires_grad_()


def check_grads(fn, arrays, gradgrad=True, atol=1e-5, rtol=1e-3):
    xs = [P(a) for a in arrays]
    assert gradcheck(pyml_fn(fn), tuple(xs), atol=atol, rtol=rtol)
    if gradgrad:
        assert gradgradcheck(pyml_fn(fn), tuple(xs), atol=atol, rtol=rtol)


def away(rng, shape, lo, hi, avoid=(), margin=0.15):
    """Uniform samples kept `margin` away from the points in `avoid` (kinks, discontinuities)."""
    a = rng.uniform(lo, hi, size=shape)
    for p in avoid:
        close = np.abs(a - p) < margin
        a[close] = p + np.where(a[close] >= p, margin, -margin) * 1.5
    return a


def near_ints(rng, shape, lo, hi):
    """Values at least 0.2 away from integers and half-integers (floor/round/frac kinks)."""
    return np.floor(rng.uniform(lo, hi, size=shape)) + rng.choice([0.1, 0.3, 0.7, 0.9], size=shape)


# ------------------------------------------------------------------------------------------ unary
def _unary(name, **kw):
    def fn(M, x):
        ns = _fn_ns(M)
        if name == "gelu_tanh":
            return ns.gelu(x, approximate="tanh")
        if name in ("gelu", "silu", "softplus", "relu"):
            return getattr(ns, name)(x, **kw)
        return getattr(M, name)(x, **kw)
    return fn


U_DOMAIN = {"log": (0.2, 3.0), "log2": (0.2, 3.0), "log10": (0.2, 3.0), "log1p": (-0.7, 3.0), "sqrt": (0.2, 3.0),
            "rsqrt": (0.2, 3.0), "tan": (-1.2, 1.2), "asin": (-0.8, 0.8), "acos": (-0.8, 0.8),
            "reciprocal": (0.3, 3.0), "softplus": (-6.0, 6.0)}
U_KINK = {"abs": (0.0,), "relu": (0.0,), "sign": (0.0,)}
STEP_OPS = ("floor", "ceil", "round", "trunc", "frac")
UNARY_OPS = ["neg", "abs", "sign", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin",
             "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "sigmoid", "relu", "gelu", "gelu_tanh",
             "silu", "softplus", "erf", "erfc", "floor", "ceil", "round", "trunc", "frac", "reciprocal", "square"]


def _unary_input(name, rng, shape):
    if name in STEP_OPS:
        return near_ints(rng, shape, -4, 4)
    lo, hi = U_DOMAIN.get(name, (-2.5, 2.5))
    return away(rng, shape, lo, hi, U_KINK.get(name, ()))


@pytest.mark.parametrize("name", UNARY_OPS)
def test_unary_gradcheck(name):
    rng = np.random.default_rng(1)
    check_grads(_unary(name), [_unary_input(name, rng, (2, 3))])


@pytest.mark.parametrize("name", UNARY_OPS)
def test_unary_gradcheck_noncontiguous(name):
    rng = np.random.default_rng(2)
    f = _unary(name)
    check_grads(lambda M, x: f(M, x.t()[::2]), [_unary_input(name, rng, (3, 4))], gradgrad=False)


@pytest.mark.parametrize("layout", ["contiguous", "T", "step"])
@pytest.mark.parametrize("name", UNARY_OPS)
def test_unary_vs_torch(name, layout):
    rng = np.random.default_rng(3)
    a, view = _layout(layout, (13, 17), rng, (-1, 1))
    a = _unary_input(name, rng, a.shape)
    compare_torch(_unary(name), [a], [view])


@pytest.mark.parametrize("shape", [(1025,), (0,), (3, 0, 2), (1,), ()], ids=str)
def test_unary_and_binary_odd_and_empty_sizes(shape):
    rng = np.random.default_rng(30)
    a, b = rng.uniform(0.3, 2, size=shape), rng.uniform(0.3, 2, size=shape)
    compare_torch(lambda M, x, y: (M.log(x) * M.tanh(y) + x ** y - M.atan2(x, y)) / (y + 1), [a, b])
    compare_torch(lambda M, x: M.sigmoid(x).sqrt() * _fn_ns(M).gelu(x), [a])


def test_broadcast_against_expanded_input():
    rng = np.random.default_rng(31)
    compare_torch(lambda M, x, y: x.expand(4, 3, 5) * y + x.expand(4, 3, 5).exp(),
                  [rng.standard_normal((3, 1)), rng.standard_normal((4, 1, 5))])
    compare_torch(lambda M, x, y: M.maximum(x[:, None, :], y.t()[None]),
                  [rng.standard_normal((6, 7)), rng.standard_normal((7, 5))])


@pytest.mark.parametrize("beta,threshold", [(1.0, 20.0), (2.0, 3.0), (0.5, 1.0), (-1.5, 2.0)])
def test_softplus_beta_threshold(beta, threshold):
    rng = np.random.default_rng(4)
    f = _unary("softplus", beta=beta, threshold=threshold)
    x = rng.uniform(-8, 8, size=(7, 9))
    x[0, :4] = [threshold / beta, threshold / beta + 1e-3, threshold / beta - 1e-3, 0.0]  # the switch point
    compare_torch(f, [x])
    small = away(rng, (2, 3), -6, 6, (threshold / beta,), margin=0.1)
    check_grads(f, [small])


def test_unary_inplace_methods_vs_torch():
    rng = np.random.default_rng(5)
    for name in ("exp", "log", "sqrt", "sin", "tanh", "sigmoid", "relu", "abs", "neg", "reciprocal", "square",
                 "floor", "frac", "erf", "expm1", "rsqrt"):
        a = _unary_input(name, rng, (5, 7))

        def fn(M, x, name=name):
            y = x * 1.0
            getattr(y, name + "_")()
            return y * 2

        compare_torch(fn, [a])


# ------------------------------------------------------------------------------------------ binary
BINARY_OPS = {
    "add": lambda M, a, b: M.add(a, b),
    "add_alpha": lambda M, a, b: M.add(a, b, alpha=-2.5),
    "sub": lambda M, a, b: a - b,
    "sub_alpha": lambda M, a, b: M.sub(a, b, alpha=0.5),
    "mul": lambda M, a, b: a * b,
    "div": lambda M, a, b: a / b,
    "pow": lambda M, a, b: M.pow(a, b),
    "atan2": lambda M, a, b: M.atan2(a, b),
    "remainder": lambda M, a, b: M.remainder(a, b),
    "fmod": lambda M, a, b: M.fmod(a, b),
    "maximum": lambda M, a, b: M.maximum(a, b),
    "minimum": lambda M, a, b: M.minimum(a, b),
    "float_power": lambda M, a, b: M.float_power(a, b),
    "div_trunc": lambda M, a, b: M.div(a, b, rounding_mode="trunc"),
    "div_floor": lambda M, a, b: M.div(a, b, rounding_mode="floor"),
}


def _binary_inputs(name, rng, sa, sb):
    if name in ("pow", "float_power"):
        return rng.uniform(0.3, 2.0, size=sa), rng.uniform(-2, 2, size=sb)
    if name in ("remainder", "fmod", "div_trunc", "div_floor"):
        # keep a/b away from integers so the floor/trunc steps are not crossed by finite differences
        b = rng.choice([-1, 1], size=sb) * rng.uniform(0.8, 1.5, size=sb)
        q = near_ints(rng, np.broadcast_shapes(sa, sb), -4, 4)
        a = q * b
        return _reduce_to(a, sa, rng), b
    if name == "div":
        return rng.uniform(-2, 2, size=sa), rng.choice([-1, 1], size=sb) * rng.uniform(0.5, 2, size=sb)
    if name in ("maximum", "minimum"):
        a = rng.uniform(-2, 2, size=sa)
        b = rng.uniform(-2, 2, size=sb)
        return a, b
    return rng.uniform(-2, 2, size=sa), rng.uniform(-2, 2, size=sb)


def _reduce_to(a, shape, rng):
    """A broadcast operand: keep one slice along stretched dims (the values stay consistent for remainder)."""
    lead = a.ndim - len(shape)
    a = a[(0,) * lead] if lead else a
    for d, s in enumerate(shape):
        if s == 1 and a.shape[d] != 1:
            a = np.take(a, [0], axis=d)
    return np.ascontiguousarray(a)


BROADCAST = [((2, 3), (2, 3)), ((2, 3), (3,)), ((3, 1), (1, 4)), ((2, 1, 3), (4, 1)), ((), (2, 3)), ((5,), ())]


@pytest.mark.parametrize("shapes", BROADCAST, ids=str)
@pytest.mark.parametrize("name", list(BINARY_OPS))
def test_binary_gradcheck(name, shapes):
    rng = np.random.default_rng(6)
    a, b = _binary_inputs(name, rng, *shapes)
    gg = name not in ("remainder", "fmod", "div_trunc", "div_floor") or shapes[0] == shapes[1]
    check_grads(BINARY_OPS[name], [a, b], gradgrad=gg)


@pytest.mark.parametrize("layout", ["contiguous", "T", "step"])
@pytest.mark.parametrize("name", list(BINARY_OPS))
def test_binary_vs_torch(name, layout):
    rng = np.random.default_rng(7)
    for sa, sb in [((13, 17), (13, 17)), ((13, 17), (17,)), ((7, 1, 5), (3, 1)), ((9, 11), ())]:
        a, b = _binary_inputs(name, rng, sa, sb)
        la, va = _layout(layout, sa, rng, (-1, 1))
        la = _relayout(a, la, layout)
        compare_torch(BINARY_OPS[name], [la, b], [va, lambda x: x])


def _relayout(a, leaf, kind):
    """Write the values `a` into a leaf array of the layout kind (so the view shows exactly `a`)."""
    if kind == "T" and a.ndim >= 2:
        return np.ascontiguousarray(np.swapaxes(a, -1, -2))
    if kind == "step" and a.ndim >= 1:
        leaf = leaf.copy()
        leaf[..., ::2] = a
        return leaf
    return a


def test_maximum_minimum_ties_split_like_torch():
    a = np.array([1.0, 2.0, 3.0, -1.0, 0.0, 5.0])
    b = np.array([1.0, 1.0, 4.0, -1.0, 0.0, 5.0])
    for op in ("maximum", "minimum"):
        compare_torch(BINARY_OPS[op], [a, b])
        compare_torch(lambda M, x, y, op=op: getattr(M, op)(x, y[:1]), [a, b])  # broadcast with ties


def test_pow_with_zeros_like_torch():
    # zero bases with positive, zero and negative exponents; exponent 0 with zero base; mixed signs
    a = np.array([0.0, 0.0, 0.0, 2.0, -2.0, 0.5, 0.0, 3.0])
    b = np.array([2.0, 0.0, 1.0, 0.0, 2.0, -1.0, 3.0, 1.0])
    compare_torch(lambda M, x, y: M.pow(x, y), [a, b])
    for e in (0.0, 1.0, 2.0, 3, 0.5, -1.0, 2.5):
        def fn(M, x, e=e):
            return M.pow(x, e)
        pos = np.abs(a) + (0.5 if e in (0.5, -1.0, 2.5) else 0.0)
        compare_torch(fn, [pos if e in (0.5, -1.0, 2.5) else a])
    # scalar base, tensor exponent (2 ** x) including a zero base
    x = np.array([-1.5, 0.0, 0.5, 2.0])
    compare_torch(lambda M, y: 2 ** y, [x])
    compare_torch(lambda M, y: 0.0 ** y, [np.array([0.0, 1.0, 2.0, 0.5, -1.0])])
    compare_torch(lambda M, y: 2.5 ** y, [x])
    compare_torch(lambda M, y: (-2.0) ** y, [np.array([1.0, 2.0, 3.0])])  # nan gradient, like torch
    compare_torch(lambda M, y: M.pow(-y, y), [np.array([1.0, 2.0, 3.0])])


def test_pow_scalar_exponent_gradgrad():
    rng = np.random.default_rng(8)
    for e in (2, 3.0, 0.5, -1.5, 0):
        check_grads(lambda M, x, e=e: x ** e, [rng.uniform(0.3, 2, size=(2, 3))])
    check_grads(lambda M, x: 3.0 ** x, [rng.uniform(-1, 1, size=(2, 3))])
    check_grads(lambda M, x: M.pow(x, x), [rng.uniform(0.3, 2, size=(2, 3))])


REFLECTED = {
    "rsub": lambda M, x: 2 - x,
    "rdiv": lambda M, x: 2 / x,
    "rpow": lambda M, x: 2 ** x,
    "radd": lambda M, x: 1.5 + x,
    "rmul": lambda M, x: -3 * x,
    "div_num": lambda M, x: x / 3,
    "div_int": lambda M, x: x / 7,
    "sub_num": lambda M, x: x - 0.25,
    "mul_num": lambda M, x: x * 2.5,
    "pow_num": lambda M, x: x ** 2,
    "rmod": lambda M, x: 5.3 % x,
    "mod": lambda M, x: x % 1.3,
    "fmod_num": lambda M, x: M.fmod(x, 0.7),
    "atan2_num": lambda M, x: M.atan2(x, M.tensor(2.0, dtype=x.dtype)),
    "max_num": lambda M, x: M.maximum(x, M.tensor(0.1, dtype=x.dtype)),
    "neg_op": lambda M, x: -x,
    "abs_op": lambda M, x: abs(x),
}


@pytest.mark.parametrize("name", list(REFLECTED))
def test_reflected_scalar_ops(name):
    rng = np.random.default_rng(9)
    a = rng.uniform(0.4, 2.5, size=(2, 3)) * rng.choice([-1, 1], size=(2, 3))
    if name in ("rmod", "mod", "fmod_num", "rpow"):
        a = np.abs(a) + 0.05
        a = np.where(np.abs(5.3 / a - np.round(5.3 / a)) < 0.1, a + 0.05, a) if name == "rmod" else a
    check_grads(REFLECTED[name], [a], gradgrad=name not in ("rmod", "mod", "fmod_num"))
    if name != "rmod":  # torch has no derivative for number % tensor
        compare_torch(REFLECTED[name], [a])


def test_lerp_vs_torch_and_gradcheck():
    rng = np.random.default_rng(10)
    a, b, w = rng.standard_normal((4, 5)), rng.standard_normal((5,)), rng.uniform(0, 1, (4, 1))
    compare_torch(lambda M, x, y, z: M.lerp(x, y, z), [a, b, w])
    compare_torch(lambda M, x, y: M.lerp(x, y, 0.3), [a, b])
    compare_torch(lambda M, x, y: x.lerp(y, 0.75), [a, b])
    check_grads(lambda M, x, y, z: M.lerp(x, y, z), [a[:2, :3], b[:3], w[:2]])


def test_float_power_dtypes():
    rng = np.random.default_rng(11)
    a = rng.uniform(0.5, 2, (3, 4))
    for M in (pyml, torch):
        x = M.tensor(a, dtype=M.float32, requires_grad=True)
        y = M.float_power(x, 2.5)
        assert y.dtype == M.float64
        y.sum().backward()
        assert x.grad.dtype == M.float32
    compare_torch(lambda M, x: M.float_power(x.float(), 1.5), [a], rtol=1e-6, atol=1e-7)
    compare_torch(lambda M, x: M.float_power(M.tensor(2.0, dtype=M.float32), x), [a])


# ------------------------------------------------------------------------------------------ clamp
CLAMPS = {
    "min": lambda M, x: M.clamp(x, min=-0.5),
    "max": lambda M, x: M.clamp(x, max=0.5),
    "both": lambda M, x: M.clamp(x, -0.5, 0.5),
    "crossed": lambda M, x: M.clamp(x, 0.5, -0.5),  # min > max: result is max everywhere, no gradient
    "clip": lambda M, x: M.clip(x, -0.3, 0.7),
    "method": lambda M, x: x.clamp(min=0.0),
    "clamp_min": lambda M, x: M.clamp_min(x, 0.2),
    "clamp_max": lambda M, x: x.clamp_max(0.2),
}


@pytest.mark.parametrize("name", list(CLAMPS))
def test_clamp_scalar_bounds(name):
    rng = np.random.default_rng(12)
    x = rng.uniform(-1, 1, size=(9, 11))
    x[0, :6] = [-0.5, 0.5, 0.0, 0.2, -0.3, 0.7]  # ties exactly at the bounds
    compare_torch(CLAMPS[name], [x])
    compare_torch(CLAMPS[name], [x.T.copy()], [lambda t: t.t()])
    small = away(rng, (2, 3), -1, 1, (-0.5, 0.5, 0.0, 0.2, -0.3, 0.7), margin=0.05)
    check_grads(CLAMPS[name], [small])


def test_clamp_tensor_bounds_with_ties():
    rng = np.random.default_rng(13)
    x = rng.uniform(-1, 1, size=(6, 7))
    lo = rng.uniform(-1, 0, size=(7,))
    hi = rng.uniform(0, 1, size=(6, 1))
    x[0, :3] = lo[:3]        # ties with min
    x[1, :3] = hi[1, 0]      # ties with max
    compare_torch(lambda M, a, b, c: M.clamp(a, b, c), [x, lo, hi])
    compare_torch(lambda M, a, b: M.clamp(a, min=b), [x, lo])
    compare_torch(lambda M, a, c: M.clamp(a, max=c), [x, hi])
    compare_torch(lambda M, a, b, c: M.clamp(a, c, b), [x, lo, hi])  # crossed tensor bounds
    compare_torch(lambda M, a, b: M.clamp(a, min=b, max=M.tensor(0.3, dtype=a.dtype)), [x, lo])
    small = away(rng, (2, 3), -1, 1, ())
    check_grads(lambda M, a, b, c: M.clamp(a, b, c), [small, small[:1] - 0.3 + 0.05, small[:, :1] + 0.3 + 0.05])


def test_clamp_inplace_on_nonleaf():
    x = np.linspace(-1, 1, 15).reshape(3, 5)

    def fn(M, a):
        y = a * 2
        y.clamp_(-0.5, 0.5)
        return y * y
    compare_torch(fn, [x])


# ------------------------------------------------------------------------------------------ dtypes
@pytest.mark.parametrize("op", ["add", "mul", "div", "sub", "pow", "atan2", "maximum"])
def test_grads_keep_each_inputs_dtype(op):
    rng = np.random.default_rng(14)
    a, b = rng.uniform(0.5, 2, (3, 4)), rng.uniform(0.5, 2, (4,))
    f = BINARY_OPS[op]
    for M in (pyml, torch):
        x = M.tensor(a, dtype=M.float32, requires_grad=True)
        y = M.tensor(b, dtype=M.float64, requires_grad=True)
        out = f(M, x, y)
        assert out.dtype == M.float64
        out.sum().backward()
        assert x.grad.dtype == M.float32 and y.grad.dtype == M.float64
        assert tuple(x.grad.shape) == (3, 4) and tuple(y.grad.shape) == (4,)
    compare_torch(lambda M, x, y: f(M, x.float(), y), [a, b], rtol=1e-6, atol=1e-6)
    # an integer operand never gets a gradient; the float one keeps its dtype
    compare_torch(lambda M, x, k: f(M, x.float(), k), [a, np.arange(1, 5)], rtol=1e-6, atol=1e-6)


def test_unary_grad_dtype_float32_and_half():
    for M in (pyml, torch):
        for dt in (M.float32, M.float16, M.bfloat16):
            x = M.tensor([0.5, 1.5, 2.0], dtype=dt, requires_grad=True)
            (M.exp(x) * M.sin(x)).sum().backward()
            assert x.grad.dtype == dt


def test_integer_and_bool_results_do_not_require_grad():
    x = pyml.tensor([0.5, -1.5, 2.0], requires_grad=True)
    for r in (x > 0, x == x, pyml.isnan(x), pyml.isfinite(x), x.argmax(), pyml.logical_not(x), x.long(),
              x.to(pyml.int32), pyml.eq(x, 1.0), x.bool()):
        assert not r.requires_grad and r.grad_fn is None
    y = pyml.floor_divide(x, 2.0)
    assert y.dtype.is_floating_point


# ------------------------------------------------------------------------------------------ in-place
INPLACE = {
    "mul_": lambda y, b: y.mul_(b),
    "add_": lambda y, b: y.add_(b, alpha=2),
    "sub_": lambda y, b: y.sub_(b),
    "div_": lambda y, b: y.div_(b),
    "iadd": lambda y, b: y.__iadd__(b),
    "isub": lambda y, b: y.__isub__(b),
    "imul": lambda y, b: y.__imul__(b),
    "itruediv": lambda y, b: y.__itruediv__(b),
    "ipow": lambda y, b: y.__ipow__(b),
    "pow_": lambda y, b: y.pow_(b),
    "atan2_": lambda y, b: y.atan2_(b),
}


@pytest.mark.parametrize("bshape", [(5, 7), (7,), ()], ids=str)
@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_binary_on_nonleaf(name, bshape):
    rng = np.random.default_rng(15)
    a, b = rng.uniform(0.5, 2, (5, 7)), rng.uniform(0.5, 2, bshape)

    def fn(M, x, y):
        z = x * 1.5
        r = INPLACE[name](z, y)
        assert r is z
        return z * x
    compare_torch(fn, [a, b])

    if name != "atan2_":  # torch's atan2_ takes only a tensor
        def fn_num(M, x):
            z = x + 0.0
            INPLACE[name](z, 1.7)
            return z.sin()
        compare_torch(fn_num, [a])
    check_grads(fn, [a[:2, :3], b[:3] if b.ndim == 1 else (b[:2, :3] if b.ndim else b)])


def test_inplace_on_leaf_raises():
    for make in (lambda x: x.mul_(2), lambda x: x.__iadd__(1), lambda x: x.exp_(), lambda x: x.clamp_(0, 1),
                 lambda x: x.zero_(), lambda x: x.fill_(1.0), lambda x: x.copy_(x.detach() * 2)):
        x = pyml.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            make(x)
    x = pyml.tensor([[1.0, 2.0]], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0].mul_(2)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0, 1] = 3.0
    with pyml.no_grad():  # allowed without grad mode, like torch
        x.mul_(2)
    assert x.tolist() == [[2.0, 4.0]]


@pytest.mark.parametrize("op,saved", [("mul", "MulBackward"), ("exp", "ExpBackward"), ("sin", "SinBackward"),
                                      ("div", "DivBackward"), ("pow", "PowBackward"), ("tanh", "TanhBackward"),
                                      ("sigmoid", "SigmoidBackward")])
def test_modified_saved_tensor_raises_naming_op(op, saved):
    x = pyml.tensor([0.5, 1.0, 2.0], requires_grad=True)
    y = x * 1.0
    z = {"mul": lambda: y * y, "exp": lambda: y.exp(), "sin": lambda: y.sin(), "div": lambda: 1.0 / y,
         "pow": lambda: y ** 3, "tanh": lambda: y.tanh(), "sigmoid": lambda: y.sigmoid()}[op]()
    if op in ("exp", "tanh", "sigmoid"):
        z.add_(1.0)  # the saved output is modified
    else:
        y.add_(1.0)  # the saved input is modified
    with pytest.raises(RuntimeError, match=f"{saved}.*modified by an inplace operation"):
        z.sum().backward()


def test_inplace_unary_exp_saves_result():
    def fn(M, x):
        y = x * 2
        y.exp_()
        return y.sum() * y
    compare_torch(fn, [np.array([[0.1, -0.2, 0.3]])])
    check_grads(fn, [np.array([[0.1, -0.2, 0.3]])])


# ------------------------------------------------------------------------------------------ views
VIEWS = {
    "view": lambda M, x: x.view(5, 6) * 2,
    "view_-1": lambda M, x: x.view(-1, 3),
    "reshape": lambda M, x: x.reshape(3, 10),
    "reshape_T": lambda M, x: x.t().reshape(-1),          # a copy (non-contiguous source)
    "permute": lambda M, x: x.reshape(2, 3, 5).permute(2, 0, 1),
    "transpose": lambda M, x: x.transpose(0, 1),
    "T": lambda M, x: x.T,
    "mT": lambda M, x: x.reshape(2, 3, 5).mT,
    "expand": lambda M, x: x[:1].expand(4, 5),
    "expand_new": lambda M, x: x[0].expand(3, 2, 5),
    "broadcast_to": lambda M, x: M.broadcast_to(x[:, :1], (6, 3)),
    "squeeze": lambda M, x: x.reshape(1, 6, 1, 5).squeeze(),
    "squeeze_dim": lambda M, x: x.reshape(1, 6, 1, 5).squeeze(2),
    "unsqueeze": lambda M, x: x.unsqueeze(1),
    "flatten": lambda M, x: x.reshape(2, 3, 5).flatten(1),
    "flatten_T": lambda M, x: x.t().flatten(),
    "unflatten": lambda M, x: x.unflatten(0, (2, 3)),
    "narrow": lambda M, x: x.narrow(1, 1, 3),
    "select": lambda M, x: x.select(1, 2),
    "select_neg": lambda M, x: x.select(0, -1),
    "unbind": lambda M, x: x.unbind(1)[1] * x.unbind(1)[3],
    "unbind_some": lambda M, x: x.unbind(0)[2],
    "diagonal": lambda M, x: x.diagonal(),
    "diagonal_off": lambda M, x: x.diagonal(1) + x.diagonal(-2)[:4],
    "diagonal_3d": lambda M, x: x.reshape(2, 3, 5).diagonal(0, 1, 2),
    "movedim": lambda M, x: x.reshape(2, 3, 5).movedim(0, 2),
    "as_strided": lambda M, x: x.as_strided((3, 3), (5, 1), 2),
    "as_strided_overlap": lambda M, x: x.as_strided((4, 3), (2, 1), 1),
    "view_of_view": lambda M, x: x.t()[1:4].unsqueeze(0).squeeze(0).narrow(0, 1, 2),
    "swapaxes": lambda M, x: x.swapaxes(0, 1),
    "ravel": lambda M, x: x.t().ravel(),
    "view_as": lambda M, x: x.view_as(M.zeros(5, 6, dtype=x.dtype)),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_views_gradcheck(name):
    rng = np.random.default_rng(16)
    check_grads(VIEWS[name], [rng.standard_normal((6, 5))], gradgrad=True)


@pytest.mark.parametrize("name", list(VIEWS))
def test_views_vs_torch(name):
    rng = np.random.default_rng(17)
    f = VIEWS[name]
    compare_torch(lambda M, x: f(M, x) ** 2, [rng.standard_normal((6, 5))])
    compare_torch(lambda M, x: f(M, x * 1) * 3, [rng.standard_normal((6, 5))])


# ------------------------------------------------------------------------------------------ in-place on views
INPLACE_VIEWS = {
    "row_mul": lambda M, z, w: z[1].mul_(w[0]),
    "col_add": lambda M, z, w: z[:, 2].add_(w[:, 0]),
    "slice_exp": lambda M, z, w: z[1:3, ::2].exp_(),
    "T_view": lambda M, z, w: z.t()[0].sub_(w[:, 1]),
    "diag": lambda M, z, w: z.diagonal().mul_(2),
    "nested": lambda M, z, w: z[1:][:, 1:3][0].div_(w[0, :2]),
    "copy_": lambda M, z, w: z[0].copy_(w[1]),
    "copy_bcast": lambda M, z, w: z[1:3].copy_(w[3]),
    "fill_": lambda M, z, w: z[2].fill_(0.5),
    "fill_tensor": lambda M, z, w: z[2].fill_(w[0, 0]),
    "zero_": lambda M, z, w: z[:, 1].zero_(),
    "clamp_": lambda M, z, w: z[1:, 2:].clamp_(0.8, 1.2),
    "setitem": lambda M, z, w: z[1].__setitem__(slice(None), w[2]),
    "view_reshape": lambda M, z, w: z.view(-1)[3:9].mul_(w.reshape(-1)[:6]),
    "unsqueeze_view": lambda M, z, w: z.unsqueeze(0)[0, 2].tanh_(),
    "twice": lambda M, z, w: (z[0].mul_(w[0]), z[0].add_(w[1]), z[:, 0].mul_(3)),
    "overlapping_views": lambda M, z, w: (z[0:2].mul_(w[:2]), z[1:3].add_(w[2:4])),
    "as_strided": lambda M, z, w: z.as_strided((2, 3), (5, 2), 1).mul_(w[:2, :3]),
    "movedim_select": lambda M, z, w: z.movedim(1, 0)[3].add_(w[0, :4]),
}


@pytest.mark.parametrize("name", list(INPLACE_VIEWS))
def test_inplace_on_view_of_nonleaf(name):
    rng = np.random.default_rng(18)
    a, b = rng.uniform(0.5, 1.5, (4, 5)), rng.uniform(0.5, 1.5, (4, 5))

    def fn(M, x, w):
        z = x * 1.0
        INPLACE_VIEWS[name](M, z, w)
        return z * x
    compare_torch(fn, [a, b])
    # the base requires grad only through the in-place op on the view
    def fn2(M, w):
        z = M.ones(4, 5, dtype=w.dtype)
        INPLACE_VIEWS[name](M, z, w)
        return z.sin()
    compare_torch(fn2, [b])


def test_inplace_on_view_gradcheck():
    rng = np.random.default_rng(19)

    def fn(M, x, w):
        z = x * 1.0
        z[1:, ::2].mul_(w)
        return z
    check_grads(fn, [rng.standard_normal((3, 4)), rng.standard_normal((2, 2))])

    def fn2(M, x, w):
        z = x.sin()
        z.t()[1].mul_(w)
        z[0].exp_()
        return z * x
    check_grads(fn2, [rng.standard_normal((2, 3)), rng.standard_normal((2,))])


def test_inplace_on_view_create_graph_vs_torch():
    a, b = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]]), np.array([0.2, -0.4])
    got = {}
    for M in (pyml, torch):
        x, w = M.tensor(a, requires_grad=True), M.tensor(b, requires_grad=True)
        z = x * x
        z[:, 1].mul_(w)
        gx, gw = M.autograd.grad((z ** 2).sum(), [x, w], create_graph=True)
        (gx.sum() + (gw * gw).sum()).backward()
        got[M] = (x.grad.detach().numpy(), w.grad.detach().numpy())
    for p, t in zip(got[pyml], got[torch]):
        np.testing.assert_allclose(p, t, rtol=1e-10)


def test_view_sees_base_inplace_change():
    def fn(M, x):
        z = x * 1.0
        v = z[0]
        z.mul_(2)            # the base changes after the view was taken
        return v * x[1]
    compare_torch(fn, [np.arange(1.0, 7.0).reshape(2, 3)])


def test_sibling_view_gains_history_from_inplace_on_base():
    def fn(M, w):
        z = M.ones(3, 4, dtype=w.dtype)
        v = z[0]                # taken before z takes part in the graph
        z[:, 1:3].mul_(w)       # z now depends on w, and so does v
        return v * 2
    compare_torch(fn, [np.array([[2.0, 3.0], [4.0, 5.0], [6.0, 7.0]])])
    z = pyml.ones(3, 4, dtype=pyml.float64)
    v = z[0]
    z[1].mul_(pyml.tensor(2.0, dtype=pyml.float64, requires_grad=True))
    assert v.requires_grad and z.requires_grad and "CopySlices" in repr(z.grad_fn)


def test_unsaved_tensors_may_change_in_place():
    # like PyTorch: add saves nothing, exp saves its result only, so changing their inputs later is fine
    def fn(M, x, w):
        y = x * 1.0
        z = y + w
        e = y.exp()
        y.add_(1.0)
        return z * 2 + e
    compare_torch(fn, [np.array([0.5, 1.0]), np.array([2.0, 3.0])])


def test_noop_cast_and_contiguous_keep_the_leaf():
    x = pyml.tensor([1.0, 2.0], requires_grad=True)
    for y in (x.to(pyml.float32), x.float(), x.contiguous(), x.cpu(), x.to("cpu"), x.type_as(x)):
        assert y is x and x.is_leaf and x.grad_fn is None
    assert x.tolist() == [1.0, 2.0]


# ------------------------------------------------------------------------------------------ casts and copies
CASTS = {
    "to_float": lambda M, x: x.to(M.float32) * 2,
    "float": lambda M, x: x.float().exp(),
    "double": lambda M, x: x.float().double() ** 2,
    "to_same": lambda M, x: x.to(M.float64) * 3,
    "to_tensor": lambda M, x: x.float().to(x) * 2,
    "half": lambda M, x: x.half().float() * 2,
    "type_as": lambda M, x: x.float().type_as(x) * 2,
    "clone": lambda M, x: x.clone() * x,
    "contiguous": lambda M, x: x.t().contiguous() * 2,
    "contiguous_noop": lambda M, x: x.contiguous() * 2,
    "copy_into": lambda M, x: M.zeros(4, 3, dtype=M.float32).copy_(x.t()[:, ::2] * 2),
    "copy_broadcast": lambda M, x: (M.zeros(2, 4, 3, dtype=x.dtype) + 0).copy_(x[0, :3]),
}


@pytest.mark.parametrize("name", list(CASTS))
def test_casts_and_copies(name):
    rng = np.random.default_rng(20)
    a = rng.standard_normal((5, 4))
    compare_torch(CASTS[name], [a], rtol=2e-3 if name == "half" else 1e-6, atol=1e-3 if name == "half" else 1e-6)


def test_cast_grad_dtype():
    for M in (pyml, torch):
        x = M.tensor([1.0, 2.0], dtype=M.float64, requires_grad=True)
        y = x.float()
        assert y.dtype == M.float32
        (y * 2).sum().backward()
        assert x.grad.dtype == M.float64
        assert x.long().requires_grad is False


def test_clone_copy_gradcheck():
    rng = np.random.default_rng(21)
    check_grads(lambda M, x: x.clone() * x, [rng.standard_normal((2, 3))])

    def fn(M, x, y):
        z = x * 1
        z.copy_(y)
        return z * x
    check_grads(fn, [rng.standard_normal((2, 3)), rng.standard_normal((3,))])
