"""Creation functions against torch's semantics: the same call made on torch and on pyml must give the
same dtype, shape and values (floats within a few ulps of the dtype: torch's own kernels round
differently per ISA), plus memory sharing rules, default-dtype handling and bad inputs."""
import numpy as np
import pytest
import torch

import pyml


def as_np(t):
    """float64/int64/bool NumPy copy of a torch or pyml tensor."""
    if isinstance(t, torch.Tensor):
        t = t.detach()
        return t.numpy() if t.dtype == torch.bool else (t.double() if t.is_floating_point() else t.long()).numpy()
    t = t.detach()
    return t.numpy() if t.dtype is pyml.bool else (t.double() if t.dtype.is_floating_point else t.long()).numpy()


ULP = {"float16": 2 ** -10, "bfloat16": 2 ** -7, "float32": 2 ** -23, "float64": 2 ** -52}


def assert_like_torch(fn):
    tr, pr = fn(torch), fn(pyml)
    tname = str(tr.dtype).split(".")[1]
    assert pr.dtype.name == tname, (pr.dtype, tr.dtype)
    assert tuple(pr.shape) == tuple(tr.shape)
    a, b = as_np(pr), as_np(tr)
    if tname in ULP:
        np.testing.assert_allclose(a, b, rtol=4 * ULP[tname], atol=4 * ULP[tname])
    else:
        np.testing.assert_array_equal(a, b)
    assert pr.requires_grad == tr.requires_grad


# Each entry builds with module m (torch or pyml): same call, same semantics expected.
SAME = {
    # dtype inference from Python data
    "ints": lambda m: m.tensor([1, 2, 3]),
    "floats": lambda m: m.tensor([1.0, 2.0]),
    "bools": lambda m: m.tensor([True, False]),
    "int_and_float": lambda m: m.tensor([1, 2.5]),
    "bool_and_int": lambda m: m.tensor([True, 2]),
    "empty_list": lambda m: m.tensor([]),
    "empty_nested": lambda m: m.tensor([[], []]),
    "int_scalar": lambda m: m.tensor(3),
    "float_scalar": lambda m: m.tensor(3.5),
    "bool_scalar": lambda m: m.tensor(True),
    "nested_tuples": lambda m: m.tensor([(1, 2), (3, 4)]),
    "tuple": lambda m: m.tensor((1, 2)),
    "range": lambda m: m.tensor(range(5)),
    "big_int": lambda m: m.tensor([2 ** 62, -(2 ** 62)]),
    "big_int_float": lambda m: m.tensor([2 ** 62, 1.0]),
    "np_float32_scalar": lambda m: m.tensor(np.float32(2.5)),
    "np_float64_scalar": lambda m: m.tensor(np.float64(2.5)),
    "np_int32_scalar": lambda m: m.tensor(np.int32(7)),
    "np_bool_scalar": lambda m: m.tensor(np.bool_(True)),
    "np_float16_scalar": lambda m: m.tensor(np.float16(1.5)),
    "np_scalars_in_list": lambda m: m.tensor([np.float64(1), 2]),
    "np_int32_in_list": lambda m: m.tensor([np.int32(1), 2]),
    "np_float32_in_list": lambda m: m.tensor([np.float32(1), 2.5]),
    "tensors_in_list": lambda m: m.tensor([m.tensor(1), m.tensor(2)]),
    "float_tensor_in_list": lambda m: m.tensor([m.tensor(1.5), 2]),
    "float64_tensor_in_list": lambda m: m.tensor([m.tensor(1.5, dtype=m.float64), 2]),
    "np_array_int32": lambda m: m.tensor(np.array([1, 2], dtype=np.int32)),
    "np_array_0d": lambda m: m.tensor(np.array(5)),
    "np_array_noncontig": lambda m: m.tensor(np.arange(12.0).reshape(3, 4)[::2, 1::2]),
    "np_array_negative_strides": lambda m: m.tensor(np.arange(5)[::-1].copy()),
    "np_array_float16": lambda m: m.tensor(np.array([0.5, 1e4], dtype=np.float16)),
    # explicit dtypes
    "float_to_int_truncates": lambda m: m.tensor([1.7, -1.7], dtype=m.int64),
    "int_to_float64": lambda m: m.tensor([[1], [2]], dtype=m.float64),
    "uint8_wraps_minus_one": lambda m: m.tensor([-1], dtype=m.uint8),
    "float16_overflow_inf": lambda m: m.tensor(1e40, dtype=m.float16),
    "bool_from_floats": lambda m: m.tensor([0.0, 0.5, 2.0], dtype=m.bool),
    "bfloat16": lambda m: m.tensor([1.0, 1.01, -3.3], dtype=m.bfloat16),
    "requires_grad": lambda m: m.tensor([1.0, 2.0], requires_grad=True),
    # as_tensor
    "as_tensor_list": lambda m: m.as_tensor([1, 2]),
    "as_tensor_np": lambda m: m.as_tensor(np.arange(3)),
    "as_tensor_np_cast": lambda m: m.as_tensor(np.arange(3), dtype=m.float32),
    "as_tensor_half": lambda m: m.as_tensor([[1, 2], [3, 4]], dtype=m.float16),
    # empty / zeros / ones / full
    "zeros_varargs": lambda m: m.zeros(2, 3, dtype=m.int32),
    "zeros_tuple": lambda m: m.zeros((2, 3)),
    "ones_list": lambda m: m.ones([2]),
    "zeros_0d": lambda m: m.zeros(()),
    "zeros_size0": lambda m: m.zeros(0),
    "ones_size0_middle": lambda m: m.ones(2, 0, 3),
    "ones_size": lambda m: m.ones(m.zeros(4, 1).shape),
    "ones_bool": lambda m: m.ones(3, dtype=m.bool),
    "ones_bf16": lambda m: m.ones(3, dtype=m.bfloat16),
    "zeros_requires_grad": lambda m: m.zeros(2, requires_grad=True),
    "full_int": lambda m: m.full((2,), 3),
    "full_float": lambda m: m.full((2,), 3.0),
    "full_bool": lambda m: m.full((2,), True),
    "full_dtype": lambda m: m.full((2,), 3, dtype=m.float16),
    "full_tensor_value": lambda m: m.full((2,), m.tensor(3.5)),
    "full_0d": lambda m: m.full([], 1),
    "full_uint8_negative": lambda m: m.full((2,), -1, dtype=m.uint8),
    "full_uint8_minus_255": lambda m: m.full((2,), -255, dtype=m.uint8),
    "full_float_to_int": lambda m: m.full((2,), 1.5, dtype=m.int64),
    "full_float_to_bool": lambda m: m.full((2,), 2.5, dtype=m.bool),
    "full_bool_to_int": lambda m: m.full((2,), True, dtype=m.int64),
    "full_float16_overflow": lambda m: m.full((1,), 1e10, dtype=m.float16),
    # arange: dtype inference, lengths with float steps, integer dtypes truncating the bounds
    "arange_end": lambda m: m.arange(5),
    "arange_start_end": lambda m: m.arange(1, 5),
    "arange_float_step": lambda m: m.arange(0, 1, 0.1),
    "arange_half_steps": lambda m: m.arange(1, 2.5, 0.5),
    "arange_float_end": lambda m: m.arange(5.0),
    "arange_int_step": lambda m: m.arange(0, 10, 3),
    "arange_negative_step": lambda m: m.arange(10, 0, -3),
    "arange_empty": lambda m: m.arange(0, 0),
    "arange_float64": lambda m: m.arange(0, 5, dtype=m.float64),
    "arange_tensor_bound": lambda m: m.arange(m.tensor(3)),
    "arange_float_start": lambda m: m.arange(0.5, 3),
    "arange_np_int": lambda m: m.arange(np.int64(4)),
    "arange_bool_bound": lambda m: m.arange(True, 3),
    "arange_large": lambda m: m.arange(0, 1e6, 1e5),
    "arange_neg_float": lambda m: m.arange(-3, 3, 0.7),
    "arange_neg_float64": lambda m: m.arange(-3, 3, 0.7, dtype=m.float64),
    "arange_fraction_step_odd": lambda m: m.arange(0, 1, 1 / 3),
    "arange_1025": lambda m: m.arange(-512, 513),
    "arange_float16": lambda m: m.arange(1, 4, 0.3, dtype=m.float16),
    "arange_bfloat16_down": lambda m: m.arange(1, -1, -0.25, dtype=m.bfloat16),
    "arange_int64_float_args": lambda m: m.arange(0, 5, 1.5, dtype=m.int64),
    "arange_int32_float_args": lambda m: m.arange(0.5, 5, 1.5, dtype=m.int32),
    "arange_int32_trunc_values": lambda m: m.arange(-2.5, 2.5, 1.5, dtype=m.int32),
    "arange_int64_len": lambda m: m.arange(0, 10, 2.9, dtype=m.int64),
    "arange_int16_len": lambda m: m.arange(0, 10, 2.9, dtype=m.int16),
    "arange_int64_neg_start": lambda m: m.arange(-1.5, 10, 2.9, dtype=m.int64),
    "arange_int64_down": lambda m: m.arange(10, -1.5, -2.9, dtype=m.int64),
    "arange_int64_empty": lambda m: m.arange(0, 0.5, dtype=m.int64),
    "arange_int8_down": lambda m: m.arange(10, 0, -3.5, dtype=m.int8),
    # linspace / logspace: endpoints, integer dtypes, single steps
    "linspace": lambda m: m.linspace(0, 1, 5),
    "linspace_one": lambda m: m.linspace(0, 1, 1),
    "linspace_zero": lambda m: m.linspace(0, 1, 0),
    "linspace_down": lambda m: m.linspace(1, 0, 6),
    "linspace_odd": lambda m: m.linspace(3.3, -2.1, 13),
    "linspace_1025": lambda m: m.linspace(-7.5, 11.25, 1025),
    "linspace_float64": lambda m: m.linspace(0, 1, 5, dtype=m.float64),
    "linspace_float64_97": lambda m: m.linspace(-1.1, 2.3, 97, dtype=m.float64),
    "linspace_int64": lambda m: m.linspace(-3, 7, 11, dtype=m.int64),
    "linspace_int32": lambda m: m.linspace(0, 10, 4, dtype=m.int32),
    "linspace_int_trunc_bounds": lambda m: m.linspace(0.5, 3.9, 3, dtype=m.int64),
    "linspace_tensor_bounds": lambda m: m.linspace(m.tensor(0.0), m.tensor(1.0), 3),
    "linspace_bf16": lambda m: m.linspace(0, 1, 7, dtype=m.bfloat16),
    "linspace_f16": lambda m: m.linspace(-1, 1, 7, dtype=m.float16),
    "logspace": lambda m: m.logspace(0, 2, 3),
    "logspace_base2": lambda m: m.logspace(0, 2, 3, base=2),
    "logspace_int64": lambda m: m.logspace(0, 2, 3, dtype=m.int64),
    "logspace_int32_trunc": lambda m: m.logspace(0.5, 2.5, 3, dtype=m.int32),
    "logspace_empty": lambda m: m.logspace(0, 1, 0),
    "logspace_float64": lambda m: m.logspace(-1, 1, 3, dtype=m.float64),
    "logspace_negative_base": lambda m: m.logspace(0, 2, 3, base=-2),
    "logspace_base3": lambda m: m.logspace(-2, 2, 5, base=3),
    # eye
    "eye": lambda m: m.eye(3),
    "eye_wide": lambda m: m.eye(2, 4),
    "eye_tall": lambda m: m.eye(4, 2),
    "eye_zero": lambda m: m.eye(0),
    "eye_no_cols": lambda m: m.eye(3, 0),
    "eye_one": lambda m: m.eye(1),
    "eye_int64": lambda m: m.eye(3, dtype=m.int64),
    "eye_bool": lambda m: m.eye(2, dtype=m.bool),
    "eye_97": lambda m: m.eye(97, 7),
    # *_like
    "zeros_like_int": lambda m: m.zeros_like(m.ones(2, dtype=m.int32)),
    "ones_like_dtype": lambda m: m.ones_like(m.ones(2), dtype=m.float64),
    "full_like_trunc": lambda m: m.full_like(m.ones(2, dtype=m.int64), 2.7),
    "full_like_float": lambda m: m.full_like(m.ones(2), 2),
    "zeros_like_expanded": lambda m: m.zeros_like(m.ones(3).expand(2, 3)),
    "ones_like_transposed": lambda m: m.ones_like(m.ones(3, 2).t()),
    "empty_like_shape": lambda m: m.empty_like(m.ones(3, 2, dtype=m.int16)).zero_(),
    "ones_like_grad": lambda m: m.ones_like(m.ones(2), requires_grad=True),
}


@pytest.mark.parametrize("name", list(SAME))
def test_same_as_torch(name):
    assert_like_torch(SAME[name])


@pytest.mark.parametrize("start,end,step", [(0, 1, 0.1), (0, 1, 0.3), (1, 0, -0.1), (-2.5, 7.25, 0.25),
                                            (0, 10, 1 / 7), (1e-3, 1.0, 1e-3), (-1, 1, 0.2), (3, 3.01, 0.005),
                                            (0, 97, 1), (5, -1023, -1), (0.1, 0.7, 0.1)])
@pytest.mark.parametrize("dtype", [None, "float64", "int64", "int32"])
def test_arange_lengths_and_values_like_torch(start, end, step, dtype):
    kw = {} if dtype is None else {"dtype": dtype}
    if dtype in ("int64", "int32") and int(step) == 0:
        # the step truncates to 0: torch raises for int64 (for narrower ints it repeats `start`
        # len times, a degenerate result pyml rejects the same way as int64)
        if dtype == "int64":
            with pytest.raises((ValueError, RuntimeError)):
                torch.arange(start, end, step, dtype=torch.int64)
        with pytest.raises(ValueError, match="arange: step must be nonzero"):
            pyml.arange(start, end, step, dtype=getattr(pyml, dtype))
        return
    assert_like_torch(lambda m: m.arange(start, end, step, **{k: getattr(m, v) for k, v in kw.items()}))


@pytest.mark.parametrize("steps", [2, 3, 7, 50, 97, 1023])
@pytest.mark.parametrize("start,end", [(0.0, 1.0), (-3.7, 12.1), (5.0, -5.0), (1e-4, 1e4)])
@pytest.mark.parametrize("dtype", [pyml.float32, pyml.float64])
def test_linspace_hits_both_endpoints(start, end, steps, dtype):
    v = pyml.linspace(start, end, steps, dtype=dtype).numpy()
    np_dt = np.float32 if dtype is pyml.float32 else np.float64
    assert v[0] == np_dt(start) and v[-1] == np_dt(end)
    np.testing.assert_allclose(v, np.linspace(start, end, steps), rtol=1e-6, atol=1e-6 * abs(end - start))


def test_default_dtype_drives_float_inference():
    pyml.set_default_dtype(pyml.float64)
    try:
        assert pyml.tensor([1.5]).dtype is pyml.float64
        assert pyml.tensor([1, 2]).dtype is pyml.int64
        assert pyml.arange(0.5).dtype is pyml.float64
        assert pyml.linspace(0, 1, 3).dtype is pyml.float64
        assert pyml.zeros(2).dtype is pyml.float64 and pyml.full((1,), 2.0).dtype is pyml.float64
        assert pyml.eye(2).dtype is pyml.float64
        # float64 arange values are computed in double, like torch's
        np.testing.assert_array_equal(pyml.arange(0, 1, 0.1).numpy(), torch.arange(0, 1, 0.1, dtype=torch.float64))
    finally:
        pyml.set_default_dtype(pyml.float32)
    assert pyml.tensor([1.5]).dtype is pyml.float32


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
                                   "float32", "float64"])
def test_all_dtypes(dtype):
    d = getattr(pyml, dtype)
    for fn in (pyml.zeros, pyml.ones, pyml.empty):
        t = fn(2, 3, dtype=d)
        assert t.dtype is d and t.shape == (2, 3) and t.is_contiguous()
    np.testing.assert_array_equal(as_np(pyml.ones(4, dtype=d)), as_np(torch.ones(4, dtype=getattr(torch, dtype))))
    np.testing.assert_array_equal(as_np(pyml.eye(3, dtype=d)), np.eye(3))
    assert pyml.tensor([1, 0], dtype=d).dtype is d
    assert pyml.full((2,), 1, dtype=d).dtype is d


def test_tensor_copies_as_tensor_shares():
    a = np.arange(4.0)
    t = pyml.tensor(a)
    a[0] = 100
    assert t.tolist()[0] == 0  # tensor() copies
    s = pyml.as_tensor(a)
    a[1] = 200
    assert s.tolist()[1] == 200  # as_tensor() shares when the dtype matches
    c = pyml.as_tensor(a, dtype=pyml.float32)
    a[2] = 300
    assert c.tolist()[2] == 2  # ... and copies when it must convert
    x = pyml.ones(3)
    assert pyml.as_tensor(x) is x and pyml.tensor(x) is not x
    y = pyml.tensor(x)
    y.fill_(7)
    assert x.tolist() == [1, 1, 1]


def test_tensor_of_torch_tensor_and_big_endian_array():
    assert pyml.tensor(torch.arange(3)).tolist() == [0, 1, 2]  # through __array__
    t = pyml.tensor(np.arange(3, dtype=">f8"))  # a copy converts the byte order
    assert t.dtype is pyml.float64 and t.tolist() == [0, 1, 2]


def test_out_argument():
    out = pyml.empty(0)
    r = pyml.zeros(2, 3, out=out)
    assert r is out and out.shape == (2, 3) and out.numpy().sum() == 0
    out = pyml.empty(0, dtype=pyml.int64)
    assert pyml.arange(4, out=out).tolist() == [0, 1, 2, 3]


BAD = [
    (lambda: pyml.tensor([[1, 2], [3]]), ValueError, "tensor: expected a rectangular nested sequence"),
    (lambda: pyml.tensor("a"), TypeError, "tensor: could not infer dtype of str"),
    (lambda: pyml.tensor([1, None]), TypeError, "tensor: could not infer dtype of NoneType"),
    (lambda: pyml.tensor([300], dtype=pyml.uint8), ValueError, "tensor: value 300 cannot be converted to type uint8"),
    (lambda: pyml.tensor([1e20], dtype=pyml.int64), ValueError, "tensor: value 1e\\+20 cannot be converted"),
    (lambda: pyml.tensor([float("nan")], dtype=pyml.int32), ValueError, "tensor: value nan cannot be converted"),
    (lambda: pyml.tensor([2 ** 64]), ValueError, "tensor: value cannot be converted to type int64"),
    (lambda: pyml.tensor(np.zeros(2, dtype=np.uint32)), TypeError, "tensor: can't convert NumPy dtype uint32"),
    (lambda: pyml.tensor([1.0], requires_grad=True, dtype=pyml.int64), RuntimeError,
     "tensor: only Tensors of floating point and complex dtype can require gradients"),
    (lambda: pyml.zeros(-1), ValueError, "zeros: sizes must be non-negative"),
    (lambda: pyml.empty(2, -3), ValueError, "empty: sizes must be non-negative"),
    (lambda: pyml.zeros(2.5), TypeError, "zeros: shape must be a sequence of ints"),
    (lambda: pyml.ones(2, dtype="complex32"), TypeError, "ones: expected a pyml dtype"),
    (lambda: pyml.zeros(2, dtype=pyml.int64, requires_grad=True), RuntimeError,
     "zeros: only Tensors of floating point and complex dtype can require gradients"),
    (lambda: pyml.full((2,), "a"), TypeError, "full: fill_value must be a number"),
    (lambda: pyml.full((2,), pyml.ones(2)), ValueError, "full: fill_value must be a number or a one-element"),
    (lambda: pyml.full((2,), 2 ** 40, dtype=pyml.int32), ValueError, "full: value 1099511627776 cannot be converted"),
    (lambda: pyml.full((2,), 256, dtype=pyml.uint8), ValueError, "full: value 256 cannot be converted to type uint8"),
    (lambda: pyml.full((2,), -256, dtype=pyml.uint8), ValueError, "full: value -256 cannot be converted"),
    (lambda: pyml.full((2,), float("inf"), dtype=pyml.int64), ValueError, "full: value inf cannot be converted"),
    (lambda: pyml.zeros_like([1, 2]), TypeError, "zeros_like: expected a Tensor"),
    (lambda: pyml.full_like(np.zeros(2), 1), TypeError, "full_like: expected a Tensor"),
    (lambda: pyml.arange(0, 1, 0), ValueError, "arange: step must be nonzero"),
    (lambda: pyml.arange(0, 1, 0.1, dtype=pyml.int64), ValueError, "arange: step must be nonzero"),
    (lambda: pyml.arange(5, 1), ValueError, "arange: upper bound and lower bound inconsistent with step sign"),
    (lambda: pyml.arange(0, -1, 0.3), ValueError, "arange: upper bound and lower bound inconsistent"),
    (lambda: pyml.arange(float("inf")), ValueError, "arange: unsupported range"),
    (lambda: pyml.arange(0, float("nan")), ValueError, "arange: unsupported range"),
    (lambda: pyml.arange(3, dtype=pyml.bool), TypeError, "arange: not implemented for dtype bool"),
    (lambda: pyml.arange("3"), TypeError, "arange: end must be a number"),
    (lambda: pyml.linspace(0, 1, -1), ValueError, "linspace: number of steps must be non-negative"),
    (lambda: pyml.linspace(0, 1, 2.0), TypeError, "linspace: steps must be an int"),
    (lambda: pyml.linspace(0, None, 3), TypeError, "linspace: end must be a number"),
    (lambda: pyml.logspace(0, 1, -2), ValueError, "logspace: number of steps must be non-negative"),
    (lambda: pyml.eye(-1), ValueError, "eye: n must be greater or equal to 0"),
    (lambda: pyml.eye(3, -1), ValueError, "eye: m must be greater or equal to 0"),
    (lambda: pyml.eye(2.0), TypeError, "eye: n must be an int"),
    (lambda: pyml.eye(2, dtype=pyml.int32, requires_grad=True), RuntimeError, "eye: only Tensors of floating point"),
    (lambda: pyml.from_numpy([1, 2]), TypeError, "from_numpy: expected np.ndarray"),
]


@pytest.mark.parametrize("call,exc,msg", BAD)
def test_bad_inputs(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


@pytest.mark.parametrize("call", [
    lambda m: m.tensor([[1, 2], [3]]), lambda m: m.tensor([300], dtype=m.uint8), lambda m: m.zeros(-1),
    lambda m: m.full((2,), 2 ** 40, dtype=m.int32), lambda m: m.arange(0, 1, 0.1, dtype=m.int64),
    lambda m: m.arange(5, 1), lambda m: m.arange(float("inf")), lambda m: m.linspace(0, 1, -1),
    lambda m: m.eye(-1), lambda m: m.eye(2.0), lambda m: m.zeros_like([1, 2]), lambda m: m.linspace(0, 1, 2.0),
])
def test_torch_rejects_the_same_inputs(call):
    # the bad-input table is not stricter than torch: torch raises too (its own exception types)
    with pytest.raises(Exception):
        call(torch)
    with pytest.raises((ValueError, TypeError, RuntimeError)):
        call(pyml)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "int8", "int16", "int32", "int64",
                                   "uint8", "bool"])
@pytest.mark.parametrize("n", [1, 7, 97, 1023, 1025, (1 << 20) + 3])
def test_fill_contiguous_and_strided_matches_torch(dtype, n):
    """fill_/full/zeros store the value into every element of a contiguous tensor (the vectorised
    path) and only into the viewed elements of a strided one."""
    value = {"bool": True, "uint8": 200, "int8": -7}.get(dtype, -3.25 if "float" in dtype else 3456)
    d, td = getattr(pyml, dtype), getattr(torch, dtype)
    full = pyml.full((n,), value, dtype=d)
    assert torch.equal(torch.from_numpy(np.asarray(full.float().numpy())), torch.full((n,), value, dtype=td).float())
    base = pyml.zeros((n + 1,), dtype=d)
    base[1::2].fill_(value)
    ref = torch.zeros((n + 1,), dtype=td)
    ref[1::2].fill_(value)
    assert torch.equal(torch.from_numpy(np.asarray(base.float().numpy())), ref.float())
    assert (pyml.zeros((n,), dtype=d).float().numpy() == 0).all()


def test_sizes_whose_byte_count_overflows_raise_instead_of_allocating_a_few_bytes():
    """A wrapped byte count once allocated 64 bytes that zeros() then overran (a segfault); like torch,
    the size calculation is checked, and a zero dim still makes any other size legal."""
    for make in (lambda: pyml.zeros(1 << 62), lambda: pyml.empty(1 << 61, dtype=pyml.float64),
                 lambda: pyml.ones(1 << 40, 1 << 40), lambda: pyml.full((1 << 31, 1 << 31, 4), 1.0)):
        with pytest.raises(RuntimeError, match=r"empty: storage size calculation overflowed with sizes \("):
            make()
    assert tuple(pyml.empty(1 << 62, 0).shape) == (1 << 62, 0)
    assert tuple(pyml.zeros(0, 1 << 40, 1 << 40).shape) == (0, 1 << 40, 1 << 40)
    with pytest.raises(RuntimeError, match="out of memory"):
        pyml.empty(1 << 45)  # a representable size the machine cannot hold: the allocator's error


@pytest.mark.parametrize("args", [(0, 1e19), (0, 10**18), (0.0, 2.0**44), (1 << 62,)])
def test_arange_sizes_the_machine_cannot_hold_raise_runtime_error_like_torch(args):
    with pytest.raises(RuntimeError) as ours:
        pyml.arange(*args)
    with pytest.raises(RuntimeError):
        torch.arange(*args)
    assert "arange" in str(ours.value) or "alloc" in str(ours.value) or "overflow" in str(ours.value)
