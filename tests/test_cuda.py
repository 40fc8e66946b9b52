"""CUDA plumbing: device queries, host<->device copies, the first elementwise kernel. Skipped without a GPU."""
import numpy as np
import pytest

import pyml

pytestmark = pytest.mark.cuda


def test_device_queries():
    assert pyml.cuda.is_available()
    assert pyml.cuda.device_count() >= 1
    assert isinstance(pyml.cuda.get_device_name(0), str)


def test_round_trip_copies_all_dtypes(rng):
    for dt in (pyml.float32, pyml.float64, pyml.float16, pyml.int64, pyml.int8, pyml.bool):
        a = pyml.tensor(rng.standard_normal((7, 13)) * 10).to(dt)
        d = a.cuda()
        assert d.is_cuda and d.device == pyml.device("cuda:0") and d.dtype is dt
        np.testing.assert_array_equal(d.cpu().numpy(), a.numpy())


def test_non_contiguous_upload_and_cast(rng):
    a = pyml.tensor(rng.standard_normal((5, 9)))
    d = a.T.to("cuda", pyml.float64)
    np.testing.assert_array_equal(d.cpu().numpy(), a.T.double().numpy())


def test_add_kernel_matches_cpu(rng):
    for n in (1, 7, 97, 1025, 1 << 20):
        a, b = pyml.tensor(rng.standard_normal(n)), pyml.tensor(rng.standard_normal(n))
        got = (a.cuda() + b.cuda()).cpu()
        np.testing.assert_allclose(got.numpy(), (a + b).numpy(), rtol=1e-6)
        got = pyml.sub(a.cuda(), b.cuda(), alpha=2).cpu()
        np.testing.assert_allclose(got.numpy(), (a - 2 * b).numpy(), rtol=1e-6)


def test_fill_on_device():
    z = pyml.zeros(1000, device="cuda")
    assert z.cpu().numpy().sum() == 0
    o = pyml.full((3, 5), 2.5, device="cuda", dtype=pyml.float16)
    assert o.cpu().float().numpy().tolist() == [[2.5] * 5] * 3


def test_mixed_devices_raise():
    with pytest.raises(RuntimeError, match="add: expected all tensors to be on the same device, got cpu and cuda:0"):
        pyml.ones(3) + pyml.ones(3, device="cuda")


def test_bad_device_index_raises():
    with pytest.raises(RuntimeError, match="CUDA device index must be in"):
        pyml.ones(2, device="cuda:99")
