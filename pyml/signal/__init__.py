"""pyml.signal: signal-processing helpers, as torch.signal (today: the window functions in pyml.signal.windows)."""
from . import windows

__all__ = ["windows"]
