"""Derivatives of the matmul family (pyml/_ops/linalg.py). einsum, tensordot, inner and kron are
composites of recorded ops and need no formula of their own."""
import pyml
from .formulas import sum_to, _cast, _fit
from .wrap import differentiable


def _matmul_grads(g, a, b, need_a, need_b):
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


def install():
    from .._ops import linalg as L
    D = differentiable
    D(L, "matmul", _matmul_f, tensors=("input", "other"))
    D(L, "mm", _matmul_f, tensors=("input", "mat2"))
    D(L, "bmm", _matmul_f, tensors=("input", "mat2"))
    D(L, "mv", _matmul_f, tensors=("input", "vec"))
    D(L, "dot", _matmul_f, tensors=("input", "tensor"))
    D(L, "vdot", _matmul_f, tensors=("input", "other"))
    D(L, "outer", _outer_f, tensors=("input", "vec2"))
    D(L, "addmm", _addmm_f, tensors=("input", "mat1", "mat2"))
    D(L, "baddbmm", _addmm_f, tensors=("input", "batch1", "batch2"))
    D(L, "addmv", _addmm_f, tensors=("input", "mat", "vec"))
