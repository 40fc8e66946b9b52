"""Parametrizations (torch.nn.utils.parametrize): module.weight computed on access from stored originals.

register_parametrization moves the tensor into module.parametrizations[name] (a ParametrizationList
holding `original`, or `original0`, `original1`, ... when right_inverse returns several tensors) and
swaps the module's class for a subclass "Parametrized<Cls>" with a property `name` that runs the chain.
state_dict keys therefore read like torch's: parametrizations.weight.original0 / original1.
"""
import collections.abc
import copyreg
from contextlib import contextmanager
from copy import deepcopy

from ..._tensor import Tensor
from ...autograd import grad_mode
from ..modules.container import ModuleDict, ModuleList
from ..parameter import Parameter

__all__ = ["cached", "ParametrizationList", "register_parametrization", "is_parametrized", "remove_parametrizations",
           "type_before_parametrizations", "transfer_parametrizations_and_params"]

_cache_depth = 0  # how many cached() contexts are open
_cache = {}  # (id(module), tensor name) -> value computed inside the open contexts


def _open_cache():
    global _cache_depth
    _cache_depth += 1


def _close_cache():
    global _cache_depth
    _cache_depth -= 1
    if _cache_depth == 0:  # the outermost context ends: forget every value
        _cache.clear()


@contextmanager
def cached():
    """Within this context each parametrized tensor is computed once (on first access)."""
    _open_cache()
    try:
        yield
    finally:
        _close_cache()


def _register_parameter_or_buffer(module, name, x):
    if isinstance(x, Parameter):
        module.register_parameter(name, x)
    else:
        module.register_buffer(name, x)


def _overwrite(dest, src):
    dest.data = src.data if isinstance(src, Tensor) else src  # same object, new data (like Tensor.set_)


def _sequence_error(what):
    return ValueError(f"right_inverse: must return a Tensor or a sequence (list, tuple, ...) of Tensors, got {what}")


class ParametrizationList(ModuleList):
    """The chain of parametrizations of one tensor, holding its original(s)."""

    def __init__(self, modules, original, unsafe=False):
        if not len(modules):
            raise ValueError("ParametrizationList: needs one or more parametrization modules, got none")
        super().__init__(modules)
        self.unsafe = unsafe
        self._store_originals(original, self._inverted(original))
        if not unsafe:
            self._check_output(tuple(original.shape), original.dtype)

    def _inverted(self, value):
        """value sent back through the chain, last parametrization first; one whose right_inverse is missing
        or raises NotImplementedError passes the value on unchanged."""
        with grad_mode.no_grad():
            for module in reversed(self):
                inverse = getattr(module, "right_inverse", None)
                if inverse is None:
                    continue
                try:
                    value = inverse(value)
                except NotImplementedError:
                    pass
        return value

    def _store_originals(self, original, stored):
        self.is_tensor = isinstance(stored, Tensor)
        if self.is_tensor:
            self.ntensors = 1
            if stored.dtype != original.dtype:
                raise ValueError(f"right_inverse: a single returned tensor may not change the dtype "
                                 f"({original.dtype}), got {stored.dtype}")
            with grad_mode.no_grad():
                _overwrite(original, stored)  # keep the caller's Parameter object, now holding the new values
            _register_parameter_or_buffer(self, "original", original)
            return
        if not isinstance(stored, collections.abc.Sequence):
            raise _sequence_error(type(stored).__name__)
        self.ntensors = len(stored)
        for i, part in enumerate(stored):
            if not isinstance(part, Tensor):
                raise _sequence_error(f"element {i} of type {type(part).__name__}")
        for i, part in enumerate(stored):
            if isinstance(original, Parameter):
                part = Parameter(part, original.requires_grad)
            part.requires_grad_(original.requires_grad)
            _register_parameter_or_buffer(self, f"original{i}", part)

    def _check_output(self, shape, dtype):
        out = self()
        if not isinstance(out, Tensor):
            raise ValueError(f"register_parametrization: a parametrization must return a tensor, got "
                             f"{type(out).__name__}")
        if out.dtype != dtype:
            raise ValueError(f"register_parametrization: the parametrization may not change the dtype of the tensor "
                             f"unless unsafe=True; tensor {dtype}, parametrized {out.dtype}")
        if tuple(out.shape) != shape:
            raise ValueError(f"register_parametrization: the parametrization may not change the shape of the tensor "
                             f"unless unsafe=True; tensor {shape}, parametrized {tuple(out.shape)}")

    def _originals(self):
        if self.is_tensor:
            return [self.original]
        return [getattr(self, f"original{i}") for i in range(self.ntensors)]

    def right_inverse(self, value):
        """Assigning module.<name> = value stores right_inverse(value) as the original(s)."""
        with grad_mode.no_grad():
            for module in reversed(self):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not implement right_inverse, "
                                       "so the parametrized tensor cannot be assigned")
                value = module.right_inverse(value)
            targets = self._originals()
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(f"right_inverse: must return a tensor, got {type(value).__name__}")
                value = [value]
            elif not isinstance(value, collections.abc.Sequence) or len(value) != self.ntensors:
                raise ValueError(f"right_inverse: must return a sequence of {self.ntensors} tensors")
            for i, (dest, src) in enumerate(zip(targets, value)):
                if dest.dtype != src.dtype:
                    raise ValueError(f"right_inverse: tensor {i} must keep the dtype of the stored original "
                                     f"({dest.dtype}), got {src.dtype}")
                _overwrite(dest, src)

    def forward(self):
        first, *rest = list(self)
        out = first(*self._originals())
        for module in rest:
            out = module(out)
        return out


# ----------------------------------------------------------------------------------- the generated class
def _deepcopy_parametrized(self, memo):
    """deepcopy for Parametrized<Cls>: copy the state directly, since __getstate__ refuses pickling."""
    if id(self) not in memo:
        clone = memo[id(self)] = type(self).__new__(type(self))
        clone.__dict__.update(deepcopy(self.__dict__, memo))
        for slot in [s for s in copyreg._slotnames(type(self)) if hasattr(self, s)]:
            setattr(clone, slot, deepcopy(getattr(self, slot), memo))
    return memo[id(self)]


def _refuse_pickle(self):
    raise RuntimeError("pickle: parametrized modules can only be saved through their state_dict()")


def _give_own_class(module):
    """Move module into a fresh subclass of its class, so tensor properties added there stay private to it."""
    base = type(module)
    namespace = {"__getstate__": _refuse_pickle}
    if not hasattr(base, "__deepcopy__"):
        namespace["__deepcopy__"] = _deepcopy_parametrized
    module.__class__ = type(f"Parametrized{base.__name__}", (base,), namespace)


def _add_tensor_property(module, tensor_name):
    if hasattr(module, tensor_name):
        raise AssertionError(f"register_parametrization: module already has an attribute '{tensor_name}'")

    def compute(self):
        chain = self.parametrizations[tensor_name]
        if not _cache_depth:
            return chain()
        key = (id(self), tensor_name)
        if _cache.get(key) is None:
            _cache[key] = chain()
        return _cache[key]

    def assign(self, value):
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(type(module), tensor_name, property(compute, assign))


# ----------------------------------------------------------------------------------- public functions
def _extend_chain(module, tensor_name, parametrization, unsafe):
    chain = module.parametrizations[tensor_name]
    if not unsafe:
        current = getattr(module, tensor_name)
        out = parametrization(current)
        if not isinstance(out, Tensor):
            raise ValueError(f"register_parametrization: a parametrization must return a tensor, got "
                             f"{type(out).__name__}")
        if (out.dtype, tuple(out.shape)) != (current.dtype, tuple(current.shape)):
            raise ValueError(f"register_parametrization: the parametrization may not change the dtype or shape of "
                             f"module.{tensor_name} unless unsafe=True; tensor {current.dtype} "
                             f"{tuple(current.shape)}, parametrized {out.dtype} {tuple(out.shape)}")
    chain.append(parametrization)
    chain.unsafe = chain.unsafe or unsafe


def _start_chain(module, tensor_name, parametrization, unsafe):
    chain = ParametrizationList([parametrization], getattr(module, tensor_name), unsafe=unsafe)
    delattr(module, tensor_name)
    if not is_parametrized(module):
        _give_own_class(module)
        module.parametrizations = ModuleDict()
    _add_tensor_property(module, tensor_name)
    module.parametrizations[tensor_name] = chain


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Make module.<tensor_name> = parametrization(original), with the original kept as a parameter."""
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        _extend_chain(module, tensor_name, parametrization, unsafe)
    elif tensor_name in module._parameters or tensor_name in module._buffers:
        _start_chain(module, tensor_name, parametrization, unsafe)
    else:
        raise ValueError(f"register_parametrization: module '{module}' does not have a parameter, a buffer, or a "
                         f"parametrized element with name '{tensor_name}'")
    return module


def is_parametrized(module, tensor_name=None):
    ps = module.__dict__.get("_modules", {}).get("parametrizations")
    if ps is None or not isinstance(ps, ModuleDict):
        return False
    return len(ps) > 0 if tensor_name is None else tensor_name in ps


def _plain_value(module, tensor_name, leave_parametrized):
    """What module.<tensor_name> holds once its parametrization is removed."""
    chain = module.parametrizations[tensor_name]
    if chain.is_tensor:  # reuse the original object, so optimizers holding it stay valid
        kept = chain.original
        if leave_parametrized:
            with grad_mode.no_grad():
                _overwrite(kept, getattr(module, tensor_name))
        return kept
    if not leave_parametrized:
        raise ValueError("remove_parametrizations: leave_parametrized=False needs a tensor parametrized by a "
                         "single original, this one has several")
    with grad_mode.no_grad():
        value = getattr(module, tensor_name)
    if any(part.requires_grad for part in chain._originals()):
        return Parameter(value.detach(), value.requires_grad)
    return value.detach()


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Undo register_parametrization: the tensor becomes a plain parameter again (its current value when
    leave_parametrized, else the original)."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"remove_parametrizations: module {module} does not have a parametrization on {tensor_name}")
    value = _plain_value(module, tensor_name, leave_parametrized)
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, value)
    if not is_parametrized(module):  # the last one: back to the plain class
        delattr(module, "parametrizations")
        module.__class__ = type(module).__bases__[0]
    return module


def type_before_parametrizations(module):
    return module.__class__.__bases__[0] if is_parametrized(module) else type(module)


def transfer_parametrizations_and_params(from_module, to_module, tensor_name=None):
    """Copy the parametrizations (and their originals) of from_module onto to_module."""
    if not is_parametrized(from_module):
        return to_module
    names = list(from_module.parametrizations) if tensor_name is None else [tensor_name]
    for name in names:
        if not hasattr(to_module, name):
            setattr(to_module, name, Parameter(getattr(from_module, name).detach().clone()))
        for p in from_module.parametrizations[name]:
            if not is_parametrized(to_module, name) or p not in list(to_module.parametrizations[name]):
                register_parametrization(to_module, name, p)
        sources = from_module.parametrizations[name]._originals()
        with grad_mode.no_grad():
            for dest, src in zip(to_module.parametrizations[name]._originals(), sources):
                dest.copy_(src)
    return to_module
