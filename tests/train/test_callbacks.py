"""Callbacks: EarlyStopping on scripted metric sequences, restoring the best weights, stopping hooks."""
import pytest

import pyml
from pyml import nn
from pyml.train import fit, Callback, EarlyStopping

from train_helpers import blobs, mlp, loaders, params, same_params, Scripted, Snapshots


def _run(callbacks, epochs=12):
    pyml.manual_seed(0)
    x, y = blobs(30)
    model = mlp()
    train, val = loaders(x, y)
    opt = pyml.optim.SGD(model.parameters(), lr=0.1)
    h = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=epochs, callbacks=callbacks, progress=False)
    return model, h


@pytest.mark.parametrize("values, kw, epochs_run", [
    # best 0.7 at epoch 5, then 3 epochs without improvement
    ([1.0, 0.8, 0.9, 0.85, 0.7, 0.75, 0.72, 0.71, 0.1, 0.1], {"patience": 3}, 8),
    # improvements smaller than min_delta do not count
    ([1.0, 0.97, 0.96, 0.95, 0.5, 0.4], {"patience": 3, "min_delta": 0.05}, 4),
    ([1.0, 0.97, 0.96, 0.95, 0.5, 0.4, 0.4, 0.4], {"patience": 3}, 8),
    ([1.0, 1.0, 1.0], {"patience": 1}, 2),
    ([3.0, 2.0, 1.0, 0.5], {"patience": 0}, 4),
    ([3.0, 2.0, 2.5, 1.0], {"patience": 0}, 3),
])
def test_early_stopping_stops_at_the_right_epoch(values, kw, epochs_run):
    _, h = _run([Scripted("val_loss", values), EarlyStopping(**kw)], epochs=len(values))
    assert len(h["loss"]) == epochs_run


def test_early_stopping_max_mode_on_accuracy():
    values = [0.5, 0.6, 0.6, 0.59, 0.61, 0.9]
    _, h = _run([Scripted("val_accuracy", values), EarlyStopping("val_accuracy", mode="max", patience=2)])
    assert len(h["loss"]) == 4


@pytest.mark.parametrize("restore", [True, False])
def test_restore_best_weights(restore):
    snaps = Snapshots()
    values = [1.0, 0.6, 0.4, 0.5, 0.45, 0.41, 0.2]
    model, h = _run([Scripted("val_loss", values), snaps, EarlyStopping(patience=3, restore_best_weights=restore)])
    assert len(h["loss"]) == 6
    assert same_params(params(model), snaps.by_epoch[2]) == restore
    assert same_params(params(model), snaps.by_epoch[-1]) != restore


def test_missing_monitor_is_a_clear_error():
    with pytest.raises(KeyError, match="'val_top9' is not among the logged values"):
        _run([EarlyStopping("val_top9")])


def test_early_stopping_arguments():
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="best")
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="min_delta"):
        EarlyStopping(min_delta=-0.1)


class _Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, state):
        self.calls.append("train_begin")

    def on_epoch_begin(self, state):
        self.calls.append(f"epoch_begin {state.epoch}")

    def on_batch_end(self, state):
        self.calls.append(f"batch {state.batch}/{state.num_batches}")

    def on_epoch_end(self, state):
        self.calls.append(f"epoch_end {state.epoch} {sorted(state.logs)[:2]}")
        if state.epoch == 1:
            state.stop("enough")

    def on_train_end(self, state):
        self.calls.append(f"train_end {state.stop_reason}")


def test_hook_order_and_stop():
    rec = _Recorder()
    pyml.manual_seed(0)
    x, y = blobs(16)
    model = mlp()
    train, _ = loaders(x, y, batch_size=8, val=False)
    h = fit(model, nn.CrossEntropyLoss(), pyml.optim.SGD(model.parameters(), lr=0.1), train, epochs=5,
            callbacks=[rec], progress=False)
    assert len(h["loss"]) == 2
    assert rec.calls == ["train_begin", "epoch_begin 0", "batch 0/2", "batch 1/2", "epoch_end 0 ['accuracy', "
                         "'epoch_time']", "epoch_begin 1", "batch 0/2", "batch 1/2",
                         "epoch_end 1 ['accuracy', 'epoch_time']", "train_end enough"]
