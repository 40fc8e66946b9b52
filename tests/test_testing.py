"""pyml.testing.assert_close against torch.testing.assert_close: the same cases must pass or fail alike,
with the same exception type and message (pyml's names in place of torch's)."""
import math

import numpy as np
import pytest
import torch
import torch.testing

import pyml
import pyml.testing


def _outcome(lib, case):
    try:
        case(lib)
        return "OK"
    except Exception as e:  # the exception type and text are what we compare
        return f"{type(e).__name__}: {e}"


def _t(lib, *args, **kwargs):
    return lib.tensor(*args, **kwargs)


CASES = {
    "close floats": lambda L: L.testing.assert_close(_t(L, [1.0, 2.0]), _t(L, [1.0, 2.0 + 1e-6])),
    "float mismatch": lambda L: L.testing.assert_close(_t(L, [1.0, 2, 3]), _t(L, [1.0, 2.5, 3])),
    "2-d index": lambda L: L.testing.assert_close(_t(L, [[1.0, 2], [3, 4]]), _t(L, [[1.0, 2], [3, 5]])),
    "int mismatch": lambda L: L.testing.assert_close(_t(L, [1, 2, 3]), _t(L, [1, 3, 3])),
    "uint8 mismatch": lambda L: L.testing.assert_close(_t(L, [1, 2], dtype=L.uint8), _t(L, [2, 1], dtype=L.uint8)),
    "bool mismatch": lambda L: L.testing.assert_close(_t(L, [True]), _t(L, [False])),
    "float scalars": lambda L: L.testing.assert_close(1.0, 1.5),
    "int scalars": lambda L: L.testing.assert_close(1, 2),
    "scalar types": lambda L: L.testing.assert_close(1, 1.0),
    "scalar types ignored": lambda L: L.testing.assert_close(1, 1.0, check_dtype=False),
    "tiny float": lambda L: L.testing.assert_close(0.0, 1e-9),
    "0-d tensors": lambda L: L.testing.assert_close(_t(L, 1.0), _t(L, 2.0)),
    "0-d ints": lambda L: L.testing.assert_close(_t(L, 3), _t(L, 4)),
    "shape": lambda L: L.testing.assert_close(_t(L, [1.0, 2]), _t(L, [1.0, 2, 3])),
    "dtype": lambda L: L.testing.assert_close(_t(L, [1.0]), _t(L, [1.0], dtype=L.float64)),
    "dtype ignored": lambda L: L.testing.assert_close(_t(L, [1.0]), _t(L, [1.5], dtype=L.float64), check_dtype=False),
    "int vs float values": lambda L: L.testing.assert_close(_t(L, [1, 2]), _t(L, [1.0, 2.0]), check_dtype=False),
    "float16 defaults": lambda L: L.testing.assert_close(_t(L, [1.0, 2], dtype=L.float16),
                                                         _t(L, [1.001, 2.1], dtype=L.float16)),
    "bfloat16 defaults": lambda L: L.testing.assert_close(_t(L, [1.0, 2], dtype=L.bfloat16),
                                                          _t(L, [1.01, 2.0], dtype=L.bfloat16)),
    "float64 defaults": lambda L: L.testing.assert_close(_t(L, [1.0], dtype=L.float64),
                                                         _t(L, [1.0 + 1e-6], dtype=L.float64)),
    "nested": lambda L: L.testing.assert_close([_t(L, [1.0]), {"a": _t(L, [2.0])}],
                                               [_t(L, [1.0]), {"a": _t(L, [3.0])}]),
    "nested ok": lambda L: L.testing.assert_close((1, [2.0, {"k": _t(L, [3])}]), [1, (2.0, {"k": _t(L, [3])})]),
    "sequence length": lambda L: L.testing.assert_close([1, 2], [1, 2, 3]),
    "mapping keys": lambda L: L.testing.assert_close({"a": 1}, {"b": 1}),
    "rtol only": lambda L: L.testing.assert_close(_t(L, [1.0]), _t(L, [2.0]), rtol=1e-3),
    "atol given": lambda L: L.testing.assert_close(_t(L, [1.0]), _t(L, [2.0]), rtol=0, atol=1),
    "exact": lambda L: L.testing.assert_close(_t(L, [1.0, 2.0]), _t(L, [1.0, 2.0 + 1e-6]), rtol=0, atol=0),
    "nan": lambda L: L.testing.assert_close(_t(L, [math.nan]), _t(L, [math.nan])),
    "nan equal": lambda L: L.testing.assert_close(_t(L, [math.nan, 1.0]), _t(L, [math.nan, 1.0]), equal_nan=True),
    "nan scalars": lambda L: L.testing.assert_close(math.nan, math.nan, equal_nan=True),
    "nan and inf": lambda L: L.testing.assert_close(_t(L, [0.0, 1, math.nan, 2]), _t(L, [0.0, 2, 1, math.inf])),
    "opposite inf": lambda L: L.testing.assert_close(_t(L, [1.0, math.inf]), _t(L, [1.0, -math.inf])),
    "same inf": lambda L: L.testing.assert_close(_t(L, [math.inf]), _t(L, [math.inf])),
    "zero expected": lambda L: L.testing.assert_close(_t(L, [0.0]), _t(L, [1e-6])),
    "msg": lambda L: L.testing.assert_close(_t(L, [1.0]), _t(L, [2.0]), msg="custom"),
    "msg callable": lambda L: L.testing.assert_close(_t(L, [1.0]), _t(L, [2.0]), msg=lambda m: "X" + m[:10]),
    "stride": lambda L: L.testing.assert_close(_t(L, [[1.0, 2], [3, 4]]).t(),
                                               _t(L, [[1.0, 2], [3, 4]]).t().contiguous(), check_stride=True),
    "stride unchecked": lambda L: L.testing.assert_close(_t(L, [[1.0, 2], [3, 4]]).t(),
                                                         _t(L, [[1.0, 2], [3, 4]]).t().contiguous()),
    "strings": lambda L: L.testing.assert_close("a", "a"),
    "numpy": lambda L: L.testing.assert_close(np.array([1.0]), np.array([1.1])),
    "empty": lambda L: L.testing.assert_close(_t(L, []), _t(L, [])),
    "requires grad": lambda L: L.testing.assert_close(_t(L, [1.0], requires_grad=True), _t(L, [1.0])),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name):
    got, want = _outcome(pyml, CASES[name]), _outcome(torch, CASES[name])
    assert got.replace("pyml.", "torch.") == want


def test_message_names_greatest_differences():
    a = pyml.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = pyml.tensor([[1.0, 2.5, 3.0], [4.0, 5.0, 9.0]])
    with pytest.raises(AssertionError) as e:
        pyml.testing.assert_close(a, b)
    text = str(e.value)
    assert "Mismatched elements: 2 / 6 (33.3%)" in text
    assert "Greatest absolute difference: 3.0 at index (1, 2) (up to 1e-05 allowed)" in text
    assert "Greatest relative difference: 0.3333333432674408 at index (1, 2)" in text


def test_non_contiguous_and_broadcast_free():
    x = pyml.arange(12.0).reshape(3, 4)
    pyml.testing.assert_close(x.t(), x.t().contiguous())
    pyml.testing.assert_close(x[:, ::2], pyml.tensor([[0.0, 2.0], [4.0, 6.0], [8.0, 10.0]]))
    with pytest.raises(AssertionError, match="shape"):
        pyml.testing.assert_close(pyml.ones(3), pyml.ones(1, 3))


def test_tensor_against_number_and_bad_types():
    with pytest.raises(TypeError):
        pyml.testing.assert_close(pyml.ones(1), 1.0)
    with pytest.raises(TypeError):
        pyml.testing.assert_close(object(), object())
    with pytest.raises(ValueError):
        pyml.testing.assert_close(1.0, 1.0, atol=1e-3)


def test_tolerance_edges_per_dtype():
    for dtype, rtol, atol in ((pyml.float32, 1.3e-6, 1e-5), (pyml.float64, 1e-7, 1e-7),
                              (pyml.float16, 1e-3, 1e-5)):
        e = pyml.tensor([1000.0], dtype=dtype)
        inside = pyml.tensor([1000.0 * (1 + rtol * 0.5)], dtype=dtype)
        pyml.testing.assert_close(inside.to(dtype), e)
        outside = pyml.tensor([1000.0 * (1 + rtol * 4) + atol * 4], dtype=dtype)
        with pytest.raises(AssertionError):
            pyml.testing.assert_close(outside, e)
    with pytest.raises(AssertionError, match="not equal"):
        pyml.testing.assert_close(pyml.tensor([5], dtype=pyml.int32), pyml.tensor([6], dtype=pyml.int32))
