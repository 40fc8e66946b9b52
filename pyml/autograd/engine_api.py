"""The backward engine (run_backward) and its entry points autograd.backward and autograd.grad.

run_backward counts, for every node reachable from the roots, how many edges point at it, then runs
nodes as their gradients complete, newest first (like PyTorch): tensor hooks, the node's formula,
a shape/dtype check of each gradient against the input it flows to, post-hooks, and (without
retain_graph) the release of the node's saved tensors.
"""
import heapq

from .. import _C
from .._tensor import Tensor, wrap
from . import grad_mode
from ..amp.autocast_mode import suspended
from .graph import _edge, accumulate_into, AccumulateGrad


def _collect(root_nodes, stop=()):
    """Dependency counts: for every node reachable from the roots, how many edges point at it. Nodes in
    stop are counted but not expanded (the walk ends there)."""
    deps = {}
    seen = set(root_nodes)
    stack = list(seen)
    while stack:
        node = stack.pop()
        if node in stop:
            continue
        for e in node.next_functions:
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


def run_backward(roots, grad_roots, retain_graph, create_graph, targets=None, accumulate=True,
                 stop_at_targets=False):
    """Run the graph backward from (node, output_nr) roots with their gradients.

    targets: (node, output_nr) edges whose incoming gradient (after tensor hooks) is returned as
    {index: grad}; with targets only the nodes that lead to a target run. accumulate=False (autograd.grad)
    never runs AccumulateGrad; accumulate=True with targets (backward(inputs=...)) runs only the targets'.
    stop_at_targets: the walk ends at the target nodes (their own history is neither visited nor run);
    right only when no target lies upstream of another, as for fresh aliases (composite_backward.py).
    """
    stop = {t[0] for t in targets} if stop_at_targets else ()
    deps, seen = _collect({r[0] for r in roots}, stop)
    buffers = {}
    for (node, nr), g in zip(roots, grad_roots):
        _add_to(buffers, node, nr, g)
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
    no_autocast = suspended()  # backward ops run in the dtypes their forward ops chose
    no_autocast.__enter__()
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
                if node in stop:
                    continue
            if not live:
                in_grads = None
            elif is_acc:
                g, grads, in_grads = grads[0], None, None  # this frame's only reference: the gradient may be stolen
                if g is not None:
                    node.backward(g)
                    g = None
            else:
                in_grads = _apply(node, grads, anomaly)
            if live and not retain_graph:
                node.release()
            for i, e in enumerate(node.next_functions):
                if e is None:
                    continue
                nxt = e[0]
                if in_grads is not None and in_grads[i] is not None:
                    _add_to(buffers, nxt, e[1], in_grads[i])
                n = deps[nxt] - 1
                deps[nxt] = n
                if n == 0:
                    heapq.heappush(ready, (-nxt.seq, nxt))
    finally:
        state.enabled = prev
        no_autocast.__exit__()
    return captured


def _add_to(buffers, node, nr, g):
    buf = buffers.get(node)
    if buf is None:
        buf = buffers[node] = [None] * node.n_outputs
    buf[nr] = g if buf[nr] is None else buf[nr] + g


def _anomaly_enabled():
    from .anomaly_mode import is_anomaly_enabled
    return is_anomaly_enabled()


def _run_pre_hooks(node, grads):
    """Tensor hooks (a leaf's live on the tensor), then retain_grad, then node pre-hooks: PyTorch's order."""
    if type(node) is AccumulateGrad:
        leaf = node.variable
        hooks = leaf._hooks if leaf is not None else None
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
    is cast, anything else raises naming the node (PyTorch's validate_outputs). The check compares the
    engine's raw (shape, dtype|device key) pairs: one engine call per gradient, no decoding."""
    fixed = None
    edges = node.next_functions
    for i, g in enumerate(out):
        if g is None:
            continue
        e = edges[i]
        if e is None:
            continue
        if type(g) is not Tensor and not isinstance(g, Tensor):
            raise TypeError(f"{node.name}: backward must return Tensors or None, got {type(g).__name__} at index {i}")
        want = e[0]._raw_meta(e[1])
        if want is None:
            continue
        have = g._impl.meta
        if have[0] != want[0] or have[1] != want[1]:
            meta = e[0].out_meta[e[1]]
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
        if not g.dtype._diff:
            raise RuntimeError(f"Function {node.name} returned an invalid gradient at index {i} - expected "
                               f"dtype {meta[1]} but got {g.dtype}")
        from .formulas import _cast
        g = _cast(g, meta)
    return g


def _expandable(shape, to):
    """True when a tensor of `shape` broadcasts to `to`."""
    if len(shape) > len(to):
        return False
    return all(s == t or s == 1 for s, t in zip(shape[::-1], to[::-1]))


# ---------------------------------------------------------------------------------------- entry points


def _as_list(x, op, what):
    if x is None:
        return None
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        return list(x)
    try:  # any iterable, as in torch: model.parameters(), dict.values(), generators
        return list(iter(x))
    except TypeError:
        raise TypeError(f"{op}: {what} must be a Tensor or a sequence of Tensors, got {type(x).__name__}") from None


def _make_grads(outputs, grad_outputs, create_graph, op):
    """One gradient per output: given ones are checked against the output, a missing one is 1 for a
    scalar output."""
    grads = []
    for i, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"{op}: outputs must be Tensors, got {type(out).__name__} at position {i}")
        if not out.requires_grad:
            raise RuntimeError(f"{op}: element {i} of tensors does not require grad and does not have a grad_fn")
        g = None if grad_outputs is None else grad_outputs[i]
        if g is None:
            if out.numel() != 1:
                raise RuntimeError(f"{op}: grad can be implicitly created only for scalar outputs, got output {i} "
                                   f"of shape {tuple(out.shape)}")
            impl = out._impl  # ones_like's argument checks cost 3 us, most of a tiny backward's set-up
            g = wrap(_C.full(impl.shape, 1, impl.dtype, impl.device))
        elif not isinstance(g, Tensor):
            raise TypeError(f"{op}: gradients must be Tensors or None, got {type(g).__name__} at position {i}")
        else:
            if tuple(g.shape) != tuple(out.shape):
                raise ValueError(f"{op}: mismatch in shape: grad_output[{i}] has a shape of {tuple(g.shape)} and "
                                 f"output[{i}] has a shape of {tuple(out.shape)}")
            if g.dtype._diff != out.dtype._diff:
                raise TypeError(f"{op}: grad_output[{i}] has dtype {g.dtype} but output[{i}] has dtype {out.dtype}")
            if g.dtype is not out.dtype:
                g = g.to(out.dtype)
            if not create_graph:
                g = g.detach()
        grads.append(g)
    return grads


def _targets(inputs, op):
    edges = []
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: inputs must be Tensors, got {type(t).__name__} at position {i}")
        if not t.requires_grad:
            raise RuntimeError(f"{op}: one of the differentiated Tensors (input {i}) does not require grad")
        edges.append(_edge(t))
    return edges


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaves) into the leaves' .grad (or only into `inputs` when given)."""
    outputs = _as_list(tensors, "backward", "tensors")
    grads = _as_list(grad_tensors, "backward", "grad_tensors")
    if grads is not None and len(grads) != len(outputs):
        raise ValueError(f"backward: got {len(grads)} gradients for {len(outputs)} tensors")
    if retain_graph is None:
        retain_graph = create_graph
    grads = _make_grads(outputs, grads, create_graph, "backward")
    roots = [_edge(o) for o in outputs]
    if inputs is None:
        run_backward(roots, grads, retain_graph, create_graph)
        return
    ins = _as_list(inputs, "backward", "inputs")
    if not ins:
        raise ValueError("backward: 'inputs' argument to backward() cannot be empty")
    got = run_backward(roots, grads, retain_graph, create_graph, targets=_targets(ins, "backward"), accumulate=True)
    for k, t in enumerate(ins):  # leaves accumulated through their AccumulateGrad; non-leaves here
        g = got.get(k)
        if g is not None and t.grad_fn is not None:
            accumulate_into(t, g)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Return d(outputs)/d(inputs) (summed over outputs, weighted by grad_outputs) without touching .grad."""
    if is_grads_batched:
        raise NotImplementedError("grad: is_grads_batched=True is not supported; loop over the batch instead")
    outs = _as_list(outputs, "grad", "outputs")
    ins = _as_list(inputs, "grad", "inputs")
    gos = _as_list(grad_outputs, "grad", "grad_outputs")
    if gos is not None and len(gos) != len(outs):
        raise ValueError(f"grad: got {len(gos)} grad_outputs for {len(outs)} outputs")
    if allow_unused is None:
        allow_unused = materialize_grads
    elif materialize_grads and not allow_unused:
        raise ValueError("grad: expected allow_unused to be True or not passed when materialize_grads=True")
    if retain_graph is None:
        retain_graph = create_graph
    grads = _make_grads(outs, gos, create_graph, "grad")
    got = run_backward([_edge(o) for o in outs], grads, retain_graph, create_graph, targets=_targets(ins, "grad"),
                       accumulate=False)
    result = []
    for k, t in enumerate(ins):
        g = got.get(k)
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"grad: one of the differentiated Tensors (input {k}) appears to not have been "
                                   "used in the graph. Set allow_unused=True if this is the desired behavior.")
            if materialize_grads:
                from .. import zeros_like
                g = zeros_like(t)
        elif not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)
