"""MixtureSameFamily(mixture_distribution, component_distribution): a finite mixture whose K components are
the rightmost batch dim of one distribution (batch_shape B + (K,), event_shape E) and whose weights are a
Categorical over K (batch_shape broadcastable with B). The mixture has batch_shape B and event_shape E.

log_prob is logsumexp_k(log w_k + log p_k(x)) with x unsqueezed into the K dim; mean and variance are the
law of total expectation / variance; cdf is the weighted sum of the components' cdfs. sample draws an index
per element and gathers that component's sample (no rsample: the index is discrete).
"""
from .. import gather, log_softmax
from .._tensor import Size
from ..autograd import no_grad
from . import constraints
from .categorical import Categorical
from .distribution import Distribution

__all__ = ["MixtureSameFamily"]

_OP = "MixtureSameFamily"


def _check_parts(mixture, component):
    """The mixture's batch_shape must broadcast with the component's minus its K dim, and both must count K."""
    if not isinstance(mixture, Categorical):
        raise ValueError(f"{_OP}: the mixture distribution must be a pyml.distributions.Categorical, got "
                         f"{type(mixture).__name__}")
    if not isinstance(component, Distribution):
        raise ValueError(f"{_OP}: the component distribution must be a pyml.distributions.Distribution, got "
                         f"{type(component).__name__}")
    if len(component.batch_shape) < 1:
        raise ValueError(f"{_OP}: component_distribution.batch_shape must end with the K components, got "
                         f"{tuple(component.batch_shape)}")
    mdbs, cdbs = tuple(mixture.batch_shape), tuple(component.batch_shape[:-1])
    for a, b in zip(reversed(mdbs), reversed(cdbs)):
        if a != 1 and b != 1 and a != b:
            raise ValueError(f"{_OP}: mixture_distribution.batch_shape {mdbs} is not compatible with "
                             f"component_distribution.batch_shape[:-1] {cdbs}")
    km, kc = mixture.logits.shape[-1], component.batch_shape[-1]
    if km != kc:
        raise ValueError(f"{_OP}: the mixture's number of components ({km}) must equal "
                         f"component_distribution.batch_shape[-1] ({kc})")
    return km


class MixtureSameFamily(Distribution):
    arg_constraints = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        self._num_component = _check_parts(mixture_distribution, component_distribution)
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        event_shape = component_distribution.event_shape
        self._event_ndims = len(event_shape)
        super().__init__(component_distribution.batch_shape[:-1], event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MixtureSameFamily, _instance)
        batch_shape = self._expand_batch(batch_shape, f"{_OP}.expand")
        new._component_distribution = self._component_distribution.expand(
            tuple(batch_shape) + (self._num_component,))
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        new._num_component = self._num_component
        new._event_ndims = self._event_ndims
        return self._expanded(new, batch_shape)

    @constraints.dependent_property
    def support(self):
        return constraints.MixtureSameFamilyConstraint(self._component_distribution.support)

    @property
    def mixture_distribution(self):
        return self._mixture_distribution

    @property
    def component_distribution(self):
        return self._component_distribution

    def _pad(self, x):
        """A value with the K dim inserted before its event dims."""
        return x.unsqueeze(-1 - self._event_ndims)

    def _weights(self):
        """Mixture probs shaped to broadcast against component values: (..., K) + (1,) * event dims."""
        probs = self._mixture_distribution.probs
        return probs.reshape(tuple(probs.shape) + (1,) * self._event_ndims)

    @property
    def mean(self):
        return (self._weights() * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self):
        w, k_dim = self._weights(), -1 - self._event_ndims
        comp = self._component_distribution
        mean_cond_var = (w * comp.variance).sum(k_dim)
        var_cond_mean = (w * (comp.mean - self._pad(self.mean)).pow(2)).sum(k_dim)
        return mean_cond_var + var_cond_mean  # law of total variance

    def cdf(self, x):
        cdf_x = self._component_distribution.cdf(self._pad(x))
        return (cdf_x * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, x):
        if self._validate_args:
            self._validate_sample(x)
        log_prob_x = self._component_distribution.log_prob(self._pad(x))  # (S, B, K)
        log_mix = log_softmax(self._mixture_distribution.logits, -1)  # (B, K)
        return (log_prob_x + log_mix).logsumexp(-1)  # (S, B)

    def sample(self, sample_shape=Size()):
        with no_grad():
            gather_dim = len(tuple(sample_shape)) + len(self._batch_shape)
            es = tuple(self._event_shape)
            mix = self._mixture_distribution
            if mix.batch_shape != self._batch_shape:  # a broadcast Categorical; torch fails to gather here
                mix = mix.expand(self._batch_shape)
            mix_sample = mix.sample(sample_shape)  # (S, B)
            comp_samples = self._component_distribution.sample(sample_shape)  # (S, B, K, E)
            index = mix_sample.reshape(tuple(mix_sample.shape) + (1,) * (len(es) + 1))
            index = index.expand(tuple(mix_sample.shape) + (1,) + es)  # (S, B, 1, E)
            return gather(comp_samples, gather_dim, index).squeeze(gather_dim)

    def __repr__(self):
        return f"{_OP}(\n  {self._mixture_distribution},\n  {self._component_distribution})"
