"""Losses vs torch: every reduction, float32 and float64, class weights / pos_weight / ignore_index,
gradients for every differentiable input, odd and empty sizes, bad inputs naming the loss; distances,
normalize and one_hot."""
import numpy as np
import pytest
import torch

import pyml
import pyml.nn as nn
import pyml.nn.functional as F

tnn = torch.nn
TF = torch.nn.functional
DT = {"float32": (torch.float32, 2e-5, 1e-6), "float64": (torch.float64, 1e-10, 1e-12)}
REDS = ["none", "mean", "sum"]


def P(t):
    return pyml.from_dlpack(t.detach().contiguous())


def N(t):
    return np.asarray(t.detach().double())


def compare(p_fn, t_fn, inputs, dtype, diff=None, rtol=None, atol=None):
    """inputs: torch tensors; diff: indices of inputs to differentiate (default: all floating ones)."""
    tdt, r, a = DT[dtype]
    rtol, atol = rtol or r, atol or a
    t_in = [x.to(tdt) if x.is_floating_point() else x for x in inputs]
    if diff is None:
        diff = [i for i, x in enumerate(t_in) if x.is_floating_point()]
    t_in = [x.clone().requires_grad_(i in diff) for i, x in enumerate(t_in)]
    p_in = [P(x).requires_grad_(i in diff) for i, x in enumerate(t_in)]
    out_t, out_p = t_fn(*t_in), p_fn(*p_in)
    assert tuple(out_p.shape) == tuple(out_t.shape)
    np.testing.assert_allclose(N(out_p), N(out_t), rtol=rtol, atol=atol)
    if not diff:
        return
    w = torch.rand(out_t.shape, dtype=tdt) + 0.5
    (out_t * w).sum().backward()
    (out_p * P(w)).sum().backward()
    for i in diff:
        np.testing.assert_allclose(N(p_in[i].grad), N(t_in[i].grad), rtol=rtol * 10, atol=atol * 10,
                                   err_msg=f"grad of input {i}")


def both(name, *args, **kwargs):
    return (lambda *x: getattr(nn, name)(*args, **kwargs)(*x), lambda *x: getattr(tnn, name)(*args, **kwargs)(*x))


# ----------------------------------------------------------------------------------- regression
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", REDS)
@pytest.mark.parametrize("name,kw", [("MSELoss", {}), ("L1Loss", {}), ("SmoothL1Loss", {}),
                                     ("SmoothL1Loss", {"beta": 0.5}), ("SmoothL1Loss", {"beta": 0.0}),
                                     ("HuberLoss", {}), ("HuberLoss", {"delta": 0.3}), ("SoftMarginLoss", {})])
def test_regression_losses(name, kw, reduction, dtype):
    torch.manual_seed(0)
    for shape in [(5, 7), (97,), (1,), (2, 3, 4)]:
        x, y = torch.randn(shape), torch.randn(shape)
        if name == "SoftMarginLoss":
            y = torch.randint(0, 2, shape).float() * 2 - 1
        pf, tf = both(name, reduction=reduction, **kw)
        compare(pf, tf, [x, y], dtype, diff=[0] if name == "SoftMarginLoss" else None)


def test_regression_broadcast_warns_and_weight():
    x, y = torch.randn(4, 3), torch.randn(3)
    with pytest.warns(UserWarning, match="different to the input size"):
        out = F.mse_loss(P(x), P(y))
    np.testing.assert_allclose(N(out), N(TF.mse_loss(x, y.expand(4, 3))), rtol=1e-6)
    w = torch.rand(4, 3)
    y2 = torch.randn(4, 3)
    for fn, tfn in ((F.mse_loss, TF.mse_loss), (F.l1_loss, TF.l1_loss), (F.huber_loss, TF.huber_loss)):
        for red in REDS:
            compare(lambda a, b, c: fn(a, b, reduction=red, weight=c), lambda a, b, c: tfn(a, b, reduction=red,
                                                                                          weight=c),
                    [x, y2, w], "float64", diff=[0, 1])
    with pytest.raises(ValueError, match="mse_loss: Weights and input must have the same size"):
        F.mse_loss(P(x), P(y2), weight=P(w[0]))


def test_empty_input_mean_is_nan_like_torch():
    x = torch.zeros(0, 3)
    np.testing.assert_equal(N(F.mse_loss(P(x), P(x))), N(TF.mse_loss(x, x)))
    assert float(F.l1_loss(P(x), P(x), reduction="sum")) == 0.0


# ----------------------------------------------------------------------------------- classification
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", REDS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [-100, 2])
def test_nll_loss(dtype, reduction, weighted, ignore):
    torch.manual_seed(1)
    C = 5
    w = torch.rand(C) + 0.1 if weighted else None
    for xs, ts in [((7, C), (7,)), ((3, C, 4), (3, 4)), ((2, C, 3, 2), (2, 3, 2)), ((C,), ()), ((1, C), (1,))]:
        x = torch.randn(xs).log_softmax(1 if len(xs) > 1 else 0)
        t = torch.randint(0, C, ts)
        pw = P(w.to(DT[dtype][0])) if weighted else None
        tw = w.to(DT[dtype][0]) if weighted else None
        compare(lambda a, b: F.nll_loss(a, b, weight=pw, ignore_index=ignore, reduction=reduction),
                lambda a, b: TF.nll_loss(a, b, weight=tw, ignore_index=ignore, reduction=reduction),
                [x, t], dtype)
    m, tm = nn.NLLLoss(weight=P(w) if weighted else None), tnn.NLLLoss(weight=w)
    assert list(m.state_dict()) == list(tm.state_dict())


def test_nll_loss_bad_inputs():
    x = pyml.randn(4, 3)
    with pytest.raises(IndexError, match="nll_loss: target 3 is out of bounds for 3 classes"):
        F.nll_loss(x, pyml.tensor([0, 1, 2, 3]))
    with pytest.raises(IndexError, match="nll_loss: target -1 is out of bounds"):
        F.nll_loss(x, pyml.tensor([0, 1, 2, -1]))
    with pytest.raises(ValueError, match=r"nll_loss: Expected input batch_size \(4\) to match target batch_size \(2\)"):
        F.nll_loss(x, pyml.tensor([0, 1]))
    with pytest.raises(TypeError, match="nll_loss: expected target of an integer dtype"):
        F.nll_loss(x, pyml.zeros(4))
    with pytest.raises(ValueError, match="nll_loss: weight tensor should be defined either for all 3 classes"):
        F.nll_loss(x, pyml.tensor([0, 1, 2, 0]), weight=pyml.ones(4))
    with pytest.raises(ValueError, match="nll_loss: bogus is not a valid value for reduction"):
        F.nll_loss(x, pyml.tensor([0, 1, 2, 0]), reduction="bogus")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", REDS)
def test_bce_losses(dtype, reduction):
    torch.manual_seed(2)
    for shape in [(6, 4), (13,), (1,)]:
        x, y, w = torch.randn(shape) * 3, torch.rand(shape), torch.rand(shape)
        compare(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
                lambda a, b: TF.binary_cross_entropy(a, b, reduction=reduction), [torch.sigmoid(x), y], dtype)
        compare(lambda a, b, c: F.binary_cross_entropy(a, b, c, reduction=reduction),
                lambda a, b, c: TF.binary_cross_entropy(a, b, c, reduction=reduction),
                [torch.sigmoid(x), y, w], dtype, diff=[0, 1])
        compare(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction),
                lambda a, b: TF.binary_cross_entropy_with_logits(a, b, reduction=reduction), [x, y], dtype)
        pw = torch.rand(shape[-1:]) * 3
        compare(lambda a, b, c, d: F.binary_cross_entropy_with_logits(a, b, c, reduction=reduction, pos_weight=d),
                lambda a, b, c, d: TF.binary_cross_entropy_with_logits(a, b, c, reduction=reduction, pos_weight=d),
                [x, y, w, pw], dtype, diff=[0, 1])
    pm = nn.BCEWithLogitsLoss(pos_weight=pyml.ones(3))
    tm = tnn.BCEWithLogitsLoss(pos_weight=torch.ones(3))
    assert list(pm.state_dict()) == list(tm.state_dict()) == ["pos_weight"]


def test_bce_extremes_and_bad_inputs():
    x = torch.tensor([0.0, 1.0, 1e-30, 1 - 1e-7], dtype=torch.float64)
    y = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=torch.float64)
    np.testing.assert_allclose(N(F.binary_cross_entropy(P(x), P(y), reduction="none")),
                               N(TF.binary_cross_entropy(x, y, reduction="none")), rtol=1e-9)
    big = torch.tensor([-500.0, 500.0, 0.0], dtype=torch.float64)
    t = torch.tensor([1.0, 0.0, 0.5], dtype=torch.float64)
    compare(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="none"),
            lambda a, b: TF.binary_cross_entropy_with_logits(a, b, reduction="none"), [big, t], "float64")
    with pytest.raises(ValueError, match="binary_cross_entropy: all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(pyml.tensor([1.5]), pyml.tensor([1.0]))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: Using a target size \(\(2,\)\)"):
        F.binary_cross_entropy(pyml.tensor([0.5]), pyml.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: Target size \(\(2,\)\) must be the same"):
        F.binary_cross_entropy_with_logits(pyml.tensor([0.5]), pyml.tensor([1.0, 0.0]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", REDS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(dtype, reduction, log_target):
    torch.manual_seed(3)
    x = torch.randn(4, 6).log_softmax(1)
    t = torch.randn(4, 6).softmax(1)
    t[0, 0] = 0.0  # 0 * log 0 = 0
    if log_target:
        t = torch.randn(4, 6).log_softmax(1)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
                lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target), [x, t], dtype,
                diff=[0, 1] if log_target else [0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", REDS)
def test_margin_and_embedding_losses(dtype, reduction):
    torch.manual_seed(4)
    a, b = torch.randn(9), torch.randn(9)
    y = torch.randint(0, 2, (9,)).float() * 2 - 1
    compare(*both("MarginRankingLoss", margin=0.3, reduction=reduction)[::1], [a, b, y], dtype, diff=[0, 1])
    compare(*both("HingeEmbeddingLoss", margin=0.7, reduction=reduction), [a, y], dtype, diff=[0])
    for shape in [(5, 7), (7,)]:
        x1, x2 = torch.randn(shape), torch.randn(shape)
        yy = (torch.randint(0, 2, shape[:-1]).float() * 2 - 1) if len(shape) == 2 else torch.tensor(-1.0)
        compare(*both("CosineEmbeddingLoss", margin=-0.2, reduction=reduction), [x1, x2, yy], dtype, diff=[0, 1])
    anchor, pos, neg = torch.randn(6, 5), torch.randn(6, 5), torch.randn(6, 5)
    for kw in [{}, {"p": 1.0}, {"swap": True, "margin": 0.5}, {"p": 3.0, "eps": 1e-3}]:
        compare(*both("TripletMarginLoss", reduction=reduction, **kw), [anchor, pos, neg], dtype)
    compare(lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, reduction=reduction, swap=True),
            lambda a, p, n: TF.triplet_margin_with_distance_loss(a, p, n, reduction=reduction, swap=True),
            [anchor, pos, neg], dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", REDS)
@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin_loss(dtype, reduction, p):
    torch.manual_seed(5)
    x, t = torch.randn(7, 4), torch.randint(0, 4, (7,))
    w = torch.rand(4) + 0.2
    compare(*both("MultiMarginLoss", p=p, margin=0.8, reduction=reduction), [x, t], dtype)
    compare(lambda a, b: F.multi_margin_loss(a, b, p=p, weight=P(w.to(DT[dtype][0])), reduction=reduction),
            lambda a, b: TF.multi_margin_loss(a, b, p=p, weight=w.to(DT[dtype][0]), reduction=reduction), [x, t], dtype)
    compare(*both("MultiMarginLoss", p=p, reduction=reduction), [torch.randn(4), torch.tensor(2)], dtype)
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", REDS)
def test_gaussian_and_poisson_nll(dtype, reduction):
    torch.manual_seed(6)
    x, y = torch.randn(5, 3), torch.randn(5, 3)
    for var in [torch.rand(5, 3) + 0.1, torch.rand(5) + 0.1, torch.rand(5, 1) + 0.1,
                torch.tensor([[1e-9, 0.5, 2.0]]).expand(5, 3).contiguous()]:
        for full in (False, True):
            compare(lambda a, b, c: F.gaussian_nll_loss(a, b, c, full=full, reduction=reduction),
                    lambda a, b, c: TF.gaussian_nll_loss(a, b, c, full=full, reduction=reduction), [x, y, var], dtype)
    counts = torch.poisson(torch.rand(5, 3) * 4)
    for log_input in (True, False):
        for full in (False, True):
            inp = torch.randn(5, 3) if log_input else torch.rand(5, 3) + 0.1
            compare(*both("PoissonNLLLoss", log_input=log_input, full=full, reduction=reduction), [inp, counts],
                    dtype, diff=[0])
    with pytest.raises(ValueError, match="gaussian_nll_loss: var is of incorrect size"):
        F.gaussian_nll_loss(pyml.randn(5, 3), pyml.randn(5, 3), pyml.ones(2, 2))
    with pytest.raises(ValueError, match="gaussian_nll_loss: var has negative entry"):
        F.gaussian_nll_loss(pyml.randn(5, 3), pyml.randn(5, 3), -pyml.ones(5, 3))


def test_multilabel_soft_margin():
    torch.manual_seed(7)
    x, y = torch.randn(4, 6), torch.randint(0, 2, (4, 6)).float()
    for red in REDS:
        compare(*both("MultiLabelSoftMarginLoss", reduction=red), [x, y], "float64", diff=[0])


def test_legacy_size_average_reduce():
    x, y = torch.randn(4, 3), torch.randn(4, 3)
    with pytest.warns(UserWarning):
        got = F.mse_loss(P(x), P(y), size_average=False)
    np.testing.assert_allclose(N(got), N(TF.mse_loss(x, y, reduction="sum")), rtol=1e-6)
    with pytest.warns(UserWarning):
        m = nn.L1Loss(reduce=False)
    assert m.reduction == "none"


# ----------------------------------------------------------------------------------- CTC
def _ctc_case(T, N_, C, S, min_s=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(T, N_, C, generator=g)
    tl = torch.randint(min_s, S + 1, (N_,), generator=g)
    il = torch.randint(max(T - 3, 1), T + 1, (N_,), generator=g)
    il[0] = T
    targets = torch.randint(1, C, (N_, S), generator=g)
    targets[0, :2] = min(3, C - 1)  # a repeated label needs a blank in between
    return logits, targets, il, tl


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", REDS)
@pytest.mark.parametrize("T,N_,C,S", [(12, 3, 5, 4), (1, 1, 3, 1), (30, 4, 7, 9), (7, 2, 4, 0)])
def test_ctc_loss_vs_torch(dtype, reduction, T, N_, C, S):
    logits, targets, il, tl = _ctc_case(T, N_, C, max(S, 1), min_s=0 if S == 0 else 1)
    if S == 0:
        tl = torch.zeros(N_, dtype=torch.long)
    for concat in (False, True):
        tg = torch.cat([targets[i, :tl[i]] for i in range(N_)]) if concat else targets

        def pf(x, reduction=reduction, tg=tg):
            return F.ctc_loss(x.log_softmax(2), P(tg), P(il), P(tl), reduction=reduction)

        def tf(x, reduction=reduction, tg=tg):
            return TF.ctc_loss(x.log_softmax(2), tg, il, tl, reduction=reduction)
        compare(pf, tf, [logits], dtype, rtol=1e-4 if dtype == "float32" else 1e-9,
                atol=1e-5 if dtype == "float32" else 1e-11)


def test_ctc_impossible_alignment_and_zero_infinity():
    # target longer than the input: loss is inf, or 0 with zero_infinity (and a zero gradient)
    logits = torch.randn(3, 2, 5, dtype=torch.float64)
    targets = torch.tensor([[1, 2, 3, 4], [1, 1, 0, 0]])
    il, tl = torch.tensor([3, 3]), torch.tensor([4, 2])
    for zi in (False, True):
        compare(lambda x: F.ctc_loss(x.log_softmax(2), P(targets), P(il), P(tl), reduction="none", zero_infinity=zi),
                lambda x: TF.ctc_loss(x.log_softmax(2), targets, il, tl, reduction="none", zero_infinity=zi),
                [logits], "float64", diff=[0] if zi else [])
    m = nn.CTCLoss(blank=0, zero_infinity=True)
    x = P(logits).requires_grad_()
    m(x.log_softmax(2), P(targets), [3, 3], [4, 2]).backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_ctc_unbatched_and_blank_index():
    torch.manual_seed(8)
    logits = torch.randn(10, 6, dtype=torch.float64)
    tg = torch.tensor([1, 2, 2, 4])
    compare(lambda x: F.ctc_loss(x.log_softmax(1), P(tg), 10, 4, blank=5),
            lambda x: TF.ctc_loss(x.log_softmax(1), tg, torch.tensor(10), torch.tensor(4), blank=5),
            [logits], "float64")
    with pytest.raises(ValueError, match="ctc_loss: Expected input_lengths to have value at most 10"):
        F.ctc_loss(P(logits).unsqueeze(1), P(tg).unsqueeze(0), [11], [4])
    with pytest.raises(ValueError, match="ctc_loss: blank must be in label range"):
        F.ctc_loss(P(logits).unsqueeze(1), P(tg).unsqueeze(0), [10], [4], blank=6)


# ----------------------------------------------------------------------------------- distances, one_hot
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_distances(dtype):
    torch.manual_seed(9)
    a, b = torch.randn(5, 7), torch.randn(5, 7)
    for p in (1.0, 2.0, 3.0):
        compare(lambda x, y: F.pairwise_distance(x, y, p=p), lambda x, y: TF.pairwise_distance(x, y, p=p), [a, b],
                dtype)
        compare(lambda x: F.pdist(x, p=p), lambda x: TF.pdist(x, p=p), [a], dtype)
        compare(lambda x, y: F.cdist(x, y, p=p), lambda x, y: torch.cdist(x, y, p=p), [a, b[:3]], dtype)
    compare(lambda x, y: F.pairwise_distance(x, y, keepdim=True), lambda x, y: TF.pairwise_distance(x, y, keepdim=True),
            [a, b[0]], dtype)
    big1, big2 = torch.randn(2, 30, 4), torch.randn(2, 27, 4)
    compare(lambda x, y: F.cdist(x, y), lambda x, y: torch.cdist(x, y), [big1, big2], dtype,
            rtol=1e-4 if dtype == "float32" else 1e-9)
    for dim in (0, 1, -1):
        compare(lambda x, y: F.cosine_similarity(x, y, dim=dim), lambda x, y: TF.cosine_similarity(x, y, dim=dim),
                [a, b], dtype)
        compare(lambda x: F.normalize(x, dim=dim), lambda x: TF.normalize(x, dim=dim), [a], dtype)
    compare(lambda x: F.normalize(x, p=1, dim=1), lambda x: TF.normalize(x, p=1, dim=1), [a], dtype)
    compare(lambda x, y: F.cosine_similarity(x, y), lambda x, y: TF.cosine_similarity(x, y),
            [a, b[:1]], dtype)
    with pytest.raises(ValueError, match="pdist: only supports 2D tensors"):
        F.pdist(pyml.randn(3))
    with pytest.raises(ValueError, match="cdist: X1 and X2 must have the same number of columns"):
        F.cdist(pyml.randn(3, 2), pyml.randn(3, 4))


def test_one_hot():
    t = torch.tensor([[0, 3], [2, 1]])
    np.testing.assert_array_equal(F.one_hot(P(t)).numpy(), TF.one_hot(t).numpy())
    np.testing.assert_array_equal(F.one_hot(P(t), 6).numpy(), TF.one_hot(t, 6).numpy())
    assert F.one_hot(P(t)).dtype == pyml.int64
    with pytest.raises(ValueError, match="one_hot: Class values must be smaller than num_classes"):
        F.one_hot(P(t), 3)
    with pytest.raises(ValueError, match="one_hot: Class values must be non-negative"):
        F.one_hot(pyml.tensor([-1, 0]))
    with pytest.raises(TypeError, match="one_hot: one_hot is only applicable to index tensor of type int64"):
        F.one_hot(pyml.tensor([1.0]))


def test_loss_module_reprs_and_keys():
    for name in ["MSELoss", "L1Loss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "KLDivLoss", "CTCLoss",
                 "HuberLoss", "SmoothL1Loss", "GaussianNLLLoss", "PoissonNLLLoss", "CrossEntropyLoss",
                 "TripletMarginLoss", "CosineEmbeddingLoss", "MultiMarginLoss", "MarginRankingLoss"]:
        assert repr(getattr(nn, name)()) == repr(getattr(tnn, name)())
    pm = nn.CrossEntropyLoss(weight=pyml.ones(3), ignore_index=1, label_smoothing=0.1)
    tm = tnn.CrossEntropyLoss(weight=torch.ones(3), ignore_index=1, label_smoothing=0.1)
    assert list(pm.state_dict()) == list(tm.state_dict()) and pm.ignore_index == 1 and pm.label_smoothing == 0.1
