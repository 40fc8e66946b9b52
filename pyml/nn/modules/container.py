"""Module containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict.

Positional containers register their i-th child under the name str(i) and renumber after a
deletion, so state_dict keys read "0.weight" or "layers.3.bias" as torch users expect. Dict-like
containers register children under their keys. Sequential and ModuleList share one base class
(_PositionalChildren) for lookup by position, deletion and insertion.
"""
import operator
from collections import OrderedDict, abc

from ..._tensor import Tensor
from ..parameter import Parameter
from .module import Module, _addindent, _typename

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


def _checked_position(owner, idx, size):
    """idx as a position in range(size); negative values count from the end."""
    pos = operator.index(idx)  # TypeError for non-integers, like list indexing
    if pos < -size or pos >= size:
        raise IndexError(f"{owner}: index {pos} is out of range for length {size}")
    return pos % size


def _as_parameter(value):
    """Tensors stored in parameter containers become Parameters; other objects are kept as they are."""
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


def _entries(owner, source, keep_order):
    """(key, value) pairs for update(): mappings of the keep_order types in their own order, other
    mappings sorted by key, anything else read as a sequence of 2-item entries."""
    if not isinstance(source, abc.Iterable):
        raise TypeError(f"{owner}.update: expected a mapping or an iterable of (key, value) pairs, "
                        f"got {type(source).__name__}")
    if isinstance(source, keep_order):
        return list(source.items())
    if isinstance(source, abc.Mapping):
        return sorted(source.items())
    return _pairs_from_sequence(owner, source)


def _pairs_from_sequence(owner, source):
    # lazily, so the entries before a malformed one are still applied (torch does the same)
    for n, entry in enumerate(source):
        if not isinstance(entry, abc.Iterable):
            raise TypeError(f"{owner}.update: entry #{n} must be a (key, value) pair, got {type(entry).__name__}")
        if len(entry) != 2:
            raise ValueError(f"{owner}.update: entry #{n} must hold 2 items (key, value), got {len(entry)}")
        key, value = entry
        yield key, value


class _PositionalChildren(Module):
    """Shared by Sequential and ModuleList: children kept in order and addressed by position."""

    def _slot(self, idx):
        """Registration name of the child at position idx (IndexError when out of range)."""
        raise NotImplementedError

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __setitem__(self, idx, module):
        setattr(self, self._slot(idx), module)

    def __delitem__(self, idx):
        names = list(self._modules)[idx] if isinstance(idx, slice) else [self._slot(idx)]
        for name in names:
            delattr(self, name)
        survivors = list(self._modules.values())
        self._modules = OrderedDict((str(pos), child) for pos, child in enumerate(survivors))

    def _shift_in(self, pos, module):
        """Store module under slot str(pos), moving the numbered children from pos onwards one slot up."""
        moved = [self._modules[str(i)] for i in range(pos, len(self._modules))]
        for offset, child in enumerate([module, *moved]):
            self._modules[str(pos + offset)] = child

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        if not isinstance(modules, abc.Iterable):
            raise TypeError(f"{type(self).__name__}.extend: expected an iterable of modules, "
                            f"got {type(modules).__name__}")
        for module in modules:
            self.append(module)
        return self

    def pop(self, key):
        removed = self[key]
        self.__delitem__(key)
        return removed


class Sequential(_PositionalChildren):
    """Children called one after another: Sequential(m0, m1, ...) or Sequential(OrderedDict(name=m, ...))."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            named = list(args[0].items())
        else:
            named = [(str(pos), module) for pos, module in enumerate(args)]
        for name, module in named:
            self.add_module(name, module)

    def _slot(self, idx):
        return list(self._modules)[_checked_position("Sequential", idx, len(self))]

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return self._modules[self._slot(idx)]

    @staticmethod
    def _require_sequential(other, op):
        if not isinstance(other, Sequential):
            raise ValueError(f"Sequential {op}: the other operand must be a Sequential, got {type(other)}")

    def __add__(self, other):
        self._require_sequential(other, "+")
        return Sequential(*self, *other)

    def __iadd__(self, other):
        self._require_sequential(other, "+=")
        return self.extend(other)

    def __mul__(self, other):
        if not isinstance(other, int) or other <= 0:
            raise ValueError(f"Sequential *: the repeat count must be a positive int, got {other!r}")
        return Sequential(*(list(self) * other))  # the same module objects, repeated

    __rmul__ = __mul__

    def insert(self, index, module):
        if not isinstance(module, Module):
            raise AssertionError(f"Sequential.insert: module must be an nn.Module, got {type(module).__name__}")
        size = len(self)
        if index < -size or index > size:
            raise IndexError(f"Sequential.insert: index must lie in [{-size}, {size}], got {index}")
        self._shift_in(index + size if index < 0 else index, module)
        return self

    def forward(self, input):
        out = input
        for layer in self:
            out = layer(out)
        return out


class ModuleList(_PositionalChildren):
    """A list of modules, registered as children "0", "1", ..."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _slot(self, idx):
        return str(_checked_position("ModuleList", idx, len(self)))

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self)[idx])
        return self._modules[self._slot(idx)]

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList([*self, *other])

    def insert(self, index, module):
        self._shift_in(index, module)

    def __repr__(self):
        reprs = [repr(m) for m in self]
        if not reprs:
            return self._get_name() + "()"
        blocks = [[0, 0, reprs[0]]]  # runs of equal reprs print once: "(0-2): 3 x Linear(...)"
        for i, r in enumerate(reprs[1:], 1):
            if r == blocks[-1][2]:
                blocks[-1][1] = i
            else:
                blocks.append([i, i, r])
        lines = []
        for start, end, b in blocks:
            s = f"({start}): {b}" if start == end else f"({start}-{end}): {end - start + 1} x {b}"
            lines.append(_addindent(s, 2))
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """An ordered dict of modules, registered as children under their keys."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def clear(self):
        self._modules.clear()

    def pop(self, key):
        removed = self[key]
        self.__delitem__(key)
        return removed

    def update(self, modules):
        """Add or replace children from a mapping (its own order) or from (key, module) pairs."""
        for key, module in _entries("ModuleDict", modules, (OrderedDict, ModuleDict, abc.Mapping)):
            self[key] = module


def _param_line(k, p, type_str):
    if isinstance(p, Tensor):
        size = "x".join(str(s) for s in p.size())
        dev = f" ({p.device})" if p.device.type == "cuda" else ""
        kind = "Parameter" if isinstance(p, Parameter) else "Tensor"
        return f"  ({k}): {kind} containing: [{type_str(p)} of size {size}{dev}]"
    return f"  ({k}): Object of type: {type(p).__name__}"


class ParameterList(Module):
    """A list of parameters (tensors are wrapped as Parameters), registered as "0", "1", ..."""

    def __init__(self, values=None):
        super().__init__()
        self._size = 0  # entries may be plain objects (kept as attributes), so the count is stored
        if values is not None:
            self.extend(values)

    def _slot(self, idx):
        return str(_checked_position("ParameterList", idx, self._size))

    def __getitem__(self, idx):
        if not isinstance(idx, slice):
            return getattr(self, self._slot(idx))
        picked = type(self)()
        for pos in range(self._size)[idx]:
            picked.append(self[pos])
        return picked

    def __setitem__(self, idx, param):
        setattr(self, self._slot(idx), _as_parameter(param))

    def __len__(self):
        return self._size

    def __iter__(self):
        return (self[pos] for pos in range(self._size))

    def __iadd__(self, parameters):
        return self.extend(parameters)

    def append(self, value):
        self._size += 1
        self[self._size - 1] = value
        return self

    def extend(self, values):
        if isinstance(values, Tensor) or not isinstance(values, abc.Iterable):
            raise TypeError(f"ParameterList.extend: expected an iterable of parameters, got {type(values).__name__}")
        for value in values:
            self.append(value)
        return self

    def extra_repr(self):
        return "\n".join(_param_line(k, p, lambda t: str(t.dtype)) for k, p in enumerate(self))

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterList: a parameter container has no forward and should not be called")


def _string_key(key):
    if not isinstance(key, str):
        raise TypeError(f"ParameterDict: keys must be strings, got {key!r} of type '{type(key).__name__}'")
    return key


class ParameterDict(Module):
    """An ordered dict of parameters (tensors are wrapped as Parameters)."""

    def __init__(self, parameters=None):
        super().__init__()
        self._keys = {}  # insertion order of the entries; values may also be plain attributes
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        return getattr(self, _string_key(key))

    def __setitem__(self, key, value):
        setattr(self, _string_key(key), _as_parameter(value))
        self._keys[key] = None

    def __delitem__(self, key):
        del self._keys[key]
        delattr(self, key)

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __reversed__(self):
        return reversed(self._keys)

    def __contains__(self, key):
        return key in self._keys

    def keys(self):
        return self._keys.keys()

    def values(self):
        return (self[key] for key in self._keys)

    def items(self):
        return ((key, self[key]) for key in self._keys)

    def get(self, key, default=None):
        return self[key] if key in self else default

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key):
        removed = self[key]
        self.__delitem__(key)
        return removed

    def popitem(self):
        if not self._keys:
            raise KeyError("ParameterDict.popitem: the dictionary is empty")
        last = list(self._keys)[-1]
        return last, self.pop(last)

    def clear(self):
        for key in list(self._keys):
            self.__delitem__(key)

    def copy(self):
        return ParameterDict(OrderedDict(self.items()))

    def fromkeys(self, keys, default=None):
        return ParameterDict([(key, default) for key in keys])

    def update(self, parameters):
        """Add or replace entries; a plain dict is applied in sorted key order, like torch."""
        for key, value in _entries("ParameterDict", parameters, (OrderedDict, ParameterDict)):
            self[key] = value

    def extra_repr(self):
        return "\n".join(_param_line(k, p, _typename) for k, p in self.items())

    def __call__(self, input):
        raise RuntimeError("ParameterDict: a parameter container has no forward and should not be called")

    def __or__(self, other):
        merged = self.copy()
        merged.update(other)
        return merged

    def __ror__(self, other):
        merged = other.copy()
        merged.update(self)
        return merged

    def __ior__(self, other):
        self.update(other)
        return self
