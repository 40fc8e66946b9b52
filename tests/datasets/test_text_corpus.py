"""The shipped Shakespeare text (its checksum, boundaries and the joins between the 16,000-character
pages it was fetched in) and CharDataset: vocabulary, encode/decode round trips, the one-character
shift between x and y checked against the text by hand, DataLoader batches, and errors."""
import hashlib
import re

import numpy as np
import pytest

import pyml
from pyml import datasets
from pyml.utils.data import DataLoader

SHA256 = "e1a362925c227807e75bd392b48779a1b796b81662a8a7cad40e00b4bf3d4f68"


@pytest.fixture(scope="module")
def text():
    return datasets.load_text("shakespeare")


def test_shipped_text_is_the_documented_file(text):
    assert isinstance(text, str) and len(text) == 203485 and text.count("\n") == 7680
    assert hashlib.sha256(text.encode("ascii")).hexdigest() == SHA256
    assert text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.\n")
    assert text.endswith("For this will out, and here I must not stay.\n")


def test_text_has_no_paging_artefacts(text):
    assert text.isascii() and "\r" not in text and "\t" not in text
    for offset in range(16000, len(text), 16000):                                     # the fetch boundaries
        join = text[offset - 40:offset + 40]
        assert re.fullmatch(r"[A-Za-z',.;:!?&\- \n]+", join), join
    speakers = re.findall(r"\n\n([^\n]+)\n", text)
    assert all(s.endswith(":") for s in speakers)                                    # every speech opens with "NAME:"
    assert "CORIOLANUS:" in speakers and "GLOUCESTER:" in speakers


def test_unknown_text_name():
    with pytest.raises(ValueError, match=r"load_text: name must be one of \['shakespeare'\], got 'hamlet'"):
        datasets.load_text("hamlet")


def test_vocabulary_is_sorted_and_invertible(text):
    ds = datasets.CharDataset(text, 16)
    assert ds.vocab_size == len(set(text)) == 62 and ds.itos == sorted(set(text))
    assert all(ds.itos[ds.stoi[ch]] == ch for ch in ds.itos)
    assert ds.decode(ds.encode(text)) == text


def test_samples_are_shifted_by_one_character(text):
    ds = datasets.CharDataset(text, 32)
    assert len(ds) == len(text) - 32
    for i in (0, 1, 12345, len(ds) - 1, -1):
        x, y = ds[i]
        start = i % len(ds)
        assert x.dtype == pyml.int64 and tuple(x.shape) == tuple(y.shape) == (32,)
        assert ds.decode(x) == text[start:start + 32] and ds.decode(y) == text[start + 1:start + 33]
        assert x.tolist()[1:] == y.tolist()[:-1]


def test_small_text_by_hand():
    ds = datasets.CharDataset("abcab", 2)
    assert ds.itos == ["a", "b", "c"] and ds.stoi == {"a": 0, "b": 1, "c": 2}
    assert [(x.tolist(), y.tolist()) for x, y in (ds[i] for i in range(len(ds)))] == [
        ([0, 1], [1, 2]), ([1, 2], [2, 0]), ([2, 0], [0, 1])]
    assert ds.decode(pyml.tensor([2, 1, 0])) == "cba"


def test_dataloader_batches(text):
    ds = datasets.CharDataset(text[:1000], 8)
    xb, yb = next(iter(DataLoader(ds, batch_size=4, shuffle=True, generator=pyml.Generator().manual_seed(0))))
    assert tuple(xb.shape) == tuple(yb.shape) == (4, 8) and xb.dtype == pyml.int64
    np.testing.assert_array_equal(xb.numpy()[:, 1:], yb.numpy()[:, :-1])


@pytest.mark.parametrize("call, exc, msg", [
    (lambda: datasets.CharDataset("abc", 3), ValueError, r"longer than block_size \(3\), got 3 characters"),
    (lambda: datasets.CharDataset("abc", 0), ValueError, "block_size must be >= 1, got 0"),
    (lambda: datasets.CharDataset(b"abc", 1), TypeError, "text must be a str, got bytes"),
    (lambda: datasets.CharDataset("abc", 1).encode("abz"), ValueError, r"not in the vocabulary, got \['z'\]"),
    (lambda: datasets.CharDataset("abc", 1).decode([0, 3]), ValueError, r"ints in \[0, 3\), got \[3\]"),
    (lambda: datasets.CharDataset("abc", 1)[2], IndexError, "index 2 is out of range for 2 samples"),
    (lambda: datasets.CharDataset("abc", 1)["0"], TypeError, "index must be an int, got str"),
])
def test_bad_arguments_raise_clear_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()
