"""Linear, Bilinear, activations, dropout and flatten layers vs torch: outputs, input gradients and every
parameter gradient (torch's state_dict copied in), float32 and float64, odd sizes, non-contiguous inputs,
train/eval, bad inputs naming the layer and shapes."""
import math

import numpy as np
import pytest
import torch

import pyml
import pyml.nn as nn
import pyml.nn.functional as F

tnn = torch.nn
TF = torch.nn.functional
DT = {"float32": (torch.float32, pyml.float32, 1e-5, 1e-6), "float64": (torch.float64, pyml.float64, 1e-11, 1e-12)}


def P(t):
    return pyml.from_dlpack(t.detach().contiguous())


def N(t):
    return np.asarray(t.detach().double())


def check_layer(pm, tm, inputs, dtype, train=True, grad_scale=None, grad_rtol=None):
    """Run torch and pyml layers on the same inputs; compare output, input grads, parameter grads."""
    tdt, pdt, rtol, atol = DT[dtype]
    g_rtol = grad_rtol or rtol * 10
    tm = tm.to(tdt).train(train)
    tm.zero_grad()
    pm = pm.to(pdt).train(train)
    pm.load_state_dict({k: P(v) for k, v in tm.state_dict().items()})
    assert list(pm.state_dict()) == list(tm.state_dict())
    t_in = [x.to(tdt).requires_grad_() for x in inputs]
    p_in = [P(x).requires_grad_() for x in t_in]
    out_t, out_p = tm(*t_in), pm(*p_in)
    np.testing.assert_allclose(N(out_p), N(out_t), rtol=rtol, atol=atol)
    w = torch.randn(out_t.shape, dtype=tdt) if grad_scale is None else grad_scale.to(tdt)
    (out_t * w).sum().backward()
    (out_p * P(w)).sum().backward()
    for a, b in zip(p_in, t_in):
        np.testing.assert_allclose(N(a.grad), N(b.grad), rtol=g_rtol, atol=atol * 10)
    for (n, p), (_, q) in zip(pm.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(N(p.grad), N(q.grad), rtol=g_rtol, atol=atol * 10, err_msg=n)


# ----------------------------------------------------------------------------------- Linear / Bilinear
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,fin,fout", [((7, 5), 5, 3), ((1, 1), 1, 1), ((2, 3, 97), 97, 13), ((0, 4), 4, 2),
                                            ((4,), 4, 6)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_vs_torch(dtype, shape, fin, fout, bias):
    torch.manual_seed(0)
    check_layer(nn.Linear(fin, fout, bias=bias), tnn.Linear(fin, fout, bias=bias), [torch.randn(shape)], dtype)


def test_linear_noncontiguous_input_and_default_init():
    torch.manual_seed(1)
    tm, pm = tnn.Linear(6, 4), nn.Linear(6, 4)
    pm.load_state_dict(tm.state_dict())
    x = torch.randn(6, 9)
    xp = P(x).t()  # (9, 6) transposed view
    assert not xp.is_contiguous()
    np.testing.assert_allclose(N(pm(xp)), N(tm(x.t())), rtol=1e-5, atol=1e-6)
    # default init: kaiming_uniform(a=sqrt(5)) -> U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias
    big = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w = big.weight.detach().numpy()
    assert w.min() >= -bound and w.max() <= bound and w.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    b = big.bias.detach().numpy()
    assert b.min() >= -bound and b.max() <= bound
    assert big.weight.dtype == pyml.float32
    assert nn.Linear(2, 2, dtype=pyml.float64).weight.dtype == pyml.float64


@pytest.mark.parametrize("w_shape,b_shape", [((3, 5), (3,)), ((3, 5), (1,)), ((3, 5), None), ((5,), None)])
def test_functional_linear_first_and_second_derivatives_vs_torch(w_shape, b_shape):
    # F.linear records one node (two GEMMs and a row sum backward); its gradients are themselves differentiable
    g = np.random.default_rng(3)
    arrays = [g.standard_normal((2, 4, 5)), g.standard_normal(w_shape)] + ([g.standard_normal(b_shape)] if b_shape else [])
    res = {}
    for lib, Fn in (("torch", TF), ("pyml", F)):
        ts = [(torch if lib == "torch" else pyml).tensor(a).requires_grad_() for a in arrays]
        y = Fn.linear(*ts)
        grads = (torch if lib == "torch" else pyml).autograd.grad((y * y).sum(), ts, create_graph=True)
        second = (torch if lib == "torch" else pyml).autograd.grad(sum((gr * gr).sum() for gr in grads), ts)
        res[lib] = [N(t) for t in (y,) + tuple(grads) + tuple(second)]
    for a, b in zip(res["pyml"], res["torch"]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_linear_bad_inputs():
    m = nn.Linear(4, 3)
    with pytest.raises(ValueError, match=r"linear: input features \(5\) must equal weight.shape\[-1\] \(4\); "
                                         r"input \(2, 5\), weight \(3, 4\)"):
        m(pyml.randn(2, 5))
    with pytest.raises(TypeError, match="linear: argument 'input' must be Tensor"):
        m([1.0, 2.0])
    with pytest.raises(TypeError, match="linear: input and weight must have the same dtype"):
        m(pyml.randn(2, 4, dtype=pyml.float64))
    with pytest.raises(ValueError, match="linear: bias must have shape"):
        F.linear(pyml.randn(2, 4), pyml.randn(3, 4), pyml.randn(4))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch", [(5,), (1,), (2, 3), (0,)])
def test_bilinear_vs_torch(dtype, batch):
    torch.manual_seed(2)
    check_layer(nn.Bilinear(3, 4, 5), tnn.Bilinear(3, 4, 5),
                [torch.randn(batch + (3,)), torch.randn(batch + (4,))], dtype)
    check_layer(nn.Bilinear(2, 2, 1, bias=False), tnn.Bilinear(2, 2, 1, bias=False),
                [torch.randn(batch + (2,)), torch.randn(batch + (2,))], dtype)


def test_bilinear_bad_inputs():
    m = nn.Bilinear(3, 4, 5)
    with pytest.raises(ValueError, match=r"bilinear: input1.shape\[-1\] must equal weight.shape\[1\] \(3\)"):
        m(pyml.randn(2, 4), pyml.randn(2, 4))
    with pytest.raises(ValueError, match="bilinear: input1 and input2 must have the same batch shape"):
        m(pyml.randn(2, 3), pyml.randn(3, 4))


def test_lazy_linear():
    m = nn.LazyLinear(3)
    y = m(pyml.randn(2, 7))
    assert y.shape == (2, 3) and type(m) is nn.Linear and m.in_features == 7 and m.weight.shape == (3, 7)
    assert type(m.weight) is nn.Parameter


def test_identity():
    x = pyml.randn(3)
    assert nn.Identity(54, unused="x")(x) is x


# ----------------------------------------------------------------------------------- activations
ACTS = [
    ("ReLU", (), {}), ("ReLU6", (), {}), ("LeakyReLU", (0.2,), {}), ("ELU", (), {"alpha": 0.7}), ("SELU", (), {}),
    ("CELU", (), {"alpha": 1.5}), ("GELU", (), {}), ("GELU", (), {"approximate": "tanh"}), ("SiLU", (), {}),
    ("Mish", (), {}), ("Sigmoid", (), {}), ("Tanh", (), {}), ("Softmax", (), {"dim": 1}),
    ("LogSoftmax", (), {"dim": -1}), ("Softmin", (), {"dim": 0}), ("Hardsigmoid", (), {}), ("Hardswish", (), {}),
    ("Hardtanh", (-0.5, 1.5), {}), ("Softplus", (), {"beta": 2.0, "threshold": 3.0}), ("Softsign", (), {}),
    ("Tanhshrink", (), {}), ("Threshold", (0.3, -2.0), {}), ("GLU", (), {"dim": 1}), ("LogSigmoid", (), {}),
    ("Hardshrink", (0.4,), {}), ("Softshrink", (0.4,), {}),
]


def _act_input(shape, dtype):
    # values away from the kinks (0, +-3, thresholds) so that both libraries pick the same side
    x = torch.randn(shape, dtype=torch.float64) * 3
    for k in (0.0, 0.3, 0.4, -0.4, 0.5, -0.5, 1.5, 3.0, -3.0, 6.0, 1.0, -1.0):
        x = torch.where((x - k).abs() < 1e-3, x + 0.01, x)
    return x.to(DT[dtype][0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,args,kwargs", ACTS, ids=[a[0] + str(i) for i, a in enumerate(ACTS)])
def test_activation_vs_torch(name, args, kwargs, dtype):
    torch.manual_seed(3)
    for shape in [(4, 6), (3, 8, 5), (1, 2), (0, 2)]:
        pm, tm = getattr(nn, name)(*args, **kwargs), getattr(tnn, name)(*args, **kwargs)
        assert repr(pm) == repr(tm)
        # torch's hardsigmoid/hardswish backward multiply by a float32 1/6 even in float64
        loose = 1e-7 if name in ("Hardsigmoid", "Hardswish") and dtype == "float64" else None
        check_layer(pm, tm, [_act_input(shape, dtype)], dtype, grad_rtol=loose)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("num", [1, 3])
def test_prelu_vs_torch(dtype, num):
    torch.manual_seed(4)
    tm = tnn.PReLU(num, init=0.1)
    with torch.no_grad():
        tm.weight.uniform_(-0.5, 0.5)
    for shape in [(5, 3), (2, 3, 7), (2, 3, 4, 5)]:
        check_layer(nn.PReLU(num, init=0.1), tm, [_act_input(shape, dtype)], dtype)
    if num == 1:
        check_layer(nn.PReLU(), tnn.PReLU(), [_act_input((7,), dtype)], dtype)


def test_prelu_bad_weight():
    with pytest.raises(ValueError, match=r"prelu: the number of weights \(3\) must be 1 or equal the number of input "
                                         r"channels \(4\)"):
        nn.PReLU(3)(pyml.randn(2, 4))


@pytest.mark.parametrize("name,args", [("ReLU", ()), ("LeakyReLU", (0.1,)), ("ELU", ()), ("SELU", ()), ("CELU", ()),
                                       ("SiLU", ()), ("Mish", ()), ("Hardtanh", ()), ("ReLU6", ()),
                                       ("Hardsigmoid", ()), ("Hardswish", ()), ("Threshold", (0.1, 5.0))])
def test_inplace_activations(name, args):
    torch.manual_seed(5)
    x = _act_input((4, 5), "float64")
    tm = getattr(tnn, name)(*args, inplace=True)
    pm = getattr(nn, name)(*args, inplace=True)
    assert repr(pm) == repr(tm)
    xt = x.clone().requires_grad_()
    xp = P(x).requires_grad_()
    at, ap = xt * 1.0, xp * 1.0  # non-leaf inputs may be modified in place
    ot, op = tm(at), pm(ap)
    assert op is ap
    np.testing.assert_allclose(N(ap), N(at), rtol=1e-12)
    w = torch.randn(4, 5, dtype=torch.float64)
    (ot * w).sum().backward()
    (op * P(w)).sum().backward()
    rtol = 1e-7 if name in ("Hardsigmoid", "Hardswish") else 1e-10  # torch's float32 1/6 constant
    np.testing.assert_allclose(N(xp.grad), N(xt.grad), rtol=rtol, atol=1e-12)


def test_activation_extremes_have_finite_gradients():
    x = pyml.tensor([-1000.0, -50.0, 0.5, 50.0, 1000.0], requires_grad=True)
    for f in (F.elu, F.selu, F.celu, F.softplus, F.logsigmoid, F.mish, F.silu, F.sigmoid, F.tanh):
        x.grad = None
        f(x).sum().backward()
        assert np.isfinite(x.grad.numpy()).all(), f.__name__
    xt = torch.tensor([-1000.0, -50.0, 0.5, 50.0, 1000.0])
    np.testing.assert_allclose(F.logsigmoid(x).detach().numpy(), TF.logsigmoid(xt).numpy(), rtol=1e-6)


def test_softmax_implicit_dim_warns_like_torch():
    x = torch.randn(2, 3, 4)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        yp = F.softmax(P(x))
    np.testing.assert_allclose(N(yp), N(TF.softmax(x, dim=0)), rtol=1e-6)
    y64 = F.log_softmax(P(x), dim=2, dtype=pyml.float64)
    assert y64.dtype == pyml.float64
    np.testing.assert_allclose(N(y64), N(TF.log_softmax(x, 2, dtype=torch.float64)), rtol=1e-12)
    np.testing.assert_allclose(N(nn.Softmax2d()(P(x))), N(tnn.Softmax2d()(x)), rtol=1e-6)


def test_rrelu_train_and_eval():
    x = P(_act_input((200, 50), "float32"))
    m = nn.RReLU(0.1, 0.3)
    y = m(x).numpy()
    neg = x.numpy() < 0
    ratio = y[neg] / x.numpy()[neg]
    assert ratio.min() >= 0.1 - 1e-6 and ratio.max() <= 0.3 + 1e-6 and ratio.std() > 0.03
    m.eval()
    np.testing.assert_allclose(m(x).numpy(), TF.rrelu(torch.from_numpy(x.numpy()), 0.1, 0.3).numpy(), rtol=1e-6)


def test_activation_bad_inputs():
    with pytest.raises(ValueError, match=r"glu: halving dimension must be even, but dimension 1 is size 5"):
        F.glu(pyml.randn(2, 5), dim=1)
    with pytest.raises(TypeError, match="relu: argument 'input' must be Tensor"):
        F.relu([1.0])
    with pytest.raises(ValueError, match="GELU: approximate"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match="softshrink: lambda"):
        F.softshrink(pyml.randn(2), -1.0)
    with pytest.raises(ValueError, match="Softmax2d"):
        nn.Softmax2d()(pyml.randn(4))


# ----------------------------------------------------------------------------------- dropout
@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 0.9])
def test_dropout_statistics_and_gradient(p):
    pyml.manual_seed(0)
    x = pyml.ones(400, 250, requires_grad=True)
    m = nn.Dropout(p)
    y = m(x)
    vals = y.detach().numpy()
    kept = vals != 0
    assert abs(1 - kept.mean() - p) < 0.01
    if kept.any():
        np.testing.assert_allclose(vals[kept], 1 / (1 - p), rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), vals)  # d(x*mask)/dx = mask
    m.eval()
    assert m(x) is x
    assert repr(m) == repr(tnn.Dropout(p))


def test_dropout_p1_and_inplace_and_errors():
    x = pyml.randn(5, 5)
    assert float(F.dropout(x, 1.0).abs().sum()) == 0.0
    y = x.clone()
    pyml.manual_seed(1)
    out = F.dropout(y, 0.5, inplace=True)
    assert out is y and (y.numpy() == 0).any()
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            nn.Dropout(bad)
        with pytest.raises(ValueError, match="dropout: dropout probability"):
            F.dropout(x, bad)
    assert F.dropout(x, 0.5, training=False) is x


@pytest.mark.parametrize("cls,shape", [("Dropout1d", (8, 16, 50)), ("Dropout1d", (16, 50)),
                                       ("Dropout2d", (8, 16, 6, 7)), ("Dropout2d", (16, 6, 7)),
                                       ("Dropout3d", (4, 16, 3, 4, 5))])
def test_channel_dropout_zeroes_whole_channels(cls, shape):
    pyml.manual_seed(2)
    x = pyml.ones(*shape)
    if cls == "Dropout2d" and len(shape) == 3:
        with pytest.warns(UserWarning, match="3D input to dropout2d"):
            y = getattr(nn, cls)(0.5)(x).numpy()
        lead = 2
    else:
        y = getattr(nn, cls)(0.5)(x).numpy()
        lead = 2 if len(shape) in (3, 4, 5) and not (cls == "Dropout1d" and len(shape) == 2) else 1
    per_channel = y.reshape(int(np.prod(shape[:lead])), -1)
    for row in per_channel:
        assert (row == 0).all() or np.allclose(row, 2.0)
    assert 0 < (per_channel[:, 0] == 0).mean() < 1
    with pytest.raises(ValueError, match=cls.lower()):
        getattr(nn, cls)(0.5)(pyml.ones(2))


def test_alpha_dropout_keeps_moments():
    pyml.manual_seed(3)
    x = pyml.randn(200000)
    for m in (nn.AlphaDropout(0.3), nn.FeatureAlphaDropout(0.3)):
        inp = x if isinstance(m, nn.AlphaDropout) else x.reshape(2000, 100, 1)
        y = m(inp).numpy()
        assert abs(y.mean()) < 0.03 and abs(y.std() - 1) < 0.03
        m.eval()
        assert m(inp) is inp


# ----------------------------------------------------------------------------------- flatten
def test_flatten_unflatten_vs_torch():
    x = torch.randn(2, 3, 4, 5)
    for args in [(), (0, -1), (1, 2), (2, 3)]:
        pm, tm = nn.Flatten(*args), tnn.Flatten(*args)
        assert repr(pm) == repr(tm)
        check_layer(pm, tm, [x], "float64")
    pm, tm = nn.Unflatten(1, (3, 2)), tnn.Unflatten(1, (3, 2))
    assert repr(pm) == repr(tm)
    check_layer(pm, tm, [torch.randn(4, 6, 2)], "float32")
    with pytest.raises(TypeError, match="unflattened_size must be tuple of ints"):
        nn.Unflatten(1, 6)


# ----------------------------------------------------------------------------------- TEXTBOOK numbers
def test_textbook_softmax_and_temperature():
    y = nn.Softmax(dim=0)(pyml.tensor([3.0, 1.0, -3.0])).numpy()
    np.testing.assert_allclose(y, [0.8789, 0.1189, 0.0022], atol=5e-5)
    # temperature: softmax(z / T) flattens as T grows and sharpens as T shrinks
    z = pyml.tensor([3.0, 1.0, -3.0])
    for T in (0.5, 2.0, 10.0):
        np.testing.assert_allclose(F.softmax(z / T, dim=0).numpy(), TF.softmax(torch.tensor([3.0, 1.0, -3.0]) / T, 0),
                                   rtol=1e-6)
    assert F.softmax(z / 100.0, dim=0).numpy().max() < 0.36
    # a stable softmax: a very negative logit gives a finite distribution and finite gradients
    x = pyml.tensor([2.0, 1.0, -1000.0], requires_grad=True)
    p = F.softmax(x, dim=0)
    assert np.isfinite(p.detach().numpy()).all() and float(p[2]) == 0.0
    (-F.log_softmax(x, dim=0)[0]).backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_textbook_fc_parameter_count():
    m = nn.Linear(100 * 100 * 3, 1000)
    assert m.weight.numel() == 3 * 10 ** 7
    assert sum(p.numel() for p in m.parameters()) == 3 * 10 ** 7 + 1000


@pytest.mark.parametrize("x_shape,w_shape", [((2, 3), (0, 3)), ((2, 0), (4, 0)), ((5, 2, 3), (0, 3)), ((0, 3), (4, 3))])
def test_linear_with_a_zero_sized_dim_matches_torch(x_shape, w_shape):
    """Zero features (AdaptiveLogSoftmaxWithLoss's narrow tail layers) or an empty batch: shapes and
    gradients as torch, where reshape(-1, 0) would be ambiguous."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[:1])]
    out = {}
    for lib in (pyml, torch):
        x, w, b = (lib.tensor(a, requires_grad=True) for a in arrays)
        y = lib.nn.functional.linear(x, w, b)
        (y * 2).sum().backward()
        out[lib.__name__] = [tuple(y.shape)] + [t.grad.numpy() for t in (x, w, b)]
    assert out["pyml"][0] == out["torch"][0]
    for a, b in zip(out["pyml"][1:], out["torch"][1:]):
        np.testing.assert_allclose(a, b, rtol=1e-12)
