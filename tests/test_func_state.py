"""pyml.func.stack_module_state (the model-ensembling tutorial with vmap + functional_call), functionalize and
linearize, against torch.func."""
import copy

import numpy as np
import pytest
import torch

import pyml
from pyml.func import functional_call, functionalize, linearize, stack_module_state, vmap


class _MLP(pyml.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.bn, self.fc2 = pyml.nn.Linear(7, 5), pyml.nn.BatchNorm1d(5), pyml.nn.Linear(5, 3)

    def forward(self, x):
        return self.fc2(pyml.relu(self.bn(self.fc1(x))))


def test_stack_module_state_keys_shapes_and_leaves():
    models = [_MLP() for _ in range(4)]
    params, buffers = stack_module_state(models)
    assert list(params) == [n for n, _ in models[0].named_parameters()]
    assert list(buffers) == [n for n, _ in models[0].named_buffers()]
    assert tuple(params["fc1.weight"].shape) == (4, 5, 7) and tuple(buffers["bn.num_batches_tracked"].shape) == (4,)
    assert all(p.requires_grad and p.grad_fn is None for p in params.values())
    assert not any(b.requires_grad for b in buffers.values())
    np.testing.assert_array_equal(params["fc2.bias"][2].detach().numpy(), models[2].fc2.bias.detach().numpy())
    params["fc1.bias"].detach().zero_()  # fresh storage: the models are untouched
    assert float(models[0].fc1.bias.abs().sum()) > 0


def test_model_ensembling_tutorial_pattern():
    models = [_MLP().eval() for _ in range(5)]
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0])  # the tutorial moves it to 'meta'; pyml has no meta device

    def fmodel(params, buffers, x):
        return functional_call(base, (params, buffers), (x,))

    x = pyml.randn(64, 7)
    minibatches = x[:30].reshape(5, 6, 7)
    out_each = vmap(fmodel)(params, buffers, minibatches)
    out_same = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, x)
    ref_each = pyml.stack([m(minibatches[i]) for i, m in enumerate(models)])
    ref_same = pyml.stack([m(x) for m in models])
    np.testing.assert_allclose(out_each.detach().numpy(), ref_each.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(out_same.detach().numpy(), ref_same.detach().numpy(), rtol=1e-6, atol=1e-6)
    out_same.sum().backward()
    assert tuple(params["fc1.weight"].grad.shape) == (5, 5, 7)


def test_stack_module_state_matches_torch_values():
    tms = [torch.nn.Linear(3, 2).double() for _ in range(3)]
    pms = [pyml.nn.Linear(3, 2, dtype=pyml.float64) for _ in range(3)]
    for t, p in zip(tms, pms):
        p.load_state_dict({k: pyml.tensor(v.numpy()) for k, v in t.state_dict().items()})
    tp, _ = torch.func.stack_module_state(tms)
    pp, _ = stack_module_state(pms)
    for k in tp:
        np.testing.assert_array_equal(pp[k].detach().numpy(), tp[k].detach().numpy())


@pytest.mark.parametrize("make,match", [
    (lambda: [], "expected at least one model, got 0"),
    (lambda: [pyml.nn.Linear(2, 2), pyml.nn.Linear(2, 2).eval()], "same training/eval mode, got \\[True, False\\]"),
    (lambda: [pyml.nn.Linear(2, 2), pyml.nn.Bilinear(2, 2, 2)], "same class, got \\['Bilinear', 'Linear'\\]"),
])
def test_stack_module_state_errors_like_torch(make, match):
    with pytest.raises(RuntimeError, match=match):
        stack_module_state(make())


def test_stack_module_state_mixed_requires_grad():
    a, b = pyml.nn.Linear(2, 2), pyml.nn.Linear(2, 2)
    b.weight.requires_grad_(False)
    with pytest.raises(RuntimeError, match="expected weight from each model to have the same .requires_grad"):
        stack_module_state([a, b])


def test_functionalize_returns_the_function():
    def f(x):
        y = x.clone()
        y.add_(1)
        return y
    g = functionalize(f)
    assert g is f
    x = pyml.tensor([1.0, 2.0])
    tx = torch.tensor([1.0, 2.0])
    np.testing.assert_array_equal(g(x).numpy(), torch.func.functionalize(lambda t: t.clone().add_(1))(tx).numpy())
    with pytest.raises(RuntimeError, match="received invalid argument for remove=views"):
        functionalize(f, remove="views")


def test_linearize_matches_torch():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal(4)

    def pf(x, y):
        return (x.sin() * y).sum(0) + x.exp().mean()

    def tf(x, y):
        return (x.sin() * y).sum(0) + x.exp().mean()

    out_p, jvp_p = linearize(pf, pyml.tensor(a), pyml.tensor(b))
    out_t, jvp_t = torch.func.linearize(tf, torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(out_p.numpy(), out_t.numpy(), rtol=1e-12)
    for seed in (1, 2):
        r = np.random.default_rng(seed)
        ta, tb = r.standard_normal((3, 4)), r.standard_normal(4)
        np.testing.assert_allclose(jvp_p(pyml.tensor(ta), pyml.tensor(tb)).numpy(),
                                   jvp_t(torch.tensor(ta), torch.tensor(tb)).numpy(), rtol=1e-10, atol=1e-12)


def test_linearize_checks_tangents():
    _, jvp_fn = linearize(lambda x: x * 2, pyml.randn(3, dtype=pyml.float64))
    with pytest.raises(RuntimeError, match="tangent:0 with shape .*\\(4,\\).* doesn't match the shape"):
        jvp_fn(pyml.randn(4, dtype=pyml.float64))
    with pytest.raises(RuntimeError, match="tangent:0 with dtype pyml.float32 doesn't match the dtype pyml.float64"):
        jvp_fn(pyml.randn(3))
    with pytest.raises(RuntimeError, match="same structure as the primals"):
        jvp_fn(pyml.randn(3, dtype=pyml.float64), pyml.randn(3, dtype=pyml.float64))
