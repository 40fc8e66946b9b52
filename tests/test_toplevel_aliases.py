"""Top-level nn aliases (pyml.conv2d, pyml.dropout, pyml.layer_norm, ...) against torch's top-level functions:
the same parameter names and required arguments as torch's ATen schemas, the same values and gradients for
the same positional/keyword arguments (reductions as ints, norms with running stats updated in place,
embedding's (weight, indices) order and padding_idx=-1), the in-place forms, dropout statistics, bad inputs."""
import inspect

import numpy as np
import pytest
import torch

import pyml


class A:
    """An array argument: a float64 tensor (a leaf that requires grad when grad=True) or an integer one."""

    def __init__(self, a, grad=True, dtype="float64"):
        self.a, self.grad, self.dtype = np.asarray(a), grad, dtype

    def build(self, mod):
        t = mod.tensor(self.a).to(getattr(mod, self.dtype))
        return t.requires_grad_() if self.grad else t


def rand(*shape, seed=0):
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape)


def _build(mod, args, kwargs):
    conv = lambda v: v.build(mod) if isinstance(v, A) else v  # noqa: E731
    return [conv(a) for a in args], {k: conv(v) for k, v in kwargs.items()}


def _outputs(y):
    return list(y) if isinstance(y, (tuple, list)) else [y]


def run_both(name, args, kwargs=None, tol=1e-10, grad_tol=None):
    """Call pyml.<name> and torch.<name> with the same arguments; compare outputs, then the gradients of
    every leaf for a random upstream gradient of each floating output; return both argument lists."""
    kwargs = kwargs or {}
    (pa, pk), (ta, tk) = _build(pyml, args, kwargs), _build(torch, args, kwargs)
    ys, yts = _outputs(getattr(pyml, name)(*pa, **pk)), _outputs(getattr(torch, name)(*ta, **tk))
    assert len(ys) == len(yts)
    loss_p, loss_t = 0, 0
    for i, (y, yt) in enumerate(zip(ys, yts)):
        assert tuple(y.shape) == tuple(yt.shape), f"output {i}"
        np.testing.assert_allclose(y.detach().double().numpy(), yt.detach().double().numpy(), rtol=tol, atol=tol,
                                   err_msg=f"{name} output {i}")
        if yt.requires_grad:
            g = np.random.default_rng(i).standard_normal(tuple(yt.shape))
            loss_p = loss_p + (y * pyml.tensor(g)).sum()
            loss_t = loss_t + (yt * torch.tensor(g)).sum()
    leaves = [(p, t) for p, t in zip(pa + list(pk.values()), ta + list(tk.values()))
              if isinstance(t, torch.Tensor) and t.requires_grad]
    if isinstance(loss_t, torch.Tensor):
        loss_p.backward()
        loss_t.backward()
        for k, (p, t) in enumerate(leaves):
            gt = grad_tol or tol * 10
            np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=gt, atol=gt,
                                       err_msg=f"{name} gradient of leaf {k}")
    return pa + list(pk.values()), ta + list(tk.values())


X = A(rand(2, 3, 9))
X4 = A(rand(2, 4, 7, 6))
CASES = [
    ("conv1d", [X, A(rand(4, 3, 3)), A(rand(4))], {"stride": 2, "padding": 1}),
    ("conv1d", [X, A(rand(4, 3, 3)), None, 1, "same"], {}),
    ("conv2d", [X4, A(rand(6, 2, 3, 3)), None, (2, 1), (1, 0), 1, 2], {}),
    ("conv2d", [], {"input": X4, "weight": A(rand(5, 4, 2, 3)), "bias": A(rand(5)), "dilation": 2}),
    ("conv_transpose1d", [A(rand(2, 4, 7)), A(rand(4, 3, 3)), A(rand(3)), 2, 1, 1, 1, 1], {}),
    ("conv_transpose2d", [A(rand(1, 4, 5, 6)), A(rand(4, 2, 3, 2)), A(rand(2))],
     {"stride": (2, 1), "padding": 1, "output_padding": (1, 0)}),
    ("pixel_shuffle", [A(rand(2, 8, 3, 5)), 2], {}),
    ("pixel_unshuffle", [A(rand(2, 2, 6, 4))], {"downscale_factor": 2}),
    ("channel_shuffle", [A(rand(2, 6, 4)), 3], {}),
    ("prelu", [X, A(rand(3))], {}),
    ("prelu", [X, A([0.25])], {}),
    ("selu", [X], {}),
    ("celu", [X, 0.7], {}),
    ("celu", [X], {}),
    ("threshold", [X, 0.1, -2.0], {}),
    ("hardshrink", [X, 0.3], {}),
    ("hardshrink", [X], {}),
    ("rrelu", [X, 0.1, 0.3, False], {}),
    ("rrelu", [X], {}),
    ("dropout", [X, 0.3, False], {}),
    ("dropout", [X], {"p": 0.0, "train": True}),
    ("dropout", [X, 1.0, True], {}),
    ("alpha_dropout", [X, 0.3, False], {}),
    ("alpha_dropout", [X, 0.0, True], {}),
    ("feature_alpha_dropout", [X, 0.4, False], {}),
    ("feature_dropout", [X, 0.4, False], {}),
    ("feature_dropout", [X, 1.0, True], {}),
    ("bilinear", [A(rand(4, 3)), A(rand(4, 5)), A(rand(2, 3, 5)), A(rand(2))], {}),
    ("bilinear", [A(rand(4, 3)), A(rand(4, 5)), A(rand(2, 3, 5))], {}),
    ("layer_norm", [A(rand(2, 3, 4)), [3, 4], A(rand(3, 4)), A(rand(3, 4)), 1e-4, True], {}),
    ("layer_norm", [A(rand(2, 3, 4)), (4,)], {}),
    ("group_norm", [A(rand(2, 6, 5)), 3, A(rand(6)), A(rand(6)), 1e-5, True], {}),
    ("group_norm", [A(rand(2, 6, 5)), 2], {"eps": 1e-3}),
    ("rms_norm", [A(rand(2, 3, 4)), [4], A(rand(4)), 1e-6], {}),
    ("rms_norm", [A(rand(2, 3, 4)), [3, 4]], {}),
    ("embedding", [A(rand(10, 4)), A([[1, 2, 9], [2, 0, 2]], False, "int64")], {}),
    ("embedding", [A(rand(10, 4)), A([[1, 2, 9], [2, 0, 2]], False, "int64"), 2], {}),
    ("embedding", [A(rand(10, 4)), A([1, 2, 9, 2], False, "int64")], {"padding_idx": 9, "scale_grad_by_freq": True}),
    ("max_pool1d", [X, 3, 2, 1, 1, False], {}),
    ("max_pool1d", [X, 2], {}),
    ("max_pool2d", [A(rand(2, 3, 7, 8)), (3, 2), (), (1, 0), 1, True], {}),
    ("max_pool2d", [A(rand(2, 3, 7, 8)), 2], {"dilation": 2}),
    ("max_pool1d_with_indices", [X, 3], {"stride": 2}),
    ("avg_pool1d", [X, 3, 2, 1, True, False], {}),
    ("avg_pool1d", [X, 2], {}),
    ("adaptive_avg_pool1d", [X, 4], {}),
    ("adaptive_max_pool1d", [X, 4], {}),
    ("adaptive_max_pool1d", [A(rand(3, 10)), (3,)], {}),
    ("constant_pad_nd", [X, [1, 2, 0, 1], 0.5], {}),
    ("constant_pad_nd", [X, (-1, 2)], {}),
]


# torch's celu backward uses 1 / alpha rounded to float32 (derivatives.yaml: 1.0/alpha.toFloat())
GRAD_TOL = {"celu": 1e-7, "celu_": 1e-7}


@pytest.mark.parametrize("name,args,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_alias_matches_torch(name, args, kwargs):
    run_both(name, args, kwargs, grad_tol=GRAD_TOL.get(name))


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_and_instance_norm(training):
    x, w, b = A(rand(4, 3, 5)), A(rand(3)), A(rand(3))
    stats = [A(rand(3, seed=1), False), A(np.abs(rand(3, seed=2)) + 0.5, False)]
    pa, ta = run_both("batch_norm", [x, w, b, *stats, training, 0.2, 1e-5, False])
    for p, t in zip(pa[3:5], ta[3:5]):  # the running stats, updated in place when training
        np.testing.assert_allclose(p.numpy(), t.numpy(), rtol=1e-12)
    pa, ta = run_both("instance_norm", [x, w, b, *stats, True, 0.3, 1e-5, False])
    for p, t in zip(pa[3:5], ta[3:5]):
        np.testing.assert_allclose(p.numpy(), t.numpy(), rtol=1e-12)


def test_batch_norm_without_running_stats_or_affine():
    run_both("batch_norm", [A(rand(6, 2, 3)), None, None, None, None, True, 0.1, 1e-5, True])
    run_both("instance_norm", [A(rand(2, 3, 4)), None, None, None, None, True, 0.1, 1e-5, True])
    run_both("instance_norm", [A(rand(2, 3, 4)), A(rand(3)), None, A(rand(3), False), A(np.ones(3), False), False,
                               0.1, 1e-5, True])


REDUCTIONS = [0, 1, 2]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_losses_with_int_reductions(reduction):
    logp = A(np.log(np.random.default_rng(0).dirichlet(np.ones(5), 4)))
    p = A(np.random.default_rng(1).dirichlet(np.ones(5), 4))
    run_both("kl_div", [logp, p, reduction])
    run_both("kl_div", [logp, A(np.log(p.a))], {"reduction": reduction, "log_target": True})
    t01 = A((rand(4, 5, seed=3) > 0).astype(float))
    w = A(np.abs(rand(4, 5, seed=4)), False)  # torch: not differentiable w.r.t. weight or pos_weight
    run_both("binary_cross_entropy_with_logits", [A(rand(4, 5)), t01, w, A(np.abs(rand(5)) + 0.5, False), reduction])
    run_both("binary_cross_entropy_with_logits", [A(rand(4, 5)), t01], {"reduction": reduction})
    sign = A(np.where(rand(5, seed=5) > 0, 1.0, -1.0), False)
    run_both("cosine_embedding_loss", [A(rand(5, 4)), A(rand(5, 4, seed=1)), sign, 0.2, reduction])
    run_both("margin_ranking_loss", [A(rand(5)), A(rand(5, seed=1)), sign, 0.1, reduction])
    run_both("hinge_embedding_loss", [A(rand(5)), sign, 1.5, reduction])
    run_both("triplet_margin_loss", [A(rand(5, 4)), A(rand(5, 4, seed=1)), A(rand(5, 4, seed=2)), 1.0, 2.0, 1e-6,
                                     True, reduction])
    run_both("poisson_nll_loss", [A(rand(5, 3)), A(np.abs(rand(5, 3, seed=1)) * 3), True, False, 1e-8, reduction])
    counts = A(np.round(np.abs(rand(5, 3, seed=1)) * 3), False)  # torch: nan target gradient at counts <= 1
    run_both("poisson_nll_loss", [A(np.abs(rand(5, 3)) + 0.1), counts, False, True, 1e-8, reduction])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("lengths", ["list", "tensor"])
def test_ctc_loss(reduction, lengths):
    """Through log_softmax (torch's CTC gradient assumes its input came from one)."""
    logits = rand(7, 2, 5)
    targets = np.array([[1, 2, 2], [3, 1, 0]])
    il, tl = [7, 6], [3, 2]
    out, grads = [], []
    for mod in (pyml, torch):
        x = mod.tensor(logits).requires_grad_()
        lens = (il, tl) if lengths == "list" else (mod.tensor(il), mod.tensor(tl))
        y = mod.ctc_loss(mod.log_softmax(x, 2), mod.tensor(targets), *lens, 0, reduction, False)
        y.sum().backward()
        out.append(y.detach().numpy())
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(out[0], out[1], rtol=1e-10)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-8, atol=1e-12)


INPLACE = [("relu_", ()), ("selu_", ()), ("celu_", (0.6,)), ("celu_", ()), ("threshold_", (0.2, -1.0)),
           ("rrelu_", (0.1, 0.3, False)), ("rrelu_", ()), ("sigmoid_", ()), ("tanh_", ()), ("dropout_", (0.3, False)),
           ("dropout_", (1.0, True)), ("alpha_dropout_", (0.3, False)), ("feature_alpha_dropout_", (0.5, False)),
           ("feature_dropout_", (0.5, False)), ("feature_dropout_", (1.0, True))]


@pytest.mark.parametrize("name,args", INPLACE, ids=[f"{n}-{i}" for i, (n, _) in enumerate(INPLACE)])
def test_inplace_variants(name, args):
    a = rand(2, 3, 4)
    res, grads = [], []
    for mod in (pyml, torch):
        x = mod.tensor(a).requires_grad_()
        y = x * 1.0  # a non-leaf the op may overwrite
        out = getattr(mod, name)(y, *args)
        assert out is y
        (out * mod.tensor(rand(2, 3, 4, seed=9))).sum().backward()
        res.append(out.detach().numpy())
        grads.append(x.grad.numpy())
    tol = GRAD_TOL.get(name, 1e-12)
    np.testing.assert_allclose(res[0], res[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads[0], grads[1], rtol=tol, atol=tol)


def test_dropout_training_statistics():
    pyml.manual_seed(0)
    x = pyml.ones(200, 50, 3, dtype=pyml.float64)
    y = pyml.dropout(x, 0.3, True).numpy()
    assert set(np.unique(np.round(y, 12))) <= {0.0, round(1 / 0.7, 12)}
    assert abs((y == 0).mean() - 0.3) < 0.02
    f = pyml.feature_dropout(x, 0.5, True).numpy()
    assert (f.std(axis=2) == 0).all() and abs((f[:, :, 0] == 0).mean() - 0.5) < 0.03  # whole channels
    z = x.clone()
    assert pyml.dropout_(z, 0.5, True) is z and abs((z.numpy() == 0).mean() - 0.5) < 0.02
    a = pyml.alpha_dropout(x, 0.2, True).numpy()  # the kept and the dropped value, as torch's
    at = torch.alpha_dropout(torch.ones(200, 50, 3, dtype=torch.float64), 0.2, True).numpy()
    np.testing.assert_allclose(np.unique(np.round(a, 9)), np.unique(np.round(at, 9)), rtol=1e-9)
    fa = pyml.feature_alpha_dropout(x, 0.2, True).numpy()
    assert (fa.std(axis=2) < 1e-12).all() and len(np.unique(np.round(fa, 9))) == 2
    n = pyml.alpha_dropout(pyml.randn(100000, dtype=pyml.float64), 0.3, True).numpy()  # keeps mean 0, var 1
    assert abs(n.mean()) < 0.02 and abs(n.std() - 1.0) < 0.02


def test_rrelu_training_uses_the_generator():
    x = -pyml.ones(1000, dtype=pyml.float64)
    g1, g2 = pyml.Generator().manual_seed(3), pyml.Generator().manual_seed(3)
    y1 = pyml.rrelu(x, 0.1, 0.3, True, g1).numpy()
    y2 = pyml.rrelu(x, 0.1, 0.3, True, generator=g2).numpy()
    np.testing.assert_array_equal(y1, y2)
    assert (-y1 >= 0.1).all() and (-y1 <= 0.3).all() and y1.std() > 0.03


# ------------------------------------------------------------------------------------- signatures
ALIASES = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "pixel_shuffle", "pixel_unshuffle", "prelu",
           "hardshrink", "bilinear", "channel_shuffle", "adaptive_avg_pool1d", "rms_norm", "dropout", "dropout_",
           "alpha_dropout", "alpha_dropout_", "feature_alpha_dropout", "feature_alpha_dropout_", "feature_dropout",
           "feature_dropout_", "layer_norm", "batch_norm", "group_norm", "instance_norm", "embedding",
           "constant_pad_nd", "max_pool1d", "max_pool2d", "max_pool1d_with_indices", "avg_pool1d",
           "adaptive_max_pool1d", "selu", "selu_", "celu", "celu_", "threshold", "threshold_", "rrelu", "rrelu_",
           "relu_", "sigmoid_", "tanh_", "kl_div", "binary_cross_entropy_with_logits", "cosine_embedding_loss",
           "margin_ranking_loss", "hinge_embedding_loss", "triplet_margin_loss", "poisson_nll_loss", "ctc_loss"]


def _torch_params(name):
    """(names, required names) of torch's first non-out ATen overload, 'self' read as 'input'."""
    schemas = [s for s in torch._C._jit_get_schemas_for_operator("aten::" + name) if "out" not in s.overload_name]
    args = [a for a in schemas[0].arguments if not (a.kwarg_only and a.name == "out")]
    rename = lambda n: "input" if n == "self" else n  # noqa: E731
    return [rename(a.name) for a in args], {rename(a.name) for a in args if not a.has_default_value()}


@pytest.mark.parametrize("name", ALIASES)
def test_signature_matches_torch(name):
    assert hasattr(torch, name) and callable(getattr(pyml, name))
    params = inspect.signature(getattr(pyml, name)).parameters
    names, required = _torch_params(name)
    assert list(params) == names
    assert {n for n, p in params.items() if p.default is inspect.Parameter.empty} == required


def test_aliases_are_wrapped_by_autocast_where_torch_casts():
    for name in ("conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "prelu", "kl_div",
                 "binary_cross_entropy_with_logits", "poisson_nll_loss", "layer_norm", "group_norm"):
        assert getattr(getattr(pyml, name), "_pyml_amp", False), name


def test_conv2d_alias_under_cpu_autocast_runs_in_bfloat16():
    x, w = pyml.randn(1, 2, 5, 5), pyml.randn(3, 2, 3, 3)
    with pyml.autocast("cpu"):
        assert pyml.conv2d(x, w).dtype is pyml.bfloat16
        assert pyml.kl_div(x, x.exp(), 2).dtype is pyml.float32


# ------------------------------------------------------------------------------------- bad inputs
BAD = [
    (lambda: pyml.kl_div(pyml.ones(3), pyml.ones(3), "mean"), TypeError,
     r"kl_div: reduction must be an int \(0 none, 1 mean, 2 sum\), got str"),
    (lambda: pyml.margin_ranking_loss(pyml.ones(3), pyml.ones(3), pyml.ones(3), 0.0, 3), ValueError,
     r"margin_ranking_loss: reduction must be 0 \(none\), 1 \(mean\) or 2 \(sum\), got 3"),
    (lambda: pyml.dropout(pyml.ones(3), 1.5, True), ValueError, r"dropout: dropout probability has to be between"),
    (lambda: pyml.dropout(pyml.ones(3)), TypeError, r"missing 2 required positional arguments: 'p' and 'train'"),
    (lambda: pyml.feature_dropout(pyml.ones(3), 0.5, True), ValueError,
     r"feature_dropout: feature dropout requires at least 2 dims \(N, C, \*\), got input of shape \(3,\)"),
    (lambda: pyml.feature_dropout([1.0], 0.5, True), TypeError, r"feature_dropout: argument 'input' must be Tensor"),
    (lambda: pyml.embedding([1.0], pyml.tensor([0])), TypeError, r"embedding: argument 'weight' must be Tensor"),
    (lambda: pyml.embedding(pyml.ones(3, 2), pyml.tensor([0]), 1.5), TypeError,
     r"embedding: padding_idx must be an int, got float"),
    (lambda: pyml.embedding(pyml.ones(3, 2), pyml.tensor([5])), IndexError, r"embedding"),
    (lambda: pyml.batch_norm(pyml.ones(2, 3), None, None, None, None, True, 0.1, 1e-5), TypeError,
     r"missing 1 required positional argument: 'cudnn_enabled'"),
    (lambda: pyml.sigmoid_(3.0), TypeError, r"sigmoid_: argument 'input' must be Tensor, not float"),
    (lambda: pyml.max_pool1d(pyml.ones(5), 2), ValueError, r"max_pool1d"),
    (lambda: pyml.constant_pad_nd(pyml.ones(2, 3), (1,)), ValueError, r"pad: padding length must be divisible by 2"),
]


@pytest.mark.parametrize("fn,exc,msg", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_inputs(fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn()
