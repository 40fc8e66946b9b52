"""nn.functional: fractional_max_pool2d/3d (+ _with_indices), Graham's fractional max pooling, as torch.

Each (n, c) plane draws one sample u in [0, 1) per spatial dim (`_random_samples`, (N, C, 2|3), in the
input's dtype; 2-D: [u_W, u_H], 3-D: [u_T, u_H, u_W]). Window i of a dim with input size L, output size
P and pool size K starts at trunc((i + u) * alpha) - trunc(u * alpha), alpha = (L - K) / (P - 1) computed
in the input's dtype (torch's rule), and the last window starts at L - K. The max of each K-window and
its flat index in the plane come from gathering every window element and taking max over the window,
so autograd (gather's scatter backward) gives the gradient. Indices are flat in the (H*W) or (T*H*W) plane.
"""
import pyml
from ..._tensor import export
from ... import _dtype as D
from .conv import _ntuple

__all__ = []


def _starts(u, L, P, K):
    """Window starts (N, C, P) for samples u (N, C) of one dim, by torch's interval rule."""
    if P == 0:
        return pyml.zeros(*u.shape, 0, dtype=D.int64, device=u.device)
    alpha = pyml.tensor(float(L - K), dtype=u.dtype, device=u.device) / max(P - 1, 1)
    i = pyml.arange(P, dtype=u.dtype, device=u.device)                        # (P,)
    s = (((i + u.unsqueeze(-1)) * alpha).trunc() - (u * alpha).trunc().unsqueeze(-1)).long()
    last = pyml.full((*u.shape, 1), L - K, dtype=D.int64, device=u.device)
    return pyml.cat([s[..., :P - 1], last], dim=-1)                           # (N, C, P)


def _flat_index(starts, sizes, kernel):
    """Flat plane index (N, C, P1, .., Pd, K1*..*Kd) of every element of every window."""
    nd = len(sizes)
    idx = None
    for d in range(nd):
        k = pyml.arange(kernel[d], dtype=D.int64, device=starts[d].device)
        pos = starts[d].unsqueeze(-1) + k                                     # (N, C, Pd, Kd)
        # place Pd at output dim d and Kd at window dim d
        shape = list(pos.shape[:2]) + [1] * (2 * nd)
        shape[2 + d], shape[2 + nd + d] = pos.shape[2], pos.shape[3]
        pos = pos.reshape(shape)
        idx = pos if idx is None else idx * sizes[d] + pos
    n, c = idx.shape[:2]
    return idx.reshape(n, c, *idx.shape[2:2 + nd], -1)


def _check(op, input, kernel, out, samples, nd):
    if any(k <= 0 for k in kernel):
        raise ValueError(f"{op}: kernel_size must be greater than 0, got {kernel}")
    names = ("time", "height", "width")[3 - nd:]
    limit = 0 if nd == 2 else 1  # torch's 3-D check is strict: output + pool - 1 < input
    for name, L, P, K in zip(names, input.shape[-nd:], out, kernel):
        if P < 0 or P + K - 1 > L - limit:
            rel = "<=" if limit == 0 else "<"
            raise RuntimeError(f"{op}: output {name} ({P}) + pool {name} ({K}) - 1 must be {rel} input {name} "
                               f"({L}), got input {tuple(input.shape)}")
    n, c = input.shape[0] if input.dim() == nd + 2 else 1, input.shape[-nd - 1]
    if samples.dtype != input.dtype:
        raise RuntimeError(f"{op}: _random_samples must have the input's dtype ({input.dtype}), got {samples.dtype}")
    if samples.dim() != 3 or samples.shape[0] < n or samples.shape[1] != c or samples.shape[2] != nd:
        raise RuntimeError(f"{op}: _random_samples must have shape (>= {n}, {c}, {nd}), got "
                           f"{tuple(samples.shape)}")


def _output_size(op, input, output_size, output_ratio, nd):
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
    if output_size is not None:
        return _ntuple(output_size, nd, op, "output_size")
    ratio = tuple(output_ratio) if isinstance(output_ratio, (list, tuple)) else (output_ratio,) * nd
    if len(ratio) != nd:
        raise ValueError(f"{op}: output_ratio must be a number or a tuple of {nd} numbers, got {output_ratio}")
    return tuple(int(L * r) for L, r in zip(input.shape[-nd:], ratio))


def _fractional(nd, input, kernel_size, output_size, output_ratio, samples):
    op = f"fractional_max_pool{nd}d"
    if not isinstance(input, pyml.Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected {nd + 1}D or {nd + 2}D input, got input {tuple(input.shape)}")
    kernel = _ntuple(kernel_size, nd, op, "kernel_size")
    out = _output_size(op, input, output_size, output_ratio, nd)
    batched = input.dim() == nd + 2
    x = input if batched else input.unsqueeze(0)
    if samples is None:
        samples = pyml.rand(x.shape[0], x.shape[1], nd, dtype=input.dtype, device=input.device)
    _check(op, input, kernel, out, samples, nd)
    y, idx = _pool(x, kernel, out, samples[:x.shape[0]], nd)
    return (y, idx) if batched else (y.squeeze(0), idx.squeeze(0))


def _pool(x, kernel, out, samples, nd):
    """x (N, C, *S) -> max (N, C, *out) and flat indices, by gather + max over each window."""
    n, c, sizes = x.shape[0], x.shape[1], list(x.shape[2:])
    order = [1, 0] if nd == 2 else [0, 1, 2]  # sample column of each spatial dim (2-D samples are [u_W, u_H])
    starts = [_starts(samples[..., order[d]], sizes[d], out[d], kernel[d]) for d in range(nd)]
    idx = _flat_index(starts, sizes, kernel)                                  # (N, C, *out, K)
    if idx.numel() == 0:
        empty = x.new_zeros((n, c, *out))
        return empty, pyml.zeros(n, c, *out, dtype=D.int64, device=x.device)
    vals = pyml.gather(x.reshape(n, c, -1), 2, idx.reshape(n, c, -1)).reshape(idx.shape)
    y, arg = vals.max(dim=-1)
    return y, pyml.gather(idx, -1, arg.unsqueeze(-1)).squeeze(-1)


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                                       _random_samples=None):
    """(max (N, C, oH, oW), indices into each H*W plane) over torch's pseudo-random windows."""
    return _fractional(2, input, kernel_size, output_size, output_ratio, _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                                       _random_samples=None):
    """(max (N, C, oT, oH, oW), indices into each T*H*W plane) over torch's pseudo-random windows."""
    return _fractional(3, input, kernel_size, output_size, output_ratio, _random_samples)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    y, idx = _fractional(2, input, kernel_size, output_size, output_ratio, _random_samples)
    return (y, idx) if return_indices else y


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    y, idx = _fractional(3, input, kernel_size, output_size, output_ratio, _random_samples)
    return (y, idx) if return_indices else y


__all__ = export(globals())
