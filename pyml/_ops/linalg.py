"""Matrix products: matmul family over the engine's GEMM, and composites built on it.

matmul/mm/bmm/mv/dot/addmm/baddbmm are engine ops (csrc/ops/linalg.cpp: broadcasting, type
promotion, strided operands never copied). outer, inner, tensordot, kron and einsum stay in
Python (DESIGN.md: composite ops): einsum takes diagonals for repeated subscripts, then contracts
its operands pairwise, left to right, as one broadcast batched matmul per pair.
"""
import builtins

from .. import _C
from .._tensor import Tensor, wrap, export
from .views import _resize_out, permute, diagonal, unsqueeze

_NUMBER = (builtins.bool, int, float)


def _impls(op, *xs):
    for x in xs:
        if not isinstance(x, Tensor):
            names = ", ".join(type(v).__name__ for v in xs)
            raise TypeError(f"{op}: expected Tensor operands, got {names}")
    return [x._impl for x in xs]


def _out(r, out):
    if out is None:
        return r
    _resize_out(out, r)
    return out


def _scalar(op, name, v):
    if isinstance(v, Tensor):
        v = v.item()
    if not isinstance(v, _NUMBER):
        raise TypeError(f"{op}: {name} must be a number, got {type(v).__name__}")
    return builtins.float(v)


# ---------------------------------------------------------------------------- engine ops
def matmul(input, other, *, out=None):
    return _out(wrap(_C.matmul(*_impls("matmul", input, other))), out)


def mm(input, mat2, *, out=None):
    return _out(wrap(_C.mm(*_impls("mm", input, mat2))), out)


def bmm(input, mat2, *, out=None):
    return _out(wrap(_C.bmm(*_impls("bmm", input, mat2))), out)


def mv(input, vec, *, out=None):
    return _out(wrap(_C.mv(*_impls("mv", input, vec))), out)


def dot(input, tensor, *, out=None):
    return _out(wrap(_C.dot(*_impls("dot", input, tensor))), out)


def vdot(input, other, *, out=None):
    return _out(wrap(_C.dot(*_impls("vdot", input, other))), out)  # real dtypes: conj is a no-op


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    i, a, b = _impls("addmm", input, mat1, mat2)
    r = _C.addmm(i, a, b, _scalar("addmm", "beta", beta), _scalar("addmm", "alpha", alpha))
    return _out(wrap(r), out)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    i, a, b = _impls("baddbmm", input, batch1, batch2)
    r = _C.baddbmm(i, a, b, _scalar("baddbmm", "beta", beta), _scalar("baddbmm", "alpha", alpha))
    return _out(wrap(r), out)


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    _impls("addmv", input, mat, vec)
    if mat.ndim != 2 or vec.ndim != 1:
        raise ValueError(f"addmv: expected a 2-D mat and a 1-D vec, got {tuple(mat.shape)} and {tuple(vec.shape)}")
    r = addmm(input.unsqueeze(-1) if input.ndim else input, mat, vec.unsqueeze(1), beta=beta, alpha=alpha)
    return _out(r.squeeze(-1), out)  # (M, 1) -> (M,)


# ---------------------------------------------------------------------------- composites
def outer(input, vec2, *, out=None):
    _impls("outer", input, vec2)
    if input.ndim != 1 or vec2.ndim != 1:
        raise ValueError(f"outer: expected two 1-D tensors, got {tuple(input.shape)} and {tuple(vec2.shape)}")
    return _out(input.unsqueeze(1) * vec2.unsqueeze(0), out)  # (M, 1) * (1, N), like torch


ger = outer


def inner(input, other, *, out=None):
    _impls("inner", input, other)
    if input.ndim == 0 or other.ndim == 0:
        return _out(input * other, out)
    if input.shape[-1] != other.shape[-1]:
        raise ValueError(f"inner: last dimensions must match, got {tuple(input.shape)} and {tuple(other.shape)}")
    return _out(tensordot(input, other, dims=([-1], [-1])), out)


def _dims_list(dims, n, op):
    dims = [dims] if isinstance(dims, int) else [int(d) for d in dims]
    for d in dims:
        if not -builtins.max(n, 1) <= d < builtins.max(n, 1):
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {n} dims")
    return [d % builtins.max(n, 1) for d in dims]


def tensordot(a, b, dims=2, out=None):
    _impls("tensordot", a, b)
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0 or dims > builtins.min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: dims must be in [0, {builtins.min(a.ndim, b.ndim)}], got {dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        if len(dims) != 2:
            raise ValueError(f"tensordot: dims must be an int or a pair of dim lists, got {dims!r}")
        da, db = _dims_list(dims[0], a.ndim, "tensordot"), _dims_list(dims[1], b.ndim, "tensordot")
    if len(da) != len(db) or any(a.shape[i] != b.shape[j] for i, j in zip(da, db)):
        raise ValueError(f"tensordot: contracted dimensions must match in size, got {tuple(a.shape)} dims {da} "
                         f"and {tuple(b.shape)} dims {db}")
    fa = [i for i in range(a.ndim) if i not in da]
    fb = [j for j in range(b.ndim) if j not in db]
    m, n, k = _prod(a.shape[i] for i in fa), _prod(b.shape[j] for j in fb), _prod(a.shape[i] for i in da)
    a2 = _reshape(permute(a, *(fa + da)), (m, k))  # (M, K)
    b2 = _reshape(permute(b, *(db + fb)), (k, n))  # (K, N)
    r = _reshape(mm(a2, b2), [a.shape[i] for i in fa] + [b.shape[j] for j in fb])
    return _out(r, out)


def kron(input, other, *, out=None):
    _impls("kron", input, other)
    n = builtins.max(input.ndim, other.ndim)
    sa = (1,) * (n - input.ndim) + tuple(input.shape)
    sb = (1,) * (n - other.ndim) + tuple(other.shape)
    a = _reshape(input, [s for x in sa for s in (x, 1)])  # (a0, 1, a1, 1, ...)
    b = _reshape(other, [s for x in sb for s in (1, x)])  # (1, b0, 1, b1, ...)
    return _out(_reshape(a * b, [x * y for x, y in zip(sa, sb)]), out)


# ---------------------------------------------------------------------------- helpers
def _prod(xs):
    p = 1
    for x in xs:
        p *= x
    return p


def _reshape(x, shape):
    return x.reshape([builtins.int(v) for v in shape])


# ---------------------------------------------------------------------------- einsum
def einsum(equation, *operands):
    """torch.einsum: implicit or explicit ('->') output, repeated subscripts (diagonals), '...'."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum: equation must be a str, got {type(equation).__name__}")
    _impls("einsum", *operands)
    terms, out_term = _einsum_parse(equation, len(operands))
    ops, sizes = _einsum_operands(terms, operands)
    ndots = builtins.max([sum(isinstance(l, int) for l in labels) for _, labels in ops] + [0])
    out = _einsum_output(terms, out_term, ndots)
    while len(ops) > 1:  # contract left to right; labels still needed: the output's and later operands'
        needed = set(out).union(*(labels for _, labels in ops[2:]))
        ops[:2] = [_einsum_pair(ops[0], ops[1], needed, sizes)]
    x, labels = _einsum_sum(*ops[0], set(out))
    return permute(x, *[labels.index(l) for l in out]) if labels != out else x


def _einsum_parse(eq, n):
    lhs, arrow, rhs = eq.replace(" ", "").partition("->")
    terms = lhs.split(",")
    if len(terms) != n:
        raise ValueError(f"einsum: the equation {eq!r} has {len(terms)} operand subscripts, got {n} operands")
    return [_einsum_term(t, eq) for t in terms], (_einsum_term(rhs, eq) if arrow else None)


def _einsum_term(t, eq):
    # letters, with '...' as the marker '*'
    if t.count("...") > 1:
        raise ValueError(f"einsum: more than one ellipsis ('...') in one subscript of {eq!r}")
    t = t.replace("...", "*")
    for c in t:
        if not (c == "*" or ("a" <= c <= "z") or ("A" <= c <= "Z")):
            raise ValueError(f"einsum: subscripts must be in [a-zA-Z] or '...', got {c!r} in {eq!r}")
    return t


def _einsum_operands(terms, operands):
    """Label each operand's dims (ellipsis dims: ints, right-aligned), take diagonals of repeats."""
    ndots = builtins.max([x.ndim - len(t) + 1 for t, x in zip(terms, operands) if "*" in t] + [0])
    ops, sizes = [], {}
    for i, (t, x) in enumerate(zip(terms, operands)):
        nl = len(t) - ("*" in t)
        if x.ndim < nl or ("*" not in t and x.ndim != nl):
            raise ValueError(f"einsum: subscripts {t.replace('*', '...')!r} do not match the {x.ndim} dims of "
                             f"operand {i} with shape {tuple(x.shape)}")
        ne = x.ndim - nl
        labels = []
        for c in t:
            labels += list(range(ndots - ne, ndots)) if c == "*" else [c]
        x, labels = _einsum_diagonals(x, labels, i)
        for l, s in zip(labels, x.shape):
            if sizes.get(l, 1) != 1 and s != 1 and s != sizes[l]:
                name = f"subscript {l}" if isinstance(l, str) else "ellipsis dimension"
                raise ValueError(f"einsum: {name} has size {s} for operand {i} which does not broadcast with "
                                 f"previously seen size {sizes[l]}")
            sizes[l] = s if sizes.get(l, 1) == 1 else sizes[l]
        ops.append((x, labels))
    return ops, sizes


def _einsum_diagonals(x, labels, i):
    for l in list(labels):
        while labels.count(l) > 1:
            d1 = labels.index(l)
            d2 = labels.index(l, d1 + 1)
            if x.shape[d1] != x.shape[d2]:
                raise ValueError(f"einsum: subscript {l} is repeated for operand {i} but the sizes don't match, "
                                 f"{x.shape[d1]} != {x.shape[d2]}")
            x = diagonal(x, 0, d1, d2)  # the diagonal becomes the last dim
            labels = [m for k, m in enumerate(labels) if k not in (d1, d2)] + [l]
    return x, labels


def _einsum_output(terms, out_term, ndots):
    letters = "".join(terms).replace("*", "")
    if out_term is None:
        return list(range(ndots)) + sorted(c for c in set(letters) if letters.count(c) == 1)
    out = []
    for c in out_term:
        if c != "*" and c not in letters:
            raise ValueError(f"einsum: output subscript {c} does not appear in the equation for any input operand")
        if c != "*" and c in out:
            raise ValueError(f"einsum: output subscript {c} appears more than once in the output")
        out += list(range(ndots)) if c == "*" else [c]
    return out


def _einsum_sum(x, labels, keep):
    """Sum out the dims whose labels are not in keep, as a matmul with a ones vector."""
    drop = [l for l in labels if l not in keep]
    if not drop:
        return x, labels
    kept = [l for l in labels if l in keep]
    x = permute(x, *[labels.index(l) for l in kept + drop])
    k = _prod(x.shape[len(kept):])
    x = _reshape(x, list(x.shape[:len(kept)]) + [k])  # (kept..., K)
    from .._creation import ones
    return matmul(x, ones(k, dtype=x.dtype)), kept


def _einsum_pair(a, b, needed, sizes):
    """Contract two labelled operands as one broadcast batched matmul (batch..., M, K) @ (batch..., K, N)."""
    (x, la), (y, lb) = a, b
    x, la = _einsum_sum(x, la, needed | set(lb))
    y, lb = _einsum_sum(y, lb, needed | set(la))
    batch = [l for l in la if l in lb and l in needed]
    con = [l for l in la if l in lb and l not in needed]
    ka, kb = [l for l in la if l not in lb], [l for l in lb if l not in la]
    x = permute(x, *[la.index(l) for l in batch + ka + con])
    y = permute(y, *[lb.index(l) for l in batch + con + kb])
    nb = len(batch)
    x = x.expand(*(list(x.shape[:nb + len(ka)]) + [sizes[l] for l in con]))  # size-1 subscripts broadcast
    y = y.expand(*(list(y.shape[:nb]) + [sizes[l] for l in con] + list(y.shape[nb + len(con):])))
    sm, sn = list(x.shape[nb:nb + len(ka)]), list(y.shape[nb + len(con):])
    x = _reshape(x, list(x.shape[:nb]) + [_prod(sm), _prod(sizes[l] for l in con)])  # (batch..., M, K)
    y = _reshape(y, list(y.shape[:nb]) + [_prod(sizes[l] for l in con), _prod(sn)])  # (batch..., K, N)
    r = matmul(x, y)  # (batch..., M, N), batch broadcast
    r = _reshape(r, list(r.shape[:nb]) + sm + sn)
    return r, batch + ka + kb


# ---------------------------------------------------------------------------- methods, operators
def _method(fn):
    return lambda self, *args, **kw: fn(self, *args, **kw)


for _n in ("matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "addmm", "baddbmm", "addmv",
           "kron"):
    setattr(Tensor, _n, _method(globals()[_n]))


def _inplace(fn):
    # look fn up at call time (autograd wraps addmm after this import); clone self first when its
    # old value is saved for backward, since copy_ overwrites it
    def method(self, *args, **kw):
        return self.copy_(globals()[fn.__name__](self.clone() if self.requires_grad else self, *args, **kw))
    return method


Tensor.addmm_ = _inplace(addmm)
Tensor.baddbmm_ = _inplace(baddbmm)
Tensor.addmv_ = _inplace(addmv)


def _matmul_op(self, other):
    return matmul(self, other) if isinstance(other, Tensor) else NotImplemented


def _rmatmul_op(self, other):
    return matmul(other, self) if isinstance(other, Tensor) else NotImplemented


Tensor.__matmul__ = _matmul_op   # x @= y rebinds x to x @ y, as in torch (no __imatmul__)
Tensor.__rmatmul__ = _rmatmul_op

__all__ = export(globals())
