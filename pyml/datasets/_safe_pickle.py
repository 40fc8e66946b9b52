"""Loading pickled NumPy data without running arbitrary code.

A pickle names the callables it wants called ("globals"), so a plain pickle.load of a downloaded
file can execute anything. CIFAR-10's python batches only need NumPy's array rebuilding, so the
unpickler here resolves a short allow-list of globals (array reconstruction, dtype, scalar and the
_codecs.encode that protocol-2 pickles use for bytes) and refuses every other global with
UnsafePickleError, naming the global and the file.
"""
import importlib
import pickle

import numpy as np


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle asked for a global outside the allow-list."""


def _numpy_core(submodule):
    """numpy._core.<submodule> on NumPy 2, numpy.core.<submodule> on NumPy 1."""
    try:
        return importlib.import_module(f"numpy._core.{submodule}")
    except ImportError:
        return importlib.import_module(f"numpy.core.{submodule}")


def _allowed_globals():
    """(module, name) -> object for every global a NumPy-array pickle may legitimately use, under
    both the NumPy 1 (numpy.core) and NumPy 2 (numpy._core) module names."""
    import _codecs
    multiarray, numeric = _numpy_core("multiarray"), _numpy_core("numeric")
    table = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype, ("_codecs", "encode"): _codecs.encode}
    for core in ("numpy.core", "numpy._core"):
        table[(f"{core}.multiarray", "_reconstruct")] = multiarray._reconstruct
        table[(f"{core}.multiarray", "scalar")] = multiarray.scalar
        table[(f"{core}.numeric", "_frombuffer")] = numeric._frombuffer
    return table


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An Unpickler that rebuilds NumPy arrays, dtypes and scalars (plus plain Python containers,
    numbers and strings, which need no globals) and nothing else."""

    def __init__(self, file, source="<pickle>", owner="NumpyOnlyUnpickler", encoding="latin1"):
        super().__init__(file, encoding=encoding)
        self.source, self.owner = source, owner        # for error messages: the file, and who reads it
        self._allowed = _allowed_globals()

    def find_class(self, module, name):
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise UnsafePickleError(f"{self.owner}: refusing to load global {module}.{name} from {self.source!r}; only "
                                    f"NumPy array reconstruction is allowed in this data file") from None


def load_numpy_pickle(name, path):
    """Unpickle `path` with NumpyOnlyUnpickler. Refused globals raise UnsafePickleError; a
    truncated or garbled file raises ValueError naming it (prefixed with `name`)."""
    with open(path, "rb") as f:
        try:
            return NumpyOnlyUnpickler(f, source=path, owner=name).load()
        except UnsafePickleError:
            raise
        except Exception as e:   # any failure of a garbled stream (EOFError, KeyError, struct.error, ...)
            raise ValueError(f"{name}: {path!r} is not a valid pickle file (truncated or corrupt: "
                             f"{type(e).__name__}: {e})") from None
