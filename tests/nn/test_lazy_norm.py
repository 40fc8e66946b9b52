"""LazyBatchNorm*/LazyInstanceNorm*, UninitializedParameter/Buffer, SyncBatchNorm and CrossMapLRN2d against torch."""
import warnings

import numpy as np
import pytest
import torch

import pyml

LAZY = [("LazyBatchNorm1d", (5, 7)), ("LazyBatchNorm1d", (5, 7, 3)), ("LazyBatchNorm2d", (3, 5, 4, 6)),
        ("LazyBatchNorm3d", (2, 3, 4, 3, 5)), ("LazyInstanceNorm1d", (3, 5, 7)), ("LazyInstanceNorm2d", (2, 5, 4, 6)),
        ("LazyInstanceNorm3d", (2, 3, 4, 3, 5))]
KWARGS = [{}, {"affine": False, "track_running_stats": False}, {"affine": True, "bias": False},
          {"track_running_stats": False, "momentum": None}]


def _np(t):
    return t.detach().cpu().numpy()


def _run_both(tm, pm, x, train=True):
    """Forward + backward of the torch and pyml modules on the same float64 input; (y, dx) pairs."""
    tm.train(train)
    pm.train(train)
    xt = torch.tensor(x, requires_grad=True)
    xp = pyml.tensor(x, requires_grad=True)
    yt, yp = tm(xt), pm(xp)
    g = np.random.default_rng(1).standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(g))
    yp.backward(pyml.tensor(g))
    return (_np(yt), _np(yp)), (_np(xt.grad), _np(xp.grad))


@pytest.mark.parametrize("name,shape", LAZY)
@pytest.mark.parametrize("kwargs", KWARGS)
def test_lazy_norm_matches_torch(name, shape, kwargs):
    tm = getattr(torch.nn, name)(eps=1e-4, **kwargs).double()
    pm = getattr(pyml.nn, name)(eps=1e-4, **kwargs).double()
    assert list(pm.state_dict()) == list(tm.state_dict())
    x = np.random.default_rng(0).standard_normal(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # affine=False instance norms warn about num_features=0 in both
        for train in (True, True, False):
            (yt, yp), (gt, gp) = _run_both(tm, pm, x, train)
            np.testing.assert_allclose(yp, yt, rtol=1e-10, atol=1e-10)
            np.testing.assert_allclose(gp, gt, rtol=1e-10, atol=1e-10)
    assert type(pm).__name__ == type(tm).__name__ == name[4:]
    assert pm.num_features == tm.num_features
    st, sp = tm.state_dict(), pm.state_dict()
    assert [(k, tuple(v.shape)) for k, v in sp.items()] == [(k, tuple(v.shape)) for k, v in st.items()]
    for k in st:
        np.testing.assert_allclose(_np(sp[k]), _np(st[k]), rtol=1e-10, atol=1e-10, err_msg=k)
    for (n, p), (_, q) in zip(tm.named_parameters(), pm.named_parameters()):
        np.testing.assert_allclose(_np(q.grad), _np(p.grad), rtol=1e-10, atol=1e-10, err_msg=n)


def test_lazy_defaults_and_uninitialized_slots_like_torch():
    for name in ("LazyBatchNorm2d", "LazyInstanceNorm2d"):
        tm, pm = getattr(torch.nn, name)(), getattr(pyml.nn, name)()
        assert (pm.affine, pm.track_running_stats, pm.num_features) == (tm.affine, tm.track_running_stats, 0)
        assert isinstance(pm.weight, pyml.nn.UninitializedParameter)
        assert isinstance(pm.running_mean, pyml.nn.UninitializedBuffer)
        assert repr(pm.running_mean) == repr(tm.running_mean) == "<UninitializedBuffer>"
        assert pm.num_batches_tracked.dtype == pyml.int64


def test_lazy_follows_dtype_set_before_materialising():
    m = pyml.nn.LazyBatchNorm1d().double()
    assert isinstance(m.running_var, pyml.nn.UninitializedBuffer)
    m(pyml.randn(4, 3, dtype=pyml.float64))
    assert type(m) is pyml.nn.BatchNorm1d
    assert m.weight.dtype == m.running_mean.dtype == pyml.float64 and m.num_features == 3


def test_lazy_instance_norm_unbatched_takes_channels_from_dim0():
    # torch reads dim 1 (L) here and then raises; pyml uses the channel dim of the unbatched input
    m = pyml.nn.LazyInstanceNorm1d()
    y = m(pyml.randn(5, 7, dtype=pyml.float64))
    assert m.num_features == 5 and tuple(y.shape) == (5, 7) and tuple(m.weight.shape) == (5,)


def test_lazy_load_state_dict_materialises():
    src = pyml.nn.BatchNorm2d(6)
    src(pyml.randn(4, 6, 3, 3))
    m = pyml.nn.LazyBatchNorm2d()
    m.load_state_dict(src.state_dict())
    assert type(m) is pyml.nn.BatchNorm2d and m.num_features == 6
    np.testing.assert_array_equal(_np(m.running_mean), _np(src.running_mean))
    x = pyml.randn(2, 6, 3, 3)
    np.testing.assert_allclose(_np(m.eval()(x)), _np(src.eval()(x)))


def test_lazy_bad_rank_raises_value_error():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input \(got 3D input \(2, 3, 4\)\)"):
        pyml.nn.LazyBatchNorm2d()(pyml.randn(2, 3, 4))


# ------------------------------------------------------------------------------------- SyncBatchNorm
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 7), (2, 3, 5, 3), (2, 3, 2, 3, 3)])
def test_sync_batch_norm_is_batch_norm_in_one_process(shape):
    tm = torch.nn.SyncBatchNorm(3, momentum=0.3).double()
    pm = pyml.nn.SyncBatchNorm(3, momentum=0.3, dtype=pyml.float64)
    x = np.random.default_rng(2).standard_normal(shape)
    for train in (True, False):
        (yt, yp), (gt, gp) = _run_both(tm, pm, x, train)
        np.testing.assert_allclose(yp, yt, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(gp, gt, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(_np(pm.running_var), _np(tm.running_var), rtol=1e-12)
    assert list(pm.state_dict()) == list(tm.state_dict())


def test_sync_batch_norm_bad_inputs():
    m = pyml.nn.SyncBatchNorm(3)
    with pytest.raises(ValueError, match=r"SyncBatchNorm: expected at least 2D input \(got 1D input \(3,\)\)"):
        m(pyml.randn(3))
    with pytest.raises(ValueError):
        torch.nn.SyncBatchNorm(3)(torch.randn(3))
    with pytest.raises(ValueError, match=r"non-zero, got input \(2, 0\)"):
        pyml.nn.SyncBatchNorm(0)(pyml.randn(2, 0))


def test_convert_sync_batchnorm_shares_tensors_and_recurses():
    net = pyml.nn.Sequential(pyml.nn.Conv2d(2, 3, 1), pyml.nn.BatchNorm2d(3, bias=False),
                             pyml.nn.Sequential(pyml.nn.BatchNorm1d(4, affine=False)))
    net[1].eval()
    ref = torch.nn.SyncBatchNorm.convert_sync_batchnorm(torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 1), torch.nn.BatchNorm2d(3, bias=False),
        torch.nn.Sequential(torch.nn.BatchNorm1d(4, affine=False))))
    w = net[1].weight
    out = pyml.nn.SyncBatchNorm.convert_sync_batchnorm(net, process_group="pg")
    assert type(out[1]) is pyml.nn.SyncBatchNorm and type(out[2][0]) is pyml.nn.SyncBatchNorm
    assert out[1].weight is w and out[1].bias is None and out[1].training is False
    assert out[2][0].process_group == "pg" and type(out[0]) is pyml.nn.Conv2d
    assert list(out.state_dict()) == list(ref.state_dict())


# ------------------------------------------------------------------------------------- CrossMapLRN2d
@pytest.mark.parametrize("C", [1, 3, 7, 9])
@pytest.mark.parametrize("size", [2, 3, 5])
def test_cross_map_lrn2d_matches_torch_forward_and_gradient(C, size):
    tm = torch.nn.CrossMapLRN2d(size, alpha=0.3, beta=0.7, k=1.5)
    pm = pyml.nn.CrossMapLRN2d(size, alpha=0.3, beta=0.7, k=1.5)
    x = np.random.default_rng(C * 10 + size).standard_normal((2, C, 3, 5))
    (yt, yp), (gt, gp) = _run_both(tm, pm, x)
    np.testing.assert_allclose(yp, yt, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gp, gt, rtol=1e-12, atol=1e-12)
    assert repr(pm) == repr(tm)


def test_cross_map_lrn2d_rejects_non_4d():
    with pytest.raises(ValueError, match=r"CrossMapLRN2d: expected input to be 4D, got 3D input \(2, 3, 4\)"):
        pyml.nn.CrossMapLRN2d(3)(pyml.randn(2, 3, 4))
    with pytest.raises(ValueError):
        torch.nn.CrossMapLRN2d(3)(torch.randn(2, 3, 4))
