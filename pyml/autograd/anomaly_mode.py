"""detect_anomaly / set_detect_anomaly: while on, every recorded node keeps the Python stack of the
forward call that created it, and a backward that returns NaN/Inf (or raises) reports the forward
op and that file:line. Thread-local like grad mode."""
import functools
import threading

class _State(threading.local):
    enabled = False
    check_nan = True


_state = _State()


def is_anomaly_enabled():
    return _state.enabled


def is_anomaly_check_nan_enabled():
    return _state.check_nan


def _set(enabled, check_nan):
    _state.enabled = enabled
    _state.check_nan = check_nan


class detect_anomaly:
    """Context manager and decorator turning anomaly detection on (check_nan: also check for NaN/Inf)."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        self._saved = []

    def __enter__(self):
        self._saved.append((is_anomaly_enabled(), is_anomaly_check_nan_enabled()))
        _set(True, self.check_nan)
        return self

    def __exit__(self, *exc):
        _set(*self._saved.pop())
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            with detect_anomaly(self.check_nan):
                return fn(*a, **k)
        return wrapper


class set_detect_anomaly:
    """Takes effect when constructed (a plain call works); as a context manager, exit restores the
    previous state."""

    def __init__(self, mode, check_nan=True):
        self._prev = (is_anomaly_enabled(), is_anomaly_check_nan_enabled())
        _set(bool(mode), check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(*self._prev)
        return False


def forward_op(node):
    name = node.name
    return name[:-len("Backward")] if name.endswith("Backward") else name


def forward_site(node):
    """'The forward op X (XBackward) was called at:' and the user's frames, innermost last."""
    if node.trace is None:
        return f"The forward op {forward_op(node)} ({node.name}) was recorded without a trace."
    lines = "".join(node.trace.format())
    return f"The forward op {forward_op(node)} ({node.name}) was called at:\n{lines.rstrip()}"


def check_grads(node, grads):
    """Raise if a gradient that `node`'s backward returned holds NaN or Inf."""
    if not is_anomaly_check_nan_enabled():
        return
    from .. import isfinite
    for i, g in enumerate(grads):
        if g is None or not g.dtype._diff:
            continue
        if not bool(isfinite(g.detach()).all()):
            err = RuntimeError(f"Function '{node.name}' returned nan or inf values in its {i}th output.\n"
                               f"{forward_site(node)}")
            err._pyml_traced = True
            raise err
