"""The float32 gelu kernels (csrc/cpu/isa/vmath.h vnormal_cdf: Phi(x) and exp(-x^2/2) from one exp and
one polynomial) against float64 on a dense grid and the tails: gelu keeps its relative precision for
negative x (where 0.5 * x * (1 + erf) loses it), special values, position and thread independence."""
import math

import numpy as np
import pytest

import pyml
from pyml._ops.elementwise import _binary

_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _ref(x):
    """gelu(x) and gelu'(x) in float64 from erfc (no cancellation in either tail)."""
    x = x.astype(np.float64)
    cdf = 0.5 * _erfc(-x / math.sqrt(2))
    return x * cdf, cdf + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _grid():
    rng = np.random.default_rng(0)
    return np.concatenate([np.linspace(-14, 14, 200_001), rng.standard_normal(50_000) * 3]).astype(np.float32)


def _gelu(x):
    return pyml.gelu(pyml.from_numpy(x)).numpy().astype(np.float64)


def _gelu_bwd(g, x):
    return _binary("gelu_backward", pyml.from_numpy(g), pyml.from_numpy(x)).numpy().astype(np.float64)


def test_gelu_float32_error_bounds():
    x = _grid()
    y, _ = _ref(x)
    err = np.abs(_gelu(x) - y)
    assert err.max() <= 5e-7
    core = (np.abs(x) <= 5) & (np.abs(y) > 1e-30)
    assert (err[core] / np.abs(y[core])).max() <= 1.5e-6  # relative, the negative tail included


def test_gelu_negative_tail_keeps_relative_precision():
    x = np.linspace(-5, -2, 3001).astype(np.float32)  # gelu(x) from -7e-7 to -0.05
    y, _ = _ref(x)
    np.testing.assert_allclose(_gelu(x), y, rtol=1.5e-6, atol=0)


def test_gelu_backward_float32_error_bounds():
    x = _grid()
    g = np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)
    _, d = _ref(x)
    want = g.astype(np.float64) * d
    np.testing.assert_allclose(_gelu_bwd(g, x), want, rtol=2e-6, atol=5e-7 * np.abs(g).max())


def test_gelu_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-40, 100.0, -100.0, 13.0, -13.0], np.float32)
    y = _gelu(x)
    assert y[0] == 0 and y[1] == 0 and np.signbit(y[1])
    assert y[2] == np.inf and np.isnan(y[3]) and np.isnan(y[4])  # gelu(-inf) = -inf * 0, as 0.5x(1+erf x)
    np.testing.assert_allclose(y[5:7], 0.5 * x[5:7].astype(np.float64), rtol=2e-6)
    assert y[7] == 100.0 and y[8] == 0.0 and y[9] == 13.0 and -1e-30 < y[10] <= 0
    d = _gelu_bwd(np.ones_like(x), x)
    np.testing.assert_allclose(d[[0, 1, 5, 6]], 0.5, rtol=2e-6)
    assert np.isnan(d[2:5]).all() and d[7] == 1.0 and d[8] == 0.0


@pytest.mark.parametrize("n", [1, 7, 97, 1023, 1025])
def test_gelu_result_independent_of_position_and_layout(n):
    """Every element takes the same vector path (tails padded), so a value does not depend on where it
    sits in a row, on the row's length, or on strides."""
    big = np.random.default_rng(n).standard_normal(4096).astype(np.float32) * 4
    full = _gelu(big)
    np.testing.assert_array_equal(_gelu(big[3:3 + n].copy()), full[3:3 + n])
    strided = pyml.from_numpy(big)[1:1 + 2 * n:2]
    np.testing.assert_array_equal(pyml.gelu(strided).numpy(), full[1:1 + 2 * n:2])


def test_gelu_thread_count_independent():
    x = np.random.default_rng(3).standard_normal(300_001).astype(np.float32) * 3
    g = np.random.default_rng(4).standard_normal(300_001).astype(np.float32)
    old = pyml.get_num_threads()
    try:
        pyml.set_num_threads(1)
        one = (_gelu(x), _gelu_bwd(g, x))
        pyml.set_num_threads(2)
        two = (_gelu(x), _gelu_bwd(g, x))
    finally:
        pyml.set_num_threads(old)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
