"""Tensor's autograd surface: backward, register_hook, retain_grad, detach, requires_grad_, data, ..."""
from .._tensor import Tensor, wrap
from . import engine_api
from .graph import grad_accumulator, _Handle, _edge


def _backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(self)/d(leaves) into the leaves' .grad; gradient is required unless self is a scalar."""
    engine_api.backward(self, gradient, retain_graph, create_graph, inputs)


def _register_hook(self, hook):
    """hook(grad) -> new grad or None, run when the gradient for self is computed (before a leaf's
    .grad is accumulated); returns a handle whose remove() takes it out."""
    if not self.requires_grad:
        raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require gradient")
    if self.grad_fn is None:  # leaf: AccumulateGrad runs tensor._hooks before accumulating or capturing
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        grad_accumulator(self)
        return _Handle(self._hooks, hook)
    node, nr = _edge(self)
    hooks = node._tensor_pre_hooks(nr)
    hooks.append(hook)
    return _Handle(hooks, hook)


def _register_post_accumulate_grad_hook(self, hook):
    """hook(tensor) runs after a leaf's .grad has been accumulated."""
    if self.grad_fn is not None:
        raise RuntimeError("register_post_accumulate_grad_hook: post accumulate grad hooks cannot be registered "
                           "on non-leaf tensors")
    if not self.requires_grad:
        raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook on a tensor that doesn't "
                           "require gradient")
    hooks = self.__dict__.setdefault("_post_acc_hooks", [])
    hooks.append(hook)
    return _Handle(hooks, hook)


def _retain_grad(self):
    """Keep .grad for a non-leaf tensor (leaves keep theirs anyway)."""
    if not self.requires_grad:
        raise RuntimeError("retain_grad: can't retain_grad on Tensor that has requires_grad=False")
    if self.grad_fn is None:
        return
    if self.__dict__.get("_retains_grad"):
        return
    node, nr = _edge(self)
    node._retain_grad(nr, self)
    self.__dict__["_retains_grad"] = True


def _retains_grad(self):
    return self.grad_fn is not None and self.__dict__.get("_retains_grad", False)


def _detach(self):
    """A new tensor sharing storage (and version counter), cut from the graph."""
    return wrap(self._impl)


def _detach_(self):
    """Cut self from the graph in place; views cannot be detached in place (like PyTorch)."""
    if self.__dict__.get("_base") is not None:
        raise RuntimeError("detach_: can't detach views in-place; use detach() instead")
    self.grad_fn = None
    self._requires_grad = False
    self.__dict__.pop("_retains_grad", None)
    return self


def _requires_grad_(self, requires_grad=True):
    self.requires_grad = requires_grad
    return self


def _output_nr(self):
    return self._output_nr


def _get_data(self):
    """The same data without history (shares storage and the version counter)."""
    return wrap(self._impl)


def _set_data(self, value):
    if not isinstance(value, Tensor):
        raise TypeError(f"data: expected a Tensor, got {type(value).__name__}")
    if self._requires_grad and not value.dtype._diff:
        raise TypeError(f"data: a tensor that requires grad needs floating point data, got {value.dtype}")
    self._impl = value._impl


Tensor.backward = _backward
Tensor.register_hook = _register_hook
Tensor.register_post_accumulate_grad_hook = _register_post_accumulate_grad_hook
Tensor.retain_grad = _retain_grad
Tensor.retains_grad = property(_retains_grad)
Tensor.detach = _detach
Tensor.detach_ = _detach_
Tensor.requires_grad_ = _requires_grad_
Tensor.output_nr = property(_output_nr)
if not hasattr(Tensor, "data"):
    Tensor.data = property(_get_data, _set_data)
