"""Fused activation-backward kernels (gelu, gelu_tanh, silu from x; tanh, sigmoid, relu from y) against
float64 NumPy formulas, on odd sizes, strided and broadcast operands; and the autograd path that
uses them (no create_graph) against the composite formula it replaces."""
import math

import numpy as np
import pytest

import pyml
from pyml._ops.elementwise import _binary
from pyml._tensor import wrap

erf = np.vectorize(math.erf)


def _sig(x):
    return 1 / (1 + np.exp(-x))


K, C = math.sqrt(2 / math.pi), 0.044715
REF = {
    "gelu_backward": lambda g, x: g * (0.5 * (1 + erf(x / math.sqrt(2))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)),
    "gelu_tanh_backward": lambda g, x: g * (0.5 * (1 + np.tanh(K * (x + C * x ** 3)))
                                            + 0.5 * x * (1 - np.tanh(K * (x + C * x ** 3)) ** 2) * K * (1 + 3 * C * x * x)),
    "silu_backward": lambda g, x: g * _sig(x) * (1 + x * (1 - _sig(x))),
    "tanh_backward": lambda g, y: g * (1 - y * y),
    "sigmoid_backward": lambda g, y: g * y * (1 - y),
    "relu_backward": lambda g, y: np.where(y > 0, g, 0.0),
}


def _inputs(name, n, rng):
    x = rng.standard_normal(n) * 4
    x[::13] *= 5  # tails
    if name.startswith(("tanh", "sigmoid", "relu")):  # these take the forward's output
        x = {"t": np.tanh, "s": _sig, "r": lambda v: np.maximum(v, 0.0)}[name[0]](x)
    return rng.standard_normal(n), x


@pytest.mark.parametrize("name", sorted(REF))
@pytest.mark.parametrize("n", [1, 7, 97, 1023, 1025])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_backward_matches_float64(name, n, dtype):
    rng = np.random.default_rng(n)
    g, x = _inputs(name, n, rng)
    g32, x32 = g.astype(dtype), x.astype(dtype)
    out = _binary(name, pyml.from_numpy(g32), pyml.from_numpy(x32)).numpy()
    ref = REF[name](g32.astype(np.float64), x32.astype(np.float64))
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(out, ref, rtol=tol, atol=tol * np.abs(ref).max())


@pytest.mark.parametrize("name", sorted(REF))
def test_fused_backward_strided_and_broadcast(name):
    rng = np.random.default_rng(1)
    g, x = _inputs(name, 2 * 37 * 5, rng)
    g, x = g.reshape(37, 10).astype(np.float32), x.reshape(37, 10).astype(np.float32)
    gt, xt = pyml.from_numpy(g).t(), pyml.from_numpy(x)[:, ::2]  # transposed, strided
    out = _binary(name, gt[:5, :], xt.t()).numpy()
    ref = REF[name](g.T[:5, :].astype(np.float64), x[:, ::2].T.astype(np.float64))
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    scalar_g = _binary(name, pyml.tensor(0.5), pyml.from_numpy(x)).numpy()
    np.testing.assert_allclose(scalar_g, REF[name](0.5, x.astype(np.float64)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fn", ["gelu", "gelu_tanh", "silu", "tanh", "sigmoid", "relu"])
def test_autograd_uses_fused_and_matches_composite(fn):
    rng = np.random.default_rng(2)
    x = pyml.tensor(rng.standard_normal((33, 31)) * 3, requires_grad=True)
    f = (lambda t: pyml.gelu(t, approximate="tanh")) if fn == "gelu_tanh" else getattr(pyml, fn)
    g = pyml.tensor(rng.standard_normal((33, 31)))
    (fused,) = pyml.autograd.grad(f(x), x, g)
    (composite,) = pyml.autograd.grad(f(x), x, g, create_graph=True)  # records the composite formula
    np.testing.assert_allclose(fused.numpy(), composite.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_relu_backward_zero_where_output_is_not_positive_like_torch():
    import torch
    x = np.array([-1.0, 0.0, 2.0, -3.0, 0.5], dtype=np.float32)
    g = np.array([np.inf, np.nan, 1.5, -np.inf, np.nan], dtype=np.float32)
    xp, xt = pyml.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    pyml.relu(xp).backward(pyml.tensor(g))
    torch.relu(xt).backward(torch.tensor(g))
    np.testing.assert_array_equal(xp.grad.numpy(), xt.grad.numpy())  # [0, 0, 1.5, 0, nan]


def test_fused_backward_rejects_bad_shapes():
    with pytest.raises(ValueError, match="gelu_backward"):
        _binary("gelu_backward", pyml.ones(3), pyml.ones(4))


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("n", [1, 7, 97, 1023, 1025])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_backward_kernel_matches_float64(log, n, dtype):
    rng = np.random.default_rng(n)
    x = rng.standard_normal((5, n)) * 4
    y = x - x.max(-1, keepdims=True)
    y = y - np.log(np.exp(y).sum(-1, keepdims=True)) if log else np.exp(y) / np.exp(y).sum(-1, keepdims=True)
    g = rng.standard_normal((5, n))
    y, g = y.astype(dtype), g.astype(dtype)
    out = pyml._C.softmax_backward(pyml.from_numpy(g)._impl, pyml.from_numpy(y)._impl, -1, log)
    y64, g64 = y.astype(np.float64), g.astype(np.float64)
    ref = g64 - np.exp(y64) * g64.sum(-1, keepdims=True) if log else y64 * (g64 - (g64 * y64).sum(-1, keepdims=True))
    tol = 2e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(wrap(out).numpy(), ref, rtol=tol, atol=tol * np.abs(ref).max())


def test_softmax_backward_kernel_rejects_bad_args():
    a, b = pyml.ones(3, 4)._impl, pyml.ones(3, 5)._impl
    with pytest.raises(ValueError, match="softmax_backward"):
        pyml._C.softmax_backward(a, b, -1, False)
    with pytest.raises(ValueError, match="last dim"):
        pyml._C.softmax_backward(a, a, 0, False)
    with pytest.raises(TypeError, match="float32 or float64"):
        pyml._C.softmax_backward(pyml.ones(3, 4, dtype=pyml.int64)._impl, pyml.ones(3, 4, dtype=pyml.int64)._impl, -1, True)
