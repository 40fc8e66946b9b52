"""GeneralizedPareto(loc, scale, concentration): the generalised Pareto distribution with survival function
(1 + c z)^(-1/c), z = (x - loc) / scale, and its c -> 0 limit exp(-z) (the exponential distribution).
Support: x >= loc, and x <= loc - scale / c when c < 0.

A concentration within 1e-8 of zero (torch.isclose to 0) takes the exponential formulas; elsewhere the
general ones run on a "safe" concentration (1 in place of 0) so that the branch not taken stays finite and
where() passes no NaN gradients. rsample inverts the cdf at u ~ U(0, 1), reparameterised in all three
parameters. mean exists for c < 1 and variance for c < 1/2 (NaN elsewhere), like torch.
"""
from .. import rand, where
from .._tensor import Size
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["GeneralizedPareto"]


def _split_zero(c):
    """(mask where c is 0 within isclose's atol, c with 1 in those places)."""
    eq_zero = c.abs() <= 1e-8
    return eq_zero, where(eq_zero, 1.0, c)


class GeneralizedPareto(Distribution):
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(GeneralizedPareto, _instance)
        batch_shape = self._expand_batch(batch_shape, "GeneralizedPareto.expand")
        return self._expanded(new, batch_shape, "loc", "scale", "concentration")

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        c = self.concentration
        _, safe = _split_zero(c)
        upper = where(c < 0, self.loc - self.scale / safe, float("inf"))
        return constraints.interval(self.loc, upper)

    def _z(self, x):
        return (x - self.loc) / self.scale

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        u = rand(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.icdf(u)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe = _split_zero(self.concentration)
        y = 1 / safe + 1  # the density's exponent: (1 + c z)^-(1/c + 1)
        nonzero = where(y == 0, y, y * (safe * z).log1p())
        return -self.scale.log() - where(eq_zero, z, nonzero)

    def log_survival_function(self, value):
        if self._validate_args:
            self._validate_sample(value, "log_survival_function")
        z = self._z(value)
        eq_zero, safe = _split_zero(self.concentration)
        return where(eq_zero, -z, -(safe * z).log1p() / safe)

    def log_cdf(self, value):
        return (-self.log_survival_function(value).exp()).log1p()

    def cdf(self, value):
        return self.log_cdf(value).exp()

    def icdf(self, value):
        eq_zero, safe = _split_zero(self.concentration)
        log_u = (-value).log1p()
        nonzero = self.loc + self.scale / safe * (-safe * log_u).expm1()
        return where(eq_zero, self.loc - self.scale * log_u, nonzero)

    @property
    def mean(self):
        valid = self.concentration < 1
        safe = where(valid, self.concentration, 0.5)
        return where(valid, self.loc + self.scale / (1 - safe), float("nan"))

    @property
    def variance(self):
        valid = self.concentration < 0.5
        safe = where(valid, self.concentration, 0.25)
        return where(valid, self.scale.pow(2) / ((1 - safe).pow(2) * (1 - 2 * safe)), float("nan"))

    @property
    def mode(self):
        return self.loc

    def entropy(self):
        return (self.scale.log() + self.concentration + 1).expand(self._batch_shape)

