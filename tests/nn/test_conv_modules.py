"""Conv, pooling and vision Modules against torch.nn with torch's state_dict copied in: state_dict keys,
outputs, input gradients and every parameter gradient in train and eval mode, float32 and float64,
odd sizes; default initialisation (kaiming_uniform_(a=sqrt(5)) bounds), padding modes, printouts,
constructor errors. Needs the Module system (pyml.nn.Module), which lands from a parallel branch."""
import math

import numpy as np
import pytest
import torch
import torch.nn as tnn

import pyml
import pyml.nn as nn


def copy_state(pm, tm):
    pm.load_state_dict({k: pyml.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


def check_module(pm, tm, x, dtype="float64", extra=(), mode="train"):
    """Same state, same input: outputs, input grads and parameter grads agree with torch."""
    assert list(pm.state_dict().keys()) == list(tm.state_dict().keys())
    copy_state(pm, tm)
    if dtype == "float64":
        pm, tm = pm.double(), tm.double()
    getattr(pm, mode)()
    getattr(tm, mode)()
    tol = 1e-10 if dtype == "float64" else 2e-4
    xp = pyml.tensor(x).to(getattr(pyml, dtype)).requires_grad_()
    xt = torch.tensor(x).to(getattr(torch, dtype)).requires_grad_()
    y, yt = pm(xp, *extra), tm(xt, *extra)
    assert tuple(y.shape) == tuple(yt.shape)
    np.testing.assert_allclose(y.detach().double().numpy(), yt.detach().double().numpy(), rtol=tol, atol=tol)
    g = np.random.default_rng(1).standard_normal(tuple(yt.shape))
    y.backward(pyml.tensor(g).to(y.dtype))
    yt.backward(torch.tensor(g).to(yt.dtype))
    np.testing.assert_allclose(xp.grad.double().numpy(), xt.grad.double().numpy(), rtol=tol, atol=tol)
    tparams = dict(tm.named_parameters())
    for name, p in pm.named_parameters():
        scale = max(1.0, float(tparams[name].grad.abs().max()))
        np.testing.assert_allclose(p.grad.double().numpy(), tparams[name].grad.double().numpy(), rtol=tol,
                                   atol=tol * scale, err_msg=name)
    return y


def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


CONV = [
    ("Conv2d", (3, 5, 3), {}, (2, 3, 9, 7)),
    ("Conv2d", (4, 6, (3, 2)), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2), (3, 4, 11, 8)),
    ("Conv2d", (4, 4, 3), dict(groups=4, padding="same", bias=False), (1, 4, 7, 9)),
    ("Conv2d", (3, 5, 4), dict(padding="same", padding_mode="reflect"), (2, 3, 9, 7)),
    ("Conv2d", (3, 5, 3), dict(padding=2, padding_mode="replicate", stride=2), (2, 3, 9, 7)),
    ("Conv2d", (3, 5, 3), dict(padding=(1, 2), padding_mode="circular"), (2, 3, 9, 7)),
    ("Conv2d", (3, 5, 1), {}, (3, 9, 7)),                                             # unbatched
    ("Conv1d", (3, 5, 3), dict(stride=2, padding=1), (2, 3, 17)),
    ("Conv1d", (4, 6, 2), dict(groups=2, padding="same", dilation=3, padding_mode="reflect"), (1, 4, 13)),
    ("Conv1d", (3, 5, 3), dict(padding=1, padding_mode="circular"), (3, 11)),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2), (2, 4, 5, 6)),
    ("ConvTranspose2d", (3, 2, (2, 3)), dict(dilation=2, bias=False), (1, 3, 4, 5)),
    ("ConvTranspose1d", (4, 3, 3), dict(stride=3, padding=1, output_padding=2), (2, 4, 7)),
]


@pytest.mark.parametrize("name,args,kw,xs", CONV, ids=[f"{c[0]}-{i}" for i, c in enumerate(CONV)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_conv_layers_match_torch(name, args, kw, xs, dtype, mode):
    torch.manual_seed(0)
    check_module(getattr(nn, name)(*args, **kw), getattr(tnn, name)(*args, **kw), rand(xs), dtype, mode=mode)


@pytest.mark.parametrize("name,args,kw,xs", CONV, ids=[f"{c[0]}-{i}" for i, c in enumerate(CONV)])
def test_conv_printout_and_state_dict(name, args, kw, xs):
    pm, tm = getattr(nn, name)(*args, **kw), getattr(tnn, name)(*args, **kw)
    assert repr(pm) == repr(tm)
    assert list(pm.state_dict()) == list(tm.state_dict())
    assert [tuple(p.shape) for p in pm.parameters()] == [tuple(p.shape) for p in tm.parameters()]


def test_conv_transpose_output_size():
    torch.manual_seed(0)
    pm, tm = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1), tnn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    x = rand((1, 3, 4, 5))
    for size in [(7, 9), (8, 10), [1, 2, 8, 9]]:
        check_module(pm, tm, x, extra=(size,))
    with pytest.raises(ValueError, match=r"ConvTranspose2d: requested an output size of \[9, 9\], but valid sizes "
                                         r"range from \[7, 9\] to \[8, 10\]"):
        pm(pyml.tensor(x), (9, 9))


@pytest.mark.parametrize("cls,args", [(nn.Conv2d, (16, 32, (3, 5))), (nn.Conv1d, (6, 64, 7)),
                                      (nn.ConvTranspose2d, (32, 16, 3)), (nn.Conv2d, (8, 16, 3, 1, 0, 1, 4)),
                                      (nn.Conv3d, (16, 32, (3, 5, 2))), (nn.Conv3d, (8, 16, 3, 1, 0, 1, 4)),
                                      (nn.ConvTranspose3d, (32, 16, 3))])
def test_default_init_is_kaiming_uniform_a_sqrt5(cls, args):
    m = cls(*args)
    w = m.weight.detach().numpy()
    fan_in = w.shape[1] * int(np.prod(w.shape[2:]))
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) == U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound
    b = m.bias.detach().numpy()
    assert np.abs(b).max() <= bound and len(np.unique(b)) == len(b)
    assert m.weight.requires_grad and m.bias.requires_grad


def test_textbook_parameter_count():
    assert sum(p.numel() for p in nn.Conv2d(3, 64, 3).parameters()) == 1792  # 64 filters of 3x3x3, plus biases
    assert sum(p.numel() for p in nn.Conv2d(3, 64, 3, bias=False).parameters()) == 1728


def test_depthwise_separable_block_trains():
    torch.manual_seed(0)
    pm = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, groups=4), nn.Conv2d(4, 8, 1), nn.ReLU(), nn.MaxPool2d(2),
                       nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))
    tm = tnn.Sequential(tnn.Conv2d(4, 4, 3, padding=1, groups=4), tnn.Conv2d(4, 8, 1), tnn.ReLU(), tnn.MaxPool2d(2),
                        tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(8, 3))
    check_module(pm, tm, rand((3, 4, 9, 10)))


BAD = [
    (lambda: nn.Conv2d(4, 6, 3, groups=4), r"Conv2d: out_channels \(6\) must be divisible by groups \(4\)"),
    (lambda: nn.Conv2d(3, 6, 3, groups=2), r"Conv2d: in_channels \(3\) must be divisible by groups \(2\)"),
    (lambda: nn.Conv2d(4, 6, 3, groups=0), r"Conv2d: groups must be a positive integer"),
    (lambda: nn.Conv2d(4, 6, 3, padding="full"), r"Conv2d: invalid padding string 'full'"),
    (lambda: nn.Conv2d(4, 6, 3, padding="same", stride=2), r"Conv2d: padding='same' is not supported for strided"),
    (lambda: nn.Conv2d(4, 6, 3, padding_mode="wrap"), r"Conv2d: padding_mode must be one of"),
    (lambda: nn.ConvTranspose2d(4, 6, 3, padding_mode="reflect"), r'ConvTranspose2d: only "zeros" padding mode'),
    (lambda: nn.Conv1d(4, 6, (3, 3)), r"Conv1d: kernel_size must be an int or a tuple of 1 ints"),
    (lambda: nn.Conv2d(4, 6, 3)(pyml.zeros(1, 3, 8, 8)),
     r"conv2d: input channels \(3\) must equal weight.shape\[1\]\*groups \(4\); input \(1, 3, 8, 8\), weight "
     r"\(6, 4, 3, 3\)"),
    (lambda: nn.Conv2d(4, 6, 5)(pyml.zeros(1, 4, 3, 3)), r"conv2d: kernel size after dilation \(5, 5\)"),
]


@pytest.mark.parametrize("fn,msg", BAD, ids=[str(i) for i in range(len(BAD))])
def test_conv_bad_construction_and_inputs(fn, msg):
    with pytest.raises(ValueError, match=msg):
        fn()


# ------------------------------------------------------------------------------------- pooling modules
POOL = [
    ("MaxPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True), (2, 3, 9, 7)),
    ("MaxPool2d", ((2, 3),), dict(dilation=(2, 1)), (3, 9, 7)),
    ("MaxPool1d", (3,), dict(stride=2, padding=1), (2, 3, 11)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, count_include_pad=False), (2, 3, 9, 7)),
    ("AvgPool2d", (2,), dict(ceil_mode=True, divisor_override=3), (2, 3, 9, 7)),
    ("AvgPool1d", (4,), dict(stride=3, padding=2), (2, 3, 11)),
    ("AdaptiveAvgPool2d", ((4, None),), {}, (2, 3, 9, 7)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 11)),
    ("AdaptiveMaxPool2d", (3,), {}, (2, 3, 9, 7)),
    ("AdaptiveMaxPool1d", (5,), {}, (2, 3, 11)),
    ("Upsample", (), dict(scale_factor=1.5, mode="bilinear"), (2, 3, 5, 7)),
    ("Upsample", (), dict(size=(7, 9), mode="nearest"), (2, 3, 5, 7)),
    ("Upsample", (), dict(scale_factor=2, mode="linear", align_corners=True), (2, 3, 5)),
    ("UpsamplingNearest2d", (), dict(scale_factor=2), (2, 3, 5, 7)),
    ("UpsamplingBilinear2d", (), dict(size=(9, 4)), (2, 3, 5, 7)),
    ("PixelShuffle", (2,), {}, (2, 8, 3, 5)),
    ("PixelUnshuffle", (3,), {}, (2, 2, 6, 9)),
    ("Unfold", ((2, 3),), dict(stride=2, padding=1), (2, 3, 7, 8)),
    ("Fold", ((5, 6), 2), dict(stride=1), (2, 8, 20)),
]


@pytest.mark.parametrize("name,args,kw,xs", POOL, ids=[f"{c[0]}-{i}" for i, c in enumerate(POOL)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_parameter_free_layers_match_torch(name, args, kw, xs, dtype):
    pm, tm = getattr(nn, name)(*args, **kw), getattr(tnn, name)(*args, **kw)
    assert repr(pm) == repr(tm)
    assert list(pm.state_dict()) == [] == list(tm.state_dict())
    for mode in ("train", "eval"):
        check_module(pm, tm, rand(xs), dtype, mode=mode)


def test_max_pool_return_indices_and_unpool_modules():
    x = rand((2, 3, 8, 10))
    pool, tpool = nn.MaxPool2d(2, return_indices=True), tnn.MaxPool2d(2, return_indices=True)
    unpool, tunpool = nn.MaxUnpool2d(2), tnn.MaxUnpool2d(2)
    assert repr(unpool) == repr(tunpool) and repr(nn.MaxUnpool1d(3)) == repr(tnn.MaxUnpool1d(3))
    y, idx = pool(pyml.tensor(x))
    yt, it = tpool(torch.tensor(x))
    np.testing.assert_array_equal(idx.numpy(), it.numpy())
    np.testing.assert_array_equal(unpool(y, idx).numpy(), tunpool(yt, it).numpy())
    np.testing.assert_array_equal(unpool(y, idx, output_size=(9, 11)).numpy(),
                                  tunpool(yt, it, output_size=(9, 11)).numpy())
    y1, i1 = nn.MaxPool1d(3, return_indices=True)(pyml.tensor(x[0]))
    yt1, it1 = tnn.MaxPool1d(3, return_indices=True)(torch.tensor(x[0]))
    np.testing.assert_array_equal(nn.MaxUnpool1d(3)(y1, i1).numpy(), tnn.MaxUnpool1d(3)(yt1, it1).numpy())
    y2, i2 = nn.AdaptiveMaxPool2d((3, 4), return_indices=True)(pyml.tensor(x))
    yt2, it2 = tnn.AdaptiveMaxPool2d((3, 4), return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(i2.numpy(), it2.numpy())


def test_cnn_classifier_end_to_end():
    # a LeNet-style stack: conv -> pool -> conv -> pool -> linear, float32, compared with torch
    torch.manual_seed(0)
    pm = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                       nn.AvgPool2d(2), nn.Flatten(), nn.Linear(16 * 2 * 2, 10))
    tm = tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(6, 16, 5),
                        tnn.ReLU(), tnn.AvgPool2d(2), tnn.Flatten(), tnn.Linear(16 * 2 * 2, 10))
    check_module(pm, tm, rand((3, 1, 16, 16)), "float32")
