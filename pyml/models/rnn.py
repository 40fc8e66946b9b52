"""Recurrent models for the course's chapter 5 (batch-first token ids in, per-token logits out).

RNNTagger labels every token (slot filling, tagging): embedding, a (bi)directional LSTM/GRU/RNN
stack, and a linear layer per position. Seq2SeqRNN is the encoder-decoder of sequence-to-sequence
learning: the encoder's last state starts the decoder, which may also attend (dot-product, Luong
style) over the encoder outputs. With a pad_idx, padded positions are packed away in the encoder
and masked out of the attention. generate() decodes through pyml.decoding (greedy or beam).
"""
import math

from .. import cat, decoding, full, int64, nn, no_grad
from ..nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

__all__ = ["RNNTagger", "Seq2SeqRNN"]

_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def _recurrent(cell, input_size, hidden_size, num_layers, bidirectional, dropout, who):
    if cell not in _CELLS:
        raise ValueError(f"{who}: cell must be one of {sorted(_CELLS)}, got {cell!r}")
    return _CELLS[cell](input_size, hidden_size, num_layers=num_layers, batch_first=True,
                        bidirectional=bidirectional, dropout=dropout if num_layers > 1 else 0.0)


def _check_tokens(tokens, who, name):
    if tokens.dim() != 2 or tokens.is_floating_point():
        raise ValueError(f"{who}: {name} must be (B, T) integer token ids, got shape {tuple(tokens.shape)} "
                         f"dtype {tokens.dtype}")


def _run_packed(rnn, x, lengths, state=None):
    """Run rnn over (B, T, E) input whose rows hold lengths[b] valid steps; outputs stay (B, T, H)."""
    T = x.shape[1]
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, final = rnn(packed, state)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
    return out, final


class RNNTagger(nn.Module):
    """Per-token classifier: Embedding(vocab_size, embedding_dim) -> cell ('lstm', 'gru' or 'rnn'),
    num_layers deep, bidirectional by default -> Linear to num_tags. forward(tokens (B, T), lengths
    (B,) optional) returns logits (B, T, num_tags). With lengths, or with a padding_idx (then each
    row's length counts its non-padding tokens: pad at the end), padding is packed away, so the
    backward direction of each row starts at its own last token."""

    def __init__(self, vocab_size, num_tags, embedding_dim=64, hidden_size=64, num_layers=1, cell="lstm",
                 bidirectional=True, dropout=0.0, padding_idx=None):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.rnn = _recurrent(cell, embedding_dim, hidden_size, num_layers, bidirectional, dropout, "RNNTagger")
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_size * (2 if bidirectional else 1), num_tags)

    def forward(self, tokens, lengths=None):
        _check_tokens(tokens, "RNNTagger", "tokens")
        x = self.dropout(self.embedding(tokens))                  # (B, T, E)
        if lengths is None and self.embedding.padding_idx is not None:
            lengths = (tokens != self.embedding.padding_idx).sum(dim=1).clamp(min=1).tolist()
        if lengths is None:
            out, _ = self.rnn(x)
        else:
            out, _ = _run_packed(self.rnn, x, lengths)            # (B, T, H * directions)
        return self.classifier(self.dropout(out))                  # (B, T, num_tags)


class Seq2SeqRNN(nn.Module):
    """Encoder-decoder RNN. The encoder (cell over embedded source ids) hands its final state to the
    decoder, which reads the target shifted right (teacher forcing) and predicts the next token.
    attention=True adds dot-product attention: each decoder output queries the encoder outputs and
    tanh(W [output; context]) feeds the vocabulary projection. pad_idx marks source padding."""

    def __init__(self, src_vocab, tgt_vocab, embedding_dim=64, hidden_size=128, num_layers=1, cell="gru",
                 attention=True, dropout=0.0, pad_idx=None):
        super().__init__()
        self.pad_idx = pad_idx
        self.src_embedding = nn.Embedding(src_vocab, embedding_dim, padding_idx=pad_idx)
        self.tgt_embedding = nn.Embedding(tgt_vocab, embedding_dim, padding_idx=pad_idx)
        self.encoder = _recurrent(cell, embedding_dim, hidden_size, num_layers, False, dropout, "Seq2SeqRNN")
        self.decoder = _recurrent(cell, embedding_dim, hidden_size, num_layers, False, dropout, "Seq2SeqRNN")
        self.attention = attention
        self.combine = nn.Linear(2 * hidden_size, hidden_size) if attention else None
        self.output = nn.Linear(hidden_size, tgt_vocab)

    def _source_lengths(self, src):
        if self.pad_idx is None:
            return None
        return (src != self.pad_idx).sum(dim=1).clamp(min=1).tolist()

    def encode(self, src):
        """src (B, S) ids -> (outputs (B, S, H), final state, source padding mask (B, S) bool or None)."""
        _check_tokens(src, "Seq2SeqRNN", "src")
        x = self.src_embedding(src)
        lengths = self._source_lengths(src)
        if lengths is None:
            out, state = self.encoder(x)
            return out, state, None
        out, state = _run_packed(self.encoder, x, lengths)
        return out, state, src == self.pad_idx

    def decode(self, tgt_in, memory, state, src_padding=None):
        """Teacher-forced decoder pass: tgt_in (B, T) ids -> logits (B, T, tgt_vocab)."""
        _check_tokens(tgt_in, "Seq2SeqRNN", "tgt_in")
        out, _ = self.decoder(self.tgt_embedding(tgt_in), state)     # (B, T, H)
        if self.attention:
            scores = out.matmul(memory.transpose(1, 2))                # (B, T, S)
            if src_padding is not None:
                scores = scores.masked_fill(src_padding.unsqueeze(1), -math.inf)
            context = scores.softmax(dim=-1).matmul(memory)            # (B, T, H)
            out = self.combine(cat([out, context], -1)).tanh()           # (B, T, H)
        return self.output(out)

    def forward(self, src, tgt_in):
        memory, state, src_padding = self.encode(src)
        return self.decode(tgt_in, memory, state, src_padding)

    def generate(self, src, bos, eos, max_len, beam_width=1, length_penalty=0.0):
        """Decode every source row from the start token bos: greedy when beam_width == 1, else beam
        search. Returns pyml.decoding's (tokens (B, 1 + n), scores (B,)). Call eval() first when the
        model has dropout."""
        with no_grad():
            memory, state, src_padding = self.encode(src)
            memory, src_padding = _repeat_rows(memory, beam_width), _repeat_rows(src_padding, beam_width)
            state = _repeat_state(state, beam_width)

            def step_fn(prefix):
                return self.decode(prefix, memory, state, src_padding)[:, -1].log_softmax(dim=-1)
            return _run_decoder(step_fn, src, bos, eos, max_len, beam_width, length_penalty)


def _repeat_rows(x, k):
    """Each batch row k times in a row (row r of the result belongs to input row r // k)."""
    return x if x is None or k <= 1 else x.repeat_interleave(k, dim=0)


def _repeat_state(state, k):
    """The same for recurrent states, whose batch is dim 1 ((h, c) for LSTM)."""
    if k <= 1:
        return state
    if isinstance(state, tuple):
        return tuple(s.repeat_interleave(k, dim=1) for s in state)
    return state.repeat_interleave(k, dim=1)


def _run_decoder(step_fn, src, bos, eos, max_len, beam_width, length_penalty):
    """Shared by the seq2seq models: greedy or beam search from one bos per source row."""
    start = full((src.shape[0],), bos, dtype=int64, device=src.device)   # one start token per row
    if beam_width == 1:
        return decoding.greedy_decode(step_fn, start, eos, max_len)
    return decoding.beam_search(step_fn, start, eos, beam_width=beam_width, max_len=max_len,
                                length_penalty=length_penalty)
