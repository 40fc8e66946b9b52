"""views-regression (chapters 1-2): predict tomorrow's views from the previous days, first with linear
models that look further back, then with deeper ReLU networks, and watch overfitting appear.

The course's daily view counts are private, so the data is pyml.datasets.daily_series (2017-01-01 to
2021-02-14: trend, a weekly cycle with two low days, a year-end holiday dip, noise). The models learn on
the days before 2021 and are tested on the 45 days of 2021, like the course. Every model predicts the
same target days (the first 56 days are only ever inputs), so the windows compare fairly.

1. Linear models on the last 1, 7, 28, 56 days: a longer window can only lower the training loss
   (each model contains the shorter ones), and the 7-day window catches the weekly cycle.
2. ReLU networks with 1, 2, 3, 4 hidden layers of 100 units on the 56-day window: more layers fit
   the training days better, but the test loss rises again: the 4-layer network, best on the
   training days, is the worst on the test days (overfitting). The full run averages each depth
   over several initialisations, since one 45-day test period is a noisy judge.
Inputs and targets are standardised with the training days' mean and std; the models minimise the
mean squared error, and the table reports the course's loss, the mean absolute error, in thousands
of views (k).
"""
import datetime
from dataclasses import dataclass
from typing import Optional, Tuple

import pyml
from .. import optim
from ..datasets import daily_series, sliding_windows
from ..models import MLP
from ..nn import functional as F
from .._threads import engine_threads
from .base import BaseConfig, format_table, out_path, seed_everything

NAME = "views-regression"
CHAPTER = "1-2"
PURPOSE = "linear models on 1/7/28/56-day windows and 1-4 layer ReLU nets on a daily series: train/test loss"

TEST_START = datetime.date(2021, 1, 1)


@dataclass
class Config(BaseConfig):
    windows: Tuple[int, ...] = (1, 7, 28, 56)
    depths: Tuple[int, ...] = (1, 2, 3, 4)       # hidden layers of the ReLU networks (on the longest window)
    width: int = 100
    train_days: Optional[int] = None              # use only the most recent training days (None: all)
    linear_steps: int = 300                       # full-batch Adam steps (config.epochs overrides both)
    net_steps: int = 300
    initialisations: int = 3                      # networks trained per depth, losses averaged (quick: 1)
    linear_lr: float = 0.05
    net_lr: float = 2e-3
    threads: Optional[int] = 1                    # engine threads during the run (None: leave as is)


# ---------------------------------------------------------------------------- data
@dataclass
class Split:
    """Windows -> next day, split at TEST_START, standardised: views / 1000 = z * scale + offset."""
    x_train: pyml.Tensor
    y_train: pyml.Tensor
    x_test: pyml.Tensor
    y_test: pyml.Tensor
    scale: float
    offset: float


def make_split(series, window, longest, train_days, device):
    """(previous `window` days -> next day) pairs for the target days from `longest` on."""
    n_train = sum(d < TEST_START for d in series.dates)
    train_values = series.values[:n_train]
    mean, std = train_values.mean(), train_values.std()
    z = (series.values - mean) / std
    x, y = sliding_windows(z, window)
    x, y = x[longest - window:], y[longest - window:]           # row i predicts day longest + i
    first_test = n_train - longest
    first_train = 0 if train_days is None else max(0, first_test - train_days)
    return Split(x[first_train:first_test].to(device), y[first_train:first_test].to(device),
                 x[first_test:].to(device), y[first_test:].to(device), std.item() / 1000.0, mean.item() / 1000.0)


# ---------------------------------------------------------------------------- training
def train(model, split, steps, lr):
    """Full-batch Adam on the mean squared error, the rate decaying to 0 along a cosine."""
    optimizer = optim.Adam(model.parameters(), lr=lr)
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    for _ in range(steps):
        optimizer.zero_grad()
        F.mse_loss(model(split.x_train).squeeze(1), split.y_train).backward()
        optimizer.step()
        schedule.step()


def mean_abs_error(model, x, y, scale):
    """The course's loss L = mean |y - y_hat|, in thousands of views."""
    with pyml.no_grad():
        return F.l1_loss(model(x).squeeze(1), y).item() * scale


def fit_and_measure(name, window, make_model, split, steps, lr, repeats):
    """Train `repeats` models from fresh initial weights and average their losses; returns the row and
    the last model."""
    train_losses, test_losses = [], []
    for _ in range(repeats):
        model = make_model()
        train(model, split, steps, lr)
        train_losses.append(mean_abs_error(model, split.x_train, split.y_train, split.scale))
        test_losses.append(mean_abs_error(model, split.x_test, split.y_test, split.scale))
    row = {"model": name, "window": window, "inits": repeats, "train_loss_k": sum(train_losses) / repeats,
           "test_loss_k": sum(test_losses) / repeats, "test_spread_k": max(test_losses) - min(test_losses)}
    return row, model


def step_counts(config):
    if config.epochs is not None:
        return config.epochs, config.epochs
    return config.linear_steps, config.net_steps


# ---------------------------------------------------------------------------- the recipe
def run(config):
    with engine_threads(config.threads):
        return _run(config)


def _run(config):
    seed_everything(config.seed)                      # the models' initial weights
    series = daily_series(generator=pyml.Generator().manual_seed(config.seed))
    longest = max(config.windows)
    linear_steps, net_steps = step_counts(config)
    repeats = 1 if config.quick else config.initialisations
    rows, models = [], {}
    for window in config.windows:
        split = make_split(series, window, longest, config.train_days, config.device)
        name = f"linear, {window}-day window"
        row, model = fit_and_measure(name, window, lambda: MLP(window, [], 1).to(config.device), split,
                                     linear_steps, config.linear_lr, 1)    # convex: one start is enough
        rows.append(row)
        models[name] = (model, split)
    split = make_split(series, longest, longest, config.train_days, config.device)
    for depth in config.depths:
        name = f"ReLU {depth} x {config.width}"
        row, model = fit_and_measure(
            name, longest, lambda: MLP(longest, [config.width] * depth, 1, activation="relu").to(config.device),
            split, net_steps, config.net_lr, repeats)
        rows.append(row)
        models[name] = (model, split)
    plot = draw_predictions(config, series, models) if config.out is not None else None
    return {"rows": rows, "train_days": int(split.y_train.shape[0]), "test_days": int(split.y_test.shape[0]),
            "linear_steps": linear_steps, "net_steps": net_steps, "plot": plot}


def draw_predictions(config, series, models):
    """The 2021 test days and a few models' predictions, in thousands of views (PNG, matplotlib's
    object-oriented API)."""
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    fig = Figure(figsize=(9, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    _, split = next(iter(models.values()))
    days = list(range(1, split.y_test.shape[0] + 1))
    ax.plot(days, (split.y_test * split.scale + split.offset).tolist(), "k.-", label="views")
    for name in [n for n in models if n.startswith(("linear, 56", "ReLU 1 ", "ReLU 4 "))]:
        model, split = models[name]
        with pyml.no_grad():
            predicted = model(split.x_test).squeeze(1) * split.scale + split.offset
        ax.plot(days, predicted.tolist(), label=name)
    ax.set_xlabel("day of 2021")
    ax.set_ylabel("views (k)")
    ax.set_title("test days: views and predictions")
    ax.legend(fontsize="small")
    fig.tight_layout()
    path = out_path(config, "test_predictions.png")
    fig.savefig(path, format="png")
    return path


def table(metrics):
    head = (f"mean absolute error in thousands of views; {metrics['train_days']} training days (before 2021), "
            f"{metrics['test_days']} test days (2021)\n")
    columns = ["model", "window", "inits", "train_loss_k", "test_loss_k", "test_spread_k"]
    return head + format_table(metrics["rows"], columns, floatfmt="{:.3f}")
