"""autograd.backward and autograd.grad: turn tensors and gradients into engine roots."""
from .graph import run_backward, _edge
from . import grad_mode


def _tensor_cls():
    from .._tensor import Tensor
    return Tensor


def _as_list(x):
    if x is None:
        return None
    T = _tensor_cls()
    return [x] if isinstance(x, T) or x is None else list(x)


def _make_grads(outputs, grad_outputs, create_graph, op):
    from .. import ones_like
    T = _tensor_cls()
    grads = []
    for i, out in enumerate(outputs):
        g = None if grad_outputs is None else grad_outputs[i]
        if g is None:
            if not out.requires_grad:
                raise RuntimeError(f"{op}: element {i} of tensors does not require grad and does not have a grad_fn")
            if out.numel() != 1:
                raise RuntimeError(f"{op}: grad can be implicitly created only for scalar outputs, got output {i} "
                                   f"of shape {tuple(out.shape)}")
            g = ones_like(out)
        elif not isinstance(g, T):
            raise TypeError(f"{op}: gradients must be Tensors or None, got {type(g).__name__}")
        elif tuple(g.shape) != tuple(out.shape):
            raise ValueError(f"{op}: mismatch in shape: grad_output[{i}] has a shape of {tuple(g.shape)} and "
                             f"output[{i}] has a shape of {tuple(out.shape)}")
        if not out.requires_grad:
            raise RuntimeError(f"{op}: element {i} of tensors does not require grad and does not have a grad_fn")
        grads.append(g if create_graph else g.detach())
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaves) into the leaves' .grad (or only into `inputs` when given)."""
    outputs = _as_list(tensors)
    grads = _as_list(grad_tensors)
    if grads is not None and len(grads) != len(outputs):
        raise ValueError(f"backward: got {len(grads)} gradients for {len(outputs)} tensors")
    if retain_graph is None:
        retain_graph = create_graph
    grads = _make_grads(outputs, grads, create_graph, "backward")
    roots = [_edge(o) for o in outputs]
    if inputs is None:
        run_backward(roots, grads, retain_graph, create_graph)
        return
    ins = _as_list(inputs)
    if not ins:
        raise ValueError("backward: 'inputs' argument to backward() cannot be empty")
    capture = []
    for t in ins:
        if not t.requires_grad:
            raise RuntimeError("backward: one of the differentiated Tensors does not require grad")
        capture.append(_edge(t))
    got = run_backward(roots, grads, retain_graph, create_graph, capture=capture, accumulate=False)
    for k, t in enumerate(ins):
        g = got.get(k)
        if g is None:
            continue
        g = g if create_graph else g.detach()
        t.grad = g if t.grad is None else t.grad + g


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Return d(outputs)/d(inputs) without touching any .grad."""
    outs = _as_list(outputs)
    ins = _as_list(inputs)
    single = isinstance(inputs, _tensor_cls())
    gos = _as_list(grad_outputs)
    if gos is not None and len(gos) != len(outs):
        raise ValueError(f"grad: got {len(gos)} grad_outputs for {len(outs)} outputs")
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    grads = _make_grads(outs, gos, create_graph, "grad")
    capture = []
    for i, t in enumerate(ins):
        if not isinstance(t, _tensor_cls()):
            raise TypeError(f"grad: inputs must be Tensors, got {type(t).__name__} at position {i}")
        if not t.requires_grad:
            raise RuntimeError(f"grad: one of the differentiated Tensors (input {i}) does not require grad")
        capture.append(_edge(t))
    got = run_backward([_edge(o) for o in outs], grads, retain_graph, create_graph, capture=capture,
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
