"""Layout ops: cat/stack family, split/chunk/tensor_split, flip/roll/rot90, repeat/tile/repeat_interleave,
pad (every mode vs torch.nn.functional.pad), tril/triu, diag/diag_embed. NumPy float64 checks values,
torch checks semantics."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import pyml

DTYPES = ["float32", "float64", "float16", "bfloat16", "int8", "int16", "int32", "int64", "uint8", "bool"]
LAYOUTS = ["contig", "transposed", "strided"]


def pdt(name):
    return pyml.bool if name == "bool" else getattr(pyml, name)


def values(shape, dtype, rng):
    a = rng.integers(0, 2 if dtype == "bool" else 100, size=shape)
    return a.astype(bool) if dtype == "bool" else a.astype(np.float64)


def make(a, dtype, layout="contig"):
    dt = pdt(dtype)
    if layout == "transposed" and a.ndim >= 2:
        return pyml.tensor(np.ascontiguousarray(np.swapaxes(a, 0, -1)), dtype=dt).transpose(0, -1)
    if layout == "strided" and a.ndim >= 1:
        big = np.zeros([2 * s + 1 for s in a.shape], dtype=a.dtype)
        sl = tuple(slice(1, None, 2) for _ in a.shape)
        big[sl] = a
        return pyml.tensor(big, dtype=dt)[sl]
    return pyml.tensor(a, dtype=dt)


def check(t, expect, dtype=None):
    expect = np.asarray(expect)
    assert tuple(t.shape) == expect.shape, (tuple(t.shape), expect.shape)
    if dtype is not None:
        assert t.dtype == pdt(dtype), (t.dtype, dtype)
    np.testing.assert_array_equal(np.asarray(t).astype(np.float64), expect.astype(np.float64))


# ---------------------------------------------------------------------------- cat / stack
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_matches_numpy(dtype, dim, rng):
    shapes = [(3, 4, 5), (3, 4, 5), (3, 4, 5)]
    arrs = []
    for i, s in enumerate(shapes):
        s = list(s)
        s[dim] = [1, 0, 7][i]
        arrs.append(values(s, dtype, rng))
    ts = [make(a, dtype, lay) for a, lay in zip(arrs, LAYOUTS)]
    check(pyml.cat(ts, dim), np.concatenate(arrs, axis=dim), dtype)
    check(pyml.concat(ts, axis=dim), np.concatenate(arrs, axis=dim), dtype)
    check(pyml.concatenate(iter(ts), dim=dim), np.concatenate(arrs, axis=dim), dtype)


@pytest.mark.parametrize("d1,d2", [("int32", "float16"), ("uint8", "int8"), ("bool", "int16"), ("bfloat16", "float16"),
                                   ("int64", "float32"), ("bool", "bool")])
def test_cat_promotes_like_torch(d1, d2, rng):
    a, b = values((2, 3), d1, rng), values((4, 3), d2, rng)
    r = pyml.cat([make(a, d1), make(b, d2)])
    e = torch.cat([torch.tensor(a).to(getattr(torch, d1)), torch.tensor(b).to(getattr(torch, d2))])
    assert r.dtype.name == str(e.dtype).split(".")[1]
    check(r, e.double().numpy())


def test_cat_skips_empty_1d_and_large(rng):
    a = rng.standard_normal((2, 3))
    r = pyml.cat([pyml.zeros(0), pyml.tensor(a), pyml.zeros(0, dtype=pyml.float64)], 0)
    check(r, a)
    assert r.dtype == pyml.float64
    check(pyml.cat([pyml.zeros(0), pyml.zeros(0)]), np.zeros(0))
    big = [rng.standard_normal((1025, 97)), rng.standard_normal((1023, 97))]
    check(pyml.cat([pyml.tensor(big[0]), pyml.tensor(big[1].T.copy()).t()]), np.concatenate(big))


def test_cat_errors():
    with pytest.raises(ValueError, match="cat: expected a non-empty list of Tensors"):
        pyml.cat([])
    with pytest.raises(ValueError, match=r"cat: zero-dimensional tensor \(at position 1\) cannot be concatenated"):
        pyml.cat([pyml.zeros(2), pyml.tensor(1.0)])
    with pytest.raises(ValueError, match=r"cat: sizes of tensors must match except in dimension 0, expected size 3 "
                                         r"but got size 4 for tensor number 1"):
        pyml.cat([pyml.zeros(2, 3), pyml.zeros(2, 4)])
    with pytest.raises(ValueError, match=r"cat: tensors must have the same number of dimensions, got \(2, 3\) and"):
        pyml.cat([pyml.zeros(2, 3), pyml.zeros(2, 3, 1)])
    with pytest.raises(IndexError, match=r"cat: dim must be in the range \[-2, 1\], got 2"):
        pyml.cat([pyml.zeros(2, 3)], 2)
    with pytest.raises(TypeError, match=r"cat: expected a sequence of Tensors, got an element of type int"):
        pyml.cat([pyml.zeros(2), 3])


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_stack_matches_numpy(dim, rng):
    arrs = [rng.standard_normal((3, 4)) for _ in range(3)]
    ts = [make(a, "float64", lay) for a, lay in zip(arrs, LAYOUTS)]
    check(pyml.stack(ts, dim), np.stack(arrs, axis=dim))


@pytest.mark.parametrize("shape", [(), (5,), (2, 5), (2, 5, 3), (0, 5)])
def test_hstack_vstack_dstack_column_stack(shape, rng):
    arrs = [rng.standard_normal(shape) for _ in range(2)]
    ts = [pyml.tensor(a) for a in arrs]
    check(pyml.hstack(ts), np.hstack(arrs))
    check(pyml.vstack(ts), np.vstack(arrs))
    check(pyml.row_stack(ts), np.vstack(arrs))
    check(pyml.dstack(ts), np.dstack(arrs))
    if len(shape) <= 2:
        check(pyml.column_stack(ts), np.column_stack(arrs))
    for fn, nfn in ((pyml.atleast_1d, np.atleast_1d), (pyml.atleast_2d, np.atleast_2d), (pyml.atleast_3d, np.atleast_3d)):
        check(fn(ts[0]), nfn(arrs[0]))


def test_stack_errors():
    with pytest.raises(ValueError, match=r"stack: expects each tensor to be equal size, but got \(2,\) at entry 0 "
                                         r"and \(3,\) at entry 1"):
        pyml.stack([pyml.zeros(2), pyml.zeros(3)])
    with pytest.raises(ValueError, match="stack: expected a non-empty list"):
        pyml.stack([])
    with pytest.raises(IndexError, match=r"stack: dim must be in the range \[-2, 1\], got 2"):
        pyml.stack([pyml.zeros(2)], 2)


# ---------------------------------------------------------------------------- split / chunk
@pytest.mark.parametrize("n", [0, 1, 7, 12])
def test_split_chunk_tensor_split_match_torch(n, rng):
    a = rng.standard_normal((3, n))
    x, t = pyml.tensor(a), torch.from_numpy(a)
    cases = [(lambda m, *r: m.split(*r), (5, 1)), (lambda m, *r: m.split(*r), (1, 1)),
             (lambda m, *r: m.chunk(*r), (3, 1)), (lambda m, *r: m.chunk(*r), (5, -1)),
             (lambda m, *r: m.tensor_split(*r), (3, 1)), (lambda m, *r: m.tensor_split(*r), ([1, 5, 2], 1)),
             (lambda m, *r: m.tensor_split(*r), ([-2, 20], 1))]
    if n == 7:
        cases.append((lambda m, *r: m.split(*r), ([2, 0, 5], 1)))
    for fn, args in cases:
        got, exp = fn(x, *args), fn(t, *args)
        assert len(got) == len(exp), (args, len(got), len(exp))
        for g, e in zip(got, exp):
            check(g, e.numpy())
            if g.numel():
                assert pyml.shares_memory(g, x)
    check(pyml.split(x, 2)[0], a[:2])
    check(pyml.chunk(x, 2, dim=0)[1], a[2:])
    check(pyml.tensor_split(x, pyml.tensor(2), dim=0)[0], a[:2])


def test_split_errors():
    x = pyml.zeros(5)
    with pytest.raises(ValueError, match=r"split: split_sizes must be non-negative and sum exactly to 5"):
        pyml.split(x, [2, 2])
    with pytest.raises(ValueError, match=r"split: split_size must be positive"):
        pyml.split(x, 0)
    with pytest.raises(ValueError, match=r"chunk: expects `chunks` to be greater than 0, got 0"):
        pyml.chunk(x, 0)
    with pytest.raises(ValueError, match=r"tensor_split: number of sections must be larger than 0"):
        pyml.tensor_split(x, 0)
    with pytest.raises(IndexError, match=r"split: dim must be in the range"):
        pyml.split(x, 2, dim=1)


# ---------------------------------------------------------------------------- flip / roll / rot90
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_flip_matches_numpy(dtype, layout, rng):
    a = values((4, 1, 7, 3), dtype, rng)
    x = make(a, dtype, layout)
    for dims in [(0,), (-1,), (0, 2), (1, 3, 0), (), (0, 1, 2, 3)]:
        check(pyml.flip(x, dims), np.flip(a, dims) if dims else a, dtype)
    check(x.flip(2), np.flip(a, 2), dtype)
    check(x.flip(0, 3), np.flip(a, (0, 3)), dtype)
    check(pyml.fliplr(x), np.fliplr(a), dtype)
    check(pyml.flipud(x), np.flipud(a), dtype)


def test_flip_large_and_0d_and_copy(rng):
    a = rng.standard_normal((1025, 97))
    x = make(a, "float64", "transposed")
    check(x.flip(0, 1), a[::-1, ::-1])
    check(x.flip(1), a[:, ::-1])
    check(pyml.flip(pyml.tensor(3.0), [0]), np.array(3.0))
    y = pyml.tensor(a)
    r = y.flip(())
    assert not pyml.shares_memory(r, y)
    with pytest.raises(ValueError, match=r"flip: dim 0 appears multiple times in the list of dims"):
        x.flip(0, -2)
    with pytest.raises(IndexError, match=r"flip: dim must be in the range \[-2, 1\], got 2"):
        x.flip(2)
    with pytest.raises(ValueError, match=r"fliplr: input must be >= 2-d"):
        pyml.fliplr(pyml.zeros(3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_roll_matches_numpy(dtype, layout, rng):
    a = values((5, 0, 3) if layout == "contig" and dtype == "bool" else (5, 4, 3), dtype, rng)
    x = make(a, dtype, layout)
    for shifts, dims in [(1, 0), (-2, 1), (7, -1), ((1, -3), (0, 2)), ((2, 2), (1, 1)), (3, None), (-100, None),
                         ((0,), (0,))]:
        check(pyml.roll(x, shifts, dims), np.roll(a, shifts, dims), dtype)
    check(x.roll(1, 0), np.roll(a, 1, 0), dtype)


def test_roll_large_and_errors(rng):
    a = rng.standard_normal((1023, 7))
    check(pyml.roll(make(a, "float64", "transposed"), (500, 3), (0, 1)), np.roll(a, (500, 3), (0, 1)))
    check(pyml.roll(pyml.tensor(2.0), 1), np.array(2.0))
    with pytest.raises(ValueError, match=r"roll: without dims the flattened tensor is rolled by one shift, got 2"):
        pyml.roll(pyml.zeros(2, 3), (1, 2))
    with pytest.raises(ValueError, match=r"roll: shifts and dims must have the same length, got 1 shifts"):
        pyml.roll(pyml.zeros(2, 3), (1,), (0, 1))
    with pytest.raises(IndexError, match=r"roll: dim must be in the range"):
        pyml.roll(pyml.zeros(2, 3), 1, 2)


@pytest.mark.parametrize("k", [-1, 0, 1, 2, 3, 5])
@pytest.mark.parametrize("dims", [(0, 1), (1, 0), (0, 2), (-1, 1)])
def test_rot90_matches_numpy(k, dims, rng):
    a = rng.standard_normal((2, 3, 4))
    check(pyml.rot90(make(a, "float64", "strided"), k, dims), np.rot90(a, k, dims))
    with pytest.raises(ValueError, match=r"rot90: rotation dims must differ"):
        pyml.rot90(pyml.tensor(a), 1, (1, 1))
    with pytest.raises(ValueError, match=r"rot90: expected total rotation dims == 2"):
        pyml.rot90(pyml.tensor(a), 1, (0,))


# ---------------------------------------------------------------------------- repeat / tile / repeat_interleave
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reps", [(2, 3), (1, 1), (0, 2), (2, 1, 3), (3, 2, 2, 1)])
def test_repeat_and_tile_match_numpy(dtype, reps, rng):
    a = values((3, 4), dtype, rng)
    x = make(a, dtype, "transposed")
    r = x.repeat(*reps)
    check(r, np.tile(a, reps), dtype)
    assert not pyml.shares_memory(r, x)
    check(x.repeat(reps), np.tile(a, reps), dtype)
    check(pyml.tile(x, reps[-1:]), np.tile(a, reps[-1:]), dtype)
    check(x.tile(*reps), np.tile(a, reps), dtype)


def test_repeat_errors():
    with pytest.raises(ValueError, match=r"repeat: number of repeat dims \(1\) can not be smaller than the number of "
                                         r"dims of the tensor \(2\)"):
        pyml.zeros(2, 3).repeat(2)
    with pytest.raises(ValueError, match=r"repeat: repeats must be non-negative"):
        pyml.zeros(2).repeat(-1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_repeat_interleave_matches_numpy(dtype, rng):
    a = values((3, 4), dtype, rng)
    x = make(a, dtype, "strided")
    check(pyml.repeat_interleave(x, 2), np.repeat(a, 2), dtype)
    check(x.repeat_interleave(3, dim=1), np.repeat(a, 3, axis=1), dtype)
    check(x.repeat_interleave(0, dim=0), np.repeat(a, 0, axis=0), dtype)
    reps = np.array([1, 0, 3])
    check(x.repeat_interleave(pyml.tensor(reps), dim=0), np.repeat(a, reps, axis=0), dtype)
    check(x.repeat_interleave(pyml.tensor([2]), dim=-1), np.repeat(a, 2, axis=-1), dtype)
    check(pyml.repeat_interleave(pyml.tensor([2, 0, 1])), np.repeat(np.arange(3), [2, 0, 1]))


def test_repeat_interleave_errors():
    x = pyml.zeros(2, 3)
    with pytest.raises(ValueError, match=r"repeat_interleave: repeats can not be negative, got -1"):
        x.repeat_interleave(pyml.tensor([-1, 2]), dim=0)
    with pytest.raises(ValueError, match=r"repeat_interleave: repeats must have shape \(2,\)"):
        x.repeat_interleave(pyml.tensor([1, 2, 3]), dim=0)
    with pytest.raises(ValueError, match=r"repeat_interleave: repeats can not be negative"):
        x.repeat_interleave(-2)
    with pytest.raises(TypeError, match=r"repeat_interleave: repeats must be an integer tensor"):
        pyml.repeat_interleave(pyml.tensor([1.0]))


# ---------------------------------------------------------------------------- pad
PAD_CASES = [((2, 3, 7), (2, 3)), ((2, 3, 7), (0, 6)), ((2, 3, 7), (-2, 3)), ((2, 3, 7), (4, -5)),
             ((1, 2, 5, 6), (1, 2, 3, 1)), ((1, 2, 5, 6), (-1, 2, 2, -3)), ((2, 1, 3, 4, 5), (1, 2, 0, 3, 2, 1)),
             ((3, 1, 1), (0, 0)), ((2, 4, 3), (2, 2))]


def _wraps_twice(shape, pads):
    for i in range(len(pads) // 2):
        l, r, n = pads[2 * i], pads[2 * i + 1], shape[-1 - i]
        kept = n - max(0, -l) - max(0, -r)
        if l > kept or r > kept:
            return True
    return False


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pads", PAD_CASES, ids=str)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_pad_matches_torch(mode, shape, pads, layout, rng):
    a = rng.standard_normal(shape)
    t = torch.from_numpy(a)
    if mode == "circular" and _wraps_twice(shape, pads):  # torch returns uninitialised memory here
        with pytest.raises(ValueError, match="pad: circular padding .* would wrap around more than once"):
            pyml.pad(make(a, "float64", layout), pads, mode=mode)
        return
    try:
        e = F.pad(t, pads, mode=mode)
    except (RuntimeError, NotImplementedError) as err:
        with pytest.raises(ValueError, match="pad: "):
            pyml.pad(make(a, "float64", layout), pads, mode=mode)
        assert mode != "constant", err
        return
    check(pyml.pad(make(a, "float64", layout), pads, mode=mode), e.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
def test_pad_dtypes(dtype, rng):
    a = values((2, 3, 5), dtype, rng)
    x = make(a, dtype, "transposed")
    value = True if dtype == "bool" else 7
    check(pyml.pad(x, (1, 2, 0, 1), value=value), np.pad(a, ((0, 0), (0, 1), (1, 2)), constant_values=value), dtype)
    for mode, np_mode in (("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")):
        check(pyml.pad(x, (2, 1), mode=mode), np.pad(a, ((0, 0), (0, 0), (2, 1)), mode=np_mode), dtype)


def test_pad_value_cast_and_any_rank(rng):
    x = pyml.zeros(2, 3, dtype=pyml.int64)
    e = F.pad(torch.zeros(2, 3, dtype=torch.long), (1, 0), value=2.5)
    check(pyml.pad(x, (1, 0), value=2.5), e.numpy(), "int64")
    a = rng.standard_normal(7)  # 1-d input and all-dims padding are allowed here (torch limits non-constant modes)
    check(pyml.pad(pyml.tensor(a), (3, 2), mode="reflect"), np.pad(a, (3, 2), mode="reflect"))
    b = rng.standard_normal((4, 5))
    check(pyml.pad(pyml.tensor(b), (1, 1, 2, 2), mode="circular"), np.pad(b, ((2, 2), (1, 1)), mode="wrap"))
    c = rng.standard_normal((1025, 3))
    check(pyml.pad(pyml.tensor(c), (0, 0, 5, 7), mode="replicate"), np.pad(c, ((5, 7), (0, 0)), mode="edge"))
    check(pyml.pad(pyml.zeros(0, 3), (1, 1)), np.zeros((0, 5)))


def test_pad_errors():
    x = pyml.zeros(1, 2, 5)
    with pytest.raises(ValueError, match=r"pad: padding length must be divisible by 2"):
        pyml.pad(x, (1, 2, 1))
    with pytest.raises(ValueError, match=r"pad: padding length \(8\) must be at most twice the number of dims"):
        pyml.pad(x, (1,) * 8)
    with pytest.raises(ValueError, match=r"pad: reflect padding \(5, 2\) must be less than the size 5 of dim 2"):
        pyml.pad(x, (5, 2), mode="reflect")
    with pytest.raises(ValueError, match=r"pad: circular padding \(6, 2\) must not exceed the size 5"):
        pyml.pad(x, (6, 2), mode="circular")
    with pytest.raises(ValueError, match=r"pad: padding \(-4, -2\) of dim 2 gives a negative size -1"):
        pyml.pad(x, (-4, -2))
    with pytest.raises(ValueError, match=r"pad: mode must be one of"):
        pyml.pad(x, (1, 1), mode="foo")
    with pytest.raises(ValueError, match=r"pad: padding mode 'reflect' doesn't take a value"):
        pyml.pad(x, (1, 1), mode="reflect", value=1)
    with pytest.raises(ValueError, match=r"pad: replicate padding needs a non-empty dim 2"):
        pyml.pad(pyml.zeros(1, 2, 0), (1, 0), mode="replicate")
    with pytest.raises(TypeError, match=r"pad: padding must be an int"):
        pyml.pad(x, (1.5, 1))


# ---------------------------------------------------------------------------- tril / triu / diag
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 4), (3, 6), (7, 2), (2, 3, 5), (0, 3), (2, 0, 4)])
def test_tril_triu_match_numpy(dtype, shape, rng):
    a = values(shape, dtype, rng)
    x = make(a, dtype, "transposed")
    for k in (-2, -1, 0, 1, 3, 10, -10):
        check(pyml.tril(x, k), np.tril(a, k), dtype)
        check(x.triu(k), np.triu(a, k), dtype)
    y = make(a, dtype, "strided")
    y.tril_(1)
    check(y, np.tril(a, 1), dtype)
    y = make(a, dtype)
    assert y.triu_(-1) is y
    check(y, np.triu(a, -1), dtype)


def test_tril_errors():
    with pytest.raises(ValueError, match=r"tril: input tensor must have at least 2 dimensions, got shape \(3,\)"):
        pyml.tril(pyml.zeros(3))
    with pytest.raises(ValueError, match=r"triu: input tensor must have at least 2 dimensions"):
        pyml.zeros(3).triu()


@pytest.mark.parametrize("k", [-2, 0, 1, 3])
def test_diag_and_diag_embed_match_torch(k, rng):
    v = rng.standard_normal(4)
    m = rng.standard_normal((3, 5))
    check(pyml.diag(pyml.tensor(v), k), torch.diag(torch.from_numpy(v), k).numpy())
    check(pyml.tensor(m).diag(k), torch.diag(torch.from_numpy(m), k).numpy())
    b = rng.standard_normal((2, 3))
    for d1, d2 in ((-2, -1), (0, 2), (2, 0), (1, -1)):
        check(pyml.diag_embed(make(b, "float64", "transposed"), k, d1, d2),
              torch.diag_embed(torch.from_numpy(b), k, d1, d2).numpy())
    with pytest.raises(ValueError, match=r"diag: expected a 1-D or 2-D input, got shape \(2, 2, 2\)"):
        pyml.diag(pyml.zeros(2, 2, 2))
    with pytest.raises(ValueError, match=r"diag_embed: diagonal dimensions cannot be identical"):
        pyml.diag_embed(pyml.zeros(2, 2), 0, 1, 1)
