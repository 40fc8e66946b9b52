"""Tabular loaders against scikit-learn itself: the shipped digits and the sklearn-backed iris, wine
and breast cancer must hold exactly scikit-learn's values, with pyml's dtypes, and the loaders must
explain how to install scikit-learn when it is missing."""
import sys

import numpy as np
import pytest

import pyml
from pyml import datasets


def sklearn_datasets():
    """scikit-learn is a test dependency of these checks (an optional one of pyml itself)."""
    import sklearn.datasets
    return sklearn.datasets


def test_digits_equal_sklearn_images_and_target():
    ref = sklearn_datasets().load_digits()
    x, y = datasets.load_digits(normalize=False)
    assert tuple(x.shape) == (1797, 1, 8, 8) and x.dtype == pyml.float32 and y.dtype == pyml.int64
    np.testing.assert_array_equal(x.numpy()[:, 0], ref.images)
    np.testing.assert_array_equal(y.numpy(), ref.target)


def test_digits_flatten_and_normalize_match_sklearn_data():
    ref = sklearn_datasets().load_digits()
    x, y = datasets.load_digits(normalize=True, flatten=True)
    assert tuple(x.shape) == (1797, 64)
    np.testing.assert_allclose(x.numpy(), ref.data / 16.0, rtol=0, atol=1e-7)
    assert x.numpy().min() == 0.0 and x.numpy().max() == 1.0


@pytest.mark.parametrize("name, shape, n_classes", [("load_iris", (150, 4), 3), ("load_wine", (178, 13), 3),
                                                    ("load_breast_cancer", (569, 30), 2)])
def test_sklearn_tables_match(name, shape, n_classes):
    ref = getattr(sklearn_datasets(), name)()
    x, y = getattr(datasets, name)()
    assert tuple(x.shape) == shape and tuple(y.shape) == shape[:1]
    assert x.dtype == pyml.float32 and y.dtype == pyml.int64
    np.testing.assert_array_equal(x.numpy(), ref.data.astype(np.float32))
    np.testing.assert_array_equal(y.numpy(), ref.target)
    assert sorted(set(y.tolist())) == list(range(n_classes))


def test_iris_class_balance():
    _, y = datasets.load_iris()
    assert np.bincount(y.numpy()).tolist() == [50, 50, 50]


@pytest.mark.parametrize("name", ["load_iris", "load_wine", "load_breast_cancer"])
def test_missing_sklearn_names_the_loader_and_the_fix(monkeypatch, name):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError) as info:
        getattr(datasets, name)()
    assert str(info.value) == f"pyml.datasets.{name} needs scikit-learn (pip install scikit-learn)"
