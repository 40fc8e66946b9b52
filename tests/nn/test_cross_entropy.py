"""F.cross_entropy (one fused log-softmax + NLL kernel, fused backward) against torch: class indices with
weight / ignore_index / label_smoothing (and all combined), every reduction, probability targets,
(N, C), (C,) and (N, C, d1, d2) inputs, float32/float64, non-contiguous inputs, logits of magnitude
1e4, TEXTBOOK.md softmax numbers, gradcheck, and bad inputs."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pyml
import pyml.nn.functional as F
from nn_helpers import gradcheck

TOL = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-10, atol=1e-12)}
TDT = {"float32": torch.float32, "float64": torch.float64}


def P(t, requires_grad=False):
    p = pyml.tensor(t.detach().numpy())
    return p.requires_grad_() if requires_grad else p


def close(p, t, dtype, what=""):
    np.testing.assert_allclose(p.detach().double().numpy(), t.detach().double().numpy(), err_msg=what, **TOL[dtype])


def compare(x, target, dtype, gen, x_layout=None, target_grad=False, **kw):
    """Loss and input gradient (and probability-target gradient) of pyml vs torch."""
    xt = x.clone().requires_grad_()
    tt = target.clone().requires_grad_() if target_grad else target
    xp = P(x, True)
    tp = P(target, target_grad)
    kwp = {k: (P(v) if isinstance(v, torch.Tensor) else v) for k, v in kw.items()}
    lt = TF.cross_entropy(xt, tt, **kw)
    lp = F.cross_entropy(x_layout(xp) if x_layout else xp, tp, **kwp)
    assert tuple(lp.shape) == tuple(lt.shape)
    assert lp.dtype == pyml.float32 if dtype == "float32" else lp.dtype == pyml.float64
    close(lp, lt, dtype, "loss")
    g = torch.rand(lt.shape, dtype=lt.dtype, generator=gen) + 0.5
    lt.backward(g)
    lp.backward(P(g))
    close(xp.grad, xt.grad, dtype, "input grad")
    if target_grad:
        close(tp.grad, tt.grad, dtype, "target grad")


SHAPES = [(5, 3), (1, 1), (7, 97), (3, 1025), (4, 4, 3), (2, 5, 3, 4), (6,), (0, 4), (2, 3, 0)]


def make(shape, dtype, gen, ignore=False):
    C = shape[0] if len(shape) == 1 else shape[1]
    x = torch.randn(shape, dtype=TDT[dtype], generator=gen) * 3
    tshape = () if len(shape) == 1 else (shape[0],) + tuple(shape[2:])
    t = torch.randint(0, C, tshape, generator=gen)
    if ignore and t.numel() > 1:
        t.view(-1)[::3] = -100
    return x, t, C


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_class_indices(dtype, shape, reduction):
    gen = torch.Generator().manual_seed(hash(shape) % 1000)
    x, t, C = make(shape, dtype, gen)
    compare(x, t, dtype, gen, reduction=reduction)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(6, 4), (5, 3, 2, 3), (4,)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("opts", ["weight", "ignore", "smooth", "weight+ignore", "weight+smooth",
                                  "ignore+smooth", "weight+ignore+smooth"])
def test_class_indices_options(dtype, shape, reduction, opts):
    gen = torch.Generator().manual_seed(17)
    x, t, C = make(shape, dtype, gen, ignore="ignore" in opts)
    kw = dict(reduction=reduction)
    if "weight" in opts:
        kw["weight"] = torch.rand(C, dtype=TDT[dtype], generator=gen) + 0.2
    if "smooth" in opts:
        kw["label_smoothing"] = 0.15
    compare(x, t, dtype, gen, **kw)


def test_custom_ignore_index_and_all_ignored():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(6, 4, dtype=torch.float64, generator=gen)
    t = torch.tensor([1, 2, 2, 0, 2, 3])
    compare(x, t, "float64", gen, ignore_index=2)
    compare(x, t, "float64", gen, ignore_index=2, reduction="sum", label_smoothing=0.3)
    # every target ignored: mean is 0/0 = nan like torch, the gradient is zero
    xp = P(x, True)
    loss = F.cross_entropy(xp, pyml.full((6,), -100, dtype=pyml.int64))
    assert math.isnan(loss.item()) and math.isnan(TF.cross_entropy(x, torch.full((6,), -100)).item())
    F.cross_entropy(xp, pyml.full((6,), -100, dtype=pyml.int64), reduction="sum").backward()
    assert np.all(xp.grad.numpy() == 0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(5, 3), (3, 4, 2, 2), (7,), (2, 33)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("opts", ["", "weight", "smooth", "weight+smooth"])
def test_probability_targets(dtype, shape, reduction, opts):
    gen = torch.Generator().manual_seed(29)
    C = shape[0] if len(shape) == 1 else shape[1]
    x = torch.randn(shape, dtype=TDT[dtype], generator=gen) * 2
    target = torch.softmax(torch.randn(shape, dtype=TDT[dtype], generator=gen), dim=0 if len(shape) == 1 else 1)
    kw = dict(reduction=reduction)
    if "weight" in opts:
        kw["weight"] = torch.rand(C, dtype=TDT[dtype], generator=gen) + 0.2
    if "smooth" in opts:
        kw["label_smoothing"] = 0.2
    compare(x, target, dtype, gen, target_grad=True, **kw)


@pytest.mark.parametrize("layout", ["transposed", "strided", "channels_last"])
def test_non_contiguous_input(layout):
    gen = torch.Generator().manual_seed(5)
    if layout == "channels_last":
        x = torch.randn(2, 5, 3, 4, dtype=torch.float64, generator=gen)
        t = torch.randint(0, 5, (2, 3, 4), generator=gen)
        fn = lambda p: p.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)  # noqa: E731
    else:
        x = torch.randn(6, 7, dtype=torch.float64, generator=gen)
        t = torch.randint(0, 7, (6,), generator=gen)
        fn = (lambda p: p.t().contiguous().t()) if layout == "transposed" else \
            (lambda p: pyml.stack([p, p * 0], dim=-1).flatten(-2)[:, ::2])
    assert not fn(P(x)).is_contiguous()
    compare(x, t, "float64", gen, x_layout=fn, label_smoothing=0.1, weight=torch.rand(x.shape[1], dtype=torch.float64))
    # a non-contiguous target too
    tp = P(t).unsqueeze(-1).expand(*t.shape, 2)[..., 0]
    np.testing.assert_allclose(F.cross_entropy(P(x), tp).item(), TF.cross_entropy(x, t).item(), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_logits_stable(dtype):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(8, 10, dtype=TDT[dtype], generator=gen) * 1e4
    t = torch.randint(0, 10, (8,), generator=gen)
    compare(x, t, dtype, gen, reduction="none", label_smoothing=0.1)
    lp = F.cross_entropy(P(x), P(t), reduction="none")
    assert np.all(np.isfinite(lp.numpy()))
    # the textbook MSE-vs-CE example: y3 = -1000 must not overflow or give nan
    z = pyml.tensor([[2.0, 1.0, -1000.0]], requires_grad=True)
    loss = F.cross_entropy(z, pyml.tensor([2]))
    loss.backward()
    assert math.isclose(loss.item(), 1000 + 2 + math.log1p(math.exp(-1)), rel_tol=1e-6)
    assert np.all(np.isfinite(z.grad.numpy())) and abs(z.grad[0, 2].item() + 1) < 1e-6


def test_textbook_softmax_numbers():
    # TEXTBOOK.md: softmax of (3, 1, -3) = (0.8789, 0.1189, 0.0022); the cross-entropy against class j
    # is -log softmax_j, and its gradient softmax - onehot
    z = pyml.tensor([3.0, 1.0, -3.0], dtype=pyml.float64, requires_grad=True)
    sm = [0.8789, 0.1189, 0.0022]
    for j in range(3):
        z.grad = None
        loss = F.cross_entropy(z, pyml.tensor(j))
        assert loss.shape == ()
        assert abs(math.exp(-loss.item()) - sm[j]) < 5e-5
        loss.backward()
        want = np.array(sm) - np.eye(3)[j]
        np.testing.assert_allclose(z.grad.numpy(), want, atol=1e-4)
    # temperature softmax: cross-entropy of z / T; a larger T flattens the distribution
    for T in (0.5, 1.0, 5.0):
        probs = np.exp(np.array([3.0, 1.0, -3.0]) / T)
        probs /= probs.sum()
        got = F.cross_entropy(pyml.tensor([3.0, 1.0, -3.0], dtype=pyml.float64) / T, pyml.tensor(0)).item()
        assert abs(got + math.log(probs[0])) < 1e-12


@pytest.mark.filterwarnings("ignore:size_average and reduce args will be deprecated")
def test_legacy_reduction_arguments():
    gen = torch.Generator().manual_seed(1)
    x, t, _ = make((4, 3), "float64", gen)
    for sa, rd in ((False, None), (None, False), (True, True)):
        want = TF.cross_entropy(x, t, size_average=sa, reduce=rd)
        got = F.cross_entropy(P(x), P(t), size_average=sa, reduce=rd)
        close(got, want, "float64")


def test_integer_target_dtypes():
    gen = torch.Generator().manual_seed(2)
    x, t, _ = make((5, 4), "float64", gen)
    want = TF.cross_entropy(x, t)
    for dt in (pyml.int32, pyml.uint8, pyml.int16):
        close(F.cross_entropy(P(x), P(t).to(dt)), want, "float64")


def test_half_input():
    gen = torch.Generator().manual_seed(3)
    x, t, _ = make((6, 5), "float32", gen)
    for dt in (pyml.float16, pyml.bfloat16):
        got = F.cross_entropy(P(x).to(dt), P(t))
        assert got.dtype == dt
        np.testing.assert_allclose(got.float().item(), TF.cross_entropy(x, t).item(), rtol=2e-2)


def test_gradcheck():
    rng = np.random.default_rng(0)
    x = pyml.tensor(rng.normal(size=(3, 4))).requires_grad_()
    w = pyml.tensor(rng.uniform(0.5, 1.5, size=4))
    t = pyml.tensor([0, 3, -100])
    assert gradcheck(lambda x_: F.cross_entropy(x_, t, w, label_smoothing=0.2), (x,), atol=1e-6)
    assert gradcheck(lambda x_: F.cross_entropy(x_, t, reduction="none"), (x,), atol=1e-6)
    x4 = pyml.tensor(rng.normal(size=(2, 3, 2))).requires_grad_()
    p = pyml.tensor(rng.dirichlet(np.ones(3), size=(2, 2)).transpose(0, 2, 1).copy()).requires_grad_()
    assert gradcheck(lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1), (x4, p), atol=1e-6)


def test_weight_gradient_raises():
    x = pyml.randn(3, 4, requires_grad=True)
    w = pyml.rand(4, requires_grad=True)
    loss = F.cross_entropy(x, pyml.tensor([0, 1, 2]), w)
    with pytest.raises(RuntimeError, match="cross_entropy: the derivative for 'weight' is not implemented"):
        loss.backward()


def test_bad_inputs():
    x = pyml.randn(3, 5)
    with pytest.raises(IndexError, match=r"cross_entropy: target 5 is out of bounds for 5 classes.*input \(3, 5\)"):
        F.cross_entropy(x, pyml.tensor([0, 5, 1]))
    with pytest.raises(IndexError, match="cross_entropy: target -1 is out of bounds"):
        F.cross_entropy(x, pyml.tensor([0, -1, 1]))
    with pytest.raises(TypeError, match=r"cross_entropy: class-index target must be an integer tensor.*float32"):
        F.cross_entropy(x, pyml.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(TypeError, match="cross_entropy: class-index target must be an integer tensor.*bool"):
        F.cross_entropy(x, pyml.tensor([True, False, True]))
    with pytest.raises(TypeError, match=r"cross_entropy: a target with the input's shape \(3, 5\) holds class "
                                        r"probabilities and must be floating point, got dtype int64"):
        F.cross_entropy(x, pyml.zeros(3, 5, dtype=pyml.int64))
    with pytest.raises(ValueError, match=r"cross_entropy: expected target of shape \(3,\).*got target \(4,\)"):
        F.cross_entropy(x, pyml.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"cross_entropy: weight must have shape \(C,\) = \(5,\), got weight \(4,\)"):
        F.cross_entropy(x, pyml.tensor([0, 1, 2]), weight=pyml.ones(4))
    with pytest.raises(ValueError, match="cross_entropy: label_smoothing must be between 0.0 and 1.0, got 1.5"):
        F.cross_entropy(x, pyml.tensor([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="cross_entropy: 'avg' is not a valid value for reduction"):
        F.cross_entropy(x, pyml.tensor([0, 1, 2]), reduction="avg")
    with pytest.raises(TypeError, match="cross_entropy: expected a floating point input, got dtype int64"):
        F.cross_entropy(pyml.ones(3, 5, dtype=pyml.int64), pyml.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"cross_entropy: input must be \(C,\) or \(N, C, \*\), got input \(\)"):
        F.cross_entropy(pyml.tensor(1.0), pyml.tensor(0))
    with pytest.raises(TypeError, match="cross_entropy: argument 'target' must be Tensor"):
        F.cross_entropy(x, [0, 1, 2])


@pytest.mark.parametrize("shape", [(2000, 37), (16, 10, 33, 7)])
def test_many_rows_multithreaded(shape):
    # enough rows for several kernel chunks; the result must not depend on the thread count
    gen = torch.Generator().manual_seed(6)
    x, t, C = make(shape, "float32", gen, ignore=True)
    w = torch.rand(C, generator=gen) + 0.5
    compare(x, t, "float32", gen, weight=w, label_smoothing=0.05)
    n0 = pyml._C.get_num_threads()
    outs = []
    try:
        for nt in (1, 2):
            pyml._C.set_num_threads(nt)
            xp = P(x, True)
            loss = F.cross_entropy(xp, P(t), P(w), label_smoothing=0.05)
            loss.backward()
            outs.append((loss.item(), xp.grad.numpy()))
    finally:
        pyml._C.set_num_threads(n0)
    assert outs[0][0] == outs[1][0]
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
