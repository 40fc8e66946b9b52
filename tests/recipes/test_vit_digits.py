"""vit-digits: the quick run's ViT reaches a robust accuracy bound on the held-out digits and reports
its size; the CLI writes metrics.json, the checkpoint (which reloads to the same accuracy) and the plot."""
import glob
import json
import os

import pytest

import pyml
import pyml.cli
from pyml.recipes.vit_digits import Config, build_model, digit_loaders, run, table
from pyml._threads import engine_threads
from pyml.train import evaluate


@pytest.fixture(autouse=True)
def one_thread():
    """Small kernels gain nothing from a second thread, and on a shared 2-core machine an OpenMP team
    waiting for a busy core slows them several-fold."""
    with engine_threads(1):
        yield


@pytest.fixture(scope="module")
def quick():
    with engine_threads(1):  # module scope: the autouse fixture above is per test
        return run(Config(quick=True, progress=False))


def test_quick_run_reaches_the_accuracy_bound(quick):
    # seeds 0-5 end between 0.919 and 0.947 after 6 epochs; chance is 0.1
    assert quick["test_accuracy"] >= 0.85
    assert quick["test_accuracy_per_epoch"][-1] == quick["test_accuracy"]
    assert quick["test_accuracy_per_epoch"][0] < quick["test_accuracy"]
    assert quick["train_loss"] < 0.5 and quick["test_loss"] < 0.5


def test_reports_the_model_size(quick):
    d, depth, ff = 48, 3, 96
    block = 4 * d * d + 4 * d + 2 * ff * d + ff + d + 4 * d
    expected = (4 * d + d) + d + 17 * d + depth * block + 2 * d + (10 * d + 10)
    assert quick["parameters"] == expected == 58_570
    assert quick["tokens"] == 17 and quick["epochs"] == 6
    assert "58570" in table(quick)


def test_cli_run_writes_metrics_checkpoint_and_plot(tmp_path, capsys):
    assert pyml.cli.main(["run", "vit-digits", "--quick", "--epochs", "2", "--seed", "3", "--threads", "1",
                          "--out", str(tmp_path)]) == 0
    (folder,) = glob.glob(str(tmp_path / "vit-digits-*"))
    with open(os.path.join(folder, "metrics.json")) as f:
        saved = json.load(f)
    metrics = saved["metrics"]
    assert saved["recipe"] == "vit-digits" and saved["config"]["seed"] == 3 and metrics["epochs"] == 2
    assert os.path.getsize(os.path.join(folder, "curves.png")) > 1000
    config = Config(quick=True, seed=3)
    model = build_model(config)
    model.load_state_dict(pyml.load(os.path.join(folder, "vit_digits.pyml")))
    reloaded = evaluate(model, digit_loaders(config, augment=False)[1])
    assert reloaded["accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-9)
    assert "test_accuracy" in capsys.readouterr().out
