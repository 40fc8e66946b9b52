"""pyml.cuda: the rest of torch.cuda's query, memory and profiling helpers, over what pyml._C exposes.

Without a GPU the capability queries answer like torch on a CPU build (False, []), and every call that
needs a device raises RuntimeError (as pyml.cuda.memory_stats does; torch answers 0 or {} for some of
them). Where _C has no hook (free device memory, arch flags, a memory-fraction limit, accumulated-stat
reset) the docstring says what is returned instead. nvtx is a set of no-ops that keep the range nesting.
"""
import contextlib
import warnings

from .. import _C
from .memory import memory_stats, memory_reserved, max_memory_reserved, reset_peak_memory_stats
from .streams import stream as _stream

__all__ = ["is_bf16_supported", "is_tf32_supported", "is_initialized", "get_arch_list", "mem_get_info",
           "memory_summary", "memory_stats_as_nested_dict", "reset_max_memory_allocated",
           "reset_accumulated_memory_stats", "max_memory_cached", "memory_cached", "ipc_collect", "nvtx",
           "set_per_process_memory_fraction", "get_per_process_memory_fraction", "device_of", "StreamContext",
           "check_error"]

# CMakeLists.txt compiles the CUDA code for CMAKE_CUDA_ARCHITECTURES "80;90" (+ sm_90a objects) unless the
# build sets PYML_CUDA_ARCHS; _C does not expose the list it was built with, so this is the default build's.
_DEFAULT_ARCHS = ["sm_80", "sm_90"]
_memory_fraction = {}  # device index -> fraction set by set_per_process_memory_fraction


def _available():
    from . import is_available
    return is_available()


def _device_index(device, op):
    from . import _index, _require
    _require(op)
    return _index(device, op)


def is_bf16_supported(including_emulation=True):
    """True on a GPU of compute capability >= 8.0 (pyml's CUDA code is built for sm_80 and later only, so
    there is no emulated bfloat16 on older GPUs); False without a GPU."""
    from . import get_device_capability
    return _available() and get_device_capability()[0] >= 8


def is_tf32_supported():
    """True on a GPU of compute capability >= 8.0 (Ampere and later); False without a GPU."""
    return is_bf16_supported(including_emulation=False)


def is_initialized():
    """Whether CUDA is ready in this process: pyml initialises the runtime when it first counts devices
    (on import), so this is is_available()."""
    return _available()


def get_arch_list():
    """The sm_XY targets the CUDA kernels were compiled for ([] without a GPU, like torch)."""
    if not _available() or not _C.cuda_compiled():
        return []
    return list(_DEFAULT_ARCHS)


def mem_get_info(device=None):
    """(free, total) bytes. _C has no cudaMemGetInfo hook: total is the device's memory and free is total
    minus what pyml's allocator has reserved (other processes' use is not seen)."""
    from . import get_device_properties
    i = _device_index(device, "mem_get_info")
    total = get_device_properties(i).total_memory
    return total - memory_reserved(i), total


def memory_stats_as_nested_dict(device=None):
    """memory_stats with its dotted keys ("a.b.c") nested; pyml's keys are flat, so this is memory_stats."""
    out = {}
    for key, value in memory_stats(_device_index(device, "memory_stats_as_nested_dict")).items():
        node = out
        *path, leaf = key.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def memory_summary(device=None, abbreviated=False):
    """A readable table of the allocator's current and peak bytes (abbreviated is accepted, unused)."""
    s = memory_stats(_device_index(device, "memory_summary"))
    rows = [("Allocated memory", s["allocated_bytes"], s["max_allocated_bytes"]),
            ("Reserved memory", s["reserved_bytes"], s["max_reserved_bytes"])]
    lines = ["|" + "=" * 60 + "|", f"| {'PyML CUDA memory summary, device ID ' + str(device or 0):<58} |",
             f"| {'Metric':<26}{'Current':>16}{'Peak':>16} |"]
    lines += [f"| {name:<26}{cur:>16}{peak:>16} |" for name, cur, peak in rows]
    lines += [f"| {'Out-of-memory events':<26}{s['num_ooms']:>16}{'':>16} |", "|" + "=" * 60 + "|"]
    return "\n".join(lines) + "\n"


def reset_max_memory_allocated(device=None):
    """Resets every peak statistic (as torch now does, with its FutureWarning)."""
    warnings.warn("pyml.cuda.reset_max_memory_allocated now calls pyml.cuda.reset_peak_memory_stats, which resets "
                  "/all/ peak memory stats.", FutureWarning, stacklevel=2)
    reset_peak_memory_stats(device)


def reset_accumulated_memory_stats(device=None):
    """Checks the device. pyml's only accumulated counter (num_ooms) has no reset hook in _C, so it stays."""
    _device_index(device, "reset_accumulated_memory_stats")


def memory_cached(device=None):
    """Deprecated name of memory_reserved."""
    warnings.warn("pyml.cuda.memory_cached has been renamed to pyml.cuda.memory_reserved", FutureWarning,
                  stacklevel=2)
    return memory_reserved(device)


def max_memory_cached(device=None):
    """Deprecated name of max_memory_reserved."""
    warnings.warn("pyml.cuda.max_memory_cached has been renamed to pyml.cuda.max_memory_reserved", FutureWarning,
                  stacklevel=2)
    return max_memory_reserved(device)


def ipc_collect():
    """A no-op: pyml shares no CUDA memory between processes."""


def set_per_process_memory_fraction(fraction, device=None):
    """Records the fraction (0..1) of the device's memory this process may use. pyml's allocator has no
    limit hook, so it is stored (get_per_process_memory_fraction returns it) but NOT enforced."""
    i = _device_index(device, "set_per_process_memory_fraction")
    if not isinstance(fraction, float):
        raise TypeError(f"set_per_process_memory_fraction: fraction must be a float, got {type(fraction).__name__}")
    if not 0 <= fraction <= 1:
        raise ValueError(f"set_per_process_memory_fraction: fraction must be in [0, 1], got {fraction}")
    _memory_fraction[i] = fraction


def get_per_process_memory_fraction(device=None):
    """The fraction set by set_per_process_memory_fraction (1.0 when never set); not enforced by pyml."""
    return _memory_fraction.get(_device_index(device, "get_per_process_memory_fraction"), 1.0)


class device_of:
    """Context manager that makes obj's CUDA device current for its body (a no-op for a CPU tensor)."""

    def __init__(self, obj):
        d = obj.device
        self.idx = (d.index or 0) if d.type == "cuda" else -1
        self.prev = -1

    def __enter__(self):
        if self.idx != -1:
            from . import current_device, set_device
            self.prev = current_device()
            set_device(self.idx)

    def __exit__(self, *exc):
        if self.idx != -1:
            from . import set_device
            set_device(self.prev)
        return False


class StreamContext:
    """Context manager that makes `stream` current on its device for the body (None: no change)."""

    def __init__(self, stream):
        self.stream = stream
        self._cm = None

    def __enter__(self):
        self._cm = _stream(self.stream)
        return self._cm.__enter__()

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


def check_error(res):
    """Raises RuntimeError for a non-zero CUDA error code (pyml's _C checks its own calls already)."""
    if res != 0:
        raise RuntimeError(f"check_error: CUDA call failed, got error code {res}")


class _Nvtx:
    """pyml.cuda.nvtx: no NVTX library is linked, so ranges and marks are no-ops; the nesting depth is kept
    so range_push/range_pop return it like NVTX does (range_pop at depth 0 returns -1)."""

    def __init__(self):
        self.depth = 0

    def range_push(self, msg):
        self.depth += 1
        return self.depth - 1

    def range_pop(self):
        if self.depth == 0:
            return -1
        self.depth -= 1
        return self.depth

    def mark(self, msg):
        return None

    def range_start(self, msg):
        return 0

    def range_end(self, range_id):
        return None

    @contextlib.contextmanager
    def range(self, msg, *args, **kwargs):
        self.range_push(msg.format(*args, **kwargs))
        try:
            yield
        finally:
            self.range_pop()


nvtx = _Nvtx()
