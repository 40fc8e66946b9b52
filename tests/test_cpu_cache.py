"""The large CPU buffer cache (csrc/core/cpu_cache.h): freed multi-MiB buffers are reused, the cache
is bounded and can be emptied, and reused memory never leaks old values into results."""
import gc

import numpy as np

import pyml
from pyml import _C

MIB = 1 << 20


def test_large_buffers_are_recycled_and_cache_empties():
    _C.cpu_empty_cache()
    assert _C.cpu_cache_bytes() == 0
    a = pyml.empty(3 * MIB)  # 12 MiB of float32
    ptr = a.data_ptr()
    del a
    gc.collect()
    assert _C.cpu_cache_bytes() == 12 * MIB  # rounded to 2 MiB pages: 12 MiB exactly
    b = pyml.empty(3 * MIB)
    assert b.data_ptr() == ptr and _C.cpu_cache_bytes() == 0  # the same block came back
    del b
    _C.cpu_empty_cache()
    assert _C.cpu_cache_bytes() == 0


def test_small_buffers_bypass_the_cache():
    _C.cpu_empty_cache()
    x = pyml.empty(1000)
    del x
    gc.collect()
    assert _C.cpu_cache_bytes() == 0


def test_cache_is_bounded():
    _C.cpu_empty_cache()
    held = [pyml.empty(64 * MIB // 4) for _ in range(20)]  # 20 x 64 MiB = 1.25 GiB
    del held
    gc.collect()
    assert 0 < _C.cpu_cache_bytes() <= 1 << 30
    _C.cpu_empty_cache()


def test_reused_memory_gives_correct_results():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(2_000_003).astype(np.float32), rng.standard_normal(2_000_003).astype(np.float32)
    pa, pb = pyml.from_numpy(a), pyml.from_numpy(b)
    for _ in range(3):  # the outputs reuse each other's blocks
        np.testing.assert_array_equal((pa + pb).numpy(), a + b)
        np.testing.assert_array_equal(pyml.zeros(2_000_003).numpy(), np.zeros(2_000_003, np.float32))
    _C.cpu_empty_cache()
