"""pyml/_ops/compat_split.py against torch: hsplit/vsplit/dsplit, split_with_sizes, unsafe_* splits, narrow_copy
and the *_copy functions (values, contiguity, no memory shared with the input, out=, gradients)."""
import numpy as np
import pytest
import torch

import pyml
from compat_helpers import pair, check, check_grads, backward_both


def _pieces_match(ps, ts):
    assert isinstance(ps, tuple) and len(ps) == len(ts)
    for p, t in zip(ps, ts):
        check(p, t)


def _data(*shape):
    return np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)


@pytest.mark.parametrize("name,ndim", [("hsplit", 1), ("hsplit", 3), ("vsplit", 2), ("vsplit", 3), ("dsplit", 3)])
def test_directional_splits(name, ndim):
    shape = {1: (6,), 2: (6, 4), 3: (2, 6, 4)}[ndim]
    p, t = pair(_data(*shape), layout="transposed" if ndim > 1 else "strided")
    d = {"hsplit": 1 if ndim > 1 else 0, "vsplit": 0, "dsplit": 2}[name]
    n = shape[d]
    for arg in (1, 2, [1], [1, 3], (0, n), [n + 2]):
        if isinstance(arg, int) and n % arg:
            continue
        _pieces_match(getattr(pyml, name)(p, arg), getattr(torch, name)(t, arg))
        _pieces_match(getattr(p, name)(arg), getattr(t, name)(arg))
    views = getattr(pyml, name)(p, 2)
    assert all(pyml.shares_memory(v, p) for v in views)


def test_directional_split_errors():
    with pytest.raises(ValueError, match="divisible"):
        pyml.hsplit(pyml.ones(2, 3, 4), 2)
    with pytest.raises(ValueError, match="at least 2"):
        pyml.vsplit(pyml.ones(4), 2)
    with pytest.raises(ValueError, match="at least 3"):
        pyml.dsplit(pyml.ones(2, 4), 2)
    with pytest.raises(ValueError, match="at least 1"):
        pyml.hsplit(pyml.tensor(1.0), 1)
    with pytest.raises(TypeError):
        pyml.hsplit(pyml.ones(4), 1.5)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_split_with_sizes_and_unsafe(dim):
    p, t = pair(_data(7, 97, 3) if dim != -1 else _data(2, 3, 7), layout="strided")
    n = p.shape[dim]
    sizes = [1, n - 3, 0, 2]
    _pieces_match(pyml.split_with_sizes(p, sizes, dim), torch.split_with_sizes(t, sizes, dim))
    _pieces_match(p.split_with_sizes(sizes, dim=dim), t.split_with_sizes(sizes, dim=dim))
    _pieces_match(pyml.unsafe_split_with_sizes(p, sizes, dim), torch.unsafe_split_with_sizes(t, sizes, dim))
    _pieces_match(pyml.unsafe_split(p, 2, dim), torch.unsafe_split(t, 2, dim))
    _pieces_match(p.unsafe_split(3, dim), t.unsafe_split(3, dim))
    _pieces_match(pyml.unsafe_chunk(p, 3, dim), torch.unsafe_chunk(t, 3, dim))
    _pieces_match(p.unsafe_chunk(2, dim), t.unsafe_chunk(2, dim))
    with pytest.raises(ValueError, match="sum exactly"):
        pyml.split_with_sizes(p, [1, 1], dim)
    with pytest.raises(ValueError, match="non-negative"):
        pyml.split_with_sizes(p, [n + 1, -1], dim)


def test_split_with_sizes_gradient():
    p, t = pair(np.random.default_rng(0).standard_normal((5, 4)), requires_grad=True)
    a, b = pyml.split_with_sizes(p, [2, 3])
    ta, tb = torch.split_with_sizes(t, [2, 3])
    backward_both(pyml.cat([a * 2, b.exp()]), torch.cat([ta * 2, tb.exp()]))
    check_grads([p], [t])


COPIES = [("view_copy", ((4, 6),)), ("permute_copy", ((2, 0, 1),)), ("transpose_copy", (0, 2)), ("t_copy", None),
          ("unsqueeze_copy", (1,)), ("squeeze_copy", ()), ("expand_copy", ((3, 2, 3, 4),)),
          ("diagonal_copy", (1, 1, 2)), ("select_copy", (1, -1)), ("slice_copy", (2, 1, None, 2)),
          ("detach_copy", ()), ("alias_copy", ()), ("unfold_copy", (2, 2, 1)), ("narrow_copy", (1, 1, 2)),
          ("as_strided_copy", ((2, 2), (1, 3), 1))]


@pytest.mark.parametrize("name,args", COPIES)
def test_view_copies(name, args):
    p, t = pair(_data(2, 3, 4), layout="transposed")
    if name == "t_copy":
        p, t, args = p[0], t[0], ()
    if name == "expand_copy":
        p, t = p[:1], t[:1]
    if name == "as_strided_copy":
        p, t = p.contiguous(), t.contiguous()
    r = getattr(pyml, name)(p, *args)
    check(r, getattr(torch, name)(t, *args))
    assert r.is_contiguous() and not pyml.shares_memory(r, p)
    out = pyml.empty(0, dtype=pyml.float64)
    assert getattr(pyml, name)(p, *args, out=out) is out
    check(out, getattr(torch, name)(t, *args))


def test_squeeze_copy_dims_and_multi_output_copies():
    p, t = pair(np.ones((1, 2, 1)))
    check(pyml.squeeze_copy(p, 0), torch.squeeze_copy(t, 0))
    check(pyml.squeeze_copy(p, [0, 2]), torch.squeeze_copy(t, [0, 2]))
    q, u = pair(_data(4, 3), layout="transposed")
    for name, args in (("unbind_copy", (1,)), ("split_copy", (3,)), ("split_with_sizes_copy", ([1, 3],))):
        rs = getattr(pyml, name)(q, *args)
        _pieces_match(rs, getattr(torch, name)(u, *args))
        assert not any(pyml.shares_memory(r, q) for r in rs)
    outs = [pyml.empty(0, dtype=pyml.float64) for _ in range(4)]
    assert pyml.unbind_copy(q, 0, out=outs) == tuple(outs)
    _pieces_match(tuple(outs), torch.unbind_copy(u, 0))
    with pytest.raises(ValueError, match="out must hold"):
        pyml.split_copy(q, 2, out=[pyml.empty(0)])
    with pytest.raises(TypeError, match="dtype"):
        pyml.view_copy(q, pyml.int64)


def test_copies_gradients():
    p, t = pair(np.random.default_rng(1).standard_normal((3, 4)), requires_grad=True)
    backward_both(pyml.permute_copy(p, (1, 0)) * pyml.t_copy(p), torch.permute_copy(t, (1, 0)) * torch.t_copy(t))
    check_grads([p], [t])
    p2, t2 = pair(np.random.default_rng(2).standard_normal((3, 4)), requires_grad=True)
    backward_both(pyml.narrow_copy(p2, 1, 1, 2) + pyml.slice_copy(p2, 1, 0, 4, 2),
                  torch.narrow_copy(t2, 1, 1, 2) + torch.slice_copy(t2, 1, 0, 4, 2))
    check_grads([p2], [t2])
    d = pyml.detach_copy(p2)
    assert not d.requires_grad
