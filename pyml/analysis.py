"""pyml.analysis: looking at a loss around a point (course chapter 3, "when gradient descent stops").

hessian() builds the full matrix of second derivatives of a scalar loss with respect to a list of
parameters by double backward (one reverse pass per parameter element, so it is meant for small
models). Its eigenvalues classify a critical point (classify_critical_point, minimum_ratio) and give
the way out of a saddle (escape_direction). loss_surface() evaluates the loss on a 2-D slice of
parameter space and plot_contours() draws it with optimiser trajectories (matplotlib, optional).
Eigenvalues are computed with NumPy in float64: this is analysis, not a training hot path.
"""
import collections
import math
import os

import numpy as np

import pyml
from .autograd import enable_grad, no_grad
from .autograd import grad as _grad

__all__ = ["hessian", "classify_critical_point", "minimum_ratio", "escape_direction", "LossSurface",
           "loss_surface", "plot_contours"]


# ---------------------------------------------------------------------------- Hessian
def _check_params(params):
    params = list(params) if not isinstance(params, pyml.Tensor) else [params]
    if not params:
        raise ValueError("hessian: params must hold at least one tensor, got an empty list")
    for i, p in enumerate(params):
        if not isinstance(p, pyml.Tensor):
            raise TypeError(f"hessian: params[{i}] must be a pyml.Tensor, got {type(p).__name__}")
        if not p.requires_grad:
            raise ValueError(f"hessian: params[{i}] must require grad, got a tensor of shape {tuple(p.shape)} "
                             "with requires_grad=False")
    return params


def _flat(pieces, params):
    """One 1-D tensor from per-parameter gradients (None, an unused parameter, counts as zeros)."""
    return pyml.cat([(g if g is not None else pyml.zeros_like(p)).reshape(-1) for g, p in zip(pieces, params)])


def hessian(loss_fn, params):
    """Full Hessian of the scalar `loss_fn()` with respect to `params` (a tensor or a list of tensors
    that require grad): a (P, P) tensor, P the total number of elements, ordered as the parameters'
    flattened elements one after another (the order of torch.nn.utils.parameters_to_vector)."""
    params = _check_params(params)
    with enable_grad():
        loss = loss_fn()
        if not isinstance(loss, pyml.Tensor) or loss.numel() != 1:
            got = tuple(loss.shape) if isinstance(loss, pyml.Tensor) else type(loss).__name__
            raise ValueError(f"hessian: loss_fn() must return a one-element tensor, got {got}")
        first = _grad(loss.reshape(()), params, create_graph=True, allow_unused=True)
        gradient = _flat(first, params)                                   # (P,)
        rows = [_hessian_row(gradient, i, params) for i in range(gradient.numel())]
    return pyml.stack(rows).detach()                                      # (P, P)


def _hessian_row(gradient, i, params):
    """Row i: the gradient of d loss / d theta_i with respect to every parameter element."""
    if not gradient.requires_grad:           # loss linear in every parameter: no second derivative
        return pyml.zeros(gradient.numel(), dtype=gradient.dtype)
    second = _grad(gradient[i], params, retain_graph=True, allow_unused=True)
    return _flat(second, params).detach()


# ---------------------------------------------------------------------------- eigenvalues
def _as_matrix(H, who):
    """H as a symmetric float64 NumPy matrix (the mean of H and H^T removes round-off asymmetry)."""
    if isinstance(H, pyml.Tensor):
        H = H.detach().to(pyml.float64).numpy()
    H = np.asarray(H, dtype=np.float64)
    if H.ndim != 2 or H.shape[0] != H.shape[1] or H.shape[0] == 0:
        raise ValueError(f"{who}: H must be a non-empty square matrix, got shape {tuple(H.shape)}")
    if not np.all(np.isfinite(H)):
        raise ValueError(f"{who}: H must be finite, got {int(np.sum(~np.isfinite(H)))} inf/NaN entries")
    return 0.5 * (H + H.T)


def _check_tol(tol, who):
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0 or math.isinf(tol):
        raise ValueError(f"{who}: tol must be a finite number >= 0, got {tol!r}")
    return float(tol)


def classify_critical_point(H, tol=1e-6):
    """Name the critical point whose Hessian is H from its eigenvalues' signs, with |lambda| <= tol
    counted as zero: all positive -> "local minimum", all negative -> "local maximum", both signs ->
    "saddle point", otherwise (some zero, no sign change) -> "degenerate" (the second-order
    approximation cannot decide). Returns (name, eigenvalues: float64 tensor, ascending)."""
    tol = _check_tol(tol, "classify_critical_point")
    eig = np.linalg.eigvalsh(_as_matrix(H, "classify_critical_point"))
    positive, negative = int(np.sum(eig > tol)), int(np.sum(eig < -tol))
    if positive == len(eig):
        name = "local minimum"
    elif negative == len(eig):
        name = "local maximum"
    elif positive and negative:
        name = "saddle point"
    else:
        name = "degenerate"
    return name, pyml.tensor(eig, dtype=pyml.float64)


def minimum_ratio(H, tol=1e-6):
    """The course's "minimum ratio": the fraction of H's eigenvalues that are positive (> tol). It is 1
    at a strict local minimum; below 1 the point is a saddle or degenerate."""
    tol = _check_tol(tol, "minimum_ratio")
    eig = np.linalg.eigvalsh(_as_matrix(H, "minimum_ratio"))
    return float(np.sum(eig > tol)) / len(eig)


def escape_direction(H, tol=1e-6):
    """(eigenvalue, unit eigenvector) for H's most negative eigenvalue, or None when no eigenvalue is
    below -tol. Near a critical point theta', L(theta' + t u) ~ L(theta') + t^2 lambda / 2 < L(theta')."""
    tol = _check_tol(tol, "escape_direction")
    eig, vectors = np.linalg.eigh(_as_matrix(H, "escape_direction"))
    if eig[0] >= -tol:
        return None
    return float(eig[0]), pyml.tensor(vectors[:, 0], dtype=pyml.float64)


# ---------------------------------------------------------------------------- 2-D slices of the loss
LossSurface = collections.namedtuple("LossSurface", ["x", "y", "losses"])
LossSurface.__doc__ = """A loss on a grid: x (steps along dir1), y (steps along dir2) and losses of
shape (len(y), len(x)) with losses[i, j] = loss at center + x[j] * dir1 + y[i] * dir2 (float64)."""


def _pair(value, name):
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2:
        raise ValueError(f"loss_surface: {name} must be a number or a pair, got {value!r}")
    return pair


def _check_direction(v, center, name):
    if not isinstance(v, pyml.Tensor):
        raise TypeError(f"loss_surface: {name} must be a pyml.Tensor, got {type(v).__name__}")
    if tuple(v.shape) != tuple(center.shape):
        raise ValueError(f"loss_surface: {name} must have the shape of center {tuple(center.shape)}, "
                         f"got {tuple(v.shape)}")
    return v.detach()


def _axis(span, steps, name):
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"loss_surface: steps must be an int >= 2 (or a pair of them), got {steps!r}")
    if isinstance(span, (int, float)) and not isinstance(span, bool):
        span = (-float(span), float(span))
    if not isinstance(span, (tuple, list)) or len(span) != 2:
        raise ValueError(f"loss_surface: span along {name} must be a number or a (low, high) pair, got {span!r}")
    lo, hi = (float(s) for s in span)
    if not lo < hi:
        raise ValueError(f"loss_surface: span along {name} must be > 0 or an increasing (low, high), got {span!r}")
    return [lo + (hi - lo) * k / (steps - 1) for k in range(steps)]


def loss_surface(loss_fn, center, dir1, dir2, span=1.0, steps=41):
    """Evaluate loss_fn(point) -> scalar on the plane through `center` spanned by dir1 and dir2.

    span: the offsets covered: a number s means [-s, s] along both directions; a pair (span1, span2)
    gives each direction its own, each a number s or an explicit (low, high). steps: points per
    direction (an int or a pair). Runs without gradients; returns a LossSurface (x, y, losses)."""
    if not isinstance(center, pyml.Tensor):
        raise TypeError(f"loss_surface: center must be a pyml.Tensor, got {type(center).__name__}")
    center = center.detach()
    dir1, dir2 = _check_direction(dir1, center, "dir1"), _check_direction(dir2, center, "dir2")
    span1, span2 = _pair(span, "span")
    steps1, steps2 = _pair(steps, "steps")
    xs, ys = _axis(span1, steps1, "dir1"), _axis(span2, steps2, "dir2")
    with no_grad():
        rows = [[float(loss_fn(center + a * dir1 + b * dir2)) for a in xs] for b in ys]
    return LossSurface(pyml.tensor(xs, dtype=pyml.float64), pyml.tensor(ys, dtype=pyml.float64),
                       pyml.tensor(rows, dtype=pyml.float64))


# ---------------------------------------------------------------------------- plotting
def _grid_arrays(grid):
    """(x, y, Z) NumPy arrays from a LossSurface or a bare 2-D grid (indices as coordinates)."""
    if isinstance(grid, LossSurface):
        return tuple(np.asarray(t.numpy(), dtype=np.float64) for t in grid)
    z = np.asarray(grid.detach().numpy() if isinstance(grid, pyml.Tensor) else grid, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"plot_contours: grid must be a LossSurface or a 2-D grid, got shape {z.shape}")
    return np.arange(z.shape[1], dtype=np.float64), np.arange(z.shape[0], dtype=np.float64), z


def _levels(z, levels, log_levels):
    """Contour levels: `levels` evenly spaced values, or geometrically spaced ones for losses that
    span orders of magnitude (a long thin valley)."""
    if not log_levels:
        return levels
    positive = z[z > 0]
    if positive.size == 0:
        raise ValueError("plot_contours: log_levels needs positive losses, got none above 0")
    return np.geomspace(positive.min(), positive.max(), levels)


def _points(path, name):
    pts = np.asarray(path.detach().numpy() if isinstance(path, pyml.Tensor) else path, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"plot_contours: trajectory {name!r} must be (T, 2) plane coordinates, got shape {pts.shape}")
    return pts


def plot_contours(grid, path, trajectories=None, levels=30, log_levels=False, title=None,
                  xlabel="direction 1", ylabel="direction 2"):
    """Save a PNG of the contour lines of `grid` (a LossSurface, or a 2-D grid drawn against its
    indices) with optional trajectories: a dict name -> (T, 2) points in the plane's coordinates,
    drawn as lines from a dot (start) to a cross (end). Returns `path`."""
    try:
        from matplotlib.figure import Figure
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except ImportError as e:
        raise ImportError("plot_contours: matplotlib is needed to draw contours; install it with "
                          "`pip install matplotlib`") from e
    x, y, z = _grid_arrays(grid)
    fig = Figure(figsize=(7.0, 5.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    contours = ax.contour(x, y, z, levels=_levels(z, levels, log_levels), cmap="viridis", linewidths=0.8)
    fig.colorbar(contours, ax=ax, label="loss", format="%.2g")
    for name, points in (trajectories or {}).items():
        pts = _points(points, name)
        line, = ax.plot(pts[:, 0], pts[:, 1], linewidth=1.0, alpha=0.85, label=name)
        ax.plot(pts[0, 0], pts[0, 1], "o", color=line.get_color())
        ax.plot(pts[-1, 0], pts[-1, 1], "x", color=line.get_color())
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(y[0], y[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if trajectories:
        ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, format="png")
    return path
