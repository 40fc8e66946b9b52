"""MLP: the fully connected network of the course's first chapters.

A stack of hidden blocks Linear -> [BatchNorm1d] -> activation -> [Dropout], then a last Linear with
no activation (regression outputs or classification logits). `hidden=[]` gives a plain linear model,
which is how the chapter-1 recipe builds its window regressions. Batch norm sits between the linear
map and the non-linearity, as in the batch-norm paper, so a deep sigmoid MLP can be compared with and
without it (chapter 3).
"""
from .. import nn

__all__ = ["MLP"]

# activation name -> module class; the names are the ones pyml.nn.functional uses
_ACTIVATIONS = {
    "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "gelu": nn.GELU, "silu": nn.SiLU,
    "elu": nn.ELU, "leaky_relu": nn.LeakyReLU, "softplus": nn.Softplus, "identity": nn.Identity,
}


def _check_size(name, value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"MLP: {name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"MLP: {name} must be positive, got {value}")
    return value


def _check_hidden(hidden):
    if not isinstance(hidden, (list, tuple)):
        raise TypeError(f"MLP: hidden must be a list of layer widths, got {type(hidden).__name__}")
    return [_check_size(f"hidden[{i}]", h) for i, h in enumerate(hidden)]


def _activation_factory(activation):
    """A zero-argument callable making one activation module, from a name or a Module class."""
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"MLP: activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        return _ACTIVATIONS[activation]
    if isinstance(activation, type) and issubclass(activation, nn.Module):
        return activation
    raise TypeError(f"MLP: activation must be a name or an nn.Module class, got {activation!r}")


def _check_dropout(p):
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
        raise ValueError(f"MLP: dropout must be a probability in [0, 1), got {p!r}")
    return float(p)


class MLP(nn.Module):
    """Fully connected network in_features -> hidden[0] -> ... -> hidden[-1] -> out_features.

    activation: a name ("relu", "sigmoid", "tanh", "gelu", "silu", "elu", "leaky_relu", "softplus",
    "identity") or an nn.Module class called with no arguments. batch_norm adds BatchNorm1d after
    each hidden Linear; dropout > 0 adds Dropout(dropout) after each hidden activation. The blocks
    live in `self.layers` (an nn.Sequential); forward maps (N, in_features) to (N, out_features).
    """

    def __init__(self, in_features, hidden, out_features, activation="relu", batch_norm=False, dropout=0.0):
        super().__init__()
        self.in_features = _check_size("in_features", in_features)
        self.out_features = _check_size("out_features", out_features)
        self.hidden = _check_hidden(hidden)
        make_activation = _activation_factory(activation)
        self.dropout = _check_dropout(dropout)
        self.batch_norm = bool(batch_norm)
        blocks, width = [], self.in_features
        for h in self.hidden:
            blocks += self._hidden_block(width, h, make_activation)
            width = h
        blocks.append(nn.Linear(width, self.out_features))
        self.layers = nn.Sequential(*blocks)

    def _hidden_block(self, width_in, width_out, make_activation):
        block = [nn.Linear(width_in, width_out)]
        if self.batch_norm:
            block.append(nn.BatchNorm1d(width_out))
        block.append(make_activation())
        if self.dropout > 0:
            block.append(nn.Dropout(self.dropout))
        return block

    def forward(self, x):
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"MLP: input must have shape (N, {self.in_features}), got {tuple(x.shape)}")
        return self.layers(x)

    def extra_repr(self):
        return (f"in_features={self.in_features}, hidden={self.hidden}, out_features={self.out_features}, "
                f"batch_norm={self.batch_norm}, dropout={self.dropout}")
