"""pyml.decoding against the course's exact example, exhaustive search and a plain-list reference
beam search on random next-token tables, sampling frequencies, and CTC best-path decoding."""
import itertools
import math

import numpy as np
import pytest

import pyml
from pyml.decoding import beam_search, ctc_collapse, ctc_greedy_decode, greedy_decode, sample_decode

A, B, EOS, BOS = 0, 1, 2, 3


def course_step(prefix):
    """TEXTBOOK ch. 6-7: A 0.6 / B 0.4, then A->B 0.6, B->B 0.9, AB->B 0.6, BB->B 0.9; eos after 3."""
    table = {(): (0.6, 0.4), (A,): (0.4, 0.6), (B,): (0.1, 0.9), (A, A): (0.5, 0.5), (A, B): (0.4, 0.6),
             (B, A): (0.5, 0.5), (B, B): (0.1, 0.9)}
    rows = []
    for row in prefix.tolist():
        made = tuple(row[1:])
        p = (0.0, 0.0, 1.0) if len(made) >= 3 or EOS in made else table[made] + (0.0,)
        rows.append([math.log(x) if x > 0 else -math.inf for x in p])
    return pyml.tensor(rows, dtype=pyml.float64)


def test_course_example_greedy_vs_beam():
    tokens, score = greedy_decode(course_step, BOS, EOS, 6)
    assert tokens.tolist() == [[BOS, A, B, B, EOS]]
    assert math.exp(score.item()) == pytest.approx(0.216, abs=1e-12)
    tokens, score = beam_search(course_step, BOS, EOS, beam_width=2, max_len=6)
    assert tokens.tolist() == [[BOS, B, B, B, EOS]]
    assert math.exp(score.item()) == pytest.approx(0.324, abs=1e-12)
    tokens, _ = beam_search(course_step, BOS, EOS, beam_width=1, max_len=6)
    assert tokens.tolist() == [[BOS, A, B, B, EOS]]  # width 1 is greedy


class RandomTable:
    """A random language model: each prefix gets its own seeded log-softmax over V tokens."""

    def __init__(self, V, seed, eos_bias=0.0):
        self.V, self.seed, self.eos_bias = V, seed, eos_bias

    def log_probs(self, made):
        rng = np.random.default_rng([self.seed] + [t + 1 for t in made])
        logits = rng.normal(size=self.V) * 2.0
        logits[EOS] += self.eos_bias
        return logits - np.log(np.exp(logits - logits.max()).sum()) - logits.max()

    def __call__(self, prefix):
        rows = [self.log_probs(tuple(row[1:])) for row in prefix.tolist()]
        return pyml.tensor(np.array(rows), dtype=pyml.float64)


def reference_beam(table, K, max_len, alpha):
    """Plain-list beam search with the same rules: finished beams stay, ranked by lp / len^alpha."""
    def rank(b):
        return b[0] / max(b[2], 1) ** alpha if alpha else b[0]
    beams = [(0.0, [BOS], 0, False)]
    for _ in range(max_len):
        cands = []
        for lp, seq, n, fin in beams:
            if fin:
                cands.append((lp, seq + [EOS], n, True))
                continue
            logp = table.log_probs(tuple(seq[1:]))
            cands += [(lp + logp[v], seq + [v], n + 1, v == EOS) for v in range(table.V)]
        beams = sorted(cands, key=rank, reverse=True)[:K]
        if all(b[3] for b in beams):
            break
    best = max(beams, key=rank)
    return best[1], rank(best)


@pytest.mark.parametrize("K,alpha,seed", [(2, 0.0, 0), (3, 0.0, 1), (3, 1.0, 2), (4, 0.6, 3), (2, 1.0, 4)])
def test_beam_matches_reference(K, alpha, seed):
    table = RandomTable(V=5, seed=seed)
    tokens, score = beam_search(table, BOS, EOS, beam_width=K, max_len=5, length_penalty=alpha)
    ref_tokens, ref_score = reference_beam(table, K, 5, alpha)
    row = tokens[0].tolist()
    assert row[:len(ref_tokens)] == ref_tokens and all(t == EOS for t in row[len(ref_tokens):])
    assert score.item() == pytest.approx(ref_score, abs=1e-12)


def exhaustive_best(table, max_len):
    """Most probable sequence (ended by eos or by max_len) over all V^n continuations."""
    best = (-math.inf, None)
    for n in range(1, max_len + 1):
        for seq in itertools.product(range(table.V), repeat=n):
            if EOS in seq[:-1]:
                continue
            lp = sum(table.log_probs(seq[:i])[seq[i]] for i in range(n))
            if seq[-1] == EOS or n == max_len:
                best = max(best, (lp, list(seq)))
    return best


def test_wide_beam_is_exhaustive_search():
    table = RandomTable(V=4, seed=7, eos_bias=1.0)
    best_lp, best_seq = exhaustive_best(table, 3)
    tokens, score = beam_search(table, BOS, EOS, beam_width=64, max_len=3)
    assert tokens[0].tolist()[1:1 + len(best_seq)] == best_seq
    assert score.item() == pytest.approx(best_lp, abs=1e-12)


def test_batched_rows_follow_their_own_prefix():
    table = RandomTable(V=6, seed=11)
    starts = pyml.tensor([[BOS, 0], [BOS, 4], [BOS, 1]])
    tokens, scores = beam_search(table, starts, EOS, beam_width=3, max_len=4)
    greedy_tokens, greedy_scores = greedy_decode(table, starts, EOS, 4)
    for i in range(3):
        one, one_score = beam_search(table, starts[i:i + 1], EOS, beam_width=3, max_len=4)
        n = one.shape[1]
        assert tokens[i].tolist()[:n] == one[0].tolist() and scores[i].item() == pytest.approx(one_score.item())
        g, g_score = greedy_decode(table, starts[i:i + 1], EOS, 4)
        assert greedy_tokens[i].tolist()[:g.shape[1]] == g[0].tolist()
        assert greedy_scores[i].item() == pytest.approx(g_score.item())


def test_greedy_pads_finished_rows_with_eos_and_stops():
    calls = []

    def step(prefix):
        calls.append(prefix.shape[1])
        V = 4
        out = np.full((prefix.shape[0], V), -5.0)
        for r, row in enumerate(prefix.tolist()):
            out[r, EOS if len(row) >= row[0] else 0] = -0.01  # a row starting with b ends at length b + 1
        return pyml.tensor(out, dtype=pyml.float64)

    tokens, scores = greedy_decode(step, [1, 3], EOS, 10)
    assert tokens.tolist() == [[1, EOS, EOS, EOS], [3, 0, 0, EOS]]
    assert scores.tolist() == pytest.approx([-0.01, -0.03])
    assert calls == [1, 2, 3]  # stops once every row has ended


def frequencies(tokens, V):
    return np.bincount(np.array(tokens.tolist())[:, 1], minlength=V) / tokens.shape[0]


def test_sampling_frequencies_temperature_top_k_top_p():
    p = np.array([0.5, 0.3, 0.15, 0.05])

    def step(prefix):
        return pyml.tensor(np.tile(np.log(p), (prefix.shape[0], 1)), dtype=pyml.float64)

    n = 4000
    gen = pyml.Generator().manual_seed(0)
    tokens, scores = sample_decode(step, [BOS] * n, EOS, 1, generator=gen)
    assert np.abs(frequencies(tokens, 4) - p).max() < 0.03
    assert np.allclose(scores.numpy(), np.log(p)[np.array(tokens.tolist())[:, 1]])
    hot = p ** 0.5 / (p ** 0.5).sum()
    tokens, _ = sample_decode(step, [BOS] * n, EOS, 1, temperature=2.0, generator=gen)
    assert np.abs(frequencies(tokens, 4) - hot).max() < 0.03
    tokens, _ = sample_decode(step, [BOS] * n, EOS, 1, top_k=2, generator=gen)
    assert np.abs(frequencies(tokens, 4) - np.array([5, 3, 0, 0]) / 8).max() < 0.03
    tokens, _ = sample_decode(step, [BOS] * n, EOS, 1, top_p=0.9, generator=gen)  # 0.5 + 0.3 + 0.15 reaches 0.9
    assert np.abs(frequencies(tokens, 4) - np.array([0.5, 0.3, 0.15, 0]) / 0.95).max() < 0.03


def test_sampling_is_seeded_and_top_k_one_is_greedy():
    table = RandomTable(V=6, seed=5)
    a, _ = sample_decode(table, [BOS] * 8, EOS, 6, generator=pyml.Generator().manual_seed(3))
    b, _ = sample_decode(table, [BOS] * 8, EOS, 6, generator=pyml.Generator().manual_seed(3))
    assert a.tolist() == b.tolist()
    greedy, g_scores = greedy_decode(table, [BOS] * 2, EOS, 6)
    sampled, s_scores = sample_decode(table, [BOS] * 2, EOS, 6, top_k=1)
    assert sampled.tolist() == greedy.tolist() and np.allclose(s_scores.numpy(), g_scores.numpy())


def test_ctc_collapse_course_example():
    assert ctc_collapse("good null null great null null".split(), "null") == ["good", "great"]
    assert ctc_collapse([1, 1, 0, 1, 2, 2, 0, 0, 3], 0) == [1, 1, 2, 3]
    assert ctc_collapse([0, 0, 0], 0) == []


def test_ctc_greedy_decode_batched_with_lengths():
    paths = [[1, 1, 0, 2, 2, 0, 2], [0, 3, 3, 3, 0, 1, 1]]
    lp = np.full((7, 2, 4), -3.0)
    for n, path in enumerate(paths):
        for t, c in enumerate(path):
            lp[t, n, c] = -0.1
    x = pyml.tensor(lp, dtype=pyml.float32)
    assert ctc_greedy_decode(x) == [[1, 2, 2], [3, 1]]
    assert ctc_greedy_decode(x, input_lengths=[4, 5]) == [[1, 2], [3]]
    assert ctc_greedy_decode(x[:, 0]) == [1, 2, 2]
    assert ctc_greedy_decode(x, blank=3) == [[1, 0, 2, 0, 2], [0, 0, 1]]


def test_errors():
    with pytest.raises(TypeError, match="greedy_decode: step_fn"):
        greedy_decode(None, BOS, EOS, 3)
    with pytest.raises(ValueError, match="beam_search: beam_width"):
        beam_search(course_step, BOS, EOS, beam_width=0)
    with pytest.raises(ValueError, match="greedy_decode: step_fn must return"):
        greedy_decode(lambda p: pyml.zeros(p.shape[0] + 1, 3), BOS, EOS, 3)
    with pytest.raises(IndexError, match="eos"):
        greedy_decode(course_step, BOS, 9, 3)
    with pytest.raises(TypeError, match="bos"):
        greedy_decode(course_step, 1.5, EOS, 3)
    with pytest.raises(ValueError, match="temperature"):
        sample_decode(course_step, BOS, EOS, 3, temperature=0)
    with pytest.raises(ValueError, match="top_p"):
        sample_decode(course_step, BOS, EOS, 3, top_p=1.5)
    with pytest.raises(ValueError, match="ctc_greedy_decode: log_probs"):
        ctc_greedy_decode(pyml.zeros(3))
    with pytest.raises(IndexError, match="blank"):
        ctc_greedy_decode(pyml.zeros(3, 4), blank=4)
