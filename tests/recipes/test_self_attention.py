"""The self-attention recipe (course ch. 6): on context-dependent tagging the per-token MLP stays at
or below the exact context-free bound while full and banded self-attention pass it; masks leave
exactly zero weight where they forbid; attention matches its formula; the plot and the CLI run."""
import json
import os

import numpy as np
import pytest

import pyml
import pyml.cli
from pyml.recipes import _ambiguous_tagging as pos
from pyml.recipes import self_attention as sa
from pyml._threads import engine_threads


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    return str(tmp_path_factory.mktemp("self_attention"))


@pytest.fixture(scope="module")
def metrics(run_folder):
    with engine_threads(1):
        yield sa.run(sa.Config(quick=True, progress=False, out=run_folder))


def test_mlp_is_bounded_and_attention_passes_the_bound(metrics):
    bound = metrics["context_free_bound"]
    assert 0.8 < bound < 0.95  # the grammar's noun/verb words make a one-word tagger err
    assert metrics["token_mlp_acc"] <= bound + 1e-12
    assert metrics["self_attention_acc"] >= bound + 0.04
    assert metrics["banded_attention_acc"] >= bound + 0.04
    assert metrics["token_mlp_ambiguous_acc"] <= 0.7
    assert metrics["self_attention_ambiguous_acc"] >= metrics["token_mlp_ambiguous_acc"] + 0.2


def test_masks_and_formula(metrics):
    assert metrics["band_weight_outside"] == 0.0
    assert metrics["graph_weight_outside_edges"] == 0.0
    assert metrics["graph_row_sum_error"] < 1e-6
    assert metrics["sdpa_scaled_max_diff"] < 1e-5 and metrics["sdpa_unscaled_max_diff"] < 1e-5


def test_attention_plot_written(metrics, run_folder):
    path = os.path.join(run_folder, "attention_maps.png")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_attention_mask_by_hand():
    tokens = pyml.tensor([[5, 6, 7, 0], [5, 6, 0, 0]])
    mask = sa.attention_mask(tokens, nhead=2, band=1)
    assert tuple(mask.shape) == (4, 4, 4)
    allowed_row0 = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 0], [0, 0, 1, 1]], bool)  # pad sees band
    allowed_row1 = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 1, 1, 1], [0, 0, 1, 1]], bool)
    np.testing.assert_array_equal(mask.numpy()[0], ~allowed_row0)
    np.testing.assert_array_equal(mask.numpy()[1], ~allowed_row0)  # head copies of row 0
    np.testing.assert_array_equal(mask.numpy()[2], ~allowed_row1)
    full = sa.attention_mask(tokens, nhead=1).numpy()
    np.testing.assert_array_equal(full[1], [[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]])


def test_context_free_bound_by_hand():
    sentences = [[("i", "PRON"), ("saw", "VERB"), ("a", "DET"), ("saw", "NOUN")],
                 [("a", "DET"), ("saw", "NOUN")]]
    # saw: NOUN twice, VERB once -> 2 of 3 right; every other word always right: (6 - 1) / 6
    assert pos.context_free_bound(sentences) == pytest.approx(5 / 6)
    made = pos.make_sentences(200, seed=1)
    tags = {t for s in made for w, t in s if w in pos.AMBIGUOUS}
    assert tags == {"NOUN", "VERB"}


def test_cli_run_writes_metrics(tmp_path):
    assert pyml.cli.main(["run", "self-attention", "--quick", "--epochs", "1", "--threads", "1", "--out",
                              str(tmp_path)]) == 0
    (folder,) = os.listdir(tmp_path)
    with open(os.path.join(tmp_path, folder, "metrics.json")) as f:
        saved = json.load(f)
    assert saved["recipe"] == "self-attention" and saved["config"]["epochs"] == 1
    assert saved["metrics"]["token_mlp_acc"] <= saved["metrics"]["context_free_bound"] + 1e-12
    assert os.path.exists(os.path.join(tmp_path, folder, "attention_maps.png"))
