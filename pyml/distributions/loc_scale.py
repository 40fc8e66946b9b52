"""LocScale: the shared part of the real-valued location-scale families (Normal, Laplace): loc and scale
broadcast to the batch shape, scale positive, mean and mode at loc, reparameterised samples, and expand."""
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["LocScale"]


class LocScale(Distribution):
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        family = next(c for c in type(self).__mro__ if LocScale in c.__bases__)  # Normal for a Normal subclass
        new = self._get_checked_instance(family, _instance)
        batch_shape = self._expand_batch(batch_shape, f"{family.__name__}.expand")
        return self._expanded(new, batch_shape, "loc", "scale")

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc
