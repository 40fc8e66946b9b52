"""resnet-degradation: the quick run shows the paper's trends (deeper plain net trains worse; its
residual twin trains better) and the ResNet family's published parameter counts; the CLI writes
metrics.json and the loss plot."""
import glob
import json
import os

import pytest

import pyml
import pyml.cli
from pyml.recipes.resnet_degradation import Config, run, table
from pyml._threads import engine_threads

PUBLISHED = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
             "resnet20": 269_722, "resnet56": 853_018, "resnet110": 1_727_962}


@pytest.fixture(autouse=True)
def one_thread():
    """The recipes' small kernels gain nothing from a second thread, and on a shared 2-core machine
    an OpenMP team waiting for a busy core slows them several-fold."""
    with engine_threads(1):
        yield


@pytest.fixture(scope="module")
def quick():
    with engine_threads(1):  # module scope: the autouse fixture above is per test
        return run(Config(quick=True, progress=False))


def test_deeper_plain_net_has_higher_training_loss(quick):
    # seeds 0 and 3-6 give ratios 2.0 to 2.8 (final-epoch mean training loss)
    loss = quick["train_loss"]
    assert loss["plain-20"] > 1.5 * loss["plain-8"]


def test_residual_version_of_the_deep_net_trains_lower(quick):
    # seeds 0 and 3-6: resnet-20 ends at 0.13-0.37, plain-20 at 0.95-1.32
    loss = quick["train_loss"]
    assert loss["resnet-20"] < 0.6 * loss["plain-20"]


def test_residual_and_plain_twins_have_the_same_parameters(quick):
    params = {row["net"]: row["parameters"] for row in quick["nets"]}
    assert params["plain-20"] == params["resnet-20"] > params["plain-8"]
    assert [row["net"] for row in quick["nets"]] == ["plain-8", "plain-20", "resnet-20"]
    assert all(len(row["epoch_losses"]) == quick["epochs"] == 2 for row in quick["nets"])


def test_resnet_family_counts_are_the_published_ones(quick):
    assert {row["model"]: row["parameters"] for row in quick["resnet_parameters"]} == PUBLISHED
    text = table(quick)
    assert "11689512" in text and "plain-20" in text and "resnet-20" in text


def test_cli_run_writes_metrics_and_plot(tmp_path, capsys):
    assert pyml.cli.main(["run", "resnet-degradation", "--quick", "--epochs", "1", "--threads", "1",
                          "--out", str(tmp_path)]) == 0
    (folder,) = glob.glob(str(tmp_path / "resnet-degradation-*"))
    with open(os.path.join(folder, "metrics.json")) as f:
        saved = json.load(f)
    metrics = saved["metrics"]
    assert saved["recipe"] == "resnet-degradation" and metrics["epochs"] == 1
    assert sorted(metrics["train_loss"]) == ["plain-20", "plain-8", "resnet-20"]
    assert all(0 < v < 3 for v in metrics["train_loss"].values())
    assert os.path.getsize(os.path.join(folder, "training_loss.png")) > 1000
    assert "ResNet parameter counts" in capsys.readouterr().out
