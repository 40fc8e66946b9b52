"""Chapter 3: small batch or large batch?

One epoch of N samples in batches of B takes ceil(N / B) updates. The chapter's table says a single
update costs about the same for small and moderate B (the hardware works on the batch in parallel;
on a CPU the fixed per-update overhead plays that part), so an epoch gets much faster as B grows,
until the arithmetic itself dominates (here from B ~ 1000 on a CPU) and the epoch time levels off.
What the larger batch loses is the number of (noisy) steps: after the same number of epochs at the
same learning rate, the small-batch runs have reached higher training and test accuracy.

The recipe times updates of one MLP on N = 10000 synthetic digits-sized samples (64 features, 10
classes) for B = 1 .. 10000, then trains the MLP on the 8x8 digits for a fixed number of epochs at
several batch sizes and reports training and test accuracy.
"""
import math
import time
from dataclasses import dataclass
from typing import Optional, Tuple

import pyml
from pyml import nn
from pyml.datasets import make_gaussian_mixture
from pyml.demo import digit_loaders
from pyml.train import evaluate, fit
from .base import BaseConfig, format_table, out_path, seed_everything

NAME = "batch-size"
CHAPTER = "3"
PURPOSE = "time per update / per epoch and accuracy against the batch size"

TIMING_SIZES = {"quick": (1, 10, 100, 1000, 10000),
                "full": (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)}
ACCURACY_SIZES = {"quick": (4, 32, 256, 2048), "full": (1, 4, 16, 64, 256, 2048)}
EPOCHS = {"quick": 5, "full": 10}
MIN_TIMED = 5        # updates timed at least, even when an epoch has fewer (the median needs a few)


@dataclass
class Config(BaseConfig):
    n_samples: int = 10000                           # synthetic samples for the timing part
    timing_sizes: Optional[Tuple[int, ...]] = None   # None: TIMING_SIZES[quick or full]
    timed_updates: Optional[int] = None              # per size (>= 5); None: quick 20, full a whole epoch
    accuracy_sizes: Optional[Tuple[int, ...]] = None  # None: ACCURACY_SIZES; > training set = full batch
    hidden: int = 128
    lr: float = 0.05                                 # plain SGD, the same for every batch size


def updates_per_epoch(n_samples, batch_size, drop_last=False):
    """Optimizer updates in one pass over n_samples in batches of batch_size: ceil(N / B), or
    floor(N / B) when the short last batch is dropped (N = 10000, B = 10 -> 1000)."""
    for arg, value in (("n_samples", n_samples), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"updates_per_epoch: {arg} must be a positive int, got {value!r}")
    return n_samples // batch_size if drop_last else math.ceil(n_samples / batch_size)


def build_mlp(hidden=128, in_features=64, num_classes=10):
    """The model both parts train: flatten, one hidden ReLU layer, class logits."""
    return nn.Sequential(nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))


# ---------------------------------------------------------------------------- part 1: timing
def _synchronize(device):
    """Wait for queued GPU work so a wall-clock reading covers it (nothing to wait for on the CPU)."""
    if str(device).startswith("cuda"):
        pyml.cuda.synchronize()


def time_updates(model, x, y, batch_size, max_updates, lr, device):
    """Seconds of each of `max_updates` SGD updates (forward, loss, backward, step) walking through
    the shuffled data, from the start again after its end; two untimed warm-up updates come first."""
    optimizer = pyml.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    order = pyml.randperm(len(x)).to(device)
    x, y = x[order], y[order]
    seconds = []
    for i in range(max_updates + 2):
        start = (i * batch_size) % len(x)
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        _synchronize(device)
        t0 = time.perf_counter()
        optimizer.zero_grad()
        loss_fn(model(xb), yb).backward()
        optimizer.step()
        _synchronize(device)
        if i >= 2:
            seconds.append(time.perf_counter() - t0)
    return seconds


def timing_rows(config, sizes, max_updates):
    """One row per batch size: updates per epoch, the median ms per update, and seconds per epoch
    as that median times the updates per epoch (the median, because on a shared machine a few
    updates are stretched by other processes taking the core)."""
    x, y = make_gaussian_mixture(config.n_samples, centers=10, n_features=64, std=4.0, seed=config.seed)
    x, y = x.to(config.device), y.to(config.device)
    rows = []
    for b in sizes:
        updates = updates_per_epoch(config.n_samples, b)
        timed = max(MIN_TIMED, updates if max_updates is None else min(updates, max_updates))
        model = build_mlp(config.hidden).to(config.device)
        seconds = sorted(time_updates(model, x, y, b, timed, config.lr, config.device))
        median = seconds[len(seconds) // 2]
        rows.append({"batch_size": b, "updates_per_epoch": updates, "ms_per_update": 1e3 * median,
                     "s_per_epoch": median * updates, "timed_updates": timed})
    return rows


# ---------------------------------------------------------------------------- part 2: accuracy
def train_at_batch_size(config, batch_size, epochs):
    """Train a fresh MLP on the digits split with SGD for `epochs` epochs; returns its table row."""
    seed_everything(config.seed)  # the same split, initialisation and shuffles for every batch size
    train_loader, test_loader = digit_loaders(batch_size=batch_size)
    n_train = len(train_loader.dataset)
    if batch_size > n_train:  # one full batch: the same split again, drawn from the same seed
        seed_everything(config.seed)
        train_loader, test_loader = digit_loaders(batch_size=n_train)
    model = build_mlp(config.hidden).to(config.device)
    optimizer = pyml.optim.SGD(model.parameters(), lr=config.lr)
    start = time.perf_counter()
    fit(model, nn.CrossEntropyLoss(), optimizer, train_loader, epochs=epochs, progress=config.progress)
    seconds = time.perf_counter() - start
    train = evaluate(model, train_loader)
    test = evaluate(model, test_loader)
    return {"batch_size": min(batch_size, n_train), "updates": epochs * len(train_loader),
            "train_accuracy": train["accuracy"], "test_accuracy": test["accuracy"], "seconds": seconds}


# ---------------------------------------------------------------------------- the recipe
def run(config):
    preset = "quick" if config.quick else "full"
    seed_everything(config.seed)
    timed = config.timed_updates or (20 if config.quick else None)
    timing = timing_rows(config, config.timing_sizes or TIMING_SIZES[preset], timed)
    epochs = config.epochs or EPOCHS[preset]
    accuracy = [train_at_batch_size(config, b, epochs) for b in config.accuracy_sizes or ACCURACY_SIZES[preset]]
    metrics = {"n_samples": config.n_samples, "epochs": epochs, "timing": timing, "accuracy": accuracy,
               "epoch_time_ratio": timing[0]["s_per_epoch"] / timing[-1]["s_per_epoch"],
               "update_time_ratio": timing[-1]["ms_per_update"] / timing[0]["ms_per_update"]}
    path = out_path(config, "batch_size.png")
    if path:
        metrics["plot"] = plot(timing, accuracy, path)
    return metrics


def table(metrics):
    timing = format_table(metrics["timing"], ["batch_size", "updates_per_epoch", "ms_per_update", "s_per_epoch",
                                              "timed_updates"])
    accuracy = format_table(metrics["accuracy"], ["batch_size", "updates", "train_accuracy", "test_accuracy",
                                                  "seconds"])
    return (f"time per update and per epoch, N = {metrics['n_samples']} (MLP, plain SGD)\n{timing}\n"
            f"epoch time, smallest / largest batch: {metrics['epoch_time_ratio']:.1f}x; update time, largest / "
            f"smallest: {metrics['update_time_ratio']:.1f}x\n\n"
            f"digits after {metrics['epochs']} epochs at the same learning rate\n{accuracy}")


def plot(timing, accuracy, path):
    """Two log-x panels: ms per update and s per epoch against B; accuracies against B."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(10, 3.8), dpi=100)
    FigureCanvasAgg(fig)
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    sizes = [r["batch_size"] for r in timing]
    left.loglog(sizes, [r["ms_per_update"] / 1e3 for r in timing], marker="o", label="one update")
    left.loglog(sizes, [r["s_per_epoch"] for r in timing], marker="s", label="one epoch")
    left.set(xlabel="batch size", ylabel="seconds", title="time against batch size")
    sizes = [r["batch_size"] for r in accuracy]
    for key in ("train_accuracy", "test_accuracy"):
        right.semilogx(sizes, [r[key] for r in accuracy], marker="o", label=key.replace("_", " "))
    right.set(xlabel="batch size", ylabel="accuracy", title="digits, same epochs and learning rate")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path
