"""Causal attention biases for F.scaled_dot_product_attention (torch.nn.attention.bias): pass
causal_upper_left(L, S) or causal_lower_right(L, S) as attn_mask. Upper-left keeps key j for query i when
j <= i (is_causal=True's mask); lower-right aligns the diagonal with the last key, j <= i + S - L (what
decoding with a KV cache needs). Square or upper-left biases run as is_causal=True on the fused kernels;
the others are materialised as a bool mask. torch's CausalBias is a Tensor subclass dispatched through
__torch_function__; pyml's is a plain object F.scaled_dot_product_attention recognises.
"""
from enum import IntEnum
from warnings import warn

from ... import _creation as C
from ... import _dtype as D

__all__ = ["causal_upper_left", "causal_lower_right", "CausalVariant", "CausalBias"]


class CausalVariant(IntEnum):
    UPPER_LEFT = 1
    LOWER_RIGHT = 2


class CausalBias:
    """A (seq_len_q, seq_len_kv) causal mask of one variant, materialised only when needed."""

    def __init__(self, variant, seq_len_q, seq_len_kv):
        if not isinstance(variant, CausalVariant):
            raise AssertionError(f"variant must be a CausalVariant, got {type(variant).__name__}")
        self.variant, self.seq_len_q, self.seq_len_kv = variant, seq_len_q, seq_len_kv
        if seq_len_q > seq_len_kv and variant == CausalVariant.LOWER_RIGHT:
            warn("Lower right causal bias will produce NaNs in the output when seq_len_q > seq_len_kv!",
                 stacklevel=2)

    @property
    def shape(self):
        return (self.seq_len_q, self.seq_len_kv)

    def _upper_left(self, device):
        return C.ones((self.seq_len_q, self.seq_len_kv), dtype=D.bool_, device=device).tril()

    def _lower_right(self, device):
        ones = C.ones((self.seq_len_q, self.seq_len_kv), dtype=D.bool_, device=device)
        return ones.tril(diagonal=self.seq_len_kv - self.seq_len_q)

    def _materialize(self, device=None):
        """The bool mask (True = takes part), on `device` (default CPU)."""
        device = device or "cpu"
        return self._upper_left(device) if self.variant == CausalVariant.UPPER_LEFT else self._lower_right(device)

    @staticmethod
    def _dispatch(query, key, value, attn_mask, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False):
        from ..functional import scaled_dot_product_attention as sdpa
        if is_causal:
            raise ValueError("CausalBias should not be used with causal=True")
        if attn_mask.seq_len_q == attn_mask.seq_len_kv or attn_mask.variant == CausalVariant.UPPER_LEFT:
            return sdpa(query, key, value, None, dropout_p, True, scale, enable_gqa)
        return sdpa(query, key, value, attn_mask._materialize(query.device), dropout_p, False, scale, enable_gqa)

    def __repr__(self):
        return repr(self._materialize())


def _size2(size, name):
    if len(size) != 2:
        raise AssertionError(f"{name} only supports 2D tensors")
    return size


def causal_upper_left(*size):
    """Upper-left causal bias of size (seq_len_q, seq_len_kv)."""
    return CausalBias(CausalVariant.UPPER_LEFT, *_size2(size, "causal_upper_left"))


def causal_lower_right(*size):
    """Lower-right causal bias of size (seq_len_q, seq_len_kv)."""
    return CausalBias(CausalVariant.LOWER_RIGHT, *_size2(size, "causal_lower_right"))
