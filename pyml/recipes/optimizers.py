"""optimizers (chapter 3): why plain gradient descent struggles on a long thin valley, and what
momentum, adaptive learning rates (Adagrad, RMSProp, Adam) and learning-rate schedules change.

The error surface is the elliptic bowl L(w1, w2) = (w1^2 + 200 w2^2) / 2, flat along w1 and steep
along w2, started at (-8, 0.5). Plain gradient descent has a single learning rate for both axes:
at 1e-2 (exactly GD's stability limit 2/200 on the steep axis) the iterate jumps from one wall of
the valley to the other for ever, so the loss stops falling while the gradient stays large; at 1e-7
it barely moves at all. The adaptive methods scale each parameter's step by its own gradient
history and reach the minimum. RMSProp with a constant rate keeps taking steps of about its rate
around the minimum (and bursts when its running average shrinks); a decaying rate (cosine) makes
the last steps small, and a warmup makes the first ones small. Every run records its final loss,
gradient norm and step lengths; the trajectories are drawn on the contours (two PNGs).
"""
import math
from dataclasses import dataclass
from typing import Optional

import pyml
from .. import optim
from ..analysis import loss_surface, plot_contours
from ..optim.lr_scheduler import CosineAnnealingLR, LambdaLR
from .._threads import engine_threads
from .base import BaseConfig, format_table, out_path, seed_everything

NAME = "optimizers"
CHAPTER = "3"
PURPOSE = "GD, momentum, Adagrad, RMSProp, Adam, decay and warmup on a long thin elliptic error surface"


@dataclass
class Config(BaseConfig):
    steps: int = 3000                 # updates per optimizer (quick: 1000); config.epochs overrides
    flat_curvature: float = 1.0       # d2L/dw1^2
    steep_curvature: float = 200.0    # d2L/dw2^2: 2 / 200 = 1e-2 is GD's stability limit on this axis
    start_w1: float = -8.0
    start_w2: float = 0.5
    warmup_steps: int = 20            # linear warmup before the cosine decay
    threads: Optional[int] = 1        # engine threads during the run (None: leave as is)


def number_of_steps(config):
    """Every update sees the whole (analytic) loss, so an epoch is one step."""
    if config.epochs is not None:
        return config.epochs
    return 1000 if config.quick else config.steps


# ---------------------------------------------------------------------------- the runs
def warmup_then_cosine(warmup_steps, total_steps):
    """Learning-rate factor: linear warmup over warmup_steps, then a cosine decay to 0 at total_steps."""
    def factor(t):
        return min((t + 1) / warmup_steps, 0.5 * (1 + math.cos(math.pi * min(t, total_steps) / total_steps)))
    return factor


def the_runs(config, steps):
    """(name, make optimizer, make scheduler or None) in the course's order. Adagrad and RMSProp appear in
    both forms: the standard one and the course's variant (root of the mean; sigma_0 = |g_0|). Momentum is
    PyTorch's b = 0.9 b + g, w -= lr b: the course's m_{t+1} = 0.9 m_t - lr g_t, w += m with m = -lr b."""
    return [
        ("GD lr=1e-2", lambda p: optim.SGD(p, lr=1e-2), None),
        ("GD lr=1e-7", lambda p: optim.SGD(p, lr=1e-7), None),
        ("momentum 0.9, lr=1e-3", lambda p: optim.SGD(p, lr=1e-3, momentum=0.9), None),
        ("Adagrad lr=0.5", lambda p: optim.Adagrad(p, lr=0.5), None),
        ("Adagrad root-mean (course) lr=0.5", lambda p: optim.Adagrad(p, lr=0.5, root_mean=True), None),
        ("RMSProp lr=0.05", lambda p: optim.RMSprop(p, lr=0.05), None),
        ("RMSProp sigma0=|g0| (course) lr=0.05", lambda p: optim.RMSprop(p, lr=0.05, init_abs_grad=True), None),
        ("Adam lr=0.1", lambda p: optim.Adam(p, lr=0.1), None),
        ("RMSProp lr=0.05 + cosine decay", lambda p: optim.RMSprop(p, lr=0.05),
         lambda o: CosineAnnealingLR(o, T_max=steps)),
        ("RMSProp lr=0.05 + warmup + cosine decay", lambda p: optim.RMSprop(p, lr=0.05),
         lambda o: LambdaLR(o, warmup_then_cosine(config.warmup_steps, steps))),
    ]


def descend(make_optimizer, make_scheduler, curvature, start, steps):
    """Run one optimizer from `start` for `steps` updates; returns the visited points (steps + 1, 2)."""
    w = start.clone().requires_grad_(True)
    optimizer = make_optimizer([w])
    scheduler = make_scheduler(optimizer) if make_scheduler is not None else None
    points = [start.tolist()]
    for _ in range(steps):
        optimizer.zero_grad()
        elliptic_loss(w, curvature).backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        points.append(w.detach().tolist())
    return points


def elliptic_loss(w, curvature):
    """L(w) = sum_i curvature_i * w_i^2 / 2 for one point w (2,) or a grid of them."""
    return (0.5 * curvature * w * w).sum(-1)


# ---------------------------------------------------------------------------- what a run shows
def summarise(name, points, curvature, device):
    """Final loss and gradient norm, and step lengths: the first, the longest in the second half, and
    the mean over the last 10% of the updates (how calm the end of the run is)."""
    steps = [math.dist(a, b) for a, b in zip(points, points[1:])]
    final = pyml.tensor(points[-1], dtype=pyml.float64, device=device)
    gradient = curvature * final
    tail = steps[-max(1, len(steps) // 10):]
    return {"name": name, "final_loss": elliptic_loss(final, curvature).item(),
            "grad_norm": gradient.pow(2).sum().sqrt().item(), "first_step": steps[0],
            "max_late_step": max(steps[len(steps) // 2:]), "mean_last_steps": sum(tail) / len(tail)}


def draw(config, curvature, start, trajectories):
    """Two contour plots of the valley: plain GD and momentum; the adaptive methods and schedules."""
    w1, w2 = start.tolist()
    origin = pyml.zeros(2, dtype=pyml.float64)
    e1, e2 = pyml.tensor([1.0, 0.0], dtype=pyml.float64), pyml.tensor([0.0, 1.0], dtype=pyml.float64)
    window = ((min(w1, 0.0) - 1.0, max(w1, 0.0) + 1.0), (-1.6 * abs(w2), 1.6 * abs(w2)))
    surface = loss_surface(lambda w: elliptic_loss(w, curvature.to("cpu")), origin, e1, e2, span=window,
                           steps=(121, 81))
    groups = {"gd_paths.png": ("GD lr=1e-2", "GD lr=1e-7", "momentum 0.9, lr=1e-3"),
              "adaptive_paths.png": ("Adagrad lr=0.5", "RMSProp sigma0=|g0| (course) lr=0.05", "Adam lr=0.1",
                                     "RMSProp lr=0.05 + cosine decay")}
    paths = []
    for filename, names in groups.items():
        path = out_path(config, filename)
        plot_contours(surface, path, trajectories={n: trajectories[n] for n in names}, levels=25,
                      log_levels=True, title="L = (w1^2 + 200 w2^2) / 2", xlabel="w1", ylabel="w2")
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------- the recipe
def run(config):
    with engine_threads(config.threads):
        return _run(config)


def _run(config):
    seed_everything(config.seed)        # nothing here is random; kept for the recipes' common contract
    steps = number_of_steps(config)
    curvature = pyml.tensor([config.flat_curvature, config.steep_curvature], dtype=pyml.float64,
                            device=config.device)
    start = pyml.tensor([config.start_w1, config.start_w2], dtype=pyml.float64, device=config.device)
    rows, trajectories = [], {}
    for name, make_optimizer, make_scheduler in the_runs(config, steps):
        points = descend(make_optimizer, make_scheduler, curvature, start, steps)
        trajectories[name] = points
        rows.append(summarise(name, points, curvature, config.device))
    plots = draw(config, curvature, start, trajectories) if config.out is not None else []
    return {"steps": steps, "initial_loss": elliptic_loss(start, curvature).item(), "runs": rows, "plots": plots}


def table(metrics):
    columns = ["name", "final_loss", "grad_norm", "first_step", "max_late_step", "mean_last_steps"]
    head = f"elliptic valley, {metrics['steps']} updates per optimizer, initial loss {metrics['initial_loss']:.4g}\n"
    return head + format_table(metrics["runs"], columns, floatfmt="{:.3g}")
