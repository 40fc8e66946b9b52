"""optimizers recipe: the quick run's numbers show the chapter's claims on the elliptic valley
L = (w1^2 + 200 w2^2) / 2 started at (-8, 0.5) (initial loss 57)."""
import glob
import json
import os

import pytest

import pyml.cli
from pyml.recipes import optimizers

GD_FAST, GD_SLOW = "GD lr=1e-2", "GD lr=1e-7"
RMSPROP, RMSPROP_COURSE = "RMSProp lr=0.05", "RMSProp sigma0=|g0| (course) lr=0.05"
ADAGRAD, ADAGRAD_COURSE = "Adagrad lr=0.5", "Adagrad root-mean (course) lr=0.5"
DECAY, WARMUP = "RMSProp lr=0.05 + cosine decay", "RMSProp lr=0.05 + warmup + cosine decay"


@pytest.fixture(scope="module")
def metrics():
    return optimizers.run(optimizers.Config(quick=True, progress=False))


@pytest.fixture(scope="module")
def runs(metrics):
    return {r["name"]: r for r in metrics["runs"]}


def test_quick_run_size(metrics, runs):
    assert metrics["steps"] == 1000
    assert metrics["initial_loss"] == 57.0                     # (64 + 200 * 0.25) / 2
    assert len(runs) == 10


def test_gd_at_1e_2_bounces_between_the_walls(runs):
    # 1e-2 = 2 / 200: the steep coordinate flips sign every step and never shrinks, so the loss stays at
    # that coordinate's share (200 * 0.5^2 / 2 = 25) while the gradient stays large
    gd = runs[GD_FAST]
    assert gd["final_loss"] == pytest.approx(25.0, rel=1e-6)
    assert gd["grad_norm"] == pytest.approx(100.0, rel=1e-3)
    assert gd["mean_last_steps"] == pytest.approx(1.0, rel=1e-3)      # from w2 = 0.5 to -0.5 and back


def test_gd_at_1e_7_barely_moves(metrics, runs):
    gd = runs[GD_SLOW]
    assert 0.95 * metrics["initial_loss"] < gd["final_loss"] < metrics["initial_loss"]
    assert gd["max_late_step"] < 2e-5


@pytest.mark.parametrize("name", ["momentum 0.9, lr=1e-3", ADAGRAD, ADAGRAD_COURSE, RMSPROP_COURSE, "Adam lr=0.1",
                                  DECAY, WARMUP])
def test_momentum_and_adaptive_methods_reach_the_minimum(runs, name):
    assert runs[name]["final_loss"] < 1e-6 * runs[GD_FAST]["final_loss"]


def test_rmsprop_first_step_depends_on_how_sigma_starts(runs):
    # standard: sigma_1^2 = (1 - 0.99) g^2, so the first step is lr / 0.1 per coordinate;
    # the course's sigma_0 = |g_0| makes it lr per coordinate
    assert runs[RMSPROP]["first_step"] == pytest.approx(10 * runs[RMSPROP_COURSE]["first_step"], rel=1e-6)
    assert runs[RMSPROP_COURSE]["first_step"] == pytest.approx(0.05 * 2 ** 0.5, rel=1e-6)


def test_adagrad_forms_agree_on_the_first_step(runs):
    # after one step the root of the sum and the root of the mean are the same |g|
    assert runs[ADAGRAD]["first_step"] == pytest.approx(runs[ADAGRAD_COURSE]["first_step"], rel=1e-6)
    assert runs[ADAGRAD_COURSE]["final_loss"] <= runs[ADAGRAD]["final_loss"]


def test_constant_rate_rmsprop_keeps_jumping_and_decay_calms_the_end(runs):
    constant, decayed = runs[RMSPROP], runs[DECAY]
    assert constant["mean_last_steps"] > 1e-3                    # still taking steps of about its rate
    assert decayed["mean_last_steps"] < 1e-6 * constant["mean_last_steps"]
    assert decayed["final_loss"] < 1e-6 * constant["final_loss"]


def test_warmup_shrinks_the_first_steps(runs):
    steps = optimizers.Config().warmup_steps
    assert runs[WARMUP]["first_step"] == pytest.approx(runs[RMSPROP]["first_step"] / steps, rel=1e-9)


def test_cli_run_writes_metrics_and_plots(tmp_path):
    assert pyml.cli.main(["run", "optimizers", "--quick", "--epochs", "50", "--out", str(tmp_path)]) == 0
    folder, = glob.glob(str(tmp_path / "optimizers-*"))
    with open(os.path.join(folder, "metrics.json")) as f:
        saved = json.load(f)
    assert saved["recipe"] == "optimizers" and saved["metrics"]["steps"] == 50
    assert [r["name"] for r in saved["metrics"]["runs"]][:2] == [GD_FAST, GD_SLOW]
    for png in ("gd_paths.png", "adaptive_paths.png"):
        with open(os.path.join(folder, png), "rb") as f:
            assert f.read(4) == b"\x89PNG"
