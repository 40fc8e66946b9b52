"""Pytrees for pyml.func: nested tuples, lists, dicts and namedtuples whose leaves are tensors (or
any other object), flattened to a list of leaves plus a TreeSpec that rebuilds the same structure.

As in torch.utils._pytree, None is a container with no leaves. A prefix tree (vmap's in_dims and
out_dims) is matched against a full tree: where the prefix has a leaf (an int or None), that value
applies to every leaf of the subtree below. Other container types join through register_node (deque
and defaultdict are registered here, as in torch); pyml.utils._pytree is the torch-named API on top.
"""
from collections import OrderedDict, defaultdict, deque, namedtuple

_NODES = {}  # registered container type -> (flatten_fn: x -> (children, context), unflatten_fn)


class TreeSpec:
    """The shape of a pytree: kind ('leaf', 'none', 'tuple', 'list', 'dict', 'namedtuple'), the
    container type, its keys (dicts) and the children's specs."""

    def __init__(self, kind, typ=None, keys=None, children=()):
        self.kind, self.typ, self.keys, self.children = kind, typ, keys, tuple(children)
        self.num_leaves = 1 if kind == "leaf" else sum(c.num_leaves for c in self.children)

    def __eq__(self, other):
        return (isinstance(other, TreeSpec) and self.kind == other.kind and self.typ == other.typ
                and self.keys == other.keys and self.children == other.children)

    def __hash__(self):
        return hash((self.kind, self.typ, self.children))

    # torch.utils._pytree's view of a spec
    @property
    def type(self):
        return {"leaf": None, "none": type(None), "namedtuple": namedtuple}.get(self.kind, self.typ)

    @property
    def context(self):
        if self.kind in ("dict", "custom"):
            return list(self.keys) if self.kind == "dict" else self.keys
        return self.typ if self.kind == "namedtuple" else None

    @property
    def children_specs(self):
        return list(self.children)

    @property
    def num_children(self):
        return len(self.children)

    @property
    def num_nodes(self):
        return 1 + sum(c.num_nodes for c in self.children)

    def is_leaf(self):
        return self.kind == "leaf"

    def child(self, index):
        return self.children[index]

    def __repr__(self):
        if self.kind == "custom":
            return f"{self.typ.__name__}(" + ", ".join(repr(c) for c in self.children) + ")"
        if self.kind in ("leaf", "none"):
            return "*" if self.kind == "leaf" else "None"
        inner = [repr(c) for c in self.children]
        if self.kind == "dict":
            return "{" + ", ".join(f"{k!r}: {c}" for k, c in zip(self.keys, inner)) + "}"
        if self.kind == "list":
            return "[" + ", ".join(inner) + "]"
        return "(" + ", ".join(inner) + ("," if len(inner) == 1 else "") + ")"


LEAF = TreeSpec("leaf")


def _kind(x):
    """Containers by exact type, like torch's registry: a tuple subclass such as pyml.Size is a leaf."""
    t = type(x)
    if x is None:
        return "none"
    if t in _NODES:
        return "custom"
    if t is tuple or t is list:
        return t.__name__
    if t is dict or t is OrderedDict:
        return "dict"
    if isinstance(x, tuple) and hasattr(t, "_fields"):
        return "namedtuple"
    return "leaf"


def _children(x, kind):
    if kind == "custom":
        kids, context = _NODES[type(x)][0](x)
        return context, list(kids)
    if kind == "dict":
        return list(x.keys()), list(x.values())
    return None, list(x) if kind != "none" else []


def tree_flatten(tree, is_leaf=None):
    """(leaves in order, TreeSpec); is_leaf(x) True stops the descent at x."""
    leaves = []
    return leaves, _flatten_into(tree, leaves, is_leaf)


def _flatten_into(x, leaves, is_leaf=None):
    kind = "leaf" if is_leaf is not None and is_leaf(x) else _kind(x)
    if kind == "leaf":
        leaves.append(x)
        return LEAF
    keys, kids = _children(x, kind)
    return TreeSpec(kind, type(x), keys, [_flatten_into(k, leaves, is_leaf) for k in kids])


def tree_unflatten(leaves, spec):
    """The tree of shape `spec` holding `leaves` (a sequence of exactly spec.num_leaves items)."""
    leaves = list(leaves)
    if len(leaves) != spec.num_leaves:
        raise ValueError(f"tree_unflatten: the spec needs {spec.num_leaves} leaves, got {len(leaves)}")
    return _build(iter(leaves), spec)


def _build(it, spec):
    if spec.kind == "leaf":
        return next(it)
    if spec.kind == "none":
        return None
    kids = [_build(it, c) for c in spec.children]
    if spec.kind == "custom":
        return _NODES[spec.typ][1](kids, spec.keys)
    if spec.kind == "dict":
        return spec.typ(zip(spec.keys, kids))
    if spec.kind == "namedtuple":
        return spec.typ(*kids)
    return spec.typ(kids)


def tree_map(fn, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def broadcast_prefix(prefix, spec):
    """One prefix value per leaf of `spec`, or None when `prefix` is not a prefix of the tree."""
    out = []
    return out if _broadcast_into(prefix, spec, out) else None


def _broadcast_into(prefix, spec, out):
    kind = _kind(prefix)
    if kind in ("leaf", "none"):
        out.extend([prefix] * spec.num_leaves)
        return True
    if kind != spec.kind or (kind in ("namedtuple", "custom") and type(prefix) is not spec.typ):
        return False
    keys, kids = _children(prefix, kind)
    if len(kids) != len(spec.children):
        return False
    if kind == "dict":
        if set(keys) != set(spec.keys):
            return False
        kids = [prefix[k] for k in spec.keys]
    return all(_broadcast_into(p, c, out) for p, c in zip(kids, spec.children))


def register_node(cls, flatten_fn, unflatten_fn):
    """Make `cls` a container: flatten_fn(x) -> (children, context), unflatten_fn(children, context) -> x."""
    if cls in _NODES or cls in (tuple, list, dict, OrderedDict, type(None)):
        raise ValueError(f"register_pytree_node: {cls.__name__} is already registered as a pytree node")
    _NODES[cls] = (flatten_fn, unflatten_fn)


register_node(deque, lambda d: (list(d), d.maxlen), lambda kids, maxlen: deque(kids, maxlen=maxlen))
register_node(defaultdict, lambda d: (list(d.values()), [d.default_factory, list(d.keys())]),
              lambda kids, ctx: defaultdict(ctx[0], zip(ctx[1], kids)))
