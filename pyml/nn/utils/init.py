"""skip_init (torch.nn.utils.skip_init): build a module whose parameters and buffers are left uninitialised.

torch builds the module on the meta device and then allocates empty storage. pyml has no meta device, so
the module is built on the CPU with the global CPU generator forked (the initialisers' draws leave no
trace: the RNG state after skip_init is the one before), then moved to `device` as empty storage.
"""
import inspect

from ..modules.module import Module

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """module_cls(*args, **kwargs) with uninitialised parameters/buffers; module_cls must take `device`."""
    from ...random import fork_rng
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise TypeError(f"skip_init: expected a Module subclass, got {module_cls!r}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise ValueError(f"skip_init: module {module_cls.__name__} must accept a 'device' argument to skip "
                         "initialization, got a constructor without one")
    device = kwargs.pop("device", "cpu")
    with fork_rng(devices=[]):
        module = module_cls(*args, device="cpu", **kwargs)
    return module.to_empty(device=device)
