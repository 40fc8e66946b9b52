"""pyml/_ops/compat_windows.py against torch and NumPy/SciPy-style closed forms: hann, hamming, blackman, bartlett
and kaiser windows (periodic and symmetric, every floating dtype, lengths 0, 1, 2, 7, 97)."""
import numpy as np
import pytest
import torch

import pyml
from compat_helpers import check, tol

NAMES = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("length", [0, 1, 2, 7, 97])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_window_matches_torch(name, length, periodic, dtype):
    p = getattr(pyml, name)(length, periodic, dtype=getattr(pyml, dtype))
    t = getattr(torch, name)(length, periodic, dtype=getattr(torch, dtype))
    r, a = tol(dtype)
    check(p, t, r, max(a, 1e-13) * (4 if dtype in ("float16", "bfloat16") else 1))  # (torch computes in f16)
    if dtype in ("float16", "bfloat16"):  # pyml rounds the float64 window once
        exact = getattr(torch, name)(length, periodic, dtype=torch.float64).to(getattr(torch, dtype))
        check(p, exact, 0, 0)


def test_windows_match_numpy_symmetric_forms():
    n = 97
    for name, ref in (("hann_window", np.hanning(n)), ("hamming_window", np.hamming(n)),
                      ("blackman_window", np.blackman(n)), ("bartlett_window", np.bartlett(n)),
                      ("kaiser_window", np.kaiser(n, 12.0))):
        np.testing.assert_allclose(getattr(pyml, name)(n, False, dtype=pyml.float64).numpy(), ref, atol=1e-14)
    np.testing.assert_allclose(pyml.kaiser_window(n, False, 5.0, dtype=pyml.float64).numpy(), np.kaiser(n, 5.0),
                               atol=1e-14)


def test_window_options_and_defaults():
    assert pyml.hann_window(5).dtype is pyml.get_default_dtype()
    check(pyml.hamming_window(7, True, 0.5, 0.5), torch.hamming_window(7, True, 0.5, 0.5), 1e-6, 1e-7)
    check(pyml.hamming_window(7, False, alpha=0.6, beta=0.4), torch.hamming_window(7, False, 0.6, 0.4), 1e-6, 1e-7)
    check(pyml.kaiser_window(9, beta=3.0), torch.kaiser_window(9, True, 3.0), 1e-6, 1e-7)
    w = pyml.hann_window(4, requires_grad=True)
    assert w.requires_grad and w.is_leaf


def test_window_errors():
    with pytest.raises(ValueError, match="non-negative"):
        pyml.hann_window(-1)
    with pytest.raises(TypeError, match="floating"):
        pyml.blackman_window(5, dtype=pyml.int64)
    with pytest.raises(TypeError):
        pyml.bartlett_window(2.5)
    with pytest.raises(ValueError, match="beta"):
        pyml.kaiser_window(3, beta=-1.0)
