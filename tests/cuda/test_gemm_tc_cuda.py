"""Tensor-core GEMM (cuda/gemm_tc.cu) and the float32 paths of cuda/matmul.cu against float64 NumPy.
Operands live in buffers whose rows are padded to 16 bytes, so odd M, N and K all take the fast
path (its tails: zero-filled loads, guarded stores); contiguous odd shapes and misaligned views run
its register-staged loader (rows not 16-byte aligned), strided views the SIMT fallback. float16/bfloat16 are judged against a same-precision naive product
(float32 sums of the rounded inputs, rounded once): the kernel's error against float64 must stay
within ~2x of that one's. TF32 is checked both ways: off matches float32, on lands in TF32's range.
Sizes stay modest so the file also runs under the CPU emulator (tools/cuda_emu)."""
import numpy as np
import pytest

import pyml

SIZES = [1, 7, 97, 127, 129, 255, 257, 1023]
HALF = ["float16", "bfloat16"]


@pytest.fixture
def tf32():
    pyml.backends.cuda.matmul.allow_tf32 = True
    yield
    pyml.backends.cuda.matmul.allow_tf32 = False


def values(shape, dtype, seed):
    """Random values of dtype (on the host) and the same values as float64."""
    x = pyml.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32)).to(getattr(pyml, dtype))
    return x, x.float().numpy().astype(np.float64)


def on_device(x, layout="pad"):
    """x (rows, cols) on CUDA: 'pad': rows 16-byte aligned in a wider buffer; 't': stored
    transposed (padded), read through .t(); 'contig': plain contiguous."""
    if layout == "contig":
        return x.cuda()
    r, c = x.shape[-2:]
    if layout == "t":
        return on_device(x.transpose(-1, -2).contiguous(), "pad").transpose(-1, -2)
    ld = (c + 7) // 8 * 8 + 8
    buf = pyml.full((*x.shape[:-1], ld), float("nan"), dtype=x.dtype, device="cuda")
    v = buf[..., :c]
    v.copy_(x.cuda())
    return v


def rel_err(out, ref):
    got = out.cpu().float().numpy().astype(np.float64)
    assert np.isfinite(got).all(), "non-finite output"
    return np.linalg.norm(got - ref) / max(np.linalg.norm(ref), 1e-30)


def naive_err(a64, b64, ref, dtype):
    """Error of the same-precision naive product: float32 sums of the inputs, rounded to dtype."""
    naive = pyml.tensor((a64.astype(np.float32) @ b64.astype(np.float32))).to(getattr(pyml, dtype))
    return rel_err(naive, ref)


def judge(out, a64, b64, dtype, tc=True):
    ref = a64 @ b64
    e = rel_err(out, ref)
    if dtype in HALF:
        assert e <= 2 * naive_err(a64, b64, ref, dtype) + 1e-6, e
    elif dtype == "tf32":
        assert e < 2e-3, e
        if tc and a64.shape[-1] >= 16:  # the TF32 units really ran: their rounding shows
            assert e > 2e-6, e
    else:
        assert e < 2e-6, e


def run_mm(m, k, n, dtype, la="pad", lb="pad", seed=0):
    t = "float32" if dtype == "tf32" else dtype
    a, a64 = values((m, k), t, seed)
    b, b64 = values((k, n), t, seed + 1)
    out = pyml.mm(on_device(a, la), on_device(b, lb))
    assert out.device.type == "cuda" and out.shape == (m, n)
    return out, a64, b64


@pytest.mark.parametrize("dtype", HALF + ["float32", "tf32"])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dim", ["m", "n", "k"])
def test_odd_sizes(dtype, size, dim, request):
    if dtype == "tf32":
        request.getfixturevalue("tf32")
    m, k, n = (size if dim == "m" else 40, size if dim == "k" else 48, size if dim == "n" else 72)
    out, a64, b64 = run_mm(m, k, n, dtype)
    judge(out, a64, b64, dtype, tc=m > 1 and n > 1)  # M or N == 1: the GEMV kernels


@pytest.mark.parametrize("dtype", HALF + ["tf32"])
@pytest.mark.parametrize("la,lb", [("pad", "t"), ("t", "pad"), ("t", "t")])
def test_transposed(dtype, la, lb, request):
    """A^T and B^T read in place (ldmatrix .trans, or tf32's scalar fragment loads)."""
    if dtype == "tf32":
        request.getfixturevalue("tf32")
    out, a64, b64 = run_mm(131, 75, 133, dtype, la, lb)
    judge(out, a64, b64, dtype)


@pytest.mark.parametrize("dtype", HALF + ["tf32"])
def test_big_tile_grid(dtype, request):
    """Several 128 x 128 tiles in both dims and several K steps of the 3-stage ring."""
    if dtype == "tf32":
        request.getfixturevalue("tf32")
    out, a64, b64 = run_mm(257, 200, 263, dtype)
    judge(out, a64, b64, dtype)


@pytest.mark.parametrize("dtype", HALF + ["float32"])
@pytest.mark.parametrize("mkn", [(97, 33, 45), (40, 1023, 24), (129, 7, 131)])
def test_contiguous_odd_fallback(dtype, mkn):
    """Contiguous rows of odd length are not 16-byte aligned: the SIMT kernel runs them."""
    out, a64, b64 = run_mm(*mkn, dtype, "contig", "contig")
    judge(out, a64, b64, dtype, tc=False)


@pytest.mark.parametrize("dtype", HALF + ["tf32"])
@pytest.mark.parametrize("mkn", [(97, 33, 45), (40, 1023, 24), (129, 7, 131), (130, 257, 129), (1, 97, 9)])
@pytest.mark.parametrize("layout", [("contig", "contig"), ("contig", "t"), ("t", "contig")])
def test_unaligned_rows_on_tensor_cores(dtype, mkn, layout, request):
    """Contiguous operands with odd row lengths (odd K, or odd M/N for transposed ones) stay on the
    tensor cores through the register-staged loader (TF32's rounding shows that they do)."""
    if dtype == "tf32":
        request.getfixturevalue("tf32")
    m, k, n = mkn
    t = "float32" if dtype == "tf32" else dtype
    a, a64 = values((m, k), t, 5)
    b, b64 = values((k, n), t, 6)
    dev = lambda x, how: x.cuda() if how == "contig" else x.transpose(-1, -2).contiguous().cuda().transpose(-1, -2)
    judge(pyml.mm(dev(a, layout[0]), dev(b, layout[1])), a64, b64, dtype, tc=m > 1 and n > 1)


@pytest.mark.parametrize("dtype", HALF + ["tf32"])
def test_unaligned_offsets_and_batches(dtype, request):
    """Rows starting 1..7 elements off 16-byte alignment, batched with odd batch strides."""
    if dtype == "tf32":
        request.getfixturevalue("tf32")
    t = "float32" if dtype == "tf32" else dtype
    for off in (1, 3, 7):
        a, a64 = values((3, 45, 77), t, off)
        b, b64 = values((77, 50), t, off + 1)
        da = pyml.zeros(a.numel() + off, dtype=a.dtype, device="cuda")[off:].view(3, 45, 77)
        da.copy_(a.cuda())
        out = pyml.matmul(da, b.cuda())
        for i in range(3):
            judge(out[i], a64[i], b64, dtype)


@pytest.mark.parametrize("dtype", HALF + ["tf32"])
@pytest.mark.parametrize("case", ["strided", "offset", "fast_stride_2"])
def test_noncontiguous_fallback(dtype, case, request):
    if dtype == "tf32":
        request.getfixturevalue("tf32")
    t = "float32" if dtype == "tf32" else dtype
    m, k, n = 70, 64, 80
    a, a64 = values((m, k), t, 3)
    b, b64 = values((k, n), t, 4)
    if case == "strided":  # every other row and column
        big = pyml.zeros((2 * m, 2 * k), dtype=a.dtype, device="cuda")
        da = big[::2, ::2]
    elif case == "offset":  # rows start 1 element off 16-byte alignment
        da = pyml.zeros(m * k + 1, dtype=a.dtype, device="cuda")[1:].view(m, k)
    else:
        da = pyml.zeros((m, 2 * k), dtype=a.dtype, device="cuda")[:, ::2]
    da.copy_(a.cuda())
    judge(pyml.mm(da, on_device(b)), a64, b64, dtype, tc=False)


@pytest.mark.parametrize("dtype", HALF + ["tf32"])
def test_batched_and_broadcast(dtype, request):
    if dtype == "tf32":
        request.getfixturevalue("tf32")
    t = "float32" if dtype == "tf32" else dtype
    a, a64 = values((2, 1, 67, 40), t, 5)
    b, b64 = values((3, 40, 75), t, 6)
    judge(pyml.matmul(on_device(a), on_device(b)), a64, b64, dtype)  # batch (2, 3) from broadcasting
    w, w64 = values((40, 33), t, 7)
    judge(pyml.matmul(on_device(a), on_device(w)), a64, w64, dtype)  # shared weight: one tall GEMM
    bt, bt64 = values((2, 1, 33, 40), t, 8)  # B^T per batch
    judge(pyml.matmul(on_device(a), on_device(bt).transpose(-1, -2)), a64, np.swapaxes(bt64, -1, -2), dtype)


@pytest.mark.parametrize("dtype", HALF + ["tf32"])
def test_addmm_baddbmm(dtype, request):
    if dtype == "tf32":
        request.getfixturevalue("tf32")
    t = "float32" if dtype == "tf32" else dtype
    a, a64 = values((70, 48), t, 9)
    b, b64 = values((48, 90), t, 10)
    c, c64 = values((70, 90), t, 11)
    out = pyml.addmm(c.cuda(), on_device(a), on_device(b), beta=0.5, alpha=2.0)
    ref = 0.5 * c64 + 2.0 * (a64 @ b64)
    tol = 2e-3 if dtype == "tf32" else 1e-2
    assert rel_err(out, ref) < tol
    nan = pyml.full((70, 90), float("nan"), dtype=a.dtype, device="cuda")
    out = pyml.addmm(nan, on_device(a), on_device(b), beta=0.0, alpha=1.0)  # beta == 0 never reads C
    assert rel_err(out, a64 @ b64) < tol
    ba, ba64 = values((3, 33, 48), t, 12)
    bb, bb64 = values((3, 48, 41), t, 13)
    bc, bc64 = values((41,), t, 14)
    out = pyml.baddbmm(bc.cuda(), on_device(ba), on_device(bb), beta=-1.0, alpha=0.5)
    assert rel_err(out, 0.5 * (ba64 @ bb64) - bc64) < tol


def test_tf32_off_matches_float32():
    """allow_tf32 off (the default): float32 products stay float32-accurate, close to the CPU."""
    assert pyml.backends.cuda.matmul.allow_tf32 is False
    a, a64 = values((130, 96), "float32", 15)
    b, b64 = values((96, 140), "float32", 16)
    out = pyml.mm(on_device(a), on_device(b))
    assert rel_err(out, a64 @ b64) < 2e-6
    np.testing.assert_allclose(out.cpu().numpy(), pyml.mm(a, b).numpy(), rtol=2e-5, atol=2e-5)


def test_tf32_switch_read_at_each_call():
    a, a64 = values((130, 96), "float32", 17)
    b, b64 = values((96, 140), "float32", 18)
    da, db = on_device(a), on_device(b)
    off = rel_err(pyml.mm(da, db), a64 @ b64)
    pyml.set_float32_matmul_precision("high")
    try:
        on = rel_err(pyml.mm(da, db), a64 @ b64)
    finally:
        pyml.set_float32_matmul_precision("highest")
    assert off < 2e-6 < on < 2e-3
    assert rel_err(pyml.mm(da, db), a64 @ b64) < 2e-6


def test_gemm_strided_c(tf32):
    """gemm_ writes C through any strides (here C^T) from the tensor-core epilogue."""
    a, a64 = values((70, 40), "float32", 19)
    b, b64 = values((40, 90), "float32", 20)
    c, c64 = values((90, 70), "float32", 21)
    dc = c.cuda()
    pyml._C.gemm_(dc.t()._impl, on_device(a)._impl, on_device(b)._impl, 1.5, 0.25)
    assert rel_err(dc.t(), 1.5 * (a64 @ b64) + 0.25 * c64.T) < 2e-3


def test_nan_inf_propagate():
    a, _ = values((40, 32), "float16", 22)
    b, _ = values((32, 48), "float16", 23)
    a[3, 5] = float("nan")
    b[7, 9] = float("inf")
    out = pyml.mm(on_device(a), on_device(b)).float().cpu().numpy()
    assert np.isnan(out[3]).all()
    assert np.isinf(out[:, 9]).sum() + np.isnan(out[:, 9]).sum() == 40
