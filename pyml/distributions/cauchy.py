"""Cauchy(loc, scale): density 1 / (pi scale (1 + ((x - loc) / scale)^2)), elementwise over the broadcast
shape of loc and scale. It has no mean or variance (NaN and inf, like torch); mode and median are loc.
rsample is loc + scale * eps with eps from pyml's standard Cauchy generator (Tensor.cauchy_), so gradients
reach loc and scale; cdf/icdf are the closed forms atan(z) / pi + 1/2 and tan(pi (u - 1/2)).
"""
import math

from .. import empty, full, atan, tan
from .._tensor import Size
from ..autograd import no_grad
from .loc_scale import LocScale

__all__ = ["Cauchy"]


class Cauchy(LocScale):
    @property
    def mean(self):
        return full(self._extended_shape(), float("nan"), dtype=self.loc.dtype, device=self.loc.device)

    @property
    def variance(self):
        return full(self._extended_shape(), float("inf"), dtype=self.loc.dtype, device=self.loc.device)

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            eps = empty(shape, dtype=self.loc.dtype, device=self.loc.device).cauchy_()
        return self.loc + eps * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return -math.log(math.pi) - self.scale.log() - (z * z).log1p()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value, "cdf")
        return atan((value - self.loc) / self.scale) / math.pi + 0.5

    def icdf(self, value):
        return tan(math.pi * (value - 0.5)) * self.scale + self.loc

    def entropy(self):
        return math.log(4 * math.pi) + self.scale.log()
