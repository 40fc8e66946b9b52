"""Text shipped with pyml and a character-level dataset for next-character language models.

load_text("shakespeare") returns about 200k characters of Shakespeare's plays (public domain; see
data/README.md). CharDataset maps each distinct character to an id (sorted order, so the same text
always gives the same vocabulary) and serves (x, y) pairs of block_size ids where y is x shifted by
one character: the model reads x[: t + 1] and predicts y[t].
"""
import gzip
import os

import pyml
from ..utils.data import Dataset
from ._common import check_int

_DATA = os.path.join(os.path.dirname(__file__), "data")
_TEXTS = {"shakespeare": "shakespeare.txt.gz"}


def load_text(name="shakespeare"):
    """A text corpus shipped inside pyml, as one str. Available: 'shakespeare'."""
    if name not in _TEXTS:
        raise ValueError(f"load_text: name must be one of {sorted(_TEXTS)}, got {name!r}")
    with gzip.open(os.path.join(_DATA, _TEXTS[name]), "rt", encoding="utf-8", newline="") as f:
        return f.read()


class CharDataset(Dataset):
    """(x, y) int64 tensors of length block_size from `text`: x = ids[i : i + block_size] and
    y = ids[i + 1 : i + block_size + 1], for every start i (len(text) - block_size samples).
    `stoi` maps characters to ids, `itos` ids to characters; encode/decode convert between them."""

    def __init__(self, text, block_size):
        if not isinstance(text, str):
            raise TypeError(f"CharDataset: text must be a str, got {type(text).__name__}")
        self.block_size = check_int("CharDataset", "block_size", block_size, minimum=1)
        if len(text) <= self.block_size:
            raise ValueError(f"CharDataset: text must be longer than block_size ({self.block_size}), "
                             f"got {len(text)} characters")
        self.itos = sorted(set(text))
        self.stoi = {ch: i for i, ch in enumerate(self.itos)}
        self.data = pyml.tensor(self.encode(text), dtype=pyml.int64)

    @property
    def vocab_size(self):
        return len(self.itos)

    def encode(self, text):
        """The list of ids of the characters of `text`; every character must be in the vocabulary."""
        unknown = sorted(set(text) - self.stoi.keys())
        if unknown:
            raise ValueError(f"CharDataset.encode: characters not in the vocabulary, got {unknown[:10]!r}")
        return [self.stoi[ch] for ch in text]

    def decode(self, ids):
        """The str spelled by `ids` (a list of ints or an int64 tensor)."""
        if isinstance(ids, pyml.Tensor):
            ids = ids.tolist()
        bad = [i for i in ids if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(self.itos)]
        if bad:
            raise ValueError(f"CharDataset.decode: ids must be ints in [0, {len(self.itos)}), got {bad[:10]!r}")
        return "".join(self.itos[i] for i in ids)

    def __len__(self):
        return self.data.shape[0] - self.block_size

    def __getitem__(self, index):
        n = len(self)
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"CharDataset: index must be an int, got {type(index).__name__}")
        if not -n <= index < n:
            raise IndexError(f"CharDataset: index {index} is out of range for {n} samples")
        i = index % n
        chunk = self.data[i:i + self.block_size + 1]                     # (block_size + 1,)
        return chunk[:-1], chunk[1:]
