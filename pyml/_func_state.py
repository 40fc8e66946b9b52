"""pyml.func: stack_module_state (model ensembling), functionalize and linearize, with torch.func's names.

stack_module_state(models) stacks each named parameter/buffer of M same-class models along a new dim 0,
for vmap(functional_call) over the ensemble; stacked parameters are fresh leaves (optimisable).
functionalize returns its function unchanged: pyml traces no graphs, so there is no mutation to remove
and running f eagerly already gives the functionalized program's results.
linearize(f, *primals) returns (f(*primals), jvp_fn); pyml has no tracer to freeze the linearised graph,
so each jvp_fn(*tangents) call re-runs f through pyml.func.jvp (f must be deterministic: random ops would
draw new values on each call).
"""
from ._tensor import Tensor
from ._func_pytree import tree_flatten
from ._func_transforms import jvp
from .autograd.grad_mode import no_grad

__all__ = ["stack_module_state", "functionalize", "linearize"]


def _stacked_leaf(tensors, name):
    import pyml
    grads = {t.requires_grad for t in tensors}
    if len(grads) > 1:
        raise RuntimeError(f"stack_module_state: expected {name} from each model to have the same .requires_grad, "
                           f"got {[t.requires_grad for t in tensors]}")
    out = pyml.stack([t.detach() for t in tensors])  # (M, *shape)
    return out.requires_grad_() if grads == {True} else out


def stack_module_state(models):
    """(params, buffers): dicts name -> (M, *shape) tensor stacking the M models' tensors of that name."""
    models = list(models)
    if len(models) == 0:
        raise RuntimeError("stack_module_state: expected at least one model, got 0")
    if len({m.training for m in models}) > 1:
        raise RuntimeError("stack_module_state: expected all models to have the same training/eval mode, got "
                           f"{[m.training for m in models]}")
    if len({type(m) for m in models}) > 1:
        raise RuntimeError("stack_module_state: expected all models to be of the same class, got "
                           f"{sorted({type(m).__name__ for m in models})}")
    all_params = [dict(m.named_parameters()) for m in models]
    all_buffers = [dict(m.named_buffers()) for m in models]
    params = {k: _stacked_leaf([p[k] for p in all_params], k) for k in all_params[0]}
    buffers = {k: _stacked_leaf([b[k] for b in all_buffers], k) for k in all_buffers[0]}
    return params, buffers


def functionalize(func, *, remove="mutations"):
    """func itself: pyml runs eagerly with no mutation tracing, so there is nothing to functionalize."""
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(f"functionalize(f, remove='mutations'): received invalid argument for remove={remove}. "
                           "Valid options are: remove='mutations' or remove='mutations_and_views'")
    return func


def _check_like(tangents, primals):
    t_leaves, t_spec = tree_flatten(tangents)
    p_leaves, p_spec = tree_flatten(primals)
    if t_spec != p_spec:
        raise RuntimeError(f"linearize: expected the tangents {t_spec} to have the same structure as the primals "
                           f"{p_spec}")
    for i, (t, p) in enumerate(zip(t_leaves, p_leaves)):
        if not isinstance(t, Tensor):
            raise RuntimeError(f"linearize: tangent:{i} must be a Tensor, got {type(t).__name__}")
        for what, got, want in (("shape", tuple(t.shape), tuple(p.shape)), ("device", t.device, p.device),
                                ("dtype", t.dtype, p.dtype)):
            if got != want:
                raise RuntimeError(f"linearize: tangent:{i} with {what} {got} doesn't match the {what} {want} of "
                                   "the corresponding primal")


def linearize(func, *primals):
    """(func(*primals), jvp_fn) where jvp_fn(*tangents) = J(primals) @ tangents."""
    with no_grad():
        output = func(*primals)

    def jvp_fn(*tangents):
        _check_like(tangents, primals)
        return jvp(func, primals, tangents)[1]

    return output, jvp_fn
