"""The autograd graph and its backward engine.

A non-leaf tensor points at the Node that made it (grad_fn) and its output slot (_output_nr); a
Node points at the Nodes of its inputs (next_functions) and holds what its backward needs as
SavedTensors. Leaves that require grad get one AccumulateGrad node each (held weakly by the
tensor, so the graph never forms a cycle). backward() counts, for every reachable node, how many
consumers will send it a gradient, then runs nodes as their gradients complete.
"""
import heapq
import traceback
import weakref

from . import grad_mode


class Node:
    """One recorded op. Subclasses implement backward(*grad_outputs) -> tuple of input grads."""
    _seq = 0

    def __init__(self, name, inputs, n_outputs=1):
        self.name = name
        self.next_functions = tuple(_edge(t) for t in inputs)
        self.n_outputs = n_outputs
        self.out_meta = [None] * n_outputs  # (shape, dtype, device) of each output, for zero grads
        self._pre_hooks = {}                # output_nr -> [tensor hooks]
        self._retain = {}                   # output_nr -> weakref of a tensor that retains its grad
        self._hooks = []                    # node hooks: fn(grad_inputs, grad_outputs)
        self._node_pre_hooks = []
        self._freed = False
        self.trace = None                   # forward stack, kept under detect_anomaly
        Node._seq += 1
        self.seq = Node._seq

    def name_(self):
        return self.name

    def backward(self, *grads):
        raise NotImplementedError

    def release(self):
        """Drop saved tensors after a backward without retain_graph."""
        self._freed = True

    def register_hook(self, fn):
        self._hooks.append(fn)
        return _Handle(self._hooks, fn)

    def register_prehook(self, fn):
        self._node_pre_hooks.append(fn)
        return _Handle(self._node_pre_hooks, fn)

    def __repr__(self):
        return f"<{self.name} object at {hex(id(self))}>"


class AccumulateGrad(Node):
    """Sink for a leaf: adds the arriving gradient into leaf.grad."""

    def __init__(self, leaf):
        super().__init__("AccumulateGrad", ())
        self.variable = leaf
        self.out_meta = [_meta(leaf)]

    def backward(self, grad):
        leaf = self.variable
        for h in leaf._hooks or ():
            r = h(grad)
            if r is not None:
                grad = r
        if leaf.grad is None:
            leaf.grad = grad if grad_mode.is_grad_enabled() else grad.detach()
            if not grad_mode.is_grad_enabled() and _shares(grad, leaf):
                leaf.grad = grad.clone()
        elif grad_mode.is_grad_enabled():
            leaf.grad = leaf.grad + grad
        else:
            leaf.grad.add_(grad)
        return ()


class _Handle:
    """What register_hook returns: .remove() takes the hook out again."""

    def __init__(self, lst, fn):
        self._lst, self._fn = lst, fn

    def remove(self):
        if self._fn in self._lst:
            self._lst.remove(self._fn)


def _shares(a, b):
    return a._impl.storage_id == b._impl.storage_id


def _meta(t):
    return (tuple(t.shape), t.dtype, t.device)


def grad_accumulator(leaf):
    ref = leaf.__dict__.get("_grad_acc")
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(leaf)
        leaf.__dict__["_grad_acc"] = weakref.ref(node)
    return node


def _edge(t):
    """The (node, output_nr) a gradient for tensor t flows into, or None."""
    if t is None or not getattr(t, "requires_grad", False):
        return None
    if t.grad_fn is not None:
        return (t.grad_fn, t.__dict__.get("_output_nr", 0))
    return (grad_accumulator(t), 0)


class SavedTensor:
    """A tensor saved for backward: checks at unpack time that no in-place op changed it."""
    __slots__ = ("tensor", "version", "is_output", "node_name")

    def __init__(self, t, node_name, is_output=False):
        # outputs are saved without their grad_fn (that would be a cycle) and re-linked on unpack
        self.tensor = t.detach() if is_output else t
        if is_output:
            self.tensor.requires_grad = t.requires_grad or t.dtype.is_floating_point  # record() sets it later
        self.version = t._impl.version
        self.is_output = is_output
        self.node_name = node_name

    def unpack(self, node):
        if node._freed:
            raise RuntimeError(
                f"{node.name}: trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the graph are freed "
                "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
                "backward through the graph a second time or if you need to access saved tensors after "
                "calling backward.")
        t = self.tensor
        if t._impl.version != self.version:
            raise RuntimeError(
                f"{node.name}: one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [{t.dtype} {list(t.shape)}], which is {'output' if self.is_output else 'an input'}"
                f" of {self.node_name}, is at version {t._impl.version}; expected version {self.version} instead.")
        if self.is_output and t.requires_grad and grad_mode.is_grad_enabled():
            from .._tensor import Tensor
            out = Tensor._wrap(t._impl)
            out.requires_grad = True
            out.grad_fn = node
            return out
        return t


# ---------------------------------------------------------------------------------------- engine
def _collect(roots):
    """Dependency counts: for every node reachable from roots, how many edges point at it."""
    deps = {}
    seen = set()
    stack = list(dict.fromkeys(n for n in roots if n is not None))  # a node given twice counts once
    for n in stack:
        seen.add(n)
    while stack:
        node = stack.pop()
        for e in node.next_functions:
            if e is None:
                continue
            nxt = e[0]
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return deps, seen


def _run_set(seen, targets):
    """Nodes that must run so every target receives its gradient: those with an edge into a node that
    leads to a target (a target itself runs only when another target lies behind it)."""
    need = _needed(seen, targets)
    return {n for n in need if any(e is not None and e[0] in need for e in n.next_functions)}


def _needed(seen, targets):
    """Targets and the nodes from which some target is reachable."""
    need = set(targets)
    changed = True
    order = sorted(seen, key=lambda n: n.seq)  # inputs were created before their consumers
    while changed:
        changed = False
        for node in order:
            if node in need:
                continue
            if any(e is not None and e[0] in need for e in node.next_functions):
                need.add(node)
                changed = True
    return need


def _zeros_for(meta):
    from .. import zeros
    shape, dtype, device = meta
    return zeros(shape, dtype=dtype, device=device)


def _accumulate(buf, i, g):
    buf[i] = g if buf[i] is None else buf[i] + g


def run_backward(roots, grad_roots, retain_graph, create_graph, capture=None, accumulate=True):
    """Run the graph backward from (node, output_nr) roots with their gradients.

    capture: list of (node, output_nr) whose incoming gradient to return instead of (or, for leaves,
    before) accumulating; when given with accumulate=False only the nodes leading to them run.
    """
    from .anomaly_mode import is_anomaly_enabled, check_grads
    root_nodes = [r[0] for r in roots]
    deps, seen = _collect(root_nodes)
    buffers = {}
    for (node, nr), g in zip(roots, grad_roots):
        buf = buffers.setdefault(node, [None] * node.n_outputs)
        _accumulate(buf, nr, g)
    captured = {}
    cap_index = {}
    if capture is not None:
        for k, (node, nr) in enumerate(capture):
            cap_index.setdefault(node, []).append((k, nr))
    run_set = _run_set(seen, list(cap_index)) if (capture is not None and not accumulate) else None
    # a heap keyed by creation order: the most recently created ready node runs first
    ready = [(-n.seq, id(n), n) for n in set(root_nodes) if deps.get(n, 0) == 0]
    heapq.heapify(ready)
    anomaly = is_anomaly_enabled()
    with grad_mode.set_grad_enabled(bool(create_graph)):
        while ready:
            node = heapq.heappop(ready)[2]
            grads = buffers.pop(node, [None] * node.n_outputs)
            grads = _run_pre_hooks(node, grads)
            for k, nr in cap_index.get(node, ()):
                captured[k] = grads[nr]
            skip = (isinstance(node, AccumulateGrad) and not accumulate) or (run_set is not None and node not in run_set)
            if not skip:
                in_grads = _apply(node, grads, anomaly, check_grads)
                if not retain_graph:
                    node.release()
            else:
                in_grads = (None,) * len(node.next_functions)
            for e, g in zip(node.next_functions, in_grads):
                if e is None:
                    continue
                nxt, nr = e
                if g is not None:
                    buf = buffers.setdefault(nxt, [None] * nxt.n_outputs)
                    _accumulate(buf, nr, g)
                deps[nxt] -= 1
                if deps[nxt] == 0:
                    heapq.heappush(ready, (-nxt.seq, id(nxt), nxt))
    return captured


def _run_pre_hooks(node, grads):
    grads = list(grads)
    for nr, hooks in node._pre_hooks.items():
        if grads[nr] is None:
            continue
        for h in list(hooks):
            r = h(grads[nr])
            if r is not None:
                grads[nr] = r
    for nr, ref in node._retain.items():
        t = ref()
        if t is not None and grads[nr] is not None:
            g = grads[nr] if grad_mode.is_grad_enabled() else grads[nr].detach()
            t.grad = g if t.grad is None else t.grad + g
    for h in node._node_pre_hooks:
        r = h(tuple(grads))
        if r is not None:
            grads = list(r)
    return grads


def _apply(node, grads, anomaly, check_grads):
    if isinstance(node, AccumulateGrad):
        if grads[0] is None:
            return ()
        return node.backward(grads[0])
    if any(g is None for g in grads) and getattr(node, "materialize_grads", True):
        grads = [_zeros_for(node.out_meta[i]) if g is None else g for i, g in enumerate(grads)]
    try:
        out = node.backward(*grads)
    except Exception as e:
        if anomaly and node.trace:
            e.args = (f"{e.args[0] if e.args else e}\n\nThe forward op {node.name} was called at:\n"
                      f"{''.join(node.trace)}",) + tuple(e.args[1:])
        raise
    if not isinstance(out, tuple):
        out = (out,)
    if len(out) != len(node.next_functions):
        raise RuntimeError(f"{node.name}: backward returned {len(out)} gradients, expected "
                           f"{len(node.next_functions)} (one per input)")
    if anomaly:
        check_grads(node, out)
    for h in node._hooks:
        r = h(out, tuple(grads))
        if r is not None:
            out = tuple(r)
    return out


def capture_trace():
    return traceback.format_stack()[:-3]
