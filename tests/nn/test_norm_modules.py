"""Normalisation and embedding Modules against torch.nn with torch's state_dict copied in: state_dict keys,
outputs, input and parameter gradients, running statistics and num_batches_tracked over several train
steps (momentum and momentum=None), eval mode, track_running_stats=False, affine=False, extra_repr,
Embedding.from_pretrained, and bad inputs naming the layer."""
import numpy as np
import pytest
import torch

import pyml
import pyml.nn as nn

TOL = {"float32": dict(rtol=2e-4, atol=2e-5), "float64": dict(rtol=1e-9, atol=1e-10)}
TDT = {"float32": torch.float32, "float64": torch.float64}
PDT = {"float32": pyml.float32, "float64": pyml.float64}


def P(t, requires_grad=False):
    p = pyml.tensor(t.detach().numpy())
    return p.requires_grad_() if requires_grad else p


def close(p, t, dtype, what=""):
    np.testing.assert_allclose(p.detach().double().numpy(), t.detach().double().numpy(), err_msg=what, **TOL[dtype])


def twin(tcls, pcls, dtype, *args, **kw):
    """A torch module with random parameters/buffers and the pyml one loaded from its state_dict."""
    gen = torch.Generator().manual_seed(0)
    tm = tcls(*args, **kw).to(TDT[dtype])
    with torch.no_grad():
        for name, t in list(tm.named_parameters()) + list(tm.named_buffers()):
            if t.dtype.is_floating_point:
                t.copy_(torch.rand(t.shape, dtype=t.dtype, generator=gen) + 0.5)
    pm = pcls(*args, **kw).to(PDT[dtype])
    assert list(pm.state_dict().keys()) == list(tm.state_dict().keys())
    pm.load_state_dict({k: P(v) for k, v in tm.state_dict().items()})
    return tm, pm


def step(tm, pm, x, dtype, gen):
    xt = x.clone().requires_grad_()
    xp = P(x, True)
    yt, yp = tm(xt), pm(xp)
    close(yp, yt, dtype, "output")
    g = torch.randn(yt.shape, dtype=yt.dtype, generator=gen)
    yt.backward(g)
    yp.backward(P(g))
    close(xp.grad, xt.grad, dtype, "input grad")
    tparams = dict(tm.named_parameters())
    for name, p in pm.named_parameters():
        close(p.grad, tparams[name].grad, dtype, f"{name} grad")
    tbufs = dict(tm.named_buffers())
    for name, b in pm.named_buffers():
        if b is not None:
            np.testing.assert_allclose(b.double().numpy(), tbufs[name].double().numpy(), err_msg=name,
                                       **TOL[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (8, 5)), ("BatchNorm1d", (4, 5, 7)),
                                       ("BatchNorm2d", (3, 5, 4, 3))])
@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("affine", [True, False, "nobias"])
@pytest.mark.parametrize("track", [True, False])
def test_batchnorm_modules(dtype, cls, shape, momentum, affine, track):
    gen = torch.Generator().manual_seed(1)
    tm, pm = twin(getattr(torch.nn, cls), getattr(nn, cls), dtype, 5, momentum=momentum, affine=bool(affine),
                  track_running_stats=track, bias=affine != "nobias")
    for s in range(3):
        step(tm, pm, torch.randn(shape, dtype=TDT[dtype], generator=gen) * (s + 1) + s, dtype, gen)
        tm.zero_grad()
        pm.zero_grad()
    if track:
        assert pm.num_batches_tracked.item() == 3 and pm.num_batches_tracked.dtype == pyml.int64
    tm.eval()
    pm.eval()
    step(tm, pm, torch.randn(shape, dtype=TDT[dtype], generator=gen), dtype, gen)


def test_batchnorm_defaults_and_repr():
    pm, tm = nn.BatchNorm2d(4), torch.nn.BatchNorm2d(4)
    assert pm.extra_repr() == tm.extra_repr()
    for k, v in tm.state_dict().items():
        np.testing.assert_array_equal(pm.state_dict()[k].numpy(), v.numpy())
    assert list(nn.BatchNorm1d(3, affine=False, track_running_stats=False).state_dict()) == []
    assert nn.GroupNorm(2, 4, bias=False).bias is None
    assert list(nn.GroupNorm(2, 4, bias=False).state_dict()) == list(torch.nn.GroupNorm(2, 4, bias=False).state_dict())
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(3)(pyml.randn(2, 4, 5))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cls,shape", [("InstanceNorm1d", (3, 4, 7)), ("InstanceNorm1d", (4, 7)),
                                       ("InstanceNorm2d", (2, 4, 3, 5)), ("InstanceNorm2d", (4, 3, 5))])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("track", [True, False])
def test_instancenorm_modules(dtype, cls, shape, affine, track):
    gen = torch.Generator().manual_seed(2)
    tm, pm = twin(getattr(torch.nn, cls), getattr(nn, cls), dtype, 4, affine=affine, track_running_stats=track,
                  bias=track)
    for _ in range(2):
        step(tm, pm, torch.randn(shape, dtype=TDT[dtype], generator=gen), dtype, gen)
        tm.zero_grad()
        pm.zero_grad()
    tm.eval()
    pm.eval()
    step(tm, pm, torch.randn(shape, dtype=TDT[dtype], generator=gen), dtype, gen)
    assert pm.extra_repr() == tm.extra_repr()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kw", [dict(), dict(elementwise_affine=False), dict(bias=False), dict(eps=1e-3)])
def test_layernorm_module(dtype, kw):
    gen = torch.Generator().manual_seed(3)
    tm, pm = twin(torch.nn.LayerNorm, nn.LayerNorm, dtype, (3, 5), **kw)
    step(tm, pm, torch.randn(2, 3, 5, dtype=TDT[dtype], generator=gen), dtype, gen)
    assert pm.extra_repr() == tm.extra_repr()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_groupnorm_rmsnorm_lrn_modules(dtype):
    gen = torch.Generator().manual_seed(4)
    for tcls, pcls, args, shape in ((torch.nn.GroupNorm, nn.GroupNorm, (2, 6), (3, 6, 5)),
                                    (torch.nn.GroupNorm, nn.GroupNorm, (3, 6), (2, 6, 2, 3)),
                                    (torch.nn.GroupNorm, nn.GroupNorm, (3, 6, 1e-3, True, None, None), (2, 6, 4)),
                                    (torch.nn.RMSNorm, nn.RMSNorm, ((5,),), (4, 5)),
                                    (torch.nn.LocalResponseNorm, nn.LocalResponseNorm, (3,), (2, 5, 4))):
        tm, pm = twin(tcls, pcls, dtype, *args)
        step(tm, pm, torch.randn(shape, dtype=TDT[dtype], generator=gen), dtype, gen)
        assert pm.extra_repr() == tm.extra_repr()


def test_embedding_modules():
    gen = torch.Generator().manual_seed(5)
    tm, pm = twin(torch.nn.Embedding, nn.Embedding, "float64", 10, 4, padding_idx=2)
    idx = torch.tensor([[1, 2, 2], [9, 0, 1]])
    yt, yp = tm(idx), pm(P(idx))
    close(yp, yt, "float64")
    g = torch.randn(yt.shape, dtype=yt.dtype, generator=gen)
    yt.backward(g)
    yp.backward(P(g))
    close(pm.weight.grad, tm.weight.grad, "float64")
    assert pm.extra_repr() == tm.extra_repr()
    fresh = nn.Embedding(6, 3, padding_idx=-1)
    assert fresh.padding_idx == 5 and np.all(fresh.weight[5].detach().numpy() == 0)
    assert fresh.weight.requires_grad and list(fresh.state_dict()) == ["weight"]

    pre = pyml.tensor([[1.0, 2.0], [3.0, 4.0]])
    e = nn.Embedding.from_pretrained(pre)
    assert not e.weight.requires_grad and e(pyml.tensor([1])).tolist() == [[3.0, 4.0]]
    assert nn.Embedding.from_pretrained(pre, freeze=False).weight.requires_grad

    tb, pb = twin(torch.nn.EmbeddingBag, nn.EmbeddingBag, "float64", 10, 4, mode="sum")
    flat, offs = torch.tensor([1, 2, 4, 5, 4]), torch.tensor([0, 2])
    psw = torch.rand(5, dtype=torch.float64, generator=gen)
    close(pb(P(flat), P(offs), P(psw)), tb(flat, offs, psw), "float64")
    assert pb.extra_repr() == tb.extra_repr()
    bag = nn.EmbeddingBag.from_pretrained(pre, mode="max")
    assert bag(pyml.tensor([[0, 1]])).tolist() == [[3.0, 4.0]] and not bag.weight.requires_grad


def test_module_bad_inputs():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input \(got 3D input"):
        nn.BatchNorm2d(3)(pyml.randn(2, 3, 4))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected 2D or 3D input \(got 4D input"):
        nn.BatchNorm1d(3)(pyml.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"batch_norm: weight must have shape \(4,\), got weight \(3,\); input \(2, 4\)"):
        nn.BatchNorm1d(3)(pyml.randn(2, 4))
    with pytest.raises(ValueError, match=r"GroupNorm: num_channels \(6\) must be divisible by num_groups \(4\)"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"InstanceNorm2d: expected input's size at dim=1 to match num_features"):
        nn.InstanceNorm2d(3, affine=True)(pyml.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(4,\)"):
        nn.LayerNorm(4)(pyml.randn(2, 5))
    with pytest.raises(ValueError, match=r"Embedding: padding_idx must be within num_embeddings \(5\)"):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(IndexError, match="embedding: index 7 is out of range"):
        nn.Embedding(5, 2)(pyml.tensor([7]))
