"""StackDataset and DistributedSampler against torch.utils.data: samples, batches, lengths, the
padding / drop_last / partition rules for every (N, num_replicas, rank), set_epoch, and errors."""
import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import pyml
from pyml.utils.data import DataLoader, DistributedSampler, StackDataset, TensorDataset, Dataset


class _Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i * i


class _Batched(_Squares):
    calls = 0

    def __getitems__(self, indices):
        _Batched.calls += 1
        return [i * i for i in indices]


def test_stack_dataset_tuple_and_dict():
    x = pyml.arange(7 * 3).reshape(7, 3)
    a, b = TensorDataset(x), _Squares(7)
    s = StackDataset(a, b)
    assert len(s) == 7
    item = s[4]
    assert isinstance(item, tuple) and item[1] == 16
    np.testing.assert_array_equal(item[0][0].numpy(), x[4].numpy())
    d = StackDataset(img=a, sq=b)
    assert set(d[2]) == {"img", "sq"} and d[2]["sq"] == 4
    t = tdata.StackDataset(img=list(range(7)), sq=[i * i for i in range(7)])
    assert [d[i]["sq"] for i in range(7)] == [t[i]["sq"] for i in range(7)]


def test_stack_dataset_getitems_uses_members():
    _Batched.calls = 0
    s = StackDataset(_Batched(9), _Squares(9))
    assert s.__getitems__([1, 3, 8]) == [(1, 1), (9, 9), (64, 64)]
    assert _Batched.calls == 1
    d = StackDataset(p=_Batched(9), q=_Squares(9))
    assert d.__getitems__([2, 0]) == [{"p": 4, "q": 4}, {"p": 0, "q": 0}]


def test_stack_dataset_in_a_dataloader():
    x = pyml.randn(11, 2)
    y = pyml.arange(11)
    loader = DataLoader(StackDataset(x=TensorDataset(x), y=TensorDataset(y)), batch_size=4)
    batches = list(loader)
    assert len(batches) == 3
    assert tuple(batches[0]["x"][0].shape) == (4, 2)
    np.testing.assert_array_equal(batches[-1]["y"][0].numpy(), [8, 9, 10])


@pytest.mark.parametrize("args,kwargs,match", [
    ((), {}, "at least one dataset"),
    ((_Squares(3), _Squares(4)), {}, "same length"),
    ((), dict(a=_Squares(3), b=_Squares(5)), "same length"),
    ((_Squares(3),), dict(b=_Squares(3)), "either positionally"),
])
def test_stack_dataset_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        StackDataset(*args, **kwargs)


@pytest.mark.parametrize("n", [0, 1, 7, 10, 97])
@pytest.mark.parametrize("replicas", [1, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_unshuffled_matches_torch(n, replicas, drop_last):
    data = list(range(n))
    for rank in range(replicas):
        ours = DistributedSampler(data, num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        ref = tdata.DistributedSampler(data, num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(ref)
        assert len(ours) == len(ref) and ours.total_size == ref.total_size and ours.num_samples == ref.num_samples


def test_distributed_padding_when_smaller_than_replicas():
    data = list(range(2))
    shares = [list(DistributedSampler(data, num_replicas=5, rank=r, shuffle=False)) for r in range(5)]
    ref = [list(tdata.DistributedSampler(data, num_replicas=5, rank=r, shuffle=False)) for r in range(5)]
    assert shares == ref == [[0], [1], [0], [1], [0]]


@pytest.mark.parametrize("n,replicas,drop_last", [(23, 4, False), (23, 4, True), (24, 3, False), (5, 7, False)])
def test_distributed_shuffled_partition_rules(n, replicas, drop_last):
    """Shuffled shares: together they cover the permutation (padded or cut like torch's), and they are
    disjoint when nothing is padded; every replica computes the same permutation from seed + epoch."""
    data = list(range(n))
    samplers = [DistributedSampler(data, num_replicas=replicas, rank=r, seed=3, drop_last=drop_last)
                for r in range(replicas)]
    ref = tdata.DistributedSampler(data, num_replicas=replicas, rank=0, seed=3, drop_last=drop_last)
    shares = [list(s) for s in samplers]
    assert all(len(sh) == len(ref) for sh in shares)
    merged = [shares[r][i] for i in range(len(ref)) for r in range(replicas)]  # the (padded) permutation
    assert len(merged) == ref.total_size
    if drop_last:
        assert len(set(merged)) == len(merged) == replicas * (n // replicas)
    else:
        assert set(merged) == set(data)
        base = merged[:n]
        assert sorted(base) == data
        assert merged[n:] == (base * replicas)[:len(merged) - n]  # padding repeats the head
    # same seed and epoch: same shares
    assert [list(s) for s in samplers] == shares


def test_distributed_set_epoch_and_seed():
    data = list(range(50))
    s = DistributedSampler(data, num_replicas=2, rank=1, seed=7)
    first = list(s)
    assert list(s) == first  # no set_epoch: same order
    s.set_epoch(1)
    assert s.epoch == 1
    second = list(s)
    assert second != first
    rank0 = DistributedSampler(data, 2, 0, seed=7)
    rank0.set_epoch(1)
    assert sorted(second + list(rank0)) == data  # the two shares of epoch 1 split one permutation
    other = DistributedSampler(data, num_replicas=2, rank=1, seed=8)
    assert list(other) != first
    pyml.manual_seed(0)
    a = list(DistributedSampler(data, num_replicas=2, rank=0, seed=7))
    pyml.manual_seed(1)
    assert list(DistributedSampler(data, num_replicas=2, rank=0, seed=7)) == a  # independent of the global RNG


def test_distributed_sampler_in_a_dataloader():
    ds = TensorDataset(pyml.arange(10))
    seen = []
    for rank in range(3):
        loader = DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, num_replicas=3, rank=rank, shuffle=False))
        seen += [int(v) for batch in loader for v in batch[0].tolist()]
    assert sorted(seen) == sorted(list(range(10)) + [0, 1])


@pytest.mark.parametrize("kw,exc,match", [
    (dict(rank=0), ValueError, "num_replicas must be given explicitly"),
    (dict(num_replicas=2), ValueError, "rank must be given explicitly"),
    (dict(num_replicas=2, rank=2), ValueError, r"Invalid rank 2, rank should be in the interval \[0, 1\]"),
    (dict(num_replicas=2, rank=-1), ValueError, "Invalid rank -1"),
    (dict(num_replicas=0, rank=0), ValueError, "num_replicas must be positive"),
    (dict(num_replicas=2.0, rank=0), TypeError, "num_replicas must be an int"),
])
def test_distributed_errors(kw, exc, match):
    with pytest.raises(exc, match=match):
        DistributedSampler(list(range(4)), **kw)
