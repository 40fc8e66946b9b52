"""Timing statements, as torch.utils.benchmark: Timer(stmt, setup, globals).timeit(n) / blocked_autorange()
return a Measurement (median, mean, IQR of per-run times), so one script can time pyml and torch the same way.

Each timed block runs the statement `number` times and is timed once with time.perf_counter; a run's time is
the block's time / number. CUDA work is synchronised at the end of each block (kernels launch
asynchronously). num_threads sets pyml's intra-op threads while timing and restores them afterwards.
"""
import statistics
import time
import timeit as _timeit

import pyml

__all__ = ["Timer", "Measurement"]


class Measurement:
    """Per-run times (seconds) of a statement: raw_times are block times, each over number_per_run runs."""

    def __init__(self, number_per_run, raw_times, stmt, label=None, sub_label=None, description=None,
                 num_threads=1):
        self.number_per_run = number_per_run
        self.raw_times = list(raw_times)
        self.stmt, self.label, self.sub_label, self.description = stmt, label, sub_label, description
        self.num_threads = num_threads

    @property
    def times(self):
        return [t / self.number_per_run for t in self.raw_times]

    @property
    def median(self):
        return statistics.median(self.times)

    @property
    def mean(self):
        return statistics.fmean(self.times)

    @property
    def iqr(self):
        ts = sorted(self.times)
        if len(ts) < 2:
            return 0.0
        q = statistics.quantiles(ts, n=4, method="inclusive")
        return q[2] - q[0]

    @property
    def title(self):
        return " ".join(str(x) for x in (self.label, self.sub_label, self.description) if x) or self.stmt

    def __repr__(self):
        unit, scale = _unit(self.median)
        return (f"<pyml.utils.benchmark.Measurement>\n{self.title}\n  Median: {self.median * scale:.2f} {unit}\n"
                f"  IQR:    {self.iqr * scale:.2f} {unit} ({len(self.raw_times)} measurements, "
                f"{self.number_per_run} runs per measurement, {self.num_threads} thread"
                f"{'s' if self.num_threads != 1 else ''})")


def _unit(seconds):
    for unit, scale in (("s", 1.0), ("ms", 1e3), ("us", 1e6)):
        if seconds >= 1 / scale:
            return unit, scale
    return "ns", 1e9


class Timer:
    """Time `stmt` (a string run in `globals`, or a callable) after running `setup` once."""

    def __init__(self, stmt="pass", setup="pass", globals=None, label=None, sub_label=None, description=None,
                 num_threads=1):
        if not isinstance(num_threads, int) or num_threads < 1:
            raise ValueError(f"Timer: num_threads must be a positive int, got {num_threads!r}")
        self._stmt, self._num_threads = stmt, num_threads
        self._labels = dict(label=label, sub_label=sub_label, description=description)
        self._timer = _timeit.Timer(stmt=stmt, setup=setup, timer=time.perf_counter, globals=dict(globals or {}))
        self._cuda = pyml.cuda.is_available()  # asked once: the query costs more than a small op

    def _block(self, number):
        before = pyml.get_num_threads()
        pyml.set_num_threads(self._num_threads)
        try:
            t = self._timer.timeit(number)
            if not self._cuda:
                return t
            start = time.perf_counter()
            pyml.cuda.synchronize()
            return t + (time.perf_counter() - start)
        finally:
            pyml.set_num_threads(before)

    def _measurement(self, number, times):
        stmt = self._stmt if isinstance(self._stmt, str) else getattr(self._stmt, "__name__", repr(self._stmt))
        return Measurement(number, times, stmt, num_threads=self._num_threads, **self._labels)

    def timeit(self, number=1000000):
        """One block of `number` runs (after one warm-up run)."""
        self._block(1)
        return self._measurement(number, [self._block(number)])

    def repeat(self, repeat=5, number=1000000):
        return [self._block(number) for _ in range(repeat)]

    def _block_size(self, min_run_time):
        """Runs per block: doubled until a block takes a thousandth of min_run_time (and at least 10 us)."""
        self._block(1)  # a cold first run (caches, first call) would stop the doubling too early
        number = 1
        while self._block(number) < max(min_run_time / 1000, 1e-5):
            number *= 2
        return number

    def blocked_autorange(self, callback=None, min_run_time=0.2):
        """Blocks of a fixed size until at least min_run_time seconds were measured (and two blocks)."""
        number = self._block_size(min_run_time)
        times = []
        while sum(times) < min_run_time or len(times) < 2:
            t = self._block(number)
            times.append(t)
            if callback is not None:
                callback(number, t)
        return self._measurement(number, times)

    def adaptive_autorange(self, threshold=0.1, *, min_run_time=0.01, max_run_time=10.0, callback=None):
        """Blocks until the IQR is within `threshold` of the median (after min_run_time) or max_run_time."""
        number = self._block_size(min_run_time)
        times = []
        while True:
            times.append(self._block(number))
            if callback is not None:
                callback(number, times[-1])
            m = self._measurement(number, times)
            total = sum(times)
            if total >= max_run_time or (total >= min_run_time and len(times) >= 4 and m.iqr <= threshold * m.median):
                return m
