"""Variable-length sequence helpers (torch.nn.utils.rnn): PackedSequence, pack/pad and back.

A PackedSequence stores the time steps of a length-sorted batch back to back: data (sum(lengths), *),
batch_sizes[t] = how many sequences are longer than t (int64, CPU), sorted_indices (the sort applied
to the batch) and unsorted_indices (its inverse). Packing and padding are one index_select each over the
flattened (T*B, *) tensor with an index built once from the lengths, so both are differentiable.
"""
from collections import namedtuple
from collections.abc import Iterable

import pyml
from ..._tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence"]


def _bind(t, fn):
    return None if t is None else fn(t)


class PackedSequence(namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """Holds the data and list of batch_sizes of a packed sequence (fields named like torch's)."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise ValueError("PackedSequence: expected (data, batch_sizes) or data and batch_sizes")
            data, batch_sizes = data
        if batch_sizes.device.type != "cpu":
            raise ValueError("batch_sizes should always be on CPU. Instances of PackedSequence should never be "
                             "created manually. They should be instantiated by functions like pack_sequence and "
                             "pack_padded_sequences in nn.utils.rnn.")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        idx = [_bind(t, lambda x: x.to(data.device)) for t in (self.sorted_indices, self.unsorted_indices)]
        return type(self)(data, self.batch_sizes, *idx)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else device)

    def double(self):
        return self.to(pyml.float64)

    def float(self):
        return self.to(pyml.float32)

    def half(self):
        return self.to(pyml.float16)

    def long(self):
        return self.to(pyml.int64)

    def int(self):
        return self.to(pyml.int32)

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def is_pinned(self):
        return False


def invert_permutation(permutation):
    if permutation is None:
        return None
    out = pyml.empty_like(permutation)
    out[permutation] = pyml.arange(permutation.numel(), dtype=permutation.dtype)
    return out


def _lengths_list(lengths):
    if isinstance(lengths, Tensor):
        if lengths.ndim != 1:
            raise ValueError(f"pack_padded_sequence: lengths must be 1-D, got shape {tuple(lengths.shape)}")
        return [int(v) for v in lengths.tolist()]
    return [int(v) for v in lengths]


def _packed_rows(lengths, B, batch_first, T):
    """Row indices into the flattened padded input, in packed order (time-major, sorted batch)."""
    rows = []
    batch_sizes = []
    for t in range(max(lengths, default=0)):
        n = sum(1 for n_ in lengths if n_ > t)
        batch_sizes.append(n)
        rows.extend((b * T + t) if batch_first else (t * B + b) for b in range(n))
    return rows, batch_sizes


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) or (B, T, *) given each sequence's length."""
    op = "pack_padded_sequence"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: argument 'input' must be Tensor, not {type(input).__name__}")
    lens = _lengths_list(lengths)
    if input.ndim < 2:
        raise ValueError(f"{op}: input must have at least 2 dims (T, B, *), got shape {tuple(input.shape)}")
    T, B = (input.shape[1], input.shape[0]) if batch_first else (input.shape[0], input.shape[1])
    if len(lens) != B:
        raise ValueError(f"{op}: Expected `len(lengths)` to be equal to batch_size, but got {len(lens)} (batch_size="
                         f"{B})")
    sorted_indices = None
    if enforce_sorted:
        if any(lens[i] < lens[i + 1] for i in range(len(lens) - 1)):
            raise ValueError(f"{op}: `lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                             "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                             "sidestep this requirement if you do not need ONNX exportability.")
    else:
        order = sorted(range(B), key=lambda i: -lens[i])
        sorted_indices = pyml.tensor(order, dtype=pyml.int64)
        input = pyml.index_select(input, 0 if batch_first else 1, sorted_indices)
        lens = [lens[i] for i in order]
    if lens and lens[-1] <= 0:
        raise ValueError(f"{op}: Length of all samples has to be greater than 0, but found an element in 'lengths' "
                         "that is <= 0")
    if lens and lens[0] > T:
        raise ValueError(f"{op}: the longest length ({lens[0]}) exceeds the padded length ({T}); input "
                         f"{tuple(input.shape)}, batch_first={batch_first}")
    rows, batch_sizes = _packed_rows(lens, B, batch_first, T)
    flat = input.reshape((T * B,) + tuple(input.shape[2:]))
    data = pyml.index_select(flat, 0, pyml.tensor(rows, dtype=pyml.int64))
    return PackedSequence(data, pyml.tensor(batch_sizes, dtype=pyml.int64), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Inverse of pack_padded_sequence: (padded (T, B, *) or (B, T, *), lengths int64)."""
    op = "pad_packed_sequence"
    data, batch_sizes = sequence.data, [int(v) for v in sequence.batch_sizes.tolist()]
    max_len = len(batch_sizes)
    if total_length is not None:
        if total_length < max_len:
            raise ValueError(f"{op}: Expected total_length to be at least the length of the longest sequence in "
                             f"input, but got total_length={total_length} and max sequence length being {max_len}")
        max_len = total_length
    B = batch_sizes[0] if batch_sizes else 0
    lengths = [sum(1 for n in batch_sizes if n > b) for b in range(B)]
    # every (t, b) slot of the output takes a packed row, or the padding row appended at the end
    pad_row = data.shape[0]
    where_row = {}
    r = 0
    for t, n in enumerate(batch_sizes):
        for b in range(n):
            where_row[(t, b)] = r
            r += 1
    if batch_first:
        idx = [where_row.get((t, b), pad_row) for b in range(B) for t in range(max_len)]
    else:
        idx = [where_row.get((t, b), pad_row) for t in range(max_len) for b in range(B)]
    feat = tuple(data.shape[1:])
    pad = pyml.full((1,) + feat, padding_value, dtype=data.dtype, device=data.device)
    src = pyml.cat([data, pad], 0)
    out = pyml.index_select(src, 0, pyml.tensor(idx, dtype=pyml.int64))
    out = out.reshape(((B, max_len) if batch_first else (max_len, B)) + feat)
    lengths_t = pyml.tensor(lengths, dtype=pyml.int64)
    if sequence.unsorted_indices is not None:
        out = pyml.index_select(out, 0 if batch_first else 1, sequence.unsorted_indices)
        lengths_t = lengths_t[sequence.unsorted_indices]
    return out, lengths_t


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack variable-length tensors (L_i, *) into (T, B, *) (or (B, T, *)), padded on the given side."""
    op = "pad_sequence"
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    if not isinstance(sequences, Iterable):
        raise TypeError(f"{op}: Expected iterable for input sequences, but got arg of type: {type(sequences)}")
    sequences = list(sequences)
    if not sequences:
        raise ValueError(f"{op}: received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise ValueError(f"{op}: Expected padding_side to be one of left or right, but got {padding_side}.")
    trail = tuple(sequences[0].shape[1:])
    for s in sequences:
        if tuple(s.shape[1:]) != trail:
            raise ValueError(f"{op}: all sequences must share their trailing dims {trail}, got {tuple(s.shape)}")
    T = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        n = T - s.shape[0]
        if n:
            pad = pyml.full((n,) + trail, padding_value, dtype=s.dtype, device=s.device)
            s = pyml.cat([s, pad] if padding_side == "right" else [pad, s], 0)
        rows.append(s)
    return pyml.stack(rows, 0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Split a padded batch back into a list of tensors of the given lengths."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lens = _lengths_list(lengths)
    return [padded_sequences[i, :n] for i, n in enumerate(lens)]


def pack_sequence(sequences, enforce_sorted=True):
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
