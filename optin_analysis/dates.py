"""Ages and birthdays, vectorised. Nothing here reads the clock: every function takes its date.

A person attains an age on the anniversary of their birth; someone born on 29 February
attains it on 1 March in a common year (the rule used in England, Family Law Reform Act
1969 s.9 reading, and by the NHS App's 16+ rule).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd


def as_timestamp(day: dt.date | str | pd.Timestamp) -> pd.Timestamp:
    """A date given as ``date``, ISO text or Timestamp, as a midnight Timestamp."""
    return pd.Timestamp(day).normalize()


def age_on(dob: pd.Series, day: dt.date | str | pd.Timestamp) -> pd.Series:
    """Whole years of age attained on ``day`` for each date of birth (NaT gives <NA>)."""
    ref = as_timestamp(day)
    years = ref.year - dob.dt.year
    before_anniversary = (dob.dt.month > ref.month) | (
        (dob.dt.month == ref.month) & (dob.dt.day > ref.day)
    )
    return (years - before_anniversary.astype("int64")).astype("Int64")


def anniversary(dob: pd.Series, years: int) -> pd.Series:
    """The date each person attains ``years`` of age (29 February -> 1 March in common years)."""
    year = dob.dt.year + years
    month = dob.dt.month
    day = dob.dt.day
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    feb29 = (month == 2) & (day == 29) & ~leap
    month = month.where(~feb29, 3)
    day = day.where(~feb29, 1)
    out = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": day}), errors="coerce")
    return out.astype("datetime64[us]")


def month_end(period: str) -> pd.Timestamp:
    """Last day of a ``YYYY-MM`` period."""
    return (pd.Period(period, freq="M").end_time).normalize()


def month_start(period: str) -> pd.Timestamp:
    """First day of a ``YYYY-MM`` period."""
    return pd.Period(period, freq="M").start_time


def days_between(start: pd.Series, end: pd.Timestamp | pd.Series) -> pd.Series:
    """Whole days from ``start`` to ``end`` (float, NaN where a date is missing)."""
    return (end - start) / np.timedelta64(1, "D")
