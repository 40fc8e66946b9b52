"""nn.functional distances and normalisation: pairwise_distance, cosine_similarity, pdist, cdist, normalize.

Norm clamps that torch applies under no_grad (cosine_similarity's eps) are applied here so that the value
is clamped while the gradient is the unclamped one, as in torch.
"""
import pyml
from ..._tensor import Tensor

__all__ = ["pairwise_distance", "cosine_similarity", "pdist", "cdist", "normalize"]


def _need(x, op, arg):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: argument '{arg}' must be Tensor, not {type(x).__name__}")


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dim (broadcasting the leading dims)."""
    _need(x1, "pairwise_distance", "x1")
    _need(x2, "pairwise_distance", "x2")
    out_dim = max(x1.ndim, x2.ndim)
    diff = x1 - x2 + eps
    if out_dim == 0:
        return pyml.abs(diff)
    return pyml.norm(diff, p, dim=out_dim - 1, keepdim=keepdim)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1/|x1| * x2/|x2|) along dim, each norm clamped at eps."""
    _need(x1, "cosine_similarity", "x1")
    _need(x2, "cosine_similarity", "x2")
    try:
        shape = pyml.broadcast_shapes(x1.shape, x2.shape)
    except (ValueError, RuntimeError) as e:
        raise ValueError(f"cosine_similarity: x1 {tuple(x1.shape)} and x2 {tuple(x2.shape)} must be broadcastable"
                         ) from e
    a, b = x1.expand(shape), x2.expand(shape)
    n1 = pyml.norm(a, 2, dim=dim, keepdim=True)
    n2 = pyml.norm(b, 2, dim=dim, keepdim=True)
    n1 = pyml.where(n1 < eps, n1 - n1.detach() + eps, n1)
    n2 = pyml.where(n2 < eps, n2 - n2.detach() + eps, n2)
    return ((a / n1) * (b / n2)).sum(dim)


def pdist(input, p=2):
    """Distances between all row pairs i < j of an (N, M) input, in row-major pair order: N(N-1)/2 values."""
    _need(input, "pdist", "input")
    if input.ndim != 2:
        raise ValueError(f"pdist: only supports 2D tensors, got shape {tuple(input.shape)}")
    if p < 0:
        raise ValueError(f"pdist: only supports non-negative p values, got {p}")
    n = input.shape[0]
    i_idx = [i for i in range(n) for _ in range(i + 1, n)]
    j_idx = [j for i in range(n) for j in range(i + 1, n)]
    if not i_idx:
        return pyml.zeros(0, dtype=input.dtype, device=input.device)
    ii = pyml.tensor(i_idx, dtype=pyml.int64, device=input.device)
    jj = pyml.tensor(j_idx, dtype=pyml.int64, device=input.device)
    diff = pyml.index_select(input, 0, ii) - pyml.index_select(input, 0, jj)
    return pyml.norm(diff, p, dim=1)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """p-norm distances between the rows of x1 (B.., P, M) and x2 (B.., R, M) -> (B.., P, R).

    For p = 2 with many rows, torch's matrix-product form |a|^2 + |b|^2 - 2 a.b (clamped at 0) is used;
    otherwise the broadcast difference.
    """
    _need(x1, "cdist", "x1")
    _need(x2, "cdist", "x2")
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise ValueError(f"cdist: X1 and X2 must have the same number of columns and at least 2 dims, got "
                         f"x1 {tuple(x1.shape)}, x2 {tuple(x2.shape)}")
    if p < 0:
        raise ValueError(f"cdist: only supports non-negative p values, got {p}")
    modes = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")
    if compute_mode not in modes:
        raise ValueError(f"cdist: {compute_mode} is not a valid value for compute_mode")
    P, R = x1.shape[-2], x2.shape[-2]
    use_mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist"
                         or (compute_mode == modes[0] and (P > 25 or R > 25)))
    if use_mm:
        a2 = (x1 * x1).sum(-1, keepdim=True)                         # (.., P, 1)
        b2 = (x2 * x2).sum(-1).unsqueeze(-2)                         # (.., 1, R)
        d2 = a2 + b2 - 2 * pyml.matmul(x1, x2.transpose(-1, -2))
        d2 = pyml.clamp(d2, min=0.0)
        safe = pyml.where(d2 > 0, d2, pyml.ones_like(d2))
        return pyml.where(d2 > 0, pyml.sqrt(safe), pyml.zeros_like(d2))
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)                        # (.., P, R, M)
    return pyml.norm(diff, p, dim=-1)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p along dim, eps)."""
    _need(input, "normalize", "input")
    denom = pyml.clamp(pyml.norm(input, p, dim=dim, keepdim=True), min=eps).expand_as(input)
    r = input / denom
    if out is not None:
        out.copy_(r)
        return out
    return r
