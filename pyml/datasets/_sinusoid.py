"""The sinusoid regression task family of MAML (Finn et al., 2017), for the meta-learning chapter.

A task is y = amplitude * sin(x - phase) with amplitude ~ U[0.1, 5] and phase ~ U[0, pi]; its inputs
are x ~ U[-5, 5]. A K-shot episode gives a support set of K points to adapt on and a query set,
drawn from the same task, to evaluate the adapted model. Inputs and targets are float32 (K, 1) so
they feed an nn.Linear(1, ...) network directly; batches of episodes stack to (T, K, 1).
"""
import math

import pyml
from ._common import check_float, check_int, check_range, make_generator


def _uniform(low, high, shape, gen):
    return low + (high - low) * pyml.rand(*shape, generator=gen)


class SinusoidTask:
    """One task of the family: y = amplitude * sin(x - phase), inputs uniform in x_range."""

    def __init__(self, amplitude, phase, x_range=(-5.0, 5.0)):
        self.amplitude = check_float("SinusoidTask", "amplitude", amplitude)
        self.phase = check_float("SinusoidTask", "phase", phase)
        self.x_range = check_range("SinusoidTask", "x_range", x_range)

    def __call__(self, x):
        return self.amplitude * pyml.sin(x - self.phase)

    def sample(self, n, generator=None):
        """n points of this task: (x, y), both float32 (n, 1)."""
        n = check_int("SinusoidTask.sample", "n", n, minimum=1)
        x = _uniform(*self.x_range, (n, 1), generator)
        return x, self(x)

    def __repr__(self):
        return f"SinusoidTask(amplitude={self.amplitude:.4g}, phase={self.phase:.4g})"


class SinusoidTasks:
    """A sampler of sinusoid tasks and K-shot support/query episodes, reproducible with `seed=` or
    `generator=`. The ranges default to MAML's: amplitude [0.1, 5], phase [0, pi], x [-5, 5]."""

    def __init__(self, amplitude_range=(0.1, 5.0), phase_range=(0.0, math.pi), x_range=(-5.0, 5.0),
                 generator=None, seed=None):
        self.amplitude_range = check_range("SinusoidTasks", "amplitude_range", amplitude_range)
        self.phase_range = check_range("SinusoidTasks", "phase_range", phase_range)
        self.x_range = check_range("SinusoidTasks", "x_range", x_range)
        self.generator = make_generator("SinusoidTasks", generator, seed)

    def sample_task(self):
        """A new task with amplitude and phase drawn uniformly from their ranges."""
        amplitude = _uniform(*self.amplitude_range, (1,), self.generator).item()
        phase = _uniform(*self.phase_range, (1,), self.generator).item()
        return SinusoidTask(amplitude, phase, self.x_range)

    def sample(self, k_shot, k_query=None):
        """One episode: (task, (x_support, y_support), (x_query, y_query)) with k_shot support points
        and k_query query points (k_shot when None), each float32 (K, 1)."""
        k_shot = check_int("SinusoidTasks.sample", "k_shot", k_shot, minimum=1)
        k_query = k_shot if k_query is None else check_int("SinusoidTasks.sample", "k_query", k_query, minimum=1)
        task = self.sample_task()
        return task, task.sample(k_shot, self.generator), task.sample(k_query, self.generator)

    def sample_batch(self, n_tasks, k_shot, k_query=None):
        """n_tasks episodes stacked: (x_support, y_support, x_query, y_query) of shapes (T, K, 1) and
        (T, Q, 1), plus the list of the T tasks."""
        n_tasks = check_int("SinusoidTasks.sample_batch", "n_tasks", n_tasks, minimum=1)
        episodes = [self.sample(k_shot, k_query) for _ in range(n_tasks)]
        tasks = [task for task, _, _ in episodes]
        xs, ys = (pyml.stack([ep[1][i] for ep in episodes]) for i in (0, 1))
        xq, yq = (pyml.stack([ep[2][i] for ep in episodes]) for i in (0, 1))
        return xs, ys, xq, yq, tasks
