"""Laplace(loc, scale): density exp(-|x - loc| / scale) / (2 scale), elementwise over the broadcast shape
of loc and scale. rsample inverts the cdf at u ~ U(eps - 1, 1) drawn from pyml's generator:
loc - scale * sign(u) * log1p(-|u|) (reparameterised; the open lower end keeps log1p finite).
"""
import math

from .. import empty
from .._tensor import Size
from ..autograd import no_grad
from .loc_scale import LocScale
from .utils import eps

__all__ = ["Laplace"]


class Laplace(LocScale):
    @property
    def stddev(self):
        return math.sqrt(2) * self.scale

    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            u = empty(shape, dtype=self.loc.dtype, device=self.loc.device).uniform_(eps(self.loc.dtype) - 1, 1)
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value, "cdf")
        z = value - self.loc
        return 0.5 - 0.5 * z.sign() * (-z.abs() / self.scale).expm1()

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self):
        return 1 + (2 * self.scale).log()
