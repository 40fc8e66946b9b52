"""Wrapping non-elementwise ops for autograd from formula tables.

`differentiable(module, name, formula, tensors=...)` replaces module.name (and pyml.name, and the
Tensor method of the same name) by a wrapper that runs the raw op under no_grad and records one
OpNode. Formulas get ctx.args (the call's bound arguments), ctx.inputs (saved tensors, flattened in
parameter order), ctx.outputs, ctx.in_meta, ctx.needs_input_grad.

Every other public function and method is wrapped by `guard`: if a floating result comes back
without history while an input requires grad, it gets a node that raises at backward time, so a
missing derivative is an error, never a silently wrong gradient.
"""
import functools
import inspect

import pyml
from .._tensor import Tensor
from .grad_mode import _state as _gstate
from .function import record, Node


def _flatten(args_dict, names):
    out = []
    for n in names:
        v = args_dict.get(n)
        if isinstance(v, (list, tuple)):
            out.extend(x for x in v if isinstance(x, Tensor))
        else:
            out.append(v if isinstance(v, Tensor) else None)
    return out


def _any_rg(args, kwargs):
    """True when some argument (or a tensor inside a list/tuple argument) requires grad."""
    for a in args:
        if isinstance(a, Tensor):
            if a._requires_grad:
                return True
        elif isinstance(a, (list, tuple)):
            for x in a:
                if isinstance(x, Tensor) and x._requires_grad:
                    return True
    if kwargs:
        return _any_rg(kwargs.values(), None)
    return False


def _outputs(out):
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [o for o in out if isinstance(o, Tensor)]
    return []


def _all_inputs(outs, inputs):
    """True when every output is one of the inputs (loops: generator expressions cost a frame each)."""
    for o in outs:
        for t in inputs:
            if o is t:
                break
        else:
            return False
    return True


_WRAPPED = set()


def _binder(sig):
    """A fast equivalent of sig.bind(*args, **kwargs).apply_defaults() -> dict for the usual calls;
    returns None (use inspect) for anything unusual, so errors keep Python's messages."""
    P = inspect.Parameter
    pos, pos_only, kwonly, defaults, var_pos, var_kw = [], set(), set(), {}, None, None
    for p in sig.parameters.values():
        if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD):
            pos.append(p.name)
            if p.kind is P.POSITIONAL_ONLY:
                pos_only.add(p.name)
        elif p.kind is P.VAR_POSITIONAL:
            var_pos = p.name
        elif p.kind is P.KEYWORD_ONLY:
            kwonly.add(p.name)
        else:
            var_kw = p.name
        if p.default is not P.empty:
            defaults[p.name] = p.default
    names = (set(pos) - pos_only) | kwonly
    required = [n for n in pos + sorted(kwonly) if n not in defaults]
    n_pos = len(pos)

    def bind(args, kwargs):
        if len(args) > n_pos and var_pos is None:
            return None
        A = dict(zip(pos, args))
        if var_pos is not None:
            A[var_pos] = tuple(args[n_pos:])
        extra = {}
        for k, v in kwargs.items():
            if (k in A and k in names) or (k not in names and var_kw is None):
                return None
            if k in names:
                A[k] = v
            else:
                extra[k] = v
        for k in required:
            if k not in A:
                return None
        for k, v in defaults.items():
            if k not in A:
                A[k] = v
        if var_kw is not None:
            A[var_kw] = extra
        return A
    return bind


def _bind_slow(sig, args, kwargs):
    ba = sig.bind(*args, **kwargs)
    ba.apply_defaults()
    return dict(ba.arguments)


def make_wrapper(name, raw, formula, tensors, save_inputs=True, save_outputs=False, node_name=None):
    sig = inspect.signature(raw)
    bind = _binder(sig)
    node_name = node_name or "".join(p.capitalize() for p in name.strip("_").split("_")) + "Backward"

    @functools.wraps(raw)
    def wrapped(*args, **kwargs):
        if not _gstate.enabled or not _any_rg(args, kwargs):
            return raw(*args, **kwargs)
        A = bind(args, kwargs)
        if A is None:
            A = _bind_slow(sig, args, kwargs)
        if "kwargs" in A and isinstance(A["kwargs"], dict):
            A.update(A.pop("kwargs"))
        inputs = _flatten(A, tensors)
        _gstate.enabled = False  # no_grad's effect without building its context manager (~1 us per op)
        try:
            out = raw(*args, **kwargs)
        finally:
            _gstate.enabled = True
        outs = _outputs(out)
        if outs and not _all_inputs(outs, inputs):  # e.g. contiguous() returning self: no new history
            record(node_name, formula, inputs, outs, A, save_inputs, save_outputs)
        return out
    wrapped._pyml_ag = True
    return wrapped


def differentiable(module, name, formula, tensors=("input",), save_inputs=True, save_outputs=False,
                   method=True, node_name=None):
    raw = getattr(module, name)
    w = make_wrapper(name, raw, formula, tensors, save_inputs, save_outputs, node_name)
    setattr(module, name, w)
    if getattr(pyml, name, None) is raw:
        setattr(pyml, name, w)
    if method and getattr(Tensor, name, None) is not None:
        m = getattr(Tensor, name)
        if m is raw or getattr(m, "__wrapped__", None) is raw or getattr(m, "_pyml_raw", None) is raw:
            setattr(Tensor, name, w)
        else:
            setattr(Tensor, name, make_wrapper(name, m, formula, _method_tensors(m, tensors), save_inputs,
                                               save_outputs, node_name))
    _WRAPPED.add(name)
    return w


def _method_tensors(m, tensors):
    """A method's first parameter is `self`: map the function's first tensor name onto it."""
    try:
        first = next(iter(inspect.signature(m).parameters))
    except (StopIteration, ValueError, TypeError):
        return tensors
    return (first,) + tuple(tensors[1:]) if tensors and tensors[0] in ("input", "self", "tensor") else tensors


# ---------------------------------------------------------------------------------------- guard
class _MissingDerivative(Node):
    def __init__(self, name, inputs):
        super().__init__(name + "Backward", inputs)
        self.op = name

    def backward(self, *grads):
        raise RuntimeError(f"{self.op}: the derivative for '{self.op}' is not implemented in pyml's autograd")


def _tensor_args(args, kwargs):
    return [x for a in list(args) + list(kwargs.values())
            for x in (a if isinstance(a, (list, tuple)) else (a,)) if isinstance(x, Tensor)]


def _missing(node, t):
    t._requires_grad = True
    t.grad_fn = node
    t._output_nr = 0
    t._fn_version = t._impl.version


def _guarded(name, fn):
    """Run fn; if an input requires grad and a floating result came back without history, give it a
    node that raises at backward (a missing derivative is an error, never a silently wrong gradient)."""
    if name.endswith("_"):
        return _guarded_inplace(name, fn)

    @functools.wraps(fn)
    def g(*args, **kwargs):
        out = fn(*args, **kwargs)
        if _gstate.enabled and _any_rg(args, kwargs):
            floats = [o for o in _outputs(out) if o.dtype._diff]
            outs = [o for o in floats if not o._requires_grad]
            # an op without a derivative records nothing; when some outputs got history, the others are
            # results that do not depend on a grad-requiring input (broadcast_tensors(leaf, constant))
            if outs and len(outs) == len(floats):
                node = _MissingDerivative(name, _tensor_args(args, kwargs))
                for o in outs:
                    _missing(node, o)
        return out
    g._pyml_ag = True
    return g


def _guarded_inplace(name, fn):
    """An in-place method (self first): if it recorded nothing while an input requires grad, self (and
    the base it is a view of) get a raising node, else their old history would pass gradients through
    unchanged. A leaf that requires grad cannot be modified in place at all, like in PyTorch."""
    @functools.wraps(fn)
    def g(*args, **kwargs):
        self = args[0] if args else None
        if not (_gstate.enabled and isinstance(self, Tensor) and _any_rg(args, kwargs)):
            return fn(*args, **kwargs)
        base = self.__dict__.get("_base")
        if self._requires_grad and self.grad_fn is None:
            raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an in-place operation.")
        if base is not None and base._requires_grad and base.grad_fn is None:
            raise RuntimeError(f"{name}: a view of a leaf Variable that requires grad is being used in an in-place "
                               "operation.")
        before = self.grad_fn
        out = fn(*args, **kwargs)
        if self.grad_fn is before and self.dtype._diff:  # nothing was recorded
            node = _MissingDerivative(name, _tensor_args(args, kwargs))
            _missing(node, self)
            if base is not None and base.dtype._diff:
                _missing(_MissingDerivative(name, [base]), base)
        return out
    g._pyml_ag = True
    return g


# ops that return values no gradient flows through: treated as constants, like PyTorch
NONDIFF = {"rand_like", "randn_like", "randint_like", "bernoulli", "multinomial", "normal", "poisson",
           "zeros_like", "ones_like", "empty_like", "full_like", "argmax", "argmin", "argsort", "nonzero",
           "argwhere", "count_nonzero", "isnan", "isinf", "isfinite", "sign", "floor", "ceil", "round",
           "trunc", "eq", "ne", "lt", "le", "gt", "ge", "equal", "allclose", "isclose", "numel", "is_tensor",
           "result_type", "can_cast", "promote_types", "is_floating_point", "shares_memory", "detach",
           "tensor", "as_tensor", "from_numpy", "from_dlpack", "bucketize", "searchsorted", "histc",
           "uniform_", "normal_", "bernoulli_", "random_", "exponential_", "unique", "unique_consecutive"}


def _recorded_by_hooks():
    """Elementwise functions and methods that record through pyml/_ops/elementwise.py's _unary/_binary
    hooks with a formula (so a guard would only add a second grad-mode check to every call)."""
    from .._ops import elementwise as E
    from . import formulas as F
    names = [n for n in E.UNARY if n in F.UNARY] + [n for n in E.BINARY if n in F.BINARY]
    fns = set()
    for n in names:
        for obj in (E.__dict__.get(n), Tensor.__dict__.get(n), Tensor.__dict__.get(n + "_")):
            if obj is not None:
                fns.add(_unwrapped(obj))
    return fns


def _unwrapped(fn):
    """The function under export()'s type guards (aliases like pyml.absolute wrap the same one)."""
    while getattr(fn, "__wrapped__", None) is not None:
        fn = fn.__wrapped__
    return fn


_NOT_GUARDED = {"backward", "register_hook", "register_post_accumulate_grad_hook", "retain_grad", "requires_grad_",
                "detach_", "numpy", "tolist", "item", "size", "stride", "dim", "numel", "data_ptr", "is_contiguous",
                "element_size", "copy_", "fill_", "zero_"}


def install_guards():
    hooked = _recorded_by_hooks()
    for name in dir(pyml):
        if name.startswith("_") or name in _WRAPPED or name in NONDIFF:
            continue
        fn = getattr(pyml, name)
        if not callable(fn) or isinstance(fn, type) or getattr(fn, "_pyml_ag", False) or _unwrapped(fn) in hooked:
            continue
        if getattr(fn, "__module__", "") is None or not str(getattr(fn, "__module__", "")).startswith("pyml._"):
            continue
        setattr(pyml, name, _guarded(name, fn))
    for name, fn in list(vars(Tensor).items()):
        if name.startswith("_") or name in _WRAPPED or name in NONDIFF or not callable(fn):
            continue
        if getattr(fn, "_pyml_ag", False) or name in _NOT_GUARDED or _unwrapped(fn) in hooked:
            continue
        setattr(Tensor, name, _guarded(name, fn))
