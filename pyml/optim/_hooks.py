"""Optimizer hooks with torch.optim.Optimizer's names: step pre/post hooks (per optimizer and global),
state_dict pre/post hooks and load_state_dict pre/post hooks. Each register_* returns a handle whose
remove() takes the hook out; prepend=True runs it before the others.

_HookedOptimizer.__init_subclass__ wraps step, state_dict and load_state_dict of every optimizer class
that defines them, so subclasses (and user-written optimizers) get the hooks without calling anything.
A step that calls its parent's step (super().step()) runs the hooks once, for the outermost call.
"""
import functools
from collections import OrderedDict

from ..nn.modules.module import RemovableHandle

__all__ = ["register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"]

_global_step_pre = OrderedDict()
_global_step_post = OrderedDict()


def _add(hooks, hook, prepend):
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def register_optimizer_step_pre_hook(hook):
    """hook(optimizer, args, kwargs) before every optimizer's step (args start with the optimizer itself,
    as in torch); it may return (args, kwargs)."""
    return _add(_global_step_pre, hook, False)


def register_optimizer_step_post_hook(hook):
    """hook(optimizer, args, kwargs) after every optimizer's step."""
    return _add(_global_step_post, hook, False)


def _hooks(opt, name):
    d = opt.__dict__.get(name)
    if d is None:
        d = opt.__dict__[name] = OrderedDict()
    return d


def _wrap_step(step):
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        if self.__dict__.get("_in_hooked_step"):
            return step(self, *args, **kwargs)
        args = (self,) + args  # torch's hooks see the call's arguments with the optimizer first
        for hook in list(_global_step_pre.values()) + list(_hooks(self, "_step_pre_hooks").values()):
            r = hook(self, args, kwargs)
            if r is not None:
                if not (isinstance(r, tuple) and len(r) == 2):
                    raise RuntimeError(f"optimizer step pre-hook must return None or a tuple of (new_args, "
                                       f"new_kwargs), but got {r!r}")
                args, kwargs = r
        self.__dict__["_in_hooked_step"] = True
        try:
            out = step(*args, **kwargs)
        finally:
            self.__dict__["_in_hooked_step"] = False
        for hook in list(_hooks(self, "_step_post_hooks").values()) + list(_global_step_post.values()):
            hook(self, args, kwargs)
        return out
    return wrapper


def _wrap_state_dict(state_dict):
    @functools.wraps(state_dict)
    def wrapper(self):
        if self.__dict__.get("_in_hooked_state_dict"):
            return state_dict(self)
        for hook in list(_hooks(self, "_state_dict_pre_hooks").values()):
            hook(self)
        self.__dict__["_in_hooked_state_dict"] = True
        try:
            sd = state_dict(self)
        finally:
            self.__dict__["_in_hooked_state_dict"] = False
        for hook in list(_hooks(self, "_state_dict_post_hooks").values()):
            r = hook(self, sd)
            if r is not None:
                sd = r
        return sd
    return wrapper


def _wrap_load_state_dict(load):
    @functools.wraps(load)
    def wrapper(self, state_dict):
        if self.__dict__.get("_in_hooked_load"):
            return load(self, state_dict)
        for hook in list(_hooks(self, "_load_state_dict_pre_hooks").values()):
            r = hook(self, state_dict)
            if r is not None:
                state_dict = r
        self.__dict__["_in_hooked_load"] = True
        try:
            out = load(self, state_dict)
        finally:
            self.__dict__["_in_hooked_load"] = False
        for hook in list(_hooks(self, "_load_state_dict_post_hooks").values()):
            hook(self)
        return out
    return wrapper


_WRAPPERS = {"step": _wrap_step, "state_dict": _wrap_state_dict, "load_state_dict": _wrap_load_state_dict}


class _HookedOptimizer:
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, wrap in _WRAPPERS.items():
            if name in cls.__dict__:
                setattr(cls, name, wrap(cls.__dict__[name]))

    def register_step_pre_hook(self, hook):
        """hook(optimizer, args, kwargs) before step; it may return (new_args, new_kwargs)."""
        return _add(_hooks(self, "_step_pre_hooks"), hook, False)

    def register_step_post_hook(self, hook):
        """hook(optimizer, args, kwargs) after step."""
        return _add(_hooks(self, "_step_post_hooks"), hook, False)

    def register_state_dict_pre_hook(self, hook, prepend=False):
        """hook(optimizer) before state_dict() builds its dict."""
        return _add(_hooks(self, "_state_dict_pre_hooks"), hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        """hook(optimizer, state_dict) after; it may return a replacement dict."""
        return _add(_hooks(self, "_state_dict_post_hooks"), hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        """hook(optimizer, state_dict) before loading; it may return a replacement dict."""
        return _add(_hooks(self, "_load_state_dict_pre_hooks"), hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        """hook(optimizer) after loading."""
        return _add(_hooks(self, "_load_state_dict_post_hooks"), hook, prepend)
