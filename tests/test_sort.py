"""Sort family against torch and NumPy: sort/argsort/msort, topk, kthvalue, median/nanmedian, mode,
unique/unique_consecutive over dtypes, layouts, size-0/size-1/odd sizes, NaN placement, ties and
keepdim; plus the error messages."""
import math

import numpy as np
import pytest
import torch

import pyml
from helpers import to_np64, layout

DTYPES = ("float32", "float64", "float16", "bfloat16", "int8", "int32", "int64", "uint8", "bool")
SHAPES = [(0,), (1,), (7,), (97,), (1025,), (3, 0, 2), (13, 17), (2, 3, 5, 7)]
LAYOUTS = ("contiguous", "transposed", "strided", "expanded")


def make(rng, shape, dtype, kind, distinct=False):
    """pyml tensor (values with many ties unless distinct; NaNs in float inputs) and the torch twin."""
    n = int(np.prod(shape))
    if distinct:
        a = rng.permutation(n).reshape(shape).astype(np.float64) - n // 3
    else:
        a = rng.integers(-4, 5, size=shape).astype(np.float64)
        if dtype.startswith(("float", "bfloat")) and n > 3:
            a.reshape(-1)[rng.integers(0, n, size=2)] = np.nan
    if kind == "expanded" and len(shape) and shape[0] > 1:
        x = _cast(pyml.tensor(a[:1]), dtype).expand(*shape)
    else:
        x = layout(_cast(pyml.tensor(a), dtype), kind)
    return x, _torch(x)


def _cast(t, dtype):
    if dtype == "bool":
        return t > 0
    if dtype == "uint8":
        return t.abs().to(pyml.uint8)
    return t.to(getattr(pyml, dtype))


def _torch(x):
    if x.dtype == pyml.bfloat16:
        return torch.from_numpy(x.float().numpy()).bfloat16()
    return torch.from_numpy(x.numpy().copy())


def same(got, want, msg=""):
    g = to_np64(got)
    w = want.double().numpy() if want.dtype.is_floating_point else want.numpy()
    assert g.shape == w.shape, f"{msg}: {g.shape} != {w.shape}"
    np.testing.assert_array_equal(g, w, err_msg=msg)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sort_argsort_match_torch_stable(dtype, rng):
    for shape in SHAPES + [(), (2, 1)]:
        for kind in LAYOUTS:
            x, t = make(rng, shape, dtype, kind)
            for d in range(-1, max(len(shape), 1)):
                for desc in (False, True):
                    g = x.sort(d, desc, stable=True)
                    w = t.sort(dim=d, descending=desc, stable=True)
                    msg = f"{dtype} {shape} {kind} dim={d} desc={desc}"
                    same(g.values, w.values, msg)
                    same(g.indices, w.indices, msg)
                    same(pyml.argsort(x, d, desc), w.indices, msg)
                    assert g.values.dtype == x.dtype and g.indices.dtype == pyml.int64
            if len(shape):
                same(pyml.msort(x), torch.msort(t))


def test_nan_sorts_last_ascending_first_descending():
    x = pyml.tensor([1.0, math.nan, -math.inf, 3.0, math.nan, math.inf, -1.0])
    v, i = x.sort()
    assert np.array_equal(v.numpy(), [-math.inf, -1, 1, 3, math.inf, math.nan, math.nan], equal_nan=True)
    assert i.tolist() == [2, 6, 0, 3, 5, 1, 4]
    v, i = x.sort(descending=True)
    assert np.isnan(v.numpy()[:2]).all() and i.tolist() == [1, 4, 5, 3, 0, 6, 2]


@pytest.mark.parametrize("dtype", DTYPES[:-1])  # torch has no bool topk (pyml's is checked below)
def test_topk_matches_torch(dtype, rng):
    for shape in [(1,), (7,), (97,), (13, 17), (2, 3, 65), (3, 0, 2)]:
        for kind in LAYOUTS:
            x, t = make(rng, shape, dtype, kind, distinct=dtype not in ("bool", "uint8", "int8"))
            for d in range(-1, len(shape)):
                n = shape[d]
                for k in sorted({0, min(1, n), min(3, n), n}):
                    for largest in (True, False):
                        g = x.topk(k, d, largest)
                        w = t.topk(k, d, largest)
                        msg = f"{dtype} {shape} {kind} dim={d} k={k} largest={largest}"
                        same(g.values, w.values, msg)
                        # indices point at the returned values (tied values may pick other positions)
                        same(pyml.tensor(np.take_along_axis(to_np64(x), g.indices.numpy(), d)), w.values.double()
                             if dtype != "bool" else w.values, msg)
                        if dtype in ("float32", "float64", "int32", "int64") and kind != "expanded":
                            same(g.indices, w.indices, msg)


def test_topk_large_and_nan_and_bool(rng):
    a = rng.permutation(100_000).astype(np.float32)
    x = pyml.tensor(a)
    for k in (1, 5, 64, 3000):
        for largest in (True, False):
            g = x.topk(k, largest=largest)
            want = np.argsort(-a if largest else a, kind="stable")[:k]
            np.testing.assert_array_equal(g.indices.numpy(), want)
    y = pyml.tensor([1.0, math.nan, 3.0, -math.inf, 2.0])
    t = torch.tensor([1.0, math.nan, 3.0, -math.inf, 2.0])
    for largest in (True, False):
        g, w = y.topk(2, largest=largest), t.topk(2, largest=largest)
        assert np.array_equal(g.values.numpy(), w.values.numpy(), equal_nan=True)
        assert g.indices.tolist() == w.indices.tolist()
    b = pyml.tensor([False, True, False, True])
    assert b.topk(3).values.tolist() == [True, True, False] and b.topk(3).indices.tolist() == [1, 3, 0]


@pytest.mark.parametrize("dtype", ("float32", "float64", "float16", "int16", "int64", "uint8"))
def test_kthvalue_median_mode_match_torch(dtype, rng):
    for shape in [(1,), (7,), (8,), (97,), (13, 17), (2, 3, 6), (3, 0, 2)]:
        for kind in ("contiguous", "transposed", "strided"):
            xd, td = make(rng, shape, dtype, kind, distinct=dtype != "uint8")
            xt, tt = make(rng, shape, dtype, kind)  # ties (and NaN for floats)
            xm = layout(_cast(pyml.tensor(rng.integers(0, 4, size=shape).astype(np.float64)), dtype), kind)
            tm = _torch(xm)
            for d in range(-1, len(shape)):
                if shape[d] == 0:
                    continue
                for keepdim in (False, True):
                    msg = f"{dtype} {shape} {kind} dim={d} keepdim={keepdim}"
                    for k in sorted({1, (shape[d] + 1) // 2, shape[d]}):
                        g, w = xd.kthvalue(k, d, keepdim), td.kthvalue(k, d, keepdim)
                        same(g.values, w.values, msg)
                        if dtype != "uint8":
                            same(g.indices, w.indices, msg)
                        same(xt.kthvalue(k, d, keepdim).values, tt.kthvalue(k, d, keepdim).values, msg)
                    g, w = xd.median(d, keepdim), td.median(d, keepdim)
                    same(g.values, w.values, msg)
                    if dtype != "uint8":
                        same(g.indices, w.indices, msg)
                    same(xt.median(d, keepdim).values, tt.median(d, keepdim).values, msg)
                    if dtype.startswith("float"):
                        same(xt.nanmedian(d, keepdim).values, tt.nanmedian(d, keepdim).values, msg)
                    # mode on NaN-free ties (torch's NaN handling there is inconsistent); its index is
                    # unspecified in torch, so check that it points at the mode value
                    g, w = xm.mode(d, keepdim), tm.mode(d, keepdim)
                    same(g.values, w.values, msg)
                    picked = np.take_along_axis(to_np64(xm), g.indices.numpy().reshape(w.values.shape if keepdim else
                                                np.expand_dims(w.values.numpy(), d).shape), d)
                    np.testing.assert_array_equal(picked.reshape(g.values.shape), to_np64(g.values), err_msg=msg)
            same(xd.median(), td.median())
            same(xt.median(), tt.median())


def test_median_nan_rules_follow_torch():
    x = pyml.tensor([[1.0, math.nan, 3.0, math.nan, 2.0], [4.0, 1.0, 2.0, 3.0, 0.0]])
    t = torch.from_numpy(x.numpy())
    g, w = x.median(1), t.median(1)
    assert np.array_equal(g.values.numpy(), w.values.numpy(), equal_nan=True)
    assert g.indices.tolist() == w.indices.tolist() == [1, 2]
    g, w = x.nanmedian(1), t.nanmedian(1)
    assert g.values.tolist() == w.values.tolist() and g.indices.tolist() == w.indices.tolist()
    assert math.isnan(x.median().item()) and x.nanmedian().item() == 2.0
    assert math.isnan(pyml.tensor([math.nan, math.nan]).nanmedian().item())
    assert math.isnan(pyml.zeros(0).median().item())
    assert pyml.tensor([1.0, 2.0, 3.0, 4.0]).median().item() == 2.0  # the lower of the two middle values


@pytest.mark.parametrize("dtype", DTYPES)
def test_unique_matches_numpy_and_torch(dtype, rng):
    for shape in [(0,), (1,), (7,), (97,), (13, 17), (3, 0, 2)]:
        for kind in ("contiguous", "transposed", "strided"):
            x, t = make(rng, shape, dtype, kind)
            v, inv, cnt = pyml.unique(x, return_inverse=True, return_counts=True)
            wv, winv, wcnt = torch.unique(t, return_inverse=True, return_counts=True)
            msg = f"{dtype} {shape} {kind}"
            same(v, wv, msg)
            same(cnt, wcnt, msg)
            # NaNs are all distinct: which NaN group each NaN maps to is implementation-defined
            ok = ~np.isnan(to_np64(x).astype(np.float64))
            np.testing.assert_array_equal(inv.numpy()[ok], winv.numpy()[ok], err_msg=msg)
            np.testing.assert_array_equal(to_np64(v)[inv.numpy()], to_np64(x), err_msg=msg)
            same(x.unique(), wv, msg)
            same(x.unique(sorted=False), torch.unique(t, sorted=True), msg)
            v, c = pyml.unique_consecutive(x, return_counts=True)
            wv, wc = torch.unique_consecutive(t, return_counts=True)
            same(v, wv, msg)
            same(c, wc, msg)
            same(pyml.unique_consecutive(x, return_inverse=True)[1], torch.unique_consecutive(t, return_inverse=True)[1])


def test_unique_along_dim_matches_torch(rng):
    a = rng.integers(0, 2, size=(6, 3, 4))
    x, t = pyml.tensor(a), torch.from_numpy(a)
    for d in (0, 1, 2, -1):
        for fn in ("unique", "unique_consecutive"):
            g = getattr(pyml, fn)(x, return_inverse=True, return_counts=True, dim=d)
            w = getattr(torch, fn)(t, return_inverse=True, return_counts=True, dim=d)
            for gi, wi in zip(g, w):
                same(gi, wi, f"{fn} dim={d}")


def test_sort_larger_inputs_against_numpy(rng):
    a = rng.standard_normal((97, 1025)).astype(np.float32)
    for d in (0, 1):
        for x in (pyml.tensor(a), pyml.tensor(np.ascontiguousarray(a.T)).T):
            v, i = x.sort(d)
            np.testing.assert_array_equal(v.numpy(), np.sort(a, axis=d))
            np.testing.assert_array_equal(i.numpy(), np.argsort(a, axis=d, kind="stable"))
    b = rng.integers(0, 50, 100_000)
    v, inv, c = pyml.tensor(b).unique(return_inverse=True, return_counts=True)
    wv, winv, wc = np.unique(b, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(v.numpy(), wv)
    np.testing.assert_array_equal(inv.numpy(), winv.reshape(b.shape))
    np.testing.assert_array_equal(c.numpy(), wc)


def test_sort_family_results_are_named_tuples():
    x = pyml.tensor([[3.0, 1.0, 2.0]])
    values, indices = x.sort()
    assert x.sort().values.tolist() == values.tolist() == [[1.0, 2.0, 3.0]]
    assert x.topk(1).indices.tolist() == [[0]] and x.kthvalue(2).values.item() == 2.0
    assert x.median(1).indices.tolist() == [2] and x.mode(1, keepdim=True).values.shape == (1, 1)
    assert type(x.sort()).__name__ == "sort" and type(x.topk(1)).__name__ == "topk"
    assert x.argsort(dim=1, descending=True).tolist() == [[0, 2, 1]]
    assert x.sort(axis=1).indices.tolist() == [[1, 2, 0]]


def test_sort_family_bad_inputs_name_the_op():
    x = pyml.ones(2, 3)
    with pytest.raises(ValueError, match=r"topk: k must be in \[0, 3\] \(the size of dim 1\), got k = 4"):
        x.topk(4)
    with pytest.raises(ValueError, match="topk: k must be in"):
        x.topk(-1)
    with pytest.raises(ValueError, match=r"kthvalue: k must be in \[1, 2\]"):
        x.kthvalue(0, 0)
    with pytest.raises(IndexError, match=r"sort: dim must be in the range \[-2, 1\], got 2"):
        x.sort(2)
    with pytest.raises(IndexError, match="topk: dim must be in the range"):
        x.topk(1, -3)
    with pytest.raises(IndexError, match=r"median: expected reduction dim 0 to have non-zero size"):
        pyml.zeros(0, 3).median(0)
    with pytest.raises(IndexError, match="mode: expected reduction dim 1"):
        pyml.zeros(2, 0).mode(1)
    with pytest.raises(TypeError, match="sort: argument 'input' must be Tensor"):
        pyml.sort([3, 1])
    with pytest.raises(TypeError, match="topk: k must be an int, got float"):
        x.topk(1.5)
    with pytest.raises(IndexError, match="unique: dim must be in the range"):
        pyml.unique(x, dim=3)
