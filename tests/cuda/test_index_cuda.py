"""CUDA vs CPU for the indexing ops (csrc/ops/index.cpp -> cuda/index.cu, cuda/scatter.cu).

The same values go through both devices (cuda_compare.check): odd sizes, non-contiguous inputs,
negative and duplicate indices, every dtype, bool masks (empty results included). Values are small
integers, exact in every dtype, so sums over duplicate indices agree whatever order the atomics
take. Out-of-range indices must raise the CPU's IndexError, word for word. Autograd through
index/gather/index_select/where/masked_select with check_grads.
"""
import numpy as np
import pytest

import pyml
from cuda_compare import check, check_grads, to_cuda, to_host

SIZES = [1, 7, 97, 1023, 1025]
DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
LAYOUTS = ["contig", "transposed", "strided"]


def make(rng, shape, dtype, layout="contig"):
    """Small integers (0/1 for bool, 0..3 for uint8) in dtype, in the given memory layout."""
    lo, hi = (0, 2) if dtype == "bool" else (0, 4) if dtype == "uint8" else (-3, 4)
    t = pyml.tensor(rng.integers(lo, hi, size=shape).astype(np.float64)).to(getattr(pyml, dtype))
    return relayout(t, layout)


def relayout(t, layout):
    """A copy of t on its own device with the same values in another memory layout."""
    if layout == "contig" or t.ndim == 0:
        return t.clone()
    if layout == "transposed" and t.ndim >= 2:
        return t.transpose(0, -1).clone().transpose(0, -1)
    big = pyml.zeros(*[2 * s + 1 for s in t.shape], dtype=t.dtype, device=t.device)
    v = big[tuple(slice(1, None, 2) for _ in t.shape)]
    v.copy_(t)
    return v


def ints(rng, shape, lo, hi):
    return pyml.tensor(rng.integers(lo, hi, size=shape).astype(np.int64))


def raises_same(fn, *args, exc=IndexError):
    """fn raises exc with the same message on CPU and on CUDA."""
    with pytest.raises(exc) as cpu:
        fn(*args)
    with pytest.raises(exc) as gpu:
        fn(*to_cuda(list(args)))
    assert str(gpu.value) == str(cpu.value)


# ---------------------------------------------------------------------------- advanced indexing
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_getitem_int_index(n, dtype):
    rng = np.random.default_rng(n)
    x = make(rng, (n, 3), dtype)
    i = ints(rng, (2 * n + 1,), -n, n)  # negatives and duplicates
    check(lambda x, i: x[i], x, i)
    check(lambda x, i: x[:, [2, 0, -1]][i], x, i)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_getitem_multi_index(layout):
    rng = np.random.default_rng(0)
    x = make(rng, (5, 6, 7), "float32", layout)
    a, b = ints(rng, (4, 1), -5, 5), ints(rng, (3,), -7, 7)
    check(lambda x, a, b: x[a, :, b], x, a, b)          # separated by a slice: index dims go first
    check(lambda x, a, b: x[:, a, b], x, ints(rng, (4, 1), -6, 6), b)  # adjacent: in place
    check(lambda x, a: x[..., a], x, a)
    check(lambda x, a: x[a.squeeze(1)], relayout(x, layout), a)
    check(lambda x: x[[0, 4, 4]], x)                     # a list index (built on the host)


@pytest.mark.parametrize("n", [1, 7, 97, 1025])
@pytest.mark.parametrize("density", [0.0, 0.3, 1.0])
def test_getitem_mask(n, density):
    rng = np.random.default_rng(n)
    x = make(rng, (n, 4), "float64", "strided")
    m = pyml.tensor(rng.random((n, 4)) < density)
    check(lambda x, m: x[m], x, m)
    check(lambda x, m: x[m[:, 0]], x, m)
    check(lambda x, m: x[:, m[0]], x, m)


def test_getitem_host_indices_for_cuda_tensor():
    """torch indexes a CUDA tensor with CPU index tensors and masks; so does pyml."""
    rng = np.random.default_rng(1)
    x = make(rng, (9, 5), "float32")
    i, m = ints(rng, (6,), -9, 9), pyml.tensor(rng.random(9) < 0.5)
    xc = to_cuda(x)
    np.testing.assert_array_equal(to_host(xc[i]).numpy(), x[i].numpy())
    np.testing.assert_array_equal(to_host(xc[m]).numpy(), x[m].numpy())
    np.testing.assert_array_equal(to_host(xc[True]).numpy(), x[True].numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_index_put(dtype, layout):
    rng = np.random.default_rng(2)
    x = make(rng, (97, 5), dtype, layout)
    perm = pyml.tensor(rng.permutation(97)[:40].astype(np.int64) - 97)  # unique, negative
    dup = ints(rng, (300,), -97, 97)                                     # many duplicates
    v, vd = make(rng, (40, 5), dtype), make(rng, (300, 5), dtype)

    def put(x, i, v, acc):
        y = relayout(x, layout)
        y.index_put_((i,), v, accumulate=acc)
        return y
    check(put, x, perm, v, False)
    check(put, x, dup, vd, True)
    check(put, x, perm, make(rng, (5,), dtype), False)  # values broadcast over the index


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "int32", "uint8", "bool"])
def test_setitem(dtype):
    rng = np.random.default_rng(3)
    x = make(rng, (33, 4), dtype)
    i, m = ints(rng, (10,), -33, 33), pyml.tensor(rng.random((33, 4)) < 0.4)

    def setitems(x, i, m):
        y = x.clone()
        y[i] = 1          # a Python number: a 0-dim host value for a CUDA tensor
        y[m] = 0          # a full-shape mask: masked_fill_
        y[m[:, 0]] = y[m[:, 0]].flip(0)  # a CUDA value tensor through a mask
        y[:, [1, 3]] = [[1, 0]] if dtype != "uint8" else [[1, 2]]  # a list value (host tensor)
        return y
    check(setitems, x, i, m)


# ---------------------------------------------------------------------------- index_* along a dim
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_index_select_take(n, dtype):
    rng = np.random.default_rng(n + 10)
    x = make(rng, (3, n), dtype, "transposed")
    i = ints(rng, (n + 2,), 0, n)
    check(lambda x, i: pyml.index_select(x, 1, i), x, i)
    check(lambda x, i: pyml.index_select(x, -2, i), x, ints(rng, (5,), 0, 3))
    check(lambda x, i: pyml.take(x, i), x, ints(rng, (4, n), -3 * n, 3 * n))
    check(lambda x, i: pyml.index_select(x, 0, i), x, ints(rng, (), 0, 3))  # 0-dim index


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_index_add_copy_fill(dtype, layout):
    rng = np.random.default_rng(4)
    x = make(rng, (7, 97), dtype, layout)
    dup, uniq = ints(rng, (200,), 0, 97), pyml.tensor(rng.permutation(97)[:50].astype(np.int64))
    src_d, src_u = make(rng, (7, 200), dtype), make(rng, (7, 50), dtype, layout)

    def add(x, i, s):
        return relayout(x, layout).index_add_(1, i, s)
    check(add, x, dup, src_d)
    if dtype != "bool":
        check(lambda x, i, s: relayout(x, layout).index_add_(1, i, s, alpha=2), x, dup, src_d)
    check(lambda x, i, s: relayout(x, layout).index_copy_(1, i, s), x, uniq, src_u)
    check(lambda x, i: relayout(x, layout).index_fill_(1, i, 1), x, dup)
    check(lambda x, i: relayout(x, layout).index_fill_(0, i, 0), x, ints(rng, (3,), -7, 7))


# ---------------------------------------------------------------------------- gather / scatter
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_gather(n, dtype):
    rng = np.random.default_rng(n + 20)
    x = make(rng, (4, n), dtype, "strided")
    check(lambda x, i: pyml.gather(x, 1, i), x, ints(rng, (3, n + 3), 0, n))
    check(lambda x, i: pyml.gather(x, 0, i), x, ints(rng, (6, max(n // 2, 1)), 0, 4))
    check(lambda x, i: pyml.gather(x, 0, i), x.contiguous().reshape(-1), ints(rng, (n,), 0, 4 * n))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_scatter_assign_and_add(dtype, layout):
    rng = np.random.default_rng(5)
    x = make(rng, (6, 97), dtype, layout)
    # unique targets per row for the plain scatter (duplicates race on both devices)
    perm = pyml.tensor(np.stack([rng.permutation(97)[:60] for _ in range(5)]).astype(np.int64))
    src = make(rng, (6, 100), dtype, layout)
    check(lambda x, i, s: relayout(x, layout).scatter_(1, i, s), x, perm, src)
    check(lambda x, i: relayout(x, layout).scatter_(1, i, value=1), x, perm)
    dup = ints(rng, (6, 100), 0, 97)
    check(lambda x, i, s: relayout(x, layout).scatter_add_(1, i, s), x, dup, src)
    check(lambda x, i, s: pyml.scatter_add(x, 0, i, s), x, ints(rng, (20, 97), 0, 6), make(rng, (20, 97), dtype))
    # a 1-D scatter_add: a single dim, many collisions per target
    check(lambda x, i, s: pyml.scatter_add(x, 0, i, s), x.contiguous().reshape(-1), ints(rng, (5000,), 0, 6 * 97),
          make(rng, (5000,), dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce(dtype, reduce, include_self):
    if reduce == "mean" and dtype == "bool":
        pytest.skip("mean of bool is not defined")
    rng = np.random.default_rng(6)
    x = make(rng, (5, 33), dtype, "transposed")
    i = ints(rng, (5, 40), 0, 33)
    # prod: values in {-1, 1, 2} and at most a few per target keep products exact in every dtype
    s = make(rng, (5, 40), dtype)
    if reduce == "prod" and dtype != "bool":
        s = pyml.tensor(rng.choice([-1.0, 1.0, 2.0], size=(5, 40))).to(getattr(pyml, dtype))
        if dtype == "uint8":
            s = s.abs()
    check(lambda x, i, s: pyml.scatter_reduce(x, 1, i, s, reduce, include_self=include_self), x, i, s)


def test_scatter_reduce_nan_propagates():
    x = pyml.zeros(2, 4)
    s = pyml.tensor([[1.0, float("nan"), 3.0, -1.0], [2.0, 2.0, float("nan"), 5.0]])
    i = pyml.tensor([[0, 0, 1, 3], [2, 2, 2, 2]])
    for reduce in ("amax", "amin"):
        check(lambda x, i, s: pyml.scatter_reduce(x, 1, i, s, reduce), x, i, s)


# ---------------------------------------------------------------------------- where / masks / nonzero
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_where(n, dtype):
    rng = np.random.default_rng(n + 30)
    c = pyml.tensor(rng.random((n, 3)) < 0.5)
    x, y = make(rng, (n, 3), dtype, "transposed"), make(rng, (1, 3), dtype)
    check(lambda c, x, y: pyml.where(c, x, y), c, x, y)
    check(lambda c, x: pyml.where(c, x, 2), c, x)                   # a Python number
    check(lambda c, x: pyml.where(c[:, :1], 0.5, x), c, x)          # promotion to float, broadcast cond
    check(lambda c, x: pyml.where(c, x, pyml.tensor(1)), c, x)      # a 0-dim CPU tensor joins CUDA ones


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_masked_fill_select(dtype, layout):
    rng = np.random.default_rng(7)
    x = make(rng, (97, 6), dtype, layout)
    m = pyml.tensor(rng.random((97, 6)) < 0.3)
    check(lambda x, m: relayout(x, layout).masked_fill_(m, 1), x, m)
    check(lambda x, m: x.masked_fill(m[:1], 0), x, m)                 # broadcast mask
    check(lambda x, m: pyml.masked_select(x, m), x, m)
    check(lambda x, m: pyml.masked_select(x, m[:, :1]), x, m)
    check(lambda x, m: pyml.masked_select(x, m & False), x, m)       # empty result


@pytest.mark.parametrize("n", SIZES + [4096, 4097, 100003])
@pytest.mark.parametrize("density", [0.0, 0.01, 0.5, 1.0])
def test_nonzero(n, density):
    rng = np.random.default_rng(n)
    m = pyml.tensor(rng.random(n) < density)
    check(pyml.nonzero, m)
    check(lambda m: pyml.nonzero(m.reshape(1, n, 1)), m)
    check(lambda m: pyml.nonzero(m, as_tuple=True), m)
    check(pyml.argwhere, m)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_nonzero_dtypes_layouts(dtype, layout):
    rng = np.random.default_rng(8)
    x = make(rng, (13, 9, 5), dtype, layout)
    check(pyml.nonzero, x)
    check(pyml.nonzero, make(rng, (), dtype))
    check(pyml.nonzero, make(rng, (0, 4), dtype))


@pytest.mark.parametrize("n", [1, 7, 1025])
def test_repeat_interleave(n):
    rng = np.random.default_rng(n)
    r = ints(rng, (n,), 0, 4)  # zeros included
    x = make(rng, (n, 3), "float32", "transposed")
    check(lambda r: pyml.repeat_interleave(r), r)
    check(lambda x, r: pyml.repeat_interleave(x, r, dim=0), x, r)
    check(lambda x: pyml.repeat_interleave(x, 2, dim=1), x)
    check(lambda r: pyml.repeat_interleave(r * 0), r)  # empty result
    raises_same(lambda r: pyml.repeat_interleave(r - 5), r, exc=ValueError)


# ---------------------------------------------------------------------------- errors
def test_out_of_range_indices_raise_like_cpu():
    rng = np.random.default_rng(9)
    x = make(rng, (5, 7), "float32")
    bad = pyml.tensor([1, 2, 7, -9, 0])
    raises_same(lambda x, i: x[:, i], x, bad)
    raises_same(lambda x, i: x[i, i], x, pyml.tensor([0, 5]))
    raises_same(lambda x, i: x.clone().index_put_((i,), pyml.tensor(1.0), accumulate=True), x, pyml.tensor([-6]))
    raises_same(lambda x, i: pyml.index_select(x, 1, i), x, pyml.tensor([0, -1]))  # no negatives here
    raises_same(lambda x, i: pyml.take(x, i), x, pyml.tensor([[3, 35]]))
    raises_same(lambda x, i: pyml.gather(x, 1, i), x, pyml.tensor([[0, 7]]))
    raises_same(lambda x, i: x.clone().scatter_(0, i, x), x, pyml.tensor([[0, 1], [5, 0]]))
    raises_same(lambda x, i: x.clone().scatter_add_(1, i, x), x, pyml.tensor([[-1]]))
    raises_same(lambda x, i: x.clone().index_add_(0, i, x[:2]), x, pyml.tensor([4, 5]))
    raises_same(lambda x, i: x.clone().index_fill_(1, i, 0), x, pyml.tensor([8]))
    raises_same(lambda x, i: x[i], x, pyml.tensor([0.5]))  # a float index: IndexError


def test_failed_scatter_leaves_input_unchanged():
    """The range check runs before any write, as on CPU."""
    x = to_cuda(pyml.arange(10.0))
    with pytest.raises(IndexError):
        x.scatter_(0, to_cuda(pyml.tensor([1, 2, 30])), to_cuda(pyml.ones(3)))
    np.testing.assert_array_equal(to_host(x).numpy(), np.arange(10.0))


def test_device_mismatch():
    x = to_cuda(pyml.arange(6.0))
    i = pyml.tensor([0, 1])
    for fn in (lambda: pyml.index_select(x, 0, i), lambda: pyml.gather(x, 0, i), lambda: x.clone().scatter_(0, i, x),
               lambda: x.clone().index_add_(0, i, pyml.ones(2)), lambda: pyml.take(x, i),
               lambda: pyml.masked_select(x, pyml.ones(6, dtype=pyml.bool)),
               lambda: pyml.where(to_cuda(pyml.ones(6, dtype=pyml.bool)), x, pyml.ones(6))):
        with pytest.raises(RuntimeError, match="expected all tensors to be on the same device, got"):
            fn()


# ---------------------------------------------------------------------------- autograd
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_autograd(dtype):
    rng = np.random.default_rng(10)
    a = rng.standard_normal((9, 6))

    def x():  # a fresh leaf per call: check_grads accumulates into .grad
        return pyml.tensor(a).to(getattr(pyml, dtype)).requires_grad_()
    i = ints(rng, (20,), -9, 9)  # duplicates: gradients add up
    j = ints(rng, (9, 8), 0, 6)
    m = pyml.tensor(rng.random((9, 6)) < 0.5)
    check_grads(lambda x, i: x[i] * 2, x(), i)
    check_grads(lambda x, i: x[i, 1:], x(), i)
    check_grads(lambda x, j: pyml.gather(x, 1, j), x(), j)
    check_grads(lambda x, i: pyml.index_select(x, 0, i % 9), x(), i)
    check_grads(lambda x, m: pyml.masked_select(x, m), x(), m)
    check_grads(lambda x, m: pyml.where(m, x, x * 3), x(), m)
    check_grads(lambda x, j: pyml.zeros(9, 6, dtype=x.dtype, device=x.device).scatter_add(1, j[:, :6], x), x(), j)
    check_grads(lambda x, m: x.masked_fill(m, 0.0), x(), m)
