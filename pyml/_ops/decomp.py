"""Matrix decompositions and their users (det, inv, solve, cholesky, qr, eigh, svd, ...): the engine ops
behind pyml.linalg, with top-level and Tensor-method aliases (pyml.det, Tensor.inverse, ...).

The engine (csrc/ops/linalg_decomp.cpp) factors float32/float64 batches (..., m, n) on the CPU; these
functions check arguments so that errors name the public op, turn LAPACK-style `info` codes into
torch's LinAlgError messages, and route differentiable calls through the autograd Functions of
pyml/autograd/formulas_decomp.py. det and slogdet are read off the LU factors here.
Composites (norms, pinv, lstsq, matrix_exp, ...) live in pyml/linalg.py.
"""
import builtins
from collections import namedtuple

from .. import _C
from .. import _dtype as D
from .._tensor import Tensor, wrap
from .views import _resize_out


class LinAlgError(RuntimeError):
    """A matrix that cannot be factored (singular, not positive-definite), as torch.linalg.LinAlgError."""


# named results, as torch.return_types
LUFactor = namedtuple("linalg_lu_factor", "LU pivots")
LUFactorEx = namedtuple("linalg_lu_factor_ex", "LU pivots info")
PLU = namedtuple("linalg_lu", "P L U")
LUUnpack = namedtuple("lu_unpack", "P L U")
SlogDet = namedtuple("linalg_slogdet", "sign logabsdet")
InvEx = namedtuple("linalg_inv_ex", "inverse info")
SolveEx = namedtuple("linalg_solve_ex", "result info")
CholeskyEx = namedtuple("linalg_cholesky_ex", "L info")
Eigh = namedtuple("linalg_eigh", "eigenvalues eigenvectors")
SVD = namedtuple("linalg_svd", "U S Vh")
SVDTorch = namedtuple("svd", "U S V")
QR = namedtuple("linalg_qr", "Q R")
QRTorch = namedtuple("qr", "Q R")


def _ag():
    """The autograd Functions (imported on first use: pyml.autograd loads after this module)."""
    from ..autograd import formulas_decomp
    return formulas_decomp


# ---------------------------------------------------------------------------- argument checks
def _check(op, A, name="A", square=False):
    if not isinstance(A, Tensor):
        raise TypeError(f"{op}: argument '{name}' must be Tensor, not {type(A).__name__}")
    if A.ndim < 2:
        raise ValueError(f"{op}: {name} must have at least 2 dimensions (..., m, n), got shape {tuple(A.shape)}")
    if A.dtype not in (D.float32, D.float64):
        raise TypeError(f"{op}: {name} must be float32 or float64, got {A.dtype}")
    if square and A.shape[-1] != A.shape[-2]:
        raise ValueError(f"{op}: {name} must be a batch of square matrices (..., n, n), got shape {tuple(A.shape)}")
    return A


def _check_b(op, A, B, left):
    """B (..., n, k) for AX = B, (..., k, n) for XA = B, of A's dtype and device, batch broadcastable."""
    _check(op, B, "B")
    if B.dtype != A.dtype or B.device != A.device:
        raise TypeError(f"{op}: A and B must have the same dtype and device, got {A.dtype} on {A.device} and "
                        f"{B.dtype} on {B.device}")
    if B.shape[-2 if left else -1] != A.shape[-1]:
        eq = "AX = B" if left else "XA = B"
        raise ValueError(f"{op}: incompatible shapes of A and B for the equation {eq}, got {tuple(A.shape)} and "
                         f"{tuple(B.shape)}")
    _batch_shape(op, A, B)


def _batch_shape(op, A, B):
    from .views import broadcast_shapes
    try:
        return tuple(broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2])))
    except (ValueError, RuntimeError):
        raise ValueError(f"{op}: batch dimensions of A and B must be broadcastable, got {tuple(A.shape)} and "
                         f"{tuple(B.shape)}") from None


def _flag(op, name, v):
    if not isinstance(v, (builtins.bool, int)):
        raise TypeError(f"{op}: {name} must be a bool, got {type(v).__name__}")
    return builtins.bool(v)


def _pivot(op, pivot):
    if not _flag(op, "pivot", pivot):
        raise RuntimeError(f"{op}: LU without pivoting is not implemented on the CPU, got pivot=False")


def _out(r, out):
    if out is None:
        return r
    if isinstance(r, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(r):
            raise TypeError(f"out: expected a tuple of {len(r)} tensors, got {type(out).__name__}")
        for o, x in zip(out, r):
            _resize_out(o, x)
        return type(r)(*out)
    _resize_out(out, r)
    return out


# ---------------------------------------------------------------------------- info codes -> errors
def _raise_info(op, info, what):
    """LinAlgError for the first nonzero info code; what(code) says what failed (torch's wording)."""
    codes = info.reshape(-1).tolist() if info.numel() else []
    for b, code in enumerate(codes):
        if code != 0:
            where = f"(Batch element {b}): " if info.ndim > 0 else ""
            raise LinAlgError(f"{op}: {where}{what(code)}")


def _singular_inv(i):
    return (f"The diagonal element {i} is zero, the inversion could not be completed because the input matrix "
            "is singular.")


def _singular_solve(i):
    return "The solver failed because the input matrix is singular."


def _not_pd(i):
    return (f"The factorization could not be completed because the input is not positive-definite (the leading "
            f"minor of order {i} is not positive-definite).")


def _zero_pivot(i):
    return (f"U[{i},{i}] is zero and using it on lu_solve would result in a division by zero. If you still want to "
            "perform the factorization, consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")


# ---------------------------------------------------------------------------- engine calls (no autograd)
def _lu_raw(A):
    return tuple(wrap(t) for t in _C.linalg_lu_factor_ex(A._impl))  # LU, pivots, info


def _lu_solve_raw(LU, piv, B, left=True, adjoint=False):
    return wrap(_C.linalg_lu_solve(LU._impl, piv._impl, B._impl, left, adjoint))


def _eye(n, like):
    from .._creation import eye
    return eye(n, dtype=like.dtype, device=like.device)


def _perm_sign(piv, dtype):
    """(-1)^(number of row swaps) of getrf's pivots (..., k)."""
    from .._creation import arange
    k = piv.shape[-1]
    swaps = (piv != arange(1, k + 1, dtype=D.int32, device=piv.device)).sum(-1)  # (...)
    return (1 - 2 * (swaps % 2)).to(dtype)


def _det_from_lu(LU, piv):
    return LU.diagonal(0, -2, -1).prod(-1) * _perm_sign(piv, LU.dtype)


def _slogdet_from_lu(LU, piv):
    d = LU.diagonal(0, -2, -1)  # (..., n)
    return d.sign().prod(-1) * _perm_sign(piv, LU.dtype), d.abs().log().sum(-1)


def _inv_raw(A):
    LU, piv, info = _lu_raw(A)
    return _lu_solve_raw(LU, piv, _eye(A.shape[-1], A)), info


def _solve_raw(A, B, left):
    LU, piv, info = _lu_raw(A)
    return _lu_solve_raw(LU, piv, B, left), info


def _eigh_raw(A, upper, vectors):
    w, V = _C.linalg_eigh(A._impl, upper, vectors)
    return wrap(w), wrap(V)


def _svd_raw(A, full_matrices, compute_uv):
    return tuple(wrap(t) for t in _C.linalg_svd(A._impl, full_matrices, compute_uv))


def _needs_grad(*xs):
    from ..autograd import grad_mode
    return grad_mode.is_grad_enabled() and any(isinstance(x, Tensor) and x.requires_grad for x in xs)


# ---------------------------------------------------------------------------- LU family
def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    _check("linalg.lu_factor_ex", A)
    _pivot("linalg.lu_factor_ex", pivot)
    LU, piv, info = _ag().LUFactor.apply(A)
    if check_errors:
        _raise_info("linalg.lu_factor_ex", info, _zero_pivot)
    return _out(LUFactorEx(LU, piv, info), out)


def lu_factor(A, *, pivot=True, out=None):
    _check("linalg.lu_factor", A)
    _pivot("linalg.lu_factor", pivot)
    LU, piv, info = _ag().LUFactor.apply(A)
    _raise_info("linalg.lu_factor", info, _zero_pivot)
    return _out(LUFactor(LU, piv), out)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True, *, out=None):
    """A = P L U from lu_factor's (LU, pivots): P (..., m, m), L (..., m, k) unit lower, U (..., k, n)."""
    _check("lu_unpack", LU_data, "LU_data")
    if not isinstance(LU_pivots, Tensor):
        raise TypeError(f"lu_unpack: argument 'LU_pivots' must be Tensor, not {type(LU_pivots).__name__}")
    m, n = LU_data.shape[-2:]
    k = builtins.min(m, n)
    L = U = P = _empty_like0(LU_data)
    if _flag("lu_unpack", "unpack_data", unpack_data):
        from .._creation import eye
        L = LU_data.narrow(-1, 0, k).tril(-1) + eye(m, k, dtype=LU_data.dtype, device=LU_data.device)
        U = LU_data.narrow(-2, 0, k).triu()
    if _flag("lu_unpack", "unpack_pivots", unpack_pivots):
        perm = wrap(_C.linalg_lu_pivots_to_permutation(LU_pivots._impl, m))  # (..., m)
        P = _eye(m, LU_data)[perm].mT  # rows e_perm[i] form P^T
    return _out(LUUnpack(P, L, U), out)


def _empty_like0(t):
    from .._creation import empty
    return empty(0, dtype=t.dtype, device=t.device)


def lu(A, *, pivot=True, out=None):
    _check("linalg.lu", A)
    _pivot("linalg.lu", pivot)
    LU, piv, _ = _ag().LUFactor.apply(A)  # L and U come out of LU through differentiable tril/triu
    return _out(PLU(*lu_unpack(LU, piv)), out)


def linalg_lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    op = "linalg.lu_solve"
    _check(op, LU, "LU", square=True)
    left, adjoint = _flag(op, "left", left), _flag(op, "adjoint", adjoint)
    _check_b(op, LU, B, left)
    if not isinstance(pivots, Tensor) or pivots.dtype != D.int32:
        raise TypeError(f"{op}: pivots must be an int32 Tensor, got {getattr(pivots, 'dtype', type(pivots).__name__)}")
    return _out(_ag().LuSolve.apply(LU, pivots, B, left, adjoint), out)


# ---------------------------------------------------------------------------- det, inv, solve
def det(A, *, out=None):
    _check("linalg.det", A, square=True)
    return _out(_ag().Det.apply(A), out)


def slogdet(A, *, out=None):
    _check("linalg.slogdet", A, square=True)
    return _out(SlogDet(*_ag().Slogdet.apply(A)), out)


def logdet(input):
    """log(det(A)): nan where det < 0, -inf where det == 0."""
    from .index import where
    sign, logabs = slogdet(_check("logdet", input, "input", square=True))
    return where(sign < 0, float("nan"), logabs)


def inv_ex(A, *, check_errors=False, out=None):
    _check("linalg.inv_ex", A, square=True)
    X, info = _ag().Inv.apply(A)
    if _flag("linalg.inv_ex", "check_errors", check_errors):
        _raise_info("linalg.inv_ex", info, _singular_inv)
    return _out(InvEx(X, info), out)


def inv(A, *, out=None):
    _check("linalg.inv", A, square=True)
    X, info = _ag().Inv.apply(A)
    _raise_info("linalg.inv", info, _singular_inv)
    return _out(X, out)


def _solve(op, A, B, left):
    _check(op, A, square=True)
    left = _flag(op, "left", left)
    if not isinstance(B, Tensor):
        raise TypeError(f"{op}: argument 'B' must be Tensor, not {type(B).__name__}")
    # torch's rule: B is a (batch of) vector(s) if it is 1-D or has A's shape less the last dim
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    Bm = B.unsqueeze(-1 if left else -2) if vector else B  # (..., n, k) or (..., k, n)
    _check_b(op, A, Bm, left)
    X, info = _ag().Solve.apply(A, Bm, left)
    return (X.squeeze(-1 if left else -2) if vector else X), info


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    X, info = _solve("linalg.solve_ex", A, B, left)
    if _flag("linalg.solve_ex", "check_errors", check_errors):
        _raise_info("linalg.solve_ex", info, _singular_solve)
    return _out(SolveEx(X, info), out)


def solve(A, B, *, left=True, out=None):
    X, info = _solve("linalg.solve", A, B, left)
    _raise_info("linalg.solve", info, _singular_solve)
    return _out(X, out)


# ---------------------------------------------------------------------------- Cholesky, triangular
def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    _check("linalg.cholesky_ex", A, square=True)
    L, info = _ag().Cholesky.apply(A, _flag("linalg.cholesky_ex", "upper", upper))
    if _flag("linalg.cholesky_ex", "check_errors", check_errors):
        _raise_info("linalg.cholesky_ex", info, _not_pd)
    return _out(CholeskyEx(L, info), out)


def _cholesky(op, A, upper, out):
    _check(op, A, square=True)
    L, info = _ag().Cholesky.apply(A, _flag(op, "upper", upper))
    _raise_info(op, info, _not_pd)
    return _out(L, out)


def cholesky(input, upper=False, *, out=None):
    """torch.cholesky / Tensor.cholesky (torch.linalg.cholesky takes upper as keyword only)."""
    return _cholesky("cholesky", input, upper, out)


def linalg_cholesky(A, *, upper=False, out=None):
    return _cholesky("linalg.cholesky", A, upper, out)


def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    op = "linalg.solve_triangular"
    _check(op, A, square=True)
    upper, left, unit = _flag(op, "upper", upper), _flag(op, "left", left), _flag(op, "unitriangular", unitriangular)
    _check_b(op, A, B, left)
    return _out(_ag().SolveTriangular.apply(A, B, upper, left, unit), out)


def cholesky_solve(B, L, upper=False, *, out=None):
    """X with A X = B for A = L L^T (or U^T U when upper), from the Cholesky factor."""
    _check("cholesky_solve", L, "L", square=True)
    lower = L.mT if _flag("cholesky_solve", "upper", upper) else L
    _check_b("cholesky_solve", L, B, True)
    Y = solve_triangular(lower, B, upper=False)
    return _out(solve_triangular(lower.mT, Y, upper=True), out)


def cholesky_inverse(L, upper=False, *, out=None):
    _check("cholesky_inverse", L, "L", square=True)
    return _out(cholesky_solve(_eye(L.shape[-1], L), L, upper), out)


# ---------------------------------------------------------------------------- eigh, svd, qr
def _uplo(op, UPLO):
    if UPLO not in ("L", "U"):
        raise ValueError(f"{op}: UPLO must be 'L' or 'U', got {UPLO!r}")
    return UPLO == "U"


def eigh(A, UPLO="L", *, out=None):
    _check("linalg.eigh", A, square=True)
    return _out(Eigh(*_ag().Eigh.apply(A, _uplo("linalg.eigh", UPLO))), out)


def eigvalsh(A, UPLO="L", *, out=None):
    _check("linalg.eigvalsh", A, square=True)
    upper = _uplo("linalg.eigvalsh", UPLO)
    w = _ag().Eigh.apply(A, upper)[0] if _needs_grad(A) else _eigh_raw(A, upper, False)[0]
    return _out(w, out)


def _driver(op, driver):
    if driver is not None:
        raise ValueError(f"{op}: driver= is only supported for CUDA inputs with cuSOLVER in torch, got {driver!r}")


def linalg_svd(A, full_matrices=True, *, driver=None, out=None):
    _check("linalg.svd", A)
    _driver("linalg.svd", driver)
    full = _flag("linalg.svd", "full_matrices", full_matrices)
    return _out(SVD(*_ag().SVD.apply(A, full)), out)


def svdvals(A, *, driver=None, out=None):
    _check("linalg.svdvals", A)
    _driver("linalg.svdvals", driver)
    S = _ag().SVD.apply(A, False)[1] if _needs_grad(A) else _svd_raw(A, False, False)[1]
    return _out(S, out)


def svd(input, some=True, compute_uv=True, *, out=None):
    """torch.svd: (U, S, V) with V, not Vh; zero-filled U (m, m) and V (n, n) when not compute_uv."""
    _check("svd", input, "input")
    if _flag("svd", "compute_uv", compute_uv):
        U, S, Vh = linalg_svd(input, full_matrices=not _flag("svd", "some", some))
        return _out(SVDTorch(U, S, Vh.mT), out)
    from .._creation import zeros
    m, n = input.shape[-2:]
    batch = tuple(input.shape[:-2])
    kw = dict(dtype=input.dtype, device=input.device)
    return _out(SVDTorch(zeros(batch + (m, m), **kw), svdvals(input), zeros(batch + (n, n), **kw)), out)


def linalg_qr(A, mode="reduced", *, out=None):
    _check("linalg.qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    return _out(QR(*_ag().QR.apply(A, mode)), out)


def qr(input, some=True, *, out=None):
    """torch.qr: reduced (some=True) or complete Q and R."""
    _check("qr", input, "input")
    Q, R = linalg_qr(input, "reduced" if _flag("qr", "some", some) else "complete")
    return _out(QRTorch(Q, R), out)


# ---------------------------------------------------------------------------- top-level aliases
def inverse(input, *, out=None):
    _check("inverse", input, "input", square=True)
    X, info = _ag().Inv.apply(input)
    _raise_info("inverse", info, _singular_inv)
    return _out(X, out)


def pinverse(input, rcond=1e-15):
    from .. import linalg
    return linalg.pinv(input, rtol=rcond)


def matrix_power(input, n):
    from .. import linalg
    return linalg.matrix_power(input, n)


def matrix_exp(input):
    from .. import linalg
    return linalg.matrix_exp(input)


def lu_solve(b, LU_data, LU_pivots, *, out=None):
    """torch.lu_solve(b, LU_data, LU_pivots): A X = b from lu_factor's output (not differentiable)."""
    return linalg_lu_solve(LU_data, LU_pivots, b, out=out)


def _method(fn, name):
    def m(self, *args, **kwargs):
        return fn(self, *args, **kwargs)
    m.__name__ = m.__qualname__ = name
    m.__doc__ = fn.__doc__
    if getattr(fn, "_pyml_ag", False):
        m._pyml_ag = True  # differentiable through the Functions: no missing-derivative guard
    return m


for _f in (lu_factor, lu_factor_ex, lu, lu_unpack, linalg_lu_solve, lu_solve, det, slogdet, logdet, inverse, pinverse, cholesky, cholesky_solve, cholesky_inverse, qr, svd,
           matrix_power, matrix_exp, cholesky_ex, inv_ex, solve, solve_ex, solve_triangular, eigh, eigvalsh,
           linalg_svd, svdvals, linalg_qr, linalg_cholesky, inv):
    _f._pyml_ag = True
for _n, _f in (("det", det), ("slogdet", slogdet), ("logdet", logdet), ("inverse", inverse),
               ("pinverse", pinverse), ("cholesky", cholesky), ("cholesky_solve", cholesky_solve),
               ("cholesky_inverse", cholesky_inverse), ("qr", qr), ("svd", svd), ("matrix_power", matrix_power),
               ("matrix_exp", matrix_exp), ("lu_solve", lu_solve)):
    setattr(Tensor, _n, _method(_f, _n))

__all__ = ["det", "slogdet", "logdet", "inverse", "pinverse", "cholesky", "cholesky_solve", "cholesky_inverse",
           "qr", "svd", "matrix_power", "matrix_exp", "lu_unpack", "lu_solve"]
