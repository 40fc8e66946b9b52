"""CUDA vs CPU for the fused nn kernels of cuda/loss.cu, cuda/norm.cu and cuda/embedding.cu: the
engine entries (pyml._C.*_forward / *_backward) run on the same values on both devices (odd sizes,
non-contiguous inputs, every float dtype, ignore_index, class weights, label smoothing, probability
targets, padding, bags), bad indices raise the CPU's IndexError, mixed devices raise RuntimeError.
A few end-to-end tests go through pyml.nn.functional and autograd."""
import numpy as np
import pytest

import pyml
import pyml.nn.functional as F
from pyml import _C
from pyml._tensor import wrap
from cuda_compare import check, check_grads, to_cuda

FLOATS = [pyml.float32, pyml.float64, pyml.float16, pyml.bfloat16]
# kernels sum in a different order than the CPU: float32 rows of 1e3 terms drift by ~1e-6 relative
TOL32 = dict(rtol=1e-4, atol=1e-5)


def _wrap(impl):
    return None if impl is None else wrap(impl)


def imp(t):
    return None if t is None else t._impl


def randn(shape, dtype=pyml.float32, seed=0, scale=1.0):
    a = np.random.default_rng(seed).standard_normal(shape) * scale
    return pyml.tensor(a, dtype=pyml.float64).to(dtype)


def tol(dtype):
    """float32 results get TOL32; the others cuda_compare's per-dtype defaults."""
    return TOL32 if dtype == pyml.float32 else {}


def noncontig(t):
    """The same values in a transposed layout (t must be 2-D or more)."""
    return t.transpose(0, -1).contiguous().transpose(0, -1)


# ------------------------------------------------------------------------------------ cross_entropy
def ce_both(x, target, weight, reduction, ignore_index, smoothing, dloss, need):
    loss, lse, denom = _C.cross_entropy_forward(imp(x), imp(target), imp(weight), reduction, ignore_index, smoothing)
    dx, dt = _C.cross_entropy_backward(imp(dloss), imp(x), imp(target), imp(weight), lse, denom, reduction,
                                       ignore_index, smoothing, need)
    return _wrap(loss), _wrap(lse), _wrap(denom), _wrap(dx), _wrap(dt)


def ce_inputs(shape, dtype, seed, ignore=True, weighted=False):
    rng = np.random.default_rng(seed)
    C = shape[0] if len(shape) == 1 else shape[1]
    tshape = () if len(shape) == 1 else (shape[0],) + tuple(shape[2:])
    t = rng.integers(0, C, tshape)
    if ignore and t.size > 1:
        t.reshape(-1)[::3] = -100
    x = randn(shape, dtype, seed, 3.0)
    wt = pyml.tensor(rng.random(C) + 0.5, dtype=pyml.float64).to(dtype) if weighted else None
    return x, pyml.tensor(t, dtype=pyml.int64), wt


CE_SHAPES = [(1, 1), (7, 7), (97, 97), (3, 1023), (5, 1025), (4, 4, 3), (2, 5, 3, 7), (1025,), (7, 130, 1)]


@pytest.mark.parametrize("shape", CE_SHAPES)
@pytest.mark.parametrize("dtype", FLOATS)
def test_cross_entropy_class_indices(shape, dtype):
    x, t, _ = ce_inputs(shape, dtype, 1)
    for reduction in (0, 1, 2):
        rows = t.shape if reduction == 0 else ()
        dl = randn(rows, dtype, 2)
        check(ce_both, x, t, None, reduction, -100, 0.0, dl, [True, False], **tol(dtype))


@pytest.mark.parametrize("shape", [(7, 97), (5, 1025), (4, 6, 5), (3,)])
@pytest.mark.parametrize("dtype", [pyml.float32, pyml.float64])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_weights_smoothing_ignore(shape, dtype, smoothing):
    x, t, wt = ce_inputs(shape, dtype, 3, ignore=True, weighted=True)
    for reduction in (0, 1, 2):
        dl = randn(t.shape if reduction == 0 else (), dtype, 4)
        check(ce_both, x, t, wt, reduction, -100, smoothing, dl, [True, False], **tol(dtype))


@pytest.mark.parametrize("shape", [(7, 97), (3, 1025), (2, 5, 9), (6,)])
@pytest.mark.parametrize("dtype", [pyml.float32, pyml.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_probability_targets(shape, dtype, weighted):
    x, _, wt = ce_inputs(shape, dtype, 5, weighted=weighted)
    dim = 0 if len(shape) == 1 else 1
    p = pyml.softmax(randn(shape, pyml.float64, 6), dim).to(dtype)
    for reduction in (0, 1, 2):
        rows = (() if len(shape) == 1 else (shape[0],) + shape[2:]) if reduction == 0 else ()
        dl = randn(rows, dtype, 7)
        check(ce_both, x, p, wt, reduction, -100, 0.1, dl, [True, True], **tol(dtype))


def test_cross_entropy_noncontiguous_and_int32_targets():
    x, t, wt = ce_inputs((33, 130), pyml.float32, 8, weighted=True)
    xt = x.t().contiguous().t()  # same values, column-major
    check(ce_both, xt, t.to(pyml.int32), wt, 1, -100, 0.0, randn((), pyml.float32, 9), [True, False], **TOL32)


def test_cross_entropy_all_ignored_and_empty():
    x, t, _ = ce_inputs((4, 9), pyml.float32, 10)
    t = pyml.full((4,), -100, dtype=pyml.int64)
    check(ce_both, x, t, None, 1, -100, 0.0, randn((), pyml.float32, 1), [True, False])  # nan mean, zero grads
    x0, t0, _ = ce_inputs((0, 4), pyml.float32, 11)
    for reduction in (0, 1, 2):
        dl = randn((0,) if reduction == 0 else (), pyml.float32, 1)
        check(ce_both, x0, t0, None, reduction, -100, 0.0, dl, [True, False])


def test_cross_entropy_bad_target_raises_cpu_index_error():
    x, t, _ = ce_inputs((5, 7), pyml.float32, 12, ignore=False)
    t = pyml.tensor([1, 2, 9, 3, -5], dtype=pyml.int64)
    msgs = []
    for dev in ("cpu", "cuda"):
        with pytest.raises(IndexError) as e:
            _C.cross_entropy_forward(x.to(dev)._impl, t.to(dev)._impl, None, 1, -100, 0.0)
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1] and "target 9 is out of bounds for 7 classes" in msgs[1]


def test_cross_entropy_device_mismatch():
    x, t, wt = ce_inputs((5, 7), pyml.float32, 13, weighted=True)
    with pytest.raises(RuntimeError, match="cross_entropy: expected all tensors to be on the same device, got "
                                           "cuda:0 and cpu"):
        _C.cross_entropy_forward(x.cuda()._impl, t._impl, None, 1, -100, 0.0)
    with pytest.raises(RuntimeError, match="same device"):
        _C.cross_entropy_forward(x.cuda()._impl, t.cuda()._impl, wt._impl, 1, -100, 0.0)


def test_cross_entropy_is_deterministic():
    x, t, _ = ce_inputs((4097, 33), pyml.float32, 14)
    xc, tc = x.cuda(), t.cuda()
    a = _wrap(_C.cross_entropy_forward(xc._impl, tc._impl, None, 1, -100, 0.0)[0]).cpu().numpy()
    b = _wrap(_C.cross_entropy_forward(xc._impl, tc._impl, None, 1, -100, 0.0)[0]).cpu().numpy()
    np.testing.assert_array_equal(a, b)


def test_functional_cross_entropy_end_to_end():
    x, t, wt = ce_inputs((16, 97), pyml.float32, 15, weighted=True)
    check_grads(lambda a, b, c: F.cross_entropy(a, b, weight=c, label_smoothing=0.1), x.requires_grad_(), t, wt,
                **TOL32)


# ------------------------------------------------------------------------------------- layer_norm
def ln_both(x, ns, wt, b, eps, rms, dy, need):
    y, mean, rstd = _C.layer_norm_forward(imp(x), ns, imp(wt), imp(b), eps, rms)
    dx, dw, db = _C.layer_norm_backward(imp(dy), imp(x), imp(wt), mean, rstd, len(ns), rms, need)
    # the statistics are float64 tensors, accumulated in float32 for every input but float64 (on the CPU in
    # float lanes), so they are compared at float32 precision there
    stats = [_wrap(t) if x.dtype == pyml.float64 else _wrap(t).float() for t in (mean, rstd)]
    return (_wrap(y), *stats, _wrap(dx), _wrap(dw), _wrap(db))


@pytest.mark.parametrize("M,K", [(1, 1), (7, 7), (33, 97), (5, 1023), (3, 1025), (1025, 3), (0, 5)])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("rms", [False, True])
def test_layer_norm(M, K, dtype, rms):
    x = randn((M, K), dtype, 20, 2.0) + 3.0
    wt, b = randn((K,), dtype, 21), (None if rms else randn((K,), dtype, 22))
    dy = randn((M, K), dtype, 23)
    check(ln_both, x, [K], wt, b, 1e-5, rms, dy, [True, True, not rms], **tol(dtype))


@pytest.mark.parametrize("need", [[True, False, False], [False, True, True], [True, True, True]])
def test_layer_norm_two_dims_no_affine_noncontiguous(need):
    x = noncontig(randn((6, 5, 7), pyml.float32, 24))
    dy = randn((6, 5, 7), pyml.float32, 25)
    check(ln_both, x, [5, 7], None, None, 1e-5, False, dy, need, **TOL32)
    wt, b = randn((5, 7), pyml.float64, 26), randn((5, 7), pyml.float64, 27)
    check(ln_both, x.double(), [5, 7], wt, b, 1e-5, False, dy.double(), need)


def test_layer_norm_many_rows_partials():
    # dgamma/dbeta over more rows than one chunk of partial sums
    x, dy = randn((3000, 65), pyml.float64, 28), randn((3000, 65), pyml.float64, 29)
    check(ln_both, x, [65], randn((65,), pyml.float64, 30), randn((65,), pyml.float64, 31), 1e-5, False, dy,
          [True, True, True])


def test_layer_norm_device_mismatch():
    x = randn((4, 5))
    with pytest.raises(RuntimeError, match="layer_norm: expected all tensors to be on the same device"):
        _C.layer_norm_forward(x.cuda()._impl, [5], randn((5,))._impl, None, 1e-5, False)


def test_functional_layer_norm_end_to_end():
    x, wt, b = randn((9, 33), seed=32).requires_grad_(), randn((33,), seed=33), randn((33,), seed=34)
    check_grads(lambda a, c, d: F.layer_norm(a, (33,), c, d), x, wt.requires_grad_(), b.requires_grad_(), **TOL32)


# ------------------------------------------------------------------------------------- batch_norm
def bn_both(x, wt, b, rm, rv, training, momentum, eps, dy, need):
    rm, rv = (None if r is None else r.clone() for r in (rm, rv))  # the caller's stats stay as they were
    y, mean, invstd = _C.batch_norm_forward(imp(x), imp(wt), imp(b), imp(rm), imp(rv), training, momentum, eps)
    dx, dw, db = _C.batch_norm_backward(imp(dy), imp(x), imp(wt), mean, invstd, training, need)
    return [_wrap(y), _wrap(mean), _wrap(invstd), _wrap(dx), _wrap(dw), _wrap(db), rm, rv]  # rm, rv updated


BN_SHAPES = [(2, 1), (7, 3), (97, 5), (4, 3, 7), (2, 7, 5, 3), (3, 2, 1025), (1, 97, 9, 9)]


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("dtype", FLOATS)
def test_batch_norm_training(shape, dtype):
    C = shape[1]
    x = randn(shape, dtype, 40, 2.0) + 1.5
    wt, b = randn((C,), dtype, 41), randn((C,), dtype, 42)
    rm, rv = randn((C,), dtype, 43), randn((C,), dtype, 44).abs() + 0.5
    dy = randn(shape, dtype, 45)
    check(bn_both, x, wt, b, rm, rv, True, 0.1, 1e-5, dy, [True, True, True], **tol(dtype))


@pytest.mark.parametrize("shape", [(7, 3), (2, 7, 5, 3), (3, 2, 1025)])
@pytest.mark.parametrize("dtype", [pyml.float32, pyml.float64])
def test_batch_norm_eval_and_no_affine(shape, dtype):
    C = shape[1]
    x, dy = randn(shape, dtype, 46), randn(shape, dtype, 47)
    rm, rv = randn((C,), dtype, 48), randn((C,), dtype, 49).abs() + 0.5
    check(bn_both, x, None, None, rm, rv, False, 0.1, 1e-5, dy, [True, True, True], **tol(dtype))
    check(bn_both, noncontig(x), None, None, None, None, True, 0.1, 1e-3, dy, [True, False, True], **tol(dtype))


# channels_last (3d) inputs stay so on CUDA: (N, S, C) kernels, outputs and dx in the input's layout
CL_SHAPES = [(2, 7, 5, 3), (3, 40, 9, 11), (1, 97, 9, 9), (5, 33, 64, 65), (2, 5, 3, 4, 6)]


@pytest.mark.parametrize("shape", CL_SHAPES)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_channels_last(shape, dtype, training):
    C, fmt = shape[1], pyml.channels_last if len(shape) == 4 else pyml.channels_last_3d
    x = (randn(shape, dtype, 53, 2.0) + 1.5).contiguous(memory_format=fmt)
    wt, b = randn((C,), dtype, 54), randn((C,), dtype, 55)
    rm, rv = randn((C,), dtype, 56), randn((C,), dtype, 57).abs() + 0.5
    for dy in (randn(shape, dtype, 58).contiguous(memory_format=fmt), randn(shape, dtype, 58)):  # dy in either layout
        want, got = check(bn_both, x, wt, b, rm, rv, training, 0.1, 1e-5, dy, [True, True, True], **tol(dtype))
        for i in (0, 3):  # y and dx keep x's layout
            assert got[i].stride() == want[i].stride() == x.stride(), (i, got[i].stride(), x.stride())


def test_batch_norm_large_plane_chunks():
    x, dy = randn((4, 3, 100, 111), pyml.float64, 50), randn((4, 3, 100, 111), pyml.float64, 51)
    check(bn_both, x, randn((3,), pyml.float64, 52), None, None, None, True, 0.1, 1e-5, dy, [True, True, True])


def test_batch_norm_empty_batch_and_device_mismatch():
    x = randn((0, 3, 4))
    check(bn_both, x, None, None, None, None, True, 0.1, 1e-5, randn((0, 3, 4)), [True, True, True])
    with pytest.raises(RuntimeError, match="batch_norm: expected all tensors to be on the same device"):
        _C.batch_norm_forward(randn((4, 3)).cuda()._impl, randn((3,))._impl, None, None, None, True, 0.1, 1e-5)


def test_functional_batch_norm_end_to_end():
    x = randn((8, 5, 3, 3), seed=53).requires_grad_()
    check_grads(lambda a, c, d: F.batch_norm(a, None, None, c, d, training=True), x, randn((5,), seed=54)
                .requires_grad_(), randn((5,), seed=55).requires_grad_(), **TOL32)


# ------------------------------------------------------------------------------------- group_norm
def gn_both(x, groups, wt, b, eps, dy, need):
    y, mean, rstd, var = _C.group_norm_forward(imp(x), groups, imp(wt), imp(b), eps, "group_norm")
    dx, dw, db = _C.group_norm_backward(imp(dy), imp(x), imp(wt), mean, rstd, groups, need)
    return [_wrap(y), _wrap(mean), _wrap(rstd), _wrap(var), _wrap(dx), _wrap(dw), _wrap(db)]


@pytest.mark.parametrize("shape,groups", [((2, 4, 7), 2), ((3, 6, 5, 5), 3), ((1, 8, 1025), 4), ((7, 3, 1), 1),
                                          ((5, 6), 6), ((2, 12, 9, 11), 12)])
@pytest.mark.parametrize("dtype", FLOATS)
def test_group_norm(shape, groups, dtype):
    C = shape[1]
    x, dy = randn(shape, dtype, 60, 2.0) - 1.0, randn(shape, dtype, 61)
    wt, b = randn((C,), dtype, 62), randn((C,), dtype, 63)
    check(gn_both, x, groups, wt, b, 1e-5, dy, [True, True, True], **tol(dtype))
    check(gn_both, noncontig(x), groups, None, None, 1e-5, dy, [True, False, False], **tol(dtype))


# channels_last(_3d) inputs stay so on CUDA: strided group rows, (N, S, C) sums, dx in x's layout;
# C = 40 with 8 groups (5 channels per group: rows that are not whole warps), 96 with 3, 33 with 1
@pytest.mark.parametrize("shape,groups", [((2, 40, 7, 9), 8), ((3, 96, 5, 4), 3), ((1, 33, 6, 6), 1),
                                          ((2, 6, 3, 4, 5), 2), ((4, 64, 1, 1), 32)])
@pytest.mark.parametrize("dtype", FLOATS)
def test_group_norm_channels_last(shape, groups, dtype):
    C, fmt = shape[1], pyml.channels_last if len(shape) == 4 else pyml.channels_last_3d
    x = (randn(shape, dtype, 66, 2.0) - 1.0).contiguous(memory_format=fmt)
    wt, b = randn((C,), dtype, 67), randn((C,), dtype, 68)
    for dy in (randn(shape, dtype, 69).contiguous(memory_format=fmt), randn(shape, dtype, 69)):  # dy in either layout
        want, got = check(gn_both, x, groups, wt, b, 1e-5, dy, [True, True, True], **tol(dtype))
        for i in (0, 4):  # y and dx keep x's layout
            assert got[i].stride() == want[i].stride() == x.stride(), (i, got[i].stride(), x.stride())


def test_functional_group_norm_end_to_end():
    x = randn((4, 6, 5), seed=64).requires_grad_()
    check_grads(lambda a, c: F.group_norm(a, 3, c), x, randn((6,), seed=65).requires_grad_(), **TOL32)


# -------------------------------------------------------------------------------------- embedding
def emb_both(wt, idx, pad, dout, freq):
    out = _C.embedding_forward(imp(wt), imp(idx), pad)
    dw = _C.embedding_backward(imp(dout), imp(idx), wt.shape[0], pad, freq) if dout is not None else None
    return _wrap(out), _wrap(dw)


@pytest.mark.parametrize("V,D,n", [(1, 1, 1), (7, 7, 97), (97, 1023, 7), (1025, 5, 1025), (10, 4, 0)])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("idx_dtype", [pyml.int64, pyml.int32])
def test_embedding(V, D, n, dtype, idx_dtype):
    rng = np.random.default_rng(70)
    idx = pyml.tensor(rng.integers(0, V, n), dtype=idx_dtype)
    wt, dout = randn((V, D), dtype, 71), randn((n, D), dtype, 72)
    for pad, freq in ((-1, False), (0, True), (V - 1, False)):
        check(emb_both, wt, idx, pad, dout, freq, **tol(dtype))


@pytest.mark.parametrize("dtype", [pyml.int64, pyml.int8, pyml.bool, pyml.float16])
def test_embedding_forward_copies_any_dtype_and_layout(dtype):
    wt = randn((13, 6), pyml.float32, 73).mul(10).to(dtype)
    idx = pyml.tensor([[3, 0, 12], [5, 5, 1]])
    check(emb_both, noncontig(wt), idx, -1, None, False)
    check(emb_both, wt[:, 1:4], idx.t(), -1, None, False)  # rows of 3 elements: narrower copy units


def test_embedding_renorm():
    for p in (1.0, 2.0, float("inf"), 3.0):
        def renorm(wt, idx):
            wt = wt.clone()
            _C.embedding_renorm_(wt._impl, idx._impl, 1.5, p)
            return wt
        idx = pyml.tensor([3, 0, 3, 7, 7, 7, 1])
        check(renorm, randn((9, 17), pyml.float32, 74), idx, **TOL32)
        check(renorm, noncontig(randn((9, 17), pyml.float64, 75)), idx)
        check(renorm, randn((9, 17), pyml.float16, 76), idx)


def test_embedding_bad_index_raises_cpu_index_error():
    wt = randn((5, 3))
    msgs = []
    for dev in ("cpu", "cuda"):
        with pytest.raises(IndexError) as e:
            _C.embedding_forward(wt.to(dev)._impl, pyml.tensor([0, 4, 5, -1]).to(dev)._impl, -1)
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1] and "index 5 is out of range" in msgs[1]
    with pytest.raises(IndexError, match="index -2 is out of range"):
        _C.embedding_renorm_(wt.cuda()._impl, pyml.tensor([1, -2]).cuda()._impl, 1.0, 2.0)
    with pytest.raises(RuntimeError, match="embedding: expected all tensors to be on the same device"):
        _C.embedding_forward(wt.cuda()._impl, pyml.tensor([0])._impl, -1)


def bag_both(wt, idx, offsets, mode, psw, include_last, pad, dout, freq, need):
    out, offs, mi = _C.embedding_bag_forward(imp(wt), imp(idx), imp(offsets), mode, imp(psw), include_last, pad)
    dw, dp = _C.embedding_bag_backward(imp(dout), imp(wt), imp(idx), offs, mi, mode, imp(psw), pad, freq, need)
    return [_wrap(out), _wrap(offs), _wrap(mi), _wrap(dw), _wrap(dp)]


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("dtype", [pyml.float32, pyml.float64, pyml.float16])
@pytest.mark.parametrize("include_last", [False, True])
def test_embedding_bag_offsets(mode, dtype, include_last):
    rng = np.random.default_rng(80)
    V, D, n = 23, 7, 97
    idx = pyml.tensor(rng.integers(0, V, n))
    offs = [0, 0, 5, 5, 40, 41, 96] + ([n] if include_last else [])  # empty bags included
    offsets = pyml.tensor(offs)
    B = len(offs) - (1 if include_last else 0)
    wt, dout = randn((V, D), dtype, 81), randn((B, D), dtype, 82)
    psw = randn((n,), dtype, 83) if mode == 0 else None
    for pad, freq in ((-1, False), (idx[5].item(), mode != 2)):
        check(bag_both, wt, idx, offsets, mode, psw, include_last, pad, dout, freq, [True, psw is not None],
              **tol(dtype))


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_embedding_bag_2d_input(mode):
    rng = np.random.default_rng(84)
    idx = pyml.tensor(rng.integers(0, 1025, (33, 5)))
    wt, dout = randn((1025, 97), pyml.float64, 85), randn((33, 97), pyml.float64, 86)
    check(bag_both, wt, idx, None, mode, None, False, -1, dout, False, [True, False])


def test_embedding_bag_bad_offsets_and_indices():
    wt = randn((5, 3)).cuda()
    with pytest.raises(ValueError, match="offsets\\[0\\] must be 0"):
        _C.embedding_bag_forward(wt._impl, pyml.tensor([0, 1]).cuda()._impl, pyml.tensor([1]).cuda()._impl, 0, None,
                                 False, -1)
    with pytest.raises(IndexError, match="index 7 is out of range"):
        _C.embedding_bag_forward(wt._impl, pyml.tensor([0, 7]).cuda()._impl, pyml.tensor([0]).cuda()._impl, 0, None,
                                 False, -1)


def test_functional_embedding_end_to_end():
    wt = randn((11, 6), seed=87).requires_grad_()
    idx = pyml.tensor([[1, 2, 1], [10, 0, 1]])
    check_grads(lambda a, i: F.embedding(i, a, padding_idx=0), wt, idx, **TOL32)


def test_dropout_paths_stay_on_the_device():
    # the composite attention path and the RNN/MHA dropouts draw their masks on the input's device
    # (they were drawn on the CPU, and the CUDA step then failed with a device mismatch)
    q = randn((2, 3, 5, 8), seed=70).cuda()
    out = F.scaled_dot_product_attention(q, q, q, dropout_p=0.3, is_causal=True)
    assert out.device.type == "cuda" and out.shape == (2, 3, 5, 8)
    zero = F.scaled_dot_product_attention(q, q, q, dropout_p=1.0)
    assert zero.device.type == "cuda" and float(zero.abs().sum()) == 0.0
    keep = F.scaled_dot_product_attention(q, q, q, dropout_p=0.0, is_causal=True)
    assert float((keep.cpu() - F.scaled_dot_product_attention(q.cpu(), q.cpu(), q.cpu(), is_causal=True)).abs().max()) < 1e-5
    x = randn((4, 2, 8), seed=71).cuda()
    mha = pyml.nn.MultiheadAttention(8, 2, dropout=0.5).cuda()
    lstm = pyml.nn.LSTM(8, 6, num_layers=2, dropout=0.5).cuda()
    for y in (mha(x, x, x)[0], lstm(x)[0]):
        assert y.device.type == "cuda" and bool(pyml.isfinite(y).all())
