"""pyml.distributions.transforms and constraint_registry against torch.distributions in float64: every transform's
forward map, inverse, log_abs_det_jacobian (both directions), forward_shape/inverse_shape, event dims, sign and
gradients (through the input and the transform's parameters) on the same random inputs with odd batch shapes;
round trips of the bijections, caching, inverse identities, equality, ComposeTransform/IndependentTransform event
dims, the new constraints' check(), and biject_to/transform_to for every constraint (lands in the constraint,
same values as torch)."""
import pickle
import weakref

import numpy as np
import pytest
import torch

import pyml
import pyml.distributions as pd
import torch.distributions as td
from test_distributions import close, npy, to_lib


def T(lib):
    return (pd if lib is pyml else td).transforms


def dist(lib):
    return pd if lib is pyml else td


def tens(lib, v, rg=False):
    return to_lib(lib, np.asarray(v, dtype=np.float64), rg=rg)


def spec(make, x, trail=(), params=None, ladj=True, roundtrip=True, lead=()):
    """make(lib, P) -> transform, P the params as lib tensors; x(rng, shape) -> an input in the domain;
    inputs are lead + batch + trail."""
    return dict(make=make, x=x, trail=trail, params=params or (lambda rng: {}), ladj=ladj, roundtrip=roundtrip,
                lead=lead)


def normal(scale=1.0):
    return lambda rng, s: rng.normal(0, scale, s)


def positive(rng, s):
    return np.exp(rng.normal(0, 1.5, s))


def affine_params(rng, shape):
    scale = rng.uniform(0.3, 2.5, shape) * rng.choice([-1.0, 1.0], shape)
    return {"loc": rng.normal(0, 2, shape), "scale": scale}


SPECS = {
    "Exp": spec(lambda L, P: T(L).ExpTransform(), normal(3)),
    "ExpInv": spec(lambda L, P: T(L).ExpTransform().inv, positive),
    "Power": spec(lambda L, P: T(L).PowerTransform(P["e"]), positive, trail=(5,),
                  params=lambda rng: {"e": rng.uniform(0.3, 3, 5) * rng.choice([-1.0, 1.0], 5)}),
    "PowerNumber": spec(lambda L, P: T(L).PowerTransform(-2.0), positive),  # a float32 exponent, 1/e exact
    "Sigmoid": spec(lambda L, P: T(L).SigmoidTransform(), normal(4)),
    "SigmoidInv": spec(lambda L, P: T(L).SigmoidTransform().inv, lambda rng, s: rng.uniform(0.001, 0.999, s)),
    "Tanh": spec(lambda L, P: T(L).TanhTransform(), normal(2)),
    "Softplus": spec(lambda L, P: T(L).SoftplusTransform(), normal(10)),
    "Abs": spec(lambda L, P: T(L).AbsTransform(), normal(2), ladj=False, roundtrip=False),
    "Affine": spec(lambda L, P: T(L).AffineTransform(P["loc"], P["scale"]), normal(2), trail=(4,),
                   params=lambda rng: affine_params(rng, (4,))),
    "AffineNumber": spec(lambda L, P: T(L).AffineTransform(1.5, -2.0), normal(2)),
    "AffineEvent1": spec(lambda L, P: T(L).AffineTransform(P["loc"], P["scale"], event_dim=1), normal(2),
                         trail=(4,), params=lambda rng: affine_params(rng, (4,))),
    "AffineEvent2": spec(lambda L, P: T(L).AffineTransform(0.5, P["scale"], event_dim=2), normal(2), trail=(3, 4),
                         params=lambda rng: {"scale": affine_params(rng, (3, 4))["scale"]}),
    "Softmax": spec(lambda L, P: T(L).SoftmaxTransform(), normal(2), trail=(5,), ladj=False, roundtrip=False),
    "StickBreaking": spec(lambda L, P: T(L).StickBreakingTransform(), normal(2), trail=(4,)),
    "StickBreaking1": spec(lambda L, P: T(L).StickBreakingTransform(), normal(2), trail=(1,)),
    "LowerCholesky": spec(lambda L, P: T(L).LowerCholeskyTransform(), normal(1), trail=(3, 3), ladj=False,
                          roundtrip=False),
    "PositiveDefinite": spec(lambda L, P: T(L).PositiveDefiniteTransform(), normal(1), trail=(3, 3), ladj=False,
                             roundtrip=False),
    "CorrCholesky2": spec(lambda L, P: T(L).CorrCholeskyTransform(), normal(1.5), trail=(1,)),
    "CorrCholesky4": spec(lambda L, P: T(L).CorrCholeskyTransform(), normal(1.5), trail=(6,)),
    "CorrCholesky5": spec(lambda L, P: T(L).CorrCholeskyTransform(), normal(1.0), trail=(10,)),
    "Reshape": spec(lambda L, P: T(L).ReshapeTransform((2, 3), (3, 1, 2)), normal(1), trail=(2, 3)),
    "Independent": spec(lambda L, P: T(L).IndependentTransform(T(L).SigmoidTransform(), 1), normal(2), trail=(4,)),
    "Independent2": spec(lambda L, P: T(L).IndependentTransform(T(L).AffineTransform(P["loc"], P["scale"]), 2),
                         normal(2), trail=(2, 3), params=lambda rng: affine_params(rng, (2, 3))),
    "Compose": spec(lambda L, P: T(L).ComposeTransform([T(L).AffineTransform(0.5, 2.0), T(L).ExpTransform(),
                                                        T(L).PowerTransform(0.5)]), normal(1)),
    "ComposeVector": spec(lambda L, P: T(L).ComposeTransform([T(L).AffineTransform(P["loc"], P["scale"]),
                                                              T(L).StickBreakingTransform()]),
                          normal(1), trail=(4,), params=lambda rng: affine_params(rng, (4,))),
    "ComposeSimplexLog": spec(lambda L, P: T(L).ComposeTransform([T(L).StickBreakingTransform(),
                                                                  T(L).ExpTransform().inv]), normal(1), trail=(3,)),
    "ComposeReshape": spec(lambda L, P: T(L).ComposeTransform([T(L).ExpTransform(),
                                                               T(L).ReshapeTransform((6,), (2, 3))]),
                           normal(1), trail=(6,)),
    "Identity": spec(lambda L, P: T(L).identity_transform, normal(1)),
    "Cat": spec(lambda L, P: T(L).CatTransform([T(L).ExpTransform(), T(L).identity_transform,
                                                T(L).AffineTransform(1.0, 3.0)], dim=-1, lengths=[2, 1, 3]),
                normal(1), trail=(6,)),
    "CatDim0": spec(lambda L, P: T(L).CatTransform([T(L).ExpTransform(), T(L).SigmoidTransform()], dim=0,
                                                   lengths=[1, 2]), normal(1), lead=(3,)),
    "CatEvent": spec(lambda L, P: T(L).CatTransform([T(L).IndependentTransform(T(L).SigmoidTransform(), 1),
                                                     T(L).ExpTransform()], dim=-1, lengths=[2, 3]),
                     normal(1), trail=(5,)),
    "Stack": spec(lambda L, P: T(L).StackTransform([T(L).ExpTransform(), T(L).SigmoidTransform(),
                                                    T(L).AffineTransform(2.0, -1.0)], dim=-1), normal(1), trail=(3,)),
    "StackDim1": spec(lambda L, P: T(L).StackTransform([T(L).ExpTransform(), T(L).TanhTransform()], dim=1),
                      normal(1), lead=(3, 2)),
    "CDF": spec(lambda L, P: T(L).CumulativeDistributionTransform(dist(L).Normal(P["loc"], P["scale"])), normal(2),
                trail=(4,), params=lambda rng: {"loc": rng.normal(0, 1, 4), "scale": rng.uniform(0.5, 2, 4)}),
}
BATCHES = [(), (1,), (7,), (3, 5), (2, 1, 4)]


def build(name, lib, params, rg=False):
    P = {k: tens(lib, v, rg) for k, v in params.items()}
    return SPECS[name]["make"](lib, P), P


def inputs(name, rng, batch):
    s = SPECS[name]
    return s["x"](rng, s["lead"] + tuple(batch) + s["trail"])


def seed(name, batch):
    return sum(map(ord, name)) * 100 + len(batch) * 10 + sum(batch)


@pytest.mark.parametrize("batch", BATCHES, ids=str)
@pytest.mark.parametrize("name", list(SPECS))
def test_transform_matches_torch(name, batch):
    rng = np.random.default_rng(seed(name, batch))
    params = SPECS[name]["params"](rng)
    x = inputs(name, rng, batch)
    (p, _), (t, _) = build(name, pyml, params), build(name, torch, params)
    yp, yt = p(tens(pyml, x)), t(tens(torch, x))
    close(yp, yt, msg="forward")
    close(p.inv(tens(pyml, npy(yt))), t.inv(yt), msg="inverse")
    if SPECS[name]["ladj"]:
        close(p.log_abs_det_jacobian(tens(pyml, x), yp), t.log_abs_det_jacobian(tens(torch, x), yt), msg="ladj")
        close(p.inv.log_abs_det_jacobian(yp, tens(pyml, x)), t.inv.log_abs_det_jacobian(yt, tens(torch, x)),
              msg="inverse ladj")
    assert tuple(p.forward_shape(x.shape)) == tuple(t.forward_shape(torch.Size(x.shape))) == tuple(yt.shape)
    assert tuple(p.inverse_shape(tuple(yt.shape))) == tuple(t.inverse_shape(yt.shape)) == x.shape
    assert p.domain.event_dim == t.domain.event_dim and p.codomain.event_dim == t.codomain.event_dim
    assert p.bijective == t.bijective and p.inv.bijective == t.inv.bijective
    assert repr(p.domain) == repr(t.domain) and repr(p.codomain) == repr(t.codomain)


@pytest.mark.parametrize("name", [n for n, s in SPECS.items() if s["roundtrip"]])
def test_bijections_round_trip(name):
    rng = np.random.default_rng(seed(name, (5,)))
    p, _ = build(name, pyml, SPECS[name]["params"](rng))
    x = tens(pyml, inputs(name, rng, (5, 3)))
    close(p.inv(p(x)), x, msg="inv(t(x))")
    if name != "CatEvent":  # cat of constraints with different event dims cannot check (torch's neither)
        assert bool(p.codomain.check(p(x)).all()) and bool(p.domain.check(x).all())


@pytest.mark.parametrize("name", [n for n, s in SPECS.items() if not s["roundtrip"]])
def test_pseudo_inverses(name):
    """Not bijective: t(t.inv(t(x))) == t(x)."""
    rng = np.random.default_rng(seed(name, (4,)))
    p, _ = build(name, pyml, SPECS[name]["params"](rng))
    y = p(tens(pyml, inputs(name, rng, (4, 2))))
    close(p(p.inv(y)), y, msg="t(t.inv(y))")


@pytest.mark.parametrize("name", list(SPECS))
def test_gradients_match_torch(name):
    """d/d(x, parameters) of a weighted sum of y and of the log-det."""
    rng = np.random.default_rng(seed(name, (3,)))
    params = SPECS[name]["params"](rng)
    x = inputs(name, rng, (2, 3))
    t, _ = build(name, torch, params)
    y = t(tens(torch, x))
    w_y = rng.normal(size=y.shape)
    w_ladj = rng.normal(size=t.log_abs_det_jacobian(tens(torch, x), y).shape) if SPECS[name]["ladj"] else None
    got = {}
    for lib in (pyml, torch):
        t, P = build(name, lib, params, rg=True)
        xl = tens(lib, x, rg=True)
        y = t(xl)
        out = (y * tens(lib, w_y)).sum()
        if w_ladj is not None:
            out = out + (t.log_abs_det_jacobian(xl, y) * tens(lib, w_ladj)).sum()
        got[lib] = lib.autograd.grad(out, [xl] + list(P.values()))
    for gp, gt in zip(got[pyml], got[torch]):
        np.testing.assert_allclose(npy(gp), npy(gt), rtol=1e-9, atol=1e-10)


def test_tails_match_torch():
    """Clamped sigmoid, tanh and softplus far out, where naive formulas overflow or round to 0 and 1."""
    x = np.array([-800.0, -50.0, -20.5, -1e-8, 0.0, 19.0, 20.5, 50.0, 800.0])
    for name in ("SigmoidTransform", "TanhTransform", "SoftplusTransform"):
        p, t = getattr(T(pyml), name)(), getattr(T(torch), name)()
        yp, yt = p(tens(pyml, x)), t(tens(torch, x))
        close(yp, yt, msg=name)
        close(p.log_abs_det_jacobian(tens(pyml, x), yp), t.log_abs_det_jacobian(tens(torch, x), yt), msg=name)
    y = np.array([0.0, 1e-320, 1e-300, 0.5, 1 - 1e-17, 1.0])
    close(T(pyml).SigmoidTransform().inv(tens(pyml, y)), T(torch).SigmoidTransform().inv(tens(torch, y)))
    simplex = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0]])
    close(T(pyml).StickBreakingTransform().inv(tens(pyml, simplex)),
          T(torch).StickBreakingTransform().inv(tens(torch, simplex)))


def test_float32_matches_torch():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 6))
    for name in ("ExpTransform", "SigmoidTransform", "StickBreakingTransform", "CorrCholeskyTransform"):
        p, t = getattr(T(pyml), name)(), getattr(T(torch), name)()
        yp, yt = p(pyml.tensor(x, dtype=pyml.float32)), t(torch.tensor(x, dtype=torch.float32))
        assert yp.dtype == pyml.float32
        close(yp, yt, "float32", msg=name)


# ------------------------------------------------------------------------------------ caching and identities
def test_cache_size_one_returns_the_cached_values():
    x = pyml.tensor([0.5, -1.0], dtype=pyml.float64)
    t = T(pyml).SigmoidTransform(cache_size=1)
    y = t(x)
    assert t(x) is y and t.inv(y) is x  # the pair is remembered in both directions
    x2 = t.inv(pyml.tensor([0.25], dtype=pyml.float64))
    assert t(x2) is not y and t.inv(t(x2)) is x2
    u = T(pyml).SigmoidTransform()
    assert u(x) is not u(x) and u.inv(u(x)) is not x
    compose = T(pyml).ComposeTransform([T(pyml).ExpTransform(), T(pyml).AffineTransform(1.0, 2.0)], cache_size=1)
    assert all(p._cache_size == 1 for p in compose.parts)
    z = compose(x)
    assert compose.inv(z) is x


def test_with_cache_and_bad_cache_size():
    t = T(pyml).ExpTransform()
    assert t.with_cache(0) is t and t.with_cache(1)._cache_size == 1 and t.with_cache(1) == t
    a = T(pyml).AffineTransform(1.0, 2.0).with_cache(1)
    assert a._cache_size == 1 and (a.loc, a.scale) == (1.0, 2.0)
    assert T(pyml).ExpTransform().inv.with_cache(1)._cache_size == 1
    assert T(pyml).IndependentTransform(T(pyml).ExpTransform(), 1, cache_size=1).base_transform._cache_size == 1
    for lib in (pyml, torch):
        with pytest.raises(ValueError):
            T(lib).ExpTransform(cache_size=2)

    class Shift(T(pyml).Transform):  # a custom __init__: with_cache cannot rebuild it
        def __init__(self, c):
            super().__init__()
            self.c = c
    with pytest.raises(NotImplementedError):
        Shift(1.0).with_cache(1)


def test_inverse_identities_equality_and_repr():
    Tp = T(pyml)
    t = Tp.ExpTransform()
    inv = t.inv
    assert inv.inv is t and t.inv is inv and inv.sign == 1 and inv.domain is t.codomain
    c = Tp.ComposeTransform([Tp.ExpTransform(), Tp.AffineTransform(1.0, -2.0)])
    assert c.inv.inv is c and c.inv.parts[0] == Tp.AffineTransform(1.0, -2.0).inv and c.sign == -1
    assert Tp.ExpTransform() == Tp.ExpTransform() and Tp.ExpTransform() != Tp.SigmoidTransform()
    assert Tp.ExpTransform().inv == Tp.ExpTransform().inv and Tp.ExpTransform().inv != Tp.ExpTransform()
    assert Tp.AffineTransform(1.0, 2.0) == Tp.AffineTransform(1.0, 2.0) != Tp.AffineTransform(1.0, 3.0)
    e = pyml.tensor([1.0, 2.0])
    assert Tp.PowerTransform(e) == Tp.PowerTransform(e.clone()) and Tp.PowerTransform(e) != Tp.PowerTransform(e + 1)
    assert Tp.AffineTransform(e, 2.0) == Tp.AffineTransform(e.clone(), 2.0) != Tp.AffineTransform(e, e)
    assert c == Tp.ComposeTransform([Tp.ExpTransform(), Tp.AffineTransform(1.0, -2.0)])
    assert Tp.AbsTransform() != Tp.AbsTransform().inv
    for name in ("ExpTransform", "SigmoidTransform", "StickBreakingTransform", "CorrCholeskyTransform"):
        assert repr(getattr(Tp, name)()) == repr(getattr(T(torch), name)())
        assert repr(getattr(Tp, name)().inv) == repr(getattr(T(torch), name)().inv)
    assert repr(c) == repr(T(torch).ComposeTransform([T(torch).ExpTransform(), T(torch).AffineTransform(1.0, -2.0)]))
    assert repr(Tp.IndependentTransform(Tp.ExpTransform(), 2)) == "IndependentTransform(ExpTransform(), 2)"
    with pytest.raises(TypeError):
        hash(Tp.ExpTransform())  # like torch: __eq__ without __hash__


def test_signs_match_torch():
    s = np.array([2.0, -0.5])
    pa, ta = T(pyml).AffineTransform(0.0, tens(pyml, s)), T(torch).AffineTransform(0.0, tens(torch, s))
    close(pa.sign, ta.sign)
    assert T(pyml).AffineTransform(0.0, -3.0).sign == -1 and T(pyml).AffineTransform(0.0, 0.0).sign == 0
    close(T(pyml).PowerTransform(tens(pyml, s)).sign, T(torch).PowerTransform(tens(torch, s)).sign)
    for lib in (pyml, torch):
        with pytest.raises(NotImplementedError):
            T(lib).AbsTransform().sign


def test_weak_inverse_and_pickle():
    t = T(pyml).SigmoidTransform()
    ref = weakref.ref(t.inv)
    assert ref() is None  # t holds its inverse weakly: no reference cycle keeps it alive
    assert t.inv.inv is t  # a fresh inverse still points back at t
    inv = t.inv
    assert t.inv is inv
    x = pyml.tensor([0.25, 0.5], dtype=pyml.float64)
    for obj in (t, inv, T(pyml).ComposeTransform([T(pyml).ExpTransform(), T(pyml).SigmoidTransform()])):
        back = pickle.loads(pickle.dumps(obj))
        assert back == obj
        close(back(x), obj(x))
        close(back.inv(obj(x)), x)


def test_compose_and_independent_event_dims_match_torch():
    def chains(lib):
        Tl = T(lib)
        return [[Tl.ExpTransform(), Tl.StickBreakingTransform()], [Tl.StickBreakingTransform(), Tl.ExpTransform()],
                [Tl.ReshapeTransform((6,), (2, 3)), Tl.ExpTransform(), Tl.ReshapeTransform((2, 3), (3, 2))],
                [Tl.IndependentTransform(Tl.ExpTransform(), 2), Tl.StickBreakingTransform()],
                [Tl.CorrCholeskyTransform(), Tl.ExpTransform()], [Tl.ExpTransform().inv, Tl.CorrCholeskyTransform()],
                [Tl.AffineTransform(0.0, 2.0, event_dim=1), Tl.ExpTransform()], [],
                [Tl.ExpTransform(), Tl.ReshapeTransform((2, 3), (6,)), Tl.ExpTransform()],  # a middle part needs
                [Tl.ExpTransform(), Tl.ReshapeTransform((6,), (2, 3)), Tl.ExpTransform()]]  # more than is carried
    for cp, ct in zip(chains(pyml), chains(torch)):
        p, t = T(pyml).ComposeTransform(cp), T(torch).ComposeTransform(ct)
        assert (p.domain.event_dim, p.codomain.event_dim) == (t.domain.event_dim, t.codomain.event_dim), repr(t)
        assert repr(p.domain) == repr(t.domain) and repr(p.codomain) == repr(t.codomain)
        assert (p.inv.domain.event_dim, p.inv.codomain.event_dim) == (t.inv.domain.event_dim,
                                                                       t.inv.codomain.event_dim)
    x = pyml.tensor([1.0, 2.0], dtype=pyml.float64)
    assert T(pyml).identity_transform(x) is x
    close(T(pyml).identity_transform.log_abs_det_jacobian(x, x), pyml.zeros(2, dtype=pyml.float64))
    it = T(pyml).IndependentTransform(T(pyml).ExpTransform(), 2)
    assert it.event_dim == 2 and it.sign == 1
    with pytest.raises(ValueError):
        it(x)  # fewer dims than the event


def test_shape_errors():
    Tp = T(pyml)
    with pytest.raises(ValueError):
        Tp.ReshapeTransform((2, 3), (4,))
    with pytest.raises(ValueError):
        Tp.ReshapeTransform((2, 3), (6,)).forward_shape((4, 3, 2))
    with pytest.raises(ValueError):
        Tp.CorrCholeskyTransform().forward_shape((4, 5))  # 5 is no D(D-1)/2
    with pytest.raises(ValueError):
        Tp.CorrCholeskyTransform().inverse_shape((3, 4))
    with pytest.raises(ValueError):
        Tp.StickBreakingTransform().forward_shape(())
    with pytest.raises(ValueError):
        Tp.StickBreakingTransform().inverse_shape(())
    with pytest.raises(ValueError):
        Tp.CatTransform([Tp.ExpTransform()], lengths=[1, 2])
    with pytest.raises(ValueError):
        Tp.CatTransform([Tp.ExpTransform(), Tp.ExpTransform()], dim=-1)(pyml.zeros(3))
    with pytest.raises(IndexError):
        Tp.StackTransform([Tp.ExpTransform()], dim=2)(pyml.zeros(1))
    with pytest.raises(TypeError):
        Tp.StackTransform([Tp.ExpTransform(), 3])


def test_vec_tril_helpers_match_torch():
    from pyml.distributions.transforms_structured import tril_matrix_to_vec, vec_to_tril_matrix
    from torch.distributions.utils import tril_matrix_to_vec as t_to_vec, vec_to_tril_matrix as t_to_mat
    rng = np.random.default_rng(9)
    for n in (1, 2, 5):
        m = rng.normal(size=(3, n, n))
        for diag in range(-n + 1, 1):
            v = t_to_vec(torch.tensor(m), diag)
            close(tril_matrix_to_vec(tens(pyml, m), diag), v)
            close(vec_to_tril_matrix(tens(pyml, npy(v)), diag), t_to_mat(v, diag))
    with pytest.raises(ValueError):
        vec_to_tril_matrix(pyml.zeros(4))


# ------------------------------------------------------------------------------------ constraints
def matrices(rng):
    a = rng.normal(size=(4, 3, 3))
    spd = a @ np.swapaxes(a, -1, -2) + 0.1 * np.eye(3)
    psd = spd.copy()
    psd[0] = np.outer(a[0, 0], a[0, 0])  # rank one: semidefinite, not definite
    asym = spd.copy()
    asym[1, 0, 2] += 1e-3
    corr = np.linalg.cholesky(spd / np.sqrt(np.einsum("bii,bjj->bij", spd, spd)))
    bad_corr = corr.copy()
    bad_corr[2, 2, 2] *= 1.01
    lower = np.tril(a)
    lower[3, 1, 1] = -abs(lower[3, 1, 1])
    return [spd, psd, asym, corr, bad_corr, lower, a, np.zeros((2, 3, 4))]


@pytest.mark.parametrize("name", ["lower_triangular", "lower_cholesky", "corr_cholesky", "square", "symmetric",
                                  "positive_semidefinite", "positive_definite"])
def test_matrix_constraints_match_torch(name):
    rng = np.random.default_rng(11)
    for m in matrices(rng):
        if name in ("lower_triangular", "lower_cholesky", "corr_cholesky", "positive_semidefinite",
                    "positive_definite") and m.shape[-1] != m.shape[-2]:
            continue
        got = getattr(pd.constraints, name).check(tens(pyml, m))
        want = getattr(td.constraints, name).check(tens(torch, m))
        assert got.tolist() == want.tolist(), (name, m.shape)
        assert getattr(pd.constraints, name).event_dim == 2


def test_cat_stack_and_mixture_constraints_match_torch():
    v = np.array([[1.0, 0.5, -1.0, 2.0, 0.3], [-1.0, 0.5, 1.0, 0.0, 1.3]])
    for lib, C in ((pyml, pd.constraints), (torch, td.constraints)):
        c = C.cat([C.positive, C.real, C.unit_interval], dim=-1, lengths=[1, 2, 2])
        s = C.stack([C.positive, C.real, C.nonnegative, C.real, C.unit_interval], dim=-1)
        s0 = C.stack([C.positive, C.real], dim=0)
        m = C.MixtureSameFamilyConstraint(C.interval(tens(lib, [-1.5, 0.0, -2.0]), 3.0))  # K = 3 components
        got = [c.check(tens(lib, v)), s.check(tens(lib, v)), s0.check(tens(lib, v)), m.check(tens(lib, v))]
        if lib is pyml:
            mine = got
            dims = [(x.event_dim, x.is_discrete) for x in (c, s, s0, m)]
        else:
            for a, b in zip(mine, got):
                assert a.tolist() == b.tolist()
            assert dims == [(x.event_dim, x.is_discrete) for x in (c, s, s0, m)]
    for dim, event_dim in ((-1, 1), (-2, 2), (0, 1)):  # a stack dim left of the components' event joins it
        assert pd.constraints.stack([pd.constraints.real_vector], dim=dim).event_dim == event_dim
        assert td.constraints.stack([td.constraints.real_vector], dim=dim).event_dim == event_dim
    assert repr(pd.constraints.corr_cholesky) == "CorrCholesky()"


# ------------------------------------------------------------------------------------ biject_to / transform_to
def constraint_cases(lib):
    C = dist(lib).constraints
    lo = tens(lib, [-1.0, 0.5, 2.0])
    return {"real": (C.real, ()), "positive": (C.positive, ()), "nonnegative": (C.nonnegative, ()),
            "greater_than": (C.greater_than(lo), (3,)), "greater_than_eq": (C.greater_than_eq(-2.5), ()),
            "less_than": (C.less_than(lo), (3,)), "unit_interval": (C.unit_interval, ()),
            "interval": (C.interval(lo, lo + 3), (3,)), "interval_numbers": (C.interval(-2.0, 5.0), ()),
            "half_open_interval": (C.half_open_interval(0.0, 1.0), ()), "simplex": (C.simplex, (5,)),
            "real_vector": (C.real_vector, (4,)), "independent": (C.independent(C.positive, 2), (2, 3)),
            "lower_cholesky": (C.lower_cholesky, (3, 3)), "positive_definite": (C.positive_definite, (3, 3)),
            "positive_semidefinite": (C.positive_semidefinite, (3, 3)), "corr_cholesky": (C.corr_cholesky, (4, 4)),
            "cat": (C.cat([C.positive, C.interval(-1.0, 1.0), C.real], -1, [2, 1, 2]), (5,)),
            "stack": (C.stack([C.positive, C.unit_interval, C.greater_than(3.0)], -1), (3,))}


NOT_BIJECTIVE = {"lower_cholesky", "positive_definite", "positive_semidefinite"}  # torch registers transform_to only


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("case", list(constraint_cases(pyml)))
def test_registries_match_torch(registry, case):
    (cp, event), (ct, _) = constraint_cases(pyml)[case], constraint_cases(torch)[case]
    if registry == "biject_to" and case in NOT_BIJECTIVE:
        for lib, c in ((pyml, cp), (torch, ct)):
            with pytest.raises(NotImplementedError):
                getattr(dist(lib), registry)(c)
        return
    tp, tt = getattr(pd, registry)(cp), getattr(td, registry)(ct)
    assert type(tp).__name__ == type(tt).__name__
    in_shape = tuple(tt.inverse_shape(torch.Size((2, 3) + event)))
    x = np.random.default_rng(len(case)).normal(0, 2, in_shape)
    yp, yt = tp(tens(pyml, x)), tt(tens(torch, x))
    close(yp, yt, msg=case)
    assert bool(cp.check(yp).all()), case
    if tp.bijective:
        close(tp.inv(yp), tens(pyml, x), msg=f"{case} inverse")
        close(tp.log_abs_det_jacobian(tens(pyml, x), yp), tt.log_abs_det_jacobian(tens(torch, x), yt))


def test_registry_register_and_errors():
    reg = pd.constraint_registry.ConstraintRegistry()
    with pytest.raises(NotImplementedError):
        reg(pd.constraints.positive)

    @reg.register(pd.constraints.positive)
    def _softplus(constraint):
        return pd.transforms.SoftplusTransform()
    assert isinstance(reg(pd.constraints.positive), pd.transforms.SoftplusTransform)
    assert isinstance(reg(pd.constraints.greater_than(0.0)), pd.transforms.SoftplusTransform)  # same class
    reg.register(pd.constraints.interval, lambda c: pd.transforms.SigmoidTransform())
    assert isinstance(reg(pd.constraints.interval(0.0, 2.0)), pd.transforms.SigmoidTransform)
    with pytest.raises(TypeError):
        reg.register(int, lambda c: None)
    with pytest.raises(NotImplementedError):
        pd.biject_to(pd.constraints.boolean)
    assert isinstance(pd.biject_to(pd.constraints.unit_interval), pd.transforms.SigmoidTransform)
    assert isinstance(pd.transform_to(pd.constraints.interval(0.0, 2.0)), pd.transforms.ComposeTransform)
