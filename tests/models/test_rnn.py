"""RNNTagger and Seq2SeqRNN against torch models holding the same weights (logits and gradients,
packed padding, dot-product attention), plus the decoding hooks and a small learning check."""
import numpy as np
import pytest
import torch

import pyml
from pyml.models import RNNTagger, Seq2SeqRNN
from pyml._threads import engine_threads


@pytest.fixture(autouse=True)
def one_engine_thread():
    """These small recurrent steps gain nothing from a second thread on a shared 2-core machine."""
    with engine_threads(1):
        yield


def _load(torch_module, pyml_module):
    torch_module.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in pyml_module.state_dict().items()})


def _np(t):
    return t.detach().double().numpy()


def _tokens(rng, B, T, vocab, lengths=None, pad=0):
    ids = rng.integers(1, vocab, size=(B, T))
    if lengths is not None:
        for b, n in enumerate(lengths):
            ids[b, n:] = pad
    return ids


@pytest.mark.parametrize("cell,bidirectional,layers", [("lstm", True, 1), ("gru", False, 2), ("rnn", True, 2)])
def test_tagger_matches_torch_with_lengths(cell, bidirectional, layers):
    rng = np.random.default_rng(0)
    pyml.manual_seed(0)
    model = RNNTagger(11, 5, embedding_dim=6, hidden_size=7, num_layers=layers, cell=cell,
                      bidirectional=bidirectional, padding_idx=0)
    emb = torch.nn.Embedding(11, 6, padding_idx=0)
    rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](
        6, 7, num_layers=layers, batch_first=True, bidirectional=bidirectional)
    lin = torch.nn.Linear(7 * (2 if bidirectional else 1), 5)
    _load(emb, model.embedding), _load(rnn, model.rnn), _load(lin, model.classifier)
    lengths = [6, 3, 5]
    ids = _tokens(rng, 3, 6, 11, lengths)
    got = model(pyml.tensor(ids), lengths)
    packed = torch.nn.utils.rnn.pack_padded_sequence(emb(torch.tensor(ids)), lengths, batch_first=True,
                                                     enforce_sorted=False)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(rnn(packed)[0], batch_first=True, total_length=6)
    want = lin(out)
    np.testing.assert_allclose(_np(got), _np(want), atol=2e-5)
    np.testing.assert_allclose(_np(model(pyml.tensor(ids))), _np(want), atol=2e-5)  # lengths from padding_idx
    g = rng.normal(size=tuple(want.shape))
    got.backward(pyml.tensor(g, dtype=pyml.float32))
    want.backward(torch.tensor(g, dtype=torch.float32))
    np.testing.assert_allclose(_np(model.embedding.weight.grad), _np(emb.weight.grad), atol=2e-5)
    np.testing.assert_allclose(_np(model.rnn.weight_hh_l0.grad), _np(rnn.weight_hh_l0.grad), atol=2e-5)


def test_tagger_without_lengths_and_errors():
    model = RNNTagger(9, 4, embedding_dim=5, hidden_size=6, cell="gru", bidirectional=False)
    assert tuple(model(pyml.tensor([[1, 2, 3]])).shape) == (1, 3, 4)
    with pytest.raises(ValueError, match="RNNTagger: cell"):
        RNNTagger(9, 4, cell="transformer")
    with pytest.raises(ValueError, match="RNNTagger: tokens"):
        model(pyml.zeros(1, 3))


def _torch_seq2seq(model, cell):
    kinds = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}
    parts = dict(src=torch.nn.Embedding(*model.src_embedding.weight.shape),
                 tgt=torch.nn.Embedding(*model.tgt_embedding.weight.shape),
                 enc=kinds[cell](model.encoder.input_size, model.encoder.hidden_size, batch_first=True),
                 dec=kinds[cell](model.decoder.input_size, model.decoder.hidden_size, batch_first=True),
                 out=torch.nn.Linear(*reversed(model.output.weight.shape)))
    for name, mine in [("src", model.src_embedding), ("tgt", model.tgt_embedding), ("enc", model.encoder),
                       ("dec", model.decoder), ("out", model.output)]:
        _load(parts[name], mine)
    if model.attention:
        parts["combine"] = torch.nn.Linear(2 * model.encoder.hidden_size, model.encoder.hidden_size)
        _load(parts["combine"], model.combine)
    return parts


def _torch_seq2seq_forward(p, src, tgt_in, lengths, attention):
    packed = torch.nn.utils.rnn.pack_padded_sequence(p["src"](src), lengths, batch_first=True, enforce_sorted=False)
    mem, state = p["enc"](packed)
    mem, _ = torch.nn.utils.rnn.pad_packed_sequence(mem, batch_first=True, total_length=src.shape[1])
    out, _ = p["dec"](p["tgt"](tgt_in), state)
    if attention:
        scores = out @ mem.transpose(1, 2)
        scores = scores.masked_fill((src == 0).unsqueeze(1), float("-inf"))
        out = torch.tanh(p["combine"](torch.cat([out, scores.softmax(-1) @ mem], -1)))
    return p["out"](out)


@pytest.mark.parametrize("cell,attention", [("gru", True), ("lstm", False), ("lstm", True)])
def test_seq2seq_matches_torch(cell, attention):
    rng = np.random.default_rng(1)
    pyml.manual_seed(1)
    model = Seq2SeqRNN(10, 12, embedding_dim=5, hidden_size=8, cell=cell, attention=attention, pad_idx=0)
    parts = _torch_seq2seq(model, cell)
    lengths = [5, 2, 4]
    src, tgt = _tokens(rng, 3, 5, 10, lengths), _tokens(rng, 3, 4, 12)
    got = model(pyml.tensor(src), pyml.tensor(tgt))
    want = _torch_seq2seq_forward(parts, torch.tensor(src), torch.tensor(tgt), lengths, attention)
    np.testing.assert_allclose(_np(got), _np(want), atol=2e-5)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(_np(model.encoder.weight_ih_l0.grad), _np(parts["enc"].weight_ih_l0.grad), atol=2e-5)


def test_seq2seq_padding_is_invisible_and_greedy_is_argmax_loop():
    pyml.manual_seed(2)
    model = Seq2SeqRNN(8, 8, embedding_dim=6, hidden_size=10, pad_idx=0).eval()
    src = pyml.tensor([[3, 4, 5], [6, 7, 0]])
    wider = pyml.tensor([[3, 4, 5, 0, 0], [6, 7, 0, 0, 0]])
    tgt = pyml.tensor([[1, 3, 4], [1, 5, 5]])
    np.testing.assert_allclose(_np(model(src, tgt)), _np(model(wider, tgt)), atol=1e-6)
    tokens, scores = model.generate(src, bos=1, eos=2, max_len=4)
    prefix, total = pyml.tensor([[1], [1]]), np.zeros(2)
    for _ in range(4):  # the same decisions from full teacher-forced passes
        logp = model(src, prefix)[:, -1].log_softmax(-1)
        best = logp.argmax(-1)
        total += np.where(prefix[:, -1].numpy() == 2, 0, _np(logp.max(-1).values))
        best = pyml.where(prefix[:, -1] == 2, pyml.full_like(best, 2), best)
        prefix = pyml.cat([prefix, best.reshape(2, 1)], 1)
    assert tokens.tolist() == prefix[:, :tokens.shape[1]].tolist()
    np.testing.assert_allclose(scores.numpy(), total, atol=1e-5)
    beam_tokens, beam_scores = model.generate(src, bos=1, eos=2, max_len=4, beam_width=3)
    for i in range(2):  # each source row's beams use that row's encoder outputs and state
        row, row_score = model.generate(src[i:i + 1, :2 if i else 3], bos=1, eos=2, max_len=4, beam_width=3)
        assert beam_tokens[i].tolist()[:row.shape[1]] == row[0].tolist()
        assert beam_scores[i].item() == pytest.approx(row_score.item(), abs=1e-5)


def test_seq2seq_learns_to_reverse():
    pyml.manual_seed(0)
    rng = np.random.default_rng(0)
    model = Seq2SeqRNN(7, 7, embedding_dim=16, hidden_size=32, cell="gru")
    opt = pyml.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(120):
        body = rng.integers(3, 7, size=(32, 3))
        tgt = np.concatenate([np.ones((32, 1), int), body[:, ::-1], np.full((32, 1), 2)], 1)
        logits = model(pyml.tensor(body), pyml.tensor(tgt[:, :-1]))
        loss = pyml.nn.functional.cross_entropy(logits.reshape(-1, 7), pyml.tensor(tgt[:, 1:].reshape(-1)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    body = rng.integers(3, 7, size=(64, 3))
    tokens, _ = model.generate(pyml.tensor(body), bos=1, eos=2, max_len=4)
    exact = (tokens.numpy()[:, 1:4] == body[:, ::-1]).all(axis=1).mean()
    assert exact > 0.9, exact

