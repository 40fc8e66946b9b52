"""views-regression recipe: the quick run shows chapter 1-2's trends on the synthetic daily series
(longer window -> lower training loss; more layers -> lower training loss; the test loss first falls
below the 56-day linear model's with 1-3 ReLU layers, then rises again at 4 layers). Seeds 0-5 of
the quick run all show them; the test runs seed 0 and seed 3."""
import glob
import json
import os

import pytest

import pyml.cli
from pyml.recipes import views_regression


@pytest.fixture(scope="module", params=[0, 3])
def rows(request):
    metrics = views_regression.run(views_regression.Config(quick=True, progress=False, seed=request.param))
    assert metrics["train_days"] == 1461 - 56          # 2017-2020 minus the first 56 days (inputs only)
    assert metrics["test_days"] == 45                  # 2021-01-01 .. 2021-02-14
    return {r["model"]: r for r in metrics["rows"]}


def _losses(rows, names, key):
    return [rows[n][key] for n in names]


LINEAR = [f"linear, {w}-day window" for w in (1, 7, 28, 56)]
NETS = [f"ReLU {d} x 100" for d in (1, 2, 3, 4)]


def test_longer_window_lowers_the_training_loss(rows):
    train = _losses(rows, LINEAR, "train_loss_k")
    assert all(a > b for a, b in zip(train, train[1:])), train


def test_a_week_of_history_catches_the_weekly_cycle(rows):
    one_day, one_week = _losses(rows, LINEAR[:2], "train_loss_k")
    assert one_week < 0.6 * one_day


def test_more_layers_lower_the_training_loss(rows):
    train = _losses(rows, NETS, "train_loss_k")
    assert all(a > b for a, b in zip(train, train[1:])), train
    assert train[0] < rows[LINEAR[-1]]["train_loss_k"]          # any ReLU net fits better than linear


def test_test_loss_rises_again_at_four_layers(rows):
    test = _losses(rows, NETS, "test_loss_k")
    train = _losses(rows, NETS, "train_loss_k")
    assert test[3] > test[2] and test[3] == max(test)            # best on the training days, worst on the test
    gaps = [te - tr for te, tr in zip(test, train)]
    assert gaps[3] == max(gaps)                                  # the widest train/test gap: overfitting


def test_test_loss_falls_then_rises_with_depth(rows):
    # linear (0 hidden layers) -> 1..3 layers: the best test loss drops below the linear model's;
    # 4 layers: it rises above that best again
    linear = rows[LINEAR[-1]]["test_loss_k"]
    test = _losses(rows, NETS, "test_loss_k")
    best = min(test[:3])
    assert best < linear - 0.01, (linear, test)
    assert test[3] > best + 0.03, (linear, test)


def test_losses_are_in_thousands_of_views(rows):
    # the series is ~3000-6000 views a day with 5% noise: errors of a few hundred views
    for row in rows.values():
        assert 0.05 < row["train_loss_k"] < 1.0 and 0.1 < row["test_loss_k"] < 1.5


def test_cli_run_writes_metrics_and_the_plot(tmp_path):
    assert pyml.cli.main(["run", "views-regression", "--quick", "--epochs", "5", "--out", str(tmp_path)]) == 0
    folder, = glob.glob(str(tmp_path / "views-regression-*"))
    with open(os.path.join(folder, "metrics.json")) as f:
        saved = json.load(f)["metrics"]
    assert [r["model"] for r in saved["rows"]] == LINEAR + NETS
    assert saved["net_steps"] == 5 and saved["linear_steps"] == 5
    with open(os.path.join(folder, "test_predictions.png"), "rb") as f:
        assert f.read(4) == b"\x89PNG"
