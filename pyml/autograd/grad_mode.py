"""Grad mode switches: no_grad, enable_grad, set_grad_enabled, inference_mode (context managers and
decorators), all thread-local like PyTorch's."""
import functools
import threading

_state = threading.local()


def is_grad_enabled():
    return getattr(_state, "enabled", True)


def _set(enabled):
    _state.enabled = bool(enabled)


def is_inference_mode_enabled():
    return getattr(_state, "inference", False)


class _Mode:
    """Base: a context manager that is also a decorator (fresh state per call)."""

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._args):
                return fn(*args, **kwargs)
        return wrapper

    _args = ()

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set(self._target())
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False


class no_grad(_Mode):
    def _target(self):
        return False


class enable_grad(_Mode):
    def _target(self):
        return True


class set_grad_enabled(_Mode):
    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {type(mode).__name__}")
        self._args = (mode,)
        self._mode = mode
        self._prev = is_grad_enabled()
        _set(mode)  # like PyTorch, it takes effect as a plain call too

    def _target(self):
        return self._mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False


class inference_mode(_Mode):
    """Like no_grad (pyml has no separate inference tensors); inference_mode(False) is a no-op."""

    def __init__(self, mode=True):
        self._args = (mode,)
        self._mode = mode

    def _target(self):
        return is_grad_enabled() if not self._mode else False

    def __enter__(self):
        self._prev_inf = is_inference_mode_enabled()
        _state.inference = self._mode
        return super().__enter__()

    def __exit__(self, *exc):
        _state.inference = self._prev_inf
        return super().__exit__(*exc)
