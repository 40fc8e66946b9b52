"""The cnn-digits recipe: the course's 6x6 convolution and max-pool exactly, the parameter counts
exactly, the AlphaGo-style policy network on random boards, and LeNet >= 97% on the digits (the quick
run is a 12-epoch schedule that reaches it; the full run is the demo's 40-epoch preset); one CLI run."""
import json
import os

import numpy as np
import pytest

import pyml
from pyml.recipes import cnn_digits as rec
from pyml._threads import engine_threads


@pytest.fixture(scope="module")
def quick():
    with engine_threads(1):  # steadier on a shared 2-core machine
        return rec.run(rec.Config(quick=True, progress=False))


def _numpy_correlate(image, kernel):
    """Cross-correlation (what conv2d computes), stride 1, no padding, in float64."""
    r, s = kernel.shape
    out = np.empty((image.shape[0] - r + 1, image.shape[1] - s + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i:i + r, j:j + s] * kernel)
    return out


def test_course_feature_map_and_pooling_exact(quick):
    assert quick["feature_map"] == [[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1], [3, -2, -2, -1]]
    assert quick["max_pooled"] == [[3, 0], [3, 1]]
    ref = _numpy_correlate(np.array(rec.COURSE_IMAGE, float), np.array(rec.COURSE_FILTER, float))
    assert quick["feature_map"] == ref.tolist()
    assert quick["max_pooled"] == ref.reshape(2, 2, 2, 2).max(axis=(1, 3)).tolist()


def test_parameter_counts_exact(quick):
    counts = quick["parameter_counts"]
    assert counts["fc_weights"] == 3 * 10 ** 7 and counts["fc_biases"] == 1000 and counts["fc_total"] == 30_001_000
    assert counts["conv_weights"] == 1728 and counts["conv_biases"] == 64 and counts["conv_total"] == 1792


def test_policy_network_on_random_boards(quick):
    policy = quick["policy_network"]
    assert policy["output_shape"] == [2, 361] and policy["parameters"] == 3_882_793
    assert policy["probability_sum_error"] < 1e-5 and policy["min_probability"] > 0
    assert all(0 <= m < 361 for m in policy["best_moves"])


def test_random_boards_are_seeded_binary_planes():
    a = rec.random_boards(2, pyml.Generator().manual_seed(5))
    b = rec.random_boards(2, pyml.Generator().manual_seed(5))
    assert tuple(a.shape) == (2, 48, 19, 19) and np.array_equal(a.numpy(), b.numpy())
    assert set(np.unique(a.numpy()).tolist()) == {0.0, 1.0} and 0.25 < float(a.mean()) < 0.35


def test_lenet_reaches_97_percent(quick):
    assert quick["epochs"] == 12 and quick["augment"] is False
    assert quick["test_accuracy"] >= 0.97, quick["test_accuracy"]
    assert quick["train_accuracy"] >= quick["test_accuracy"] - 0.02
    assert quick["lenet_parameters"] == 62_250


def test_full_run_uses_the_demo_preset():
    assert rec.TRAINING["full"] == pyml.demo.PRESETS["full"] and rec.TRAINING["full"]["epochs"] == 40


def test_cli_run_writes_metrics_and_checkpoint(tmp_path):
    from pyml.cli import main
    assert main(["run", "cnn-digits", "--quick", "--threads", "1", "--epochs", "1", "--out", str(tmp_path)]) == 0
    (folder,) = os.listdir(tmp_path)
    with open(tmp_path / folder / "metrics.json") as f:
        saved = json.load(f)["metrics"]
    assert saved["epochs"] == 1 and saved["max_pooled"] == [[3, 0], [3, 1]]
    state = pyml.load(str(tmp_path / folder / "lenet_digits.pyml"))
    assert tuple(state["classifier.4.weight"].shape) == (10, 128)
    assert os.path.getsize(tmp_path / folder / "lenet_curves.png") > 1000
