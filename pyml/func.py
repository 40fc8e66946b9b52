"""pyml.func: torch.func's API. functional_call (here) runs a module with some parameters and buffers replaced
by given tensors; the transforms grad, grad_and_value, vjp, jvp (_func_transforms.py), jacrev, jacfwd,
hessian (_func_jac.py) and vmap (_func_vmap.py, a per-sample loop) are re-exported from their modules.

The given tensors are put straight into the owning module's _parameters / _buffers slots for the call
(so forward reads them and autograd connects the output to them: MAML-style fast weights), and the
originals are put back afterwards, also when forward raises.
"""
import contextlib

from ._tensor import Tensor
from ._func_transforms import grad, grad_and_value, vjp, jvp
from ._func_jac import jacrev, jacfwd, hessian
from ._func_vmap import vmap
from ._func_state import stack_module_state, functionalize, linearize

__all__ = ["functional_call", "grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap",
           "stack_module_state", "functionalize", "linearize"]


def _merge(dicts):
    if isinstance(dicts, dict):
        return dict(dicts)
    if not isinstance(dicts, (list, tuple)) or not all(isinstance(d, dict) for d in dicts):
        raise ValueError("functional_call: parameter_and_buffer_dicts must be a dict or a sequence of dicts, got "
                         f"{type(dicts).__name__}")
    out = {}
    for d in dicts:
        for k, v in d.items():
            if k in out:
                raise ValueError(f"{k} appeared in multiple dictionaries; behavior of functional call is ambiguous")
            out[k] = v
    return out


def _tied_groups(module):
    """name -> all names (parameters and buffers) that hold the same tensor object."""
    by_id = {}
    for name, t in list(module.named_parameters(remove_duplicate=False)) + list(module.named_buffers(
            remove_duplicate=False)):
        by_id.setdefault(id(t), []).append(name)
    return {n: names for names in by_id.values() if len(names) > 1 for n in names}


def _untie(module, tensors):
    groups = _tied_groups(module)
    out = dict(tensors)
    for name, value in tensors.items():
        for other in groups.get(name, ()):
            if other in tensors and tensors[other] is not value:
                tied = sorted(n for n in groups[name] if n in tensors)
                raise ValueError(f"functional_call got multiple values for keys {tied}, which are tied. Consider "
                                 "using tie_weights=False")
            out[other] = value
    return out


def _check_strict(module, tensors):
    names = {n for n, _ in module.named_parameters(remove_duplicate=False)}
    names |= {n for n, _ in module.named_buffers(remove_duplicate=False)}
    missing = sorted(names - set(tensors))
    unexpected = sorted(set(tensors) - names)
    msgs = []
    if unexpected:
        msgs.append("Unexpected key(s): {}.".format(", ".join(map(repr, unexpected))))
    if missing:
        msgs.append("Missing key(s): {}.".format(", ".join(map(repr, missing))))
    if msgs:
        raise RuntimeError("Error(s) in reparametrizing for {}:\n\t{}".format(module._get_name(), "\n\t".join(msgs)))


def _swap(module, name, value):
    """Put value in the slot for dotted `name`; return a function that undoes it."""
    path, _, leaf = name.rpartition(".")
    owner = module.get_submodule(path)
    for store in (owner._parameters, owner._buffers):
        if leaf in store:
            old = store[leaf]
            store[leaf] = value

            def undo(store=store, old=old):
                store[leaf] = old
            return undo
    missing = object()
    old = owner.__dict__.get(leaf, missing)
    object.__setattr__(owner, leaf, value)

    def undo_attr():
        if old is missing:
            object.__delattr__(owner, leaf)
        else:
            object.__setattr__(owner, leaf, old)
    return undo_attr


@contextlib.contextmanager
def _reparametrize(module, tensors, tie_weights, strict):
    if tie_weights:
        tensors = _untie(module, tensors)
    if strict:
        _check_strict(module, tensors)
    undo = []
    try:
        for name, value in tensors.items():
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"functional_call: expected a Tensor for '{name}', got {type(value).__name__}")
            undo.append(_swap(module, name, value))
        yield
    finally:
        for u in reversed(undo):
            u()


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """module(*args, **kwargs) with the named parameters/buffers replaced by the given tensors."""
    tensors = _merge(parameter_and_buffer_dicts)
    positional = args if isinstance(args, tuple) else () if args is None else (args,)  # one bare arg is allowed
    with _reparametrize(module, tensors, tie_weights, strict):
        return module(*positional, **(kwargs or {}))
