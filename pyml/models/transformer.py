"""Transformer sequence-to-sequence models for the course's chapters 6-7 (batch-first token ids).

TransformerSeq2Seq wraps pyml.nn.Transformer: token embeddings scaled by sqrt(d_model) plus fixed
sinusoidal positions, a causal decoder, and a linear layer to the target vocabulary whose weight can
be tied to the target embedding. generate() decodes greedily or by beam search (pyml.decoding).
NonAutoregressiveSeq2Seq is the chapter's non-autoregressive counterpart: a length predictor on the
pooled encoder output fixes the output length, then one decoder pass (no causal mask, positional
queries) predicts every token at once.
"""
import math

from .. import _creation, arange, float64, nn, no_grad
from .rnn import _repeat_rows, _run_decoder

__all__ = ["sinusoidal_positions", "PositionalEncoding", "TransformerSeq2Seq", "NonAutoregressiveSeq2Seq"]


def sinusoidal_positions(length, d_model):
    """(length, d_model) float32 table: even columns sin(pos / 10000^(2i/d)), odd ones cos(...)."""
    if length < 0 or d_model < 1:
        raise ValueError(f"sinusoidal_positions: length must be >= 0 and d_model >= 1, got {length}, {d_model}")
    pos = arange(length, dtype=float64).reshape(length, 1)
    pairs = arange(0, d_model, 2, dtype=float64)                            # 2i
    angle = pos / (10000.0 ** (pairs / d_model))                            # (length, ceil(d/2))
    table = _creation.zeros((length, d_model), dtype=float64)
    table[:, 0::2] = angle.sin()
    table[:, 1::2] = angle.cos()[:, :d_model // 2]
    return table.float()


class PositionalEncoding(nn.Module):
    """Adds the sinusoidal table (a buffer, up to max_len positions) to (B, T, d_model) inputs."""

    def __init__(self, d_model, max_len=512, dropout=0.0):
        super().__init__()
        self.register_buffer("table", sinusoidal_positions(max_len, d_model))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        T = x.shape[1]
        if T > self.table.shape[0]:
            raise ValueError(f"PositionalEncoding: sequence length {T} exceeds max_len {self.table.shape[0]}")
        return self.dropout(x + self.table[:T])


def _embedding(vocab, d_model, pad_idx):
    """Embedding with N(0, 1/d_model) rows: after the sqrt(d_model) scaling they are N(0, 1), on the
    scale of the positional table (and of a tied output layer)."""
    emb = nn.Embedding(vocab, d_model, padding_idx=pad_idx)
    nn.init.normal_(emb.weight, std=d_model ** -0.5)
    if pad_idx is not None:
        with no_grad():
            emb.weight[pad_idx] = 0.0
    return emb


class TransformerSeq2Seq(nn.Module):
    """Encoder-decoder Transformer over token ids. forward(src (B, S), tgt_in (B, T)) returns logits
    (B, T, tgt_vocab) under a causal mask (teacher forcing). pad_idx masks source padding in both
    attentions; tie_weights shares the output layer's weight with the target embedding;
    share_embeddings uses one embedding for source and target (equal vocabularies)."""

    def __init__(self, src_vocab, tgt_vocab, d_model=128, nhead=4, num_encoder_layers=2, num_decoder_layers=2,
                 dim_feedforward=256, dropout=0.1, max_len=512, pad_idx=None, tie_weights=False,
                 share_embeddings=False, norm_first=False):
        super().__init__()
        if share_embeddings and src_vocab != tgt_vocab:
            raise ValueError(f"TransformerSeq2Seq: share_embeddings needs src_vocab == tgt_vocab, got {src_vocab} "
                             f"and {tgt_vocab}")
        self.d_model, self.pad_idx = d_model, pad_idx
        self.src_embedding = _embedding(src_vocab, d_model, pad_idx)
        self.tgt_embedding = self.src_embedding if share_embeddings else _embedding(tgt_vocab, d_model, pad_idx)
        self.positions = PositionalEncoding(d_model, max_len, dropout)
        self.transformer = nn.Transformer(d_model, nhead, num_encoder_layers, num_decoder_layers, dim_feedforward,
                                          dropout, batch_first=True, norm_first=norm_first)
        self.output = nn.Linear(d_model, tgt_vocab)
        if tie_weights:
            self.output.weight = self.tgt_embedding.weight

    def _embed(self, embedding, tokens, who):
        if tokens.dim() != 2 or tokens.is_floating_point():
            raise ValueError(f"TransformerSeq2Seq: {who} must be (B, T) integer token ids, got shape "
                             f"{tuple(tokens.shape)} dtype {tokens.dtype}")
        return self.positions(embedding(tokens) * math.sqrt(self.d_model))  # (B, T, d_model)

    def source_padding(self, src):
        """(B, S) bool, True at padding (None without pad_idx)."""
        return None if self.pad_idx is None else src == self.pad_idx

    def encode(self, src):
        """src (B, S) -> memory (B, S, d_model)."""
        x = self._embed(self.src_embedding, src, "src")
        return self.transformer.encoder(x, src_key_padding_mask=self.source_padding(src))

    def decode(self, tgt_in, memory, src_padding=None):
        """tgt_in (B, T) -> logits (B, T, tgt_vocab); position t sees tgt_in[:, :t + 1] and all memory."""
        y = self._embed(self.tgt_embedding, tgt_in, "tgt_in")
        causal = nn.Transformer.generate_square_subsequent_mask(tgt_in.shape[1], dtype=y.dtype)
        out = self.transformer.decoder(y, memory, tgt_mask=causal, tgt_is_causal=True,
                                       memory_key_padding_mask=src_padding)
        return self.output(out)

    def forward(self, src, tgt_in):
        return self.decode(tgt_in, self.encode(src), self.source_padding(src))

    def generate(self, src, bos, eos, max_len, beam_width=1, length_penalty=0.0):
        """Decode each source row from bos: greedy (beam_width=1) or beam search. Returns
        pyml.decoding's (tokens (B, 1 + n) int64, scores (B,) float64). Call eval() first when the
        model has dropout."""
        with no_grad():
            memory, src_padding = self.encode(src), self.source_padding(src)
            memory, src_padding = _repeat_rows(memory, beam_width), _repeat_rows(src_padding, beam_width)

            def step_fn(prefix):
                return self.decode(prefix, memory, src_padding)[:, -1].log_softmax(dim=-1)
            return _run_decoder(step_fn, src, bos, eos, max_len, beam_width, length_penalty)


class NonAutoregressiveSeq2Seq(nn.Module):
    """Non-autoregressive Transformer: encoder as in TransformerSeq2Seq; a length classifier on the
    mean of the memory predicts the output length (0..max_len); the decoder reads max_len positional
    queries without a causal mask and predicts all tokens in parallel. forward(src, length) returns
    (token logits (B, length, tgt_vocab), length logits (B, max_len + 1))."""

    def __init__(self, src_vocab, tgt_vocab, max_len, d_model=128, nhead=4, num_encoder_layers=2,
                 num_decoder_layers=2, dim_feedforward=256, dropout=0.1, pad_idx=None):
        super().__init__()
        self.d_model, self.pad_idx, self.max_len = d_model, pad_idx, max_len
        self.src_embedding = _embedding(src_vocab, d_model, pad_idx)
        self.query = nn.Parameter(_creation.zeros(d_model))
        self.positions = PositionalEncoding(d_model, max(max_len, 1), dropout)
        self.transformer = nn.Transformer(d_model, nhead, num_encoder_layers, num_decoder_layers, dim_feedforward,
                                          dropout, batch_first=True)
        self.length_head = nn.Linear(d_model, max_len + 1)
        self.output = nn.Linear(d_model, tgt_vocab)

    def encode(self, src):
        """src (B, S) -> (memory (B, S, d_model), source padding mask or None)."""
        padding = None if self.pad_idx is None else src == self.pad_idx
        x = self.positions(self.src_embedding(src) * math.sqrt(self.d_model))
        return self.transformer.encoder(x, src_key_padding_mask=padding), padding

    def length_logits(self, memory, padding):
        """Scores of the output lengths 0..max_len from the mean of the (unpadded) memory."""
        if padding is None:
            return self.length_head(memory.mean(dim=1))
        keep = padding.logical_not().unsqueeze(-1).to(memory.dtype)          # (B, S, 1)
        pooled = (memory * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)
        return self.length_head(pooled)                                      # (B, max_len + 1)

    def decode(self, memory, padding, length):
        """All `length` output positions at once: logits (B, length, tgt_vocab)."""
        if not 1 <= length <= self.max_len:
            raise ValueError(f"NonAutoregressiveSeq2Seq: length must be in [1, {self.max_len}], got {length}")
        queries = self.positions(self.query.expand(memory.shape[0], length, self.d_model))
        return self.output(self.transformer.decoder(queries, memory, memory_key_padding_mask=padding))

    def forward(self, src, length):
        memory, padding = self.encode(src)
        return self.decode(memory, padding, length), self.length_logits(memory, padding)

    def generate(self, src):
        """One decoder pass: the predicted length per row, then the argmax token at each of its
        positions. Returns a list of B token lists."""
        with no_grad():
            memory, padding = self.encode(src)
            lengths = self.length_logits(memory, padding).argmax(dim=-1).tolist()
            if max(lengths) == 0:
                return [[] for _ in lengths]
            best = self.decode(memory, padding, max(lengths)).argmax(dim=-1).tolist()
        return [row[:n] for row, n in zip(best, lengths)]
