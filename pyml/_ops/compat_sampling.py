"""Random samplers PyTorch has beyond random.py: poisson and binomial, and the in-place cauchy_, log_normal_ and
geometric_. All draw their uniforms from pyml's Philox generators (pyml.rand with the given generator, or
the default one), so pyml.manual_seed / Generator.manual_seed make them reproducible; the numbers differ
from torch's, which uses other generators and algorithms.

- poisson: Knuth's product of uniforms for rates below 10 (at most ~rate + 1 rounds), Hoermann's PTRS
  transformed rejection (1993) above; every round draws only for the samples still pending.
- binomial: with p folded to min(p, 1 - p), counting geometric waiting times while n p < 10, Hoermann's
  BTRS transformed rejection above; fractional counts are floored, negative counts give 0, p is clamped
  to [0, 1] (torch's behaviour).
- cauchy_: median + sigma tan(pi (u - 1/2)); log_normal_: exp(normal(mean, std)); geometric_: the number
  of Bernoulli(p) trials up to the first success, ceil(log u / log(1 - p)) with u in (0, 1].
All sample in float64 and round once to the output dtype.
"""
import math

import pyml
from .. import _dtype as D
from .._tensor import Tensor, export
from .compat_util import need, need_number, store_out

_MAX_ROUNDS = 10000  # rejection rounds; each accepts > 80% of what is pending, so this is never reached


def _uniform(n, generator, device):
    """n float64 uniforms in (0, 1]."""
    return 1 - pyml.rand(n, generator=generator, dtype=pyml.float64, device=device)


def _pending_loop(n, generator, device, step, op):
    """Run step(idx, u, v) -> accepted mask on the still-pending positions until none is left."""
    idx = pyml.arange(n, device=device)
    for _ in range(_MAX_ROUNDS):
        if idx.numel() == 0:
            return
        u, v = _uniform(idx.numel(), generator, device), _uniform(idx.numel(), generator, device)
        idx = idx[~step(idx, u, v)]
    raise RuntimeError(f"{op}: rejection sampling did not finish in {_MAX_ROUNDS} rounds")


# ---------------------------------------------------------------------------- poisson
def _poisson_small(lam, generator, device):
    """Knuth: the number of uniforms whose running product stays above exp(-lam)."""
    limit = pyml.exp(-lam)
    k, prod = pyml.zeros_like(lam), pyml.ones_like(lam)
    active = pyml.ones(lam.shape, dtype=D.bool_, device=device)
    while lam.numel() and bool(active.any()):
        prod = pyml.where(active, prod * _uniform(lam.numel(), generator, device), prod)
        active = active & (prod > limit)
        k = k + active.to(k.dtype)
    return k


def _poisson_ptrs(lam, generator, device):
    out = pyml.zeros_like(lam)
    slam, loglam = pyml.sqrt(lam), pyml.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)

    def step(idx, u, v):
        la, ai, bi = lam[idx], a[idx], b[idx]
        u = u - 0.5
        us = 0.5 - pyml.abs(u)
        k = pyml.floor((2 * ai / us + bi) * u + la + 0.43)
        quick = (us >= 0.07) & (v <= vr[idx])
        bad = (k < 0) | ((us < 0.013) & (v > us))
        kk = pyml.where(k < 0, pyml.zeros_like(k), k)
        lhs = pyml.log(v) + pyml.log(inv_alpha[idx]) - pyml.log(ai / (us * us) + bi)
        ok = quick | (~bad & (lhs <= -la + kk * loglam[idx] - pyml.lgamma(kk + 1)))
        out[idx[ok]] = k[ok]
        return ok
    _pending_loop(lam.numel(), generator, device, step, "poisson")
    return out


def poisson(input, generator=None, *, out=None):
    """One Poisson sample per element of the rate tensor input (floating; rates must be >= 0)."""
    if not input.dtype.is_floating_point:
        raise TypeError(f"poisson: expects a floating point rate tensor, got {input.dtype}")
    with pyml.no_grad():
        lam = input.detach().double().reshape(-1)
        if lam.numel() and bool((~(lam >= 0)).any()):
            raise ValueError("poisson: invalid Poisson rate, expected rate to be non-negative (and not NaN)")
        finite = pyml.where(pyml.isinf(lam), pyml.zeros_like(lam), lam)
        small = finite < 10
        k = pyml.zeros_like(lam)
        k[small] = _poisson_small(finite[small], generator, input.device)
        k[~small] = _poisson_ptrs(finite[~small], generator, input.device)
        k = pyml.where(pyml.isinf(lam), lam, k)
    return store_out(k.reshape(input.shape).to(input.dtype), out, "poisson")


# ---------------------------------------------------------------------------- binomial
def _binomial_inversion(n, p, generator, device):
    """Count geometric(p) waiting times until their sum exceeds n (about n p + 1 rounds)."""
    x, total = pyml.zeros_like(n), pyml.zeros_like(n)
    log_q = pyml.log1p(-p)
    active = p > 0
    while n.numel() and bool(active.any()):
        g = pyml.ceil(pyml.log(_uniform(n.numel(), generator, device)) / log_q)
        total = total + pyml.where(active, pyml.clamp(g, min=1.0), pyml.zeros_like(g))
        active = active & (total <= n)
        x = x + active.to(x.dtype)
    return x


def _binomial_btrs(n, p, generator, device):
    out = pyml.zeros_like(n)
    q = 1 - p
    spq = pyml.sqrt(n * p * q)
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    vr = 0.92 - 4.2 / b
    alpha = (2.83 + 5.1 / b) * spq
    m = pyml.floor((n + 1) * p)
    log_fm = pyml.lgamma(m + 1) + pyml.lgamma(n - m + 1)  # log(n! / f(m)) up to the p, q powers
    lpq = pyml.log(p / q)

    def step(idx, u, v):
        ni, ai, bi = n[idx], a[idx], b[idx]
        u = u - 0.5
        us = 0.5 - pyml.abs(u)
        k = pyml.floor((2 * ai / us + bi) * u + c[idx])
        inside = (k >= 0) & (k <= ni)
        quick = inside & (us >= 0.07) & (v <= vr[idx])
        kk = pyml.clamp(pyml.minimum(k, ni), min=0.0)
        lv = pyml.log(v * alpha[idx] / (ai / (us * us) + bi))
        bound = log_fm[idx] - pyml.lgamma(kk + 1) - pyml.lgamma(ni - kk + 1) + (kk - m[idx]) * lpq[idx]
        ok = quick | (inside & (lv <= bound))
        out[idx[ok]] = k[ok]
        return ok
    _pending_loop(n.numel(), generator, device, step, "binomial")
    return out


def binomial(count, prob, generator=None, *, out=None):
    """One Binomial(count, prob) sample per element (count and prob floating, broadcast together)."""
    need(prob, "binomial", "prob")
    for name, t in (("count", count), ("prob", prob)):
        if not t.dtype.is_floating_point:
            raise TypeError(f"binomial: only supports floating-point dtypes for {name}, got {t.dtype}")
    if count.dtype is not prob.dtype:
        raise TypeError(f"binomial: count and prob must have the same dtype, got {count.dtype} and {prob.dtype}")
    with pyml.no_grad():
        c, pr = pyml.broadcast_tensors(count.detach().double(), prob.detach().double())
        n = pyml.floor(pyml.clamp(c, min=0.0)).reshape(-1)
        p = pyml.clamp(pr, 0.0, 1.0).reshape(-1)
        flip = p > 0.5
        pf = pyml.where(flip, 1 - p, p)
        small = n * pf < 10
        k = pyml.zeros_like(n)
        k[small] = _binomial_inversion(n[small], pf[small], generator, count.device)
        k[~small] = _binomial_btrs(n[~small], pf[~small], generator, count.device)
        k = pyml.where(flip, n - k, k)
    return store_out(k.reshape(c.shape).to(count.dtype), out, "binomial")


# ---------------------------------------------------------------------------- in-place samplers
def _fill_sampled(self, values):
    with pyml.no_grad():
        self.copy_(values.to(self.dtype).reshape(self.shape))
    return self


def _need_float(self, op, what):
    need(self, op, "self")
    if not self.dtype.is_floating_point:
        raise TypeError(f"{op}: {what} is a continuous probability distribution; dtype must be floating point, "
                        f"got {self.dtype}")


def _cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill with Cauchy(median, sigma) samples."""
    _need_float(self, "cauchy_", "the Cauchy distribution")
    median, sigma = need_number(median, "cauchy_", "median"), need_number(sigma, "cauchy_", "sigma")
    if not sigma > 0:
        raise ValueError(f"cauchy_: expects sigma > 0.0, got sigma={sigma}")
    u = _uniform(self.numel(), generator, self.device)
    return _fill_sampled(self, median + sigma * pyml.tan(math.pi * (u - 0.5)))


def _log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with exp(x), x ~ Normal(mean, std)."""
    _need_float(self, "log_normal_", "the log-normal distribution")
    mean, std = need_number(mean, "log_normal_", "mean"), need_number(std, "log_normal_", "std")
    if not std > 0:
        raise ValueError(f"log_normal_: expects std > 0.0, got std={std}")
    x = pyml.randn(self.numel(), generator=generator, dtype=pyml.float64, device=self.device)
    return _fill_sampled(self, pyml.exp(mean + std * x))


def _geometric_(self, p, *, generator=None):
    """Fill with the number of Bernoulli(p) trials up to and including the first success (>= 1)."""
    need(self, "geometric_", "self")
    if self.dtype is D.bool_:
        raise TypeError("geometric_: not implemented for bool tensors")
    p = need_number(p, "geometric_", "p")
    if not 0 < p < 1:
        raise ValueError(f"geometric_: expects p to be in (0, 1), got p={p}")
    u = _uniform(self.numel(), generator, self.device)
    return _fill_sampled(self, pyml.clamp(pyml.ceil(pyml.log(u) / math.log1p(-p)), min=1.0))


for _f, _n in ((_cauchy_, "cauchy_"), (_log_normal_, "log_normal_"), (_geometric_, "geometric_")):
    _f.__name__ = _n
    setattr(Tensor, _n, _f)
__all__ = export(globals())
