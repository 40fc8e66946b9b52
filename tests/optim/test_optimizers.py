"""pyml.optim against torch.optim: same initial parameters, same hand-set gradients, parameters
compared after every step; state_dict resume is bit-for-bit; course variants against NumPy."""
import copy
import zlib

import numpy as np
import pytest
import torch

import pyml
import pyml.optim as optim

# (name, kwargs): every option of every optimizer at least once
CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.05, decoupled_weight_decay=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.02, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.5, eps=1e-6)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.1, momentum=0.5)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.9, maximize=True)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.7, 0.9), weight_decay=0.1, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.9), weight_decay=0.1)),  # rectified from step 6 on
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.8), weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)]

SHAPES_A = [(7, 3), (97,), (1,), ()]
SHAPES_B = [(5, 1), (0, 3), (20011,)]   # size 0, and one big enough for two threads (grain 16384)


def _make(shapes, dtype, rng):
    xs = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ps = [pyml.tensor(x).requires_grad_() for x in xs]
    ts = [torch.tensor(x, requires_grad=True) for x in xs]
    return ps, ts


def _groups(ps, ts, kw):
    """two param groups, the second with its own lr (and weight_decay where the optimizer has it)"""
    over = {"lr": kw.get("lr", 1e-3) * 0.5}
    return ([{"params": ps[:4]}, dict(params=ps[4:], **over)],
            [{"params": ts[:4]}, dict(params=ts[4:], **over)])


def _set_grads(ps, ts, dtype, rng, step):
    for i, (p, t) in enumerate(zip(ps, ts)):
        if i == 2 and step % 3 == 1:   # a parameter without gradient this step is skipped
            p.grad, t.grad = None, None
            continue
        g = rng.standard_normal(tuple(p.shape)).astype(dtype)
        p.grad = pyml.tensor(g)
        t.grad = torch.tensor(g)


def _tol(dtype):
    return dict(rtol=1e-6, atol=1e-12) if dtype == "float64" else dict(rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_matches_torch(name, kw, dtype):
    rng = np.random.default_rng(zlib.crc32(f"{name}{kw}{dtype}".encode()))
    ps, ts = _make(SHAPES_A + SHAPES_B, dtype, rng)
    pg, tg = _groups(ps, ts, kw)
    opt = getattr(optim, name)(pg, **kw)
    topt = getattr(torch.optim, name)(tg, **kw)
    for step in range(20):
        _set_grads(ps, ts, dtype, rng, step)
        opt.step()
        topt.step()
        for p, t in zip(ps, ts):
            np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), **_tol(dtype),
                                       err_msg=f"{name} {kw} step {step}")
    # the same state entries as torch, with equal values
    for p, t in zip(ps, ts):
        st, tst = opt.state[p], topt.state[t]
        assert set(st) == set(tst), (set(st), set(tst))
        for k in st:
            a = st[k].numpy() if isinstance(st[k], pyml.Tensor) else st[k]
            b = tst[k].numpy() if isinstance(tst[k], torch.Tensor) else tst[k]
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-6 * (1 + np.abs(b).max(initial=0)), err_msg=k)


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_step_leaves_no_graph(name, kw):
    p = pyml.tensor([1.0, -2.0, 3.0], requires_grad=True)
    (p * p).sum().backward()
    opt = getattr(optim, name)([p], **kw)
    v = p._version
    opt.step()
    assert p.grad_fn is None and p.requires_grad and p.is_leaf
    assert p._version > v
    for val in opt.state[p].values():
        if isinstance(val, pyml.Tensor):
            assert val.grad_fn is None and not val.requires_grad
    # a second backward through the updated leaf works (no stale graph)
    p.grad = None
    (p * 2).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), [2.0, 2.0, 2.0])


def _clone_sd(sd):
    out = {"state": {}, "param_groups": copy.deepcopy(sd["param_groups"])}
    for k, st in sd["state"].items():
        out["state"][k] = {n: (v.clone() if isinstance(v, pyml.Tensor) else copy.deepcopy(v)) for n, v in st.items()}
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_state_dict_resume_bit_for_bit(name, kw, dtype):
    rng = np.random.default_rng(7)
    shapes = [(7, 3), (97,), (1,), (), (5, 1)]
    xs = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(10)]

    def run(ps, opt, steps):
        for gs in steps:
            for p, g in zip(ps, gs):
                p.grad = pyml.tensor(g)
            opt.step()

    def groups(ps):
        return [{"params": ps[:3]}, {"params": ps[3:], "lr": 0.003}]

    ref = [pyml.tensor(x).requires_grad_() for x in xs]
    ref_opt = getattr(optim, name)(groups(ref), **kw)
    run(ref, ref_opt, grads)

    a = [pyml.tensor(x).requires_grad_() for x in xs]
    a_opt = getattr(optim, name)(groups(a), **kw)
    run(a, a_opt, grads[:4])
    sd = _clone_sd(a_opt.state_dict())
    assert set(sd) == {"state", "param_groups"}
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1, 2], [3, 4]]
    assert set(sd["state"]) <= {0, 1, 2, 3, 4}
    # resume in a fresh optimizer built with different hyper-parameters: load restores them
    b = [pyml.tensor(p.detach().numpy()).requires_grad_() for p in a]
    b_opt = getattr(optim, name)([{"params": b[:3]}, {"params": b[3:]}], lr=0.5)
    b_opt.load_state_dict(sd)
    assert b_opt.param_groups[1]["lr"] == 0.003
    run(b, b_opt, grads[4:])
    for p, q in zip(ref, b):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    # the loaded state is a copy: stepping b did not touch the saved dict
    sd2 = _clone_sd(a_opt.state_dict())
    for k in sd["state"]:
        for n, v in sd["state"][k].items():
            if isinstance(v, pyml.Tensor):
                np.testing.assert_array_equal(v.numpy(), sd2["state"][k][n].numpy())


def test_state_dict_matches_torch_layout():
    p, q = pyml.zeros(3, requires_grad=True), pyml.zeros(2, requires_grad=True)
    tp, tq = torch.zeros(3, requires_grad=True), torch.zeros(2, requires_grad=True)
    opt = optim.Adam([{"params": [p]}, {"params": [q], "lr": 0.1}], amsgrad=True)
    topt = torch.optim.Adam([{"params": [tp]}, {"params": [tq], "lr": 0.1}], amsgrad=True)
    for x, t in ((p, tp), (q, tq)):
        x.grad = pyml.ones(x.shape[0])
        t.grad = torch.ones(t.shape[0])
    opt.step()
    topt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sorted(sd["state"]) == sorted(tsd["state"]) == [0, 1]
    assert set(sd["state"][0]) == set(tsd["state"][0])
    assert sd["state"][0]["step"].item() == tsd["state"][0]["step"].item() == 1.0
    for g, tg in zip(sd["param_groups"], tsd["param_groups"]):
        assert g["params"] == tg["params"]
        for k in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"):
            assert g[k] == tg[k], k


def test_load_state_dict_errors():
    p = pyml.zeros(3, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    other = optim.SGD([{"params": [pyml.zeros(1, requires_grad=True)]},
                       {"params": [pyml.zeros(1, requires_grad=True)]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(other.state_dict())
    two = optim.SGD([pyml.zeros(1, requires_grad=True), pyml.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict(two.state_dict())


def test_zero_grad():
    p = pyml.tensor([1.0, 2.0], requires_grad=True)
    q = pyml.tensor([3.0], requires_grad=True)
    opt = optim.SGD([p, q], lr=0.1)
    (p.sum() + q.sum()).backward()
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g
    np.testing.assert_array_equal(p.grad.numpy(), [0.0, 0.0])
    np.testing.assert_array_equal(q.grad.numpy(), [0.0])
    opt.zero_grad()
    assert p.grad is None and q.grad is None
    opt.zero_grad()  # no grads: nothing to do
    opt.step()       # no grads: parameters untouched
    np.testing.assert_array_equal(p.detach().numpy(), [1.0, 2.0])


def test_closure():
    p = pyml.tensor([1.0, -1.0], requires_grad=True)
    tp = torch.tensor([1.0, -1.0], requires_grad=True)
    opt, topt = optim.SGD([p], lr=0.1, momentum=0.9), torch.optim.SGD([tp], lr=0.1, momentum=0.9)

    def closure():
        opt.zero_grad()
        loss = (p * p * 3).sum()
        loss.backward()
        return loss

    def tclosure():
        topt.zero_grad()
        loss = (tp * tp * 3).sum()
        loss.backward()
        return loss

    with pyml.no_grad():  # the closure still records a graph, like torch
        for _ in range(3):
            loss = opt.step(closure)
            tloss = topt.step(tclosure)
            assert abs(loss.item() - tloss.item()) < 1e-6
    np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-6)


def test_param_groups_and_add_param_group():
    p, q = pyml.zeros(2, requires_grad=True), pyml.zeros(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.5)
    opt.add_param_group({"params": q, "lr": 0.01})
    assert len(opt.param_groups) == 2
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.5
    assert opt.param_groups[1]["params"] == [q] or opt.param_groups[1]["params"][0] is q
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [p]})
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([p, p], lr=0.1)
    # per-group lr changes take effect (what schedulers do)
    p.grad, q.grad = pyml.ones(2), pyml.ones(2)
    opt.param_groups[0]["lr"] = 1.0
    opt.step()
    np.testing.assert_allclose(p.detach().numpy(), [-1.0, -1.0])
    np.testing.assert_allclose(q.detach().numpy(), [-0.01, -0.01])


def test_bad_params():
    p = pyml.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([p, 3.0], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)


@pytest.mark.parametrize("ctor,match", [
    (lambda p: optim.SGD([p], lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda p: optim.SGD([p], lr=0.1, momentum=-1), "Invalid momentum value: -1"),
    (lambda p: optim.SGD([p], lr=0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda p: optim.SGD([p], lr=0.1, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    (lambda p: optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov momentum"),
    (lambda p: optim.Adam([p], lr=-1e-3), "Invalid learning rate"),
    (lambda p: optim.Adam([p], eps=-1.0), "Invalid epsilon value: -1.0"),
    (lambda p: optim.Adam([p], betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    (lambda p: optim.Adam([p], betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (lambda p: optim.AdamW([p], weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    (lambda p: optim.Adagrad([p], lr_decay=-1), "Invalid lr_decay value: -1"),
    (lambda p: optim.Adagrad([p], initial_accumulator_value=-1), "Invalid initial_accumulator_value value: -1"),
    (lambda p: optim.RMSprop([p], alpha=-1), "Invalid alpha value: -1"),
    (lambda p: optim.RMSprop([p], momentum=-1), "Invalid momentum value: -1"),
    (lambda p: optim.Adamax([p], betas=(0.9, 1.5)), "Invalid beta parameter at index 1: 1.5"),
    (lambda p: optim.NAdam([p], momentum_decay=-1), "Invalid momentum_decay value: -1"),
    (lambda p: optim.RAdam([p], eps=-1), "Invalid epsilon value: -1"),
])
def test_bad_hyperparameters(ctor, match):
    p = pyml.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=match):
        ctor(p)


def test_unsupported_inputs_raise():
    p = pyml.zeros(4, dtype=pyml.float16)
    opt = optim.SGD([p], lr=0.1)
    p.grad = pyml.ones(4, dtype=pyml.float16)
    with pytest.raises(TypeError, match="optim_step: parameters must be float32 or float64"):
        opt.step()
    q = pyml.zeros(4, 6)[:, ::2]  # gaps between the elements: the flat kernels can't walk it
    opt = optim.Adam([q])
    q.grad = pyml.ones(4, 3)
    with pytest.raises(ValueError, match="optim_step: parameters must be dense"):
        opt.step()
    r = pyml.zeros(4, requires_grad=True)
    opt = optim.Adam([r])
    r.grad = pyml.ones(4, dtype=pyml.float64)
    with pytest.raises(TypeError, match="optim_step: grad dtype must match"):
        opt.step()
    r.grad = pyml.ones(5)
    with pytest.raises(ValueError, match=r"optim_step: grad shape must match the parameter shape \(4,\), got \(5,\)"):
        opt.step()


def test_engine_entry_validates():
    p, g = pyml.zeros(4), pyml.ones(4)
    with pytest.raises(ValueError, match="optim_step: unknown algorithm 'lion'"):
        pyml._C.optim_step("lion", p._impl, g._impl, [], {})
    with pytest.raises(ValueError, match="optim_step: adam takes 2 to 3 state tensors, got 1"):
        pyml._C.optim_step("adam", p._impl, g._impl, [pyml.zeros(4)._impl], {})
    with pytest.raises(ValueError, match="optim_step: state tensor 1 must be a float32 tensor of shape"):
        pyml._C.optim_step("adam", p._impl, g._impl, [pyml.zeros(4)._impl, pyml.zeros(3)._impl], {})
    with pytest.raises(ValueError, match="optim_step: adam needs its first two state tensors"):
        pyml._C.optim_step("adam", p._impl, g._impl, [None, None], {})
    with pytest.raises(ValueError, match="must not share memory"):
        pyml._C.optim_step("sgd", p._impl, g._impl, [p._impl], {"momentum": 0.9})
    # a non-contiguous gradient is fine
    g2 = pyml.ones(4, 2)[:, 0]
    pyml._C.optim_step("sgd", p._impl, g2._impl, [], {"lr": 0.5})
    np.testing.assert_array_equal(p.numpy(), [-0.5] * 4)


# ---------------------------------------------------------------- course variants (TEXTBOOK.md 3)

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_adagrad_root_mean_variant(dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(13)
    p = pyml.tensor(x.astype(dtype), requires_grad=True)
    opt = optim.Adagrad([p], lr=0.1, root_mean=True)
    theta, acc = x.copy(), np.zeros(13)
    for t in range(1, 8):
        g = rng.standard_normal(13).astype(dtype)
        p.grad = pyml.tensor(g)
        opt.step()
        acc += g.astype(np.float64) ** 2
        theta -= 0.1 * g / np.sqrt(acc / t)   # root of the mean, no eps
        np.testing.assert_allclose(p.detach().numpy(), theta, **_tol(dtype))
    # differs from the standard Adagrad after the first step
    q = pyml.tensor(x.astype(dtype), requires_grad=True)
    assert not optim.Adagrad([q], lr=0.1).defaults["root_mean"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("alpha", [0.9, 0.99])
def test_rmsprop_init_abs_grad_variant(dtype, alpha):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(11)
    p = pyml.tensor(x.astype(dtype), requires_grad=True)
    opt = optim.RMSprop([p], lr=0.01, alpha=alpha, eps=1e-8, init_abs_grad=True)
    theta, sq = x.copy(), None
    for t in range(6):
        g = rng.standard_normal(11).astype(dtype).astype(np.float64)
        p.grad = pyml.tensor(g.astype(dtype))
        opt.step()
        sq = g * g if sq is None else alpha * sq + (1 - alpha) * g * g   # sigma_0 = |g_0|
        theta -= 0.01 * g / (np.sqrt(sq) + 1e-8)
        np.testing.assert_allclose(p.detach().numpy(), theta, **_tol(dtype))
    np.testing.assert_allclose(opt.state[p]["square_avg"].numpy(), sq, **_tol(dtype))


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_trains_a_module_like_torch(name):
    """nn.Linear regression: model.parameters() (a generator) in, same trajectory as torch."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((32, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3).astype("float32")
    model = pyml.nn.Linear(3, 1)
    tmodel = torch.nn.Linear(3, 1)
    with torch.no_grad():
        tmodel.weight.copy_(torch.tensor(model.weight.detach().numpy()))
        tmodel.bias.copy_(torch.tensor(model.bias.detach().numpy()))
    opt = getattr(optim, name)(model.parameters(), lr=0.05)
    topt = getattr(torch.optim, name)(tmodel.parameters(), lr=0.05)
    X, Y, TX, TY = pyml.tensor(x), pyml.tensor(y), torch.tensor(x), torch.tensor(y)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = ((model(X) - Y) ** 2).mean()
        loss.backward()
        opt.step()
        topt.zero_grad()
        tloss = ((tmodel(TX) - TY) ** 2).mean()
        tloss.backward()
        topt.step()
        losses.append(loss.item())
        assert abs(loss.item() - tloss.item()) <= 1e-4 * (1 + tloss.item())
    assert losses[-1] < 0.5 * losses[0]
    np.testing.assert_allclose(model.weight.detach().numpy(), tmodel.weight.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_named_parameters():
    model = pyml.nn.Linear(2, 1)
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.param_groups[0]["params"][0] is model.weight
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    with pytest.raises(ValueError, match="with/without names"):
        optim.SGD([{"params": [("w", model.weight), model.bias]}], lr=0.1)


@pytest.mark.parametrize("name,kw", [("Adam", dict(amsgrad=True)), ("RMSprop", dict(centered=True, momentum=0.5))])
def test_threaded_step_equals_single_thread(name, kw):
    """the multithreaded kernel (parameter larger than one chunk) gives the single-thread result exactly"""
    rng = np.random.default_rng(11)
    x = rng.standard_normal(50001).astype("float32")
    gs = [rng.standard_normal(50001).astype("float32") for _ in range(3)]
    out = []
    prev = pyml.get_num_threads()
    try:
        for nt in (1, max(2, prev)):
            pyml.set_num_threads(nt)
            p = pyml.tensor(x, requires_grad=True)
            opt = getattr(optim, name)([p], **kw)
            for g in gs:
                p.grad = pyml.tensor(g)
                opt.step()
            out.append(p.detach().numpy())
    finally:
        pyml.set_num_threads(prev)
    np.testing.assert_array_equal(out[0], out[1])
