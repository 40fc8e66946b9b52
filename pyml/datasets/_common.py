"""Argument checks and random-generator plumbing shared by the pyml.datasets builders.

Every synthetic builder takes `generator=` (a pyml.Generator) or `seed=` (an int that builds a fresh
generator), never both; with neither it draws from pyml's default generator like pyml.rand does.
The checks raise the library's usual `<name>: <what is required>, got <value>` errors.
"""
import numbers

from .._ops.random import Generator


def make_generator(name, generator=None, seed=None):
    """The generator a builder draws from: a fresh one seeded with `seed`, `generator`, or None
    (meaning pyml's default generator)."""
    if generator is not None and seed is not None:
        raise ValueError(f"{name}: pass either generator or seed, not both, got generator={generator!r} "
                         f"and seed={seed!r}")
    if seed is not None:
        return Generator().manual_seed(check_int(name, "seed", seed, minimum=0))
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(f"{name}: generator must be a pyml.Generator, got {type(generator).__name__}")
    return generator


def check_int(name, arg, value, minimum=None):
    """`value` as an int, refusing bools, floats and values below `minimum`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: {arg} must be an int, got {type(value).__name__} ({value!r})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: {arg} must be >= {minimum}, got {value}")
    return int(value)


def check_float(name, arg, value, minimum=None):
    """`value` as a float, refusing bools, non-numbers and values below `minimum`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: {arg} must be a real number, got {type(value).__name__} ({value!r})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: {arg} must be >= {minimum}, got {value}")
    return float(value)


def check_range(name, arg, value):
    """A (low, high) pair of floats with low <= high."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name}: {arg} must be a (low, high) pair, got {value!r}")
    low, high = (check_float(name, arg, v) for v in value)
    if low > high:
        raise ValueError(f"{name}: {arg} must have low <= high, got {value!r}")
    return low, high


def split_evenly(total, parts):
    """`total` items dealt into `parts` groups as evenly as possible, the first groups taking the
    remainder: split_evenly(7, 3) == [3, 2, 2]."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]
