"""FEEL dates, date-times and durations: the value types and their ISO 8601 text forms.

FEEL (DMN 1.5 §10.3.2.3) has two duration types that never compare with each
other: *days and time durations* (a :class:`datetime.timedelta`, here with
microsecond resolution) and *years and months durations*
(:class:`YearsMonthsDuration`, a whole number of months).  Dates are
:class:`datetime.date`, date-times :class:`datetime.datetime` and times of day
:class:`datetime.time` (naive = local, or with a fixed UTC offset).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal
from typing import Final

import attrs

__all__ = [
    "YearsMonthsDuration",
    "add_months",
    "format_temporal",
    "months_between",
    "parse_date",
    "parse_date_time",
    "parse_duration",
    "parse_time",
]


@functools.total_ordering
@attrs.frozen(order=False)
class YearsMonthsDuration:
    """A FEEL years and months duration: a whole (possibly negative) number of months.

    Examples
    --------
    >>> YearsMonthsDuration(14)
    YearsMonthsDuration(months=14)
    >>> str(YearsMonthsDuration(-14))
    '-P1Y2M'
    """

    months: int

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, YearsMonthsDuration):
            return NotImplemented
        return self.months < other.months

    def __neg__(self) -> YearsMonthsDuration:
        return YearsMonthsDuration(-self.months)

    def __add__(self, other: object) -> YearsMonthsDuration:
        if not isinstance(other, YearsMonthsDuration):
            return NotImplemented
        return YearsMonthsDuration(self.months + other.months)

    def __sub__(self, other: object) -> YearsMonthsDuration:
        if not isinstance(other, YearsMonthsDuration):
            return NotImplemented
        return YearsMonthsDuration(self.months - other.months)

    def __str__(self) -> str:
        m = abs(self.months)
        y, mm = divmod(m, 12)
        body = (f"{y}Y" if y else "") + (f"{mm}M" if mm or not y else "")
        return ("-" if self.months < 0 else "") + "P" + body


_DATE_RE: Final = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIME_RE: Final = re.compile(r"(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?")
_DUR_RE: Final = re.compile(
    r"(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d+))?S)?)?"
)


def parse_date(text: str) -> dt.date | None:
    """``YYYY-MM-DD`` to a date; None if invalid (FEEL's null).

    >>> parse_date("2026-10-31"), parse_date("2026-02-30")
    (datetime.date(2026, 10, 31), None)
    """
    m = _DATE_RE.fullmatch(text)
    if m is None:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def parse_time(text: str) -> dt.time | None:
    """``HH:MM:SS[.f][Z|±HH:MM]`` to a time of day; None if invalid.

    Named time zones (``10:30:00@Europe/Paris``) are not supported (None).

    >>> parse_time("10:30:00"), parse_time("23:59:60")
    (datetime.time(10, 30), None)
    >>> parse_time("10:30:00.5+02:00").utcoffset()
    datetime.timedelta(seconds=7200)
    """
    m = _TIME_RE.fullmatch(text)
    if m is None:
        return None
    frac = m[4] or ""
    if len(frac) > 6 and frac[6:].strip("0"):
        return None
    tz = _offset(m[5])
    if tz is False:
        return None
    try:
        zone = tz if isinstance(tz, dt.tzinfo) else None
        return dt.time(int(m[1]), int(m[2]), int(m[3]), int((frac + "000000")[:6]), tzinfo=zone)
    except ValueError:
        return None


def _offset(text: str | None) -> dt.tzinfo | bool | None:
    """``Z`` or ``±HH:MM`` to a fixed-offset zone; None without one; False if invalid."""
    if not text:
        return None
    if text == "Z":
        return dt.UTC
    sign = -1 if text[0] == "-" else 1
    oh, om = int(text[1:3]), int(text[4:6])
    if oh > 14 or om > 59:
        return False
    return dt.timezone(sign * dt.timedelta(hours=oh, minutes=om))


def parse_date_time(text: str) -> dt.datetime | None:
    """``YYYY-MM-DDTHH:MM:SS[.f][Z|±HH:MM]`` (or a date: midnight) to a datetime; None if invalid.

    Fractions finer than a microsecond and named time zones (``@Europe/Paris``)
    are not supported (None).

    >>> parse_date_time("2026-10-31T10:00:00"), parse_date_time("2026-10-31")
    (datetime.datetime(2026, 10, 31, 10, 0), datetime.datetime(2026, 10, 31, 0, 0))
    >>> parse_date_time("2026-10-31T10:00:00Z").tzinfo
    datetime.timezone.utc
    """
    if "T" not in text:
        d = parse_date(text)
        return None if d is None else dt.datetime(d.year, d.month, d.day)
    dpart, tpart = text.split("T", 1)
    d = parse_date(dpart)
    m = _TIME_RE.fullmatch(tpart)
    if d is None or m is None:
        return None
    hour, minute, second = int(m[1]), int(m[2]), int(m[3])
    frac = m[4] or ""
    if len(frac) > 6 and frac[6:].strip("0"):
        return None
    micro = int((frac + "000000")[:6])
    tz: dt.tzinfo | None = None
    if m[5]:
        if m[5] == "Z":
            tz = dt.UTC
        else:
            sign = -1 if m[5][0] == "-" else 1
            oh, om = int(m[5][1:3]), int(m[5][4:6])
            if oh > 14 or om > 59:
                return None
            tz = dt.timezone(sign * dt.timedelta(hours=oh, minutes=om))
    try:
        if hour == 24 and minute == 0 and second == 0 and micro == 0:
            return dt.datetime(d.year, d.month, d.day, tzinfo=tz) + dt.timedelta(days=1)
        return dt.datetime(d.year, d.month, d.day, hour, minute, second, micro, tzinfo=tz)
    except (ValueError, OverflowError):
        return None


def parse_duration(text: str) -> dt.timedelta | YearsMonthsDuration | None:
    """An ISO 8601 duration to a FEEL duration; None if invalid.

    ``P1Y2M`` (years and months only) is a years and months duration,
    ``P2DT3H4M5.5S`` (days and time only) a days and time duration; mixing the
    two kinds, an empty ``P``/``T`` or a fraction finer than a microsecond is
    invalid.

    >>> parse_duration("P6M"), parse_duration("-P2DT3H")
    (YearsMonthsDuration(months=6), datetime.timedelta(days=-3, seconds=75600))
    >>> parse_duration("P1Y2D") is None
    True
    """
    m = _DUR_RE.fullmatch(text)
    if m is None or text.endswith(("P", "T")):
        return None
    neg = m[1] is not None
    years, months, days, hours, minutes, secs, frac = m[2], m[3], m[4], m[5], m[6], m[7], m[8]
    ym = years is not None or months is not None
    dtm = any(x is not None for x in (days, hours, minutes, secs))
    if ym == dtm:
        return None
    if ym:
        total = int(years or 0) * 12 + int(months or 0)
        return YearsMonthsDuration(-total if neg else total)
    frac = frac or ""
    if len(frac) > 6 and frac[6:].strip("0"):
        return None
    micro = int((frac + "000000")[:6])
    try:
        td = dt.timedelta(
            days=int(days or 0),
            hours=int(hours or 0),
            minutes=int(minutes or 0),
            seconds=int(secs or 0),
            microseconds=micro,
        )
    except OverflowError:
        return None
    return -td if neg else td


def add_months(d: dt.date, months: int) -> dt.date | None:
    """``d`` plus ``months`` months; a day past the month's end becomes its last day (XPath).

    Works for dates and datetimes (the time is kept).  None when out of range.

    >>> add_months(dt.date(2026, 1, 31), 1), add_months(dt.date(2024, 2, 29), -12)
    (datetime.date(2026, 2, 28), datetime.date(2023, 2, 28))
    """
    total = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(total, 12)
    if not 1 <= year <= 9999:
        return None
    month = month0 + 1
    last = _days_in_month(year, month)
    return d.replace(year=year, month=month, day=min(d.day, last))


def _days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (dt.date(year, month + 1, 1) - dt.date(year, month, 1)).days


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from ``start`` to ``end``, truncated toward zero (``years and months duration``).

    >>> months_between(dt.date(2011, 12, 22), dt.date(2013, 8, 24))
    20
    >>> months_between(dt.date(2013, 8, 24), dt.date(2011, 12, 22))
    -20
    """
    months = (end.year - start.year) * 12 + (end.month - start.month)
    rest_end = _rest(end)
    rest_start = _rest(start)
    if months > 0 and rest_end < rest_start:
        months -= 1
    elif months < 0 and rest_end > rest_start:
        months += 1
    return months


def _rest(d: dt.date) -> tuple[int, ...]:
    if isinstance(d, dt.datetime):
        return (d.day, d.hour, d.minute, d.second, d.microsecond)
    return (d.day, 0, 0, 0, 0)


def _fmt_td(td: dt.timedelta) -> str:
    micro = td // dt.timedelta(microseconds=1)
    sign = "-" if micro < 0 else ""
    micro = abs(micro)
    days, rem = divmod(micro, 86_400_000_000)
    hours, rem = divmod(rem, 3_600_000_000)
    minutes, rem = divmod(rem, 60_000_000)
    secs, us = divmod(rem, 1_000_000)
    body = f"{days}D" if days else ""
    t = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if secs or us:
        t += str(secs) + (f".{us:06d}".rstrip("0") if us else "") + "S"
    if t:
        body += "T" + t
    return sign + "P" + (body or "T0S")


def format_temporal(value: object) -> str | None:
    """FEEL text of a temporal value (``date("2026-10-31")``...), None for other values.

    >>> format_temporal(dt.date(2026, 10, 31)), format_temporal(dt.timedelta(days=2, hours=3))
    ('date("2026-10-31")', 'duration("P2DT3H")')
    """
    if isinstance(value, dt.datetime):
        return f'date and time("{value.isoformat()}")'.replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return f'date("{value.isoformat()}")'
    if isinstance(value, dt.time):
        return f'time("{value.isoformat()}")'.replace("+00:00", "Z")
    if isinstance(value, dt.timedelta):
        return f'duration("{_fmt_td(value)}")'
    if isinstance(value, YearsMonthsDuration):
        return f'duration("{value}")'
    return None


def decimal_of_micros(td: dt.timedelta) -> Decimal:
    """Exact microseconds of a timedelta as a Decimal."""
    return Decimal(td // dt.timedelta(microseconds=1))
