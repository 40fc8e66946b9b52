"""Parametrizations with torch's names and state_dict keys: weight_norm (original0 = g, original1 = v),
spectral_norm (original plus the power-iteration vectors _u, _v as buffers of the parametrization; the
weight-as-matrix reshape is shared with the hook-based spectral_norm.py) and orthogonal (orthogonal.py)."""
import pyml
from ...autograd import grad_mode
from ..modules.module import Module
from .._functional.distance import normalize
from . import parametrize
from .orthogonal import orthogonal
from .spectral_norm import weight_matrix

__all__ = ["orthogonal", "weight_norm", "spectral_norm"]


def _norm_except_dim(v, dim):
    """||v|| over every dim but `dim`, shaped to broadcast against v (dim == -1: the whole tensor)."""
    if dim == -1:
        return pyml.norm(v, 2)
    dims = [d for d in range(v.ndim) if d != dim]
    return pyml.norm(v, 2, dim=dims, keepdim=True) if dims else pyml.abs(v)


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight):
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """module.<name> = g * v / ||v|| with g (original0) and v (original1) as parameters."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def compat_hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)
    module._register_load_state_dict_pre_hook(compat_hook)
    return module


class _SpectralNorm(Module):
    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            w = self._reshape_weight_to_matrix(weight.detach())
            h, wd = w.shape
            u = pyml.empty(h, dtype=w.dtype).normal_(0, 1)
            v = pyml.empty(wd, dtype=w.dtype).normal_(0, 1)
            self.register_buffer("_u", normalize(u, dim=0, eps=self.eps))
            self.register_buffer("_v", normalize(v, dim=0, eps=self.eps))
            self._power_method(w, 15)

    def _reshape_weight_to_matrix(self, weight):
        return weight_matrix(weight, self.dim)

    def _power_method(self, weight_mat, n_power_iterations):
        with grad_mode.no_grad():
            for _ in range(n_power_iterations):  # u, v are updated in place: the buffers keep their identity
                normalize(pyml.mv(weight_mat, self._v), dim=0, eps=self.eps, out=self._u)
                normalize(pyml.mv(weight_mat.t(), self._u), dim=0, eps=self.eps, out=self._v)

    def forward(self, weight):
        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat.detach(), self.n_power_iterations)
        u = self._u.clone()
        v = self._v.clone()
        sigma = pyml.dot(u, pyml.mv(weight_mat, v))
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """module.<name> = W / sigma(W), sigma estimated by power iteration (one step per training forward)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, pyml.Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
