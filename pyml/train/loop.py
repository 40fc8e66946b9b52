"""The training loop: fit() and evaluate().

fit() is meant to be read top to bottom. Each epoch trains on every batch of train_loader (forward,
loss, backward, and every `accumulate` batches an optimizer step, after optional clipping of the
gradients' global norm), then measures val_loader without gradients, steps the scheduler, appends the
epoch's numbers to the history and lets the callbacks react. Epoch means are weighted by batch size,
so a short last batch counts for what it holds.
"""
import math
import time

from ..autograd import no_grad
from ..nn.utils.clip_grad import clip_grad_norm_
from ..optim.lr_scheduler import ReduceLROnPlateau
from .callbacks import FitState, Callback
from .checkpoint import ModelCheckpoint, restore_checkpoint
from .metrics import resolve_metrics
from .progress import ProgressBar

__all__ = ["fit", "evaluate"]


def fit(model, loss_fn, optimizer, train_loader, val_loader=None, epochs=1, scheduler=None, callbacks=(),
        metrics=("accuracy",), grad_clip=None, accumulate=1, progress=True, scheduler_step="epoch", resume=None):
    """Train `model` for `epochs` epochs and return the history: a dict of per-epoch lists with keys
    loss, <metric>..., val_loss, val_<metric>... (when val_loader is given), lr, epoch_time and
    samples_per_s. Batches are (inputs, targets) pairs; loss_fn(model(inputs), targets) is a scalar.

    grad_clip: max global L2 norm of the gradients before each step (None: no clipping).
    accumulate: step once every `accumulate` batches with the mean of their gradients.
    scheduler_step: "epoch" (after validation) or "batch" (after every optimizer step);
    a ReduceLROnPlateau scheduler is stepped per epoch with val_loss (loss without val_loader).
    resume: path of a ModelCheckpoint file; training continues after its last epoch exactly as the
    interrupted run would have.
    """
    _check_fit_args(epochs, grad_clip, accumulate, scheduler, scheduler_step, train_loader)
    metric_fns = resolve_metrics(metrics)
    state = FitState(model, optimizer, scheduler, loss_fn, train_loader, val_loader, epochs)
    state.history = _empty_history(metric_fns, val_loader is not None)
    state.callbacks = _arrange(callbacks, progress)
    was_training = model.training

    _call(state.callbacks, "on_train_begin", state)
    if resume is not None:
        restore_checkpoint(resume, state)
    state.train_start = time.perf_counter()
    per_batch_scheduler = scheduler if scheduler_step == "batch" else None
    while state.epoch < epochs and not state.stop_training:
        _call(state.callbacks, "on_epoch_begin", state)
        state.epoch_start = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]  # the history logs the rate the epoch starts with
        train_logs = _train_epoch(state, metric_fns, grad_clip, accumulate, per_batch_scheduler)
        train_seconds = time.perf_counter() - state.epoch_start
        val_logs = _evaluate(model, val_loader, loss_fn, metric_fns) if val_loader is not None else {}
        if scheduler is not None and scheduler_step == "epoch":
            _step_scheduler(scheduler, val_logs.get("loss", train_logs["loss"]))
        state.logs = {**train_logs, **{"val_" + k: v for k, v in val_logs.items()}, "lr": lr,
                      "epoch_time": time.perf_counter() - state.epoch_start,
                      "samples_per_s": state.samples / max(train_seconds, 1e-9)}
        for key, value in state.logs.items():
            state.history[key].append(value)
        _call(state.callbacks, "on_epoch_end", state)
        state.epoch += 1
    _call(state.callbacks, "on_train_end", state)
    model.train(was_training)
    return state.history


def evaluate(model, loader, loss_fn=None, metrics=("accuracy",)):
    """Mean loss (when loss_fn is given) and metrics of `model` over `loader`, in eval mode and without
    gradients; returns e.g. {"loss": 0.12, "accuracy": 0.97}. The model's mode is restored."""
    return _evaluate(model, loader, loss_fn, resolve_metrics(metrics))


# ---------------------------------------------------------------------------- one epoch
def _train_epoch(state, metric_fns, grad_clip, accumulate, scheduler):
    model, optimizer = state.model, state.optimizer
    model.train()
    meter = _Meter()
    state.num_batches = _length(state.train_loader)
    state.samples = 0
    device = _model_device(model)
    optimizer.zero_grad()
    for i, batch in enumerate(state.train_loader):
        inputs, targets = _unpack(batch, device)
        outputs = model(inputs)
        loss = state.loss_fn(outputs, targets)
        group = _group_size(i, state.num_batches, accumulate)
        (loss / group if group > 1 else loss).backward()
        if _ends_group(i, state.num_batches, accumulate):
            _optimizer_step(state, grad_clip, scheduler)
        values = _batch_values(loss.item(), outputs.detach(), targets, metric_fns)
        meter.add(values, len(targets))
        state.batch, state.batch_loss, state.samples = i, values["loss"], state.samples + len(targets)
        state.running = meter.means()
        _call(state.callbacks, "on_batch_end", state)
    if state.samples == 0:
        raise ValueError("fit: train_loader yielded no batches; it must hold at least one sample")
    return meter.means()


def _optimizer_step(state, grad_clip, scheduler):
    """Clip, step, clear the gradients, and step a per-batch scheduler (None: none)."""
    if grad_clip is not None:
        clip_grad_norm_(state.model.parameters(), grad_clip)
    state.optimizer.step()
    state.optimizer.zero_grad()
    if scheduler is not None:
        scheduler.step()


def _group_size(i, n_batches, accumulate):
    """How many batches share the optimizer step that batch i belongs to (the last group may be short)."""
    if accumulate == 1:
        return 1
    start = i - i % accumulate
    return min(accumulate, n_batches - start)


def _ends_group(i, n_batches, accumulate):
    return (i + 1) % accumulate == 0 or (n_batches is not None and i + 1 == n_batches)


def _step_scheduler(scheduler, monitored_loss):
    if isinstance(scheduler, ReduceLROnPlateau):
        scheduler.step(monitored_loss)
    else:
        scheduler.step()


@no_grad()
def _evaluate(model, loader, loss_fn, metric_fns):
    was_training = model.training
    model.eval()
    device = _model_device(model)
    meter = _Meter()
    for batch in loader:
        inputs, targets = _unpack(batch, device)
        outputs = model(inputs)
        loss = loss_fn(outputs, targets).item() if loss_fn is not None else None
        meter.add(_batch_values(loss, outputs, targets, metric_fns), len(targets))
    model.train(was_training)
    if meter.count == 0:
        raise ValueError("evaluate: the loader yielded no batches; it must hold at least one sample")
    return meter.means()


# ---------------------------------------------------------------------------- helpers
def _batch_values(loss, outputs, targets, metric_fns):
    values = {} if loss is None else {"loss": loss}
    for name, fn in metric_fns:
        values[name] = float(fn(outputs, targets))
    return values


class _Meter:
    """Sample-weighted means of per-batch values."""

    def __init__(self):
        self.sums, self.count = {}, 0

    def add(self, values, n):
        self.count += n
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + v * n

    def means(self):
        return {k: s / self.count for k, s in self.sums.items()}


def _unpack(batch, device):
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        kind = f"a {type(batch).__name__} of length {len(batch)}" if isinstance(batch, (tuple, list)) \
            else type(batch).__name__
        raise TypeError(f"fit: each batch must be an (inputs, targets) pair, got {kind}")
    inputs, targets = batch
    if device is not None:
        inputs, targets = _move(inputs, device), _move(targets, device)
    return inputs, targets


def _move(t, device):
    return t.to(device) if hasattr(t, "device") and t.device != device else t


def _model_device(model):
    for p in model.parameters():
        return p.device
    return None


def _length(loader):
    try:
        return len(loader)
    except TypeError:
        return None


def _empty_history(metric_fns, with_val):
    names = ["loss"] + [n for n, _ in metric_fns]
    keys = names + (["val_" + n for n in names] if with_val else []) + ["lr", "epoch_time", "samples_per_s"]
    return {k: [] for k in keys}


def _arrange(callbacks, progress):
    """The progress bar first; checkpoints last, so they save every other callback's end-of-epoch state."""
    callbacks = list(callbacks)
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"fit: callbacks must be pyml.train.Callback instances, got {type(cb).__name__}")
    plain = [cb for cb in callbacks if not isinstance(cb, ModelCheckpoint)]
    saving = [cb for cb in callbacks if isinstance(cb, ModelCheckpoint)]
    bar = [ProgressBar()] if progress and not any(isinstance(cb, ProgressBar) for cb in callbacks) else []
    return bar + plain + saving


def _call(callbacks, hook, state):
    for cb in callbacks:
        getattr(cb, hook)(state)


def _check_fit_args(epochs, grad_clip, accumulate, scheduler, scheduler_step, train_loader):
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative int, got {epochs!r}")
    if isinstance(accumulate, bool) or not isinstance(accumulate, int) or accumulate < 1:
        raise ValueError(f"fit: accumulate must be a positive int, got {accumulate!r}")
    if accumulate > 1 and _length(train_loader) is None:
        raise TypeError("fit: accumulate > 1 needs a train_loader with len() to size the last group, got "
                        f"{type(train_loader).__name__} without len()")
    if grad_clip is not None and (isinstance(grad_clip, bool) or not isinstance(grad_clip, (int, float))
                                  or not grad_clip > 0 or math.isinf(grad_clip)):
        raise ValueError(f"fit: grad_clip must be a positive finite number or None, got {grad_clip!r}")
    if scheduler_step not in ("epoch", "batch"):
        raise ValueError(f"fit: scheduler_step must be 'epoch' or 'batch', got {scheduler_step!r}")
    if scheduler_step == "batch" and isinstance(scheduler, ReduceLROnPlateau):
        raise ValueError("fit: ReduceLROnPlateau needs a per-epoch validation loss; use scheduler_step='epoch', "
                         "got scheduler_step='batch'")
