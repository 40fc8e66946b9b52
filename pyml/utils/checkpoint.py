"""Activation checkpointing, like torch.utils.checkpoint: keep only a function's inputs in the forward
pass and run the function again in backward (compute traded for memory). use_reentrant=True (the default
when not passed, with torch's warning): an autograd.Function whose forward runs under no_grad and whose
backward recomputes on detached inputs and calls autograd.backward; gradients flow only if a tensor input
requires grad. use_reentrant=False: a CheckpointBackward node; the forward records the function's graph
once, only to find the edges leaving it (inputs, parameters, closed-over tensors), then drops it; backward
recomputes, points the recomputed graph's leaving edges at sinks and hands the gradients collected there to
the outer engine (kwargs, nested outputs, no-grad inputs all work). Both recompute with the forward's RNG
state (preserve_rng_state) and autocast state, and put the RNG state back afterwards.
"""
import contextlib
import warnings

from .._tensor import Tensor
from ..autograd import Function, grad_mode
from ..autograd import backward as _autograd_backward
from ..autograd.engine_api import run_backward
from ..random import _capture, _restore
from ..autograd.graph import Node, AccumulateGrad, SavedTensor, _freed_error, _edge, _seq, _meta

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "noop_context_fn"]

_REENTRANT_WARNING = (
    "pyml.utils.checkpoint: the use_reentrant parameter should be passed explicitly; without it the reentrant "
    "variant is used (like torch). use_reentrant=False is recommended (see pyml/utils/checkpoint.py for the "
    "differences).")


class CheckpointError(RuntimeError):
    """The recomputation did not reproduce the forward (different outputs' shapes, dtypes or devices)."""


def noop_context_fn():
    return contextlib.nullcontext(), contextlib.nullcontext()


# ---------------------------------------------------------------------------------------- shared state
def _rng_state(tensors):
    """The CPU generator's state and those of the CUDA devices the inputs live on."""
    return _capture(sorted({t.device.index or 0 for t in tensors if t.device.type == "cuda"}))


@contextlib.contextmanager
def _forked_rng(saved, tensors):
    """Run the body with the RNG state `saved` (if any), then put back the state found on entry."""
    if saved is None:
        yield
        return
    current = _rng_state(tensors)
    _restore(saved)
    try:
        yield
    finally:
        _restore(current)


def _autocast_state():
    from ..amp.autocast_mode import _state
    return dict(_state.dtype)


def _autocast_context(state):
    """Re-enter the autocast regions that were active in the forward (backward runs with autocast off)."""
    from ..amp import autocast
    stack = contextlib.ExitStack()
    for device_type, dtype in state.items():
        stack.enter_context(autocast(device_type, dtype=dtype))
    return stack


def _tensors_in(values):
    return [v for v in values if isinstance(v, Tensor)]


# ---------------------------------------------------------------------------------------- reentrant
class CheckpointFunction(Function):
    """checkpoint(use_reentrant=True): forward under no_grad, backward recomputes and backpropagates."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        ctx.run_function = run_function
        ctx.rng = _rng_state(_tensors_in(args)) if preserve_rng_state else None
        ctx.autocast = _autocast_state()
        ctx.args = [None if isinstance(a, Tensor) else a for a in args]  # tensors go through save_for_backward
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.save_for_backward(*_tensors_in(args))
        return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        args = list(ctx.args)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            args[i] = t.detach().requires_grad_(t.requires_grad)
        with _forked_rng(ctx.rng, _tensors_in(args)), grad_mode.enable_grad(), _autocast_context(ctx.autocast):
            outputs = ctx.run_function(*args)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grads) if isinstance(o, Tensor) and o.requires_grad]
        if not pairs:
            raise RuntimeError("checkpoint: none of the outputs has requires_grad=True, so this checkpoint() is not "
                               "necessary, got outputs that need no gradient")
        _autograd_backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(a.grad if isinstance(a, Tensor) else None for a in args)


def _checkpoint_reentrant(function, args, preserve_rng_state):
    if grad_mode.is_grad_enabled() and not any(isinstance(a, Tensor) and a.requires_grad for a in args):
        warnings.warn("checkpoint: none of the inputs has requires_grad=True; gradients will be None "
                      "(use_reentrant=False reaches parameters without it)", stacklevel=3)
    return CheckpointFunction.apply(function, preserve_rng_state, *args)


# ---------------------------------------------------------------------------------------- non-reentrant
def _flatten(obj, out):
    """The tensors in nested tuples/lists/dicts, in a fixed order."""
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (tuple, list)):
        for v in obj:
            _flatten(v, out)
    elif isinstance(obj, dict):
        for v in obj.values():
            _flatten(v, out)
    return out


def _replace(obj, new):
    """obj with its tensors replaced, in _flatten's order, by the ones new (an iterator) yields."""
    if isinstance(obj, Tensor):
        return next(new)
    if isinstance(obj, (tuple, list)):
        items = [_replace(v, new) for v in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else type(obj)(items)
    if isinstance(obj, dict):
        return type(obj)((k, _replace(v, new)) for k, v in obj.items())
    return obj


def _is_internal(node, start):
    """A node the function's own ops made (after `start`); leaves' AccumulateGrad are always outside."""
    return type(node) is not AccumulateGrad and node.seq > start


def _outgoing_edges(roots, start):
    """The edges (node, output_nr) through which gradients leave the nodes made after `start`, in a
    fixed order (first reached first), with the internal nodes that reach them."""
    edges, seen_edges, internal = [], set(), []
    stack, seen = [n for n in roots if _is_internal(n, start)], set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        internal.append(node)
        for e in node.next_functions:
            if e is None:
                continue
            if _is_internal(e[0], start):
                stack.append(e[0])
            elif (e[0], e[1]) not in seen_edges:
                seen_edges.add((e[0], e[1]))
                edges.append((e[0], e[1]))
    return edges, internal


class _Sink(Node):
    """Stands for a node outside the recomputed function: the inner backward stops here and reports
    the gradient arriving at each output."""

    def __init__(self, outside):
        self.name = "CheckpointSink"
        self.next_functions = ()
        self.n_outputs = outside.n_outputs
        self.out_meta = list(outside.out_meta)
        self.seq = next(_seq)


class CheckpointBackward(Node):
    """The node of a non-reentrant checkpoint: its edges are the function's outgoing edges; its backward
    recomputes the function and returns the gradient of each."""

    def __init__(self, function, args, kwargs, edges, state):
        super().__init__("CheckpointBackward", ())
        # next_functions may be repointed at sinks by an enclosing checkpoint's recomputation (nesting);
        # _edges keeps the edges the recomputed graph will reach, for matching gradients to slots
        self.next_functions = self._edges = tuple(edges)
        self._function = function
        self._args = [SavedTensor(a, self.name) if isinstance(a, Tensor) else a for a in args]
        self._kwargs = {k: SavedTensor(v, self.name) if isinstance(v, Tensor) else v for k, v in kwargs.items()}
        self._state = state  # (rng, autocast, context_fn, determinism_check)
        self._recompute_ctx = None  # the recompute context context_fn gave with the forward's, used first
        self._out_index = {}  # position in the flattened outputs -> output_nr of this node

    def release(self):
        super().release()
        self._function = self._args = self._kwargs = None

    def _unpacked(self):
        if self._freed:
            raise _freed_error(self.name)
        args = [a.unpack(self) if isinstance(a, SavedTensor) else a for a in self._args]
        kwargs = {k: v.unpack(self) if isinstance(v, SavedTensor) else v for k, v in self._kwargs.items()}
        return args, kwargs

    def _recompute(self):
        args, kwargs = self._unpacked()
        rng, autocast_state, context_fn, _ = self._state
        ctx, self._recompute_ctx = self._recompute_ctx, None
        if ctx is None:  # a second backward (retain_graph): a fresh context
            ctx = context_fn()[1]
        start = next(_seq)
        tensors = _tensors_in(args) + _tensors_in(kwargs.values())
        with _forked_rng(rng, tensors), grad_mode.enable_grad(), _autocast_context(autocast_state), ctx:
            outputs = self._function(*args, **kwargs)
        return _flatten(outputs, []), start

    def _check(self, flat):
        if self._state[3] == "none":
            return
        for pos, nr in self._out_index.items():
            got = _meta(flat[pos]) if pos < len(flat) else None
            if got != self.out_meta[nr]:
                raise CheckpointError(f"checkpoint: the recomputed output {pos} must match the forward's "
                                      f"(shape, dtype, device) {self.out_meta[nr]}, got {got}; the function is "
                                      "not deterministic (determinism_check='none' skips this check)")

    def backward(self, *grads):
        create_graph = grad_mode.is_grad_enabled()
        flat, start = self._recompute()
        self._check(flat)
        roots, root_grads = [], []
        for pos, nr in self._out_index.items():
            o = flat[pos]
            if grads[nr] is not None and o.grad_fn is not None and _is_internal(o.grad_fn, start):
                roots.append(_edge(o))
                root_grads.append(grads[nr])
        if not roots:
            return (None,) * len(self.next_functions)
        targets = self._cut([r[0] for r in roots], start)
        got = run_backward(roots, root_grads, False, create_graph, targets=targets, accumulate=False)
        return tuple(got.get(k) for k in range(len(self.next_functions)))

    def _cut(self, root_nodes, start):
        """Point the recomputed graph's outgoing edges at sinks; the targets are the sinks standing for
        this node's edges, in this node's order (edges the recomputation does not reach get None)."""
        _, internal = _outgoing_edges(root_nodes, start)
        sinks = {}
        for node in internal:
            node.next_functions = tuple(None if e is None else _sink_edge(e, start, sinks)
                                        for e in node.next_functions)
        return [(sinks[n] if n in sinks else _Sink(n), nr) for n, nr in self._edges]


def _sink_edge(e, start, sinks):
    """e itself when it stays inside the recomputed function, else the edge into its node's sink."""
    if _is_internal(e[0], start):
        return e
    sink = sinks.get(e[0])
    if sink is None:
        sink = sinks[e[0]] = _Sink(e[0])
    return (sink, e[1])


def _attach_outputs(node, flat, internal_pos):
    """New tensors (same storage) for the outputs made inside the function, as outputs of node; the
    originals, and with them the recorded graph, are dropped by the caller."""
    new, made, metas = list(flat), {}, []
    for pos in internal_pos:
        o = flat[pos]
        if id(o) in made:  # the same tensor returned twice: one output of the node
            new[pos] = made[id(o)]
            continue
        w = Tensor._wrap(o._impl)
        w._requires_grad, w.grad_fn, w._output_nr, w._fn_version = True, node, len(metas), o._impl.version
        node._out_index[pos] = len(metas)
        metas.append(_meta(o))
        made[id(o)] = new[pos] = w
    node.n_outputs, node.out_meta = len(metas), metas
    return new


def _checkpoint_non_reentrant(function, args, kwargs, preserve_rng_state, context_fn, determinism_check):
    tensors = _tensors_in(args) + _tensors_in(kwargs.values())
    rng = _rng_state(tensors) if preserve_rng_state else None
    autocast_state = _autocast_state()
    forward_ctx, recompute_ctx = context_fn()
    if not grad_mode.is_grad_enabled():
        with forward_ctx:
            return function(*args, **kwargs)
    start = next(_seq)
    with forward_ctx:
        outputs = function(*args, **kwargs)
    flat = _flatten(outputs, [])
    internal_pos = [i for i, o in enumerate(flat) if o.grad_fn is not None and _is_internal(o.grad_fn, start)]
    if not internal_pos:
        return outputs
    edges, _ = _outgoing_edges([flat[i].grad_fn for i in internal_pos], start)
    node = CheckpointBackward(function, args, kwargs, edges, (rng, autocast_state, context_fn, determinism_check))
    node._recompute_ctx = recompute_ctx
    return _replace(outputs, iter(_attach_outputs(node, flat, internal_pos)))


# ---------------------------------------------------------------------------------------- entry points
def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn, determinism_check="default",
               debug=False, early_stop=True, preserve_rng_state=True, **kwargs):
    """function(*args, **kwargs) without keeping its intermediate tensors: backward runs it again.

    use_reentrant: None (warns, then True, like torch), True or False (see the module docstring).
    preserve_rng_state: recompute with the RNG state of the forward (same dropout masks).
    context_fn (non-reentrant): returns (forward context, recompute context) to run each pass in.
    determinism_check (non-reentrant): 'default' compares the recomputed outputs' shapes, dtypes and
    devices with the forward's; 'none' skips it. debug and early_stop are accepted for torch's
    signature (the whole function is always recomputed)."""
    if not callable(function):
        raise TypeError(f"checkpoint: function must be callable, got {type(function).__name__}")
    if determinism_check not in ("default", "none"):
        raise ValueError(f"checkpoint: determinism_check must be 'default' or 'none', got {determinism_check!r}")
    if use_reentrant is None:
        warnings.warn(_REENTRANT_WARNING, stacklevel=2)
        use_reentrant = True
    if not use_reentrant:
        return _checkpoint_non_reentrant(function, args, kwargs, preserve_rng_state, context_fn, determinism_check)
    if kwargs:
        raise ValueError(f"checkpoint: keyword arguments need use_reentrant=False, got {', '.join(kwargs)}")
    if context_fn is not noop_context_fn or debug:
        raise ValueError("checkpoint: context_fn and debug need use_reentrant=False, got use_reentrant=True")
    return _checkpoint_reentrant(function, args, preserve_rng_state)


def _run_segment(functions, start, end):
    def forward(x):
        for j in range(start, end + 1):
            x = functions[j](x)
        return x
    return forward


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run functions (a list or an nn.Sequential) in order on input, checkpointing all but the last of
    `segments` equal chunks (the last one runs normally: its backward comes first anyway)."""
    from ..nn import Sequential
    if use_reentrant is None:
        warnings.warn(_REENTRANT_WARNING, stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError(f"checkpoint_sequential: unexpected keyword arguments, got {', '.join(kwargs)}")
    if isinstance(functions, Sequential):
        functions = list(functions.children())
    functions = list(functions)
    if isinstance(segments, bool) or not isinstance(segments, int) or not 1 <= segments <= max(len(functions), 1):
        raise ValueError(f"checkpoint_sequential: segments must be an int in [1, {len(functions)}] (the number "
                         f"of functions), got {segments!r}")
    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(_run_segment(functions, start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return _run_segment(functions, end + 1, len(functions) - 1)(input)
