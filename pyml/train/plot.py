"""plot_history: a PNG of the loss and metric curves of a fit() history.

matplotlib is optional for pyml, so it is imported only here, and through its object-oriented API
(Figure + the Agg canvas) rather than pyplot, which leaves the caller's backend and global figure
state alone. Without matplotlib the function raises ImportError saying what to install.
"""
import os

__all__ = ["plot_history"]

_NOT_CURVES = ("lr", "epoch_time", "samples_per_s")


def _curves(history):
    """Panel names in order: 'loss' first, then each metric that has a training series."""
    names = [k for k in history if not k.startswith("val_") and k not in _NOT_CURVES and len(history[k])]
    if not names:
        raise ValueError(f"plot_history: the history holds no loss or metric values, got keys {sorted(history)}")
    return sorted(names, key=lambda k: k != "loss")


def plot_history(history, path, title=None):
    """Draw one panel per quantity (train and validation curves against the epoch) and save a PNG."""
    if not isinstance(history, dict):
        raise TypeError(f"plot_history: history must be the dict fit() returns, got {type(history).__name__}")
    try:
        from matplotlib.figure import Figure
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except ImportError as e:
        raise ImportError("plot_history: matplotlib is needed to draw the curves; install it with "
                          "`pip install matplotlib`") from e
    names = _curves(history)
    fig = Figure(figsize=(4.5 * len(names), 3.6), dpi=100)
    FigureCanvasAgg(fig)
    for i, name in enumerate(names):
        ax = fig.add_subplot(1, len(names), i + 1)
        for key, label in ((name, "train"), ("val_" + name, "validation")):
            values = history.get(key) or []
            if values:
                ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=label)
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, format="png")
    return path
