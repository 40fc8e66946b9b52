"""Autograd of indexing and layout ops: __getitem__/__setitem__, gather/scatter/index_*, masks, where,
cat/stack/split, flip/roll/rot90, repeat/tile/repeat_interleave, pad, tril/triu/diag. gradcheck (and
gradgradcheck) in float64 on small inputs, gradients compared with PyTorch's on larger ones with odd
sizes, duplicate indices and non-contiguous layouts. Each case is fn(M, *xs) run with M = pyml and torch."""
import numpy as np
import pytest
import torch

import pyml
from test_autograd_elementwise import compare_torch, check_grads


def I(M, data):
    """An int64 index tensor for module M."""
    return M.tensor(np.asarray(data, dtype=np.int64))


def B(M, data):
    return M.tensor(np.asarray(data, dtype=bool))


# ------------------------------------------------------------------------------------------ __getitem__
GETITEM = {
    "int": lambda M, x: x[1],
    "neg_int": lambda M, x: x[-1, 2],
    "slice_step": lambda M, x: x[1:5:2],
    "slices": lambda M, x: x[::3, 1:],
    "slice_neg": lambda M, x: x[-3:, :-1],
    "none": lambda M, x: x[None, 1:, None],
    "ellipsis": lambda M, x: x[..., 1],
    "ellipsis_none": lambda M, x: x[..., None, ::2],
    "adv_dup": lambda M, x: x[I(M, [0, 2, 0, 1, 2, 0])],
    "adv_dim1_dup": lambda M, x: x[:, I(M, [1, 1, 3, 0])],
    "adv_pair_dup": lambda M, x: x[I(M, [0, 0, 3]), I(M, [1, 1, 2])],
    "adv_broadcast": lambda M, x: x[I(M, [[0], [2]]), I(M, [1, 3, 1])],
    "adv_2d_index": lambda M, x: x[I(M, [[0, 1], [1, 0]])],
    "adv_neg": lambda M, x: x[I(M, [-1, -2, -1])],
    "list": lambda M, x: x[[0, 2, 2]],
    "bool_rows": lambda M, x: x[B(M, [True, False, True, True, False, False, True])],
    "bool_cols": lambda M, x: x[:, B(M, [False, True, True, False, True])],
    "bool_full": lambda M, x: x[x > 0],
    "mixed_slice_adv": lambda M, x: x[1:, I(M, [0, 2, 2])],
    "mixed_int_adv": lambda M, x: x[2, I(M, [4, 0, 4])],
    "mixed_ellipsis_adv": lambda M, x: x[..., I(M, [3, 3])],
    "zero_dim_index": lambda M, x: x[M.tensor(3)],
    "empty_adv": lambda M, x: x[I(M, [])],
}
GETITEM_3D = {
    "separated_adv": lambda M, x: x[I(M, [0, 1, 0]), :, I(M, [1, 1, 2])],   # advanced dims go first
    "adjacent_adv": lambda M, x: x[:, I(M, [0, 2, 0]), I(M, [1, 1, 3])],
    "bool_2d": lambda M, x: x[B(M, np.arange(6).reshape(2, 3) % 4 == 0)],
    "bool_2d_last": lambda M, x: x[:, B(M, np.arange(12).reshape(3, 4) % 3 == 0)],
    "bool_then_slice": lambda M, x: x[B(M, [True, False]), 1:],
    "none_adv": lambda M, x: x[None, 1, I(M, [2, 2]), ::2],
}


@pytest.mark.parametrize("name", list(GETITEM))
def test_getitem_vs_torch(name):
    rng = np.random.default_rng(0)
    f = GETITEM[name]
    compare_torch(lambda M, x: f(M, x) * 3, [rng.standard_normal((7, 5))])
    compare_torch(lambda M, x: f(M, x.t()) ** 2, [rng.standard_normal((5, 7))])   # a transposed input
    compare_torch(lambda M, x: f(M, x[:, ::2]).exp(), [rng.standard_normal((7, 10))])  # a strided one


@pytest.mark.parametrize("name", list(GETITEM_3D))
def test_getitem_3d_vs_torch(name):
    rng = np.random.default_rng(1)
    f = GETITEM_3D[name]
    compare_torch(lambda M, x: f(M, x) * 3, [rng.standard_normal((2, 3, 4))])
    compare_torch(lambda M, x: f(M, x.permute(2, 1, 0)) * 3, [rng.standard_normal((4, 3, 2))])


@pytest.mark.parametrize("name", ["int", "slice_step", "none", "ellipsis", "adv_dup", "adv_pair_dup", "bool_cols",
                                  "mixed_slice_adv", "mixed_int_adv"])
def test_getitem_gradcheck(name):
    rng = np.random.default_rng(2)
    f = GETITEM[name]
    check_grads(f, [rng.standard_normal((5, 5))])
    check_grads(lambda M, x: f(M, x.t()), [rng.standard_normal((5, 5))], gradgrad=False)


def test_getitem_duplicate_indices_accumulate():
    x = pyml.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[pyml.tensor([0, 0, 2, 0])].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]


def test_getitem_integer_results_do_not_require_grad():
    x = pyml.tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    assert not (x > 0)[0].requires_grad
    nz = pyml.nonzero(x > 0)
    assert not nz.requires_grad and not pyml.argwhere(x).requires_grad
    assert not x.argmax(dim=1).requires_grad
    for t in pyml.where(x > 0):
        assert not t.requires_grad


# ------------------------------------------------------------------------------------------ __setitem__
SETITEM = {
    "slice_tensor": lambda M, z, v: z.__setitem__((slice(1, 3),), v[:2]),
    "slice_broadcast": lambda M, z, v: z.__setitem__((slice(None), slice(0, 5, 2)), v[0, :3]),
    "int_row": lambda M, z, v: z.__setitem__(2, v[1]),
    "leading_one": lambda M, z, v: z.__setitem__(0, v[:1]),
    "adv_rows": lambda M, z, v: z.__setitem__(I(M, [3, 0]), v[:2]),
    "adv_pairs": lambda M, z, v: z.__setitem__((I(M, [0, 1, 4]), I(M, [2, 2, 0])), v[0, :3]),
    "adv_scalar_value": lambda M, z, v: z.__setitem__((I(M, [0, 1, 4]), I(M, [2, 2, 0])), v[1, 1]),
    "bool_mask_scalar": lambda M, z, v: z.__setitem__(z > 1, 0.0),
    "bool_mask_tensor": lambda M, z, v: z.__setitem__(B(M, [True, False, True, False, False]), v[1:3]),
    "bool_mask_tensor_value": lambda M, z, v: z.__setitem__(z < 0.5, v[0, 0]),
    "number": lambda M, z, v: z.__setitem__((slice(None), 1), 2.5),
    "ellipsis": lambda M, z, v: z.__setitem__((Ellipsis, 4), v[2, :5]),
    "mixed": lambda M, z, v: z.__setitem__((slice(1, None), I(M, [0, 3])), v[0, :2]),
}


@pytest.mark.parametrize("name", list(SETITEM))
def test_setitem_vs_torch(name):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((5, 6)), rng.standard_normal((4, 6))

    def fn(M, x, v):
        z = x * 1.0
        SETITEM[name](M, z, v)
        return z * x
    compare_torch(fn, [a, b])

    def fn_const_base(M, v):  # the base requires grad only through the written value
        z = M.zeros(5, 6, dtype=v.dtype)
        SETITEM[name](M, z, v)
        return z.exp()
    compare_torch(fn_const_base, [b])


def test_setitem_gradcheck():
    rng = np.random.default_rng(4)

    def fn(M, x, v):
        z = x * 1.0
        z[I(M, [2, 0])] = v
        z[1, 1:] = v[0, :2] * 2
        return z * x
    check_grads(fn, [rng.standard_normal((3, 3)), rng.standard_normal((2, 3))])


def test_setitem_on_leaf_raises_and_view_of_leaf_raises():
    x = pyml.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x[0] = 1.0
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x[pyml.tensor([1])] = pyml.tensor([2.0])


# ------------------------------------------------------------------------------------------ index ops
IDX = np.array([2, 0, 2, 4, 1])        # duplicates
UNIQ = np.array([3, 0, 4])


INDEX_OPS = {
    "index_select": (lambda M, x: M.index_select(x, 1, I(M, IDX)), [(6, 5)]),
    "index_select_0": (lambda M, x: x.index_select(0, I(M, [5, 5, 1])), [(6, 5)]),
    "gather": (lambda M, x: M.gather(x, 1, I(M, [[0, 0, 4], [1, 2, 1], [3, 3, 3]])), [(3, 5)]),
    "gather_0": (lambda M, x: x.gather(0, I(M, [[2, 0, 1, 1, 0]])), [(3, 5)]),
    "scatter_src": (lambda M, x, s: M.scatter(x, 1, I(M, [[0, 4], [2, 1], [3, 0]]), s), [(3, 5), (3, 2)]),
    "scatter_value": (lambda M, x: M.scatter(x, 0, I(M, [[0, 1, 2, 0, 1]]), 1.5), [(3, 5)]),
    "scatter_add": (lambda M, x, s: M.scatter_add(x, 1, I(M, [[0, 0], [2, 2], [4, 0]]), s), [(3, 5), (3, 2)]),
    "index_add": (lambda M, x, s: M.index_add(x, 0, I(M, IDX), s), [(6, 3), (5, 3)]),
    "index_add_alpha": (lambda M, x, s: x.index_add(1, I(M, [1, 1]), s, alpha=-2.5), [(3, 4), (3, 2)]),
    "index_copy": (lambda M, x, s: M.index_copy(x, 0, I(M, UNIQ), s), [(6, 3), (3, 3)]),
    "index_fill": (lambda M, x: M.index_fill(x, 1, I(M, [0, 3, 3]), -1.0), [(3, 5)]),
    "index_fill_tensor": (lambda M, x: x.index_fill(0, I(M, [1]), M.tensor(2.0, dtype=x.dtype)), [(3, 5)]),
    "index_put": (lambda M, x, v: M.index_put(x, (I(M, UNIQ),), v), [(6, 3), (3, 3)]),
    "index_put_pairs": (lambda M, x, v: x.index_put((I(M, [0, 2]), I(M, [1, 1])), v), [(3, 3), (2,)]),
    "index_put_acc": (lambda M, x, v: M.index_put(x, (I(M, IDX),), v, accumulate=True), [(6, 3), (5, 3)]),
    "index_put_acc_bcast": (lambda M, x, v: x.index_put((I(M, [1, 1, 0]),), v, True), [(3, 4), (4,)]),
    "masked_fill": (lambda M, x: M.masked_fill(x, B(M, [[True, False, True, False, False]]), 0.5), [(3, 5)]),
    "masked_fill_tensor": (lambda M, x, v: x.masked_fill(B(M, [True, False, True]).reshape(3, 1), v),
                           [(3, 5), ()]),
    "masked_fill_bcast_in": (lambda M, x: M.masked_fill(x, B(M, np.eye(3, dtype=bool)), 2.0), [(1, 3)]),
    "masked_select": (lambda M, x: M.masked_select(x, x > 0), [(4, 5)]),
    "masked_select_bcast": (lambda M, x: M.masked_select(x, B(M, [True, False, True, True])), [(3, 4)]),
    "masked_select_bcast_in": (lambda M, x: M.masked_select(x, B(M, np.eye(3, dtype=bool))), [(1, 3)]),
    "masked_scatter": (lambda M, x, s: M.masked_scatter(x, B(M, [[True, False, True], [False, True, True]]), s),
                       [(2, 3), (7,)]),
    "masked_scatter_bcast": (lambda M, x, s: x.masked_scatter(B(M, [True, False, True]), s), [(2, 3), (2, 4)]),
    "take": (lambda M, x: M.take(x, I(M, [[0, 14, 14], [-1, 3, 0]])), [(3, 5)]),
    "take_along_dim": (lambda M, x: M.take_along_dim(x, I(M, [[0, 4, 4], [1, 1, 2], [3, 0, 0]]), 1), [(3, 5)]),
    "take_along_dim_bcast": (lambda M, x: M.take_along_dim(x, I(M, [[0, 2, 2, -1]]), 0), [(3, 4)]),
    "take_along_dim_none": (lambda M, x: M.take_along_dim(x, I(M, [0, 7, 7, 2])), [(3, 4)]),
}


@pytest.mark.parametrize("name", list(INDEX_OPS))
def test_index_ops_vs_torch(name):
    fn, shapes = INDEX_OPS[name]
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s) for s in shapes]
    compare_torch(lambda M, *xs: fn(M, *xs) * 2, arrays)
    # the same with a transposed first input (torch's take_along_dim(dim=None) views, so it needs contiguous)
    if len(shapes[0]) == 2 and shapes[0][0] > 1 and name != "take_along_dim_none":
        compare_torch(lambda M, x, *r: fn(M, x.t(), *r) * 2, [arrays[0].T.copy()] + arrays[1:])


@pytest.mark.parametrize("name", list(INDEX_OPS))
def test_index_ops_gradcheck(name):
    fn, shapes = INDEX_OPS[name]
    rng = np.random.default_rng(6)
    check_grads(fn, [rng.standard_normal(s) for s in shapes])


# ------------------------------------------------------------------------------------------ where
WHERE = {
    "same": (lambda M, c, x, y: M.where(c, x, y), [(4, 5), (4, 5)]),
    "bcast": (lambda M, c, x, y: M.where(c, x, y), [(1, 5), (4, 1)]),
    "bcast_cond": (lambda M, c, x, y: M.where(c[:, :1], x, y), [(5,), (4, 5)]),
    "scalar_x": (lambda M, c, x, y: M.where(c, 0.5, y), [(4, 5), (5,)]),
    "scalar_y": (lambda M, c, x, y: M.where(c, x, -1.0), [(4, 5), (1,)]),
    "method": (lambda M, c, x, y: x.where(c, y), [(4, 5), (4, 5)]),
    "mixed_dtypes": (lambda M, c, x, y: M.where(c, x.float(), y), [(4, 5), (4, 5)]),
}


@pytest.mark.parametrize("name", list(WHERE))
def test_where_vs_torch_and_gradcheck(name):
    fn, shapes = WHERE[name]
    rng = np.random.default_rng(7)
    cond = rng.standard_normal((4, 5)) > 0
    arrays = [rng.standard_normal(s) for s in shapes]
    tol = dict(rtol=1e-6, atol=1e-6) if name == "mixed_dtypes" else {}
    compare_torch(lambda M, x, y: fn(M, B(M, cond), x, y) * 3, arrays, **tol)
    if name != "mixed_dtypes":
        small = [a[..., :3] if a.ndim and a.shape[-1] == 5 else a for a in arrays]
        check_grads(lambda M, x, y: fn(M, B(M, cond[:, :3]), x, y), small)


# ------------------------------------------------------------------------------------------ cat / stack / split
def test_cat_vs_torch():
    rng = np.random.default_rng(8)
    a, b, c = rng.standard_normal((3, 4)), rng.standard_normal((2, 4)), rng.standard_normal((5, 4))
    compare_torch(lambda M, x, y, z: M.cat([x, y, z]) * 2, [a, b, c])
    compare_torch(lambda M, x, y, z: M.cat([x.t(), y.t(), z.t()], dim=1) ** 2, [a, b, c])
    compare_torch(lambda M, x, y, z: M.cat((x, y, z), dim=-2).sin(), [a, b, c])
    compare_torch(lambda M, x, y: M.cat([x, y[:, ::2]], 1), [a[:2], rng.standard_normal((2, 7))])
    check_grads(lambda M, x, y: M.cat([x, y, x], 0), [a[:2, :3], b[:1, :3]])


def test_cat_mixed_dtypes_and_empty():
    rng = np.random.default_rng(9)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    for M in (pyml, torch):
        x = M.tensor(a, dtype=M.float32, requires_grad=True)
        y = M.tensor(b, dtype=M.float64, requires_grad=True)
        out = M.cat([x, y])
        assert out.dtype == M.float64
        (out * out).sum().backward()
        assert x.grad.dtype == M.float32 and y.grad.dtype == M.float64
    compare_torch(lambda M, x, y: M.cat([x.float(), y]), [a, b], rtol=1e-6, atol=1e-6)
    # legacy empty 1-D inputs are skipped by cat
    compare_torch(lambda M, x, e: M.cat([x, e, x]), [a, np.zeros(0)])
    compare_torch(lambda M, x: M.cat([M.zeros(0, dtype=x.dtype), x], 1) * 2, [a])


def test_stack_vs_torch():
    rng = np.random.default_rng(10)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    for d in (0, 1, 2, -1):
        compare_torch(lambda M, x, y, d=d: M.stack([x, y.t().t(), x], dim=d) * 3, [a, b])
    compare_torch(lambda M, x, y: M.stack([x.t(), y.t()]), [a, b])
    check_grads(lambda M, x, y: M.stack([x, y], 1), [a[:2, :2], b[:2, :2]])


SPLITS = {
    "split_int": lambda M, x: x.split(2, dim=1),
    "split_sizes": lambda M, x: M.split(x, [1, 4, 2], dim=1),
    "chunk": lambda M, x: M.chunk(x, 3, dim=0),
    "chunk_method": lambda M, x: x.chunk(2, 1),
    "tensor_split_n": lambda M, x: M.tensor_split(x, 3, dim=1),
    "tensor_split_idx": lambda M, x: M.tensor_split(x, [1, 5], dim=1),
    "unbind": lambda M, x: x.unbind(0),
}


@pytest.mark.parametrize("name", list(SPLITS))
def test_split_family_some_outputs_used(name):
    rng = np.random.default_rng(11)
    f = SPLITS[name]
    a = rng.standard_normal((5, 7))
    compare_torch(lambda M, x: f(M, x), [a])                        # all pieces
    compare_torch(lambda M, x: f(M, x)[1] * 2, [a])                  # one piece
    compare_torch(lambda M, x: f(M, x)[-1].exp() + f(M, x)[0].sum(), [a])
    compare_torch(lambda M, x: f(M, x.t().t())[0] ** 2, [a])
    check_grads(lambda M, x: f(M, x)[1], [a[:4, :5] if name != "split_sizes" else a[:3]], gradgrad=True)


@pytest.mark.parametrize("sections", [3, [1, 4], [4, 1, 5], [0, 0, 6]], ids=str)
def test_inplace_on_tensor_split_piece_is_tracked_like_torch(sections):
    def fn(M, x, w):
        z = x * 1
        pieces = M.tensor_split(z, sections)
        for p in pieces:
            if p.numel():
                p.mul_(w[:p.numel()])
        return z * x
    compare_torch(fn, [np.arange(1.0, 7.0), np.array([2.0, 3.0, 4.0, 5.0, 6.0, 7.0])])


def test_inplace_on_split_piece_raises_like_torch():
    for M in (pyml, torch):
        x = M.ones(6, dtype=M.float64, requires_grad=True) * 1
        for piece in (x.split(2)[0], M.chunk(x, 3)[1], x.chunk(2)[0], M.split(x, [1, 5])[1]):
            with pytest.raises(RuntimeError, match="returns multiple views"):
                piece.mul_(2)
    with pyml.no_grad():  # without grad mode the pieces are ordinary views of x's memory
        x = pyml.zeros(4)
        x.split(2)[1].add_(1)
    assert x.tolist() == [0.0, 0.0, 1.0, 1.0]


# ------------------------------------------------------------------------------------------ layout ops
LAYOUT = {
    "flip": (lambda M, x: M.flip(x, (0,)), (4, 5)),
    "flip_both": (lambda M, x: x.flip(0, 1), (4, 5)),
    "fliplr": (lambda M, x: M.fliplr(x), (4, 5)),
    "flipud": (lambda M, x: M.flipud(x), (4, 5)),
    "roll": (lambda M, x: M.roll(x, 2, 1), (4, 5)),
    "roll_multi": (lambda M, x: M.roll(x, (1, -3), (0, 1)), (4, 5)),
    "roll_flat": (lambda M, x: M.roll(x, 7), (4, 5)),
    "rot90": (lambda M, x: M.rot90(x), (4, 5)),
    "rot90_k2": (lambda M, x: M.rot90(x, 2), (4, 5)),
    "rot90_k3_dims": (lambda M, x: M.rot90(x, -1, (1, 0)), (4, 5)),
    "repeat": (lambda M, x: x.repeat(2, 3), (3, 4)),
    "repeat_newdims": (lambda M, x: x.repeat(2, 1, 3), (3, 4)),
    "tile": (lambda M, x: M.tile(x, (2,)), (3, 4)),
    "tile_more": (lambda M, x: x.tile(2, 1, 2), (3, 4)),
    "repeat_interleave": (lambda M, x: M.repeat_interleave(x, 3), (3, 4)),
    "repeat_interleave_dim": (lambda M, x: x.repeat_interleave(2, dim=1), (3, 4)),
    "repeat_interleave_tensor": (lambda M, x: M.repeat_interleave(x, I(M, [0, 2, 1]), dim=0), (3, 4)),
    "tril": (lambda M, x: M.tril(x), (4, 5)),
    "tril_k": (lambda M, x: x.tril(-1), (4, 5)),
    "triu": (lambda M, x: M.triu(x, 1), (4, 5)),
    "triu_batched": (lambda M, x: M.triu(x.reshape(2, 2, 5)), (4, 5)),
    "diag_1d": (lambda M, x: M.diag(x[0]), (4, 5)),
    "diag_1d_off": (lambda M, x: M.diag(x[1], -2), (4, 5)),
    "diag_2d": (lambda M, x: M.diag(x), (4, 5)),
    "diag_2d_off": (lambda M, x: x.diag(1), (4, 5)),
    "diag_embed": (lambda M, x: M.diag_embed(x), (2, 3)),
    "diag_embed_off": (lambda M, x: M.diag_embed(x, 1, 0, 2), (2, 3)),
    "hstack": (lambda M, x: M.hstack([x, x[:, :2]]), (4, 5)),
    "hstack_1d": (lambda M, x: M.hstack([x[0], x[1, :2]]), (4, 5)),
    "vstack": (lambda M, x: M.vstack([x, x[0]]), (4, 5)),
    "dstack": (lambda M, x: M.dstack([x, x * 2]), (4, 5)),
    "dstack_1d": (lambda M, x: M.dstack([x[0], x[1] * 2]), (4, 5)),
    "atleast_1d": (lambda M, x: M.atleast_1d(x[0, 0]) * 2, (4, 5)),
    "atleast_2d": (lambda M, x: M.atleast_2d(x[0]), (4, 5)),
    "atleast_3d": (lambda M, x: M.atleast_3d(x), (4, 5)),
    "atleast_3d_1d": (lambda M, x: M.atleast_3d(x[1]), (4, 5)),
    "column_stack": (lambda M, x: M.column_stack([x[0], x[1]]), (4, 5)),
}


@pytest.mark.parametrize("name", list(LAYOUT))
def test_layout_ops_vs_torch(name):
    f, shape = LAYOUT[name]
    rng = np.random.default_rng(12)
    a = rng.standard_normal(shape)
    compare_torch(lambda M, x: f(M, x) * 2, [a])
    compare_torch(lambda M, x: f(M, x.t().t()[:, ::1]).sin(), [a])
    compare_torch(lambda M, x: f(M, x[:, ::2]).exp(), [rng.standard_normal(shape[:-1] + (2 * shape[-1],))])
    if name.startswith(("flip", "roll", "rot90", "repeat", "tile", "tril", "triu")):
        compare_torch(lambda M, x: f(M, x.t()) * 2, [rng.standard_normal(shape[::-1])])


@pytest.mark.parametrize("name", list(LAYOUT))
def test_layout_ops_gradcheck(name):
    f, shape = LAYOUT[name]
    rng = np.random.default_rng(13)
    small = tuple(min(s, 3) for s in shape)
    if name.startswith(("diag_1d", "triu_batched", "hstack", "vstack", "dstack", "column")):
        small = shape
    check_grads(f, [rng.standard_normal(small)])


# ------------------------------------------------------------------------------------------ pad
PADS = [
    ("constant", (1, 2)), ("constant", (2, 0, 1, 1)), ("constant", (-1, 2, 1, -2)), ("constant", (0, 0, 0, 0, 1, 1)),
    ("reflect", (1, 2)), ("reflect", (2, 1, 1, 2)), ("reflect", (0, 3)), ("reflect", (1, 1, 2, 0, 1, 2)),
    ("replicate", (1, 3)), ("replicate", (2, 2, 3, 1)), ("replicate", (0, 1, 2, 1, 1, 0)),
    ("circular", (1, 2)), ("circular", (2, 1, 1, 3)), ("circular", (-1, 2)), ("circular", (1, -2, 2, 0)),
]


@pytest.mark.parametrize("mode,pads", PADS, ids=str)
def test_pad_vs_torch(mode, pads):
    rng = np.random.default_rng(14)
    # torch pads the last len(pads)/2 dims of a batched input: 3-D for one dim, 4-D for two, 5-D for three
    shape = {2: (2, 3, 5), 4: (2, 3, 4, 5), 6: (1, 2, 3, 4, 5)}[len(pads)]
    small = {2: (1, 2, 4), 4: (1, 2, 3, 4), 6: (1, 1, 3, 3, 4)}[len(pads)]

    def fn(M, x):
        F = torch.nn.functional if M is torch else pyml
        return F.pad(x, pads, mode=mode) * 2
    compare_torch(fn, [rng.standard_normal(shape)])
    compare_torch(lambda M, x: fn(M, x.transpose(-1, -2)), [rng.standard_normal(shape[:-2] + shape[:-3:-1])])
    check_grads(fn, [rng.standard_normal(small)], gradgrad=len(pads) < 6)


def test_pad_value():
    rng = np.random.default_rng(15)

    def fn(M, x):
        F = torch.nn.functional if M is torch else pyml
        return F.pad(x, (1, 1), value=3.5).exp()
    compare_torch(fn, [rng.standard_normal((3, 4))])


# ------------------------------------------------------------------------------------------ in-place index ops
MASK56 = np.arange(30).reshape(5, 6) % 4 == 1
INPLACE_INDEX = {
    "index_fill_": lambda M, z, v: z.index_fill_(1, I(M, [0, 3, 3]), -1.0),
    "index_fill_tensor_": lambda M, z, v: z.index_fill_(0, I(M, [1, 4, 1]), v[0, 0]),
    "index_add_": lambda M, z, v: z.index_add_(0, I(M, [2, 0, 2, 4]), v, alpha=2),
    "index_copy_": lambda M, z, v: z.index_copy_(0, I(M, [3, 0]), v[:2]),
    "index_put_": lambda M, z, v: z.index_put_((I(M, [3, 0]),), v[:2]),
    "index_put_acc_": lambda M, z, v: z.index_put_((I(M, [0, 2, 0]), I(M, [1, 1, 1])), v[0, :3], accumulate=True),
    "masked_fill_": lambda M, z, v: z.masked_fill_(B(M, MASK56), 0.0),
    "masked_fill_bcast_": lambda M, z, v: z.masked_fill_(B(M, MASK56[0]), 0.0),
    "masked_fill_tensor_": lambda M, z, v: z.masked_fill_(B(M, MASK56), v[1, 1]),
    "masked_scatter_": lambda M, z, v: z.masked_scatter_(B(M, MASK56), v),
    "scatter_": lambda M, z, v: z.scatter_(1, I(M, [[0, 5], [2, 1], [3, 0], [1, 4]]), v[:, :2]),
    "scatter_value_": lambda M, z, v: z.scatter_(1, I(M, [[0, 5], [2, 1]]), value=2.0),
    "scatter_add_": lambda M, z, v: z.scatter_add_(1, I(M, [[0, 0], [2, 2], [5, 0], [1, 1]]), v[:, :2]),
}


@pytest.mark.parametrize("name", list(INPLACE_INDEX))
def test_inplace_index_ops_vs_torch(name):
    rng = np.random.default_rng(16)
    a, b = rng.standard_normal((5, 6)), rng.standard_normal((4, 6))

    def fn(M, x, v):
        z = x * 1.0
        r = INPLACE_INDEX[name](M, z, v)
        assert r is z
        return z * x
    compare_torch(fn, [a, b])

    def fn_view(M, x, v):  # on a view of a non-leaf: through CopySlices
        z = x * 1.0
        INPLACE_INDEX[name](M, z[1:6], v)
        return z.sin()
    compare_torch(fn_view, [rng.standard_normal((6, 6)), b])
    check_grads(fn, [a, b], gradgrad=name in ("index_fill_", "index_add_", "masked_fill_tensor_", "scatter_"))


def test_inplace_index_op_on_leaf_raises():
    x = pyml.zeros(3, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x.index_fill_(0, pyml.tensor([1]), 1.0)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x.masked_fill_(pyml.tensor([True, False]), 1.0)


def test_inplace_comparison_on_float_has_zero_gradient():
    def fn(M, x):
        y = x * 2
        y.eq_(2.0)
        z = x + 0
        z.gt_(0.5)
        return y * x + z * x
    compare_torch(fn, [np.array([1.0, 2.0, 0.0, 0.25])])


# ------------------------------------------------------------------------------------------ more __getitem__
def test_getitem_gradgrad_advanced_and_mask():
    rng = np.random.default_rng(17)
    check_grads(lambda M, x: x[I(M, [0, 2, 0])] ** 2, [rng.standard_normal((3, 3))])
    check_grads(lambda M, x: x[B(M, [[True, False, True], [False, True, True]])] ** 3, [rng.standard_normal((2, 3))])
    check_grads(lambda M, x: x[1:, I(M, [1, 1])].exp(), [rng.standard_normal((3, 3))])


def test_getitem_grad_of_float32_input_keeps_dtype():
    for M in (pyml, torch):
        x = M.ones(4, 3, dtype=M.float32, requires_grad=True)
        x[I(M, [1, 1])].sum().backward()
        assert x.grad.dtype == M.float32 and x.grad[1].tolist() == [2.0, 2.0, 2.0]


def test_setitem_value_dtype_and_broadcast():
    rng = np.random.default_rng(18)

    def fn(M, x, v):
        z = x * 1.0
        z[1:3, :] = v.float()      # a float32 value written into a float64 tensor
        z[0] = v[0:1, :]           # leading 1 dim
        return z ** 2
    compare_torch(fn, [rng.standard_normal((4, 5)), rng.standard_normal((1, 5))], rtol=1e-6, atol=1e-6)


def test_index_put_broadcast_value():
    rng = np.random.default_rng(19)
    compare_torch(lambda M, x, v: x.index_put((I(M, [0, 2]),), v, accumulate=True) * 2,
                  [rng.standard_normal((3, 4)), rng.standard_normal((4,))])


def test_scatter_reduce_argument_raises_at_backward():
    x = pyml.ones(2, 3, dtype=pyml.float64, requires_grad=True)
    y = pyml.scatter(x * 1, 1, pyml.tensor([[0, 1]]), pyml.ones(1, 2, dtype=pyml.float64), reduce="add")
    with pytest.raises(RuntimeError, match="scatter"):
        y.sum().backward()


# ------------------------------------------------------------------------------------------ random keys, larger inputs
def _random_key(rng, shape):
    """A random mix of ints, slices with steps, None, Ellipsis and integer / bool index arrays."""
    key, dims = [], list(shape)
    use_ellipsis = rng.random() < 0.3
    for d, n in enumerate(dims):
        if use_ellipsis and d == 1:
            key.append(Ellipsis)
            break
        r = rng.random()
        if r < 0.2:
            key.append(int(rng.integers(-n, n)))
        elif r < 0.5:
            a, b = sorted(rng.integers(-n, n + 1, size=2))
            key.append(slice(int(a), int(b) if b != 0 else None, int(rng.integers(1, 4))))
        elif r < 0.75:
            key.append(("int", rng.integers(-n, n, size=int(rng.integers(1, 9)))))  # duplicates likely
        elif r < 0.85:
            key.append(("bool", rng.random(n) < 0.5))
        else:
            key.append(slice(None))
        if rng.random() < 0.15:
            key.append(None)
    return key


def _materialise(M, key):
    out = []
    for k in key:
        if isinstance(k, tuple):
            out.append(I(M, k[1]) if k[0] == "int" else B(M, k[1]))
        else:
            out.append(k)
    return tuple(out)


@pytest.mark.parametrize("seed", range(40))
def test_random_getitem_keys_vs_torch(seed):
    rng = np.random.default_rng(100 + seed)
    shape = tuple(int(s) for s in rng.integers(1, 8, size=int(rng.integers(1, 4))))
    key = _random_key(rng, shape)
    if sum(isinstance(k, tuple) for k in key) > 1:  # several advanced indices must broadcast: keep one
        first = next(i for i, k in enumerate(key) if isinstance(k, tuple))
        key = [k if not isinstance(k, tuple) or i == first else slice(None) for i, k in enumerate(key)]
    a = rng.standard_normal(shape)
    compare_torch(lambda M, x: x[_materialise(M, key)] * 2, [a])
    compare_torch(lambda M, x: (x * 1)[_materialise(M, key)].exp(), [a])


def test_large_gathers_with_many_duplicates_vs_torch():
    rng = np.random.default_rng(20)
    a = rng.standard_normal((97, 13))
    rows = rng.integers(0, 97, size=1025)
    cols = rng.integers(0, 13, size=(97, 31))
    compare_torch(lambda M, x: x[I(M, rows)] * 2, [a])
    compare_torch(lambda M, x: x.t()[:, I(M, rows)].sin(), [a])
    compare_torch(lambda M, x: M.index_select(x, 0, I(M, rows)) ** 2, [a])
    compare_torch(lambda M, x: M.gather(x, 1, I(M, cols)) * 3, [a])
    compare_torch(lambda M, x: M.take(x, I(M, rows * 7)).exp(), [a])
    compare_torch(lambda M, x, s: M.index_add(x, 0, I(M, rows[:50]), s), [a, rng.standard_normal((50, 13))])
    compare_torch(lambda M, x, s: M.scatter_add(x, 1, I(M, cols), s), [a, rng.standard_normal((97, 31))])
    mask = rng.random((97, 13)) < 0.3
    compare_torch(lambda M, x: M.masked_select(x, B(M, mask)) * 2, [a])
    compare_torch(lambda M, x: x[B(M, mask)].cos(), [a])


def test_empty_selections_give_zero_gradients():
    for fn in (lambda M, x: x[I(M, [])], lambda M, x: x[2:2], lambda M, x: x[B(M, np.zeros(4, bool))],
               lambda M, x: M.cat([x[:0], x[1:2]]), lambda M, x: M.index_select(x, 0, I(M, [])) * 2):
        compare_torch(fn, [np.arange(12.0).reshape(4, 3)])
