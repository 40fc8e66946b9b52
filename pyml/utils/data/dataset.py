"""Datasets with torch.utils.data's names and semantics: Dataset, IterableDataset, TensorDataset,
ConcatDataset, ChainDataset, Subset and random_split."""
import bisect
import itertools
import math
import numbers
import warnings

from ..._tensor import Tensor

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "ConcatDataset", "ChainDataset", "Subset",
           "random_split"]


class Dataset:
    """A map-style dataset: __getitem__(index) returns one sample; __len__ gives the number of samples
    (needed by the default samplers). Datasets add up into a ConcatDataset with `+`."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Dataset must implement __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: __iter__ yields them. With DataLoader(num_workers=N) every worker thread
    iterates its own iter(dataset), as PyTorch's worker processes do, so shard by get_worker_info()
    to avoid duplicates."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of IterableDataset must implement __iter__")

    def __add__(self, other):
        return ChainDataset([self, other])


def _size0(t):
    return t.shape[0] if len(t.shape) else None


class TensorDataset(Dataset):
    """Samples are tuples of the tensors' rows: dataset[i] == (t[i] for t in tensors)."""

    def __init__(self, *tensors):
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: every argument must be a Tensor, got {type(t).__name__} "
                                f"at position {i}")
            if len(t.shape) == 0:
                raise ValueError(f"TensorDataset: tensors need a first (sample) dimension, got a 0-d tensor "
                                 f"at position {i}")
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) > 1:
            raise ValueError(f"TensorDataset: all tensors must have the same size in dimension 0, got sizes {sizes} "
                             f"(shapes {[tuple(t.shape) for t in tensors]})")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0] if self.tensors else 0


class ConcatDataset(Dataset):
    """The concatenation of map-style datasets; index i falls into the dataset holding it."""

    @staticmethod
    def cumsum(sequence):
        """Running totals of the lengths: where each dataset ends in the concatenation."""
        return list(itertools.accumulate(len(part) for part in sequence))

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if len(self.datasets) == 0:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable, got 0 datasets")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError(f"ConcatDataset: does not support IterableDataset, got {type(d).__name__}")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError(f"ConcatDataset: absolute value of index should not exceed dataset length, "
                                 f"got index {idx} for length {n}")
            idx = n + idx
        if idx >= n:
            raise IndexError(f"ConcatDataset: index {idx} is out of range for length {n}")
        di = bisect.bisect_right(self.cumulative_sizes, idx)
        sample_idx = idx if di == 0 else idx - self.cumulative_sizes[di - 1]
        return self.datasets[di][sample_idx]


class ChainDataset(IterableDataset):
    """The chaining of iterable datasets: iterates each in turn."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for part in self.datasets:
            if isinstance(part, IterableDataset):
                yield from part
            else:
                raise TypeError(f"ChainDataset: only supports IterableDataset, got {type(part).__name__}")

    def __len__(self):
        return sum(len(d) for d in self.datasets)


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        # a list of positions maps to a list of source indices (for datasets that index with lists)
        source = [self.indices[i] for i in idx] if isinstance(idx, list) else self.indices[idx]
        return self.dataset[source]

    def __getitems__(self, indices):
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)


def _split_lengths(n, lengths):
    """Integer lengths, or fractions summing to 1 turned into lengths like PyTorch: floor(n * f) each,
    then the remainder handed out one by one round-robin from the first split."""
    lengths = list(lengths)
    for i, x in enumerate(lengths):
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise TypeError(f"random_split: lengths must be ints or float fractions, got {type(x).__name__} "
                            f"at index {i}")
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1, got {frac}")
        out = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(out)):
            out[i % len(out)] += 1
        for i, x in enumerate(out):
            if x == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0; this might result in an "
                              f"empty dataset", UserWarning, stacklevel=3)
        return out
    if any(not isinstance(x, numbers.Integral) for x in lengths):
        raise ValueError(f"random_split: lengths must be ints summing to the dataset length ({n}) or fractions "
                         f"summing to 1, got {lengths} (sum {total})")
    if any(x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative, got {lengths}")
    if total != n:
        raise ValueError(f"random_split: sum of input lengths does not equal the length of the input dataset, "
                         f"got lengths {lengths} (sum {total}) for a dataset of length {n}")
    return [int(x) for x in lengths]


def random_split(dataset, lengths, generator=None):
    """Split a dataset into non-overlapping Subsets of the given lengths (or fractions summing to 1),
    from one random permutation drawn with `generator` (the default generator when None)."""
    from ..._ops.random import randperm
    n = len(dataset)
    lengths = _split_lengths(n, lengths)
    perm = randperm(sum(lengths), generator=generator).tolist()
    out, offset = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[offset:offset + length]))
        offset += length
    return out
