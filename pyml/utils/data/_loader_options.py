"""Argument checks and sampler resolution for DataLoader (kept apart so dataloader.py holds the loading).

The checks run in torch's order (workers, timeout, prefetching, generator, batching, then the options an
IterableDataset or a batch_sampler exclude), so the first problem reported is the one torch reports.
resolve_samplers picks the default sampler (sequential, random, or an endless one for iterable
datasets) and wraps it in a BatchSampler unless auto-batching is off (batch_size=None).
"""
import numbers

from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, _check_generator


class _InfiniteConstantSampler(Sampler):
    """For iterable datasets: an endless stream of None indices (the dataset decides when to stop)."""

    def __iter__(self):
        while True:
            yield None


def _is_count(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _nonneg_int(v, name):
    if not _is_count(v) or v < 0:
        raise ValueError(f"DataLoader: {name} should be a non-negative integer, got {name}={v!r}")
    return int(v)


def check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers):
    """(num_workers, prefetch_factor) validated; prefetch_factor is 2 by default with workers, None without."""
    num_workers = _nonneg_int(num_workers, "num_workers")
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or timeout < 0:
        raise ValueError(f"DataLoader: timeout option should be non-negative, got timeout={timeout!r}")
    if num_workers == 0:
        if prefetch_factor is not None:
            raise ValueError(f"DataLoader: prefetch_factor option could only be specified in multi-worker loading "
                             f"(num_workers > 0), got prefetch_factor={prefetch_factor!r} with num_workers=0")
        if persistent_workers:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0, got "
                             "persistent_workers=True with num_workers=0")
        return num_workers, None
    prefetch_factor = 2 if prefetch_factor is None else prefetch_factor
    if not _is_count(prefetch_factor) or prefetch_factor <= 0:
        raise ValueError(f"DataLoader: prefetch_factor should be a positive integer, got "
                         f"prefetch_factor={prefetch_factor!r}")
    return num_workers, prefetch_factor


def _reject_for_iterable(shuffle, sampler, batch_sampler):
    given = (("shuffle", shuffle not in (None, False), shuffle), ("sampler", sampler is not None, sampler),
             ("batch_sampler", batch_sampler is not None, batch_sampler))
    for name, is_set, value in given:
        if is_set:
            raise ValueError(f"DataLoader: with an IterableDataset expected unspecified {name} option, "
                             f"got {name}={value!r}")


def check_batching_options(dataset, batch_size, shuffle, sampler, batch_sampler, drop_last):
    """(batch_size, shuffle, drop_last) after validation; a batch_sampler turns batch_size/drop_last off."""
    if batch_size is not None and (not _is_count(batch_size) or batch_size <= 0):
        raise ValueError(f"DataLoader: batch_size should be a positive integer value or None, got "
                         f"batch_size={batch_size!r}")
    if not isinstance(drop_last, bool):
        raise TypeError(f"DataLoader: drop_last should be a boolean value, got drop_last={drop_last!r}")
    if isinstance(dataset, IterableDataset):
        _reject_for_iterable(shuffle, sampler, batch_sampler)
    shuffle = bool(shuffle)
    if shuffle and sampler is not None:
        raise ValueError(f"DataLoader: sampler option is mutually exclusive with shuffle, got shuffle=True and "
                         f"sampler={type(sampler).__name__}")
    if batch_sampler is None:
        if batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually exclusive "
                             "with drop_last, got drop_last=True")
        return batch_size, shuffle, drop_last
    if batch_size != 1 or shuffle or sampler is not None or drop_last:
        raise ValueError(f"DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                         f"sampler, and drop_last, got batch_size={batch_size!r}, shuffle={shuffle}, "
                         f"sampler={sampler!r}, drop_last={drop_last}")
    return None, shuffle, False


def check_generator(generator):
    return _check_generator(generator, "DataLoader")


def resolve_samplers(dataset, batch_size, shuffle, sampler, batch_sampler, drop_last, generator):
    """The (sampler, batch_sampler) pair a DataLoader iterates; batch_sampler stays None without auto-batching."""
    if sampler is None:
        if isinstance(dataset, IterableDataset):
            sampler = _InfiniteConstantSampler()
        else:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    if batch_sampler is None and batch_size is not None:
        batch_sampler = BatchSampler(sampler, batch_size, drop_last)
    return sampler, batch_sampler
