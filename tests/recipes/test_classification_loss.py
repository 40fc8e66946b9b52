"""The classification-loss recipe: the course's softmax numbers, both loss surfaces and their gradients
against closed forms in float64 (with y3 = -1000 both depend on d = y1 - y2 only), the flat MSE corner
where cross-entropy still has slope sqrt(2), and the naive softmax's inf/nan that the stable one avoids."""
import json
import math
import os

import numpy as np
import pytest

import pyml
from pyml.recipes import classification_loss as rec
from pyml._threads import engine_threads


@pytest.fixture(scope="module")
def quick():
    with engine_threads(1):  # steadier on a shared 2-core machine
        return rec.run(rec.Config(quick=True, progress=False))


def _closed_forms(logits):
    """s = p(class 1) = sigmoid(y1 - y2); MSE = 2 (1 - s)^2, CE = softplus(y2 - y1); gradient norms over
    (y1, y2): MSE 4 sqrt(2) s (1 - s)^2, CE sqrt(2) (1 - s)."""
    d = logits[:, 0].astype(np.float64) - logits[:, 1]
    s = 1 / (1 + np.exp(-d))
    ce = np.logaddexp(0, -d)
    return 2 * (1 - s) ** 2, ce, 4 * math.sqrt(2) * s * (1 - s) ** 2, math.sqrt(2) * (1 - s)


def test_course_softmax_exact(quick):
    np.testing.assert_allclose(quick["softmax_3_1_-3"], [0.8789, 0.1189, 0.0022], atol=1e-4)
    np.testing.assert_allclose(quick["stable_softmax_shifted_by_100"], [0.8789, 0.1189, 0.0022], atol=1e-4)
    assert all(math.isnan(v) for v in quick["naive_softmax_shifted_by_100"])  # exp(103) overflows float32


def test_stable_softmax_matches_float64(rng):
    y = (rng.normal(size=(7, 5)) * np.array([[1], [10], [50], [100], [200], [1], [500]])).astype(np.float32)
    ref = np.exp(y - y.max(axis=1, keepdims=True).astype(np.float64))
    ref /= ref.sum(axis=1, keepdims=True)
    got = rec.stable_softmax(pyml.from_numpy(y)).numpy()
    np.testing.assert_allclose(got, ref, atol=1e-6)
    np.testing.assert_allclose(got, pyml.softmax(pyml.from_numpy(y), dim=-1).numpy(), atol=1e-6)


def test_surfaces_and_gradients_match_closed_forms():
    logits, _ = rec.logit_grid(10.0, 21)
    mse, ce, g_mse, g_ce = _closed_forms(logits.numpy())
    for name, loss, grad in (("mse", mse, g_mse), ("cross_entropy", ce, g_ce)):
        got, got_grad = rec.surface_and_gradients(rec.LOSSES[name], logits)
        np.testing.assert_allclose(got.numpy(), loss, rtol=1e-5, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(got_grad.numpy(), grad, rtol=1e-4, atol=1e-6, err_msg=name)


def test_grid_layout():
    logits, axis = rec.logit_grid(2.0, 3)
    assert axis.tolist() == [-2.0, 0.0, 2.0]
    assert logits.numpy()[:, :2].tolist()[:4] == [[-2, -2], [0, -2], [2, -2], [-2, 0]]  # y1 fastest
    assert np.all(logits.numpy()[:, 2] == -1000)


def test_mse_is_flat_where_cross_entropy_has_slope(quick):
    mse, ce = quick["mse_flat"], quick["cross_entropy_flat"]
    assert mse["points"] == ce["points"] > 100
    assert mse["loss"] == pytest.approx(2.0, abs=1e-3)            # confidently wrong: p = (0, 1, 0)
    assert mse["grad_norm_max"] < 1e-3                            # 4 sqrt(2) sigmoid(-10) = 2.6e-4 at most
    assert ce["grad_norm_mean"] == pytest.approx(math.sqrt(2), abs=1e-3)
    assert ce["grad_norm_mean"] > 1000 * mse["grad_norm_mean"]
    assert quick["mse_nonfinite"] == 0 and quick["cross_entropy_nonfinite"] == 0


def test_descent_from_the_flat_corner(quick):
    mse, ce = quick["mse_descent"], quick["cross_entropy_descent"]
    assert mse["start_loss"] == pytest.approx(2.0, abs=1e-6) and mse["final_loss"] > 1.999   # stuck
    assert abs(mse["final_y1"] + 8) < 1e-3 and abs(mse["final_y2"] - 8) < 1e-3
    assert ce["start_loss"] == pytest.approx(16.0, abs=1e-4) and ce["final_loss"] < 0.05    # walks out
    assert ce["final_y1"] > ce["final_y2"]


def test_naive_softmax_breaks_on_a_wide_grid(quick):
    wide = quick["wide_grid"]
    assert wide["naive_nonfinite"] > 0 and wide["stable_nonfinite"] == 0
    assert wide["stable_max_error"] < 1e-4 * 200          # float32 rounding of losses up to 200
    assert wide["naive_max_error_where_finite"] > wide["stable_max_error"]


def test_cli_run_writes_metrics(tmp_path):
    from pyml.cli import main
    argv = ["run", "classification-loss", "--quick", "--threads", "1", "--epochs", "5", "--out", str(tmp_path)]
    assert main(argv) == 0
    (folder,) = os.listdir(tmp_path)
    with open(tmp_path / folder / "metrics.json") as f:
        saved = json.load(f)
    assert saved["metrics"]["descent_steps"] == 5
    np.testing.assert_allclose(saved["metrics"]["softmax_3_1_-3"], [0.8789, 0.1189, 0.0022], atol=1e-4)
    assert os.path.getsize(tmp_path / folder / "loss_surfaces.png") > 1000
