"""The transforms of pyml.distributions.transforms that mix coordinates: onto the simplex (softmax,
stick-breaking), onto lower-triangular and positive-definite matrices, onto Cholesky factors of correlation
matrices, and the functors that apply one transform per slice (CatTransform) or per index (StackTransform).

Layouts: a simplex point is (..., K); stick-breaking maps (..., K-1) -> (..., K). Matrices are (..., D, D);
CorrCholeskyTransform maps the D(D-1)/2 strictly-lower entries, in row-major order, (..., N) -> (..., D, D).
Triangular entries move between vectors and matrices by index_select with a precomputed index map, so
gradients flow through plain indexing.
"""
import math

from .. import arange, cat, eye, finfo, index_select, stack
from .._tensor import Size
from ..nn import functional as F
from . import constraints
from .transforms_base import Transform
from .transforms_elementwise import clipped_sigmoid
from .utils import lazy_property, sum_rightmost

__all__ = ["CatTransform", "CorrCholeskyTransform", "LowerCholeskyTransform", "PositiveDefiniteTransform",
           "SoftmaxTransform", "StackTransform", "StickBreakingTransform", "tril_matrix_to_vec",
           "vec_to_tril_matrix"]


def _tril_mask(n, diag, device):
    """(n, n) bool: True on and below the diag-th diagonal."""
    idx = arange(n, device=device)
    return idx < idx.view(-1, 1) + (diag + 1)


def tril_matrix_to_vec(mat, diag=0):
    """The entries of mat (..., n, n) on and below its diag-th diagonal, row by row: (..., N)."""
    n = mat.shape[-1]
    if not -n <= diag < n:
        raise ValueError(f"tril_matrix_to_vec: diag must be in [{-n}, {n - 1}], got {diag}")
    flat_idx = _tril_mask(n, diag, mat.device).reshape(-1).nonzero().reshape(-1)
    return index_select(mat.reshape(tuple(mat.shape[:-2]) + (n * n,)), -1, flat_idx)


def vec_to_tril_matrix(vec, diag=0):
    """The inverse of tril_matrix_to_vec: (..., N) -> (..., n, n), zeros above the diag-th diagonal.
    n solves n^2 + (1 + 2 diag) n - |diag| (diag + 1) - 2N = 0."""
    b = 1 + 2 * diag
    n_real = (-b + (b * b + 8 * vec.shape[-1] + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    n = round(n_real)
    if abs(n - n_real) > 1e-9:
        raise ValueError(f"vec_to_tril_matrix: the last dim ({vec.shape[-1]}) is not the size of a lower "
                         f"triangle with diag {diag}")
    mask = _tril_mask(n, diag, vec.device).reshape(-1)
    # position p of the flat matrix reads padded[source[p]]: 0 is the zero pad, k + 1 the k-th vec entry
    source = mask.long().cumsum(0) * mask.long()
    padded = cat([vec.new_zeros(tuple(vec.shape[:-1]) + (1,)), vec], -1)
    return index_select(padded, -1, source).reshape(tuple(vec.shape[:-1]) + (n, n))


class SoftmaxTransform(Transform):
    """y = exp(x) / sum exp(x) over the last dim, onto the simplex. Not bijective (x + c maps to the same y):
    the inverse is log(y)."""
    domain = constraints.real_vector
    codomain = constraints.simplex

    def __eq__(self, other):
        return isinstance(other, SoftmaxTransform)

    def _call(self, x):
        probs = (x - x.max(-1, True)[0]).exp()
        return probs / probs.sum(-1, True)

    def _inverse(self, y):
        return y.log()

    def forward_shape(self, shape):
        _check_rank("SoftmaxTransform.forward_shape", shape, 1)
        return shape

    def inverse_shape(self, shape):
        _check_rank("SoftmaxTransform.inverse_shape", shape, 1)
        return shape


def _check_rank(op, shape, n):
    if len(shape) < n:
        raise ValueError(f"{op}: the shape needs at least {n} dimensions, got {tuple(shape)}")


def _stick_offset(x):
    """log(K - k) for k = 1..K-1 (K the output size): centres x = 0 on the uniform point of the simplex."""
    k = x.shape[-1]
    return (k + 1 - x.new_ones(k).cumsum(-1)).log()


class StickBreakingTransform(Transform):
    """(..., K-1) reals -> (..., K) simplex: z_k = sigmoid(x_k - log(K - k)) breaks off that fraction of the
    stick left over, y_k = z_k prod_{j<k} (1 - z_j); the last coordinate takes the rest. Bijective."""
    domain = constraints.real_vector
    codomain = constraints.simplex
    bijective = True

    def __eq__(self, other):
        return isinstance(other, StickBreakingTransform)

    def _call(self, x):
        z = clipped_sigmoid(x - _stick_offset(x))
        z_cumprod = (1 - z).cumprod(-1)
        return F.pad(z, [0, 1], value=1) * F.pad(z_cumprod, [1, 0], value=1)

    def _inverse(self, y):
        y_crop = y[..., :-1]
        offset = (y.shape[-1] - y.new_ones(y_crop.shape[-1]).cumsum(-1)).log()
        # the stick left before each break; clamped because rounding can leave it <= 0 when y[-1] ~ 0
        sf = (1 - y_crop.cumsum(-1)).clamp(min=finfo(y.dtype).tiny)
        return y_crop.log() - sf.log() + offset

    def log_abs_det_jacobian(self, x, y):
        x = x - _stick_offset(x)
        return (-x + F.logsigmoid(x) + y[..., :-1].log()).sum(-1)  # uses 1 - sigmoid(x) = e^-x sigmoid(x)

    def forward_shape(self, shape):
        _check_rank("StickBreakingTransform.forward_shape", shape, 1)
        return Size(tuple(shape[:-1]) + (shape[-1] + 1,))

    def inverse_shape(self, shape):
        _check_rank("StickBreakingTransform.inverse_shape", shape, 1)
        return Size(tuple(shape[:-1]) + (shape[-1] - 1,))


class LowerCholeskyTransform(Transform):
    """Square matrices -> lower-triangular with a positive diagonal: the strict lower part kept, the
    diagonal exponentiated, the upper part dropped (so not bijective)."""
    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def __eq__(self, other):
        return isinstance(other, LowerCholeskyTransform)

    def _call(self, x):
        return x.tril(-1) + x.diagonal(dim1=-2, dim2=-1).exp().diag_embed()

    def _inverse(self, y):
        return y.tril(-1) + y.diagonal(dim1=-2, dim2=-1).log().diag_embed()


class PositiveDefiniteTransform(Transform):
    """Square matrices -> positive definite: L L^T with L = LowerCholeskyTransform(x); the inverse goes
    through the Cholesky factor."""
    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def __eq__(self, other):
        return isinstance(other, PositiveDefiniteTransform)

    def _call(self, x):
        L = LowerCholeskyTransform()(x)
        return L @ L.mT

    def _inverse(self, y):
        from .. import linalg
        return LowerCholeskyTransform().inv(linalg.cholesky(y))


class CorrCholeskyTransform(Transform):
    """(..., D(D-1)/2) reals -> (..., D, D) Cholesky factors of correlation matrices (unit rows, positive
    diagonal). Each row's strict-lower entries r = tanh(x) are a signed stick-breaking of the row's unit
    norm: y_ij = r_ij sqrt(prod_{k<j} (1 - r_ik^2)), and the diagonal takes what is left."""
    domain = constraints.real_vector
    codomain = constraints.corr_cholesky
    bijective = True

    def _call(self, x):
        e = finfo(x.dtype).eps
        r = vec_to_tril_matrix(x.tanh().clamp(min=-1 + e, max=1 - e), diag=-1)  # (..., D, D), zero diagonal
        z1m_cumprod_sqrt = (1 - r ** 2).sqrt().cumprod(-1)
        r = r + eye(r.shape[-1], dtype=r.dtype, device=r.device)
        return r * F.pad(z1m_cumprod_sqrt[..., :-1], [1, 0], value=1)

    def _inverse(self, y):
        y_cumsum = 1 - (y * y).cumsum(-1)
        y_cumsum_shifted = F.pad(y_cumsum[..., :-1], [1, 0], value=1)  # the row norm left before entry j
        t = tril_matrix_to_vec(y, diag=-1) / tril_matrix_to_vec(y_cumsum_shifted, diag=-1).sqrt()
        return (t.log1p() - (-t).log1p()) / 2  # atanh

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        """Of x and the strict lower triangle of y (the spaces differ in dimension). diag=-2 reads each
        entry's norm-left-over without shifting the cumulative sum."""
        y1m_cumsum = 1 - (y * y).cumsum(-1)
        stick_breaking_logdet = 0.5 * tril_matrix_to_vec(y1m_cumsum, diag=-2).log().sum(-1)
        tanh_logdet = -2 * (x + F.softplus(-2 * x) - math.log(2.0)).sum(-1)
        return stick_breaking_logdet + tanh_logdet

    def forward_shape(self, shape):
        _check_rank("CorrCholeskyTransform.forward_shape", shape, 1)
        n = shape[-1]
        d = round((0.25 + 2 * n) ** 0.5 + 0.5)
        if d * (d - 1) // 2 != n:
            raise ValueError(f"CorrCholeskyTransform: the last dim must be D(D-1)/2 for some D, got {n}")
        return Size(tuple(shape[:-1]) + (d, d))

    def inverse_shape(self, shape):
        _check_rank("CorrCholeskyTransform.inverse_shape", shape, 2)
        if shape[-2] != shape[-1]:
            raise ValueError(f"CorrCholeskyTransform: the matrices must be square, got shape {tuple(shape)}")
        d = shape[-1]
        return Size(tuple(shape[:-2]) + (d * (d - 1) // 2,))


def _check_slices(op, value, dim, size, what):
    constraints._check_dim(op, dim, value)
    if value.shape[dim] != size:
        raise ValueError(f"{op}: value.shape[{dim}] must equal {what} ({size}), got shape {tuple(value.shape)}")


class CatTransform(Transform):
    """tseq[i] applied to the i-th slice of length lengths[i] along dim, the results concatenated (the
    transform analogue of torch.cat)."""

    def __init__(self, tseq, dim=0, lengths=None, cache_size=0):
        if not all(isinstance(t, Transform) for t in tseq):
            raise TypeError(f"CatTransform: every element of tseq must be a Transform, got {list(tseq)!r}")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms = list(tseq)
        self.lengths = [1] * len(self.transforms) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.transforms):
            raise ValueError(f"CatTransform: lengths must have one entry per transform ({len(self.transforms)}), "
                             f"got {len(self.lengths)}")
        self.dim = dim

    @lazy_property
    def event_dim(self):
        return max(t.event_dim for t in self.transforms)

    @lazy_property
    def length(self):
        return sum(self.lengths)

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    def _slices(self, value):
        starts = [sum(self.lengths[:i]) for i in range(len(self.lengths))]
        return [value.narrow(self.dim, s, n) for s, n in zip(starts, self.lengths)]

    def _call(self, x):
        _check_slices("CatTransform", x, self.dim, self.length, "sum(lengths)")
        return cat([t(xs) for t, xs in zip(self.transforms, self._slices(x))], self.dim)

    def _inverse(self, y):
        _check_slices("CatTransform.inv", y, self.dim, self.length, "sum(lengths)")
        return cat([t.inv(ys) for t, ys in zip(self.transforms, self._slices(y))], self.dim)

    def log_abs_det_jacobian(self, x, y):
        """Each slice's log-det summed up to this transform's event_dim; concatenated along dim when dim is
        a batch dim, else (dim inside the event) added."""
        _check_slices("CatTransform.log_abs_det_jacobian", x, self.dim, self.length, "sum(lengths)")
        _check_slices("CatTransform.log_abs_det_jacobian", y, self.dim, self.length, "sum(lengths)")
        terms = [sum_rightmost(t.log_abs_det_jacobian(xs, ys), self.event_dim - t.event_dim)
                 for t, xs, ys in zip(self.transforms, self._slices(x), self._slices(y))]
        dim = (self.dim - x.dim() if self.dim >= 0 else self.dim) + self.event_dim
        return cat(terms, dim) if dim < 0 else sum(terms)

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    @constraints.dependent_property
    def domain(self):
        return constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths)

    @constraints.dependent_property
    def codomain(self):
        return constraints.cat([t.codomain for t in self.transforms], self.dim, self.lengths)


class StackTransform(Transform):
    """tseq[i] applied to index i along dim, the results stacked (the transform analogue of torch.stack)."""

    def __init__(self, tseq, dim=0, cache_size=0):
        if not all(isinstance(t, Transform) for t in tseq):
            raise TypeError(f"StackTransform: every element of tseq must be a Transform, got {list(tseq)!r}")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms = list(tseq)
        self.dim = dim

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return StackTransform(self.transforms, self.dim, cache_size)

    def _slice(self, z):
        return [z.select(self.dim, i) for i in range(z.shape[self.dim])]

    def _call(self, x):
        _check_slices("StackTransform", x, self.dim, len(self.transforms), "len(transforms)")
        return stack([t(xs) for xs, t in zip(self._slice(x), self.transforms)], self.dim)

    def _inverse(self, y):
        _check_slices("StackTransform.inv", y, self.dim, len(self.transforms), "len(transforms)")
        return stack([t.inv(ys) for ys, t in zip(self._slice(y), self.transforms)], self.dim)

    def log_abs_det_jacobian(self, x, y):
        _check_slices("StackTransform.log_abs_det_jacobian", x, self.dim, len(self.transforms), "len(transforms)")
        _check_slices("StackTransform.log_abs_det_jacobian", y, self.dim, len(self.transforms), "len(transforms)")
        terms = [t.log_abs_det_jacobian(xs, ys) for xs, ys, t in zip(self._slice(x), self._slice(y), self.transforms)]
        return stack(terms, self.dim)

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    @constraints.dependent_property
    def domain(self):
        return constraints.stack([t.domain for t in self.transforms], self.dim)

    @constraints.dependent_property
    def codomain(self):
        return constraints.stack([t.codomain for t in self.transforms], self.dim)
