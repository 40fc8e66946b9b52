"""nn.MultiheadAttention with torch's parameters, state_dict keys and initialisation: in_proj_weight
(3E, E) / in_proj_bias (3E) packed, or q/k/v_proj_weight when kdim/vdim differ from embed_dim,
out_proj (a Linear), optional bias_k/bias_v (1, 1, E). The forward is
F.multi_head_attention_forward (the fused attention op unless weights are asked for)."""
from ... import _creation
from .. import init
from ..parameter import Parameter
from .._functional import attention as FA
from .linear import Linear
from .module import Module

__all__ = ["MultiheadAttention"]


class NonDynamicallyQuantizableLinear(Linear):
    """torch's name for out_proj's class (a plain Linear)."""


class MultiheadAttention(Module):
    """Attention over num_heads heads of size embed_dim // num_heads, torch's semantics."""

    __constants__ = ["batch_first"]

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be > 0, got embed_dim={embed_dim} "
                             f"and num_heads={num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        super().__init__()
        kdim = embed_dim if kdim is None else kdim
        vdim = embed_dim if vdim is None else vdim
        settings = dict(embed_dim=embed_dim, kdim=kdim, vdim=vdim, num_heads=num_heads, dropout=dropout,
                        batch_first=batch_first, add_zero_attn=add_zero_attn, head_dim=embed_dim // num_heads,
                        _qkv_same_embed_dim=(kdim == embed_dim and vdim == embed_dim))
        for name, value in settings.items():
            setattr(self, name, value)
        kw = dict(device=device, dtype=dtype)
        # one packed (3E, E) input projection when q, k and v share embed_dim, else three separate ones;
        # the unused names are registered as None so state_dict and attribute access match torch
        E = embed_dim
        if self._qkv_same_embed_dim:
            in_shapes = {"in_proj_weight": (3 * E, E), "q_proj_weight": None, "k_proj_weight": None,
                         "v_proj_weight": None}
        else:
            in_shapes = {"q_proj_weight": (E, E), "k_proj_weight": (E, kdim), "v_proj_weight": (E, vdim),
                         "in_proj_weight": None}
        in_shapes["in_proj_bias"] = (3 * E,) if bias else None
        for name, shape in in_shapes.items():
            self.register_parameter(name, None if shape is None else Parameter(_creation.empty(shape, **kw)))
        self.out_proj = NonDynamicallyQuantizableLinear(E, E, bias=bias, **kw)
        if add_bias_kv:  # one learned key row and value row appended to every sequence
            for name in ("bias_k", "bias_v"):
                self.register_parameter(name, Parameter(_creation.empty((1, 1, E), **kw)))
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self):
        packed = self._qkv_same_embed_dim
        for name in ("in_proj_weight",) if packed else ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
            init.xavier_uniform_(getattr(self, name))
        if self.in_proj_bias is not None:  # both biases exist together (the `bias` flag)
            for b in (self.in_proj_bias, self.out_proj.bias):
                init.constant_(b, 0.0)
        for extra in (self.bias_k, self.bias_v):
            if extra is not None:
                init.xavier_normal_(extra)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        """query (L, N, E) ((N, L, E) with batch_first, or (L, E)); key (S, N, kdim), value (S, N, vdim).
        Returns (output like query, weights (N, L, S) or (N, num_heads, L, S), or None)."""
        batched = query.dim() == 3
        if self.batch_first and batched:  # (N, L, E) -> (L, N, E)
            query, key, value = (x.transpose(1, 0) for x in (query, key, value))
        out, weights = FA.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias,
            self.bias_k, self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight, self.out_proj.bias,
            training=self.training, key_padding_mask=key_padding_mask, need_weights=need_weights,
            attn_mask=attn_mask, use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights, is_causal=is_causal)
        if self.batch_first and batched:
            out = out.transpose(1, 0)
        return out, weights
