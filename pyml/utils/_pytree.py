"""torch.utils._pytree's API over pyml's pytree machinery (pyml/_func_pytree.py, which pyml.func uses):
flatten nested tuples, lists, dicts, OrderedDicts, namedtuples, deques, defaultdicts and registered
classes to leaves plus a TreeSpec, map over leaves, rebuild. As in torch 2.13, None is a leaf here
(pyml.func keeps None as an empty container, as its vmap prefixes need); pyml.Size is a leaf (torch
flattens torch.Size). Key paths (tree_flatten_with_path, keystr) and spec serialisation are not provided.
"""
import types
from collections import OrderedDict
from typing import Any, Callable

from .._func_pytree import LEAF, TreeSpec, _NODES, register_node
from .._func_pytree import tree_flatten as _flatten, tree_unflatten as _unflatten

__all__ = ["PyTree", "Context", "FlattenFn", "UnflattenFn", "DumpableContext", "ToDumpableContextFn",
           "FromDumpableContextFn", "PyTreeSpec", "TreeSpec", "LeafSpec", "register_pytree_node", "tree_flatten", "tree_unflatten", "tree_leaves",
           "tree_structure", "tree_iter", "tree_is_leaf", "tree_map", "tree_map_", "tree_map_only",
           "tree_map_only_", "tree_all", "tree_any", "tree_all_only", "tree_any_only", "treespec_pprint",
           "is_namedtuple", "is_namedtuple_class", "is_namedtuple_instance"]

SUPPORTED_NODES = _NODES
PyTree = Any  # the typing names torch exports
Context = Any
DumpableContext = Any
FlattenFn = Callable
UnflattenFn = Callable
ToDumpableContextFn = Callable
FromDumpableContextFn = Callable
PyTreeSpec = TreeSpec


class LeafSpec(TreeSpec):
    """The spec of a single leaf (equal to the spec tree_flatten gives a leaf)."""

    def __init__(self):
        super().__init__("leaf")


def register_pytree_node(cls, flatten_fn, unflatten_fn, *, serialized_type_name=None, to_dumpable_context=None,
                         from_dumpable_context=None, flatten_with_keys_fn=None):
    """Make `cls` a container: flatten_fn(x) -> (children, context); unflatten_fn(children, context) -> x.
    The serialisation and key-path hooks are accepted for torch's signature and not used."""
    if not isinstance(cls, type):
        raise TypeError(f"register_pytree_node: cls must be a class, got {type(cls).__name__}")
    register_node(cls, flatten_fn, unflatten_fn)


def _leaf_test(is_leaf):
    return (lambda x: x is None) if is_leaf is None else (lambda x: x is None or is_leaf(x))


def tree_flatten(tree, is_leaf=None):
    """(leaves, TreeSpec); is_leaf(x) True keeps x whole."""
    return _flatten(tree, _leaf_test(is_leaf))


def tree_unflatten(leaves, treespec):
    if not isinstance(treespec, TreeSpec):
        raise TypeError(f"tree_unflatten(leaves, treespec): Expected `treespec` to be instance of TreeSpec but "
                        f"got item of type {type(treespec)}.")
    return _unflatten(leaves, treespec)


def tree_leaves(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[1]


def tree_iter(tree, is_leaf=None):
    return iter(tree_leaves(tree, is_leaf))


def tree_is_leaf(tree, is_leaf=None):
    return tree_structure(tree, is_leaf).is_leaf()


def tree_map(func, tree, *rests, is_leaf=None):
    """func applied leaf-wise; each tree in `rests` must have tree's structure or extend it (tree is then a
    prefix: the subtree of a rest where tree has a leaf is passed whole)."""
    leaves, spec = tree_flatten(tree, is_leaf)
    others = [_flatten_up_to(spec, r, is_leaf) for r in rests]
    return _unflatten([func(*xs) for xs in zip(leaves, *others)], spec)


def _flatten_up_to(spec, tree, is_leaf):
    """tree's subtrees at spec's leaves, in order."""
    if spec.is_leaf():
        return [tree]
    leaves, sub = tree_flatten(tree, lambda x: x is not tree or (is_leaf is not None and is_leaf(x)))
    if sub.type is not spec.type or sub.context != spec.context or sub.num_children != spec.num_children:
        raise ValueError(f"tree_map: a tree in rests does not match the first tree's structure {spec}; "
                         f"got a {type(tree).__name__} node with structure {sub}")
    return [x for kid, c in zip(leaves, spec.children) for x in _flatten_up_to(c, kid, is_leaf)]


def tree_map_(func, tree, *rests, is_leaf=None):
    """func applied leaf-wise for its side effects; returns `tree`."""
    leaves, spec = tree_flatten(tree, is_leaf)
    for xs in zip(leaves, *[_flatten_up_to(spec, r, is_leaf) for r in rests]):
        func(*xs)
    return tree


def _pred(type_or_types_or_pred):
    t = type_or_types_or_pred
    if isinstance(t, (type, tuple, types.UnionType)):
        return lambda x: isinstance(x, t)
    if callable(t):
        return t
    raise TypeError(f"expected a type, a tuple of types or a predicate, got {t!r}")


def _only(type_or_types, func):
    test = _pred(type_or_types)
    return lambda x: func(x) if test(x) else x


def tree_map_only(type_or_types_or_pred, /, func, tree, is_leaf=None):
    """func applied to the leaves of the given type(s) (or passing the predicate); others unchanged."""
    return tree_map(_only(type_or_types_or_pred, func), tree, is_leaf=is_leaf)


def tree_map_only_(type_or_types_or_pred, /, func, tree, is_leaf=None):
    return tree_map_(_only(type_or_types_or_pred, func), tree, is_leaf=is_leaf)


def tree_all(pred, tree, is_leaf=None):
    return all(map(pred, tree_iter(tree, is_leaf)))


def tree_any(pred, tree, is_leaf=None):
    return any(map(pred, tree_iter(tree, is_leaf)))


def tree_all_only(type_or_types, /, pred, tree, is_leaf=None):
    test = _pred(type_or_types)
    return all(pred(x) for x in tree_iter(tree, is_leaf) if test(x))


def tree_any_only(type_or_types, /, pred, tree, is_leaf=None):
    test = _pred(type_or_types)
    return any(pred(x) for x in tree_iter(tree, is_leaf) if test(x))


def treespec_pprint(treespec):
    """The spec drawn as its tree with * for each leaf, e.g. {'a': (*, [*, *])}."""
    return repr(_unflatten([_Star()] * treespec.num_leaves, treespec))


class _Star:
    def __repr__(self):
        return "*"


def is_namedtuple_class(cls):
    return isinstance(cls, type) and issubclass(cls, tuple) and isinstance(getattr(cls, "_fields", None), tuple)


def is_namedtuple_instance(obj):
    return is_namedtuple_class(type(obj))


def is_namedtuple(obj):
    return is_namedtuple_class(obj if isinstance(obj, type) else type(obj))


_ = (LEAF, OrderedDict)  # re-exported names pyml code may import from here
