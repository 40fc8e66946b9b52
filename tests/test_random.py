"""Random sampling: Philox known answers, reproducibility (seeds, states, thread counts, generator
independence), distribution statistics with fixed seeds (deterministic, so they cannot flake), the
torch-shaped signatures and dtypes, and bad inputs."""
import math

import numpy as np
import pytest
import torch

import pyml

FLOATS = [pyml.float32, pyml.float64, pyml.float16, pyml.bfloat16]


def np64(t):
    return t.double().numpy() if t.dtype.is_floating_point else t.long().numpy()


@pytest.fixture(autouse=True)
def _restore_threads():
    n = pyml.get_num_threads()
    yield
    pyml.set_num_threads(n)


def ks_uniform(x):
    """Kolmogorov-Smirnov distance between samples and U[0, 1)."""
    x = np.sort(x)
    n = len(x)
    i = np.arange(1, n + 1)
    return max(np.max(i / n - x), np.max(x - (i - 1) / n))


def chi_square(counts, probs):
    expected = np.asarray(probs) * np.sum(counts)
    return float(np.sum((np.asarray(counts) - expected) ** 2 / expected))


# ---------------------------------------------------------------------------- the generator
@pytest.mark.parametrize("ctr,key,out", [
    ((0, 0, 0, 0), (0, 0), (0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8)),
    ((0xffffffff,) * 4, (0xffffffff,) * 2, (0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd)),
    ((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), (0xa4093822, 0x299f31d0),
     (0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1)),
])
def test_philox_known_answers(ctr, key, out):
    # Random123's kat_vectors for philox4x32-10
    assert tuple(pyml._C.philox4x32_10(list(ctr), list(key))) == out


def test_manual_seed_reproduces_and_returns_default_generator():
    g = pyml.manual_seed(123)
    assert g is pyml.default_generator and isinstance(g, pyml.Generator)
    a = [pyml.rand(7), pyml.randn(5), pyml.randint(0, 100, (9,)), pyml.randperm(11)]
    pyml.manual_seed(123)
    b = [pyml.rand(7), pyml.randn(5), pyml.randint(0, 100, (9,)), pyml.randperm(11)]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    pyml.manual_seed(124)
    assert not np.array_equal(pyml.rand(7).numpy(), a[0].numpy())
    assert pyml.initial_seed() == 124


def test_calls_continue_one_stream():
    # offsets advance by whole Philox blocks: two requests of 8 equal one request of 16
    pyml.manual_seed(9)
    a, b = pyml.rand(8), pyml.rand(8)
    pyml.manual_seed(9)
    c = pyml.rand(16)
    np.testing.assert_array_equal(np.concatenate([a.numpy(), b.numpy()]), c.numpy())
    assert not np.array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("make", [
    lambda g: pyml.rand(100_003, generator=g),
    lambda g: pyml.randn(100_003, dtype=pyml.float64, generator=g),
    lambda g: pyml.randn(70_001, dtype=pyml.bfloat16, generator=g),
    lambda g: pyml.randint(-5, 1000, (300, 337), generator=g),
    lambda g: pyml.bernoulli(pyml.full((90_001,), 0.3), generator=g),
    lambda g: pyml.empty(100_003).exponential_(generator=g),
    lambda g: pyml.multinomial(pyml.ones(4000, 30), 10, generator=g),
    lambda g: pyml.multinomial(pyml.ones(3000, 30), 40, replacement=True, generator=g),
    lambda g: pyml.randperm(50_000, generator=g),
    lambda g: pyml.normal(pyml.zeros(257, 1), pyml.ones(401), generator=g),
])
def test_results_do_not_depend_on_thread_count(make):
    out = []
    for threads in (1, 2, 3):
        pyml.set_num_threads(threads)
        out.append(np64(make(pyml.Generator().manual_seed(77))))
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_array_equal(out[0], out[2])


def test_generators_are_independent_of_the_global_one():
    pyml.manual_seed(5)
    x1 = pyml.rand(10)
    pyml.manual_seed(5)
    g = pyml.Generator().manual_seed(5)
    y = pyml.rand(100, generator=g)        # advances g only
    x2 = pyml.rand(10)
    np.testing.assert_array_equal(x1.numpy(), x2.numpy())
    np.testing.assert_array_equal(y.numpy()[:10], x1.numpy())  # same seed, same stream
    g2 = pyml.Generator().manual_seed(6)
    assert not np.array_equal(pyml.rand(10, generator=g2).numpy(), x1.numpy())
    assert g.initial_seed() == 5 and g2.initial_seed() == 6


def test_get_set_state_roundtrip():
    pyml.manual_seed(3)
    pyml.rand(5)
    s = pyml.get_rng_state()
    assert s.dtype is pyml.uint8 and tuple(s.shape) == (16,)
    a = pyml.randn(13)
    pyml.set_rng_state(s)
    np.testing.assert_array_equal(pyml.randn(13).numpy(), a.numpy())
    g = pyml.Generator().manual_seed(11)
    st = g.get_state()
    b = pyml.rand(6, generator=g)
    g.set_state(bytes(st.tolist()))  # bytes work too
    np.testing.assert_array_equal(pyml.rand(6, generator=g).numpy(), b.numpy())
    # a state moves between generators
    h = pyml.Generator().set_state(st)
    np.testing.assert_array_equal(pyml.rand(6, generator=h).numpy(), b.numpy())


def test_seed_and_seed_values():
    s = pyml.seed()
    assert isinstance(s, int) and 0 <= s < 2 ** 64 and pyml.initial_seed() == s
    g = pyml.Generator()
    assert g.initial_seed() == 67280421310721  # PyTorch's default seed
    assert g.manual_seed(-1).initial_seed() == 2 ** 64 - 1
    assert g.manual_seed(2 ** 64 - 1).initial_seed() == 2 ** 64 - 1
    assert g.manual_seed(np.int64(7)).initial_seed() == 7


def test_generator_bad_inputs():
    g = pyml.Generator()
    with pytest.raises(TypeError, match="manual_seed: seed must be an int"):
        g.manual_seed(1.5)
    with pytest.raises(ValueError, match="manual_seed: seed must be within"):
        pyml.manual_seed(2 ** 64)
    with pytest.raises(ValueError, match="set_state: the state must hold 16 bytes"):
        g.set_state(b"abc")
    with pytest.raises(TypeError, match="set_state: expected a cpu uint8 tensor"):
        g.set_state(pyml.zeros(16))
    with pytest.raises(TypeError, match="set_state: expected a uint8 tensor or bytes"):
        g.set_state([0] * 16)
    with pytest.raises(RuntimeError, match="Generator: CUDA device index must be in"):
        pyml.Generator(device="cuda:99")
    with pytest.raises(TypeError, match="rand: generator must be a pyml.Generator"):
        pyml.rand(3, generator=torch.Generator())


# ---------------------------------------------------------------------------- uniform
@pytest.mark.parametrize("dtype,tol", [(pyml.float32, 1.5e-3), (pyml.float64, 1.5e-3)])
def test_rand_statistics(dtype, tol):
    x = np64(pyml.rand(1_000_000, dtype=dtype, generator=pyml.Generator().manual_seed(1)))
    assert x.min() >= 0.0 and x.max() < 1.0
    assert abs(x.mean() - 0.5) < tol
    assert abs(x.var() - 1 / 12) < tol
    # KS distance at the 0.1% level is 1.95 / sqrt(n)
    assert ks_uniform(x) < 1.95 / math.sqrt(len(x))
    # neighbouring samples are uncorrelated
    assert abs(np.corrcoef(x[:-1], x[1:])[0, 1]) < 0.005


@pytest.mark.parametrize("dtype,digits", [(pyml.float16, 11), (pyml.bfloat16, 8), (pyml.float32, 24)])
def test_rand_low_precision_is_exact_grid_below_one(dtype, digits):
    x = np64(pyml.rand(200_000, dtype=dtype, generator=pyml.Generator().manual_seed(2)))
    assert x.max() < 1.0 and x.min() >= 0.0
    np.testing.assert_array_equal(x * 2 ** digits, np.round(x * 2 ** digits))
    assert abs(x.mean() - 0.5) < 0.005


def test_rand_float64_uses_53_bits():
    x = pyml.rand(10_000, dtype=pyml.float64).numpy()
    assert np.mean(x.astype(np.float32).astype(np.float64) != x) > 0.99


@pytest.mark.parametrize("lo,hi", [(-3.0, 5.0), (2.0, 2.0), (-1e-3, 1e-3)])
def test_uniform_range_and_mean(lo, hi):
    x = pyml.empty(200_000, dtype=pyml.float64).uniform_(lo, hi, generator=pyml.Generator().manual_seed(4)).numpy()
    assert x.min() >= lo and (x.max() < hi or lo == hi)
    assert abs(x.mean() - (lo + hi) / 2) <= 0.01 * (hi - lo) + 1e-15


def test_uniform_keyword_from_to():
    x = pyml.zeros(1000)
    x.uniform_(**{"from": 5, "to": 6})
    assert x.numpy().min() >= 5 and x.numpy().max() < 6
    x.uniform_(to=0.5)
    assert x.numpy().max() < 0.5


def test_uniform_writes_strided_views_in_logical_order():
    base = pyml.zeros(6, 8)
    view = pyml.as_strided(base, (6, 4), (8, 2)).t()  # base[:, ::2].t(): (4, 6), non-contiguous
    view.uniform_(generator=pyml.Generator().manual_seed(8))
    ref = pyml.rand(4, 6, generator=pyml.Generator().manual_seed(8))
    np.testing.assert_array_equal(view.numpy(), ref.numpy())
    assert np.all(base.numpy()[:, 1::2] == 0)  # untouched between the strided columns


# ---------------------------------------------------------------------------- normal
def normal_bins_chi2(x):
    edges = np.concatenate([[-np.inf], np.linspace(-3, 3, 25), [np.inf]])
    cdf = [0.5 * (1 + math.erf(e / math.sqrt(2))) if np.isfinite(e) else (0.0 if e < 0 else 1.0) for e in edges]
    counts = np.histogram(x, bins=edges)[0]
    return chi_square(counts, np.diff(cdf)), len(counts) - 1


@pytest.mark.parametrize("dtype", [pyml.float32, pyml.float64])
def test_randn_statistics(dtype):
    x = np64(pyml.randn(1_000_000, dtype=dtype, generator=pyml.Generator().manual_seed(10)))
    assert abs(x.mean()) < 0.005 and abs(x.std() - 1) < 0.005
    assert abs(np.mean(x ** 3)) < 0.02 and abs(np.mean(x ** 4) - 3) < 0.05
    chi2, df = normal_bins_chi2(x)
    assert chi2 < 56, (chi2, df)  # df = 25; the 0.1% quantile is 52.6
    ks = np.max(np.abs(torch.special.ndtr(torch.from_numpy(np.sort(x))).numpy() - np.arange(1, len(x) + 1) / len(x)))
    assert ks < 1.95 / math.sqrt(len(x))
    assert abs(np.corrcoef(x[:-1], x[1:])[0, 1]) < 0.005


def test_randn_float64_uses_double_math():
    x = pyml.randn(10_000, dtype=pyml.float64).numpy()
    assert np.mean(x.astype(np.float32).astype(np.float64) != x) > 0.99


@pytest.mark.parametrize("dtype", [pyml.float16, pyml.bfloat16])
def test_randn_half_types(dtype):
    x = np64(pyml.randn(200_000, dtype=dtype, generator=pyml.Generator().manual_seed(12)))
    assert np.isfinite(x).all()
    assert abs(x.mean()) < 0.01 and abs(x.std() - 1) < 0.01


def test_normal_forms_and_broadcasting():
    g = pyml.Generator().manual_seed(13)
    r = pyml.normal(pyml.zeros(3, 1), pyml.ones(4), generator=g)
    assert tuple(r.shape) == (3, 4) and r.dtype is pyml.float32
    assert pyml.normal(pyml.zeros(2, dtype=pyml.float64), 1.0).dtype is pyml.float64
    assert pyml.normal(2.0, pyml.ones(5)).shape == (5,)
    r = pyml.normal(1.0, 2.0, (3, 2), dtype=pyml.float64)
    assert r.shape == (3, 2) and r.dtype is pyml.float64
    assert pyml.normal(0.0, 1.0, size=(4,)).shape == (4,)
    # shapes and dtypes agree with torch's for the same call forms
    for args in [(torch.zeros(3, 1), torch.ones(4)), (torch.zeros(2, dtype=torch.float64), torch.ones(2))]:
        tr = torch.normal(*args)
        pr = pyml.normal(*[pyml.from_numpy(a.numpy()) for a in args])
        assert tuple(tr.shape) == tuple(pr.shape) and str(tr.dtype).split(".")[1] == pr.dtype.name


def test_normal_statistics_with_tensor_mean_std():
    n = 400_000
    mean = pyml.tensor([-5.0, 10.0]).reshape(2, 1).expand(2, n)
    std = pyml.tensor([0.5, 3.0]).reshape(2, 1)
    x = pyml.normal(mean, std, generator=pyml.Generator().manual_seed(14)).double().numpy()
    np.testing.assert_allclose(x.mean(axis=1), [-5.0, 10.0], atol=0.02)
    np.testing.assert_allclose(x.std(axis=1), [0.5, 3.0], rtol=0.01)
    z = pyml.normal(pyml.full((10,), 4.0), 0.0)
    np.testing.assert_array_equal(z.numpy(), 4.0)


def test_normal_inplace():
    x = pyml.empty(500_000, dtype=pyml.float64).normal_(3.0, 2.0, generator=pyml.Generator().manual_seed(15))
    v = x.numpy()
    assert abs(v.mean() - 3) < 0.01 and abs(v.std() - 2) < 0.01


def test_exponential():
    x = pyml.empty(500_000, dtype=pyml.float64).exponential_(2.0, generator=pyml.Generator().manual_seed(16)).numpy()
    assert x.min() >= 0
    assert abs(x.mean() - 0.5) < 0.005 and abs(x.var() - 0.25) < 0.005
    # P(X > t) = exp(-2 t)
    for t in (0.1, 0.5, 1.5):
        assert abs(np.mean(x > t) - math.exp(-2 * t)) < 0.003
    y = pyml.empty(1000, dtype=pyml.float16).exponential_()
    assert np.all(y.float().numpy() >= 0)


# ---------------------------------------------------------------------------- discrete
@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 1.0])
def test_bernoulli_scalar_frequency(p):
    g = pyml.Generator().manual_seed(17)
    x = pyml.bernoulli(pyml.zeros(1_000_000), p, generator=g).numpy()
    assert set(np.unique(x)) <= {0.0, 1.0}
    assert abs(x.mean() - p) < 0.002


def test_bernoulli_tensor_probabilities():
    p = pyml.tensor([0.0, 0.1, 0.5, 0.9, 1.0], dtype=pyml.float64).reshape(5, 1).expand(5, 200_000)
    x = pyml.bernoulli(p, generator=pyml.Generator().manual_seed(18))
    assert x.dtype is pyml.float64 and x.shape == (5, 200_000)
    np.testing.assert_allclose(x.numpy().mean(axis=1), [0, 0.1, 0.5, 0.9, 1], atol=0.004)
    assert x.numpy()[0].max() == 0 and x.numpy()[4].min() == 1
    assert pyml.full((3,), 0.5).bernoulli().shape == (3,)


@pytest.mark.parametrize("dtype", [pyml.bool, pyml.uint8, pyml.int64, pyml.float16, pyml.float32])
def test_bernoulli_inplace_dtypes(dtype):
    x = pyml.zeros(100_000, dtype=dtype).bernoulli_(0.25, generator=pyml.Generator().manual_seed(19))
    assert abs(np64(x).mean() - 0.25) < 0.005
    y = pyml.zeros(4, 50_000, dtype=dtype)
    y.bernoulli_(pyml.tensor([[0.0], [0.2], [0.7], [1.0]]))
    np.testing.assert_allclose(np64(y).mean(axis=1), [0, 0.2, 0.7, 1], atol=0.01)


@pytest.mark.parametrize("low,high", [(0, 10), (-7, 3), (5, 6), (-(2 ** 40), 2 ** 40 + 5)])
def test_randint_bounds_are_low_inclusive_high_exclusive(low, high):
    x = pyml.randint(low, high, (200_000,), generator=pyml.Generator().manual_seed(20)).numpy()
    assert x.dtype == np.int64
    assert x.min() >= low and x.max() <= high - 1
    if high - low <= 10:  # every value is hit, including both ends
        assert x.min() == low and x.max() == high - 1
        counts = np.bincount(x - low, minlength=high - low)
        assert chi_square(counts, np.full(high - low, 1 / (high - low))) < 30  # df <= 9


def test_randint_signatures_like_torch():
    assert pyml.randint(10, (5,)).dtype is pyml.int64 and torch.randint(10, (5,)).dtype == torch.int64
    assert pyml.randint(3, 10, size=(2, 3)).shape == (2, 3)
    assert pyml.randint(10, size=(4,)).shape == (4,)
    assert pyml.randint(low=2, high=4, size=(4,)).numpy().min() >= 2
    x = pyml.randint(0, 2, (1000,), dtype=pyml.bool)
    assert x.dtype is pyml.bool and 0 < x.long().numpy().sum() < 1000
    assert pyml.randint(0, 3, (5,), dtype=pyml.float16).dtype is pyml.float16
    assert pyml.randint(0, 5, (0,)).shape == (0,)
    assert pyml.randint(0, 5, ()).shape == ()


@pytest.mark.parametrize("dtype,lo,hi", [(pyml.uint8, 0, 255), (pyml.int8, 0, 127), (pyml.int16, 0, 32767),
                                         (pyml.bool, 0, 1), (pyml.float32, 0, 2 ** 24), (pyml.float16, 0, 2 ** 11),
                                         (pyml.int64, 0, 2 ** 63 - 1)])
def test_random_default_range(dtype, lo, hi):
    x = np64(pyml.empty(50_000, dtype=dtype).random_(generator=pyml.Generator().manual_seed(21)))
    assert x.min() >= lo and x.max() <= hi
    assert x.max() > hi // 2  # spans the range
    np.testing.assert_array_equal(x, np.round(x))


def test_random_forms():
    x = pyml.empty(10_000, dtype=pyml.int32)
    v = x.random_(5).numpy()
    assert v.min() == 0 and v.max() == 4
    v = x.random_(-3, 2).numpy()
    assert v.min() == -3 and v.max() == 1
    v = x.random_(**{"from": 7, "to": 9}).numpy()
    assert set(np.unique(v)) == {7, 8}
    v = pyml.empty(1000, dtype=pyml.int8).random_(-128, 128).numpy()
    assert v.min() < -100 and v.max() > 100


def test_randint_full_int64_range():
    x = pyml.empty(10_000, dtype=pyml.int64).random_(-(2 ** 63), 2 ** 63 - 1).numpy()
    assert (x < 0).mean() > 0.45 and (x > 0).mean() > 0.45


def test_multinomial_with_replacement_frequencies():
    w = pyml.tensor([1.0, 2.0, 3.0, 4.0, 0.0])
    x = pyml.multinomial(w, 200_000, replacement=True, generator=pyml.Generator().manual_seed(22)).numpy()
    assert x.dtype == np.int64 and x.shape == (200_000,)
    counts = np.bincount(x, minlength=5)
    assert counts[4] == 0  # zero weight is never drawn
    assert chi_square(counts[:4], [0.1, 0.2, 0.3, 0.4]) < 17  # df = 3, 0.1% quantile 16.3


def test_multinomial_without_replacement():
    w = np.array([1.0, 2.0, 3.0, 4.0])
    rows = 40_000
    x = pyml.multinomial(pyml.tensor(np.tile(w, (rows, 1))), 3, generator=pyml.Generator().manual_seed(23)).numpy()
    assert x.shape == (rows, 3)
    assert np.all((x[:, 0] != x[:, 1]) & (x[:, 0] != x[:, 2]) & (x[:, 1] != x[:, 2]))  # no repeats
    p = w / w.sum()
    assert chi_square(np.bincount(x[:, 0], minlength=4), p) < 17
    # the second draw follows P(j) = sum_i p_i * w_j / (S - w_i)
    S = w.sum()
    p2 = [sum(p[i] * w[j] / (S - w[i]) for i in range(4) if i != j) for j in range(4)]
    assert chi_square(np.bincount(x[:, 1], minlength=4), p2) < 17


@pytest.mark.parametrize("K", [1, 7, 97, 1025])
def test_multinomial_all_categories_is_a_permutation(K):
    x = pyml.multinomial(pyml.rand(5, K) + 0.01, K).numpy()
    for row in x:
        np.testing.assert_array_equal(np.sort(row), np.arange(K))


def test_multinomial_zero_weights_come_last_without_replacement():
    w = pyml.tensor([0.0, 1.0, 0.0, 5.0])
    for _ in range(20):
        assert sorted(pyml.multinomial(w, 2).tolist()) == [1, 3]
    # like PyTorch on CPU: asking for more than the positive weights fills with zero-weight ones
    assert sorted(pyml.multinomial(w, 4).tolist()) == [0, 1, 2, 3]


def test_multinomial_dtypes_and_shapes():
    for dt in FLOATS:
        assert pyml.multinomial(pyml.ones(3, 5, dtype=dt), 2).shape == (3, 2)
    assert pyml.multinomial(pyml.ones(0, 4), 2).shape == (0, 2)
    assert pyml.ones(6).multinomial(3, replacement=True).shape == (3,)
    nc = pyml.as_strided(pyml.ones(8, 6), (8, 3), (6, 2))  # [:, ::2]: non-contiguous rows
    assert pyml.multinomial(nc, 3).shape == (8, 3)


@pytest.mark.parametrize("n", [0, 1, 2, 7, 97, 1025, 100_000])
def test_randperm_is_a_permutation(n):
    x = pyml.randperm(n, generator=pyml.Generator().manual_seed(24))
    assert x.dtype is pyml.int64 and x.shape == (n,)
    np.testing.assert_array_equal(np.sort(x.numpy()), np.arange(n))


def test_randperm_uniform_over_permutations():
    g = pyml.Generator().manual_seed(25)
    perms = [tuple(pyml.randperm(3, generator=g).tolist()) for _ in range(6000)]
    counts = [perms.count(p) for p in sorted(set(perms))]
    assert len(counts) == 6 and chi_square(counts, [1 / 6] * 6) < 21  # df = 5


@pytest.mark.parametrize("dtype", [pyml.int32, pyml.int16, pyml.uint8, pyml.float32, pyml.float64, pyml.bfloat16])
def test_randperm_dtypes(dtype):
    x = pyml.randperm(200, dtype=dtype)
    assert x.dtype is dtype
    np.testing.assert_array_equal(np.sort(np64(x)), np.arange(200))


# ---------------------------------------------------------------------------- creation signatures
@pytest.mark.parametrize("fn", [pyml.rand, pyml.randn])
@pytest.mark.parametrize("shape", [(), (0,), (1,), (7,), (2, 0, 3), (3, 1, 5)])
def test_rand_shapes(fn, shape):
    assert tuple(fn(*shape).shape) == shape
    assert tuple(fn(shape).shape) == shape
    assert tuple(fn(size=shape).shape) == shape


@pytest.mark.parametrize("dtype", FLOATS)
def test_rand_dtypes(dtype):
    for fn in (pyml.rand, pyml.randn):
        assert fn(3, dtype=dtype).dtype is dtype
    pyml.set_default_dtype(pyml.float64)
    try:
        assert pyml.rand(2).dtype is pyml.float64 and pyml.normal(0.0, 1.0, (2,)).dtype is pyml.float64
    finally:
        pyml.set_default_dtype(pyml.float32)


def test_like_functions():
    src = pyml.zeros(3, 4, dtype=pyml.float64)
    for fn in (pyml.rand_like, pyml.randn_like):
        r = fn(src)
        assert r.shape == (3, 4) and r.dtype is pyml.float64
        assert fn(src, dtype=pyml.float16).dtype is pyml.float16
    r = pyml.randint_like(src, 5)
    assert r.dtype is pyml.float64 and r.numpy().max() <= 4 and r.numpy().min() >= 0
    r = pyml.randint_like(pyml.zeros(1000, dtype=pyml.int32), 3, 6).numpy()
    assert r.min() == 3 and r.max() == 5
    g1, g2 = pyml.Generator().manual_seed(1), pyml.Generator().manual_seed(1)
    np.testing.assert_array_equal(pyml.rand_like(src, generator=g1).numpy(), pyml.rand(3, 4, generator=g2,
                                                                                         dtype=pyml.float64).numpy())


def test_requires_grad_and_out():
    assert pyml.rand(3, requires_grad=True).requires_grad
    assert pyml.randn(2, 2, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="randint: only Tensors of floating point dtype can require gradients"):
        pyml.randint(5, (3,), requires_grad=True)
    out = pyml.zeros(4)
    r = pyml.rand(2, 3, out=out)
    assert r is out and out.shape == (2, 3)


# ---------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("call,exc,msg", [
    (lambda: pyml.rand(3, dtype=pyml.int64), TypeError, "rand: expected a floating point dtype"),
    (lambda: pyml.randn(2, dtype=pyml.bool), TypeError, "randn: expected a floating point dtype"),
    (lambda: pyml.rand(-1), ValueError, "rand: sizes must be non-negative"),
    (lambda: pyml.rand(2.5), TypeError, "rand: shape must be a sequence of ints"),
    (lambda: pyml.rand(2, sizes=3), TypeError, "rand: got an unexpected keyword"),
    (lambda: pyml.rand_like(pyml.zeros(2, dtype=pyml.int64)), TypeError, "rand_like: expected a floating point"),
    (lambda: pyml.randint(5, 3, (3,)), ValueError, "random_: expects 'from' to be less than 'to'"),
    (lambda: pyml.randint(3, 3, (3,)), ValueError, "random_: expects 'from' to be less than 'to'"),
    (lambda: pyml.randint(0, 300, (3,), dtype=pyml.uint8), ValueError, "random_: to - 1 is out of bounds for uint8"),
    (lambda: pyml.randint(-1, 3, (3,), dtype=pyml.uint8), ValueError, "random_: from is out of bounds for uint8"),
    (lambda: pyml.randint(0, 2 ** 25, (3,), dtype=pyml.float32), ValueError, "random_: to - 1 is out of bounds"),
    (lambda: pyml.randint(10.0, (3,)), TypeError, "randint: high must be an int"),
    (lambda: pyml.randint(10, 3), TypeError, "randint: size must be a tuple"),
    (lambda: pyml.randint(size=(3,)), TypeError, "randint: missing the required argument 'high'"),
    (lambda: pyml.randint(2 ** 64, (3,)), ValueError, "randint: high must fit in int64"),
    (lambda: pyml.zeros(3).uniform_(2, 1), ValueError, "uniform_: expects to return a \\[from, to\\) range"),
    (lambda: pyml.zeros(3).uniform_(0, float("inf")), ValueError, "uniform_: from and to must be finite"),
    (lambda: pyml.zeros(3, dtype=pyml.int64).uniform_(), TypeError, "uniform_: expected a floating point tensor"),
    (lambda: pyml.zeros(3).uniform_(1, 2, 3), TypeError, "uniform_: expected at most 2 positional"),
    (lambda: pyml.zeros(3).normal_(0, -1), ValueError, "normal_: expects std >= 0.0"),
    (lambda: pyml.zeros(3, dtype=pyml.int32).normal_(), TypeError, "normal_: expected a floating point tensor"),
    (lambda: pyml.zeros(3).exponential_(0), ValueError, "exponential_: expects lambd > 0.0"),
    (lambda: pyml.zeros(3, dtype=pyml.int64).exponential_(), TypeError, "exponential_: expected a floating point"),
    (lambda: pyml.zeros(1).expand(3).uniform_(), RuntimeError, "uniform_: unsupported operation: more than one"),
    (lambda: pyml.normal(pyml.zeros(3), pyml.tensor([1.0, -1.0, 1.0])), ValueError,
     "normal: expects all elements of std >= 0.0"),
    (lambda: pyml.normal(pyml.zeros(3, dtype=pyml.int64), 1.0), TypeError, "normal: expected floating point mean"),
    (lambda: pyml.normal(pyml.zeros(3), pyml.ones(2)), ValueError, "normal: shapes must be broadcastable"),
    (lambda: pyml.normal(0.0, 1.0), TypeError, "normal: size= must be given"),
    (lambda: pyml.normal(pyml.zeros(2), 1.0, (2,)), TypeError, "normal: size= is only accepted"),
    (lambda: pyml.normal("a", 1.0, (2,)), TypeError, "normal: mean must be a number"),
    (lambda: pyml.bernoulli(pyml.tensor([1, 0])), TypeError, "bernoulli: expected a floating point tensor"),
    (lambda: pyml.bernoulli(pyml.tensor([1.5, 0.0])), ValueError, "bernoulli: expects all elements of p"),
    (lambda: pyml.bernoulli(pyml.tensor([float("nan")])), ValueError, "bernoulli: expects all elements of p"),
    (lambda: pyml.bernoulli(pyml.zeros(2), 1.3), ValueError, "bernoulli_: expects p to be in \\[0, 1\\]"),
    (lambda: pyml.zeros(2, 3).bernoulli_(pyml.full((4,), 0.5)), ValueError, "bernoulli_: shapes must be broadcast"),
    (lambda: pyml.zeros(3).bernoulli_(pyml.full((2, 3), 0.5)), ValueError, "bernoulli_: p of shape"),
    (lambda: pyml.bernoulli([0.5]), TypeError, "bernoulli: (expected a Tensor|argument .input. must be Tensor)"),
    (lambda: pyml.multinomial(pyml.ones(3), 0), ValueError, "multinomial: cannot sample num_samples <= 0"),
    (lambda: pyml.multinomial(pyml.ones(3), 4), ValueError, "multinomial: cannot sample num_samples > number"),
    (lambda: pyml.multinomial(pyml.tensor([1.0, -1.0]), 1), ValueError, "multinomial: probability tensor contains"),
    (lambda: pyml.multinomial(pyml.tensor([1.0, float("inf")]), 1), ValueError, "multinomial: probability tensor"),
    (lambda: pyml.multinomial(pyml.tensor([1.0, float("nan")]), 1), ValueError, "multinomial: probability tensor"),
    (lambda: pyml.multinomial(pyml.tensor([[1.0, 1.0], [0.0, 0.0]]), 1), ValueError,
     "multinomial: invalid multinomial distribution"),
    (lambda: pyml.multinomial(pyml.tensor([1, 2]), 1), TypeError, "multinomial: only floating-point dtypes"),
    (lambda: pyml.multinomial(pyml.ones(2, 2, 2), 1), ValueError, "multinomial: input must be 1 or 2 dim"),
    (lambda: pyml.multinomial(pyml.ones(0), 1, True), ValueError, "multinomial: input must have at least one"),
    (lambda: pyml.multinomial(pyml.ones(3), 1.0), TypeError, "multinomial: num_samples must be an int"),
    (lambda: pyml.randperm(-1), ValueError, "randperm: n must be non-negative"),
    (lambda: pyml.randperm(300, dtype=pyml.uint8), ValueError, "randperm: n is too large for result tensor type"),
    (lambda: pyml.randperm(3000, dtype=pyml.float16), ValueError, "randperm: n is too large"),
    (lambda: pyml.randperm(3, dtype=pyml.bool), TypeError, "randperm: dtype bool is not supported"),
    (lambda: pyml.zeros(3).random_(1, 2, 3), TypeError, "random_: expected at most 2 positional"),
    (lambda: pyml.zeros(3).random_(0.5), TypeError, "random_: to must be an int"),
])
def test_bad_inputs(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


@pytest.mark.cuda
def test_creation_on_cuda_draws_the_cpu_stream_on_the_device():
    g1, g2 = pyml.Generator("cuda").manual_seed(3), pyml.Generator().manual_seed(3)
    a = pyml.rand(5, device="cuda", generator=g1)
    assert a.device.type == "cuda"
    np.testing.assert_array_equal(a.cpu().numpy(), pyml.rand(5, generator=g2).numpy())
    with pytest.raises(RuntimeError, match="uniform_: expected a generator for device cuda:0"):
        a.uniform_(generator=g2)
