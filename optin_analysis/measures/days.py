"""Dates as day numbers (days since 1970-01-01) and per-patient aggregations over them.

Every measure works on integer day numbers: comparisons and birthdays are integer
arithmetic, and :data:`MISSING` / :data:`NEVER` stand for "no such date".
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from optin_analysis.dates import as_timestamp

DateLike = dt.date | str | pd.Timestamp

MISSING = np.iinfo(np.int64).min
#: Day number standing for "no such date" in min-aggregations.
NEVER = np.iinfo(np.int64).max


_ORDINAL_1970 = dt.date(1970, 1, 1).toordinal()


def day_number(value: DateLike) -> int:
    """Days since 1970-01-01 of a date (the integer form used internally)."""
    if isinstance(value, dt.date):  # dates and Timestamps (datetimes): their calendar day
        return value.toordinal() - _ORDINAL_1970
    return int(as_timestamp(value).to_datetime64().astype("datetime64[D]").astype(np.int64))


def to_days(values: pd.Series) -> np.ndarray:
    """Day numbers of a date column; NaT becomes :data:`MISSING`."""
    if not pd.api.types.is_datetime64_dtype(values.dtype):
        values = pd.to_datetime(values)
    return values.to_numpy(dtype="datetime64[D]").astype(np.int64)


def to_dates(days: np.ndarray) -> np.ndarray:
    """``datetime64[us]`` array from day numbers; :data:`MISSING` and :data:`NEVER` become NaT."""
    valid = (days != MISSING) & (days != NEVER)
    return np.where(valid, days * 86_400_000_000, MISSING).view("datetime64[us]")


def civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of day numbers in integer arithmetic (proleptic Gregorian).

    H. Hinnant's ``civil_from_days``: years counted from 1 March, so leap days come last.
    Meaningless where the day number is :data:`MISSING`.
    """
    z = np.where(days == MISSING, 0, days) + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, doy - (153 * mp + 2) // 5 + 1


def days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Day numbers of (year, month, day); 29 February of a common year gives 1 March."""
    year = year - (month <= 2)
    era = year // 400
    yoe = year - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    return era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468


def anniversary_days(dob: np.ndarray, years: int) -> np.ndarray:
    """Day numbers of :func:`optin_analysis.dates.anniversary` from dates of birth as day numbers.

    Same month and day ``years`` later; 29 February falls on 1 March in a common year.
    :data:`MISSING` stays missing.
    """
    year, month, day = civil(dob)
    return np.where(dob == MISSING, MISSING, days_from_civil(year + years, month, day))


def year_and_month_day(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(year, 100 * month + day of month) of day numbers (meaningless where MISSING)."""
    year, month, day = civil(days)
    return year, month * 100 + day


def group_max(pos: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per-patient maximum of ``values`` (patients by position); :data:`MISSING` where none."""
    out = np.full(n, MISSING, dtype=np.int64)
    np.maximum.at(out, pos, values)
    return out


def group_min(pos: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per-patient minimum of ``values`` (patients by position); :data:`NEVER` where none."""
    out = np.full(n, NEVER, dtype=np.int64)
    np.minimum.at(out, pos, values)
    return out
