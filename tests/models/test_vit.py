"""pyml.models.vit: patch embedding against a NumPy reference, the parameter count by formula, and
forward / gradients equal to a torch.nn model (torch's own pre-LN encoder layers) with the same weights."""
import numpy as np
import pytest
import torch
from torch import nn as tnn

import pyml
from pyml.models import ViT
from pyml.models.vit import PatchEmbedding
from pyml._threads import engine_threads


@pytest.fixture(autouse=True)
def one_thread():
    with engine_threads(1):
        yield


class RefViT(tnn.Module):
    """The same computation in torch, with pyml's parameter names."""

    def __init__(self, image_hw, patch, channels, classes, dim, depth, heads, ff, head_hidden):
        super().__init__()
        self.patch_embed = tnn.Module()
        self.patch_embed.proj = tnn.Conv2d(channels, dim, patch, patch)
        tokens = (image_hw[0] // patch) * (image_hw[1] // patch) + 1
        self.cls_token = tnn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = tnn.Parameter(torch.zeros(1, tokens, dim))
        self.blocks = tnn.ModuleList(tnn.TransformerEncoderLayer(dim, heads, ff, 0.0, "gelu", batch_first=True,
                                                                 norm_first=True) for _ in range(depth))
        self.norm = tnn.LayerNorm(dim)
        self.head = (tnn.Linear(dim, classes) if head_hidden is None else
                     tnn.Sequential(tnn.Linear(dim, head_hidden), tnn.GELU(), tnn.Linear(head_hidden, classes)))

    def forward(self, x):
        patches = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        h = torch.cat([self.cls_token.expand(len(x), 1, -1), patches], 1) + self.pos_embed
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h)[:, 0])


def twins(head_hidden, image_size=(8, 12), patch=2, channels=3, dim=16, depth=2, heads=4):
    model = ViT(image_size, patch, channels, 5, dim, depth, heads, mlp_ratio=1.5, head_hidden=head_hidden)
    ref = RefViT(image_size, patch, channels, 5, dim, depth, heads, int(1.5 * dim), head_hidden)
    state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    state["cls_token"] = np.random.default_rng(5).normal(size=state["cls_token"].shape).astype(np.float32)
    model.load_state_dict({k: pyml.from_numpy(v.copy()) for k, v in state.items()})
    ref.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
    return model.double().eval(), ref.double().eval()


@pytest.mark.parametrize("head_hidden", [None, 7])
def test_forward_and_gradients_equal_torch(head_hidden, rng):
    model, ref = twins(head_hidden)
    x = rng.normal(size=(3, 3, 8, 12))
    target = rng.integers(0, 5, size=3)
    out = model(pyml.tensor(x))
    expected = ref(torch.from_numpy(x))
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-9, atol=1e-10)
    pyml.nn.functional.cross_entropy(out, pyml.tensor(target)).backward()
    torch.nn.functional.cross_entropy(expected, torch.from_numpy(target)).backward()
    grads = dict(ref.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[name].grad.numpy(), rtol=1e-7, atol=1e-10, err_msg=name)


def test_patch_embedding_is_a_linear_map_of_each_patch(rng):
    embed = PatchEmbedding((6, 4), 2, 3, 5)
    x = rng.normal(size=(2, 3, 6, 4)).astype(np.float32)
    w, b = embed.proj.weight.detach().numpy(), embed.proj.bias.detach().numpy()     # (5, 3, 2, 2), (5,)
    patches = x.reshape(2, 3, 3, 2, 2, 2).transpose(0, 2, 4, 1, 3, 5).reshape(2, 6, 12)  # row-major patches
    expected = patches @ w.reshape(5, 12).T + b
    np.testing.assert_allclose(embed(pyml.tensor(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("head_hidden", [None, 32])
def test_parameter_count_formula(head_hidden):
    d, depth, ff, tokens, classes = 48, 3, 96, 17, 10
    block = (3 * d * d + 3 * d) + (d * d + d) + (ff * d + ff) + (d * ff + d) + 2 * 2 * d
    head = d * classes + classes if head_hidden is None else (d * 32 + 32) + (32 * classes + classes)
    expected = (d * 1 * 2 * 2 + d) + d + tokens * d + depth * block + 2 * d + head
    model = ViT(8, 2, 1, classes, d, depth, 4, mlp_ratio=2.0, head_hidden=head_hidden)
    assert sum(p.numel() for p in model.parameters()) == expected


def test_output_shape_and_tokens():
    model = ViT(image_size=8, patch_size=4, in_channels=1, num_classes=10, embed_dim=32, depth=1, num_heads=2)
    x = pyml.randn(4, 1, 8, 8)
    assert tuple(model(x).shape) == (4, 10)
    assert tuple(model.tokens(x).shape) == (4, 5, 32)


def test_positions_matter(rng):
    """Without positional embeddings a Transformer is blind to patch order; with them, swapping two
    patches changes the logits."""
    model = ViT(4, 2, 1, 3, 8, 1, 2).eval()
    x = rng.normal(size=(1, 1, 4, 4)).astype(np.float32)
    swapped = x.copy()
    swapped[..., :2, :2], swapped[..., 2:, 2:] = x[..., 2:, 2:], x[..., :2, :2]
    a, b = model(pyml.tensor(x)).detach().numpy(), model(pyml.tensor(swapped)).detach().numpy()
    assert np.abs(a - b).max() > 1e-4
    with pyml.no_grad():
        model.pos_embed.zero_()
    a, b = model(pyml.tensor(x)).detach().numpy(), model(pyml.tensor(swapped)).detach().numpy()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match=r"image_size \(8, 8\) must be a multiple of patch_size \(3, 3\)"):
        ViT(8, 3)
    with pytest.raises(ValueError, match=r"embed_dim \(30\) must be divisible by num_heads \(4\)"):
        ViT(embed_dim=30, num_heads=4)
    with pytest.raises(ValueError, match="depth must be a positive int, got 0"):
        ViT(depth=0)
    with pytest.raises(ValueError, match="head_hidden must be None or a positive int"):
        ViT(head_hidden=0)
    with pytest.raises(ValueError, match=r"input must be \(N, 1, 8, 8\), got \(2, 1, 9, 9\)"):
        ViT()(pyml.randn(2, 1, 9, 9))
