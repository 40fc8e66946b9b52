"""The transformer recipe (course ch. 7): the exact greedy-vs-beam example and warmup schedule, the
quick run learning the copy task (greedy and beam, BLEU), scheduled sampling and the
non-autoregressive model training, the task data and the sampling mix; and `pyml run transformer`."""
import json
import math
import os

import pytest

import pyml
import pyml.cli
from pyml.recipes import _sequence_tasks as tasks
from pyml.recipes import transformer as tr
from pyml._threads import engine_threads


@pytest.fixture(scope="module")
def metrics():
    with engine_threads(1):
        yield tr.run(tr.Config(quick=True, progress=False))


def test_greedy_vs_beam_exact_example(metrics):
    assert metrics["ab_greedy_path"] == "ABB" and metrics["ab_greedy_prob"] == pytest.approx(0.216, abs=1e-12)
    assert metrics["ab_beam_path"] == "BBB" and metrics["ab_beam_prob"] == pytest.approx(0.324, abs=1e-12)


def test_warmup_schedule_values(metrics):
    assert metrics["warmup_peak_step"] == 4000
    assert metrics["warmup_peak_lr"] == pytest.approx(6.99e-4, abs=5e-7)
    assert metrics["warmup_lr_step4000"] == pytest.approx(512 ** -0.5 * 4000 ** -0.5, rel=1e-12)
    assert metrics["warmup_lr_step1"] == pytest.approx(512 ** -0.5 * 4000 ** -1.5, rel=1e-12)
    assert metrics["warmup_max_formula_diff"] < 1e-15


def test_copy_task_learned(metrics):
    assert metrics["copy_last_loss"] < metrics["copy_first_loss"] / 20
    assert metrics["copy_seq_acc"] >= 0.8
    assert metrics["copy_bleu"] >= 0.85
    assert metrics["copy_beam_seq_acc"] >= metrics["copy_seq_acc"] - 0.05
    assert metrics["copy_beam_log_prob"] >= metrics["copy_greedy_log_prob"] - 1e-3  # beam finds likelier outputs


def test_scheduled_sampling_and_non_autoregressive(metrics):
    for name in ("teacher_forcing", "scheduled_sampling"):
        assert metrics[f"{name}_last_loss"] < 0.85 * metrics[f"{name}_first_loss"]
    assert metrics["nat_length_acc"] >= 0.9
    assert metrics["nat_seq_acc"] >= 0.6 and metrics["nat_bleu"] >= 0.6
    assert metrics["at_seq_acc"] == pytest.approx(metrics["copy_seq_acc"])  # the same model, decoded again


def test_task_pairs():
    for task, check in [("copy", lambda s, t: t == s), ("reverse", lambda s, t: t == s[::-1]),
                        ("sort", lambda s, t: t == sorted(s))]:
        pairs = tasks.make_pairs(task, 50, 2, 6, seed=3)
        assert all(check(s, t) and 2 <= len(s) <= 6 for s, t in pairs)
    for s, t in tasks.make_pairs("addition", 50, 1, 3, seed=4):
        a, b = tasks.as_text(s).replace(" ", "").split("+")
        assert int(a) + int(b) == int(tasks.as_text(t).replace(" ", ""))
    src, tgt_in, tgt_out = tasks.batch([([3, 4], [4, 3]), ([5], [5])])
    assert src.tolist() == [[3, 4], [5, 0]]
    assert tgt_in.tolist() == [[1, 4, 3], [1, 5, 0]] and tgt_out.tolist() == [[4, 3, 2], [5, 2, 0]]
    with pytest.raises(ValueError, match="make_pairs: task"):
        tasks.make_pairs("translate", 1, 1, 2, seed=0)


def test_scheduled_sampling_mix():
    pyml.manual_seed(0)
    model = tr.TransformerSeq2Seq(tasks.VOCAB, tasks.VOCAB, d_model=16, nhead=2, num_encoder_layers=1,
                                  num_decoder_layers=1, dim_feedforward=16, dropout=0.0).eval()
    src, tgt_in, _ = tasks.batch(tasks.make_pairs("copy", 64, 2, 6, seed=1))
    gen = pyml.Generator().manual_seed(0)
    assert tasks.mix_own_predictions(model, src, tgt_in, 0.0, gen).tolist() == tgt_in.tolist()
    with pyml.no_grad():
        guess = model(src, tgt_in).argmax(-1)
    mixed = tasks.mix_own_predictions(model, src, tgt_in, 1.0, gen)
    real = tgt_in[:, 1:] != tasks.PAD
    assert (mixed[:, 0] == tasks.BOS).all()
    assert bool((mixed[:, 1:][real] == guess[:, :-1][real]).all())
    assert bool((mixed[:, 1:][real.logical_not()] == tasks.PAD).all())
    half = tasks.mix_own_predictions(model, src, tgt_in, 0.5, gen)
    changed = (half[:, 1:] != tgt_in[:, 1:])[real].double().mean().item()
    could_change = (guess[:, :-1] != tgt_in[:, 1:])[real].double().mean().item()
    assert abs(changed - 0.5 * could_change) < 0.1


def test_cli_run_writes_metrics(tmp_path):
    assert pyml.cli.main(["run", "transformer", "--quick", "--epochs", "1", "--threads", "1", "--out",
                              str(tmp_path)]) == 0
    (folder,) = os.listdir(tmp_path)
    with open(os.path.join(tmp_path, folder, "metrics.json")) as f:
        saved = json.load(f)
    assert saved["recipe"] == "transformer" and saved["config"]["epochs"] == 1
    assert saved["metrics"]["ab_beam_path"] == "BBB" and math.isfinite(saved["metrics"]["copy_last_loss"])
    assert os.path.exists(os.path.join(tmp_path, folder, "warmup_schedule.png"))
