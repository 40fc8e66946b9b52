"""pyml.func.vmap: torch.func.vmap's interface and results as a PER-SAMPLE LOOP (correct, not fast).

vmap(f, in_dims, out_dims)(*args) runs f once per batch element, on each batched argument's slice
x.select(in_dim, i) (arguments are pytrees; in_dims is a prefix of them, None = not batched, the
same value for every element), then stacks each output leaf along its out_dim. This is NOT a
batched kernel: do not benchmark it as one; its cost is B calls of f. It composes with the other
transforms in both orders (select and stack are differentiable), e.g. per-sample gradients:
vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y).
randomness: 'different' lets each call draw its own numbers; 'same' restores the default
generators' states (CPU and every CUDA device) before each call, so every element draws the same
numbers; 'error' raises when a call moved a default generator (a draw from an explicit
pyml.Generator is not seen). A batch of size 0 runs f once on zeros to learn the output shapes.
"""
import functools

import pyml
from ._tensor import Tensor
from .random import _capture, _restore
from ._func_pytree import tree_flatten, tree_unflatten, broadcast_prefix, LEAF

__all__ = ["vmap"]


def check_randomness(randomness):
    if randomness not in ("error", "different", "same"):
        raise RuntimeError("randomness: only allowed values are 'error', 'different', or 'same', got "
                           f"{randomness!r}")


def _rng_states():
    return _capture(range(pyml.cuda.device_count()))


def _moved(states, saved):
    (cpu, devs), (cpu0, devs0) = states, saved
    return cpu.tolist() != cpu0.tolist() or any(devs[d].tolist() != devs0[d].tolist() for d in devs)


class RandomnessGuard:
    """Saves the default generators' states; restore() puts them back ('same'), check() raises when
    they moved ('error')."""

    def __init__(self, randomness):
        self.mode = randomness
        self.saved = None if randomness == "different" else _rng_states()

    def restore(self):
        if self.mode == "same":
            _restore(self.saved)

    def check(self, op="vmap"):
        if self.mode == "error" and _moved(_rng_states(), self.saved):
            raise RuntimeError(f"{op}: called random operation while in randomness error mode. Please either use "
                               f"the 'same' or 'different' randomness flags on vmap or perform the randomness "
                               f"operation out of vmap")


def _name(func):
    return getattr(func, "__name__", type(func).__name__)


def _check_dims_tree(dims, func, what):
    leaves, _ = tree_flatten(dims)
    for d in leaves:
        if d is not None and (isinstance(d, bool) or not isinstance(d, int)):
            raise ValueError(f"vmap({_name(func)}, ..., {what}={dims}): `{what}` must be an int, None or a python "
                             f"collection of ints, got {d!r}")


def _check_in_dim(func, in_dims, x, d):
    where = f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>)"
    if d is not None and (isinstance(d, bool) or not isinstance(d, int)):
        raise ValueError(f"{where}: in_dim must be either an integer dimension or None, got in_dim={d!r}")
    if d is None:
        return None
    if not isinstance(x, Tensor):
        raise ValueError(f"{where}: cannot vmap over non-Tensor arguments (use None as their in_dim), got in_dim={d} "
                         f"for an input of type {type(x).__name__}")
    if not -x.dim() <= d < x.dim():
        raise ValueError(f"{where}: in_dim must satisfy -{x.dim()} <= in_dim < {x.dim()} for a Tensor of "
                         f"dimensionality {x.dim()}, got in_dim={d}")
    return d % x.dim()


def _batched_inputs(func, in_dims, args):
    """(batch size, per-leaf in_dim or None, leaves, spec) of the arguments."""
    if isinstance(in_dims, bool) or not isinstance(in_dims, (int, tuple)):
        raise ValueError(f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int or a "
                         f"(potentially nested) tuple matching the structure of inputs, got {type(in_dims).__name__}")
    if not args:
        raise ValueError(f"vmap({_name(func)})(<inputs>): expected at least one input, got no inputs (vmap over a "
                         "function with no inputs is unsupported)")
    leaves, spec = tree_flatten(args)
    dims = broadcast_prefix(in_dims, spec)
    if dims is None:
        raise ValueError(f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): in_dims must be compatible with the "
                         f"structure of `inputs`, got in_dims with structure {tree_flatten(in_dims)[1]} but inputs "
                         f"with structure {spec}")
    dims = [_check_in_dim(func, in_dims, x, d) for x, d in zip(leaves, dims)]
    sizes = [x.shape[d] for x, d in zip(leaves, dims) if d is not None]
    if not sizes:
        raise ValueError(f"vmap: expected at least one Tensor to vmap over, got in_dims={in_dims} with no batched "
                         "Tensor")
    if any(s != sizes[0] for s in sizes):
        raise ValueError(f"vmap: expected all tensors to have the same size in the mapped dimension, got sizes "
                         f"{sizes} for the mapped dimension")
    return sizes[0], dims, leaves, spec


def _out_dims_for(func, out_dims, spec):
    bad = ValueError(f"vmap({_name(func)}, ..., out_dims={out_dims})(<inputs>): out_dims must be compatible with "
                     f"the structure of `outputs`, got out_dims with structure {tree_flatten(out_dims)[1]} but "
                     f"outputs with structure {spec}")
    if spec == LEAF:  # one output: an int, None or a 1-tuple, like torch
        if isinstance(out_dims, tuple) and len(out_dims) == 1:
            return [out_dims[0]]
        if out_dims is None or isinstance(out_dims, int):
            return [out_dims]
        raise bad
    dims = broadcast_prefix(out_dims, spec)
    if dims is None:
        raise bad
    return dims


def _stack_leaf(func, column, d, size):
    if d is None:
        return column[0]  # declared unbatched: every element's value is taken to be the same
    if not isinstance(column[0], Tensor):
        raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` must only return Tensors, got type "
                         f"{type(column[0]).__name__}. Did you mean to set out_dims= to None for output?")
    nd = column[0].dim() + 1
    if not -nd <= d < nd:
        raise IndexError(f"vmap: out_dim must be in range [{-nd}, {nd - 1}] for outputs of {nd - 1} dims, got {d}")
    if size == 0:
        shape = list(column[0].shape)
        shape.insert(d % nd, 0)
        return pyml.zeros(shape, dtype=column[0].dtype, device=column[0].device)
    return pyml.stack(list(column), dim=d)


def _stack_outputs(func, results, out_dims, size):
    flat, spec = zip(*[tree_flatten(r) for r in results])
    if any(s != spec[0] for s in spec):
        raise ValueError(f"vmap({_name(func)}): f must return the same structure for every batch element, got "
                         f"{spec[0]} and {next(s for s in spec if s != spec[0])}")
    dims = _out_dims_for(func, out_dims, spec[0])
    columns = list(zip(*flat)) if flat[0] else []
    return tree_unflatten([_stack_leaf(func, c, d, size) for c, d in zip(columns, dims)], spec[0])


def _sample(x, d, i):
    if d is None:
        return x
    if i is None:  # empty batch: a zero element of the right shape, dtype and device
        shape = [s for k, s in enumerate(x.shape) if k != d]
        return pyml.zeros(shape, dtype=x.dtype, device=x.device)
    return x.select(d, i)


def _vmap_call(func, in_dims, out_dims, randomness, args, kwargs):
    size, dims, leaves, spec = _batched_inputs(func, in_dims, args)
    guard = RandomnessGuard(randomness)
    results = []
    for i in range(size) if size else [None]:
        guard.restore()
        sample = [_sample(x, d, i) for x, d in zip(leaves, dims)]
        results.append(func(*tree_unflatten(sample, spec), **kwargs))
    guard.check()
    return _stack_outputs(func, results, out_dims, size)


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """func mapped over dimension in_dims of its inputs, outputs stacked along out_dims (see the header:
    a per-sample loop). Keyword arguments are passed unbatched; chunk_size is validated, then unused."""
    check_randomness(randomness)
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0, got {chunk_size!r}")
    _check_dims_tree(out_dims, func, "out_dims")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        return _vmap_call(func, in_dims, out_dims, randomness, args, kwargs)
    return wrapped
