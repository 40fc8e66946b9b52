"""pyml.random: torch.random's seeding and RNG-state functions.

Everything delegates to the engine's default generators (pyml/_ops/random.py for the CPU, pyml.cuda.random
for each CUDA device). fork_rng saves the CPU state and the chosen CUDA devices' states and restores them on
exit; without a GPU it forks the CPU generator only.
"""
import contextlib
import warnings

from ._ops.random import (manual_seed, seed, initial_seed, get_rng_state, set_rng_state,  # noqa: F401
                          default_generator)

__all__ = ["manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "fork_rng",
           "default_generator"]

_fork_rng_warned_already = False


def _device_module(device_type):
    if device_type not in (None, "cuda"):
        raise ValueError(f"fork_rng: device_type must be 'cuda' (pyml's only accelerator), got {device_type!r}")
    from . import cuda
    return cuda


def _fork_devices(devices, mod, caller):
    """The device indices to fork: all of them by default (with torch's warning above one device)."""
    global _fork_rng_warned_already
    if devices is not None:
        return list(devices)  # a generator argument is read once
    n = mod.device_count()
    if n > 1 and not _fork_rng_warned_already:
        warnings.warn(f"CUDA reports that you have {n} available devices, and you have used {caller} without "
                      "explicitly specifying which devices are being used; every device is forked. Pass "
                      f"devices=range({n}) to silence this warning, or the devices you use.", stacklevel=3)
        _fork_rng_warned_already = True
    return list(range(n))


def _capture(devices):
    """The CPU generator's state and those of the CUDA `devices` (what fork_rng, checkpoint and vmap keep)."""
    from . import cuda
    return get_rng_state(), {d: cuda.get_rng_state(d) for d in devices}


def _restore(states):
    """Put back what _capture took."""
    from . import cuda
    cpu, device_states = states
    set_rng_state(cpu)
    for d, s in device_states.items():
        cuda.set_rng_state(s, d)


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices", device_type="cuda"):
    """Forks the RNG: on exit the CPU generator and the CUDA generators of `devices` (default: all)
    are back in the states they had on entry. enabled=False makes it a no-op."""
    if device_type == "meta" or not enabled:
        yield
        return
    mod = _device_module(device_type)
    devices = _fork_devices(devices, mod, _caller)
    states = _capture(devices)
    try:
        yield
    finally:
        _restore(states)
