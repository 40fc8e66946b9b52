"""Complex tensors (complex64, complex128): views, parts, and arithmetic built from real ops.

A complex tensor of shape S is, through `view_as_real`, a real tensor of shape S + (2,) over the same
memory (ops/complex.h). The engine's kernels are real-only, so every complex op here is written with
real ops on the two parts, and autograd records those: gradients follow torch's convention
(grad = dL/d(re) + i dL/d(im)) with no new backward formulas. Ops reach this module when the engine
refuses a complex operand (elementwise.py routes its TypeError here), or through `install()`, which
puts a complex fallback in front of the reductions, matmul and joins.
"""
import builtins
import functools
import math

import pyml
from .. import _C
from .. import _dtype as D
from .._tensor import Tensor, export, need_tensor

_view = None  # views._view, bound in install() (autograd's view recording)


# ---------------------------------------------------------------------------- views between real and complex
def view_as_real(input):
    """(..., 2) real view of a complex tensor: real parts at [..., 0], imaginary parts at [..., 1]."""
    need_tensor(input, "view_as_real")
    if not input.dtype.is_complex:
        raise TypeError(f"view_as_real: is only supported for complex tensors, got {input.dtype}")
    return _view(input, _C.view_as_real(input._impl), view_as_real,
                 inverse=lambda g: view_as_complex(g.contiguous()))


def view_as_complex(input):
    """Complex view of a real (..., 2) tensor whose last dim has stride 1 (even strides elsewhere)."""
    need_tensor(input, "view_as_complex")
    return _view(input, _C.view_as_complex(input._impl), view_as_complex, inverse=view_as_real)


def _parts(z):
    r = view_as_real(z)
    return r[..., 0], r[..., 1]


def _join(re, im):
    """A new complex tensor from real parts (im None: zero); the two broadcast."""
    if im is None:
        im = pyml.zeros_like(re)
    if re.dtype is not im.dtype:
        dt = pyml.promote_types(re.dtype, im.dtype)
        re, im = re.to(dt), im.to(dt)
    return view_as_complex(pyml.stack(pyml.broadcast_tensors(re, im), -1))


def _float_pair(a, b, op, na, nb):
    need_tensor(a, op, na)
    need_tensor(b, op, nb)
    if a.dtype is not b.dtype or a.dtype not in (D.float32, D.float64):
        raise TypeError(f"{op}: expected {na} and {nb} to be float32 or float64 tensors of the same dtype, "
                        f"got {a.dtype} and {b.dtype}")


def complex(real, imag, *, out=None):
    """real + i * imag from two float tensors of one dtype (float32 -> complex64, float64 -> complex128)."""
    _float_pair(real, imag, "complex", "real", "imag")
    return _store(_join(real, imag), out)


def polar(abs, angle, *, out=None):
    """abs * (cos(angle) + i sin(angle)), for float tensors of one dtype."""
    _float_pair(abs, angle, "polar", "abs", "angle")
    return _store(_join(abs * pyml.cos(angle), abs * pyml.sin(angle)), out)


def _store(r, out):
    if out is None:
        return r
    from .elementwise import _store_out
    return _store_out(r, out)


# ---------------------------------------------------------------------------- parts, conjugate, angle
def real(input):
    """The real part: a view for complex tensors, the tensor itself for real ones (as torch)."""
    need_tensor(input, "real")
    return _parts(input)[0] if input.dtype.is_complex else input


def imag(input):
    """The imaginary part, a view; real tensors have none (torch raises too)."""
    need_tensor(input, "imag")
    if not input.dtype.is_complex:
        raise RuntimeError(f"imag is not implemented for tensors with non-complex dtypes, got {input.dtype}")
    return _parts(input)[1]


def _set_part(which):
    def setter(self, value):
        part = real(self) if which == 0 else imag(self)
        part.copy_(value if isinstance(value, Tensor) else pyml.tensor(value, dtype=part.dtype))
    return setter


def conj_physical(input, *, out=None):
    """re - i im as a new tensor (pyml has no lazy conjugate bit: conj() is this too)."""
    need_tensor(input, "conj_physical")
    if not input.dtype.is_complex:
        return input if out is None else _store(input.clone(), out)
    re, im = _parts(input)
    return _store(_join(re, -im), out)


def conj(input):
    return conj_physical(input)


def resolve_conj(input):
    return input


def angle(input, *, out=None):
    """atan2(im, re) for complex input; real input: pi where negative, else 0 (NaN stays NaN)."""
    need_tensor(input, "angle")
    if not input.dtype.is_complex:
        return _real_angle(input, out=out)
    re, im = _parts(input)
    return _store(pyml.atan2(im, re), out)


def _abs(z):
    # |z| with torch's subgradient 0 at z = 0 (sqrt(re^2 + im^2) alone would give nan there)
    re, im = _parts(z)
    sq = re * re + im * im
    safe = pyml.where(sq == 0, pyml.ones_like(sq), sq)
    return pyml.where(sq == 0, pyml.zeros_like(sq), pyml.sqrt(safe))


def is_complex(input):
    need_tensor(input, "is_complex")
    return input.dtype.is_complex


# ---------------------------------------------------------------------------- elementwise arithmetic
def _pair(v, dt):
    """(re, im) of an operand in real dtype dt: tensors as real tensors, numbers as floats; im None = 0."""
    if isinstance(v, Tensor):
        if v.dtype.is_complex:
            return _parts(v.to(dt.to_complex()) if v.dtype.to_real() is not dt else v)
        return v.to(dt), None
    if isinstance(v, builtins.complex):
        return v.real, (v.imag if v.imag != 0 else None)
    return builtins.float(v), None


def _result_dtype(a, b):
    """torch's promotion with Python complex numbers taking the default complex dtype."""
    from .promotion import _operand

    def op(v):
        if isinstance(v, builtins.complex):
            return (pyml.get_default_dtype().to_complex()._code, 2)
        return _operand(v)
    return D.BY_CODE[_C.result_type([op(a), op(b)])]


def _mul(a, b):
    """Products where either factor may be a float or None (zero)."""
    if a is None or b is None:
        return None
    return a * b


def _add(a, b, sign=1):
    if b is None:
        return a
    if a is None:
        return b if sign > 0 else -b
    return a + b if sign > 0 else a - b


def _cmul(ar, ai, br, bi):
    return _add(_mul(ar, br), _mul(ai, bi), -1), _add(_mul(ar, bi), _mul(ai, br))


def _cdiv(ar, ai, br, bi):
    if bi is None:
        return ar / br, (None if ai is None else ai / br)
    d = br * br + bi * bi
    re = _add(_mul(ar, br), _mul(ai, bi))
    im = _add(_mul(ai, br), _mul(ar, bi), -1)
    return re / d, im / d


def _tensorize(re, im, like):
    """Parts that came out as plain numbers (both operands numbers) become tensors like `like`."""
    if not isinstance(re, Tensor):
        re = pyml.full_like(like, re)
    if im is not None and not isinstance(im, Tensor):
        im = pyml.full_like(like, im)
    return re, im


def binary(name, a, b, alpha=1):
    """Complex forms of the engine's binary ops (called when a complex operand made the engine refuse)."""
    dt = _result_dtype(a, b)
    if not dt.is_complex:
        raise TypeError(f"{name}: complex operands expected")
    rdt = dt.to_real()
    ar, ai = _pair(a, rdt)
    br, bi = _pair(b, rdt)
    if name in ("add", "sub") and alpha != 1:
        br, bi = _cmul(br, bi, *_pair(alpha if isinstance(alpha, builtins.complex) else builtins.float(alpha), rdt))
    if name in ("add", "sub"):
        sign = 1 if name == "add" else -1
        re, im = _add(ar, br, sign), _add(ai, bi, sign)
    elif name == "mul":
        re, im = _cmul(ar, ai, br, bi)
    elif name == "div":
        re, im = _cdiv(ar, ai, br, bi)
    elif name == "pow":
        return _pow(a, b, dt)
    elif name in ("eq", "ne"):
        same = _parts_equal(ar, ai, br, bi)
        return same if name == "eq" else pyml.logical_not(same)
    else:
        raise TypeError(f"{name}: not supported for complex dtypes ({dt.name}); complex numbers have no order "
                        "and no integer division")
    tensor_operand = a if isinstance(a, Tensor) else b
    re, im = _tensorize(re, im, tensor_operand.real if tensor_operand.dtype.is_complex else tensor_operand.to(rdt))
    return _join(re, im)


def _parts_equal(ar, ai, br, bi):
    zero = 0.0
    re = ar == br
    im = (ai if ai is not None else zero) == (bi if bi is not None else zero)
    if not isinstance(im, Tensor):
        im = pyml.full_like(re, builtins.bool(im))
    return pyml.logical_and(re, im)


def _pow(a, b, dt):
    """a ** b = exp(b log a); an integer power of a complex tensor by repeated products (exact at 0)."""
    if isinstance(a, Tensor) and isinstance(b, int) and not isinstance(b, builtins.bool) and 0 <= b <= 64:
        z = a.to(dt)
        out = pyml.ones_like(z)
        base, e = z, b
        while e:
            if e & 1:
                out = out * base
            base, e = base * base, e >> 1
        return out
    la = unary("log", a.to(dt) if isinstance(a, Tensor) else pyml.tensor(a, dtype=dt))
    return unary("exp", binary("mul", b, la))


def _exp(re, im):
    m = pyml.exp(re)
    return m * pyml.cos(im), m * pyml.sin(im)


def _sqrt(z):
    re, im = _parts(z)
    r = _abs(z)
    sre = pyml.sqrt(pyml.clamp((r + re) * 0.5, min=0))
    sim = pyml.sqrt(pyml.clamp((r - re) * 0.5, min=0))
    return sre, pyml.where(pyml.signbit(im), -sim, sim)


def _trig(name, re, im):
    if name == "sin":
        return pyml.sin(re) * pyml.cosh(im), pyml.cos(re) * pyml.sinh(im)
    if name == "cos":
        return pyml.cos(re) * pyml.cosh(im), -(pyml.sin(re) * pyml.sinh(im))
    if name == "sinh":
        return pyml.sinh(re) * pyml.cos(im), pyml.cosh(re) * pyml.sin(im)
    return pyml.cosh(re) * pyml.cos(im), pyml.sinh(re) * pyml.sin(im)  # cosh


def unary(name, z):
    """Complex forms of the engine's unary ops."""
    re, im = _parts(z)
    if name == "neg":
        return _join(-re, -im)
    if name == "abs":
        return _abs(z)
    if name == "exp":
        return _join(*_exp(re, im))
    if name in ("log", "log2", "log10"):
        out_re, out_im = pyml.log(_abs(z)), pyml.atan2(im, re)
        if name != "log":
            c = 1.0 / math.log(2.0 if name == "log2" else 10.0)
            out_re, out_im = out_re * c, out_im * c
        return _join(out_re, out_im)
    if name == "sqrt":
        return _join(*_sqrt(z))
    if name in ("sin", "cos", "sinh", "cosh"):
        return _join(*_trig(name, re, im))
    if name in ("tan", "tanh"):
        s, c = ("sin", "cos") if name == "tan" else ("sinh", "cosh")
        return _join(*_cdiv(*_trig(s, re, im), *_trig(c, re, im)))
    if name == "reciprocal":
        return _join(*_cdiv(pyml.ones_like(re), None, re, im))
    if name == "rsqrt":
        return _join(*_cdiv(pyml.ones_like(re), None, *_sqrt(z)))
    if name == "square":
        return _join(*_cmul(re, im, re, im))
    if name == "sigmoid":
        er, ei = _exp(-re, -im)
        return _join(*_cdiv(pyml.ones_like(re), None, er + 1.0, ei))
    if name == "expm1":
        er, ei = _exp(re, im)
        return _join(er - 1.0, ei)
    if name == "log1p":
        return unary("log", _join(re + 1.0, im))
    if name in ("isnan", "isinf"):
        f = getattr(pyml, name)
        return pyml.logical_or(f(re), f(im))
    if name == "isfinite":
        return pyml.logical_and(pyml.isfinite(re), pyml.isfinite(im))
    raise TypeError(f"{name}: not supported for complex dtypes ({z.dtype.name})")


def sgn(input, *, out=None):
    """z / |z| for complex input (0 at 0); sign for real input."""
    need_tensor(input, "sgn")
    if not input.dtype.is_complex:
        return _real_sgn(input, out=out)
    re, im = _parts(input)
    r = _abs(input)
    safe = pyml.where(r == 0, pyml.ones_like(r), r)
    return _store(_join(re / safe, im / safe), out)


# ---------------------------------------------------------------------------- reductions, products, joins
def _cdims(z, dim, op):
    """dims of a complex tensor as dims of its real view (never the pair dim)."""
    if dim is None:
        return tuple(range(z.ndim))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    from .._tensor import _wrap_dim
    return tuple(_wrap_dim(d, z.ndim, op) for d in dims)


def _sum_like(name):
    def fn(input, dim=None, keepdim=False, *, dtype=None, out=None, axis=None, keepdims=None):
        dim = axis if axis is not None else dim
        keepdim = keepdim if keepdims is None else keepdims
        z = input if dtype is None else input.to(dtype)
        r = getattr(pyml, name)(view_as_real(z), dim=_cdims(z, dim, name), keepdim=keepdim)
        return _store(view_as_complex(r.contiguous()), out)
    return fn


def matmul(input, other, *, out=None):
    """(a + ib)(c + id) = (ac - bd) + i(ad + bc) with the engine's real matmul."""
    dt = _result_dtype(input, other).to_real()
    ar, ai = _pair(input, dt)
    br, bi = _pair(other, dt)
    mm = pyml.matmul
    re = _add(mm(ar, br), None if ai is None or bi is None else mm(ai, bi), -1)
    im = _add(None if bi is None else mm(ar, bi), None if ai is None else mm(ai, br))
    return _store(_join(re, im), out)


def _joined(name):
    def fn(tensors, dim=0, *, out=None):
        tensors = list(tensors)
        dt = functools.reduce(pyml.promote_types, [t.dtype for t in tensors])
        if not dt.is_complex:
            raise TypeError(f"{name}: complex operands expected")
        ndim = tensors[0].ndim + (1 if name == "stack" else 0)
        from .._tensor import _wrap_dim
        d = _wrap_dim(dim, builtins.max(ndim, 1), name)
        parts = [view_as_real(t.to(dt)) for t in tensors]
        return _store(view_as_complex(getattr(pyml, name)(parts, d).contiguous()), out)
    return fn


def cumsum(input, dim, *, dtype=None, out=None):
    z = input if dtype is None else input.to(dtype)
    return _store(view_as_complex(pyml.cumsum(view_as_real(z), _cdims(z, dim, "cumsum")[0]).contiguous()), out)


def _norm_of_abs(fn):
    """norms of a complex tensor are the norms of |z| (torch's definition)."""
    def f(input, *args, **kwargs):
        return fn(_abs(input), *args, **kwargs)
    return f


def flip(input, dims):
    d = _cdims(input, dims, "flip")
    return view_as_complex(pyml.flip(view_as_real(input), d).contiguous())


def roll(input, shifts, dims=None):
    if dims is None:  # torch: roll the flattened tensor, then restore the shape
        flat = view_as_real(input.reshape(-1))
        return view_as_complex(pyml.roll(flat, shifts, 0).contiguous()).reshape(input.shape)
    return view_as_complex(pyml.roll(view_as_real(input), shifts, _cdims(input, dims, "roll")).contiguous())


def _random(orig, scale):
    """rand/randn with a complex dtype: independent real and imaginary parts (randn: variance 1/2 each)."""
    @functools.wraps(orig)
    def f(*size, dtype=None, out=None, requires_grad=False, **kwargs):
        dt = None if dtype is None else D.to_dtype(dtype, orig.__name__)
        if dt is None or not dt.is_complex:
            return orig(*size, dtype=dtype, out=out, requires_grad=requires_grad, **kwargs)
        from .._tensor import to_np_shape
        shape = list(to_np_shape(size, orig.__name__)) + [2]
        parts = orig(*shape, dtype=dt.to_real(), **kwargs)
        r = view_as_complex(parts * scale if scale != 1.0 else parts).detach()
        r.requires_grad_(requires_grad)
        return _store(r, out)
    return f


def vdot(input, other, *, out=None):
    """sum(conj(input) * other) of two 1-D tensors."""
    return _store((conj(input) * other).sum(), out)


# ---------------------------------------------------------------------------- install
def _has_complex(args, kwargs):
    dt = kwargs.get("dtype")
    if dt is not None and isinstance(dt, D.dtype) and dt.is_complex:
        return True
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, Tensor) and a.dtype.is_complex:
            return True
        if isinstance(a, builtins.complex):
            return True
        if isinstance(a, (list, tuple)) and any(isinstance(t, Tensor) and t.dtype.is_complex for t in a):
            return True
    return False


def _fallback(orig, cx):
    """orig, and cx where the engine refused a complex operand with a TypeError."""
    @functools.wraps(orig)
    def f(*args, **kwargs):
        try:
            return orig(*args, **kwargs)
        except TypeError:
            if not _has_complex(args, kwargs):
                raise
        return cx(*args, **kwargs)
    return f


def _by_parts(fn):
    """A real-linear op on a complex first argument: fn of each part, joined (fold, unfold)."""
    def f(input, *args, **kwargs):
        re, im = _parts(input)
        return _join(fn(re, *args, **kwargs), fn(im, *args, **kwargs))
    return f


_real_angle = _real_sgn = None


def install():
    """Bind the complex forms into pyml and Tensor (after autograd has wrapped the real ops)."""
    global _view, _real_angle, _real_sgn
    import pyml.nn.functional as F
    from .views import _view as v
    _view = v
    _real_angle, _real_sgn = pyml.angle, pyml.sgn
    table = {"sum": _sum_like("sum"), "mean": _sum_like("mean"), "matmul": matmul, "mm": matmul, "bmm": matmul,
             "cat": _joined("cat"), "concat": _joined("cat"), "concatenate": _joined("cat"),
             "stack": _joined("stack"), "flip": flip, "roll": roll, "cumsum": cumsum,
             "norm": _norm_of_abs(pyml.norm)}
    for name, cx in table.items():
        if hasattr(pyml, name):
            setattr(pyml, name, _fallback(getattr(pyml, name), cx))
        if name in ("sum", "mean", "matmul", "mm", "bmm", "flip", "roll", "cumsum") and hasattr(Tensor, name):
            setattr(Tensor, name, _fallback(getattr(Tensor, name), cx))
    Tensor.__matmul__ = _fallback(Tensor.__matmul__, matmul)
    Tensor.norm = _fallback(Tensor.norm, _norm_of_abs(Tensor.norm))
    pyml.linalg.vector_norm = _fallback(pyml.linalg.vector_norm, _norm_of_abs(pyml.linalg.vector_norm))
    for name in ("fold", "unfold"):
        setattr(F, name, _fallback(getattr(F, name), _by_parts(getattr(F, name))))
    pyml.rand = _random(pyml.rand, 1.0)
    pyml.randn = _random(pyml.randn, math.sqrt(0.5))
    for name in ("view_as_real", "view_as_complex", "complex", "polar", "real", "imag", "conj", "conj_physical",
                 "resolve_conj", "angle", "sgn", "is_complex", "vdot"):
        setattr(pyml, name, globals()[name])
    for name in ("conj", "conj_physical", "resolve_conj", "angle", "sgn", "is_complex"):
        setattr(Tensor, name, globals()[name])
    Tensor.conj_physical_ = lambda self: self.copy_(conj_physical(self))
    Tensor.real = property(real, _set_part(0), doc="The real part (a view for complex tensors).")
    Tensor.imag = property(imag, _set_part(1), doc="The imaginary part (a view).")
    Tensor.vdot = vdot


__all__ = export(globals())
