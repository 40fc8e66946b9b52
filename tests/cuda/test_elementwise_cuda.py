"""CUDA elementwise kernels (cuda/unary.cu, cuda/binary.cu) against the CPU kernels on the same values:
every OpSpec of tests/opspec.py plus the ops the tables leave out (comparisons, logical, bitwise, shifts,
predicates, integer division and pow, activation backward), each dtype the CPU supports, odd sizes, and
the layouts the launcher treats differently: contiguous (vector path), offset by one element (unaligned),
transposed and strided (offset calculator), broadcast (stride 0), a 0-dim CUDA tensor, a 0-dim CPU tensor
and a Python number as an operand. Then in-place forms, autograd, special values and the errors.
Views are taken inside the compared functions, so both devices see the same strides."""
import math

import numpy as np
import pytest

import pyml
from pyml._ops.elementwise import _binary
from cuda_compare import TOL, assert_match, check, check_grads, to_cuda, to_host
from helpers import to_pyml
from opspec import BINARY_SPECS, FLOATS, INTS, UNARY_SPECS

DEVICE = "cuda"
SIZES = (1, 7, 97, 1023, 1025)
ALL = FLOATS + INTS + ("bool",)

# layout -> (base shape holding n elements per row, the view of the base an op reads)
VIEWS = {
    "contiguous": (lambda n: (n,), lambda t: t),
    "offset": (lambda n: (n + 1,), lambda t: t[1:]),
    "transposed": (lambda n: (n, 3), lambda t: t.T),
    "strided": (lambda n: (3, 2 * n), lambda t: t[:, ::2]),
    "broadcast": (lambda n: (1, n), lambda t: t.expand(4, t.shape[1])),
}
# binary layout -> (shapes of a and b for n, the views the op reads); each is also run with a, b swapped
BVIEWS = {
    "contiguous": (lambda n: ((n,), (n,)), lambda a, b: (a, b)),
    "offset": (lambda n: ((n + 1,), (n,)), lambda a, b: (a[1:], b)),
    "transposed": (lambda n: ((n, 3), (3, n)), lambda a, b: (a.T, b)),
    "strided": (lambda n: ((3, 2 * n), (n, 3)), lambda a, b: (a[:, ::2], b.T)),
    "broadcast_row": (lambda n: ((3, n), (n,)), lambda a, b: (a, b)),
    "broadcast_outer": (lambda n: ((3, 1), (1, n)), lambda a, b: (a, b)),
    "device_scalar": (lambda n: ((n,), ()), lambda a, b: (a, b)),
}


def _id(v):
    return getattr(v, "name", None) or getattr(v, "__name__", None) or str(v)


def values(rng, shape, dtype, domain=(-4.0, 4.0)):
    """Random values of dtype on the CPU: floats from domain, integers of both signs, bools."""
    if dtype == "bool":
        return pyml.tensor(rng.integers(0, 2, size=shape).astype(bool))
    if dtype in FLOATS:
        return to_pyml(rng.uniform(*domain, size=shape), dtype)
    lo, hi = (0, 60) if dtype == "uint8" else (-30, 30)
    return to_pyml(rng.integers(lo, hi, size=shape), dtype)


def divisors(rng, shape, dtype):
    """Nonzero integer divisors of both signs (for integer floor_divide, remainder, fmod, trunc)."""
    sign = 1 if dtype == "uint8" else rng.choice([-1, 1], size=shape)
    return to_pyml(rng.integers(1, 9, size=shape) * sign, dtype)


def small(rng, shape, dtype):
    """Few distinct values (ties for comparisons, zeros for logical ops); floats include a NaN."""
    if dtype == "bool":
        return values(rng, shape, dtype)
    a = rng.integers(0 if dtype == "uint8" else -3, 4, size=shape).astype(np.float64)
    if dtype in FLOATS and a.size > 2:
        a.reshape(-1)[1] = np.nan
    return to_pyml(a, dtype)


def rtol_of(dtype, scale=1.0):
    return TOL[dtype][0] * scale if dtype in TOL else None


def on_device(t):
    return t.to(DEVICE)


def check_cpu_scalar(fn, x, rtol=None):
    """fn(x) where fn holds a 0-dim CPU tensor: it stays on the CPU while x moves to CUDA."""
    want = fn(x)
    got = fn(to_cuda(x))
    assert got.device.type == DEVICE
    assert_match(to_host(got), want, rtol=rtol)


def check_binary_layouts(fn, make_a, make_b, rtol=None):
    """fn(a, b) over every binary layout and size; then with the layouts of a and b swapped (a keeps
    its role: make_a's values stay the first operand, e.g. the dividend)."""
    for name, (shapes, view) in BVIEWS.items():
        for n in SIZES:
            sa, sb = shapes(n)
            check(lambda u, v: fn(*view(u, v)), make_a(sa), make_b(sb), rtol=rtol)
            check(lambda u, v: fn(*reversed(view(v, u))), make_a(sb), make_b(sa), rtol=rtol)


def check_scalar_operands(fn, name, make_a, make_b, rtol=None):
    """b as a Python number and as a 0-dim CPU tensor; then a as one (the reflected forms, through the
    engine op `name`, or (name, alpha), since pyml.add(2, t) is a TypeError as in torch)."""
    name, alpha = name if isinstance(name, tuple) else (name, 1)
    for n in SIZES:
        a, b, sa, sb = make_a((n,)), make_b((n,)), make_a(()), make_b(())
        check(lambda u: fn(u, sb.item()), a, rtol=rtol)
        check(lambda v: _binary(name, sa.item(), v, alpha), b, rtol=rtol)
        check_cpu_scalar(lambda u: fn(u, sb), a, rtol)
        check_cpu_scalar(lambda v: fn(sa, v), b, rtol)


# ------------------------------------------------------------------------------------------ unary
@pytest.mark.parametrize("spec,dtype", [(s, d) for s in UNARY_SPECS for d in s.dtypes], ids=_id)
@pytest.mark.parametrize("view", list(VIEWS))
def test_unary_spec_matches_cpu(spec, dtype, view, rng):
    shape_of, make = VIEWS[view]
    for n in SIZES:
        x = values(rng, shape_of(n), dtype, spec.domain)
        check(lambda t: spec.fn(make(t)), x, rtol=rtol_of(dtype, spec.rtol_scale))


EXTRA_UNARY = [
    ("isnan", pyml.isnan, ALL), ("isinf", pyml.isinf, ALL), ("isfinite", pyml.isfinite, ALL),
    ("logical_not", pyml.logical_not, ALL), ("bitwise_not", pyml.bitwise_not, INTS + ("bool",)),
    ("neg_abs_sign_relu_square_uint8", lambda t: [f(t) for f in (pyml.neg, pyml.abs, pyml.sign, pyml.relu,
                                                                   pyml.square)], ("uint8",)),
    ("softplus_beta_threshold", lambda t: pyml.softplus(t, beta=2.0, threshold=5.0), FLOATS),
    ("exp_of_int_promotes", pyml.exp, INTS + ("bool",)),
    ("sqrt_of_int_promotes", pyml.sqrt, INTS),
]


@pytest.mark.parametrize("name,fn,dtypes", EXTRA_UNARY, ids=_id)
@pytest.mark.parametrize("view", list(VIEWS))
def test_extra_unary_matches_cpu(name, fn, dtypes, view, rng):
    shape_of, make = VIEWS[view]
    for dtype in dtypes:
        for n in SIZES:
            x = values(rng, shape_of(n), dtype, (-8.0, 8.0))
            if dtype in FLOATS and x.numel() > 3:  # specials for the predicates
                x.reshape(-1)[:3] = pyml.tensor([math.nan, math.inf, -math.inf]).to(x.dtype)
            check(lambda t: fn(make(t)), x, rtol=rtol_of(dtype, 4))


SPECIALS = [0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan, 1e-40, 88.0, -88.0, 100.0, -100.0,
            0.5, 1.5, 2.5, -0.5, -2.5, 3.5]
SPECIAL_UNARY = ["abs", "sign", "exp", "expm1", "log", "log1p", "sqrt", "tanh", "sigmoid", "relu", "silu", "floor",
                 "ceil", "round", "trunc", "frac", "reciprocal", "erf", "erfc", "isnan", "isinf", "isfinite",
                 "logical_not", "softplus", "square", "neg"]


@pytest.mark.parametrize("dtype", FLOATS)
def test_special_values_match_cpu(dtype):
    """inf, nan, -0, ties of round (half to even), NaN propagation of maximum/minimum."""
    x = pyml.tensor(SPECIALS).to(getattr(pyml, dtype))
    for name in SPECIAL_UNARY:
        check(getattr(pyml, name), x, atol=1e-30 if dtype in ("float32", "float64") else None)
    y = pyml.tensor(SPECIALS[::-1]).to(getattr(pyml, dtype))
    for f in (pyml.maximum, pyml.minimum, pyml.floor_divide, pyml.remainder, pyml.fmod, pyml.div, pyml.atan2,
              pyml.pow, pyml.eq, pyml.lt, pyml.logical_xor):
        check(f, x, y)
    want = pyml.tensor([0.0, 2.0, 2.0, -0.0, -2.0, 4.0])
    got = pyml.round(on_device(pyml.tensor([0.5, 1.5, 2.5, -0.5, -2.5, 3.5]).to(getattr(pyml, dtype))))
    np.testing.assert_array_equal(to_host(got).double().numpy(), want.double().numpy())


# ------------------------------------------------------------------------------------------ binary
BINARY_CASES = [(s, d) for s in BINARY_SPECS for d in s.dtypes]


def _maker(spec, dtype, rng, divisor):
    int_div = divisor and dtype in INTS and spec.name in ("floor_divide", "remainder", "fmod", "div")
    return (lambda shape: divisors(rng, shape, dtype)) if int_div else (
        lambda shape: values(rng, shape, dtype, spec.domain))


@pytest.mark.parametrize("spec,dtype", BINARY_CASES, ids=_id)
def test_binary_spec_layouts_match_cpu(spec, dtype, rng):
    check_binary_layouts(spec.fn, _maker(spec, dtype, rng, False), _maker(spec, dtype, rng, True),
                         rtol=rtol_of(dtype, spec.rtol_scale))


@pytest.mark.parametrize("spec,dtype", BINARY_CASES, ids=_id)
def test_binary_spec_scalar_operands_match_cpu(spec, dtype, rng):
    """Python numbers and 0-dim CPU tensors on either side; 0-dim CPU tensors of other dtypes promote."""
    rtol = rtol_of(dtype, spec.rtol_scale)
    make_a, make_b = _maker(spec, dtype, rng, False), _maker(spec, dtype, rng, True)
    check_scalar_operands(spec.fn, spec.name, make_a, make_b, rtol)
    for sdt in ("float64", "int64", "bool"):
        s = to_pyml(np.array(2), sdt)
        x = make_a((97,))
        check_cpu_scalar(lambda u: spec.fn(u, s), x, rtol)
        check_cpu_scalar(lambda u: spec.fn(s, u), x, rtol)


def _int_pow_args(rng, dtype):
    base = lambda shape: to_pyml(rng.integers(0 if dtype == "uint8" else -4, 5, size=shape), dtype)  # noqa: E731
    expo = lambda shape: to_pyml(rng.integers(0 if dtype == "uint8" else -2, 6, size=shape), dtype)  # noqa: E731
    return base, expo


def _shift_args(rng, dtype):
    bits = np.dtype(dtype).itemsize * 8
    a = lambda shape: values(rng, shape, dtype)  # noqa: E731
    b = lambda shape: to_pyml(rng.integers(0 if dtype == "uint8" else -2, bits + 3, size=shape), dtype)  # noqa: E731
    return a, b


def _trunc(a, b):
    return pyml.div(a, b, rounding_mode="trunc")


def _extra_binary_cases():
    cases = []
    for name in ("eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor"):
        cases += [(name, getattr(pyml, name), d, "small") for d in ALL]
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        cases += [(name, getattr(pyml, name), d, "values") for d in INTS + ("bool",)]
    for name in ("add", "mul", "maximum", "minimum"):
        cases.append((name, getattr(pyml, name), "bool", "values"))
    for d in INTS:
        cases += [("bitwise_left_shift", pyml.bitwise_left_shift, d, "shift"),
                  ("bitwise_right_shift", pyml.bitwise_right_shift, d, "shift"), ("pow", pyml.pow, d, "pow")]
        cases += [(name, f, d, "divide") for name, f in (("floor_divide", pyml.floor_divide), ("trunc", _trunc),
                                                          ("remainder", pyml.remainder), ("fmod", pyml.fmod))]
    cases += [("trunc", _trunc, d, "values") for d in FLOATS]
    cases += [("add_alpha", lambda a, b: pyml.add(a, b, alpha=3), d, "values") for d in FLOATS + INTS]
    cases += [("sub_alpha", lambda a, b: pyml.sub(a, b, alpha=2.5), d, "values") for d in FLOATS]
    return cases


@pytest.mark.parametrize("name,fn,dtype,kind", _extra_binary_cases(), ids=_id)
def test_extra_binary_matches_cpu(name, fn, dtype, kind, rng):
    if kind == "small":
        ma = mb = lambda shape: small(rng, shape, dtype)  # noqa: E731
    elif kind == "shift":
        ma, mb = _shift_args(rng, dtype)
    elif kind == "pow":
        ma, mb = _int_pow_args(rng, dtype)
    elif kind == "divide":
        ma, mb = (lambda shape: values(rng, shape, dtype)), (lambda shape: divisors(rng, shape, dtype))
    else:
        ma = mb = lambda shape: values(rng, shape, dtype)  # noqa: E731
    check_binary_layouts(fn, ma, mb, rtol=rtol_of(dtype))
    engine = {"trunc": "trunc_divide", "add_alpha": ("add", 3), "sub_alpha": ("sub", 2.5)}.get(name, name)
    check_scalar_operands(fn, engine, ma, mb, rtol=rtol_of(dtype))


ACT_BACKWARD = ["gelu_backward", "gelu_tanh_backward", "silu_backward", "tanh_backward", "sigmoid_backward"]


@pytest.mark.parametrize("name", ACT_BACKWARD)
@pytest.mark.parametrize("dtype", FLOATS)
def test_activation_backward_matches_cpu(name, dtype, rng):
    """g * f'(x) from x (gelu, gelu_tanh, silu) or from y = f(x) (tanh, sigmoid)."""
    def saved(shape):
        x = rng.uniform(-6, 6, size=shape)
        x = np.tanh(x) if name.startswith("tanh") else (1 / (1 + np.exp(-x)) if name.startswith("sigmoid") else x)
        return to_pyml(x, dtype)
    grads = lambda shape: values(rng, shape, dtype, (-2.0, 2.0))  # noqa: E731
    for layout, (shapes, view) in BVIEWS.items():
        for n in SIZES:
            sa, sb = shapes(n)
            check(lambda g, x: _binary(name, *view(g, x)), grads(sa), saved(sb), rtol=rtol_of(dtype, 4))
    half = to_pyml(np.array(0.5), dtype)
    check_cpu_scalar(lambda x: _binary(name, half, x), saved((97,)), rtol_of(dtype, 4))
    check_cpu_scalar(lambda g: _binary(name, g, half), grads((97,)), rtol_of(dtype, 4))
    check(lambda x: _binary(name, 1.5, x), saved((97,)), rtol=rtol_of(dtype, 4))


@pytest.mark.parametrize("dtype", INTS)
def test_integer_wraparound_matches_cpu(dtype):
    info = np.iinfo(dtype)
    a = to_pyml(np.array([info.max, info.min, info.max - 1, 0, 1]), dtype)
    b = to_pyml(np.array([1, 1, 3, info.max, info.max]), dtype)
    for f in (pyml.add, pyml.sub, pyml.mul, pyml.maximum, pyml.minimum):
        check(f, a, b)
    for f in (pyml.neg, pyml.abs, pyml.square, pyml.bitwise_not):
        check(f, a)


def test_type_promotion_matches_cpu(rng):
    """Mixed dtypes: tensor-tensor, tensor-number and tensor-0-dim-CPU-tensor results keep the CPU's dtypes."""
    x16, x32, i32, u8, b = (values(rng, (97,), d) for d in ("float16", "float32", "int32", "uint8", "bool"))
    for a, c in ((x16, x32), (i32, x16), (u8, i32), (b, u8), (i32, b)):
        for f in (pyml.add, pyml.mul, pyml.div, pyml.maximum, pyml.eq):
            check(f, a, c)
    for t in (x16, i32, u8, b):
        for number in (2, 2.5, True):
            check(lambda u: pyml.add(u, number), t)
            check(lambda u: number * u, t)
        check(lambda u: pyml.div(u, 4), t)
        check_cpu_scalar(lambda u: pyml.add(u, pyml.tensor(2.5, dtype=pyml.float64)), t)
        check_cpu_scalar(lambda u: pyml.mul(pyml.tensor(3), u), t)


@pytest.mark.parametrize("shape", [(0,), (3, 0, 2), (2, 3, 5, 7), ()])
def test_zero_size_multi_dim_and_0dim(shape, rng):
    x, y = values(rng, shape, "float32"), values(rng, shape, "float32")
    i, j = values(rng, shape, "int32"), divisors(rng, shape, "int32")
    check(pyml.exp, x)
    check(pyml.isnan, x)
    check(pyml.add, x, y)
    check(pyml.floor_divide, i, j)
    check(lambda u, v: u * v[..., :1] if u.ndim else u * v, x, y)
    check(lambda u, v: u.clone().add_(v, alpha=2), x, y)


def test_large_tensor_matches_cpu(rng):
    x, y = values(rng, (3_000_017,), "float32"), values(rng, (3_000_017,), "float32")
    check(pyml.add, x, y)
    check(pyml.exp, x)
    check(lambda u, v: pyml.mul(u[1::2], v[2::2]), x, y)


# ------------------------------------------------------------------------------------------ in-place
def check_inplace(fn, base, *others):
    """fn writes into (a view of) base; the whole base afterwards, and fn's result, match the CPU's."""
    dev = to_cuda([base.clone(), *others])
    want = fn(base, *others)
    got = fn(*dev)
    assert_match(to_host(dev[0]), base)
    assert_match(to_host(got), want)


@pytest.mark.parametrize("spec", UNARY_SPECS, ids=_id)
@pytest.mark.parametrize("dtype", FLOATS)
def test_unary_inplace_matches_cpu(spec, dtype, rng):
    if not hasattr(pyml.Tensor, spec.name + "_"):
        pytest.skip(f"{spec.name} has no in-place method")
    for n in SIZES:
        base = values(rng, (3, 2 * n), dtype, spec.domain)
        check_inplace(lambda t: getattr(t[:, ::2], spec.name + "_")(), base)
        check_inplace(lambda t: getattr(t, spec.name + "_")(), values(rng, (n,), dtype, spec.domain))


@pytest.mark.parametrize("spec,dtype", BINARY_CASES, ids=_id)
def test_binary_inplace_matches_cpu(spec, dtype, rng):
    method = spec.name + "_"
    make_a, make_b = _maker(spec, dtype, rng, False), _maker(spec, dtype, rng, True)
    number = 3 if dtype in INTS else 1.5
    for n in SIZES:
        check_inplace(lambda t, u: getattr(t[:, ::2], method)(u), make_a((3, 2 * n)), make_b((n,)))
        check_inplace(lambda t, u: getattr(t.T, method)(u), make_a((n, 3)), make_b((3, n)))
        check_inplace(lambda t, u: getattr(t, method)(u), make_a((n,)), make_b((n,)))
        check_inplace(lambda t: getattr(t, method)(number), make_a((n,)))
        s = make_b(())  # 0-dim CPU tensor: stays on the CPU
        want_base = make_a((n,))
        got_base = to_cuda(want_base.clone())
        getattr(want_base, method)(s)
        getattr(got_base, method)(s)
        assert_match(to_host(got_base), want_base)


def test_inplace_promotion_and_bool_results_match_cpu(rng):
    x16, x32, i32 = values(rng, (97,), "float16"), values(rng, (97,), "float32"), values(rng, (97,), "int32")
    check_inplace(lambda t, u: t.add_(u), x16, x32)          # computed in float32, written back as float16
    check_inplace(lambda t, u: t.mul_(u), x32, i32)
    check_inplace(lambda t, u: t.eq_(u), x32, x32.clone())   # bool result written as 0/1
    check_inplace(lambda t, u: t.lt_(u), x16, x32)
    check_inplace(lambda t, u: t.sub_(u, alpha=2), i32, values(rng, (97,), "int32"))
    check_inplace(lambda t: t.add_(t), x32)                  # the same tensor on both sides
    check_inplace(lambda t: t[1:].add_(t[:-1]), values(rng, (98,), "float32"))  # overlapping: read before write


# ------------------------------------------------------------------------------------------ autograd
@pytest.mark.parametrize("spec", [s for s in UNARY_SPECS if s.differentiable], ids=_id)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unary_grads_match_cpu(spec, dtype, rng):
    x = values(rng, (13, 7), dtype, spec.domain).requires_grad_()
    check_grads(lambda t: spec.fn(t.T), x, rtol=rtol_of(dtype, 4 * spec.rtol_scale))


@pytest.mark.parametrize("spec", [s for s in BINARY_SPECS if s.differentiable], ids=_id)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_grads_match_cpu(spec, dtype, rng):
    # fresh leaves for every call: grads accumulate
    leaf = lambda shape: values(rng, shape, dtype, spec.domain).requires_grad_()  # noqa: E731
    rtol = rtol_of(dtype, 4 * spec.rtol_scale)
    check_grads(spec.fn, leaf((5, 97)), leaf((97,)), rtol=rtol)  # b broadcasts: its grad is summed over rows
    check_grads(lambda u, v: spec.fn(u.T, v), leaf((97, 5)), leaf((5, 1)), rtol=rtol)
    check_grads(lambda u: spec.fn(u, 1.5), leaf((5, 97)), rtol=rtol)
    check_grads(lambda u: _binary(spec.name, 1.5, u), leaf((5, 97)), rtol=rtol)


def test_grads_through_composite_expression(rng):
    x = values(rng, (31, 33), "float32").requires_grad_()
    w = values(rng, (33,), "float32").requires_grad_()
    check_grads(lambda u, v: pyml.gelu(u * v + 0.5).tanh() * pyml.sigmoid(u) - pyml.silu(v) / 3, x, w)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "maximum", "atan2"])
def test_grad_of_a_cpu_scalar_operand_comes_back_on_the_cpu(name, rng):
    """x (CUDA) op w (0-dim CPU, requires grad): w.grad is a CPU tensor equal to the all-CPU one."""
    x = values(rng, (5, 7), "float32", (0.5, 2.0))
    grads = []
    for u in (x.clone(), to_cuda(x)):
        u.requires_grad_()
        w = pyml.tensor(1.5, requires_grad=True)
        getattr(pyml, name)(u, w).sum().backward()
        grads.append((to_host(u.grad), w.grad))
    assert grads[1][1].device.type == "cpu"
    assert_match(grads[1], grads[0], rtol=1e-4)


# ------------------------------------------------------------------------------------------ errors
def test_mixed_devices_raise_with_both_devices_named():
    x, y = pyml.ones(3).to(DEVICE), pyml.ones(3)
    with pytest.raises(RuntimeError, match="add: expected all tensors to be on the same device, got cuda:0 and cpu"):
        x + y
    with pytest.raises(RuntimeError, match="mul: expected all tensors to be on the same device, got cpu and cuda:0"):
        y * x
    with pytest.raises(RuntimeError, match="got cuda:0 and cpu"):
        x.add_(y)
    with pytest.raises(RuntimeError, match="got cpu and cuda:0"):
        y.add_(x)
    with pytest.raises(RuntimeError, match="got cpu and cuda:0"):
        pyml.tensor(1.0).add_(x)  # a CPU 0-dim tensor cannot receive a CUDA result
    with pytest.raises(RuntimeError, match="eq: .*got cuda:0 and cpu"):
        pyml.tensor(1.0).to(DEVICE) == pyml.ones(2)
    assert (x + pyml.tensor(2.0)).device.type == DEVICE  # a CPU 0-dim tensor is a scalar operand


@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("name,engine,method", [("floor_divide", "floor_divide", "floor_divide_"),
                                                ("div", "trunc_divide", None), ("remainder", "remainder", "remainder_"),
                                                ("fmod", "fmod", "fmod_")])
def test_integer_division_by_zero_raises_on_cuda(dtype, name, engine, method):
    """The CPU's RuntimeError from a flag the kernel sets (device divisors) or a host check (host scalars)."""
    a = to_pyml(np.array([5, 7, 9, 11, 13]), dtype).to(DEVICE)
    b = to_pyml(np.array([1, 2, 0, 3, 4]), dtype).to(DEVICE)
    msg = f"{name}: ZeroDivisionError"
    for x, y in ((a, b), (a, 0), (a, to_pyml(np.array(0), dtype)), (7, b), (a, b[2]), (a[:, None], b)):
        with pytest.raises(RuntimeError, match=msg):
            _binary(engine, x, y)
    if method is not None:
        c = a.clone()
        with pytest.raises(RuntimeError, match=msg):
            getattr(c, method)(b)
        assert to_host(c).tolist() == to_host(a).tolist()  # unchanged, as on the CPU
    ok = _binary(engine, a, b + 1 if dtype == "uint8" else b.abs() + 1)  # the device stays usable
    assert ok.device.type == DEVICE
    assert to_host(_binary(engine, a.float(), 0.0)).shape == (5,)  # floats divide by zero without raising
