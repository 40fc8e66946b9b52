"""A synthetic daily series for the course's chapter 1 (regression on past days), and the helper
that turns a series into (previous `window` days -> next day) regression pairs.

The course's own data (daily video views) is private, so daily_series builds a look-alike from the
parts the chapter relies on: a linear trend, a weekly cycle with two low days (Friday and Saturday
by default), a dip over the year-end holidays (24 December to 2 January) and multiplicative noise:
    value[t] = (base + trend * t) * weekly[t] * holiday[t] * (1 + noise * eps[t]),  eps ~ N(0, 1).
"""
import collections
import datetime

import pyml
from ._common import check_float, check_int, make_generator

DailySeries = collections.namedtuple("DailySeries", ["values", "day", "dates"])
DailySeries.__doc__ = """A daily series: values float32 (N,), day int64 (N,) = 0..N-1, dates a list of
N datetime.date."""


def _as_date(name, arg, value):
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {arg} must be a datetime.date or an ISO date 'YYYY-MM-DD', got {value!r}") from None


def _dates(start, end):
    first, last = _as_date("daily_series", "start", start), _as_date("daily_series", "end", end)
    if last < first:
        raise ValueError(f"daily_series: end must not be before start, got start={first} and end={last}")
    return [first + datetime.timedelta(days=i) for i in range((last - first).days + 1)]


def is_holiday(date):
    """True on the year-end holidays daily_series dips over: 24 December to 2 January."""
    return (date.month == 12 and date.day >= 24) or (date.month == 1 and date.day <= 2)


def _low_days(low_days):
    days = tuple(check_int("daily_series", "low_days[i]", d, minimum=0) for d in low_days)
    if any(d > 6 for d in days):
        raise ValueError(f"daily_series: low_days are weekday numbers 0 (Monday) .. 6 (Sunday), got {low_days!r}")
    return days


def daily_series(start="2017-01-01", end="2021-02-14", base=3000.0, trend=2.0, weekly_drop=0.35,
                 low_days=(4, 5), holiday_drop=0.5, noise=0.05, generator=None, seed=None):
    """The chapter-1 series, one value per day from `start` to `end` inclusive (1506 days by default).
    Days in `low_days` (weekday numbers, Monday = 0) are scaled by (1 - weekly_drop), holidays (see
    is_holiday) by (1 - holiday_drop). Returns DailySeries(values, day, dates)."""
    dates = _dates(start, end)
    base, trend = check_float("daily_series", "base", base), check_float("daily_series", "trend", trend)
    weekly_drop = check_float("daily_series", "weekly_drop", weekly_drop, minimum=0.0)
    holiday_drop = check_float("daily_series", "holiday_drop", holiday_drop, minimum=0.0)
    noise = check_float("daily_series", "noise", noise, minimum=0.0)
    low = _low_days(low_days)
    gen = make_generator("daily_series", generator, seed)
    n = len(dates)
    day = pyml.arange(n, dtype=pyml.int64)
    weekly = pyml.tensor([1.0 - weekly_drop if d.weekday() in low else 1.0 for d in dates], dtype=pyml.float64)
    holiday = pyml.tensor([1.0 - holiday_drop if is_holiday(d) else 1.0 for d in dates], dtype=pyml.float64)
    eps = pyml.randn(n, generator=gen).to(pyml.float64)
    values = (base + trend * day.to(pyml.float64)) * weekly * holiday * (1.0 + noise * eps)
    return DailySeries(values.to(pyml.float32), day, dates)


def sliding_windows(series, window):
    """Regression pairs from a 1-D series: X (N - window, window) with X[i] = series[i : i + window]
    and y (N - window,) with y[i] = series[i + window], the day right after the window."""
    if not isinstance(series, pyml.Tensor):
        raise TypeError(f"sliding_windows: series must be a pyml.Tensor, got {type(series).__name__}")
    if len(series.shape) != 1:
        raise ValueError(f"sliding_windows: series must be 1-D, got shape {tuple(series.shape)}")
    window = check_int("sliding_windows", "window", window, minimum=1)
    n = series.shape[0]
    if window >= n:
        raise ValueError(f"sliding_windows: window must be shorter than the series ({n}), got {window}")
    rows = pyml.arange(n - window).unsqueeze(1) + pyml.arange(window).unsqueeze(0)   # (N - window, window)
    return series[rows], series[window:]
