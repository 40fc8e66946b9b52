"""pyml.metrics against counts worked out by hand: the BLEU paper's examples (modified precision,
brevity penalty, corpus-level sums), add-one smoothing, Levenshtein distances and accuracies."""
import math

import numpy as np
import pytest

import pyml
from pyml.metrics import bleu, edit_distance, sentence_bleu, sequence_accuracy, token_accuracy


def test_modified_unigram_precision_papineni():
    # "the" x7 against two references: "the" occurs at most twice in one reference -> 2/7
    refs = ["the cat is on the mat", "there is a cat on the mat"]
    assert sentence_bleu("the the the the the the the", refs, max_n=1) == pytest.approx(2 / 7)


def test_papineni_candidate_one_unigram_and_bigram():
    cand = "It is a guide to action which ensures that the military always obeys the commands of the party"
    refs = ["It is a guide to action that ensures that the military will forever heed Party commands",
            "It is the guiding principle which guarantees the military forces always being under the command of "
            "the Party",
            "It is the practical guide for the army always to heed the directions of the party"]
    # by hand: every unigram but "obeys" is found (18 words, "the" x3 clipped by ref 2's four) -> 17/18;
    # bigrams found: It is, is a, a guide, guide to, to action, ensures that, that the, the military,
    # of the, the party -> 10 of 17 (the paper's numbers too)
    p1 = sentence_bleu(cand, refs, max_n=1)
    assert p1 == pytest.approx(17 / 18)  # 18 words and reference 2 has 18 too: BP = 1
    p12 = sentence_bleu(cand, refs, max_n=2)
    assert p12 == pytest.approx(math.sqrt(17 / 18 * 10 / 17))


def test_four_gram_bleu_by_hand_and_smoothing():
    cand, ref = "the cat sat on the mat", "the cat is on the mat"
    # 1-grams 5/6 (the, cat, on, the, mat), 2-grams 3/5 (the cat, on the, the mat), 3-grams 1/4 (on the mat),
    # 4-grams 0/3; equal lengths -> BP = 1
    assert sentence_bleu(cand, [ref], max_n=3) == pytest.approx(0.5)  # (5/6 * 3/5 * 1/4)^(1/3) = (1/8)^(1/3)
    assert sentence_bleu(cand, [ref]) == 0.0
    smoothed = (5 / 6 * 4 / 6 * 2 / 5 * 1 / 4) ** 0.25  # add one to n >= 2 only
    assert sentence_bleu(cand, [ref], smooth=True) == pytest.approx(smoothed)
    assert sentence_bleu(cand.split(), [ref.split()], smooth=True) == pytest.approx(smoothed)  # token lists


def test_brevity_penalty_and_closest_reference_length():
    # perfect 1-2-gram precision but 2 words against 6: BP = exp(1 - 6/2)
    assert sentence_bleu("the cat", ["the cat is on the mat"], max_n=2) == pytest.approx(math.exp(-2))
    # lengths 3 and 5 are equally close to 4: the shorter (3) is used, so c = 4 > r and BP = 1
    refs = ["a b c", "a b c d e"]
    assert sentence_bleu("a b c d", refs, max_n=1) == pytest.approx(1.0)
    assert sentence_bleu("a b c d", refs[1:], max_n=1) == pytest.approx(math.exp(1 - 5 / 4))


def test_corpus_bleu_sums_counts_before_dividing():
    cands = ["a b c d", "x y"]
    refs = [["a b c d"], ["x z"]]
    # unigrams (4 + 1) / (4 + 2), bigrams (3 + 0) / (3 + 1); c = r = 6
    assert bleu(cands, refs, max_n=2) == pytest.approx(math.sqrt(5 / 6 * 3 / 4))
    assert sentence_bleu(cands[1], refs[1], max_n=2) == 0.0  # the sentence alone has no bigram match


def test_bleu_token_ids_and_tensors():
    cand = pyml.tensor([3, 4, 5, 6])
    assert sentence_bleu(cand, [[3, 4, 5, 6]]) == pytest.approx(1.0)
    assert sentence_bleu([3, 4, 5, 6], [3, 4, 5, 6]) == pytest.approx(1.0)  # one id reference
    assert bleu([[1, 2]], [[[1, 2], [2, 1]]], max_n=2) == pytest.approx(1.0)


def test_bleu_errors():
    with pytest.raises(ValueError, match="same length"):
        bleu(["a"], [])
    with pytest.raises(ValueError, match="max_n"):
        bleu(["a"], ["a"], max_n=0)
    with pytest.raises(TypeError, match="candidates"):
        bleu("a b", ["a b"])
    with pytest.raises(TypeError, match="candidate"):
        bleu([3.5], ["a"])


@pytest.mark.parametrize("a,b,d", [("kitten", "sitting", 3), ("flaw", "lawn", 2), ("", "abc", 3), ("abc", "", 3),
                                   ("same", "same", 0), ("intention", "execution", 5),
                                   ([1, 2, 3, 4], [1, 3, 4, 5], 2)])
def test_edit_distance(a, b, d):
    assert edit_distance(a, b) == d
    assert edit_distance(b, a) == d


def test_edit_distance_tensors_and_brute_force():
    assert edit_distance(pyml.tensor([1, 2, 3]), pyml.tensor([3, 2, 1])) == 2
    rng = np.random.default_rng(0)
    for _ in range(20):  # distance to a string with exactly k substitutions is at most k
        a = "".join(rng.choice(list("abc"), 6))
        b = list(a)
        k = int(rng.integers(0, 4))
        for i in rng.choice(6, k, replace=False):
            b[i] = "z"
        assert edit_distance(a, "".join(b)) == k
    with pytest.raises(TypeError, match="edit_distance"):
        edit_distance(3, "a")


def test_token_accuracy_ignore_index_and_scores():
    target = np.array([[1, 2, 3, 0], [4, 4, 0, 0]])
    pred = np.array([[1, 2, 1, 2], [4, 3, 0, 1]])
    assert token_accuracy(pred, target) == pytest.approx(4 / 8)
    assert token_accuracy(pred, target, ignore_index=0) == pytest.approx(3 / 5)
    scores = np.eye(5)[pred]  # one-hot scores: argmax gives pred back
    assert token_accuracy(pyml.tensor(scores), pyml.tensor(target), ignore_index=0) == pytest.approx(3 / 5)
    with pytest.raises(ValueError, match="token_accuracy: pred"):
        token_accuracy(pred[:, :3], target)
    with pytest.raises(ValueError, match="no position"):
        token_accuracy(pred, np.zeros_like(target), ignore_index=0)


def test_sequence_accuracy_rectangular_and_ragged():
    target = np.array([[1, 2, 3, 0], [4, 4, 0, 0], [5, 6, 7, 8]])
    pred = np.array([[1, 2, 3, 9], [4, 4, 0, 0], [5, 6, 7, 7]])
    assert sequence_accuracy(pred, target) == pytest.approx(1 / 3)
    assert sequence_accuracy(pred, target, ignore_index=0) == pytest.approx(2 / 3)
    assert sequence_accuracy(pyml.tensor(pred), pyml.tensor(target), ignore_index=0) == pytest.approx(2 / 3)
    assert sequence_accuracy([[1, 2], [3], [4, 5, 6]], [[1, 2], [3, 3], [4, 5, 6]]) == pytest.approx(2 / 3)
    assert sequence_accuracy([[1, 2, 0], [3]], [[1, 2], [3, 0, 0]], ignore_index=0) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="sequence_accuracy"):
        sequence_accuracy([[1]], [[1], [2]])
