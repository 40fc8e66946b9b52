"""pyml.result_type: PyTorch's promotion of tensors (dimensioned > 0-dim) and Python numbers."""
import builtins

from .. import _C
from .. import _dtype as D
from .._tensor import Tensor


def _operand(x):
    if isinstance(x, Tensor):
        return (x.dtype._code, 0 if x.ndim else 1)
    if isinstance(x, builtins.bool):
        return (D.bool_._code, 2)
    if isinstance(x, int):
        return (D.int64._code, 2)
    if isinstance(x, float):
        return (_C.default_dtype(), 2)
    raise TypeError(f"result_type: expected Tensor or number, got {type(x).__name__}")


def result_type(a, b):
    return D.BY_CODE[_C.result_type([_operand(a), _operand(b)])]
