"""ContinuousBernoulli(probs=None, logits=None, lims=(0.499, 0.501)): the density C(p) p^x (1 - p)^(1 - x) on
[0, 1] (Loaiza-Ganem & Cunningham, 2019), an exponential family with natural parameter logits.

The normaliser C(p) = 2 atanh(1 - 2p) / (1 - 2p) and the closed-form mean, variance, cdf and icdf all divide
0 by 0 at p = 1/2. Like torch, probs inside (lims[0], lims[1]] use Taylor expansions around 1/2 instead, and
the closed forms run on probs "cut" to lims[0] there so the branch not taken stays finite. probs are clamped
to [eps, 1 - eps] (logs stay finite); the raw probs are validated before the clamp.
rsample inverts the cdf at u ~ U(0, 1) (reparameterised).
"""
import math

from .. import rand, where
from .._tensor import Size
from ..nn import functional as F
from . import constraints
from .bernoulli import one_parameter
from .exp_family import ExponentialFamily
from .utils import broadcast_all, clamp_probs, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(ExponentialFamily):
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _mean_carrier_measure = 0
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        param, name = one_parameter(probs, logits, "ContinuousBernoulli")
        (value,) = broadcast_all(param)
        validate = self._validate_args if validate_args is None else validate_args
        if name == "probs":
            if validate and not bool(constraints.unit_interval.check(value).all()):
                raise ValueError("ContinuousBernoulli: parameter probs must satisfy the constraint "
                                 f"{constraints.unit_interval!r}, got invalid values (Tensor of shape "
                                 f"{tuple(value.shape)})")
            value = clamp_probs(value)  # checked before: clamped probs would always pass
        setattr(self, name, value)
        self._param = value
        self._lims = lims
        super().__init__(value.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(ContinuousBernoulli, _instance)
        batch_shape = self._expand_batch(batch_shape, "ContinuousBernoulli.expand")
        new._lims = self._lims
        for name in ("probs", "logits"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(batch_shape))
                new._param = new.__dict__[name]
        return self._expanded(new, batch_shape)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    @property
    def param_shape(self):
        return self._param.shape

    # ------------------------------------------------------------------------------ the unstable region
    def _outside_unstable_region(self):
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self):
        return where(self._outside_unstable_region(), self.probs, self._lims[0])

    def _cont_bern_log_norm(self):
        """log C(p); near 1/2 the Taylor series log 2 + 4/3 x + 104/45 x^2 in x = (p - 1/2)^2."""
        cut = self._cut_probs()
        below = cut <= 0.5
        log_ratio = ((-cut).log1p() - cut.log()).abs().log()
        log_den = where(below, (-2.0 * where(below, cut, 0.0)).log1p(),
                        (2.0 * where(cut >= 0.5, cut, 1.0) - 1.0).log())
        x = (self.probs - 0.5).pow(2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return where(self._outside_unstable_region(), log_ratio - log_den, taylor)

    # ------------------------------------------------------------------------------ moments
    @property
    def mean(self):
        cut = self._cut_probs()
        mus = cut / (2.0 * cut - 1.0) + 1.0 / ((-cut).log1p() - cut.log())
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x.pow(2)) * x
        return where(self._outside_unstable_region(), mus, taylor)

    @property
    def variance(self):
        cut = self._cut_probs()
        var = cut * (cut - 1.0) / (1.0 - 2.0 * cut).pow(2) + 1.0 / ((-cut).log1p() - cut.log()).pow(2)
        x = (self.probs - 0.5).pow(2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return where(self._outside_unstable_region(), var, taylor)

    @property
    def stddev(self):
        return self.variance.sqrt()

    # ------------------------------------------------------------------------------ sampling and densities
    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        u = rand(shape, dtype=self.probs.dtype, device=self.probs.device)
        return self.icdf(u)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -F.binary_cross_entropy_with_logits(logits, value, reduction="none") + self._cont_bern_log_norm()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value, "cdf")
        cut = self._cut_probs()
        cdfs = (cut.pow(value) * (1.0 - cut).pow(1.0 - value) + cut - 1.0) / (2.0 * cut - 1.0)
        inside = where(self._outside_unstable_region(), cdfs, value)
        return where(value <= 0.0, 0.0, where(value >= 1.0, 1.0, inside))

    def icdf(self, value):
        cut = self._cut_probs()
        closed = (((2.0 * cut - 1.0) * value - cut).log1p() - (-cut).log1p()) / (cut.log() - (-cut).log1p())
        return where(self._outside_unstable_region(), closed, value)

    def entropy(self):
        log_p0, log_p1 = (-self.probs).log1p(), self.probs.log()
        return self.mean * (log_p0 - log_p1) - self._cont_bern_log_norm() - log_p0

    # ------------------------------------------------------------------------------ exponential family
    @property
    def _natural_params(self):
        return (self.logits,)

    def _log_normalizer(self, x):
        """log((e^x - 1) / x); near x = 0 the series x/2 + x^2/24 - x^4/2880."""
        lo, hi = self._lims[0] - 0.5, self._lims[1] - 0.5
        outside = (x <= lo) | (x > hi)
        cut = where(outside, x, lo)
        log_norm = cut.expm1().abs().log() - cut.abs().log()
        taylor = 0.5 * x + x.pow(2) / 24.0 - x.pow(4) / 2880.0
        return where(outside, log_norm, taylor)
