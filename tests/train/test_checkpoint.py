"""ModelCheckpoint: save_best_only, and fit(resume=...) continuing bit for bit after a crash."""
import os

import numpy as np
import pytest

import pyml
from pyml import nn
from pyml.optim.lr_scheduler import StepLR, ReduceLROnPlateau
from pyml.train import fit, EarlyStopping, ModelCheckpoint

from train_helpers import blobs, mlp, loaders, params, same_params, Scripted, Snapshots, CrashAt, SimulatedCrash

_TIMINGS = ("epoch_time", "samples_per_s")


def _run(seed, epochs, callbacks=(), plateau=False, resume=None):
    """Dropout (default generator), a shuffling loader with its own generator, Adam state, a scheduler."""
    pyml.manual_seed(seed)
    x, y = blobs(45)
    model = mlp(dropout=0.3)
    train, val = loaders(x, y, batch_size=8, generator=pyml.Generator().manual_seed(seed + 1))
    opt = pyml.optim.Adam(model.parameters(), lr=0.02)
    # mode="max" on a falling val_loss: a plateau every epoch, so the rate and the plateau state move
    sched = ReduceLROnPlateau(opt, mode="max", patience=0, factor=0.5) if plateau else StepLR(opt, 1, gamma=0.7)
    callbacks = [EarlyStopping(patience=10, restore_best_weights=True)] + list(callbacks)
    h = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=epochs, scheduler=sched, callbacks=callbacks,
            metrics=("accuracy", "top2"), progress=False, resume=resume)
    return model, h


def _without_timings(h):
    return {k: v for k, v in h.items() if k not in _TIMINGS}


@pytest.mark.parametrize("plateau", [False, True])
def test_resume_after_a_crash_is_bit_exact(tmp_path, plateau):
    path = str(tmp_path / "run.pyml")
    straight_model, straight = _run(7, 4, plateau=plateau)
    with pytest.raises(SimulatedCrash):  # checkpoint after epochs 1 and 2, then dies inside epoch 3
        _run(7, 4, [ModelCheckpoint(path), CrashAt(epoch=2, batch=3)], plateau=plateau)
    assert pyml.load(path)["epoch"] == 2
    # a new process would build everything afresh, from other random numbers: all of it comes from the file
    resumed_model, resumed = _run(12345, 4, [ModelCheckpoint(path)], plateau=plateau, resume=path)
    assert same_params(params(resumed_model), params(straight_model))
    assert _without_timings(resumed) == _without_timings(straight)
    assert all(len(resumed[k]) == 4 for k in _TIMINGS)
    assert len(set(straight["lr"])) > 1  # the schedule really moved


def test_resume_of_a_finished_run_trains_no_more(tmp_path):
    path = str(tmp_path / "done.pyml")
    model, h = _run(3, 2, [ModelCheckpoint(path)])
    again_model, again = _run(99, 2, resume=path)
    assert _without_timings(again) == _without_timings(h)
    assert same_params(params(again_model), params(model))


def test_save_best_only(tmp_path):
    snaps = Snapshots()
    values = [1.0, 0.5, 0.7, 0.4, 0.6]
    pattern = str(tmp_path / "best-{epoch}.pyml")
    latest = str(tmp_path / "best.pyml")
    _run(1, 5, [Scripted("val_loss", values), snaps, ModelCheckpoint(pattern, save_best_only=True),
                ModelCheckpoint(latest, save_best_only=True)])
    assert sorted(os.listdir(tmp_path)) == ["best-1.pyml", "best-2.pyml", "best-4.pyml", "best.pyml"]
    ckpt = pyml.load(latest)
    assert ckpt["epoch"] == 4
    saved = [ckpt["model"][k].numpy() for k in ckpt["model"]]
    assert same_params(saved, snaps.by_epoch[3])
    assert len(ckpt["history"]["loss"]) == 4


def test_save_best_only_max_mode_and_every_epoch(tmp_path):
    values = [0.2, 0.9, 0.5, 0.95]
    _run(2, 4, [Scripted("val_accuracy", values),
                ModelCheckpoint(str(tmp_path / "acc-{epoch}.pyml"), monitor="val_accuracy", mode="max",
                                save_best_only=True),
                ModelCheckpoint(str(tmp_path / "all-{epoch}.pyml"))])
    assert sorted(os.listdir(tmp_path)) == ["acc-1.pyml", "acc-2.pyml", "acc-4.pyml"] + [
        f"all-{e}.pyml" for e in range(1, 5)]


def test_checkpoint_holds_the_training_state(tmp_path):
    path = str(tmp_path / "c.pyml")
    model, h = _run(4, 3, [ModelCheckpoint(path)])
    ckpt = pyml.load(path)
    assert sorted(ckpt) == ["callbacks", "epoch", "history", "model", "optimizer", "rng", "scheduler",
                            "stop_reason"]
    assert ckpt["scheduler"]["last_epoch"] == 3 and ckpt["stop_reason"] is None
    assert [name for name, _ in ckpt["callbacks"]] == ["EarlyStopping", "ModelCheckpoint"]
    assert np.array_equal(ckpt["rng"]["default"].numpy(), pyml.get_rng_state().numpy())
    assert len(ckpt["rng"]["train_loader"]) == 1 and ckpt["rng"]["val_loader"] == []
    assert set(ckpt["optimizer"]["state"]) == set(range(4))  # int keys survive


def test_resume_with_a_different_setup_fails(tmp_path):
    path = str(tmp_path / "c.pyml")
    _run(4, 1, [ModelCheckpoint(path)])
    pyml.manual_seed(0)
    x, y = blobs(45)
    model = mlp(dropout=0.3)
    train, val = loaders(x, y, batch_size=8, generator=pyml.Generator())
    opt = pyml.optim.Adam(model.parameters(), lr=0.02)
    with pytest.raises(ValueError, match="scheduler"):
        fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=2, progress=False, resume=path)
    with pytest.raises(ValueError, match="same metrics"):
        fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=2, progress=False, resume=path,
            scheduler=StepLR(opt, 1), metrics=("accuracy",))
    pyml.save({"weights": pyml.ones(2)}, str(tmp_path / "w.pyml"))
    with pytest.raises(ValueError, match="not a training checkpoint"):
        fit(model, nn.CrossEntropyLoss(), opt, train, val, progress=False, resume=str(tmp_path / "w.pyml"))
