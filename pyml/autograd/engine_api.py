"""autograd.backward and autograd.grad: turn tensors and gradients into engine roots."""
from .._tensor import Tensor
from .graph import run_backward, _edge, accumulate_into


def _as_list(x, op, what):
    if x is None:
        return None
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        return list(x)
    raise TypeError(f"{op}: {what} must be a Tensor or a sequence of Tensors, got {type(x).__name__}")


def _make_grads(outputs, grad_outputs, create_graph, op):
    """One gradient per output: given ones are checked against the output, a missing one is 1 for a
    scalar output."""
    from .. import ones_like
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
            g = ones_like(out)
        elif not isinstance(g, Tensor):
            raise TypeError(f"{op}: gradients must be Tensors or None, got {type(g).__name__} at position {i}")
        else:
            if tuple(g.shape) != tuple(out.shape):
                raise ValueError(f"{op}: mismatch in shape: grad_output[{i}] has a shape of {tuple(g.shape)} and "
                                 f"output[{i}] has a shape of {tuple(out.shape)}")
            if g.dtype.is_floating_point != out.dtype.is_floating_point:
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
