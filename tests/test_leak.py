"""100k small ops in a loop keep resident memory flat (no leaked storages or Python references)."""
import gc

import pyml


def _rss_kib():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import resource
    return pages * resource.getpagesize() // 1024


def _work(n):
    x = pyml.ones(4, 5)
    for i in range(n):
        y = (x + i) * 0.5
        z = y.T.reshape(20).exp()
        x = pyml.maximum(z.view(4, 5) - z.view(4, 5), x)
        x.add_(0.0)
        if i % 7 == 0:
            pyml.tensor([1.0, 2.0]).numpy()
    return x


def test_100k_small_ops_keep_rss_flat():
    _work(5_000)  # warm-up: allocator pools, interned objects
    gc.collect()
    before = _rss_kib()
    _work(20_000)  # ~5 ops per iteration -> 100k ops
    gc.collect()
    after = _rss_kib()
    # each iteration allocates ~6 tensors; a per-op leak of even 64 bytes would add > 6 MiB
    assert after - before < 4 * 1024, f"RSS grew by {after - before} KiB over 100k ops"
