"""Top-level names torch has, against torch: constants, range, gradient (pyml/_ops/finite_diff.py), empty_permuted,
nonzero_static, get_device_module (pyml/_ops/toplevel_more.py), conv3d / conv_transpose3d / convolution /
max_pool3d / embedding_bag (pyml/nn/_toplevel*.py) and the autocast state functions (pyml/amp/autocast_mode.py):
values, dtypes, shapes, gradients and every error."""
import math
import warnings

import numpy as np
import pytest
import torch

import pyml


def close(p, t, rtol=1e-12, atol=1e-12):
    assert tuple(p.shape) == tuple(t.shape), (tuple(p.shape), tuple(t.shape))
    assert str(p.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], (p.dtype, t.dtype)
    np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)


def pair(a, requires_grad=False):
    return pyml.tensor(a).requires_grad_(requires_grad), torch.tensor(a).requires_grad_(requires_grad)


def backward_both(ps, ts, seed=0):
    g = np.random.default_rng(seed)
    cot = [g.standard_normal(tuple(t.shape)) for t in ts]
    sum((p * pyml.tensor(c).to(p.dtype)).sum() for p, c in zip(ps, cot)).backward()
    sum((t * torch.tensor(c).to(t.dtype)).sum() for t, c in zip(ts, cot)).backward()


# ---------------------------------------------------------------------------------------- constants, range
def test_constants_are_torchs():
    for name in ("pi", "e", "inf"):
        assert type(getattr(pyml, name)) is float and getattr(pyml, name) == getattr(torch, name)
    assert type(pyml.nan) is float and math.isnan(pyml.nan)
    assert pyml.newaxis is None and pyml.ones(3)[pyml.newaxis].shape == (1, 3)


@pytest.mark.parametrize("args, kwargs", [((1, 4), {}), ((1, 4, 0.5), {}), ((0, 1, 0.1), {}), ((4, 1, -1), {}),
                                          ((1.0, 1.0), {}), ((0, 1, 0.3), {}), ((1, 4), {"dtype": "int64"}),
                                          ((0.5, 3.7), {"dtype": "int64"}), ((0, 10, 3), {"dtype": "int32"}),
                                          ((0, 1, 0.1), {"dtype": "float64"}), ((-3, 2.5, 0.7), {"dtype": "float16"})])
def test_range_matches_torch(args, kwargs):
    kw_p = {k: getattr(pyml, v) for k, v in kwargs.items()}
    kw_t = {k: getattr(torch, v) for k, v in kwargs.items()}
    with pytest.warns(UserWarning, match="pyml.range is deprecated"):
        p = pyml.range(*args, **kw_p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = torch.range(*args, **kw_t)
    close(p, t, 0, 0)


def test_range_keywords_and_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = pyml.range(start=1, end=3, requires_grad=True)
        assert r.requires_grad and r.tolist() == [1.0, 2.0, 3.0]
        out = pyml.empty(2)
        assert pyml.range(1, 4, out=out) is out and out.tolist() == [1.0, 2.0, 3.0, 4.0]
        assert pyml.range(pyml.tensor(1), pyml.tensor(3.0)).tolist() == [1.0, 2.0, 3.0]
        with pytest.raises(ValueError, match="range: step must be nonzero, got step=0"):
            pyml.range(1, 4, 0)
        with pytest.raises(ValueError, match="range: upper bound and lower bound inconsistent with step sign"):
            pyml.range(4, 1)
        with pytest.raises(ValueError, match="range: upper bound and lower bound inconsistent with step sign"):
            pyml.range(1, 4, -1)
        for bad in (math.inf, math.nan):
            with pytest.raises(ValueError, match="range: unsupported range: 0.0 -> "):
                pyml.range(0, bad)
            with pytest.raises(ValueError, match="range: unsupported range"):
                pyml.range(0, bad, dtype=pyml.int64)
        with pytest.raises(TypeError, match="range: expected a real, non-bool dtype, got pyml.bool"):
            pyml.range(0, 3, dtype=pyml.bool)
        with pytest.raises(TypeError, match="range: argument 'end' must be a number, got str"):
            pyml.range(0, "3")
        with pytest.raises(TypeError):
            pyml.range(5)  # end is required, as torch's


# ---------------------------------------------------------------------------------------- gradient
def _grid(rng, n):
    return np.cumsum(rng.random(n) + 0.1)


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("spacing", ["default", "scalar", "list", "coords"])
@pytest.mark.parametrize("dim", [None, 1, [2, 0], -1])
def test_gradient_matches_torch(edge_order, spacing, dim, rng):
    x = rng.standard_normal((5, 7, 3))
    x[0, 0] = 1e6  # a large value among unit ones
    dims = [0, 1, 2] if dim is None else ([dim] if isinstance(dim, int) else dim)
    if spacing == "default":
        sp, st = {}, {}
    elif spacing == "scalar":
        sp = st = {"spacing": 2.5}
    elif spacing == "list":
        sp = st = {"spacing": [0.5 + i for i in range(len(dims))]}
    else:
        grids = [_grid(rng, x.shape[d]) for d in dims]
        sp, st = {"spacing": [pyml.tensor(g) for g in grids]}, {"spacing": [torch.tensor(g) for g in grids]}
    extra = {} if dim is None else {"dim": dim}
    p, t = pair(x, True)
    P = pyml.gradient(p, edge_order=edge_order, **sp, **extra)
    T = torch.gradient(t, edge_order=edge_order, **st, **extra)
    assert isinstance(P, tuple) and len(P) == len(T)
    for a, b in zip(P, T):
        close(a, b, 1e-12, 1e-9)
    backward_both(P, T)
    close(p.grad, t.grad, 1e-12, 1e-9)


@pytest.mark.parametrize("case", ["int", "int_scalar", "int_coords", "f32_f64coords", "f16", "size2"])
def test_gradient_dtypes_match_torch(case, rng):
    xi = rng.integers(-5, 5, (4, 6))
    lib_args = {
        "int": (xi, {}), "int_scalar": (xi, {"spacing": 2, "edge_order": 2}),
        "int_coords": (xi, {"spacing": "ints"}), "f32_f64coords": (xi.astype(np.float32), {"spacing": "mixed"}),
        "f16": (rng.standard_normal((3, 5)).astype(np.float16), {}),
        "size2": (rng.standard_normal((2, 4)).astype(np.float32), {"spacing": "mixed"}),
    }[case]
    a, kw = lib_args
    n0, n1 = a.shape

    def spacing(lib):
        if kw.get("spacing") == "ints":
            return [lib.tensor([0, 1, 3, 4]), lib.arange(n1) * 2]  # integer coordinates
        if kw.get("spacing") == "mixed":
            return [lib.tensor(_grid(np.random.default_rng(0), n0)), lib.arange(n1, dtype=lib.float32)]
        return kw.get("spacing", 1)
    P = pyml.gradient(pyml.tensor(a), spacing=spacing(pyml), edge_order=kw.get("edge_order", 1))
    T = torch.gradient(torch.tensor(a), spacing=spacing(torch), edge_order=kw.get("edge_order", 1))
    for x, y in zip(P, T):
        close(x, y, 2e-3 if case == "f16" else 1e-6, 1e-3 if case == "f16" else 1e-6)


def test_gradient_edge_cases():
    assert pyml.gradient(pyml.tensor(3.0)) == ()
    assert pyml.gradient(pyml.ones(2, 4), dim=[]) == ()
    (g,) = pyml.gradient(pyml.tensor([1.0, 4.0]))  # size 2 with edge_order 1: only the two one-sided ends
    assert g.tolist() == [3.0, 3.0]
    p, t = pair(np.array([4.0, 1.0, 1.0, 16.0]))
    close(pyml.gradient(p, spacing=(pyml.tensor([-2.0, -1.0, 1.0, 4.0]),))[0],
          torch.gradient(t, spacing=(torch.tensor([-2.0, -1.0, 1.0, 4.0]),))[0])
    close(pyml.gradient(p, spacing=pyml.tensor(2.0))[0], torch.gradient(t, spacing=torch.tensor(2.0))[0])
    z = np.random.default_rng(3).standard_normal((4, 5, 2))  # complex input: both parts differentiated
    pz, tz = pyml.view_as_complex(pyml.tensor(z)), torch.view_as_complex(torch.tensor(z))
    for a, b in zip(pyml.gradient(pz, spacing=[0.5, 2.0], edge_order=2), torch.gradient(tz, spacing=[0.5, 2.0],
                                                                                          edge_order=2)):
        close(a, b)


def test_gradient_errors():
    x = pyml.ones(2, 4)
    with pytest.raises(ValueError, match="gradient: only supports edge_order=1 and edge_order=2, got edge_order=3"):
        pyml.gradient(x, edge_order=3)
    with pytest.raises(ValueError, match=r"gradient: expected each dimension size to be at least edge_order\+1 \(3\), "
                                         r"got size 2 at dim 0"):
        pyml.gradient(x, edge_order=2)
    with pytest.raises(ValueError, match=r"gradient: spacing must be a scalar or a list of length equal to "
                                         r"input.dim\(\) \(2\), since dim is not given, got a list of length 3"):
        pyml.gradient(x, spacing=[1, 2, 3])
    with pytest.raises(ValueError, match=r"the dim argument's length \(1\), got a list of length 2"):
        pyml.gradient(x, dim=1, spacing=[1, 2])
    with pytest.raises(ValueError, match="gradient: dim 0 appears multiple times"):
        pyml.gradient(x, dim=[0, 0])
    with pytest.raises(IndexError, match="gradient"):
        pyml.gradient(x, dim=5)
    with pytest.raises(ValueError, match="gradient: expected each element of spacing to have one dimension, got an "
                                         "element with 2 dimensions"):
        pyml.gradient(x, spacing=[pyml.ones(2, 1), pyml.ones(4)])
    with pytest.raises(ValueError, match=r"gradient: the coordinates for dim 1 must have input.shape\[1\] = 4 entries, "
                                         "got 5"):
        pyml.gradient(x, spacing=[pyml.ones(2), pyml.arange(5.0)])
    with pytest.raises(TypeError, match="gradient: spacing must be all scalars or all Tensors"):
        pyml.gradient(x, spacing=[1, pyml.ones(4)])
    with pytest.raises(TypeError, match="gradient: spacing must be a scalar, a list of scalars or a list of Tensors, "
                                        "got str"):
        pyml.gradient(x, spacing="a")
    with pytest.raises(TypeError, match="gradient: does not support pyml.uint8 input"):
        pyml.gradient(pyml.ones(3, dtype=pyml.uint8))
    with pytest.raises(TypeError, match="gradient: argument 'dim' must be an int, got float"):
        pyml.gradient(x, dim=1.5)


# ---------------------------------------------------------------------------------------- empty_permuted etc.
@pytest.mark.parametrize("size, layout", [((2, 3, 5, 7), (0, 2, 3, 1)), ((2, 3), (1, 0)), ((4, 1, 0, 3), (2, 0, 3, 1)),
                                          ((), ()), ((7,), (0,))])
def test_empty_permuted_strides_match_torch(size, layout):
    p = pyml.empty_permuted(size, layout, dtype=pyml.int32)
    t = torch.empty_permuted(size, layout, dtype=torch.int32)
    assert p.shape == t.shape and p.stride() == t.stride() and p.dtype is pyml.int32
    assert pyml.empty_permuted([2, 3], [1, 0], requires_grad=True).requires_grad


def test_empty_permuted_errors():
    with pytest.raises(ValueError, match=r"empty_permuted: the number of dims in size must equal the length of "
                                         r"physical_layout, got len\(size\) = 2 and len\(physical_layout\) = 1"):
        pyml.empty_permuted((2, 3), (0,))
    with pytest.raises(ValueError, match="empty_permuted: duplicate dims are not allowed"):
        pyml.empty_permuted((2, 3), (0, 0))
    for bad in ((0, 2), (0, -1)):
        with pytest.raises(IndexError, match=f"empty_permuted: dimension out of range .* got {bad[1]} at index 1"):
            pyml.empty_permuted((2, 3), bad)


@pytest.mark.parametrize("size", [0, 2, 3, 7])
@pytest.mark.parametrize("fill", [-1, 5])
def test_nonzero_static_matches_torch(size, fill, rng):
    a = rng.integers(0, 2, (3, 4)) * rng.standard_normal((3, 4))
    p, t = pair(a)
    close(pyml.nonzero_static(p, size=size, fill_value=fill), torch.nonzero_static(t, size=size, fill_value=fill), 0, 0)
    close(pyml.nonzero_static(pyml.tensor(3.0), size=size), torch.nonzero_static(torch.tensor(3.0), size=size), 0, 0)
    close(pyml.nonzero_static(pyml.zeros(5), size=size), torch.nonzero_static(torch.zeros(5), size=size), 0, 0)


def test_nonzero_static_errors():
    x = pyml.ones(3)
    with pytest.raises(ValueError, match="nonzero_static: 'size' must be a non-negative integer, got size=-1"):
        pyml.nonzero_static(x, size=-1)
    with pytest.raises(TypeError, match="nonzero_static: argument 'size' must be an int, got float"):
        pyml.nonzero_static(x, size=2.0)
    with pytest.raises(TypeError, match="nonzero_static: argument 'fill_value' must be an int, got float"):
        pyml.nonzero_static(x, size=2, fill_value=1.5)
    with pytest.raises(TypeError):
        pyml.nonzero_static(x, 2)  # size is keyword-only


def test_get_device_module():
    assert pyml.get_device_module("cpu") is pyml.cpu and pyml.get_device_module(pyml.device("cpu")) is pyml.cpu
    assert pyml.get_device_module("cuda:0") is pyml.cuda
    assert pyml.get_device_module() is (pyml.cuda if pyml.cuda.is_available() else pyml.cpu)
    with pytest.raises(ValueError, match="device"):
        pyml.get_device_module("foo")
    with pytest.raises(TypeError, match="get_device_module: device must be a pyml.device, a str or None, got int"):
        pyml.get_device_module(3)


# ---------------------------------------------------------------------------------------- nn aliases
def test_conv3d_and_conv_transpose3d_match_torch(rng):
    x, w, b = rng.standard_normal((2, 4, 5, 6, 7)), rng.standard_normal((4, 2, 2, 3, 2)), rng.standard_normal(4)
    (px, tx), (pw, tw), (pb, tb) = pair(x, True), pair(w, True), pair(b, True)
    P, T = pyml.conv3d(px, pw, pb, 1, 1, 1, 2), torch.conv3d(tx, tw, tb, 1, 1, 1, 2)
    close(P, T, 1e-12, 1e-12)
    backward_both([P], [T])
    for a, c in ((px, tx), (pw, tw), (pb, tb)):
        close(a.grad, c.grad, 1e-12, 1e-12)
    wt = rng.standard_normal((4, 3, 2, 3, 2))
    close(pyml.conv_transpose3d(pyml.tensor(x), pyml.tensor(wt), None, 2, 1, 1),
          torch.conv_transpose3d(torch.tensor(x), torch.tensor(wt), None, 2, 1, 1))


def test_max_pool3d_matches_torch(rng):
    x = rng.standard_normal((2, 3, 5, 6, 7))
    p, t = pair(x, True)
    close(pyml.max_pool3d(p, 2), torch.max_pool3d(t, 2), 0, 0)
    P, T = pyml.max_pool3d(p, (2, 3, 2), (1, 2, 2), 1, 1, True), torch.max_pool3d(t, (2, 3, 2), (1, 2, 2), 1, 1, True)
    close(P, T, 0, 0)
    backward_both([P], [T])
    close(p.grad, t.grad, 0, 0)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("transposed", [False, True])
def test_convolution_matches_torch(nd, transposed, rng):
    x = rng.standard_normal((2, 4) + (5, 6, 7)[:nd])
    w = rng.standard_normal(((4, 3) if transposed else (3, 4)) + (2, 3, 2)[:nd])
    b = rng.standard_normal(3)
    (px, tx), (pw, tw), (pb, tb) = pair(x, True), pair(w, True), pair(b, True)
    args = ([2], [1] * nd, [1], transposed, [1] if transposed else [0], 1)
    P, T = pyml.convolution(px, pw, pb, *args), torch.convolution(tx, tw, tb, *args)
    close(P, T, 1e-12, 1e-12)
    backward_both([P], [T])
    for a, c in ((px, tx), (pw, tw), (pb, tb)):
        close(a.grad, c.grad, 1e-12, 1e-11)


def test_convolution_errors():
    x, w = pyml.ones(1, 2, 5, 5), pyml.ones(3, 2, 3, 3)
    with pytest.raises(ValueError, match=r"convolution: expected stride to be a single integer value or a list of 2 "
                                         r"values to match the convolution dimensions, got stride=\[1, 1, 1\]"):
        pyml.convolution(x, w, None, [1, 1, 1], [0], [1], False, [0], 1)
    with pytest.raises(ValueError, match="convolution: weight must be 3-D, 4-D or 5-D"):
        pyml.convolution(x, pyml.ones(3, 2), None, [1], [0], [1], False, [0], 1)
    with pytest.raises(ValueError, match=r"convolution: expected a batched input with weight's rank \(4\)"):
        pyml.convolution(x[0], w, None, [1], [0], [1], False, [0], 1)
    with pytest.raises(TypeError, match="convolution: argument 'weight' must be Tensor"):
        pyml.convolution(x, 3, None, [1], [0], [1], False, [0], 1)


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("padding_idx", [None, 4])
def test_embedding_bag_matches_torch(mode, padding_idx, rng):
    w = rng.standard_normal((10, 3))
    idx, off = np.array([1, 2, 4, 5, 4, 3, 2, 9, 4]), np.array([0, 4, 4, 6])
    (pw, tw), (pi, ti), (po, to) = pair(w, True), pair(idx), pair(off)
    P = pyml.embedding_bag(pw, pi, po, False, mode, False, None, False, padding_idx)
    T = torch.embedding_bag(tw, ti, to, False, mode, False, None, False, padding_idx)
    assert len(P) == 4
    close(P[0], T[0], 1e-12, 1e-12)
    close(P[1], T[1], 0, 0)  # offset2bag
    if mode:  # torch's sum mode returns placeholder bag_size / max_indices (zeros); pyml returns the counts
        close(P[2], T[2], 0, 0)
        close(P[3], T[3], 0, 0)
    else:
        counts = [3, 0, 1, 2] if padding_idx is not None else [4, 0, 2, 3]  # entries other than padding_idx
        assert P[2].tolist() == counts and P[3].tolist() == counts
    backward_both([P[0]], [T[0]])
    close(pw.grad, tw.grad, 1e-12, 1e-12)


def test_embedding_bag_errors_and_weights():
    w, idx, off = pyml.randn(10, 3), pyml.tensor([1, 2, 4, 5]), pyml.tensor([0, 2])
    with pytest.raises(ValueError, match=r"embedding_bag: mode must be 0 \(sum\), 1 \(mean\) or 2 \(max\), got 'sum'"):
        pyml.embedding_bag(w, idx, off, False, "sum")
    with pytest.raises(TypeError, match="embedding_bag: argument 'offsets' must be Tensor, not NoneType"):
        pyml.embedding_bag(w, idx, None)
    psw = np.array([0.5, 2.0, -1.0, 3.0])
    P = pyml.embedding_bag(w, idx, off, False, 0, False, pyml.tensor(psw, dtype=pyml.float32))
    T = torch.embedding_bag(torch.tensor(w.numpy()), torch.tensor(idx.numpy()), torch.tensor(off.numpy()), False, 0,
                            False, torch.tensor(psw, dtype=torch.float32))
    close(P[0], T[0], 1e-6, 1e-6)


# ---------------------------------------------------------------------------------------- autocast state
@pytest.fixture
def autocast_state():
    yield
    pyml.set_autocast_enabled("cpu", False)
    pyml.set_autocast_enabled("cuda", False)
    pyml.set_autocast_dtype("cpu", pyml.bfloat16)
    pyml.set_autocast_dtype("cuda", pyml.float16)
    pyml.set_autocast_cache_enabled(True)


def test_set_autocast_enabled_changes_op_dtypes(autocast_state):
    a = pyml.randn(3, 3)
    assert not pyml.is_autocast_enabled("cpu") and (a @ a).dtype is pyml.float32
    pyml.set_autocast_enabled("cpu", True)
    assert pyml.is_autocast_enabled("cpu") and (a @ a).dtype is pyml.bfloat16
    pyml.set_autocast_dtype("cpu", pyml.float16)
    assert pyml.get_autocast_dtype("cpu") is pyml.float16 and (a @ a).dtype is pyml.float16
    with pyml.autocast("cpu", dtype=pyml.bfloat16):
        assert (a @ a).dtype is pyml.bfloat16
    assert (a @ a).dtype is pyml.float16  # the region put the state back
    with pyml.autocast("cpu", enabled=False):
        assert (a @ a).dtype is pyml.float32 and not pyml.is_autocast_enabled("cpu")
    pyml.set_autocast_enabled("cpu", False)
    assert (a @ a).dtype is pyml.float32
    with pyml.autocast("cpu"):  # a region's default dtype is the one set_autocast_dtype chose
        assert (a @ a).dtype is pyml.float16
    pyml.set_autocast_enabled(True)  # the one-argument form is for 'cuda'
    assert pyml.is_autocast_enabled() and pyml.is_autocast_enabled("cuda") and not pyml.is_autocast_enabled("cpu")


def test_autocast_cache_functions(autocast_state):
    from pyml.amp import autocast_mode
    w, a = pyml.randn(3, 3, requires_grad=True), pyml.randn(3, 3)
    assert pyml.is_autocast_cache_enabled()
    with pyml.autocast("cpu"):
        w @ a
        assert len(autocast_mode._state.cache) == 1
        pyml.clear_autocast_cache()
        assert not autocast_mode._state.cache
    pyml.set_autocast_cache_enabled(False)
    with pyml.autocast("cpu"):
        assert not pyml.is_autocast_cache_enabled()
        w @ a
        assert not autocast_mode._state.cache
    with pyml.autocast("cpu", cache_enabled=True):
        assert pyml.is_autocast_cache_enabled()
    assert not pyml.is_autocast_cache_enabled()


def test_deprecated_autocast_functions(autocast_state):
    with pytest.warns(DeprecationWarning, match=r"pyml.set_autocast_cpu_enabled\(enabled\) is deprecated"):
        pyml.set_autocast_cpu_enabled(True)
    with pytest.warns(DeprecationWarning, match="is_autocast_cpu_enabled"):
        assert pyml.is_autocast_cpu_enabled()
    with pytest.warns(DeprecationWarning, match="set_autocast_cpu_dtype"):
        pyml.set_autocast_cpu_dtype(pyml.float16)
    with pytest.warns(DeprecationWarning, match="get_autocast_cpu_dtype"):
        assert pyml.get_autocast_cpu_dtype() is pyml.float16
    with pytest.warns(DeprecationWarning, match="set_autocast_gpu_dtype"):
        pyml.set_autocast_gpu_dtype(pyml.bfloat16)
    with pytest.warns(DeprecationWarning, match="get_autocast_gpu_dtype"):
        assert pyml.get_autocast_gpu_dtype() is pyml.bfloat16
    assert (pyml.randn(2, 2) @ pyml.randn(2, 2)).dtype is pyml.float16


def test_autocast_state_errors(autocast_state):
    with pytest.raises(RuntimeError, match="set_autocast_enabled: device_type must be 'cuda' or 'cpu', got 'foo'"):
        pyml.set_autocast_enabled("foo", True)
    with pytest.raises(TypeError, match="set_autocast_enabled: enabled must be a bool, got int"):
        pyml.set_autocast_enabled("cpu", 1)
    with pytest.raises(TypeError, match="set_autocast_cache_enabled: enabled must be a bool, got int"):
        pyml.set_autocast_cache_enabled(1)
    with pytest.raises(ValueError, match="set_autocast_dtype: dtype must be float16 or bfloat16, got pyml.float64"):
        pyml.set_autocast_dtype("cpu", pyml.float64)
    with pytest.raises(TypeError, match="set_autocast_dtype: device_type must be a str, got int"):
        pyml.set_autocast_dtype(0, pyml.float16)
