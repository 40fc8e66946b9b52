"""interpolate's bicubic, 5-D (nearest, nearest-exact, trilinear) and antialiased (bilinear, bicubic, lanczos)
modes and grid_sample's bicubic mode against torch.nn.functional: outputs and gradients in float64 and float32
on odd sizes, up- and downscaling, sizes and (non-integer) scale factors, align_corners both ways,
recompute_scale_factor, non-contiguous and channels-last-strided inputs; gradcheck, second order through
grid_sample's composite, the nn.Upsample module, half types and bad inputs (torch's exception types)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pyml
import pyml.nn.functional as F
from pyml import _C
from pyml.autograd import gradcheck, gradgradcheck
from nn_helpers import leaf

TOL = {"float64": 1e-12, "float32": 2e-5}


def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)




def compare(fn, arrays, dtype="float64", layout="contiguous", tol=None, grads=True, **kw):
    """getattr(F, fn) and getattr(TF, fn) on the same values: outputs, then gradients of a random weighting."""
    tol = tol or TOL[dtype]
    P = [leaf(pyml, a, dtype, layout if i == 0 else "contiguous") for i, a in enumerate(arrays)]
    T = [leaf(torch, a, dtype, layout if i == 0 else "contiguous") for i, a in enumerate(arrays)]
    if layout != "contiguous":
        assert not P[0].is_contiguous()
    y, yt = getattr(F, fn)(*P, **kw), getattr(TF, fn)(*T, **kw)
    assert tuple(y.shape) == tuple(yt.shape) and y.dtype is getattr(pyml, dtype)
    np.testing.assert_allclose(y.detach().double().numpy(), yt.detach().double().numpy(), rtol=tol, atol=tol)
    if not grads:
        return y
    g = rand(tuple(yt.shape), 1)
    y.backward(pyml.tensor(g).to(y.dtype))
    yt.backward(torch.tensor(g).to(yt.dtype))
    for i, (p, t) in enumerate(zip(P, T)):
        np.testing.assert_allclose(p.grad.double().numpy(), t.grad.double().numpy(), rtol=tol * 10, atol=tol * 10,
                                   err_msg=f"gradient of argument {i}")
    return y


# ------------------------------------------------------------------------------------- bicubic
SIZES_2D = [dict(size=(9, 4)), dict(size=(13, 15)), dict(size=7), dict(size=(1, 1)), dict(size=(2, 29)),
            dict(scale_factor=2), dict(scale_factor=1.7), dict(scale_factor=(2.3, 0.6)), dict(scale_factor=0.5),
            dict(scale_factor=0.35), dict(scale_factor=1.7, recompute_scale_factor=True),
            dict(scale_factor=(3, 1.25))]


@pytest.mark.parametrize("kw", SIZES_2D, ids=[str(i) for i in range(len(SIZES_2D))])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bicubic(kw, align_corners, dtype):
    compare("interpolate", [rand((2, 3, 5, 7))], dtype, mode="bicubic", align_corners=align_corners, **kw)


@pytest.mark.parametrize("shape,kw", [((1, 1, 1, 1), dict(size=(3, 4))), ((1, 2, 13, 1), dict(size=(7, 5))),
                                      ((2, 1, 1, 13), dict(scale_factor=(3, 0.4))), ((1, 1, 2, 2), dict(size=1))])
def test_bicubic_degenerate_sizes(shape, kw):
    for ac in (False, True):
        compare("interpolate", [rand(shape)], mode="bicubic", align_corners=ac, **kw)


# ------------------------------------------------------------------------------------- 5-D
SIZES_3D = [dict(size=(3, 9, 4)), dict(size=5), dict(size=(1, 1, 1)), dict(size=(7, 2, 13)),
            dict(scale_factor=2), dict(scale_factor=1.7), dict(scale_factor=(2.3, 0.6, 1.5)), dict(scale_factor=0.5),
            dict(scale_factor=(0.6, 1.7, 3), recompute_scale_factor=True)]


@pytest.mark.parametrize("kw", SIZES_3D, ids=[str(i) for i in range(len(SIZES_3D))])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "trilinear-False", "trilinear-True"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_interpolate_5d(kw, mode, dtype):
    kw = dict(kw)
    if mode.startswith("trilinear"):
        mode, ac = mode.split("-")
        kw["align_corners"] = ac == "True"
    compare("interpolate", [rand((2, 3, 4, 5, 7))], dtype, mode=mode, **kw)


def test_interpolate_5d_area_goes_to_adaptive_avg_pool3d():
    compare("interpolate", [rand((2, 3, 4, 5, 7))], size=(3, 2, 5), mode="area")
    compare("interpolate", [rand((2, 3, 4, 5, 7))], scale_factor=(0.6, 1.5, 0.5), mode="area")


def test_interpolate_5d_odd_shapes():
    compare("interpolate", [rand((1, 2, 1, 7, 13))], size=(3, 5, 6), mode="trilinear", align_corners=False)
    compare("interpolate", [rand((1, 1, 13, 1, 7))], size=(7, 3, 1), mode="trilinear", align_corners=True)
    compare("interpolate", [rand((3, 1, 7, 1, 1))], scale_factor=(0.5, 3, 2.5), mode="nearest")
    compare("interpolate", [rand((1, 2, 9, 11, 3))], size=(2, 13, 7), mode="nearest-exact")


@pytest.mark.parametrize("mode", ["trilinear", "bilinear", "bicubic", "nearest", "nearest-exact"])
def test_scale_factor_that_keeps_or_doubles_a_size(mode):
    # scale 1.1 keeps a size of 5 and 2.1 doubles it: torch copies such a dim in its linear modes (not in
    # bicubic), and its 3-D nearest kernel keeps to the scale factor. torch's nearest backward copies and
    # halves such dims all the same (it is not its forward's adjoint); pyml's is, checked by gradcheck.
    shape = (2, 3, 5, 4, 5) if mode in ("trilinear", "nearest", "nearest-exact") else (2, 3, 5, 6)
    scale = (1.1, 2.1, 0.7)[:len(shape) - 2]
    compare("interpolate", [rand(shape)], grads=mode != "nearest", scale_factor=scale, mode=mode)
    if mode == "nearest":
        x = pyml.tensor(rand((1, 1, 5, 2, 5))).requires_grad_()
        assert gradcheck(lambda t: F.interpolate(t, scale_factor=scale, mode=mode), (x,))


# ------------------------------------------------------------------------------------- antialias
SIZES_AA = [dict(size=(4, 6)), dict(size=(1, 1)), dict(size=(3, 17)), dict(size=(25, 5)), dict(size=(13, 17)),
            dict(scale_factor=0.3), dict(scale_factor=(0.45, 0.7)), dict(scale_factor=(0.25, 2.2)),
            dict(scale_factor=0.4, recompute_scale_factor=True), dict(scale_factor=1.6)]


@pytest.mark.parametrize("kw", SIZES_AA, ids=[str(i) for i in range(len(SIZES_AA))])
@pytest.mark.parametrize("mode", ["bilinear-False", "bilinear-True", "bicubic-False", "bicubic-True", "lanczos-False"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_antialias(kw, mode, dtype):
    mode, ac = mode.split("-")
    compare("interpolate", [rand((2, 3, 13, 17))], dtype, mode=mode, align_corners=ac == "True", antialias=True,
            **kw)


def test_antialias_large_downscale_float32():
    compare("interpolate", [rand((1, 2, 97, 61))], "float32", size=(5, 3), mode="bicubic", antialias=True)
    compare("interpolate", [rand((1, 2, 97, 61))], "float32", size=(7, 60), mode="bilinear", antialias=True)


def test_antialias_upscale_bilinear_is_bilinear():
    x = pyml.tensor(rand((2, 3, 5, 7)))
    a = F.interpolate(x, size=(9, 13), mode="bilinear", antialias=True)
    b = F.interpolate(x, size=(9, 13), mode="bilinear")
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)


def test_antialias_unchanged_dim_with_scale_factor():
    # H keeps its size with a scale factor of 1.1: torch's CPU kernel copies such a dim unchanged (so does
    # pyml), but torch's backward filters it anyway; pyml's backward is the adjoint of its forward
    a = rand((1, 2, 5, 8))
    y = F.interpolate(pyml.tensor(a), scale_factor=(1.1, 0.5), mode="bilinear", antialias=True)
    yt = TF.interpolate(torch.tensor(a), scale_factor=(1.1, 0.5), mode="bilinear", antialias=True)
    np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-12, atol=1e-12)
    x = pyml.tensor(a).requires_grad_()
    assert gradcheck(lambda t: F.interpolate(t, scale_factor=(1.1, 0.5), mode="bilinear", antialias=True), (x,))


# ------------------------------------------------------------------------------------- layouts
@pytest.mark.parametrize("layout", ["strided", "channels_last"])
@pytest.mark.parametrize("case", [
    dict(shape=(2, 3, 7, 6), size=(11, 4), mode="bicubic", align_corners=False),
    dict(shape=(2, 3, 13, 11), size=(4, 5), mode="bicubic", align_corners=True, antialias=True),
    dict(shape=(2, 3, 13, 11), size=(6, 3), mode="bilinear", align_corners=False, antialias=True),
    dict(shape=(2, 3, 4, 5, 6), size=(7, 3, 9), mode="trilinear", align_corners=False),
    dict(shape=(2, 3, 4, 5, 6), scale_factor=1.5, mode="nearest"),
], ids=["bicubic", "bicubic-aa", "bilinear-aa", "trilinear", "nearest3d"])
def test_noncontiguous_float32(layout, case):
    case = dict(case)
    shape = case.pop("shape")
    compare("interpolate", [rand(shape)], "float32", layout, **case)


# ------------------------------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("shape,kw", [
    ((1, 2, 3, 4), dict(size=(5, 3), mode="bicubic", align_corners=False)),
    ((1, 1, 4, 3), dict(scale_factor=1.5, mode="bicubic", align_corners=True)),
    ((1, 2, 2, 3, 2), dict(size=(3, 2, 4), mode="trilinear", align_corners=False)),
    ((1, 1, 3, 2, 2), dict(scale_factor=(0.7, 1.5, 2), mode="trilinear", align_corners=True)),
    ((1, 2, 2, 3, 2), dict(size=(3, 4, 1), mode="nearest")),
    ((1, 1, 3, 2, 2), dict(scale_factor=1.6, mode="nearest-exact")),
    ((1, 2, 7, 6), dict(size=(2, 4), mode="bilinear", antialias=True)),
    ((1, 1, 9, 5), dict(size=(3, 2), mode="bicubic", antialias=True, align_corners=True)),
    ((1, 1, 9, 8), dict(size=(2, 3), mode="lanczos", antialias=True)),
], ids=["bicubic", "bicubic-ac", "trilinear", "trilinear-ac", "nearest3d", "nearest-exact3d", "bilinear-aa",
        "bicubic-aa", "lanczos"])
def test_interpolate_gradcheck_and_gradgradcheck(shape, kw):
    x = pyml.tensor(rand(shape)).requires_grad_()
    f = (lambda t: F.interpolate(t, **kw))
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


# ------------------------------------------------------------------------------------- grid_sample bicubic
PADS = ["zeros", "border", "reflection"]


def grid_points(shape, seed=1, spread=1.4):
    return np.random.default_rng(seed).uniform(-spread, spread, shape)


@pytest.mark.parametrize("padding_mode", PADS)
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_grid_sample_bicubic(padding_mode, align_corners, dtype):
    kw = dict(mode="bicubic", padding_mode=padding_mode, align_corners=align_corners)
    compare("grid_sample", [rand((2, 3, 5, 7)), grid_points((2, 4, 6, 2))], dtype, **kw)
    # far outside: reflection folds many times, border clamps every tap
    compare("grid_sample", [rand((1, 2, 7, 4)), grid_points((1, 9, 5, 2), 2, spread=3.5)], dtype, **kw)
    compare("grid_sample", [rand((1, 2, 1, 1)), grid_points((1, 3, 2, 2), 3)], dtype, **kw)
    compare("grid_sample", [rand((2, 3, 6, 5)), grid_points((2, 3, 4, 2), 4)], dtype, "channels_last", **kw)


def test_grid_sample_bicubic_pixel_centres_and_far_points():
    # a grid exactly on pixel centres reproduces the image; far and non-finite points match torch
    x = rand((1, 2, 4, 5))
    gx, gy = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 4))
    grid = np.stack([gx, gy], -1)[None]
    y = F.grid_sample(pyml.tensor(x), pyml.tensor(grid), mode="bicubic", align_corners=True)
    np.testing.assert_allclose(y.numpy(), x, rtol=1e-12, atol=1e-12)
    g = np.array([[[[1e30, 0.0], [-1e30, 0.5], [np.nan, 0.0], [np.inf, 0.0], [0.2, -1e20]]]])
    for pad in ("zeros", "border"):
        y = F.grid_sample(pyml.tensor(x), pyml.tensor(g), mode="bicubic", padding_mode=pad, align_corners=False)
        yt = TF.grid_sample(torch.tensor(x), torch.tensor(g), mode="bicubic", padding_mode=pad, align_corners=False)
        np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-12, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("padding_mode", PADS)
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_bicubic_gradcheck(padding_mode, align_corners):
    x = pyml.tensor(rand((1, 2, 3, 4))).requires_grad_()
    g = pyml.tensor(grid_points((1, 2, 3, 2), 5)).requires_grad_()
    f = (lambda a, b: F.grid_sample(a, b, mode="bicubic", padding_mode=padding_mode, align_corners=align_corners))
    assert gradcheck(f, (x, g))
    assert gradgradcheck(f, (x, g), atol=1e-5, rtol=1e-4)


def _second_order(lib, arrays, kw, seed=3):
    """(first gradients, Hessian-vector products) of sum(f * v + f^2 * v2 / 2) for random v, v2, u."""
    ts = [lib.tensor(a).requires_grad_(True) for a in arrays]
    out = lib.nn.functional.grid_sample(*ts, **kw)
    g = np.random.default_rng(seed)
    v, v2 = (lib.tensor(g.standard_normal(tuple(out.shape))) for _ in range(2))
    grads = lib.autograd.grad((out * v + 0.5 * out * out * v2).sum(), ts, create_graph=True)
    s = sum((gr * lib.tensor(g.standard_normal(tuple(gr.shape)))).sum() for gr in grads)
    hv = lib.autograd.grad(s, ts, allow_unused=True)
    return [gr.detach().numpy() for gr in grads], [h.detach().numpy() for h in hv]


@pytest.mark.parametrize("padding_mode", PADS)
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_bicubic_second_order_matches_torch(padding_mode, align_corners):
    kw = dict(mode="bicubic", padding_mode=padding_mode, align_corners=align_corners)
    arrays = [rand((2, 2, 4, 5)), grid_points((2, 3, 4, 2), 6, spread=1.3)]
    # the first gradient taken with create_graph (the composite's) equals the kernel's
    ts = [pyml.tensor(a).requires_grad_(True) for a in arrays]
    v = pyml.tensor(rand((2, 2, 3, 4), 7))
    plain = pyml.autograd.grad((F.grid_sample(*ts, **kw) * v).sum(), ts)
    built = pyml.autograd.grad((F.grid_sample(*ts, **kw) * v).sum(), ts, create_graph=True)
    for a, b in zip(plain, built):
        np.testing.assert_allclose(b.detach().numpy(), a.numpy(), rtol=1e-10, atol=1e-11)
    first_p, hv_p = _second_order(pyml, arrays, kw)
    first_t, hv_t = _second_order(torch, arrays, kw)
    for a, b in zip(first_p + hv_p, first_t + hv_t):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-9)


# ------------------------------------------------------------------------------------- module, half types
def test_upsample_module_new_modes():
    a = rand((2, 3, 4, 5, 6))
    for kw in (dict(scale_factor=1.5, mode="trilinear"), dict(size=(3, 7, 2), mode="nearest-exact")):
        y = pyml.nn.Upsample(**kw)(pyml.tensor(a))
        np.testing.assert_allclose(y.numpy(), torch.nn.Upsample(**kw)(torch.tensor(a)).numpy(), rtol=1e-12,
                                   atol=1e-12)
    m, mt = pyml.nn.Upsample(size=(9, 4), mode="bicubic", align_corners=True), torch.nn.Upsample(
        size=(9, 4), mode="bicubic", align_corners=True)
    np.testing.assert_allclose(m(pyml.tensor(a[:, :, 0])).numpy(), mt(torch.tensor(a[:, :, 0])).numpy(),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_types_compute_in_float32(dtype):
    dt = getattr(pyml, dtype)
    fns = [lambda a: F.interpolate(a, size=(7, 3), mode="bicubic"),
           lambda a: F.interpolate(a, size=(2, 3), mode="bicubic", antialias=True),
           lambda a: F.interpolate(a.unsqueeze(2), size=(3, 6, 4), mode="trilinear")]
    for f in fns:
        x = pyml.tensor(rand((2, 3, 5, 7))).to(dt).requires_grad_()
        y = f(x)
        assert y.dtype is dt
        np.testing.assert_array_equal(y.detach().float().numpy(), f(x.detach().float()).to(dt).float().numpy())
        y.sum().backward()
        assert x.grad.dtype is dt and tuple(x.grad.shape) == (2, 3, 5, 7)


# ------------------------------------------------------------------------------------- bad inputs
def _t(*shape, dtype=pyml.float32):
    return pyml.zeros(*shape, dtype=dtype)


BAD = [
    (lambda: F.interpolate(_t(1, 2, 3, 3, 3), size=4, mode="bicubic"), NotImplementedError,
     r"interpolate: got 5-D input, but bicubic mode needs 4-D input"),
    (lambda: F.interpolate(_t(1, 2, 3), size=4, mode="bicubic"), NotImplementedError,
     r"interpolate: got 3-D input, but bicubic mode needs 4-D input"),
    (lambda: F.interpolate(_t(1, 2, 3, 3), size=4, mode="trilinear"), NotImplementedError,
     r"interpolate: got 4-D input, but trilinear mode needs 5-D input"),
    (lambda: F.interpolate(_t(1, 2, 3, 3, 3), size=4, mode="bilinear"), NotImplementedError,
     r"interpolate: got 5-D input, but bilinear mode needs 4-D input"),
    (lambda: F.interpolate(_t(1, 2, 3, 3, 3, 3), size=4), NotImplementedError,
     r"interpolate: expected a 3-D \(N, C, L\), 4-D \(N, C, H, W\) or 5-D"),
    (lambda: F.interpolate(_t(1, 2, 3, 3), size=2, mode="nearest", antialias=True), ValueError,
     r"interpolate: anti-alias option is restricted to bilinear, bicubic, and lanczos modes"),
    (lambda: F.interpolate(_t(1, 2, 3, 3, 3), size=2, mode="trilinear", antialias=True), ValueError,
     r"interpolate: anti-alias option is restricted"),
    (lambda: F.interpolate(_t(1, 2, 3), size=2, mode="linear", antialias=True), ValueError,
     r"interpolate: anti-alias option is restricted"),
    (lambda: F.interpolate(_t(1, 2, 3, 3), size=2, mode="lanczos"), ValueError,
     r"interpolate: lanczos mode requires antialias=True"),
    (lambda: F.interpolate(_t(1, 2, 3, 3), size=2, mode="lanczos", antialias=True, align_corners=True), ValueError,
     r"interpolate: lanczos mode does not support align_corners=True"),
    (lambda: F.interpolate(_t(1, 2, 3, 3, 3), size=(4, 4)), ValueError,
     r"interpolate: input and output must have the same number of spatial dimensions"),
    (lambda: F.interpolate(_t(1, 2, 3, 3, 3), size=(4, 4, 0), mode="trilinear"), ValueError,
     r"upsample_trilinear3d: input and output sizes must be greater than 0"),
    (lambda: F.interpolate(_t(1, 2, 3, 3), size=(4, 0), mode="bicubic"), ValueError,
     r"upsample_bicubic2d: input and output sizes must be greater than 0"),
    (lambda: F.interpolate(_t(1, 2, 3, 3, dtype=pyml.int64), size=2, mode="bicubic", antialias=True), TypeError,
     r"_upsample_bicubic2d_aa: expected a floating-point tensor"),
    (lambda: F.interpolate(_t(1, 2, 3, 3, 3), size=2, mode="nearest", align_corners=False), ValueError,
     r"interpolate: align_corners option can only be set with the interpolating modes"),
    (lambda: F.grid_sample(_t(1, 2, 3, 3, 3), _t(1, 2, 2, 2, 3), mode="bicubic"), RuntimeError,
     r"grid_sample: bicubic interpolation only supports 4-D input"),
    (lambda: F.grid_sample(_t(1, 2, 3, 3), _t(1, 4, 4, 2), mode="cubic"), ValueError,
     r"grid_sample: mode must be 'bilinear', 'nearest' or 'bicubic'"),
    # the engine checks on its own (csrc/ops/vision.cpp)
    (lambda: _C.resample_forward(_t(1, 2, 3, 3)._impl, [2, 2, 2], [], 3, False, False), ValueError,
     r"upsample_bicubic2d: bicubic needs a 4-D input \(N, C, H, W\), got 3-D output size"),
    (lambda: _C.resample_forward(_t(1, 2, 3, 3)._impl, [2, 2], [], 0, False, True), ValueError,
     r"_upsample_bilinear2d_aa: antialias needs a 4-D input \(N, C, H, W\) and a linear, cubic or lanczos mode"),
    (lambda: _C.resample_forward(_t(1, 2, 3, 3)._impl, [2, 2], [], 4, False, False), ValueError,
     r"interpolate: lanczos needs antialias"),
    (lambda: _C.resample_forward(_t(1, 2, 3, 3)._impl, [2, 2, 2], [], 2, False, False), ValueError,
     r"upsample_trilinear3d: expected a 5-D input for a 3-D output size, got input of shape \(1, 2, 3, 3\)"),
    (lambda: _C.resample_forward(_t(1, 2, 3, 3, 3)._impl, [2, 2, 2], [1.5], 0, False, False), ValueError,
     r"upsample_nearest3d: scale_factor needs 3 values or none, got 1"),
    (lambda: _C.resample_backward(_t(1, 2, 3, 3, 3)._impl, [1, 3, 4, 4, 4], [], 2, False, False), ValueError,
     r"upsample_trilinear3d: grad_output \(1, 2, 3, 3, 3\) and input size \(1, 3, 4, 4, 4\) differ"),
    (lambda: _C.grid_sample_forward(_t(1, 2, 3, 3)._impl, _t(1, 4, 4, 2)._impl, 3, 0, False), ValueError,
     r"grid_sample: mode must be 0 \(bilinear\), 1 \(nearest\) or 2 \(bicubic\), got 3"),
]


@pytest.mark.parametrize("fn,exc,msg", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_inputs(fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn()


def test_bad_inputs_raise_torch_types():
    # the same calls raise the same exception types in torch
    cases = [(lambda L: L.nn.functional.interpolate(L.zeros(1, 2, 3, 3, 3), size=4, mode="bicubic")),
             (lambda L: L.nn.functional.interpolate(L.zeros(1, 2, 3, 3), size=4, mode="trilinear")),
             (lambda L: L.nn.functional.interpolate(L.zeros(1, 2, 3, 3), size=2, mode="nearest", antialias=True)),
             (lambda L: L.nn.functional.interpolate(L.zeros(1, 2, 3, 3), size=2, mode="lanczos")),
             (lambda L: L.nn.functional.grid_sample(L.zeros(1, 2, 3, 3, 3), L.zeros(1, 2, 2, 2, 3), mode="bicubic",
                                                     align_corners=False))]
    for case in cases:
        with pytest.raises(Exception) as ours:
            case(pyml)
        with pytest.raises(Exception) as theirs:
            case(torch)
        assert ours.type is theirs.type, (ours.value, theirs.value)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
@pytest.mark.parametrize("L,sf", [(10, 1.01), (10, 1.0), (7, 2.0), (5, 1.5), (13, 0.77), (1, 3.0), (6, 2.5)])
def test_1d_nearest_follows_the_scale_factor_like_torch(mode, L, sf):
    """torch's 1-D nearest forward has no shortcut for a kept or doubled size: a scale factor of 1.01 on 10
    samples repeats the first one. Values match torch exactly; the gradient is the true adjoint of that
    forward (torch's backward takes the shortcut its forward does not, so there it is not compared)."""
    x = rand((2, 3, L), 4)
    for dtype in ("float64", "float32"):
        compare("interpolate", [x], dtype, tol=0.0, grads=False, scale_factor=sf, mode=mode)
    src = F.interpolate(pyml.arange(L, dtype=pyml.float64).reshape(1, 1, L), scale_factor=sf, mode=mode)
    src = src.numpy().astype(np.int64).reshape(-1)  # the source index of every output
    xp = pyml.tensor(x).requires_grad_()
    g = rand((2, 3, len(src)), 5)
    F.interpolate(xp, scale_factor=sf, mode=mode).backward(pyml.tensor(g))
    want = np.zeros_like(x)
    for o, i in enumerate(src):
        want[..., i] += g[..., o]
    np.testing.assert_allclose(xp.grad.numpy(), want, rtol=1e-15, atol=0)
