"""pyml.func.vmap (a per-sample loop) against torch.func.vmap on the same float64 inputs: in_dims and
out_dims as ints, negatives, None and pytree prefixes, kwargs, nested vmap, composition with grad
(per-sample gradients of an MLP, equal to a loop of single-sample gradients and to torch.func's) and
with jacrev, the randomness modes, an empty batch, and every error case."""
import numpy as np
import pytest
import torch
import torch.func as tf

import pyml
import pyml.func as pf
from helpers import assert_tree
import pyml.nn.functional as PF

GEN = np.random.default_rng(11)
FUNC = {pyml: pf, torch: tf}


def arr(*shape):
    return GEN.standard_normal(shape)


def check(build, *arrays):
    """build(lib, *tensors) for pyml and torch on the same float64 arrays; compares the results."""
    outs = [build(lib, *(lib.tensor(a, dtype=lib.float64) for a in arrays)) for lib in (pyml, torch)]
    assert_tree(*outs)


X, Y, W = arr(7, 5), arr(5, 7), arr(5, 3)


def mv(x, w):
    return (x.sin() @ w).tanh()


@pytest.mark.parametrize("in_dims, x", [(0, X), (1, Y), (-1, Y), (-2, X), ((0, None), X), ((-2, None), X)])
def test_in_dims(in_dims, x):
    check(lambda lib, x, w: FUNC[lib].vmap(mv, in_dims=in_dims if isinstance(in_dims, tuple) else (in_dims, None))(
        x, w), x, W)


@pytest.mark.parametrize("out_dims", [0, 1, -1, -2, (1,)])
def test_out_dims_single_output(out_dims):
    check(lambda lib, x, w: FUNC[lib].vmap(mv, in_dims=(0, None), out_dims=out_dims)(x, w), X, W)


def test_both_inputs_batched_and_scalar_outputs():
    check(lambda lib, x, y: FUNC[lib].vmap(lambda a, b: (a * b).sum())(x, y), X, Y.T.copy())
    check(lambda lib, x, y: FUNC[lib].vmap(lambda a, b: a.dot(b), in_dims=(0, 1))(x, y), X, Y)


def test_tuple_outputs_out_dims_and_unbatched_output():
    def f(x, w):
        return x @ w, x.outer(x), w.sum()
    check(lambda lib, x, w: FUNC[lib].vmap(f, in_dims=(0, None), out_dims=(1, -1, None))(x, w), X, W)
    check(lambda lib, x, w: FUNC[lib].vmap(f, in_dims=(0, None), out_dims=(-1, -2, 0))(x, w), X, W)


def test_pytree_inputs_and_outputs():
    def f(d, pair):
        a, b = pair
        return {"s": d["x"] * d["scale"] + a, "t": [b.sum(), d["x"].mean()]}

    def build(lib, x, s, a, b):
        in_dims = ({"x": 0, "scale": None}, [None, 1])
        return FUNC[lib].vmap(f, in_dims=in_dims, out_dims={"s": 1, "t": 0})({"x": x, "scale": s}, [a, b])
    check(build, arr(4, 6), arr(6), arr(6), arr(2, 4))


def test_namedtuple_input_and_ordered_dict_output():
    from collections import OrderedDict, namedtuple
    Pair = namedtuple("Pair", "x w")

    def f(p):
        return OrderedDict(y=mv(p.x, p.w), n=p.x.norm())
    check(lambda lib, x, w: FUNC[lib].vmap(f, in_dims=(Pair(0, None),))(Pair(x, w)), X, W)


def test_kwargs_are_not_batched():
    check(lambda lib, x, w: FUNC[lib].vmap(lambda x, w=None: mv(x, w))(x, w=w), X, W)


def test_nested_vmap_outer_product():
    a, b = arr(3), arr(4)
    check(lambda lib, a, b: FUNC[lib].vmap(FUNC[lib].vmap(lambda u, v: u * v + 1, in_dims=(None, 0)),
                                           in_dims=(0, None))(a, b), a, b)
    check(lambda lib, x: FUNC[lib].vmap(FUNC[lib].vmap(lambda u: u.exp()), in_dims=1, out_dims=1)(x), X)


def test_non_tensor_argument_with_none_in_dim():
    check(lambda lib, x: FUNC[lib].vmap(lambda x, k, name: x * k, in_dims=(0, None, None))(x, 3.0, "tag"), X)


# ---------------------------------------------------------------- composition with grad

def mlp_pair():
    pm = pyml.nn.Sequential(pyml.nn.Linear(5, 9), pyml.nn.Tanh(), pyml.nn.Linear(9, 3)).double()
    tm = torch.nn.Sequential(torch.nn.Linear(5, 9), torch.nn.Tanh(), torch.nn.Linear(9, 3)).double()
    with torch.no_grad():
        for p, t in zip(pm.parameters(), tm.parameters()):
            t.copy_(torch.tensor(p.detach().numpy()))
    return pm, tm


def per_sample_setup():
    pm, tm = mlp_pair()
    x, y = arr(7, 5), GEN.integers(0, 3, size=7)
    out = {}
    for lib, model, F in ((pyml, pm, PF), (torch, tm, torch.nn.functional)):
        params = {k: v.detach() for k, v in model.named_parameters()}

        def loss(params, xi, yi, model=model, F=F, lib=lib):
            logits = FUNC[lib].functional_call(model, params, (xi.unsqueeze(0),))
            return F.cross_entropy(logits, yi.unsqueeze(0))
        out[lib] = (loss, params, lib.tensor(x, dtype=lib.float64), lib.tensor(y))
    return pm, out


def test_per_sample_gradients():
    pm, setup = per_sample_setup()
    grads = {lib: FUNC[lib].vmap(FUNC[lib].grad(loss), in_dims=(None, 0, 0))(params, x, y)
             for lib, (loss, params, x, y) in setup.items()}
    assert_tree(grads[pyml], grads[torch])
    loss, params, x, y = setup[pyml]
    for i in range(x.shape[0]):
        single = pf.grad(loss)(params, x[i], y[i])
        for k in params:
            np.testing.assert_allclose(grads[pyml][k][i].numpy(), single[k].numpy(), rtol=1e-12, atol=1e-14)
    assert all(p.grad is None for p in pm.parameters())
    assert not any(g.requires_grad for g in grads[pyml].values())


def test_per_sample_grad_and_value_with_aux():
    _, setup = per_sample_setup()

    def build(lib):
        loss, params, x, y = setup[lib]
        f = FUNC[lib].grad_and_value(lambda p, xi, yi: (loss(p, xi, yi), xi.sum()), argnums=0, has_aux=True)
        return FUNC[lib].vmap(f, in_dims=(None, 0, 0))(params, x, y)
    assert_tree(build(pyml), build(torch))


def test_grad_of_vmap():
    check(lambda lib, x, w: FUNC[lib].grad(lambda w: FUNC[lib].vmap(mv, in_dims=(0, None))(x, w).pow(2).sum())(w),
          X, W)
    check(lambda lib, x, w: FUNC[lib].grad(lambda x: FUNC[lib].vmap(mv, in_dims=(1, None))(x, w).sum())(x), Y, W)


def test_vmap_of_jacrev_and_hessian():
    check(lambda lib, x, w: FUNC[lib].vmap(FUNC[lib].jacrev(mv), in_dims=(0, None))(x, w), X, W)
    check(lambda lib, x: FUNC[lib].vmap(FUNC[lib].hessian(lambda v: v.sin().prod()))(x), X[:, :4])


# ---------------------------------------------------------------- randomness

def noisy(x):
    return x + pyml.rand(4, dtype=pyml.float64)


def test_randomness_same():
    x = pyml.zeros(6, 4, dtype=pyml.float64)
    pyml.manual_seed(5)
    out = pf.vmap(noisy, randomness="same")(x)
    after = pyml.rand(3, dtype=pyml.float64)
    pyml.manual_seed(5)
    once = pyml.rand(4, dtype=pyml.float64)
    then = pyml.rand(3, dtype=pyml.float64)
    for i in range(6):
        np.testing.assert_array_equal(out[i].numpy(), once.numpy())
    np.testing.assert_array_equal(after.numpy(), then.numpy())  # the state moved as for one call


def test_randomness_same_dropout_mask():
    x = pyml.arange(1, 5 * 50 + 1, dtype=pyml.float64).reshape(5, 50)
    out = pf.vmap(lambda v: PF.dropout(v, 0.5, training=True), randomness="same")(x)
    masks = (out != 0).numpy()
    assert 0 < masks[0].sum() < 50
    assert all((m == masks[0]).all() for m in masks)


def test_randomness_different():
    x = pyml.zeros(6, 4, dtype=pyml.float64)
    pyml.manual_seed(5)
    out = pf.vmap(noisy, randomness="different")(x).numpy()
    pyml.manual_seed(5)
    loop = np.stack([noisy(x[i]).numpy() for i in range(6)])
    np.testing.assert_array_equal(out, loop)
    assert len({tuple(r) for r in out}) == 6


def test_randomness_error():
    x = pyml.zeros(6, 4, dtype=pyml.float64)
    with pytest.raises(RuntimeError, match="random operation while in randomness error mode"):
        pf.vmap(noisy)(x)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        pf.vmap(lambda v: PF.dropout(v, 0.5, training=True))(x)
    out = pf.vmap(lambda v: v * 2)(x)  # no draws: fine
    np.testing.assert_array_equal(out.numpy(), np.zeros((6, 4)))


def test_randomness_value_checked():
    with pytest.raises(RuntimeError, match="'error', 'different', or 'same'"):
        pf.vmap(noisy, randomness="sometimes")


# ---------------------------------------------------------------- empty batch, errors

def test_empty_batch():
    check(lambda lib, x, w: FUNC[lib].vmap(mv, in_dims=(0, None))(x, w), np.zeros((0, 5)), W)
    check(lambda lib, x: FUNC[lib].vmap(lambda v: (v.sum(), v * 2), out_dims=(0, 1))(x), np.zeros((3, 0, 2)).T.copy())


def test_errors():
    x, w = pyml.tensor(X, dtype=pyml.float64), pyml.tensor(W, dtype=pyml.float64)
    cases = [
        (lambda: pf.vmap(lambda a, b: a + b)(x, pyml.ones(6, 5)),
         r"same size in the mapped dimension, got sizes \[7, 6\]"),
        (lambda: pf.vmap(mv, in_dims=(2, None))(x, w), "in_dim=2"),
        (lambda: pf.vmap(mv, in_dims=(-3, None))(x, w), "-2 <= in_dim < 2"),
        (lambda: pf.vmap(mv, in_dims=[0, None])(x, w), "expected `in_dims` to be int"),
        (lambda: pf.vmap(mv, in_dims=(0,))(x, w), "compatible with the structure"),
        (lambda: pf.vmap(mv, in_dims=(None, None))(x, w), "at least one Tensor to vmap over"),
        (lambda: pf.vmap(lambda: x)(), "got no inputs"),
        (lambda: pf.vmap(lambda a, k: a * k, in_dims=(0, 0))(x, 2.0), "non-Tensor"),
        (lambda: pf.vmap(mv, in_dims=(0.5, None))(x, w), "integer dimension or None"),
        (lambda: pf.vmap(lambda a: 3.0)(x), "must only return Tensors"),
        (lambda: pf.vmap(lambda a: (a, a), out_dims=(0, 1, 2))(x), "out_dims must be compatible"),
        (lambda: pf.vmap(mv, out_dims="x"), "`out_dims` must be an int"),
        (lambda: pf.vmap(mv, chunk_size=0), "chunk_size"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()
    with pytest.raises(IndexError, match="out_dim"):
        pf.vmap(lambda a: a, out_dims=2)(x)
    with pytest.raises(ValueError, match="same structure for every batch element"):
        pf.vmap(lambda a: (a,) if a.sum().item() > 0 else [a])(pyml.tensor([[1.0], [-1.0]]))
