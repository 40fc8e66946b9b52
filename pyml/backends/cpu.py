"""torch.backends.cpu: the SIMD level pyml's CPU kernels were dispatched to (by cpuid at import)."""
from .. import _C

_NAMES = {"avx512": "AVX512", "avx2": "AVX2", "generic": "DEFAULT"}


def get_cpu_capability():
    """'AVX512', 'AVX2' or 'DEFAULT' (the portable kernels), as torch names them."""
    isa = _C.cpu_isa()
    return _NAMES.get(isa, isa.upper())
