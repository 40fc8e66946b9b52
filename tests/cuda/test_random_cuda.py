"""CUDA random numbers (cuda/random.cu) against the CPU kernels: with the same generator state the
device draws the CPU's numbers, exactly for uniform_, random_, bernoulli (dropout masks),
multinomial and randperm, and to a few ulps for normal_ and exponential_ (CUDA's log/sin/cos may
differ from the host libm in the last bit). Also the per-device default generators and their
seeding and state functions, distribution checks (5 sigma), non-contiguous targets and errors."""
import math

import numpy as np
import pytest

import pyml
import pyml.nn.functional as F

FLOATS = [pyml.float32, pyml.float64, pyml.float16, pyml.bfloat16]
SIZES = [1, 7, 97, 1023, 1025, 100_003]
# normal/exponential: a few ulps of the dtype, relative (values are O(1))
CLOSE = {pyml.float32: dict(rtol=1e-5, atol=1e-6), pyml.float64: dict(rtol=1e-12, atol=1e-14),
         pyml.float16: dict(rtol=2e-3, atol=2e-3), pyml.bfloat16: dict(rtol=1.6e-2, atol=1.6e-2)}


def np64(t):
    t = t.cpu()
    return t.double().numpy() if t.dtype.is_floating_point else t.long().numpy()


def both(make, seed=123):
    """make(device, generator) on the CPU and on CUDA from generators in the same state."""
    out = []
    for dev in ("cpu", "cuda"):
        g = pyml.Generator(dev).manual_seed(seed)
        out.append(np64(make(dev, g)))
    return out


def same(make, seed=123):
    want, got = both(make, seed)
    np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------- the same stream as the CPU
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", FLOATS)
def test_uniform_matches_cpu_exactly(n, dtype):
    same(lambda d, g: pyml.rand(n, dtype=dtype, device=d, generator=g))
    same(lambda d, g: pyml.empty(n, dtype=dtype, device=d).uniform_(-3.5, 2.25, generator=g))


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", FLOATS)
def test_normal_and_exponential_match_cpu_to_ulps(n, dtype):
    for make in (lambda d, g: pyml.randn(n, dtype=dtype, device=d, generator=g),
                 lambda d, g: pyml.empty(n, dtype=dtype, device=d).normal_(1.5, 0.25, generator=g),
                 lambda d, g: pyml.empty(n, dtype=dtype, device=d).exponential_(2.5, generator=g)):
        want, got = both(make)
        np.testing.assert_allclose(got, want, **CLOSE[dtype])


@pytest.mark.parametrize("dtype", [pyml.int64, pyml.int32, pyml.int16, pyml.int8, pyml.uint8, pyml.bool,
                                   pyml.float32, pyml.float64, pyml.float16])
def test_random_and_randint_match_cpu_exactly(dtype):
    hi = 2 if dtype == pyml.bool else 100
    same(lambda d, g: pyml.randint(0, hi, (97, 11), dtype=dtype, device=d, generator=g))
    same(lambda d, g: pyml.empty(1025, dtype=dtype, device=d).random_(generator=g))
    same(lambda d, g: pyml.empty(7, dtype=dtype, device=d).random_(hi, generator=g))
    same(lambda d, g: pyml.randint(-(2 ** 62), 2 ** 62, (1025,), device=d, generator=g))
    same(lambda d, g: pyml.empty(1023, dtype=pyml.int64, device=d).random_(-(2 ** 63), None, generator=g))


@pytest.mark.parametrize("n", SIZES)
def test_bernoulli_matches_cpu_exactly(n):
    p = pyml.tensor(np.random.default_rng(0).random(n))
    same(lambda d, g: pyml.empty(n, device=d).bernoulli_(0.3, generator=g))
    same(lambda d, g: pyml.empty(n, dtype=pyml.bool, device=d).bernoulli_(p.to(d), generator=g))
    same(lambda d, g: pyml.bernoulli(p.to(d).to(pyml.float16), generator=g))
    same(lambda d, g: pyml.bernoulli(p.to(d).unsqueeze(0).expand(3, n), generator=g))


def test_dropout_masks_match_cpu():
    # F.dropout draws its mask with bernoulli_(1 - p) from the default generator of the input's device
    pyml.manual_seed(7)
    want = pyml.empty((33, 97)).bernoulli_(0.8).numpy()
    pyml.manual_seed(7)
    np.testing.assert_array_equal(pyml.empty((33, 97), device="cuda").bernoulli_(0.8).cpu().numpy(), want)
    x = pyml.tensor(np.random.default_rng(3).standard_normal((7, 97)), dtype=pyml.float32)
    pyml.manual_seed(8)
    want = F.dropout(x, 0.3).numpy()
    pyml.manual_seed(8)
    np.testing.assert_allclose(F.dropout(x.cuda(), 0.3).cpu().numpy(), want, rtol=1e-6)


@pytest.mark.parametrize("rows,K,ns", [(1, 1, 1), (1, 7, 20), (5, 97, 33), (3, 1025, 7), (2, 3, 1000)])
def test_multinomial_with_replacement_matches_cpu_exactly(rows, K, ns):
    a = np.random.default_rng(1).random((rows, K)) * (np.arange(K) % 3 != 1)  # zero weights too
    a[:, 0] = 0.5
    w = pyml.tensor(a)
    same(lambda d, g: pyml.multinomial(w.to(d), ns, replacement=True, generator=g))
    same(lambda d, g: pyml.multinomial(w[0].to(d).float(), ns, replacement=True, generator=g))


@pytest.mark.parametrize("rows,K,ns", [(1, 1, 1), (1, 7, 7), (5, 97, 33), (3, 1025, 1025), (2, 3000, 10)])
def test_multinomial_without_replacement_matches_cpu(rows, K, ns):
    # keys log(u)/w: the same up to the last ulp of log, so the order only differs for near-equal keys
    a = np.random.default_rng(2).random((rows, K)) * (np.arange(K) % 4 != 2)
    a[:, 0] = 1.0
    w = pyml.tensor(a)
    want, got = both(lambda d, g: pyml.multinomial(w.to(d), ns, replacement=False, generator=g))
    assert (got == want).mean() > 0.999
    for r in range(rows):
        assert len(set(got[r])) == ns and got[r].min() >= 0 and got[r].max() < K


@pytest.mark.parametrize("n", [0, 1, 7, 1025, 100_003])
@pytest.mark.parametrize("dtype", [pyml.int64, pyml.int32, pyml.float32])
def test_randperm_matches_cpu_exactly(n, dtype):
    same(lambda d, g: pyml.randperm(n, dtype=dtype, device=d, generator=g))


def test_normal_with_tensor_mean_and_std():
    mean = pyml.tensor(np.linspace(-3, 3, 97))
    std = pyml.tensor(np.linspace(0, 2, 97)).reshape(97, 1)
    want, got = both(lambda d, g: pyml.normal(mean.to(d), std.to(d), generator=g))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert got.shape == (97, 97)
    want, got = both(lambda d, g: pyml.normal(0.5, std.to(d).float(), generator=g))  # a number for mean
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_strided_targets_draw_in_logical_order():
    same(lambda d, g: pyml.empty((7, 97), device=d).t().uniform_(generator=g))
    same(lambda d, g: pyml.empty((33, 66), dtype=pyml.int32, device=d)[:, ::2].random_(0, 1000, generator=g))
    same(lambda d, g: pyml.empty((9, 9), dtype=pyml.float16, device=d)[1::2].bernoulli_(0.5, generator=g))


# ---------------------------------------------------------------------------- generators
def test_manual_seed_seeds_cpu_and_cuda_alike():
    pyml.manual_seed(0)
    a = pyml.rand(1025, device="cuda")
    b = pyml.randn(97, device="cuda", dtype=pyml.float64)
    pyml.manual_seed(0)
    np.testing.assert_array_equal(a.cpu().numpy(), pyml.rand(1025).numpy())
    np.testing.assert_allclose(b.cpu().numpy(), pyml.randn(97, dtype=pyml.float64).numpy(), rtol=1e-12, atol=1e-14)
    pyml.cuda.manual_seed(5)
    c = pyml.rand(7, device="cuda")
    pyml.cuda.manual_seed_all(5)
    np.testing.assert_array_equal(pyml.rand(7, device="cuda").cpu().numpy(), c.cpu().numpy())
    assert pyml.cuda.initial_seed() == 5


def test_cuda_state_save_and_restore_reproduces():
    pyml.cuda.manual_seed(11)
    pyml.rand(5, device="cuda")
    state = pyml.cuda.get_rng_state()
    assert state.dtype == pyml.uint8 and state.device.type == "cpu" and state.numel() == 16
    a = [pyml.rand(97, device="cuda"), pyml.randint(0, 9, (7,), device="cuda"), pyml.randn(3, device="cuda")]
    pyml.cuda.set_rng_state(state)
    b = [pyml.rand(97, device="cuda"), pyml.randint(0, 9, (7,), device="cuda"), pyml.randn(3, device="cuda")]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.cpu().numpy(), y.cpu().numpy())
    states = pyml.cuda.get_rng_state_all()
    pyml.cuda.seed_all()
    pyml.cuda.set_rng_state_all(states)
    # a CPU generator in the same state draws the same numbers
    want = pyml.rand(4, generator=pyml.Generator().set_state(states[0])).numpy()
    np.testing.assert_array_equal(pyml.rand(4, device="cuda").cpu().numpy(), want)


def test_generator_objects_and_independent_streams():
    g = pyml.Generator("cuda").manual_seed(3)
    assert g.device == pyml.device("cuda:0")
    x = pyml.rand(9, device="cuda", generator=g)
    y = pyml.rand(9, device="cuda", generator=pyml.Generator("cuda:0").manual_seed(3))
    np.testing.assert_array_equal(x.cpu().numpy(), y.cpu().numpy())
    pyml.cuda.manual_seed(3)
    pyml.rand(1000, device="cuda", generator=g)  # a private generator leaves the default one alone
    np.testing.assert_array_equal(pyml.rand(9, device="cuda").cpu().numpy(), x.cpu().numpy())


# ---------------------------------------------------------------------------- distributions (5 sigma)
def test_distributions():
    n = 1_000_000
    g = pyml.Generator("cuda").manual_seed(1)
    u = np64(pyml.rand(n, device="cuda", generator=g))
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 5 * math.sqrt(1 / 12 / n)
    z = np64(pyml.randn(n, device="cuda", generator=g))
    assert abs(z.mean()) < 5 / math.sqrt(n) and abs(z.var() - 1) < 5 * math.sqrt(2 / n)
    e = np64(pyml.empty(n, device="cuda").exponential_(2.0, generator=g))
    assert e.min() >= 0 and abs(e.mean() - 0.5) < 5 * 0.5 / math.sqrt(n)
    b = np64(pyml.empty(n, device="cuda").bernoulli_(0.25, generator=g))
    assert abs(b.mean() - 0.25) < 5 * math.sqrt(0.25 * 0.75 / n)
    k = np64(pyml.randint(0, 10, (n,), device="cuda", generator=g))
    counts = np.bincount(k, minlength=10)
    assert np.all(np.abs(counts - n / 10) < 5 * math.sqrt(n * 0.1 * 0.9))
    m = np64(pyml.multinomial(pyml.tensor([1.0, 2.0, 7.0], device="cuda"), n, True, generator=g))
    for c, p in enumerate((0.1, 0.2, 0.7)):
        assert abs((m == c).mean() - p) < 5 * math.sqrt(p * (1 - p) / n)


# ---------------------------------------------------------------------------- errors: the CPU's
@pytest.mark.parametrize("call,exc,msg", [
    (lambda d: pyml.empty(3, device=d).bernoulli_(pyml.tensor([0.5, 1.5, 0.2], device=d)), ValueError,
     r"bernoulli_: expects all elements of p to be in \[0, 1\], got 1.5 at flat index 1"),
    (lambda d: pyml.bernoulli(pyml.tensor([0.5, float("nan")], device=d)), ValueError, "got nan at flat index 1"),
    (lambda d: pyml.normal(pyml.zeros(3, device=d), pyml.tensor([1.0, -2.0, 1.0], device=d)), ValueError,
     "normal: expects all elements of std >= 0.0, got -2 at flat index 1"),
    (lambda d: pyml.multinomial(pyml.tensor([[1.0, 2.0], [1.0, -1.0]], device=d), 1), ValueError,
     "got -1 at row 1, category 1"),
    (lambda d: pyml.multinomial(pyml.tensor([[1.0, 2.0], [0.0, 0.0]], device=d), 1), ValueError,
     "got sum 0 in row 1"),
    (lambda d: pyml.multinomial(pyml.tensor([1.0, float("inf")], device=d), 1), ValueError,
     "got inf at row 0, category 1"),
])
def test_value_errors_match_cpu(call, exc, msg):
    for dev in ("cpu", "cuda"):
        with pytest.raises(exc, match=msg):
            call(dev)


def test_generator_device_errors():
    with pytest.raises(RuntimeError, match="uniform_: expected a generator for device cuda:0"):
        pyml.empty(3, device="cuda").uniform_(generator=pyml.Generator())
    with pytest.raises(RuntimeError, match="uniform_: expected a generator for device cpu"):
        pyml.rand(3, generator=pyml.Generator("cuda"))
    with pytest.raises(RuntimeError, match="bernoulli_: expected all tensors to be on the same device"):
        pyml.empty(3, device="cuda").bernoulli_(pyml.full((3,), 0.5))
    with pytest.raises(RuntimeError, match="Generator: CUDA device index must be in"):
        pyml.Generator("cuda:99")
