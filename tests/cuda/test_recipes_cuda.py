"""Recipes on the GPU: the batch-size chapter's quick run with --device cuda (issue 9: "works on
CUDA too"). On a GPU a small update is bound by kernel launches rather than arithmetic, so the
checks are the chapter's claims that hold on any device: an epoch of tiny updates costs far more
than one of large ones, and after the same epochs the small batch is at least as accurate."""
import json
import os

import pytest

import pyml
from pyml.recipes import batch_size


@pytest.fixture(scope="module")
def quick():
    return batch_size.run(batch_size.Config(quick=True, progress=False, device="cuda"))


def test_batch_size_timing_on_cuda(quick):
    rows = quick["timing"]
    assert [r["updates_per_epoch"] for r in rows] == [10000, 1000, 100, 10, 1]
    epoch = [r["s_per_epoch"] for r in rows]
    assert epoch[0] > 10 * epoch[-1], epoch
    assert all(r["ms_per_update"] > 0 for r in rows)


def test_batch_size_accuracy_on_cuda(quick):
    rows = quick["accuracy"]
    assert rows[0]["test_accuracy"] >= 0.9
    assert rows[0]["train_accuracy"] >= rows[-1]["train_accuracy"]


def test_time_updates_keeps_the_model_on_cuda():
    model = batch_size.build_mlp(8).to("cuda")
    x, y = pyml.randn(50, 64, device="cuda"), pyml.randint(0, 10, (50,), device="cuda")
    seconds = batch_size.time_updates(model, x, y, 16, 5, 0.1, "cuda")
    assert len(seconds) == 5 and all(s > 0 for s in seconds)
    assert all(p.device.type == "cuda" for p in model.parameters())


def test_cli_run_on_cuda(tmp_path):
    from pyml.cli import main
    assert main(["run", "batch-size", "--quick", "--epochs", "1", "--device", "cuda", "--out", str(tmp_path)]) == 0
    (folder,) = os.listdir(tmp_path)
    with open(tmp_path / folder / "metrics.json") as f:
        saved = json.load(f)
    assert saved["metrics"]["epochs"] == 1 and len(saved["metrics"]["timing"]) == 5
