"""pyml.models.MLP: its layer structure and parameter count, and its forward pass against a
torch.nn network given the same weights (train and eval mode, with batch norm)."""
import numpy as np
import pytest
import torch

import pyml
from pyml.models import MLP


def _kinds(model):
    return [type(m).__name__ for m in model.layers]


def test_layers_in_order():
    assert _kinds(MLP(4, [8, 6], 3)) == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert _kinds(MLP(4, [8], 3, activation="sigmoid", batch_norm=True, dropout=0.2)) == \
        ["Linear", "BatchNorm1d", "Sigmoid", "Dropout", "Linear"]
    assert _kinds(MLP(4, [], 1)) == ["Linear"]                      # a linear model
    assert _kinds(MLP(2, [3], 1, activation=pyml.nn.Tanh)) == ["Linear", "Tanh", "Linear"]


def test_parameter_count():
    # (56*100 + 100) + 3 * (100*100 + 100) + (100 + 1): the chapter-1 four-layer net
    assert sum(p.numel() for p in MLP(56, [100] * 4, 1).parameters()) == 5700 + 3 * 10100 + 101
    # batch norm adds a weight and a bias per hidden unit
    assert sum(p.numel() for p in MLP(3, [5], 2, batch_norm=True).parameters()) == 20 + 10 + 12


def _torch_copy(model, activation):
    """The same network in torch.nn, with pyml's weights copied in."""
    layers = []
    for m in model.layers:
        kind = type(m).__name__
        if kind == "Linear":
            t = torch.nn.Linear(m.in_features, m.out_features).double()
        elif kind == "BatchNorm1d":
            t = torch.nn.BatchNorm1d(m.num_features).double()
        else:
            t = activation()
        layers.append(t)
        if kind in ("Linear", "BatchNorm1d"):
            with torch.no_grad():
                t.weight.copy_(torch.tensor(m.weight.detach().numpy()))
                t.bias.copy_(torch.tensor(m.bias.detach().numpy()))
    return torch.nn.Sequential(*layers)


@pytest.mark.parametrize("activation,torch_activation,batch_norm", [
    ("relu", torch.nn.ReLU, False), ("tanh", torch.nn.Tanh, False), ("sigmoid", torch.nn.Sigmoid, True),
    ("gelu", torch.nn.GELU, True)])
def test_forward_matches_torch(rng, activation, torch_activation, batch_norm):
    model = MLP(5, [7, 4], 3, activation=activation, batch_norm=batch_norm).double()
    ref = _torch_copy(model, torch_activation)
    x = rng.standard_normal((9, 5))
    for mode in ("train", "eval"):
        for m in (model, ref):
            getattr(m, mode)()
        out = model(pyml.tensor(x, dtype=pyml.float64)).detach().numpy()
        np.testing.assert_allclose(out, ref(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_gradients_match_torch(rng):
    model = MLP(3, [6, 6], 2).double()
    ref = _torch_copy(model, torch.nn.ReLU)
    x = rng.standard_normal((8, 3))
    model(pyml.tensor(x, dtype=pyml.float64)).pow(2).sum().backward()
    ref(torch.tensor(x)).pow(2).sum().backward()
    first, ref_first = model.layers[0], ref[0]
    np.testing.assert_allclose(first.weight.grad.numpy(), ref_first.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(first.bias.grad.numpy(), ref_first.bias.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_dropout_is_active_only_in_training():
    model = MLP(4, [64], 4, dropout=0.5)
    x = pyml.ones(16, 4)
    model.eval()
    assert (model(x) - model(x)).abs().max().item() == 0
    model.train()
    pyml.manual_seed(0)
    a = model(x)
    pyml.manual_seed(1)
    assert (a - model(x)).abs().max().item() > 0


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="in_features"):
        MLP(0, [4], 1)
    with pytest.raises(TypeError, match="hidden must be a list"):
        MLP(2, 4, 1)
    with pytest.raises(ValueError, match="hidden\\[1\\]"):
        MLP(2, [4, -1], 1)
    with pytest.raises(TypeError, match="out_features"):
        MLP(2, [4], 1.5)
    with pytest.raises(ValueError, match="activation must be one of"):
        MLP(2, [4], 1, activation="swishy")
    with pytest.raises(TypeError, match="activation"):
        MLP(2, [4], 1, activation=3)
    with pytest.raises(ValueError, match="dropout"):
        MLP(2, [4], 1, dropout=1.0)
    with pytest.raises(ValueError, match="shape \\(N, 2\\)"):
        MLP(2, [4], 1)(pyml.ones(3, 5))
