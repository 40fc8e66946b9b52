"""CUDA vs CPU for the layout ops (csrc/ops/layout.cpp -> cuda/layout.cu and the copy kernel):
cat/stack, flip, roll, pad in every mode (cropping included), tril/triu, on odd sizes, every dtype
and non-contiguous inputs (transposed, strided, negative strides from flip), plus autograd through
cat and pad with check_grads. Pure data movement: results must be equal bit for bit.
"""
import numpy as np
import pytest

import pyml
from cuda_compare import check, check_grads, to_cuda

SIZES = [1, 7, 97, 1023, 1025]
DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
LAYOUTS = ["contig", "transposed", "strided"]


def make(rng, shape, dtype, layout="contig"):
    a = rng.integers(0, 2, size=shape) if dtype == "bool" else rng.integers(0, 100, size=shape)
    t = pyml.tensor(a.astype(np.float64)).to(getattr(pyml, dtype))
    if layout == "transposed" and t.ndim >= 2:
        return t.transpose(0, -1).clone().transpose(0, -1)
    if layout == "strided" and t.ndim >= 1:
        big = pyml.zeros(*[2 * s + 1 for s in t.shape], dtype=t.dtype)
        v = big[tuple(slice(1, None, 2) for _ in t.shape)]
        v.copy_(t)
        return v
    return t


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_cat_stack(n, dtype):
    rng = np.random.default_rng(n)
    a, b = make(rng, (n, 3), dtype, "transposed"), make(rng, (2, 3), dtype, "strided")
    check(lambda a, b: pyml.cat([a, b, a], 0), a, b)
    check(lambda a: pyml.cat([a, a[:, :1]], 1), a)
    check(lambda a: pyml.stack([a, a.flip(0)], 1), a)
    check(lambda a, b: pyml.cat([a, pyml.zeros(0, dtype=a.dtype, device=a.device), b], -2), a, b)  # legacy empty 1-D
    check(lambda a: pyml.cat([a, a.to(pyml.float64)], 0), a)  # promotion


def test_cat_device_mismatch():
    a = pyml.ones(2, 3)
    with pytest.raises(RuntimeError, match="cat: expected all tensors to be on the same device, got"):
        pyml.cat([to_cuda(a), a])


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_flip_roll(n, dtype, layout):
    rng = np.random.default_rng(n + 1)
    x = make(rng, (3, n, 2), dtype, layout)
    for dims in ([0], [1], [-1, 0], [0, 1, 2], []):
        check(lambda x: pyml.flip(x, dims), x)
    check(lambda x: pyml.flip(x, [1]).flip([1]), x)
    check(lambda x: pyml.fliplr(x[0]), x)
    for shifts, dims in ((1, 1), (-n - 2, 1), ((2, -1), (0, 2)), ((n, 1), (1, 1)), (5, None)):
        check(lambda x: pyml.roll(x, shifts, dims), x)
    check(lambda x: pyml.rot90(x, 1, (0, 1)), x)
    check(lambda x: pyml.roll(x[0, 0, 0], 3), x)  # 0-dim
    check(lambda x: pyml.flip(x[:, :0], [1]), x)  # empty


PADS = [(1, 2), (0, 3, 2, 0), (3, 3, 1, 1), (-1, 2), (2, -1, -1, 1), (0, 0, 0, 0)]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_pad(mode, dtype, layout):
    rng = np.random.default_rng(2)
    x = make(rng, (2, 5, 7), dtype, layout)
    for p in PADS:
        if mode == "reflect" and any(v >= 5 for v in p):
            continue
        kw = {"value": 1} if mode == "constant" else {}
        check(lambda x: pyml.pad(x, p, mode=mode, **kw), x)
    if mode in ("constant", "replicate"):
        check(lambda x: pyml.pad(x, (40, 1), mode=mode), x)  # pads wider than the input
    check(lambda x: pyml.pad(x, (1, 1, 2, 2, 1, 0), mode=mode), x)  # three dims


@pytest.mark.parametrize("n", [1, 7, 97, 1025])
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_long_rows(n, mode):
    rng = np.random.default_rng(n)
    x = make(rng, (3, n), "float32", "strided")
    p = (min(3, n - 1), min(2, n - 1)) if mode != "replicate" else (5, 9)
    check(lambda x: pyml.pad(x, p, mode=mode), x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("diagonal", [0, 1, -2, 50, -50])
def test_tril_triu(dtype, layout, diagonal):
    rng = np.random.default_rng(3)
    x = make(rng, (3, 7, 97), dtype, layout)
    check(lambda x: pyml.tril(x, diagonal), x)
    check(lambda x: pyml.triu(x, diagonal), x)
    check(lambda x: pyml.triu(x[0, :0], diagonal), x)  # empty
    check(lambda x: x[0].clone().tril_(diagonal), x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_autograd(dtype):
    rng = np.random.default_rng(4)
    a = rng.standard_normal((5, 6))

    def x():
        return pyml.tensor(a).to(getattr(pyml, dtype)).requires_grad_()
    check_grads(lambda x, y: pyml.cat([x, y * 2, x[:1]], 0), x(), x())
    check_grads(lambda x: pyml.stack([x, x], 2), x())
    for mode in ("constant", "reflect", "replicate", "circular"):
        check_grads(lambda x: pyml.pad(x.reshape(1, 5, 6), (2, 3, 1, 2), mode=mode), x())
    check_grads(lambda x: pyml.flip(x, [0]).roll(2, 1), x())
    check_grads(lambda x: pyml.triu(x, 1) + pyml.tril(x, -1), x())
