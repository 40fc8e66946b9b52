"""The batch-size recipe: the updates-per-epoch arithmetic, and on the quick run the chapter's claims
(an epoch gets faster as the batch grows while a small update costs about the same; after the same
epochs the small batch is at least as accurate), then one run through the CLI."""
import json
import os

import pytest

import pyml
from pyml.recipes import batch_size
from pyml._threads import engine_threads
from pyml.utils.data import DataLoader, TensorDataset


@pytest.fixture(scope="module")
def quick():
    with engine_threads(1):  # timings on a shared 2-core machine are steadier on one thread
        return batch_size.run(batch_size.Config(quick=True, progress=False))


def test_updates_per_epoch_course_example():
    assert batch_size.updates_per_epoch(10000, 10) == 1000
    assert batch_size.updates_per_epoch(10000, 1) == 10000
    assert batch_size.updates_per_epoch(10000, 10000) == 1


@pytest.mark.parametrize("n,b", [(10, 3), (97, 10), (1438, 2048), (7, 7)])
def test_updates_per_epoch_matches_dataloader(n, b):
    data = TensorDataset(pyml.arange(n))
    assert batch_size.updates_per_epoch(n, b) == len(DataLoader(data, batch_size=b))
    assert batch_size.updates_per_epoch(n, b, drop_last=True) == len(DataLoader(data, batch_size=b, drop_last=True))


@pytest.mark.parametrize("n,b", [(0, 1), (10, 0), (10, 2.5), (True, 1)])
def test_updates_per_epoch_rejects_bad_sizes(n, b):
    with pytest.raises(ValueError, match="updates_per_epoch"):
        batch_size.updates_per_epoch(n, b)


def test_time_updates_counts_only_timed_updates():
    x, y = pyml.randn(50, 64), pyml.randint(0, 10, (50,))
    seconds = batch_size.time_updates(batch_size.build_mlp(8), x, y, 16, 5, 0.1, "cpu")
    assert len(seconds) == 5 and all(s > 0 for s in seconds)


def test_quick_timing_rows(quick):
    rows = quick["timing"]
    assert [r["batch_size"] for r in rows] == [1, 10, 100, 1000, 10000]
    assert [r["updates_per_epoch"] for r in rows] == [10000, 1000, 100, 10, 1]
    assert [r["timed_updates"] for r in rows] == [20, 20, 20, 10, 5]  # quick: 20 at most, 5 at least


def test_epoch_time_falls_with_batch_size(quick):
    epoch = [r["s_per_epoch"] for r in quick["timing"]]
    assert epoch[0] > 10 * epoch[-1], epoch          # 10000 tiny updates against one big one
    assert epoch[0] > epoch[1] > epoch[2], epoch      # 10x fewer updates each, each about as cheap
    assert quick["epoch_time_ratio"] == pytest.approx(epoch[0] / epoch[-1])


def test_small_updates_cost_about_the_same(quick):
    ms = [r["ms_per_update"] for r in quick["timing"]]
    assert ms[1] < 4 * ms[0], ms     # B=10 does 10x the work of B=1 in far less than 10x the time
    assert ms[-1] > ms[0], ms        # but a 10000-sample update is not free


def test_small_batch_is_at_least_as_accurate(quick):
    rows = quick["accuracy"]
    assert rows[-1]["batch_size"] == 1438 and rows[-1]["updates"] == quick["epochs"]  # one full batch
    assert rows[0]["test_accuracy"] >= 0.9
    assert rows[0]["test_accuracy"] >= rows[-1]["test_accuracy"]
    assert rows[0]["train_accuracy"] >= rows[-1]["train_accuracy"]


def test_cli_run_writes_metrics(tmp_path):
    from pyml.cli import main
    before = pyml.get_num_threads()
    assert main(["run", "batch-size", "--quick", "--threads", "1", "--epochs", "1", "--out", str(tmp_path)]) == 0
    assert pyml.get_num_threads() == before  # --threads applies to the run only
    (folder,) = os.listdir(tmp_path)
    with open(tmp_path / folder / "metrics.json") as f:
        saved = json.load(f)
    assert saved["recipe"] == "batch-size" and saved["metrics"]["epochs"] == 1
    assert [r["updates_per_epoch"] for r in saved["metrics"]["timing"]] == [10000, 1000, 100, 10, 1]
    assert os.path.getsize(tmp_path / folder / "batch_size.png") > 1000
