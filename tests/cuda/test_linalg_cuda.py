"""CUDA matmul family (cuda/matmul.cu) against the CPU kernels on the same values: mm, bmm, mv, dot,
addmm, baddbmm, matmul and gemm_; sizes that straddle the 64 x 64 x 16 tiles; transposed, strided
and broadcast (stride-0) operands; batch broadcasting; every dtype; gradients; errors."""
import math

import numpy as np
import pytest

import pyml
from cuda_compare import check, check_grads, to_cuda, to_host, assert_match

FLOATS = ["float32", "float64", "float16", "bfloat16"]
INTS = ["uint8", "int8", "int16", "int32", "int64"]
SHAPES = [(1, 1, 1), (7, 97, 13), (1023, 1025, 97), (64, 64, 64), (65, 17, 63), (2, 300, 1)]  # (M, K, N)


def rand(shape, dtype="float32", seed=0):
    rng = np.random.default_rng(seed)
    if dtype in INTS:
        a = rng.integers(0 if dtype == "uint8" else -9, 10, size=shape)
    else:
        a = rng.standard_normal(shape)
    return pyml.tensor(a).to(getattr(pyml, dtype))


def tols(dtype, k):
    """(rtol, atol) for sums of k products of unit normals: both kernels round differently, so the
    absolute error grows like sqrt(k) times the unit roundoff."""
    base = {"float32": (2e-5, 2e-6), "float64": (1e-10, 1e-12), "float16": (4e-3, 2e-3), "bfloat16": (3e-2, 2e-2)}
    r, a = base.get(dtype, (0, 0))
    return dict(rtol=r or None, atol=a * math.sqrt(max(k, 1)) or None)


@pytest.mark.parametrize("dtype", FLOATS + INTS)
@pytest.mark.parametrize("mkn", SHAPES)
def test_mm(dtype, mkn):
    m, k, n = mkn
    check(pyml.mm, rand((m, k), dtype), rand((k, n), dtype, 1), **tols(dtype, k))


@pytest.mark.parametrize("dtype", ["float32", "float16", "int32"])
@pytest.mark.parametrize("layout", ["at", "bt", "both", "strided", "expanded"])
def test_mm_layouts(dtype, layout):
    """Operands read through their strides: transposed (A^T, B^T), every other element, stride 0."""
    m, k, n = 67, 45, 130
    a, b = rand((m, k), dtype), rand((k, n), dtype, 1)
    if layout in ("at", "both"):
        a = rand((k, m), dtype).t()
    if layout in ("bt", "both"):
        b = rand((n, k), dtype, 1).t()
    if layout == "strided":
        a, b = rand((2 * m, 3 * k), dtype)[::2, 1::3], rand((k + 5, 2 * n), dtype, 1)[5:, ::2]
    if layout == "expanded":  # expanded on the device (the harness copies only real strides)
        check(lambda x, y: pyml.mm(x.expand(m, k), y.expand(k, n)), rand((1, k), dtype), rand((k, 1), dtype, 1),
              **tols(dtype, k))
        return
    check(pyml.mm, a, b, **tols(dtype, k))


@pytest.mark.parametrize("dtype", FLOATS + ["int64"])
def test_bmm_baddbmm(dtype):
    a, b = rand((5, 33, 70), dtype), rand((5, 70, 9), dtype, 1)
    check(pyml.bmm, a, b, **tols(dtype, 70))
    check(pyml.bmm, rand((5, 70, 33), dtype).transpose(1, 2), b, **tols(dtype, 70))
    inp = rand((33, 9), dtype, 2)  # broadcasts over the batch
    check(lambda i, x, y: pyml.baddbmm(i, x, y, beta=0.5, alpha=2.0), inp, a, b, **tols(dtype, 70))


@pytest.mark.parametrize("dtype", FLOATS)
def test_addmm(dtype):
    a, b = rand((70, 129), dtype), rand((129, 31), dtype, 1)
    for inp in (rand((70, 31), dtype, 2), rand((31,), dtype, 2), rand((70, 1), dtype, 2)):
        check(lambda i, x, y: pyml.addmm(i, x, y, beta=-1.5, alpha=0.25), inp, a, b, **tols(dtype, 129))


def test_addmm_beta_zero_ignores_nan():
    inp = pyml.full((9, 7), float("nan"))
    want, got = check(lambda i, x, y: pyml.addmm(i, x, y, beta=0.0), inp, rand((9, 5)), rand((5, 7), seed=1))
    assert not np.isnan(got.numpy()).any()


@pytest.mark.parametrize("sa,sb", [
    ((2, 1, 5, 7), (3, 7, 4)),       # batch broadcast both ways
    ((4, 5, 7), (7, 3)),             # shared weight: the batch folds into one tall GEMM
    ((7,), (2, 7, 3)),               # 1-D on the left
    ((2, 3, 7), (7,)),               # 1-D on the right (GEMV path)
    ((1000,), (1000,)),              # dot
    ((1, 3, 1, 64, 16), (2, 1, 4, 16, 65)),
    ((3, 0, 5), (3, 5, 4)),          # empty
    ((3, 4, 0), (3, 0, 5)),          # K = 0: zeros
])
@pytest.mark.parametrize("dtype", ["float32", "float16", "int16"])
def test_matmul_broadcast(sa, sb, dtype):
    check(pyml.matmul, rand(sa, dtype), rand(sb, dtype, 1), **tols(dtype, sa[-1]))


def test_matmul_transposed_batch():
    """Batch dims that do not fold (a transposed batch, a permuted operand)."""
    a = rand((7, 4, 33)).permute(1, 0, 2)  # (4, 7, 33), batch stride 33
    b = rand((4, 65, 33), seed=1).transpose(1, 2)
    check(pyml.matmul, a, b, **tols("float32", 33))


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
@pytest.mark.parametrize("n", [1, 7, 97, 1023, 1025, 100000])
def test_mv_dot(dtype, n):
    check(pyml.mv, rand((13, n), dtype), rand((n,), dtype, 1), **tols(dtype, n))
    check(pyml.mv, rand((n, 13), dtype).t(), rand((n,), dtype, 1), **tols(dtype, n))
    check(pyml.dot, rand((n,), dtype), rand((n,), dtype, 1), **tols(dtype, n))


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "int32"])
def test_vector_matrix_wide(dtype):
    """A row against a wide row-major matrix (x @ W): a thread per output column; and against
    W^T (x @ W.T, the linear layer): a warp per output."""
    x, w = rand((1, 300), dtype), rand((300, 5000), dtype, 1)
    check(pyml.mm, x, w, **tols(dtype, 300))
    check(pyml.matmul, x[0], w, **tols(dtype, 300))
    check(pyml.mv, w.t(), x[0], **tols(dtype, 300))
    check(lambda x, w: pyml.matmul(x, w.t()), rand((3, 1, 300), dtype), rand((5000, 300), dtype, 1),
          **tols(dtype, 300))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gemm_inplace_strided(dtype):
    """gemm_ writes c through its strides (a view of a bigger buffer), alpha and beta applied."""
    def run(big, a, b):
        big = big.clone()  # check() runs on the CPU first: keep its input intact for the CUDA run
        c = big[1::2, ::3]
        pyml._C.gemm_(c._impl, a._impl, b._impl, 0.5, -2.0)
        return big
    m, k, n = 65, 97, 33
    check(run, rand((2 * m + 1, 3 * n), dtype, 2), rand((k, m), dtype).t(), rand((k, n), dtype, 1), **tols(dtype, k))


def test_grads():
    a, b = rand((3, 37, 70)).requires_grad_(), rand((70, 129), seed=1).requires_grad_()
    check_grads(pyml.matmul, a, b, **tols("float32", 129))
    x, w = rand((70,)).requires_grad_(), rand((70, 5), seed=1).requires_grad_()
    check_grads(pyml.matmul, x, w, **tols("float32", 70))


def test_errors_match_cpu():
    a, b = rand((3, 4)), rand((4, 5))
    with pytest.raises(RuntimeError, match="mm: expected all tensors to be on the same device, got cuda:0 and cpu"):
        pyml.mm(a.cuda(), b)
    with pytest.raises(RuntimeError, match="same device"):
        pyml.addmm(rand((3, 5)), a.cuda(), b.cuda())
    for dev in ("cpu", "cuda"):
        with pytest.raises(ValueError, match="shapes cannot be multiplied"):
            pyml.matmul(a.to(dev), a.to(dev))
        with pytest.raises(TypeError, match="bool tensors are not supported"):
            pyml.mm((a > 0).to(dev), (b > 0).to(dev))


def test_many_batch_dims():
    """Ten broadcast batch dims: merged where they can be, the rest indexed per block."""
    sa, sb = (2, 1) * 5 + (3, 4), (1, 2) * 5 + (4, 5)
    check(pyml.matmul, rand(sa), rand(sb, seed=1), **tols("float32", 4))
