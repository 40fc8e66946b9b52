"""The autograd graph and its backward engine.

A non-leaf tensor points at the Node that made it (grad_fn) and its output slot (_output_nr); a
Node points at the Nodes of its inputs (next_functions, a tuple of (node, output_nr) or None) and
holds what its backward needs as SavedTensors. Leaves that require grad get one AccumulateGrad
node each, held weakly by the tensor, so the graph never forms a reference cycle and every tensor
dies by reference counting alone. run_backward counts, for every reachable node, how many edges
point at it, then runs nodes as their gradients complete, newest first (like PyTorch).
"""
import heapq
import itertools
import os
import traceback
import weakref

from .. import _dtype as D
from .._device import from_pair
from .._tensor import Tensor
from . import grad_mode

_seq = itertools.count(1)
_DEVICES = {}


def _meta(t):
    """(shape, dtype, device) of a tensor: what a zero gradient or a shape check needs."""
    impl = t._impl
    dev = impl.device
    d = _DEVICES.get(dev)
    if d is None:
        d = _DEVICES[dev] = from_pair(dev)
    return (impl.shape, D.BY_CODE[impl.dtype], d)


class Node:
    """One recorded op. Subclasses implement backward(*grad_outputs) -> tuple of input grads.
    Hook containers are class-level None until a hook is registered (recording stays cheap)."""
    _pre_hooks = None        # output_nr -> [tensor hooks], run on the gradient arriving at that output
    _retain = None           # output_nr -> weakref of a tensor that retains its grad
    _hooks = None            # node post-hooks: fn(grad_inputs, grad_outputs)
    _node_pre_hooks = None   # node pre-hooks: fn(grad_outputs)
    _freed = False
    trace = None             # forward stack (traceback.StackSummary), kept under detect_anomaly

    def __init__(self, name, inputs, n_outputs=1):
        self.name = name
        self.next_functions = tuple([_edge(t) for t in inputs])
        self.n_outputs = n_outputs
        self.out_meta = [None] * n_outputs  # (shape, dtype, device) of each output, for zero grads
        self.seq = next(_seq)

    def name_(self):
        return self.name

    def backward(self, *grads):
        raise NotImplementedError

    def release(self):
        """Drop saved tensors after a backward without retain_graph."""
        self._freed = True

    def register_hook(self, fn):
        """fn(grad_inputs, grad_outputs) runs after this node's backward; may return new grad_inputs."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return _Handle(self._hooks, fn)

    def register_prehook(self, fn):
        """fn(grad_outputs) runs before this node's backward; may return new grad_outputs."""
        if self._node_pre_hooks is None:
            self._node_pre_hooks = []
        self._node_pre_hooks.append(fn)
        return _Handle(self._node_pre_hooks, fn)

    def _tensor_pre_hooks(self, nr):
        if self._pre_hooks is None:
            self._pre_hooks = {}
        return self._pre_hooks.setdefault(nr, [])

    def _retain_grad(self, nr, t):
        if self._retain is None:
            self._retain = {}
        self._retain[nr] = weakref.ref(t)

    def __repr__(self):
        return f"<{self.name} object at {hex(id(self))}>"


class AccumulateGrad(Node):
    """Sink for a leaf: adds the arriving gradient into leaf.grad (its tensor hooks ran before)."""

    def __init__(self, leaf):
        super().__init__("AccumulateGrad", ())
        self.variable = leaf
        self._impl, self._meta = leaf._impl, [_meta(leaf)]

    @property
    def out_meta(self):
        leaf = self.variable
        if leaf._impl is not self._impl:  # `leaf.data = other` swapped the data: shape/dtype may differ
            self._impl, self._meta = leaf._impl, [_meta(leaf)]
        return self._meta

    @out_meta.setter
    def out_meta(self, value):
        pass  # always derived from the leaf

    def backward(self, grad, owned=False):
        t = self.variable
        accumulate_into(t, grad, owned)
        for h in list(t.__dict__.get("_post_acc_hooks", ())):
            h(t)
        return ()


def accumulate_into(t, grad, owned=False):
    """t.grad += grad with PyTorch's rules: t.grad never aliases another tensor (the first gradient is
    cloned unless the engine made it privately, later ones are added in place), and under create_graph
    the sum is recorded out of place.

    Why clone: a formula may hand the same tensor (or views of one storage) to several inputs, and the
    engine cannot see storage sharing, so keeping it would let p.grad.mul_() change another .grad."""
    if grad_mode.is_grad_enabled():
        t.grad = grad.clone() if t.grad is None else t.grad + grad
    elif t.grad is None:
        t.grad = grad.detach() if owned else grad.detach().clone()
    else:
        t.grad.add_(grad.detach())


class _Handle:
    """What register_hook returns: .remove() takes the hook out again."""

    def __init__(self, lst, fn):
        self._lst, self._fn = lst, fn

    def remove(self):
        for i, f in enumerate(self._lst):
            if f is self._fn:
                del self._lst[i]
                return

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def grad_accumulator(leaf):
    ref = leaf.__dict__.get("_grad_acc")
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(leaf)
        leaf.__dict__["_grad_acc"] = weakref.ref(node)
    return node


def _edge(t):
    """The (node, output_nr) a gradient for tensor t flows into, or None."""
    if t is None or not getattr(t, "_requires_grad", False):
        return None
    fn = t.grad_fn
    if fn is None:
        return (grad_accumulator(t), 0)
    d = t.__dict__
    if "_base" in d:
        v = d.get("_fn_version")
        if v is not None and v != t._impl.version:
            fn = _refresh_view(t)
    return (fn, d.get("_output_nr", 0))


def _refresh_view(t):
    """An in-place op changed t's base after t was made: t's history is now 'a view of the base's current
    history' (PyTorch regenerates a view's grad_fn the same way)."""
    base = t.__dict__["_base"]
    if not base._requires_grad or t.__dict__.get("_view_fn") is None:
        return t.grad_fn
    from .formulas import _view_formula
    from .function import OpNode
    node = OpNode("AsStridedBackward", _view_formula, [base], [t], t.__dict__["_view_fn"], save_inputs=False)
    node.out_meta[0] = _meta(t)
    t.grad_fn = node
    t.__dict__["_output_nr"] = 0
    t.__dict__["_fn_version"] = t._impl.version
    return node


# ---------------------------------------------------------------------------------------- saved tensors
def _freed_error(name):
    return RuntimeError(
        f"{name}: trying to backward through the graph a second time (or directly access saved tensors after "
        "they have already been freed). Saved intermediate values of the graph are freed when you call "
        ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a "
        "second time or if you need to access saved tensors after calling backward.")


class SavedTensor:
    """A tensor saved for backward: checks at unpack time that no in-place op changed it. An output is
    saved without its grad_fn (that would be a cycle) and re-linked to the node on unpack."""
    __slots__ = ("tensor", "version", "is_output", "node_name", "fn", "nr")

    def __init__(self, t, node_name, is_output=False, output_nr=0):
        self.version = t._impl.version
        self.is_output = is_output
        self.node_name = node_name
        if is_output:
            self.tensor = Tensor._wrap(t._impl)
            # a built-in op's outputs are attached to the node just after saving: float means differentiable
            self.tensor._requires_grad = t._requires_grad or D.BY_CODE[t._impl.dtype].is_floating_point
            self.fn, self.nr = None, output_nr
        else:
            self.tensor = t
            self.fn, self.nr = t.grad_fn, t.__dict__.get("_output_nr", 0)

    def unpack(self, node):
        t = self.tensor
        if t._impl.version != self.version:
            raise RuntimeError(self._modified_message(node))
        if self.is_output and t._requires_grad and grad_mode.is_grad_enabled():
            out = Tensor._wrap(t._impl)
            out._requires_grad = True
            out.grad_fn = node
            out.__dict__["_output_nr"] = self.nr
            out.__dict__["_fn_version"] = self.version
            return out
        return t

    def _modified_message(self, node):
        t = self.tensor
        if self.is_output:
            what = f"output {self.nr} of {self.node_name}"
        elif self.fn is not None:
            what = f"output {self.nr} of {self.fn.name}, saved as an input of {self.node_name}"
        else:
            what = f"a leaf saved as an input of {self.node_name}"
        return (f"{node.name}: one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [{t.dtype} {list(t.shape)}], which is {what}, is at version "
                f"{t._impl.version}; expected version {self.version} instead. Hint: use .clone() before the "
                "in-place op, or enable autograd.set_detect_anomaly(True) to see where the op was created.")


class Freed:
    """What a SavedTensor becomes after a backward without retain_graph: unpacking it raises."""
    __slots__ = ()

    def unpack(self, node):
        raise _freed_error(node.name)


FREED = Freed()


# ---------------------------------------------------------------------------------------- engine
def _collect(root_nodes):
    """Dependency counts: for every node reachable from the roots, how many edges point at it."""
    deps = {}
    seen = set(root_nodes)
    stack = list(seen)
    while stack:
        for e in stack.pop().next_functions:
            if e is None:
                continue
            nxt = e[0]
            if nxt in deps:
                deps[nxt] += 1
            else:
                deps[nxt] = 1
                if nxt not in seen:  # (a root reached from another root is already in seen)
                    seen.add(nxt)
                    stack.append(nxt)
    return deps, seen


def _needed(seen, targets):
    """Targets and every node from which some target can be reached."""
    need = set(targets)
    order = sorted(seen, key=lambda n: n.seq)  # a node's inputs were (almost always) created before it
    changed = True
    while changed:
        changed = False
        for node in order:
            if node not in need and any(e is not None and e[0] in need for e in node.next_functions):
                need.add(node)
                changed = True
    return need


def _zeros_for(meta):
    from .. import zeros
    shape, dtype, device = meta
    return zeros(shape, dtype=dtype, device=device)


def run_backward(roots, grad_roots, retain_graph, create_graph, targets=None, accumulate=True):
    """Run the graph backward from (node, output_nr) roots with their gradients.

    targets: (node, output_nr) edges whose incoming gradient (after tensor hooks) is returned as
    {index: grad}; with targets only the nodes that lead to a target run. accumulate=False (autograd.grad)
    never runs AccumulateGrad; accumulate=True with targets (backward(inputs=...)) runs only the targets'.
    """
    deps, seen = _collect({r[0] for r in roots})
    buffers = {}
    owned = set()  # ids of gradients the engine created by summing (private: a leaf may keep them)
    for (node, nr), g in zip(roots, grad_roots):
        _add_to(buffers, node, nr, g, owned)
    captured, cap_index, run = {}, {}, None
    if targets is not None:
        for k, (node, nr) in enumerate(targets):
            cap_index.setdefault(node, []).append((k, nr))
        need = _needed(seen, cap_index)
        run = {n for n in need if any(e is not None and e[0] in need for e in n.next_functions)}
        if accumulate:
            run.update(n for n in cap_index if type(n) is AccumulateGrad)
    ready = [(-n.seq, n) for n in buffers if n not in deps]
    heapq.heapify(ready)
    anomaly = _anomaly_enabled()
    state = grad_mode._state
    prev = state.enabled
    state.enabled = bool(create_graph)
    try:
        while ready:
            node = heapq.heappop(ready)[1]
            grads = buffers.pop(node, None) or [None] * node.n_outputs
            is_acc = type(node) is AccumulateGrad
            live = (accumulate or not is_acc) if run is None else node in run
            if (live or node in cap_index) and (is_acc or node._pre_hooks or node._retain or node._node_pre_hooks):
                grads = _run_pre_hooks(node, grads)
            if cap_index:
                for k, nr in cap_index.get(node, ()):
                    captured[k] = grads[nr]
            if not live:
                in_grads = None
            elif is_acc:
                if grads[0] is not None:
                    node.backward(grads[0], id(grads[0]) in owned)
                in_grads = None
            else:
                in_grads = _apply(node, grads, anomaly)
            if live and not retain_graph:
                node.release()
            for i, e in enumerate(node.next_functions):
                if e is None:
                    continue
                nxt = e[0]
                if in_grads is not None and in_grads[i] is not None:
                    _add_to(buffers, nxt, e[1], in_grads[i], owned)
                n = deps[nxt] - 1
                deps[nxt] = n
                if n == 0:
                    heapq.heappush(ready, (-nxt.seq, nxt))
    finally:
        state.enabled = prev
    return captured


def _add_to(buffers, node, nr, g, owned):
    buf = buffers.get(node)
    if buf is None:
        buf = buffers[node] = [None] * node.n_outputs
    if buf[nr] is None:
        buf[nr] = g
    else:
        buf[nr] = s = buf[nr] + g
        owned.add(id(s))


def _anomaly_enabled():
    from .anomaly_mode import is_anomaly_enabled
    return is_anomaly_enabled()


def _run_pre_hooks(node, grads):
    """Tensor hooks (a leaf's live on the tensor), then retain_grad, then node pre-hooks: PyTorch's order."""
    if type(node) is AccumulateGrad:
        hooks = node.variable._hooks
        if hooks and grads[0] is not None:
            for h in list(hooks):
                grads[0] = _hooked(h, grads[0])
    if node._pre_hooks:
        for nr, hooks in node._pre_hooks.items():
            for h in list(hooks):
                if grads[nr] is None:
                    break
                grads[nr] = _hooked(h, grads[nr])
    if node._retain:
        for nr, ref in node._retain.items():
            t = ref()
            if t is not None and grads[nr] is not None:
                g = grads[nr] if grad_mode.is_grad_enabled() else grads[nr].detach()
                t.grad = g.clone() if t.grad is None else t.grad + g
    if node._node_pre_hooks:
        for h in list(node._node_pre_hooks):
            r = h(tuple(grads))
            if r is not None:
                grads = list(r)
    return grads


def _hooked(hook, g):
    """A tensor hook's result replaces the gradient; it must keep the gradient's shape."""
    r = hook(g)
    if r is None:
        return g
    if not isinstance(r, Tensor) or r._impl.shape != g._impl.shape:
        got = tuple(r.shape) if isinstance(r, Tensor) else type(r).__name__
        raise RuntimeError(f"hook '{getattr(hook, '__name__', hook)}' has changed the size of value: expected a "
                           f"Tensor of shape {tuple(g.shape)}, got {got}")
    return r


def _apply(node, grads, anomaly):
    """Run one node's backward: materialise missing output grads as zeros (unless the node opts out),
    check the results, run post-hooks."""
    if getattr(node, "materialize_grads", True):
        for i, g in enumerate(grads):
            if g is None and node.out_meta[i] is not None:  # non-tensor outputs get None
                grads[i] = _zeros_for(node.out_meta[i])
    try:
        out = node.backward(*grads)
        if type(out) is not tuple:
            out = tuple(out) if isinstance(out, list) else (out,)
        if len(out) != len(node.next_functions):
            out = _match_count(node, out)
        out = _validate(node, out)
    except Exception as e:
        if anomaly and node.trace is not None and not getattr(e, "_pyml_traced", False):
            from .anomaly_mode import forward_site
            e.args = (f"{e.args[0] if e.args else e}\n\n{forward_site(node)}",) + tuple(e.args[1:])
            e._pyml_traced = True
        raise
    if anomaly:
        from .anomaly_mode import check_grads
        check_grads(node, out)
    if node._hooks:
        for h in list(node._hooks):
            r = h(out, tuple(grads))
            if r is not None:
                out = tuple(r)
    return out


def _match_count(node, out):
    """Pad or trim a backward's result where the difference only concerns inputs without an edge
    (non-tensors, tensors that need no grad); anything else is a formula bug and raises."""
    n = len(node.next_functions)
    if len(out) < n and all(e is None for e in node.next_functions[len(out):]):
        return out + (None,) * (n - len(out))
    if len(out) > n and all(g is None for g in out[n:]):
        return out[:n]
    raise RuntimeError(f"{node.name}: backward returned {len(out)} gradients, expected {n} (one per input)")


def _validate(node, out):
    """Each gradient must fit the input it flows to: a broadcastable shape is summed down, another dtype
    is cast, anything else raises naming the node (PyTorch's validate_outputs)."""
    fixed = None
    for i, g in enumerate(out):
        e = node.next_functions[i]
        if g is None or e is None:
            continue
        if type(g) is not Tensor and not isinstance(g, Tensor):
            raise TypeError(f"{node.name}: backward must return Tensors or None, got {type(g).__name__} at index {i}")
        meta = e[0].out_meta[e[1]]
        if meta is None:
            continue
        impl = g._impl
        if impl.shape != meta[0] or D.BY_CODE[impl.dtype] is not meta[1]:
            fixed = list(out) if fixed is None else fixed
            fixed[i] = _fit_grad(node, i, g, meta)
    return out if fixed is None else tuple(fixed)


def _fit_grad(node, i, g, meta):
    shape = tuple(meta[0])
    if tuple(g.shape) != shape:
        if not _expandable(shape, tuple(g.shape)):
            raise RuntimeError(f"Function {node.name} returned an invalid gradient at index {i} - got "
                               f"{list(g.shape)} but expected shape compatible with {list(shape)}")
        from .formulas import sum_to
        g = sum_to(g, shape)
    if g.dtype is not meta[1]:
        if not g.dtype.is_floating_point:
            raise RuntimeError(f"Function {node.name} returned an invalid gradient at index {i} - expected "
                               f"dtype {meta[1]} but got {g.dtype}")
        g = g.to(meta[1])
    return g


def _expandable(shape, to):
    """True when a tensor of `shape` broadcasts to `to`."""
    if len(shape) > len(to):
        return False
    return all(s == t or s == 1 for s, t in zip(shape[::-1], to[::-1]))


# ---------------------------------------------------------------------------------------- anomaly traces
_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def capture_trace():
    """The forward call's stack without pyml's own frames (lines are looked up only if reported)."""
    stack = traceback.StackSummary.extract(traceback.walk_stack(None), lookup_lines=False)
    stack.reverse()
    user = [f for f in stack if not os.path.abspath(f.filename).startswith(_PKG + os.sep)]
    return traceback.StackSummary.from_list(user or list(stack))
