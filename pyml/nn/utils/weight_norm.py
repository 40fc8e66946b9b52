"""The older hook-based weight_norm (torch.nn.utils.weight_norm): parameters <name>_g and <name>_v, and a
forward pre-hook that sets module.<name> = g * v / ||v||. New code should use parametrizations.weight_norm."""
from ..parameter import Parameter
from .parametrizations import _norm_except_dim

__all__ = ["WeightNorm", "weight_norm", "remove_weight_norm"]


def _find_hook(module, name):
    """(hook id, WeightNorm) registered on module for parameter `name`, or None."""
    for hid, hook in module._forward_pre_hooks.items():
        if isinstance(hook, WeightNorm) and hook.name == name:
            return hid, hook
    return None


class WeightNorm:
    """Forward pre-hook that rebuilds module.<name> from a magnitude <name>_g and a direction <name>_v."""

    def __init__(self, name, dim):
        self.name = name
        self.dim = -1 if dim is None else dim  # None: one norm over the whole tensor

    def compute_weight(self, module):
        direction = getattr(module, self.name + "_v")
        magnitude = getattr(module, self.name + "_g")
        return direction * (magnitude / _norm_except_dim(direction, self.dim))

    @staticmethod
    def apply(module, name, dim):
        if _find_hook(module, name) is not None:
            raise RuntimeError(f"weight_norm: parameter '{name}' already has a weight_norm hook")
        hook = WeightNorm(name, dim)
        weight = getattr(module, name)
        magnitude = Parameter(_norm_except_dim(weight, hook.dim).detach())
        direction = Parameter(weight.detach())
        del module._parameters[name]
        module.register_parameter(name + "_g", magnitude)
        module.register_parameter(name + "_v", direction)
        setattr(module, name, hook.compute_weight(module))  # a plain attribute, refreshed before each forward
        module.register_forward_pre_hook(hook)
        return hook

    def remove(self, module):
        """Turn module.<name> back into one parameter holding the current g * v / ||v||."""
        final = Parameter(self.compute_weight(module).detach())
        delattr(module, self.name)
        for suffix in ("_g", "_v"):
            del module._parameters[self.name + suffix]
        setattr(module, self.name, final)

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module, name="weight", dim=0):
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module, name="weight"):
    found = _find_hook(module, name)
    if found is None:
        raise ValueError(f"remove_weight_norm: parameter '{name}' of {module} has no weight_norm hook")
    hid, hook = found
    hook.remove(module)
    del module._forward_pre_hooks[hid]
    return module
