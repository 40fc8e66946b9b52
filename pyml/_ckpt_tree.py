"""Checkpoint objects <-> (named tensors, JSON description of everything else).

save() splits an object tree into its tensors (stored as safetensors entries, named by their path,
e.g. "optimizer.state.0.exp_avg") and a JSON node tree for the containers and plain values. Nodes:
  null | true | false | number | string                       plain values (floats finite)
  {"$": "float", "value": "nan" | "inf" | "-inf"}
  {"$": "tensor", "name": s [, "requires_grad": true] [, "parameter": true] [, "device": "cuda:0"]}
  {"$": "list" | "tuple", "items": [node, ...]}
  {"$": "dict" | "OrderedDict", "items": [[key, value], ...] [, "attrs": {name: node}]}
Keys keep their type (int keys of optimizer state come back as ints).
"""
import math
from collections import OrderedDict

from ._tensor import Tensor
from ._safetensors import CheckpointError, METADATA

_PLAIN = (type(None), bool, int, float, str)


def _where(path):
    return "".join(path) if path else "the top level"


class Flattener:
    """Walks an object once: `node(obj)` returns its JSON node; `tensors` lists (name, tensor) in order."""

    def __init__(self):
        self.tensors = []
        self._names = {}  # id(tensor) -> entry name, so one object is stored once
        self._taken = {METADATA}
        self._open = set()  # ids of the containers on the current path (a cycle can't be saved)

    def node(self, x, path=(), segs=()):
        if isinstance(x, _PLAIN):
            return _plain(x)
        if isinstance(x, Tensor):
            return self._tensor(x, path, segs)
        kind = _container_kind(x)
        if kind is None:
            raise TypeError(f"cannot save object of type {type(x).__name__} at {_where(path)}")
        if id(x) in self._open:
            raise ValueError(f"the container at {_where(path)} contains itself; a cycle can't be saved")
        self._open.add(id(x))
        try:
            return self._container(kind, x, path, segs)
        finally:
            self._open.discard(id(x))

    def _container(self, kind, x, path, segs):
        if kind in ("list", "tuple"):
            items = [self.node(v, path + (f"[{i}]",), segs + (str(i),)) for i, v in enumerate(x)]
            return {"$": kind, "items": items}
        items = []
        for k, v in x.items():
            sub = path + (f"[{k!r}]",)
            items.append([_key(k, path), self.node(v, sub, segs + (k if isinstance(k, str) else repr(k),))])
        out = {"$": kind, "items": items}
        attrs = vars(x) if kind == "OrderedDict" else {}
        if attrs:  # e.g. a state_dict's _metadata (module versions)
            out["attrs"] = {_attr_name(a, path): self.node(v, path + (f".{a}",), segs + (a,))
                            for a, v in attrs.items()}
        return out

    def _tensor(self, t, path, segs):
        from .nn.parameter import Parameter
        if type(t) not in (Tensor, Parameter):
            raise TypeError(f"cannot save tensor subclass {type(t).__name__} at {_where(path)}")
        if id(t) not in self._names:
            self._names[id(t)] = self._fresh_name(".".join(segs) if segs else "tensor")
            self.tensors.append((self._names[id(t)], t))
        out = {"$": "tensor", "name": self._names[id(t)]}
        if t.requires_grad:
            out["requires_grad"] = True
        if type(t) is Parameter:
            out["parameter"] = True
        if t.device.type != "cpu":
            out["device"] = location(t.device)
        return out

    def _fresh_name(self, name):
        fresh, i = name, 0
        while fresh in self._taken:
            i += 1
            fresh = f"{name}#{i}"
        self._taken.add(fresh)
        return fresh


def location(dev):
    """The device string recorded for a tensor, like torch's location tags: 'cpu' or 'cuda:N'."""
    return "cpu" if dev.type == "cpu" else f"cuda:{dev.index or 0}"


def _container_kind(x):
    kinds = {list: "list", tuple: "tuple", dict: "dict", OrderedDict: "OrderedDict"}
    return kinds.get(type(x))


def _plain(x):
    """Plain values as JSON; subclasses (IntEnum, numpy.float64, ...) are stored as their base value."""
    if x is None or isinstance(x, bool):
        return x
    if isinstance(x, int):
        return int.__int__(x)
    if isinstance(x, str):
        return str.__str__(x)
    x = float.__float__(x)
    if math.isfinite(x):
        return x
    return {"$": "float", "value": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}


def plain_attr(name):
    return isinstance(name, str) and name.isidentifier() and not name.startswith("__")


def _attr_name(a, path):
    if not plain_attr(a):
        raise TypeError(f"cannot save the attribute {a!r} of the OrderedDict at {_where(path)}; "
                        "only plain attribute names (like _metadata) are kept")
    return a


def _key(k, path):
    if isinstance(k, _PLAIN):
        return _plain(k)
    if type(k) is tuple:
        return {"$": "tuple", "items": [_key(v, path) for v in k]}
    raise TypeError(f"cannot save a dict key of type {type(k).__name__} at {_where(path)}; "
                    "keys must be None, bool, int, float, str or tuples of those")


# ---------------------------------------------------------------------------- loading
class Builder:
    """Rebuilds the object from a JSON node tree; `tensor(name, info)` supplies each tensor.
    Every malformed node raises CheckpointError."""

    def __init__(self, tensor):
        self._tensor = tensor
        self._tags = {"float": self._float, "tensor": self._tensor_node, "list": self._seq, "tuple": self._seq,
                      "dict": self._map, "OrderedDict": self._map}

    def build(self, node, where="the top level"):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        tag = node.get("$") if isinstance(node, dict) else None
        if tag not in self._tags:
            raise CheckpointError(f"unknown structure node at {where}: {_short(node)}")
        return self._tags[tag](node, where)

    def _float(self, node, where):
        value = node.get("value")
        if value not in ("nan", "inf", "-inf"):
            raise CheckpointError(f"float node at {where} must have value nan, inf or -inf, got {_short(value)}")
        return float(value)

    def _tensor_node(self, node, where):
        name, device = node.get("name"), node.get("device", "cpu")
        flags = (node.get("requires_grad", False), node.get("parameter", False))
        if not isinstance(name, str) or not isinstance(device, str) or not all(type(b) is bool for b in flags):
            raise CheckpointError(f"tensor node at {where} is malformed: {_short(node)}")
        return self._tensor(name, {"requires_grad": flags[0], "parameter": flags[1], "device": device})

    def _seq(self, node, where):
        items = _field(node, "items", list, where)
        out = [self.build(v, f"{where}[{i}]") for i, v in enumerate(items)]
        return out if node["$"] == "list" else tuple(out)

    def _map(self, node, where):
        out = {} if node["$"] == "dict" else OrderedDict()
        for pair in _field(node, "items", list, where):
            if not (isinstance(pair, list) and len(pair) == 2):
                raise CheckpointError(f"dict item at {where} must be a [key, value] pair, got {_short(pair)}")
            k = self._key(pair[0], where)
            if k in out:
                raise CheckpointError(f"dict at {where} repeats the key {k!r}")
            out[k] = self.build(pair[1], f"{where}[{k!r}]")
        self._attrs(out, node, where)
        return out

    def _key(self, node, where):
        """Keys are plain values, special floats or tuples of keys (never tensors or mutable containers)."""
        tag = node.get("$") if isinstance(node, dict) else None
        if tag == "tuple":
            return tuple(self._key(v, where) for v in _field(node, "items", list, where))
        if tag == "float" or not isinstance(node, (dict, list)):
            return self.build(node, where)
        raise CheckpointError(f"dict key at {where} must be a plain value or a tuple, got {_short(node)}")

    def _attrs(self, out, node, where):
        if "attrs" not in node:
            return
        attrs = _field(node, "attrs", dict, where)
        if node["$"] != "OrderedDict" or not all(plain_attr(a) for a in attrs):
            raise CheckpointError(f"attrs at {where} must be plain attribute names of an OrderedDict")
        for a, v in attrs.items():
            setattr(out, a, self.build(v, f"{where}.{a}"))


def _field(node, key, kind, where):
    value = node.get(key)
    if not isinstance(value, kind):
        raise CheckpointError(f"{node['$']} node at {where} needs '{key}' as a JSON "
                              f"{'array' if kind is list else 'object'}, got {_short(value)}")
    return value


def _short(x):
    text = repr(x)
    return text if len(text) <= 80 else text[:77] + "..."
