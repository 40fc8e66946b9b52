"""pyml.func's grad, grad_and_value, vjp, jvp, jacrev, jacfwd and hessian against torch.func on the
same float64 inputs (odd sizes): argnums int/negative/tuple, pytree arguments and outputs, has_aux,
nested transforms (second and third derivatives, closures over outer levels), an MLP through
functional_call, how results connect to ordinary autograd, and every error case."""
import numpy as np
import pytest
import torch
import torch.func as tf

import pyml
import pyml.func as pf
from helpers import assert_tree

GEN = np.random.default_rng(7)


def arr(*shape):
    return GEN.standard_normal(shape)


def both(a):
    """(pyml, torch) float64 tensors holding the same values."""
    a = np.asarray(a, dtype=np.float64)
    return pyml.tensor(a, dtype=pyml.float64), torch.tensor(a, dtype=torch.float64)


def run_both(build):
    """build(lib) -> result, for lib = pyml and torch; compares the two."""
    assert_tree(build(pyml), build(torch))


# ---------------------------------------------------------------- grad, grad_and_value

A, B, C = arr(3, 5), arr(5), arr(1)
PA, TA = both(A)
PB, TB = both(B)
PC, TC = both(C)
P = {pyml: (PA, PB, PC), torch: (TA, TB, TC)}
FUNC = {pyml: pf, torch: tf}


def f3(a, b, c):
    return ((a.sin() @ b) * c).pow(2).sum() + a.sum() * b.tanh().sum()


@pytest.mark.parametrize("argnums", [0, 1, 2, -1, -3, (0,), (0, 2), (2, 0, 1)])
def test_grad_argnums(argnums):
    run_both(lambda lib: FUNC[lib].grad(f3, argnums=argnums)(*P[lib]))


@pytest.mark.parametrize("argnums", [1, (0, 1)])
def test_grad_and_value(argnums):
    run_both(lambda lib: FUNC[lib].grad_and_value(f3, argnums=argnums)(*P[lib]))


def f_aux(a, b, c):
    pred = a @ b
    return (pred - c).pow(2).mean(), {"pred": pred, "sq": [pred * pred]}


@pytest.mark.parametrize("api", ["grad", "grad_and_value"])
def test_has_aux(api):
    def build(lib):
        return getattr(FUNC[lib], api)(f_aux, argnums=(0, 2), has_aux=True)(*P[lib])
    run_both(build)
    g, aux = pf.grad(lambda *a: (f_aux(*a)[0], 3), has_aux=True)(*P[pyml])
    assert aux == 3  # (torch allows only tensors in aux; pyml passes other values through)
    g, aux = pf.grad(f_aux, has_aux=True)(*P[pyml])
    assert not aux["pred"].requires_grad


def test_grad_pytree_argument_and_kwargs():
    values = (arr(5, 3), arr(3), arr(2), arr(7, 5))

    def loss(params, x, scale=1.0):
        return ((x @ params["w"] + params["b"]).tanh() * scale).sum() + params["extra"][0].pow(3).sum()

    def build(lib):
        w, b, e, x = (lib.tensor(v, dtype=lib.float64) for v in values)
        return FUNC[lib].grad(loss)({"w": w, "b": b, "extra": [e]}, x, scale=0.5)
    run_both(build)


def test_grad_unused_input_and_constant_output_are_zeros():
    g = pf.grad(lambda a, b: a.sum(), argnums=(0, 1))(PA, PB)
    assert g[1].shape == PB.shape and not g[1].any().item()
    g0 = pf.grad(lambda a: pyml.tensor(2.0, dtype=pyml.float64))(PA)
    np.testing.assert_array_equal(g0.numpy(), np.zeros(A.shape))
    tg = tf.grad(lambda a, b: a.sum(), argnums=(0, 1))(TA, TB)
    assert_tree(g, tg)


def test_grad_leaves_inputs_alone_and_plain_results_detached():
    x = pyml.tensor(A, dtype=pyml.float64)
    g = pf.grad(lambda x: (x * x).sum())(x)
    assert not x.requires_grad and x.grad is None and x.grad_fn is None
    np.testing.assert_array_equal(x.numpy(), A)
    assert not g.requires_grad and g.grad_fn is None
    np.testing.assert_allclose(g.numpy(), 2 * A)


def test_grad_under_no_grad_still_differentiates():
    with pyml.no_grad():
        g = pf.grad(lambda x: x.exp().sum())(PB)
    np.testing.assert_allclose(g.numpy(), np.exp(B))
    assert not g.requires_grad


def test_no_grad_outside_gives_plain_results():
    """Under no_grad the caller's autograd records nothing, even for a closure over a parameter."""
    w = pyml.tensor(B, dtype=pyml.float64, requires_grad=True)
    x = pyml.tensor(arr(5), dtype=pyml.float64, requires_grad=True)
    with pyml.no_grad():
        g = pf.grad(lambda x: (x * w).pow(2).sum())(x)
        out, fn = pf.vjp(lambda x: x * w, x)
        jac = pf.jacrev(lambda x: (x * w).sin())(x)
    assert not (g.requires_grad or out.requires_grad or fn(pyml.ones(5, dtype=pyml.float64))[0].requires_grad)
    assert not jac.requires_grad
    np.testing.assert_allclose(g.numpy(), 2 * x.detach().numpy() * B * B)


def test_grad_of_caller_tensor_connects_to_autograd():
    """grad(f)(x) with x.requires_grad is differentiable by ordinary autograd, like torch.func."""
    def build(lib):
        x = lib.tensor(B, dtype=lib.float64, requires_grad=True)
        g = FUNC[lib].grad(lambda x: (x.sin() * x).sum())(x)
        assert g.requires_grad
        (g * g).sum().backward()
        return g, x.grad
    run_both(build)


def test_closure_over_parameter_keeps_graph():
    x0 = arr(5)

    def build(lib):
        w = lib.tensor(B, dtype=lib.float64, requires_grad=True)
        x = lib.tensor(x0, dtype=lib.float64)
        g = FUNC[lib].grad(lambda x: (x * w).pow(3).sum())(x)
        g.sum().backward()
        return g, w.grad
    run_both(build)


def scalar_f(x):
    return (x.sin() * x.pow(3)).sum()


def test_nested_grad_second_and_third_derivative():
    for lib in (pyml, torch):
        assert FUNC[lib].grad(FUNC[lib].grad(scalar_f))(lib.tensor(0.7, dtype=lib.float64)).dim() == 0
    x0 = 0.7
    run_both(lambda lib: FUNC[lib].grad(FUNC[lib].grad(scalar_f))(lib.tensor(x0, dtype=lib.float64)))
    run_both(lambda lib: FUNC[lib].grad(FUNC[lib].grad(FUNC[lib].grad(scalar_f)))(lib.tensor(x0, dtype=lib.float64)))
    g2 = pf.grad(pf.grad(scalar_f))(pyml.tensor(x0, dtype=pyml.float64))
    assert not g2.requires_grad


def test_nested_grad_hessian_vector_product():
    v = arr(5)

    def build(lib):
        vv = lib.tensor(v, dtype=lib.float64)
        return FUNC[lib].grad(lambda x: (FUNC[lib].grad(scalar_f)(x) * vv).sum())(lib.tensor(B, dtype=lib.float64))
    run_both(build)


def test_nested_grad_closure_over_outer_input():
    """The inner grad's output depends on the outer level's x through a closure."""
    x0, y0 = arr(4), arr(4)

    def build(lib):
        g = FUNC[lib].grad
        y = lib.tensor(y0, dtype=lib.float64)
        return g(lambda x: g(lambda y: (x * y).sin().sum())(y).pow(2).sum())(lib.tensor(x0, dtype=lib.float64))
    run_both(build)


# ---------------------------------------------------------------- vjp, jvp

def two_out(a, b):
    return (a @ b).cos(), {"s": a.sum(1) * b[:3].exp(), "t": (a * a).mean()}


def test_vjp_tree_outputs_and_repeated_calls():
    cots = [arr(3), arr(3), arr()]

    def build(lib):
        a, b, _ = P[lib]
        out, fn = FUNC[lib].vjp(two_out, a, b)
        c = [lib.tensor(v, dtype=lib.float64) for v in cots]
        first = fn((c[0], {"s": c[1], "t": c[2]}))
        second = fn((2 * c[0], {"s": c[1], "t": c[2]}))
        return out, first, second
    run_both(build)
    out, fn = pf.vjp(two_out, PA, PB)
    assert isinstance(fn((pyml.ones(3, dtype=pyml.float64), {"s": pyml.ones(3, dtype=pyml.float64),
                                                             "t": pyml.tensor(1.0, dtype=pyml.float64)})), tuple)
    assert not out[0].requires_grad


def test_vjp_has_aux_and_unused_primal():
    def f(a, b, c):
        return a.exp() * 2, (a.sum(), [b * 2])

    def build(lib):
        out, fn, aux = FUNC[lib].vjp(f, *P[lib], has_aux=True)
        return out, fn(lib.ones(A.shape, dtype=lib.float64)), aux
    run_both(build)


def test_vjp_cotangent_structure_mismatch():
    out, fn = pf.vjp(two_out, PA, PB)
    with pytest.raises(RuntimeError, match="structure of cotangents"):
        fn(pyml.ones(3, dtype=pyml.float64))
    with pytest.raises(ValueError, match="shape"):
        fn((pyml.ones(4, dtype=pyml.float64), {"s": pyml.ones(3, dtype=pyml.float64),
                                               "t": pyml.tensor(1.0, dtype=pyml.float64)}))


def test_vjp_of_vjp_second_order():
    v = arr(5)

    def build(lib):
        vv = lib.tensor(v, dtype=lib.float64)

        def g(x):
            _, fn = FUNC[lib].vjp(lambda x: x.sin() * x, x)
            return fn(vv)[0]
        out, fn = FUNC[lib].vjp(g, lib.tensor(B, dtype=lib.float64))
        return out, fn(lib.ones(5, dtype=lib.float64))
    run_both(build)


def test_jvp_matches_torch():
    tangents = (arr(3, 5), arr(5), arr(1))

    def build(lib):
        t = tuple(lib.tensor(v, dtype=lib.float64) for v in tangents)
        return FUNC[lib].jvp(lambda a, b, c: (a.tanh() @ b * c, (a * a).sum()), P[lib], t)
    run_both(build)


def test_jvp_pytree_primals_has_aux():
    w0, tw0, t0 = arr(3, 5) / 3, arr(3, 5), arr(5)

    def f(d, x):
        return (d["w"] @ x).exp(), {"norm": x.norm()}

    def build(lib):
        w, x, tw, tx = (lib.tensor(v, dtype=lib.float64) for v in (w0, B, tw0, t0))
        return FUNC[lib].jvp(f, ({"w": w}, x), ({"w": tw}, tx), has_aux=True)
    run_both(build)


def test_jvp_nested_in_grad():
    t0 = arr(5)

    def build(lib):
        F = FUNC[lib]
        t = lib.tensor(t0, dtype=lib.float64)
        return F.grad(lambda x: F.jvp(lambda y: (y.sin() * y).sum(), (x,), (t,))[1])(lib.tensor(B, dtype=lib.float64))
    run_both(build)


def test_jvp_errors():
    one = pyml.ones(5, dtype=pyml.float64)
    with pytest.raises(RuntimeError, match="primals to be a tuple"):
        pf.jvp(lambda x: x, PB, (one,))
    with pytest.raises(RuntimeError, match="same python structure"):
        pf.jvp(lambda x: x, (PB,), [one])
    with pytest.raises(RuntimeError, match="shape"):
        pf.jvp(lambda x: x, (PB,), (pyml.ones(4, dtype=pyml.float64),))
    with pytest.raises(RuntimeError, match="only contain Tensors"):
        pf.jvp(lambda x: x, (PB,), (1.0,))
    with pytest.raises(RuntimeError, match="independent"):
        pf.jvp(lambda x: pyml.ones(2, dtype=pyml.float64), (PB,), (one,), strict=True)
    out, jv = pf.jvp(lambda x: pyml.ones(2, dtype=pyml.float64), (PB,), (one,))
    np.testing.assert_array_equal(jv.numpy(), np.zeros(2))
    with pytest.raises(RuntimeError, match="only Tensors"):
        pf.jvp(lambda x: (x, 3), (PB,), (one,))


# ---------------------------------------------------------------- jacrev, jacfwd, hessian

def vec_f(a, b):
    return (a.sin() @ b).exp() * b[:3].sum()


@pytest.mark.parametrize("api", ["jacrev", "jacfwd"])
@pytest.mark.parametrize("argnums", [0, 1, -1, (0, 1), (1, 0)])
def test_jacobian_vector_function(api, argnums):
    # torch 2.x's jacfwd ignores a negative argnums (returns zeros): compare with its jacrev there
    ref = "jacrev" if argnums == -1 else api
    assert_tree(getattr(pf, api)(vec_f, argnums=argnums)(*P[pyml][:2]),
                getattr(tf, ref)(vec_f, argnums=argnums)(*P[torch][:2]))


@pytest.mark.parametrize("api", ["jacrev", "jacfwd"])
def test_jacobian_tree_output_and_aux(api):
    def f(a, b):
        return {"y": a @ b, "z": (a.cos().sum(), b * b)}, b.mean()

    def build(lib):
        return getattr(FUNC[lib], api)(f, argnums=(1, 0), has_aux=True)(*P[lib][:2])
    run_both(build)


def test_jacrev_scalar_output_and_input():
    run_both(lambda lib: FUNC[lib].jacrev(lambda x: x.exp().sum())(lib.tensor(B, dtype=lib.float64)))
    run_both(lambda lib: FUNC[lib].jacfwd(lambda x: x.exp() * lib.ones(4, dtype=lib.float64))(
        lib.tensor(0.3, dtype=lib.float64)))


@pytest.mark.parametrize("argnums", [0, 1, (0, 1)])
def test_hessian(argnums):
    def f(a, b):
        return ((a.sin() @ b).pow(3)).sum() + (a * a).sum() * b.cos().sum()
    run_both(lambda lib: FUNC[lib].hessian(f, argnums=argnums)(*P[lib][:2]))


def test_jacrev_of_jacrev_is_hessian():
    H = pf.jacrev(pf.jacrev(scalar_f))(PB)
    assert_tree(H, tf.hessian(scalar_f)(TB))
    assert_tree(pf.jacfwd(pf.jacfwd(lambda x: x.sin() * x.sum()))(PB),
                tf.jacfwd(tf.jacfwd(lambda x: x.sin() * x.sum()))(TB))


def mlp_pair():
    """The same 5-7-3 tanh MLP in pyml and torch (float64)."""
    pm = pyml.nn.Sequential(pyml.nn.Linear(5, 7), pyml.nn.Tanh(), pyml.nn.Linear(7, 3)).double()
    tm = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3)).double()
    with torch.no_grad():
        for (_, p), (_, t) in zip(pm.named_parameters(), tm.named_parameters()):
            t.copy_(torch.tensor(p.detach().numpy()))
    return pm, tm


def test_mlp_jacobians_through_functional_call():
    pm, tm = mlp_pair()
    x = arr(4, 5)
    models = {pyml: pm, torch: tm}

    def build(lib, api):
        model = models[lib]
        params = {k: v.detach() for k, v in model.named_parameters()}
        xs = lib.tensor(x, dtype=lib.float64)
        jp = getattr(FUNC[lib], api)(lambda p: FUNC[lib].functional_call(model, p, (xs,)))(params)
        jx = getattr(FUNC[lib], api)(lambda x: FUNC[lib].functional_call(model, params, (x,)))(xs)
        hx = FUNC[lib].hessian(lambda x: FUNC[lib].functional_call(model, params, (x,)).pow(2).sum())(xs[0])
        return jp, jx, hx
    for api in ("jacrev", "jacfwd"):
        assert_tree(build(pyml, api), build(torch, api))
    assert all(p.grad is None for p in pm.parameters())


# ---------------------------------------------------------------- errors

def test_grad_requires_scalar_output():
    with pytest.raises(RuntimeError, match="scalar Tensor, got tensor with 1 dims"):
        pf.grad(lambda x: x * 2)(PB)
    with pytest.raises(RuntimeError, match="scalar Tensor, got tensor with 1 dims"):
        pf.grad(lambda x: x.sum().reshape(1))(PB)
    with pytest.raises(RuntimeError, match="scalar Tensor, got float"):
        pf.grad(lambda x: 1.0)(PB)
    with pytest.raises(RuntimeError, match=r"tuple: \(output, aux\)"):
        pf.grad(lambda x: x.sum(), has_aux=True)(PB)
    with pytest.raises(RuntimeError, match=r"tuple: \(output, aux\)"):
        pf.vjp(lambda x: x, PB, has_aux=True)


@pytest.mark.parametrize("argnums, match", [(1, "argnum=1, but only 1 positional"), (-2, "argnum=-2"),
                                            ((0, 0), "unique"), ((), "non-empty"), (0.5, "int or a tuple"),
                                            ((0, "a"), "int or a tuple")])
def test_bad_argnums(argnums, match):
    for api in (pf.grad, pf.grad_and_value, pf.jacrev, pf.jacfwd, pf.hessian):
        with pytest.raises(RuntimeError, match=match):
            api(lambda x: x.sum(), argnums=argnums)(PB)


def test_bad_differentiated_inputs():
    with pytest.raises(ValueError, match="must be Tensors, got int"):
        pf.grad(lambda x: pyml.tensor(1.0))(3)
    with pytest.raises(ValueError, match="must be Tensors, got float"):
        pf.vjp(lambda x: x, [[1.0]])  # a list of floats is a pytree of non-tensor leaves
    with pytest.raises(RuntimeError, match="floating-point"):
        pf.grad(lambda x: x.sum().double())(pyml.arange(3))
    with pytest.raises(RuntimeError, match="floating-point"):
        pf.vjp(lambda x: (x > 0).long(), PB)
    with pytest.raises(RuntimeError, match="only Tensors"):
        pf.jacrev(lambda x: [x, 2])(PB)


def test_jac_option_errors():
    with pytest.raises(ValueError, match="chunk_size"):
        pf.jacrev(scalar_f, chunk_size=0)
    with pytest.raises(RuntimeError, match="randomness"):
        pf.jacfwd(scalar_f, randomness="sometimes")
    with pytest.raises(RuntimeError, match="random operation"):
        pf.jacfwd(lambda x: x * pyml.rand(5, dtype=pyml.float64))(PB)
    j = pf.jacfwd(lambda x: x * pyml.rand(5, dtype=pyml.float64), randomness="same")(PB)
    assert j.shape == (5, 5)
    assert_tree(pf.jacrev(scalar_f, chunk_size=2)(PB), tf.jacrev(scalar_f, chunk_size=2)(TB))


def test_error_inside_f_propagates():
    def bad(x):
        raise KeyError("inside")
    for api in (pf.grad, pf.jacrev, pf.jacfwd):
        with pytest.raises(KeyError, match="inside"):
            api(bad)(PB)
