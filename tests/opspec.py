"""The OpSpec table that drives the elementwise op tests: name, pyml function, float64 reference,
input domain, dtypes it accepts, and whether autograd should differentiate it (used by the autograd
issue). Tolerances per dtype live in TOL."""
import math
from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple

import numpy as np

import pyml

FLOATS = ("float32", "float64", "float16", "bfloat16")
INTS = ("int8", "int16", "int32", "int64", "uint8")
TOL = {"float32": (2e-6, 1e-6), "float64": (1e-12, 1e-12), "float16": (2e-3, 1e-3), "bfloat16": (1.6e-2, 1e-2)}

_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


@dataclass
class OpSpec:
    name: str
    fn: Callable
    ref: Callable
    domain: Tuple[float, float] = (-4.0, 4.0)
    dtypes: tuple = FLOATS
    differentiable: bool = True
    rtol_scale: float = 1.0          # ops with ill-conditioned results (tan, exp) loosen rtol a little
    extra: dict = field(default_factory=dict)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


UNARY_SPECS = [
    OpSpec("neg", pyml.neg, np.negative, dtypes=FLOATS + INTS[:4]),
    OpSpec("abs", pyml.abs, np.abs, dtypes=FLOATS + INTS[:4]),
    OpSpec("sign", pyml.sign, np.sign, dtypes=FLOATS + INTS[:4], differentiable=False),
    OpSpec("exp", pyml.exp, np.exp, rtol_scale=4),
    OpSpec("exp2", pyml.exp2, np.exp2, rtol_scale=4),
    OpSpec("expm1", pyml.expm1, np.expm1, rtol_scale=4),
    OpSpec("log", pyml.log, np.log, domain=(1e-3, 50.0)),
    OpSpec("log2", pyml.log2, np.log2, domain=(1e-3, 50.0)),
    OpSpec("log10", pyml.log10, np.log10, domain=(1e-3, 50.0)),
    OpSpec("log1p", pyml.log1p, np.log1p, domain=(-0.9, 50.0)),
    OpSpec("sqrt", pyml.sqrt, np.sqrt, domain=(0.0, 100.0)),
    OpSpec("rsqrt", pyml.rsqrt, lambda x: 1 / np.sqrt(x), domain=(1e-2, 100.0)),
    OpSpec("sin", pyml.sin, np.sin),
    OpSpec("cos", pyml.cos, np.cos),
    OpSpec("tan", pyml.tan, np.tan, domain=(-1.2, 1.2), rtol_scale=4),
    OpSpec("asin", pyml.asin, np.arcsin, domain=(-0.99, 0.99)),
    OpSpec("acos", pyml.acos, np.arccos, domain=(-0.99, 0.99)),
    OpSpec("atan", pyml.atan, np.arctan),
    OpSpec("sinh", pyml.sinh, np.sinh, rtol_scale=4),
    OpSpec("cosh", pyml.cosh, np.cosh, rtol_scale=4),
    OpSpec("tanh", pyml.tanh, np.tanh),
    OpSpec("sigmoid", pyml.sigmoid, _sigmoid),
    OpSpec("relu", pyml.relu, lambda x: np.maximum(x, 0), dtypes=FLOATS + INTS[:4]),
    OpSpec("gelu", pyml.gelu, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2)))),
    OpSpec("gelu_tanh", lambda x: pyml.gelu(x, approximate="tanh"),
           lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
    OpSpec("silu", pyml.silu, lambda x: x * _sigmoid(x)),
    OpSpec("softplus", pyml.softplus, lambda x: np.where(x > 20, x, np.log1p(np.exp(np.minimum(x, 20)))),
           domain=(-30.0, 30.0)),
    OpSpec("erf", pyml.erf, _erf),
    OpSpec("erfc", pyml.erfc, _erfc, rtol_scale=8),
    OpSpec("floor", pyml.floor, np.floor, domain=(-9.0, 9.0), dtypes=FLOATS + INTS, differentiable=False),
    OpSpec("ceil", pyml.ceil, np.ceil, domain=(-9.0, 9.0), dtypes=FLOATS + INTS, differentiable=False),
    OpSpec("round", pyml.round, np.round, domain=(-9.0, 9.0), dtypes=FLOATS + INTS, differentiable=False),
    OpSpec("trunc", pyml.trunc, np.trunc, domain=(-9.0, 9.0), dtypes=FLOATS + INTS, differentiable=False),
    OpSpec("frac", pyml.frac, lambda x: x - np.trunc(x), domain=(-9.0, 9.0)),
    OpSpec("reciprocal", pyml.reciprocal, lambda x: 1 / x, domain=(0.1, 10.0)),
    OpSpec("square", pyml.square, np.square, dtypes=FLOATS + INTS[:4]),
]

BINARY_SPECS = [
    OpSpec("add", pyml.add, np.add, dtypes=FLOATS + INTS),
    OpSpec("sub", pyml.sub, np.subtract, dtypes=FLOATS + INTS),
    OpSpec("mul", pyml.mul, np.multiply, dtypes=FLOATS + INTS),
    OpSpec("div", pyml.div, np.true_divide, domain=(0.5, 4.0)),
    OpSpec("maximum", pyml.maximum, np.maximum, dtypes=FLOATS + INTS),
    OpSpec("minimum", pyml.minimum, np.minimum, dtypes=FLOATS + INTS),
    OpSpec("atan2", pyml.atan2, np.arctan2),
    OpSpec("pow", pyml.pow, np.power, domain=(0.1, 3.0), rtol_scale=4),
    OpSpec("remainder", pyml.remainder, np.remainder, domain=(-9.0, 9.0), differentiable=False),
    OpSpec("fmod", pyml.fmod, np.fmod, domain=(-9.0, 9.0), differentiable=False),
    OpSpec("floor_divide", pyml.floor_divide, np.floor_divide, domain=(-9.0, 9.0), differentiable=False),
]
