"""critical-points recipe: the course's exact toy Hessian, the zero-weight network saddle (its
eigenvalues against the hand-derived ones), and the trained networks' curvature at small gradient."""
import glob
import json
import os

import numpy as np
import pytest

import pyml
import pyml.cli
from pyml.recipes import critical_points


@pytest.fixture(scope="module")
def metrics():
    return critical_points.run(critical_points.Config(quick=True, progress=False))


def test_toy_saddle_is_exact(metrics):
    assert metrics["toy_gradient"] == [0.0, 0.0]
    assert metrics["toy_hessian"] == [[0.0, -2.0], [-2.0, 0.0]]
    np.testing.assert_allclose(metrics["toy_eigenvalues"], [-2.0, 2.0], atol=1e-14)
    assert metrics["toy_kind"] == "saddle point"
    np.testing.assert_allclose(metrics["toy_escape_direction"], [1.0, 1.0], rtol=1e-12)


def test_toy_escape_lowers_the_loss(metrics):
    t = critical_points.Config().escape_step
    # along u = [1, 1] / sqrt(2): w1 w2 = t^2 / 2, so L = (1 - t^2 / 2)^2; second order: 1 - t^2
    assert metrics["toy_loss_at_saddle"] == 1.0
    assert metrics["toy_loss_after_escape"] == pytest.approx((1 - t * t / 2) ** 2, rel=1e-12)
    assert metrics["toy_loss_predicted"] == pytest.approx(1 - t * t, rel=1e-12)
    assert metrics["toy_loss_after_escape"] < metrics["toy_loss_at_saddle"]


def test_toy_valley_minimum_is_degenerate(metrics):
    # at (1, 1): H = [[2 w2^2, 4 w1 w2 - 2], [.., 2 w1^2]] = [[2, 2], [2, 2]]
    np.testing.assert_allclose(metrics["valley_eigenvalues"], [0.0, 4.0], atol=1e-12)
    assert metrics["valley_kind"] == "degenerate"


def _data():
    config = critical_points.Config(quick=True)
    return critical_points.regression_data(config, pyml.Generator().manual_seed(config.seed))


def test_zero_network_is_an_exact_saddle(metrics):
    # with every weight zero and the output bias at mean(y), the only second derivatives left are
    # d2L/dv_j da_j = -2 mean((y - mean y) x) for each of the 4 hidden units and d2L/dc^2 = 2
    x, y = (t.numpy().ravel() for t in _data())
    c = 2.0 * abs(np.mean((y - y.mean()) * x))
    expected = sorted([-c] * 4 + [0.0] * 4 + [c] * 4 + [2.0])
    np.testing.assert_allclose(metrics["zero_net_eigenvalues"], expected, atol=1e-12)
    assert metrics["zero_net_grad_norm"] < 1e-12
    assert metrics["zero_net_kind"] == "saddle point"
    assert metrics["zero_net_ratio"] == pytest.approx(5 / 13)


def test_gradient_descent_stays_at_the_saddle_until_it_escapes(metrics):
    start = metrics["zero_net_loss"]
    assert metrics["zero_net_loss_after_gd"] == pytest.approx(start, abs=1e-12)
    assert metrics["zero_net_loss_after_escape_step"] < start
    assert metrics["zero_net_loss_after_escape_and_gd"] < 0.2 * start


def test_trained_networks_stop_at_small_gradient_with_mostly_positive_curvature(metrics):
    rows = metrics["networks"]
    assert len(rows) == 3
    for row in rows:
        assert row["grad_norm"] < 1e-2 * row["grad_norm_at_start"]
        assert row["positive"] + row["negative"] + row["zero"] == row["params"]
        assert row["min_ratio"] == pytest.approx(row["positive"] / row["params"])
        assert row["min_ratio"] >= 0.5                   # the course: mostly positive curvature ...
        assert (row["kind"] == "local minimum") == (row["min_ratio"] == 1.0)
    assert any(row["min_ratio"] < 1.0 for row in rows)   # ... yet not every stop is a strict local minimum


def test_cli_run_writes_metrics_and_the_plot(tmp_path):
    assert pyml.cli.main(["run", "critical-points", "--quick", "--epochs", "20", "--out", str(tmp_path)]) == 0
    folder, = glob.glob(str(tmp_path / "critical-points-*"))
    with open(os.path.join(folder, "metrics.json")) as f:
        saved = json.load(f)["metrics"]
    assert saved["toy_hessian"] == [[0.0, -2.0], [-2.0, 0.0]] and len(saved["networks"]) == 3
    with open(os.path.join(folder, "toy_saddle.png"), "rb") as f:
        assert f.read(4) == b"\x89PNG"
