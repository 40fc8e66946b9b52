"""TransformerEncoderLayer/DecoderLayer/Encoder/Decoder and Transformer against torch with torch's
state_dict copied in: outputs, input gradients and every parameter gradient, post-norm and pre-norm,
batch_first both ways, relu/gelu/callable activations, masks (bool, float, causal, key padding), train
mode with dropout 0 and eval mode with dropout; state_dict keys, the causal mask helper, bad inputs."""
import numpy as np
import pytest
import torch

import pyml

TOL = {"float32": 5e-5, "float64": 1e-10}


def _close(p, t, tol, what=""):
    a, b = p.detach().double().numpy(), t.detach().double().numpy()
    assert a.shape == b.shape, what
    np.testing.assert_allclose(a, b, rtol=tol * 10, atol=tol * 10, err_msg=what)


def _build(cls, dtype, *args, train=True, **kw):
    torch.manual_seed(0)
    tm = getattr(torch.nn, cls)(*args, **kw).to(getattr(torch, dtype))
    pm = getattr(pyml.nn, cls)(*args, **kw).to(getattr(pyml, dtype))
    assert list(pm.state_dict()) == list(tm.state_dict())
    pm.load_state_dict({k: pyml.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    if not train:
        pm.eval()
        tm.eval()
    return pm, tm


def _leaf(lib, a, dtype):
    return lib.tensor(a).to(getattr(lib, dtype)).requires_grad_(True)


def _mask(lib, a, dtype):
    t = lib.tensor(a)
    return t if a.dtype == bool else t.to(getattr(lib, dtype))


def _compare(rng, pm, tm, inputs, masks, dtype, **kw):
    """Run both with the same data; compare the output, the inputs' and all parameters' gradients."""
    pl = [_leaf(pyml, a, dtype) for a in inputs]
    tl = [_leaf(torch, a, dtype) for a in inputs]
    po = pm(*pl, **{k: _mask(pyml, v, dtype) for k, v in masks.items()}, **kw)
    to = tm(*tl, **{k: _mask(torch, v, dtype) for k, v in masks.items()}, **kw)
    tol = TOL[dtype]
    _close(po, to, tol, "output")
    g = rng.standard_normal(tuple(to.shape))
    po.backward(pyml.tensor(g).to(po.dtype))
    to.backward(torch.tensor(g).to(to.dtype))
    for i, (p, t) in enumerate(zip(pl, tl)):
        _close(p.grad, t.grad, tol, f"input {i}")
    pp = dict(pm.named_parameters())
    for name, t in tm.named_parameters():
        assert pp[name].grad is not None, name
        _close(pp[name].grad, t.grad, tol, name)


def _seq(bf, T, N, E):
    return (N, T, E) if bf else (T, N, E)


LAYER_CFGS = [
    dict(),
    dict(norm_first=True),
    dict(batch_first=True, activation="gelu"),
    dict(batch_first=True, norm_first=True, bias=False),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cfg", LAYER_CFGS, ids=str)
@pytest.mark.parametrize("masks", ["none", "float+kpm", "causal"])
def test_encoder_layer(rng, dtype, cfg, masks):
    E, H, F, T, N = 6, 2, 11, 5, 3
    pm, tm = _build("TransformerEncoderLayer", dtype, E, H, dim_feedforward=F, dropout=0.0, **cfg)
    bf = cfg.get("batch_first", False)
    m, kw = {}, {}
    if masks == "float+kpm":
        m = {"src_mask": rng.standard_normal((T, T)), "src_key_padding_mask": rng.random((N, T)) > 0.7}
    if masks == "causal":
        m = {"src_mask": np.triu(np.full((T, T), -np.inf), 1)}
        kw = {"is_causal": True}
    _compare(rng, pm, tm, [rng.standard_normal(_seq(bf, T, N, E))], m, dtype, **kw)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cfg", LAYER_CFGS, ids=str)
@pytest.mark.parametrize("masks", ["none", "all"])
def test_decoder_layer(rng, dtype, cfg, masks):
    E, H, F, T, S, N = 6, 3, 9, 4, 7, 2
    pm, tm = _build("TransformerDecoderLayer", dtype, E, H, dim_feedforward=F, dropout=0.0, **cfg)
    bf = cfg.get("batch_first", False)
    m = {}
    if masks == "all":
        m = {"tgt_mask": np.triu(np.ones((T, T), bool), 1), "memory_mask": rng.standard_normal((T, S)),
             "tgt_key_padding_mask": np.zeros((N, T), bool), "memory_key_padding_mask": rng.random((N, S)) > 0.7}
        m["tgt_key_padding_mask"][:, -1] = True
    x = [rng.standard_normal(_seq(bf, T, N, E)), rng.standard_normal(_seq(bf, S, N, E))]
    _compare(rng, pm, tm, x, m, dtype)


def test_layers_eval_mode_with_dropout(rng):
    pm, tm = _build("TransformerEncoderLayer", "float64", 8, 2, dim_feedforward=16, dropout=0.3, train=False)
    _compare(rng, pm, tm, [rng.standard_normal((5, 2, 8))], {}, "float64")
    pm, tm = _build("TransformerDecoderLayer", "float64", 8, 4, dim_feedforward=16, dropout=0.3, train=False,
                    norm_first=True)
    _compare(rng, pm, tm, [rng.standard_normal((5, 2, 8)), rng.standard_normal((3, 2, 8))], {}, "float64")


def test_callable_activation_and_unbatched(rng):
    pm, tm = _build("TransformerEncoderLayer", "float64", 4, 2, dim_feedforward=8, dropout=0.0,
                    activation=lambda x: x.tanh())
    _compare(rng, pm, tm, [rng.standard_normal((5, 4))], {}, "float64")


def test_train_mode_dropout_is_random_but_seeded(rng):
    pm = pyml.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.5)
    x = pyml.tensor(rng.standard_normal((5, 2, 8))).float()
    pyml.manual_seed(1)
    a = pm(x)
    pyml.manual_seed(1)
    b = pm(x)
    c = pm(x)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert not np.allclose(a.detach().numpy(), c.detach().numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_decoder_stacks(rng, dtype, batch_first):
    E, H, T, S, N = 8, 2, 4, 6, 3
    enc_t = torch.nn.TransformerEncoderLayer(E, H, 16, 0.0, batch_first=batch_first)
    enc_p = pyml.nn.TransformerEncoderLayer(E, H, 16, 0.0, batch_first=batch_first)
    torch.manual_seed(0)
    tm = torch.nn.TransformerEncoder(enc_t, 2, norm=torch.nn.LayerNorm(E), enable_nested_tensor=False).to(
        getattr(torch, dtype))
    pm = pyml.nn.TransformerEncoder(enc_p, 2, norm=pyml.nn.LayerNorm(E), enable_nested_tensor=False).to(
        getattr(pyml, dtype))
    assert list(pm.state_dict()) == list(tm.state_dict())
    pm.load_state_dict({k: pyml.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    causal = np.triu(np.full((S, S), -np.inf), 1)  # detected as causal (is_causal=None)
    _compare(rng, pm, tm, [rng.standard_normal(_seq(batch_first, S, N, E))], {"mask": causal}, dtype)
    dec_t = torch.nn.TransformerDecoderLayer(E, H, 16, 0.0, batch_first=batch_first, norm_first=True)
    dec_p = pyml.nn.TransformerDecoderLayer(E, H, 16, 0.0, batch_first=batch_first, norm_first=True)
    tm = torch.nn.TransformerDecoder(dec_t, 3).to(getattr(torch, dtype))
    pm = pyml.nn.TransformerDecoder(dec_p, 3).to(getattr(pyml, dtype))
    pm.load_state_dict({k: pyml.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = [rng.standard_normal(_seq(batch_first, T, N, E)), rng.standard_normal(_seq(batch_first, S, N, E))]
    _compare(rng, pm, tm, x, {"tgt_mask": np.triu(np.ones((T, T), bool), 1)}, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cfg", [dict(), dict(batch_first=True, norm_first=True, activation="gelu")], ids=str)
def test_transformer(rng, dtype, cfg):
    E, H, T, S, N = 8, 4, 5, 6, 2
    pm, tm = _build("Transformer", dtype, d_model=E, nhead=H, num_encoder_layers=2, num_decoder_layers=2,
                    dim_feedforward=12, dropout=0.0, **cfg)
    bf = cfg.get("batch_first", False)
    x = [rng.standard_normal(_seq(bf, S, N, E)), rng.standard_normal(_seq(bf, T, N, E))]
    tgt_mask = torch.nn.Transformer.generate_square_subsequent_mask(T, dtype=getattr(torch, dtype)).numpy()
    m = {"tgt_mask": tgt_mask, "src_key_padding_mask": rng.random((N, S)) > 0.8,
         "memory_key_padding_mask": rng.random((N, S)) > 0.8}
    m["src_key_padding_mask"][:, 0] = False
    m["memory_key_padding_mask"][:, 0] = False
    _compare(rng, pm, tm, x, m, dtype)


def test_transformer_state_dict_keys_and_init():
    pm, tm = pyml.nn.Transformer(16, 2, 2, 1, 32), torch.nn.Transformer(16, 2, 2, 1, 32)
    assert list(pm.state_dict()) == list(tm.state_dict())
    assert sum(p.numel() for p in pm.parameters()) == sum(p.numel() for p in tm.parameters())
    w = pm.encoder.layers[0].linear1.weight.detach().numpy()
    bound = np.sqrt(6 / (16 + 32))  # xavier_uniform_ on every matrix
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound


def test_generate_square_subsequent_mask():
    for n in (1, 4):
        p = pyml.nn.Transformer.generate_square_subsequent_mask(n)
        t = torch.nn.Transformer.generate_square_subsequent_mask(n)
        assert p.dtype == pyml.float32
        np.testing.assert_array_equal(p.numpy(), t.numpy())
    assert pyml.nn.Transformer.generate_square_subsequent_mask(3, dtype=pyml.float64).dtype == pyml.float64


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"MultiheadAttention: embed_dim \(10\) must be divisible by num_heads \(3\)"):
        pyml.nn.TransformerEncoderLayer(10, 3)
    with pytest.raises(ValueError, match="TransformerEncoderLayer: activation should be relu/gelu or a callable"):
        pyml.nn.TransformerEncoderLayer(8, 2, activation="swish")
    m = pyml.nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(ValueError, match=r"Transformer: the batch size of src and tgt must be equal \(dim 1\), got "
                                         r"src \(5, 2, 8\), tgt \(4, 3, 8\)"):
        m(pyml.zeros(5, 2, 8), pyml.zeros(4, 3, 8))
    with pytest.raises(ValueError, match=r"Transformer: the feature size of src and tgt must equal d_model \(8\)"):
        m(pyml.zeros(5, 2, 8), pyml.zeros(4, 2, 6))
    layer = pyml.nn.TransformerEncoderLayer(8, 2, 16)
    with pytest.raises(ValueError, match=r"TransformerEncoderLayer: src must be .* d_model=8, got \(5, 2, 7\)"):
        layer(pyml.zeros(5, 2, 7))
    with pytest.raises(ValueError, match=r"MultiheadAttention: 2-D attn_mask must have shape \(L, S\) = \(5, 5\)"):
        layer(pyml.zeros(5, 2, 8), src_mask=pyml.zeros(4, 5))
    with pytest.raises(ValueError, match=r"MultiheadAttention: key_padding_mask must have shape .*\(2, 5\), got"):
        layer(pyml.zeros(5, 2, 8), src_key_padding_mask=pyml.zeros(3, 5, dtype=pyml.bool))
