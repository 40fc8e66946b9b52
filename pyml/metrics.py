"""Sequence metrics for the course's sequence tasks (ch. 5-7): BLEU, edit distance, token and
sequence accuracy.

bleu() is corpus BLEU (Papineni et al. 2002): clipped n-gram counts and lengths are summed over the
whole corpus before the geometric mean and the brevity penalty; sentence_bleu() scores one pair.
Sentences are strings (split on whitespace) or token sequences. These run on plain Python/NumPy
values after decoding, not on the training path; tensors are accepted and converted.
"""
import math
from collections import Counter

import numpy as np

__all__ = ["bleu", "sentence_bleu", "edit_distance", "token_accuracy", "sequence_accuracy"]


# ------------------------------------------------------------------------------------------ BLEU
def _tokens(sentence, op, what):
    """A sentence as a tuple of tokens: strings are split on whitespace, sequences kept."""
    if isinstance(sentence, str):
        return tuple(sentence.split())
    if hasattr(sentence, "tolist"):
        sentence = sentence.tolist()
    if isinstance(sentence, (list, tuple)):
        return tuple(sentence)
    raise TypeError(f"{op}: each {what} must be a string or a sequence of tokens, got {type(sentence).__name__}")


def _reference_set(refs, op):
    """One candidate's references: a string (one reference), a list of references (strings or token
    sequences), or one token sequence of non-string tokens such as ids."""
    if isinstance(refs, str):
        return [_tokens(refs, op, "reference")]
    if hasattr(refs, "tolist"):
        refs = refs.tolist()
    if not isinstance(refs, (list, tuple)) or not refs:
        raise ValueError(f"{op}: each entry of references must be a non-empty list of references, got {refs!r}")
    if all(isinstance(r, (str, list, tuple)) or hasattr(r, "tolist") for r in refs):
        return [_tokens(r, op, "reference") for r in refs]
    return [tuple(refs)]


def _ngrams(tokens, n):
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _clipped_matches(candidate, references, n):
    """(matched, total) n-grams: each candidate n-gram counts at most as often as in any one reference."""
    counts = _ngrams(candidate, n)
    most = Counter()
    for ref in references:
        for gram, c in _ngrams(ref, n).items():
            most[gram] = max(most[gram], c)
    matched = sum(min(c, most[gram]) for gram, c in counts.items())
    return matched, max(len(candidate) - n + 1, 0)


def _closest_length(c, references):
    """The reference length closest to the candidate's (the shorter one on a tie)."""
    return min((abs(len(r) - c), len(r)) for r in references)[1]


def _check_bleu_args(candidates, references, max_n, op):
    if isinstance(candidates, str) or not isinstance(candidates, (list, tuple)):
        raise TypeError(f"{op}: candidates must be a list of sentences, got {type(candidates).__name__}")
    if isinstance(references, str) or not isinstance(references, (list, tuple)):
        raise TypeError(f"{op}: references must be a list with one reference set per candidate, got "
                        f"{type(references).__name__}")
    if len(candidates) != len(references):
        raise ValueError(f"{op}: candidates and references must have the same length, got {len(candidates)} and "
                         f"{len(references)}")
    if isinstance(max_n, bool) or not isinstance(max_n, int) or max_n < 1:
        raise ValueError(f"{op}: max_n must be a positive int, got {max_n!r}")


def bleu(candidates, references, max_n=4, smooth=False):
    """Corpus BLEU in [0, 1]: BP * exp(mean_n log p_n) for n = 1..max_n, where p_n is the clipped
    n-gram precision summed over the corpus and BP = exp(1 - r / c) when the candidates' total length
    c is below r, the sum of each candidate's closest reference length. references[i] holds the
    references of candidates[i]. smooth=True adds one to the matches and totals of n >= 2
    (Lin & Och 2004) so a missing 4-gram does not zero the score."""
    op = "bleu"
    _check_bleu_args(candidates, references, max_n, op)
    matched, total = [0] * max_n, [0] * max_n
    c_len = r_len = 0
    for cand, refs in zip(candidates, references):
        cand, refs = _tokens(cand, op, "candidate"), _reference_set(refs, op)
        c_len += len(cand)
        r_len += _closest_length(len(cand), refs)
        for n in range(1, max_n + 1):
            m, t = _clipped_matches(cand, refs, n)
            matched[n - 1] += m
            total[n - 1] += t
    return _combine(matched, total, c_len, r_len, smooth)


def _combine(matched, total, c_len, r_len, smooth):
    if c_len == 0 or matched[0] == 0:
        return 0.0
    log_p = 0.0
    for n, (m, t) in enumerate(zip(matched, total)):
        if smooth and n > 0:
            m, t = m + 1, t + 1
        if m == 0:
            return 0.0
        log_p += math.log(m / t)
    brevity = 1.0 if c_len > r_len else math.exp(1.0 - r_len / c_len)
    return brevity * math.exp(log_p / len(matched))


def sentence_bleu(candidate, references, max_n=4, smooth=False):
    """BLEU of one candidate against its references (a string, or a list of references)."""
    return bleu([candidate], [references], max_n=max_n, smooth=smooth)


# ---------------------------------------------------------------------------------- edit distance
def edit_distance(a, b):
    """Levenshtein distance: the fewest insertions, deletions and substitutions turning sequence a
    into b (characters of strings, or items of lists/tuples/1-D tensors)."""
    a = a.tolist() if hasattr(a, "tolist") else a
    b = b.tolist() if hasattr(b, "tolist") else b
    for name, s in (("a", a), ("b", b)):
        if not isinstance(s, (str, list, tuple)):
            raise TypeError(f"edit_distance: {name} must be a string or a sequence, got {type(s).__name__}")
    previous = list(range(len(b) + 1))      # distances from a[:0] to every prefix of b
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


# ----------------------------------------------------------------------------------- accuracies
def _as_array(x, op, name):
    if hasattr(x, "detach"):
        x = x.detach()
    if hasattr(x, "numpy"):
        return np.asarray(x.numpy())
    try:
        return np.asarray(x)
    except ValueError:
        raise ValueError(f"{op}: {name} must be rectangular (equal-length rows)") from None


def _predicted_ids(pred, target, op):
    """pred as ids shaped like target; scores with one extra trailing class dim are argmax'ed."""
    if pred.ndim == target.ndim + 1:
        pred = pred.argmax(axis=-1)
    if pred.shape != target.shape:
        raise ValueError(f"{op}: pred must have target's shape {target.shape} (or add a class dim), got "
                         f"{pred.shape}")
    return pred


def token_accuracy(pred, target, ignore_index=None):
    """Fraction of target positions (those not equal to ignore_index) where pred has the same token.
    pred: ids shaped like target, or scores (..., C) whose argmax is taken."""
    op = "token_accuracy"
    target = _as_array(target, op, "target")
    pred = _predicted_ids(_as_array(pred, op, "pred"), target, op)
    keep = np.ones(target.shape, bool) if ignore_index is None else target != ignore_index
    if not keep.any():
        raise ValueError(f"{op}: target has no position to score (all equal ignore_index={ignore_index})")
    return float((pred == target)[keep].mean())


def _ragged(seq, ignore_index):
    seq = seq.tolist() if hasattr(seq, "tolist") else list(seq)
    return [t for t in seq if ignore_index is None or t != ignore_index]


def sequence_accuracy(pred, target, ignore_index=None):
    """Fraction of sequences predicted exactly. Rectangular (N, T) ids: a row counts when it matches
    at every position where target is not ignore_index. Lists of sequences of any lengths: a pair
    counts when equal after removing ignore_index tokens from both."""
    op = "sequence_accuracy"
    if len(pred) != len(target) or len(target) == 0:
        raise ValueError(f"{op}: pred and target must hold the same positive number of sequences, got "
                         f"{len(pred)} and {len(target)}")
    try:
        p, t = _as_array(pred, op, "pred"), _as_array(target, op, "target")
        rectangular = p.ndim >= 2 and t.ndim == 2 and p.dtype != object and t.dtype != object
    except ValueError:
        rectangular = False
    if rectangular:
        p = _predicted_ids(p, t, op)
        hit = (p == t) if ignore_index is None else (p == t) | (t == ignore_index)
        return float(hit.all(axis=1).mean())
    pairs = zip(pred, target)
    return sum(_ragged(a, ignore_index) == _ragged(b, ignore_index) for a, b in pairs) / len(target)
