"""pyml.autocast and GradScaler against torch.autocast("cpu") / torch.amp.GradScaler("cpu"): which dtype
each op runs in, the values (bfloat16 tolerance), gradients of a mixed-precision training step, nesting,
the parameter cast cache, autocast being off during backward, and the loss-scale schedule with
injected infs."""
import numpy as np
import pytest
import torch

import pyml
import pyml.nn.functional as F

TF = torch.nn.functional


def _pair(a):
    return pyml.tensor(a), torch.tensor(a)


OPS = {  # name -> fn(lib, functional, x (6, 8), w (5, 8))
    "linear": lambda L, Fn, x, w: Fn.linear(x, w),
    "matmul": lambda L, Fn, x, w: x @ w.t(),
    "mm": lambda L, Fn, x, w: L.mm(x, w.t()),
    "bmm": lambda L, Fn, x, w: L.bmm(x[None], w.t()[None]),
    "addmm": lambda L, Fn, x, w: L.addmm(w[0, :5], x, w.t()),
    "conv2d": lambda L, Fn, x, w: Fn.conv2d(x[None, None], w[None, None, :3, :3]),
    "sdpa": lambda L, Fn, x, w: Fn.scaled_dot_product_attention(x[None], x[None], x[None]),
    "mv (not cast on cpu)": lambda L, Fn, x, w: L.mv(x, w[0]),
    "exp (not cast on cpu)": lambda L, Fn, x, w: x.exp(),
    "softmax (not cast on cpu)": lambda L, Fn, x, w: Fn.softmax(x, -1),
    "mse_loss": lambda L, Fn, x, w: Fn.mse_loss(x, x * 0.5),
    "cross_entropy": lambda L, Fn, x, w: Fn.cross_entropy(x, L.tensor([0, 1, 2, 3, 4, 5])),
    "l1_loss": lambda L, Fn, x, w: Fn.l1_loss(x, x * 0.5),
    "prod": lambda L, Fn, x, w: (x * 0.1 + 1).prod(),
    "cdist": lambda L, Fn, x, w: L.cdist(x, w),
    "cat (promote)": lambda L, Fn, x, w: L.cat([x, w.to(L.bfloat16)]),
    "stack (promote)": lambda L, Fn, x, w: L.stack([x[:5], w.to(L.bfloat16)]),
    "atan2 (promote)": lambda L, Fn, x, w: L.atan2(x[:5].to(L.bfloat16), w),
}


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("in_dtype", ["float32", "bfloat16"])
def test_op_dtypes_and_values_match_torch_cpu_autocast(name, in_dtype):
    g = np.random.default_rng(0)
    x, w = g.standard_normal((6, 8)).astype(np.float32), g.standard_normal((5, 8)).astype(np.float32)
    (xp, xt), (wp, wt) = _pair(x), _pair(w)
    if in_dtype == "bfloat16":
        xp, xt, wp, wt = xp.to(pyml.bfloat16), xt.to(torch.bfloat16), wp.to(pyml.bfloat16), wt.to(torch.bfloat16)
    with pyml.autocast("cpu"):
        yp = OPS[name](pyml, F, xp, wp)
    with torch.autocast("cpu"):
        yt = OPS[name](torch, TF, xt, wt)
    assert str(yp.dtype).split(".")[-1] == str(yt.dtype).split(".")[-1]
    np.testing.assert_allclose(yp.float().numpy(), yt.float().numpy(), rtol=2e-2, atol=2e-2)


def test_float64_and_other_devices_are_not_cast():
    x = pyml.randn(3, 3, dtype=pyml.float64)
    with pyml.autocast("cpu"):
        assert (x @ x).dtype is pyml.float64
    y = pyml.randn(3, 3)
    with pyml.autocast("cuda"):  # CPU tensors: a CUDA region does not touch them
        assert (y @ y).dtype is pyml.float32 and pyml.is_autocast_enabled("cuda")
        assert not pyml.is_autocast_enabled("cpu")


def test_nesting_decorator_and_exceptions_restore_state():
    y = pyml.randn(3, 3)
    with pyml.autocast("cpu"):
        with pyml.autocast("cpu", enabled=False):
            assert (y @ y).dtype is pyml.float32
        assert (y @ y).dtype is pyml.bfloat16
        with pytest.raises(ZeroDivisionError):
            with pyml.autocast("cpu", enabled=False):
                1 / 0
        assert pyml.is_autocast_enabled("cpu")
    assert not pyml.is_autocast_enabled("cpu")

    @pyml.autocast("cpu")
    def f(a):
        return a @ a
    assert f(y).dtype is pyml.bfloat16 and (y @ y).dtype is pyml.float32
    with pytest.raises(ValueError, match="autocast: dtype must be float16 or bfloat16"):
        pyml.autocast("cpu", dtype=pyml.float32)
    with pytest.raises(RuntimeError, match="device_type must be 'cuda' or 'cpu'"):
        pyml.autocast("tpu")


def _mlp_grads(L, Fn, x, w1, w2, y):
    params = [L.tensor(w1, requires_grad=True), L.tensor(w2, requires_grad=True)]
    with L.autocast("cpu"):
        h = Fn.relu(Fn.linear(L.tensor(x), params[0]))
        loss = Fn.cross_entropy(Fn.linear(h, params[1]), L.tensor(y))
    loss.backward()
    return loss, [p.grad for p in params]


def test_training_step_gradients_match_torch():
    g = np.random.default_rng(1)
    x, y = g.standard_normal((16, 12)).astype(np.float32), g.integers(0, 4, 16)
    w1, w2 = (g.standard_normal((20, 12)) * 0.3).astype(np.float32), (g.standard_normal((4, 20)) * 0.3).astype(np.float32)
    lp, gp = _mlp_grads(pyml, F, x, w1, w2, y)
    lt, gt = _mlp_grads(torch, TF, x, w1, w2, y)
    assert lp.dtype is pyml.float32 and all(a.dtype is pyml.float32 for a in gp)
    np.testing.assert_allclose(lp.item(), lt.item(), rtol=1e-2)
    for a, b in zip(gp, gt):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=5e-2, atol=2e-2 * np.abs(b.numpy()).max())


def test_parameter_cast_is_reused_until_it_changes_and_autocast_is_off_in_backward():
    w = pyml.randn(4, 4, requires_grad=True)
    x = pyml.randn(2, 4)
    seen = []
    with pyml.autocast("cpu"):
        a, b = F.linear(x, w), F.linear(x, w)
        assert a.grad_fn.next_functions[1][0] is b.grad_fn.next_functions[1][0]  # the same cast node
        with pyml.no_grad():
            w.mul_(2)  # a new version: the next use casts again
        c = F.linear(x, w)
        assert c.grad_fn.next_functions[1][0] is not a.grad_fn.next_functions[1][0]
        np.testing.assert_allclose(c.detach().float().numpy(), 2 * a.detach().float().numpy(), rtol=2e-2, atol=1e-2)
        h = a.float()
        h.register_hook(lambda g: seen.append(pyml.is_autocast_enabled("cpu")))
        h.sum().backward()
    assert seen == [False] and w.grad.dtype is pyml.float32


def _scaler_run(L, scaler, infs):
    p = L.tensor([1.0, -2.0, 3.0], requires_grad=True)
    opt = L.optim.SGD([p], lr=0.1)
    scales = []
    for step, bad in enumerate(infs):
        opt.zero_grad()
        loss = (p * p).sum() * (float("inf") if bad else 1.0)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
    return scales, p.detach().numpy()


def test_grad_scaler_schedule_and_updates_match_torch():
    infs = [False, True, False, False, False, True, True, False, False, False, False]
    kw = dict(init_scale=1024.0, growth_factor=4.0, backoff_factor=0.25, growth_interval=3)
    sp, pp = _scaler_run(pyml, pyml.amp.GradScaler("cpu", **kw), infs)
    st, pt = _scaler_run(torch, torch.amp.GradScaler("cpu", **kw), infs)
    assert sp == st
    np.testing.assert_allclose(pp, pt, rtol=1e-6)


def test_grad_scaler_unscale_errors_state_dict_and_disabled():
    p = pyml.tensor([1.0, 2.0], requires_grad=True)
    opt = pyml.optim.SGD([p], lr=0.1)
    s = pyml.amp.GradScaler("cpu", init_scale=8.0)
    s.scale((p * p).sum()).backward()
    np.testing.assert_allclose(p.grad.numpy(), [16.0, 32.0])
    s.unscale_(opt)
    np.testing.assert_allclose(p.grad.numpy(), [2.0, 4.0])  # step() then uses these, unscaled once
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
        s.unscale_(opt)
    s.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        s.step(opt)
    s.update()
    s2 = pyml.amp.GradScaler("cpu")
    s2.load_state_dict(s.state_dict())
    assert s2.get_scale() == s.get_scale() == 8.0 and s2.state_dict() == s.state_dict()
    off = pyml.amp.GradScaler("cpu", enabled=False)
    loss = (p * p).sum()
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
    with pytest.raises(ValueError, match="backoff_factor"):
        pyml.amp.GradScaler("cpu", backoff_factor=1.5)
    with pytest.raises(RuntimeError, match="No inf checks"):
        pyml.amp.GradScaler("cpu").update()
