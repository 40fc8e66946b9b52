"""pyml.signal.windows (pyml/signal/windows.py) against torch.signal.windows: every window, symmetric and periodic,
lengths 0, 1, 2, 7, 96, 97, float32 and float64, each window's parameters, the factory keywords, and every
argument error; and the shared formulas agree with pyml's top-level *_window functions."""
import numpy as np
import pytest
import torch
import torch.signal.windows as TW

import pyml
import pyml.signal.windows as PW

PARAMS = {"general_cosine": {"a": [0.46, 0.23, 0.31]}, "gaussian": {"std": 2.5}, "kaiser": {"beta": 5.0},
          "general_hamming": {"alpha": 0.6}, "exponential": {"tau": 3.0}}


def close(p, t, rtol, atol):
    assert tuple(p.shape) == tuple(t.shape)
    assert str(p.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", PW.__all__)
@pytest.mark.parametrize("M", [0, 1, 2, 7, 96, 97])
@pytest.mark.parametrize("sym", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_window_matches_torch(name, M, sym, dtype):
    kw = {"a": PARAMS["general_cosine"]["a"]} if name == "general_cosine" else {}
    p = getattr(PW, name)(M, sym=sym, dtype=getattr(pyml, dtype), **kw)
    t = getattr(TW, name)(M, sym=sym, dtype=getattr(torch, dtype), **kw)
    if dtype == "float64":
        close(p, t, 1e-12, 1e-13)
        return
    # float32: pyml rounds the float64 window once; torch evaluates in float32 (its gaussian's linspace
    # steps drift ~2e-6 by M = 96)
    close(p, getattr(TW, name)(M, sym=sym, dtype=torch.float64, **kw).float(), 1e-7, 1e-8)
    close(p, t, 3e-5, 3e-6)


@pytest.mark.parametrize("name", sorted(PARAMS))
@pytest.mark.parametrize("sym", [True, False])
def test_window_parameters_match_torch(name, sym):
    p = getattr(PW, name)(13, sym=sym, dtype=pyml.float64, **PARAMS[name])
    t = getattr(TW, name)(13, sym=sym, dtype=torch.float64, **PARAMS[name])
    close(p, t, 1e-12, 1e-13)


@pytest.mark.parametrize("M", [1, 4, 9])
def test_exponential_with_center(M):
    for center in (0.0, 2.5, -1.0):
        p = PW.exponential(M, center=center, tau=1.5, sym=False, dtype=pyml.float64)
        close(p, TW.exponential(M, center=center, tau=1.5, sym=False, dtype=torch.float64), 1e-12, 1e-13)


def test_default_dtype_and_factory_keywords():
    assert PW.hann(5).dtype is pyml.get_default_dtype()
    pyml.set_default_dtype(pyml.float64)
    try:
        assert PW.blackman(5).dtype is pyml.float64
    finally:
        pyml.set_default_dtype(pyml.float32)
    w = PW.cosine(6, requires_grad=True, layout=pyml.strided, device="cpu")
    assert w.requires_grad and w.device.type == "cpu"
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * w.detach().numpy())


def test_signal_windows_share_the_top_level_formulas():
    # sym=False is the periodic form of torch.*_window (and pyml's): one set of formulas for both APIs
    for M in (1, 8, 31):
        for fn, top in ((PW.hann, pyml.hann_window), (PW.hamming, pyml.hamming_window),
                        (PW.blackman, pyml.blackman_window), (PW.bartlett, pyml.bartlett_window)):
            for sym in (True, False):
                close(fn(M, sym=sym, dtype=pyml.float64), top(M, not sym, dtype=pyml.float64), 0, 0)
        close(PW.kaiser(M, beta=4.0, sym=False, dtype=pyml.float64),
              pyml.kaiser_window(M, True, 4.0, dtype=pyml.float64), 0, 0)


def test_nuttall_and_general_cosine_agree():
    a = [0.3635819, 0.4891775, 0.1365995, 0.0106411]
    close(PW.nuttall(11, dtype=pyml.float64), PW.general_cosine(11, a=a, dtype=pyml.float64), 0, 0)
    close(PW.general_cosine(5, a=(0.7,), dtype=pyml.float64), torch.full((5,), 0.7, dtype=torch.float64), 0, 0)


@pytest.mark.parametrize("name", PW.__all__)
def test_common_errors(name, ):
    kw = {"a": [0.5, 0.5]} if name == "general_cosine" else {}
    fn = getattr(PW, name)
    with pytest.raises(ValueError, match=f"{name}: requires non-negative window length, got M=-1"):
        fn(-1, **kw)
    with pytest.raises(ValueError, match=f"{name}: expects float32 or float64 dtypes, got pyml.float16"):
        fn(4, dtype=pyml.float16, **kw)
    with pytest.raises(ValueError, match=f"{name}: expects float32 or float64 dtypes, got pyml.int64"):
        fn(4, dtype=pyml.int64, **kw)
    with pytest.raises(ValueError, match=f"{name}: is implemented for strided tensors only"):
        fn(4, layout="sparse", **kw)
    with pytest.raises(TypeError, match=f"{name}: argument 'M' must be an int, got float"):
        fn(4.5, **kw)


def test_parameter_errors():
    with pytest.raises(ValueError, match="gaussian: std must be positive, got std=0.0"):
        PW.gaussian(5, std=0.0)
    with pytest.raises(ValueError, match="exponential: tau must be positive, got tau=-1.0"):
        PW.exponential(5, tau=-1.0)
    with pytest.raises(ValueError, match="exponential: center must be None for symmetric windows"):
        PW.exponential(5, center=1.0)
    with pytest.raises(ValueError, match="kaiser: beta must be non-negative, got beta=-0.5"):
        PW.kaiser(5, beta=-0.5)
    with pytest.raises(TypeError, match="general_cosine: coefficients a must be a list/tuple of numbers, got float"):
        PW.general_cosine(5, a=0.5)
    with pytest.raises(ValueError, match="general_cosine: coefficients a cannot be empty"):
        PW.general_cosine(5, a=[])
    with pytest.raises(TypeError, match="general_hamming: argument 'alpha' must be a number, got str"):
        PW.general_hamming(5, alpha="x")
    with pytest.raises(TypeError):
        PW.hann(5, True)  # sym is keyword-only, as in torch


def test_module_path():
    assert pyml.signal.windows is PW
    assert sorted(PW.__all__) == sorted(TW.__all__)
