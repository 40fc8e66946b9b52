"""ExponentialFamily: the base class of distributions with density p(x; t) = exp(<t, T(x)> - F(t) + k(x)),
t the natural parameters, F the log normaliser and E_p[k(x)] the mean carrier measure, like
torch.distributions.ExponentialFamily.

Since grad F(t) = E_p[T(x)], the entropy is -E[k] + F(t) - <t, grad F(t)>, and KL(p || q) between two members
of one family is the Bregman divergence F(t_q) - F(t_p) - <t_q - t_p, grad F(t_p)> (kl_more.py). grad F comes
from pyml.autograd.grad with create_graph, so both stay differentiable. Unlike torch, natural parameters that
already carry a graph are differentiated in place (not detached), so the entropy's gradient reaches the
distribution's parameters too.
"""
from ..autograd import grad, enable_grad
from .distribution import Distribution
from .utils import sum_rightmost

__all__ = ["ExponentialFamily"]


def log_normalizer_and_grad(dist):
    """(natural params as differentiated, F(t), grad F(t)) for an ExponentialFamily instance."""
    with enable_grad():
        params = [t if t.requires_grad else t.detach().requires_grad_() for t in dist._natural_params]
        log_norm = dist._log_normalizer(*params)
        grads = grad(log_norm.sum(), params, create_graph=True)
    return params, log_norm, grads


def sum_beyond_batch(term, n_batch):
    """term summed over its dims after the first n_batch (a natural parameter's own dims: none for a scalar
    parameter, two for a matrix one)."""
    return sum_rightmost(term, max(term.dim() - n_batch, 0))


class ExponentialFamily(Distribution):
    """Subclasses give _natural_params (a tuple of tensors), _log_normalizer(*natural_params) and
    _mean_carrier_measure (a number)."""

    @property
    def _natural_params(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement _natural_params")

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError(f"{type(self).__name__} does not implement _log_normalizer")

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement _mean_carrier_measure")

    def entropy(self):
        params, log_norm, grads = log_normalizer_and_grad(self)
        result = log_norm - self._mean_carrier_measure
        for t, g in zip(params, grads):
            result = result - sum_beyond_batch(t * g, len(self._batch_shape))
        return result
