"""nn layers and functions filled in after a dir(torch.nn) sweep, against torch: CosineSimilarity,
PairwiseDistance, ChannelShuffle + F.channel_shuffle, F.lp_pool1d/2d + LPPool1d/2d, MultiLabelMarginLoss +
F.multilabel_margin_loss, F.gumbel_softmax (statistics, hard one-hot, straight-through gradient). Values,
input gradients, printouts, odd sizes, unbatched inputs, dtypes and bad inputs."""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import pyml
import pyml.nn as nn
import pyml.nn.functional as F
from nn_helpers import gradcheck

TOL = {"float64": 1e-12, "float32": 2e-5}


def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def leaves(arrays, dtype="float64"):
    P = [pyml.tensor(a).to(getattr(pyml, dtype)).requires_grad_() for a in arrays]
    T = [torch.tensor(a).to(getattr(torch, dtype)).requires_grad_() for a in arrays]
    return P, T


def compare(fp, ft, arrays, dtype="float64", seed=1, extra=()):
    """fp(*pyml leaves, *extra[0]) vs ft(*torch leaves, *extra[1]): values, then every leaf's gradient."""
    tol = TOL[dtype]
    P, T = leaves(arrays, dtype)
    y, yt = fp(*P), ft(*T)
    assert tuple(y.shape) == tuple(yt.shape) and y.dtype is getattr(pyml, dtype)
    np.testing.assert_allclose(y.detach().double().numpy(), yt.detach().double().numpy(), rtol=tol, atol=tol)
    g = rand(tuple(yt.shape), seed)
    y.backward(pyml.tensor(g).to(y.dtype))
    yt.backward(torch.tensor(g).to(yt.dtype))
    for i, (p, t) in enumerate(zip(P, T)):
        np.testing.assert_allclose(p.grad.double().numpy(), t.grad.double().numpy(), rtol=tol * 10, atol=tol * 10,
                                   err_msg=f"gradient of input {i}")
    return y


# ------------------------------------------------------------------------------------- distance layers
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("dim,eps", [(1, 1e-8), (0, 1e-8), (-1, 0.5), (2, 1e-3)])
def test_cosine_similarity_layer(dim, eps, dtype):
    mp, mt = nn.CosineSimilarity(dim, eps), tnn.CosineSimilarity(dim, eps)
    assert repr(mp) == repr(mt) == "CosineSimilarity()" and (mp.dim, mp.eps) == (mt.dim, mt.eps)
    compare(mp, mt, [rand((3, 5, 7)), rand((3, 5, 7), 2)], dtype)
    compare(mp, mt, [rand((3, 5, 7)), rand((1, 5, 7), 3)], dtype)


def test_cosine_similarity_layer_defaults_and_zero_vectors():
    a, b = rand((4, 6)), rand((4, 6), 1)
    a[1] = 0.0
    compare(nn.CosineSimilarity(), tnn.CosineSimilarity(), [a, b])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("p,eps,keepdim", [(2.0, 1e-6, False), (1.0, 1e-6, True), (3.0, 0.1, False),
                                           (float("inf"), 1e-6, False), (0.5, 1e-6, True)])
def test_pairwise_distance_layer(p, eps, keepdim, dtype):
    mp, mt = nn.PairwiseDistance(p, eps, keepdim), tnn.PairwiseDistance(p, eps, keepdim)
    assert repr(mp) == repr(mt) == "PairwiseDistance()"
    assert (mp.norm, mp.eps, mp.keepdim) == (mt.norm, mt.eps, mt.keepdim)
    compare(mp, mt, [rand((5, 7)), rand((5, 7), 2)], dtype)
    compare(mp, mt, [rand((7,)), rand((5, 7), 3)], dtype)


def test_distance_layers_have_no_state():
    for m in (nn.CosineSimilarity(), nn.PairwiseDistance()):
        assert list(m.parameters()) == [] and m.state_dict() == {}


# ------------------------------------------------------------------------------------- channel shuffle
@pytest.mark.parametrize("shape,groups", [((2, 6, 5, 3), 3), ((1, 6, 5, 3), 2), ((3, 15, 4), 5), ((2, 7, 1, 1), 7),
                                          ((2, 7, 3), 1), ((1, 12, 2, 3, 2), 4), ((6, 4, 3), 2), ((0, 6, 2), 3)])
def test_channel_shuffle(shape, groups):
    compare(lambda x: F.channel_shuffle(x, groups), lambda x: TF.channel_shuffle(x, groups), [rand(shape)])
    mp, mt = nn.ChannelShuffle(groups), tnn.ChannelShuffle(groups)
    assert repr(mp) == repr(mt) == f"ChannelShuffle(groups={groups})" and mp.groups == groups
    compare(mp, mt, [rand(shape, 2)])


@pytest.mark.parametrize("dtype", ["int64", "uint8", "bool", "float16", "bfloat16"])
def test_channel_shuffle_dtypes(dtype):
    a = np.arange(2 * 6 * 5).reshape(2, 6, 5) % (2 if dtype == "bool" else 97)
    y = F.channel_shuffle(pyml.tensor(a).to(getattr(pyml, dtype)), 3)
    yt = TF.channel_shuffle(torch.tensor(a).to(getattr(torch, dtype)), 3)
    assert y.dtype is getattr(pyml, dtype)
    np.testing.assert_array_equal(y.to(pyml.float64).numpy(), yt.double().numpy())


def test_channel_shuffle_non_contiguous():
    a = rand((2, 5, 6, 4))
    xp, xt = pyml.tensor(a).transpose(1, 2), torch.tensor(a).transpose(1, 2)  # (2, 6, 5, 4), strided
    np.testing.assert_array_equal(F.channel_shuffle(xp, 2).numpy(), TF.channel_shuffle(xt, 2).numpy())


CS_BAD = [
    (lambda: F.channel_shuffle(pyml.ones(6, 2), 2), ValueError,
     r"channel_shuffle: expected an input with more than 2 dims \(N, C, \*\), got input of shape \(6, 2\)"),
    (lambda: F.channel_shuffle(pyml.ones(1, 6, 2), 4), ValueError,
     r"channel_shuffle: input channels \(6\) must be divisible by groups \(4\); input \(1, 6, 2\)"),
    (lambda: F.channel_shuffle(pyml.ones(1, 6, 2), 0), ValueError,
     r"channel_shuffle: the number of groups must be positive, got groups=0"),
    (lambda: F.channel_shuffle(pyml.ones(1, 6, 2), -2), ValueError, r"must be positive, got groups=-2"),
    (lambda: F.channel_shuffle(pyml.ones(1, 6, 2), 2.0), TypeError, r"channel_shuffle: groups must be an int"),
    (lambda: F.channel_shuffle([1.0], 2), TypeError, r"channel_shuffle: argument 'input' must be Tensor"),
    (lambda: nn.ChannelShuffle(2)(pyml.ones(6, 2)), ValueError, r"channel_shuffle: expected an input with more"),
]


@pytest.mark.parametrize("fn,exc,msg", CS_BAD, ids=[str(i) for i in range(len(CS_BAD))])
def test_channel_shuffle_bad_inputs(fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn()


# ------------------------------------------------------------------------------------- lp pooling
LP_NORMS = [2, 2.0, 1, 3, 1.5, 4.5, float("inf"), -float("inf")]
LP_2D = [dict(kernel_size=3), dict(kernel_size=(2, 3), stride=(1, 2)), dict(kernel_size=2, stride=1),
         dict(kernel_size=3, stride=2, ceil_mode=True), dict(kernel_size=(3, 1), stride=(2, 1), ceil_mode=True)]


def _lp_input(shape, p, seed=0):
    """Positive entries for fractional p (x^p of a negative x is nan), signed ones otherwise, one zero window."""
    a = rand(shape, seed)
    if isinstance(p, float) and math.isfinite(p) and p != int(p):
        a = np.abs(a)
    a[..., :2, :2] = 0.0
    return a


@pytest.mark.parametrize("kw", LP_2D, ids=[str(i) for i in range(len(LP_2D))])
@pytest.mark.parametrize("p", LP_NORMS)
def test_lp_pool2d(p, kw):
    for shape in ((2, 3, 7, 9), (3, 5, 8)):
        a = _lp_input(shape, p)
        compare(lambda x: F.lp_pool2d(x, p, **kw), lambda x: TF.lp_pool2d(x, p, **kw), [a])


LP_1D = [dict(kernel_size=3), dict(kernel_size=2, stride=1), dict(kernel_size=3, stride=2, ceil_mode=True),
         dict(kernel_size=4, stride=3)]


@pytest.mark.parametrize("kw", LP_1D, ids=[str(i) for i in range(len(LP_1D))])
@pytest.mark.parametrize("p", LP_NORMS)
def test_lp_pool1d(p, kw):
    for shape in ((2, 3, 11), (4, 9)):
        a = _lp_input(shape, p, 1)
        compare(lambda x: F.lp_pool1d(x, p, **kw), lambda x: TF.lp_pool1d(x, p, **kw), [a])


@pytest.mark.parametrize("p", [3, 1.5])
def test_lp_pool_negative_windows_match_torch_including_nan(p):
    """Signed inputs: an odd p keeps the sign of the window sum; a fractional p gives nan, like torch."""
    P, T = leaves([rand((2, 3, 6, 6), 4)])
    y, yt = F.lp_pool2d(P[0], p, 2), TF.lp_pool2d(T[0], p, 2)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-12, equal_nan=True)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(P[0].grad.numpy(), T[0].grad.numpy(), rtol=1e-10, equal_nan=True)
    assert np.isnan(yt.detach().numpy()).any()


def test_lp_pool_zero_window_has_zero_gradient():
    x = pyml.zeros(1, 1, 4, 4).requires_grad_()
    F.lp_pool2d(x, 2, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((1, 1, 4, 4)))


def test_lp_pool_float32_and_gradcheck():
    a = np.abs(rand((2, 3, 6, 7), 5)) + 0.1
    compare(lambda x: F.lp_pool2d(x, 2.5, 3, 2), lambda x: TF.lp_pool2d(x, 2.5, 3, 2), [a], "float32")
    assert gradcheck(lambda x: F.lp_pool1d(x, 3, 2), [pyml.tensor(np.abs(rand((1, 2, 5), 6)) + 0.1)])


@pytest.mark.parametrize("args", [(2, 3), (2.0, 3, 2), (1.5, 2, 1, True), (float("inf"), 3, None, True)])
def test_lp_pool_layers(args):
    for cls, shape in (("LPPool1d", (2, 3, 9)), ("LPPool2d", (2, 3, 7, 8))):
        mp, mt = getattr(nn, cls)(*args), getattr(tnn, cls)(*args)
        assert repr(mp) == repr(mt)
        assert (mp.norm_type, mp.kernel_size, mp.stride, mp.ceil_mode) == (mt.norm_type, mt.kernel_size, mt.stride,
                                                                             mt.ceil_mode)
        compare(mp, mt, [np.abs(rand(shape, 7))])
    mp, mt = nn.LPPool2d(2, (2, 3), stride=(1, 2)), tnn.LPPool2d(2, (2, 3), stride=(1, 2))
    assert repr(mp) == repr(mt) == "LPPool2d(norm_type=2, kernel_size=(2, 3), stride=(1, 2), ceil_mode=False)"


LP_BAD = [
    (lambda: F.lp_pool1d(pyml.ones(5), 2, 2), ValueError,
     r"lp_pool1d: expected 2-D \(unbatched\) or 3-D \(batched\) input, got input of shape \(5,\)"),
    (lambda: F.lp_pool2d(pyml.ones(3, 5), 2, 2), ValueError, r"lp_pool2d: expected 3-D \(unbatched\) or 4-D"),
    (lambda: F.lp_pool2d(pyml.ones(2, 3, 5), 2, 7), ValueError, r"avg_pool2d: output size \(0, 0\) is too small"),
    (lambda: F.lp_pool1d(pyml.ones(2, 3, 5), 2, 0), ValueError, r"avg_pool1d: kernel_size must be positive"),
    (lambda: F.lp_pool1d(pyml.ones(2, 3, 5), 0, 2), ValueError, r"lp_pool1d: norm_type must be non-zero"),
    (lambda: F.lp_pool1d(pyml.ones(2, 3, 5), "2", 2), TypeError, r"lp_pool1d: norm_type must be a number, got str"),
    (lambda: F.lp_pool2d("x", 2, 2), TypeError, r"lp_pool2d: argument 'input' must be Tensor, not str"),
]


@pytest.mark.parametrize("fn,exc,msg", LP_BAD, ids=[str(i) for i in range(len(LP_BAD))])
def test_lp_pool_bad_inputs(fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn()


# ------------------------------------------------------------------------------------- multilabel margin
def _ml_target(n, c, seed):
    """Each row: a few distinct (or repeated) class indices, then -1 and junk after it."""
    r = np.random.default_rng(seed)
    t = r.integers(0, c, (n, c))
    for i in range(n):
        stop = r.integers(0, c + 1)
        if stop < c:
            t[i, stop] = -1
    return t


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("n,c", [(1, 1), (4, 5), (7, 3), (3, 11), (5, 2)])
def test_multilabel_margin_loss(n, c, reduction):
    t = _ml_target(n, c, n * c)
    tp, tt = pyml.tensor(t), torch.tensor(t)
    compare(lambda x: F.multilabel_margin_loss(x, tp, reduction=reduction),
            lambda x: TF.multilabel_margin_loss(x, tt, reduction=reduction), [rand((n, c), c)])
    mp, mt = nn.MultiLabelMarginLoss(reduction=reduction), tnn.MultiLabelMarginLoss(reduction=reduction)
    assert repr(mp) == repr(mt) == "MultiLabelMarginLoss()" and mp.reduction == reduction
    compare(lambda x: mp(x, tp), lambda x: mt(x, tt), [rand((n, c), c + 1)])


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_multilabel_margin_loss_unbatched_and_scalar(reduction):
    for target in ([3, 0, -1, 1], [2, 2, 1, 0], [-1, 0, 1, 2], [1, 3, 0, 2]):
        tp, tt = pyml.tensor(target), torch.tensor(target)
        compare(lambda x: F.multilabel_margin_loss(x, tp, reduction=reduction),
                lambda x: TF.multilabel_margin_loss(x, tt, reduction=reduction), [rand((4,), 9)])
    for target in (0, -1):
        compare(lambda x: F.multilabel_margin_loss(x, pyml.tensor(target), reduction=reduction),
                lambda x: TF.multilabel_margin_loss(x, torch.tensor(target), reduction=reduction), [np.array(0.3)])


def test_multilabel_margin_loss_float32_legacy_args_and_empty_batch():
    t = _ml_target(6, 4, 3)
    tp, tt = pyml.tensor(t), torch.tensor(t)
    compare(lambda x: F.multilabel_margin_loss(x, tp), lambda x: TF.multilabel_margin_loss(x, tt),
            [rand((6, 4), 4)], "float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare(lambda x: F.multilabel_margin_loss(x, tp, size_average=False),
                lambda x: TF.multilabel_margin_loss(x, tt, size_average=False), [rand((6, 4), 5)])
    y = F.multilabel_margin_loss(pyml.zeros(0, 3), pyml.zeros(0, 3, dtype=pyml.int64), reduction="none")
    assert tuple(y.shape) == (0,)


ML_BAD = [
    (lambda: F.multilabel_margin_loss(pyml.ones(4), pyml.tensor([3, 0, -1, 7])), ValueError,
     r"multilabel_margin_loss: target values must be class indices in \[0, 4\) or -1, got values in \[-1, 7\]"),
    (lambda: F.multilabel_margin_loss(pyml.ones(4), pyml.tensor([3, -2, -1, 1])), ValueError,
     r"got values in \[-2, 3\]"),
    (lambda: F.multilabel_margin_loss(pyml.ones(4), pyml.tensor([3, 0, -1])), ValueError,
     r"multilabel_margin_loss: target must have the input's shape, got target \(3,\) and input \(4,\)"),
    (lambda: F.multilabel_margin_loss(pyml.ones(4), pyml.tensor([3.0, 0, -1, 1])), TypeError,
     r"multilabel_margin_loss: expected an int64 target, got pyml.float32"),
    (lambda: F.multilabel_margin_loss(pyml.ones(4), pyml.tensor([3, 0, -1, 1], dtype=pyml.int32)), TypeError,
     r"expected an int64 target"),
    (lambda: F.multilabel_margin_loss(pyml.ones(2, 3, 4), pyml.zeros(2, 3, 4, dtype=pyml.int64)), ValueError,
     r"multilabel_margin_loss: expected a non-empty vector \(C,\) or matrix \(N, C\)"),
    (lambda: F.multilabel_margin_loss(pyml.ones(2, 0), pyml.zeros(2, 0, dtype=pyml.int64)), ValueError,
     r"expected a non-empty vector"),
    (lambda: F.multilabel_margin_loss(pyml.ones(2, 3), pyml.zeros(2, 3, dtype=pyml.int64), reduction="foo"),
     ValueError, r"multilabel_margin_loss: foo is not a valid value for reduction"),
    (lambda: F.multilabel_margin_loss(pyml.ones(2, 3, dtype=pyml.int64), pyml.zeros(2, 3, dtype=pyml.int64)),
     TypeError, r"multilabel_margin_loss: expected a floating-point input, got pyml.int64"),
    (lambda: F.multilabel_margin_loss([1.0], pyml.zeros(1, dtype=pyml.int64)), TypeError,
     r"multilabel_margin_loss: argument 'input' must be Tensor"),
]


@pytest.mark.parametrize("fn,exc,msg", ML_BAD, ids=[str(i) for i in range(len(ML_BAD))])
def test_multilabel_margin_loss_bad_inputs(fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn()


# ------------------------------------------------------------------------------------- gumbel softmax
@pytest.mark.parametrize("dim", [-1, 0, 1])
@pytest.mark.parametrize("tau", [1.0, 0.5, 3.0])
def test_gumbel_softmax_soft_is_a_distribution(tau, dim):
    x = pyml.tensor(rand((4, 5, 3)))
    y = F.gumbel_softmax(x, tau=tau, dim=dim)
    assert tuple(y.shape) == (4, 5, 3) and y.dtype is pyml.float64
    np.testing.assert_allclose(y.sum(dim).numpy(), np.ones(y.sum(dim).shape), rtol=1e-12)
    assert (y.numpy() > 0).all()


@pytest.mark.parametrize("dim", [-1, 0])
def test_gumbel_softmax_hard_is_one_hot_with_the_soft_gradient(dim):
    """Same seed, same noise: the hard sample is the one-hot argmax of the soft one and back-propagates
    exactly the soft sample's gradient (straight-through)."""
    a, g = rand((6, 5), 1), rand((6, 5), 2)
    grads, outs = [], []
    for hard in (False, True):
        x = pyml.tensor(a).requires_grad_()
        pyml.manual_seed(123)
        y = F.gumbel_softmax(x, tau=0.7, hard=hard, dim=dim)
        (y * pyml.tensor(g)).sum().backward()
        grads.append(x.grad.numpy())
        outs.append(y.detach().numpy())
    soft, hard = outs
    expect = np.zeros_like(soft)
    np.put_along_axis(expect, np.expand_dims(soft.argmax(dim), dim), 1.0, dim)
    np.testing.assert_allclose(hard, expect, atol=1e-12)
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12, atol=1e-12)


def test_gumbel_softmax_soft_gradient_matches_torch_for_the_same_noise():
    """Given pyml's Gumbel noise, torch's formula (softmax((logits + g) / tau)) gives the same values and
    logits gradient."""
    a, gout = rand((3, 7), 3), rand((3, 7), 4)
    pyml.manual_seed(5)
    noise = -pyml.log(pyml.empty(3, 7, dtype=pyml.float64).exponential_())
    x = pyml.tensor(a).requires_grad_()
    pyml.manual_seed(5)
    y = F.gumbel_softmax(x, tau=0.8)
    (y * pyml.tensor(gout)).sum().backward()
    xt = torch.tensor(a, requires_grad=True)
    yt = torch.softmax((xt + torch.tensor(noise.numpy())) / 0.8, -1)
    (yt * torch.tensor(gout)).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_gumbel_max_frequencies_follow_the_softmax():
    """argmax of a tau=1 sample is distributed as softmax(logits) (the Gumbel-max trick)."""
    logits = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    x = pyml.tensor(np.tile(logits, (20000, 1)))
    pyml.manual_seed(0)
    hard = F.gumbel_softmax(x, hard=True).numpy()
    freq = hard.mean(0)
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.3, 0.4], atol=0.015)
    assert (hard.sum(1) == 1).all()


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_gumbel_softmax_dtypes(dtype):
    y = F.gumbel_softmax(pyml.randn(3, 4).to(getattr(pyml, dtype)), hard=True)
    assert y.dtype is getattr(pyml, dtype)
    np.testing.assert_array_equal(y.float().numpy().sum(1), np.ones(3))


def test_gumbel_softmax_eps_warns_and_bad_inputs():
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated"):
        F.gumbel_softmax(pyml.randn(2, 3), eps=1e-5)
    with pytest.raises(IndexError, match=r"softmax: dim must be in the range \[-2, 1\], got 5"):
        F.gumbel_softmax(pyml.randn(2, 3), dim=5)
    with pytest.raises(TypeError, match=r"exponential_: expected a floating point tensor"):
        F.gumbel_softmax(pyml.ones(2, 3, dtype=pyml.int64))
    with pytest.raises(TypeError, match=r"gumbel_softmax: argument 'logits' must be Tensor, not list"):
        F.gumbel_softmax([1.0, 2.0])


def test_new_names_are_exported():
    for name in ("channel_shuffle", "lp_pool1d", "lp_pool2d", "multilabel_margin_loss", "gumbel_softmax", "pad"):
        assert callable(getattr(F, name))
    for name in ("CosineSimilarity", "PairwiseDistance", "ChannelShuffle", "LPPool1d", "LPPool2d",
                 "MultiLabelMarginLoss"):
        assert isinstance(getattr(nn, name), type) and issubclass(getattr(nn, name), nn.Module)
