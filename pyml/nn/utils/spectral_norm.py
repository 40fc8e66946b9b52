"""The older hook-based spectral_norm (torch.nn.utils.spectral_norm): parameter <name>_orig, buffers
<name>_u and <name>_v, and a forward pre-hook that sets module.<name> = W / sigma(W), where
sigma = u^T W v and W is <name>_orig seen as a matrix (dim first, the other dims flattened).
In training mode every forward first runs n_power_iterations power-iteration steps, updating u and v in
place (v = normalize(W^T u), then u = normalize(W v)); eval mode reuses them. New code should use
parametrizations.spectral_norm, which shares weight_matrix below.
"""
import pyml
from ...autograd import grad_mode
from .._functional.distance import normalize
from ..parameter import Parameter

__all__ = ["SpectralNorm", "spectral_norm", "remove_spectral_norm", "weight_matrix"]


def weight_matrix(weight, dim):
    """weight as a (size(dim), -1) matrix: dim moved to the front, the others flattened."""
    if dim != 0:
        weight = weight.permute(dim, *(d for d in range(weight.ndim) if d != dim))
    return weight.reshape(weight.shape[0], -1)


def _find(hooks, cls, name):
    """(hook id, hook) of the first hook of type cls for parameter `name`, or None."""
    for hid, hook in hooks.items():
        if isinstance(hook, cls) and getattr(hook, "fn", hook).name == name:
            return hid, hook
    return None


class SpectralNorm:
    """Forward pre-hook computing module.<name> from <name>_orig, <name>_u and <name>_v."""

    _version = 1  # version 1: <name> is not a buffer, v is one, eval mode uses u^T W v

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name, self.dim = name, dim
        self.n_power_iterations, self.eps = n_power_iterations, eps

    def reshape_weight_to_matrix(self, weight):
        return weight_matrix(weight, self.dim)

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        w = self.reshape_weight_to_matrix(weight)  # (H, W)
        if do_power_iteration:
            with grad_mode.no_grad():
                for _ in range(self.n_power_iterations):  # in place: the buffers keep their identity
                    normalize(pyml.mv(w.t(), u), dim=0, eps=self.eps, out=v)
                    normalize(pyml.mv(w, v), dim=0, eps=self.eps, out=u)
            # clones: a graph built by this forward must not see the next forward's in-place updates
            u, v = u.clone(), v.clone()
        sigma = pyml.dot(u, pyml.mv(w, v))
        return weight / sigma

    def remove(self, module):
        with grad_mode.no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        for suffix in ("", "_u", "_v", "_orig"):
            delattr(module, self.name + suffix)
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    def _solve_v_and_rescale(self, weight_mat, u, target_sigma):
        """A v with u = normalize(W v) and u^T W v = target_sigma (pinv: W^T W may be singular)."""
        v = pyml.linalg.multi_dot([pyml.linalg.pinv(weight_mat.t().mm(weight_mat)), weight_mat.t(),
                                   u.unsqueeze(1)]).squeeze(1)
        return v.mul_(target_sigma / pyml.dot(u, pyml.mv(weight_mat, v)))

    @staticmethod
    def apply(module, name, n_power_iterations, dim, eps):
        if _find(module._forward_pre_hooks, SpectralNorm, name) is not None:
            raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters.get(name)
        if weight is None:
            raise ValueError(f"spectral_norm: module {type(module).__name__} must have a parameter '{name}', "
                             f"got {'None' if name in module._parameters else 'no such parameter'}")
        with grad_mode.no_grad():
            h, w = fn.reshape_weight_to_matrix(weight).shape
            u = normalize(pyml.empty(h, dtype=weight.dtype, device=weight.device).normal_(0, 1), dim=0, eps=eps)
            v = normalize(pyml.empty(w, dtype=weight.dtype, device=weight.device).normal_(0, 1), dim=0, eps=eps)
        delattr(module, name)
        module.register_parameter(name + "_orig", weight)
        setattr(module, name, weight.detach())  # a plain attribute until the first forward, like torch
        module.register_buffer(name + "_u", u)
        module.register_buffer(name + "_v", v)
        module.register_forward_pre_hook(fn)
        module.register_state_dict_post_hook(SpectralNormStateDictHook(fn))
        module._register_load_state_dict_pre_hook(SpectralNormLoadStateDictPreHook(fn))
        return fn


class SpectralNormStateDictHook:
    """Records metadata['spectral_norm']['<name>.version'] in the state_dict, like torch."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, module, state_dict, prefix, metadata):
        if metadata is None:
            return
        local = metadata.get(prefix[:-1], metadata)  # the module's own entry of the state_dict's metadata
        key = self.fn.name + ".version"
        entry = local.setdefault("spectral_norm", {})
        if key in entry:
            raise RuntimeError(f"Unexpected key in metadata['spectral_norm']: {key}")
        entry[key] = self.fn._version


class SpectralNormLoadStateDictPreHook:
    """Converts a version-0 state_dict (stored <name>, no <name>_v) by solving for v."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
        fn = self.fn
        version = local_metadata.get("spectral_norm", {}).get(fn.name + ".version", None)
        if version is not None and version >= 1:
            return
        key = prefix + fn.name
        if version is None and key not in state_dict and all(key + s in state_dict for s in ("_orig", "_u", "_v")):
            return  # current format, only the metadata is missing
        absent = [key + s for s in ("_orig", "", "_u") if key + s not in state_dict]
        if absent:
            if strict:
                missing_keys.extend(absent)
            return
        with grad_mode.no_grad():
            weight_orig = state_dict[key + "_orig"]
            sigma = (weight_orig / state_dict.pop(key)).mean()
            state_dict[key + "_v"] = fn._solve_v_and_rescale(fn.reshape_weight_to_matrix(weight_orig),
                                                             state_dict[key + "_u"], sigma)


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Spectral normalisation of module.<name> by a forward pre-hook; dim defaults to 1 for
    ConvTranspose modules (their output channels), else 0."""
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module, name="weight"):
    """Turn module.<name> back into one parameter holding the current W / sigma (no power iteration)."""
    found = _find(module._forward_pre_hooks, SpectralNorm, name)
    if found is None:
        raise ValueError(f"spectral_norm of '{name}' not found in {module}")
    hid, hook = found
    hook.remove(module)
    del module._forward_pre_hooks[hid]
    for hooks, cls in ((module._state_dict_hooks, SpectralNormStateDictHook),
                       (module._load_state_dict_pre_hooks, SpectralNormLoadStateDictPreHook)):
        found = _find(hooks, cls, name)
        if found is not None:
            del hooks[found[0]]
    return module
