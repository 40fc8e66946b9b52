"""The CUDA device model: queries, the caching allocator's statistics and out-of-memory behaviour,
streams and events, copies and casts between devices and layouts, DLPack with PyTorch's CUDA
tensors. Marked cuda: skipped without a GPU (tests/test_cuda_absent.py covers that case)."""
import numpy as np
import pytest

import pyml

pytestmark = pytest.mark.cuda
MiB = 1 << 20


def test_device_queries():
    assert pyml.cuda.is_available() and pyml.cuda.device_count() >= 1
    p = pyml.cuda.get_device_properties(0)
    assert p.name == pyml.cuda.get_device_name(0) and p.total_memory > MiB and p.multi_processor_count > 0
    assert pyml.cuda.get_device_capability(0) == (p.major, p.minor) and p.major >= 7
    assert pyml.cuda.current_device() == 0
    with pyml.cuda.device("cuda:0"):
        assert pyml.cuda.current_device() == 0


def test_allocator_statistics_follow_tensors():
    pyml.cuda.synchronize()
    pyml.cuda.empty_cache()  # no cached block larger than the request may serve it
    base = pyml.cuda.memory_allocated()
    x = pyml.empty(MiB + 1, dtype=pyml.uint8, device="cuda")  # rounds up to a multiple of 512 bytes
    assert pyml.cuda.memory_allocated() - base == MiB + 512
    assert pyml.cuda.memory_reserved() >= pyml.cuda.memory_allocated()
    assert pyml.cuda.max_memory_allocated() >= base + MiB + 512
    del x
    assert pyml.cuda.memory_allocated() == base
    pyml.cuda.reset_peak_memory_stats()
    assert pyml.cuda.max_memory_allocated() == base
    pyml.cuda.empty_cache()
    assert pyml.cuda.memory_reserved() >= pyml.cuda.memory_allocated()


def test_cached_block_is_reused():
    x = pyml.empty(64 * MiB, dtype=pyml.uint8, device="cuda")
    reserved = pyml.cuda.memory_reserved()
    del x
    y = pyml.empty(64 * MiB, dtype=pyml.uint8, device="cuda")
    assert pyml.cuda.memory_reserved() == reserved and y.numel() == 64 * MiB  # no new cudaMalloc


def test_out_of_memory_raises_and_leaves_the_allocator_usable():
    ooms = pyml.cuda.memory_stats()["num_ooms"]
    with pytest.raises(pyml.cuda.OutOfMemoryError, match="CUDA out of memory: tried to allocate"):
        pyml.empty(1 << 50, dtype=pyml.uint8, device="cuda")
    assert issubclass(pyml.cuda.OutOfMemoryError, RuntimeError)
    assert pyml.cuda.memory_stats()["num_ooms"] == ooms + 1
    z = pyml.ones(1000, device="cuda")
    assert z.sum().item() == 1000


def test_streams_and_events(rng):
    s = pyml.cuda.Stream()
    default = pyml.cuda.current_stream()
    a = pyml.tensor(rng.standard_normal(1 << 22).astype(np.float32)).cuda()
    start, end = pyml.cuda.Event(enable_timing=True), pyml.cuda.Event(enable_timing=True)
    s.wait_stream(default)
    with pyml.cuda.stream(s):
        assert pyml.cuda.current_stream() == s
        start.record()
        b = a.clone()
        end.record()
    assert pyml.cuda.current_stream() == default
    end.synchronize()
    assert end.query() and start.elapsed_time(end) >= 0
    default.wait_stream(s)
    np.testing.assert_array_equal(b.cpu().numpy(), a.cpu().numpy())
    with pytest.raises(RuntimeError, match="enable_timing"):
        pyml.cuda.Event().elapsed_time(end)


@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int8", "uint8", "bool"])
def test_round_trips_casts_and_strided_copies(rng, dt):
    dt = getattr(pyml, dt)
    a = pyml.tensor(rng.standard_normal((7, 13)) * 10).to(dt)
    d = a.cuda()
    assert d.is_cuda and d.device == pyml.device("cuda:0") and d.dtype is dt
    np.testing.assert_array_equal(d.cpu().float().numpy(), a.float().numpy())
    np.testing.assert_array_equal(d.T.contiguous().cpu().float().numpy(), a.T.float().numpy())  # device clone
    np.testing.assert_array_equal(d.to(pyml.float64).cpu().numpy(), a.to(pyml.float64).numpy())  # device cast
    np.testing.assert_array_equal(a.T.cuda().cpu().float().numpy(), a.T.float().numpy())  # strided upload
    w = pyml.zeros(13, 14, dtype=dt, device="cuda")[:, ::2]
    w.copy_(a.T)  # strided device destination from a host source
    np.testing.assert_array_equal(w.cpu().float().numpy(), a.T.float().numpy())
    h = pyml.zeros(13, 7, dtype=dt)
    h.copy_(d.T)  # host destination from a strided device source
    np.testing.assert_array_equal(h.float().numpy(), a.T.float().numpy())


def test_fill_and_broadcast_copy_on_device():
    z = pyml.zeros(1000, device="cuda")
    assert z.cpu().numpy().sum() == 0
    o = pyml.full((3, 5), 2.5, device="cuda", dtype=pyml.float16)
    assert o.cpu().float().numpy().tolist() == [[2.5] * 5] * 3
    m = pyml.zeros(4, 6, device="cuda")
    m[:, 1::2].fill_(3.0)
    m[0].copy_(pyml.tensor([7.0]))
    want = np.zeros((4, 6), np.float32)
    want[:, 1::2] = 3
    want[0] = 7
    np.testing.assert_array_equal(m.cpu().numpy(), want)


def test_mixed_devices_and_bad_index_raise():
    with pytest.raises(RuntimeError, match="add: expected all tensors to be on the same device, got cpu and cuda:0"):
        pyml.ones(3) + pyml.ones(3, device="cuda")
    with pytest.raises(RuntimeError, match="CUDA device index must be in"):
        pyml.ones(2, device="cuda:99")
    with pytest.raises(TypeError, match="numpy"):
        pyml.ones(2, device="cuda").numpy()


def test_dlpack_zero_copy_with_torch(rng):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    t = torch.arange(12, dtype=torch.float32, device="cuda").reshape(3, 4)
    p = pyml.from_dlpack(t)
    assert p.is_cuda and p.data_ptr() == t.data_ptr()
    p.fill_(5.0)
    torch.cuda.synchronize()
    assert t.sum().item() == 60
    q = pyml.tensor(rng.standard_normal((5, 3)).astype(np.float32)).cuda()
    u = torch.from_dlpack(q)
    assert u.is_cuda and u.data_ptr() == q.data_ptr()
    np.testing.assert_array_equal(u.cpu().numpy(), q.cpu().numpy())
