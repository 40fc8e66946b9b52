"""The CUDA default generators, one Philox4x32-10 generator (seed, offset) per device, with
torch.cuda's seeding functions. With the same state a CUDA op draws the numbers the CPU op draws
(cuda/random.cu lists the ops that match bit for bit). Seeding without a GPU is silently ignored,
like torch.cuda.manual_seed; reading a state needs a device."""
from .. import _C
from .._ops.random import _cuda_default, _seed_value

__all__ = ["manual_seed", "manual_seed_all", "seed", "seed_all", "initial_seed", "get_rng_state",
           "set_rng_state", "get_rng_state_all", "set_rng_state_all", "default_generator"]


def _count():
    return _C.cuda_device_count()


def _current():
    return _C.cuda_current_device()


def default_generator(device=None):
    """The default generator of `device` (None: the current device) as a pyml.Generator."""
    from . import _index, _require
    _require("default_generator")
    return _cuda_default(_index(device, "default_generator"))


def manual_seed(seed):
    """Seeds the current device's generator (offset back to 0)."""
    s = _seed_value(seed, "manual_seed")
    if _count() > 0:
        _C.cuda_default_generator(_current()).manual_seed(s)


def manual_seed_all(seed):
    """Seeds every device's generator."""
    s = _seed_value(seed, "manual_seed_all")
    for i in range(_count()):
        _C.cuda_default_generator(i).manual_seed(s)


def seed():
    """A fresh nondeterministic seed for the current device's generator."""
    if _count() > 0:
        _C.cuda_default_generator(_current()).seed()


def seed_all():
    """One fresh nondeterministic seed for every device's generator."""
    if _count() > 0:
        s = _C.cuda_default_generator(0).seed()
        for i in range(1, _count()):
            _C.cuda_default_generator(i).manual_seed(s)


def initial_seed():
    """The seed the current device's generator was last seeded with."""
    return default_generator().initial_seed()


def get_rng_state(device="cuda"):
    """The state of `device`'s generator: a cpu uint8 tensor of 16 bytes (seed, offset)."""
    return default_generator(device).get_state()


def set_rng_state(new_state, device="cuda"):
    default_generator(device).set_state(new_state)


def get_rng_state_all():
    return [get_rng_state(i) for i in range(_count())]


def set_rng_state_all(new_states):
    for i, s in enumerate(new_states):
        set_rng_state(s, i)
