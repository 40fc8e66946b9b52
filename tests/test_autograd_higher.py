"""Higher-order autograd: gradcheck/gradgradcheck (pass on correct ops, raise on a deliberately wrong
Function), autograd.functional against torch.autograd.functional, double backward, and the exact
checks from TEXTBOOK.md (Hessian at a saddle, the 1000-step scalar recurrence), a MAML step and a
WGAN-GP gradient penalty against PyTorch."""
import numpy as np
import pytest
import torch

import pyml
from pyml.autograd.gradcheck import GradcheckError

LIBS = (pyml, torch)


def t(lib, a, rg=False):
    return lib.tensor(np.asarray(a, dtype=np.float64), dtype=lib.float64, requires_grad=rg)


def npy(x):
    return np.asarray(x.detach().numpy(), dtype=np.float64)


def flat(r):
    """Nested tuples of tensors -> list of NumPy arrays (structure checked by the caller)."""
    if isinstance(r, (tuple, list)):
        return [a for x in r for a in flat(x)]
    return [npy(r)]


def structure(r):
    if isinstance(r, (tuple, list)):
        return tuple(structure(x) for x in r)
    return tuple(r.shape)


def assert_same(p, q, atol=1e-10):
    assert structure(p) == structure(q)
    for a, b in zip(flat(p), flat(q)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=atol)


RNG = np.random.default_rng(7)
X3, Y3, V3 = RNG.standard_normal(3), RNG.standard_normal(3), RNG.standard_normal(3)
M23 = RNG.standard_normal((2, 3))


# ------------------------------------------------------------------------------------------ gradcheck
GRADCHECK_FNS = {
    "sin(a*exp(b))": (lambda a, b: (a * b.exp()).sin(), (X3, Y3)),
    "tanh matmul": (lambda a, m: (m @ a).tanh(), (X3, M23)),
    "broadcast div": (lambda a, m: m / (a * a + 1), (X3, M23)),
    "softmax": (lambda m: pyml.softmax(m, dim=1), (M23,)),
    "sum of squares": (lambda a: (a * a).sum(), (X3,)),
}


@pytest.mark.parametrize("name", list(GRADCHECK_FNS))
def test_gradcheck_and_gradgradcheck_pass(name):
    fn, arrays = GRADCHECK_FNS[name]
    inputs = tuple(pyml.tensor(a, dtype=pyml.float64, requires_grad=True) for a in arrays)
    assert pyml.autograd.gradcheck(fn, inputs) is True
    assert pyml.autograd.gradgradcheck(fn, inputs) is True


def test_gradcheck_non_contiguous_input():
    base = pyml.tensor(RNG.standard_normal((3, 4)), dtype=pyml.float64)
    x = base.t().requires_grad_(True)  # leaf with transposed strides
    assert not x.is_contiguous()
    assert pyml.autograd.gradcheck(lambda a: (a.exp() * a).sum(dim=0), (x,))
    assert not x.is_contiguous()  # gradcheck restores the input in place, layout intact
    np.testing.assert_array_equal(x.detach().numpy(), base.t().numpy())


class WrongFirst(pyml.autograd.Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * a

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        return 3 * a * g  # should be 2 * a * g


class WrongSecond(pyml.autograd.Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * a * a

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        return 3 * (a * a).detach() * g  # right values, but not differentiable w.r.t. a


def test_gradcheck_raises_on_wrong_function():
    x = pyml.tensor(X3, dtype=pyml.float64, requires_grad=True)
    with pytest.raises(GradcheckError,
                       match=r"gradcheck: Jacobian mismatch for output 0 with respect to input 0"):
        pyml.autograd.gradcheck(WrongFirst.apply, (x,))
    assert issubclass(GradcheckError, RuntimeError)
    assert pyml.autograd.gradcheck(WrongFirst.apply, (x,), raise_exception=False) is False
    assert pyml.autograd.gradcheck(WrongSecond.apply, (x,)) is True
    with pytest.raises(RuntimeError, match="gradcheck: Jacobian mismatch"):
        pyml.autograd.gradgradcheck(WrongSecond.apply, (x,))


def test_gradcheck_argument_errors():
    with pytest.raises(ValueError, match="gradcheck: expected at least one input tensor to require gradient"):
        pyml.autograd.gradcheck(lambda a: a * 2, (pyml.tensor(X3, dtype=pyml.float64),))
    with pytest.raises(RuntimeError, match="gradcheck: input 0 is pyml.float32; gradcheck needs float64"):
        pyml.autograd.gradcheck(lambda a: a * 2, (pyml.tensor(X3, dtype=pyml.float32, requires_grad=True),))


# ------------------------------------------------------------------------------------------ functional
def f_vec(lib):
    return lambda a, b: (a * b.exp()).sin()


def f_mat(lib):
    return lambda m: (m @ m.t()).tanh()


def s_two(lib):
    return lambda a, b: (a.sin() * b * b).sum() + (a * b).exp().sum()


def s_one(lib):
    return lambda a: (a ** 3).sum() + (a[0] * a[1] * a[2])


@pytest.mark.parametrize("create_graph", [False, True])
def test_functional_vjp_jvp_jacobian_against_torch(create_graph):
    res = {}
    for lib in LIBS:
        F = lib.autograd.functional
        a, b, v, m = t(lib, X3), t(lib, Y3), t(lib, V3), t(lib, M23)
        res[lib] = (F.vjp(f_vec(lib), (a, b), v, create_graph=create_graph),
                    F.jvp(f_vec(lib), (a, b), (v, v), create_graph=create_graph),
                    F.jacobian(f_vec(lib), (a, b), create_graph=create_graph),
                    F.jacobian(f_mat(lib), m, create_graph=create_graph),
                    F.vjp(f_mat(lib), m, lib.ones(2, 2, dtype=lib.float64)),
                    F.jacobian(lambda x: x.exp(), a))
    assert_same(res[pyml], res[torch])
    assert not a.requires_grad  # inputs are not modified


def test_functional_hessian_hvp_vhp_against_torch():
    res = {}
    for lib in LIBS:
        F = lib.autograd.functional
        a, b, v, w = t(lib, X3), t(lib, Y3), t(lib, V3), t(lib, Y3[::-1].copy())
        res[lib] = (F.hessian(s_two(lib), (a, b)), F.hessian(s_one(lib), a),
                    F.hvp(s_two(lib), (a, b), (v, w)), F.vhp(s_two(lib), (a, b), (v, w)),
                    F.hvp(s_one(lib), a, v))
    assert_same(res[pyml], res[torch])


def test_functional_create_graph_differentiates_through():
    res = {}
    for lib in LIBS:
        a = t(lib, X3, rg=True)
        _, hv = lib.autograd.functional.hvp(s_one(lib), a, t(lib, V3), create_graph=True)
        res[lib] = lib.autograd.grad(hv.sum(), a)
    assert_same(res[pyml], res[torch])


def test_functional_strict_and_independent_outputs():
    a = pyml.tensor(X3, dtype=pyml.float64)
    J = pyml.autograd.functional.jacobian(lambda x: pyml.ones(2, dtype=pyml.float64), a)
    np.testing.assert_array_equal(J.numpy(), np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="jacobian: the output of the user-provided function is independent of "
                                           "input 0"):
        pyml.autograd.functional.jacobian(lambda x: pyml.ones(2, dtype=pyml.float64), a, strict=True)


# ------------------------------------------------------------------------------------------ double backward
@pytest.mark.parametrize("name, fn", [
    ("exp", lambda x: x.exp()), ("sigmoid", lambda x: x.sigmoid()), ("tanh", lambda x: x.tanh()),
    ("sqrt", lambda x: (x * x + 1).sqrt()), ("pow", lambda x: x ** 3), ("div", lambda x: 1 / (x * x + 2)),
    ("log_softmax", lambda x: x.reshape(1, 3).log_softmax(dim=1)), ("norm", lambda x: x.norm()),
])
def test_double_backward_against_torch(name, fn):
    res = {}
    for lib in LIBS:
        x = t(lib, X3, rg=True)
        y = fn(x)
        g, = lib.autograd.grad(y, x, t(lib, np.linspace(0.5, 1.5, y.numel()).reshape(tuple(y.shape))),
                               create_graph=True)
        res[lib] = (g,) + lib.autograd.grad((g * t(lib, V3)).sum(), x)
    assert_same(res[pyml], res[torch])


# ------------------------------------------------------------------------------------------ TEXTBOOK checks
def test_textbook_hessian_at_saddle():
    """TEXTBOOK 3: y = w1*w2*x, x=1, y=1, L = (1 - w1*w2)^2. At (0,0): H = [[0,-2],[-2,0]],
    eigenvalues -2 and 2, escape direction u = [1,1]."""
    def loss(w):
        return (1 - w[0] * w[1] * 1.0) ** 2
    w0 = pyml.zeros(2, dtype=pyml.float64)
    w = w0.clone().requires_grad_()
    g, = pyml.autograd.grad(loss(w), w)
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0])  # (0,0) is a critical point
    H = pyml.autograd.functional.hessian(loss, w0).numpy()
    np.testing.assert_array_equal(H, [[0.0, -2.0], [-2.0, 0.0]])
    eig = np.linalg.eigvalsh(H)
    np.testing.assert_allclose(eig, [-2.0, 2.0], atol=1e-12)
    vals, vecs = np.linalg.eigh(H)
    u = vecs[:, np.argmin(vals)]
    np.testing.assert_allclose(np.abs(u), [2 ** -0.5, 2 ** -0.5], atol=1e-12)  # u is parallel to [1, 1]
    assert u[0] * u[1] > 0
    step = 0.1 * pyml.tensor(u, dtype=pyml.float64)
    assert loss(w0 + step).item() < loss(w0).item()  # moving along u lowers the loss: a saddle, not a minimum
    assert (eig > 0).sum() / eig.size == 0.5  # the course's "minimum ratio"
    np.testing.assert_array_equal(torch.autograd.functional.hessian(
        lambda w: (1 - w[0] * w[1]) ** 2, torch.zeros(2, dtype=torch.float64)).numpy(), H)


@pytest.mark.parametrize("w, h_expected", [(0.99, 4.4e-5), (1.0, 1.0), (1.01, 20752.0)])
def test_textbook_scalar_recurrence_1000_steps(w, h_expected):
    """TEXTBOOK 5: scalar recurrence over 1000 steps gives w^999 (1.01 -> ~20752, 0.99 -> ~4.4e-5) and its
    gradient 999*w^998. Steps: h_1 = 1 (the input), h_t = w * h_{t-1} for t = 2..1000."""
    wt = pyml.tensor(w, dtype=pyml.float64, requires_grad=True)
    h = pyml.tensor(1.0, dtype=pyml.float64)
    for _ in range(999):
        h = wt * h
    h.backward()
    np.testing.assert_allclose(h.item(), w ** 999, rtol=1e-12)
    np.testing.assert_allclose(h.item(), h_expected, rtol=0.01)  # the textbook's rounded value
    np.testing.assert_allclose(wt.grad.item(), 999 * w ** 998, rtol=1e-12)
    ref = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    hr = torch.tensor(1.0, dtype=torch.float64)
    for _ in range(999):
        hr = ref * hr
    hr.backward()
    np.testing.assert_allclose(wt.grad.item(), ref.grad.item(), rtol=1e-12)


# ------------------------------------------------------------------------------------------ MAML, WGAN-GP
P0 = {"W1": RNG.standard_normal((3, 8)) * 0.5, "b1": RNG.standard_normal(8) * 0.1,
      "W2": RNG.standard_normal((8, 1)) * 0.5, "b2": RNG.standard_normal(1) * 0.1}
SUPPORT = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 1))
QUERY = RNG.standard_normal((7, 3)), RNG.standard_normal((7, 1))


def maml_outer_grads(lib, act, inner_lr=0.1):
    """One second-order MAML step: inner SGD on the support set with create_graph, query loss with the
    adapted weights, gradient of that loss with respect to the initial weights."""
    p = {k: t(lib, v, rg=True) for k, v in P0.items()}

    def net(w, x):
        return getattr(lib, act)(x @ w["W1"] + w["b1"]) @ w["W2"] + w["b2"]

    xs, ys = (t(lib, a) for a in SUPPORT)
    inner = ((net(p, xs) - ys) ** 2).mean()
    grads = lib.autograd.grad(inner, list(p.values()), create_graph=True)
    fast = {k: v - inner_lr * g for (k, v), g in zip(p.items(), grads)}
    xq, yq = (t(lib, a) for a in QUERY)
    outer = ((net(fast, xq) - yq) ** 2).mean()
    outer.backward()
    return [p[k].grad for k in P0]


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "relu"])
def test_maml_step_against_torch(act):
    assert_same(maml_outer_grads(pyml, act), maml_outer_grads(torch, act), atol=1e-12)


def test_maml_second_order_term_matters():
    """First-order MAML (detached inner grads) differs: the test above really checks second order."""
    p = {k: pyml.tensor(v, dtype=pyml.float64, requires_grad=True) for k, v in P0.items()}
    xs, ys = (pyml.tensor(a, dtype=pyml.float64) for a in SUPPORT)
    net = lambda w, x: (x @ w["W1"] + w["b1"]).tanh() @ w["W2"] + w["b2"]  # noqa: E731
    grads = pyml.autograd.grad(((net(p, xs) - ys) ** 2).mean(), list(p.values()))
    fast = {k: v - 0.1 * g for (k, v), g in zip(p.items(), grads)}
    xq, yq = (pyml.tensor(a, dtype=pyml.float64) for a in QUERY)
    ((net(fast, xq) - yq) ** 2).mean().backward()
    second = maml_outer_grads(pyml, "tanh")
    assert max(np.abs(npy(p[k].grad) - npy(g)).max() for k, g in zip(P0, second)) > 1e-6


D0 = {"W1": RNG.standard_normal((4, 16)) * 0.5, "b1": RNG.standard_normal(16) * 0.1,
      "W2": RNG.standard_normal((16, 1)) * 0.5}
REAL, FAKE, EPS = RNG.standard_normal((6, 4)), RNG.standard_normal((6, 4)), RNG.random((6, 1))


def gradient_penalty_grads(lib, act):
    """WGAN-GP: x_hat between real and fake, penalty mean((||dD/dx_hat||_2 - 1)^2), backward to D's weights."""
    p = {k: t(lib, v, rg=True) for k, v in D0.items()}
    eps = t(lib, EPS)
    x_hat = (eps * t(lib, REAL) + (1 - eps) * t(lib, FAKE)).requires_grad_(True)
    score = act(lib, x_hat @ p["W1"] + p["b1"]) @ p["W2"]
    g, = lib.autograd.grad(score.sum(), x_hat, create_graph=True)
    penalty = ((g.norm(2, dim=1) - 1) ** 2).mean()
    penalty.backward()
    return [penalty] + [p[k].grad for k in D0]


@pytest.mark.parametrize("act", ["tanh", "softplus", "leaky_where"])
def test_wgan_gp_gradient_penalty_against_torch(act):
    acts = {"tanh": lambda lib, z: z.tanh(),
            "softplus": lambda lib, z: lib.softplus(z) if lib is pyml else torch.nn.functional.softplus(z),
            "leaky_where": lambda lib, z: lib.where(z > 0, z, 0.2 * z)}
    p, q = gradient_penalty_grads(pyml, acts[act]), gradient_penalty_grads(torch, acts[act])
    if act == "leaky_where":  # piecewise linear: no gradient reaches b1 (None in both libraries)
        assert p[2] is None and q[2] is None
        p, q = p[:2] + p[3:], q[:2] + q[3:]
    assert_same(p, q, atol=1e-12)
