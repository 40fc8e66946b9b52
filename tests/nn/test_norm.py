"""Functional normalisation layers (batch/layer/rms/group/instance/local-response norm) against torch:
outputs, input/weight/bias gradients, running statistics, eval mode, float32/float64, odd sizes,
non-contiguous inputs, gradcheck on tiny float64 cases, and bad inputs."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pyml
import pyml.nn.functional as F
from nn_helpers import gradcheck

TOL = {"float32": dict(rtol=2e-4, atol=2e-5), "float64": dict(rtol=1e-9, atol=1e-10)}
TDT = {"float32": torch.float32, "float64": torch.float64}


def P(t, requires_grad=False):
    """torch tensor -> pyml tensor (same values, contiguous)."""
    p = pyml.tensor(t.detach().numpy())
    return p.requires_grad_() if requires_grad else p


def close(p, t, dtype, what=""):
    assert p is not None, f"{what}: pyml gave no value"
    a = p.detach().double().numpy() if isinstance(p, pyml.Tensor) else np.asarray(p)
    np.testing.assert_allclose(a, t.detach().double().numpy(), err_msg=what, **TOL[dtype])


def params(C, dtype, gen, affine=True):
    if not affine:
        return None, None, None, None
    w = torch.rand(C, dtype=TDT[dtype], generator=gen) + 0.5
    b = torch.randn(C, dtype=TDT[dtype], generator=gen)
    return w.requires_grad_(), b.requires_grad_(), P(w, True), P(b, True)


def run_both(tfn, pfn, x, tparams, pparams, dtype, gen, x_layout=None):
    """Forward and backward with the same random upstream gradient; compare output and all grads."""
    xt = x.clone().requires_grad_()
    xp = P(x, True)
    xin = x_layout(xp) if x_layout else xp
    yt = tfn(xt, *tparams)
    yp = pfn(xin, *pparams)
    close(yp, yt, dtype, "output")
    g = torch.randn(yt.shape, dtype=yt.dtype, generator=gen)
    yt.backward(g)
    yp.backward(P(g))
    close(xp.grad, xt.grad, dtype, "input grad")
    for i, (a, b) in enumerate(zip(pparams, tparams)):
        if isinstance(b, torch.Tensor) and b.requires_grad:
            close(a.grad, b.grad, dtype, f"param {i} grad")


# ----------------------------------------------------------------------------------- batch_norm
BN_SHAPES = [(4, 3), (2, 1), (5, 7, 9), (2, 3, 4, 5), (1, 2, 3, 3), (3, 1, 1, 1), (16, 97), (2, 5, 1025)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_train_matches_torch(dtype, shape, affine):
    gen = torch.Generator().manual_seed(hash((shape, affine)) % 1000)
    C = shape[1]
    x = torch.randn(shape, dtype=TDT[dtype], generator=gen) * 3 + 1
    w, b, pw, pb = params(C, dtype, gen, affine)
    rm_t, rv_t = torch.randn(C, dtype=TDT[dtype], generator=gen), torch.rand(C, dtype=TDT[dtype], generator=gen) + 1
    rm_p, rv_p = P(rm_t), P(rv_t)
    run_both(lambda x_, w_, b_: TF.batch_norm(x_, rm_t, rv_t, w_, b_, True, 0.3, 1e-5),
             lambda x_, w_, b_: F.batch_norm(x_, rm_p, rv_p, w_, b_, True, 0.3, 1e-5),
             x, (w, b), (pw, pb), dtype, gen)
    close(rm_p, rm_t, dtype, "running_mean")
    close(rv_p, rv_t, dtype, "running_var")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("momentum", [0.1, 0.5, 1.0, 0.0])
def test_batch_norm_running_stats_over_steps(dtype, momentum):
    gen = torch.Generator().manual_seed(7)
    rm_t, rv_t = torch.zeros(5, dtype=TDT[dtype]), torch.ones(5, dtype=TDT[dtype])
    rm_p, rv_p = P(rm_t), P(rv_t)
    v0 = rm_p._version
    for step in range(4):
        x = torch.randn(6, 5, 3, dtype=TDT[dtype], generator=gen) * (step + 1) + step
        TF.batch_norm(x, rm_t, rv_t, training=True, momentum=momentum)
        F.batch_norm(P(x), rm_p, rv_p, training=True, momentum=momentum)
        close(rm_p, rm_t, dtype, f"running_mean after step {step}")
        close(rv_p, rv_t, dtype, f"running_var after step {step}")
    assert rm_p._version > v0, "in-place running-stat update must bump the tensor version"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(4, 3), (3, 5, 7), (2, 3, 4, 5)])
def test_batch_norm_eval_matches_torch(dtype, shape):
    gen = torch.Generator().manual_seed(3)
    C = shape[1]
    x = torch.randn(shape, dtype=TDT[dtype], generator=gen)
    w, b, pw, pb = params(C, dtype, gen)
    rm, rv = torch.randn(C, dtype=TDT[dtype], generator=gen), torch.rand(C, dtype=TDT[dtype], generator=gen) + 0.1
    rm_p, rv_p = P(rm), P(rv)
    run_both(lambda x_, w_, b_: TF.batch_norm(x_, rm, rv, w_, b_, False, 0.1, 1e-3),
             lambda x_, w_, b_: F.batch_norm(x_, rm_p, rv_p, w_, b_, False, 0.1, 1e-3),
             x, (w, b), (pw, pb), dtype, gen)
    close(rm_p, rm, dtype, "eval leaves running_mean")
    close(rv_p, rv, dtype, "eval leaves running_var")


LAYOUTS = {
    "transposed": lambda p: p.transpose(-1, -2).contiguous().transpose(-1, -2),
    "channels_last": lambda p: p.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2),
    "strided": lambda p: pyml.stack([p, p * 0], dim=-1).flatten(-2)[..., ::2],
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm_non_contiguous(layout, dtype):
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(3, 4, 5, 6, dtype=TDT[dtype], generator=gen)
    w, b, pw, pb = params(4, dtype, gen)
    xp = LAYOUTS[layout](P(x))
    assert not xp.is_contiguous()
    run_both(lambda x_, w_, b_: TF.batch_norm(x_, None, None, w_, b_, True),
             lambda x_, w_, b_: F.batch_norm(x_, None, None, w_, b_, True),
             x, (w, b), (pw, pb), dtype, gen, x_layout=LAYOUTS[layout])


def test_batch_norm_half_types_compute_in_float32():
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(8, 3, 5, generator=gen)
    want = TF.batch_norm(x, None, None, training=True)
    for dt in (pyml.float16, pyml.bfloat16):
        y = F.batch_norm(P(x).to(dt), None, None, training=True)
        assert y.dtype == dt
        np.testing.assert_allclose(y.float().numpy(), want.numpy(), atol=5e-2, rtol=2e-2)


# ----------------------------------------------------------------------------------- layer_norm
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,ns", [((4, 7), 7), ((2, 3, 97), (97,)), ((3, 1025), [1025]), ((5, 2), 2),
                                      ((2, 3, 4, 5), (4, 5)), ((6,), 6), ((2, 3, 5), (2, 3, 5)), ((0, 4), 4)])
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm_matches_torch(dtype, shape, ns, affine):
    gen = torch.Generator().manual_seed(17)
    x = torch.randn(shape, dtype=TDT[dtype], generator=gen) * 2 - 1
    nshape = (ns,) if isinstance(ns, int) else tuple(ns)
    w = (torch.rand(nshape, dtype=TDT[dtype], generator=gen) + 0.5).requires_grad_() if affine != "none" else None
    b = torch.randn(nshape, dtype=TDT[dtype], generator=gen).requires_grad_() if affine == "both" else None
    pw = P(w, True) if w is not None else None
    pb = P(b, True) if b is not None else None
    run_both(lambda x_, w_, b_: TF.layer_norm(x_, nshape, w_, b_, 1e-5),
             lambda x_, w_, b_: F.layer_norm(x_, ns, w_, b_, 1e-5), x, (w, b), (pw, pb), dtype, gen)


@pytest.mark.parametrize("layout", ["transposed", "strided"])
def test_layer_norm_non_contiguous(layout):
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(6, 9, dtype=torch.float64, generator=gen)
    w = torch.rand(9, dtype=torch.float64, generator=gen).requires_grad_()
    run_both(lambda x_, w_: TF.layer_norm(x_, (9,), w_), lambda x_, w_: F.layer_norm(x_, 9, w_),
             x, (w,), (P(w, True),), "float64", gen, x_layout=LAYOUTS[layout])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,ns", [((4, 7), (7,)), ((2, 3, 33), (33,)), ((3, 4, 5), (4, 5))])
@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm_matches_torch(dtype, shape, ns, eps):
    gen = torch.Generator().manual_seed(23)
    x = torch.randn(shape, dtype=TDT[dtype], generator=gen)
    w = (torch.rand(ns, dtype=TDT[dtype], generator=gen) + 0.5).requires_grad_()
    run_both(lambda x_, w_: TF.rms_norm(x_, ns, w_, eps), lambda x_, w_: F.rms_norm(x_, ns, w_, eps),
             x, (w,), (P(w, True),), dtype, gen)
    run_both(lambda x_: TF.rms_norm(x_, ns, None, eps), lambda x_: F.rms_norm(x_, ns, None, eps),
             x, (), (), dtype, gen)


def test_single_element_rows_normalise_to_bias():
    # K = 1: x - mean is exactly 0, so y = bias and the weight gets no gradient
    x = pyml.randn(5, 1, requires_grad=True)
    w, b = pyml.tensor([2.0], requires_grad=True), pyml.tensor([0.5], requires_grad=True)
    y = F.layer_norm(x, 1, w, b)
    y.backward(pyml.ones_like(y))
    assert y.detach().tolist() == [[0.5]] * 5 and w.grad.tolist() == [0.0] and b.grad.tolist() == [5.0]
    assert x.grad.tolist() == [[0.0]] * 5


@pytest.mark.parametrize("op", ["layer_norm", "batch_norm", "group_norm"])
def test_large_offset_keeps_float32_precision(op):
    # mean 1e4 with spread 0.1: one-pass E[x^2]-E[x]^2 or centring with the mean rounded to float32
    # would lose most digits; compare with float64 on the same float32 values
    gen = torch.Generator().manual_seed(0)
    x = torch.full((4, 6, 16), 1e4) + torch.randn(4, 6, 16, generator=gen) * 1e-1
    fns = {"layer_norm": (lambda m, t: m.layer_norm(t, (16,))), "batch_norm": (lambda m, t: m.batch_norm(
        t, None, None, training=True)), "group_norm": (lambda m, t: m.group_norm(t, 3))}
    fn = fns[op]
    xp = P(x, True)
    xt = x.double().requires_grad_()
    g = torch.randn(x.shape, dtype=torch.float64, generator=gen)
    yp, yt = fn(F, xp), fn(TF, xt)
    close(yp, yt, "float32", "output")
    yp.backward(P(g.float()))
    yt.backward(g)
    np.testing.assert_allclose(xp.grad.double().numpy(), xt.grad.numpy(), rtol=1e-3, atol=2e-2)


# ----------------------------------------------------------------------------------- group_norm
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,G", [((2, 6, 5), 3), ((3, 4, 2, 3), 2), ((2, 4, 7), 1), ((2, 4, 7), 4),
                                     ((1, 8, 33), 8), ((5, 6), 2), ((2, 32, 9, 9), 8)])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_matches_torch(dtype, shape, G, affine):
    gen = torch.Generator().manual_seed(31)
    x = torch.randn(shape, dtype=TDT[dtype], generator=gen) * 2 + 0.5
    w, b, pw, pb = params(shape[1], dtype, gen, affine)
    run_both(lambda x_, w_, b_: TF.group_norm(x_, G, w_, b_, 1e-5),
             lambda x_, w_, b_: F.group_norm(x_, G, w_, b_, 1e-5), x, (w, b), (pw, pb), dtype, gen)


def test_group_norm_non_contiguous():
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(2, 6, 4, 5, dtype=torch.float64, generator=gen)
    w, b, pw, pb = params(6, "float64", gen)
    run_both(lambda x_, w_, b_: TF.group_norm(x_, 3, w_, b_), lambda x_, w_, b_: F.group_norm(x_, 3, w_, b_),
             x, (w, b), (pw, pb), "float64", gen, x_layout=LAYOUTS["channels_last"])


# -------------------------------------------------------------------------------- instance_norm
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(2, 3, 5), (3, 4, 2, 3), (1, 2, 9)])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("running", [True, False])
def test_instance_norm_matches_torch(dtype, shape, affine, running):
    gen = torch.Generator().manual_seed(41)
    C = shape[1]
    x = torch.randn(shape, dtype=TDT[dtype], generator=gen) + 1
    w, b, pw, pb = params(C, dtype, gen, affine)
    rm_t = torch.randn(C, dtype=TDT[dtype], generator=gen) if running else None
    rv_t = torch.rand(C, dtype=TDT[dtype], generator=gen) + 1 if running else None
    rm_p, rv_p = (P(rm_t), P(rv_t)) if running else (None, None)
    run_both(lambda x_, w_, b_: TF.instance_norm(x_, rm_t, rv_t, w_, b_, True, 0.2, 1e-5),
             lambda x_, w_, b_: F.instance_norm(x_, rm_p, rv_p, w_, b_, True, 0.2, 1e-5),
             x, (w, b), (pw, pb), dtype, gen)
    if running:
        close(rm_p, rm_t, dtype, "running_mean")
        close(rv_p, rv_t, dtype, "running_var")
        # eval with the running stats (use_input_stats=False)
        run_both(lambda x_, w_, b_: TF.instance_norm(x_, rm_t, rv_t, w_, b_, False, 0.2, 1e-5),
                 lambda x_, w_, b_: F.instance_norm(x_, rm_p, rv_p, w_, b_, False, 0.2, 1e-5),
                 x, (w, b), (pw, pb), dtype, gen)


# --------------------------------------------------------------------------- local_response_norm
@pytest.mark.parametrize("shape,size", [((2, 7, 5), 3), ((2, 5, 3, 4), 2), ((1, 4, 3, 3), 5), ((2, 3, 4), 1)])
def test_local_response_norm_matches_torch(shape, size):
    gen = torch.Generator().manual_seed(43)
    x = torch.randn(shape, dtype=torch.float64, generator=gen)
    run_both(lambda x_: TF.local_response_norm(x_, size, 1e-2, 0.75, 1.5),
             lambda x_: F.local_response_norm(x_, size, 1e-2, 0.75, 1.5), x, (), (), "float64", gen)


# ------------------------------------------------------------------------------------ gradcheck
def _g(shape, seed):
    return pyml.tensor(np.random.default_rng(seed).normal(size=shape)).requires_grad_()


GRADCHECK = {
    "batch_norm_train": (lambda x, w, b: F.batch_norm(x, None, None, w, b, True), [(4, 2, 3), (2,), (2,)]),
    "batch_norm_eval": (lambda x, w, b: F.batch_norm(x, pyml.tensor([0.1, -0.2], dtype=pyml.float64),
                                                     pyml.tensor([1.5, 0.7], dtype=pyml.float64), w, b, False),
                        [(3, 2, 2), (2,), (2,)]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (2, 3), w, b), [(2, 2, 3), (2, 3), (2, 3)]),
    "rms_norm": (lambda x, w: F.rms_norm(x, (4,), w), [(3, 4), (4,)]),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), [(2, 4, 3), (4,), (4,)]),
    "instance_norm": (lambda x, w, b: F.instance_norm(x, weight=w, bias=b), [(2, 2, 4), (2,), (2,)]),
}


@pytest.mark.parametrize("name", list(GRADCHECK))
def test_gradcheck(name):
    fn, shapes = GRADCHECK[name]
    inputs = [_g(s, i) for i, s in enumerate(shapes)]
    assert gradcheck(fn, inputs)


def test_thread_count_does_not_change_results():
    gen = torch.Generator().manual_seed(9)
    x = P(torch.randn(64, 33, 40, generator=gen), True)
    w = P(torch.rand(40, generator=gen), True)
    outs = []
    n0 = pyml.get_num_threads() if hasattr(pyml, "get_num_threads") else pyml._C.get_num_threads()
    try:
        for nt in (1, 2):
            pyml._C.set_num_threads(nt)
            x.grad = w.grad = None
            y = F.layer_norm(x, 40, w)
            y.backward(pyml.ones_like(y))
            z = F.batch_norm(x.detach().transpose(1, 2), None, None, training=True)
            outs.append((y.detach().numpy(), x.grad.numpy(), w.grad.numpy(), z.numpy()))
    finally:
        pyml._C.set_num_threads(n0)
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------------- bad inputs
def test_bad_inputs():
    x = pyml.randn(2, 3, 5)
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(4,\).*\(2, 3, 5\)"):
        F.layer_norm(x, 4)
    with pytest.raises(ValueError, match=r"layer_norm: weight must have shape \(5,\), got weight \(4,\)"):
        F.layer_norm(x, 5, pyml.ones(4))
    with pytest.raises(ValueError, match=r"batch_norm: weight must have shape \(3,\), got weight \(4,\); input \(2, 3, 5\)"):
        F.batch_norm(x, None, None, pyml.ones(4), training=True)
    with pytest.raises(ValueError, match=r"batch_norm: running_mean must have shape \(3,\)"):
        F.batch_norm(x, pyml.zeros(2), pyml.ones(3))
    with pytest.raises(ValueError, match="batch_norm: running_mean and running_var are required"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match=r"batch_norm: expected more than 1 value per channel.*\(1, 3\)"):
        F.batch_norm(pyml.randn(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: expected input of shape \(N, C, \*\).*\(3,\)"):
        F.batch_norm(pyml.randn(3), None, None, training=True)
    with pytest.raises(ValueError, match=r"group_norm: num_channels \(3\) must be divisible by num_groups \(2\); input \(2, 3, 5\)"):
        F.group_norm(x, 2)
    with pytest.raises(ValueError, match=r"group_norm: weight must have shape \(3,\)"):
        F.group_norm(x, 3, pyml.ones(2))
    with pytest.raises(ValueError, match=r"instance_norm: expected more than 1 spatial element.*\(2, 3, 1\)"):
        F.instance_norm(pyml.randn(2, 3, 1))
    with pytest.raises(ValueError, match="instance_norm: running_mean and running_var are required"):
        F.instance_norm(x, use_input_stats=False)
    with pytest.raises(TypeError, match="layer_norm: expected a floating point input, got dtype int64"):
        F.layer_norm(pyml.ones(2, 3, dtype=pyml.int64), 3)
    with pytest.raises(TypeError, match="batch_norm: expected a floating point input"):
        F.batch_norm(pyml.ones(2, 3, dtype=pyml.int32), None, None, training=True)
    with pytest.raises(TypeError, match="layer_norm: argument 'input' must be Tensor"):
        F.layer_norm([1.0, 2.0], 2)
    with pytest.raises(TypeError, match="group_norm: num_groups must be an int"):
        F.group_norm(x, 1.5)
