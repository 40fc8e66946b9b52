"""pyml.utils.checkpoint: gradients with checkpointing equal those without (dropout included, exactly, with
preserve_rng_state), both variants (reentrant and not), checkpoint_sequential, non-tensor args and kwargs,
several and non-differentiable outputs, inputs that need no grad, tensors the function closes over, that
the function really runs again in backward, and that the forward keeps nothing of its inside."""
import gc
import warnings
import weakref

import numpy as np
import pytest

import pyml
import pyml.nn as nn
from pyml.utils.checkpoint import checkpoint, checkpoint_sequential, CheckpointError

VARIANTS = [True, False]


def f64(*shape, rg=False, seed=0):
    pyml.manual_seed(seed)
    return pyml.randn(*shape, dtype=pyml.float64).requires_grad_(rg)


def mlp(seed=0, p=0.3):
    pyml.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Dropout(p), nn.Linear(16, 16), nn.ReLU(),
                         nn.Dropout(p), nn.Linear(16, 3)).double()


def grads(params):
    return [p.grad.numpy().copy() for p in params]


def run(model, x, wrap, seed=7):
    """Loss and gradients (parameters, x) of model(x) (through wrap) with a fixed dropout seed."""
    model.zero_grad()
    x.grad = None
    pyml.manual_seed(seed)
    y = wrap(model, x)
    loss = (y * y).sum()
    loss.backward()
    return loss.item(), grads(model.parameters()), x.grad.numpy().copy()


def plain(model, x):
    return model(x)


def assert_same(a, b):
    assert a[0] == b[0]
    for ga, gb in zip(a[1], b[1]):
        np.testing.assert_array_equal(ga, gb)
    np.testing.assert_array_equal(a[2], b[2])


@pytest.mark.parametrize("reentrant", VARIANTS)
def test_mlp_with_dropout_matches_exactly(reentrant):
    model, x = mlp(), f64(9, 5, rg=True)
    want = run(model, x, plain)
    got = run(model, x, lambda m, v: checkpoint(m, v, use_reentrant=reentrant))
    assert_same(got, want)
    assert np.abs(want[2]).sum() > 0


@pytest.mark.parametrize("reentrant", VARIANTS)
def test_without_preserve_rng_state_the_masks_differ(reentrant):
    model, x = mlp(p=0.5), f64(9, 5, rg=True)
    want = run(model, x, plain)
    got = run(model, x, lambda m, v: checkpoint(m, v, use_reentrant=reentrant, preserve_rng_state=False))
    assert got[0] == want[0]  # same forward
    assert not np.array_equal(got[2], want[2])  # recomputed with other dropout masks


@pytest.mark.parametrize("reentrant", VARIANTS)
def test_rng_stream_after_backward_is_unchanged(reentrant):
    """The recomputation draws from a forked state: what comes after the backward is what comes without
    checkpointing."""
    model, x = mlp(), f64(4, 5, rg=True)
    run(model, x, plain)
    want = pyml.rand(3)
    run(model, x, lambda m, v: checkpoint(m, v, use_reentrant=reentrant))
    np.testing.assert_array_equal(pyml.rand(3).numpy(), want.numpy())


@pytest.mark.parametrize("reentrant", VARIANTS)
@pytest.mark.parametrize("segments", [1, 2, 3, 7])
def test_checkpoint_sequential_matches(reentrant, segments):
    model, x = mlp(), f64(6, 5, rg=True)
    want = run(model, x, plain)
    got = run(model, x, lambda m, v: checkpoint_sequential(m, segments, v, use_reentrant=reentrant))
    assert_same(got, want)


def test_checkpoint_sequential_on_a_list_and_bad_segments():
    model, x = mlp(p=0.0), f64(6, 5, rg=True)
    want = run(model, x, plain)
    got = run(model, x, lambda m, v: checkpoint_sequential(list(m), 2, v, use_reentrant=False))
    assert_same(got, want)
    for bad in (0, 8, 1.5, True):
        with pytest.raises(ValueError, match="segments"):
            checkpoint_sequential(model, bad, x, use_reentrant=False)
    with pytest.raises(ValueError, match="unexpected keyword"):
        checkpoint_sequential(model, 2, x, use_reentrant=False, bogus=1)


def scaled(x, w, scale, mode, bias=None):
    y = (x @ w).tanh() * scale
    if mode == "square":
        y = y * y
    return y if bias is None else y + bias


def test_non_tensor_args_and_kwargs_non_reentrant():
    x, w, b = f64(4, 3, rg=True, seed=1), f64(3, 2, rg=True, seed=2), f64(2, rg=True, seed=3)
    ref = scaled(x, w, 1.5, "square", bias=b).sum()
    want = pyml.autograd.grad(ref, [x, w, b])
    out = checkpoint(scaled, x, w, 1.5, "square", use_reentrant=False, bias=b).sum()
    got = pyml.autograd.grad(out, [x, w, b])
    assert out.item() == ref.item()
    for g, r in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), r.numpy())


def test_non_tensor_args_reentrant_and_its_kwargs_error():
    x, w = f64(4, 3, rg=True, seed=1), f64(3, 2, rg=True, seed=2)
    want = pyml.autograd.grad(scaled(x, w, 0.5, "square").sum(), [x, w])
    got = pyml.autograd.grad(checkpoint(scaled, x, w, 0.5, "square", use_reentrant=True).sum(), [x, w])
    for g, r in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), r.numpy())
    with pytest.raises(ValueError, match="use_reentrant=False"):
        checkpoint(scaled, x, w, 0.5, "square", use_reentrant=True, bias=None)


def two_outputs(x, w):
    h = x @ w
    return h.sin(), h.argmax(-1), (h * 2).detach()


@pytest.mark.parametrize("reentrant", VARIANTS)
def test_multiple_outputs_some_without_grad(reentrant):
    x, w = f64(5, 4, rg=True, seed=4), f64(4, 3, rg=True, seed=5)
    a, idx, d = two_outputs(x, w)
    want = pyml.autograd.grad((a * a).sum(), [x, w])
    ca, cidx, cd = checkpoint(two_outputs, x, w, use_reentrant=reentrant)
    np.testing.assert_array_equal(cidx.numpy(), idx.numpy())
    assert cidx.grad_fn is None and cidx.dtype == pyml.int64
    np.testing.assert_array_equal(cd.detach().numpy(), d.numpy())
    got = pyml.autograd.grad((ca * ca).sum(), [x, w])
    for g, r in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), r.numpy())


def test_nested_outputs_non_reentrant():
    x = f64(3, 3, rg=True, seed=6)

    def fn(v):
        return {"a": v.exp(), "pair": [v.sin(), (v.cos(), 3)]}
    out = checkpoint(fn, x, use_reentrant=False)
    assert isinstance(out, dict) and isinstance(out["pair"], list) and out["pair"][1][1] == 3
    loss = out["a"].sum() + out["pair"][0].sum() + out["pair"][1][0].sum()
    loss.backward()
    want = x.detach().exp() + x.detach().cos() - x.detach().sin()
    np.testing.assert_allclose(x.grad.numpy(), want.numpy(), rtol=1e-14)


def test_inputs_without_grad_still_reach_parameters_non_reentrant():
    model, x = mlp(), f64(8, 5)
    model.zero_grad()
    pyml.manual_seed(3)
    model(x).pow(2).sum().backward()
    want = grads(model.parameters())
    model.zero_grad()
    pyml.manual_seed(3)
    y = checkpoint(model, x, use_reentrant=False)
    assert y.requires_grad
    y.pow(2).sum().backward()
    for g, r in zip(grads(model.parameters()), want):
        np.testing.assert_array_equal(g, r)


def test_inputs_without_grad_reentrant_warns_like_torch():
    model, x = mlp(), f64(8, 5)
    with pytest.warns(UserWarning, match="requires_grad"):
        y = checkpoint(model, x, use_reentrant=True)
    assert not y.requires_grad


def test_mixed_grad_and_no_grad_inputs():
    x, w = f64(4, 3, seed=8), f64(3, 2, rg=True, seed=9)
    want = pyml.autograd.grad(scaled(x, w, 2.0, "").sum(), [w])[0]
    for reentrant in VARIANTS:
        y = checkpoint(scaled, x, w, 2.0, "", use_reentrant=reentrant)
        np.testing.assert_array_equal(pyml.autograd.grad(y.sum(), [w])[0].numpy(), want.numpy())
        assert x.grad is None


def test_closed_over_tensors_get_their_gradients():
    """The function uses a non-leaf z = 3w made outside it, and w itself: both routes reach w once."""
    x, w = f64(4, 2, rg=True, seed=10), f64(2, rg=True, seed=11)
    z = w * 3

    def fn(v):
        return (v * z).sin() + v * w
    want = pyml.autograd.grad(fn(x).sum(), [x, w], retain_graph=True)
    got = pyml.autograd.grad(checkpoint(fn, x, use_reentrant=False).sum(), [x, w])
    for g, r in zip(got, want):
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-14, atol=0)


@pytest.mark.parametrize("reentrant", VARIANTS)
def test_the_function_runs_again_in_backward(reentrant):
    calls = []

    def fn(v):
        calls.append(pyml.is_grad_enabled())
        return v.exp().sum()
    x = f64(3, rg=True)
    y = checkpoint(fn, x, use_reentrant=reentrant)
    assert len(calls) == 1
    y.backward()
    assert len(calls) == 2 and calls[1] is True  # recomputed, recording a graph
    np.testing.assert_allclose(x.grad.numpy(), x.detach().exp().numpy(), rtol=1e-15)


@pytest.mark.parametrize("reentrant", VARIANTS)
def test_forward_keeps_no_graph(reentrant):
    inside = []
    w = f64(4, 4, rg=True, seed=12)

    def fn(v):
        h = (v @ w).tanh()
        inside.append(weakref.ref(h))
        return (h * h).sum(-1)
    x = f64(2, 4, rg=True, seed=13)
    y = checkpoint(fn, x, use_reentrant=reentrant)
    assert inside[0]() is None  # the intermediate activation died with the forward
    assert y.grad_fn.name in ("CheckpointFunctionBackward", "CheckpointBackward")
    nxt = [e[0] for e in y.grad_fn.next_functions if e is not None]
    assert nxt and all(type(n).__name__ == "AccumulateGrad" for n in nxt)  # straight to the leaves
    y.sum().backward()
    gc.collect()
    assert w.grad is not None and x.grad is not None


@pytest.mark.parametrize("inner", VARIANTS)
@pytest.mark.parametrize("outer", VARIANTS)
def test_nested_checkpoints_with_inplace_relu(outer, inner):
    pyml.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(inplace=True), nn.Linear(8, 8), nn.ReLU(inplace=True),
                          nn.Linear(8, 1)).double()
    x = f64(6, 4, rg=True, seed=14)

    def wrapped(m, v):
        def outer_fn(t):
            h = checkpoint(m[2:4], m[1](m[0](t)), use_reentrant=inner)
            return m[4](h)
        return checkpoint(outer_fn, v, use_reentrant=outer)
    assert_same(run(model, x, wrapped), run(model, x, plain))


def test_backward_twice_needs_retain_graph():
    calls = []

    def fn(v):
        calls.append(1)
        return (v * v).sum()
    x = f64(3, rg=True)
    y = checkpoint(fn, x, use_reentrant=False)
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.detach().numpy(), rtol=1e-15)
    assert len(calls) == 3
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_create_graph_through_a_checkpoint():
    x = f64(3, rg=True)
    y = checkpoint(lambda v: (v ** 3).sum(), x, use_reentrant=False)
    g, = pyml.autograd.grad(y, x, create_graph=True)
    gg, = pyml.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 6 * x.detach().numpy(), rtol=1e-14)


def test_no_grad_mode_just_runs():
    x = f64(3, rg=True)
    for reentrant in VARIANTS:
        with pyml.no_grad():
            y = checkpoint(lambda v: v * 2, x, use_reentrant=reentrant)
        assert y.grad_fn is None and not y.requires_grad


def test_use_reentrant_not_given_warns():
    x = f64(3, rg=True)
    with pytest.warns(UserWarning, match="use_reentrant"):
        y = checkpoint(lambda v: v * 2, x)
    assert y.grad_fn.name == "CheckpointFunctionBackward"
    with pytest.warns(UserWarning, match="use_reentrant"):
        checkpoint_sequential([nn.Identity(), nn.Tanh()], 2, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checkpoint(lambda v: v * 2, x, use_reentrant=False)


def test_nondeterministic_recomputation_is_caught():
    state = {"n": 3}

    def fn(v):
        state["n"] += 1
        return v[:state["n"]] * 2
    x = f64(6, rg=True)
    y = checkpoint(fn, x, use_reentrant=False)
    with pytest.raises(CheckpointError, match="recomputed output"):
        y.sum().backward()
    y = checkpoint(lambda v: v * 2, x, use_reentrant=False, determinism_check="none")  # the check is optional
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(6, 2.0))


def test_input_modified_after_forward_raises():
    x = f64(3, rg=True)
    v = x * 1
    y = checkpoint(lambda t: t.exp(), v, use_reentrant=False)
    v.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_context_fn_runs_around_both_passes():
    seen = []

    class Ctx:
        def __init__(self, name):
            self.name = name

        def __enter__(self):
            seen.append(self.name)

        def __exit__(self, *exc):
            return False
    x = f64(3, rg=True)
    y = checkpoint(lambda v: v.sin(), x, use_reentrant=False, context_fn=lambda: (Ctx("fwd"), Ctx("recompute")))
    y.sum().backward()
    assert seen == ["fwd", "recompute"]
    with pytest.raises(ValueError, match="context_fn"):
        checkpoint(lambda v: v, x, use_reentrant=True, context_fn=lambda: (Ctx("a"), Ctx("b")))


@pytest.mark.parametrize("reentrant", VARIANTS)
def test_recomputes_under_the_forwards_autocast(reentrant):
    """The backward engine runs with autocast off: the recomputation must re-enter it (same bf16 outputs)."""
    pyml.manual_seed(0)
    lin, x = nn.Linear(4, 3), pyml.randn(5, 4, requires_grad=True)
    got = []
    for wrap in (plain, lambda m, v: checkpoint(m, v, use_reentrant=reentrant)):
        lin.zero_grad()
        x.grad = None
        with pyml.autocast("cpu"):
            y = wrap(lin, x)
        assert y.dtype == pyml.bfloat16
        y.float().sum().backward()
        got.append((lin.weight.grad.numpy().copy(), x.grad.numpy().copy()))
    for a, b in zip(*got):
        np.testing.assert_array_equal(a, b)


def test_bad_arguments():
    x = f64(3, rg=True)
    with pytest.raises(TypeError, match="callable"):
        checkpoint(3, x, use_reentrant=False)
    with pytest.raises(ValueError, match="determinism_check"):
        checkpoint(lambda v: v, x, use_reentrant=False, determinism_check="strict")


def test_reached_through_pyml_utils():
    assert pyml.utils.checkpoint.checkpoint is checkpoint
