"""A synthetic air-travel grammar for the slot-filling recipe (course ch. 5: "arrive Taipei on
November 2nd" vs "leave Taipei on November 2nd").

Each sentence asks for a trip; its city words are tagged place of arrival or of departure depending
on the verb, and the date words as the time, in BIO form (B- starts a slot, I- continues it, O is
no slot). Some templates put the verb after the city ("taipei is where i will arrive"), so only a
tagger that reads the right context too (a bidirectional RNN) can tag those cities.
"""
import random

import pyml

PAD = "<pad>"
TAGS = ["<pad>", "O", "B-arrive", "I-arrive", "B-leave", "I-leave", "B-date", "I-date"]
CITIES = ["taipei", "tokyo", "paris", "london", "seoul", "berlin", "sydney", "kaohsiung", "new york",
          "san francisco", "hong kong", "los angeles", "rio de janeiro"]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december"]
DAYS = ["1st", "2nd", "3rd"] + [f"{d}th" for d in range(4, 21)] + ["21st", "22nd", "23rd", "24th", "25th"]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
ARRIVE = ["arrive in", "arrive at", "get to", "fly to", "land in", "arrive"]
LEAVE = ["leave", "leave from", "depart from", "fly out of", "get out of", "depart"]
AFTER_CITY = {"arrive": ["arrive", "land", "get in"], "leave": ["leave", "depart", "take off"]}
OPENERS = ["i would like to", "i want to", "i need to", "please let me", "i plan to", "can i"]


def _words(phrase, tag):
    """(word, tag) pairs; a slot's first word gets B-, the rest I-; tag 'O' for every word otherwise."""
    words = phrase.split()
    if tag == "O":
        return [(w, "O") for w in words]
    return [(w, ("B-" if i == 0 else "I-") + tag) for i, w in enumerate(words)]


def _date(rng):
    kind = rng.randrange(4)
    if kind == 0:
        return f"{rng.choice(MONTHS)} {rng.choice(DAYS)}"
    if kind == 1:
        return f"the {rng.choice(DAYS)} of {rng.choice(MONTHS)}"
    return ("next " if kind == 2 else "") + rng.choice(WEEKDAYS)


def _verb_first(rng, role):
    verb = rng.choice(ARRIVE if role == "arrive" else LEAVE)
    return _words(rng.choice(OPENERS) + " " + verb, "O") + _words(rng.choice(CITIES), role)


def _sentence(rng):
    """One tagged sentence from one of four templates."""
    role, other = rng.choice([("arrive", "leave"), ("leave", "arrive")])
    kind = rng.randrange(4)
    if kind == 0:    # i want to arrive in taipei on november 2nd
        return _verb_first(rng, role) + _words("on", "O") + _words(_date(rng), "date")
    if kind == 1:    # on monday i want to leave tokyo
        return _words("on", "O") + _words(_date(rng), "date") + _verb_first(rng, role)
    if kind == 2:    # i want to leave paris and arrive in london on the 3rd of may
        second = _words(rng.choice(ARRIVE if other == "arrive" else LEAVE), "O") + _words(rng.choice(CITIES), other)
        return _verb_first(rng, role) + _words("and", "O") + second + _words("on", "O") + _words(_date(rng), "date")
    # taipei is where i will arrive on friday: the role comes after the city
    verb = rng.choice(AFTER_CITY[role])
    return _words(rng.choice(CITIES), role) + _words(f"is where i will {verb} on", "O") + _words(_date(rng), "date")


def make_sentences(n, seed):
    """n tagged sentences [(word, tag), ...] from a seeded random.Random."""
    rng = random.Random(seed)
    return [_sentence(rng) for _ in range(n)]


def vocabulary(sentences):
    """Word -> id with 0 for padding and 1 for unknown words, in first-seen order."""
    vocab = {PAD: 0, "<unk>": 1}
    for sentence in sentences:
        for word, _ in sentence:
            vocab.setdefault(word, len(vocab))
    return vocab


def encode(sentences, vocab, length):
    """(tokens (N, length) int64, tags (N, length) int64), both padded with 0 at the end."""
    tag_id = {t: i for i, t in enumerate(TAGS)}
    tokens, tags = [], []
    for sentence in sentences:
        ids = [vocab.get(w, 1) for w, _ in sentence]
        tokens.append(ids + [0] * (length - len(ids)))
        tags.append([tag_id[t] for _, t in sentence] + [0] * (length - len(ids)))
    return pyml.tensor(tokens, dtype=pyml.int64), pyml.tensor(tags, dtype=pyml.int64)


def city_positions(tags):
    """(N, T) bool: positions tagged as part of an arrival or departure city."""
    city = [TAGS.index(t) for t in ("B-arrive", "I-arrive", "B-leave", "I-leave")]
    mask = tags == city[0]
    for c in city[1:]:
        mask = mask | (tags == c)
    return mask


def verb_after_city(sentences):
    """Indices of the sentences whose role word comes after the city (template 4)."""
    return [i for i, s in enumerate(sentences) if s[0][1] != "O" and s[0][1] != "B-date"]
