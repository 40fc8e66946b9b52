"""Cyclic and composite LR schedulers against torch.optim.lr_scheduler.

The same scheduler is built (with the same arguments) on a torch and a pyml optimizer (SGD with
momentum, Adam or AdamW; two param groups with different rates), both are stepped with identical
random gradients, and rates plus cycled momentum / betas must agree after every step; a state_dict
taken mid-schedule resumes exactly like an uninterrupted torch run; bad arguments raise.
"""
import math
import pickle

import numpy as np
import pytest
import torch

import pyml
import pyml.optim.lr_scheduler as L

TL = torch.optim.lr_scheduler
# torch's own ChainedScheduler inside its SequentialLR warns about its internal step order
pytestmark = pytest.mark.filterwarnings("ignore:Detected call of:UserWarning")
LRS = [0.1, 0.03]
SHAPES = [(3, 2), (5,)]


class Halving:
    """A scale_fn / lr_lambda with state, so it survives state_dict (plain lambdas do not pickle)."""

    def __init__(self, base=0.5):
        self.base = base

    def __call__(self, x):
        return self.base ** x


class Shrink:
    def __init__(self, rate=0.97):
        self.rate = rate

    def __call__(self, epoch):
        return self.rate


def _optimizers(kind, seed=0):
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal(s) for s in SHAPES]
    tparams = [torch.tensor(x, requires_grad=True) for x in xs]
    pparams = [pyml.tensor(x).requires_grad_() for x in xs]
    tgroups = [{"params": [p], "lr": lr} for p, lr in zip(tparams, LRS)]
    pgroups = [{"params": [p], "lr": lr} for p, lr in zip(pparams, LRS)]
    if kind == "sgd":
        return torch.optim.SGD(tgroups, momentum=0.5), pyml.optim.SGD(pgroups, momentum=0.5)
    if kind == "adam":
        return torch.optim.Adam(tgroups), pyml.optim.Adam(pgroups)
    return torch.optim.AdamW(tgroups), pyml.optim.AdamW(pgroups)


def _params(opt):
    return [p for g in opt.param_groups for p in g["params"]]


def _optimizer_step(topt, popt, rng):
    for t, p in zip(_params(topt), _params(popt)):
        g = rng.standard_normal(tuple(t.shape))
        t.grad, p.grad = torch.tensor(g), pyml.tensor(g)
    topt.step()
    popt.step()


def _hyper(opt):
    """(lr, momentum, beta1, beta2) of every group; None where the optimizer has no such entry."""
    out = []
    for g in opt.param_groups:
        betas = g.get("betas", (None, None))
        out.append((g["lr"], g.get("momentum"), betas[0], betas[1]))
    return out


def _assert_same(t_hyper, p_hyper, where):
    for tg, pg in zip(t_hyper, p_hyper):
        for a, b in zip(tg, pg):
            assert (a is None) == (b is None), where
            if a is not None:
                assert b == pytest.approx(float(a), rel=1e-12, abs=1e-300), (where, t_hyper, p_hyper)


# name -> (build(module, optimizer), optimizer kind, steps); `module` is torch's or pyml's lr_scheduler
CASES = {
    "warm_restarts_T_mult1": (lambda M, o: M.CosineAnnealingWarmRestarts(o, 7), "sgd", 40),
    "warm_restarts_T_mult2": (lambda M, o: M.CosineAnnealingWarmRestarts(o, 3, T_mult=2, eta_min=1e-3), "adam", 50),
    "cyclic_triangular": (lambda M, o: M.CyclicLR(o, 0.01, 0.1, step_size_up=5), "sgd", 36),
    "cyclic_triangular2": (lambda M, o: M.CyclicLR(o, [0.01, 0.02], [0.1, 0.05], step_size_up=4, step_size_down=3,
                                                   mode="triangular2", base_momentum=[0.7, 0.8],
                                                   max_momentum=[0.9, 0.95]), "adam", 36),
    "cyclic_exp_range": (lambda M, o: M.CyclicLR(o, 0.01, 0.1, step_size_up=4, mode="exp_range", gamma=0.95),
                         "adamw", 36),
    "cyclic_scale_fn_cycle": (lambda M, o: M.CyclicLR(o, 0.02, 0.2, step_size_up=3, step_size_down=6,
                                                      scale_fn=Halving(0.7)), "sgd", 36),
    "cyclic_scale_fn_iterations": (lambda M, o: M.CyclicLR(o, 0.02, 0.2, step_size_up=5, scale_fn=Halving(0.98),
                                                           scale_mode="iterations", cycle_momentum=False),
                                   "adam", 36),
    "onecycle_cos": (lambda M, o: M.OneCycleLR(o, [0.5, 0.2], total_steps=40), "sgd", 40),
    "onecycle_linear": (lambda M, o: M.OneCycleLR(o, 0.5, epochs=5, steps_per_epoch=8, anneal_strategy="linear",
                                                  base_momentum=0.8, max_momentum=0.9), "adam", 40),
    "onecycle_cos_three_phase": (lambda M, o: M.OneCycleLR(o, 0.3, total_steps=40, pct_start=0.25,
                                                           three_phase=True), "adamw", 40),
    "onecycle_linear_three_phase": (lambda M, o: M.OneCycleLR(o, [0.3, 0.6], total_steps=37, anneal_strategy="linear",
                                                              three_phase=True, div_factor=10.0,
                                                              final_div_factor=100.0), "sgd", 37),
    "sequential": (lambda M, o: M.SequentialLR(o, [M.LinearLR(o, 0.1, total_iters=5), M.ExponentialLR(o, 0.9),
                                                   M.CosineAnnealingLR(o, 10, 1e-3)], [6, 20]), "sgd", 40),
    "sequential_cyclic": (lambda M, o: M.SequentialLR(o, [M.OneCycleLR(o, 0.3, total_steps=30),
                                                          M.ConstantLR(o, 0.5, 100),
                                                          M.CosineAnnealingWarmRestarts(o, 4, 2)], [15, 25]),
                          "adam", 40),
    "chained": (lambda M, o: M.ChainedScheduler([M.ConstantLR(o, 0.3, 8), M.ExponentialLR(o, 0.95),
                                                 M.StepLR(o, 5, 0.5)]), "sgd", 36),
    "chained_cosine_eta_min": (lambda M, o: M.ChainedScheduler([M.LinearLR(o, 0.2, total_iters=6),
                                                                M.CosineAnnealingLR(o, 8, 0.01)], o), "adam", 40),
    "chained_multiplicative": (lambda M, o: M.ChainedScheduler([M.ConstantLR(o, 0.3, 8),
                                                                M.MultiplicativeLR(o, Shrink()),
                                                                M.PolynomialLR(o, 30, 2.0)]), "sgd", 36),
    "chained_lambda_last": (lambda M, o: M.ChainedScheduler([M.ExponentialLR(o, 0.97), M.LambdaLR(o, Halving(0.9))]),
                            "adamw", 36),
    "sequential_of_chain": (lambda M, o: M.SequentialLR(o, [M.ChainedScheduler([M.LinearLR(o, 0.1, total_iters=4),
                                                                                M.StepLR(o, 3, 0.5)]),
                                                            M.CyclicLR(o, 0.01, 0.1, step_size_up=5)], [10]),
                            "sgd", 36),
}


def _run_pair(name, steps=None, seed=1):
    """Step torch and pyml side by side; returns the per-step hyper-parameters of both."""
    build, kind, n = CASES[name]
    topt, popt = _optimizers(kind)
    ts, ps = build(TL, topt), build(L, popt)
    rng = np.random.default_rng(seed)
    t_seq, p_seq = [_hyper(topt)], [_hyper(popt)]
    for _ in range(n if steps is None else steps):
        _optimizer_step(topt, popt, rng)
        ts.step()
        ps.step()
        t_seq.append(_hyper(topt))
        p_seq.append(_hyper(popt))
        assert ps.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
    return (topt, popt), t_seq, p_seq


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch_after_every_step(name):
    (topt, popt), t_seq, p_seq = _run_pair(name)
    for i, (a, b) in enumerate(zip(t_seq, p_seq)):
        _assert_same(a, b, f"{name} step {i}")
    assert len({h[0][0] for h in p_seq}) > 5  # the rate really moves
    # the optimizers used the scheduled rates and momenta: same parameters at the end
    for t, p in zip(_params(topt), _params(popt)):
        np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_resumes_like_uninterrupted_torch(name):
    build, kind, n = CASES[name]
    _, t_seq, _ = _run_pair(name)
    k = n // 2 - 1
    _, popt = _optimizers(kind)
    s = build(L, popt)
    for _ in range(k):
        s.step()
    saved = pickle.dumps(s.state_dict())
    _, popt2 = _optimizers(kind, seed=5)
    s2 = build(L, popt2)  # a fresh run, then the checkpoint: optimizer first, scheduler second
    popt2.load_state_dict(popt.state_dict())
    s2.load_state_dict(pickle.loads(saved))
    _assert_same(t_seq[k], _hyper(popt2), f"{name} after loading")
    for i in range(k + 1, n + 1):
        s2.step()
        _assert_same(t_seq[i], _hyper(popt2), f"{name} resumed step {i}")


def _warm_pair(T_mult):
    topt, popt = _optimizers("sgd")
    return (topt, popt, TL.CosineAnnealingWarmRestarts(topt, 3, T_mult=T_mult, eta_min=0.002),
            L.CosineAnnealingWarmRestarts(popt, 3, T_mult=T_mult, eta_min=0.002))


@pytest.mark.parametrize("T_mult", [1, 2])
def test_warm_restarts_fractional_epochs(T_mult):
    topt, popt, ts, ps = _warm_pair(T_mult)
    batches = 7  # the documented use: step(epoch + batch / batches) after every batch
    for epoch in range(6):
        for b in range(batches):
            ts.step(epoch + b / batches)
            ps.step(epoch + b / batches)
            _assert_same(_hyper(topt), _hyper(popt), f"epoch {epoch} batch {b}")
    # explicit epochs in any order mixed with plain steps, which continue from the last one
    for e in [0.5, 17.25, 2.9, None, None, 20.0, None, 8.75, None, 0, None, 44.5, None, None]:
        ts.step(e)
        ps.step(e)
        _assert_same(_hyper(topt), _hyper(popt), f"epoch {e}")
        assert ps.last_epoch == ts.last_epoch and ps.T_cur == pytest.approx(ts.T_cur, rel=1e-12)


def test_warm_restarts_exact_values_at_restarts():
    popt = _optimizers("sgd")[1]
    s = L.CosineAnnealingWarmRestarts(popt, 2, T_mult=2, eta_min=0.0)  # cycles start at 0, 2, 6, 14, 30
    expected = {6: 1.0, 10: 0.5, 14: 1.0, 13.0: (1 + math.cos(math.pi * 7 / 8)) / 2,
                29.5: (1 + math.cos(math.pi * 15.5 / 16)) / 2}
    for epoch, factor in expected.items():
        s.step(epoch)
        assert s.get_last_lr() == pytest.approx([lr * factor for lr in LRS], rel=1e-12, abs=1e-15)
    # T_mult=3: cycle 5 starts at epoch 121; float logs put it a cycle early (torch gives eta_min there)
    s = L.CosineAnnealingWarmRestarts(_optimizers("sgd")[1], 1, T_mult=3)
    s.step(121)
    assert (s.T_cur, s.T_i) == (0, 243) and s.get_last_lr() == pytest.approx(LRS, rel=1e-12)
    s.step(120.5)
    assert (s.T_cur, s.T_i) == (80.5, 81)  # cycle 4 spans epochs 40 .. 121


def test_one_cycle_steps_up_to_total_then_raises():
    topt, popt = _optimizers("sgd")
    ts, ps = TL.OneCycleLR(topt, 0.4, total_steps=10), L.OneCycleLR(popt, 0.4, total_steps=10)
    for _ in range(10):  # the last allowed step extrapolates the final phase, like torch
        ts.step()
        ps.step()
        _assert_same(_hyper(topt), _hyper(popt), "within total_steps")
    with pytest.raises(ValueError):
        ts.step()
    with pytest.raises(ValueError, match="OneCycleLR: stepped 11 times, but total_steps is 10"):
        ps.step()


def test_one_cycle_empty_warmup_phase_starts_at_max_lr():
    # pct_start * total_steps == 1: the warm-up phase has no length (torch divides by zero here)
    s = L.OneCycleLR(_optimizers("sgd")[1], 0.4, total_steps=10, pct_start=0.1, anneal_strategy="linear")
    got = [s.get_last_lr()[0]]
    for _ in range(9):
        s.step()
        got.append(s.get_last_lr()[0])
    np.testing.assert_allclose(got, 0.4 + (0.4 / 25 / 1e4 - 0.4) * np.arange(10) / 9, rtol=1e-12)


def test_cyclic_scale_fn_object_state_is_saved():
    f = Halving(0.5)
    s = L.CyclicLR(_optimizers("sgd")[1], 0.01, 0.1, step_size_up=2, scale_fn=f)
    f.base = 0.25
    g = Halving(0.5)
    s2 = L.CyclicLR(_optimizers("sgd")[1], 0.01, 0.1, step_size_up=2, scale_fn=g)
    s2.load_state_dict(pickle.loads(pickle.dumps(s.state_dict())))
    assert g.base == 0.25
    plain = L.CyclicLR(_optimizers("sgd")[1], 0.01, 0.1, scale_fn=lambda x: 1.0)
    assert plain.state_dict()["_scale_fn_custom"] is None  # plain functions are not saved


def _other(M, o):
    return M.StepLR(_optimizers("sgd", seed=3)[0 if M is TL else 1], 3)


def _adagrad(M):
    p = [torch.zeros(2, requires_grad=True)] if M is TL else [pyml.zeros(2, requires_grad=True)]
    return (torch.optim.Adagrad if M is TL else pyml.optim.Adagrad)(p)


BAD = [  # (label, build(module, optimizer)); torch and pyml must raise the same exception type
    ("T_0 zero", lambda M, o: M.CosineAnnealingWarmRestarts(o, 0)),
    ("T_0 float", lambda M, o: M.CosineAnnealingWarmRestarts(o, 2.5)),
    ("T_mult zero", lambda M, o: M.CosineAnnealingWarmRestarts(o, 2, T_mult=0)),
    ("T_mult float", lambda M, o: M.CosineAnnealingWarmRestarts(o, 2, T_mult=1.5)),
    ("negative epoch", lambda M, o: M.CosineAnnealingWarmRestarts(o, 2).step(-1)),
    ("cyclic mode", lambda M, o: M.CyclicLR(o, 0.01, 0.1, mode="sawtooth")),
    ("cyclic base_lr count", lambda M, o: M.CyclicLR(o, [0.01, 0.02, 0.03], 0.1)),
    ("cyclic max_momentum count", lambda M, o: M.CyclicLR(o, 0.01, 0.1, max_momentum=[0.9])),
    ("cyclic no momentum", lambda M, o: M.CyclicLR(_adagrad(M), 0.01, 0.1)),
    ("onecycle no length", lambda M, o: M.OneCycleLR(o, 0.1)),
    ("onecycle epochs only", lambda M, o: M.OneCycleLR(o, 0.1, epochs=3)),
    ("onecycle total zero", lambda M, o: M.OneCycleLR(o, 0.1, total_steps=0)),
    ("onecycle epochs zero", lambda M, o: M.OneCycleLR(o, 0.1, epochs=0, steps_per_epoch=4)),
    ("onecycle steps_per_epoch float", lambda M, o: M.OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=4.5)),
    ("onecycle pct_start", lambda M, o: M.OneCycleLR(o, 0.1, total_steps=9, pct_start=1.5)),
    ("onecycle anneal", lambda M, o: M.OneCycleLR(o, 0.1, total_steps=9, anneal_strategy="exp")),
    ("onecycle max_lr count", lambda M, o: M.OneCycleLR(o, [0.1], total_steps=9)),
    ("onecycle no momentum", lambda M, o: M.OneCycleLR(_adagrad(M), 0.1, total_steps=9)),
    ("sequential empty", lambda M, o: M.SequentialLR(o, [], [])),
    ("sequential milestones", lambda M, o: M.SequentialLR(o, [M.StepLR(o, 2), M.StepLR(o, 3)], [2, 4])),
    ("sequential other optimizer", lambda M, o: M.SequentialLR(o, [M.StepLR(o, 2), _other(M, o)], [2])),
    ("sequential plateau", lambda M, o: M.SequentialLR(o, [M.StepLR(o, 2), M.ReduceLROnPlateau(o)], [2])),
    ("sequential not a scheduler", lambda M, o: M.SequentialLR(o, [M.StepLR(o, 2), object()], [2])),
    ("chained empty", lambda M, o: M.ChainedScheduler([])),
    ("chained other optimizer", lambda M, o: M.ChainedScheduler([M.StepLR(o, 2), _other(M, o)])),
    ("chained plateau", lambda M, o: M.ChainedScheduler([M.StepLR(o, 2), M.ReduceLROnPlateau(o)])),
]


@pytest.mark.parametrize("label, build", BAD, ids=[b[0] for b in BAD])
def test_bad_arguments_raise_like_torch(label, build):
    topt, popt = _optimizers("sgd")
    with pytest.raises(Exception) as theirs:
        build(TL, topt)
    with pytest.raises(theirs.type) as ours:
        build(L, popt)
    assert any(n in str(ours.value) for n in ("CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR",
                                               "SequentialLR", "ChainedScheduler"))


def test_bad_arguments_torch_misses():
    o = _optimizers("sgd")[1]
    with pytest.raises(TypeError, match="CosineAnnealingWarmRestarts: eta_min must be a float or int, got str"):
        L.CosineAnnealingWarmRestarts(o, 3, eta_min="0.1")  # torch raises ValueError for this type error
    with pytest.raises(ValueError, match="CyclicLR: step_size_up must be a positive number, got 0"):
        L.CyclicLR(o, 0.01, 0.1, step_size_up=0)  # torch: ZeroDivisionError on the first step
    with pytest.raises(ValueError, match="CyclicLR: step_size_down must be None or a non-negative number"):
        L.CyclicLR(o, 0.01, 0.1, step_size_down=-2)
    with pytest.raises(TypeError, match="CyclicLR: scale_fn must be callable, got float"):
        L.CyclicLR(o, 0.01, 0.1, scale_fn=0.5)
    with pytest.raises(ValueError, match="CyclicLR: scale_mode must be 'cycle' or 'iterations', got 'epoch'"):
        L.CyclicLR(o, 0.01, 0.1, scale_fn=Halving(), scale_mode="epoch")
    with pytest.raises(ValueError, match="OneCycleLR: div_factor and final_div_factor must be positive"):
        L.OneCycleLR(o, 0.1, total_steps=9, div_factor=0)
    with pytest.raises(ValueError, match=r"SequentialLR: milestones must be non-negative ints in increasing order"):
        L.SequentialLR(o, [L.StepLR(o, 2), L.StepLR(o, 3), L.StepLR(o, 4)], [6, 3])
    with pytest.raises(ValueError, match="SequentialLR: the scheduler at index 1 is a ChainedScheduler"):
        L.SequentialLR(o, [L.StepLR(o, 2), L.ChainedScheduler([L.StepLR(o, 3)])], [4])
