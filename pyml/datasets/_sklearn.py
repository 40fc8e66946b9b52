"""scikit-learn's bundled tabular data sets (iris, wine, breast cancer) as pyml tensors.

scikit-learn ships these files with its wheel, so they load offline; it is an optional dependency
of pyml, imported only when one of these loaders is called. Each loader returns
(X float32 (N, F), y int64 (N,)): iris (150, 4) with 3 classes, wine (178, 13) with 3 classes,
breast_cancer (569, 30) with 2 classes (0 malignant, 1 benign).
"""
import numpy as np

import pyml


def _sklearn_datasets(caller):
    """sklearn.datasets, or an ImportError telling how to install it."""
    try:
        import sklearn.datasets
    except ImportError:
        raise ImportError(f"pyml.datasets.{caller} needs scikit-learn (pip install scikit-learn)") from None
    return sklearn.datasets


def _as_tensors(bunch):
    x = np.ascontiguousarray(bunch.data, dtype=np.float32)
    y = np.ascontiguousarray(bunch.target, dtype=np.int64)
    return pyml.from_numpy(x), pyml.from_numpy(y)


def load_iris():
    """Fisher's iris: X float32 (150, 4) (sepal/petal length and width, cm), y int64 (150,) in 0..2."""
    return _as_tensors(_sklearn_datasets("load_iris").load_iris())


def load_wine():
    """The UCI wine recognition data: X float32 (178, 13) chemical measurements, y int64 (178,) in 0..2."""
    return _as_tensors(_sklearn_datasets("load_wine").load_wine())


def load_breast_cancer():
    """The Wisconsin diagnostic breast cancer data: X float32 (569, 30), y int64 (569,), 0 = malignant."""
    return _as_tensors(_sklearn_datasets("load_breast_cancer").load_breast_cancer())
