"""Recurrent layers RNN (tanh/relu), LSTM (optional proj_size), GRU and their Cell forms, with torch's
gate equations, parameter names (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, weight_hr_l0,
_reverse for the backward direction) and init U(-1/sqrt(hidden), 1/sqrt(hidden)).
Composite of engine ops (autograd for free): each layer and direction projects the whole input
sequence in one GEMM, then the time loop does one (B, H) @ (H, G) GEMM plus the gate ops per step.
PackedSequence inputs run on the padded equivalent, time-major in sorted order: a sequence's state
only advances while t < its length (where-masked), so reverse directions start at each sequence's end.
Layout inside: x (T, B, I), states (num_layers * num_directions, B, H)."""
import math

from ... import _creation
from .. import init
from ..parameter import Parameter
from ..._ops import linalg as _L  # looked up per call: autograd wraps the module attribute
from .._functional.attention import _dropout_mask

from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _ops():
    from ... import cat, stack, where
    return cat, stack, where


# ------------------------------------------------------------------------------ cell equations
def _split(x, n):
    """(B, n*H) -> n views (B, H) (narrow: no copy)."""
    h = x.shape[-1] // n
    return [x.narrow(-1, i * h, h) for i in range(n)]


def _lstm_cell(gx, gh, h, c, w_hr):
    """gx, gh: (B, 4H) input and hidden projections (with biases); gates i, f, g, o."""
    i, f, g, o = _split(gx + gh, 4)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    return (h if w_hr is None else _L.matmul(h, w_hr.t())), c


def _gru_cell(gx, gh, h):
    """gates r, z, n: n = tanh(x_n + r * (h W_hn + b_hn)); h' = (1 - z) * n + z * h."""
    xr, xz, xn = _split(gx, 3)
    hr, hz, hn = _split(gh, 3)
    r = (xr + hr).sigmoid()
    z = (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return n + z * (h - n)


def _rnn_cell(gx, gh, relu):
    s = gx + gh
    return s.relu() if relu else s.tanh()


def _step(mode, gx, gh, h, c, w_hr):
    if mode == "LSTM":
        return _lstm_cell(gx, gh, h, c, w_hr)
    if mode == "GRU":
        return _gru_cell(gx, gh, h), None
    return _rnn_cell(gx, gh, mode == "RNN_RELU"), None


def _proj(x, w, b):
    out = _L.matmul(x, w.t())
    return out if b is None else out + b


def _direction(mode, x, h, c, weights, reverse, alive):
    """One layer, one direction. x (T, B, I); h (B, Hr); c (B, H) or None; alive: (T, B, 1) bool for
    packed input (a row advances only while t < its length) or None. Returns (out (T, B, Hr), h, c)."""
    _, stack, where = _ops()
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    gx = _proj(x, w_ih, b_ih)  # (T, B, G): the whole sequence in one GEMM
    w_hh_t = w_hh.t()
    T = x.shape[0]
    outs = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        gh = _L.matmul(h, w_hh_t)
        if b_hh is not None:
            gh = gh + b_hh
        h_new, c_new = _step(mode, gx[t], gh, h, c, w_hr)
        if alive is None:
            h, c = h_new, c_new
        else:
            h = where(alive[t], h_new, h)
            c = None if c is None else where(alive[t], c_new, c)
        outs[t] = h
    if T == 0:
        return _creation.zeros((0, x.shape[1], h.shape[-1]), dtype=x.dtype, device=x.device), h, c
    return stack(outs, 0), h, c


# --------------------------------------------------------------------------------- packed input
def _is_packed(x):
    from ..utils.rnn import PackedSequence
    return isinstance(x, PackedSequence)


def _unpack(packed):
    """PackedSequence data (N, I) -> padded x (T, B, I) in sorted order, alive (T, B, 1) bool and
    the flat (t * B + b) positions of the valid rows, time-major like the packed data."""
    from ... import arange, cat
    data, bs = packed.data, packed.batch_sizes.long()
    T, B, N = bs.shape[0], int(bs[0].item()) if bs.shape[0] else 0, data.shape[0]
    bs = bs.to(data.device)
    alive = arange(B, device=data.device).reshape(1, B) < bs.reshape(T, 1)  # (T, B)
    start = bs.cumsum(0) - bs  # first packed row of each time step
    idx = (start.reshape(T, 1) + arange(B, device=data.device).reshape(1, B)).where(alive, N)  # (T, B), N = the zero row
    rows = cat([data, _creation.zeros((1,) + tuple(data.shape[1:]), dtype=data.dtype, device=data.device)], 0)
    x = rows.index_select(0, idx.reshape(-1)).reshape((T, B) + tuple(data.shape[1:]))
    valid = alive.reshape(-1).nonzero().reshape(-1)
    return x, alive.unsqueeze(-1), valid, B


def _repack(packed, out, valid):
    T, B = out.shape[0], out.shape[1]
    data = out.reshape(T * B, out.shape[-1]).index_select(0, valid)
    return type(packed)(data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)


# ------------------------------------------------------------------------------------- RNNBase
class RNNBase(Module):
    """Shared machinery of RNN, LSTM and GRU (mode 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU')."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        name = self._name(mode)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing the probability "
                             f"of an element being zeroed, got {dropout!r}")
        for arg, v, lo in (("input_size", input_size, 0), ("hidden_size", hidden_size, 1),
                           ("num_layers", num_layers, 1), ("proj_size", proj_size, 0)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError(f"{name}: {arg} should be of type int, got: {type(v).__name__}")
            if v < lo:
                raise ValueError(f"{name}: {arg} must be >= {lo}, got {v}")
        if proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size ({proj_size}) has to be smaller than hidden_size ({hidden_size})")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        self._flat_weights_names = []
        self._all_weights = []
        self._make_parameters(dict(device=device, dtype=dtype))
        self.reset_parameters()

    @staticmethod
    def _name(mode):
        return {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)

    def _make_parameters(self, kw):
        gate = _GATES[self.mode] * self.hidden_size
        real_h = self.proj_size or self.hidden_size
        dirs = 2 if self.bidirectional else 1
        for layer in range(self.num_layers):
            for d in range(dirs):
                in_size = self.input_size if layer == 0 else real_h * dirs
                shapes = [("weight_ih", (gate, in_size)), ("weight_hh", (gate, real_h))]
                if self.bias:
                    shapes += [("bias_ih", (gate,)), ("bias_hh", (gate,))]
                if self.proj_size:
                    shapes.append(("weight_hr", (self.proj_size, self.hidden_size)))
                names = []
                for base, shape in shapes:
                    n = f"{base}_l{layer}{'_reverse' if d else ''}"
                    setattr(self, n, Parameter(_creation.empty(shape, **kw)))
                    names.append(n)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def _weights(self, layer, d):
        sfx = f"_l{layer}{'_reverse' if d else ''}"
        return tuple(getattr(self, base + sfx, None) for base in ("weight_ih", "weight_hh", "bias_ih", "bias_hh",
                                                                 "weight_hr"))

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    # ---------------------------------------------------------------------------------- forward
    def _state_shapes(self, batch):
        n = self.num_layers * (2 if self.bidirectional else 1)
        return (n, batch, self.proj_size or self.hidden_size), (n, batch, self.hidden_size)

    def _check_input(self, x, batched, packed):
        name = self._name(self.mode)
        want = 2 if packed else 3
        if not packed and x.dim() not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D (unbatched) or 3D (batched), got {x.dim()}D input "
                             f"{tuple(x.shape)}")
        if packed and x.dim() != want:
            raise ValueError(f"{name}: packed input data must be 2-D (N, input_size), got {tuple(x.shape)}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input.size(-1) must be equal to input_size ({self.input_size}), got input "
                             f"{tuple(x.shape)}")

    def _check_hidden(self, h, shape, batched, what):
        name = self._name(self.mode)
        if h.dim() != (3 if batched else 2):
            kind = "batched 3-D" if batched else "unbatched 2-D"
            raise ValueError(f"{name}: for {kind} input, {what} should be {3 if batched else 2}-D, got "
                             f"{tuple(h.shape)}")
        got = tuple(h.shape) if batched else (h.shape[0], 1, h.shape[1])
        if got != tuple(shape):
            want = shape if batched else (shape[0], shape[2])
            raise ValueError(f"{name}: Expected {what} size {tuple(want)}, got {tuple(h.shape)}")

    def forward(self, input, hx=None):
        packed = _is_packed(input)
        lstm = self.mode == "LSTM"
        if packed:
            self._check_input(input.data, True, True)
            x, alive, valid, batch = _unpack(input)
            batched, perm = True, input.sorted_indices
        else:
            self._check_input(input, input.dim() == 3, False)
            batched, alive, perm = input.dim() == 3, None, None
            x = input if batched else input.unsqueeze(1)
            if self.batch_first and batched:
                x = x.transpose(0, 1)  # (B, T, I) -> (T, B, I)
            batch = x.shape[1]
        h0, c0 = self._initial_state(hx, x, batch, batched, perm, lstm)
        out, h_n, c_n = self._run(x, h0, c0, alive)
        if packed:
            out = _repack(input, out, valid)
            unperm = input.unsorted_indices
            if unperm is not None:
                h_n = h_n.index_select(1, unperm)
                c_n = None if c_n is None else c_n.index_select(1, unperm)
        elif not batched:
            out, h_n = out.squeeze(1), h_n.squeeze(1)
            c_n = None if c_n is None else c_n.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, ((h_n, c_n) if lstm else h_n)

    def _initial_state(self, hx, x, batch, batched, perm, lstm):
        name = self._name(self.mode)
        hs, cs = self._state_shapes(batch)
        if hx is None:
            return (_creation.zeros(hs, dtype=x.dtype, device=x.device),
                    _creation.zeros(cs, dtype=x.dtype, device=x.device) if lstm else None)
        if lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{name}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
            h, c = hx
            self._check_hidden(h, hs, batched, "hidden[0]")
            self._check_hidden(c, cs, batched, "hidden[1]")
        else:
            h, c = hx, None
            self._check_hidden(h, hs, batched, "hidden")
        if not batched:
            h, c = h.unsqueeze(1), (None if c is None else c.unsqueeze(1))
        if perm is not None:
            h, c = h.index_select(1, perm), (None if c is None else c.index_select(1, perm))
        return h, c

    def _run(self, x, h0, c0, alive):
        cat, stack, _ = _ops()
        dirs = 2 if self.bidirectional else 1
        hs, cs = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                i = layer * dirs + d
                out, h, c = _direction(self.mode, x, h0[i], None if c0 is None else c0[i], self._weights(layer, d),
                                       d == 1, alive)
                outs.append(out)
                hs.append(h)
                cs.append(c)
            x = outs[0] if dirs == 1 else cat(outs, 2)  # (T, B, Hr * dirs)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = x * _dropout_mask(x.shape, self.dropout, x.dtype, x.device)
        return x, stack(hs, 0), (stack(cs, 0) if c0 is not None else None)


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu)."""

    def __init__(self, *args, **kwargs):
        nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if len(args) > 3:  # torch's positional order: input_size, hidden_size, num_layers, nonlinearity, ...
            nonlinearity, args = args[3], args[:3] + args[4:]
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity '{nonlinearity}', select from 'tanh' or 'relu'")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", *args, **kwargs)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """LSTM with gates i, f, g, o; proj_size > 0 projects h_t with weight_hr."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """GRU with gates r, z, n as in torch."""

    def __init__(self, *args, **kwargs):
        super().__init__("GRU", *args, **kwargs)


# --------------------------------------------------------------------------------------- cells
class RNNCellBase(Module):
    """One time step: weight_ih (G, input_size), weight_hh (G, hidden_size), bias_ih, bias_hh (G)."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        kw = dict(device=device, dtype=dtype)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        G = num_chunks * hidden_size  # the gates' pre-activations, stacked
        shapes = {"weight_ih": (G, input_size), "weight_hh": (G, hidden_size),
                  "bias_ih": (G,) if bias else None, "bias_hh": (G,) if bias else None}
        for name, shape in shapes.items():
            self.register_parameter(name, None if shape is None else Parameter(_creation.empty(shape, **kw)))
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input, hx, n_states):
        """input (B, I) or (I,) -> (B, I), states -> (B, H) each, and whether input was batched."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D input {tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input has inconsistent input_size: got input {tuple(input.shape)}, expected "
                             f"input_size {self.input_size}")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            return x, [_creation.zeros((x.shape[0], self.hidden_size), dtype=x.dtype, device=x.device)] * n_states, batched
        states = list(hx) if n_states == 2 else [hx]
        want = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        for i, s in enumerate(states):
            if tuple(s.shape) != want:
                raise ValueError(f"{name}: hidden state {i} must have shape {want} for input {tuple(input.shape)}, "
                                 f"got {tuple(s.shape)}")
        return x, [s if batched else s.unsqueeze(0) for s in states], batched

    def _gates(self, x, h):
        return _proj(x, self.weight_ih, self.bias_ih), _proj(h, self.weight_hh, self.bias_hh)


class RNNCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity '{nonlinearity}', select from 'tanh' or 'relu'")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, hx, 1)
        h = _rnn_cell(*self._gates(x, h), self.nonlinearity == "relu")
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        x, (h, c), batched = self._prepare(input, hx, 2)
        h, c = _lstm_cell(*self._gates(x, h), h, c, None)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, hx, 1)
        h = _gru_cell(*self._gates(x, h), h)
        return h if batched else h.squeeze(0)
