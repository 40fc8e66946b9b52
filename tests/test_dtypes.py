"""dtype conversions (float16/bfloat16 bit-exact against NumPy/torch) and PyTorch's type promotion."""
import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import pyml

ALL = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]


def test_float16_decode_every_bit_pattern():
    bits = np.arange(65536, dtype=np.uint16)
    want = bits.view(np.float16).astype(np.float32)
    t = pyml.from_numpy(bits.view(np.float16))
    got = t.float().numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_array_equal(got[ok].view(np.uint32), want[ok].view(np.uint32))


def test_float16_encode_rounds_like_numpy(rng):
    vals = np.concatenate([rng.standard_normal(20000).astype(np.float32) * 10.0 ** rng.integers(-9, 6, 20000),
                           np.array([65504, 65519.99, 65520, 1e6, -1e6, 6e-8, 2.9e-8, 3e-8, 0.0, -0.0,
                                     np.inf, -np.inf], dtype=np.float32)]).astype(np.float32)
    got = pyml.tensor(vals).half().numpy()
    with np.errstate(over="ignore"):
        want = vals.astype(np.float16)
    np.testing.assert_array_equal(got.view(np.uint16), want.view(np.uint16))


def test_bfloat16_round_trip_matches_torch(rng):
    vals = (rng.standard_normal(20000) * 10.0 ** rng.integers(-30, 30, 20000)).astype(np.float32)
    vals[:4] = [np.inf, -np.inf, 0.0, 3.3895314e38]
    got = pyml.tensor(vals).bfloat16().float().numpy()
    want = torch.tensor(vals).bfloat16().float().numpy()
    np.testing.assert_array_equal(got, want)
    assert np.isnan(pyml.tensor([np.nan]).bfloat16().float().numpy()[0])


@pytest.mark.parametrize("src,dst", list(itertools.product(ALL, ALL)))
def test_cast_matrix_matches_torch(src, dst):
    vals = [0, 1, 2, 7, 100] if src in ("uint8", "bool") else [-3.75, -1, 0, 0.5, 1, 2.25, 100]
    if src == "bool":
        vals = [0, 1, 1, 0]
    t_src = torch.tensor(vals).to(getattr(torch, src))
    p_src = pyml.tensor(t_src.double().numpy()).to(getattr(pyml, src))
    got = p_src.to(getattr(pyml, dst))
    want = t_src.to(getattr(torch, dst))
    assert got.dtype.name == dst
    np.testing.assert_array_equal(got.double().numpy(), want.double().numpy())


def _torch_dt(name):
    return getattr(torch, name)


def _pyml_dt(name):
    return getattr(pyml, name)


@pytest.mark.parametrize("a,b", list(itertools.product(ALL, ALL)))
def test_promote_types_table_matches_torch(a, b):
    assert pyml.promote_types(_pyml_dt(a), _pyml_dt(b)).name == str(torch.promote_types(_torch_dt(a), _torch_dt(b))).split(".")[1]


_operand = st.tuples(st.sampled_from(ALL), st.sampled_from(["dim", "zero", "bool", "int", "float"]))


def _make(kind_pair, lib):
    dt, kind = kind_pair
    if kind == "bool":
        return True
    if kind == "int":
        return 3
    if kind == "float":
        return 2.5
    shape = (2,) if kind == "dim" else ()
    if lib is torch:
        return torch.ones(shape, dtype=_torch_dt(dt))
    return pyml.ones(shape, dtype=_pyml_dt(dt))


@settings(max_examples=300, deadline=None)
@given(_operand, _operand)
def test_result_type_matches_torch(x, y):
    if x[1] in ("bool", "int", "float") and y[1] in ("bool", "int", "float"):
        return  # two Python numbers are not a tensor op
    px, py_ = _make(x, pyml), _make(y, pyml)
    tx, ty = _make(x, torch), _make(y, torch)
    want = str(torch.result_type(tx, ty)).split(".")[1]
    assert pyml.result_type(px, py_).name == want
    # and the op itself produces that dtype (add is defined for every pair but bool-bool)
    got = pyml.add(px, py_) if isinstance(px, pyml.Tensor) else pyml.add(py_, px)
    assert got.dtype.name == str((tx + ty).dtype).split(".")[1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=0, max_size=4), st.data())
def test_broadcasting_property(shape, data):
    # drop leading dims and set random dims to 1 to make a compatible second shape
    k = data.draw(st.integers(0, len(shape)))
    other = [1 if data.draw(st.booleans()) else s for s in shape[k:]]
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    b = np.arange(int(np.prod(other)), dtype=np.float64).reshape(other) + 0.5
    got = pyml.tensor(a, dtype=pyml.float64) * pyml.tensor(b, dtype=pyml.float64) - pyml.tensor(b, dtype=pyml.float64)
    np.testing.assert_array_equal(got.numpy(), a * b - b)


def test_default_dtype_switch():
    try:
        pyml.set_default_dtype(pyml.float64)
        assert pyml.tensor([1.5]).dtype is pyml.float64
        assert (pyml.tensor([1]) / 2).dtype is pyml.float64
        assert pyml.zeros(2).dtype is pyml.float64
    finally:
        pyml.set_default_dtype(pyml.float32)
    with pytest.raises(TypeError, match="set_default_dtype"):
        pyml.set_default_dtype(pyml.int32)
