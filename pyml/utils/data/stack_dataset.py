"""StackDataset (torch.utils.data.StackDataset): several datasets of one length read side by side.

Given positionally, sample i is the tuple (d0[i], d1[i], ...); given by keyword, the dict {key: d[i]}.
__getitems__ fetches a batch, using a member's own __getitems__ where it has one.
"""
from .dataset import Dataset

__all__ = ["StackDataset"]


def _length(datasets):
    lengths = [len(d) for d in datasets]
    if len(set(lengths)) > 1:
        raise ValueError(f"StackDataset: all datasets must have the same length, got lengths {lengths}")
    return lengths[0]


def _column(dataset, indices):
    """dataset's samples at indices, through its __getitems__ when it has one."""
    getitems = getattr(dataset, "__getitems__", None)
    if not callable(getitems):
        return [dataset[i] for i in indices]
    items = getitems(indices)
    if len(items) != len(indices):
        raise ValueError(f"StackDataset: a nested dataset's __getitems__ must return one sample per index, "
                         f"expected {len(indices)}, got {len(items)}")
    return items


class StackDataset(Dataset):
    """StackDataset(a, b)[i] == (a[i], b[i]); StackDataset(x=a, y=b)[i] == {'x': a[i], 'y': b[i]}."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("StackDataset: pass datasets either positionally (tuple samples) or by keyword "
                             f"(dict samples), got {len(args)} positional and {len(kwargs)} keyword datasets")
        if not args and not kwargs:
            raise ValueError("StackDataset: at least one dataset should be passed, got none")
        self.datasets = args if args else kwargs
        self._length = _length(args if args else list(kwargs.values()))

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices):
        indices = list(indices)
        if isinstance(self.datasets, dict):
            columns = {k: _column(d, indices) for k, d in self.datasets.items()}
            return [{k: col[j] for k, col in columns.items()} for j in range(len(indices))]
        columns = [_column(d, indices) for d in self.datasets]
        return [tuple(col[j] for col in columns) for j in range(len(indices))]

    def __len__(self):
        return self._length
