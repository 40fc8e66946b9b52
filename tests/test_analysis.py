"""pyml.analysis: the Hessian against torch and hand-derived matrices, the eigenvalue-based
classification against NumPy, loss_surface against a NumPy grid, and plot_contours' PNG output."""
import sys

import numpy as np
import pytest
import torch

import pyml
from pyml.analysis import (hessian, classify_critical_point, minimum_ratio, escape_direction, LossSurface,
                           loss_surface, plot_contours)


def _param(values):
    return pyml.tensor(np.asarray(values, dtype=np.float64), dtype=pyml.float64, requires_grad=True)


def _toy_loss(w):
    """The course's y = w1 * w2 * x on one sample x = 1, y = 1: L = (1 - w1 w2)^2."""
    return (1.0 - w[0] * w[1]) ** 2


# ---------------------------------------------------------------------------- hessian
def test_hessian_toy_saddle_is_exact():
    w = _param([0.0, 0.0])
    H = hessian(lambda: _toy_loss(w), [w])
    assert H.tolist() == [[0.0, -2.0], [-2.0, 0.0]]


@pytest.mark.parametrize("w1,w2", [(1.0, 1.0), (0.5, -2.0), (1.7, 0.3)])
def test_hessian_toy_matches_hand_formula(w1, w2):
    # d2L/dw1^2 = 2 w2^2, d2L/dw2^2 = 2 w1^2, d2L/dw1dw2 = 4 w1 w2 - 2
    w = _param([w1, w2])
    H = hessian(lambda: _toy_loss(w), [w]).numpy()
    expected = np.array([[2 * w2 ** 2, 4 * w1 * w2 - 2], [4 * w1 * w2 - 2, 2 * w1 ** 2]])
    np.testing.assert_allclose(H, expected, rtol=1e-12, atol=1e-12)


def _mixed_loss(lib, W, v, c):
    """A non-quadratic loss of three parameters of different shapes (one used only linearly)."""
    return ((W @ v) ** 2).sum() + lib.sin(v).sum() * (W ** 2).sum() + 3.0 * c.sum()


def test_hessian_of_several_parameters_matches_torch(rng):
    W0, v0, c0 = rng.standard_normal((2, 3)), rng.standard_normal(3), rng.standard_normal(2)
    W, v, c = _param(W0), _param(v0), _param(c0)
    H = hessian(lambda: _mixed_loss(pyml, W, v, c), [W, v, c]).numpy()
    blocks = torch.autograd.functional.hessian(lambda *a: _mixed_loss(torch, *a),
                                               tuple(torch.tensor(a) for a in (W0, v0, c0)))
    sizes = [6, 3, 2]
    expected = np.block([[blocks[i][j].reshape(sizes[i], sizes[j]).numpy() for j in range(3)] for i in range(3)])
    assert H.shape == (11, 11)
    np.testing.assert_allclose(H, expected, rtol=1e-10, atol=1e-10)
    assert np.all(H[9:, :] == 0) and np.all(H[:, 9:] == 0)      # c enters linearly


def test_hessian_of_a_module_is_symmetric_and_matches_torch(rng):
    lin = pyml.nn.Linear(3, 2).double()
    x0 = rng.standard_normal((5, 3))
    x = pyml.tensor(x0, dtype=pyml.float64)
    H = hessian(lambda: pyml.tanh(lin(x)).pow(2).mean(), list(lin.parameters())).numpy()
    w0, b0 = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    ref = torch.autograd.functional.hessian(
        lambda w, b: torch.tanh(torch.tensor(x0) @ w.T + b).pow(2).mean(), (torch.tensor(w0), torch.tensor(b0)))
    expected = np.block([[ref[0][0].reshape(6, 6).numpy(), ref[0][1].reshape(6, 2).numpy()],
                         [ref[1][0].reshape(2, 6).numpy(), ref[1][1].numpy()]])
    np.testing.assert_allclose(H, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(H, H.T, atol=1e-12)


def test_hessian_of_a_linear_loss_is_zero():
    w = _param([1.0, 2.0, 3.0])
    assert hessian(lambda: (w * 2.0).sum(), [w]).tolist() == [[0.0] * 3] * 3


def test_hessian_rejects_bad_input():
    w = _param([1.0, 2.0])
    with pytest.raises(ValueError, match="at least one tensor"):
        hessian(lambda: w.sum(), [])
    with pytest.raises(ValueError, match="require grad"):
        hessian(lambda: w.sum(), [w.detach()])
    with pytest.raises(TypeError, match="params\\[0\\]"):
        hessian(lambda: w.sum(), [[1.0]])
    with pytest.raises(ValueError, match="one-element"):
        hessian(lambda: w * 2.0, [w])


# ---------------------------------------------------------------------------- classification
@pytest.mark.parametrize("diag,name", [([1.0, 2.0], "local minimum"), ([-1.0, -3.0], "local maximum"),
                                       ([2.0, -2.0], "saddle point"), ([0.0, -1.0, 4.0], "saddle point"),
                                       ([1.0, 0.0], "degenerate"), ([0.0, 0.0], "degenerate"),
                                       ([1.0, 1e-9], "degenerate")])
def test_classify_by_eigenvalue_signs(diag, name):
    label, eig = classify_critical_point(pyml.tensor(np.diag(diag)))
    assert label == name
    assert eig.dtype == pyml.float64 and eig.tolist() == sorted(diag)


def test_classify_the_course_saddle():
    label, eig = classify_critical_point([[0.0, -2.0], [-2.0, 0.0]])
    assert label == "saddle point"
    np.testing.assert_allclose(eig.numpy(), [-2.0, 2.0], atol=1e-15)


def test_eigenvalues_and_ratio_match_numpy(rng):
    A = rng.standard_normal((7, 7))
    H = A + A.T
    label, eig = classify_critical_point(pyml.tensor(H, dtype=pyml.float64))
    expected = np.linalg.eigvalsh(H)
    np.testing.assert_allclose(eig.numpy(), expected, rtol=1e-12, atol=1e-12)
    assert minimum_ratio(H) == np.sum(expected > 1e-6) / 7
    assert expected[0] < -1e-6 and expected[-1] > 1e-6                # a random symmetric 7x7 has both signs
    assert label == "saddle point"


def test_minimum_ratio_counts_only_clearly_positive_eigenvalues():
    H = np.diag([3.0, -1.0, 1e-8, 2.0])
    assert minimum_ratio(H) == 0.5
    assert minimum_ratio(H, tol=0.0) == 0.75
    assert minimum_ratio(np.eye(3)) == 1.0
    assert classify_critical_point(H, tol=0.0)[0] == "saddle point"


def test_escape_direction_of_the_course_saddle_lowers_the_loss():
    value, u = escape_direction([[0.0, -2.0], [-2.0, 0.0]])
    assert value == pytest.approx(-2.0, abs=1e-14)
    np.testing.assert_allclose(np.abs(u.numpy()), [2 ** -0.5] * 2, rtol=1e-14)
    assert u[0].item() * u[1].item() > 0                      # along [1, 1], not [1, -1]
    step = 0.1 * u
    assert _toy_loss(step).item() < _toy_loss(pyml.zeros(2, dtype=pyml.float64)).item()
    assert escape_direction(np.eye(2)) is None


def test_classification_rejects_bad_matrices():
    with pytest.raises(ValueError, match="square"):
        classify_critical_point(np.ones((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        minimum_ratio([[1.0, float("nan")], [0.0, 1.0]])
    with pytest.raises(ValueError, match="tol"):
        minimum_ratio(np.eye(2), tol=-1.0)
    with pytest.raises(ValueError, match="square"):
        escape_direction(np.ones(3))


# ---------------------------------------------------------------------------- loss surface
def _bowl(p):
    return 0.5 * (p[0] ** 2 + 10.0 * p[1] ** 2) + p[0] * p[1]


def test_loss_surface_matches_a_numpy_grid():
    center = pyml.tensor([1.0, -0.5], dtype=pyml.float64)
    d1 = pyml.tensor([1.0, 1.0], dtype=pyml.float64)
    d2 = pyml.tensor([0.0, 2.0], dtype=pyml.float64)
    surface = loss_surface(_bowl, center, d1, d2, span=(2.0, (-1.0, 0.5)), steps=(5, 4))
    assert isinstance(surface, LossSurface)
    xs, ys = np.linspace(-2, 2, 5), np.linspace(-1, 0.5, 4)
    np.testing.assert_allclose(surface.x.numpy(), xs, atol=1e-15)
    np.testing.assert_allclose(surface.y.numpy(), ys, atol=1e-15)
    px = 1.0 + xs[None, :] + 0.0 * ys[:, None]
    py = -0.5 + xs[None, :] + 2.0 * ys[:, None]
    expected = 0.5 * (px ** 2 + 10 * py ** 2) + px * py
    assert surface.losses.shape == (4, 5)
    np.testing.assert_allclose(surface.losses.numpy(), expected, rtol=1e-12)


def test_loss_surface_needs_no_gradients():
    center = pyml.zeros(2, dtype=pyml.float64, requires_grad=True)
    e1, e2 = pyml.tensor([1.0, 0.0], dtype=pyml.float64), pyml.tensor([0.0, 1.0], dtype=pyml.float64)
    surface = loss_surface(_bowl, center, e1, e2, span=1.0, steps=3)
    assert surface.losses[1, 1].item() == 0.0 and not surface.losses.requires_grad


def test_loss_surface_rejects_bad_input():
    c, e = pyml.zeros(2), pyml.ones(2)
    with pytest.raises(ValueError, match="shape of center"):
        loss_surface(_bowl, c, pyml.ones(3), e)
    with pytest.raises(ValueError, match="steps"):
        loss_surface(_bowl, c, e, e, steps=1)
    with pytest.raises(ValueError, match="span"):
        loss_surface(_bowl, c, e, e, span=(1.0, (2.0, 1.0)))
    with pytest.raises(TypeError, match="center"):
        loss_surface(_bowl, [0.0, 0.0], e, e)


# ---------------------------------------------------------------------------- plotting
def test_plot_contours_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    e1, e2 = pyml.tensor([1.0, 0.0], dtype=pyml.float64), pyml.tensor([0.0, 1.0], dtype=pyml.float64)
    surface = loss_surface(_bowl, pyml.zeros(2, dtype=pyml.float64), e1, e2, span=2.0, steps=21)
    path = tmp_path / "sub" / "bowl.png"
    out = plot_contours(surface, str(path), trajectories={"path": [[1.5, 1.0], [0.5, 0.2], [0.0, 0.0]]},
                        log_levels=True, title="bowl")
    assert out == str(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plot_contours(surface.losses, str(tmp_path / "bare.png"))       # a bare grid: indices as coordinates
    assert (tmp_path / "bare.png").stat().st_size > 0


def test_plot_contours_rejects_bad_trajectories(tmp_path):
    pytest.importorskip("matplotlib")
    grid = pyml.rand(5, 5)
    with pytest.raises(ValueError, match="trajectory 'bad'"):
        plot_contours(grid, str(tmp_path / "x.png"), trajectories={"bad": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="2-D grid"):
        plot_contours(pyml.rand(5), str(tmp_path / "x.png"))


def test_plot_contours_without_matplotlib_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_contours(pyml.rand(3, 3), str(tmp_path / "x.png"))
