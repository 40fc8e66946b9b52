"""Tensor's autograd surface: backward, register_hook, retain_grad, detach, requires_grad_, ..."""
import weakref

from .._tensor import Tensor, wrap
from . import engine_api
from .graph import grad_accumulator, _Handle


def _backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    engine_api.backward(self, gradient, retain_graph, create_graph, inputs)


def _register_hook(self, hook):
    if not self.requires_grad:
        raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require gradient")
    if self.grad_fn is None:  # leaf: run before accumulation (AccumulateGrad reads tensor._hooks)
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        grad_accumulator(self)
        return _Handle(self._hooks, hook)
    hooks = self.grad_fn._pre_hooks.setdefault(self.__dict__.get("_output_nr", 0), [])
    hooks.append(hook)
    return _Handle(hooks, hook)


def _retain_grad(self):
    if not self.requires_grad:
        raise RuntimeError("retain_grad: can't retain_grad on Tensor that has requires_grad=False")
    if self.grad_fn is None:
        return  # leaves keep their grad anyway
    self.grad_fn._retain[self.__dict__.get("_output_nr", 0)] = weakref.ref(self)
    self.__dict__["_retains_grad"] = True


def _retains_grad(self):
    if self.grad_fn is None:
        return False
    return self.__dict__.get("_retains_grad", False)


def _detach(self):
    """A new tensor sharing storage, cut from the graph."""
    return wrap(self._impl)


def _detach_(self):
    if self.__dict__.get("_base") is not None:
        raise RuntimeError("detach_: can't detach views in-place; use detach() instead")
    self.grad_fn = None
    self._requires_grad = False
    return self


def _requires_grad_(self, requires_grad=True):
    self.requires_grad = requires_grad
    return self


def _output_nr(self):
    return self.__dict__.get("_output_nr", 0)


Tensor.backward = _backward
Tensor.register_hook = _register_hook
Tensor.retain_grad = _retain_grad
Tensor.retains_grad = property(_retains_grad)
Tensor.detach = _detach
Tensor.detach_ = _detach_
Tensor.requires_grad_ = _requires_grad_
Tensor.output_nr = property(_output_nr)
