"""nn.init: in-place initialisers with torch's names, arguments, fan/gain rules and defaults.

All of them run under no_grad and return the tensor. Sampling uses pyml's generators (Philox), so the
values differ from torch's while the distributions are the same. trunc_normal_ uses the inverse-CDF
method like torch (erfinv is a rational approximation refined by a Newton step); orthogonal_ takes the
Q of a QR factorisation of a Gaussian matrix (Gram-Schmidt with re-orthogonalisation: positive diag(R),
which is the sign fix torch applies).
"""
import math
import warnings

import pyml
from ..autograd import grad_mode

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_",
           "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
           "sparse_", "uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
           "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (tanh 5/3, relu sqrt(2), leaky_relu sqrt(2/(1+slope^2)), ...)."""
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.size(1) * receptive, tensor.size(0) * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _no_grad(fn):
    def wrapper(tensor, *args, **kwargs):
        with grad_mode.no_grad():
            return fn(tensor, *args, **kwargs)
    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@_no_grad
def uniform_(tensor, a=0.0, b=1.0, generator=None):
    return tensor.uniform_(a, b, generator=generator)


@_no_grad
def normal_(tensor, mean=0.0, std=1.0, generator=None):
    return tensor.normal_(mean, std, generator=generator)


def _erfinv(y):
    """erfinv on float64 tensors: Giles' single-precision approximation plus one Newton step on erf."""
    w = -pyml.log((1.0 - y) * (1.0 + y))
    small = w < 5.0
    ws = w - 2.5
    p1 = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503, -0.00417768164,
              0.246640727, 1.50140941):
        p1 = c + p1 * ws
    wl = pyml.sqrt(pyml.clamp(w, min=5.0)) - 3.0
    p2 = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047,
              1.00167406, 2.83297682):
        p2 = c + p2 * wl
    x = pyml.where(small, p1, p2) * y
    # one Newton step: x -= (erf(x) - y) / erf'(x)
    return x - (pyml.erf(x) - y) / (2.0 / math.sqrt(math.pi) * pyml.exp(-x * x))


@_no_grad
def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """N(mean, std) truncated to [a, b], by inverse CDF: uniform in [cdf(a), cdf(b)] mapped back."""
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The distribution of values "
                      "may be incorrect.", stacklevel=2)

    def norm_cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0
    lo, hi = norm_cdf((a - mean) / std), norm_cdf((b - mean) / std)
    u = pyml.empty(tuple(tensor.shape), dtype=pyml.float64).uniform_(2 * lo - 1, 2 * hi - 1, generator=generator)
    u = pyml.clamp(u, -1.0 + 1e-15, 1.0 - 1e-15)
    x = _erfinv(u) * (std * math.sqrt(2.0)) + mean
    tensor.copy_(pyml.clamp(x, min=a, max=b))
    return tensor


@_no_grad
def constant_(tensor, val):
    return tensor.fill_(val)


@_no_grad
def ones_(tensor):
    return tensor.fill_(1.0)


@_no_grad
def zeros_(tensor):
    return tensor.zero_()


@_no_grad
def eye_(tensor):
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    tensor.copy_(pyml.eye(tensor.shape[0], tensor.shape[1], dtype=tensor.dtype))
    return tensor


@_no_grad
def dirac_(tensor, groups=1):
    """Identity-preserving conv weights: out channel g*k+d copies in channel d at the kernel centre."""
    dims = tensor.ndim
    if dims not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.shape
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = sizes[0] // groups
    min_dim = min(per_group, sizes[1])
    tensor.zero_()
    centre = tuple(s // 2 for s in sizes[2:])
    for g in range(groups):
        for d in range(min_dim):
            tensor[(g * per_group + d, d) + centre] = 1
    return tensor


@_no_grad
def xavier_uniform_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return tensor.uniform_(-a, a, generator=generator)


@_no_grad
def xavier_normal_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return tensor.normal_(0.0, std, generator=generator)


def _zero_element(tensor):
    if tensor.numel() == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


@_no_grad
def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    if _zero_element(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return tensor.uniform_(-bound, bound, generator=generator)


@_no_grad
def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    if _zero_element(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return tensor.normal_(0.0, std, generator=generator)


def _orthonormal_columns(a):
    """Q of a = QR for a (rows >= cols), float64, by Gram-Schmidt with one re-orthogonalisation pass."""
    rows, cols = a.shape
    q = pyml.zeros(rows, cols, dtype=pyml.float64)
    for j in range(cols):
        v = a[:, j]
        if j:
            qj = q[:, :j]
            for _ in range(2):
                v = v - pyml.mv(qj, pyml.mv(qj.t(), v))
        q[:, j] = v / pyml.norm(v)
    return q


@_no_grad
def orthogonal_(tensor, gain=1, generator=None):
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = pyml.empty(rows, cols, dtype=pyml.float64).normal_(0.0, 1.0, generator=generator)
    if rows < cols:
        flat = flat.t()
    q = _orthonormal_columns(flat.contiguous())
    if rows < cols:
        q = q.t()
    tensor.copy_(q.reshape(tuple(tensor.shape)) * gain)
    return tensor


@_no_grad
def sparse_(tensor, sparsity, std=0.01, generator=None):
    """2-D only: N(0, std) with ceil(sparsity * rows) zeros in each column."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    num_zeros = int(math.ceil(sparsity * rows))
    tensor.normal_(0.0, std, generator=generator)
    for c in range(cols):
        zero_rows = pyml.randperm(rows, generator=generator)[:num_zeros]
        tensor[zero_rows, c] = 0
    return tensor


def _deprecated(new):
    def old(*args, **kwargs):
        warnings.warn(f"nn.init.{new.__name__[:-1]} is now deprecated in favor of nn.init.{new.__name__}.",
                      FutureWarning, stacklevel=2)
        return new(*args, **kwargs)
    old.__name__ = new.__name__[:-1]
    return old


uniform, normal, constant, eye, dirac = map(_deprecated, (uniform_, normal_, constant_, eye_, dirac_))
xavier_uniform, xavier_normal = map(_deprecated, (xavier_uniform_, xavier_normal_))
kaiming_uniform, kaiming_normal = map(_deprecated, (kaiming_uniform_, kaiming_normal_))
orthogonal, sparse = map(_deprecated, (orthogonal_, sparse_))
