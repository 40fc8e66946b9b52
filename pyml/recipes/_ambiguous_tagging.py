"""A part-of-speech grammar in which the same word takes different tags ("I saw a saw": verb after
a subject, noun after a determiner), for the self-attention recipe (course ch. 6).

Sentences are subject, verb, object, sometimes an adverb; subjects and objects are pronouns or
determiner + optional adjective + noun. Ambiguous words (saw, fly, watch, ...) fill both noun and
verb slots, so a tagger that looks at one token at a time is bounded by the majority tag of each
word, while the neighbours decide the tag. context_free_bound() computes that bound exactly.
"""
import random
from collections import Counter, defaultdict

import pyml

TAGS = ["<pad>", "PRON", "VERB", "DET", "ADJ", "NOUN", "ADV"]
SUBJECT_PRONOUNS = ["i", "you", "we", "they"]
OBJECT_PRONOUNS = ["me", "you", "us", "them", "it"]
DETERMINERS = ["a", "the", "this", "my", "your"]
ADJECTIVES = ["big", "old", "red", "small", "new"]
NOUNS = ["cat", "dog", "tree", "car", "book", "house"]
VERBS = ["see", "like", "want", "buy"]
AMBIGUOUS = ["saw", "fly", "watch", "duck", "ring", "park"]   # nouns and verbs
ADVERBS = ["today", "again", "slowly", "often"]


def _noun_phrase(rng, ambiguous_rate):
    words = [(rng.choice(DETERMINERS), "DET")]
    if rng.random() < 0.3:
        words.append((rng.choice(ADJECTIVES), "ADJ"))
    noun = rng.choice(AMBIGUOUS) if rng.random() < ambiguous_rate else rng.choice(NOUNS)
    return words + [(noun, "NOUN")]


def _sentence(rng, ambiguous_rate):
    subject = [(rng.choice(SUBJECT_PRONOUNS), "PRON")] if rng.random() < 0.6 else _noun_phrase(rng, ambiguous_rate)
    verb = rng.choice(AMBIGUOUS) if rng.random() < ambiguous_rate else rng.choice(VERBS)
    obj = [(rng.choice(OBJECT_PRONOUNS), "PRON")] if rng.random() < 0.3 else _noun_phrase(rng, ambiguous_rate)
    tail = [(rng.choice(ADVERBS), "ADV")] if rng.random() < 0.3 else []
    return subject + [(verb, "VERB")] + obj + tail


def make_sentences(n, seed, ambiguous_rate=0.5):
    """n tagged sentences [(word, tag), ...]; each noun/verb slot holds an ambiguous word with
    probability ambiguous_rate."""
    rng = random.Random(seed)
    return [_sentence(rng, ambiguous_rate) for _ in range(n)]


def vocabulary():
    words = SUBJECT_PRONOUNS + OBJECT_PRONOUNS + DETERMINERS + ADJECTIVES + NOUNS + VERBS + AMBIGUOUS + ADVERBS
    vocab = {"<pad>": 0}
    for w in words:
        vocab.setdefault(w, len(vocab))
    return vocab


def encode(sentences, vocab, length):
    """(tokens (N, length), tags (N, length)) int64, padded with 0."""
    tokens = [[vocab[w] for w, _ in s] + [0] * (length - len(s)) for s in sentences]
    tags = [[TAGS.index(t) for _, t in s] + [0] * (length - len(s)) for s in sentences]
    return pyml.tensor(tokens, dtype=pyml.int64), pyml.tensor(tags, dtype=pyml.int64)


def context_free_bound(sentences):
    """The best token accuracy any tagger that sees one word at a time can reach on these sentences:
    each word type gets its most frequent tag."""
    counts = defaultdict(Counter)
    for s in sentences:
        for w, t in s:
            counts[w][t] += 1
    best = sum(c.most_common(1)[0][1] for c in counts.values())
    return best / sum(len(s) for s in sentences)
