"""Grad mode switches: no_grad, enable_grad, set_grad_enabled, inference_mode.

Each is a context manager and a decorator (with or without parentheses; generator functions get
the mode around every resume, like PyTorch). The state is thread-local: a thread starts with grad
enabled and never sees another thread's no_grad. Entering saves the previous state on a per-object
stack, so one object can be entered re-entrantly and every exit restores what its enter found.
pyml has no separate inference tensors: inference_mode is no_grad plus is_inference_mode_enabled().
"""
import functools
import inspect
import threading

class _State(threading.local):
    # class-level defaults: a thread that never switched reads these without a failed lookup
    enabled = True
    inference = False


_state = _State()


def is_grad_enabled():
    return _state.enabled


def _set(enabled):
    _state.enabled = enabled


def is_inference_mode_enabled():
    return _state.inference


def _wrap_generator(make_ctx, gen_fn):
    @functools.wraps(gen_fn)
    def wrapper(*args, **kwargs):
        gen = gen_fn(*args, **kwargs)
        try:
            with make_ctx():
                value = next(gen)
            while True:
                try:
                    sent = yield value
                except GeneratorExit:
                    with make_ctx():
                        gen.close()
                    raise
                except BaseException as e:
                    with make_ctx():
                        value = gen.throw(e)
                else:
                    with make_ctx():
                        value = gen.send(sent)
        except StopIteration as e:
            return e.value
    return wrapper


class _Mode:
    """A context manager that is also a decorator; each decorated call gets a fresh instance."""

    def __init__(self):
        self._saved = []

    def clone(self):
        return self.__class__()

    def __call__(self, fn):
        if inspect.isclass(fn):
            raise TypeError(f"{type(self).__name__}: decorating classes is not supported; decorate methods")
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(self.clone, fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)
        return wrapper

    def _apply(self):
        raise NotImplementedError

    def __enter__(self):
        self._saved.append((is_grad_enabled(), is_inference_mode_enabled()))
        self._apply()
        return None

    def __exit__(self, *exc):
        grad, inference = self._saved.pop()
        _set(grad)
        _state.inference = inference
        return False


class _NoParamMode(_Mode):
    """no_grad / enable_grad: `@no_grad` works like `@no_grad()`."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamMode):
    """Disable gradient recording: results of ops have requires_grad=False."""

    def _apply(self):
        _set(False)


class enable_grad(_NoParamMode):
    """Enable gradient recording inside a no_grad region."""

    def _apply(self):
        _set(True)


class set_grad_enabled(_Mode):
    """Takes effect when constructed (so `set_grad_enabled(False)` works as a plain call) and restores the
    previous mode on exit; as a decorator it applies `mode` around each call."""

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {type(mode).__name__}")
        super().__init__()
        self.mode = mode
        self._prev = is_grad_enabled()
        _set(mode)

    def clone(self):
        prev = is_grad_enabled()
        c = set_grad_enabled(self.mode)
        _set(prev)
        return c

    def __call__(self, fn):
        _set(self._prev)  # decorating is not entering: undo the constructor's switch
        return super().__call__(fn)

    def _apply(self):
        _set(self.mode)

    def __enter__(self):
        # the constructor already switched; remember what it found so exit restores that
        self._saved.append((self._prev, is_inference_mode_enabled()))
        self._apply()
        return None


class inference_mode(_Mode):
    """Like no_grad, and is_inference_mode_enabled() is True inside; inference_mode(False) leaves grad mode
    as it is and turns is_inference_mode_enabled() off."""

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        if callable(mode) and not isinstance(mode, bool):
            return  # __new__ already returned the decorated function
        super().__init__()
        self.mode = bool(mode)

    def clone(self):
        return inference_mode(self.mode)

    def _apply(self):
        if self.mode:
            _set(False)
        _state.inference = self.mode
