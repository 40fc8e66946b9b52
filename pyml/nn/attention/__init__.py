"""pyml.nn.attention: choose the backend F.scaled_dot_product_attention may use (torch's SDPBackend and
sdpa_kernel), plus flex_attention and the causal biases as submodules.

torch's backend names, mapped to pyml's kernels (pyml/nn/_functional/attention.py runs them):
  FLASH_ATTENTION      CPU: the fused tiled online-softmax kernel (torch's CPU flash kernel plays the same
                       role); CUDA: the tensor-core flash kernels (float16/bfloat16, head dims 64 and 128).
  EFFICIENT_ATTENTION  CUDA only: the SIMT flash kernel (any float dtype, head dim and mask), torch's
                       memory-efficient kernel's role. Where both are enabled the engine takes the tensor
                       cores whenever they apply; both compute the same function.
  MATH                 the composite softmax(Q K^T * scale + mask) V with dropout, autograd through it.
  CUDNN_ATTENTION, OVERRIDEABLE: pyml has neither; enabling only these raises like torch.
Neither fused kernel has dropout or a gradient for a float attn_mask; those inputs need MATH.
sdpa_kernel sets exactly the flags of pyml.backends.cuda (enable_flash_sdp, ...) and restores them on exit.
"""
import contextlib

from ...backends import cuda as _cuda
from ...backends.cuda import SDPBackend, SDPAParams, can_use_efficient_attention, can_use_flash_attention  # noqa: F401

__all__ = ["SDPBackend", "sdpa_kernel", "WARN_FOR_UNFUSED_KERNELS"]

# torch: when True, bias subclasses warn why the fused kernels were not used (kept for scripts that set it)
WARN_FOR_UNFUSED_KERNELS = False

_backend_names = {"cudnn": "CUDNN_ATTENTION", "flash": "FLASH_ATTENTION", "mem_efficient": "EFFICIENT_ATTENTION",
                  "math": "MATH", "overrideable": "OVERRIDEABLE"}


def _cur_sdpa_kernel_backends(with_priority=False):
    """The enabled backends (in priority order with with_priority)."""
    on = [SDPBackend[name] for flag, name in _backend_names.items() if _cuda._sdp[flag]]
    return sorted(on, key=_cuda._sdp_priority.index) if with_priority else on


def _sdpa_kernel(backends, set_priority=False):
    for flag, name in _backend_names.items():
        _cuda._sdp[flag] = SDPBackend[name] in backends
    if set_priority:
        _cuda._sdp_priority[:] = list(backends) + [b for b in _cuda._sdp_priority if b not in backends]


def _check_backends(backends):
    if isinstance(backends, SDPBackend):
        return [backends]
    if not isinstance(backends, list):
        raise AssertionError(f"Backend must be an instance of SDPBackend or a list of SDPBackend instances, "
                             f"got {type(backends).__name__}")
    return list(dict.fromkeys(backends))


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority=False):
    """Within the block F.scaled_dot_product_attention may use only `backends` (one SDPBackend or a list);
    with set_priority the list's order is also the order they are tried in. The previous flags (and
    priority) come back on exit, also on an exception. Usable as a decorator."""
    backends = _check_backends(backends)
    saved_flags, saved_priority = dict(_cuda._sdp), list(_cuda._sdp_priority)
    try:
        _sdpa_kernel(backends, set_priority)
        yield {}
    finally:
        _cuda._sdp.update(saved_flags)
        _cuda._sdp_priority[:] = saved_priority


def _sdpa_kernel_variadic(*backends):
    return sdpa_kernel(list(backends))


def _get_flash_version():
    return "2.5.7"  # torch's answer; pyml's kernels follow FlashAttention-2's algorithm


from . import flex_attention, bias  # noqa: E402,F401
