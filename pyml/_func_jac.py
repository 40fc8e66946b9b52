"""pyml.func's Jacobians: jacrev, jacfwd and hessian, on the differentiation levels of _func_transforms.

J[out][arg] has shape out.shape + arg.shape for every output leaf and every differentiated input
leaf; the result nests like torch.func's (the outputs' pytree outside, the argnums' pytree inside).
Both jacrev and jacfwd run f once and then one reverse pass per output element (row by row): pyml
has no forward-mode AD, and the values equal forward mode's. So jacfwd costs what jacrev costs,
jacrev's chunk_size is validated but changes nothing, and hessian (jacfwd of jacrev) is
reverse-over-reverse.
"""
import functools

import pyml
from ._func_pytree import tree_flatten, tree_unflatten
from ._func_transforms import _Level, check_argnums, check_outputs, split_aux
from ._func_vmap import check_randomness, RandomnessGuard
from .autograd import grad_mode

__all__ = ["jacrev", "jacfwd", "hessian"]


def _stack_rows(rows, out, x):
    shape = tuple(out.shape) + tuple(x.shape)
    if not rows:  # an output with no elements
        return pyml.zeros(shape, dtype=x.dtype, device=x.device)
    return pyml.stack(rows).reshape(shape)  # (out.numel(), *x.shape) -> out.shape + x.shape


def _jacobian_of(level, out, keep):
    """d out / d inputs, one list entry per input leaf: row j is the gradient of out.flatten()[j]."""
    n = out.numel()
    basis = pyml.eye(n, dtype=out.dtype, device=out.device) if n else None
    rows = [level.grads([out], [basis[j].reshape(out.shape)], keep) for j in range(n)]
    return [_stack_rows([r[k] for r in rows], out, x) for k, x in enumerate(level.inputs)]


def _jacobian(func, argnums, has_aux, args, kwargs, op):
    level = _Level(args, check_argnums(argnums, len(args)), op)
    with grad_mode.enable_grad():
        out, aux = split_aux(func(*level.args, **kwargs), has_aux, f"{op}(f, ...)(*args)")
        outs, out_spec = tree_flatten(out)
        check_outputs(outs, f"{op}(f, ...)(*args)")
        keep = level.reaches_outside(outs)
        per_out = [tree_unflatten(_jacobian_of(level, o, keep), level.spec) for o in outs]
        aux = level.unwrap(aux)
    return tree_unflatten(per_out, out_spec), aux


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """A function returning the Jacobian of func w.r.t. args[argnums] (with has_aux: (jacobian, aux)).
    chunk_size is checked like torch's and otherwise unused: rows are computed one at a time."""
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size <= 0):
        raise ValueError(f"jacrev: `chunk_size` should be greater than 0, got {chunk_size!r}")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        jac, aux = _jacobian(func, argnums, has_aux, args, kwargs, "jacrev")
        return (jac, aux) if has_aux else jac
    return wrapper


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """A function returning the Jacobian of func w.r.t. args[argnums], equal to torch.func.jacfwd's
    (computed in reverse mode, see the header). randomness='error' raises when func draws from a
    default generator; 'same' and 'different' allow it (func runs once, so both draw once)."""
    check_randomness(randomness)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        guard = RandomnessGuard("different" if randomness == "same" else randomness)
        jac, aux = _jacobian(func, argnums, has_aux, args, kwargs, "jacfwd")
        guard.check("jacfwd")
        return (jac, aux) if has_aux else jac
    return wrapper


def hessian(func, argnums=0):
    """A function returning the Hessian of the scalar func w.r.t. args[argnums]: jacfwd(jacrev(func))."""
    return jacfwd(jacrev(func, argnums), argnums)
