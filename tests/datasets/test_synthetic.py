"""Synthetic classification sets: moons against scikit-learn's make_moons, the geometry of moons and
spirals recomputed in float64 NumPy, Gaussian-mixture statistics, reproducibility by seed and
generator, and the argument errors."""
import math

import numpy as np
import pytest

import pyml
from pyml import datasets


def arrays(x, y):
    return x.numpy().astype(np.float64), y.numpy()


@pytest.mark.parametrize("n", [2, 7, 100, 1025, (3, 11)])
def test_moons_equal_sklearn_without_noise(n):
    from sklearn.datasets import make_moons
    x, y = arrays(*datasets.make_moons(n, shuffle=False))
    xr, yr = make_moons(n, shuffle=False)
    np.testing.assert_allclose(x, xr, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(y, yr)


def test_moons_geometry_and_balance():
    x, y = arrays(*datasets.make_moons(301, seed=3))
    assert np.bincount(y).tolist() == [150, 151]
    outer, inner = x[y == 0], x[y == 1]
    np.testing.assert_allclose(np.hypot(*outer.T), 1.0, atol=1e-6)                    # circle around (0, 0)
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1, inner[:, 1] - 0.5), 1.0, atol=1e-6)
    assert outer[:, 1].min() >= -1e-6 and inner[:, 1].max() <= 0.5 + 1e-6          # upper / lower halves


def test_moons_noise_is_gaussian_with_the_given_std():
    clean, _ = arrays(*datasets.make_moons(8000, shuffle=False))
    noisy, _ = arrays(*datasets.make_moons(8000, noise=0.2, shuffle=False, seed=0))
    residual = noisy - clean
    assert abs(residual.mean()) < 0.01 and abs(residual.std() - 0.2) < 0.006


def test_shuffle_permutes_rows_with_their_labels():
    x0, y0 = arrays(*datasets.make_spirals(90, 3, shuffle=False))
    x1, y1 = arrays(*datasets.make_spirals(90, 3, seed=5))
    assert not np.array_equal(y0, y1)
    key = lambda x, y: sorted(map(tuple, np.round(np.column_stack([x, y]), 5)))
    assert key(x0, y0) == key(x1, y1)


@pytest.mark.parametrize("n, k, turns", [(10, 3, 1.0), (300, 2, 1.5), (97, 5, 0.75)])
def test_spiral_arms_follow_their_formula(n, k, turns):
    x, y = arrays(*datasets.make_spirals(n, k, turns=turns, inner_radius=0.2, seed=1))
    counts = np.bincount(y, minlength=k)
    assert counts.sum() == n and counts.max() - counts.min() <= 1
    r = np.hypot(*x.T)
    assert r.min() >= 0.2 - 1e-6 and r.max() <= 1 + 1e-6
    expected = 2 * np.pi * (y / k + turns * r)                                          # angle of arm y at radius r
    diff = np.angle(np.exp(1j * (np.arctan2(x[:, 1], x[:, 0]) - expected)))
    np.testing.assert_allclose(diff, 0.0, atol=1e-5)


def test_spiral_arms_are_rotations_of_each_other():
    x, y = arrays(*datasets.make_spirals(99, 3, shuffle=False))
    c, s = math.cos(2 * math.pi / 3), math.sin(2 * math.pi / 3)
    rotated = x[y == 0] @ np.array([[c, s], [-s, c]])
    np.testing.assert_allclose(rotated, x[y == 1], atol=1e-6)


def test_mixture_with_given_centers_matches_their_statistics():
    centers = pyml.tensor([[0.0, 0.0, 0.0], [5.0, -5.0, 2.0]])
    x, y = arrays(*datasets.make_gaussian_mixture(6001, centers, std=[0.5, 2.0], seed=2))
    assert x.shape == (6001, 3) and np.bincount(y).tolist() == [3001, 3000]
    for k, sd in enumerate([0.5, 2.0]):
        pts = x[y == k]
        assert np.abs(pts.mean(0) - centers.numpy()[k]).max() < 4 * sd / math.sqrt(len(pts))
        assert np.abs(pts.std(0) - sd).max() < 0.05 * sd


def test_mixture_random_centers_lie_in_the_box():
    x, y, c = datasets.make_gaussian_mixture(40, centers=4, n_features=5, center_box=(-2.0, 3.0),
                                             return_centers=True, seed=0)
    assert tuple(c.shape) == (4, 5) and tuple(x.shape) == (40, 5)
    assert c.numpy().min() >= -2.0 and c.numpy().max() <= 3.0
    assert np.bincount(y.numpy()).tolist() == [10, 10, 10, 10]


def test_mixture_zero_std_gives_the_centers():
    x, y = datasets.make_gaussian_mixture(9, [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], std=0.0, seed=0)
    np.testing.assert_array_equal(x.numpy(), np.array([[1, 2], [3, 4], [5, 6]])[y.numpy()])


BUILDERS = [lambda **kw: datasets.make_moons(50, noise=0.1, **kw),
            lambda **kw: datasets.make_spirals(50, 3, noise=0.1, **kw),
            lambda **kw: datasets.make_gaussian_mixture(50, 3, **kw)]


@pytest.mark.parametrize("build", BUILDERS)
def test_same_seed_same_data_other_seed_other_data(build):
    a, b, c = build(seed=7), build(seed=7), build(seed=8)
    assert np.array_equal(a[0].numpy(), b[0].numpy()) and np.array_equal(a[1].numpy(), b[1].numpy())
    assert not np.array_equal(a[0].numpy(), c[0].numpy())
    d = build(generator=pyml.Generator().manual_seed(7))
    assert np.array_equal(a[0].numpy(), d[0].numpy())


def test_default_generator_follows_manual_seed():
    pyml.manual_seed(11)
    a = datasets.make_moons(20, noise=0.3)[0].numpy()
    pyml.manual_seed(11)
    assert np.array_equal(a, datasets.make_moons(20, noise=0.3)[0].numpy())


@pytest.mark.parametrize("call, exc, msg", [
    (lambda: datasets.make_moons(1), ValueError, "make_moons: n_samples must be >= 2, got 1"),
    (lambda: datasets.make_moons((1, 2, 3)), ValueError, "make_moons: n_samples as a sequence"),
    (lambda: datasets.make_moons(10.0), TypeError, "make_moons: n_samples must be an int"),
    (lambda: datasets.make_moons(10, noise=-0.1), ValueError, "make_moons: noise must be >= 0.0"),
    (lambda: datasets.make_moons(10, noise="x"), TypeError, "make_moons: noise must be a real number"),
    (lambda: datasets.make_moons(10, seed=1, generator=pyml.Generator()), ValueError, "not both"),
    (lambda: datasets.make_moons(10, generator=3), TypeError, "generator must be a pyml.Generator"),
    (lambda: datasets.make_spirals(10, 1), ValueError, "make_spirals: n_classes must be >= 2, got 1"),
    (lambda: datasets.make_spirals(2, 3), ValueError, "make_spirals: n_samples must be >= 3"),
    (lambda: datasets.make_spirals(10, inner_radius=1.0), ValueError, "inner_radius must be < 1"),
    (lambda: datasets.make_gaussian_mixture(10, pyml.zeros(3)), ValueError, r"\(K, D\) array"),
    (lambda: datasets.make_gaussian_mixture(10, 2, std=[1.0]), ValueError, r"one value per center \(2\)"),
    (lambda: datasets.make_gaussian_mixture(10, 2, center_box=(1.0, 0.0)), ValueError, "low <= high"),
    (lambda: datasets.make_gaussian_mixture(1, 2), ValueError, "n_samples must be >= 2"),
])
def test_bad_arguments_raise_clear_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()
