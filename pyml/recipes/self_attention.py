"""Chapter 6, self-attention: every output looks at the whole input sequence, so a token's label can
depend on its neighbours ("I saw a saw": the first saw is a verb, the second a noun).

The recipe tags a synthetic part-of-speech grammar full of such noun/verb words. A per-token MLP
sees one word at a time, so its accuracy is bounded by each word's majority tag (computed exactly
from the data); a two-layer self-attention tagger with sinusoidal positions goes past that bound. A
truncated (banded) attention that only sees the neighbours within a window learns the task too, and
its weights outside the band are exactly zero, as are those of a graph-adjacency mask outside the
edges. Scaled attention is checked against the textbook formula softmax(q k^T / sqrt(d)) v and the
unscaled course form. With an output folder it plots the attention maps and the masks (PNG).
"""
import math
import time
from dataclasses import dataclass

import numpy as np

import pyml
from pyml import nn
from pyml.metrics import token_accuracy
from pyml.models.transformer import PositionalEncoding
from pyml.utils.data import DataLoader, TensorDataset

from . import _ambiguous_tagging as pos
from .base import BaseConfig, format_table, out_path, seed_everything

NAME = "self-attention"
CHAPTER = "6"
PURPOSE = "context-dependent tagging (\"I saw a saw\"): per-token MLP vs self-attention; banded and graph masks"


@dataclass
class Config(BaseConfig):
    train_sentences: int = 3000
    test_sentences: int = 600
    d_model: int = 32
    nhead: int = 2
    layers: int = 2
    band: int = 1                 # truncated attention: |i - j| <= band
    batch_size: int = 32
    lr: float = 3e-3
    train_epochs: int = 8
    ambiguous_rate: float = 0.5
    quick_epochs: int = 4


# --------------------------------------------------------------------------------------------- models
def attention_mask(tokens, nhead, band=None):
    """(B * nhead, T, T) bool mask, True = may not attend. Real tokens never attend to padding, nor
    (with a band) to positions further than band away; a padding position may attend to itself, so no
    row is fully masked (a fully masked softmax row would be NaN)."""
    B, T = tokens.shape
    pad = tokens == 0
    idx = pyml.arange(T, device=tokens.device)
    far = (idx.reshape(T, 1) - idx.reshape(1, T)).abs() > band if band is not None else \
        pyml.zeros(T, T, dtype=pyml.bool, device=tokens.device)
    blocked = far.unsqueeze(0) | (pad.unsqueeze(1) & pad.logical_not().unsqueeze(2))   # (B, T query, T key)
    return blocked.repeat_interleave(nhead, dim=0)


class AttentionBlock(nn.Module):
    """Self-attention then feed-forward, each with a residual connection and LayerNorm (post-norm).
    Keeps the last head-averaged attention weights (B, T, T) for plotting."""

    def __init__(self, d_model, nhead, dim_feedforward):
        super().__init__()
        self.attention = nn.MultiheadAttention(d_model, nhead, batch_first=True)
        self.feed_forward = nn.Sequential(nn.Linear(d_model, dim_feedforward), nn.ReLU(),
                                          nn.Linear(dim_feedforward, d_model))
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.weights = None

    def forward(self, x, mask):
        h, self.weights = self.attention(x, x, x, attn_mask=mask, need_weights=True)
        x = self.norm1(x + h)
        return self.norm2(x + self.feed_forward(x))


class SelfAttentionTagger(nn.Module):
    """Embedding + sinusoidal positions -> `layers` attention blocks -> a tag per token. band=None
    attends over the whole sentence; band=w only within w positions (truncated self-attention)."""

    def __init__(self, vocab_size, num_tags, d_model=32, nhead=2, layers=2, band=None, max_len=64):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=0)
        self.positions = PositionalEncoding(d_model, max_len)
        self.blocks = nn.ModuleList([AttentionBlock(d_model, nhead, 2 * d_model) for _ in range(layers)])
        self.classifier = nn.Linear(d_model, num_tags)
        self.nhead, self.band = nhead, band

    def forward(self, tokens):
        mask = attention_mask(tokens, self.nhead, self.band)
        x = self.positions(self.embedding(tokens))                                # (B, T, d_model)
        for block in self.blocks:
            x = block(x, mask)
        return self.classifier(x)                                                 # (B, T, num_tags)


class TokenMLP(nn.Module):
    """The context-free baseline: each token's tag from its own embedding only."""

    def __init__(self, vocab_size, num_tags, d_model=32):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=0)
        self.mlp = nn.Sequential(nn.Linear(d_model, 2 * d_model), nn.ReLU(), nn.Linear(2 * d_model, num_tags))

    def forward(self, tokens):
        return self.mlp(self.embedding(tokens))


# ------------------------------------------------------------------------------------------- training
def _tag_loss(logits, tags):
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tags.reshape(-1), ignore_index=0)


def _token_acc(logits, tags):
    return token_accuracy(logits, tags, ignore_index=0)


def train_and_test(model, config, epochs, data, generator):
    (x_train, y_train), (x_test, y_test) = data
    model = model.to(config.device)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=config.batch_size, shuffle=True,
                        generator=generator)
    optimizer = pyml.optim.Adam(model.parameters(), lr=config.lr)
    pyml.train.fit(model, _tag_loss, optimizer, loader, epochs=epochs, metrics=(_token_acc,),
                   progress=config.progress)
    model.eval()
    with pyml.no_grad():
        logits = model(x_test.to(config.device)).cpu()
    return token_accuracy(logits, y_test, ignore_index=0), logits.argmax(dim=-1)


def ambiguous_word_accuracy(pred, tokens, tags, vocab):
    ids = pyml.tensor([vocab[w] for w in pos.AMBIGUOUS], dtype=pyml.int64)
    mask = (tokens.unsqueeze(-1) == ids).any(dim=-1)
    return (pred == tags)[mask].double().mean().item()


# ----------------------------------------------------------------------------------------- exact checks
def graph_mask_check(generator):
    """Attention over a 6-node graph (each node sees itself and its neighbours): weights outside the
    edges are exactly 0 and each row sums to 1."""
    edges = [(0, 1), (1, 2), (2, 3), (3, 0), (3, 4), (4, 5)]
    allowed = pyml.eye(6).bool()
    for a, b in edges:
        allowed[a, b] = allowed[b, a] = True
    attention = nn.MultiheadAttention(8, 1, batch_first=True)
    x = pyml.randn(1, 6, 8, generator=generator)
    with pyml.no_grad():
        _, weights = attention(x, x, x, attn_mask=allowed.logical_not())
    outside = weights[0][allowed.logical_not()].abs().max().item()
    row_sum_error = (weights[0].sum(dim=-1) - 1).abs().max().item()
    return {"graph_weight_outside_edges": outside, "graph_row_sum_error": row_sum_error}, allowed, weights[0]


def formula_check(generator):
    """scaled_dot_product_attention against softmax(q k^T / sqrt(d)) v in float64 NumPy, and with
    scale=1 against the course's unscaled softmax(q k^T) v."""
    q, k, v = (pyml.randn(2, 5, 4, generator=generator) for _ in range(3))
    Q, K, V = (t.double().numpy() for t in (q, k, v))

    def reference(scale):
        s = Q @ K.transpose(0, 2, 1) * scale
        e = np.exp(s - s.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True) @ V
    scaled = nn.functional.scaled_dot_product_attention(q, k, v).double().numpy()
    unscaled = nn.functional.scaled_dot_product_attention(q, k, v, scale=1.0).double().numpy()
    return {"sdpa_scaled_max_diff": float(np.abs(scaled - reference(1 / math.sqrt(4))).max()),
            "sdpa_unscaled_max_diff": float(np.abs(unscaled - reference(1.0)).max())}


# ---------------------------------------------------------------------------------------------- plots
def plot_attention(model, vocab, sentence, graph, path):
    """Head-averaged attention of every layer on one sentence, the band mask and the graph attention."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    words = sentence.split()
    tokens = pyml.tensor([[vocab[w] for w in words]], dtype=pyml.int64)
    model.eval()
    with pyml.no_grad():
        model(tokens)
    panels = [(f"layer {i + 1} attention", b.weights[0].numpy(), words) for i, b in enumerate(model.blocks)]
    band = attention_mask(tokens, 1, 1)[0].logical_not().float().numpy()
    panels += [("banded mask (w=1): allowed", band, words), ("graph attention", graph[1].numpy(), list("012345"))]
    fig = Figure(figsize=(3.6 * len(panels), 3.6), dpi=100)
    FigureCanvasAgg(fig)
    for i, (title, grid, labels) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        ax.imshow(grid, cmap="viridis", vmin=0.0, vmax=1.0)
        ax.set_xticks(range(len(labels)), labels, rotation=45)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("attends to (key)", fontsize=8)
        ax.set_ylabel("query", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png")


# ------------------------------------------------------------------------------------------------ run
def _data(config):
    n_train, n_test = (800, 300) if config.quick else (config.train_sentences, config.test_sentences)
    train = pos.make_sentences(n_train, config.seed, config.ambiguous_rate)
    test = pos.make_sentences(n_test, config.seed + 1, config.ambiguous_rate)
    vocab, length = pos.vocabulary(), max(len(s) for s in train + test)
    return pos.encode(train, vocab, length), pos.encode(test, vocab, length), vocab, test


def run(config):
    seed_everything(config.seed)
    generator = pyml.Generator().manual_seed(config.seed)
    epochs = config.epochs or (config.quick_epochs if config.quick else config.train_epochs)
    train, test, vocab, test_sentences = _data(config)
    start = time.perf_counter()
    metrics = {"context_free_bound": pos.context_free_bound(test_sentences)}
    models = {"token_mlp": TokenMLP(len(vocab), len(pos.TAGS), config.d_model),
              "self_attention": SelfAttentionTagger(len(vocab), len(pos.TAGS), config.d_model, config.nhead,
                                                    config.layers),
              "banded_attention": SelfAttentionTagger(len(vocab), len(pos.TAGS), config.d_model, config.nhead,
                                                      config.layers, band=config.band)}
    for name, model in models.items():
        acc, pred = train_and_test(model, config, epochs, (train, test), generator)
        metrics[f"{name}_acc"] = acc
        metrics[f"{name}_ambiguous_acc"] = ambiguous_word_accuracy(pred, test[0], test[1], vocab)
    checks, allowed, graph_weights = graph_mask_check(generator)
    metrics.update(checks)
    metrics.update(formula_check(generator))
    banded = models["banded_attention"].blocks[0].weights.cpu()         # from the test-set pass
    blocked = attention_mask(test[0], 1, config.band)
    metrics["band_weight_outside"] = banded[blocked].abs().max().item()
    metrics["train_seconds"] = time.perf_counter() - start
    path = out_path(config, "attention_maps.png")
    if path:
        plot_attention(models["self_attention"].cpu(), vocab, "i saw a saw", (allowed, graph_weights), path)
    return metrics


def table(metrics):
    rows = [{"model": name, "token acc": metrics[f"{name}_acc"], "acc on noun/verb words":
             metrics[f"{name}_ambiguous_acc"]} for name in ("token_mlp", "self_attention", "banded_attention")]
    rows.append({"model": "best context-free tagger (bound)", "token acc": metrics["context_free_bound"],
                 "acc on noun/verb words": ""})
    checks = [{"check": k, "value": f"{metrics[k]:.3g}"} for k in
              ("band_weight_outside", "graph_weight_outside_edges", "graph_row_sum_error", "sdpa_scaled_max_diff",
               "sdpa_unscaled_max_diff")]
    return format_table(rows) + "\n\n" + format_table(checks)
