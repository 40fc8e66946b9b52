"""pyml.datasets: data sets that work offline.

Shipped inside pyml: the 8x8 digits (load_digits) and ~200k characters of Shakespeare (load_text,
CharDataset). Through scikit-learn when installed: iris, wine, breast cancer. Generated: moons,
spirals, Gaussian mixtures, the chapter-1 daily series and MAML's sinusoid tasks (all reproducible
with seed= or generator=). Read from a local directory, never downloaded: MNIST (IDX files) and
CIFAR-10 (python pickle batches, loaded with a restricted unpickler).
"""
from ._digits import load_digits
from ._sklearn import load_iris, load_wine, load_breast_cancer
from ._synthetic import make_moons, make_spirals, make_gaussian_mixture
from ._series import DailySeries, daily_series, sliding_windows, is_holiday
from ._sinusoid import SinusoidTask, SinusoidTasks
from ._mnist import MNIST, read_idx
from ._cifar import CIFAR10
from ._safe_pickle import NumpyOnlyUnpickler, UnsafePickleError, load_numpy_pickle
from ._text import load_text, CharDataset

__all__ = ["load_digits", "load_iris", "load_wine", "load_breast_cancer",
           "make_moons", "make_spirals", "make_gaussian_mixture",
           "DailySeries", "daily_series", "sliding_windows", "is_holiday",
           "SinusoidTask", "SinusoidTasks", "MNIST", "read_idx", "CIFAR10",
           "NumpyOnlyUnpickler", "UnsafePickleError", "load_numpy_pickle", "load_text", "CharDataset"]
