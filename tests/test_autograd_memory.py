"""Autograd memory: saved tensors are freed by backward (unless retain_graph), graphs hold no
reference cycles (every tensor and node dies by reference counting alone: checked with weakrefs
while the cyclic GC is disabled), and a 2000-step training loop keeps the number of live tensors,
graph nodes and the process RSS flat."""
import gc
import os
import weakref

import numpy as np
import pytest

import pyml
from pyml.autograd.graph import Node


@pytest.fixture
def no_gc():
    """Run the test with the cyclic collector off, after clearing any garbage left by earlier tests."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_saved_tensors_freed_after_backward(no_gc):
    x = pyml.randn(5, requires_grad=True)
    y = x.exp()  # saved by MulBackward below (as an input) and by ExpBackward (as its output)
    alive = weakref.ref(y)
    z = (y * y).sum()
    node = z.grad_fn
    del y
    assert alive() is not None  # the graph keeps it for backward
    z.backward()
    assert alive() is None  # freed by backward although z and its graph are still alive
    mul = node.next_functions[0][0]
    assert mul.name == "MulBackward"
    with pytest.raises(RuntimeError, match="MulBackward: trying to backward through the graph a second time"):
        mul.inputs


def test_retain_graph_keeps_saved_tensors_until_the_graph_dies(no_gc):
    x = pyml.randn(5, requires_grad=True)
    y = x.exp()
    alive = weakref.ref(y)
    z = (y * y).sum()
    del y
    z.backward(retain_graph=True)
    assert alive() is not None
    z.backward()  # second pass still works, then frees
    assert alive() is None


def test_autograd_grad_frees_what_it_ran(no_gc):
    x = pyml.randn(4, requires_grad=True)
    y = x.sin()
    alive = weakref.ref(y)
    z = (y * y).sum()
    del y
    pyml.autograd.grad(z, x)
    assert alive() is None


class SaveAll(pyml.autograd.Function):
    @staticmethod
    def forward(ctx, a):
        b = a * 2
        ctx.save_for_backward(a, b)  # an input and the output
        return b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * 2


def _graphs():
    """Graph-building snippets covering every way a node or tensor can be referenced."""
    def builtin(x):
        return (x.exp() * x.sigmoid()).sum()  # saved inputs and saved outputs

    def custom(x):
        return SaveAll.apply(x).sum()

    def views_inplace(x):
        y = x * 2
        v = y[1:3]
        v.mul_(2)  # CopySlices on y, v re-based on y
        return (y * v.sum()).sum()

    def hooks(x):
        y = x * 2
        y.register_hook(lambda g: g * 1)
        y.retain_grad()
        x.register_hook(lambda g: g)
        return (y * y).sum()

    def double(x):
        g, = pyml.autograd.grad((x ** 3).sum(), x, create_graph=True)
        return (g * g).sum()

    def anomaly(x):
        with pyml.autograd.detect_anomaly():
            return (x.tanh() * 3).sum()

    def indexing(x):
        return (x[pyml.tensor([0, 2, 2])] * x.max()).sum() + x.reshape(2, 3).softmax(dim=1).sum()

    return [builtin, custom, views_inplace, hooks, double, anomaly, indexing]


@pytest.mark.parametrize("build", _graphs(), ids=lambda f: f.__name__)
@pytest.mark.parametrize("run", ["no backward", "backward", "retain_graph"])
def test_no_reference_cycles(no_gc, build, run):
    x = pyml.tensor(np.linspace(-1.0, 1.0, 6), requires_grad=True)
    loss = build(x)
    refs = [weakref.ref(loss), weakref.ref(loss.grad_fn), weakref.ref(x)]
    stack = [loss.grad_fn]
    seen = set()
    while stack:  # every node of the graph must die too
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        refs.append(weakref.ref(n))
        stack.extend(e[0] for e in n.next_functions if e is not None)
    if run == "backward":
        loss.backward()
    elif run == "retain_graph":
        loss.backward(retain_graph=True)
    del loss, n, stack, seen, x
    assert all(r() is None for r in refs), [r() for r in refs if r() is not None]


def _live(kind):
    return sum(1 for o in gc.get_objects() if issubclass(type(o), kind))  # type(): no __class__ lookups


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_training_loop_memory_is_flat():
    rng = np.random.default_rng(0)
    X = pyml.tensor(rng.standard_normal((64, 8)))
    Y = pyml.tensor(rng.standard_normal((64, 1)))
    params = [pyml.tensor(rng.standard_normal((8, 32)) * 0.3, requires_grad=True), pyml.zeros(32, requires_grad=True),
              pyml.tensor(rng.standard_normal((32, 1)) * 0.3, requires_grad=True), pyml.zeros(1, requires_grad=True)]

    def step():
        w1, b1, w2, b2 = params
        loss = ((((X @ w1 + b1).tanh() @ w2 + b2) - Y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with pyml.no_grad():
            for p in params:
                p.sub_(0.05 * p.grad)
        return loss.item()

    first = step()
    for _ in range(200):  # warm-up: allocator pools, caches
        step()
    gc.collect()
    tensors, nodes, rss = _live(pyml.Tensor), _live(Node), _rss_bytes()
    gc.disable()  # so that anything kept alive by a cycle is still counted below
    try:
        for _ in range(2000):
            last = step()
        assert last < first  # it trains
        assert _live(pyml.Tensor) == tensors
        assert _live(Node) == nodes
        growth = _rss_bytes() - rss
    finally:
        gc.enable()
    assert growth < 8 * 2 ** 20, f"RSS grew by {growth / 2 ** 20:.1f} MiB over 2000 steps"
