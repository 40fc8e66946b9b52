"""critical-points (chapter 3): when the gradient is zero, the Hessian says what kind of point it is.

1. The course's toy model y = w1 * w2 * x on one sample (x = 1, y = 1): L = (1 - w1 w2)^2. At (0, 0)
   the gradient is zero and the Hessian is exactly [[0, -2], [-2, 0]] with eigenvalues -2 and 2:
   a saddle point. Moving along the eigenvector of -2, u = [1, 1], lowers the loss. On the valley
   of minima w1 w2 = 1 the Hessian has a zero eigenvalue: those minima are degenerate.
2. A small tanh network whose weights are all zero (output bias at the targets' mean) has the same
   structure: its gradient is exactly zero, so gradient descent never leaves it, yet it is a saddle;
   one step along the escape direction and gradient descent trains again.
3. A few small networks trained until the gradient norm is small: the eigenvalues of the Hessian
   with respect to all their parameters classify where training stopped, and the "minimum ratio"
   (positive eigenvalues / all) says how close to a local minimum it is.
"""
from dataclasses import dataclass, field
from typing import List, Optional

import pyml
from .. import optim
from ..analysis import hessian, classify_critical_point, minimum_ratio, escape_direction, loss_surface, \
    plot_contours
from ..models import MLP
from .._threads import engine_threads
from .base import BaseConfig, format_table, out_path, seed_everything

NAME = "critical-points"
CHAPTER = "3"
PURPOSE = "Hessian at critical points: the w1*w2*x saddle, escaping it, minimum ratio of trained nets"
ZERO_NET_HIDDEN = 4                        # hidden units of the zero-weight network (13 parameters)


@dataclass
class Config(BaseConfig):
    samples: int = 24                      # 1-D regression points for the networks
    escape_step: float = 0.5               # distance moved along the escape direction
    after_escape_steps: int = 300          # gradient-descent steps from the zero network and its escape
    gd_lr: float = 0.1
    architectures: List[List[int]] = field(default_factory=lambda: [[3], [4], [6], [2, 2], [3, 3]])
    train_steps: int = 3000                # Adam steps per trained network (quick: 1500)
    train_lr: float = 0.02
    eig_tol: float = 1e-6                  # |eigenvalue| <= tol counts as zero
    threads: Optional[int] = 1             # engine threads during the run (None: leave as is)


# ---------------------------------------------------------------------------- 1. the course's toy model
def toy_loss(w, x=1.0, y=1.0):
    """L(w1, w2) = (y - w1 w2 x)^2 for the model y = w1 * w2 * x on the sample (x, y)."""
    return (y - w[0] * w[1] * x) ** 2


def gradient_of(loss_fn, params):
    """The gradient of loss_fn() with respect to params, as one flat vector."""
    grads = pyml.autograd.grad(loss_fn(), params, allow_unused=True)
    return pyml.cat([(g if g is not None else pyml.zeros_like(p)).reshape(-1) for g, p in zip(grads, params)])


def toy_model(config):
    """The saddle at (0, 0), the step out of it, and a point on the valley of minima."""
    w = pyml.zeros(2, dtype=pyml.float64, requires_grad=True)
    H = hessian(lambda: toy_loss(w), [w])
    kind, eigenvalues = classify_critical_point(H, config.eig_tol)
    value, u = escape_direction(H, config.eig_tol)
    u = u * (1.0 if u[0].item() > 0 else -1.0)                      # the course writes it as [1, 1]
    t = config.escape_step
    valley = pyml.tensor([1.0, 1.0], dtype=pyml.float64, requires_grad=True)
    valley_kind, valley_eigenvalues = classify_critical_point(hessian(lambda: toy_loss(valley), [valley]),
                                                              config.eig_tol)
    return {"toy_gradient": gradient_of(lambda: toy_loss(w), [w]).tolist(), "toy_hessian": H.tolist(),
            "toy_eigenvalues": eigenvalues.tolist(), "toy_kind": kind,
            "toy_escape_direction": (u / u[0]).tolist(), "toy_loss_at_saddle": toy_loss(w).item(),
            "toy_loss_after_escape": toy_loss(t * u).item(),
            "toy_loss_predicted": toy_loss(w).item() + 0.5 * value * t * t,
            "valley_eigenvalues": valley_eigenvalues.tolist(), "valley_kind": valley_kind}


# ---------------------------------------------------------------------------- 2. a network stuck at a saddle
def regression_data(config, generator):
    """x uniform in [-2, 2], y = sin(1.5 x) + noise: (samples, 1) float64 tensors."""
    x = pyml.rand(config.samples, 1, generator=generator, dtype=pyml.float64) * 4.0 - 2.0
    y = pyml.sin(1.5 * x) + 0.1 * pyml.randn(config.samples, 1, generator=generator, dtype=pyml.float64)
    return x.to(config.device), y.to(config.device)


def mse_of(model, x, y):
    return lambda: ((model(x) - y) ** 2).mean()


def descend(model, loss_fn, lr, steps):
    """Plain full-batch gradient descent; returns the final loss."""
    optimizer = optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn().backward()
        optimizer.step()
    return loss_fn().item()


def zero_network(y, hidden, device):
    """A 1-hidden-1 tanh MLP with every weight zero and the output bias at mean(y): a critical point."""
    model = MLP(1, [hidden], 1, activation="tanh").double().to(device)
    with pyml.no_grad():
        for p in model.parameters():
            p.zero_()
        model.layers[-1].bias.fill_(y.mean().item())
    return model


def move_along(params, direction, distance):
    """params += distance * direction, with `direction` one flat vector over all the parameters."""
    with pyml.no_grad():
        offset = 0
        for p in params:
            n = p.numel()
            p.add_(distance * direction[offset:offset + n].reshape(p.shape).to(p.device))
            offset += n


def stuck_network(config, x, y):
    """Zero network: exact zero gradient, a saddle; GD from it stays put, GD after an escape step trains."""
    stuck = zero_network(y, ZERO_NET_HIDDEN, config.device)
    loss_fn = mse_of(stuck, x, y)
    params = list(stuck.parameters())
    H = hessian(loss_fn, params)
    kind, eigenvalues = classify_critical_point(H, config.eig_tol)
    start_loss, grad_norm = loss_fn().item(), gradient_of(loss_fn, params).norm().item()
    stuck_loss = descend(stuck, loss_fn, config.gd_lr, config.after_escape_steps)
    escaped = zero_network(y, ZERO_NET_HIDDEN, config.device)
    escaped_fn = mse_of(escaped, x, y)
    move_along(list(escaped.parameters()), escape_direction(H, config.eig_tol)[1], config.escape_step)
    loss_after_step = escaped_fn().item()
    return {"zero_net_loss": start_loss, "zero_net_grad_norm": grad_norm, "zero_net_kind": kind,
            "zero_net_eigenvalues": eigenvalues.tolist(), "zero_net_ratio": minimum_ratio(H, config.eig_tol),
            "zero_net_loss_after_gd": stuck_loss, "zero_net_loss_after_escape_step": loss_after_step,
            "zero_net_loss_after_escape_and_gd": descend(escaped, escaped_fn, config.gd_lr,
                                                         config.after_escape_steps)}


# ---------------------------------------------------------------------------- 3. trained networks
def train_until_flat(model, loss_fn, steps, lr):
    """Adam with a cosine-decaying rate, so the last updates settle where the gradient is small."""
    optimizer = optim.Adam(model.parameters(), lr=lr)
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn().backward()
        optimizer.step()
        schedule.step()


def examine(name, model, loss_fn, tol):
    """One table row: loss, gradient norm and the Hessian's eigenvalue signs at the trained point."""
    params = list(model.parameters())
    H = hessian(loss_fn, params)
    kind, eigenvalues = classify_critical_point(H, tol)
    positive = int((eigenvalues > tol).sum().item())
    negative = int((eigenvalues < -tol).sum().item())
    return {"network": name, "params": H.shape[0], "loss": loss_fn().item(),
            "grad_norm": gradient_of(loss_fn, params).norm().item(), "positive": positive, "negative": negative,
            "zero": H.shape[0] - positive - negative, "min_ratio": minimum_ratio(H, tol), "kind": kind,
            "min_eigenvalue": eigenvalues[0].item()}


def trained_networks(config, x, y):
    steps = config.epochs if config.epochs is not None else (1500 if config.quick else config.train_steps)
    architectures = config.architectures[:3] if config.quick else config.architectures
    rows = []
    for hidden in architectures:
        model = MLP(1, hidden, 1, activation="tanh").double().to(config.device)
        loss_fn = mse_of(model, x, y)
        start_norm = gradient_of(loss_fn, list(model.parameters())).norm().item()
        train_until_flat(model, loss_fn, steps, config.train_lr)
        row = examine("1-" + "-".join(map(str, hidden)) + "-1 tanh", model, loss_fn, config.eig_tol)
        rows.append(dict(row, grad_norm_at_start=start_norm))
    return rows


# ---------------------------------------------------------------------------- plot and recipe
def draw_toy(config, toy):
    """Contours of the toy loss around the saddle, with the escape step and gradient descent after it."""
    u = pyml.tensor(toy["toy_escape_direction"], dtype=pyml.float64)
    w = (0.1 * u / u.norm()).requires_grad_(True)          # a short step out of the saddle
    optimizer = optim.SGD([w], lr=0.05)
    path = [[0.0, 0.0], w.tolist()]
    for _ in range(60):
        optimizer.zero_grad()
        toy_loss(w).backward()
        optimizer.step()
        path.append(w.tolist())
    e1, e2 = pyml.tensor([1.0, 0.0], dtype=pyml.float64), pyml.tensor([0.0, 1.0], dtype=pyml.float64)
    surface = loss_surface(toy_loss, pyml.zeros(2, dtype=pyml.float64), e1, e2, span=1.6, steps=81)
    levels = [0.02, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0]
    return plot_contours(surface, out_path(config, "toy_saddle.png"), trajectories={"escape, then GD": path},
                         levels=levels, title="L = (1 - w1 w2)^2: saddle at (0, 0)", xlabel="w1", ylabel="w2")


def run(config):
    with engine_threads(config.threads):
        return _run(config)


def _run(config):
    seed_everything(config.seed)
    generator = pyml.Generator().manual_seed(config.seed)
    x, y = regression_data(config, generator)
    metrics = toy_model(config)
    metrics.update(stuck_network(config, x, y))
    metrics["networks"] = trained_networks(config, x, y)
    metrics["plot"] = draw_toy(config, metrics) if config.out is not None else None
    return metrics


def table(metrics):
    m = metrics
    lines = [
        f"toy y = w1*w2*x at (0, 0): gradient {m['toy_gradient']}, H = {m['toy_hessian']}, "
        f"eigenvalues {m['toy_eigenvalues']} -> {m['toy_kind']}",
        f"  escape along u = {m['toy_escape_direction']}: loss {m['toy_loss_at_saddle']:.4g} -> "
        f"{m['toy_loss_after_escape']:.4g} (second-order estimate {m['toy_loss_predicted']:.4g})",
        f"  at (1, 1) on the valley w1*w2 = 1: eigenvalues {m['valley_eigenvalues']} -> {m['valley_kind']}",
        f"zero-weight 1-4-1 tanh net: gradient norm {m['zero_net_grad_norm']:.3g}, {m['zero_net_kind']}, "
        f"minimum ratio {m['zero_net_ratio']:.3g}",
        f"  loss {m['zero_net_loss']:.4g}; after GD {m['zero_net_loss_after_gd']:.4g}; after the escape step "
        f"{m['zero_net_loss_after_escape_step']:.4g}, then GD {m['zero_net_loss_after_escape_and_gd']:.4g}",
        "trained networks (Hessian w.r.t. all parameters):"]
    columns = ["network", "params", "loss", "grad_norm_at_start", "grad_norm", "positive", "negative", "zero",
               "min_ratio", "kind"]
    return "\n".join(lines) + "\n" + format_table(m["networks"], columns, floatfmt="{:.3g}")
