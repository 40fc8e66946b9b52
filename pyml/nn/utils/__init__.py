"""nn.utils: gradient clipping, parameter/vector conversion, parametrizations (weight_norm,
spectral_norm, orthogonal), the older hook-based weight_norm / spectral_norm, conv/linear + BatchNorm
fusion, skip_init, pruning and the variable-length sequence helpers, with torch's names."""
from . import parametrize, parametrizations, prune, rnn  # noqa: F401
from .clip_grad import clip_grad_norm_, clip_grad_norm, clip_grad_value_, get_total_norm, clip_grads_with_norm_  # noqa: F401
from .convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401
from .weight_norm import weight_norm, remove_weight_norm  # noqa: F401
from .spectral_norm import spectral_norm, remove_spectral_norm  # noqa: F401
from .fusion import fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights  # noqa: F401
from .init import skip_init  # noqa: F401
from .memory_format import convert_conv2d_weight_memory_format, convert_conv3d_weight_memory_format  # noqa: F401
from .rnn import PackedSequence  # noqa: F401
from . import stateless  # noqa: F401  (torch.nn.utils.stateless.functional_call, deprecated)


__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_",
           "parameters_to_vector", "vector_to_parameters", "weight_norm", "remove_weight_norm", "spectral_norm",
           "remove_spectral_norm", "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights", "skip_init", "parametrize",
           "parametrizations", "prune", "rnn", "stateless", "PackedSequence"]
