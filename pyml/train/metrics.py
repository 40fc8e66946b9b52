"""Classification metrics for the training loop: accuracy and top-k accuracy on a batch of logits.

Each metric takes (logits (N, C), targets) and returns a Python float, the fraction of the N rows
that count as correct; fit() weights these per-batch values by batch size to get epoch means.
`resolve_metrics` turns the names fit() accepts ("accuracy", "top5", a callable) into (name, fn).
"""
import re

from .._tensor import Tensor
from ..autograd import no_grad

__all__ = ["accuracy", "top_k_accuracy", "resolve_metrics"]


def _check_pair(logits, targets, op):
    if not isinstance(logits, Tensor) or not isinstance(targets, Tensor):
        raise TypeError(f"{op}: logits and targets must be Tensors, got {type(logits).__name__} and "
                        f"{type(targets).__name__}")
    if logits.ndim != 2:
        raise ValueError(f"{op}: logits must have shape (N, C), got {tuple(logits.shape)}")
    if targets.shape[0] != logits.shape[0] or targets.ndim not in (1, 2):
        raise ValueError(f"{op}: targets must be (N,) class indices or (N, C) scores matching logits "
                         f"{tuple(logits.shape)}, got {tuple(targets.shape)}")


def _class_indices(targets):
    """(N,) class indices; (N, C) one-hot or soft labels count as their argmax class."""
    return targets.argmax(1) if targets.ndim == 2 else targets


@no_grad()
def accuracy(logits, targets):
    """Fraction of rows whose largest logit is at the target class."""
    _check_pair(logits, targets, "accuracy")
    if logits.shape[0] == 0:
        return 0.0
    hits = logits.argmax(1) == _class_indices(targets).to(logits.device)
    return hits.sum().item() / logits.shape[0]


@no_grad()
def top_k_accuracy(logits, targets, k=5):
    """Fraction of rows whose target class is among the k largest logits."""
    _check_pair(logits, targets, "top_k_accuracy")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= logits.shape[1]:
        raise ValueError(f"top_k_accuracy: k must be an int in [1, {logits.shape[1]}] (the number of classes), "
                         f"got {k!r}")
    if logits.shape[0] == 0:
        return 0.0
    top = logits.topk(k, 1).indices                                   # (N, k)
    want = _class_indices(targets).to(logits.device).reshape(-1, 1)   # (N, 1)
    hits = (top == want).sum().item()
    return hits / logits.shape[0]


def _named(name):
    if name in ("accuracy", "acc"):
        return "accuracy", accuracy
    m = re.fullmatch(r"top_?(\d+)(?:_accuracy)?", name)
    if m is None:
        raise ValueError(f"fit: unknown metric name {name!r}; use 'accuracy', 'topK' (e.g. 'top5') or a "
                         f"callable (logits, targets) -> float")
    k = int(m.group(1))
    return f"top{k}", lambda logits, targets: top_k_accuracy(logits, targets, k)


def resolve_metrics(metrics):
    """[(name, fn), ...] from names and callables; a callable is named by its __name__."""
    if isinstance(metrics, str) or callable(metrics):
        metrics = (metrics,)
    out = []
    for m in metrics or ():
        if isinstance(m, str):
            out.append(_named(m))
        elif callable(m):
            out.append((getattr(m, "__name__", type(m).__name__), m))
        else:
            raise TypeError(f"fit: a metric must be a name or a callable (logits, targets) -> float, got "
                            f"{type(m).__name__}")
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise ValueError(f"fit: metric names must be distinct, got {names}")
    return out
