"""BlockMask and its builders for flex_attention (torch.nn.attention.flex_attention's names and layout).

A BlockMask splits the (Q_LEN, KV_LEN) score matrix into Q_BLOCK_SIZE x KV_BLOCK_SIZE tiles and lists,
per batch, head and query-block row, the KV blocks that take part: `kv_num_blocks` (B, H, nQ) int32 and
`kv_indices` (B, H, nQ, nKV) int32 (the first kv_num_blocks entries of a row are valid), once for
"partial" tiles (mask_mod decides per element) and once for "full" tiles (every element takes part).
q_num_blocks/q_indices are the same lists transposed (torch's backward walks them). Tiles in neither
list are skipped. create_block_mask evaluates mask_mod on index tensors shaped to broadcast
(b (B,1,1,1), h (1,H,1,1), q_idx (1,1,L,1), kv_idx (1,1,1,S), int64) a band of query blocks at a time.
"""
import functools
import inspect
import itertools
import operator
import warnings

from ... import _creation as C
from ... import _dtype as D
from ..._tensor import Tensor
from ..._ops import index as _I
from ..functional import pad as _pad

_DEFAULT_SPARSE_BLOCK_SIZE = 128
_LARGE_SPARSE_BLOCK_SIZE = 1 << 30
_MASK_BAND_ELEMENTS = 1 << 24  # create_block_mask evaluates mask_mod on at most this many elements at once


def noop_mask(batch, head, token_q, token_kv):
    """The mask_mod that keeps everything."""
    return batch.new_ones((), dtype=D.bool_)


def _sliced_mask_mod_error(batch, head, token_q, token_kv):
    raise RuntimeError("Cannot use mask_mod from a sliced BlockMask. When you slice a BlockMask using [], the "
                       "mask_mod attribute is reset. You must set it from the original BlockMask's mask_mod.")


def or_masks(*mask_mods):
    """The mask_mod keeping what any of mask_mods keeps."""
    if not all(callable(m) for m in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def or_mask(b, h, q_idx, kv_idx):
        result = b.new_zeros((), dtype=D.bool_)
        for m in mask_mods:
            result = result | m(b, h, q_idx, kv_idx)
        return result
    return or_mask


def and_masks(*mask_mods):
    """The mask_mod keeping what every one of mask_mods keeps."""
    if not all(callable(m) for m in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def and_mask(b, h, q_idx, kv_idx):
        result = b.new_ones((), dtype=D.bool_)
        for m in mask_mods:
            result = result & m(b, h, q_idx, kv_idx)
        return result
    return and_mask


def _num_positional(fn):
    code = getattr(fn, "__code__", None)
    if code is not None:
        return code.co_argcount - len(getattr(fn, "__defaults__", None) or ())
    params = inspect.signature(fn).parameters.values()
    return sum(1 for p in params if p.default is inspect.Parameter.empty)


def _is_score_mod(fn):
    """True for a score_mod (5 positional args), False for a mask_mod (4), as torch tells them apart."""
    n = _num_positional(fn)
    if n not in (4, 5):
        raise AssertionError(f"Expected 4 or 5 positional args, got {n}")
    return n == 5


def _index_grid(B, H, rows, cols):
    """b (B,1,1,1), h (1,H,1,1), q_idx (1,1,L,1), kv_idx (1,1,1,S): int64 and broadcasting like vmap's."""
    dev = rows.device
    return (C.arange(B, device=dev).reshape(B, 1, 1, 1), C.arange(H, device=dev).reshape(1, H, 1, 1),
            rows.reshape(1, 1, -1, 1), cols.reshape(1, 1, 1, -1))


def create_mask(mod_fn, B, H, Q_LEN, KV_LEN, device=None):
    """The dense (B, H, Q_LEN, KV_LEN) mask of a mask_mod, or of a score_mod (True where the score is not
    -inf after score_mod applied to zeros)."""
    B, H, dev = B or 1, H or 1, _default_device(device)
    b, h, m, n = _index_grid(B, H, C.arange(Q_LEN, device=dev), C.arange(KV_LEN, device=dev))
    if _is_score_mod(mod_fn):
        out = mod_fn(C.zeros((B, H, Q_LEN, KV_LEN), device=dev), b, h, m, n)
        return (~out.isneginf()).expand(B, H, Q_LEN, KV_LEN).contiguous()
    return mod_fn(b, h, m, n).expand(B, H, Q_LEN, KV_LEN).contiguous()


def _default_device(device):
    if device is not None:
        return device
    from ... import accelerator
    return accelerator.current_accelerator() or "cpu"


# ------------------------------------------------------------------------------ ordered <-> dense
def _dense_to_ordered(dense):
    """(..., R, C) 0/1 -> (count (..., R), column indices (..., R, C) listing the ones first), int32."""
    dense = dense.to(D.int32)
    idx = dense.argsort(dim=-1, descending=True, stable=True)
    return dense.sum(dim=-1).to(D.int32), idx.to(D.int32)


def _ordered_to_dense(num, idx, num_cols):
    """Inverse of _dense_to_ordered: (..., R, num_cols) int32; invalid entries go to a spare column."""
    valid = C.arange(idx.shape[-1], device=idx.device) < num.unsqueeze(-1).long()  # (..., R, C)
    cols = _I.where(valid, idx.long(), num_cols)
    dense = C.zeros(tuple(idx.shape[:-1]) + (num_cols + 1,), dtype=D.int32, device=idx.device)
    return dense.scatter(-1, cols, 1)[..., :num_cols].contiguous()


def _transpose_ordered(num, idx):
    return _dense_to_ordered(_ordered_to_dense(num, idx, idx.shape[-1]).transpose(-2, -1))


def _crop_ordered(num, idx, rows, cols):
    """The block lists of the top-left rows x cols blocks (BlockMask._adjust)."""
    return _dense_to_ordered(_ordered_to_dense(num, idx, idx.shape[-1])[..., :rows, :cols])


def _size_pair(x):
    return (x, x) if isinstance(x, int) else tuple(x)


# ------------------------------------------------------------------------------ BlockMask
class BlockMask:
    """Block-sparse attention mask (see the module header). BLOCK_SIZE is (Q_BLOCK_SIZE, KV_BLOCK_SIZE),
    seq_lengths (Q_LEN, KV_LEN); mask_mod decides inside partial blocks."""
    _TENSOR_ATTRS = ["kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices", "q_num_blocks",
                     "q_indices", "full_q_num_blocks", "full_q_indices", "dq_write_order", "dq_write_order_full",
                     "dq_kv_order"]
    _CONTEXT_ATTRS = ["seq_lengths", "BLOCK_SIZE", "mask_mod", "dq_kv_order_spt"]

    def __init__(self, seq_lengths, kv_num_blocks, kv_indices, full_kv_num_blocks, full_kv_indices, q_num_blocks,
                 q_indices, full_q_num_blocks, full_q_indices, BLOCK_SIZE=(_DEFAULT_SPARSE_BLOCK_SIZE,) * 2,
                 mask_mod=noop_mask, *, dq_write_order=None, dq_write_order_full=None, dq_kv_order=None,
                 dq_kv_order_spt=None):
        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError("full_kv_num_blocks and full_kv_indices must be both provided or omitted")
        if (full_q_num_blocks is None) != (full_q_indices is None):
            raise AssertionError("full_q_num_blocks and full_q_indices must be both provided or omitted")
        self.seq_lengths = tuple(seq_lengths)
        self.kv_num_blocks, self.kv_indices = kv_num_blocks, kv_indices
        self.full_kv_num_blocks, self.full_kv_indices = full_kv_num_blocks, full_kv_indices
        self.q_num_blocks, self.q_indices = q_num_blocks, q_indices
        self.full_q_num_blocks, self.full_q_indices = full_q_num_blocks, full_q_indices
        self.dq_write_order, self.dq_write_order_full = dq_write_order, dq_write_order_full
        self.dq_kv_order, self.dq_kv_order_spt = dq_kv_order, dq_kv_order_spt
        self.BLOCK_SIZE = _size_pair(BLOCK_SIZE)
        self.mask_mod = mask_mod

    @classmethod
    def from_kv_blocks(cls, kv_num_blocks, kv_indices, full_kv_num_blocks=None, full_kv_indices=None,
                       BLOCK_SIZE=_DEFAULT_SPARSE_BLOCK_SIZE, mask_mod=None, seq_lengths=None, compute_q_blocks=True,
                       *, dq_write_order=None, dq_write_order_full=None, dq_kv_order=None):
        """A BlockMask from the KV block lists; the Q lists are derived (compute_q_blocks)."""
        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError("full_kv_num_blocks and full_kv_indices must be both provided or omitted")
        q_num = q_idx = full_q_num = full_q_idx = None
        if compute_q_blocks:
            q_num, q_idx = _transpose_ordered(kv_num_blocks, kv_indices)
            if full_kv_num_blocks is not None:
                full_q_num, full_q_idx = _transpose_ordered(full_kv_num_blocks, full_kv_indices)
        BLOCK_SIZE = _size_pair(BLOCK_SIZE)
        if seq_lengths is None:
            seq_lengths = (kv_indices.shape[-2] * BLOCK_SIZE[0], kv_indices.shape[-1] * BLOCK_SIZE[1])
        if dq_kv_order is not None and not isinstance(dq_kv_order, (bool, Tensor)):
            raise ValueError("dq_kv_order must be a bool, Tensor, or None")
        return cls(seq_lengths, kv_num_blocks, kv_indices, full_kv_num_blocks, full_kv_indices, q_num, q_idx,
                   full_q_num, full_q_idx, BLOCK_SIZE, mask_mod if mask_mod is not None else noop_mask,
                   dq_write_order=dq_write_order, dq_write_order_full=dq_write_order_full,
                   dq_kv_order=dq_kv_order if isinstance(dq_kv_order, Tensor) else None,
                   dq_kv_order_spt=dq_kv_order if isinstance(dq_kv_order, bool) else None)

    def as_tuple(self, flatten=True):
        """The attributes in torch's order (seq lengths and block size spread out with flatten)."""
        seq = self.seq_lengths if flatten else (self.seq_lengths,)
        block = self.BLOCK_SIZE if flatten else (self.BLOCK_SIZE,)
        return (*seq, *(getattr(self, a) for a in self._TENSOR_ATTRS), self.dq_kv_order_spt, *block,
                self.mask_mod)

    @property
    def shape(self):
        return tuple(self.kv_indices.shape[:-2]) + tuple(self.seq_lengths)

    def numel(self):
        return functools.reduce(operator.mul, self.shape, 1)

    def sparsity(self):
        """Percentage of the mask's area in blocks that are skipped."""
        blocks = int(self.kv_num_blocks.sum().item())
        if self.full_kv_num_blocks is not None:
            blocks += int(self.full_kv_num_blocks.sum().item())
        return 100 * (1 - blocks * self.BLOCK_SIZE[0] * self.BLOCK_SIZE[1] / self.numel())

    def to_dense(self):
        """(..., nQ, nKV) int32: 1 where a block takes part (partial or full)."""
        dense = _ordered_to_dense(self.kv_num_blocks, self.kv_indices, self.kv_indices.shape[-1])
        if self.full_kv_num_blocks is not None:
            dense = dense | _ordered_to_dense(self.full_kv_num_blocks, self.full_kv_indices,
                                              self.full_kv_indices.shape[-1])
        return dense

    def _block_masks(self):
        """(partial, full or None) as (..., nQ, nKV) bool, what flex_attention reads."""
        part = _ordered_to_dense(self.kv_num_blocks, self.kv_indices, self.kv_indices.shape[-1]).to(D.bool_)
        if self.full_kv_num_blocks is None:
            return part, None
        full = _ordered_to_dense(self.full_kv_num_blocks, self.full_kv_indices, self.full_kv_indices.shape[-1])
        return part, full.to(D.bool_)

    def __getitem__(self, index):
        """Index batch/head/query-block dims of every list; the result's mask_mod raises if called."""
        index = index if isinstance(index, tuple) else (index,)
        padded = (*index, slice(None), slice(None), slice(None))[:3]
        sizes = self.kv_num_blocks.shape[:3]
        index = tuple((slice(i + n, i + n + 1) if -n <= i < 0 else slice(i, i + 1)) if isinstance(i, int) else i
                      for i, n in zip(padded, sizes))
        full = (None, None) if self.full_kv_num_blocks is None else (self.full_kv_num_blocks[index],
                                                                      self.full_kv_indices[index])
        return BlockMask.from_kv_blocks(self.kv_num_blocks[index], self.kv_indices[index], *full,
                                        BLOCK_SIZE=self.BLOCK_SIZE, mask_mod=_sliced_mask_mod_error,
                                        seq_lengths=self.seq_lengths, compute_q_blocks=self.q_indices is not None)

    def _adjust(self, new_q_len, new_kv_len):
        """The mask cropped to its top-left (new_q_len, new_kv_len) corner."""
        rows, cols = -(-new_q_len // self.BLOCK_SIZE[0]), -(-new_kv_len // self.BLOCK_SIZE[1])
        full = (None, None) if self.full_kv_num_blocks is None else _crop_ordered(
            self.full_kv_num_blocks, self.full_kv_indices, rows, cols)
        return self.from_kv_blocks(*_crop_ordered(self.kv_num_blocks, self.kv_indices, rows, cols), *full,
                                   BLOCK_SIZE=self.BLOCK_SIZE, mask_mod=self.mask_mod,
                                   seq_lengths=(new_q_len, new_kv_len), compute_q_blocks=self.q_indices is not None)

    def to(self, device):
        moved = {a: None if getattr(self, a) is None else getattr(self, a).to(device) for a in self._TENSOR_ATTRS}
        return BlockMask(self.seq_lengths, **moved, BLOCK_SIZE=self.BLOCK_SIZE, mask_mod=self.mask_mod,
                         dq_kv_order_spt=self.dq_kv_order_spt)

    def to_string(self, grid_size=(20, 20), limit=4):
        """A picture of the block layout per (batch, head): full squares take part, light ones partly."""
        dense = self.to_dense()
        *batch, rows, cols = dense.shape
        if grid_size == -1:
            grid_size = (rows, cols)
        max_r, max_c = _size_pair(grid_size)
        rs, cs = max(1, -(-rows // max_r)), max(1, -(-cols // max_c))
        out = []
        for n, idx in enumerate(_product(batch)):
            if n == limit:
                out += ["...", "To print out more, set BlockMask.to_string(limit=N)",
                        "You can also index (BlockMask[batch, head]) to choose a specific batch or head"]
                break
            m = dense[idx].float() if idx else dense.float()
            lines = ["".join(_shade(m[r:r + rs, c:c + cs].mean().item()) * 2 for c in range(0, cols, cs))
                     for r in range(0, rows, rs)]
            out.append(f"{idx}\n" + "\n".join(lines) + "\n")
        return "\n".join(out)

    def __str__(self):
        return f"BlockMask(shape={self.shape}, sparsity={self.sparsity():.2f}%, \n{self.to_string().strip()}\n)"

    def __repr__(self):
        shp = lambda t: None if t is None else t.shape  # noqa: E731
        name = getattr(self.mask_mod, "__name__", self.mask_mod)
        return (f"BlockMask(\n    kv_num_blocks={shp(self.kv_num_blocks)},\n    kv_indices={shp(self.kv_indices)},\n"
                f"    full_kv_num_blocks={shp(self.full_kv_num_blocks)},\n"
                f"    full_kv_indices={shp(self.full_kv_indices)},\n    q_num_blocks={shp(self.q_num_blocks)},\n"
                f"    q_indices={shp(self.q_indices)},\n    full_q_num_blocks={shp(self.full_q_num_blocks)},\n"
                f"    full_q_indices={shp(self.full_q_indices)},\n    BLOCK_SIZE={self.BLOCK_SIZE},\n"
                f"    shape={self.shape},\n    sparsity={self.sparsity():.2f}%,\n    mask_mod={name}\n)")


def _product(dims):
    return list(itertools.product(*[range(d) for d in dims]))


def _shade(frac):
    return "\u2588" if frac == 1 else " " if frac == 0 else "\u2591"


# ------------------------------------------------------------------------------ create_block_mask
def _block_counts(mask_mod, B, H, r0, r1, KV_LEN, QBS, KBS, dev):
    """Kept elements per block for query rows [r0, r1) (a whole number of Q blocks): (B, H, nq, nKV)."""
    b, h, m, n = _index_grid(B, H, C.arange(r0, r1, device=dev), C.arange(KV_LEN, device=dev))
    keep = mask_mod(b, h, m, n).expand(B, H, r1 - r0, KV_LEN)
    nq, nk = -(-(r1 - r0) // QBS), -(-KV_LEN // KBS)
    keep = _pad(keep.to(D.int32), (0, nk * KBS - KV_LEN, 0, nq * QBS - (r1 - r0)))
    return keep.reshape(B, H, nq, QBS, nk, KBS).sum(dim=(3, 5))


def create_block_mask(mask_mod, B, H, Q_LEN, KV_LEN, device=None, BLOCK_SIZE=_DEFAULT_SPARSE_BLOCK_SIZE,
                      _compile=False, separate_full_blocks=True, compute_dq_write_order=False, dq_kv_order=True):
    """The BlockMask of mask_mod(b, h, q_idx, kv_idx) -> bool (True = takes part). B or H None: 1 (the mask
    broadcasts over batch or heads). Blocks where mask_mod is True everywhere are listed as full when
    separate_full_blocks; compute_dq_write_order is accepted and records nothing (pyml's backward is a
    deterministic composite, there is no write order to plan)."""
    if _is_score_mod(mask_mod):
        raise AssertionError(f"create-block_mask requires a mask_mod function! Got {mask_mod}")
    if _compile:
        warnings.warn("_compile flag on create_block_mask was originally added to work around a torch.compile "
                      "limitation. That limitation has since been addressed.", DeprecationWarning, stacklevel=2)
    if not isinstance(dq_kv_order, bool):
        raise ValueError("dq_kv_order must be a bool when using create_block_mask")
    B, H, dev = B or 1, H or 1, _default_device(device)
    QBS, KBS = _size_pair(BLOCK_SIZE)
    band = max(1, _MASK_BAND_ELEMENTS // max(1, B * H * KV_LEN * QBS)) * QBS  # rows per mask_mod call
    counts = [_block_counts(mask_mod, B, H, r, min(r + band, Q_LEN), KV_LEN, QBS, KBS, dev)
              for r in range(0, Q_LEN, band)]
    counts = _cat(counts, B, H, KV_LEN, KBS, dev)
    if separate_full_blocks:
        full = counts == QBS * KBS
        part, full = (counts > 0) & ~full, _dense_to_ordered(full)
    else:
        part, full = counts > 0, (None, None)
    return BlockMask.from_kv_blocks(*_dense_to_ordered(part), *full, BLOCK_SIZE=(QBS, KBS), mask_mod=mask_mod,
                                    seq_lengths=(Q_LEN, KV_LEN))


def _cat(parts, B, H, KV_LEN, KBS, dev):
    from ... import cat
    if not parts:
        return C.zeros((B, H, 0, -(-KV_LEN // KBS)), dtype=D.int64, device=dev)
    return parts[0] if len(parts) == 1 else cat(parts, dim=2)
