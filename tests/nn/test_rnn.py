"""RNN (tanh/relu), LSTM (with proj_size), GRU and their Cells against torch with torch's state_dict copied
in: outputs, final states, gradients wrt input, initial states and every parameter; layers, directions,
batch_first, unbatched and packed inputs, train (dropout 0) and eval; state_dict keys; bad inputs."""
import math

import numpy as np
import pytest
import torch

import pyml

TOL = {"float32": 2e-5, "float64": 1e-10}


def _close(p, t, tol, what=""):
    a, b = p.detach().double().numpy(), t.detach().double().numpy()
    assert a.shape == b.shape, what
    np.testing.assert_allclose(a, b, rtol=tol * 10, atol=tol * 10, err_msg=what)


def _build(cls, dtype, *args, **kw):
    tm = getattr(torch.nn, cls)(*args, **kw).to(getattr(torch, dtype))
    pm = getattr(pyml.nn, cls)(*args, **kw).to(getattr(pyml, dtype))
    assert list(pm.state_dict()) == list(tm.state_dict())
    pm.load_state_dict({k: pyml.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return pm, tm


def _leaf(lib, a, dtype):
    return lib.tensor(a).to(getattr(lib, dtype)).requires_grad_(True)


def _check_grads(pm, tm, pairs, tol):
    for name, tp in tm.named_parameters():
        pp = dict(pm.named_parameters())[name]
        _close(pp.grad, tp.grad, tol, name)
    for p, t in pairs:
        _close(p.grad, t.grad, tol)


def _run(rng, cls, dtype, cfg, with_h0, T=6, B=3, I=5, H=7, train=True):
    pm, tm = _build(cls, dtype, I, H, **cfg)
    if not train:
        pm.eval()
        tm.eval()
    bf, dirs = cfg.get("batch_first", False), 2 if cfg.get("bidirectional") else 1
    L, P = cfg.get("num_layers", 1), cfg.get("proj_size", 0) or H
    x = rng.standard_normal((B, T, I) if bf else (T, B, I))
    px, tx = _leaf(pyml, x, dtype), _leaf(torch, x, dtype)
    pairs = [(px, tx)]
    pargs, targs = [px], [tx]
    if with_h0:
        h0 = rng.standard_normal((L * dirs, B, P))
        ph, th = _leaf(pyml, h0, dtype), _leaf(torch, h0, dtype)
        pairs.append((ph, th))
        if cls == "LSTM":
            c0 = rng.standard_normal((L * dirs, B, H))
            pc, tc = _leaf(pyml, c0, dtype), _leaf(torch, c0, dtype)
            pairs.append((pc, tc))
            pargs.append((ph, pc))
            targs.append((th, tc))
        else:
            pargs.append(ph)
            targs.append(th)
    po, ps = pm(*pargs)
    to, ts = tm(*targs)
    tol = TOL[dtype]
    _close(po, to, tol, "output")
    ps, ts = (ps if cls == "LSTM" else (ps,)), (ts if cls == "LSTM" else (ts,))
    loss_p, loss_t = (po * 1.5).sum(), (to * 1.5).sum()
    for a, b in zip(ps, ts):
        _close(a, b, tol, "state")
        w = rng.standard_normal(tuple(b.shape))
        loss_p = loss_p + (a * pyml.tensor(w).to(a.dtype)).sum()
        loss_t = loss_t + (b * torch.tensor(w).to(b.dtype)).sum()
    loss_p.backward()
    loss_t.backward()
    _check_grads(pm, tm, pairs, tol)


CFGS = [
    dict(),
    dict(num_layers=2),
    dict(bidirectional=True),
    dict(num_layers=2, bidirectional=True, batch_first=True),
    dict(batch_first=True, bias=False),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cfg", CFGS, ids=str)
@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_matches_torch(rng, cls, cfg, dtype):
    _run(rng, cls, dtype, cfg, with_h0=True)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_zero_initial_state_and_eval(rng, cls):
    _run(rng, cls, "float64", dict(num_layers=2, dropout=0.4, bidirectional=True), with_h0=False, train=False)
    _run(rng, cls, "float64", dict(num_layers=3), with_h0=False, T=1, B=1, I=1, H=1)


def test_rnn_relu(rng):
    _run(rng, "RNN", "float64", dict(nonlinearity="relu", num_layers=2, bidirectional=True), with_h0=True)


@pytest.mark.parametrize("cfg", [dict(proj_size=3), dict(proj_size=2, num_layers=2, bidirectional=True),
                                 dict(proj_size=4, batch_first=True, bias=False)], ids=str)
def test_lstm_proj_size(rng, cfg):
    _run(rng, "LSTM", "float64", cfg, with_h0=True)
    _run(rng, "LSTM", "float32", cfg, with_h0=False)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched(rng, cls, batch_first):
    pm, tm = _build(cls, "float64", 4, 6, num_layers=2, bidirectional=True, batch_first=batch_first)
    x = rng.standard_normal((5, 4))
    h = rng.standard_normal((4, 6))
    hx_p = (pyml.tensor(h), pyml.tensor(h * 0.5)) if cls == "LSTM" else pyml.tensor(h)
    hx_t = (torch.tensor(h), torch.tensor(h * 0.5)) if cls == "LSTM" else torch.tensor(h)
    po, ps = pm(pyml.tensor(x), hx_p)
    to, ts = tm(torch.tensor(x), hx_t)
    _close(po, to, 1e-10)
    for a, b in zip(ps if cls == "LSTM" else (ps,), ts if cls == "LSTM" else (ts,)):
        _close(a, b, 1e-10)


def test_dropout_between_layers_train_mode():
    pm = pyml.nn.LSTM(4, 5, num_layers=3, dropout=0.5)
    x = pyml.randn(6, 2, 4)
    pyml.manual_seed(3)
    a, _ = pm(x)
    pyml.manual_seed(3)
    b, _ = pm(x)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    pm.eval()
    c, _ = pm(x)
    d, _ = pm(x)
    np.testing.assert_array_equal(c.detach().numpy(), d.detach().numpy())
    assert not np.allclose(a.detach().numpy(), c.detach().numpy())


# ------------------------------------------------------------------------------------ packed input


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_sequence(rng, cls, enforce_sorted):
    from pyml.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    pm, tm = _build(cls, "float64", 3, 4, num_layers=2, bidirectional=True)
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 3]
    x = rng.standard_normal((5, 4, 3))
    px, tx = _leaf(pyml, x, "float64"), _leaf(torch, x, "float64")
    pp = pack_padded_sequence(px, lengths, enforce_sorted=enforce_sorted)
    tp = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(lengths), enforce_sorted=enforce_sorted)
    h = rng.standard_normal((4, 4, 4))
    hx_p = (pyml.tensor(h).requires_grad_(True), pyml.tensor(-h).requires_grad_(True)) if cls == "LSTM" else \
        pyml.tensor(h).requires_grad_(True)
    hx_t = (torch.tensor(h).requires_grad_(True), torch.tensor(-h).requires_grad_(True)) if cls == "LSTM" else \
        torch.tensor(h).requires_grad_(True)
    po, ps = pm(pp, hx_p)
    to, ts = tm(tp, hx_t)
    assert type(po).__name__ == "PackedSequence"
    _close(po.data, to.data, 1e-10, "packed data")
    np.testing.assert_array_equal(po.batch_sizes.numpy(), to.batch_sizes.numpy())
    pad_p, len_p = pad_packed_sequence(po)
    pad_t, _ = torch.nn.utils.rnn.pad_packed_sequence(to)
    _close(pad_p, pad_t, 1e-10, "padded")
    ps_, ts_ = (ps, ts) if cls == "LSTM" else ((ps,), (ts,))
    loss_p, loss_t = pad_p.sum(), pad_t.sum()
    for a, b in zip(ps_, ts_):
        _close(a, b, 1e-10, "state")
        loss_p, loss_t = loss_p + (a * a).sum(), loss_t + (b * b).sum()
    loss_p.backward()
    loss_t.backward()
    pairs = [(px, tx)] + list(zip(hx_p if cls == "LSTM" else (hx_p,), hx_t if cls == "LSTM" else (hx_t,)))
    _check_grads(pm, tm, pairs, 1e-10)


# ------------------------------------------------------------------------------------------ cells
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cls,kw", [("RNNCell", {}), ("RNNCell", dict(nonlinearity="relu")), ("LSTMCell", {}),
                                    ("GRUCell", {}), ("GRUCell", dict(bias=False))], ids=str)
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_h", [True, False])
def test_cells(rng, cls, kw, dtype, batched, with_h):
    pm, tm = _build(cls, dtype, 5, 7, **kw)
    shp = (3, 5) if batched else (5,)
    hs = (3, 7) if batched else (7,)
    x = rng.standard_normal(shp)
    px, tx = _leaf(pyml, x, dtype), _leaf(torch, x, dtype)
    pairs, pa, ta = [(px, tx)], [px], [tx]
    if with_h:
        states = [rng.standard_normal(hs) for _ in range(2 if cls == "LSTMCell" else 1)]
        p_st = [_leaf(pyml, s, dtype) for s in states]
        t_st = [_leaf(torch, s, dtype) for s in states]
        pairs += list(zip(p_st, t_st))
        pa.append(tuple(p_st) if cls == "LSTMCell" else p_st[0])
        ta.append(tuple(t_st) if cls == "LSTMCell" else t_st[0])
    po, to = pm(*pa), tm(*ta)
    po, to = (po if cls == "LSTMCell" else (po,)), (to if cls == "LSTMCell" else (to,))
    lp, lt = 0, 0
    for i, (a, b) in enumerate(zip(po, to)):
        _close(a, b, TOL[dtype])
        lp, lt = lp + (a * (i + 1.5)).sum(), lt + (b * (i + 1.5)).sum()
    lp.backward()
    lt.backward()
    _check_grads(pm, tm, pairs, TOL[dtype])


# ------------------------------------------------------------------------------ keys, init, errors
def test_state_dict_keys_and_init():
    for args, kw in [((3, 8), dict(num_layers=2, bidirectional=True, proj_size=2)), ((3, 8), dict(bias=False))]:
        pm, tm = pyml.nn.LSTM(*args, **kw), torch.nn.LSTM(*args, **kw)
        assert list(pm.state_dict()) == list(tm.state_dict())
        for (n, p), (_, t) in zip(pm.named_parameters(), tm.named_parameters()):
            assert tuple(p.shape) == tuple(t.shape), n
    pm = pyml.nn.GRU(3, 100, num_layers=2)
    bound = 1 / math.sqrt(100)
    w = pm.weight_hh_l1.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound and abs(w.mean()) < 0.01
    assert [n for n, _ in pyml.nn.RNNCell(2, 3).named_parameters()] == ["weight_ih", "weight_hh", "bias_ih",
                                                                         "bias_hh"]


def test_bad_inputs():
    m = pyml.nn.LSTM(4, 6, num_layers=2)
    with pytest.raises(ValueError, match=r"LSTM: input.size\(-1\) must be equal to input_size \(4\), got input "
                                         r"\(5, 2, 3\)"):
        m(pyml.zeros(5, 2, 3))
    with pytest.raises(ValueError, match=r"LSTM: Expected hidden\[0\] size \(2, 2, 6\), got \(1, 2, 6\)"):
        m(pyml.zeros(5, 2, 4), (pyml.zeros(1, 2, 6), pyml.zeros(2, 2, 6)))
    with pytest.raises(ValueError, match=r"LSTM: Expected input to be 2D \(unbatched\) or 3D \(batched\), got 4D"):
        m(pyml.zeros(5, 2, 4, 1))
    with pytest.raises(ValueError, match=r"GRU: for batched 3-D input, hidden should be 3-D, got \(2, 6\)"):
        pyml.nn.GRU(4, 6, num_layers=2)(pyml.zeros(5, 2, 4), pyml.zeros(2, 6))
    with pytest.raises(ValueError, match=r"LSTM: proj_size \(6\) has to be smaller than hidden_size \(6\)"):
        pyml.nn.LSTM(4, 6, proj_size=6)
    with pytest.raises(ValueError, match=r"GRU: proj_size argument is only supported for LSTM"):
        pyml.nn.GRU(4, 6, proj_size=2)
    with pytest.raises(ValueError, match=r"RNN: dropout should be a number in range \[0, 1\]"):
        pyml.nn.RNN(4, 6, dropout=1.5)
    with pytest.raises(ValueError, match="RNN: unknown nonlinearity 'gelu'"):
        pyml.nn.RNN(4, 6, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"GRU: hidden_size must be >= 1, got 0"):
        pyml.nn.GRU(4, 0)
    with pytest.raises(ValueError, match=r"LSTMCell: input has inconsistent input_size: got input \(2, 3\), "
                                         r"expected input_size 4"):
        pyml.nn.LSTMCell(4, 5)(pyml.zeros(2, 3))
    with pytest.raises(ValueError, match=r"GRUCell: hidden state 0 must have shape \(2, 5\) for input \(2, 4\)"):
        pyml.nn.GRUCell(4, 5)(pyml.zeros(2, 4), pyml.zeros(3, 5))
    with pytest.raises(ValueError, match=r"RNNCell: Expected input to be 1D or 2D, got 3D"):
        pyml.nn.RNNCell(4, 5)(pyml.zeros(1, 2, 4))


# --------------------------------------------------------------------------------- TEXTBOOK checks
def test_textbook_toy_linear_rnn():
    # all weights 1, linear units (relu is the identity on these positive values), memory starts at 0
    rnn = pyml.nn.RNN(2, 2, nonlinearity="relu", bias=False)
    out_layer = pyml.nn.Linear(2, 2, bias=False)
    with pyml.no_grad():
        for w in (rnn.weight_ih_l0, rnn.weight_hh_l0, out_layer.weight):
            w.fill_(1.0)
    h, _ = rnn(pyml.tensor([[1.0, 1.0], [1.0, 1.0], [2.0, 2.0]]))
    np.testing.assert_array_equal(out_layer(h).detach().numpy(), [[4, 4], [12, 12], [32, 32]])


@pytest.mark.parametrize("w,expect", [(1.01, 20752.0), (0.99, 4.4e-5)])
def test_textbook_scalar_recurrence_1000_steps(w, expect):
    rnn = pyml.nn.RNN(1, 1, nonlinearity="relu", bias=False).double()
    with pyml.no_grad():
        rnn.weight_ih_l0.fill_(1.0)
        rnn.weight_hh_l0.fill_(w)
    x = pyml.zeros(1000, 1, dtype=pyml.float64)
    x[0, 0] = 1.0
    out, _ = rnn(x)
    y = out[-1, 0]
    assert y.item() == pytest.approx(w ** 999, rel=1e-12)
    assert y.item() == pytest.approx(expect, rel=1e-2)  # the textbook rounds (~20752, ~4.4e-5)
    y.backward()
    assert rnn.weight_hh_l0.grad.item() == pytest.approx(999 * w ** 998, rel=1e-10)
