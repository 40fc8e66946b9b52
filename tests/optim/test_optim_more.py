"""Adadelta, Rprop, ASGD and Adafactor against torch.optim: same initial parameters, same hand-set
gradients, parameters (and ASGD's averages `ax`) compared after every step; state keys and values,
state_dict resume bit for bit, argument checks."""
import copy
import zlib

import numpy as np
import pytest
import torch

import pyml
import pyml.optim as optim

CONFIGS = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.3, weight_decay=0.05, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.1, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))),
    ("Rprop", dict(lr=0.05, etas=(0.6, 1.1), step_sizes=(1e-4, 1.0), maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=5, weight_decay=0.1)),
    ("ASGD", dict(lr=0.02, lambd=0.1, alpha=0.9, t0=0, maximize=True)),
    ("Adafactor", dict()),
    ("Adafactor", dict(lr=0.05, beta2_decay=-0.5, eps=(1e-20, 1e-2), d=1.5, weight_decay=0.1)),
    ("Adafactor", dict(lr=0.5, beta2_decay=-0.3, eps=(None, 1e-4), d=3.0, maximize=True)),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)]

# odd sizes, a scalar, a 3-d tensor (Adafactor factors its last two dims), and a size-0 tensor
SHAPES = [(7, 3), (97,), (1,), (), (2, 5, 3), (1, 1), (0, 3)]


def _shapes(name):
    # Adafactor divides by sqrt(numel) (torch too): no size-0 parameters for it
    return [s for s in SHAPES if name != "Adafactor" or int(np.prod(s)) > 0]


def _make(shapes, dtype, rng):
    xs = [rng.standard_normal(s).astype(dtype) for s in shapes]
    return [pyml.tensor(x).requires_grad_() for x in xs], [torch.tensor(x, requires_grad=True) for x in xs]


def _set_grads(ps, ts, dtype, rng, step):
    for i, (p, t) in enumerate(zip(ps, ts)):
        if i == 2 and step % 3 == 1:  # no gradient this step: the parameter is skipped
            p.grad, t.grad = None, None
            continue
        g = rng.standard_normal(tuple(p.shape)).astype(dtype)
        if i == 1 and step % 4 == 2:
            g[::5] = 0.0  # exact zeros: Rprop's sign(g * prev) == 0 branch
        p.grad, t.grad = pyml.tensor(g), torch.tensor(g)


def _tol(dtype):
    return dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=2e-6, atol=2e-6)


def _state_value(v):
    return v.numpy() if isinstance(v, (pyml.Tensor, torch.Tensor)) else v


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_matches_torch(name, kw, dtype):
    rng = np.random.default_rng(zlib.crc32(f"{name}{kw}{dtype}".encode()))
    ps, ts = _make(_shapes(name), dtype, rng)
    over = {"lr": kw.get("lr", 0.01) * 0.5}
    opt = getattr(optim, name)([{"params": ps[:4]}, dict(params=ps[4:], **over)], **kw)
    topt = getattr(torch.optim, name)([{"params": ts[:4]}, dict(params=ts[4:], **over)], **kw)
    for step in range(25):
        _set_grads(ps, ts, dtype, rng, step)
        opt.step()
        topt.step()
        for p, t in zip(ps, ts):
            np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), **_tol(dtype),
                                       err_msg=f"{name} {kw} step {step}")
    for p, t in zip(ps, ts):
        st, tst = opt.state[p], topt.state[t]
        assert set(st) == set(tst), (set(st), set(tst))
        for k in st:
            np.testing.assert_allclose(_state_value(st[k]), _state_value(tst[k]), **_tol(dtype), err_msg=k)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_asgd_averages_after_t0(dtype):
    """ax copies p up to step t0 + 1 (mu is set after averaging), then is the running mean of the iterates
    from step t0 + 2 on."""
    rng = np.random.default_rng(3)
    ps, ts = _make([(11, 4), (13,)], dtype, rng)
    opt = optim.ASGD(ps, lr=0.1, lambd=0.0, alpha=0.75, t0=4)
    topt = torch.optim.ASGD(ts, lr=0.1, lambd=0.0, alpha=0.75, t0=4)
    history = []
    for step in range(12):
        _set_grads(ps, ts, dtype, rng, 0)
        opt.step()
        topt.step()
        history.append(ps[0].detach().numpy().copy())
        np.testing.assert_allclose(opt.state[ps[0]]["ax"].numpy(), topt.state[ts[0]]["ax"].numpy(), **_tol(dtype))
        assert opt.state[ps[0]]["mu"].item() == topt.state[ts[0]]["mu"].item()
        assert opt.state[ps[0]]["eta"].item() == topt.state[ts[0]]["eta"].item()
    np.testing.assert_allclose(opt.state[ps[0]]["ax"].numpy(), np.mean(history[5:], axis=0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["Adafactor"])
def test_adafactor_state_shapes(name):
    ps, ts = _make([(2, 5, 3), (6,)], "float64", np.random.default_rng(0))
    opt = optim.Adafactor(ps)
    for p in ps:
        p.grad = pyml.ones(p.shape, dtype=p.dtype)
    opt.step()
    assert tuple(opt.state[ps[0]]["row_var"].shape) == (2, 5, 1)
    assert tuple(opt.state[ps[0]]["col_var"].shape) == (2, 1, 3)
    assert tuple(opt.state[ps[1]]["variance"].shape) == (6,)
    assert opt.state[ps[0]]["step"].item() == 1.0


def _clone_sd(sd):
    out = {"state": {}, "param_groups": copy.deepcopy(sd["param_groups"])}
    for k, st in sd["state"].items():
        out["state"][k] = {n: (v.clone() if isinstance(v, pyml.Tensor) else copy.deepcopy(v)) for n, v in st.items()}
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_state_dict_resume_bit_for_bit(name, kw, dtype):
    rng = np.random.default_rng(7)
    xs = [rng.standard_normal(s).astype(dtype) for s in [(7, 3), (97,), (1,), (2, 5, 3)]]
    a = [pyml.tensor(x).requires_grad_() for x in xs]
    b = [pyml.tensor(x).requires_grad_() for x in xs]
    grads = [[rng.standard_normal(x.shape).astype(dtype) for x in xs] for _ in range(10)]
    a_opt = getattr(optim, name)(a, **kw)
    for g in grads[:5]:
        for p, gi in zip(a, g):
            p.grad = pyml.tensor(gi)
        a_opt.step()
    sd = _clone_sd(a_opt.state_dict())
    for p, q in zip(a, b):
        with pyml.no_grad():
            q.copy_(p)
    b_opt = getattr(optim, name)(b, lr=123.0)  # hyper-parameters come from the state dict
    b_opt.load_state_dict(sd)
    assert b_opt.param_groups[0]["lr"] == a_opt.param_groups[0]["lr"]
    for g in grads[5:]:
        for p, q, gi in zip(a, b, g):
            p.grad, q.grad = pyml.tensor(gi), pyml.tensor(gi)
        a_opt.step()
        b_opt.step()
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_param_groups_match_torch_keys(name, kw):
    p, t = pyml.zeros(3, requires_grad=True), torch.zeros(3, requires_grad=True)
    g = getattr(optim, name)([p], **kw).state_dict()["param_groups"][0]
    tg = getattr(torch.optim, name)([t], **kw).state_dict()["param_groups"][0]
    assert set(g) == set(tg)
    for k in tg:
        assert g[k] == tg[k], k


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_closure_and_no_graph(name, kw):
    p = pyml.tensor([1.0, -2.0, 3.0], requires_grad=True)
    opt = getattr(optim, name)([p], **kw)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    loss = opt.step(closure)
    assert loss.item() == 14.0
    assert p.grad_fn is None and p.is_leaf and p.requires_grad
    for v in opt.state[p].values():
        if isinstance(v, pyml.Tensor):
            assert v.grad_fn is None and not v.requires_grad


BAD = [
    (lambda p: optim.Adadelta(p, lr=-1.0), "Invalid learning rate"),
    (lambda p: optim.Adadelta(p, rho=1.5), "Invalid rho value"),
    (lambda p: optim.Adadelta(p, eps=-1.0), "Invalid epsilon value"),
    (lambda p: optim.Adadelta(p, weight_decay=-0.1), "Invalid weight_decay value"),
    (lambda p: optim.Rprop(p, lr=-1.0), "Invalid learning rate"),
    (lambda p: optim.Rprop(p, etas=(1.5, 1.2)), "Invalid eta values"),
    (lambda p: optim.Rprop(p, etas=(0.5, 0.9)), "Invalid eta values"),
    (lambda p: optim.ASGD(p, lr=-0.1), "Invalid learning rate"),
    (lambda p: optim.ASGD(p, weight_decay=-0.1), "Invalid weight_decay value"),
    (lambda p: optim.Adafactor(p, lr=-0.1), "Learning rate should be >= 0"),
    (lambda p: optim.Adafactor(p, beta2_decay=0.5), "beta2_decay should be <= 0"),
    (lambda p: optim.Adafactor(p, eps=(-1.0, 1e-3)), "epsilon1 should be >= 0"),
    (lambda p: optim.Adafactor(p, eps=(None, -1.0)), "epsilon2 should be >= 0"),
    (lambda p: optim.Adafactor(p, d=0.5), "Clipping threshold d should be >= 1"),
    (lambda p: optim.Adafactor(p, weight_decay=-1.0), "weight_decay should be >= 0"),
    (lambda p: optim.Adadelta(p, differentiable=True), "differentiable=True is not supported"),
]


@pytest.mark.parametrize("ctor,match", BAD, ids=[m for _, m in BAD])
def test_bad_hyperparameters(ctor, match):
    with pytest.raises(ValueError, match=match):
        ctor([pyml.zeros(2, requires_grad=True)])


def test_trains_a_module_like_torch():
    """A small MLP trained with each optimizer follows torch's loss curve."""
    for name, kw in [("Adadelta", dict(lr=1.0)), ("Rprop", dict(lr=0.01)), ("ASGD", dict(lr=0.05, t0=3)),
                     ("Adafactor", dict(lr=0.05))]:
        rng = np.random.default_rng(11)
        w1, b1 = rng.standard_normal((5, 9)) * 0.3, rng.standard_normal(9) * 0.1
        w2 = rng.standard_normal((9, 1)) * 0.3
        x, y = rng.standard_normal((17, 5)), rng.standard_normal((17, 1))
        ps = [pyml.tensor(a).requires_grad_() for a in (w1, b1, w2)]
        ts = [torch.tensor(a, requires_grad=True) for a in (w1, b1, w2)]
        opt, topt = getattr(optim, name)(ps, **kw), getattr(torch.optim, name)(ts, **kw)
        for _ in range(15):
            for lib, (W1, B1, W2), o, X, Y in ((pyml, ps, opt, pyml.tensor(x), pyml.tensor(y)),
                                               (torch, ts, topt, torch.tensor(x), torch.tensor(y))):
                o.zero_grad()
                loss = ((lib.tanh(X @ W1 + B1) @ W2 - Y) ** 2).mean()
                loss.backward()
                o.step()
        for p, t in zip(ps, ts):
            np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), rtol=1e-9, atol=1e-11, err_msg=name)
