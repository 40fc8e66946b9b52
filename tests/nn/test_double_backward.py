"""Double backward through the fused ops (layer/rms/group/instance/batch norm, cross_entropy, attention,
grid_sample, embedding): under create_graph their backward differentiates a composite of recorded ops
(pyml/autograd/composite_backward.py). Checked on random float64 inputs with odd sizes:
- the first gradient taken with create_graph equals the kernel's (taken without);
- Hessian-vector products d/dinputs (sum_i grad_i . u_i) equal torch's double backward;
- gradgradcheck against finite differences on tiny inputs;
plus a WGAN-GP critic step against torch, and the local backward leaving the inputs' hooks alone."""
import numpy as np
import pytest
import torch

import pyml
from pyml.autograd import gradgradcheck


def _rng(seed):
    return np.random.default_rng(seed)


def _tails(g, shape):
    """Normal values with a few large ones (tails), float64."""
    a = g.standard_normal(shape)
    a.reshape(-1)[:: 7] *= 4.0
    return a


def _grid(g, shape, span=1.3):
    return g.uniform(-span, span, shape)


# name -> (fn(lib, *tensors), [input arrays]); constants (targets, masks, indices) are built inside fn
# from module-level arrays so pyml and torch see the same values.
_G = _rng(1)
TGT = np.array([1, 0, 4, 4, 2, 3, 0])
TGT_IGN = np.array([1, -100, 4, 4, 2, -100, 0])
CW = _G.uniform(0.2, 2.0, 5)
TGT_SP = _G.integers(0, 3, (2, 3, 4))
BMASK = _G.random((5, 6)) > 0.3
BMASK[:, 0] = True  # every row has a key (torch's math path gives NaN for empty rows)
FMASK = _G.standard_normal((5, 6))
IDX = np.array([[0, 3, 3, 5], [2, 3, 0, 1]])


def _t(lib, a):
    return lib.tensor(a)


CASES = {
    "layer_norm": (lambda L, x, w, b: L.nn.functional.layer_norm(x, (3, 5), w, b),
                   [(2, 4, 3, 5), (3, 5), (3, 5)]),
    "layer_norm_noaffine": (lambda L, x: L.nn.functional.layer_norm(x, (7,)), [(3, 7)]),
    "rms_norm": (lambda L, x, w: L.nn.functional.rms_norm(x, (6,), w, eps=1e-5), [(4, 6), (6,)]),
    "group_norm": (lambda L, x, w, b: L.nn.functional.group_norm(x, 2, w, b), [(3, 4, 5), (4,), (4,)]),
    "group_norm_2d": (lambda L, x, w, b: L.nn.functional.group_norm(x, 3, w, b), [(2, 6, 3, 2), (6,), (6,)]),
    "instance_norm": (lambda L, x, w, b: L.nn.functional.instance_norm(x, weight=w, bias=b), [(2, 3, 7), (3,), (3,)]),
    "batch_norm_train": (lambda L, x, w, b: L.nn.functional.batch_norm(x, None, None, w, b, training=True),
                         [(5, 3, 4), (3,), (3,)]),
    "batch_norm_train_2d": (lambda L, x, w, b: L.nn.functional.batch_norm(x, None, None, w, b, training=True),
                            [(7, 3), (3,), (3,)]),
    "batch_norm_eval": (lambda L, x, w, b: L.nn.functional.batch_norm(
        x, _t(L, np.array([0.1, -0.3, 0.2])), _t(L, np.array([0.5, 1.5, 2.0])), w, b, training=False),
        [(4, 3, 2), (3,), (3,)]),
    "cross_entropy": (lambda L, x: L.nn.functional.cross_entropy(x, _t(L, TGT)), [(7, 5)]),
    "cross_entropy_weight_ignore": (lambda L, x: L.nn.functional.cross_entropy(
        x, _t(L, TGT_IGN), weight=_t(L, CW), ignore_index=-100), [(7, 5)]),
    "cross_entropy_smooth_weight_sum": (lambda L, x: L.nn.functional.cross_entropy(
        x, _t(L, TGT_IGN), weight=_t(L, CW), label_smoothing=0.15, reduction="sum"), [(7, 5)]),
    "cross_entropy_smooth_mean": (lambda L, x: L.nn.functional.cross_entropy(x, _t(L, TGT), label_smoothing=0.2),
                                  [(7, 5)]),
    "cross_entropy_none_spatial": (lambda L, x: L.nn.functional.cross_entropy(x, _t(L, TGT_SP), reduction="none"),
                                   [(2, 3, 3, 4)]),
    "cross_entropy_probs": (lambda L, x, p: L.nn.functional.cross_entropy(
        x, p.softmax(1), weight=_t(L, CW), label_smoothing=0.1), [(7, 5), (7, 5)]),
    "cross_entropy_unbatched": (lambda L, x: L.nn.functional.cross_entropy(x, _t(L, np.array(3))), [(5,)]),
    "sdpa": (lambda L, q, k, v: L.nn.functional.scaled_dot_product_attention(q, k, v),
             [(2, 5, 4), (2, 6, 4), (2, 6, 3)]),
    "sdpa_causal_scale": (lambda L, q, k, v: L.nn.functional.scaled_dot_product_attention(
        q, k, v, is_causal=True, scale=0.3), [(1, 2, 5, 4), (1, 2, 5, 4), (1, 2, 5, 4)]),
    "sdpa_bool_mask": (lambda L, q, k, v: L.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=_t(L, BMASK)), [(2, 5, 3), (2, 6, 3), (2, 6, 3)]),
    "sdpa_float_mask_broadcast": (lambda L, q, k, v: L.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=_t(L, FMASK)), [(3, 2, 5, 4), (1, 2, 6, 4), (1, 2, 6, 4)]),
    "embedding": (lambda L, w: L.nn.functional.embedding(_t(L, IDX), w), [(6, 3)]),
    "embedding_padding": (lambda L, w: L.nn.functional.embedding(_t(L, IDX), w, padding_idx=3), [(6, 3)]),
}
for _mode in ("bilinear", "nearest"):
    for _pad in ("zeros", "border", "reflection"):
        for _align in (False, True):
            CASES[f"grid_sample_{_mode}_{_pad}_{int(_align)}"] = (
                lambda L, x, g, m=_mode, p=_pad, a=_align: L.nn.functional.grid_sample(
                    x, g, mode=m, padding_mode=p, align_corners=a), [(2, 2, 4, 5), "grid:(2, 3, 4, 2)"])


def _inputs(name, seed=0):
    g = _rng(seed)
    out = []
    for s in CASES[name][1]:
        out.append(_grid(g, eval(s[5:])) if isinstance(s, str) else _tails(g, s))
    return out


def _second_order(lib, name, arrays, seed=3):
    """(first gradients, Hessian-vector products) of sum(f * v) for random v and u."""
    fn = CASES[name][0]
    ts = [lib.tensor(a).requires_grad_(True) for a in arrays]
    out = fn(lib, *ts)
    g = _rng(seed)
    v, v2 = (lib.tensor(g.standard_normal(tuple(out.shape))) for _ in range(2))
    # the square term keeps a second-order path for ops linear in an input (embedding, grid_sample's x)
    grads = lib.autograd.grad((out * v + 0.5 * out * out * v2).sum(), ts, create_graph=True)
    s = sum((gr * lib.tensor(g.standard_normal(tuple(gr.shape)))).sum() for gr in grads)
    hv = lib.autograd.grad(s, ts, allow_unused=True)
    first = [gr.detach().numpy() for gr in grads]
    return first, [np.zeros(a.shape) if h is None else h.detach().numpy() for h, a in zip(hv, arrays)]


@pytest.mark.parametrize("name", list(CASES))
def test_first_gradient_under_create_graph_matches_kernel(name):
    arrays = _inputs(name)
    fn = CASES[name][0]
    ts = [pyml.tensor(a).requires_grad_(True) for a in arrays]
    v = pyml.tensor(_rng(3).standard_normal(tuple(fn(pyml, *ts).shape)))
    plain = pyml.autograd.grad((fn(pyml, *ts) * v).sum(), ts)
    built = pyml.autograd.grad((fn(pyml, *ts) * v).sum(), ts, create_graph=True)
    for k, (a, b) in enumerate(zip(plain, built)):
        np.testing.assert_allclose(b.detach().numpy(), a.numpy(), rtol=1e-10, atol=1e-11, err_msg=f"input {k}")


@pytest.mark.parametrize("name", list(CASES))
def test_hessian_vector_product_matches_torch(name):
    arrays = _inputs(name)
    first_p, hv_p = _second_order(pyml, name, arrays)
    with torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.MATH):  # torch's flash: first order only
        first_t, hv_t = _second_order(torch, name, arrays)
    for k, (a, b) in enumerate(zip(first_p, first_t)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10, err_msg=f"{name}: first gradient {k}")
    for k, (a, b) in enumerate(zip(hv_p, hv_t)):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-9, err_msg=f"{name}: second-order gradient {k}")


@pytest.mark.parametrize("name", [n for n in CASES if "grid_sample_nearest" not in n])
def test_gradgradcheck(name):
    arrays = _inputs(name, seed=5)
    fn = CASES[name][0]
    ts = [pyml.tensor(a).requires_grad_(True) for a in arrays]
    assert gradgradcheck(lambda *xs: fn(pyml, *xs), ts, atol=1e-5, rtol=1e-4)


def test_embedding_freq_double_backward():
    # torch's own double backward disagrees with finite differences here, so the check is gradgradcheck
    # and the kernel's first gradient
    w = pyml.tensor(_tails(_rng(2), (6, 3))).requires_grad_(True)
    idx = pyml.tensor(IDX)
    for pad in (None, 0):
        f = lambda w: pyml.nn.functional.embedding(idx, w, padding_idx=pad, scale_grad_by_freq=True)
        assert gradgradcheck(f, (w,))
        (a,) = pyml.autograd.grad(f(w).pow(3).sum(), w)
        (b,) = pyml.autograd.grad(f(w).pow(3).sum(), w, create_graph=True)
        np.testing.assert_allclose(b.detach().numpy(), a.numpy(), rtol=1e-12)


def _critic(lib):
    nn = lib.nn
    lib.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.GroupNorm(2, 4), nn.LeakyReLU(0.2),
                         nn.Conv2d(4, 4, 3, stride=2, padding=1), nn.InstanceNorm2d(4, affine=True), nn.LeakyReLU(0.2),
                         nn.Flatten(), nn.LayerNorm(36), nn.Linear(36, 1)).double()


def _gradient_penalty_step(lib, state, real, fake, alpha):
    D = _critic(lib)
    D.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    x = (lib.tensor(alpha) * lib.tensor(real) + (1 - lib.tensor(alpha)) * lib.tensor(fake)).requires_grad_(True)
    (g,) = lib.autograd.grad(D(x).sum(), x, create_graph=True)
    gp = ((g.reshape(g.shape[0], -1).norm(2, dim=1) - 1) ** 2).mean()
    loss = D(lib.tensor(fake)).mean() - D(lib.tensor(real)).mean() + 10 * gp
    loss.backward()
    return {n: p.grad.detach().numpy() for n, p in D.named_parameters()}


def test_wgan_gp_critic_step_matches_torch():
    g = _rng(11)
    state = {k: v.detach().numpy() for k, v in _critic(torch).state_dict().items()}
    for k in state:  # non-trivial norm affine parameters
        state[k] = state[k] + 0.3 * g.standard_normal(state[k].shape)
    real, fake, alpha = g.standard_normal((5, 1, 6, 6)), g.standard_normal((5, 1, 6, 6)), g.random((5, 1, 1, 1))
    ours = _gradient_penalty_step(pyml, state, real, fake, alpha)
    ref = _gradient_penalty_step(torch, state, real, fake, alpha)
    assert ours.keys() == ref.keys()
    for k in ref:
        np.testing.assert_allclose(ours[k], ref[k], rtol=1e-8, atol=1e-10, err_msg=k)


def _hooked_run(lib, x0):
    x = x0 * 2
    x.retain_grad()
    seen = []
    x.register_hook(lambda g: seen.append(g.detach().clone().numpy()))
    y = lib.nn.functional.layer_norm(x, (5,))
    (gx,) = lib.autograd.grad(y.pow(3).sum(), x0, create_graph=True)
    counts = [len(seen)]
    gx.pow(2).sum().backward()
    return counts + [len(seen)], seen, x.grad.detach().numpy()


def test_local_backward_leaves_input_hooks_and_retained_grads_alone():
    # the composite is differentiated with respect to aliases: x's hook and retained gradient see only
    # the outer backward's gradients, once per backward, as in torch
    a = _tails(_rng(4), (3, 5))
    counts, seen, grad = _hooked_run(pyml, pyml.tensor(a).requires_grad_(True))
    counts_t, seen_t, grad_t = _hooked_run(torch, torch.tensor(a).requires_grad_(True))
    assert counts == counts_t == [1, 2]
    for s, t in zip(seen, seen_t):
        np.testing.assert_allclose(s, t, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad, grad_t, rtol=1e-10, atol=1e-12)


def test_double_backward_of_weight_through_cross_entropy_still_raises():
    x = pyml.randn(3, 4, dtype=pyml.float64, requires_grad=True)
    w = pyml.rand(4, dtype=pyml.float64, requires_grad=True)
    loss = pyml.nn.functional.cross_entropy(x, pyml.tensor([0, 1, 2]), w)
    with pytest.raises(RuntimeError, match="cross_entropy: the derivative for 'weight' is not implemented"):
        pyml.autograd.grad(loss, [x, w], create_graph=True)


def test_embedding_bag_stays_once_differentiable_like_torch():
    w = pyml.randn(4, 3, dtype=pyml.float64, requires_grad=True)
    out = pyml.nn.functional.embedding_bag(pyml.tensor([0, 2, 2, 1]), w, pyml.tensor([0, 2]))
    (g,) = pyml.autograd.grad(out.pow(2).sum(), w, create_graph=True)
    with pytest.raises(RuntimeError, match="differentiate twice"):
        g.sum().backward()
