"""CUDA backend switches (torch.backends.cuda's names). `matmul.allow_tf32` lets float32 matrix
products on CUDA run on TF32 tensor cores (10-bit mantissa inputs, float32 accumulation); off by
default, as in PyTorch. The float32 matmul precision ('highest', 'high', 'medium') is the same
switch seen the other way: 'highest' means no TF32. The CPU kernels ignore both."""
from .. import _C

_PRECISIONS = ("highest", "high", "medium")
_precision_when_on = "high"  # which of 'high'/'medium' was asked for while TF32 is on


class _MatmulFlags:
    # accepted for torch scripts; pyml's reduced-precision products always accumulate in float32
    allow_bf16_reduced_precision_reduction = True
    allow_fp16_reduced_precision_reduction = True

    @property
    def allow_tf32(self):
        return bool(_C._get_matmul_allow_tf32())

    @allow_tf32.setter
    def allow_tf32(self, value):
        global _precision_when_on
        if value and not self.allow_tf32:
            _precision_when_on = "high"
        _C._set_matmul_allow_tf32(bool(value))

    def __repr__(self):
        return f"matmul(allow_tf32={self.allow_tf32})"


matmul = _MatmulFlags()


def set_float32_matmul_precision(precision):
    """'highest': float32 products in full float32; 'high' or 'medium': TF32 allowed on CUDA."""
    global _precision_when_on
    if not isinstance(precision, str) or precision not in _PRECISIONS:
        raise ValueError(f"set_float32_matmul_precision: expected one of 'highest', 'high', 'medium', "
                         f"got {precision!r}")
    _C._set_matmul_allow_tf32(precision != "highest")
    if precision != "highest":
        _precision_when_on = precision


def get_float32_matmul_precision():
    return _precision_when_on if _C._get_matmul_allow_tf32() else "highest"


def is_built():
    """Whether this pyml was compiled with its CUDA kernels (a GPU may still be absent)."""
    return bool(_C.cuda_compiled())


# ------------------------------------------------------------ scaled_dot_product_attention backends
# torch's names for its SDPA backends, answered for pyml's kernels (pyml/nn/attention/__init__.py
# documents the mapping): FLASH_ATTENTION is pyml's fused kernel on the CPU and its tensor-core
# flash kernels on CUDA (float16/bfloat16, head dim 64 or 128), EFFICIENT_ATTENTION the CUDA SIMT
# flash kernel (any float dtype, head dim and mask), MATH the composite; no cuDNN, no overrideable.
# F.scaled_dot_product_attention walks _sdp_priority and takes the first enabled backend that can
# run the inputs; sdpa_kernel (pyml.nn.attention) sets and restores these flags.
import contextlib as _contextlib
import enum as _enum
import warnings as _warnings


class SDPBackend(_enum.IntEnum):
    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True, "overrideable": True}
_SDP_FLAG = {SDPBackend.FLASH_ATTENTION: "flash", SDPBackend.EFFICIENT_ATTENTION: "mem_efficient",
             SDPBackend.MATH: "math", SDPBackend.CUDNN_ATTENTION: "cudnn", SDPBackend.OVERRIDEABLE: "overrideable"}
_sdp_priority = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH,
                 SDPBackend.CUDNN_ATTENTION, SDPBackend.OVERRIDEABLE]
_sdp_math_reduction = {"fp16_bf16": False}
_SDP_DEFAULT_PRIORITY = list(_sdp_priority)


def _sdp_untouched():
    """Every backend enabled in the default order: SDPA's cheap path (the fused kernel where it can run)."""
    return all(_sdp.values()) and _sdp_priority == _SDP_DEFAULT_PRIORITY


class SDPAParams:
    """The inputs of one scaled_dot_product_attention call, as can_use_*_attention read them."""

    def __init__(self, query, key, value, attn_mask, dropout, is_causal, enable_gqa=False):
        self.query, self.key, self.value, self.attn_mask = query, key, value, attn_mask
        self.dropout, self.is_causal, self.enable_gqa = float(dropout), bool(is_causal), bool(enable_gqa)

    def __repr__(self):
        return (f"SDPAParams(query={tuple(self.query.shape)}, key={tuple(self.key.shape)}, "
                f"value={tuple(self.value.shape)}, dropout={self.dropout}, is_causal={self.is_causal})")


def _fused_reasons(params):
    """Why no fused kernel (CPU or CUDA) can run these inputs; empty when one can."""
    from ..autograd import is_grad_enabled
    reasons = []
    if params.dropout > 0:
        reasons.append(f"the fused kernels have no dropout, got dropout_p={params.dropout}")
    m = params.attn_mask
    if m is not None and getattr(m, "requires_grad", False) and is_grad_enabled():
        reasons.append("an attn_mask that requires grad needs the math backend (the fused backward gives no "
                       "mask gradient)")
    return reasons


def _tensor_core_reasons(params):
    """Why the CUDA tensor-core flash kernels cannot run these inputs (cuda/attention_tc.cu: eligible)."""
    q, k, v = params.query, params.key, params.value
    reasons = []
    if q.dtype.itemsize != 2 or not q.dtype.is_floating_point:
        reasons.append(f"flash attention on CUDA needs float16 or bfloat16, got {q.dtype}")
    E, Ev = q.shape[-1], v.shape[-1]
    if E != Ev or E not in (64, 128):
        reasons.append(f"flash attention on CUDA needs head dims E == Ev in (64, 128), got E={E}, Ev={Ev}")
    if q.shape[-2] == 0 or k.shape[-2] == 0:
        reasons.append(f"flash attention on CUDA needs L, S > 0, got L={q.shape[-2]}, S={k.shape[-2]}")
    if any(t.stride(-1) != 1 for t in (q, k, v)):
        reasons.append("flash attention on CUDA needs the last dim of query, key and value contiguous")
    return reasons


def _answer(reasons, name, debug):
    if debug:
        for r in reasons:
            _warnings.warn(f"{name} can't be used: {r}", UserWarning, stacklevel=3)
    return not reasons


def can_use_flash_attention(params, debug=False):
    """Whether pyml's FLASH_ATTENTION kernel runs these inputs (the fused CPU kernel on the CPU, the
    tensor-core kernels on CUDA). debug=True warns each reason why not."""
    reasons = _fused_reasons(params)
    if params.query.device.type == "cuda":
        reasons += _tensor_core_reasons(params)
    return _answer(reasons, "Flash attention", debug)


def can_use_efficient_attention(params, debug=False):
    """Whether pyml's EFFICIENT_ATTENTION kernel (the CUDA SIMT flash kernel) runs these inputs."""
    reasons = _fused_reasons(params)
    if params.query.device.type != "cuda":
        reasons.append(f"memory-efficient attention runs on CUDA only, got {params.query.device.type} inputs")
    return _answer(reasons, "Memory efficient attention", debug)


def can_use_cudnn_attention(params, debug=False):
    """pyml has no cuDNN attention: always False."""
    return _answer(["pyml has no cuDNN attention kernel"], "cuDNN attention", debug)


def is_flash_attention_available():
    """pyml's flash kernels are always built (the CPU one at least)."""
    return True


def allow_fp16_bf16_reduction_math_sdp(enabled):
    """Recorded for torch scripts; pyml's math path keeps float16/bfloat16 reductions in float32."""
    _sdp_math_reduction["fp16_bf16"] = bool(enabled)


def fp16_bf16_reduction_math_sdp_allowed():
    return _sdp_math_reduction["fp16_bf16"]


@_contextlib.contextmanager
def sdp_kernel(enable_flash=True, enable_math=True, enable_mem_efficient=True, enable_cudnn=True):
    """Deprecated in torch for pyml.nn.attention.sdpa_kernel; the same flags, set and restored."""
    _warnings.warn("`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this context manager will be "
                   "removed. Please see `torch.nn.attention.sdpa_kernel()` for the new context manager, with "
                   "updated signature.", FutureWarning, stacklevel=3)
    from ..nn.attention import sdpa_kernel
    chosen = [b for b, on in ((SDPBackend.FLASH_ATTENTION, enable_flash), (SDPBackend.EFFICIENT_ATTENTION,
              enable_mem_efficient), (SDPBackend.MATH, enable_math), (SDPBackend.CUDNN_ATTENTION, enable_cudnn)) if on]
    with sdpa_kernel(chosen) as ctx:
        yield ctx


def flash_sdp_enabled():
    return _sdp["flash"]


def enable_flash_sdp(enabled):
    _sdp["flash"] = bool(enabled)


def mem_efficient_sdp_enabled():
    return _sdp["mem_efficient"]


def enable_mem_efficient_sdp(enabled):
    _sdp["mem_efficient"] = bool(enabled)


def math_sdp_enabled():
    return _sdp["math"]


def enable_math_sdp(enabled):
    _sdp["math"] = bool(enabled)


def cudnn_sdp_enabled():
    return _sdp["cudnn"]


def enable_cudnn_sdp(enabled):
    _sdp["cudnn"] = bool(enabled)
