"""nn.CrossMapLRN2d: torch's legacy (Lua-torch) cross-channel LRN on (N, C, H, W), forward and gradient.

y = x * (k + alpha/size * S x^2)^-beta, where S (C, C) sums x^2 over a window of channels. torch builds S
with a running-sum recurrence whose window is not centred (and never drops channel 0 for size>=3), and its
backward uses another, centred-by-(size - (size-1)/2) window, so torch's gradient is not the exact
derivative of its forward. pyml reproduces both windows as 0/1 matrices (torch's numbers, not the true
derivative) in an autograd Function; double backward is not supported.
"""
import pyml
from ...autograd import Function
from .module import Module

__all__ = ["CrossMapLRN2d"]


def _forward_window(C, size):
    """S[c, j] = 1 when torch's forward recurrence adds x[:, j]^2 into scale[:, c]."""
    pre_pad = int((size - 1) / 2 + 1)
    rows = [set(range(min(pre_pad, C)))]
    for c in range(1, C):
        cur = set(rows[-1])
        if c < C - pre_pad + 1:
            cur.add(c + pre_pad - 1)
        if c > pre_pad:
            cur.discard(c - pre_pad)
        rows.append(cur)
    return [[1.0 if j in r else 0.0 for j in range(C)] for r in rows]


def _backward_window(C, size):
    """B[c, j] = 1 when torch's backward accumulates ratio[:, j] into channel c: j in [c - p, c - p + size)."""
    p = int(size - (size - 1) / 2)
    return [[1.0 if c - p <= j < c - p + size else 0.0 for j in range(C)] for c in range(C)]


def _mix(window, t):
    """sum_j window[c, j] * t[:, j] for t (N, C, H, W)."""
    w = pyml.tensor(window, dtype=t.dtype, device=t.device)  # (C, C)
    return pyml.einsum("cj,njhw->nchw", w, t)


class _CrossMapLRN2dFn(Function):
    @staticmethod
    def forward(ctx, input, size, alpha, beta, k):
        C = input.shape[1]
        scale = _mix(_forward_window(C, size), input * input) * (alpha / size) + k
        output = scale.pow(-beta) * input
        ctx.size, ctx.alpha, ctx.beta = size, alpha, beta
        ctx.save_for_backward(input, output, scale)
        return output

    @staticmethod
    def backward(ctx, grad):
        x, y, scale = ctx.saved_tensors
        ratio = grad * y / scale
        accum = _mix(_backward_window(x.shape[1], ctx.size), ratio)
        dx = scale.pow(-ctx.beta) * grad - (2 * ctx.alpha * ctx.beta / ctx.size) * x * accum
        return dx, None, None, None, None


class CrossMapLRN2d(Module):
    """Cross-channel local response normalisation over (N, C, H, W), as torch.nn.CrossMapLRN2d."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        if input.dim() != 4:
            raise ValueError(f"CrossMapLRN2d: expected input to be 4D, got {input.dim()}D input "
                             f"{tuple(input.shape)}")
        return _CrossMapLRN2dFn.apply(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
