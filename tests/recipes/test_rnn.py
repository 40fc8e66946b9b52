"""The rnn recipe (course ch. 5): its quick run reproduces the chapter's exact numbers, CTC matches
the brute-force sum over alignments, the bi-LSTM tags the slots and the seq2seq RNN learns to
reverse; the grammar and the brute-force CTC are checked on their own; and `pyml run rnn` works."""
import json
import math
import os

import numpy as np
import pytest

import pyml
import pyml.cli
from pyml.recipes import _slot_grammar as grammar
from pyml.recipes import rnn
from pyml._threads import engine_threads


@pytest.fixture(scope="module")
def metrics():
    with engine_threads(1):  # small recurrent steps: one engine thread is fastest on the shared CPU
        yield rnn.run(rnn.Config(quick=True, progress=False))


def test_exact_rnn_and_lstm_traces(metrics):
    assert metrics["toy_rnn_outputs"] == [[4.0, 4.0], [12.0, 12.0], [32.0, 32.0]]
    assert metrics["lstm_trace_rounded"] == [0, 0, 0, 7, 0]
    np.testing.assert_allclose(metrics["lstm_trace"], [0, 0, 0, 7, 0], atol=1e-3)
    # first output is 3 * sigmoid(-10) (the output gate is almost closed), by hand
    assert metrics["lstm_trace"][0] == pytest.approx(3 / (1 + math.exp(10)), rel=1e-4)


def test_exploding_and_vanishing_recurrence(metrics):
    assert metrics["w1.01_y"] == pytest.approx(20752, abs=1.0)
    assert metrics["w1.01_y"] == pytest.approx(1.01 ** 999, rel=1e-12)
    assert metrics["w0.99_y"] == pytest.approx(4.4e-5, abs=0.05e-5)
    assert metrics["w0.99_y"] == pytest.approx(0.99 ** 999, rel=1e-12)
    for w in (1.01, 0.99, 1.0):
        assert metrics[f"w{w}_grad"] == pytest.approx(999 * w ** 998, rel=1e-12)
    assert metrics["w1.0_y"] == 1.0 and metrics["w1.0_grad"] == 999.0


def test_gradient_clipping(metrics):
    assert metrics["clip_total_norm"] == pytest.approx(13.0)
    np.testing.assert_allclose(metrics["clip_by_norm_6.5"], [1.5, 2.0, 6.0], rtol=1e-6)  # scaled by 6.5 / 13
    assert metrics["clip_by_value_5"] == [3.0, 4.0, 5.0]
    assert metrics["clipped_exploding_grad"] == pytest.approx(1.0, abs=1e-6)


def test_ctc_matches_brute_force(metrics):
    assert metrics["ctc_max_abs_loss_diff"] < 1e-10
    assert metrics["ctc_max_abs_grad_diff"] < 1e-10
    assert metrics["ctc_collapse"] == "good great" and metrics["ctc_greedy"] == "good great"
    assert metrics["ctc_alignments"][3] == 1  # the empty target: only the all-blank path


def test_brute_force_ctc_by_hand():
    p = np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]])
    lp = pyml.tensor(np.log(p), dtype=pyml.float64)
    loss, n = rnn.brute_force_ctc(lp, [1])  # paths 1-, -1, 11
    want = p[0, 1] * p[1, 0] + p[0, 0] * p[1, 1] + p[0, 1] * p[1, 1]
    assert n == 3 and loss.item() == pytest.approx(-math.log(want), rel=1e-12)
    loss, n = rnn.brute_force_ctc(lp, [1, 2])
    assert n == 1 and loss.item() == pytest.approx(-math.log(p[0, 1] * p[1, 2]), rel=1e-12)


def test_slot_filling_bidirectional_tagger(metrics):
    assert metrics["slot_bilstm_token_acc"] >= 0.93
    assert metrics["slot_bilstm_city_acc"] >= 0.8


def test_seq2seq_rnn_learns_to_reverse(metrics):
    assert metrics["seq2seq_last_loss"] < metrics["seq2seq_first_loss"] / 10
    assert metrics["seq2seq_reverse_seq_acc"] >= 0.8


def test_grammar_tags_and_roles():
    sentences = grammar.make_sentences(300, seed=5)
    assert sentences == grammar.make_sentences(300, seed=5)
    late = set(grammar.verb_after_city(sentences))
    for i, s in enumerate(sentences):
        tags = [t for _, t in s]
        for prev, tag in zip(["O"] + tags, tags):  # BIO: an I- tag continues the same slot
            assert not tag.startswith("I-") or prev[2:] == tag[2:]
        words = " ".join(w for w, _ in s)
        if i in late:
            assert " is where i will " in words
        assert {"B-date"} <= set(tags) and {"B-arrive", "B-leave"} & set(tags)
    tokens, tags = grammar.encode(sentences[:2], grammar.vocabulary(sentences), 30)
    assert tuple(tokens.shape) == (2, 30) and int(tags[0, len(sentences[0]):].abs().sum()) == 0


def test_cli_run_writes_metrics(tmp_path):
    assert pyml.cli.main(["run", "rnn", "--quick", "--epochs", "1", "--threads", "1", "--out", str(tmp_path)]) == 0
    (folder,) = os.listdir(tmp_path)
    with open(os.path.join(tmp_path, folder, "metrics.json")) as f:
        saved = json.load(f)
    assert saved["recipe"] == "rnn" and saved["config"]["quick"] is True and saved["config"]["epochs"] == 1
    assert saved["metrics"]["lstm_trace_rounded"] == [0, 0, 0, 7, 0]
    assert 0 <= saved["metrics"]["slot_bilstm_token_acc"] <= 1
