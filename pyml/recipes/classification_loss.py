"""Chapter 3: why classification uses softmax with cross-entropy rather than mean squared error.

Three logits y = (y1, y2, y3) go through softmax; the target is class 1, one-hot (1, 0, 0). With y3
pinned at -1000 (class 3 never wins) both losses depend only on (y1, y2). Where y1 is far below y2
the network is confidently wrong: the squared error of the probabilities sits on a plateau near 2
with almost no gradient, so gradient descent started there does not move, while cross-entropy keeps
a slope of about sqrt(2) and walks straight out. The recipe evaluates both surfaces on a grid,
measures the gradient norms in that flat corner, runs gradient descent from it, and shows why the
softmax must subtract the largest logit first: exp overflows (or underflows) in float32 otherwise.
"""
from dataclasses import dataclass

import pyml
import pyml.nn.functional as F
from .base import BaseConfig, format_table, out_path, seed_everything

NAME = "classification-loss"
CHAPTER = "3"
PURPOSE = "softmax; MSE vs cross-entropy loss surfaces: cross-entropy keeps a slope where MSE is flat"

COURSE_LOGITS = (3.0, 1.0, -3.0)           # softmax -> (0.8789, 0.1189, 0.0022)
PINNED_Y3 = -1000.0
TARGET = 0                                 # class 1 of the course, index 0 here


@dataclass
class Config(BaseConfig):
    span: float = 10.0          # surfaces over y1, y2 in [-span, span]
    steps: int = 0              # grid points per axis; 0: quick 41, full 201
    flat_gap: float = 10.0      # the flat corner: y2 - y1 >= flat_gap
    start: tuple = (-8.0, 8.0)  # gradient descent starts here, in the flat corner
    lr: float = 1.0
    descent_steps: int = 0      # 0: quick 50, full 200 (config.epochs overrides)
    wide_span: float = 100.0    # grid for the naive-vs-stable softmax comparison


def naive_softmax(y):
    """exp(y) / sum exp(y) along the last dim: overflows to inf/inf = nan once a logit passes ~88 in
    float32, and a probability underflows to 0 (log -> -inf) once it falls below ~1e-45."""
    e = y.exp()
    return e / e.sum(dim=-1, keepdim=True)


def stable_softmax(y):
    """The same function computed from y - max(y): every exponent is <= 0, the largest term is 1,
    so nothing overflows and the sum is at least 1."""
    e = (y - y.amax(dim=-1, keepdim=True)).exp()
    return e / e.sum(dim=-1, keepdim=True)


def squared_error(y, target):
    """Per-row sum over classes of (one_hot(target) - softmax(y))^2 (the course's e, a sum)."""
    onehot = F.one_hot(target, y.shape[-1]).to(y.dtype)
    return ((onehot - stable_softmax(y)) ** 2).sum(dim=-1)


def cross_entropy(y, target):
    """Per-row -log softmax(y)[target], from pyml's log-sum-exp kernel (stable for any logits)."""
    return F.cross_entropy(y, target, reduction="none")


LOSSES = {"mse": squared_error, "cross_entropy": cross_entropy}


# ---------------------------------------------------------------------------- surfaces and slopes
def logit_grid(span, steps, device="cpu"):
    """(steps*steps, 3) float32 logits: y1 along the columns, y2 along the rows, y3 = -1000; and the
    axis (on the CPU)."""
    axis = pyml.linspace(-span, span, steps)
    y1 = axis.reshape(1, steps).expand(steps, steps)                         # (steps, steps)
    y2 = axis.reshape(steps, 1).expand(steps, steps)
    y3 = pyml.full_like(y1, PINNED_Y3)
    return pyml.stack([y1, y2, y3], dim=-1).reshape(steps * steps, 3).to(device), axis


def surface_and_gradients(loss_fn, logits):
    """Loss at every grid point and the norm of its gradient w.r.t. (y1, y2). The points are
    independent, so one backward of the summed losses gives every point's own gradient."""
    y = logits.detach().clone().requires_grad_(True)
    losses = loss_fn(y, pyml.full((y.shape[0],), TARGET, dtype=pyml.int64, device=y.device))
    losses.sum().backward()
    grad_norm = y.grad[:, :2].square().sum(dim=1).sqrt()
    return losses.detach(), grad_norm


def flat_corner_stats(losses, grad_norm, logits, gap):
    """Mean loss and mean / max gradient norm over the grid points with y2 - y1 >= gap."""
    mask = (logits[:, 1] - logits[:, 0]) >= gap
    g = grad_norm[mask]
    return {"points": int(mask.sum()), "loss": losses[mask].mean().item(), "grad_norm_mean": g.mean().item(),
            "grad_norm_max": g.max().item()}


def descend(loss_fn, start, lr, steps, device="cpu"):
    """Plain gradient descent on (y1, y2) from `start`; returns the trajectory [(y1, y2, loss), ...]."""
    y12 = pyml.tensor(list(start), device=device, requires_grad=True)
    optimizer = pyml.optim.SGD([y12], lr=lr)
    target = pyml.tensor([TARGET], device=device)
    pinned = pyml.tensor([PINNED_Y3], device=device)
    path = []
    for step in range(steps + 1):
        optimizer.zero_grad()
        loss = loss_fn(pyml.cat([y12, pinned]).reshape(1, 3), target).sum()
        path.append((y12[0].item(), y12[1].item(), loss.item()))
        if step < steps:
            loss.backward()
            optimizer.step()
    return path


def naive_versus_stable(span, steps, device="cpu"):
    """Cross-entropy in float32 over a wide grid from the naive softmax and from the stable one:
    how many values come out inf/nan, and each one's largest error against float64 (the naive one
    only where it is finite: its tiny probabilities go subnormal and lose digits before they hit 0)."""
    logits, _ = logit_grid(span, steps, device)
    target = pyml.full((logits.shape[0],), TARGET, dtype=pyml.int64, device=device)
    reference = cross_entropy(logits.to(pyml.float64), target)
    naive = -naive_softmax(logits)[:, TARGET].log()
    stable = cross_entropy(logits, target)
    finite = naive.isfinite()
    return {"points": logits.shape[0], "naive_nonfinite": int((~finite).sum()),
            "stable_nonfinite": int((~stable.isfinite()).sum()),
            "naive_max_error_where_finite": _max_error(naive[finite], reference[finite]),
            "stable_max_error": _max_error(stable, reference)}


def _max_error(values, reference):
    if values.numel() == 0:
        return float("nan")
    return (values.to(pyml.float64) - reference).abs().max().item()


# ---------------------------------------------------------------------------- the recipe
def run(config):
    seed_everything(config.seed)  # nothing here is random; kept for the recipes' common contract
    steps = config.steps or (41 if config.quick else 201)
    descent_steps = config.epochs or config.descent_steps or (50 if config.quick else 200)
    metrics = softmax_examples()
    logits, axis = logit_grid(config.span, steps, config.device)
    surfaces, paths = {}, {}
    for name, loss_fn in LOSSES.items():
        losses, grad_norm = surface_and_gradients(loss_fn, logits)
        surfaces[name] = losses.reshape(steps, steps).cpu()
        paths[name] = descend(loss_fn, config.start, config.lr, descent_steps, config.device)
        metrics[f"{name}_flat"] = flat_corner_stats(losses, grad_norm, logits, config.flat_gap)
        metrics[f"{name}_nonfinite"] = int((~losses.isfinite()).sum() + (~grad_norm.isfinite()).sum())
        metrics[f"{name}_descent"] = _descent_summary(paths[name])
    metrics.update(flat_gap=config.flat_gap, descent_steps=descent_steps,
                   wide_grid=naive_versus_stable(config.wide_span, steps, config.device))
    path = out_path(config, "loss_surfaces.png")
    if path:
        metrics["plot"] = plot(axis.tolist(), surfaces, paths, path)
    return metrics


def softmax_examples():
    """The course's softmax(3, 1, -3), and the same logits plus 100 through both softmaxes (the
    function is unchanged by a shift; the naive form overflows)."""
    shifted = pyml.tensor([v + 100.0 for v in COURSE_LOGITS])
    return {"softmax_3_1_-3": stable_softmax(pyml.tensor(COURSE_LOGITS)).tolist(),
            "naive_softmax_shifted_by_100": naive_softmax(shifted).tolist(),
            "stable_softmax_shifted_by_100": stable_softmax(shifted).tolist()}


def _descent_summary(path):
    return {"start_loss": path[0][2], "final_loss": path[-1][2], "final_y1": path[-1][0], "final_y2": path[-1][1]}


def table(metrics):
    p = ", ".join(f"{v:.4f}" for v in metrics["softmax_3_1_-3"])
    rows = []
    for name in LOSSES:
        flat, descent = metrics[f"{name}_flat"], metrics[f"{name}_descent"]
        rows.append({"loss": name, "flat_loss": flat["loss"], "flat_grad_mean": flat["grad_norm_mean"],
                     "flat_grad_max": flat["grad_norm_max"], "descent_start": descent["start_loss"],
                     "descent_final": descent["final_loss"], "nonfinite": metrics[f"{name}_nonfinite"]})
    wide = metrics["wide_grid"]
    return (f"softmax(3, 1, -3) = ({p})\n"
            f"softmax(103, 101, 97): naive {_short(metrics['naive_softmax_shifted_by_100'])}, stable "
            f"{_short(metrics['stable_softmax_shifted_by_100'])}\n"
            f"flat corner (y2 - y1 >= {metrics['flat_gap']:g}, y3 = -1000); gradient descent for {metrics['descent_steps']} steps "
            f"from the corner\n{format_table(rows)}\n"
            f"cross-entropy over a wide grid ({wide['points']} points): naive softmax gives "
            f"{wide['naive_nonfinite']} inf/nan values (largest error elsewhere "
            f"{wide['naive_max_error_where_finite']:.2g}), stable {wide['stable_nonfinite']} "
            f"(largest error {wide['stable_max_error']:.2g})")


def _short(values):
    return "(" + ", ".join(f"{v:.4f}" for v in values) + ")"


def plot(axis, surfaces, paths, path):
    """Both loss surfaces in 3-D with the gradient-descent path from the flat corner drawn on each."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    import numpy as np
    fig = Figure(figsize=(11, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    y1, y2 = np.meshgrid(axis, axis)                      # (rows = y2, columns = y1), as logit_grid
    for k, name in enumerate(surfaces):
        ax = fig.add_subplot(1, 2, k + 1, projection="3d")
        ax.plot_surface(y1, y2, surfaces[name].numpy(), cmap="viridis", alpha=0.8, linewidth=0)
        ax.plot(*zip(*paths[name]), color="red", marker=".", markersize=3, label="gradient descent")
        ax.set(xlabel="y1", ylabel="y2", zlabel="loss", title=f"{name} (target class 1, y3 = -1000)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path
