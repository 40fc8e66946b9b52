"""Training checkpoints: ModelCheckpoint saves them, fit(resume=path) continues from them.

A checkpoint (written with pyml.save) holds everything the next epoch depends on: model weights,
optimizer state, scheduler state, the history so far, the stateful callbacks' states, and the random
generators that shuffling and dropout draw from (pyml's default generator plus any generator a
DataLoader or its sampler owns). Restoring all of it at an epoch boundary makes a resumed run
produce the same parameters and history as a run that was never interrupted.
"""
import os

from .._ops.random import Generator, get_rng_state, set_rng_state
from .callbacks import Callback, Monitor

__all__ = ["ModelCheckpoint", "save_checkpoint", "restore_checkpoint"]

_KEYS = ("epoch", "model", "optimizer", "scheduler", "history", "rng", "callbacks", "stop_reason")


class ModelCheckpoint(Callback):
    """Save a checkpoint to `path` at the end of every epoch, or with save_best_only only when
    `monitor` improves (monitor None means val_loss when fit() validates, else loss). `path` may hold
    format fields such as "ckpt-{epoch}.pyml" (epoch counts from 1). fit() runs checkpoints after the
    other callbacks so their end-of-epoch state is included."""

    def __init__(self, path, monitor=None, mode="min", save_best_only=False):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"ModelCheckpoint: path must be a str or os.PathLike, got {type(path).__name__}")
        self.path = os.fspath(path)
        self.monitor_name = monitor
        self.monitor = Monitor(monitor, mode, 0.0, "ModelCheckpoint")
        self.save_best_only = bool(save_best_only)
        self.last_saved = None

    def on_train_begin(self, state):
        self.monitor.reset()
        default = "val_loss" if state.val_loader is not None else "loss"
        self.monitor.key = self.monitor_name if self.monitor_name is not None else default

    def on_epoch_end(self, state):
        if self.save_best_only:
            value = self.monitor.read(state.logs)
            if not self.monitor.improves(value):
                return
            self.monitor.best = value
        self.last_saved = self.path.format(epoch=state.epoch + 1, **state.logs)
        save_checkpoint(state, self.last_saved)

    def state_dict(self):
        return {"best": self.monitor.best}

    def load_state_dict(self, state_dict):
        self.monitor.best = state_dict["best"]


def save_checkpoint(state, path):
    """Write the training state at the end of epoch `state.epoch` (0-based) to `path`."""
    import pyml
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    scheduler = state.scheduler
    pyml.save({
        "epoch": state.epoch + 1,  # epochs completed
        "model": state.model.state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "history": state.history,
        "rng": _rng_states(state),
        "callbacks": _callback_states(state.callbacks),
        "stop_reason": state.stop_reason,
    }, path)


def _callback_states(callbacks):
    """[[class name, state], ...] for the callbacks that have a state."""
    named = [[type(cb).__name__, cb.state_dict()] for cb in callbacks]
    return [entry for entry in named if entry[1] is not None]


def restore_checkpoint(path, state):
    """Load a checkpoint written by save_checkpoint into the objects of a new fit() call."""
    import pyml
    ckpt = pyml.load(path)
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in _KEYS):
        raise ValueError(f"fit: resume={path!r} is not a training checkpoint (needs keys {list(_KEYS)}), got "
                         f"{sorted(ckpt) if isinstance(ckpt, dict) else type(ckpt).__name__}")
    state.model.load_state_dict(ckpt["model"])
    state.optimizer.load_state_dict(ckpt["optimizer"])
    _restore_scheduler(state.scheduler, ckpt["scheduler"], path)
    _restore_history(state.history, ckpt["history"], path)
    _restore_callbacks(state.callbacks, ckpt["callbacks"])
    _set_rng_states(state, ckpt["rng"])
    state.epoch = ckpt["epoch"]
    state.stop_reason = ckpt["stop_reason"]
    state.stop_training = state.stop_reason is not None


def _restore_scheduler(scheduler, saved, path):
    if (scheduler is None) != (saved is None):
        have = "no scheduler" if scheduler is None else type(scheduler).__name__
        raise ValueError(f"fit: resume={path!r} needs the same scheduler setup as the saved run; the checkpoint "
                         f"{'has no' if saved is None else 'has a'} scheduler state, got {have}")
    if scheduler is not None:
        scheduler.load_state_dict(saved)


def _restore_history(history, saved, path):
    if sorted(history) != sorted(saved):
        raise ValueError(f"fit: resume={path!r} needs the same metrics and validation setup as the saved run; "
                         f"checkpoint history keys {sorted(saved)}, got {sorted(history)}")
    for key in history:
        history[key] = list(saved[key])


def _restore_callbacks(callbacks, saved):
    """Hand each stateful callback the next saved state of its class, in order."""
    pending = {}
    for name, cb_state in saved:
        pending.setdefault(name, []).append(cb_state)
    for cb in callbacks:
        queue = pending.get(type(cb).__name__)
        if cb.state_dict() is not None and queue:
            cb.load_state_dict(queue.pop(0))


def _loader_generators(loader):
    """The distinct pyml.Generators a DataLoader draws from: its own and its samplers'."""
    batch_sampler = getattr(loader, "batch_sampler", None)
    owners = (loader, getattr(loader, "sampler", None), batch_sampler, getattr(batch_sampler, "sampler", None))
    found = []
    for owner in owners:
        g = getattr(owner, "generator", None)
        if isinstance(g, Generator) and all(g is not f for f in found):
            found.append(g)
    return found


def _rng_states(state):
    return {"default": get_rng_state(),
            "train_loader": [g.get_state() for g in _loader_generators(state.train_loader)],
            "val_loader": [g.get_state() for g in _loader_generators(state.val_loader)]}


def _set_rng_states(state, saved):
    set_rng_state(saved["default"])
    for key, loader in (("train_loader", state.train_loader), ("val_loader", state.val_loader)):
        gens = _loader_generators(loader)
        if len(gens) != len(saved[key]):
            raise ValueError(f"fit: resume needs {key} to draw from as many pyml.Generators as the saved run "
                             f"({len(saved[key])}), got {len(gens)}")
        for g, s in zip(gens, saved[key]):
            g.set_state(s)
