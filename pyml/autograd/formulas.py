"""Derivative formulas: one entry per differentiable op, written in pyml ops so that a backward
pass run with create_graph=True is itself recorded (higher-order gradients).

Elementwise ops record through hooks in pyml/_ops/elementwise.py (every function, method and
operator funnels through _unary/_binary). Other ops are wrapped here from the WRAP table: the
wrapper runs the raw op under no_grad and records one OpNode whose backward is the formula.
"""
import functools
import inspect
import math

import pyml
from .._tensor import Tensor, wrap
from . import grad_mode
from .function import record, needs_grad, rebase_inplace, OpNode
from .graph import _meta


# ------------------------------------------------------------------------------------------ helpers
def sum_to(g, shape):
    """Reduce a broadcast gradient back to `shape` (sum over added and stretched dims)."""
    shape = tuple(shape)
    if tuple(g.shape) == shape:
        return g
    lead = g.ndim - len(shape)
    dims = list(range(lead)) + [lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1]
    if dims:
        g = pyml.sum(g, dim=dims, keepdim=True)
    if lead:
        g = g.reshape(shape)
    return g


def _cast(g, meta):
    return g if g.dtype is meta[1] else g.to(meta[1])


def _fit(g, meta):
    """A gradient for an input: reduced to its shape and cast to its dtype."""
    if g is None:
        return None
    return _cast(sum_to(g, meta[0]), meta)


# ------------------------------------------------------------------------------------------ unary
_SQRT_2_PI = math.sqrt(2.0 / math.pi)


def _gelu_grad(x, approximate):
    if approximate:
        inner = _SQRT_2_PI * (x + 0.044715 * x * x * x)
        t = pyml.tanh(inner)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_PI * (1 + 3 * 0.044715 * x * x)
    cdf = 0.5 * (1 + pyml.erf(x * (1 / math.sqrt(2))))
    pdf = pyml.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
    return cdf + x * pdf


def _softplus_grad(x, p):
    beta, threshold = p
    z = x * beta
    return pyml.where(z > threshold, pyml.ones_like(x), pyml.sigmoid(z))


def _zero(g, x, y, p):
    return g * 0


UNARY = {
    "neg": lambda g, x, y, p: -g,
    "abs": lambda g, x, y, p: g * pyml.sign(x),
    "sign": _zero,
    "exp": lambda g, x, y, p: g * y,
    "exp2": lambda g, x, y, p: g * y * math.log(2.0),
    "expm1": lambda g, x, y, p: g * (y + 1),
    "log": lambda g, x, y, p: g / x,
    "log2": lambda g, x, y, p: g / (x * math.log(2.0)),
    "log10": lambda g, x, y, p: g / (x * math.log(10.0)),
    "log1p": lambda g, x, y, p: g / (x + 1),
    "sqrt": lambda g, x, y, p: g / (2 * y),
    "rsqrt": lambda g, x, y, p: -0.5 * g * y * y * y,
    "sin": lambda g, x, y, p: g * pyml.cos(x),
    "cos": lambda g, x, y, p: -g * pyml.sin(x),
    "tan": lambda g, x, y, p: g * (1 + y * y),
    "asin": lambda g, x, y, p: g * pyml.rsqrt(1 - x * x),
    "acos": lambda g, x, y, p: -g * pyml.rsqrt(1 - x * x),
    "atan": lambda g, x, y, p: g / (1 + x * x),
    "sinh": lambda g, x, y, p: g * pyml.cosh(x),
    "cosh": lambda g, x, y, p: g * pyml.sinh(x),
    "tanh": lambda g, x, y, p: g * (1 - y * y),
    "sigmoid": lambda g, x, y, p: g * y * (1 - y),
    "relu": lambda g, x, y, p: g * (y > 0),
    "gelu": lambda g, x, y, p: g * _gelu_grad(x, False),
    "gelu_tanh": lambda g, x, y, p: g * _gelu_grad(x, True),
    "silu": lambda g, x, y, p: g * (pyml.sigmoid(x) * (1 + x * (1 - pyml.sigmoid(x)))),
    "softplus": lambda g, x, y, p: g * _softplus_grad(x, p),
    "erf": lambda g, x, y, p: g * (2 / math.sqrt(math.pi)) * pyml.exp(-x * x),
    "erfc": lambda g, x, y, p: g * (-2 / math.sqrt(math.pi)) * pyml.exp(-x * x),
    "floor": _zero, "ceil": _zero, "round": _zero, "trunc": _zero,
    "frac": lambda g, x, y, p: g,
    "reciprocal": lambda g, x, y, p: -g * y * y,
    "square": lambda g, x, y, p: 2 * g * x,
}


def _unary_formula(name):
    f = UNARY[name]

    def formula(ctx, g):
        x = ctx.inputs[0]
        y = ctx.outputs[0]
        return (_cast(f(g, x, y, ctx.args), ctx.in_meta[0]),)
    return formula


_UNARY_FORMULAS = {n: _unary_formula(n) for n in UNARY}


def record_unary(name, x, out, params):
    if name not in UNARY:
        return  # bool-valued or integer ops: not differentiable
    record(name.capitalize() + "Backward", _UNARY_FORMULAS[name], [x], [out], tuple(params),
           save_inputs=True, save_outputs=True)


# ------------------------------------------------------------------------------------------ binary
def _pow_grads(g, a, b, out):
    ga = g * b * pyml.pow(a, b - 1)
    gb = g * out * pyml.log(pyml.where(a > 0, a, pyml.ones_like(a)))
    gb = pyml.where((a == 0) & (b >= 0), pyml.zeros_like(gb), gb) if isinstance(b, Tensor) else gb
    return ga, gb


BINARY = {
    "add": lambda g, a, b, y, al: (g, g * al if al != 1 else g),
    "sub": lambda g, a, b, y, al: (g, -g * al if al != 1 else -g),
    "mul": lambda g, a, b, y, al: (g * b, g * a),
    "div": lambda g, a, b, y, al: (g / b, -g * a / (b * b)),
    "pow": lambda g, a, b, y, al: _pow_grads(g, a, b, y),
    "atan2": lambda g, a, b, y, al: (g * b / (a * a + b * b), -g * a / (a * a + b * b)),
    "remainder": lambda g, a, b, y, al: (g, -g * pyml.floor_divide(a, b)),
    "fmod": lambda g, a, b, y, al: (g, -g * pyml.trunc(a / b)),
    "floor_divide": lambda g, a, b, y, al: (g * 0, g * 0),
    "trunc_divide": lambda g, a, b, y, al: (g * 0, g * 0),
}


def _maxmin(kind):
    def f(g, a, b, y, al):
        wa = (a > b) if kind == "max" else (a < b)
        wa = wa.to(g.dtype) + (a == b).to(g.dtype) * 0.5
        return g * wa, g * (1 - wa)
    return f


BINARY["maximum"] = _maxmin("max")
BINARY["minimum"] = _maxmin("min")


def _binary_formula(name):
    f = BINARY[name]

    def formula(ctx, g):
        a, b = ctx.inputs
        ga, gb = f(g, a, b, ctx.outputs[0] if ctx._saved_out[0] is not None else None, ctx.args)
        return (_fit(ga, ctx.in_meta[0]) if ctx.needs_input_grad[0] else None,
                _fit(gb, ctx.in_meta[1]) if ctx.needs_input_grad[1] else None)
    return formula


_BINARY_FORMULAS = {n: _binary_formula(n) for n in BINARY}


def record_binary(name, a, b, out, alpha):
    if name not in BINARY or not out.dtype.is_floating_point:
        return
    record(name.capitalize() + "Backward", _BINARY_FORMULAS[name], [a, b], [out], alpha,
           save_inputs=True, save_outputs=name == "pow")


def record_binary_inplace(name, a, a_before, b, alpha):
    """a was updated in place by `name` with b; a_before is a copy of a's old value (or a itself when the
    formula does not need it)."""
    if name not in BINARY or not a.dtype.is_floating_point:
        return
    _inplace(a, name.capitalize() + "Backward", _BINARY_FORMULAS[name], [a_before, b], alpha, save_out=name == "pow")


def record_unary_inplace(name, a, a_before, params):
    if name not in UNARY:
        return
    _inplace(a, name.capitalize() + "Backward", _UNARY_FORMULAS[name], [a_before], tuple(params), save_out=True)


def _inplace(t, node_name, formula, inputs, args, save_out):
    base = t.__dict__.get("_base")
    if base is not None and (base.requires_grad or any(getattr(i, "requires_grad", False) for i in inputs)):
        return _copy_slices(t, base, node_name, formula, inputs, args, save_out)
    node = rebase_inplace(t, node_name, formula, inputs, args, save_inputs=True)
    if save_out:
        from .graph import SavedTensor
        node._saved_out = [SavedTensor(t, node_name, is_output=True)]


# ------------------------------------------------------------------------------------------ in-place on views
class _CopySlices(OpNode):
    """An in-place op on a view of `base`: the base's new history. Backward: the gradient of the view's
    region goes through the op's formula; the rest of the base gradient passes through unchanged."""

    def __init__(self, base, view_fn, op_node):
        super().__init__("CopySlices", self._formula, [base] + op_node_inputs(op_node)[1:], [base], None,
                         save_inputs=False)
        self.view_fn = view_fn
        self.op = op_node

    @staticmethod
    def _formula(ctx, g):
        if grad_mode.is_grad_enabled():
            raise RuntimeError("CopySlices: double backward through an in-place operation on a view is not "
                               "supported; clone() the view before modifying it")
        result = g.clone()
        region = ctx.view_fn(result)
        op_grads = ctx.op.backward(region.clone())
        if op_grads[0] is not None:
            region.copy_(op_grads[0])
        else:
            region.zero_()
        return (result,) + tuple(op_grads[1:])


def op_node_inputs(node):
    return list(node.__dict__.get("_raw_inputs", []))


def _copy_slices(view, base, node_name, formula, inputs, args, save_out):
    op = OpNode(node_name, formula, inputs, [view], args, save_inputs=True, save_outputs=False)
    op.__dict__["_raw_inputs"] = inputs
    if save_out:
        from .graph import SavedTensor
        op._saved_out = [SavedTensor(view, node_name, is_output=True)]
    if base.grad_fn is None and base.requires_grad:
        raise RuntimeError(f"{node_name}: a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    view_fn = view.__dict__["_view_fn"]
    cs = _CopySlices(base, view_fn, op)
    cs.out_meta[0] = _meta(base)
    base.requires_grad = True
    base.grad_fn = cs
    base.__dict__["_output_nr"] = 0
    # the view's history is now "a view of the updated base"
    node = record("AsStridedBackward", _view_formula, [base], [view], view_fn, save_inputs=False)
    return node


# ------------------------------------------------------------------------------------------ views
def _embed(g, shape, view_fn):
    """zeros(shape) with view_fn(zeros) set to g; differentiable (its backward is view_fn again)."""
    z = pyml.zeros(shape, dtype=g.dtype, device=g.device)
    with grad_mode.no_grad():
        view_fn(z).copy_(g)
    if needs_grad(g):
        record("EmbedBackward", lambda ctx, gz: (ctx.args(gz),), [g], [z], view_fn, save_inputs=False)
    return z


def _view_formula(ctx, g):
    shape = ctx.in_meta[0][0]
    return (_embed(g, shape, ctx.args),)


def _expand_formula(ctx, g):
    return (sum_to(g, ctx.in_meta[0][0]),)


def _reshape_copy_formula(ctx, g):
    return (g.reshape(ctx.in_meta[0][0]),)


def record_view(src, out, view_fn, expand=False, copied=False):
    """Every view op calls this: remember the base (for in-place ops on views) and, when needed,
    record a node whose backward embeds the gradient back into the source's shape."""
    if copied:
        if needs_grad(src):
            record("ReshapeBackward", _reshape_copy_formula, [src], [out], None, save_inputs=False)
        return out
    if expand:
        if needs_grad(src):
            record("ExpandBackward", _expand_formula, [src], [out], None, save_inputs=False)
        return out
    base = src.__dict__.get("_base")
    base = src if base is None else base
    if src.__dict__.get("_view_fn") is not None:
        inner = src.__dict__["_view_fn"]
        out.__dict__["_view_fn"] = lambda b, inner=inner, f=view_fn: f(inner(b))
    else:
        out.__dict__["_view_fn"] = view_fn
    out.__dict__["_base"] = base
    if needs_grad(src):
        record("ViewBackward", _view_formula, [src], [out], view_fn, save_inputs=False)
    return out


# ------------------------------------------------------------------------------------------ install
def grad_enabled():
    return grad_mode.is_grad_enabled()


def before_inplace(t, others):
    """Called before an in-place op on t: None when no graph is needed, else a copy of t's old value
    that carries t's old history (the new node's first input)."""
    if not grad_mode.is_grad_enabled():
        return None
    base = t.__dict__.get("_base")
    tracked = t.requires_grad or any(getattr(o, "requires_grad", False) for o in others) or (
        base is not None and base.requires_grad)
    if not tracked:
        return None
    if t.requires_grad and t.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    if base is not None and base.requires_grad and base.grad_fn is None:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")
    from .. import _C
    before = wrap(_C.clone(t._impl))
    if t.requires_grad:
        before._requires_grad = True
        before.grad_fn = t.grad_fn
        before.__dict__["_output_nr"] = t.__dict__.get("_output_nr", 0)
    return before


def _install_elementwise():
    import sys
    from .._ops import elementwise, views
    elementwise._ag = sys.modules[__name__]
    views._record_view = record_view


_install_elementwise()


# ------------------------------------------------------------------------------------------ core ops
def _clamp_f(ctx, g):
    x = ctx.inputs[0]
    A = ctx.args
    lo, hi = A.get("min"), A.get("max")
    keep = pyml.ones_like(x, dtype=pyml.bool)
    if lo is not None:
        keep = keep & (x >= lo)
    if hi is not None:
        keep = keep & (x <= hi)
    gx = _fit(pyml.where(keep, g, pyml.zeros_like(g)), ctx.in_meta[0])
    out = [gx]
    for name, k in (("min", 1), ("max", 2)):
        b = A.get(name)
        if isinstance(b, Tensor) and ctx.in_meta[k] is not None:
            sel = (x < b) if name == "min" else (x > b)
            out.append(_fit(pyml.where(sel, g, pyml.zeros_like(g)), ctx.in_meta[k]))
        else:
            out.append(None)
    return tuple(out)


def _to_f(ctx, g):
    meta = ctx.in_meta[0]
    return (g.to(meta[2], meta[1]),)


def _identity_f(ctx, g):
    return (g,)


def _copy_f(ctx, g):
    return (g * 0, _fit(g, ctx.in_meta[1]) if ctx.in_meta[1] is not None else None)


def _fill_f(ctx, g):
    return (g * 0,)


def _inplace_method(name, formula, raw):
    def method(self, *args, **kwargs):
        others = tuple(a for a in args if isinstance(a, Tensor))
        before = before_inplace(self, others)
        raw(self, *args, **kwargs)
        if before is not None and self.dtype.is_floating_point:
            src = others[0] if others else None
            _inplace(self, name, formula, [before, src], None, save_out=False)
        return self
    method.__name__ = raw.__name__
    method._pyml_ag = True
    return method


def install_core():
    from .._ops import elementwise as E, views as V
    from .wrap import differentiable
    for n in ("clamp", "clip", "clamp_min", "clamp_max"):
        differentiable(E, n, _clamp_f, tensors=("input", "min", "max"), method=False)
    Tensor.to = differentiable_method("to", Tensor.to, _to_f)
    differentiable(V, "clone", _identity_f, save_inputs=False)
    Tensor.contiguous = differentiable_method("contiguous", Tensor.contiguous, _identity_f)
    Tensor.copy_ = _inplace_method("CopyBackward", _copy_f, Tensor.copy_)
    Tensor.fill_ = _inplace_method("FillBackward", _fill_f, Tensor.fill_)
    Tensor.zero_ = _inplace_method("ZeroBackward", _fill_f, Tensor.zero_)


def differentiable_method(name, raw, formula):
    from .wrap import make_wrapper
    import inspect
    first = next(iter(inspect.signature(raw).parameters))
    return make_wrapper(name, raw, formula, (first,), save_inputs=False)
