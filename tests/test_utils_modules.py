"""pyml.utils._pytree, pyml.utils.hooks and pyml.nn.utils.stateless against torch 2.13's modules."""
import collections
import warnings

import pytest
import torch.utils._pytree as tpt

import pyml
import pyml.utils._pytree as ppt
from pyml.nn.modules.module import RemovableHandle as ModuleHandle
from pyml.utils import hooks

Point = collections.namedtuple("Point", "x y")


def _trees():
    return [1, None, (1, 2), [1, [2, (3, None)]], {"a": 1, "b": [2, 3]}, collections.OrderedDict(z=1, a=(2,)),
            Point(1, [2, 3]), collections.deque([1, 2], maxlen=4), collections.defaultdict(list, {"k": (1, 2)}),
            {"nested": {"deep": [None, {"x": 5}]}}, (), [], {}]


@pytest.mark.parametrize("tree", _trees(), ids=lambda t: type(t).__name__ + str(len(str(t))))
def test_flatten_unflatten_match_torch(tree):
    leaves, spec = ppt.tree_flatten(tree)
    tleaves, tspec = tpt.tree_flatten(tree)
    assert leaves == tleaves
    assert spec.num_leaves == tspec.num_leaves and spec.num_nodes == tspec.num_nodes
    assert spec.num_children == tspec.num_children and spec.is_leaf() == tspec.is_leaf()
    assert spec.type == tspec.type and spec.context == tspec.context
    assert ppt.treespec_pprint(spec) == tpt.treespec_pprint(tspec)
    rebuilt = ppt.tree_unflatten(leaves, spec)
    assert rebuilt == tree and type(rebuilt) is type(tree)
    assert ppt.tree_leaves(tree) == tpt.tree_leaves(tree)
    assert ppt.tree_structure(tree) == spec and list(ppt.tree_iter(tree)) == leaves
    assert ppt.tree_is_leaf(tree) == tpt.tree_is_leaf(tree)


def test_map_variants_match_torch():
    tree = {"a": (1, 2.5), "b": [3, "s", None]}
    f = lambda x: x * 2 if isinstance(x, (int, float)) else x  # noqa: E731
    assert ppt.tree_map(f, tree) == tpt.tree_map(f, tree)
    assert ppt.tree_map(lambda a, b: (a, b), (1, [2]), (3, [4])) == tpt.tree_map(lambda a, b: (a, b), (1, [2]),
                                                                                 (3, [4]))
    assert ppt.tree_map(lambda a, b: (a, b), (1, 2), ([5, 6], {"k": 7})) == tpt.tree_map(
        lambda a, b: (a, b), (1, 2), ([5, 6], {"k": 7}))  # the first tree is a prefix of the second
    assert ppt.tree_map_only(int, lambda x: -x, tree) == tpt.tree_map_only(int, lambda x: -x, tree)
    assert ppt.tree_map_only((int, float), str, tree) == tpt.tree_map_only((int, float), str, tree)
    assert ppt.tree_map_only(lambda x: x == 3, lambda x: 0, tree) == tpt.tree_map_only(lambda x: x == 3,
                                                                                      lambda x: 0, tree)
    seen = []
    assert ppt.tree_map_(seen.append, tree) is tree and seen == tpt.tree_leaves(tree)
    seen.clear()
    ppt.tree_map_only_(str, seen.append, tree)
    assert seen == ["s"]
    keep = lambda x: isinstance(x, tuple)  # noqa: E731
    assert ppt.tree_leaves(tree, is_leaf=keep) == tpt.tree_leaves(tree, is_leaf=keep)
    size = lambda x: len(x) if isinstance(x, tuple) else x  # noqa: E731
    assert ppt.tree_map(size, tree, is_leaf=keep) == tpt.tree_map(size, tree, is_leaf=keep)


def test_predicates_match_torch():
    tree = [1, (2, "x"), {"k": 3.0}]
    for fn in ("tree_all", "tree_any"):
        for pred in (lambda x: isinstance(x, int), lambda x: x != "y"):
            assert getattr(ppt, fn)(pred, tree) == getattr(tpt, fn)(pred, tree)
    for fn in ("tree_all_only", "tree_any_only"):
        assert getattr(ppt, fn)(int, lambda x: x > 1, tree) == getattr(tpt, fn)(int, lambda x: x > 1, tree)
        assert getattr(ppt, fn)(str, lambda x: x == "x", tree) == getattr(tpt, fn)(str, lambda x: x == "x", tree)


def test_tensors_are_leaves_and_map_only():
    t = pyml.ones(2)
    out = ppt.tree_map_only(pyml.Tensor, lambda x: x + 1, {"w": t, "n": 3})
    assert out["n"] == 3 and out["w"].tolist() == [2.0, 2.0]
    assert ppt.tree_leaves((t, [t]))[1] is t


class Pair:
    def __init__(self, a, b):
        self.a, self.b = a, b


def test_register_pytree_node_and_func_see_it():
    ppt.register_pytree_node(Pair, lambda p: ([p.a, p.b], "ctx"), lambda kids, ctx: Pair(*kids))
    leaves, spec = ppt.tree_flatten([Pair(1, (2, 3)), 4])
    assert leaves == [1, 2, 3, 4] and spec.children_specs[0].type is Pair and spec.children_specs[0].context == "ctx"
    back = ppt.tree_unflatten([5, 6, 7, 8], spec)
    assert isinstance(back[0], Pair) and back[0].b == (6, 7) and back[1] == 8
    # pyml.func walks the same registry: vmap maps over the tensors inside a registered container
    out = pyml.func.vmap(lambda p: p.a.sum() + p.b)(Pair(pyml.ones(3, 2), pyml.arange(3.0)))
    assert out.tolist() == [2.0, 3.0, 4.0]
    with pytest.raises(ValueError, match="already registered"):
        ppt.register_pytree_node(Pair, lambda p: ([], None), lambda k, c: Pair(0, 0))
    with pytest.raises(TypeError, match="cls must be a class"):
        ppt.register_pytree_node("Pair", lambda p: ([], None), lambda k, c: None)


def test_leafspec_and_errors():
    assert ppt.LeafSpec() == ppt.tree_structure(1) and ppt.LeafSpec().is_leaf()
    with pytest.raises(ValueError, match="needs 2 leaves, got 3"):
        ppt.tree_unflatten([1, 2, 3], ppt.tree_structure((0, 0)))
    with pytest.raises(TypeError, match="Expected `treespec` to be instance of TreeSpec"):
        ppt.tree_unflatten([1], "spec")
    with pytest.raises(ValueError, match="does not match the first tree's structure"):
        ppt.tree_map(lambda a, b: a, (1, 2), [1, 2])
    with pytest.raises(TypeError, match="expected a type"):
        ppt.tree_map_only(3, str, [1])
    assert ppt.is_namedtuple(Point) and ppt.is_namedtuple_instance(Point(1, 2)) and not ppt.is_namedtuple((1, 2))
    assert tpt.is_namedtuple(Point) and not tpt.is_namedtuple((1, 2))


# ------------------------------------------------------------------------------ hooks
def test_hooks_removable_handle_is_the_modules():
    assert hooks.RemovableHandle is ModuleHandle
    lin = pyml.nn.Linear(2, 2)
    calls = []
    h = lin.register_forward_hook(lambda m, i, o: calls.append(1))
    assert isinstance(h, hooks.RemovableHandle)
    lin(pyml.ones(1, 2))
    h.remove()
    lin(pyml.ones(1, 2))
    assert calls == [1]
    d = collections.OrderedDict()
    with hooks.RemovableHandle(d) as handle:
        d[handle.id] = "hook"
    assert not d


def test_unserializable_hook_and_warn_if_has_hooks():
    f = hooks.unserializable_hook(lambda g: g)
    assert f.__torch_unserializable__ is True

    class Fake:
        _backward_hooks = {0: f, 1: lambda g: g}
    with pytest.warns(UserWarning, match="will not be serialized") as rec:
        hooks.warn_if_has_hooks(Fake())
    assert len(rec) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hooks.warn_if_has_hooks(pyml.ones(2))


# ------------------------------------------------------------------------------ stateless
def test_stateless_functional_call_warns_and_forwards():
    lin = pyml.nn.Linear(3, 2)
    params = {"weight": pyml.zeros(2, 3), "bias": pyml.ones(2)}
    with pytest.warns(FutureWarning, match="stateless.functional_call` is deprecated"):
        out = pyml.nn.utils.stateless.functional_call(lin, params, (pyml.randn(4, 3),))
    assert out.tolist() == [[1.0, 1.0]] * 4
    with pytest.warns(FutureWarning):
        again = pyml.nn.utils.stateless.functional_call(lin, params, pyml.randn(1, 3), strict=True)
    assert again.tolist() == [[1.0, 1.0]]
    assert lin.weight.abs().sum().item() > 0  # the module's own parameters are untouched
