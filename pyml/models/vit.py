"""A Vision Transformer (Dosovitskiy et al., 2020) sized for small images such as the 8x8 digits.

The image is cut into non-overlapping patch x patch squares, each projected to an embed_dim vector
by one strided convolution; a learned class token is prepended and learned positional embeddings
added; pre-LN Transformer encoder blocks (pyml.nn.TransformerEncoderLayer with norm_first=True,
GELU) mix the tokens; the class token, after a final LayerNorm, goes through the classifier head
(one linear layer, or an MLP with one hidden layer when head_hidden is set).
"""
import pyml
from pyml import nn

__all__ = ["PatchEmbedding", "ViT"]


def _pair(value, name):
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else tuple(value)
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in pair):
        raise ValueError(f"ViT: {name} must be a positive int or a pair of them, got {value!r}")
    return pair


class PatchEmbedding(nn.Module):
    """(N, C, H, W) images -> (N, (H/ph)*(W/pw), embed_dim) patch vectors, patches in row-major order.
    A convolution whose kernel and stride are the patch size is a linear map of each flattened patch."""

    def __init__(self, image_size, patch_size, in_channels, embed_dim):
        super().__init__()
        self.image_size, self.patch_size = _pair(image_size, "image_size"), _pair(patch_size, "patch_size")
        (h, w), (ph, pw) = self.image_size, self.patch_size
        if h % ph or w % pw:
            raise ValueError(f"ViT: image_size {self.image_size} must be a multiple of patch_size {self.patch_size}")
        self.grid = (h // ph, w // pw)
        self.num_patches = self.grid[0] * self.grid[1]
        self.in_channels = in_channels
        self.proj = nn.Conv2d(in_channels, embed_dim, self.patch_size, self.patch_size)

    def forward(self, x):
        if x.dim() != 4 or tuple(x.shape[1:]) != (self.in_channels, *self.image_size):
            raise ValueError(f"ViT: input must be (N, {self.in_channels}, {self.image_size[0]}, "
                             f"{self.image_size[1]}), got {tuple(x.shape)}")
        x = self.proj(x)                                     # (N, D, H/ph, W/pw)
        return x.flatten(2).transpose(1, 2)                  # (N, L, D)


class ViT(nn.Module):
    """Vision Transformer classifier: (N, in_channels, H, W) images -> (N, num_classes) logits.

    embed_dim: token width D; depth: number of encoder blocks; num_heads: attention heads (must divide
    D); mlp_ratio: feed-forward width / D; dropout: on the embeddings and inside the blocks;
    head_hidden: None for a linear head, else the hidden width of a Linear-GELU-Linear head.
    """

    def __init__(self, image_size=8, patch_size=2, in_channels=1, num_classes=10, embed_dim=64, depth=4,
                 num_heads=4, mlp_ratio=2.0, dropout=0.0, head_hidden=None):
        super().__init__()
        self._check_args(embed_dim, depth, num_heads, mlp_ratio, num_classes, head_hidden)
        self.patch_embed = PatchEmbedding(image_size, patch_size, in_channels, embed_dim)
        self.cls_token = nn.Parameter(pyml.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(pyml.zeros(1, self.patch_embed.num_patches + 1, embed_dim))
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([
            nn.TransformerEncoderLayer(embed_dim, num_heads, int(mlp_ratio * embed_dim), dropout, "gelu",
                                       batch_first=True, norm_first=True)
            for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim)
        self.head = self._make_head(embed_dim, num_classes, head_hidden)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    @staticmethod
    def _check_args(embed_dim, depth, num_heads, mlp_ratio, num_classes, head_hidden):
        for name, value in (("embed_dim", embed_dim), ("depth", depth), ("num_heads", num_heads),
                            ("num_classes", num_classes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ViT: {name} must be a positive int, got {value!r}")
        if embed_dim % num_heads:
            raise ValueError(f"ViT: embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
        if not mlp_ratio * embed_dim >= 1:
            raise ValueError(f"ViT: mlp_ratio * embed_dim must be at least 1, got mlp_ratio={mlp_ratio!r}")
        if head_hidden is not None and (isinstance(head_hidden, bool) or not isinstance(head_hidden, int)
                                        or head_hidden < 1):
            raise ValueError(f"ViT: head_hidden must be None or a positive int, got {head_hidden!r}")

    @staticmethod
    def _make_head(embed_dim, num_classes, head_hidden):
        if head_hidden is None:
            return nn.Linear(embed_dim, num_classes)
        return nn.Sequential(nn.Linear(embed_dim, head_hidden), nn.GELU(), nn.Linear(head_hidden, num_classes))

    def tokens(self, x):
        """(N, C, H, W) -> encoded tokens (N, 1 + L, D); token 0 is the class token."""
        patches = self.patch_embed(x)                                       # (N, L, D)
        cls = self.cls_token.expand(patches.shape[0], -1, -1)               # (N, 1, D)
        h = self.dropout(pyml.cat([cls, patches], dim=1) + self.pos_embed)  # (N, 1 + L, D)
        for block in self.blocks:
            h = block(h)
        return self.norm(h)

    def forward(self, x):
        return self.head(self.tokens(x)[:, 0])                              # (N, num_classes)
