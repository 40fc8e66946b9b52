"""The SIMD float32 pooling paths (csrc/cpu/isa/pool_*.cpp) against plain NumPy float64 loops.

float32 inputs whose rows are contiguous take the fast kernels; the references below follow the
window definition directly (max: -inf start, index of the first valid element, then `v > best or
v is NaN` in row-major window order); autograd's uint8 window codes give the indices' gradient
bit for bit. Covered: odd widths (1, 7, 97, 1023) and heights, every
stride / padding / dilation / ceil_mode mix that reaches the clipped borders, NaN, +-inf and tied
values, strided and transposed inputs, backward through the indices, and outputs that must not
depend on the thread count; the values-only forward (no gradient needed) on the same cases.
"""
import itertools

import numpy as np
import pytest

import pyml
import pyml.nn.functional as F
from pyml._tensor import wrap


def out_size(n, k, s, p, d, ceil):
    """Pooling output length (torch's rule: in ceil mode a window must start inside input or left pad)."""
    span = n + 2 * p - d * (k - 1) - 1
    o = (-(-span // s) if ceil else span // s) + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def taps(n_out, n_in, k, s, p, d):
    """pos[o, t] = o*s - p + t*d and whether it lies inside [0, n_in)."""
    pos = np.arange(n_out)[:, None] * s - p + np.arange(k)[None, :] * d
    return pos, (pos >= 0) & (pos < n_in)


def first_tap(start, d):
    """First tap position >= 0 (past the input end when a dilated window misses it entirely)."""
    return np.where(start < 0, start + (-start + d - 1) // d * d, start)


def max_pool_ref(x, k, s, p, d, ceil):
    """(values float64, flat indices int64) of max pooling x (N, C, H, W), one tap at a time. The
    index starts at the window's first tap at or after position 0, as torch's loops do."""
    (R, S), (sh, sw), (ph, pw), (dh, dw) = k, s, p, d
    H, W = x.shape[2:]
    P, Q = out_size(H, R, sh, ph, dh, ceil), out_size(W, S, sw, pw, dw, ceil)
    hp, hv = taps(P, H, R, sh, ph, dh)
    wp, wv = taps(Q, W, S, sw, pw, dw)
    first_h, first_w = first_tap(hp[:, 0], dh), first_tap(wp[:, 0], dw)
    best = np.full(x.shape[:2] + (P, Q), -np.inf)
    index = np.broadcast_to(first_h[:, None] * W + first_w[None, :], best.shape).copy()
    for r, c in itertools.product(range(R), range(S)):
        valid = hv[:, r][:, None] & wv[:, c][None, :]
        v = x[:, :, np.clip(hp[:, r], 0, H - 1)][:, :, :, np.clip(wp[:, c], 0, W - 1)]
        take = valid & ((v > best) | np.isnan(v))
        best = np.where(take, v, best)
        index = np.where(take, (hp[:, r][:, None] * W + wp[:, c][None, :]), index)
    return best, index


def scatter_ref(dy, index, shape):
    """dx (shape) with dx.flat[plane][index] += dy, planes independent."""
    dx = np.zeros((shape[0] * shape[1], shape[2] * shape[3]))
    for i, (g, j) in enumerate(zip(dy.reshape(len(dx), -1), index.reshape(len(dx), -1))):
        np.add.at(dx[i], j, g)
    return dx.reshape(shape)


def pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def check_max_pool(a, x, kernel, stride, padding=0, dilation=1, ceil=False):
    """pyml max_pool2d on x (pyml view of the float32 array a) against the reference, then backward."""
    k, s, p, d = pair(kernel), pair(stride), pair(padding), pair(dilation)
    ref, ref_idx = max_pool_ref(a.astype(np.float64), k, s, p, d, ceil)
    # values only (no input needs a gradient, so the kernel keeps no indices), then under no_grad
    np.testing.assert_array_equal(F.max_pool2d(x.detach(), k, s, p, d, ceil_mode=ceil).numpy(), ref.astype(np.float32))
    x = x.detach().requires_grad_()
    with pyml.no_grad():
        np.testing.assert_array_equal(F.max_pool2d(x, k, s, p, d, ceil_mode=ceil).numpy(), ref.astype(np.float32))
    y, idx = F.max_pool2d(x, k, s, p, d, ceil_mode=ceil, return_indices=True)
    np.testing.assert_array_equal(y.detach().numpy().astype(np.float64), ref)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    dy = np.random.default_rng(7).standard_normal(ref.shape).astype(np.float32)
    if (ref_idx >= a.shape[2] * a.shape[3]).any():  # a dilated window missed the input: no gradient
        with pytest.raises(ValueError, match="invalid index"):
            y.backward(pyml.tensor(dy))
        return
    y.backward(pyml.tensor(dy))
    np.testing.assert_allclose(x.grad.numpy(), scatter_ref(dy.astype(np.float64), ref_idx, a.shape), rtol=1e-6,
                               atol=1e-6)
    # without return_indices autograd keeps uint8 window codes (where the fast kernel applies): the
    # same sums in the same order, so bit-identical to the indices' gradient
    xc = x.detach().requires_grad_()
    F.max_pool2d(xc, k, s, p, d, ceil_mode=ceil).backward(pyml.tensor(dy))
    np.testing.assert_array_equal(xc.grad.numpy(), x.grad.numpy())


# (H, W) sizes: one column, widths below/around/above every vector width, a 1023-wide row
SIZES = [(1, 1), (3, 7), (7, 1), (5, 97), (9, 33), (2, 1023), (13, 18)]
# (kernel, stride, padding, dilation, ceil_mode): borders on both sides, steps 1, 2 and 3, dilated taps
GEOMETRIES = [(3, 2, 1, 1, False), (3, 2, 1, 1, True), (2, 2, 0, 1, False), (2, 2, 1, 1, True), (3, 1, 1, 1, False),
              (3, 1, 0, 2, True), (2, 1, 1, 3, False), (4, 3, 2, 1, True), (5, 2, 2, 1, False), ((3, 2), (2, 1),
              (1, 0), (1, 2), True), ((1, 5), (1, 2), (0, 2), 1, False), (2, 2, 0, 1, True)]


def fits(H, W, k, s, p, d, ceil):
    (R, S), (sh, sw), (ph, pw), (dh, dw) = pair(k), pair(s), pair(p), pair(d)
    return out_size(H, R, sh, ph, dh, ceil) >= 1 and out_size(W, S, sw, pw, dw, ceil) >= 1


CASES = [(hw, g) for hw, g in itertools.product(SIZES, GEOMETRIES) if fits(*hw, *g)]


@pytest.mark.parametrize("hw,geom", CASES)
def test_max_pool2d_fast_matches_reference(hw, geom):
    a = np.random.default_rng(hw[0] * 1000 + hw[1]).standard_normal((2, 3) + hw).astype(np.float32)
    check_max_pool(a, pyml.tensor(a), *geom)


@pytest.mark.parametrize("width", [1, 7, 97, 1023])
@pytest.mark.parametrize("kernel,stride,padding,dilation", [(3, 2, 1, 1), (2, 1, 1, 2), (5, 3, 2, 1)])
def test_max_pool1d_fast_matches_reference(width, kernel, stride, padding, dilation):
    a = np.random.default_rng(width).standard_normal((2, 3, width)).astype(np.float32)
    ref, ref_idx = max_pool_ref(a[:, :, None].astype(np.float64), (1, kernel), (1, stride), (0, padding),
                                (1, dilation), False)
    y, idx = F.max_pool1d(pyml.tensor(a), kernel, stride, padding, dilation, return_indices=True)
    np.testing.assert_array_equal(y.numpy().astype(np.float64), ref[:, :, 0])
    np.testing.assert_array_equal(idx.numpy(), ref_idx[:, :, 0])


def special_values(shape, seed):
    """Small integers (many ties) with NaN, +inf, -inf and all -inf rows sprinkled in."""
    rng = np.random.default_rng(seed)
    a = rng.integers(-2, 3, shape).astype(np.float32)
    for value, frac in ((np.nan, 0.03), (np.inf, 0.02), (-np.inf, 0.1)):
        a[rng.random(shape) < frac] = value
    a[..., 2, :] = -np.inf
    return a


@pytest.mark.parametrize("geom", GEOMETRIES[:8])
def test_max_pool2d_fast_nan_inf_and_ties(geom):
    a = special_values((2, 2, 11, 37), 5)
    check_max_pool(a, pyml.tensor(a), *geom)


# Rows narrower than a vector with every window inside (one padded vector block per row): a CNN's
# 2x2 pooling of small maps, overlapping windows, and mixes that fall back (dilated rows, ceil mode)
NARROW = [((20, 20), (2, 2, 0, 1, False)), ((13, 9), (3, 1, 0, 1, False)), ((6, 6), (2, 2, 0, 1, False)),
          ((1, 15), ((1, 2), 1, 0, 1, False)), ((9, 31), (3, 2, 0, 1, False)), ((12, 11), (2, 1, 0, (2, 1), False)),
          ((7, 7), (2, 2, 0, 1, True))]


@pytest.mark.parametrize("hw,geom", NARROW)
def test_max_pool2d_fast_narrow_rows(hw, geom):
    a = np.random.default_rng(hw[0] + 31 * hw[1]).standard_normal((3, 5) + hw).astype(np.float32)
    check_max_pool(a, pyml.tensor(a), *geom)
    if hw[0] > 2:  # ties, NaN and infinities (special_values fills row 2 with -inf)
        b = special_values((2, 3) + hw, 9)
        check_max_pool(b, pyml.tensor(b), *geom)


def test_max_pool2d_fast_all_equal_takes_first_index():
    a = np.ones((1, 1, 6, 35), np.float32)
    _, idx = F.max_pool2d(pyml.tensor(a), 3, 2, 1, return_indices=True)
    _, ref_idx = max_pool_ref(a.astype(np.float64), (3, 3), (2, 2), (1, 1), (1, 1), False)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    assert idx.numpy()[0, 0, 1, 1] == 1 * 35 + 1  # window rows 1..3, columns 1..3: its first element


@pytest.mark.parametrize("layout", ["channels", "rows", "columns", "transposed"])
def test_max_pool2d_fast_noncontiguous(layout):
    """Strided planes or rows keep the fast path (unit column stride); columns and transposes don't."""
    base = np.random.default_rng(3).standard_normal((2, 6, 22, 38)).astype(np.float32)
    t = pyml.tensor(base)
    x = {"channels": t[:, ::2], "rows": t[:, :, ::2], "columns": t[..., ::2],
         "transposed": t.transpose(2, 3)}[layout]
    assert not x.is_contiguous()
    check_max_pool(np.ascontiguousarray(x.numpy()), x, 3, 2, 1)


def test_max_pool2d_empty_dilated_window_falls_back():
    """A dilated window with no element inside (-inf, index past the first tap) matches the reference."""
    a = np.random.default_rng(0).standard_normal((1, 2, 4, 4)).astype(np.float32)
    y, idx = F.max_pool2d(pyml.tensor(a), 2, 1, 1, dilation=5, return_indices=True)
    ref, ref_idx = max_pool_ref(a.astype(np.float64), (2, 2), (1, 1), (1, 1), (5, 5), False)
    np.testing.assert_array_equal(y.numpy().astype(np.float64), ref)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)


def with_threads(n, fn):
    old = pyml.get_num_threads()
    pyml.set_num_threads(n)
    try:
        return fn()
    finally:
        pyml.set_num_threads(old)


def test_max_pool2d_fast_independent_of_threads():
    a = special_values((4, 16, 41, 45), 11)
    a[a == 0] = np.random.default_rng(2).standard_normal(int((a == 0).sum()))
    dy = pyml.tensor(np.random.default_rng(4).standard_normal((4, 16, 21, 23)).astype(np.float32))

    def run():
        x = pyml.tensor(a).requires_grad_()
        y, idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
        y.backward(dy)
        return y.detach().numpy(), idx.numpy(), x.grad.numpy()
    for one, two in zip(with_threads(1, run), with_threads(2, run)):
        np.testing.assert_array_equal(one, two)


# ------------------------------------------------------------------------------------- avg pooling
def window_matrix(n_out, n_in, k, s, p, include_pad):
    """A (n_out, n_in) with A[o, i] = 1 where window o holds i, and each window's divisor share."""
    start = np.arange(n_out) * s - p
    i = np.arange(n_in)
    A = ((i[None, :] >= start[:, None]) & (i[None, :] < start[:, None] + k)).astype(np.float64)
    padded = np.minimum(start + k, n_in + p) - start
    return A, (padded if include_pad else A.sum(1))


def avg_pool_ref(x, k, s, p, ceil, include, divisor):
    """(y, the matrices) of avg pooling x (N, C, H, W) in float64: y = Ah x Aw^T / divisor."""
    (R, S), (sh, sw), (ph, pw) = k, s, p
    H, W = x.shape[2:]
    Ah, fh = window_matrix(out_size(H, R, sh, ph, 1, ceil), H, R, sh, ph, include)
    Aw, fw = window_matrix(out_size(W, S, sw, pw, 1, ceil), W, S, sw, pw, include)
    div = np.full((len(fh), len(fw)), float(divisor)) if divisor else np.outer(fh, fw)
    return Ah @ x @ Aw.T / div, (Ah, Aw, div)


def check_avg_pool(a, x, kernel, stride, padding=0, ceil=False, include=True, divisor=None):
    k, s, p = pair(kernel), pair(stride), pair(padding)
    ref, (Ah, Aw, div) = avg_pool_ref(a.astype(np.float64), k, s, p, ceil, include, divisor)
    x = x.detach().requires_grad_()
    y = F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=include, divisor_override=divisor)
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-5, atol=1e-5)
    dy = np.random.default_rng(8).standard_normal(ref.shape).astype(np.float32)
    y.backward(pyml.tensor(dy))
    np.testing.assert_allclose(x.grad.numpy(), Ah.T @ (dy / div) @ Aw, rtol=1e-5, atol=1e-5)


# (kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVG_GEOMETRIES = [(2, 2, 0, False, True, None), (3, 1, 1, False, True, None), (3, 1, 1, False, False, None),
                  (3, 2, 1, True, True, None), (3, 2, 1, True, False, None), (4, 3, 2, True, False, None),
                  (5, 2, 2, False, True, 7), ((1, 5), (1, 2), (0, 2), False, False, None), (2, 1, 1, True, True, None),
                  ((3, 2), (2, 3), (1, 0), True, True, None)]
AVG_CASES = [(hw, g) for hw, g in itertools.product(SIZES, AVG_GEOMETRIES) if fits(*hw, *g[:3], 1, g[3])]


@pytest.mark.parametrize("hw,geom", AVG_CASES)
def test_avg_pool2d_fast_matches_reference(hw, geom):
    a = np.random.default_rng(hw[0] * 1000 + hw[1]).standard_normal((2, 3) + hw).astype(np.float32)
    check_avg_pool(a, pyml.tensor(a), *geom)


@pytest.mark.parametrize("width", [1, 7, 97, 1023])
@pytest.mark.parametrize("kernel,stride,padding,include", [(2, 2, 0, True), (3, 1, 1, False), (5, 3, 2, True)])
def test_avg_pool1d_fast_matches_reference(width, kernel, stride, padding, include):
    a = np.random.default_rng(width).standard_normal((2, 3, width)).astype(np.float32)
    ref, (_, Aw, div) = avg_pool_ref(a[:, :, None].astype(np.float64), (1, kernel), (1, stride), (0, padding), True,
                                     include, None)
    x = pyml.tensor(a).requires_grad_()
    y = F.avg_pool1d(x, kernel, stride, padding, ceil_mode=True, count_include_pad=include)
    np.testing.assert_allclose(y.detach().numpy(), ref[:, :, 0], rtol=1e-5, atol=1e-5)
    y.backward(pyml.ones(tuple(y.shape)))
    np.testing.assert_allclose(x.grad.numpy(), (1 / div[0]) @ Aw * np.ones((2, 3, 1)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layout", ["channels", "rows", "transposed"])
def test_avg_pool2d_fast_noncontiguous(layout):
    base = np.random.default_rng(3).standard_normal((2, 6, 22, 38)).astype(np.float32)
    t = pyml.tensor(base)
    x = {"channels": t[:, ::2], "rows": t[:, :, ::2], "transposed": t.transpose(2, 3)}[layout]
    check_avg_pool(np.ascontiguousarray(x.numpy()), x, 3, 2, 1, True, False)


@pytest.mark.parametrize("geom", [(2, 2, 0, False, True, None), (3, 1, 1, True, False, None)])
def test_avg_pool2d_fast_independent_of_threads(geom):
    a = np.random.default_rng(12).standard_normal((4, 16, 41, 45)).astype(np.float32)
    k, s, p, ceil, include, divisor = geom
    dy = None

    def run():
        nonlocal dy
        x = pyml.tensor(a).requires_grad_()
        y = F.avg_pool2d(x, k, s, p, ceil, include, divisor)
        dy = dy if dy is not None else pyml.tensor(np.random.default_rng(5).standard_normal(tuple(y.shape)))
        y.backward(dy.to(pyml.float32))
        return y.detach().numpy(), x.grad.numpy()
    for one, two in zip(with_threads(1, run), with_threads(2, run)):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("hw,geom", [((33, 50), (2, 2, 0, False, True, None)), ((40, 64), (3, 2, 1, True, False, None)),
                                     ((17, 31), (3, 1, 1, False, True, None)), ((9, 100), (4, 3, 2, True, False, None))])
def test_avg_pool2d_streamed_dx_is_identical(stream_bytes, hw, geom):
    """dx of a backward past the threshold leaves by streaming stores (aligned vectors only: the
    planes here start at every alignment); the gradient must not change."""
    a = np.random.default_rng(hw[1]).standard_normal((2, 5) + hw).astype(np.float32)
    k, s, p, ceil, include, divisor = geom
    grads = []
    for threshold in (1 << 62, 0):
        stream_bytes(threshold)
        x = pyml.tensor(a).requires_grad_()
        y = F.avg_pool2d(x, k, s, p, ceil, include, divisor)
        y.backward(pyml.tensor(np.random.default_rng(4).standard_normal(tuple(y.shape)).astype(np.float32)))
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
    check_avg_pool(a, pyml.tensor(a), *geom)


# ------------------------------------------------------------------------------------- adaptive avg
def adaptive_matrix(n_out, n_in):
    """A (n_out, n_in): A[o, i] = 1 for i in [floor(o*n/m), ceil((o+1)*n/m))."""
    o, i = np.arange(n_out)[:, None], np.arange(n_in)[None, :]
    return ((i >= o * n_in // n_out) & (i < -(-(o + 1) * n_in // n_out))).astype(np.float64)


@pytest.mark.parametrize("hw,out", [((7, 7), (1, 1)), ((9, 97), (4, 5)), ((5, 6), (7, 11)), ((2, 1023), (1, 33)),
                                    ((13, 40), (13, 40)), ((1, 1), (3, 2)), ((12, 36), (6, 1))])
def test_adaptive_avg_pool2d_fast_matches_reference(hw, out):
    a = np.random.default_rng(sum(hw)).standard_normal((2, 3) + hw).astype(np.float32)
    Ah, Aw = adaptive_matrix(out[0], hw[0]), adaptive_matrix(out[1], hw[1])
    area = np.outer(Ah.sum(1), Aw.sum(1))
    for x in (pyml.tensor(a), pyml.tensor(np.ascontiguousarray(np.swapaxes(a, 2, 3))).transpose(2, 3)):
        x = x.detach().requires_grad_()
        y = F.adaptive_avg_pool2d(x, out)
        np.testing.assert_allclose(y.detach().numpy(), Ah @ a.astype(np.float64) @ Aw.T / area, rtol=1e-5, atol=1e-5)
        dy = np.random.default_rng(9).standard_normal(out).astype(np.float32) * np.ones((2, 3, 1, 1), np.float32)
        y.backward(pyml.tensor(dy))
        np.testing.assert_allclose(x.grad.numpy(), Ah.T @ (dy / area) @ Aw, rtol=1e-5, atol=1e-5)


def test_adaptive_avg_pool2d_fast_independent_of_threads():
    a = np.random.default_rng(13).standard_normal((4, 16, 45, 41)).astype(np.float32)
    dy = pyml.tensor(np.random.default_rng(6).standard_normal((4, 16, 6, 7)).astype(np.float32))

    def run():
        x = pyml.tensor(a).requires_grad_()
        y = F.adaptive_avg_pool2d(x, (6, 7))
        y.backward(dy)
        return y.detach().numpy(), x.grad.numpy()
    for one, two in zip(with_threads(1, run), with_threads(2, run)):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("threads", [1, 2])
def test_max_pool_backward_reports_first_invalid_index(threads):
    """The float32 scatter checks indices as it goes and names the first bad one in flat order."""
    x = pyml.tensor(np.zeros((8, 4, 6, 6), np.float32))
    idx = np.zeros((8, 4, 3, 3), np.int64)
    idx[5, 1, 2, 0], idx[2, 3, 0, 1], idx[7, 0, 0, 0] = 36, -3, 99
    dy = pyml.tensor(np.ones((8, 4, 3, 3), np.float32))
    with pytest.raises(ValueError, match=r"max_pool2d: found an invalid index -3 \(each plane has 36 elements\)"):
        with_threads(threads, lambda: pyml._C.max_pool_backward(dy._impl, x._impl, pyml.tensor(idx)._impl, 2,
                                                                "max_pool2d"))



def forward_codes(a, k, s, p, d, ceil=False):
    """(y, window codes) as autograd keeps them, as NumPy arrays."""
    y, codes = pyml._C.max_pool_forward(pyml.tensor(a)._impl, list(k), list(s), list(p), list(d), ceil, True, True)
    return wrap(y).numpy(), wrap(codes).numpy()


@pytest.mark.parametrize("geom", [(3, 2, 1, 1), ((3, 2), (2, 1), (1, 0), (1, 2)), (2, 2, 0, 1), (5, 3, 2, 1),
                                  (2, 1, 1, 3)])
def test_window_codes_name_the_reference_winner(geom):
    """code = r*S + s of the winning tap in the unclipped window, with ties, NaN and infinities."""
    k, st, p, d = (pair(v) for v in geom)
    a = special_values((2, 3, 13, 40), 17)
    ref, ref_idx = max_pool_ref(a.astype(np.float64), k, st, p, d, False)
    y, codes = forward_codes(a, k, st, p, d)
    assert codes.dtype == np.uint8
    P, Q = ref.shape[2:]
    h0 = np.arange(P)[:, None] * st[0] - p[0]  # the windows' first rows and columns
    w0 = np.arange(Q)[None, :] * st[1] - p[1]
    flat = (h0 + codes // k[1] * d[0]) * a.shape[3] + w0 + codes % k[1] * d[1]
    np.testing.assert_array_equal(y, ref.astype(np.float32))
    np.testing.assert_array_equal(flat, ref_idx)


def test_window_codes_fall_back_to_indices():
    """float64, a window of more than 255 taps, a window with no input element: int64 indices."""
    a = np.random.default_rng(1).standard_normal((1, 2, 20, 20))
    _, idx = pyml._C.max_pool_forward(pyml.tensor(a)._impl, [3, 3], [2, 2], [1, 1], [1, 1], False, True, True)
    assert wrap(idx).dtype == pyml.int64
    b = a.astype(np.float32)
    _, idx = pyml._C.max_pool_forward(pyml.tensor(b)._impl, [16, 16], [1, 1], [0, 0], [1, 1], False, True, True)
    assert wrap(idx).dtype == pyml.int64
    _, idx = pyml._C.max_pool_forward(pyml.tensor(b[:, :, :4, :4])._impl, [2, 2], [1, 1], [1, 1], [5, 5], False,
                                      True, True)
    assert wrap(idx).dtype == pyml.int64


# (input h, w, kernel, stride, padding, [output position, bad code]...): windows with borders (the
# row-wise scatter; the 80-wide rows also in border rows, where a code may name a padding row),
# tiled 2x2 windows of a wide row (vector path) and of a small plane (flat loop)
BAD_CODES = [((9, 9), 3, 2, 1, [((2, 2), 9), ((2, 2), 255), ((0, 0), 0), ((4, 4), 8)]),
             ((9, 80), 3, 2, 1, [((2, 1), 200), ((1, 5), 9), ((3, 16), 9), ((3, 17), 10), ((2, 35), 12),
                                 ((3, 39), 9), ((0, 7), 1), ((0, 20), 2), ((0, 1), 0)]),
             ((6, 41), 2, 2, 0, [((1, 17), 4), ((2, 19), 200)]),
             ((6, 6), 2, 2, 0, [((1, 2), 4), ((0, 0), 7)])]


@pytest.mark.parametrize("hw,k,st,pad,bad_at", BAD_CODES)
def test_window_codes_backward_rejects_bad_codes(hw, k, st, pad, bad_at):
    """A code past R*S, or naming a tap in the padding, raises instead of writing outside dx."""
    a = np.random.default_rng(2).standard_normal((1, 1) + hw).astype(np.float32)
    x, window = pyml.tensor(a), ([k, k], [st, st], [pad, pad], [1, 1], False)
    _, codes = forward_codes(a, *window[:4])
    dy = pyml.ones(codes.shape)
    np.testing.assert_array_equal(  # the valid codes' gradient first
        wrap(pyml._C.max_pool_backward_windows(dy._impl, x._impl, pyml.tensor(codes)._impl, *window)).numpy(),
        scatter_ref(np.ones(codes.shape), max_pool_ref(a.astype(np.float64), *window[:4], False)[1], a.shape))
    for (oh, ow), value in bad_at:
        bad = codes.copy()
        bad[0, 0, oh, ow] = value
        with pytest.raises(ValueError, match=f"window code {value} at position {oh * codes.shape[3] + ow}"):
            pyml._C.max_pool_backward_windows(dy._impl, x._impl, pyml.tensor(bad)._impl, *window)
    with pytest.raises(ValueError, match="window codes must have the output's shape"):
        pyml._C.max_pool_backward_windows(dy._impl, x._impl, pyml.tensor(codes[..., :-1])._impl, *window)


# (H, W, kernel, stride, padding, dilation): 3-wide stride-2 windows of wide rows (a row's windows
# share columns, so an element can win two windows of one row and two of the next): padding or none,
# 2 to 5 tap rows at row strides 1 to 3, a right border window, border rows with one or two tap rows
# in the padding, dilated rows
WIDE_ROWS = [(11, 112, 3, 2, 1, 1), (9, 75, 3, 2, 1, 1), (8, 67, 3, 2, 0, 1), (10, 130, (2, 3), (1, 2), (0, 1), 1),
             (12, 97, (4, 3), (3, 2), (1, 1), 1), (7, 36, 3, 2, 1, 1), (13, 80, 3, 2, 1, (2, 1)),
             (9, 64, (5, 3), 2, (2, 1), 1)]


@pytest.mark.parametrize("H,W,k,st,pad,dil", WIDE_ROWS)
@pytest.mark.parametrize("values", ["normal", "special"])
def test_window_codes_wide_rows_match_scatter(H, W, k, st, pad, dil, values):
    """The codes backward of overlapping windows: the same sums in the same order as the int64
    scatter (bit-identical, signed zeros included)."""
    shape = (2, 3, H, W)
    a = (np.random.default_rng(W).standard_normal(shape).astype(np.float32) if values == "normal"
         else special_values(shape, W))
    x = pyml.tensor(a)
    window = (list(pair(k)), list(pair(st)), list(pair(pad)), list(pair(dil)), False)
    _, idx = pyml._C.max_pool_forward(x._impl, *window, True, False)
    _, codes = pyml._C.max_pool_forward(x._impl, *window, True, True)
    assert wrap(codes).dtype == pyml.uint8
    dy = np.random.default_rng(H).standard_normal(tuple(wrap(idx).shape)).astype(np.float32)
    dy[..., ::3] = np.float32(-0.0)
    g = pyml.tensor(dy)._impl
    by_codes = wrap(pyml._C.max_pool_backward_windows(g, x._impl, codes, *window)).numpy()
    by_index = wrap(pyml._C.max_pool_backward_windows(g, x._impl, idx, *window)).numpy()
    np.testing.assert_array_equal(by_codes, by_index)
    np.testing.assert_array_equal(np.signbit(by_codes), np.signbit(by_index))
    np.testing.assert_allclose(by_codes, scatter_ref(dy.astype(np.float64), wrap(idx).numpy(), shape), rtol=1e-6,
                               atol=1e-6)


def test_window_codes_double_backward_matches_indices():
    """grad of grad through the codes path equals the path that keeps int64 indices."""
    a = special_values((2, 3, 15, 22), 3)
    a[~np.isfinite(a)] = 0.5
    v = pyml.tensor(np.random.default_rng(5).standard_normal(a.shape).astype(np.float32))
    grads = []
    for return_indices in (False, True):
        x = pyml.tensor(a, requires_grad=True)
        y = F.max_pool2d(x, 3, 2, 1, return_indices=return_indices)
        y = y[0] if return_indices else y
        (g,) = pyml.autograd.grad([(y * y).sum()], [x], create_graph=True)
        (gg,) = pyml.autograd.grad([(g * v).sum()], [x])
        grads.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_array_equal(grads[0][0], grads[1][0])
    np.testing.assert_array_equal(grads[0][1], grads[1][1])
