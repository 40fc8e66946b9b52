"""TransformerSeq2Seq against torch.nn.Transformer with the same weights (logits, gradients, source
padding, tied weights), the sinusoidal table against its formula, causality, greedy/beam hooks, and
the non-autoregressive model's shapes and single decoder pass."""
import math

import numpy as np
import pytest
import torch

import pyml
from pyml.models import TransformerSeq2Seq
from pyml.models.transformer import NonAutoregressiveSeq2Seq, PositionalEncoding, sinusoidal_positions
from pyml._threads import engine_threads


@pytest.fixture(autouse=True)
def one_engine_thread():
    with engine_threads(1):
        yield


def _np(t):
    return t.detach().double().numpy()


def test_sinusoidal_table_formula():
    for length, d in [(7, 8), (5, 7), (1, 2)]:
        table = sinusoidal_positions(length, d).numpy()
        for pos in range(length):
            for j in range(d):
                angle = pos / 10000 ** ((j - j % 2) / d)
                want = math.sin(angle) if j % 2 == 0 else math.cos(angle)
                assert table[pos, j] == pytest.approx(want, abs=1e-6)
    x = pyml.zeros(2, 3, 8)
    np.testing.assert_allclose(PositionalEncoding(8, max_len=4)(x).numpy()[1], sinusoidal_positions(3, 8).numpy())
    with pytest.raises(ValueError, match="max_len"):
        PositionalEncoding(8, max_len=2)(x)


def _torch_reference(model):
    """torch pieces loaded with the model's weights, and a forward that mirrors the model's."""
    ref = torch.nn.Transformer(model.d_model, 2, 2, 1, 32, 0.0, batch_first=True)
    state = {k[len("transformer."):]: torch.tensor(v.numpy()) for k, v in model.state_dict().items()
             if k.startswith("transformer.")}
    ref.load_state_dict(state)
    src_emb = torch.tensor(model.src_embedding.weight.detach().numpy(), requires_grad=True)
    tgt_emb = torch.tensor(model.tgt_embedding.weight.detach().numpy(), requires_grad=True)
    out_b = torch.tensor(model.output.bias.detach().numpy())
    pe = torch.tensor(sinusoidal_positions(16, model.d_model).numpy())

    def forward(src, tgt, tied):
        scale = math.sqrt(model.d_model)
        lookup = torch.nn.functional.embedding  # padding_idx: the pad row gets no gradient from lookups
        x = lookup(src, src_emb, padding_idx=0) * scale + pe[:src.shape[1]]
        y = lookup(tgt, tgt_emb, padding_idx=0) * scale + pe[:tgt.shape[1]]
        causal = torch.nn.Transformer.generate_square_subsequent_mask(tgt.shape[1])
        h = ref(x, y, tgt_mask=causal, src_key_padding_mask=src == 0, memory_key_padding_mask=src == 0)
        w = tgt_emb if tied else torch.tensor(model.output.weight.detach().numpy())
        return h @ w.T + out_b
    return forward, src_emb, tgt_emb


@pytest.mark.parametrize("tied", [False, True])
def test_matches_torch_transformer(tied):
    pyml.manual_seed(0)
    model = TransformerSeq2Seq(9, 11, d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
                               dim_feedforward=32, dropout=0.0, max_len=16, pad_idx=0, tie_weights=tied)
    forward, src_emb, tgt_emb = _torch_reference(model)
    src = np.array([[3, 4, 5, 6], [7, 8, 0, 0]])
    tgt = np.array([[1, 3, 4, 9, 10], [1, 7, 2, 0, 0]])
    got = model(pyml.tensor(src), pyml.tensor(tgt))
    want = forward(torch.tensor(src), torch.tensor(tgt), tied)
    np.testing.assert_allclose(_np(got), want.detach().double().numpy(), atol=3e-5)
    got.square().sum().backward()
    want.square().sum().backward()
    np.testing.assert_allclose(_np(model.src_embedding.weight.grad), src_emb.grad.double().numpy(), atol=3e-4)
    # tied: the embedding's gradient also holds the output layer's share
    np.testing.assert_allclose(_np(model.tgt_embedding.weight.grad), tgt_emb.grad.double().numpy(), atol=3e-4)


def test_weight_tying_and_sharing_count_parameters_once():
    def count(m):
        return sum(p.numel() for p in m.parameters())
    kw = dict(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=16)
    plain, tied = TransformerSeq2Seq(10, 10, **kw), TransformerSeq2Seq(10, 10, tie_weights=True, **kw)
    shared = TransformerSeq2Seq(10, 10, tie_weights=True, share_embeddings=True, **kw)
    assert tied.output.weight is tied.tgt_embedding.weight
    assert count(plain) - count(tied) == 10 * 8 and count(tied) - count(shared) == 10 * 8
    with pytest.raises(ValueError, match="share_embeddings"):
        TransformerSeq2Seq(10, 12, share_embeddings=True, **kw)


def test_decoder_is_causal_and_padding_is_invisible():
    pyml.manual_seed(1)
    model = TransformerSeq2Seq(9, 9, d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                               dim_feedforward=16, dropout=0.0, pad_idx=0).eval()
    src = pyml.tensor([[3, 4, 5], [6, 7, 0]])
    a = model(src, pyml.tensor([[1, 3, 4, 5], [1, 6, 7, 2]]))
    b = model(src, pyml.tensor([[1, 3, 8, 8], [1, 6, 3, 3]]))  # only positions >= 2 changed
    np.testing.assert_allclose(_np(a[:, :2]), _np(b[:, :2]), atol=1e-6)
    assert np.abs(_np(a[:, 2:]) - _np(b[:, 2:])).max() > 1e-3
    wide = pyml.tensor([[3, 4, 5, 0, 0], [6, 7, 0, 0, 0]])
    np.testing.assert_allclose(_np(model(wide, pyml.tensor([[1, 3]] * 2))), _np(model(src, pyml.tensor([[1, 3]] * 2))),
                               atol=1e-5)
    with pytest.raises(ValueError, match="TransformerSeq2Seq: src"):
        model(pyml.zeros(2, 3), pyml.tensor([[1], [1]]))


def test_generate_greedy_loop_and_beam_rows():
    pyml.manual_seed(2)
    model = TransformerSeq2Seq(9, 9, d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                               dim_feedforward=16, dropout=0.0, pad_idx=0).eval()
    src = pyml.tensor([[3, 4, 5], [6, 7, 0]])
    tokens, scores = model.generate(src, bos=1, eos=2, max_len=5)
    prefix = pyml.tensor([[1], [1]])
    for _ in range(tokens.shape[1] - 1):
        best = model(src, prefix)[:, -1].argmax(-1)
        best = pyml.where(prefix[:, -1] == 2, pyml.full_like(best, 2), best)
        prefix = pyml.cat([prefix, best.reshape(2, 1)], 1)
    assert tokens.tolist() == prefix.tolist()
    beams, beam_scores = model.generate(src, bos=1, eos=2, max_len=5, beam_width=3)
    for i, row in enumerate([src[:1], src[1:, :2]]):
        one, one_score = model.generate(row, bos=1, eos=2, max_len=5, beam_width=3)
        assert beams[i].tolist()[:one.shape[1]] == one[0].tolist()
        assert beam_scores[i].item() == pytest.approx(one_score.item(), abs=1e-5)


def test_non_autoregressive_shapes_and_generate():
    pyml.manual_seed(3)
    model = NonAutoregressiveSeq2Seq(9, 9, max_len=6, d_model=8, nhead=2, num_encoder_layers=1,
                                     num_decoder_layers=1, dim_feedforward=16, dropout=0.0, pad_idx=0).eval()
    src = pyml.tensor([[3, 4, 5], [6, 7, 0]])
    logits, length_logits = model(src, 4)
    assert tuple(logits.shape) == (2, 4, 9) and tuple(length_logits.shape) == (2, 7)
    out = model.generate(src)
    lengths = length_logits.argmax(-1).tolist()
    assert [len(r) for r in out] == lengths
    if max(lengths):
        best = model(src, max(lengths))[0].argmax(-1).tolist()
        assert out == [row[:n] for row, n in zip(best, lengths)]
    # the length head pools only real tokens: padding the source changes nothing
    _, wider = model(pyml.tensor([[3, 4, 5, 0], [6, 7, 0, 0]]), 4)
    np.testing.assert_allclose(_np(wider), _np(length_logits), atol=1e-5)
    with pytest.raises(ValueError, match="length"):
        model(src, 7)
