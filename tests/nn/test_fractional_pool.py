"""F.fractional_max_pool2d/3d (+ _with_indices) and nn.FractionalMaxPool2d/3d against torch, same _random_samples."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pyml
import pyml.nn.functional as F

CASES = [  # input shape, kernel, output_size, output_ratio
    ((2, 3, 9, 11), (2, 3), (4, 5), None),
    ((3, 10, 7), 3, (5, 4), None),
    ((1, 2, 13, 13), 2, None, (0.5, 0.45)),
    ((2, 1, 7, 9), (1, 2), (7, 8), None),
    ((2, 2, 7, 9, 8), (2, 3, 2), (3, 4, 5), None),
    ((2, 5, 6, 7), 2, (3, 4, 5), None),
    ((1, 2, 9, 8, 11), 2, None, (0.5, 0.6, 0.4)),
]


def _samples(shape, nd, dtype, seed):
    n = shape[0] if len(shape) == nd + 2 else 1
    return torch.rand(n, shape[-nd - 1], nd, dtype=dtype, generator=torch.Generator().manual_seed(seed))


def _pair(shape, kernel, out, ratio, tdt, pdt, seed=0):
    nd = len(out) if out is not None else (3 if isinstance(ratio, tuple) and len(ratio) == 3 else 2)
    x = np.random.default_rng(seed).standard_normal(shape)
    st = _samples(shape, nd, tdt, seed)
    xt = torch.tensor(x, dtype=tdt, requires_grad=True)
    xp = pyml.tensor(x, dtype=pdt, requires_grad=True)
    yt, it = getattr(TF, f"fractional_max_pool{nd}d")(xt, kernel, out, ratio, True, _random_samples=st)
    yp, ip = getattr(F, f"fractional_max_pool{nd}d")(xp, kernel, out, ratio, True,
                                                     _random_samples=pyml.tensor(st.numpy()))
    g = np.random.default_rng(seed + 1).standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(g, dtype=tdt))
    yp.backward(pyml.tensor(g, dtype=pdt))
    return (yt, it, xt.grad), (yp, ip, xp.grad)


@pytest.mark.parametrize("shape,kernel,out,ratio", CASES)
@pytest.mark.parametrize("tdt,pdt", [(torch.float64, pyml.float64), (torch.float32, pyml.float32)])
def test_fractional_max_pool_matches_torch(shape, kernel, out, ratio, tdt, pdt):
    (yt, it, gt), (yp, ip, gp) = _pair(shape, kernel, out, ratio, tdt, pdt)
    assert tuple(yp.shape) == tuple(yt.shape)
    np.testing.assert_array_equal(yp.detach().numpy(), yt.detach().numpy())
    np.testing.assert_array_equal(ip.numpy(), it.numpy())
    assert ip.dtype == pyml.int64
    np.testing.assert_array_equal(gp.numpy(), gt.numpy())


def test_scalar_output_ratio_is_accepted():
    # torch's functional form raises TypeError (len() of a float) for a scalar 2-D ratio; its module pairs it
    x = pyml.randn(1, 2, 13, 12, dtype=pyml.float64)
    s = pyml.rand(1, 2, 2, dtype=pyml.float64)
    y = F.fractional_max_pool2d(x, 2, output_ratio=0.5, _random_samples=s)
    ref = torch.nn.FractionalMaxPool2d(2, output_ratio=0.5, _random_samples=torch.tensor(s.numpy()))
    np.testing.assert_array_equal(y.numpy(), ref(torch.tensor(x.numpy())).numpy())


def test_with_indices_names_and_module_buffer():
    x = pyml.randn(2, 3, 9, 9, dtype=pyml.float64)
    s = pyml.rand(2, 3, 2, dtype=pyml.float64)
    y, idx = F.fractional_max_pool2d_with_indices(x, 3, output_size=4, _random_samples=s)
    m = pyml.nn.FractionalMaxPool2d(3, output_size=4, return_indices=True, _random_samples=s)
    ym, im = m(x)
    np.testing.assert_array_equal(ym.numpy(), y.numpy())
    np.testing.assert_array_equal(im.numpy(), idx.numpy())
    assert list(m.state_dict()) == list(torch.nn.FractionalMaxPool2d(3, 4, _random_samples=torch.rand(2, 3, 2))
                                         .state_dict()) == ["_random_samples"]
    y3, i3 = F.fractional_max_pool3d_with_indices(pyml.randn(1, 2, 6, 6, 6), 2, output_size=3)
    assert tuple(y3.shape) == tuple(i3.shape) == (1, 2, 3, 3, 3)


def test_module_matches_torch_module_3d():
    st = torch.rand(2, 3, 3, dtype=torch.float64)
    x = np.random.default_rng(5).standard_normal((2, 3, 8, 7, 9))
    tm = torch.nn.FractionalMaxPool3d((2, 2, 3), output_ratio=(0.5, 0.6, 0.4), _random_samples=st)
    pm = pyml.nn.FractionalMaxPool3d((2, 2, 3), output_ratio=(0.5, 0.6, 0.4),
                                     _random_samples=pyml.tensor(st.numpy()))
    np.testing.assert_array_equal(pm(pyml.tensor(x)).numpy(), tm(torch.tensor(x)).numpy())
    assert repr(pm) == repr(tm).replace("torch", "pyml")


def test_random_samples_drawn_when_absent_give_valid_windows():
    pyml.manual_seed(0)
    x = pyml.randn(3, 4, 11, 10, requires_grad=True)
    y, idx = F.fractional_max_pool2d(x, 2, output_ratio=0.5, return_indices=True)
    assert tuple(y.shape) == (3, 4, 5, 5)
    flat = x.detach().reshape(3, 4, -1)
    np.testing.assert_array_equal(pyml.gather(flat, 2, idx.reshape(3, 4, -1)).reshape(3, 4, 5, 5).numpy(), y.detach().numpy())
    y.sum().backward()
    assert float(x.grad.sum()) == 3 * 4 * 25


@pytest.mark.parametrize("call,torch_call,exc,match", [
    (lambda: F.fractional_max_pool2d(pyml.randn(2, 3, 9, 11), 5, output_size=(7, 7)),
     lambda: TF.fractional_max_pool2d(torch.randn(2, 3, 9, 11), 5, output_size=(7, 7)), RuntimeError,
     r"fractional_max_pool2d: output height \(7\) \+ pool height \(5\) - 1 must be <= input height \(9\)"),
    (lambda: F.fractional_max_pool3d(pyml.randn(1, 1, 7, 7, 7), 2, output_size=6),
     lambda: TF.fractional_max_pool3d(torch.randn(1, 1, 7, 7, 7), 2, output_size=6), RuntimeError,
     r"fractional_max_pool3d: output time \(6\) \+ pool time \(2\) - 1 must be < input time \(7\)"),
    (lambda: F.fractional_max_pool2d(pyml.randn(2, 3, 9, 11), 2, output_size=3,
                                     _random_samples=pyml.rand(2, 3, 3)),
     lambda: TF.fractional_max_pool2d(torch.randn(2, 3, 9, 11), 2, output_size=3,
                                      _random_samples=torch.rand(2, 3, 3)), RuntimeError,
     r"_random_samples must have shape \(>= 2, 3, 2\), got \(2, 3, 3\)"),
    (lambda: F.fractional_max_pool2d(pyml.randn(2, 3, 9, 11), 2, output_size=3,
                                     _random_samples=pyml.rand(2, 3, 2, dtype=pyml.float64)),
     lambda: TF.fractional_max_pool2d(torch.randn(2, 3, 9, 11), 2, output_size=3,
                                      _random_samples=torch.rand(2, 3, 2, dtype=torch.float64)), RuntimeError,
     r"_random_samples must have the input's dtype \(pyml.float32\), got pyml.float64"),
    (lambda: F.fractional_max_pool2d(pyml.randn(9, 11), 2, output_size=3),
     lambda: TF.fractional_max_pool2d(torch.randn(9, 11), 2, output_size=3), (RuntimeError, IndexError),
     r"fractional_max_pool2d: expected 3D or 4D input, got input \(9, 11\)"),
    (lambda: F.fractional_max_pool2d(pyml.randn(1, 2, 9, 11), 2),
     lambda: TF.fractional_max_pool2d(torch.randn(1, 2, 9, 11), 2), ValueError,
     r"requires specifying either an output_size or an output_ratio"),
])
def test_bad_inputs_raise_like_torch(call, torch_call, exc, match):
    with pytest.raises(exc):
        torch_call()
    with pytest.raises(exc, match=match):
        call()


def test_module_argument_errors_like_torch():
    for mod in ("FractionalMaxPool2d", "FractionalMaxPool3d"):
        for kwargs, match in [({}, "requires specifying either"), ({"output_size": 2, "output_ratio": 0.5},
                                                                     "only one of output_size and output_ratio"),
                              ({"output_ratio": 1.5}, r"output_ratio must be between 0 and 1 \(got 1.5\)")]:
            with pytest.raises(ValueError):
                getattr(torch.nn, mod)(2, **kwargs)
            with pytest.raises(ValueError, match=match):
                getattr(pyml.nn, mod)(2, **kwargs)
    with pytest.raises(ValueError, match="kernel_size must be greater than 0, got 0"):
        pyml.nn.FractionalMaxPool3d(0, output_size=2)
