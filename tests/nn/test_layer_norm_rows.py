"""The float32 layer_norm / rms_norm row kernels (csrc/cpu/isa/rows.cpp) against float64 NumPy: row
lengths that are not multiples of the vector or accumulator width, every weight/bias combination,
rows that do not start on a 64-byte boundary, large offsets, and thread-count independence."""
import numpy as np
import pytest

import pyml
from pyml import _C
from pyml._tensor import wrap


def _ref(x, w, b, eps, rms):
    """y, mean, rstd and the backward's dx, dw, db for upstream g, in float64."""
    x = x.astype(np.float64)
    mu = np.zeros((x.shape[0], 1)) if rms else x.mean(-1, keepdims=True)
    var = (x * x).mean(-1, keepdims=True) if rms else ((x - mu) ** 2).mean(-1, keepdims=True)
    rstd = 1 / np.sqrt(var + eps)
    xh = (x - mu) * rstd
    y = xh * (1.0 if w is None else w) + (0.0 if b is None else b)
    return y, mu[:, 0], rstd[:, 0], xh


def _ref_dx(g, xh, rstd, w, rms):
    gh = g.astype(np.float64) * (1.0 if w is None else w)
    a = 0.0 if rms else gh.mean(-1, keepdims=True)
    return rstd[:, None] * (gh - a - xh * (gh * xh).mean(-1, keepdims=True))


def _unaligned(a, shift):
    """a copy of `a` whose data starts `shift` floats past a 64-byte boundary of a larger pyml buffer."""
    flat = pyml.zeros(a.size + 16)
    ptr = flat.data_ptr()
    start = ((64 - ptr % 64) % 64) // 4 + shift
    view = flat[start:start + a.size].view(*a.shape)
    view.copy_(pyml.from_numpy(a))
    return view


@pytest.mark.parametrize("K", [1, 7, 97, 1023, 1025])
@pytest.mark.parametrize("affine", ["wb", "w", "b", "none"])
@pytest.mark.parametrize("rms", [False, True])
def test_rows_match_float64(K, affine, rms):
    rng = np.random.default_rng(K)
    x = (rng.standard_normal((37, K)) * 2 + 0.5).astype(np.float32)
    g = rng.standard_normal((37, K)).astype(np.float32)
    w = (rng.random(K) + 0.5).astype(np.float32) if "w" in affine else None
    b = rng.standard_normal(K).astype(np.float32) if "b" in affine and not rms else None
    P = lambda a: None if a is None else pyml.from_numpy(a)._impl
    y, mean, rstd = _C.layer_norm_forward(P(x), [K], P(w), P(b), 1e-5, rms)
    ry, rmu, rr, xh = _ref(x, w, b, 1e-5, rms)
    np.testing.assert_allclose(wrap(y).numpy(), ry, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(wrap(rstd).numpy().ravel(), rr, rtol=1e-5)
    if not rms:
        np.testing.assert_allclose(wrap(mean).numpy().ravel(), rmu, rtol=1e-5, atol=1e-6)
    dx, dw, db = _C.layer_norm_backward(P(g), P(x), P(w), mean, rstd, 1, rms, [True, w is not None, b is not None])
    np.testing.assert_allclose(wrap(dx).numpy(), _ref_dx(g, xh, rr, w, rms), rtol=1e-4, atol=2e-5)
    if w is not None:
        np.testing.assert_allclose(wrap(dw).numpy(), (g * xh).sum(0), rtol=1e-4, atol=1e-4)
    if b is not None:
        np.testing.assert_allclose(wrap(db).numpy(), g.astype(np.float64).sum(0), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shift", [1, 4, 8, 13])
def test_unaligned_rows_give_identical_results(shift):
    rng = np.random.default_rng(shift)
    x = rng.standard_normal((19, 768)).astype(np.float32)
    g = rng.standard_normal((19, 768)).astype(np.float32)
    w, b = pyml.from_numpy(rng.random(768).astype(np.float32)), pyml.from_numpy(rng.standard_normal(768).astype(np.float32))
    xa, ga = pyml.from_numpy(x), pyml.from_numpy(g)
    xu, gu = _unaligned(x, shift), _unaligned(g, shift)
    assert xu.data_ptr() % 64 == 4 * shift and gu.data_ptr() % 64 == 4 * shift
    ya, ma, ra = _C.layer_norm_forward(xa._impl, [768], w._impl, b._impl, 1e-5, False)
    yu, mu, ru = _C.layer_norm_forward(xu._impl, [768], w._impl, b._impl, 1e-5, False)
    np.testing.assert_array_equal(wrap(ya).numpy(), wrap(yu).numpy())
    da = _C.layer_norm_backward(ga._impl, xa._impl, w._impl, ma, ra, 1, False, [True, True, True])
    du = _C.layer_norm_backward(gu._impl, xu._impl, w._impl, mu, ru, 1, False, [True, True, True])
    for a, u in zip(da, du):
        np.testing.assert_array_equal(wrap(a).numpy(), wrap(u).numpy())


def test_large_offset_and_outlier_first_element():
    """The first pass sums x - x[0]: an outlier in x[0] must not cost the variance its precision."""
    rng = np.random.default_rng(0)
    x = (1e4 + rng.standard_normal((8, 512)) * 0.1).astype(np.float32)
    x[:, 0] += 50.0  # 500 standard deviations away
    y, mean, rstd = _C.layer_norm_forward(pyml.from_numpy(x)._impl, [512], None, None, 1e-5, False)
    ry, rmu, rr, _ = _ref(x, None, None, 1e-5, False)
    np.testing.assert_allclose(wrap(rstd).numpy().ravel(), rr, rtol=1e-5)
    np.testing.assert_allclose(wrap(y).numpy(), ry, rtol=1e-4, atol=5e-4)


def test_thread_count_independent():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((1001, 257)).astype(np.float32)
    g = rng.standard_normal((1001, 257)).astype(np.float32)
    w = pyml.from_numpy(rng.random(257).astype(np.float32))
    outs = []
    n0 = pyml.get_num_threads()
    try:
        for nt in (1, 2):
            pyml.set_num_threads(nt)
            y, m, r = _C.layer_norm_forward(pyml.from_numpy(x)._impl, [257], w._impl, None, 1e-5, False)
            dx, dw, _ = _C.layer_norm_backward(pyml.from_numpy(g)._impl, pyml.from_numpy(x)._impl, w._impl, m, r, 1,
                                               False, [True, True, False])
            outs.append([wrap(t).numpy() for t in (y, dx, dw)])
    finally:
        pyml.set_num_threads(n0)
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)


def _forward_backward(x, g, w, b, rms):
    P = lambda a: None if a is None else a._impl
    y, mean, rstd = _C.layer_norm_forward(P(x), [x.shape[-1]], P(w), P(b), 1e-5, rms)
    dx, dw, db = _C.layer_norm_backward(P(g), P(x), P(w), mean, rstd, 1, rms, [True, w is not None, b is not None])
    return [wrap(t).numpy() for t in (y, mean, rstd, dx) + ((dw,) if w is not None else ())]


@pytest.mark.parametrize("K,shift", [(768, 0), (768, 3), (1025, 0), (7, 0), (97, 5)])
@pytest.mark.parametrize("rms", [False, True])
def test_streaming_stores_give_identical_results(stream_bytes, K, shift, rms):
    """y and dx of outputs past the threshold leave by streaming stores (only the vector-aligned
    ones); the values must not change, aligned rows or not."""
    rng = np.random.default_rng(K + shift)
    x = (rng.standard_normal((53, K)) * 3 - 1).astype(np.float32)
    g = rng.standard_normal((53, K)).astype(np.float32)
    w = pyml.from_numpy((rng.random(K) + 0.5).astype(np.float32))
    b = None if rms else pyml.from_numpy(rng.standard_normal(K).astype(np.float32))
    xt, gt = _unaligned(x, shift), _unaligned(g, shift)
    stream_bytes(1 << 62)
    plain = _forward_backward(xt, gt, w, b, rms)
    stream_bytes(0)
    streamed = _forward_backward(xt, gt, w, b, rms)
    for a, s in zip(plain, streamed):
        np.testing.assert_array_equal(a, s)
    ry, _, rr, xh = _ref(x, w.numpy(), None if b is None else b.numpy(), 1e-5, rms)
    np.testing.assert_allclose(streamed[0], ry, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(streamed[3], _ref_dx(g, xh, rr, w.numpy(), rms), rtol=1e-4, atol=2e-5)


def test_stream_threshold_defaults_to_half_the_l3(stream_bytes):
    default = stream_bytes(0)
    assert stream_bytes(-1) == 0 and stream_bytes(-1) == default
    try:
        with open("/sys/devices/system/cpu/cpu0/cache/index3/size") as f:
            l3 = int(f.read().strip().rstrip("K")) * 1024
    except (OSError, ValueError):
        pytest.skip("no L3 size in sysfs on this machine")
    assert default == l3 // 2
