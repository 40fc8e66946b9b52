"""pyml.utils.data against torch.utils.data: batches, collate structure, shuffling, samplers, splits."""
import collections
import threading
import time

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import pyml
from pyml.utils import data as D


def to_np(x):
    if isinstance(x, (pyml.Tensor, torch.Tensor)):
        return np.asarray(x.tolist())
    return x


def assert_same_structure(a, b):
    """a from pyml, b from torch: same container types (pyml.Tensor for torch.Tensor), same values, dtypes."""
    if isinstance(b, torch.Tensor):
        assert isinstance(a, pyml.Tensor), type(a)
        assert tuple(a.shape) == tuple(b.shape)
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
        np.testing.assert_array_equal(to_np(a), to_np(b))
    elif isinstance(b, dict):
        assert type(a) is type(b) and list(a) == list(b)
        for k in b:
            assert_same_structure(a[k], b[k])
    elif isinstance(b, (list, tuple)):
        assert type(a) is type(b), (type(a), type(b))
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same_structure(x, y)
    else:
        assert a == b


def pair_datasets(n, feat=(3,), seed=0):
    r = np.random.default_rng(seed)
    x = r.standard_normal((n,) + feat).astype(np.float32)
    y = r.integers(0, 5, n)
    return (D.TensorDataset(pyml.tensor(x), pyml.tensor(y)),
            tud.TensorDataset(torch.tensor(x), torch.tensor(y)))


# ---------------------------------------------------------------------------- unshuffled batches vs torch
@pytest.mark.parametrize("n", [1, 7, 10, 97])
@pytest.mark.parametrize("batch_size", [1, 3, 10, 128])
@pytest.mark.parametrize("drop_last", [False, True])
def test_tensor_dataset_batches_match_torch(n, batch_size, drop_last):
    pds, tds = pair_datasets(n)
    pl = D.DataLoader(pds, batch_size=batch_size, drop_last=drop_last)
    tl = tud.DataLoader(tds, batch_size=batch_size, drop_last=drop_last)
    pb, tb = list(pl), list(tl)
    assert len(pl) == len(tl) == len(pb) == len(tb)
    for a, b in zip(pb, tb):
        assert_same_structure(a, b)


def test_batch_size_none_matches_torch():
    pds, tds = pair_datasets(5)
    for a, b in zip(D.DataLoader(pds, batch_size=None), tud.DataLoader(tds, batch_size=None)):
        assert_same_structure(a, b)
    assert len(D.DataLoader(pds, batch_size=None)) == 5


class DictDS(D.Dataset):
    def __len__(self):
        return 9

    def __getitem__(self, i):
        lib = self.lib
        return {"x": lib.full((2,), float(i)), "n": i, "f": i / 2, "b": i % 2 == 0, "s": f"s{i}",
                "a": np.arange(3, dtype=np.int16) + i, "sc": np.float32(i),
                "nest": (i, [i * 2.0, {"k": lib.tensor([i, i])}])}


Point = collections.namedtuple("Point", "x y")


@pytest.mark.parametrize("batch_size", [1, 4])
def test_collate_nested_structures_match_torch(batch_size):
    pds, tds = DictDS(), DictDS()
    pds.lib, tds.lib = pyml, torch
    for a, b in zip(D.DataLoader(pds, batch_size=batch_size), tud.DataLoader(tds, batch_size=batch_size)):
        assert_same_structure(a, b)


def test_default_collate_direct():
    batch = [Point(1, np.ones(2)), Point(2, np.zeros(2))]
    a, b = D.default_collate(batch), tud.default_collate(batch)
    assert isinstance(a, Point)
    assert_same_structure(a.x, b.x)
    assert_same_structure(a.y, b.y)
    assert_same_structure(D.default_collate([[1, 2], [3, 4]]), tud.default_collate([[1, 2], [3, 4]]))
    assert_same_structure(D.default_convert((np.arange(3), "a")), tud.default_convert((np.arange(3), "a")))
    with pytest.raises(RuntimeError, match="default_collate: each element"):
        D.default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: .*found object"):
        D.default_collate([object(), object()])
    with pytest.raises(TypeError, match="default_collate: .*numpy array of dtype <U"):
        D.default_collate([np.array(["a"]), np.array(["b"])])


# ---------------------------------------------------------------------------- shuffling
def epoch_order(loader):
    return [i for b in loader for i in b[1].tolist()]


def test_shuffle_permutation_reshuffle_and_seed():
    n = 50
    ds = D.TensorDataset(pyml.arange(n), pyml.arange(n))
    pyml.manual_seed(123)
    loader = D.DataLoader(ds, batch_size=7, shuffle=True)
    e1, e2 = epoch_order(loader), epoch_order(loader)
    assert sorted(e1) == list(range(n)) and sorted(e2) == list(range(n))
    assert e1 != e2 and e1 != list(range(n))
    pyml.manual_seed(123)
    loader2 = D.DataLoader(ds, batch_size=7, shuffle=True)
    assert epoch_order(loader2) == e1 and epoch_order(loader2) == e2
    # an explicit generator: reproducible from its seed, independent of the default generator
    g1, g2 = pyml.Generator().manual_seed(5), pyml.Generator().manual_seed(5)
    la, lb = D.DataLoader(ds, batch_size=4, shuffle=True, generator=g1), \
        D.DataLoader(ds, batch_size=4, shuffle=True, generator=g2)
    first = epoch_order(la)
    pyml.manual_seed(999)
    assert epoch_order(lb) == first
    assert epoch_order(la) != first


@pytest.mark.parametrize("n,bs", [(10, 3), (9, 3), (2, 5)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_drop_last_and_len(n, bs, drop_last):
    ds = D.TensorDataset(pyml.arange(n))
    loader = D.DataLoader(ds, batch_size=bs, shuffle=True, drop_last=drop_last)
    sizes = [len(b[0]) for b in loader]
    expected_len = n // bs if drop_last else -(-n // bs)
    assert len(loader) == len(sizes) == expected_len == len(tud.DataLoader(range(n), batch_size=bs,
                                                                            drop_last=drop_last))
    assert all(s == bs for s in sizes[:-1])
    if drop_last:
        assert all(s == bs for s in sizes)
    else:
        assert sum(sizes) == n


# ---------------------------------------------------------------------------- workers
class SlowDS(D.Dataset):
    """Sleeps in __getitem__ (releasing the GIL) with jittered times so threads finish out of order."""

    def __init__(self, n):
        self.n = n
        self.threads = set()

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.threads.add(threading.current_thread().name)
        time.sleep(0.002 * ((i * 7) % 3))
        return pyml.tensor([i, i * i]), i


@pytest.mark.parametrize("num_workers", [1, 3])
@pytest.mark.parametrize("shuffle", [False, True])
def test_workers_same_batches_in_order(num_workers, shuffle):
    ds = SlowDS(23)
    pyml.manual_seed(7)
    ref = [[to_np(x) for x in b] for _ in range(2) for b in D.DataLoader(ds, batch_size=4, shuffle=shuffle)]
    ds.threads.clear()
    pyml.manual_seed(7)
    loader = D.DataLoader(ds, batch_size=4, shuffle=shuffle, num_workers=num_workers, prefetch_factor=2)
    got = [[to_np(x) for x in b] for _ in range(2) for b in loader]
    assert len(got) == len(ref) == 2 * len(loader)
    for a, b in zip(got, ref):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    assert all(t.startswith("pyml-DataLoader-worker") for t in ds.threads)
    assert len(ds.threads) >= 1


def test_persistent_workers_and_worker_info():
    seen = []

    class InfoDS(D.Dataset):
        def __len__(self):
            return 12

        def __getitem__(self, i):
            info = D.get_worker_info()
            seen.append((info.id, info.num_workers))
            return i

    calls = []
    loader = D.DataLoader(InfoDS(), batch_size=5, num_workers=2, persistent_workers=True,
                          worker_init_fn=lambda wid: calls.append(wid))
    e1 = [b.tolist() for b in loader]
    e2 = [b.tolist() for b in loader]
    assert e1 == e2 == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11]]
    assert sorted(calls) == [0, 1]  # persistent: worker_init_fn ran once per worker, not per epoch
    assert {s[1] for s in seen} == {2} and {s[0] for s in seen} <= {0, 1}
    assert D.get_worker_info() is None


def test_worker_exception_propagates():
    class Bad(D.Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            if i == 6:
                raise KeyError("sample 6 is broken")
            return i

    loader = D.DataLoader(Bad(), batch_size=2, num_workers=2)
    it = iter(loader)
    assert next(it).tolist() == [0, 1]
    with pytest.raises(KeyError, match="sample 6"):
        list(it)


class ShardedStream(D.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = D.get_worker_info()
        wid, nw = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(wid, self.n, nw))

    def __len__(self):
        return self.n


def test_iterable_dataset_single_and_workers():
    ds = ShardedStream(11)
    assert [b.tolist() for b in D.DataLoader(ds, batch_size=4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]
    assert [b.tolist() for b in D.DataLoader(ds, batch_size=4, drop_last=True)] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(D.DataLoader(range(0), batch_size=2)) == 0
    # two sharded workers, round-robin like torch: every element exactly once
    got = [b.tolist() for b in D.DataLoader(ds, batch_size=2, num_workers=2)]
    assert sorted(i for b in got for i in b) == list(range(11))
    assert got[0] == [0, 2] and got[1] == [1, 3]


def test_subset_concat_chain():
    a = D.TensorDataset(pyml.arange(5))
    b = D.TensorDataset(pyml.arange(10, 13))
    c = a + b
    assert isinstance(c, D.ConcatDataset) and len(c) == 8
    assert [c[i][0].item() for i in range(8)] == [0, 1, 2, 3, 4, 10, 11, 12]
    assert c[-1][0].item() == 12
    with pytest.raises(IndexError, match="ConcatDataset"):
        c[8]
    s = D.Subset(c, [7, 0, 5])
    assert [x[0].item() for x in s] == [12, 0, 10] and len(s) == 3
    assert [b[0].tolist() for b in D.DataLoader(s, batch_size=2)] == [[12, 0], [10]]
    ch = ShardedStream(3) + ShardedStream(2)
    assert list(ch) == [0, 1, 2, 0, 1] and len(ch) == 5


# ---------------------------------------------------------------------------- samplers
def test_sequential_and_random_sampler():
    assert list(D.SequentialSampler(range(5))) == [0, 1, 2, 3, 4]
    g = pyml.Generator().manual_seed(0)
    s = D.RandomSampler(range(20), generator=g)
    e1, e2 = list(s), list(s)
    assert sorted(e1) == sorted(e2) == list(range(20)) and e1 != e2 and len(s) == 20
    s = D.RandomSampler(range(7), num_samples=17, generator=g)
    out = list(s)
    assert len(out) == 17 == len(s)
    assert sorted(out[:7]) == sorted(out[7:14]) == list(range(7))
    r = list(D.RandomSampler(range(4), replacement=True, num_samples=1000, generator=g))
    assert len(r) == 1000 and set(r) == {0, 1, 2, 3}
    assert np.all(np.abs(np.bincount(r) / 1000 - 0.25) < 0.06)


def test_subset_random_sampler():
    idx = [3, 10, 42, 7]
    s = D.SubsetRandomSampler(idx, generator=pyml.Generator().manual_seed(1))
    assert sorted(s) == sorted(idx) and len(s) == 4


def test_weighted_random_sampler_frequencies():
    w = [1.0, 2.0, 0.0, 7.0]
    g = pyml.Generator().manual_seed(3)
    n = 20000
    draws = list(D.WeightedRandomSampler(w, n, generator=g))
    freq = np.bincount(draws, minlength=4) / n
    np.testing.assert_allclose(freq, np.array(w) / sum(w), atol=0.015)
    assert freq[2] == 0
    nr = list(D.WeightedRandomSampler(pyml.tensor([1.0, 1.0, 5.0, 1.0]), 4, replacement=False, generator=g))
    assert sorted(nr) == [0, 1, 2, 3]
    loader = D.DataLoader(D.TensorDataset(pyml.arange(4)), batch_size=5,
                          sampler=D.WeightedRandomSampler(w, 10, generator=g))
    assert len(loader) == 2 and all(i != 2 for b in loader for i in b[0].tolist())


def test_batch_sampler_matches_torch():
    for bs in (1, 3, 4):
        for dl in (False, True):
            p = D.BatchSampler(D.SequentialSampler(range(10)), bs, dl)
            t = tud.BatchSampler(tud.SequentialSampler(range(10)), bs, dl)
            assert list(p) == list(t) and len(p) == len(t)
    loader = D.DataLoader(D.TensorDataset(pyml.arange(10)), batch_sampler=[[1, 2], [9, 0, 3]])
    assert [b[0].tolist() for b in loader] == [[1, 2], [9, 0, 3]]


# ---------------------------------------------------------------------------- splits
@pytest.mark.parametrize("n,fracs", [(10, [0.3, 0.7]), (11, [0.5, 0.25, 0.25]), (7, [1 / 3] * 3),
                                     (100, [0.1] * 10), (5, [0.33, 0.33, 0.34])])
def test_random_split_fractions_like_torch(n, fracs):
    parts = D.random_split(range(n), fracs, generator=pyml.Generator().manual_seed(0))
    tparts = tud.random_split(range(n), fracs, generator=torch.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [len(p) for p in tparts]
    assert sorted(i for p in parts for i in p) == list(range(n))


def test_random_split_lengths_and_seed():
    ds = D.TensorDataset(pyml.arange(20))
    a = D.random_split(ds, [5, 15], generator=pyml.Generator().manual_seed(4))
    b = D.random_split(ds, [5, 15], generator=pyml.Generator().manual_seed(4))
    assert [len(p) for p in a] == [5, 15] and a[0].indices == b[0].indices and a[1].indices == b[1].indices
    assert sorted(a[0].indices + a[1].indices) == list(range(20))
    assert a[0].indices != list(range(5))


def test_kfold_covers_each_index_once():
    for n, k in [(10, 3), (7, 7), (23, 5)]:
        for shuffle in (False, True):
            kf = D.KFold(k, shuffle=shuffle, generator=pyml.Generator().manual_seed(2))
            folds = list(kf.split(n))
            assert len(folds) == k == kf.get_n_splits()
            vals = [i for _, v in folds for i in v]
            assert sorted(vals) == list(range(n))
            for tr, v in folds:
                assert sorted(tr + v) == list(range(n)) and not set(tr) & set(v)
                assert len(v) in (n // k, n // k + 1)
            if not shuffle:
                assert vals == list(range(n))
    a = [v for _, v in D.KFold(4, shuffle=True, generator=pyml.Generator().manual_seed(9)).split(range(20))]
    b = [v for _, v in D.KFold(4, shuffle=True, generator=pyml.Generator().manual_seed(9)).split(range(20))]
    assert a == b and [i for v in a for i in v] != list(range(20))
    with pytest.raises(ValueError, match="KFold: cannot have n_splits=5 .* got 3 samples"):
        list(D.KFold(5).split(3))
    with pytest.raises(ValueError, match="KFold: n_splits must be .* got n_splits=1"):
        D.KFold(1)


@pytest.mark.parametrize("counts,frac", [([50, 30, 20], 0.2), ([7, 3, 11, 1], 0.3), ([100, 5], 0.25)])
def test_stratified_split_keeps_proportions(counts, frac):
    labels = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(0).shuffle(labels)
    for lab in (labels, pyml.tensor(labels), labels.tolist()):
        tr, va = D.stratified_split(lab, frac, generator=pyml.Generator().manual_seed(1))
        assert sorted(tr + va) == list(range(len(labels))) and not set(tr) & set(va)
        assert len(va) == round(frac * len(labels))
        for c, cnt in enumerate(counts):
            nv = int(np.sum(labels[va] == c))
            assert abs(nv - frac * cnt) < 1, (c, nv, cnt)
    a = D.stratified_split(labels, frac, generator=pyml.Generator().manual_seed(5))
    b = D.stratified_split(labels, frac, generator=pyml.Generator().manual_seed(5))
    c = D.stratified_split(labels, frac, generator=pyml.Generator().manual_seed(6))
    assert a == b and a != c


# ---------------------------------------------------------------------------- bad arguments
def test_bad_arguments():
    ds = D.TensorDataset(pyml.arange(10))
    with pytest.raises(ValueError, match="DataLoader: batch_size .* got batch_size=0"):
        D.DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="BatchSampler: batch_size .* got batch_size=-2"):
        D.BatchSampler(range(3), -2, False)
    with pytest.raises(ValueError, match="DataLoader: sampler option is mutually exclusive with shuffle, got "
                                         "shuffle=True and sampler=SequentialSampler"):
        D.DataLoader(ds, sampler=D.SequentialSampler(ds), shuffle=True)
    with pytest.raises(ValueError, match="DataLoader: batch_sampler option is mutually exclusive"):
        D.DataLoader(ds, batch_size=2, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match=r"random_split: .*fractions summing to 1, got \[0.5, 0.3\]"):
        D.random_split(ds, [0.5, 0.3])
    with pytest.raises(ValueError, match=r"random_split: sum of input lengths .* got lengths \[3, 4\] \(sum 7\) "
                                         r"for a dataset of length 10"):
        D.random_split(ds, [3, 4])
    with pytest.raises(ValueError, match="DataLoader: num_workers .* got num_workers=-1"):
        D.DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="DataLoader: persistent_workers option needs num_workers > 0"):
        D.DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="DataLoader: prefetch_factor .* prefetch_factor=2 with num_workers=0"):
        D.DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError, match="DataLoader: .*IterableDataset expected unspecified shuffle option"):
        D.DataLoader(ShardedStream(3), shuffle=True)
    with pytest.raises(ValueError, match="TensorDataset: .*got sizes \\[3, 4\\]"):
        D.TensorDataset(pyml.zeros(3), pyml.zeros(4))
    with pytest.raises(ValueError, match="RandomSampler: num_samples .* got num_samples=0"):
        D.RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match="RandomSampler: replacement .* got replacement=1"):
        D.RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="WeightedRandomSampler: weights should be a 1-d"):
        D.WeightedRandomSampler([[1.0, 2.0]], 3)
    with pytest.raises(ValueError, match="WeightedRandomSampler: without replacement .* num_samples=5 for 2"):
        D.WeightedRandomSampler([1.0, 2.0], 5, replacement=False)
    with pytest.raises(TypeError, match="DataLoader: generator must be a pyml.Generator"):
        D.DataLoader(ds, shuffle=True, generator=torch.Generator())
    with pytest.raises(ValueError, match="stratified_split: val_fraction .* got val_fraction=1.5"):
        D.stratified_split([0, 1], 1.5)
    with pytest.raises(ValueError, match="ConcatDataset: datasets should not be an empty"):
        D.ConcatDataset([])
    loader = D.DataLoader(ds)
    with pytest.raises(ValueError, match="DataLoader: batch_size attribute should not be set"):
        loader.batch_size = 3


def test_pin_memory_and_accepted_options():
    ds = D.TensorDataset(pyml.arange(6))
    loader = D.DataLoader(ds, batch_size=4, pin_memory=True, timeout=5, num_workers=1, in_order=True)
    assert [b[0].tolist() for b in loader] == [[0, 1, 2, 3], [4, 5]]


def test_workers_prefetch_before_consumption():
    """With workers, prefetch_factor * num_workers batches are loaded before the first next() call."""
    accessed = []
    done = threading.Event()

    class Rec(D.Dataset):
        def __len__(self):
            return 40

        def __getitem__(self, i):
            accessed.append(i)
            if len(accessed) == 12:
                done.set()
            return i

    it = iter(D.DataLoader(Rec(), batch_size=2, num_workers=3, prefetch_factor=2))
    assert done.wait(10), accessed  # 3 workers * 2 batches * 2 samples, requested before any next()
    time.sleep(0.05)
    assert sorted(accessed) == list(range(12))  # and no more than that until batches are consumed
    assert next(it).tolist() == [0, 1]
    assert [b.tolist() for b in it][-1] == [38, 39]
    assert sorted(accessed) == list(range(40))


def test_workers_stop_after_early_break():
    import gc
    ds = D.TensorDataset(pyml.arange(100))

    def workers():
        return [t for t in threading.enumerate() if t.name.startswith("pyml-DataLoader-worker")]

    before = set(workers())
    loader = D.DataLoader(ds, batch_size=3, num_workers=3)
    for i, _ in enumerate(loader):
        if i == 2:
            break
    gc.collect()
    for t in set(workers()) - before:
        t.join(5)
    assert set(workers()) <= before
    assert len([b for b in loader]) == 34  # a fresh epoch works after the abandoned one
