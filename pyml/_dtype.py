"""dtype objects (pyml.float32, ...) mirroring torch.dtype, mapped onto the engine's codes."""
import builtins

import numpy as np


class dtype:
    # _diff: values of this dtype can carry gradients (floating and complex)
    __slots__ = ("name", "_code", "itemsize", "is_floating_point", "is_signed", "_np", "_diff")

    def __init__(self, name, code, itemsize, is_float, is_signed, np_type):
        self.name, self._code, self.itemsize = name, code, itemsize
        self.is_floating_point, self.is_signed, self._np = is_float, is_signed, np_type
        self._diff = is_float or self.is_complex

    @property
    def is_complex(self):
        return self._code >= 10

    def to_real(self):
        """complex64 -> float32, complex128 -> float64; real dtypes map to themselves."""
        return {10: float32, 11: float64}.get(self._code, self)

    def to_complex(self):
        """float32 (and narrower floats) -> complex64, float64 -> complex128; complex maps to itself."""
        if self.is_complex:
            return self
        if not self.is_floating_point:
            raise TypeError(f"to_complex: expected a floating-point dtype, got {self!r}")
        return complex128 if self._code == 9 else complex64

    def __repr__(self):
        return "pyml." + self.name

    def __reduce__(self):
        return (_by_name, (self.name,))


bool_ = dtype("bool", 0, 1, False, False, np.bool_)
uint8 = dtype("uint8", 1, 1, False, False, np.uint8)
int8 = dtype("int8", 2, 1, False, True, np.int8)
int16 = dtype("int16", 3, 2, False, True, np.int16)
int32 = dtype("int32", 4, 4, False, True, np.int32)
int64 = dtype("int64", 5, 8, False, True, np.int64)
float16 = dtype("float16", 6, 2, True, True, np.float16)
bfloat16 = dtype("bfloat16", 7, 2, True, True, None)
float32 = dtype("float32", 8, 4, True, True, np.float32)
float64 = dtype("float64", 9, 8, True, True, np.float64)
complex64 = dtype("complex64", 10, 8, False, True, np.complex64)
complex128 = dtype("complex128", 11, 16, False, True, np.complex128)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64, complex64, complex128)
BY_CODE = {d._code: d for d in ALL}
# engine dtype codes autograd records (complex ones are differentiable too, as in torch)
FLOATING_CODES = frozenset(d._code for d in ALL if d._diff)
ALIASES = {"bool": bool_, "uint8": uint8, "int8": int8, "int16": int16, "short": int16, "int32": int32,
           "int": int32, "int64": int64, "long": int64, "float16": float16, "half": float16,
           "bfloat16": bfloat16, "float32": float32, "float": float32, "float64": float64, "double": float64,
           "complex64": complex64, "cfloat": complex64, "complex128": complex128, "cdouble": complex128}


def _by_name(name):
    return ALIASES[name]


def from_numpy_dtype(npdt):
    npdt = np.dtype(npdt)
    for d in ALL:
        if d._np is not None and np.dtype(d._np) == npdt:
            return d
    raise TypeError(f"pyml: can't convert NumPy dtype {npdt}; supported: bool, uint8, int8, int16, "
                    "int32, int64, float16, float32, float64, complex64, complex128")


def to_dtype(x, op="dtype"):
    """Accept a pyml dtype, a Python type (float/int/bool), a NumPy dtype or a name string."""
    if isinstance(x, dtype):
        return x
    if x is builtins.float:  # like torch: the Python type float means float64
        return float64
    if x is builtins.int:
        return int64
    if x is builtins.bool:
        return bool_
    if x is builtins.complex:
        return complex128
    if isinstance(x, str) and x in ALIASES:
        return ALIASES[x]
    try:
        return from_numpy_dtype(x)
    except TypeError:
        raise TypeError(f"{op}: expected a pyml dtype (e.g. pyml.float32), got {x!r}") from None
