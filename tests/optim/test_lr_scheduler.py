"""LR schedulers: the rate sequence equals torch's over many steps; state_dict resumes; bad arguments."""
import math
import pickle

import numpy as np
import pytest
import torch

import pyml.optim.lr_scheduler as L


class StandIn:
    """Anything with param_groups drives pyml's schedulers (the optimizers live elsewhere)."""

    def __init__(self, lrs):
        self.param_groups = [{"lr": lr} for lr in lrs]


def _torch_opt(lrs):
    return torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs])


CASES = {
    "step": (lambda o: L.StepLR(o, 7, 0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, 7, 0.5)),
    "multistep": (lambda o: L.MultiStepLR(o, [5, 12, 12, 30], 0.3),
                  lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [5, 12, 12, 30], 0.3)),
    "exponential": (lambda o: L.ExponentialLR(o, 0.97), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.97)),
    "cosine": (lambda o: L.CosineAnnealingLR(o, 40, 1e-4),
               lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 40, 1e-4)),
    "lambda": (lambda o: L.LambdaLR(o, lambda e: 1 / (1 + e)),
               lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1 / (1 + e))),
    "multiplicative": (lambda o: L.MultiplicativeLR(o, lambda e: 0.95),
                       lambda o: torch.optim.lr_scheduler.MultiplicativeLR(o, lambda e: 0.95)),
    "linear": (lambda o: L.LinearLR(o, 0.1, 1.0, 17), lambda o: torch.optim.lr_scheduler.LinearLR(o, 0.1, 1.0, 17)),
    "linear_down": (lambda o: L.LinearLR(o, 1.0, 0.05, 9),
                    lambda o: torch.optim.lr_scheduler.LinearLR(o, 1.0, 0.05, 9)),
    "constant": (lambda o: L.ConstantLR(o, 0.25, 6), lambda o: torch.optim.lr_scheduler.ConstantLR(o, 0.25, 6)),
    "polynomial": (lambda o: L.PolynomialLR(o, 25, 2.0), lambda o: torch.optim.lr_scheduler.PolynomialLR(o, 25, 2.0)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_sequence_matches_torch(name):
    mk, tmk = CASES[name]
    lrs = [0.1, 0.03]
    opt, topt = StandIn(lrs), _torch_opt(lrs)
    s, ts = mk(opt), tmk(topt)
    seq, tseq = [s.get_last_lr()], [ts.get_last_lr()]
    for _ in range(80):
        topt.step()
        s.step()
        ts.step()
        seq.append(s.get_last_lr())
        tseq.append(ts.get_last_lr())
    np.testing.assert_allclose(np.array(seq), np.array(tseq), rtol=1e-12, atol=1e-15)
    assert len({tuple(x) for x in seq}) > 1  # the schedule actually changes the rate
    assert [g["lr"] for g in opt.param_groups] == seq[-1]


# plain lambdas do not pickle: the lambda schedulers' state is tested with a callable object below
@pytest.mark.parametrize("name", sorted(n for n in CASES if n not in ("lambda", "multiplicative")))
def test_state_dict_round_trip_resumes(name):
    mk, _ = CASES[name]
    full_opt = StandIn([0.1])
    full = mk(full_opt)
    for _ in range(40):
        full.step()
    opt = StandIn([0.1])
    s = mk(opt)
    for _ in range(15):
        s.step()
    state = pickle.loads(pickle.dumps(s.state_dict()))
    opt2 = StandIn([g["lr"] for g in opt.param_groups])
    for g, g1 in zip(opt2.param_groups, opt.param_groups):
        g["initial_lr"] = g1["initial_lr"]
    s2 = mk(opt2)
    s2.load_state_dict(state)
    for g, g1 in zip(opt2.param_groups, opt.param_groups):
        g["lr"] = g1["lr"]
    for _ in range(25):
        s2.step()
    assert s2.get_last_lr() == pytest.approx(full.get_last_lr(), rel=1e-12)


class Decay:
    def __init__(self):
        self.rate = 0.9

    def __call__(self, epoch):
        return self.rate ** epoch


def test_lambda_state_of_callable_objects():
    f = Decay()
    s = L.LambdaLR(StandIn([1.0]), f)
    f.rate = 0.5
    d = s.state_dict()
    g = Decay()
    s2 = L.LambdaLR(StandIn([1.0]), g)
    s2.load_state_dict(d)
    assert g.rate == 0.5


def test_transformer_warmup_formula_and_peak():
    s = L.TransformerWarmupLR(StandIn([1.0]), d_model=512, warmup_steps=4000)
    lrs = [s.get_last_lr()[0]]
    for _ in range(8000):
        s.step()
        lrs.append(s.get_last_lr()[0])
    peak = int(np.argmax(lrs)) + 1  # step numbers start at 1
    assert peak == 4000
    assert lrs[3999] == pytest.approx(512 ** -0.5 * 4000 ** -0.5, rel=1e-12)
    assert lrs[0] == pytest.approx(512 ** -0.5 * 4000 ** -1.5, rel=1e-12)
    assert lrs[7999] == pytest.approx(512 ** -0.5 * 8000 ** -0.5, rel=1e-12)
    # the same schedule through torch's LambdaLR on a base rate of 1
    topt = _torch_opt([1.0])
    ts = torch.optim.lr_scheduler.LambdaLR(topt, lambda e: 512 ** -0.5 * min((e + 1) ** -0.5, (e + 1) * 4000 ** -1.5))
    tl = [ts.get_last_lr()[0]]
    for _ in range(100):
        topt.step()
        ts.step()
        tl.append(ts.get_last_lr()[0])
    np.testing.assert_allclose(lrs[:101], tl, rtol=1e-12)


@pytest.mark.parametrize("kw", [dict(), dict(mode="max"), dict(threshold_mode="abs", threshold=0.05),
                                dict(cooldown=3, patience=2, factor=0.5), dict(min_lr=[0.01, 0.002], factor=0.2)])
def test_reduce_on_plateau_matches_torch(kw):
    rng = np.random.default_rng(0)
    metrics = list(np.concatenate([np.linspace(5, 1, 20), 1 + 0.01 * rng.standard_normal(60),
                                   np.linspace(1, 0.2, 10), 0.2 + 0.001 * rng.standard_normal(40)]))
    if kw.get("mode") == "max":
        metrics = [-m for m in metrics]
    opt, topt = StandIn([0.1, 0.02]), _torch_opt([0.1, 0.02])
    s = L.ReduceLROnPlateau(opt, **kw)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    changed = False
    for m in metrics:
        s.step(m)
        ts.step(m)
        assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
        changed |= s.get_last_lr()[0] != 0.1
    assert changed


def test_bad_arguments():
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive int"):
        L.StepLR(StandIn([0.1]), 0)
    with pytest.raises(ValueError, match="ConstantLR: factor must be between 0 and 1"):
        L.ConstantLR(StandIn([0.1]), factor=1.5)
    with pytest.raises(ValueError, match="ReduceLROnPlateau: factor should be < 1.0"):
        L.ReduceLROnPlateau(StandIn([0.1]), factor=2.0)
    with pytest.raises(ValueError, match="LambdaLR: expected 2 lr_lambdas, got 1"):
        L.LambdaLR(StandIn([0.1, 0.2]), [lambda e: 1.0])
    with pytest.raises(TypeError, match="StepLR: .* is not an Optimizer"):
        L.StepLR(object(), 3)
    with pytest.raises(KeyError, match="initial_lr"):
        L.StepLR(StandIn([0.1]), 3, last_epoch=5)
    with pytest.raises(ValueError, match="CosineAnnealingLR: T_max must be positive"):
        L.CosineAnnealingLR(StandIn([0.1]), 0)
