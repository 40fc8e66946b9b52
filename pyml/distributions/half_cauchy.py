"""HalfCauchy(scale): |X| with X ~ Cauchy(0, scale), a TransformedDistribution through AbsTransform; like
HalfNormal, log_prob/cdf/icdf fold the Cauchy's mass onto x >= 0 (density doubled, cdf 2 F(x) - 1). Its mean is
inf, its variance the Cauchy's (inf).
"""
import math

from .. import full
from .cauchy import Cauchy
from .half_normal import FoldedAtZero

__all__ = ["HalfCauchy"]


class HalfCauchy(FoldedAtZero):
    base_family = Cauchy

    @property
    def mean(self):
        return full(self._extended_shape(), math.inf, dtype=self.scale.dtype, device=self.scale.device)

    @property
    def variance(self):
        return self.base_dist.variance
