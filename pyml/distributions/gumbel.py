"""Gumbel(loc, scale): density exp(-(z + exp(-z))) / scale with z = (x - loc) / scale, the law of the maximum
of many draws. Built like torch's as a TransformedDistribution of u ~ Uniform(tiny, 1 - eps):
x = loc - scale log(-log u) (the inverse cdf), so rsample and cdf/icdf come from the transforms; log_prob is
written directly, since inverting the chain loses precision in the tails.
"""
import math

from .. import full_like, ones_like
from .._tensor import Tensor
from . import constraints
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, ExpTransform
from .uniform import Uniform
from .utils import broadcast_all, eps, tiny

__all__ = ["Gumbel"]

EULER_CONSTANT = 0.57721566490153286061


class Gumbel(TransformedDistribution):
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        low, high = tiny(self.loc.dtype), 1 - eps(self.loc.dtype)
        if not isinstance(loc, Tensor) and not isinstance(scale, Tensor):
            base_dist = Uniform(low, high, validate_args=validate_args)
        else:
            base_dist = Uniform(full_like(self.loc, low), full_like(self.loc, high), validate_args=validate_args)
        transforms = [ExpTransform().inv, AffineTransform(loc=0, scale=-ones_like(self.scale)),
                      ExpTransform().inv, AffineTransform(loc=loc, scale=-self.scale)]  # u -> -log u -> x
        super().__init__(base_dist, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Gumbel, _instance)
        batch_shape = self._expand_batch(batch_shape, "Gumbel.expand")
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        return super().expand(batch_shape, _instance=new)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        y = (self.loc - value) / self.scale
        return (y - y.exp()) - self.scale.log()

    @property
    def mean(self):
        return self.loc + self.scale * EULER_CONSTANT

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self):
        return self.stddev.pow(2)

    def entropy(self):
        return self.scale.log() + (1 + EULER_CONSTANT)
