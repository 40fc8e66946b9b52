"""nn.utils against torch.nn.utils: the hook-based spectral_norm / remove_spectral_norm, conv/linear +
BatchNorm fusion, skip_init and parametrizations.orthogonal (three maps, with and without trivialization)."""
import numpy as np
import pytest
import torch

import pyml
import pyml.nn as nn
from pyml.nn.utils import parametrizations


def _copy_into(pm, tm):
    """Load torch module tm's state_dict into pyml module pm."""
    pm.load_state_dict({k: pyml.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


def _close(a, b, tol=1e-12):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


SN_CASES = [
    ("Linear", (5, 7), {}, (3, 5)),
    ("Conv2d", (3, 4, 3), {}, (2, 3, 6, 5)),
    ("ConvTranspose2d", (3, 4, 3), {}, (2, 3, 5, 5)),
    ("Linear", (9, 1), dict(n_power_iterations=3, eps=1e-6), (4, 9)),
    ("Conv1d", (2, 5, 3), dict(dim=1), (3, 2, 11)),
]


@pytest.mark.parametrize("cls,args,kw,xshape", SN_CASES, ids=[c[0] + str(i) for i, c in enumerate(SN_CASES)])
def test_spectral_norm_hook_vs_torch(cls, args, kw, xshape):
    torch.manual_seed(0)
    tm = torch.nn.utils.spectral_norm(getattr(torch.nn, cls)(*args).double(), **kw)
    pm = pyml.nn.utils.spectral_norm(getattr(nn, cls)(*args, dtype=pyml.float64), **kw)
    assert sorted(pm.state_dict()) == sorted(tm.state_dict())
    assert sorted(n for n, _ in pm.named_parameters()) == sorted(n for n, _ in tm.named_parameters())
    _copy_into(pm, tm)
    x = np.random.default_rng(1).standard_normal(xshape)
    for step in range(3):  # training: one power-iteration round per forward, u and v updated in place
        out, tout = pm(pyml.tensor(x)), tm(torch.tensor(x))
        _close(out, tout)
        _close(pm.weight_u, tm.weight_u)
        _close(pm.weight_v, tm.weight_v)
    # gradients reach weight_orig through W / sigma
    (out * out).sum().backward()
    (tout * tout).sum().backward()
    _close(pm.weight_orig.grad, tm.weight_orig.grad, 1e-10)
    pm.eval()
    tm.eval()
    u = pm.weight_u.numpy().copy()
    _close(pm(pyml.tensor(x)), tm(torch.tensor(x)))
    np.testing.assert_array_equal(pm.weight_u.numpy(), u)  # eval: no power iteration
    # remove: one plain parameter holding W / sigma with the current u, v
    pyml.nn.utils.remove_spectral_norm(pm)
    torch.nn.utils.remove_spectral_norm(tm)
    assert sorted(pm.state_dict()) == sorted(tm.state_dict())
    assert isinstance(pm.weight, nn.Parameter)
    _close(pm.weight, tm.weight)
    assert not pm._forward_pre_hooks and not pm._state_dict_hooks and not pm._load_state_dict_pre_hooks


def test_spectral_norm_normalises_the_top_singular_value():
    pyml.manual_seed(0)
    m = pyml.nn.utils.spectral_norm(nn.Linear(13, 7, dtype=pyml.float64), n_power_iterations=5)
    x = pyml.randn(2, 13, dtype=pyml.float64)
    for _ in range(20):
        m(x)
    s = pyml.linalg.svdvals(m.weight.detach())
    assert abs(s[0].item() - 1.0) < 1e-8


def test_spectral_norm_state_dict_metadata_and_round_trip():
    torch.manual_seed(0)
    tm = torch.nn.utils.spectral_norm(torch.nn.Linear(4, 6).double())
    pm = pyml.nn.utils.spectral_norm(nn.Linear(4, 6, dtype=pyml.float64))
    sd, tsd = pm.state_dict(), tm.state_dict()
    assert sd._metadata[""]["spectral_norm"] == tsd._metadata[""]["spectral_norm"] == {"weight.version": 1}
    other = pyml.nn.utils.spectral_norm(nn.Linear(4, 6, dtype=pyml.float64))
    other.load_state_dict(sd)
    for k in sd:
        np.testing.assert_array_equal(other.state_dict()[k].numpy(), sd[k].numpy())


def test_spectral_norm_loads_version_0_state_dict():
    """A version-0 checkpoint stores <name> (W / sigma) and no <name>_v: v is solved for, like torch."""
    torch.manual_seed(2)
    tm = torch.nn.utils.spectral_norm(torch.nn.Linear(4, 6).double())
    tm(torch.randn(2, 4, dtype=torch.float64))
    old = {"weight_orig": tm.weight_orig.detach(), "weight_u": tm.weight_u, "bias": tm.bias.detach(),
           "weight": tm.weight.detach()}
    pm = pyml.nn.utils.spectral_norm(nn.Linear(4, 6, dtype=pyml.float64))
    pm.load_state_dict({k: pyml.tensor(v.numpy()) for k, v in old.items()})
    t2 = torch.nn.utils.spectral_norm(torch.nn.Linear(4, 6).double())
    t2.load_state_dict(dict(old))
    _close(pm.weight_v, t2.weight_v, 1e-9)
    pm.eval()
    t2.eval()
    x = np.ones((1, 4))
    _close(pm(pyml.tensor(x)), t2(torch.tensor(x)), 1e-9)


def test_spectral_norm_errors():
    m = pyml.nn.utils.spectral_norm(nn.Linear(3, 3))
    with pytest.raises(RuntimeError, match="Cannot register two spectral_norm hooks"):
        pyml.nn.utils.spectral_norm(m)
    with pytest.raises(ValueError, match="n_power_iterations to be positive"):
        pyml.nn.utils.spectral_norm(nn.Linear(3, 3), n_power_iterations=0)
    with pytest.raises(ValueError, match="must have a parameter 'kernel'"):
        pyml.nn.utils.spectral_norm(nn.Linear(3, 3), name="kernel")
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found"):
        pyml.nn.utils.remove_spectral_norm(nn.Linear(3, 3))


def _bn_pair(cls, c, seed):
    rng = np.random.default_rng(seed)
    tb = getattr(torch.nn, cls)(c).double()
    with torch.no_grad():
        tb.running_mean.copy_(torch.tensor(rng.standard_normal(c)))
        tb.running_var.copy_(torch.tensor(rng.uniform(0.5, 2.0, c)))
        tb.weight.copy_(torch.tensor(rng.standard_normal(c)))
        tb.bias.copy_(torch.tensor(rng.standard_normal(c)))
    pb = getattr(nn, cls)(c, dtype=pyml.float64)
    _copy_into(pb, tb)
    return pb.eval(), tb.eval()


CONV_CASES = [("Conv2d", (3, 5, 3), dict(bias=True), "BatchNorm2d", 5, (2, 3, 7, 6), False),
              ("Conv2d", (4, 6, 3), dict(bias=False, groups=2), "BatchNorm2d", 6, (1, 4, 5, 5), False),
              ("Conv1d", (2, 7, 5), {}, "BatchNorm1d", 7, (3, 2, 11), False),
              ("ConvTranspose2d", (3, 4, 3), {}, "BatchNorm2d", 4, (2, 3, 5, 4), True)]


@pytest.mark.parametrize("cls,args,kw,bn_cls,c,xshape,transpose", CONV_CASES, ids=[c[0] + str(i) for i, c in
                                                                                  enumerate(CONV_CASES)])
def test_fuse_conv_bn_eval_vs_torch(cls, args, kw, bn_cls, c, xshape, transpose):
    tc = getattr(torch.nn, cls)(*args, **kw).double().eval()
    pc = getattr(nn, cls)(*args, **kw, dtype=pyml.float64).eval()
    _copy_into(pc, tc)
    pb, tb = _bn_pair(bn_cls, c, 3)
    fused = pyml.nn.utils.fuse_conv_bn_eval(pc, pb, transpose=transpose)
    tfused = torch.nn.utils.fuse_conv_bn_eval(tc, tb, transpose=transpose)
    assert fused is not pc and type(fused) is type(pc)
    _close(fused.weight, tfused.weight)
    _close(fused.bias, tfused.bias)
    x = np.random.default_rng(4).standard_normal(xshape)
    _close(fused(pyml.tensor(x)), pb(pc(pyml.tensor(x))), 1e-10)
    assert (pc.bias is None) == (not kw.get("bias", True))  # the original module is untouched


def test_fuse_conv_bn_weights_without_bn_affine():
    rng = np.random.default_rng(0)
    w, rm, rv = rng.standard_normal((6, 2, 3, 3)), rng.standard_normal(6), rng.uniform(0.5, 2, 6)
    out = pyml.nn.utils.fuse_conv_bn_weights(pyml.tensor(w, requires_grad=True), None, pyml.tensor(rm),
                                             pyml.tensor(rv), 1e-3, None, None)
    ref = torch.nn.utils.fuse_conv_bn_weights(torch.tensor(w, requires_grad=True), None, torch.tensor(rm),
                                              torch.tensor(rv), 1e-3, None, None)
    for a, b in zip(out, ref):
        assert isinstance(a, nn.Parameter) and a.requires_grad == b.requires_grad
        _close(a, b)


@pytest.mark.parametrize("out,bn_c", [(5, 5), (7, 1)])
def test_fuse_linear_bn_eval_vs_torch(out, bn_c):
    tl, pl = torch.nn.Linear(9, out).double().eval(), nn.Linear(9, out, dtype=pyml.float64).eval()
    _copy_into(pl, tl)
    pb, tb = _bn_pair("BatchNorm1d", bn_c, 5)
    fused = pyml.nn.utils.fuse_linear_bn_eval(pl, pb)
    tfused = torch.nn.utils.fuse_linear_bn_eval(tl, tb)
    _close(fused.weight, tfused.weight)
    _close(fused.bias, tfused.bias)
    x = np.random.default_rng(6).standard_normal((4, 9))
    _close(fused(pyml.tensor(x)), tfused(torch.tensor(x)), 1e-10)
    fw, fb = pyml.nn.utils.fuse_linear_bn_weights(pl.weight, None, pb.running_mean, pb.running_var, pb.eps,
                                                  pb.weight, pb.bias)
    tw, tb_ = torch.nn.utils.fuse_linear_bn_weights(tl.weight, None, tb.running_mean, tb.running_var, tb.eps,
                                                    tb.weight, tb.bias)
    _close(fw, tw)
    _close(fb, tb_)


def test_fusion_errors():
    conv, bn = nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3)
    with pytest.raises(ValueError, match="must be in eval mode"):
        pyml.nn.utils.fuse_conv_bn_eval(conv, bn)
    with pytest.raises(ValueError, match="running_mean and bn.running_var must not be None"):
        pyml.nn.utils.fuse_conv_bn_eval(conv.eval(), nn.BatchNorm2d(3, track_running_stats=False).eval())
    with pytest.raises(ValueError, match=r"linear.out_features=4 and bn.num_features=3"):
        pyml.nn.utils.fuse_linear_bn_eval(nn.Linear(2, 4).eval(), nn.BatchNorm1d(3).eval())


def test_skip_init():
    pyml.manual_seed(4)
    state = pyml.get_rng_state().tolist()
    m = pyml.nn.utils.skip_init(nn.Linear, 5, 3, bias=True, dtype=pyml.float64)
    assert isinstance(m, nn.Linear) and tuple(m.weight.shape) == (3, 5) and m.weight.dtype == pyml.float64
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    assert pyml.get_rng_state().tolist() == state  # the initialisers' draws left no trace
    with pytest.raises(TypeError, match="expected a Module subclass"):
        pyml.nn.utils.skip_init(int)

    class NoDevice(nn.Module):
        def __init__(self, n):
            super().__init__()

    with pytest.raises(ValueError, match="must accept a 'device' argument"):
        pyml.nn.utils.skip_init(NoDevice, 3)


ORTH_CASES = [((5, 5), None, True), ((5, 5), "cayley", True), ((7, 4), None, True), ((4, 7), "householder", True),
              ((6, 3), "matrix_exp", True), ((7, 4), "householder", False), ((4, 7), "householder", False),
              ((3, 5, 5), "matrix_exp", False), ((6, 3), "cayley", False), ((2, 3, 6), "cayley", False),
              ((2, 6, 4), "householder", False)]


def _orth_pair(shape, mp, triv, seed):
    w = np.random.default_rng(seed).standard_normal(shape)
    pm, tm = nn.Module(), torch.nn.Module()
    pm.weight, tm.weight = nn.Parameter(pyml.tensor(w)), torch.nn.Parameter(torch.tensor(w))
    parametrizations.orthogonal(pm, orthogonal_map=mp, use_trivialization=triv)
    torch.nn.utils.parametrizations.orthogonal(tm, orthogonal_map=mp, use_trivialization=triv)
    return pm, tm


def _is_orth(q):
    q = q.detach().numpy()
    q = np.swapaxes(q, -1, -2) if q.shape[-2] < q.shape[-1] else q
    eye = np.eye(q.shape[-1])
    np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q, np.broadcast_to(eye, q.shape[:-2] + eye.shape), atol=1e-12)


@pytest.mark.parametrize("shape,mp,triv", ORTH_CASES, ids=[f"{s}-{m}-{t}" for s, m, t in ORTH_CASES])
def test_orthogonal_vs_torch(shape, mp, triv):
    pm, tm = _orth_pair(shape, mp, triv, 0)
    assert sorted(pm.state_dict()) == sorted(tm.state_dict())
    _is_orth(pm.weight)
    if not (triv and shape[-1] != shape[-2]):  # a rectangular base is completed with random columns
        for k, v in tm.state_dict().items():  # the same originals (and base) as torch from the same weight
            _close(pm.state_dict()[k], v, 1e-10)
    # from the same (perturbed) original and base, the same Q and the same gradients
    _copy_into(pm, tm)
    rng = np.random.default_rng(1)
    orig = tm.parametrizations.weight.original
    delta = rng.standard_normal(orig.shape) * 0.3
    if mp == "householder" or (mp is None and shape[-1] != shape[-2]):
        idx = np.arange(min(shape[-2:]))
        delta[..., idx, idx] = 0.0  # the diagonal holds the +-1 signs
    with torch.no_grad():
        orig.add_(torch.tensor(delta))
    _copy_into(pm, tm)
    q, tq = pm.weight, tm.weight
    _close(q, tq, 1e-10)
    _is_orth(q)
    c = rng.standard_normal(shape)
    (q * pyml.tensor(c)).sum().backward()
    (tq * torch.tensor(c)).sum().backward()
    _close(pm.parametrizations.weight.original.grad, tm.parametrizations.weight.original.grad, 1e-9)


@pytest.mark.parametrize("mp", ["matrix_exp", "cayley", "householder"])
def test_orthogonal_assign_and_train(mp):
    pm, tm = _orth_pair((6, 6), mp, True, 2)
    q = np.linalg.qr(np.random.default_rng(3).standard_normal((6, 6)))[0]
    pm.weight = pyml.tensor(q)
    tm.weight = torch.tensor(q)
    _close(pm.weight, tm.weight, 1e-10)
    _close(pm.weight, torch.tensor(q), 1e-10)  # an orthogonal value is stored as it is
    opt = pyml.optim.SGD(pm.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (pm.weight[0] ** 3).sum().backward()
        opt.step()
    _is_orth(pm.weight)


def test_orthogonal_errors():
    with pytest.raises(ValueError, match="matrix or batch of matrices"):
        parametrizations.orthogonal(nn.Linear(3, 1), name="bias")
    with pytest.raises(ValueError, match='orthogonal_map has to be one of "matrix_exp", "cayley", "householder"'):
        parametrizations.orthogonal(nn.Linear(3, 3), orthogonal_map="qr")
    with pytest.raises(ValueError, match="must have a parameter or buffer named 'kernel'"):
        parametrizations.orthogonal(nn.Linear(3, 3), name="kernel")
    m = parametrizations.orthogonal(nn.Linear(3, 3), orthogonal_map="cayley", use_trivialization=False)
    with pytest.raises(NotImplementedError, match="use_trivialization=False"):
        m.weight = pyml.eye(3)
    m = parametrizations.orthogonal(nn.Linear(3, 3))
    with pytest.raises(ValueError, match=r"shape \(3, 3\), got a tensor of shape \(2, 3\)"):
        m.weight = pyml.zeros(2, 3)
