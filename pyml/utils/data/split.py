"""Index splitting helpers PyTorch does not have: KFold (k-fold cross-validation indices) and
stratified_split (a train/validation split keeping class proportions). Shuffles use pyml.randperm with
a pyml.Generator (the default generator when None), so pyml.manual_seed makes them reproducible."""
import numbers

from ..._tensor import Tensor

__all__ = ["KFold", "stratified_split"]


def _length(data, op):
    if isinstance(data, bool):
        raise TypeError(f"{op}: expected an int or a sized dataset, got bool")
    if isinstance(data, numbers.Integral):
        if data < 0:
            raise ValueError(f"{op}: the number of samples must be non-negative, got {data}")
        return int(data)
    try:
        return len(data)
    except TypeError:
        raise TypeError(f"{op}: expected an int or a sized dataset, got {type(data).__name__}") from None


class KFold:
    """k-fold cross-validation over n indices: split(data) yields (train_indices, val_indices) k times;
    every index is in exactly one validation fold. Fold sizes follow scikit-learn: the first n % k folds
    hold n // k + 1 indices, the others n // k. With shuffle=True the indices are permuted (pyml.randperm
    with `generator`) before being cut into folds; each call to split draws a new permutation.

        for train_idx, val_idx in KFold(5, shuffle=True, generator=g).split(dataset):
            train, val = Subset(dataset, train_idx), Subset(dataset, val_idx)
    """

    def __init__(self, n_splits=5, shuffle=False, generator=None):
        from .sampler import _check_generator
        if isinstance(n_splits, bool) or not isinstance(n_splits, numbers.Integral) or n_splits < 2:
            raise ValueError(f"KFold: n_splits must be an integer of at least 2, got n_splits={n_splits!r}")
        if not isinstance(shuffle, bool):
            raise TypeError(f"KFold: shuffle must be a bool, got shuffle={shuffle!r}")
        self.n_splits = int(n_splits)
        self.shuffle = shuffle
        self.generator = _check_generator(generator, "KFold")

    def get_n_splits(self):
        return self.n_splits

    def split(self, data):
        """Yield (train_indices, val_indices) lists for each fold; `data` is a dataset (any sized object)
        or the number of samples."""
        from ..._ops.random import randperm
        n = _length(data, "KFold.split")
        if n < self.n_splits:
            raise ValueError(f"KFold: cannot have n_splits={self.n_splits} greater than the number of samples, "
                             f"got {n} samples")
        order = randperm(n, generator=self.generator).tolist() if self.shuffle else list(range(n))
        base, extra = divmod(n, self.n_splits)
        start = 0
        for k in range(self.n_splits):
            stop = start + base + (1 if k < extra else 0)
            yield order[:start] + order[stop:], order[start:stop]
            start = stop

    def __repr__(self):
        return f"KFold(n_splits={self.n_splits}, shuffle={self.shuffle})"


def _labels_list(labels, op):
    if isinstance(labels, Tensor):
        if labels.ndim != 1:
            raise ValueError(f"{op}: labels must be 1-d, got shape {tuple(labels.shape)}")
        return labels.tolist()
    try:
        import numpy as np
        if isinstance(labels, np.ndarray):
            if labels.ndim != 1:
                raise ValueError(f"{op}: labels must be 1-d, got shape {labels.shape}")
            return labels.tolist()
    except ImportError:  # pragma: no cover
        pass
    return list(labels)


def stratified_split(labels, val_fraction=0.2, *, generator=None):
    """Split indices 0..n-1 into (train_indices, val_indices) so that each class keeps its proportion.

    labels: one label per sample (a 1-d Tensor, numpy array or sequence of hashable values).
    The validation set holds round(val_fraction * n) indices; each class contributes floor(fraction * its
    count) of them, and the few left over go to the classes with the largest remainders (ties to the
    class seen first), so every class's share is within one sample of exact. Which samples of a class
    go to validation is drawn with pyml.randperm(generator=...). Both lists are sorted ascending.
    """
    from .sampler import _check_generator
    from ..._ops.random import randperm
    op = "stratified_split"
    _check_generator(generator, op)
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, numbers.Real) or not 0 < val_fraction < 1:
        raise ValueError(f"{op}: val_fraction must be a number strictly between 0 and 1, got "
                         f"val_fraction={val_fraction!r}")
    labels = _labels_list(labels, op)
    n = len(labels)
    if n == 0:
        raise ValueError(f"{op}: labels must not be empty, got 0 labels")
    classes = {}
    for i, y in enumerate(labels):
        classes.setdefault(y, []).append(i)
    groups = list(classes.values())
    exact = [val_fraction * len(g) for g in groups]
    counts = [int(e) for e in exact]
    left = int(round(val_fraction * n)) - sum(counts)
    by_remainder = sorted(range(len(groups)), key=lambda c: -(exact[c] - counts[c]))
    for c in by_remainder[:max(left, 0)]:
        counts[c] += 1
    train, val = [], []
    for g, k in zip(groups, counts):
        perm = randperm(len(g), generator=generator).tolist()
        val.extend(g[p] for p in perm[:k])
        train.extend(g[p] for p in perm[k:])
    return sorted(train), sorted(val)
