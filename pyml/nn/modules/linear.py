"""Linear layers: Identity, Linear, Bilinear, LazyLinear, with torch's default initialisation
(kaiming_uniform_(a=sqrt(5)) for the weight, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the bias)."""
import math

from ... import _creation
from .. import init
from ..parameter import Parameter, UninitializedParameter
from .._functional import linear as F
from .module import Module

__all__ = ["Identity", "Linear", "Bilinear", "LazyLinear"]


def _add_bias(module, wanted, n, device, dtype):
    """Register `bias` (n,) on module, uninitialised, or as None when the layer has no bias."""
    value = Parameter(_creation.empty(n, device=device, dtype=dtype)) if wanted else None
    module.register_parameter("bias", value)


class Identity(Module):
    """Returns its input; accepts and ignores any constructor arguments."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x W^T + b; weight (out_features, in_features), bias (out_features)."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(_creation.empty((out_features, in_features), device=device, dtype=dtype))
        _add_bias(self, bias, out_features, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        # kaiming_uniform_ with a=sqrt(5) draws the weight from U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the bias
        # uses the same bound (0 for an empty weight)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is None:
            return
        fan_in = init._calculate_fan_in_and_fan_out(self.weight)[0]
        limit = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(self.bias, -limit, limit)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Bilinear(Module):
    """y = x1^T A x2 + b; weight (out_features, in1_features, in2_features), bias (out_features)."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = Parameter(_creation.empty((out_features, in1_features, in2_features), device=device,
                                                dtype=dtype))
        _add_bias(self, bias, out_features, device, dtype)
        self.reset_parameters()

    def reset_parameters(self):
        limit = 1 / math.sqrt(self.weight.size(1))  # weight and bias both from U(-1/sqrt(in1), 1/sqrt(in1))
        for p in (self.weight, self.bias):
            if p is not None:
                init.uniform_(p, -limit, limit)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class LazyLinear(Linear):
    """A Linear whose in_features is taken from the first input it sees."""
    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        Module.__init__(self)
        self.in_features = 0
        self.out_features = out_features
        self._factory = {"device": device, "dtype": dtype}
        self.weight = UninitializedParameter()
        if bias:
            self.bias = UninitializedParameter()
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if not isinstance(self.weight, UninitializedParameter) and self.in_features != 0:
            super().reset_parameters()

    def forward(self, input):
        if isinstance(self.weight, UninitializedParameter):
            self.in_features = input.shape[-1]
            self.weight.materialize((self.out_features, self.in_features), **self._factory)
            if self.bias is not None:
                self.bias.materialize((self.out_features,), **self._factory)
            self.reset_parameters()
            self.__class__ = self.cls_to_become
            del self._factory
        return F.linear(input, self.weight, self.bias)
