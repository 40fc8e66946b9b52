"""Shared test helpers: make pyml inputs from NumPy float64 data in several layouts, compare results."""
import numpy as np

import pyml

SHAPES = [(0,), (1,), (7,), (97,), (1025,), (3, 0, 2), (13, 17), (2, 3, 5, 7)]
LAYOUTS = ("contiguous", "transposed", "strided", "expanded")


def to_pyml(a, dtype):
    """float64/int64 NumPy array -> pyml tensor of dtype (bfloat16 via float32)."""
    t = pyml.tensor(a)
    return t.to(getattr(pyml, dtype))


def to_np64(t):
    """pyml tensor -> float64 (or int64/bool) NumPy array for comparisons."""
    if t.dtype.is_floating_point:
        return t.double().numpy()
    if t.dtype is pyml.bool:
        return t.numpy()
    return t.long().numpy()


def layout(t, kind):
    """A view of t with the same values but the given memory layout."""
    if kind == "contiguous" or t.ndim == 0:
        return t
    if kind == "transposed":
        # materialise the transpose, then view it back: same values, transposed strides
        return t.T.contiguous().T if t.ndim >= 2 else t
    if kind == "strided":
        # interleave with garbage and take every other element along the last dim
        wide = pyml.zeros(*t.shape[:-1], t.shape[-1] * 2, dtype=t.dtype)
        v = pyml.as_strided(wide, t.shape, _strided_strides(wide, t), 0)
        v.copy_(t)
        return v
    if kind == "expanded":
        return t  # handled by callers that build broadcast inputs explicitly
    raise ValueError(kind)


def _strided_strides(wide, t):
    st = list(wide.stride())
    st[-1] *= 2
    return st


def assert_close(got, want, rtol, atol, msg=""):
    g = to_np64(got)
    want = np.asarray(want)
    assert g.shape == want.shape, f"{msg}: shape {g.shape} != {want.shape}"
    np.testing.assert_allclose(g, want, rtol=rtol, atol=atol, equal_nan=True, err_msg=msg)


def random_array(rng, shape, domain, tails=True):
    lo, hi = domain
    a = rng.uniform(lo, hi, size=shape)
    if tails and a.size > 4:
        flat = a.reshape(-1)
        flat[: 2] = [lo, hi]  # the domain's edges
    return a


def assert_tree(p, q, atol=1e-10):
    """Same pytree structure, same values (pyml results p, torch results q): tensors, dicts, tuples and lists
    compared recursively, anything else with ==."""
    import torch
    if isinstance(q, torch.Tensor):
        assert isinstance(p, pyml.Tensor), type(p)
        assert tuple(p.shape) == tuple(q.shape)
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-9, atol=atol)
    elif isinstance(q, dict):
        assert isinstance(p, dict) and list(p) == list(q)
        for k in q:
            assert_tree(p[k], q[k], atol)
    elif isinstance(q, (tuple, list)):
        assert type(p) is type(q) and len(p) == len(q)
        for a, b in zip(p, q):
            assert_tree(a, b, atol)
    else:
        assert p == q
