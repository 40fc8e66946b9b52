"""Derivatives of the matmul family (pyml/_ops/linalg.py). einsum, tensordot, inner and kron are
composites of recorded ops and need no formula of their own."""
import pyml
from .. import _C
from .._tensor import wrap
from .formulas import sum_to, _cast, _fit
from .wrap import differentiable
from . import grad_mode


def _matmul_grads(g, a, b, need_a, need_b):
    if not grad_mode._state.enabled and a.ndim >= 2 and b.ndim >= 2:  # no graph of the backward: engine calls
        gi = g._impl
        ga = wrap(_C.matmul(gi, _C.transpose(b._impl, -2, -1))) if need_a else None
        gb = wrap(_C.matmul(_C.transpose(a._impl, -2, -1), gi)) if need_b else None
        return (ga, gb)
    if a.ndim == 1 and b.ndim == 1:
        return (g * b if need_a else None, g * a if need_b else None)
    if a.ndim == 1:  # (k) @ (..., k, n) -> (..., n)
        ga = (pyml.matmul(g.unsqueeze(-2), b.mT).squeeze(-2) if need_a else None)
        gb = (pyml.matmul(a.unsqueeze(-1), g.unsqueeze(-2)) if need_b else None)
        return (None if ga is None else sum_to(ga, a.shape), None if gb is None else gb)
    if b.ndim == 1:  # (..., m, k) @ (k) -> (..., m)
        ga = pyml.matmul(g.unsqueeze(-1), b.unsqueeze(-2)) if need_a else None
        gb = pyml.matmul(a.mT, g.unsqueeze(-1)).squeeze(-1) if need_b else None
        return (ga, None if gb is None else sum_to(gb, b.shape))
    ga = pyml.matmul(g, b.mT) if need_a else None
    gb = pyml.matmul(a.mT, g) if need_b else None
    return (ga, gb)


def _matmul_f(ctx, g):
    a, b = ctx.inputs
    ga, gb = _matmul_grads(g, a, b, *ctx.needs_input_grad)
    return (_fit(ga, ctx.in_meta[0]), _fit(gb, ctx.in_meta[1]))


def _addmm_f(ctx, g):
    inp, m1, m2 = ctx.inputs
    A = ctx.args
    beta, alpha = A.get("beta", 1), A.get("alpha", 1)
    gi = _fit(g * beta, ctx.in_meta[0]) if ctx.needs_input_grad[0] else None
    ga, gb = _matmul_grads(g, m1, m2, ctx.needs_input_grad[1], ctx.needs_input_grad[2])
    return (gi, None if ga is None else _fit(ga * alpha, ctx.in_meta[1]),
            None if gb is None else _fit(gb * alpha, ctx.in_meta[2]))


def _outer_f(ctx, g):
    a, b = ctx.inputs
    return (_cast(pyml.mv(g, b), ctx.in_meta[0]), _cast(pyml.mv(g.T, a), ctx.in_meta[1]))


def _as_method(name, w):
    """Tensor.<name>: the recorded function with self first (the engine's methods are lambdas taking
    *args, which the wrapper could not bind to parameter names)."""
    def method(self, *args, **kwargs):
        return w(self, *args, **kwargs)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = w.__doc__
    method._pyml_ag = True
    return method


def _as_inplace(name, w):
    """Tensor.addmm_ and friends: self.copy_(op(self, ...)). The op reads a recorded copy of self, so
    the tensor saved for its backward is not the one the copy_ then overwrites."""
    from .._tensor import Tensor

    def method(self, *args, **kwargs):
        tracked = grad_mode.is_grad_enabled() and (self.requires_grad or any(
            isinstance(a, Tensor) and a.requires_grad for a in list(args) + list(kwargs.values())))
        return self.copy_(w(self.clone() if tracked else self, *args, **kwargs))
    method.__name__ = method.__qualname__ = name
    method._pyml_ag = True
    return method


_TABLE = (("matmul", _matmul_f, ("input", "other")), ("mm", _matmul_f, ("input", "mat2")),
          ("bmm", _matmul_f, ("input", "mat2")), ("mv", _matmul_f, ("input", "vec")),
          ("dot", _matmul_f, ("input", "tensor")), ("vdot", _matmul_f, ("input", "other")),
          ("outer", _outer_f, ("input", "vec2")), ("addmm", _addmm_f, ("input", "mat1", "mat2")),
          ("baddbmm", _addmm_f, ("input", "batch1", "batch2")), ("addmv", _addmm_f, ("input", "mat", "vec")))


def install():
    from .._ops import linalg as L
    from .._tensor import Tensor
    for name, formula, tensors in _TABLE:
        w = differentiable(L, name, formula, tensors=tensors, method=False)
        setattr(Tensor, name, _as_method(name, w))
        if name in ("addmm", "baddbmm", "addmv"):
            setattr(Tensor, name + "_", _as_inplace(name + "_", w))
    # ger is outer's alias
    L.ger = L.outer
    pyml.ger = L.outer
    Tensor.ger = _as_method("ger", L.outer)
