"""Indexing: __getitem__/__setitem__, gather/scatter, index_* ops, masks, where, nonzero.

NumPy (float64) checks values; torch checks semantics where NumPy differs (an int next to an
advanced index, bool scalars, scatter/index_* ops).
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st, HealthCheck

import pyml

DTYPES = ["float32", "float64", "float16", "bfloat16", "int8", "int16", "int32", "int64", "uint8", "bool"]


def values(shape, dtype, rng):
    """Random values exactly representable in every dtype (small ints; 0/1 for bool)."""
    a = rng.integers(0, 2 if dtype == "bool" else 100, size=shape)
    return a.astype(bool) if dtype == "bool" else a.astype(np.float64)


def make(a, dtype, layout="contig"):
    """pyml tensor holding a's values in the given memory layout."""
    dt = getattr(pyml, dtype) if dtype != "bool" else pyml.bool
    if layout == "transposed" and a.ndim >= 2:
        return pyml.tensor(np.ascontiguousarray(np.swapaxes(a, 0, -1)), dtype=dt).transpose(0, -1)
    if layout == "strided" and a.ndim >= 1:
        big = np.zeros([2 * s + 1 for s in a.shape], dtype=a.dtype)
        sl = tuple(slice(1, None, 2) for _ in a.shape)
        big[sl] = a
        return pyml.tensor(big, dtype=dt)[sl]
    return pyml.tensor(a, dtype=dt)


def arr(t):
    return np.asarray(t)


def to_torch(t):
    if t.dtype == pyml.bfloat16:
        return torch.from_numpy(np.asarray(t).copy()).to(torch.bfloat16)
    return torch.from_numpy(np.array(t))


def check(t, expect, dtype=None):
    expect = np.asarray(expect)
    assert tuple(t.shape) == expect.shape, (tuple(t.shape), expect.shape)
    if dtype is not None:
        assert t.dtype == (getattr(pyml, dtype) if dtype != "bool" else pyml.bool)
    np.testing.assert_array_equal(arr(t).astype(np.float64), expect.astype(np.float64))


LAYOUTS = ["contig", "transposed", "strided"]


# ---------------------------------------------------------------------------- basic indexing
BASIC_KEYS = [
    0, -1, 2, (1, 2), (-1, -3), slice(None), slice(1, None), slice(None, -1), slice(1, 4, 2), slice(-4, None, 3),
    slice(10, 20), slice(-100, 100), slice(3, 1), (Ellipsis, 1), (1, Ellipsis), (None,), (None, 1, None),
    (slice(None), None, slice(None, None, 2)), (Ellipsis, None), (0, slice(1, 3), Ellipsis, None), (),
    (Ellipsis,), (slice(0, 0),), (2, slice(None), -1),
]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("key", BASIC_KEYS, ids=repr)
def test_basic_getitem_matches_numpy_and_is_view(key, layout, rng):
    a = values((5, 4, 7), "float64", rng)
    x = make(a, "float64", layout)
    r = x[key]
    check(r, a[key])
    assert pyml.shares_memory(r, x) or r.numel() == 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_basic_getitem_all_dtypes(dtype, rng):
    a = values((3, 5), dtype, rng)
    x = make(a, dtype, "transposed")
    check(x[1, ::2], a[1, ::2], dtype)
    check(x[..., -1], a[..., -1], dtype)
    check(x[None, 2], a[None, 2], dtype)


def test_getitem_on_0d_and_size0(rng):
    x = pyml.tensor(3.5)
    check(x[...], np.array(3.5))
    check(x[None], np.array([3.5]))
    check(x[()], np.array(3.5))
    z = pyml.zeros(0, 3)
    check(z[:, 1], np.zeros((0,)))
    check(z[1:], np.zeros((0, 3)))
    with pytest.raises(IndexError, match="out of bounds"):
        z[0]


def test_basic_view_writes_through(rng):
    x = pyml.zeros(4, 5)
    v = x[1:3, ::2]
    v.fill_(7)
    expect = np.zeros((4, 5))
    expect[1:3, ::2] = 7
    check(x, expect)


def test_zero_dim_int_tensor_indexes_like_int():
    x = pyml.arange(12).reshape(3, 4)
    r = x[pyml.tensor(1)]
    check(r, np.arange(12).reshape(3, 4)[1])
    assert pyml.shares_memory(r, x)
    check(x[np.int64(2), np.int32(-1)], np.array(11))


# ---------------------------------------------------------------------------- advanced indexing
ADV_KEYS = [
    [0, 2, -1], np.array([[1, 0], [4, 4]]), ([0, 1], [2, 3]), ([[0], [2]], [1, 3, 0]), (slice(None), [3, 0, 0]),
    (Ellipsis, [6, -7]), ([1, 2], slice(None), [0, 6]), (slice(1, 4), [2, 2], slice(None, None, 3)),
    (None, [0, 4], None), ([0, 1], None, [2, 3]), np.array([], dtype=np.int64), (slice(None), np.zeros((0, 2), np.int64)),
    np.array([True, False, True, True, False]), (slice(None), np.array([True, False, False, True])),
    np.ones((5, 4), bool), (np.eye(5, 4, dtype=bool), [1, 2, 3, 6]),
    (np.array([False, True, False, True, True]), slice(None), [1]),
]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("key", ADV_KEYS, ids=lambda k: repr(k).replace("\n", ""))
def test_advanced_getitem_matches_numpy(key, layout, rng):
    a = values((5, 4, 7), "float64", rng)
    x = make(a, "float64", layout)
    r = x[key]
    check(r, a[key])
    if r.numel():
        assert not pyml.shares_memory(r, x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_advanced_getitem_dtypes_and_index_types(dtype, rng):
    a = values((6, 5), dtype, rng)
    x = make(a, dtype, "strided")
    idx = [5, 0, -2, 0]
    for key in (idx, np.array(idx), pyml.tensor(idx), pyml.tensor(idx, dtype=pyml.int32)):
        check(x[key], a[idx], dtype)
        check(x[:, key[1:]], a[:, idx[1:]], dtype)
    m = a[:, 0] > 0 if dtype == "bool" else a[:, 0] > 50
    check(x[pyml.tensor(m)], a[m], dtype)
    check(x[pyml.tensor(m.astype(np.uint8))], a[m], dtype)


# (key, expected shape) cases where torch and NumPy disagree: torch applies ints first (as select)
TORCH_KEYS = [(0, slice(None), [1, 2]), (slice(None), 0, [1, 2, 3]), ([0, 1], 1, [2, 3]),
              (True,), (False,), (True, [0, 1]), (slice(None), True, [0, 1]), ([1, 0], True, [0, 3]),
              (False, [0]), (None, 1, [0, 1], [2, 3]), (None, [0, 1], slice(None), [2, 3])]


@pytest.mark.parametrize("key", TORCH_KEYS, ids=repr)
def test_advanced_getitem_matches_torch(key, rng):
    a = values((3, 4, 5), "float64", rng)
    x, tx = make(a, "float64"), torch.from_numpy(a)
    r, tr = x[key], tx[key]
    check(r, tr.numpy())


def test_list_with_slices_is_a_tuple():
    a = np.arange(24.0).reshape(2, 3, 4)
    check(pyml.tensor(a)[[0, slice(None)]], a[0, :])


def test_large_gather_odd_sizes(rng):
    a = rng.standard_normal((1025, 97))
    idx = rng.integers(-1025, 1025, size=1023)
    x = make(a, "float64", "transposed")
    check(x[idx], a[idx])
    check(x[idx, 5], a[idx, 5])
    check(x[:, idx % 97], a[:, idx % 97])


# ---------------------------------------------------------------------------- __setitem__
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("key", BASIC_KEYS + ADV_KEYS[:12], ids=lambda k: repr(k).replace("\n", ""))
def test_setitem_scalar_and_tensor(key, layout, rng):
    a = values((5, 4, 7), "float64", rng)
    x = make(a, "float64", layout)
    x[key] = -3
    e = a.copy()
    e[key] = -3
    check(x, e)
    shape = e[key].shape
    v = rng.standard_normal(shape[-1:] if shape else ())
    x[key] = pyml.tensor(v)
    e[key] = v
    check(x, e)


@pytest.mark.parametrize("dtype", DTYPES)
def test_setitem_casts_value(dtype, rng):
    a = values((4, 6), dtype, rng)
    x = make(a, dtype)
    x[1] = pyml.tensor([1.0] * 6, dtype=pyml.float64)
    x[:, [0, 2]] = 1
    x[2, 3] = True
    e = a.copy()
    e[1] = 1
    e[:, [0, 2]] = 1
    e[2, 3] = 1
    check(x, e, dtype)


def test_setitem_masks(rng):
    a = rng.standard_normal((7, 9))
    x = pyml.tensor(a)
    x[x > 0] = 0  # same-shape mask with a number: masked_fill_ path
    e = a.copy()
    e[e > 0] = 0
    check(x, e)
    m = rng.random(7) > 0.5
    x[pyml.tensor(m)] = pyml.tensor(np.arange(9.0))
    e[m] = np.arange(9.0)
    check(x, e)
    m2 = a < -0.5
    x[pyml.tensor(m2)] = pyml.tensor(np.arange(m2.sum(), dtype=np.float64))
    e[m2] = np.arange(m2.sum())
    check(x, e)


def test_setitem_augmented_assignment(rng):
    a = rng.standard_normal((4, 5))
    x = pyml.tensor(a)
    x[:, [0, 2]] += 1
    x[1:3] *= 2
    x[x < 0] -= 10
    e = a.copy()
    e[:, [0, 2]] += 1
    e[1:3] *= 2
    e[e < 0] -= 10
    check(x, e)


def test_setitem_overlap_and_leading_ones_and_version(rng):
    x = pyml.arange(10.0)
    v0 = x._version
    x[1:] = x[:-1].clone() * 0 + x[:-1]
    check(x, np.concatenate([[0.0], np.arange(9.0)]))
    y = pyml.arange(10.0)
    y[1:] = y[:-1]
    check(y, np.concatenate([[0.0], np.arange(9.0)]))
    assert x._version > v0
    z = pyml.zeros(3, 4)
    z[0] = pyml.ones(1, 4)
    z[[1, 2]] = pyml.ones(1, 1, 4) * 2
    check(z, np.array([[1.0] * 4, [2.0] * 4, [2.0] * 4]))


def test_setitem_duplicate_indices_last_or_any_write(rng):
    x = pyml.zeros(5)
    x[pyml.tensor([0, 0, 0])] = pyml.tensor([1.0, 2.0, 3.0])
    assert x[0].item() in (1.0, 2.0, 3.0)
    check(x[1:], np.zeros(4))


# ---------------------------------------------------------------------------- indexing errors
def test_index_errors():
    x = pyml.zeros(2, 3, 4)
    with pytest.raises(IndexError, match=r"index 5 is out of bounds for dimension 0 with size 2"):
        x[5]
    with pytest.raises(IndexError, match=r"index -4 is out of bounds for dimension 1 with size 3"):
        x[:, -4]
    with pytest.raises(IndexError, match=r"index: index 5 is out of bounds for dimension 0 with size 2"):
        x[pyml.tensor([0, 5])]
    with pytest.raises(IndexError, match=r"index: index -3 is out of bounds for dimension 0 with size 2"):
        x[[-3]]
    with pytest.raises(IndexError, match=r"index: index 4 is out of bounds for dimension 2 with size 4"):
        x[:, :, [4]]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[:, 0:2:0]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 3"):
        x[0, 0, 0, 0]
    with pytest.raises(IndexError, match="too many indices"):
        x[pyml.ones(2, 3, 4, 1, dtype=pyml.bool)]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., 0, ...]
    with pytest.raises(IndexError, match="index: tensors used as indices must be long, int, byte or bool"):
        x[pyml.tensor([1.0])]
    with pytest.raises(IndexError, match="index: tensors used as indices must be long, int, byte or bool"):
        x[pyml.tensor([1], dtype=pyml.int16)]
    with pytest.raises(IndexError, match="index: tensors used as indices must be long, int, byte or bool"):
        x[[1.5]]
    with pytest.raises(IndexError, match="index: only integers, slices"):
        x[1.5]
    with pytest.raises(IndexError, match="index: only integers, slices"):
        x["a"]
    with pytest.raises(IndexError, match=r"index: the shape of the mask \(3,\) at index 0 does not match"):
        x[pyml.tensor([True, False, True])]
    with pytest.raises(IndexError, match=r"index: shape mismatch: indexing tensors could not be broadcast"):
        x[[0, 1], [0, 1, 2]]


def test_setitem_errors():
    x = pyml.zeros(2, 3)
    with pytest.raises(ValueError, match=r"copy_: shapes must be broadcastable.*got \(3,\) and \(4,\)"):
        x[0] = pyml.ones(4)
    with pytest.raises(ValueError, match=r"index_put_: shape mismatch: value tensor of shape \(2,\) cannot be broadcast"):
        x[[0, 1, 1]] = pyml.ones(2)
    with pytest.raises(IndexError, match=r"index_put_: index 3 is out of bounds for dimension 1 with size 3"):
        x[:, [3]] = 1
    with pytest.raises(TypeError, match=r"index_put_: expected a number"):
        x[0] = "a"
    check(x, np.zeros((2, 3)))  # nothing was written by the failed assignments


# ---------------------------------------------------------------------------- hypothesis
def _entry(draw, n):
    """One dim-consuming index entry valid for a dim of size n."""
    kind = draw(st.sampled_from(["int", "slice", "array", "mask"]))
    if kind == "int" and n > 0:
        return draw(st.integers(-n, n - 1))
    if kind == "array" and n > 0:
        k = draw(st.integers(0, 4))
        return np.array(draw(st.lists(st.integers(-n, n - 1), min_size=k, max_size=k)), dtype=np.int64)
    if kind == "mask":
        return np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    a = draw(st.one_of(st.none(), st.integers(-n - 2, n + 2)))
    b = draw(st.one_of(st.none(), st.integers(-n - 2, n + 2)))
    return slice(a, b, draw(st.sampled_from([None, 1, 2, 3])))


def _key_strategy(shape):
    """Random index tuples valid for `shape`: entries for a prefix of the dims, optionally an Ellipsis and
    entries for a suffix, with None sprinkled in."""
    @st.composite
    def key(draw):
        nd = len(shape)
        p = draw(st.integers(0, nd))
        use_ellipsis = draw(st.booleans())
        q = draw(st.integers(0, nd - p)) if use_ellipsis else 0
        entries = [_entry(draw, shape[d]) for d in range(p)]
        if use_ellipsis:
            entries.append(Ellipsis)
        entries += [_entry(draw, shape[d]) for d in range(nd - q, nd)]
        for _ in range(draw(st.integers(0, 2))):
            entries.insert(draw(st.integers(0, len(entries))), None)
        return tuple(entries)
    return key()


@st.composite
def _case(draw):
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=1, max_size=4)))
    return shape, draw(_key_strategy(shape))


def _torch_key(key):
    return tuple(torch.from_numpy(k) if isinstance(k, np.ndarray) else k for k in key)


def _broadcastable(key):
    shapes = [k.shape if k.dtype != bool else (int(k.sum()),) for k in key if isinstance(k, np.ndarray)]
    try:
        np.broadcast_shapes(*shapes)
        return True
    except ValueError:
        return False


def _numpy_agrees(key, ndim):
    """NumPy treats ints next to arrays as advanced indices (torch selects first), and calls arrays separated
    by an Ellipsis non-adjacent even when it spans no dims (torch looks at dims)."""
    adv = [i for i, k in enumerate(key) if isinstance(k, np.ndarray)]
    if adv and any(isinstance(k, int) for k in key):
        return False
    used = sum(k.ndim if isinstance(k, np.ndarray) and k.dtype == bool else 1 for k in key
               if k is not None and k is not Ellipsis)
    between = [k for k in key[adv[0]:adv[-1]] if k is Ellipsis] if adv else []
    return not (between and used == ndim)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_case())
def test_hypothesis_getitem(case):
    shape, key = case
    if not _broadcastable(key):
        return
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    x = pyml.tensor(a)
    r = x[key]
    expect = torch.from_numpy(a)[_torch_key(key)].numpy()
    check(r, expect)
    if _numpy_agrees(key, len(shape)):
        check(r, a[key])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_case(), st.integers(0, 2 ** 31))
def test_hypothesis_setitem(case, seed):
    shape, key = case
    if not _broadcastable(key):
        return
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    t = torch.from_numpy(a.copy())
    target_shape = t[_torch_key(key)].shape
    v = np.random.default_rng(seed).standard_normal(target_shape[-1:])
    if any(isinstance(k, np.ndarray) for k in key):  # duplicates: write identical values so any winner is right
        v = np.full(target_shape[-1:], 2.5)
    x = pyml.tensor(a)
    x[key] = pyml.tensor(v)
    t[_torch_key(key)] = torch.from_numpy(v)
    check(x, t.numpy())


# ---------------------------------------------------------------------------- gather / scatter
def tt(a):
    return torch.from_numpy(np.asarray(a))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather_matches_torch(dtype, dim, rng):
    a = values((5, 7, 3), dtype, rng)
    shape = [max(s - 1, 1) for s in a.shape]
    shape[dim] = 9  # the gathered dim may be longer than the input's; the others at most as long
    idx = rng.integers(0, a.shape[dim], size=shape)
    e = torch.gather(tt(a), dim, tt(idx)).numpy()
    for layout in LAYOUTS:
        check(pyml.gather(make(a, dtype, layout), dim, pyml.tensor(idx)), e, dtype)
    check(make(a, dtype).gather(dim, pyml.tensor(idx, dtype=pyml.int32)), e, dtype)


def test_gather_noncontig_index_and_0d(rng):
    a = rng.standard_normal((6, 5))
    idx = rng.integers(0, 5, size=(5, 6)).T  # non-contiguous index
    check(pyml.gather(pyml.tensor(a), 1, pyml.tensor(np.ascontiguousarray(idx.T)).T), np.take_along_axis(a, idx, 1))
    check(pyml.gather(pyml.tensor(2.5), 0, pyml.tensor(0)), np.array(2.5))
    check(pyml.gather(pyml.zeros(0, 3), 1, pyml.zeros(0, 2, dtype=pyml.int64)), np.zeros((0, 2)))


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
@pytest.mark.parametrize("dtype,reduce", [(d, r) for d in DTYPES for r in (None, "add", "multiply")
                                          if d != "bool" or r is None])
def test_scatter_matches_torch(dtype, reduce, rng):
    a = values((4, 6), dtype, rng)
    src = values((3, 6), dtype, rng)
    # distinct indices per column so that plain assignment is deterministic
    idx = np.stack([rng.permutation(4)[:3] for _ in range(5)], axis=1)
    tdt = getattr(torch, dtype)
    x = make(a, dtype, "strided")
    r = x.scatter(0, pyml.tensor(idx), make(src, dtype, "transposed"), reduce=reduce)
    e = torch.tensor(a).to(tdt).scatter(0, tt(idx), torch.tensor(src).to(tdt), reduce=reduce) if reduce else \
        torch.tensor(a).to(tdt).scatter(0, tt(idx), torch.tensor(src).to(tdt))
    check(r, e.float().numpy() if dtype == "bfloat16" else e.numpy(), dtype)
    check(x, a)  # functional scatter leaves the input alone


def test_scatter_value_add_and_duplicates(rng):
    a = rng.standard_normal((5, 4))
    idx = rng.integers(0, 5, size=(7, 4))  # duplicates
    src = rng.standard_normal((7, 4))
    check(pyml.tensor(a).scatter_add(0, pyml.tensor(idx), pyml.tensor(src)),
          torch.tensor(a).scatter_add(0, tt(idx), tt(src)).numpy())
    check(pyml.tensor(a).scatter(1, pyml.tensor(idx[:5, :2] % 4), 2.5),
          torch.tensor(a).scatter(1, tt(idx[:5, :2] % 4), 2.5).numpy())
    check(pyml.tensor(a).scatter(1, pyml.tensor(idx[:5, :2] % 4), value=1.5, reduce="add"),
          torch.tensor(a).scatter(1, tt(idx[:5, :2] % 4), 1.5, reduce="add").numpy())
    x = pyml.tensor(a)
    assert x.scatter_add_(0, pyml.tensor(idx), pyml.tensor(src)) is x


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_scatter_reduce_matches_torch(reduce, include_self, dtype, rng):
    a = rng.integers(-5, 6, size=(4, 5)).astype(dtype)
    src = rng.integers(-5, 6, size=(6, 5)).astype(dtype)
    idx = rng.integers(0, 4, size=(6, 5))
    r = pyml.tensor(a).scatter_reduce(0, pyml.tensor(idx), pyml.tensor(src), reduce, include_self=include_self)
    e = tt(a).scatter_reduce(0, tt(idx), tt(src), reduce, include_self=include_self)
    check(r, e.numpy())


def test_gather_scatter_errors():
    x = pyml.zeros(3, 4)
    with pytest.raises(IndexError, match=r"gather: index 4 is out of bounds for dimension 1 with size 4"):
        x.gather(1, pyml.tensor([[0, 4]]))
    with pytest.raises(IndexError, match=r"gather: index -1 is out of bounds.*negative indices are not allowed"):
        x.gather(1, pyml.tensor([[-1]]))
    with pytest.raises(TypeError, match=r"gather: expected an int64 \(or int32\) index tensor, got float32"):
        x.gather(1, pyml.tensor([[0.0]]))
    with pytest.raises(ValueError, match=r"gather: index must have the same number of dims as input"):
        x.gather(1, pyml.tensor([0]))
    with pytest.raises(ValueError, match=r"gather: index.shape\[0\] \(5\) must not exceed input.shape\[0\] \(3\)"):
        x.gather(1, pyml.zeros(5, 1, dtype=pyml.int64))
    with pytest.raises(IndexError, match=r"gather: dim must be in the range \[-2, 1\], got 2"):
        x.gather(2, pyml.zeros(1, 1, dtype=pyml.int64))
    with pytest.raises(IndexError, match=r"scatter_: index 3 is out of bounds for dimension 0 with size 3"):
        x.scatter_(0, pyml.tensor([[3]]), pyml.ones(1, 1))
    with pytest.raises(ValueError, match=r"scatter_: index.shape\[1\] \(2\) must not exceed src.shape\[1\] \(1\)"):
        x.scatter_(0, pyml.tensor([[0, 1]]), pyml.ones(1, 1))
    with pytest.raises(ValueError, match=r"scatter_: reduce must be"):
        x.scatter_(0, pyml.tensor([[0]]), pyml.ones(1, 1), reduce="max")
    with pytest.raises(RuntimeError, match=r"scatter_add_: unsupported operation: more than one element"):
        pyml.zeros(1, 4).expand(3, 4).scatter_add_(0, pyml.tensor([[0]]), pyml.ones(1, 1))
    check(x, np.zeros((3, 4)))


# ---------------------------------------------------------------------------- index_select / index_add / ...
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, 2])
def test_index_select_matches_numpy(dtype, dim, rng):
    a = values((4, 5, 6), dtype, rng)
    idx = rng.integers(0, a.shape[dim], size=7)
    for layout in LAYOUTS:
        check(pyml.index_select(make(a, dtype, layout), dim, pyml.tensor(idx)), np.take(a, idx, axis=dim), dtype)
    check(make(a, dtype).index_select(dim, pyml.tensor(idx[0])), np.take(a, idx[:1], axis=dim), dtype)
    check(make(a, dtype).index_select(dim, pyml.tensor([], dtype=pyml.int64)), np.take(a, [], axis=dim), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "int32", "int64", "uint8"])
def test_index_add_duplicates_and_alpha(dtype, rng):
    a = values((6, 4), dtype, rng) // 4
    src = values((9, 4), dtype, rng) // 4
    idx = rng.integers(0, 6, size=9)  # duplicates accumulate
    e = a.copy()
    np.add.at(e, idx, 2 * src)
    x = make(a, dtype, "transposed")
    r = x.index_add(0, pyml.tensor(idx), make(src, dtype, "strided"), alpha=2)
    check(r, e.astype(np.uint8) if dtype == "uint8" else e, dtype)
    e1 = a.copy()
    np.add.at(e1, (slice(None), idx % 4), 3.0)
    check(make(a, dtype).index_add_(1, pyml.tensor(idx % 4), make(np.full((6, 9), 3.0), dtype)), e1, dtype)


def test_index_add_int_alpha_truncates_like_torch():
    r = pyml.zeros(5, dtype=pyml.int64).index_add(0, pyml.tensor([0, 0]), pyml.ones(2, dtype=pyml.int64), alpha=2.5)
    e = torch.zeros(5, dtype=torch.long).index_add(0, torch.tensor([0, 0]), torch.ones(2, dtype=torch.long), alpha=2.5)
    check(r, e.numpy())


def test_index_copy_fill_put(rng):
    a = rng.standard_normal((5, 3))
    src = rng.standard_normal((2, 3))
    check(pyml.tensor(a).index_copy(0, pyml.tensor([4, 1]), pyml.tensor(src)),
          tt(a).index_copy(0, torch.tensor([4, 1]), tt(src)).numpy())
    check(pyml.tensor(a).index_fill(1, pyml.tensor([0, -1]), -2.0),
          tt(a).index_fill(1, torch.tensor([0, -1]), -2.0).numpy())
    check(pyml.tensor(a).index_fill(0, pyml.tensor([2]), pyml.tensor(7.0)), tt(a).index_fill(0, torch.tensor([2]), 7.0))
    idx = (pyml.tensor([0, 0, 4, 0]), pyml.tensor([1, 1, 2, 1]))
    tidx = (torch.tensor([0, 0, 4, 0]), torch.tensor([1, 1, 2, 1]))
    v = rng.standard_normal(4)
    check(pyml.tensor(a).index_put(idx, pyml.tensor(v), accumulate=True),
          tt(a).index_put(tidx, tt(v), accumulate=True).numpy())
    x = pyml.tensor(a)
    x.index_put_((None, pyml.tensor([2])), pyml.tensor(1.0))
    e = a.copy()
    e[:, 2] = 1
    check(x, e)


@pytest.mark.parametrize("dtype", ["float64", "int64", "bool", "bfloat16"])
def test_index_put_accumulate_many_duplicates(dtype, rng):
    n = 1025
    idx = rng.integers(-7, 7, size=n)
    x = make(np.zeros(7), dtype)
    v = np.ones(n)
    x.index_put_((pyml.tensor(idx),), make(v, dtype), accumulate=True)
    e = np.zeros(7)
    np.add.at(e, idx, 1)
    check(x, (e > 0) if dtype == "bool" else e, dtype)


def test_take_and_take_along_dim(rng):
    a = rng.standard_normal((4, 5))
    idx = rng.integers(-20, 20, size=(3, 2))
    x = make(a, "float64", "transposed")
    check(pyml.take(x, pyml.tensor(idx)), np.take(a, idx))
    check(x.take(pyml.tensor(3)), np.take(a, 3))
    i2 = rng.integers(-5, 5, size=(4, 3))
    check(pyml.take_along_dim(x, pyml.tensor(i2), dim=1),
          torch.take_along_dim(tt(a), tt(i2), dim=1).numpy())
    i3 = rng.integers(0, 4, size=(2, 1))
    check(x.take_along_dim(pyml.tensor(i3), 0), torch.take_along_dim(tt(a), tt(i3), 0).numpy())
    check(pyml.take_along_dim(x, pyml.tensor(i2 % 20)), torch.take_along_dim(tt(a), tt(i2 % 20)).numpy())
    with pytest.raises(IndexError, match="gather: index -4 is out of bounds"):
        pyml.take_along_dim(x, pyml.tensor([-4]))


def test_index_op_errors():
    x = pyml.zeros(5, 3)
    with pytest.raises(IndexError, match=r"index_select: index -1 is out of bounds for dimension 0 with size 5"):
        x.index_select(0, pyml.tensor([-1]))
    with pytest.raises(IndexError, match=r"index_select: index must be a vector \(1-D\) or a scalar, got shape"):
        x.index_select(0, pyml.tensor([[1]]))
    with pytest.raises(TypeError, match=r"index_select: expected an int64 \(or int32\) index tensor, got float32"):
        x.index_select(0, pyml.tensor([1.0]))
    with pytest.raises(ValueError, match=r"index_add_: source shape must equal input shape with dim 0 replaced"):
        x.index_add_(0, pyml.tensor([0, 1]), pyml.ones(3, 3))
    with pytest.raises(IndexError, match=r"index_add_: index 5 is out of bounds for dimension 0 with size 5"):
        x.index_add_(0, pyml.tensor([5]), pyml.ones(1, 3))
    with pytest.raises(IndexError, match=r"index_fill_: index 3 is out of bounds for dimension 1 with size 3"):
        x.index_fill_(1, pyml.tensor([3]), 1.0)
    with pytest.raises(IndexError, match=r"take: index 15 is out of bounds for dimension 0 with size 15"):
        pyml.take(x, pyml.tensor([15]))
    with pytest.raises(IndexError, match=r"index_put_: index 7 is out of bounds"):
        x.index_put_((pyml.tensor([7]),), pyml.tensor(1.0), accumulate=True)
    check(x, np.zeros((5, 3)))


# ---------------------------------------------------------------------------- masks, where, nonzero
@pytest.mark.parametrize("dtype", DTYPES)
def test_masked_fill_select_scatter(dtype, rng):
    a = values((4, 7), dtype, rng)
    m = rng.random((4, 7)) > 0.5
    x = make(a, dtype, "transposed")
    e = a.copy()
    e[m] = 1
    check(x.masked_fill(pyml.tensor(m), 1), e, dtype)
    mrow = rng.random(7) > 0.5  # broadcast mask
    e2 = a.copy()
    e2[:, mrow] = 0
    check(x.masked_fill(pyml.tensor(mrow), pyml.tensor(0)), e2, dtype)
    check(pyml.masked_select(x, pyml.tensor(m)), a[m], dtype)
    check(pyml.masked_select(x, pyml.tensor(mrow)), a[:, mrow].ravel(), dtype)
    src = values((40,), dtype, rng)
    e3 = a.copy()
    e3[m] = src[:m.sum()]
    check(x.masked_scatter(pyml.tensor(m), make(src, dtype)), e3, dtype)


def test_masked_fill_broadcasts_out_of_place_and_inplace_errors():
    x = pyml.arange(5)
    r = x.masked_fill(pyml.ones(2, 5, dtype=pyml.bool), 2)
    check(r, np.full((2, 5), 2))
    with pytest.raises(ValueError, match=r"masked_fill_: mask of shape \(2, 5\) must be broadcastable"):
        x.masked_fill_(pyml.ones(2, 5, dtype=pyml.bool), 2)
    with pytest.raises(TypeError, match=r"masked_fill_: expected a boolean mask, got mask of dtype int64"):
        x.masked_fill_(pyml.ones(5, dtype=pyml.int64), 2)
    with pytest.raises(ValueError, match=r"masked_fill_: only supports a 0-dimensional value tensor"):
        x.masked_fill_(pyml.ones(5, dtype=pyml.bool), pyml.ones(2))
    with pytest.raises(ValueError, match=r"masked_scatter_: number of elements of source \(1\) < number of ones"):
        x.masked_scatter_(pyml.ones(5, dtype=pyml.bool), pyml.ones(1, dtype=pyml.int64))
    check(pyml.arange(5).masked_fill(pyml.tensor([True] * 5), 2.7), np.full(5, 2))


@pytest.mark.parametrize("dtype", DTYPES)
def test_where_and_promotion(dtype, rng):
    a, b = values((3, 1, 5), dtype, rng), values((4, 1), dtype, rng)
    c = rng.random((4, 5)) > 0.5
    r = pyml.where(pyml.tensor(c), make(a, dtype, "strided"), make(b, dtype))
    check(r, np.where(c, a, b), dtype)
    tdt = getattr(torch, dtype)
    for other in (2.5, 3, True):
        r = pyml.where(pyml.tensor(c), make(a, dtype), other)
        e = torch.where(tt(c), torch.tensor(a).to(tdt), other)
        assert str(r.dtype).split(".")[1] == str(e.dtype).split(".")[1]
        check(r, e.double().numpy())


def test_where_mixed_dtypes_and_scalars():
    c = pyml.tensor([True, False])
    r = pyml.where(c, pyml.tensor([1, 2], dtype=pyml.int32), pyml.tensor([0.5, 1.5], dtype=pyml.float64))
    assert r.dtype == pyml.float64
    check(r, [1, 1.5])
    assert pyml.where(c, 1.0, 0.0).dtype == pyml.float32
    assert pyml.where(c, 1, 0).dtype == pyml.int64
    assert pyml.where(c, pyml.tensor(1, dtype=pyml.int32), 5).dtype == pyml.int32
    check(pyml.tensor([3.0, 4.0]).where(c, pyml.tensor(0.0)), [3.0, 0.0])
    with pytest.raises(TypeError, match="where: expected condition to be a boolean tensor, got dtype int64"):
        pyml.where(pyml.tensor([1, 0]), 1.0, 0.0)
    with pytest.raises(ValueError, match="where: shapes must be broadcastable"):
        pyml.where(c, pyml.zeros(3), 0.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (1,), (7,), (3, 0, 2), (97, 13), (2, 3, 4, 5)])
def test_nonzero_argwhere_where1(dtype, shape, rng):
    a = values(shape, dtype, rng)
    if dtype != "bool":
        a = a * (rng.random(shape) > 0.6)
    x = make(a, dtype, "transposed" if len(shape) >= 2 else "contig")
    e = np.argwhere(a)
    check(pyml.nonzero(x), e)
    check(x.argwhere(), e)
    tup = pyml.nonzero(x, as_tuple=True)
    etup = torch.nonzero(torch.from_numpy(np.asarray(a)), as_tuple=True)
    assert len(tup) == len(etup)
    for r, q in zip(tup, etup):
        check(r, q.numpy())
    for r, q in zip(pyml.where(x != 0), etup):
        check(r, q.numpy())


def test_nonzero_many_chunks_and_nan(rng):
    a = rng.standard_normal(200_003) > 1.5
    check(pyml.nonzero(pyml.tensor(a)), np.argwhere(a))
    b = np.array([0.0, np.nan, -0.0, 1.0])
    check(pyml.nonzero(pyml.tensor(b)), np.argwhere(b))


def test_size0_accumulate_and_scatter():
    x = pyml.zeros(5)
    x.index_put_((pyml.tensor([], dtype=pyml.int64),), pyml.zeros(0), accumulate=True)
    check(x, np.zeros(5))
    y = pyml.zeros(5, 0)
    y.index_put_((pyml.tensor([1, 2]),), pyml.zeros(2, 0), accumulate=True)
    assert tuple(y.shape) == (5, 0)
    check(pyml.zeros(3, 4).index_add(0, pyml.tensor([], dtype=pyml.int64), pyml.zeros(0, 4)), np.zeros((3, 4)))
    check(pyml.zeros(3, 4).scatter_add(0, pyml.zeros(0, 4, dtype=pyml.int64), pyml.zeros(0, 4)), np.zeros((3, 4)))
    check(pyml.zeros(3, 0).scatter(1, pyml.zeros(3, 0, dtype=pyml.int64), 1.0), np.zeros((3, 0)))
    check(pyml.zeros(0, 4)[pyml.zeros(0, 4, dtype=pyml.bool)], np.zeros(0))


@pytest.fixture
def threads4():
    n = pyml.get_num_threads()
    pyml.set_num_threads(4)
    yield
    pyml.set_num_threads(n)


def test_parallel_paths_match_serial_reference(threads4, rng):
    """Sizes above the kernels' grains so several threads split the work (scatter splits off-dim positions)."""
    src, idx = rng.integers(0, 10, (4000, 64)), rng.integers(0, 100, (4000, 64))
    r = pyml.zeros(100, 64, dtype=pyml.int64).scatter_add(0, pyml.tensor(idx), pyml.tensor(src))
    e = np.zeros((100, 64), np.int64)
    np.add.at(e, (idx, np.arange(64)[None, :]), src)
    check(r, e)
    a = rng.standard_normal((700, 300))
    order = np.argsort(a, 1)
    check(pyml.tensor(a).gather(1, pyml.tensor(order)), np.take_along_axis(a, order, 1))
    m = a > 0.3
    check(pyml.tensor(a)[pyml.tensor(m)], a[m])
    check(pyml.where(pyml.tensor(m), pyml.tensor(a), -1.0), np.where(m, a, -1.0))
    rows = rng.integers(-700, 700, 5000)
    check(pyml.tensor(a)[rows, 7:9], a[rows, 7:9])
