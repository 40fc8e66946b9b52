"""TransformedDistribution(base_distribution, transforms): Y = f(X) with X ~ base and f the composition of
transforms (applied left to right), like torch.distributions.TransformedDistribution.

log p(y) = log p_base(x) - sum_t log|det J_t| with x = f^-1(y), each term summed over the dims the transform
treats as batch but Y treats as event. Y's event_shape is the larger of the transform's codomain event and
the base's event carried through f, so a vector transform of a scalar base turns batch dims into the event
(the base is then wrapped in Independent). cdf/icdf go through the base's cdf/icdf and are flipped
(u -> 1 - u) when the composed sign is -1, so they only make sense for monotone transforms.
"""
from .._tensor import Size
from ..autograd import no_grad
from . import constraints
from .distribution import Distribution
from .independent import Independent
from .transforms import ComposeTransform, Transform
from .utils import sum_rightmost

__all__ = ["TransformedDistribution"]


def _as_transform_list(transforms):
    if isinstance(transforms, Transform):
        return [transforms]
    if isinstance(transforms, list):
        if not all(isinstance(t, Transform) for t in transforms):
            raise ValueError(f"TransformedDistribution: transforms must be a Transform or a list of Transforms, "
                             f"got {transforms!r}")
        return transforms
    raise ValueError(f"TransformedDistribution: transforms must be a Transform or list, but was {transforms!r}")


def _fit_base(base, transform):
    """The base expanded to the shape the transforms need (they may broadcast it), and wrapped in Independent
    when the transform's domain has more event dims than the base."""
    base_shape = Size(tuple(base.batch_shape) + tuple(base.event_shape))
    base_event_dim = len(base.event_shape)
    if len(base_shape) < transform.domain.event_dim:
        raise ValueError(f"TransformedDistribution: base_distribution needs a shape of at least "
                         f"{transform.domain.event_dim} dims, but got {tuple(base_shape)}")
    forward_shape = transform.forward_shape(base_shape)
    expanded = tuple(transform.inverse_shape(forward_shape))
    if tuple(base_shape) != expanded:
        base = base.expand(expanded[:len(expanded) - base_event_dim])
    if transform.domain.event_dim > base_event_dim:
        base = Independent(base, transform.domain.event_dim - base_event_dim)
    return base, forward_shape


class TransformedDistribution(Distribution):
    arg_constraints = {}

    def __init__(self, base_distribution, transforms, validate_args=None):
        self.transforms = _as_transform_list(transforms)
        transform = ComposeTransform(self.transforms)
        base_event_dim = len(base_distribution.event_shape)
        self.base_dist, forward_shape = _fit_base(base_distribution, transform)
        # coupled by the transform, or by the base's own event carried through it
        event_dim = max(transform.codomain.event_dim,
                        base_event_dim + transform.codomain.event_dim - transform.domain.event_dim)
        cut = len(forward_shape) - event_dim
        super().__init__(Size(tuple(forward_shape[:cut])), Size(tuple(forward_shape[cut:])),
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(TransformedDistribution, _instance)
        batch_shape = self._expand_batch(batch_shape, f"{type(self).__name__}.expand")
        shape = Size(tuple(batch_shape) + tuple(self.event_shape))
        for t in reversed(self.transforms):
            shape = t.inverse_shape(shape)
        new.base_dist = self.base_dist.expand(tuple(shape)[:len(shape) - len(self.base_dist.event_shape)])
        new.transforms = self.transforms
        return self._expanded(new, batch_shape)

    @constraints.dependent_property(is_discrete=False)
    def support(self):
        if not self.transforms:
            return self.base_dist.support
        support = self.transforms[-1].codomain
        if len(self.event_shape) > support.event_dim:
            support = constraints.independent(support, len(self.event_shape) - support.event_dim)
        return support

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    def sample(self, sample_shape=Size()):
        with no_grad():
            return self._apply_transforms(self.base_dist.sample(sample_shape))

    def rsample(self, sample_shape=Size()):
        return self._apply_transforms(self.base_dist.rsample(sample_shape))

    def _apply_transforms(self, x):
        """f(x) for a base sample x: the transforms applied in order."""
        for transform in self.transforms:
            x = transform(x)
        return x

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        event_dim = len(self.event_shape)
        log_prob, y = 0.0, value
        for transform in reversed(self.transforms):
            x = transform.inv(y)
            event_dim += transform.domain.event_dim - transform.codomain.event_dim
            log_prob = log_prob - sum_rightmost(transform.log_abs_det_jacobian(x, y),
                                                event_dim - transform.domain.event_dim)
            y = x
        return log_prob + sum_rightmost(self.base_dist.log_prob(y), event_dim - len(self.base_dist.event_shape))

    def _monotonize_cdf(self, value):
        """value, or 1 - value where the composed transform is decreasing (sign -1)."""
        sign = 1
        for transform in self.transforms:
            sign = sign * transform.sign
        if isinstance(sign, int) and sign == 1:
            return value
        return sign * (value - 0.5) + 0.5

    def cdf(self, value):
        for transform in reversed(self.transforms):
            value = transform.inv(value)
        if self._validate_args:
            self.base_dist._validate_sample(value, "cdf")
        return self._monotonize_cdf(self.base_dist.cdf(value))

    def icdf(self, value):
        value = self.base_dist.icdf(self._monotonize_cdf(value))
        for transform in self.transforms:
            value = transform(value)
        return value
