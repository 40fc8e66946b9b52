"""Hopper GEMM (cuda/gemm_wgmma.cu: TMA + wgmma, sm_90a) against float64 NumPy. gemm_cuda takes it for
float16/bfloat16 on compute capability 9.x when both operands have a stride-1 dim, 16-byte aligned
rows and base pointers, and at most one batch dim; operands here live in row-padded buffers
(on_device 'pad'/'t') so every odd M, N, K qualifies. Outputs are poisoned with NaN first (see
poisoned), and addmm with beta == 0 gets a NaN C that must not be read. Errors must stay within ~2x
of a same-precision naive product's. Operands that do not qualify (unaligned rows, strided views)
are left to tests/cuda/test_gemm_tc_cuda.py. Sizes stay small enough for the CPU emulator
(tools/cuda_emu: its device says sm_90 with 4 SMs, so the persistent loop and the ring's
wrap-around run there too; EMU_CC_MAJOR=8 makes it an sm_80 for the mma.sync path)."""
import numpy as np
import pytest

import pyml
from test_gemm_tc_cuda import naive_err, on_device, rel_err, values

SIZES = [1, 7, 64, 97, 128, 255, 257, 1023]
HALF = ["float16", "bfloat16"]


def judge(out, ref, a64, b64, dtype):
    e = rel_err(out, ref)
    assert e <= 2 * naive_err(a64, b64, a64 @ b64, dtype) + 1e-6, e


def poisoned(fn, shape, dtype):
    """fn() after a NaN block of the output's size went back to the caching allocator, so the
    output most likely reuses it: an element the kernel leaves unwritten stays NaN (rel_err fails)."""
    nan = pyml.full(shape, float("nan"), dtype=getattr(pyml, dtype), device="cuda")
    del nan
    return fn()


def run(m, k, n, dtype, la="pad", lb="pad", seed=0):
    a, a64 = values((m, k), dtype, seed)
    b, b64 = values((k, n), dtype, seed + 1)
    da, db = on_device(a, la), on_device(b, lb)
    out = poisoned(lambda: pyml.mm(da, db), (m, n), dtype)
    judge(out, a64 @ b64, a64, b64, dtype)


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dim", ["m", "n", "k"])
def test_odd_sizes(dtype, size, dim):
    m, k, n = (size if dim == "m" else 72, size if dim == "k" else 48, size if dim == "n" else 80)
    run(m, k, n, dtype, seed=size)


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("la,lb", [("pad", "pad"), ("pad", "t"), ("t", "pad"), ("t", "t")])
def test_transposed(dtype, la, lb):
    """A M-major and B K-major read in place through the descriptors' transpose bits."""
    run(131, 75, 263, dtype, la, lb)


@pytest.mark.parametrize("dtype", HALF)
def test_persistent_loop_and_ring_wrap(dtype):
    """More tiles than SMs (each block walks several tiles) and more K steps than ring stages."""
    run(520, 333, 530, dtype, "pad", "pad", seed=7)


@pytest.mark.parametrize("dtype", HALF)
def test_batched(dtype):
    a, a64 = values((3, 67, 40), dtype, 5)
    b, b64 = values((3, 40, 75), dtype, 6)
    out = poisoned(lambda: pyml.matmul(on_device(a), on_device(b)), (3, 67, 75), dtype)
    for i in range(3):
        judge(out[i], a64[i] @ b64[i], a64[i], b64[i], dtype)
    bt, bt64 = values((3, 75, 40), dtype, 7)  # B^T per batch
    out = pyml.matmul(on_device(a), on_device(bt).transpose(-1, -2))
    for i in range(3):
        judge(out[i], a64[i] @ bt64[i].T, a64[i], bt64[i].T, dtype)
    w, w64 = values((40, 40), dtype, 8)  # one B for every batch matrix (folded into one tall GEMM)
    out = pyml.matmul(on_device(a), on_device(w))
    for i in range(3):
        judge(out[i], a64[i] @ w64, a64[i], w64, dtype)
    out = pyml.bmm(on_device(a), on_device(w).expand(3, 40, 40))  # batch stride 0: B's map has no batch dim
    for i in range(3):
        judge(out[i], a64[i] @ w64, a64[i], w64, dtype)
    out = pyml.bmm(on_device(w).expand(3, 40, 40), on_device(a).transpose(-1, -2))  # A broadcast, B^T
    for i in range(3):
        judge(out[i], w64 @ a64[i].T, w64, a64[i].T, dtype)


@pytest.mark.parametrize("dtype", HALF)
def test_alpha_beta(dtype):
    a, a64 = values((70, 48), dtype, 9)
    b, b64 = values((48, 300), dtype, 10)
    c, c64 = values((70, 300), dtype, 11)
    out = pyml.addmm(on_device(c), on_device(a), on_device(b), beta=0.5, alpha=2.0)
    assert rel_err(out, 0.5 * c64 + 2.0 * (a64 @ b64)) < 1e-2
    nan = pyml.full((70, 300), float("nan"), dtype=a.dtype, device="cuda")
    out = pyml.addmm(nan, on_device(a), on_device(b), beta=0.0, alpha=-1.5)  # beta == 0 never reads C
    assert rel_err(out, -1.5 * (a64 @ b64)) < 1e-2
    ba, ba64 = values((3, 33, 48), dtype, 12)
    bb, bb64 = values((3, 48, 41), dtype, 13)
    bc, bc64 = values((41,), dtype, 14)
    out = pyml.baddbmm(bc.cuda(), on_device(ba), on_device(bb), beta=-1.0, alpha=0.5)
    assert rel_err(out, 0.5 * (ba64 @ bb64) - bc64) < 1e-2


def test_nan_inf_propagate():
    a, _ = values((40, 32), "bfloat16", 22)
    b, _ = values((32, 48), "bfloat16", 23)
    a[3, 5] = float("nan")
    b[7, 9] = float("inf")
    out = pyml.mm(on_device(a), on_device(b)).float().cpu().numpy()
    assert np.isnan(out[3]).all()
    assert np.isinf(out[:, 9]).sum() + np.isnan(out[:, 9]).sum() == 40


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("off", [8, 3])
def test_base_offsets(dtype, off):
    """Operands starting `off` elements into their buffers: 8 (16 bytes) keeps TMA's alignment,
    3 does not and leaves the product to the mma.sync kernel; both must be right."""
    m, k, n = 97, 72, 136  # rows of 144 and 272 bytes: multiples of 16
    a, a64 = values((m, k), dtype, off)
    b, b64 = values((k, n), dtype, off + 1)
    da = pyml.zeros(m * k + off, dtype=a.dtype, device="cuda")[off:].view(m, k)
    db = pyml.zeros(k * n + off, dtype=b.dtype, device="cuda")[off:].view(k, n)
    da.copy_(a.cuda())
    db.copy_(b.cuda())
    out = poisoned(lambda: pyml.mm(da, db), (m, n), dtype)
    judge(out, a64 @ b64, a64, b64, dtype)
