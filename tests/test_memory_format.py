"""Memory formats (pyml.channels_last & co): the strides of every op's result against torch's on the same
views, the values against torch's, and a channels_last network that trains like a contiguous one."""
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pyml
import pyml.nn.functional as F

CL, CL3 = pyml.channels_last, pyml.channels_last_3d
FORMATS = [(pyml.contiguous_format, torch.contiguous_format), (CL, torch.channels_last),
           (CL3, torch.channels_last_3d)]
rng = np.random.default_rng(7)


def both(a):
    return pyml.tensor(a), torch.tensor(a)


# Views with the same geometry in both libraries: name -> (shape, fn(t, lib))
def _cl(t, lib):
    return t.contiguous(memory_format=CL if lib is pyml else torch.channels_last)


VIEWS = {
    "contiguous": ((2, 3, 5, 7), lambda t, lib: t),
    "channels_last": ((2, 3, 5, 7), _cl),
    "cl_one_channel": ((2, 1, 5, 7), _cl),
    "cl_one_pixel": ((4, 3, 1, 1), _cl),
    "cl_sliced_channels": ((2, 6, 5, 7), lambda t, lib: _cl(t, lib)[:, 1:4]),
    "cl_sliced_width": ((2, 3, 5, 8), lambda t, lib: _cl(t, lib)[..., ::2]),
    "permuted": ((2, 3, 5, 7), lambda t, lib: t.permute(0, 2, 1, 3)),
    "permuted_3d": ((4, 6, 5), lambda t, lib: t.permute(2, 0, 1)),
    "transposed": ((9, 13), lambda t, lib: t.t()),
    "transposed_sliced": ((9, 13), lambda t, lib: t.t()[::2]),
    "expanded": ((3, 1, 5), lambda t, lib: t.expand(3, 4, 5)),
    "size_one_dims": ((1, 3, 1, 7), lambda t, lib: t.permute(3, 2, 1, 0)),
    "cl3d": ((2, 3, 4, 5, 3), lambda t, lib: t.contiguous(
        memory_format=CL3 if lib is pyml else torch.channels_last_3d)),
}


def view_pair(name):
    shape, fn = VIEWS[name]
    a = rng.standard_normal(shape)
    p, t = both(a)
    return fn(p, pyml), fn(t, torch)


def same_layout(p, t, what=""):
    assert tuple(p.shape) == tuple(t.shape), what
    assert p.stride() == t.stride(), f"{what}: strides {p.stride()} vs torch {t.stride()}"
    np.testing.assert_allclose(p.detach().double().numpy(), t.detach().double().numpy(), rtol=1e-6, atol=1e-6,
                               err_msg=what)


def test_constants_repr_and_pickle():
    assert repr(CL) == "pyml.channels_last" and repr(pyml.preserve_format) == "pyml.preserve_format"
    assert isinstance(pyml.contiguous_format, pyml.memory_format)
    for f in (CL, CL3, pyml.contiguous_format, pyml.preserve_format):
        assert pickle.loads(pickle.dumps(f)) is f


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_is_contiguous_matches_torch(name):
    p, t = view_pair(name)
    for pf, tf in FORMATS:
        assert p.is_contiguous(memory_format=pf) == t.is_contiguous(memory_format=tf), (name, pf)
    assert p.is_contiguous() == t.is_contiguous()


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_contiguous_in_each_format(name):
    p, t = view_pair(name)
    for pf, tf in FORMATS:
        if (pf is CL and p.dim() != 4) or (pf is CL3 and p.dim() != 5):
            with pytest.raises(ValueError, match="required rank"):
                p.contiguous(memory_format=pf)
            continue
        q = p.contiguous(memory_format=pf)
        same_layout(q, t.contiguous(memory_format=tf), f"{name} {pf}")
        assert (q is p) == p.is_contiguous(memory_format=pf)


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_preserving_copies_match_torch(name):
    p, t = view_pair(name)
    same_layout(p.clone(), t.clone(), "clone")
    same_layout(p.to(pyml.float64), t.to(torch.float64), "to(float64)")
    same_layout(p.to(copy=True), t.to(copy=True), "to(copy=True)")
    assert pyml.empty_like(p).stride() == torch.empty_like(t).stride()
    same_layout(pyml.zeros_like(p), torch.zeros_like(t), "zeros_like")
    same_layout(pyml.full_like(p, 2.5), torch.full_like(t, 2.5), "full_like")
    assert pyml.randn_like(p).stride() == torch.randn_like(t).stride()
    assert pyml.rand_like(p).stride() == torch.rand_like(t).stride()
    same_layout(p.clone(memory_format=pyml.contiguous_format), t.clone(memory_format=torch.contiguous_format))


def test_rand_like_values_follow_the_layout_not_the_shape():
    pyml.manual_seed(3)
    a = pyml.rand(2, 3, 4, 5)
    x = a.contiguous(memory_format=CL)
    pyml.manual_seed(3)
    r = pyml.rand_like(x)
    assert r.is_contiguous(memory_format=CL) and 0 <= r.min().item() and r.max().item() < 1


UNARY = ["relu", "exp", "neg", "isnan", "sigmoid"]


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_elementwise_outputs_follow_the_inputs(name):
    p, t = view_pair(name)
    for op in UNARY:
        same_layout(getattr(p, op)(), getattr(t, op)(), f"{name} {op}")
    same_layout(p * 2 + 1, t * 2 + 1, f"{name} scalar ops")
    q, u = both(rng.standard_normal(tuple(p.shape)))
    same_layout(p + q, t + u, f"{name} + contiguous")
    same_layout(q + p, u + t, f"{name} contiguous +")
    same_layout(p > q, t > u, f"{name} compare")
    same_layout(pyml.where(p > 0, p, q), torch.where(t > 0, t, u), f"{name} where")


@pytest.mark.parametrize("name", ["channels_last", "permuted", "cl_sliced_channels", "cl3d", "size_one_dims"])
def test_broadcast_operands_do_not_decide_the_layout(name):
    p, t = view_pair(name)
    bshape = [1] * p.dim()
    bshape[1] = p.shape[1]
    b = rng.standard_normal(bshape)
    pb, tb = both(b)
    same_layout(p + pb, t + tb, "x + per-channel")
    same_layout(pb * p, tb * t, "per-channel * x")
    row = rng.standard_normal(p.shape[-1])
    pr, tr = both(row)
    same_layout(pr - p, tr - t, "row - x")


def test_empty_in_a_format():
    for pf, tf, shape in ((CL, torch.channels_last, (2, 3, 4, 5)), (CL3, torch.channels_last_3d, (2, 3, 4, 5, 6)),
                          (pyml.contiguous_format, torch.contiguous_format, (3, 4))):
        assert pyml.empty(*shape, memory_format=pf).stride() == torch.empty(*shape, memory_format=tf).stride()
    with pytest.raises(ValueError, match="required rank 4"):
        pyml.empty(2, 3, memory_format=CL)
    with pytest.raises(ValueError, match="preserve_format"):
        pyml.empty(2, 3, memory_format=pyml.preserve_format)
    with pytest.raises(TypeError, match="memory_format"):
        pyml.randn(2, 3, 4, 5).contiguous(memory_format="channels_last")


def test_to_memory_format_only():
    p, t = view_pair("contiguous")
    q = p.to(memory_format=CL)
    same_layout(q, t.to(memory_format=torch.channels_last))
    assert q.to(memory_format=CL) is q and q.to(pyml.float64) is q


# ---------------------------------------------------------------------------------------------- nn ops
def cl_pair(shape, channels_last=True):
    p, t = both(rng.standard_normal(shape))
    if channels_last:
        p, t = _cl(p, pyml), _cl(t, torch)
    return p, t


NN_OPS = {
    "max_pool2d": (lambda m, x: m.max_pool2d(x, 2), 1e-12),
    "max_pool2d_ceil_pad": (lambda m, x: m.max_pool2d(x, 3, 2, 1, ceil_mode=True), 1e-12),
    "avg_pool2d": (lambda m, x: m.avg_pool2d(x, 3, 2, 1), 1e-12),
    "adaptive_avg": (lambda m, x: m.adaptive_avg_pool2d(x, (3, 2)), 1e-12),
    "adaptive_max": (lambda m, x: m.adaptive_max_pool2d(x, 3), 1e-12),
    # a (N, C, 1, 1) result: torch strides it (C, 1, C, C) when channels_last
    "global_avg": (lambda m, x: m.adaptive_avg_pool2d(x, 1), 1e-12),
    "global_max": (lambda m, x: m.max_pool2d(x, (5, 7)), 1e-12),
    "batch_norm": (lambda m, x: m.batch_norm(x, None, None, training=True), 1e-10),
    "group_norm": (lambda m, x: m.group_norm(x, 3), 1e-10),
    "nearest": (lambda m, x: m.interpolate(x, scale_factor=2), 1e-12),
    "bilinear": (lambda m, x: m.interpolate(x, size=(7, 9), mode="bilinear", align_corners=False), 1e-10),
    "bicubic": (lambda m, x: m.interpolate(x, size=(4, 5), mode="bicubic", align_corners=True), 1e-10),
    "pad_constant": (lambda m, x: m.pad(x, (1, 2, 0, 1), value=0.5), 1e-12),
    "pad_reflect": (lambda m, x: m.pad(x, (1, 2, 2, 1), mode="reflect"), 1e-12),
    "dropout_eval": (lambda m, x: m.dropout(x, 0.3, training=False), 1e-12),
}


def _fn(lib):
    return F if lib is pyml else TF


@pytest.mark.parametrize("name", sorted(NN_OPS))
@pytest.mark.parametrize("channels_last", [True, False])
def test_nn_ops_keep_channels_last_forward_and_backward(name, channels_last):
    op, tol = NN_OPS[name]
    p, t = cl_pair((2, 6, 5, 7), channels_last)
    p.requires_grad_(), t.requires_grad_()
    yp, yt = op(_fn(pyml), p), op(_fn(torch), t)
    same_layout(yp, yt, name)
    g = rng.standard_normal(tuple(yt.shape))
    (yp * pyml.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    assert p.grad.stride() == t.grad.stride(), name
    np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


def test_max_pool_indices_follow_the_input():
    p, t = cl_pair((2, 3, 6, 8))
    (yp, ip), (yt, it) = F.max_pool2d(p, 2, return_indices=True), TF.max_pool2d(t, 2, return_indices=True)
    same_layout(yp, yt), same_layout(ip, it)
    (yp, ip), (yt, it) = F.adaptive_max_pool2d(p, 3, return_indices=True), TF.adaptive_max_pool2d(t, 3, return_indices=True)
    same_layout(yp, yt), same_layout(ip, it)


@pytest.mark.parametrize("x_cl,w_cl", [(True, False), (False, True), (True, True), (False, False)])
def test_conv2d_layout_and_grads(x_cl, w_cl):
    p, t = cl_pair((2, 4, 9, 8), x_cl)
    wp, wt = cl_pair((6, 2, 3, 3), w_cl)
    bp, bt = both(rng.standard_normal(6))
    for a in (p, t, wp, wt, bp, bt):
        a.requires_grad_()
    yp = F.conv2d(p, wp, bp, stride=2, padding=1, groups=2)
    yt = TF.conv2d(t, wt, bt, stride=2, padding=1, groups=2)
    same_layout(yp, yt, "conv2d")
    g = rng.standard_normal(tuple(yt.shape))
    (yp * pyml.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    for a, b, what in ((p, t, "dx"), (wp, wt, "dw"), (bp, bt, "db")):
        assert a.grad.stride() == b.grad.stride(), what
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-9, err_msg=what)


def test_conv_transpose2d_and_conv3d_layouts():
    p, t = cl_pair((2, 4, 5, 6))
    wp, wt = both(rng.standard_normal((4, 3, 3, 3)))
    same_layout(F.conv_transpose2d(p, wp, stride=2), TF.conv_transpose2d(t, wt, stride=2), "conv_transpose2d")
    a = rng.standard_normal((2, 3, 4, 5, 6))
    p3 = pyml.tensor(a).contiguous(memory_format=CL3)
    t3 = torch.tensor(a).contiguous(memory_format=torch.channels_last_3d)
    w3 = rng.standard_normal((4, 3, 2, 2, 2))
    y3 = F.conv3d(p3, pyml.tensor(w3))  # channels_last_3d out (torch's CPU picks by backend; its CUDA keeps it)
    assert y3.is_contiguous(memory_format=CL3) and not y3.is_contiguous()
    np.testing.assert_allclose(y3.numpy(), TF.conv3d(t3, torch.tensor(w3)).numpy(), rtol=1e-10, atol=1e-10)
    one_p, one_t = cl_pair((2, 1, 6, 7))  # one channel: ambiguous strides read as contiguous, as torch
    w1 = rng.standard_normal((3, 1, 3, 3))
    same_layout(F.conv2d(one_p, pyml.tensor(w1)), TF.conv2d(one_t, torch.tensor(w1)), "C=1")


def test_cat_keeps_a_common_layout_only():
    (p1, t1), (p2, t2) = cl_pair((2, 3, 4, 5)), cl_pair((2, 2, 4, 5))
    same_layout(pyml.cat([p1, p2], 1), torch.cat([t1, t2], 1), "both channels_last")
    q, u = cl_pair((2, 2, 4, 5), False)
    same_layout(pyml.cat([p1, q], 1), torch.cat([t1, u], 1), "mixed")


# ------------------------------------------------------------------------------------------ modules
def test_module_to_channels_last_converts_4d_parameters_only():
    m = pyml.nn.Sequential(pyml.nn.Conv2d(3, 4, 3), pyml.nn.BatchNorm2d(4), pyml.nn.Flatten(), pyml.nn.LazyLinear(2))
    m[3] = pyml.nn.Linear(4 * 4 * 4, 2)
    w = m[0].weight.detach().clone()
    assert m.to(memory_format=CL) is m
    assert m[0].weight.is_contiguous(memory_format=CL) and not m[0].weight.is_contiguous()
    assert isinstance(m[0].weight, pyml.nn.Parameter) and m[0].weight.requires_grad
    assert m[0].bias.is_contiguous() and m[3].weight.is_contiguous() and m[1].running_mean.is_contiguous()
    np.testing.assert_array_equal(m[0].weight.detach().numpy(), w.numpy())
    m.to(pyml.float64, memory_format=CL)
    assert m[0].weight.dtype is pyml.float64 and m[0].weight.is_contiguous(memory_format=CL)
    with pytest.raises(ValueError, match="required rank 5"):
        m.to(memory_format=CL3)
    with pytest.raises(ValueError, match="required rank 4"):
        pyml.nn.Conv3d(2, 3, 3).to(memory_format=CL)


def test_convert_conv_weight_memory_format():
    m = pyml.nn.Sequential(pyml.nn.Conv2d(3, 4, 3), pyml.nn.ReLU(),
                           pyml.nn.Sequential(pyml.nn.ConvTranspose2d(4, 2, 3)), pyml.nn.Conv3d(2, 2, 3))
    assert pyml.nn.utils.convert_conv2d_weight_memory_format(m, CL) is m
    assert m[0].weight.is_contiguous(memory_format=CL) and m[2][0].weight.is_contiguous(memory_format=CL)
    assert m[3].weight.is_contiguous()
    pyml.nn.utils.convert_conv3d_weight_memory_format(m, CL3)
    assert m[3].weight.is_contiguous(memory_format=CL3) and not m[3].weight.is_contiguous()


def _small_cnn(seed):
    pyml.manual_seed(seed)
    return pyml.nn.Sequential(
        pyml.nn.Conv2d(3, 8, 3, padding=1), pyml.nn.BatchNorm2d(8), pyml.nn.ReLU(), pyml.nn.MaxPool2d(2),
        pyml.nn.Conv2d(8, 8, 3, padding=1, groups=2), pyml.nn.GroupNorm(2, 8), pyml.nn.SiLU(),
        pyml.nn.AdaptiveAvgPool2d(2), pyml.nn.Flatten(), pyml.nn.Linear(32, 5)).double()


def test_channels_last_network_trains_like_a_contiguous_one():
    a = rng.standard_normal((6, 3, 10, 10))
    labels = pyml.tensor(rng.integers(0, 5, 6))
    runs = []
    for fmt in (pyml.contiguous_format, CL):
        net = _small_cnn(11).to(memory_format=fmt)
        opt = pyml.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        x = pyml.tensor(a).contiguous(memory_format=fmt)
        losses = []
        for _ in range(3):
            opt.zero_grad()
            h = net[:4](x)
            assert h.is_contiguous(memory_format=fmt)  # the layout survives conv, BN, ReLU and pooling
            loss = F.cross_entropy(net[4:](h), labels)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert net[0].weight.grad.is_contiguous(memory_format=fmt)
        assert net[0].weight.is_contiguous(memory_format=fmt)  # the optimizer's in-place steps keep it
        runs.append((losses, net[0].weight.detach().numpy()))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-10)
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-9, atol=1e-12)
