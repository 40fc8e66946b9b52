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


# scaled_dot_product_attention backend switches, under torch's names. pyml has one attention
# implementation per device (its own flash kernels on CUDA, a fused kernel on the CPU), so these
# record what a script asked for and change nothing.
_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


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
