"""detect_anomaly: record each forward op's stack, and raise when a backward produces NaN/Inf,
naming the forward op and the Python line that created it."""
import threading

_state = threading.local()


def is_anomaly_enabled():
    return getattr(_state, "enabled", False)


class detect_anomaly:
    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = is_anomaly_enabled()
        _state.enabled = True
        return self

    def __exit__(self, *exc):
        _state.enabled = self._prev
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*a, **k):
            with detect_anomaly(self.check_nan):
                return fn(*a, **k)
        return wrapper


class set_detect_anomaly(detect_anomaly):
    def __init__(self, mode, check_nan=True):
        super().__init__(check_nan)
        self._prev = is_anomaly_enabled()
        _state.enabled = bool(mode)

    def __enter__(self):
        return self


def check_grads(node, grads):
    from .. import isfinite
    for i, g in enumerate(grads):
        if g is None or not g.dtype.is_floating_point:
            continue
        if not bool(isfinite(g.detach()).all()):
            where = "".join(node.trace[-2:]) if node.trace else "(no forward trace recorded)\n"
            raise RuntimeError(f"Function '{node.name}' returned nan or inf values in its {i}th output.\n"
                               f"The forward op {node.name} was created at:\n{where}")
