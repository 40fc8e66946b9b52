"""pyml.utils.benchmark.Timer: how many times the statement runs, how blocks become per-run times, the
statistics, threads restored, and the same Measurement surface as torch.utils.benchmark. No assertion here
depends on how fast the machine is."""
import statistics

import pytest
import torch.utils.benchmark as tb

import pyml
from pyml.utils.benchmark import Timer, Measurement


def test_timeit_runs_the_statement_number_times_after_one_warmup():
    calls = []
    m = Timer(lambda: calls.append(1)).timeit(number=7)
    assert len(calls) == 8 and m.number_per_run == 7 and len(m.raw_times) == 1
    assert m.times == [m.raw_times[0] / 7]


def test_string_statement_with_setup_and_globals():
    box = {"n": 0}
    m = Timer("box['n'] += k", setup="k = 3", globals={"box": box}).timeit(number=5)
    assert box["n"] == 18 and m.stmt == "box['n'] += k"


def test_blocked_autorange_measures_at_least_min_run_time_in_equal_blocks():
    seen = []
    m = Timer("time.sleep(0.001)", setup="import time").blocked_autorange(
        callback=lambda number, t: seen.append((number, t)), min_run_time=0.02)
    assert len(seen) == len(m.raw_times) >= 2 and sum(m.raw_times) >= 0.02
    assert {n for n, _ in seen} == {m.number_per_run}
    assert min(m.times) >= 0.001  # each run sleeps a millisecond
    assert m.median == statistics.median(m.times) and m.mean == pytest.approx(statistics.fmean(m.times))
    assert m.iqr >= 0 and "Median" in repr(m) and "measurements" in repr(m)


def test_adaptive_autorange_stops_by_max_run_time():
    m = Timer("time.sleep(0.002)", setup="import time").adaptive_autorange(threshold=0.0, min_run_time=0.001,
                                                                           max_run_time=0.02)
    assert sum(m.raw_times) >= 0.02 and len(m.raw_times) >= 4


def test_threads_are_set_while_timing_and_restored():
    before = pyml.get_num_threads()
    seen = []
    Timer(lambda: seen.append(pyml.get_num_threads()), num_threads=1).timeit(number=2)
    assert seen == [1, 1, 1] and pyml.get_num_threads() == before
    with pytest.raises(ValueError, match="num_threads must be a positive int, got 0"):
        Timer("pass", num_threads=0)


def test_measurement_has_torchs_surface():
    ours = Timer("x * 2", globals={"x": pyml.ones(4)}, label="mul", description="pyml").timeit(number=10)
    ref = tb.Timer("x * 2", globals={"x": 3}).timeit(number=10)
    for name in ("median", "mean", "iqr", "times", "raw_times", "number_per_run", "title"):
        assert hasattr(ref, name) and hasattr(ours, name), name
    assert isinstance(ours, Measurement) and ours.title == "mul pyml"
