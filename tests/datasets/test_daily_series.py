"""The chapter-1 daily series: calendar, the closed form without noise (recomputed in float64
NumPy), the weekly pattern with two low days, the year-end holiday dip, reproducibility, and the
window -> next-day pairs checked against slicing by hand."""
import datetime

import numpy as np
import pytest

import pyml
from pyml import datasets


def test_calendar_of_the_default_series():
    s = datasets.daily_series(seed=0)
    assert len(s.dates) == 1506 and tuple(s.values.shape) == (1506,)
    assert s.dates[0] == datetime.date(2017, 1, 1) and s.dates[-1] == datetime.date(2021, 2, 14)
    assert s.values.dtype == pyml.float32 and s.day.dtype == pyml.int64
    assert s.day.tolist() == list(range(1506))
    assert all((b - a).days == 1 for a, b in zip(s.dates, s.dates[1:]))
    assert isinstance(s, datasets.DailySeries) and len(s) == 3


def test_noise_free_series_is_the_closed_form():
    s = datasets.daily_series("2019-12-01", "2020-01-31", base=100.0, trend=1.5, weekly_drop=0.3,
                              low_days=(0, 6), holiday_drop=0.4, noise=0.0)
    t = np.arange(len(s.dates), dtype=np.float64)
    weekly = np.array([0.7 if d.weekday() in (0, 6) else 1.0 for d in s.dates])
    holiday = np.array([0.6 if (d.month, d.day) >= (12, 24) or (d.month, d.day) <= (1, 2) else 1.0
                        for d in s.dates])
    np.testing.assert_allclose(s.values.numpy(), (100 + 1.5 * t) * weekly * holiday, rtol=1e-6)


def detrended(s, trend=2.0, base=3000.0):
    return s.values.numpy() / (base + trend * s.day.numpy())


def test_weekly_cycle_has_exactly_two_low_days():
    s = datasets.daily_series(seed=1)
    ratio = detrended(s)
    weekday = np.array([d.weekday() for d in s.dates])
    normal = np.array([not datasets.is_holiday(d) for d in s.dates])
    means = np.array([ratio[(weekday == k) & normal].mean() for k in range(7)])
    assert sorted(np.argsort(means)[:2].tolist()) == [4, 5]                         # Friday and Saturday
    np.testing.assert_allclose(means[[4, 5]], 0.65, atol=0.01)
    np.testing.assert_allclose(means[[0, 1, 2, 3, 6]], 1.0, atol=0.01)


def test_holiday_dip_each_year():
    s = datasets.daily_series(seed=2, holiday_drop=0.5)
    ratio = detrended(s)
    weekly = np.array([0.65 if d.weekday() in (4, 5) else 1.0 for d in s.dates])
    holiday = np.array([datasets.is_holiday(d) for d in s.dates])
    assert holiday.sum() == 2 + 4 * 10                                  # 1-2 Jan 2017, then 4 year ends x 10 days
    np.testing.assert_allclose((ratio / weekly)[holiday].mean(), 0.5, atol=0.02)
    np.testing.assert_allclose((ratio / weekly)[~holiday].mean(), 1.0, atol=0.01)
    day_of = {d: i for i, d in enumerate(s.dates)}
    for year in (2017, 2018, 2019, 2020):                                           # each dip visible on its own
        dip = ratio[day_of[datetime.date(year, 12, 24)]:day_of[datetime.date(year, 12, 31)] + 1].mean()
        before = ratio[day_of[datetime.date(year, 12, 1)]:day_of[datetime.date(year, 12, 22)]].mean()
        assert dip < 0.7 * before


def test_trend_and_noise_level():
    s = datasets.daily_series(seed=3, weekly_drop=0.0, holiday_drop=0.0, noise=0.05)
    v, t = s.values.numpy().astype(np.float64), s.day.numpy()
    slope, intercept = np.polyfit(t, v, 1)
    assert abs(slope - 2.0) < 0.1 and abs(intercept - 3000) < 30
    assert abs((v / (3000 + 2.0 * t) - 1).std() - 0.05) < 0.005


def test_reproducible_by_seed_and_generator():
    a, b = datasets.daily_series(seed=4), datasets.daily_series(seed=4)
    c = datasets.daily_series(seed=5)
    d = datasets.daily_series(generator=pyml.Generator().manual_seed(4))
    assert np.array_equal(a.values.numpy(), b.values.numpy())
    assert np.array_equal(a.values.numpy(), d.values.numpy())
    assert not np.array_equal(a.values.numpy(), c.values.numpy())


@pytest.mark.parametrize("window", [1, 7, 28, 56])
def test_windows_match_slicing_by_hand(window):
    v = datasets.daily_series(seed=0).values
    x, y = datasets.sliding_windows(v, window)
    ref = v.numpy()
    assert tuple(x.shape) == (1506 - window, window) and tuple(y.shape) == (1506 - window,)
    assert x.dtype == pyml.float32 and y.dtype == pyml.float32
    for i in (0, 1, 500, 1506 - window - 1):
        np.testing.assert_array_equal(x.numpy()[i], ref[i:i + window])
        assert y.numpy()[i] == ref[i + window]


def test_windows_of_an_integer_series():
    x, y = datasets.sliding_windows(pyml.arange(6), 4)
    assert x.tolist() == [[0, 1, 2, 3], [1, 2, 3, 4]] and y.tolist() == [4, 5]


@pytest.mark.parametrize("call, exc, msg", [
    (lambda: datasets.daily_series("2020-02-01", "2020-01-01"), ValueError, "end must not be before start"),
    (lambda: datasets.daily_series("2020-13-01"), ValueError, "ISO date 'YYYY-MM-DD', got '2020-13-01'"),
    (lambda: datasets.daily_series(low_days=(7,)), ValueError, "weekday numbers 0"),
    (lambda: datasets.daily_series(noise=-1.0), ValueError, "noise must be >= 0.0"),
    (lambda: datasets.sliding_windows(pyml.arange(5), 5), ValueError, r"shorter than the series \(5\), got 5"),
    (lambda: datasets.sliding_windows(pyml.zeros(3, 2), 1), ValueError, r"1-D, got shape \(3, 2\)"),
    (lambda: datasets.sliding_windows([1.0, 2.0], 1), TypeError, "series must be a pyml.Tensor"),
    (lambda: datasets.sliding_windows(pyml.arange(5), 0), ValueError, "window must be >= 1"),
])
def test_bad_arguments_raise_clear_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()
