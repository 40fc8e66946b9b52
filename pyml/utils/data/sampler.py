"""Samplers with torch.utils.data's names and semantics. Every random draw goes through pyml's Philox
generators (pyml.randperm / randint / multinomial with a pyml.Generator), so pyml.manual_seed makes
shuffles reproducible."""
import numbers

from ..._tensor import Tensor

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler"]


def _positive_int(v, name, cls):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
        raise ValueError(f"{cls}: {name} should be a positive integer value, got {name}={v!r}")
    return int(v)


def _check_bool(v, name, cls):
    if not isinstance(v, bool):
        raise TypeError(f"{cls}: {name} should be a boolean value, got {name}={v!r}")
    return v


def _check_generator(g, cls):
    from ..._ops.random import Generator
    if g is not None and not isinstance(g, Generator):
        raise TypeError(f"{cls}: generator must be a pyml.Generator or None, got {type(g).__name__}")
    return g


def _fresh_generator():
    """A generator seeded from the default generator (what PyTorch's RandomSampler does when given none):
    each epoch draws a new seed, and pyml.manual_seed makes the sequence of epochs reproducible."""
    from ..._ops.random import Generator
    from ..._creation import empty
    from ... import _dtype as D
    seed = int(empty((), dtype=D.int64).random_().item())
    return Generator().manual_seed(seed)


class Sampler:
    """Base class: __iter__ yields dataset indices (or lists of them for batch samplers)."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Sampler must implement __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation per epoch (or num_samples draws with replacement). Without a generator
    each epoch seeds a fresh one from the default generator, like PyTorch."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = _check_bool(replacement, "replacement", "RandomSampler")
        self._num_samples = num_samples
        self.generator = _check_generator(generator, "RandomSampler")
        _positive_int(self.num_samples, "num_samples", "RandomSampler")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        from ..._ops.random import randperm, randint
        n = len(self.data_source)
        g = self.generator if self.generator is not None else _fresh_generator()
        if self.replacement:
            for _ in range(self.num_samples // 32):
                yield from randint(high=n, size=(32,), generator=g).tolist()
            yield from randint(high=n, size=(self.num_samples % 32,), generator=g).tolist()
        else:
            for _ in range(self.num_samples // n):
                yield from randperm(n, generator=g).tolist()
            yield from randperm(n, generator=g).tolist()[:self.num_samples % n]

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order (a new permutation each epoch)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = _check_generator(generator, "SubsetRandomSampler")

    def __iter__(self):
        from ..._ops.random import randperm
        for i in randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """num_samples indices drawn with probabilities proportional to weights (pyml.multinomial)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        from ..._creation import as_tensor
        from ... import _dtype as D
        _positive_int(num_samples, "num_samples", "WeightedRandomSampler")
        _check_bool(replacement, "replacement", "WeightedRandomSampler")
        w = weights if isinstance(weights, Tensor) else as_tensor(weights, dtype=D.float64)
        if w.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1-d sequence, got shape {tuple(w.shape)}")
        if not replacement and num_samples > w.shape[0]:
            raise ValueError(f"WeightedRandomSampler: without replacement num_samples can't exceed the number of "
                             f"weights, got num_samples={num_samples} for {w.shape[0]} weights")
        self.weights = w.to(D.float64)
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = _check_generator(generator, "WeightedRandomSampler")

    def __iter__(self):
        from ..._ops.random import multinomial
        yield from multinomial(self.weights, self.num_samples, self.replacement, generator=self.generator).tolist()

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of batch_size (the last one shorter unless drop_last)."""

    def __init__(self, sampler, batch_size, drop_last):
        self.batch_size = _positive_int(batch_size, "batch_size", "BatchSampler")
        self.drop_last = _check_bool(drop_last, "drop_last", "BatchSampler")
        self.sampler = sampler

    def __iter__(self):
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size
