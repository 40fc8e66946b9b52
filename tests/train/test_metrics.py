"""accuracy and top_k_accuracy against NumPy, and the metric names fit() accepts."""
import numpy as np
import pytest

import pyml
from pyml.train import accuracy, top_k_accuracy
from pyml.train.metrics import resolve_metrics


def _np_topk(logits, targets, k):
    top = np.argsort(-logits, axis=1)[:, :k]
    return (top == targets[:, None]).any(1).mean()


@pytest.mark.parametrize("n, c", [(1, 2), (7, 3), (97, 10), (64, 1000)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_accuracy_and_top_k_match_numpy(rng, n, c, dtype):
    logits = rng.normal(size=(n, c)).astype(dtype)
    targets = rng.integers(0, c, n)
    lt, tt = pyml.from_numpy(logits), pyml.from_numpy(targets)
    assert accuracy(lt, tt) == pytest.approx((logits.argmax(1) == targets).mean(), abs=1e-15)
    for k in sorted({1, min(2, c), min(5, c), c}):
        assert top_k_accuracy(lt, tt, k) == pytest.approx(_np_topk(logits, targets, k), abs=1e-15)
    assert top_k_accuracy(lt, tt, c) == 1.0


def test_one_hot_targets_count_as_their_class(rng):
    logits = rng.normal(size=(30, 4))
    targets = rng.integers(0, 4, 30)
    one_hot = np.eye(4)[targets]
    lt = pyml.from_numpy(logits)
    assert accuracy(lt, pyml.from_numpy(one_hot)) == accuracy(lt, pyml.from_numpy(targets))
    assert top_k_accuracy(lt, pyml.from_numpy(one_hot), 2) == pytest.approx(_np_topk(logits, targets, 2))


def test_metric_errors():
    logits, targets = pyml.randn(4, 3), pyml.tensor([0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"k must be an int in \[1, 3\]"):
        top_k_accuracy(logits, targets, 4)
    with pytest.raises(ValueError, match="shape"):
        accuracy(pyml.randn(4), targets)
    with pytest.raises(ValueError, match="targets"):
        accuracy(logits, pyml.tensor([0, 1]))
    with pytest.raises(TypeError, match="Tensors"):
        accuracy(logits.numpy(), targets)


def test_resolve_metric_names(rng):
    logits = pyml.from_numpy(rng.normal(size=(50, 8)))
    targets = pyml.from_numpy(rng.integers(0, 8, 50))
    named = resolve_metrics(["accuracy", "top3", "top_5", len])
    assert [n for n, _ in named] == ["accuracy", "top3", "top5", "len"]
    assert named[1][1](logits, targets) == top_k_accuracy(logits, targets, 3)
    assert named[2][1](logits, targets) == top_k_accuracy(logits, targets, 5)
    with pytest.raises(ValueError, match="distinct"):
        resolve_metrics(["acc", "accuracy"])
    with pytest.raises(TypeError, match="metric"):
        resolve_metrics([3])
