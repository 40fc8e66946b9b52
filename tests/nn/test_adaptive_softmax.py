"""nn.AdaptiveLogSoftmaxWithLoss against torch: forward (output, loss), gradients, log_prob, predict, errors."""
import numpy as np
import pytest
import torch

import pyml


def _pair(in_features=13, n_classes=23, cutoffs=(5, 11, 17), div_value=2.0, head_bias=True):
    tm = torch.nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, list(cutoffs), div_value, head_bias).double()
    pm = pyml.nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, list(cutoffs), div_value, head_bias,
                                            dtype=pyml.float64)
    pm.load_state_dict({k: pyml.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    return tm, pm


@pytest.mark.parametrize("cfg", [{}, {"cutoffs": (3,), "head_bias": False}, {"in_features": 16, "n_classes": 31},
                                 {"in_features": 16, "cutoffs": (1, 2, 5), "n_classes": 9}])
@pytest.mark.parametrize("batch", [1, 9])
def test_forward_and_gradients_match_torch(cfg, batch):
    tm, pm = _pair(**cfg)
    assert list(pm.state_dict()) == list(tm.state_dict())
    rng = np.random.default_rng(batch)
    x = rng.standard_normal((batch, tm.in_features))
    t = rng.integers(0, tm.n_classes, batch)
    xt, xp = torch.tensor(x, requires_grad=True), pyml.tensor(x, requires_grad=True)
    ot, lt = tm(xt, torch.tensor(t))
    op, lp = pm(xp, pyml.tensor(t))
    lt.backward()
    lp.backward()
    np.testing.assert_allclose(op.detach().numpy(), ot.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lp.item(), lt.item(), rtol=1e-12)
    np.testing.assert_allclose(xp.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (n, p), (_, q) in zip(tm.named_parameters(), pm.named_parameters()):
        assert (q.grad is None) == (p.grad is None), n  # an unused cluster gets no gradient in both
        if p.grad is not None:
            np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=n)


def test_unbatched_input_and_named_output():
    tm, pm = _pair()
    x = np.random.default_rng(0).standard_normal(13)
    out_t = tm(torch.tensor(x), torch.tensor(19))
    out_p = pm(pyml.tensor(x), pyml.tensor(19))
    assert type(out_p).__name__ == "_ASMoutput" and out_p._fields == ("output", "loss")
    assert tuple(out_p.output.shape) == tuple(out_t.output.shape) == ()
    np.testing.assert_allclose(out_p.loss.item(), out_t.loss.item(), rtol=1e-12)


def test_log_prob_and_predict_match_torch():
    tm, pm = _pair()
    with torch.no_grad():  # push some rows' argmax into the clusters so predict takes every branch
        tm.head.bias[5:] += torch.tensor([3.0, 0.0, 0.0], dtype=torch.float64)
    pm.head.bias.data = pyml.tensor(tm.head.bias.detach().numpy())
    x = np.random.default_rng(3).standard_normal((31, 13)) * 3
    lt, lp = tm.log_prob(torch.tensor(x)), pm.log_prob(pyml.tensor(x))
    np.testing.assert_allclose(lp.detach().numpy(), lt.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.exp(lp.detach().numpy()).sum(1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(pm.predict(pyml.tensor(x)).numpy(), tm.predict(torch.tensor(x)).numpy())
    for rows in (slice(0, 1), slice(None)):
        np.testing.assert_array_equal(pm.predict(pyml.tensor(x[rows])).numpy(),
                                      tm.predict(torch.tensor(x[rows])).numpy())


@pytest.mark.parametrize("cutoffs", [[], [5, 3], [0, 4], [4, 23], [4, 4], [2.5]])
def test_bad_cutoffs_raise_value_error(cutoffs):
    with pytest.raises(ValueError):
        torch.nn.AdaptiveLogSoftmaxWithLoss(8, 23, cutoffs)
    with pytest.raises(ValueError, match=r"AdaptiveLogSoftmaxWithLoss: cutoffs should be"):
        pyml.nn.AdaptiveLogSoftmaxWithLoss(8, 23, cutoffs)


@pytest.mark.parametrize("x_shape,t,match", [
    ((4, 13), [1, 2, 3], r"same size in the batch dimension, got input \(4, 13\), target \(3,\)"),
    ((3, 13), [1, 2, 23], r"target values should be in \[0, 22\], but values in range \[1, 23\]"),
    ((2, 3, 13), [1, 2], r"1D target tensor expects 2D input tensors, got input \(2, 3, 13\)"),
    ((3, 13), [[1], [2], [3]], r"multi-target not supported, got target \(3, 1\)"),
])
def test_bad_inputs_raise_runtime_error_like_torch(x_shape, t, match):
    tm, pm = _pair()
    with pytest.raises(RuntimeError):
        tm(torch.randn(*x_shape, dtype=torch.float64), torch.tensor(t))
    with pytest.raises(RuntimeError, match=match):
        pm(pyml.randn(*x_shape, dtype=pyml.float64), pyml.tensor(t))
