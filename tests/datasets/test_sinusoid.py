"""MAML's sinusoid task family: targets equal A*sin(x - phase) recomputed in NumPy, parameters and
inputs stay in their ranges and cover them, support and query come from one task, shapes of
episodes and batches, reproducibility, and argument errors."""
import math

import numpy as np
import pytest

import pyml
from pyml import datasets


def test_task_targets_are_the_sinusoid():
    task = datasets.SinusoidTask(2.5, 0.7)
    x, y = task.sample(200, generator=pyml.Generator().manual_seed(0))
    assert tuple(x.shape) == (200, 1) and x.dtype == pyml.float32 and y.dtype == pyml.float32
    np.testing.assert_allclose(y.numpy(), 2.5 * np.sin(x.numpy().astype(np.float64) - 0.7), atol=1e-5)
    assert x.numpy().min() >= -5 and x.numpy().max() <= 5
    np.testing.assert_allclose(task(pyml.tensor([0.7 + math.pi / 2])).numpy(), [2.5], atol=1e-5)


def test_task_parameters_cover_maml_ranges():
    tasks = datasets.SinusoidTasks(seed=0)
    params = np.array([(t.amplitude, t.phase) for t in (tasks.sample_task() for _ in range(2000))])
    amp, phase = params.T
    assert amp.min() >= 0.1 and amp.max() <= 5.0 and phase.min() >= 0.0 and phase.max() <= math.pi
    assert amp.min() < 0.2 and amp.max() > 4.9 and phase.min() < 0.05 and phase.max() > math.pi - 0.05
    assert abs(amp.mean() - 2.55) < 0.15 and abs(phase.mean() - math.pi / 2) < 0.1   # uniform means


def test_support_and_query_come_from_the_same_task():
    task, (xs, ys), (xq, yq) = datasets.SinusoidTasks(seed=1).sample(5, 15)
    assert tuple(xs.shape) == (5, 1) and tuple(xq.shape) == (15, 1)
    for x, y in ((xs, ys), (xq, yq)):
        ref = task.amplitude * np.sin(x.numpy().astype(np.float64) - task.phase)
        np.testing.assert_allclose(y.numpy(), ref, atol=1e-5)
    assert not np.array_equal(xs.numpy(), xq.numpy()[:5])                            # fresh query inputs


def test_query_size_defaults_to_k_shot():
    _, (xs, _), (xq, _) = datasets.SinusoidTasks(seed=2).sample(10)
    assert tuple(xs.shape) == tuple(xq.shape) == (10, 1)


def test_batch_of_episodes():
    xs, ys, xq, yq, tasks = datasets.SinusoidTasks(seed=3).sample_batch(4, 5, 10)
    assert [tuple(t.shape) for t in (xs, ys, xq, yq)] == [(4, 5, 1), (4, 5, 1), (4, 10, 1), (4, 10, 1)]
    assert len(tasks) == 4 and len({(t.amplitude, t.phase) for t in tasks}) == 4
    for i, t in enumerate(tasks):
        np.testing.assert_allclose(yq.numpy()[i], t.amplitude * np.sin(xq.numpy()[i] - t.phase), atol=1e-5)


def test_custom_ranges_are_respected():
    tasks = datasets.SinusoidTasks(amplitude_range=(1.0, 1.0), phase_range=(0.0, 0.0), x_range=(0.0, 1.0), seed=0)
    task, (x, y), _ = tasks.sample(50)
    assert task.amplitude == 1.0 and task.phase == 0.0
    assert x.numpy().min() >= 0.0 and x.numpy().max() <= 1.0
    np.testing.assert_allclose(y.numpy(), np.sin(x.numpy()), atol=1e-6)


def test_reproducible_by_seed():
    a = datasets.SinusoidTasks(seed=9).sample_batch(3, 4)
    b = datasets.SinusoidTasks(generator=pyml.Generator().manual_seed(9)).sample_batch(3, 4)
    c = datasets.SinusoidTasks(seed=10).sample_batch(3, 4)
    assert all(np.array_equal(p.numpy(), q.numpy()) for p, q in zip(a[:4], b[:4]))
    assert not np.array_equal(a[0].numpy(), c[0].numpy())


@pytest.mark.parametrize("call, exc, msg", [
    (lambda: datasets.SinusoidTasks(seed=0).sample(0), ValueError, "k_shot must be >= 1, got 0"),
    (lambda: datasets.SinusoidTasks(seed=0).sample(2, 0), ValueError, "k_query must be >= 1, got 0"),
    (lambda: datasets.SinusoidTasks(seed=0).sample_batch(0, 2), ValueError, "n_tasks must be >= 1"),
    (lambda: datasets.SinusoidTasks(amplitude_range=(5.0, 0.1)), ValueError, "amplitude_range must have low <= high"),
    (lambda: datasets.SinusoidTasks(x_range=5.0), TypeError, r"x_range must be a \(low, high\) pair"),
    (lambda: datasets.SinusoidTask(1.0, 0.0).sample(2.5), TypeError, "n must be an int"),
    (lambda: datasets.SinusoidTask("big", 0.0), TypeError, "SinusoidTask: amplitude must be a real number"),
])
def test_bad_arguments_raise_clear_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()
