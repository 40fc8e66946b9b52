"""The batchnorm recipe: on the quick run the deep sigmoid MLP stalls at chance without BatchNorm at
every learning rate and trains with it at x1/x5/x30; BatchNorm1d's train/eval semantics against NumPy
float64 (in the recipe) and against torch (here); the model's layout; one run through the CLI."""
import json
import math
import os

import numpy as np
import pytest

import pyml
from pyml import nn
from pyml.recipes import batchnorm as rec
from pyml._threads import engine_threads


@pytest.fixture(scope="module")
def quick():
    with engine_threads(1):  # steadier on a shared 2-core machine
        return rec.run(rec.Config(quick=True, progress=False))


def _runs(quick, batch_norm):
    return {r["lr_multiplier"]: r for r in quick["runs"] if r["batch_norm"] == batch_norm}


def test_without_batchnorm_the_deep_sigmoid_net_stalls(quick):
    plain = _runs(quick, False)
    assert sorted(plain) == [1, 5, 30]
    for r in plain.values():
        assert r["train_loss"] > 2.2 and abs(r["train_loss"] - math.log(10)) < 0.05, r   # chance: ln 10
        assert r["test_accuracy"] < 0.2, r


def test_with_batchnorm_it_trains_at_every_rate(quick):
    plain, normed = _runs(quick, False), _runs(quick, True)
    for m in (1, 5, 30):
        assert normed[m]["test_accuracy"] >= 0.8, normed[m]
        assert normed[m]["test_accuracy"] > plain[m]["test_accuracy"] + 0.5
    assert normed[30]["train_loss"] < normed[5]["train_loss"] < normed[1]["train_loss"]  # larger steps: faster
    assert len(normed[1]["test_accuracy_per_epoch"]) == quick["epochs"] == 5


def test_batchnorm_modes_match_numpy(quick):
    check = quick["batchnorm_check"]
    assert check["batches_tracked"] == 2
    for key in ("train_output", "running_mean", "running_var", "eval_output"):
        assert check[key] < 1e-5, (key, check)
    assert check["eval_row_vs_alone"] < 1e-6 and check["eval_buffers_moved"] == 0


def test_batchnorm1d_matches_torch(rng):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.BatchNorm1d(6, momentum=0.3), torch.nn.BatchNorm1d(6, momentum=0.3)
    gamma, beta = rng.uniform(0.5, 2, 6).astype(np.float32), rng.normal(size=6).astype(np.float32)
    with pyml.no_grad():
        ours.weight.copy_(pyml.from_numpy(gamma))
        ours.bias.copy_(pyml.from_numpy(beta))
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(gamma))
        theirs.bias.copy_(torch.from_numpy(beta))
    for mode, n in (("train", 9), ("train", 4), ("eval", 5)):
        x = (rng.normal(size=(n, 6)) * 3 + 1).astype(np.float32)
        ours.train(mode == "train"), theirs.train(mode == "train")
        np.testing.assert_allclose(ours(pyml.from_numpy(x)).detach().numpy(),
                                   theirs(torch.from_numpy(x)).detach().numpy(), atol=1e-5, err_msg=mode)
    np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(), atol=1e-6)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), atol=1e-5)


def test_deep_sigmoid_mlp_layout():
    plain, normed = rec.deep_sigmoid_mlp(3, 16, False), rec.deep_sigmoid_mlp(3, 16, True)
    kinds = [type(m).__name__ for m in normed]
    assert kinds == ["Flatten"] + ["Linear", "BatchNorm1d", "Sigmoid"] * 3 + ["Linear"]
    linear = (64 * 16 + 16) + 2 * (16 * 16 + 16) + (16 * 10 + 10)
    assert sum(p.numel() for p in plain.parameters()) == linear
    assert sum(p.numel() for p in normed.parameters()) == linear - 3 * 16 + 3 * 2 * 16  # bias -> gamma, beta
    assert tuple(normed.eval()(pyml.randn(2, 1, 8, 8)).shape) == (2, 10)


def test_cli_run_writes_metrics(tmp_path):
    from pyml.cli import main
    assert main(["run", "batchnorm", "--quick", "--threads", "1", "--epochs", "1", "--out", str(tmp_path)]) == 0
    (folder,) = os.listdir(tmp_path)
    with open(tmp_path / folder / "metrics.json") as f:
        saved = json.load(f)["metrics"]
    assert saved["epochs"] == 1 and len(saved["runs"]) == 6
    assert saved["batchnorm_check"]["batches_tracked"] == 2
    assert os.path.getsize(tmp_path / folder / "batchnorm.png") > 1000
