"""fit(): same result as a hand-written loop, gradient accumulation, clipping, schedulers, history."""
import numpy as np
import pytest

import pyml
from pyml import nn
from pyml.optim.lr_scheduler import StepLR, ReduceLROnPlateau
from pyml.train import fit, evaluate
from pyml.utils.data import DataLoader, TensorDataset

from train_helpers import blobs, mlp, loaders, params, same_params


def _setup(seed, dropout=0.3):
    pyml.manual_seed(seed)
    x, y = blobs(50)
    model = mlp(dropout=dropout)
    opt = pyml.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    return model, opt, sched, loaders(x, y)


def test_fit_equals_hand_written_loop():
    # the hand-written loop: train mode, shuffle, dropout, step per batch, validate, step scheduler
    model, opt, sched, (train, val) = _setup(3)
    loss_fn = nn.CrossEntropyLoss()
    hand_losses = []
    for _ in range(3):
        model.train()
        total, count = 0.0, 0
        for xb, yb in train:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total, count = total + loss.item() * len(yb), count + len(yb)
        hand_losses.append(total / count)
        model.eval()
        with pyml.no_grad():
            for xb, yb in val:
                model(xb)
        sched.step()
    expected = params(model)

    model, opt, sched, (train, val) = _setup(3)
    history = fit(model, loss_fn, opt, train, val, epochs=3, scheduler=sched, progress=False)
    assert same_params(params(model), expected)
    np.testing.assert_allclose(history["loss"], hand_losses, rtol=1e-12)
    assert history["lr"] == [0.1, 0.1, 0.05]


def _linear_problem(n):
    pyml.manual_seed(0)
    x = pyml.randn(n, 4, dtype=pyml.float64)
    y = pyml.randn(n, 2, dtype=pyml.float64)
    model = nn.Linear(4, 2).to(pyml.float64)
    return model, TensorDataset(x, y)


def _fit_sgd(model, loader, **kw):
    opt = pyml.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
    fit(model, nn.MSELoss(), opt, loader, epochs=2, metrics=(), progress=False, **kw)
    return params(model)


@pytest.mark.parametrize("n", [32, 40])  # 40: a trailing group of one batch still steps
def test_accumulation_equals_one_big_batch(n):
    model, ds = _linear_problem(n)
    accumulated = _fit_sgd(model, DataLoader(ds, batch_size=8), accumulate=4)
    model, ds = _linear_problem(n)
    groups = [list(range(s, min(s + 32, n))) for s in range(0, n, 32)]  # the same groups as one batch each
    big = _fit_sgd(model, DataLoader(ds, batch_sampler=groups))
    for a, b in zip(accumulated, big):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_accumulation_steps_scheduler_per_group():
    model, ds = _linear_problem(24)
    opt = pyml.optim.SGD(model.parameters(), lr=1.0)
    sched = StepLR(opt, step_size=1, gamma=0.5)
    loader = DataLoader(ds, batch_size=8)  # 3 batches; accumulate=2 gives 2 steps per epoch
    h = fit(model, nn.MSELoss(), opt, loader, epochs=3, scheduler=sched, scheduler_step="batch", accumulate=2,
            metrics=(), progress=False)
    assert h["lr"] == [1.0, 0.25, 0.0625]


@pytest.mark.parametrize("scale", [0.1, 10.0])
def test_grad_clip_bounds_the_global_norm(scale):
    model, ds = _linear_problem(16)
    start = params(model)
    loss = nn.MSELoss()(model(ds.tensors[0]), ds.tensors[1])
    loss.backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    norm = np.sqrt(sum((g ** 2).sum() for g in grads))
    max_norm = scale * norm
    model.zero_grad()
    opt = pyml.optim.SGD(model.parameters(), lr=1.0)
    fit(model, nn.MSELoss(), opt, DataLoader(ds, batch_size=16), grad_clip=max_norm, metrics=(), progress=False)
    steps = [p0 - p1 for p0, p1 in zip(start, params(model))]
    coef = min(1.0, max_norm / (norm + 1e-6))
    for s, g in zip(steps, grads):
        np.testing.assert_allclose(s, coef * g, rtol=1e-10, atol=1e-14)
    assert np.sqrt(sum((s ** 2).sum() for s in steps)) <= max_norm * (1 + 1e-9)


def test_history_keys_lengths_and_values():
    pyml.manual_seed(1)
    x, y = blobs(40)
    model = mlp()
    train, val = loaders(x, y)
    opt = pyml.optim.Adam(model.parameters(), lr=0.01)

    def hit_rate(logits, targets):
        return (logits.argmax(1) == targets).float().mean().item()

    h = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=3, metrics=("accuracy", "top2", hit_rate),
            progress=False)
    names = ["loss", "accuracy", "top2", "hit_rate"]
    assert list(h) == names + ["val_" + k for k in names] + ["lr", "epoch_time", "samples_per_s"]
    assert all(len(v) == 3 for v in h.values())
    assert all(t > 0 for t in h["epoch_time"]) and all(s > 0 for s in h["samples_per_s"])
    final = evaluate(model, val, nn.CrossEntropyLoss(), metrics=("accuracy", "top2", hit_rate))
    assert final == {"loss": h["val_loss"][-1], "accuracy": h["val_accuracy"][-1], "top2": h["val_top2"][-1],
                     "hit_rate": h["val_hit_rate"][-1]}
    assert h["val_accuracy"][-1] == h["val_hit_rate"][-1]  # the same quantity, per batch weighted alike


def test_no_validation_history_and_model_mode_kept():
    pyml.manual_seed(2)
    x, y = blobs(20)
    model = mlp(dropout=0.5).eval()
    train, _ = loaders(x, y, val=False)
    h = fit(model, nn.CrossEntropyLoss(), pyml.optim.SGD(model.parameters(), lr=0.1), train, epochs=2,
            progress=False)
    assert list(h) == ["loss", "accuracy", "lr", "epoch_time", "samples_per_s"]
    assert model.training is False


class _Spy(ReduceLROnPlateau):
    def __init__(self, opt):
        super().__init__(opt, patience=0, factor=0.5)
        self.seen = []

    def step(self, metrics, epoch=None):
        self.seen.append(metrics)
        super().step(metrics, epoch)


def test_reduce_on_plateau_gets_val_loss():
    pyml.manual_seed(4)
    x, y = blobs(30)
    model = mlp()
    train, val = loaders(x, y)
    opt = pyml.optim.SGD(model.parameters(), lr=0.5)
    spy = _Spy(opt)
    h = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=4, scheduler=spy, progress=False)
    assert spy.seen == h["val_loss"]


def test_evaluate_restores_mode_and_matches_numpy():
    pyml.manual_seed(5)
    x, y = blobs(23)
    model = mlp(dropout=0.5)
    loader = DataLoader(TensorDataset(x, y), batch_size=5)
    r = evaluate(model, loader, nn.CrossEntropyLoss())
    assert model.training
    model.eval()
    with pyml.no_grad():
        logits = model(x).numpy().astype(np.float64)
    z = logits - logits.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    yn = y.numpy()
    np.testing.assert_allclose(r["loss"], -logp[np.arange(23), yn].mean(), rtol=1e-5)
    assert r["accuracy"] == (logits.argmax(1) == yn).mean()


@pytest.mark.parametrize("kw, err, text", [
    ({"epochs": -1}, ValueError, "epochs"),
    ({"accumulate": 0}, ValueError, "accumulate"),
    ({"grad_clip": 0.0}, ValueError, "grad_clip"),
    ({"scheduler_step": "step"}, ValueError, "scheduler_step"),
    ({"metrics": ("f1",)}, ValueError, "unknown metric"),
    ({"callbacks": [object()]}, TypeError, "callbacks"),
])
def test_bad_arguments(kw, err, text):
    pyml.manual_seed(0)
    x, y = blobs(10)
    model = mlp()
    train, _ = loaders(x, y, val=False)
    with pytest.raises(err, match=text):
        fit(model, nn.CrossEntropyLoss(), pyml.optim.SGD(model.parameters(), lr=0.1), train, progress=False, **kw)


def test_batches_must_be_pairs():
    model = mlp()
    triples = [(pyml.randn(2, 5), pyml.tensor([0, 1]), pyml.tensor([1, 1]))]
    with pytest.raises(TypeError, match=r"\(inputs, targets\) pair"):
        fit(model, nn.CrossEntropyLoss(), pyml.optim.SGD(model.parameters(), lr=0.1), triples, progress=False)


def test_plateau_scheduler_rejects_batch_stepping():
    model = mlp()
    opt = pyml.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        fit(model, nn.CrossEntropyLoss(), opt, [], scheduler=ReduceLROnPlateau(opt), scheduler_step="batch")


def test_per_batch_scheduler_and_no_scheduler():
    model, ds = _linear_problem(24)
    opt = pyml.optim.SGD(model.parameters(), lr=1.0)
    h = fit(model, nn.MSELoss(), opt, DataLoader(ds, batch_size=8), epochs=2, scheduler_step="batch", metrics=(),
            progress=False)
    assert h["lr"] == [1.0, 1.0]
    sched = StepLR(opt, step_size=2, gamma=0.1)
    h = fit(model, nn.MSELoss(), opt, DataLoader(ds, batch_size=8), epochs=3, scheduler=sched,
            scheduler_step="batch", metrics=(), progress=False)
    np.testing.assert_allclose(h["lr"], [1.0, 0.1, 0.001], rtol=1e-12)  # after 0, 3, 6 steps: 0.1 ** (steps // 2)
