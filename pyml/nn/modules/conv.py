"""Convolution layers: Conv1d/2d/3d, ConvTranspose1d/2d/3d and their Lazy variants, with torch's
constructor arguments, parameter names and default initialisation: kaiming_uniform_(a=sqrt(5)) for
the weight, which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias (fan_in =
weight.shape[1] * kernel elements). Non-zero padding modes pad the input first (F.pad), as torch.
A Lazy layer takes in_channels from its first input (like nn.LazyLinear), then becomes the plain layer."""
import math

from ... import _creation
from ..._ops.index import pad as _pad
from ...autograd import no_grad
from ..parameter import Parameter, UninitializedParameter
from .._functional import conv as F

from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "LazyConv1d",
           "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _uniform_(t, bound):
    with no_grad():
        t.uniform_(-bound, bound)


class _ConvNd(Module):
    _nd = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", output_padding=0, device=None, dtype=None):
        super().__init__()
        name, nd = type(self).__name__, self._nd
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, but got "
                             f"padding_mode={padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = F._ntuple(kernel_size, nd, name, "kernel_size")
        self.stride = F._ntuple(stride, nd, name, "stride")
        self.dilation = F._ntuple(dilation, nd, name, "dilation")
        self.output_padding = F._ntuple(output_padding, nd, name, "output_padding")
        self.padding_mode = padding_mode
        self.transposed = self._transposed
        self._set_padding(padding, name)
        shape = ((in_channels, out_channels // groups) if self._transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(_creation.empty(shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(_creation.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _set_padding(self, padding, name):
        nd = self._nd
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions, got stride "
                                 f"{self.stride}")
            self.padding = padding
            pads = [0, 0] * nd  # F.pad order: last dim first, (left, right) each
            if padding == "same":
                for i, (d, k) in enumerate(zip(self.dilation, self.kernel_size)):
                    total = d * (k - 1)
                    j = nd - 1 - i
                    pads[2 * j], pads[2 * j + 1] = total // 2, total - total // 2
        else:
            self.padding = F._ntuple(padding, nd, name, "padding")
            pads = [p for p in reversed(self.padding) for _ in range(2)]
        self._reversed_padding_repeated_twice = pads

    def reset_parameters(self):
        # kaiming_uniform_(a=sqrt(5)): gain sqrt(2 / (1 + 5)), bound gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in)
        fan_in = self.weight.shape[1] * math.prod(self.weight.shape[2:])
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        if self.weight.numel():
            _uniform_(self.weight, bound)
        if self.bias is not None and fan_in > 0:
            _uniform_(self.bias, bound)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, 0, device, dtype)

    def _conv_forward(self, input, weight, bias):
        fn = (F.conv1d, F.conv2d, F.conv3d)[self._nd - 1]
        if self.padding_mode != "zeros":
            x = _pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return fn(x, weight, bias, self.stride, 0, self.dilation, self.groups)
        return fn(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """x (N, C_in, L) -> (N, C_out, L_out); weight (C_out, C_in/groups, k)."""
    _nd = 1


class Conv2d(_Conv):
    """x (N, C_in, H, W) -> (N, C_out, H_out, W_out); weight (C_out, C_in/groups, kH, kW)."""
    _nd = 2


class Conv3d(_Conv):
    """x (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out); weight (C_out, C_in/groups, kD, kH, kW)."""
    _nd = 3


class _ConvTransposeNd(_ConvNd):
    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        name = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f'{name}: only "zeros" padding mode is supported, got padding_mode={padding_mode!r}')
        if isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int or a tuple of ints, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding, device, dtype)

    def _output_padding(self, input, output_size):
        """torch's rule: the output_padding that makes the output output_size (within a stride of the minimum)."""
        if output_size is None:
            return self.output_padding
        nd, name = self._nd, type(self).__name__
        output_size = [int(s) for s in output_size]
        lead = 2 if input.ndim == nd + 2 else 1
        if len(output_size) == lead + nd:
            output_size = output_size[lead:]
        if len(output_size) != nd:
            raise ValueError(f"{name}: for {input.ndim}-D input, output_size must have {nd} or {lead + nd} "
                             f"elements (got {len(output_size)})")
        spatial = input.shape[input.ndim - nd:]
        lo = [(spatial[d] - 1) * self.stride[d] - 2 * self.padding[d] + self.dilation[d] * (self.kernel_size[d] - 1)
              + 1 for d in range(nd)]
        hi = [lo[d] + self.stride[d] - 1 for d in range(nd)]
        for d in range(nd):
            if not lo[d] <= output_size[d] <= hi[d]:
                raise ValueError(f"{name}: requested an output size of {output_size}, but valid sizes range from "
                                 f"{lo} to {hi} (for an input of {list(spatial)})")
        return tuple(output_size[d] - lo[d] for d in range(nd))

    def forward(self, input, output_size=None):
        fn = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[self._nd - 1]
        op = self._output_padding(input, output_size)
        return fn(input, self.weight, self.bias, self.stride, self.padding, op, self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """x (N, C_in, L) -> (N, C_out, L_out); weight (C_in, C_out/groups, k)."""
    _nd = 1


class ConvTranspose2d(_ConvTransposeNd):
    """x (N, C_in, H, W) -> (N, C_out, H_out, W_out); weight (C_in, C_out/groups, kH, kW)."""
    _nd = 2


class ConvTranspose3d(_ConvTransposeNd):
    """x (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out); weight (C_in, C_out/groups, kD, kH, kW)."""
    _nd = 3


# ---------------------------------------------------------------------------------------- lazy layers
class _LazyConvMixin:
    """Built as the plain layer with no channels; the first forward reads in_channels from the input
    ((N, C_in, *) or unbatched (C_in, *)), materialises and initialises the parameters and turns the
    module into cls_to_become."""
    cls_to_become = None

    def _make_lazy(self, out_channels, bias, device, dtype):
        self.out_channels = out_channels
        self._factory = {"device": device, "dtype": dtype}
        self.weight = UninitializedParameter()
        self.bias = UninitializedParameter() if bias else None

    def reset_parameters(self):
        if not isinstance(self.weight, UninitializedParameter) and self.in_channels != 0:
            super().reset_parameters()

    def _materialize(self, input):
        nd, name = self._nd, type(self).__name__
        if input.ndim not in (nd + 1, nd + 2):
            raise ValueError(f"{name}: expected {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got input "
                             f"of shape {tuple(input.shape)}")
        self.in_channels = int(input.shape[1] if input.ndim == nd + 2 else input.shape[0])
        if self.in_channels % self.groups:
            raise ValueError(f"{name}: in_channels ({self.in_channels}) must be divisible by groups ({self.groups})")
        g = self.groups
        shape = ((self.in_channels, self.out_channels // g) if self._transposed
                 else (self.out_channels, self.in_channels // g)) + self.kernel_size
        self.weight.materialize(shape, **self._factory)
        if self.bias is not None:
            self.bias.materialize((self.out_channels,), **self._factory)
        self.reset_parameters()
        self.__class__ = self.cls_to_become
        del self._factory

    def forward(self, input, *args, **kwargs):
        if isinstance(self.weight, UninitializedParameter):
            self._materialize(input)
        return self.forward(input, *args, **kwargs)  # the plain layer's forward from here on


class _LazyConv(_LazyConvMixin, _Conv):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode, device, dtype)
        self._make_lazy(out_channels, bias, device, dtype)


class _LazyConvTranspose(_LazyConvMixin, _ConvTransposeNd):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True,
                 dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation, padding_mode,
                         device, dtype)
        self._make_lazy(out_channels, bias, device, dtype)


class LazyConv1d(_LazyConv):
    """A Conv1d whose in_channels is taken from the first input it sees."""
    _nd, cls_to_become = 1, Conv1d


class LazyConv2d(_LazyConv):
    """A Conv2d whose in_channels is taken from the first input it sees."""
    _nd, cls_to_become = 2, Conv2d


class LazyConv3d(_LazyConv):
    """A Conv3d whose in_channels is taken from the first input it sees."""
    _nd, cls_to_become = 3, Conv3d


class LazyConvTranspose1d(_LazyConvTranspose):
    """A ConvTranspose1d whose in_channels is taken from the first input it sees."""
    _nd, cls_to_become = 1, ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTranspose):
    """A ConvTranspose2d whose in_channels is taken from the first input it sees."""
    _nd, cls_to_become = 2, ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTranspose):
    """A ConvTranspose3d whose in_channels is taken from the first input it sees."""
    _nd, cls_to_become = 3, ConvTranspose3d
