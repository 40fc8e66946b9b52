"""DataLoader, default_collate / default_convert and get_worker_info, with torch.utils.data's names and
semantics.

Workers are THREADS, not processes: num_workers=N starts N threads in this process, each fetching and
collating whole batches, with up to prefetch_factor * N batches requested ahead, so that loading
(file reads, decoding, sleeps, anything that releases the GIL) overlaps the training step running in the
main thread. Batches always come back in sampler order, so a map-style dataset gives exactly the batches
of num_workers=0. Engine calls hold the GIL, so pure tensor work inside a dataset does not run in
parallel with tensor work in the main thread; the win is in I/O-bound loading. Consequences of threads:
datasets need not be picklable, workers share memory (no copies), and random transforms inside datasets
share the default generator, whose draw order across threads is not deterministic; for reproducible
augmentation with workers use a per-worker pyml.Generator seeded from get_worker_info().seed.
pin_memory, multiprocessing_context and pin_memory_device are accepted for compatibility and ignored
(tensors live in ordinary CPU memory).
"""
import collections.abc
import itertools
import queue
import re
import threading

import numpy as np

from ..._tensor import Tensor
from .dataset import IterableDataset
from . import _loader_options as opts

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info", "WorkerInfo"]

_NP_STR = re.compile(r"[SaUO]")


def _np_to_tensor(a, op):
    from ..._creation import as_tensor
    if _NP_STR.search(a.dtype.str) is not None:
        raise TypeError(f"{op}: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                        f"found numpy array of dtype {a.dtype}")
    return as_tensor(np.ascontiguousarray(a) if a.ndim else np.asarray(a))


def default_convert(data):
    """Convert numpy arrays and scalars (also inside dicts, namedtuples and sequences) to tensors,
    leaving everything else as is (what DataLoader uses when batch_size=None)."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if _NP_STR.search(data.dtype.str) else _np_to_tensor(data, "default_convert")
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        return _np_to_tensor(np.asarray(data), "default_convert")
    if isinstance(data, collections.abc.Mapping):
        try:
            return type(data)({k: default_convert(v) for k, v in data.items()})
        except TypeError:
            return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def default_collate(batch):
    """Collate a list of samples into a batch, like torch's default_collate: tensors are stacked along a
    new first dimension, numpy arrays and scalars become stacked tensors, Python floats a float64 tensor,
    ints an int64 tensor (bools a bool tensor), strings stay a list; dicts, namedtuples, tuples (which
    become lists) and lists are collated field by field, recursively."""
    from ..._creation import tensor
    from ... import _dtype as D
    from ..._ops.index import stack
    if len(batch) == 0:
        raise ValueError("default_collate: batch must hold at least one sample, got an empty batch")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch), 0)
    if isinstance(elem, np.ndarray):
        return default_collate([_np_to_tensor(b, "default_collate") for b in batch])
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        return stack([_np_to_tensor(np.asarray(b), "default_collate") for b in batch], 0)
    if isinstance(elem, bool):
        return tensor(list(batch), dtype=D.bool_)
    if isinstance(elem, float):
        return tensor(list(batch), dtype=D.float64)
    if isinstance(elem, int):
        return tensor(list(batch), dtype=D.int64)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        out = {k: default_collate([d[k] for d in batch]) for k in elem}
        try:
            return type(elem)(out)
        except TypeError:
            return out
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError(f"default_collate: each element in list of batch should be of equal size, got sizes "
                               f"{[len(e) for e in batch]}")
        transposed = [default_collate(list(s)) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return transposed  # like PyTorch: tuples collate to lists
        if isinstance(elem, collections.abc.MutableSequence):
            try:
                clone = type(elem)(elem)
                for i, s in enumerate(transposed):
                    clone[i] = s
                return clone
            except TypeError:
                return transposed
        try:
            return type(elem)(transposed)
        except TypeError:
            return transposed
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                    f"found {type(elem).__name__}")


# ---------------------------------------------------------------------------- workers
class WorkerInfo:
    """What get_worker_info() returns inside a worker thread: id, num_workers, seed, dataset."""

    def __init__(self, id, num_workers, seed, dataset):
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed})"


_local = threading.local()


def get_worker_info():
    """The WorkerInfo of the calling DataLoader worker thread, or None in the main thread."""
    return getattr(_local, "info", None)


class _Stop:
    """A worker's answer when its iterable dataset is exhausted."""


class _Failure:
    def __init__(self, exc, worker_id):
        self.exc, self.worker_id = exc, worker_id


class _Fetcher:
    """Turns a sampler item (an index, or a list of them) into a collated batch."""

    def __init__(self, loader):
        self.dataset = loader.dataset
        self.auto = loader._auto_collation
        self.collate = loader.collate_fn
        self.drop_last = loader.drop_last
        self.iterable = isinstance(loader.dataset, IterableDataset)
        self.it = None
        self.ended = False

    def reset(self):
        self.it, self.ended = None, False

    def fetch(self, index):
        if self.iterable:
            if self.ended:
                return _Stop
            if self.it is None:
                self.it = iter(self.dataset)
            if self.auto:
                data = []
                for _ in index:
                    try:
                        data.append(next(self.it))
                    except StopIteration:
                        self.ended = True
                        break
                if not data or (self.drop_last and len(data) < len(index)):
                    return _Stop
            else:
                try:
                    data = next(self.it)
                except StopIteration:
                    self.ended = True
                    return _Stop
            return self.collate(data)
        if self.auto:
            getitems = getattr(self.dataset, "__getitems__", None)
            data = getitems(index) if callable(getitems) else [self.dataset[i] for i in index]
        else:
            data = self.dataset[index]
        return self.collate(data)


class _Sink:
    """Where the workers drop the results of one epoch's tasks, keyed by task index."""

    def __init__(self):
        self.results = {}
        self.cv = threading.Condition()

    def put(self, idx, value):
        with self.cv:
            self.results[idx] = value
            self.cv.notify_all()

    def take(self, idx, timeout):
        with self.cv:
            if not self.cv.wait_for(lambda: idx in self.results, timeout=timeout if timeout > 0 else None):
                raise RuntimeError(f"DataLoader: timed out after {timeout} seconds waiting for batch {idx} "
                                   f"from the worker threads")
            return self.results.pop(idx)


class _WorkerPool:
    """num_workers threads, each with its own task queue (tasks go round-robin, as in PyTorch)."""

    def __init__(self, loader, base_seed):
        self.n = loader.num_workers
        self.queues = [queue.Queue() for _ in range(self.n)]
        self.threads = []
        for wid in range(self.n):
            info = WorkerInfo(wid, self.n, base_seed + wid, loader.dataset)
            t = threading.Thread(target=self._loop, args=(wid, info, _Fetcher(loader), loader.worker_init_fn),
                                 name=f"pyml-DataLoader-worker-{wid}", daemon=True)
            t.start()
            self.threads.append(t)

    def _loop(self, wid, info, fetcher, init_fn):
        _local.info = info
        init_error = None
        if init_fn is not None:
            try:
                init_fn(wid)
            except BaseException as e:  # reported with the first task
                init_error = e
        q = self.queues[wid]
        while True:
            task = q.get()
            if task is None:
                return
            if task == "reset":
                fetcher.reset()
                continue
            sink, idx, index = task
            if init_error is not None:
                sink.put(idx, _Failure(init_error, wid))
                continue
            try:
                sink.put(idx, fetcher.fetch(index))
            except BaseException as e:
                sink.put(idx, _Failure(e, wid))

    def reset(self):
        for q in self.queues:
            q.put("reset")

    def shutdown(self):
        for q in self.queues:
            q.put(None)
        for t in self.threads:
            if t is not threading.current_thread():
                t.join(timeout=5)
        self.threads = []


class _SingleThreadIter:
    def __init__(self, loader):
        self._loader = loader
        self._base_seed = loader._draw_base_seed()
        self._sampler_iter = iter(loader._index_sampler)
        self._fetcher = _Fetcher(loader)

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._loader)

    def __next__(self):
        index = next(self._sampler_iter)
        out = self._fetcher.fetch(index)
        if out is _Stop:
            raise StopIteration
        return out


class _ThreadedIter:
    def __init__(self, loader):
        self._loader = loader
        self._base_seed = loader._draw_base_seed()
        self._sampler_iter = iter(loader._index_sampler)
        if loader.persistent_workers:
            if loader._pool is None:
                loader._pool = _WorkerPool(loader, self._base_seed)
            else:
                loader._pool.reset()
            self._pool, self._owns_pool = loader._pool, False
        else:
            self._pool, self._owns_pool = _WorkerPool(loader, self._base_seed), True
        self._sink = _Sink()
        self._active = [True] * self._pool.n
        self._rr = itertools.cycle(range(self._pool.n))
        self._worker_of = {}
        self._send = self._rcvd = 0
        self._exhausted = False
        for _ in range(loader.prefetch_factor * self._pool.n):
            self._try_put()

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._loader)

    def _try_put(self):
        if self._exhausted or not any(self._active):
            return
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            self._exhausted = True
            return
        for _ in range(self._pool.n):
            wid = next(self._rr)
            if self._active[wid]:
                break
        self._worker_of[self._send] = wid
        self._pool.queues[wid].put((self._sink, self._send, index))
        self._send += 1

    def __next__(self):
        while True:
            if self._rcvd == self._send:
                self._finish()
                raise StopIteration
            out = self._sink.take(self._rcvd, self._loader.timeout)
            wid = self._worker_of.pop(self._rcvd)
            self._rcvd += 1
            if out is _Stop:
                self._active[wid] = False
                self._try_put()
                continue
            self._try_put()
            if isinstance(out, _Failure):
                self._finish()
                exc = out.exc
                if hasattr(exc, "add_note"):
                    exc.add_note(f"(raised in DataLoader worker thread {out.worker_id})")
                raise exc
            return out

    def _finish(self):
        if self._owns_pool and self._pool is not None:
            self._pool.shutdown()
        self._pool = self._pool if not self._owns_pool else None
        self._exhausted = True

    def __del__(self):
        try:
            if self._owns_pool and self._pool is not None:
                self._pool.shutdown()
        except Exception:
            pass


# ---------------------------------------------------------------------------- DataLoader
class DataLoader:
    """Iterate a dataset in batches, like torch.utils.data.DataLoader (same arguments and defaults).
    shuffle=True draws a new permutation every epoch from `generator` (or, without one, from a generator
    seeded off the default generator, so pyml.manual_seed makes the epochs reproducible). num_workers > 0
    uses worker threads with a prefetch queue; see the module docstring."""

    _frozen = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        num_workers, prefetch_factor = opts.check_worker_options(num_workers, timeout, prefetch_factor,
                                                                 persistent_workers)
        opts.check_generator(generator)
        batch_size, shuffle, drop_last = opts.check_batching_options(dataset, batch_size, shuffle, sampler,
                                                                     batch_sampler, drop_last)
        sampler, batch_sampler = opts.resolve_samplers(dataset, batch_size, shuffle, sampler, batch_sampler,
                                                       drop_last, generator)
        if collate_fn is None:  # whole batches are collated; single samples (batch_size=None) only converted
            collate_fn = default_collate if batch_sampler is not None else default_convert
        state = vars(self)  # plain stores: __setattr__ freezes some of these names once _initialized is set
        state.update(dataset=dataset, sampler=sampler, batch_sampler=batch_sampler, batch_size=batch_size,
                     drop_last=drop_last, generator=generator, collate_fn=collate_fn)
        state.update(num_workers=num_workers, prefetch_factor=prefetch_factor, persistent_workers=persistent_workers,
                     timeout=timeout, worker_init_fn=worker_init_fn, in_order=in_order)
        # accepted for compatibility only: threads share ordinary CPU memory
        state.update(pin_memory=pin_memory, pin_memory_device=pin_memory_device,
                     multiprocessing_context=multiprocessing_context)
        state.update(_pool=None, _initialized=True)

    def __setattr__(self, name, value):
        if getattr(self, "_initialized", False) and name in self._frozen:
            raise ValueError(f"DataLoader: {name} attribute should not be set after DataLoader is initialized")
        super().__setattr__(name, value)

    @property
    def _index_sampler(self):
        """What the iterators draw from: lists of indices when batching automatically, else single indices."""
        return self.sampler if self.batch_sampler is None else self.batch_sampler

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    def _draw_base_seed(self):
        """Per-epoch seed for the workers' WorkerInfo.seed, drawn (for every epoch, workers or not, so the
        random stream is the same either way) from the loader's generator or the default one."""
        from ..._creation import empty
        from ... import _dtype as D
        return int(empty((), dtype=D.int64).random_(generator=self.generator).item())

    def __iter__(self):
        if self.num_workers == 0:
            return _SingleThreadIter(self)
        return _ThreadedIter(self)

    def __len__(self):
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def __del__(self):
        pool = self.__dict__.get("_pool")
        if pool is not None:
            try:
                pool.shutdown()
            except Exception:
                pass
