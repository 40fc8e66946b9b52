"""ElementwiseNode: the recorded form of a unary or binary elementwise op (x.exp(), a * b, a + 2).

These ops are most of what a model records, so recording them is the hot path of autograd overhead.
An OpNode decodes metadata and wraps every saved input in a SavedTensor up front; this node keeps
the engine's raw (shape, key, version) triples and plain (tensor, version, grad_fn, output_nr)
tuples, and decodes them only when backward actually reads ctx.in_meta, ctx.inputs or out_meta.
It offers the formulas the same ctx surface as OpNode (inputs, outputs, args, in_meta,
needs_input_grad), so the formula tables in formulas.py serve both.
"""
from .._tensor import Tensor
from .anomaly_mode import _state as _anomaly
from .function import OpNode
from .graph import FREED, SavedTensor, _DTYPE_DEVICE, _decode, _edge, _freed_error, _seq, capture_trace, grad_accumulator


def _decoded(raw):
    """(shape, key, version) from the engine -> (shape, dtype, device), as graph._meta gives."""
    if raw is None:
        return None
    dd = _DTYPE_DEVICE.get(raw[1]) or _decode(raw[1])
    return (raw[0], dd[0], dd[1])


class ElementwiseNode(OpNode):
    n_outputs = 1
    _saved_out = (None,)

    def __init__(self, name, formula, inputs, args, save_inputs):
        # no super().__init__: this is OpNode's work, done lazily (see the module docstring)
        self.name = name
        self.formula = formula
        self.args = args
        edges, raw, saved = [], [], []
        for t in inputs:
            if isinstance(t, Tensor):
                m = t._impl.meta
                raw.append(m)
                if not t._requires_grad:
                    edges.append(None)
                elif t.grad_fn is None:
                    edges.append((grad_accumulator(t), 0))
                else:
                    edges.append(_edge(t))
                if save_inputs:
                    saved.append((t, m[2], t.grad_fn, t._output_nr))
            else:
                raw.append(None)
                edges.append(None)
                if save_inputs:
                    saved.append(t)  # a Python number
        self.next_functions = tuple(edges)
        self._raw_in = raw
        self._saved_raw = saved if save_inputs else None
        self.seq = next(_seq)

    @property
    def needs_input_grad(self):
        return tuple(e is not None for e in self.next_functions)

    @property
    def in_meta(self):
        m = self.__dict__.get("_in_meta")
        if m is None:
            m = self.__dict__["_in_meta"] = [_decoded(r) for r in self._raw_in]
        return m

    @property
    def out_meta(self):
        m = self.__dict__.get("_out_meta")
        if m is None:
            m = self.__dict__["_out_meta"] = [_decoded(self._raw_out)]
        return m

    def _raw_meta(self, nr):
        return self._raw_out

    def _fit_in(self, i, g):
        """g as input i's gradient: returned as is when the engine's raw shape and dtype|device key already
        match the input's (the usual case: one engine call), else reduced/cast by formulas._fit."""
        if g is None:
            return None
        have, want = g._impl.meta, self._raw_in[i]
        if have[0] == want[0] and have[1] == want[1]:
            return g
        from .formulas import _fit
        return _fit(g, self.in_meta[i])

    @property
    def inputs(self):
        saved = self._saved_raw
        if saved is None:
            return [None] * len(self._raw_in)
        if saved is FREED:
            raise _freed_error(self.name)
        return [self._unpack(s) if type(s) is tuple else s for s in saved]

    def _unpack(self, s):
        t, version, fn, nr = s
        if t._impl.version != version:
            st = object.__new__(SavedTensor)  # only to word the error like every other saved tensor
            st.tensor, st.version, st.is_output, st.node_name, st.fn, st.nr = t, version, False, self.name, fn, nr
            raise RuntimeError(st._modified_message(self))
        return t

    def release(self):
        self._freed = True
        if self._saved_raw is not None:
            self._saved_raw = FREED
        if self._saved_out[0] is not None:
            self._saved_out = (FREED,)


def record_elementwise(name, formula, inputs, out, args, save_inputs, save_output):
    """Make `out` (a new floating-point tensor) the output of an ElementwiseNode over inputs."""
    out._requires_grad = True  # before saving it: a saved output must unpack with its history
    node = ElementwiseNode(name, formula, inputs, args, save_inputs)
    m = node._raw_out = out._impl.meta
    if save_output:
        node._saved_out = (SavedTensor(out, name, True, 0),)
    if _anomaly.enabled:
        node.trace = capture_trace()
    out.grad_fn = node
    out._fn_version = m[2]
    return node
