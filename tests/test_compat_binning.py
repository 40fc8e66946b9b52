"""pyml/_ops/compat_binning.py against torch and NumPy: histogram, histogramdd and segment_reduce (values,
edges, weights, density, batched lengths/offsets along an axis, initial, unsafe, gradients, errors)."""
import numpy as np
import pytest
import torch

import pyml
from pyml.autograd import gradcheck
from compat_helpers import pair, check, check_grads


# ---------------------------------------------------------------------------- histogram
@pytest.mark.parametrize("n", [1, 7, 97, 1023])
@pytest.mark.parametrize("bins", [1, 3, 10])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_histogram_matches_torch_and_numpy(n, bins, dtype):
    x = np.random.default_rng(n).standard_normal(n)
    p, t = pair(x, dtype, layout="strided")
    w = np.abs(np.random.default_rng(n + 1).standard_normal(n))
    pw, tw = pair(w, dtype)
    r = 1e-5 if dtype == "float32" else 1e-12
    cases = (({}, {}), ({"range": (-1.0, 1.0)}, {"range": (-1.0, 1.0)}), ({"density": True}, {"density": True}),
             ({"weight": pw}, {"weight": tw}), ({"weight": pw, "density": True}, {"weight": tw, "density": True}))
    for kw, tkw in cases:
        h, e = pyml.histogram(p, bins, **kw)
        th, te = torch.histogram(t, bins, **tkw)
        check(e, te, r, r)
        check(h, th, r, r)
    h, e = pyml.histogram(p, bins)
    nh, ne = np.histogram(p.double().numpy(), bins)
    np.testing.assert_allclose(h.numpy(), nh)
    np.testing.assert_allclose(e.double().numpy(), ne, rtol=r, atol=r)


def test_histogram_edge_cases():
    x = pyml.tensor([1.0, 2.0, 2.0, 3.0, 10.0])
    tx = torch.tensor([1.0, 2.0, 2.0, 3.0, 10.0])
    for bins in (pyml.tensor([0.0, 2.0, 5.0]), pyml.tensor([1.0, 10.0]), pyml.tensor([2.0, 3.0, 4.0])):
        h, e = pyml.histogram(x, bins)
        th, te = torch.histogram(tx, torch.tensor(bins.numpy()))
        check(h, th)
        check(e, te)
    for data in ([], [1.0, 1.0], [5.0]):
        h, e = pyml.histogram(pyml.tensor(data), 2)
        th, te = torch.histogram(torch.tensor(data), 2)
        check(h, th)
        check(e, te)
    h, e = x.histogram(3)
    assert h.tolist() == torch.histogram(tx, 3).hist.tolist()
    r = pyml.histogram(x.reshape(5, 1), 3)
    assert r.hist.tolist() == [4.0, 0.0, 1.0] and r.bin_edges.tolist() == [1.0, 4.0, 7.0, 10.0]
    out = (pyml.empty(0), pyml.empty(0))
    hh, ee = pyml.histogram(x, 2, out=out)
    assert hh is out[0] and ee is out[1] and hh.tolist() == [4.0, 1.0]


def test_histogram_errors():
    x = pyml.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="floating"):
        pyml.histogram(pyml.tensor([1, 2]), 2)
    with pytest.raises(ValueError, match="bins must be > 0"):
        pyml.histogram(x, 0)
    with pytest.raises(ValueError, match="min should not exceed max"):
        pyml.histogram(x, 2, range=(3.0, 1.0))
    with pytest.raises(ValueError, match="not finite"):
        pyml.histogram(pyml.tensor([float("nan"), 1.0]), 2)
    with pytest.raises(ValueError, match="not finite"):
        pyml.histogram(x, 2, range=(0.0, float("inf")))
    with pytest.raises(TypeError, match="same dtype"):
        pyml.histogram(x, 2, weight=pyml.ones(2, dtype=pyml.float64))


# ---------------------------------------------------------------------------- histogramdd
@pytest.mark.parametrize("n", [1, 7, 97])
def test_histogramdd_matches_torch_and_numpy(n):
    pts = np.random.default_rng(n).standard_normal((n, 3))
    p, t = pair(pts, layout="transposed")
    for bins, rng_ in (([2, 3, 4], None), (3, [-1.0, 1.0, -2.0, 2.0, 0.0, 1.0]), (5, None)):
        for density in (False, True):
            h, e = pyml.histogramdd(p, bins, range=rng_, density=density)
            th, te = torch.histogramdd(t, bins, range=rng_, density=density)
            check(h, th, 1e-12, 1e-12)
            assert isinstance(e, tuple) and len(e) == 3
            for a, b in zip(e, te):
                check(a, b, 1e-12, 1e-12)
    h, e = pyml.histogramdd(p, [2, 3, 4])
    nh, ne = np.histogramdd(pts, [2, 3, 4])
    np.testing.assert_allclose(h.numpy(), nh)


def test_histogramdd_tensor_bins_weights_and_errors():
    pts = pyml.tensor([[0.0, 0], [1, 1], [1, 2], [3, 0]])
    tpts = torch.tensor([[0.0, 0], [1, 1], [1, 2], [3, 0]])
    bins = [pyml.tensor([0.0, 1, 4]), pyml.tensor([0.0, 3])]
    h, e = pyml.histogramdd(pts, bins, weight=pyml.tensor([1.0, 2, 3, 4]))
    th, te = torch.histogramdd(tpts, [torch.tensor([0.0, 1, 4]), torch.tensor([0.0, 3])],
                               weight=torch.tensor([1.0, 2, 3, 4]))
    check(h, th)
    p3 = pyml.tensor([[[0.0, 1]], [[1, 1]]])
    check(pyml.histogramdd(p3, 2).hist, torch.histogramdd(torch.tensor([[[0.0, 1]], [[1, 1]]]), 2).hist)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        pyml.histogramdd(pyml.tensor([0.0, 1, 2]), 2)
    with pytest.raises(ValueError, match="bin specifications"):
        pyml.histogramdd(pts, [2, 3, 4])
    with pytest.raises(ValueError, match="range values"):
        pyml.histogramdd(pts, 2, range=[0.0, 1.0])


# ---------------------------------------------------------------------------- segment_reduce
REDUCES = ["sum", "mean", "max", "min", "prod"]


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("initial", [None, 2.0])
def test_segment_reduce_1d_matches_torch(reduce, initial):
    rng = np.random.default_rng(0)
    lengths = np.array([2, 0, 3, 1, 7, 0, 84])
    d = rng.standard_normal(lengths.sum())
    p, t = pair(d, layout="strided")
    pl, tl = pyml.tensor(lengths), torch.tensor(lengths)
    check(pyml.segment_reduce(p, reduce, lengths=pl, initial=initial),
          torch.segment_reduce(t, reduce, lengths=tl, initial=initial))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    check(pyml.segment_reduce(p, reduce, offsets=pyml.tensor(offsets), initial=initial),
          torch.segment_reduce(t, reduce, offsets=torch.tensor(offsets), initial=initial))
    check(pyml.segment_reduce(p, reduce, lengths=pl.int(), initial=initial),
          torch.segment_reduce(t, reduce, lengths=tl.int(), initial=initial))


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("axis", [0, 1])
def test_segment_reduce_batched_axis_and_grads(reduce, axis):
    rng = np.random.default_rng(1)
    if axis == 0:
        d, lengths = rng.standard_normal((10, 3)), np.array([2, 0, 3, 5])
    else:
        d, lengths = rng.standard_normal((3, 10, 2)), np.array([[2, 0, 3, 5], [10, 0, 0, 0], [1, 1, 1, 7]])
    p, t = pair(d, requires_grad=True)
    r = pyml.segment_reduce(p, reduce, lengths=pyml.tensor(lengths), axis=axis)
    tr = torch.segment_reduce(t, reduce, lengths=torch.tensor(lengths), axis=axis)
    check(r, tr)
    g = np.where(np.isfinite(tr.detach().numpy()), np.random.default_rng(2).standard_normal(tuple(tr.shape)), 0)
    r.backward(pyml.tensor(g))
    tr.backward(torch.tensor(g))
    check_grads([p], [t])
    f = lambda x: pyml.segment_reduce(x, reduce, lengths=pyml.tensor([2, 3, 1]), initial=1.5)  # noqa: E731
    assert gradcheck(f, (pyml.tensor(rng.uniform(0.5, 2, 6)).requires_grad_(),))


def test_segment_reduce_unsafe_and_errors():
    d = pyml.tensor([1.0, 2, 3, 4, 5, 6])
    check(pyml.segment_reduce(d, "sum", lengths=pyml.tensor([2, 2]), unsafe=True),
          torch.segment_reduce(torch.tensor([1.0, 2, 3, 4, 5, 6]), "sum", lengths=torch.tensor([2, 2]), unsafe=True))
    assert pyml.segment_reduce(d, "amax", lengths=pyml.tensor([6])).tolist() == [6.0]
    with pytest.raises(ValueError, match="sum to"):
        pyml.segment_reduce(d, "sum", lengths=pyml.tensor([2, 2]))
    with pytest.raises(ValueError, match="negative"):
        pyml.segment_reduce(d, "sum", lengths=pyml.tensor([2, -2, 6]))
    with pytest.raises(ValueError, match="reduce"):
        pyml.segment_reduce(d, "avg", lengths=pyml.tensor([6]))
    with pytest.raises(ValueError, match="lengths or offsets"):
        pyml.segment_reduce(d, "sum")
    with pytest.raises(TypeError, match="int32 or int64"):
        pyml.segment_reduce(d, "sum", lengths=pyml.tensor([6.0]))
    with pytest.raises(TypeError, match="floating"):
        pyml.segment_reduce(d.long(), "sum", lengths=pyml.tensor([6]))
    with pytest.raises(NotImplementedError, match="indices"):
        pyml.segment_reduce(d, "sum", lengths=pyml.tensor([6]), indices=pyml.tensor([6]))
    with pytest.raises(ValueError, match="last dimension"):
        pyml.segment_reduce(d.reshape(2, 3), "sum", lengths=pyml.tensor([1, 2]), axis=1)
