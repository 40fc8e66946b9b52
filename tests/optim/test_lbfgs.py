"""pyml.optim.LBFGS against torch.optim.LBFGS: same start, same closure; parameters, returned losses,
function-evaluation counts and the history compared after every step, with and without the strong-Wolfe
line search, on Rosenbrock and a small MLP; state_dict round trip; argument errors."""
import copy

import numpy as np
import pytest
import torch

import pyml
import pyml.optim as optim
from pyml.optim._line_search import cubic_minimizer


def _rosen(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def _closure(lib, opt, params, loss_fn):
    def closure():
        opt.zero_grad()
        loss = loss_fn(lib, params)
        loss.backward()
        return loss
    return closure


def _pair(arrays, kw):
    ps = [pyml.tensor(a).requires_grad_() for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    return ps, ts, optim.LBFGS(ps, **kw), torch.optim.LBFGS(ts, **kw)


def _compare(ps, ts, opt, topt, tol, where):
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), **tol, err_msg=where)
    st, tst = opt.state[ps[0]], topt.state[ts[0]]
    assert st["func_evals"] == tst["func_evals"] and st["n_iter"] == tst["n_iter"], where
    assert len(st["old_dirs"]) == len(tst["old_dirs"]), where
    np.testing.assert_allclose(st["d"].numpy(), tst["d"].detach().numpy(), **tol, err_msg=where)


def _run(arrays, loss_fn, kw, steps, tol):
    ps, ts, opt, topt = _pair(arrays, kw)
    for step in range(steps):
        a = opt.step(_closure(pyml, opt, ps, loss_fn))
        b = topt.step(_closure(torch, topt, ts, loss_fn))
        np.testing.assert_allclose(a.item(), b.item(), **tol)
        _compare(ps, ts, opt, topt, tol, f"{kw} step {step}")
    return ps, ts, opt, topt


ROSEN_CASES = [
    # Rosenbrock is ill-conditioned: long fixed-step runs amplify last-bit differences of the engine's
    # dot products, so those cases run fewer iterations
    (dict(), 2, "float64"),
    (dict(lr=0.5, max_iter=7, history_size=3), 4, "float64"),
    (dict(line_search_fn="strong_wolfe"), 4, "float64"),
    (dict(line_search_fn="strong_wolfe", history_size=2, max_iter=9, max_eval=11), 2, "float64"),
    (dict(line_search_fn="strong_wolfe", max_iter=8), 1, "float32"),
    (dict(lr=0.3, max_iter=6, history_size=4), 1, "float32"),
]


@pytest.mark.parametrize("kw,steps,dtype", ROSEN_CASES, ids=[str(i) for i in range(len(ROSEN_CASES))])
def test_rosenbrock_matches_torch(kw, steps, dtype):
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-4, atol=1e-5)
    _run([np.array([-1.5, 2.0], dtype=dtype)], lambda lib, p: _rosen(p[0]), kw, steps, tol)


@pytest.mark.parametrize("kw", [dict(), dict(line_search_fn="strong_wolfe", history_size=2, max_iter=9, max_eval=11),
                                dict(lr=0.3, max_iter=6, history_size=4)], ids=["plain", "wolfe", "h4"])
def test_rosenbrock_bit_exact_with_torchs_dot(kw, monkeypatch):
    """torch's dot of two 2-vectors is the plain a0*b0 + a1*b1; with the same rounding for pyml's dot (a
    product then a sum) the whole trajectory, line search included, is bit for bit torch's."""
    monkeypatch.setattr(pyml.Tensor, "dot", lambda a, b: (a * b).sum())
    _run([np.array([-1.5, 2.0])], lambda lib, p: _rosen(p[0]), kw, 6, dict(rtol=0, atol=0))


def _mlp_data(dtype, seed=5):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((7, 13)) * 0.4, rng.standard_normal(13) * 0.1, rng.standard_normal((13, 3)) * 0.4,
              rng.standard_normal(3) * 0.1]
    x, y = rng.standard_normal((23, 7)), rng.standard_normal((23, 3))
    return [a.astype(dtype) for a in arrays], x.astype(dtype), y.astype(dtype)


def _mlp_loss(x, y):
    def loss(lib, p):
        h = lib.tanh(lib.tensor(x) @ p[0] + p[1])
        return ((h @ p[2] + p[3] - lib.tensor(y)) ** 2).mean()
    return loss


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kw", [dict(), dict(line_search_fn="strong_wolfe"),
                                dict(lr=0.8, history_size=5, max_iter=6, line_search_fn="strong_wolfe"),
                                dict(lr=0.5, history_size=3, max_iter=9)], ids=["plain", "wolfe", "wolfe-h5", "h3"])
def test_mlp_matches_torch(kw, dtype):
    arrays, x, y = _mlp_data(dtype)
    tol = dict(rtol=1e-9, atol=1e-11) if dtype == "float64" else dict(rtol=2e-4, atol=2e-5)
    steps = 4 if dtype == "float64" else 1
    ps, ts, opt, topt = _run(arrays, _mlp_loss(x, y), kw, steps, tol)
    # the loss went down
    assert _mlp_loss(x, y)(pyml, ps).item() < _mlp_loss(x, y)(pyml, [pyml.tensor(a) for a in arrays]).item()


def test_converges_on_rosenbrock():
    p = pyml.tensor([-1.2, 1.0], dtype=pyml.float64, requires_grad=True)
    opt = optim.LBFGS([p], line_search_fn="strong_wolfe", max_iter=100, tolerance_grad=1e-12,
                      tolerance_change=1e-15)
    for _ in range(3):
        opt.step(_closure(pyml, opt, [p], lambda lib, q: _rosen(q[0])))
    np.testing.assert_allclose(p.detach().numpy(), [1.0, 1.0], atol=1e-6)


def test_state_dict_round_trip():
    arrays, x, y = _mlp_data("float64", seed=9)
    loss_fn = _mlp_loss(x, y)
    kw = dict(history_size=4, max_iter=5, line_search_fn="strong_wolfe")
    a = [pyml.tensor(v).requires_grad_() for v in arrays]
    b = [pyml.tensor(v).requires_grad_() for v in arrays]
    opt_a = optim.LBFGS(a, **kw)
    for _ in range(2):
        opt_a.step(_closure(pyml, opt_a, a, loss_fn))
    sd = copy.deepcopy(opt_a.state_dict())
    assert set(sd["state"][0]) == {"func_evals", "n_iter", "d", "t", "old_dirs", "old_stps", "ro", "H_diag",
                                   "prev_flat_grad", "prev_loss", "al"}
    with pyml.no_grad():
        for p, q in zip(a, b):
            q.copy_(p)
    opt_b = optim.LBFGS(b, lr=3.0)
    opt_b.load_state_dict(sd)
    assert opt_b.param_groups[0]["lr"] == 1 and opt_b.param_groups[0]["history_size"] == 4
    for _ in range(2):
        opt_a.step(_closure(pyml, opt_a, a, loss_fn))
        opt_b.step(_closure(pyml, opt_b, b, loss_fn))
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    assert opt_a.state[a[0]]["n_iter"] == opt_b.state[b[0]]["n_iter"]


def test_state_keys_match_torch():
    ps, ts, opt, topt = _pair([np.array([-1.5, 2.0])], dict(max_iter=3))
    for _ in range(2):
        opt.step(_closure(pyml, opt, ps, lambda lib, p: _rosen(p[0])))
        topt.step(_closure(torch, topt, ts, lambda lib, p: _rosen(p[0])))
    assert set(opt.state[ps[0]]) == set(topt.state[ts[0]])
    assert set(opt.state_dict()["param_groups"][0]) == set(topt.state_dict()["param_groups"][0])
    assert opt.param_groups[0]["max_eval"] == topt.param_groups[0]["max_eval"] == 3


def test_optimal_start_returns_after_one_evaluation():
    p = pyml.tensor([1.0, 1.0], dtype=pyml.float64, requires_grad=True)
    opt = optim.LBFGS([p])
    loss = opt.step(_closure(pyml, opt, [p], lambda lib, q: _rosen(q[0])))
    assert loss.item() == 0.0 and opt.state[p]["func_evals"] == 1 and opt.state[p]["n_iter"] == 0
    assert "d" not in opt.state[p]
    np.testing.assert_array_equal(p.detach().numpy(), [1.0, 1.0])


def test_parameter_without_gradient_counts_as_zero():
    ps, ts, opt, topt = _pair([np.array([0.5, -0.3]), np.array([2.0, 3.0, 4.0])], dict(max_iter=4))
    loss_fn = lambda lib, p: _rosen(p[0])  # noqa: E731  (p[1] never receives a gradient)
    opt.step(_closure(pyml, opt, ps, loss_fn))
    topt.step(_closure(torch, topt, ts, loss_fn))
    _compare(ps, ts, opt, topt, dict(rtol=1e-12, atol=1e-14), "unused param")
    np.testing.assert_array_equal(ps[1].detach().numpy(), [2.0, 3.0, 4.0])


def test_cubic_minimizer_matches_the_cubic():
    """The interpolant's minimiser of f(x) = x^3 - 3x (minimum at 1) from two points with slopes."""
    f = lambda x: x ** 3 - 3 * x  # noqa: E731
    df = lambda x: pyml.tensor(3 * x ** 2 - 3.0, dtype=pyml.float64)  # noqa: E731
    t = cubic_minimizer(0.2, f(0.2), df(0.2), 2.5, f(2.5), df(2.5))
    assert abs(float(t) - 1.0) < 1e-12
    # no real minimiser: the midpoint of the bounds
    assert cubic_minimizer(0.0, 0.0, pyml.tensor(4.0), 1.0, 3.0, pyml.tensor(4.0), bounds=(0.0, 4.0)) == 2.0


def test_errors():
    p = pyml.zeros(3, requires_grad=True)
    with pytest.raises(TypeError, match="closure"):
        optim.LBFGS([p]).step()
    with pytest.raises(ValueError, match="line_search_fn must be None or 'strong_wolfe', got 'armijo'"):
        optim.LBFGS([p], line_search_fn="armijo")
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.LBFGS([p], lr=-1.0)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [p]}, {"params": [pyml.zeros(2, requires_grad=True)]}])
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([p]).add_param_group({"params": [pyml.zeros(2, requires_grad=True)]})
