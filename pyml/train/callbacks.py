"""Callbacks: small objects that fit() calls at fixed points of training.

fit() hands every hook the same FitState (model, optimizer, history, current epoch and batch, the
epoch's logs); a callback stops training by calling `state.stop(reason)`. Stateful callbacks expose
state_dict/load_state_dict so that a checkpoint can bring them back on resume. Here: the Callback
base, EarlyStopping, and the Monitor that both EarlyStopping and ModelCheckpoint use to decide what
counts as an improvement.
"""
import math

from ..autograd import no_grad

__all__ = ["FitState", "Callback", "EarlyStopping", "Monitor"]


class FitState:
    """Everything a callback may read during fit(); `logs` holds the current epoch's numbers once
    the epoch is over, `running` the epoch's means so far while it runs."""

    def __init__(self, model, optimizer, scheduler, loss_fn, train_loader, val_loader, epochs):
        self.model, self.optimizer, self.scheduler, self.loss_fn = model, optimizer, scheduler, loss_fn
        self.train_loader, self.val_loader = train_loader, val_loader
        self.epochs = epochs          # epochs requested in total
        self.epoch = 0                # 0-based index of the epoch running (= epochs finished before it)
        self.history = {}
        self.logs = {}
        self.callbacks = []
        self.batch = 0                # 0-based index of the batch just finished
        self.num_batches = None       # None when the loader has no len()
        self.batch_loss = math.nan
        self.running = {}
        self.samples = 0              # training samples seen this epoch
        self.epoch_start = 0.0        # time.perf_counter() when the epoch began
        self.train_start = 0.0
        self.stop_training = False
        self.stop_reason = None

    def stop(self, reason="stopped by a callback"):
        """Ask fit() to end after the current epoch."""
        self.stop_training = True
        self.stop_reason = reason


class Callback:
    """Base class: override the hooks you need; each receives the FitState."""

    def on_train_begin(self, state):
        pass

    def on_epoch_begin(self, state):
        pass

    def on_batch_end(self, state):
        pass

    def on_epoch_end(self, state):
        pass

    def on_train_end(self, state):
        pass

    def state_dict(self):
        """What a checkpoint must keep to resume this callback exactly; None if it has no state."""
        return None

    def load_state_dict(self, state_dict):
        pass


class Monitor:
    """Tracks the best value of one logged quantity; mode 'min' or 'max'. A value improves on the best
    when it beats it by more than min_delta."""

    def __init__(self, key, mode="min", min_delta=0.0, who="Monitor"):
        if mode not in ("min", "max"):
            raise ValueError(f"{who}: mode must be 'min' or 'max', got {mode!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float)) or min_delta < 0:
            raise ValueError(f"{who}: min_delta must be a non-negative number, got {min_delta!r}")
        self.key, self.mode, self.min_delta, self.who = key, mode, float(min_delta), who
        self.reset()

    def reset(self):
        self.best = math.inf if self.mode == "min" else -math.inf

    def read(self, logs):
        if self.key not in logs:
            raise KeyError(f"{self.who}: monitor {self.key!r} is not among the logged values {sorted(logs)}; "
                           f"pass val_loader to fit() to log val_* values")
        return float(logs[self.key])

    def improves(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


def _snapshot(model):
    with no_grad():
        return {k: v.detach().clone() for k, v in model.state_dict().items()}


class EarlyStopping(Callback):
    """Stop once `monitor` has not improved for `patience` epochs in a row. With restore_best_weights
    the model gets back the weights of its best epoch when training ends."""

    def __init__(self, monitor="val_loss", mode="min", patience=5, min_delta=0.0, restore_best_weights=False):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be a non-negative int, got {patience!r}")
        self.monitor = Monitor(monitor, mode, min_delta, "EarlyStopping")
        self.patience = patience
        self.restore_best_weights = bool(restore_best_weights)
        self._clear()

    def _clear(self):
        self.monitor.reset()
        self.wait = 0
        self.best_epoch = None
        self.best_weights = None

    def on_train_begin(self, state):
        self._clear()

    def on_epoch_end(self, state):
        value = self.monitor.read(state.logs)
        if self.monitor.improves(value):
            self.monitor.best, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore_best_weights:
                self.best_weights = _snapshot(state.model)
            return
        self.wait += 1
        if self.wait >= self.patience:
            best = "never improved" if self.best_epoch is None else \
                f"best {self.monitor.best:.6g} at epoch {self.best_epoch + 1}"
            state.stop(f"early stopping: {self.monitor.key} did not improve for {self.wait} epochs ({best})")

    def on_train_end(self, state):
        if self.best_weights is not None:
            state.model.load_state_dict(self.best_weights)

    def state_dict(self):
        return {"best": self.monitor.best, "wait": self.wait, "best_epoch": self.best_epoch,
                "best_weights": self.best_weights}

    def load_state_dict(self, state_dict):
        self.monitor.best = state_dict["best"]
        self.wait, self.best_epoch = state_dict["wait"], state_dict["best_epoch"]
        self.best_weights = state_dict["best_weights"]
