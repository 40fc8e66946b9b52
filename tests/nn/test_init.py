"""nn.init vs torch: exact gains, fans and deterministic initialisers (eye_, dirac_, constant_), and the
distributions of the random ones (bounds, moments, orthogonality, sparsity), generator reproducibility,
no_grad on parameters, errors like torch's."""
import math

import numpy as np
import pytest
import torch

import pyml
import pyml.nn as nn
from pyml.nn import init

tinit = torch.nn.init


def test_calculate_gain_matches_torch():
    for nl in ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
               "sigmoid", "tanh", "relu", "selu"]:
        assert init.calculate_gain(nl) == tinit.calculate_gain(nl)
    for p in (None, 0.2, 1, 0):
        assert init.calculate_gain("leaky_relu", p) == tinit.calculate_gain("leaky_relu", p)
    with pytest.raises(ValueError, match="Unsupported nonlinearity gelu"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("shape", [(3, 4), (8, 3, 5), (16, 4, 3, 3), (2, 3, 2, 2, 2)])
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(pyml.empty(*shape)) == tinit._calculate_fan_in_and_fan_out(
        torch.empty(*shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(pyml.empty(3))


def test_deterministic_initialisers_match_torch():
    for shape in [(3, 5), (5, 3), (4, 4)]:
        np.testing.assert_array_equal(init.eye_(pyml.empty(*shape)).numpy(), tinit.eye_(torch.empty(*shape)).numpy())
    for shape, groups in [((4, 2, 3), 1), ((6, 3, 3, 3), 2), ((4, 4, 3, 5, 3), 1), ((3, 5, 3, 3), 1)]:
        np.testing.assert_array_equal(init.dirac_(pyml.empty(*shape), groups).numpy(),
                                      tinit.dirac_(torch.empty(*shape), groups).numpy())
    t = pyml.empty(2, 3)
    assert init.constant_(t, 0.5) is t and (t.numpy() == 0.5).all()
    assert (init.ones_(t).numpy() == 1).all() and (init.zeros_(t).numpy() == 0).all()
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.eye_(pyml.empty(2, 2, 2))
    with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions"):
        init.dirac_(pyml.empty(2, 2))
    with pytest.raises(ValueError, match="dim 0 must be divisible by groups"):
        init.dirac_(pyml.empty(3, 2, 3), groups=2)


def _stats(fn, shape, **kw):
    t = pyml.empty(*shape)
    out = fn(t, **kw)
    assert out is t
    a = t.numpy()
    return a, a.mean(), a.std()


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3)])
def test_random_initialisers_distributions(shape):
    pyml.manual_seed(0)
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(pyml.empty(*shape))
    a, m, s = _stats(init.uniform_, shape, a=-2.0, b=3.0)
    assert a.min() >= -2 and a.max() <= 3 and m == pytest.approx(0.5, abs=0.05)
    a, m, s = _stats(init.normal_, shape, mean=1.0, std=2.0)
    assert m == pytest.approx(1.0, abs=0.05) and s == pytest.approx(2.0, rel=0.02)
    bound = math.sqrt(6.0 / (fan_in + fan_out)) * 1.5
    a, m, s = _stats(init.xavier_uniform_, shape, gain=1.5)
    assert np.abs(a).max() <= bound and s == pytest.approx(bound / math.sqrt(3), rel=0.02)
    a, m, s = _stats(init.xavier_normal_, shape)
    assert s == pytest.approx(math.sqrt(2.0 / (fan_in + fan_out)), rel=0.02)
    std = math.sqrt(2.0) / math.sqrt(fan_in)
    a, m, s = _stats(init.kaiming_uniform_, shape, nonlinearity="relu")
    assert np.abs(a).max() <= math.sqrt(3) * std and s == pytest.approx(std, rel=0.02)
    a, m, s = _stats(init.kaiming_normal_, shape, mode="fan_out", nonlinearity="relu")
    assert s == pytest.approx(math.sqrt(2.0) / math.sqrt(fan_out), rel=0.02)
    std5 = init.calculate_gain("leaky_relu", math.sqrt(5)) / math.sqrt(fan_in)
    a, m, s = _stats(init.kaiming_uniform_, shape, a=math.sqrt(5))
    assert s == pytest.approx(std5, rel=0.02)


def test_trunc_normal_matches_torch_distribution():
    pyml.manual_seed(1)
    for mean, std, a, b in [(0.0, 1.0, -2.0, 2.0), (0.5, 0.2, 0.0, 1.0), (0.0, 0.02, -0.04, 0.04),
                            (0.0, 1.0, 1.0, 4.0)]:
        x = init.trunc_normal_(pyml.empty(200000, dtype=pyml.float64), mean, std, a, b).numpy()
        ref = tinit.trunc_normal_(torch.empty(200000, dtype=torch.float64), mean, std, a, b).numpy()
        assert x.min() >= a and x.max() <= b
        assert x.mean() == pytest.approx(ref.mean(), abs=0.01 * std + 1e-12)
        assert x.std() == pytest.approx(ref.std(), rel=0.02)
    y = init.trunc_normal_(pyml.empty(50, 40))
    assert y.dtype == pyml.float32 and np.abs(y.numpy()).max() <= 2.0


@pytest.mark.parametrize("shape", [(6, 6), (5, 9), (9, 5), (4, 3, 2, 2), (1, 7)])
def test_orthogonal(shape):
    pyml.manual_seed(2)
    t = init.orthogonal_(pyml.empty(*shape, dtype=pyml.float64), gain=2.0)
    q = t.numpy().reshape(shape[0], -1) / 2.0
    rows, cols = q.shape
    g = q @ q.T if rows <= cols else q.T @ q
    np.testing.assert_allclose(g, np.eye(min(rows, cols)), atol=1e-10)
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions"):
        init.orthogonal_(pyml.empty(3))


def test_sparse():
    pyml.manual_seed(3)
    t = init.sparse_(pyml.empty(10, 30), sparsity=0.3, std=0.5)
    zeros_per_col = (t.numpy() == 0).sum(axis=0)
    assert (zeros_per_col == 3).all()
    assert t.numpy()[t.numpy() != 0].std() == pytest.approx(0.5, rel=0.15)
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.sparse_(pyml.empty(3), 0.1)


def test_generator_reproducible_and_no_grad_on_parameters():
    p = nn.Parameter(pyml.empty(5, 4))
    g = pyml.Generator().manual_seed(7)
    init.kaiming_uniform_(p, generator=g)
    first = p.detach().clone().numpy()
    init.kaiming_uniform_(p, generator=pyml.Generator().manual_seed(7))
    np.testing.assert_array_equal(p.detach().numpy(), first)
    assert p.is_leaf and p.requires_grad and p.grad_fn is None
    for fn in (init.normal_, init.xavier_normal_, init.trunc_normal_, init.orthogonal_, init.uniform_):
        a = fn(pyml.empty(4, 4), generator=pyml.Generator().manual_seed(3)).numpy()
        b = fn(pyml.empty(4, 4), generator=pyml.Generator().manual_seed(3)).numpy()
        np.testing.assert_array_equal(a, b)


def test_zero_element_and_bad_mode():
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(pyml.empty(0, 3))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_normal_(pyml.empty(2, 2), mode="fan_avg")


def test_deprecated_aliases_warn():
    with pytest.warns(FutureWarning, match="nn.init.normal is now deprecated"):
        init.normal(pyml.empty(2))
