"""cross_entropy's gradient written by the forward pass (a reduced loss whose input alone needs a grad, on
the CPU): equal to the backward kernel's (up to float rounding) for every option, scaled by a non-unit dloss, handed over once
(a retained graph's second backward recomputes), NaN/inf logits, and independent of the thread count."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pyml
import pyml.nn.functional as F
from pyml import _C
from pyml._tensor import wrap

OPTS = {"": {}, "weight": {"weight": True}, "ignore": {"ignore_index": 1}, "smooth": {"label_smoothing": 0.1},
        "all": {"weight": True, "ignore_index": 2, "label_smoothing": 0.2}}


def _case(shape, dtype, seed, prob=False):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    C = shape[1] if len(shape) > 1 else shape[0]
    tshape = (shape[0],) + tuple(shape[2:]) if len(shape) > 1 else ()
    if prob:
        t = rng.random(shape).astype(dtype)
        t /= t.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)
    else:
        t = rng.integers(0, C, tshape)
    return x, t, (rng.random(C) + 0.5).astype(dtype)


@pytest.mark.parametrize("opt", sorted(OPTS))
@pytest.mark.parametrize("reduction", [1, 2])
@pytest.mark.parametrize("shape", [(7, 1), (5, 97), (3, 1025), (4, 7, 3), (6,)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_forward_grad_equals_backward_kernel(opt, reduction, shape, dtype):
    x, t, w = _case(shape, dtype, len(opt) + reduction + shape[0])
    kw = OPTS[opt]
    wt = pyml.from_numpy(w)._impl if kw.get("weight") else None
    ii, ls = kw.get("ignore_index", -100), kw.get("label_smoothing", 0.0)
    xi, ti = pyml.from_numpy(x)._impl, pyml.from_numpy(t)._impl
    loss, lse, denom, dx = _C.cross_entropy_forward_grad(xi, ti, wt, reduction, ii, ls)
    ref_loss, _, _ = _C.cross_entropy_forward(xi, ti, wt, reduction, ii, ls)
    one = pyml.ones((), dtype=getattr(pyml, dtype))._impl
    ref_dx, _ = _C.cross_entropy_backward(one, xi, ti, wt, lse, denom, reduction, ii, ls, [True, False])
    np.testing.assert_array_equal(wrap(loss).numpy(), wrap(ref_loss).numpy())  # NaN when every row is ignored
    # float32 class indices without weights/smoothing take the one-exp-pass kernel (k * e / sum instead of
    # k * exp(x - lse) with lse rounded to float): equal up to float rounding; the other paths exactly
    rtol = 2e-6 if dtype == "float32" else 1e-14
    np.testing.assert_allclose(wrap(dx).numpy(), wrap(ref_dx).numpy(), rtol=rtol, atol=rtol * 1e-3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_probability_targets_forward_grad(dtype):
    x, t, _ = _case((5, 33), dtype, 3, prob=True)
    xi, ti = pyml.from_numpy(x)._impl, pyml.from_numpy(t)._impl
    _, lse, denom, dx = _C.cross_entropy_forward_grad(xi, ti, None, 1, -100, 0.05)
    one = pyml.ones((), dtype=getattr(pyml, dtype))._impl
    ref, _ = _C.cross_entropy_backward(one, xi, ti, None, lse, denom, 1, -100, 0.05, [True, False])
    np.testing.assert_array_equal(wrap(dx).numpy(), wrap(ref).numpy())


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_autograd_matches_torch_with_scaled_dloss(reduction):
    x, t, _ = _case((64, 1000), "float32", 5)
    xp = pyml.from_numpy(x.copy()).requires_grad_()
    xt = torch.from_numpy(x.copy()).requires_grad_()
    (F.cross_entropy(xp, pyml.from_numpy(t), reduction=reduction) * 3.0).backward()
    (TF.cross_entropy(xt, torch.from_numpy(t), reduction=reduction) * 3.0).backward()
    np.testing.assert_allclose(xp.grad.numpy(), xt.grad.numpy(), rtol=2e-5, atol=1e-7)


def test_retained_graph_second_backward_recomputes():
    x, t, _ = _case((9, 13), "float32", 6)
    xp = pyml.from_numpy(x.copy()).requires_grad_()
    loss = F.cross_entropy(xp, pyml.from_numpy(t))
    loss.backward(retain_graph=True)
    first = xp.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(xp.grad.numpy(), 2 * first, rtol=1e-6, atol=1e-9)


def test_nan_and_inf_logits():
    x = np.array([[0.0, 1.0, np.nan], [-np.inf, 0.0, 1.0], [2.0, -1.0, -np.inf]], np.float32)
    t = np.array([0, 1, 0])
    xp = pyml.from_numpy(x.copy()).requires_grad_()
    xt = torch.from_numpy(x.copy()).requires_grad_()
    lp = F.cross_entropy(xp, pyml.from_numpy(t), reduction="sum")
    lt = TF.cross_entropy(xt, torch.from_numpy(t), reduction="sum")
    lp.backward()
    lt.backward()
    assert np.isnan(lp.item()) and np.isnan(lt.item())
    np.testing.assert_allclose(xp.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-7, equal_nan=True)


def test_thread_count_independent():
    x, t, _ = _case((301, 1001), "float32", 7)
    outs = []
    n0 = pyml.get_num_threads()
    try:
        for nt in (1, 2):
            pyml.set_num_threads(nt)
            xp = pyml.from_numpy(x.copy()).requires_grad_()
            loss = F.cross_entropy(xp, pyml.from_numpy(t))
            loss.backward()
            outs.append((loss.item(), xp.grad.numpy()))
    finally:
        pyml.set_num_threads(n0)
    assert outs[0][0] == outs[1][0]
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


def test_bad_arguments():
    x, t = pyml.zeros(2, 3), pyml.tensor([0, 1])
    with pytest.raises(ValueError, match="cross_entropy_forward_grad: reduction must be 'mean'"):
        _C.cross_entropy_forward_grad(x._impl, t._impl, None, 0, -100, 0.0)
