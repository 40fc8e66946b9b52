"""VonMises(loc, concentration): the circular normal, density exp(k cos(x - loc)) / (2 pi I0(k)) for angles x
(support: the reals, like torch; samples are wrapped into [-pi, pi)). variance is the circular variance
1 - I1(k) / I0(k).

log I0(k) is k + log(i0e(k)) with pyml's exponentially scaled Bessel function, exact where torch uses a
polynomial fit (they agree to ~1e-7), and differentiable through i0e's own gradient.
sample: Best & Fisher's (1979) wrapped-Cauchy rejection sampler, vectorised: every round draws three
uniforms for the elements still pending and keeps the accepted ones. It runs in float64 (like torch) and
rounds once to the parameters' dtype; there is no rsample.
"""
import math

import pyml

from .. import cos, where, zeros_like
from .._tensor import Size
from ..autograd import no_grad
from ..special import i0e, i1e
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["VonMises"]

_MAX_ROUNDS = 10000  # every round accepts at least ~66% of the pending draws


def _log_i0(k):
    return k + i0e(k).log()


def _proposal_r(kappa):
    """The wrapped-Cauchy envelope's r = (1 + rho^2) / (2 rho); 1 / k + k (its expansion) for tiny k."""
    tau = 1 + (1 + 4 * kappa.pow(2)).sqrt()
    rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
    return where(kappa < 1e-5, 1 / kappa + kappa, (1 + rho.pow(2)) / (2 * rho))


def _accept_round(kappa, r, n):
    """One Best-Fisher round for n flat float64 draws: (accepted mask, candidate angles in [-pi, pi])."""
    u = pyml.rand((3, n), dtype=pyml.float64, device=kappa.device)
    u1, u2, u3 = u[0], u[1], u[2]
    z = cos(math.pi * u1)
    f = (1 + r * z) / (r + z)
    c = kappa * (r - f)
    accept = ((c * (2 - c) - u2) > 0) | ((c / u2).log() + 1 - c >= 0)
    return accept, (u3 - 0.5).sign() * f.clamp(-1.0, 1.0).acos()


def _rejection_sample(kappa, r):
    """Von Mises(0, kappa) angles for flat float64 kappa and r."""
    out = zeros_like(kappa)
    idx = pyml.arange(kappa.numel(), device=kappa.device)
    for _ in range(_MAX_ROUNDS):
        if idx.numel() == 0:
            return out
        accept, x = _accept_round(kappa[idx], r[idx], idx.numel())
        out[idx[accept]] = x[accept]
        idx = idx[~accept]
    raise RuntimeError(f"VonMises.sample: rejection sampling did not finish in {_MAX_ROUNDS} rounds")


class VonMises(Distribution):
    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, Size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(VonMises, _instance)
        batch_shape = self._expand_batch(batch_shape, "VonMises.expand")
        return self._expanded(new, batch_shape, "loc", "concentration")

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        k = self.concentration
        return k * cos(value - self.loc) - math.log(2 * math.pi) - _log_i0(k)

    def sample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            kappa = self.concentration.detach().double().expand(shape).reshape(-1)
            x = _rejection_sample(kappa, _proposal_r(kappa)).reshape(shape)
            loc = self.loc.detach().double()
            x = (x + math.pi + loc) % (2 * math.pi) - math.pi
        return x.to(self.loc.dtype)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        k = self.concentration
        return 1 - i1e(k) / i0e(k)
