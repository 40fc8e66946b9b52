"""Recording ops into the graph: OpNode (built-in ops, backward from a formula) and the user-facing
autograd.Function (forward/backward staticmethods with a ctx), both built on graph.Node."""
from . import grad_mode
from .graph import Node, SavedTensor, capture_trace, _meta
from .anomaly_mode import is_anomaly_enabled


def _tensor_cls():
    from .._tensor import Tensor
    return Tensor


def differentiable_dtype(t):
    return t.dtype.is_floating_point


class OpNode(Node):
    """A built-in op's node: backward(ctx=self, *grads) is a formula from formulas.py written in pyml
    ops, so running it with create_graph records a graph of its own (higher-order gradients)."""

    def __init__(self, name, formula, inputs, outputs, args, save_inputs=True, save_outputs=False):
        super().__init__(name, inputs, len(outputs))
        self.formula = formula
        self.args = args
        T = _tensor_cls()
        self.in_meta = [_meta(t) if isinstance(t, T) else None for t in inputs]
        self._saved_in = [(SavedTensor(t, name) if isinstance(t, T) else _Const(t)) if save_inputs else None
                          for t in inputs]
        self._saved_out = [SavedTensor(o, name, is_output=True) if save_outputs else None for o in outputs]
        self.needs_input_grad = tuple(e is not None for e in self.next_functions)

    @property
    def inputs(self):
        return [None if s is None else s.unpack(self) for s in self._saved_in]

    @property
    def outputs(self):
        return [None if s is None else s.unpack(self) for s in self._saved_out]

    def release(self):
        super().release()
        self._saved_in = [None] * len(self._saved_in) if self._saved_in else self._saved_in
        self._saved_out = [None] * len(self._saved_out)

    def backward(self, *grads):
        if self._freed:
            raise RuntimeError(
                f"{self.name}: trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the graph are freed "
                "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
                "backward through the graph a second time or if you need to access saved tensors after "
                "calling backward.")
        out = self.formula(self, *grads)
        return out if isinstance(out, tuple) else (out,)


class _Const:
    """A non-tensor input (a Python number) kept for the formula."""
    __slots__ = ("value",)

    def __init__(self, v):
        self.value = v

    def unpack(self, node):
        return self.value


def needs_grad(*tensors):
    """True when grad mode is on and some argument is a tensor that requires grad."""
    if not grad_mode.is_grad_enabled():
        return False
    T = _tensor_cls()
    for t in tensors:
        if isinstance(t, T) and t.requires_grad:
            return True
        if isinstance(t, (list, tuple)) and any(isinstance(x, T) and x.requires_grad for x in t):
            return True
    return False


def record(name, formula, inputs, outputs, args=None, save_inputs=True, save_outputs=False):
    """Attach an OpNode to the floating-point outputs; returns the node."""
    for o in outputs:  # before saving: a saved output must unpack with its history (double backward)
        o._requires_grad = o._requires_grad or differentiable_dtype(o)
    node = OpNode(name, formula, inputs, outputs, args, save_inputs, save_outputs)
    if is_anomaly_enabled():
        node.trace = capture_trace()
    for i, o in enumerate(outputs):
        node.out_meta[i] = _meta(o)
        if differentiable_dtype(o):
            o.requires_grad = True
            o.grad_fn = node
            o.__dict__["_output_nr"] = i
    return node


def rebase_inplace(t, name, formula, inputs, args=None, save_inputs=True):
    """After an in-place op on t: t's history now ends in a new node whose first input is t's old self."""
    if t.grad_fn is None and t.requires_grad:
        raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an in-place operation.")
    node = OpNode(name, formula, inputs, [t], args, save_inputs, False)
    if is_anomaly_enabled():
        node.trace = capture_trace()
    node.out_meta[0] = _meta(t)
    t.requires_grad = True
    t.grad_fn = node
    t.__dict__["_output_nr"] = 0
    return node


# ---------------------------------------------------------------------------------------- Function
class FunctionCtx:
    """The ctx of a custom Function: save_for_backward, saved_tensors, needs_input_grad, ..."""

    def __init__(self):
        self._to_save = ()
        self._non_diff = set()
        self._dirty = set()
        self.materialize_grads = True
        self.needs_input_grad = ()

    def save_for_backward(self, *tensors):
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors):
        self._non_diff.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        self._dirty.update(id(t) for t in tensors)

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)


class BackwardCFunction(Node, FunctionCtx):
    """The node of a custom Function call: it is also the ctx that forward and backward see."""

    def __init__(self, cls, inputs):
        Node.__init__(self, cls.__name__ + "Backward", inputs, 1)
        FunctionCtx.__init__(self)
        self._cls = cls
        self._saved = None

    @property
    def saved_tensors(self):
        if self._freed:
            raise RuntimeError(f"{self.name}: trying to backward through the graph a second time (saved tensors "
                               "were freed); specify retain_graph=True on the first backward")
        return tuple(None if s is None else s.unpack(self) for s in self._saved)

    def backward(self, *grads):
        out = self._cls.backward(self, *grads)
        if not isinstance(out, tuple):
            out = (out,)
        n = len(self.next_functions)
        if len(out) > n:
            extra = out[n:]
            if any(g is not None for g in extra):
                raise RuntimeError(f"{self._cls.__name__}.backward returned {len(out)} gradients, but forward "
                                   f"took {n} inputs")
            out = out[:n]
        if len(out) < n:
            raise RuntimeError(f"{self._cls.__name__}.backward returned {len(out)} gradients, expected {n}")
        return out

    def release(self):
        super().release()
        self._saved = None


class Function:
    """Base class for custom differentiable operations (forward/backward staticmethods)."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("Function.forward must be overridden")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("Function.backward must be overridden")

    @classmethod
    def apply(cls, *args, **kwargs):
        T = _tensor_cls()
        tensor_args = [a if isinstance(a, T) else None for a in args]
        track = grad_mode.is_grad_enabled() and any(a is not None and a.requires_grad for a in tensor_args)
        node = BackwardCFunction(cls, tensor_args if track else ())
        node.needs_input_grad = tuple(a is not None and a.requires_grad and track for a in tensor_args)
        with grad_mode.no_grad():
            out = cls.forward(node, *args, **kwargs)
        outs = out if isinstance(out, tuple) else (out,)
        if not track:
            return out
        if is_anomaly_enabled():
            node.trace = capture_trace()
        node.n_outputs = len(outs)
        node.out_meta = [(_meta(o) if isinstance(o, T) else None) for o in outs]
        node._pre_hooks = {}
        input_ids = {id(a) for a in tensor_args if a is not None}
        result = []
        for i, o in enumerate(outs):
            if isinstance(o, T):
                if id(o) in input_ids and id(o) not in node._dirty:
                    o = o.view_as(o)  # returning an input: give the output its own identity
                if id(o) not in node._non_diff and o.dtype.is_floating_point:
                    o.requires_grad = True
                    o.grad_fn = node
                    o.__dict__["_output_nr"] = i
            result.append(o)
        node._saved = [None if t is None else SavedTensor(t, node.name, is_output=any(t is r for r in result))
                       for t in node._to_save]
        return tuple(result) if isinstance(out, tuple) else result[0]


class once_differentiable:
    """Decorator for a backward that cannot itself be differentiated: raises under create_graph."""

    def __new__(cls, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(ctx, *grads):
            with grad_mode.no_grad():
                out = fn(ctx, *grads)
            if grad_mode.is_grad_enabled() and any(getattr(g, "requires_grad", False) for g in grads):
                outs = out if isinstance(out, tuple) else (out,)
                for o in outs:
                    if o is not None:
                        o.requires_grad = True
                        o.grad_fn = _NotDifferentiable(fn.__qualname__)
            return out
        return wrapper


class _NotDifferentiable(Node):
    def __init__(self, what):
        super().__init__("OnceDifferentiableBackward", ())
        self.what = what

    def backward(self, *grads):
        raise RuntimeError(f"{self.what}: trying to differentiate twice a function that was marked with "
                           "@once_differentiable")
