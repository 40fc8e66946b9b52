"""Synthetic 2-D (or D-dimensional) classification sets: two moons, K interleaved spirals and a
mixture of isotropic Gaussians.

Each builder returns (X float32 (N, D), y int64 (N,)) pyml tensors. The noise-free geometry is laid
out on evenly spaced parameters (as scikit-learn's make_moons does), computed in float64 and cast
once; Gaussian noise and the shuffle are drawn with pyml.randn / pyml.randperm from the
builder's generator, so `seed=` or `generator=` makes a set reproducible.
"""
import math

import pyml
from ._common import check_float, check_int, check_range, make_generator, split_evenly


def _finish(x, y, noise, shuffle, gen):
    """Cast to float32, add N(0, noise^2) to every coordinate, then shuffle rows when asked."""
    x = x.to(pyml.float32)
    if noise > 0:
        x = x + noise * pyml.randn(*x.shape, generator=gen)
    if shuffle:
        perm = pyml.randperm(x.shape[0], generator=gen)
        x, y = x[perm], y[perm]
    return x, y


def _labels(counts):
    """int64 labels: counts[k] copies of k, in class order."""
    return pyml.tensor([k for k, n in enumerate(counts) for _ in range(n)], dtype=pyml.int64)


def _moon_sizes(n_samples):
    if isinstance(n_samples, (tuple, list)):
        if len(n_samples) != 2:
            raise ValueError(f"make_moons: n_samples as a sequence must be (n_outer, n_inner), got {n_samples!r}")
        return [check_int("make_moons", "n_samples[i]", n, minimum=1) for n in n_samples]
    n = check_int("make_moons", "n_samples", n_samples, minimum=2)
    return [n // 2, n - n // 2]


def make_moons(n_samples=100, noise=0.0, shuffle=True, generator=None, seed=None):
    """Two interleaving half circles. The outer moon (label 0) is (cos t, sin t), the inner one
    (label 1) is (1 - cos t, 0.5 - sin t), t evenly spaced in [0, pi]; both have radius 1, centred on
    (0, 0) and (1, 0.5). n_samples: an int (outer gets n // 2) or a pair (n_outer, n_inner)."""
    n_out, n_in = _moon_sizes(n_samples)
    noise = check_float("make_moons", "noise", 0.0 if noise is None else noise, minimum=0.0)
    gen = make_generator("make_moons", generator, seed)
    t_out = pyml.linspace(0.0, math.pi, n_out, dtype=pyml.float64)
    t_in = pyml.linspace(0.0, math.pi, n_in, dtype=pyml.float64)
    outer = pyml.stack([pyml.cos(t_out), pyml.sin(t_out)], dim=1)             # (n_out, 2)
    inner = pyml.stack([1.0 - pyml.cos(t_in), 0.5 - pyml.sin(t_in)], dim=1)   # (n_in, 2)
    x = pyml.cat([outer, inner])
    return _finish(x, _labels([n_out, n_in]), noise, shuffle, gen)


def _spiral_arm(k, n_classes, n, turns, inner_radius):
    """Arm k: radius r rising evenly from inner_radius to 1, angle 2*pi*(k/K + turns*r)."""
    r = pyml.linspace(inner_radius, 1.0, n, dtype=pyml.float64)
    angle = 2.0 * math.pi * (k / n_classes + turns * r)
    return pyml.stack([r * pyml.cos(angle), r * pyml.sin(angle)], dim=1)      # (n, 2)


def make_spirals(n_samples=100, n_classes=2, noise=0.0, turns=1.0, inner_radius=0.1, shuffle=True,
                 generator=None, seed=None):
    """`n_classes` spiral arms around the origin, label k on arm k. A point at radius r (evenly spaced
    in [inner_radius, 1]) on arm k sits at angle 2*pi*(k/n_classes + turns*r): the arms are rotated
    copies of one another, each winding `turns` times. Samples are dealt as evenly as possible."""
    n_classes = check_int("make_spirals", "n_classes", n_classes, minimum=2)
    n = check_int("make_spirals", "n_samples", n_samples, minimum=n_classes)
    noise = check_float("make_spirals", "noise", noise, minimum=0.0)
    turns = check_float("make_spirals", "turns", turns, minimum=0.0)
    inner_radius = check_float("make_spirals", "inner_radius", inner_radius, minimum=0.0)
    if inner_radius >= 1.0:
        raise ValueError(f"make_spirals: inner_radius must be < 1 (the outer radius), got {inner_radius}")
    gen = make_generator("make_spirals", generator, seed)
    counts = split_evenly(n, n_classes)
    x = pyml.cat([_spiral_arm(k, n_classes, c, turns, inner_radius) for k, c in enumerate(counts)])
    return _finish(x, _labels(counts), noise, shuffle, gen)


def _mixture_centers(centers, n_features, center_box, gen):
    """(K, D) float32 centres: given ones as they are, or K drawn uniformly in center_box^D."""
    if isinstance(centers, (pyml.Tensor, list, tuple)):
        c = centers if isinstance(centers, pyml.Tensor) else pyml.tensor(centers)
        if len(c.shape) != 2 or c.shape[0] < 1 or c.shape[1] < 1:
            raise ValueError(f"make_gaussian_mixture: centers must be an int or a (K, D) array with K, D >= 1, "
                             f"got shape {tuple(c.shape)}")
        return c.to(pyml.float32)
    k = check_int("make_gaussian_mixture", "centers", centers, minimum=1)
    d = check_int("make_gaussian_mixture", "n_features", n_features, minimum=1)
    low, high = check_range("make_gaussian_mixture", "center_box", center_box)
    return low + (high - low) * pyml.rand(k, d, generator=gen)


def _mixture_stds(std, k):
    """Per-component standard deviations as a float32 (K,) tensor."""
    stds = list(std) if isinstance(std, (list, tuple)) else [std] * k
    if len(stds) != k:
        raise ValueError(f"make_gaussian_mixture: std must be a number or one value per center ({k}), "
                         f"got {len(stds)} values")
    return pyml.tensor([check_float("make_gaussian_mixture", "std", s, minimum=0.0) for s in stds])


def make_gaussian_mixture(n_samples=100, centers=3, std=1.0, n_features=2, center_box=(-10.0, 10.0),
                          shuffle=True, return_centers=False, generator=None, seed=None):
    """Isotropic Gaussian blobs: component k is N(centers[k], std_k^2 I), label k. centers: an int K
    (drawn uniformly in center_box^n_features) or a (K, D) tensor/list. std: one value or one per
    component. Samples are dealt as evenly as possible. With return_centers, also returns (K, D)."""
    gen = make_generator("make_gaussian_mixture", generator, seed)
    mu = _mixture_centers(centers, n_features, center_box, gen)          # (K, D)
    k = mu.shape[0]
    n = check_int("make_gaussian_mixture", "n_samples", n_samples, minimum=k)
    sigma = _mixture_stds(std, k)                                         # (K,)
    y = _labels(split_evenly(n, k))
    x = mu[y] + sigma[y].unsqueeze(1) * pyml.randn(n, mu.shape[1], generator=gen)
    x, y = _finish(x, y, 0.0, shuffle, gen)
    return (x, y, mu) if return_centers else (x, y)
