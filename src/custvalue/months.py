"""Months: the time axis of every portfolio.

:class:`Month` is an immutable ``(year, month)`` value with ordering and
integer arithmetic; :class:`MonthRange` is a contiguous run of months (the
month axis of a :class:`~custvalue.Portfolio`).  Calendar arithmetic on dates
uses :mod:`dateutil.relativedelta`.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterator
from typing import TypeAlias, overload

import attrs
from dateutil.relativedelta import relativedelta

from ._errors import InputError

__all__ = ["Month", "MonthLike", "MonthRange"]

_MONTH_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


def _check_month(instance: Month, attribute: attrs.Attribute[int], value: int) -> None:
    if not 1 <= value <= 12:
        raise InputError(f"month must be in 1..12, got {value}")


def _check_year(instance: Month, attribute: attrs.Attribute[int], value: int) -> None:
    if not 1 <= value <= 9999:
        raise InputError(f"year must be in 1..9999, got {value}")


@attrs.frozen(order=True, repr=False)
class Month:
    """A calendar month.

    Parameters
    ----------
    year, month
        ``1 <= month <= 12``.

    Examples
    --------
    >>> m = Month(2026, 10)
    >>> m - 12
    Month(2025, 10)
    >>> m + 3
    Month(2027, 1)
    >>> Month.parse("2026-10") - Month(2025, 8)
    14
    >>> str(m), m.first_day, m.last_day
    ('2026-10', datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))
    """

    year: int = attrs.field(validator=[attrs.validators.instance_of(int), _check_year])
    month: int = attrs.field(validator=[attrs.validators.instance_of(int), _check_month])

    @classmethod
    def parse(cls, text: str) -> Month:
        """Parse ``"YYYY-MM"``.

        >>> Month.parse("2026-03")
        Month(2026, 3)
        """
        if isinstance(text, Month):
            return text
        m = _MONTH_RE.match(str(text))
        if m is None:
            raise InputError(f"{text!r} is not a month; expected YYYY-MM")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def coerce(cls, value: MonthLike) -> Month:
        """A month from a :class:`Month`, ``"YYYY-MM"`` text, a date or a datetime.

        Everything custvalue calls a month (``as_of``, ``first``, ``last``,
        ``start``) goes through here.

        >>> import datetime
        >>> Month.coerce("2026-10"), Month.coerce(datetime.date(2026, 10, 31))
        (Month(2026, 10), Month(2026, 10))
        >>> Month.coerce(202610)
        Traceback (most recent call last):
        ...
        TypeError: expected a month (Month, "YYYY-MM", date or datetime), got int 202610
        """
        if isinstance(value, Month):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        if isinstance(value, _dt.date):  # datetime is a date too
            return cls(value.year, value.month)
        raise TypeError(
            f'expected a month (Month, "YYYY-MM", date or datetime), got {type(value).__name__} {value!r}'
        )

    @classmethod
    def from_date(cls, date: _dt.date) -> Month:
        """The month containing ``date``.

        >>> import datetime
        >>> Month.from_date(datetime.date(2026, 2, 28))
        Month(2026, 2)
        """
        return cls(date.year, date.month)

    @classmethod
    def from_ordinal(cls, ordinal: int) -> Month:
        """Inverse of :attr:`ordinal`."""
        y, m = divmod(int(ordinal), 12)
        return cls(y, m + 1)

    @property
    def ordinal(self) -> int:
        """Months since year 0: ``year * 12 + month - 1``."""
        return self.year * 12 + self.month - 1

    @property
    def first_day(self) -> _dt.date:
        """The first day of the month."""
        return _dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> _dt.date:
        """The last day of the month."""
        return self.first_day + relativedelta(day=31)

    def to_date(self) -> _dt.date:
        """Same as :attr:`first_day`."""
        return self.first_day

    def __add__(self, months: int) -> Month:
        if isinstance(months, bool) or not isinstance(months, int):
            return NotImplemented
        d = self.first_day + relativedelta(months=months)
        return Month(d.year, d.month)

    __radd__ = __add__

    @overload
    def __sub__(self, other: int) -> Month: ...
    @overload
    def __sub__(self, other: Month) -> int: ...
    def __sub__(self, other: int | Month) -> Month | int:
        if isinstance(other, Month):
            return self.ordinal - other.ordinal
        if isinstance(other, bool) or not isinstance(other, int):
            return NotImplemented
        return self + (-other)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def __repr__(self) -> str:
        return f"Month({self.year}, {self.month})"


#: Anything custvalue accepts as a month: see :meth:`Month.coerce`.
MonthLike: TypeAlias = "Month | str | _dt.date"


@attrs.frozen(repr=False)
class MonthRange:
    """A contiguous run of months, ``start`` included, ``length`` months long.

    Examples
    --------
    >>> r = MonthRange(Month(2025, 9), 14)
    >>> r.stop, len(r), r.index(Month(2026, 10))
    (Month(2026, 10), 14, 13)
    >>> Month(2025, 8) in r
    False
    >>> MonthRange.between(Month(2026, 1), Month(2026, 3)).months()
    (Month(2026, 1), Month(2026, 2), Month(2026, 3))
    """

    start: Month = attrs.field(validator=attrs.validators.instance_of(Month))
    length: int = attrs.field(validator=attrs.validators.instance_of(int))

    @length.validator
    def _check_length(self, attribute: attrs.Attribute[int], value: int) -> None:
        if value < 0:
            raise InputError(f"a month range cannot have negative length {value}")

    @classmethod
    def between(cls, first: Month, last: Month) -> MonthRange:
        """The months from ``first`` to ``last``, both included."""
        if last < first:
            raise InputError(f"month range ends ({last}) before it starts ({first})")
        return cls(first, last - first + 1)

    @property
    def stop(self) -> Month:
        """The last month (included)."""
        if self.length == 0:
            raise InputError("an empty month range has no last month")
        return self.start + (self.length - 1)

    def index(self, month: Month | str) -> int:
        """Position of ``month`` on this axis; an error names the range."""
        month = Month.coerce(month)
        i = month - self.start
        if not 0 <= i < self.length:
            raise InputError(f"month {month} is outside the range {self}", month=str(month))
        return i

    def months(self) -> tuple[Month, ...]:
        """Every month, oldest first."""
        return tuple(self)

    def __contains__(self, month: object) -> bool:
        return isinstance(month, Month) and 0 <= month - self.start < self.length

    def __iter__(self) -> Iterator[Month]:
        return (self.start + i for i in range(self.length))

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> Month:
        if i < 0:
            i += self.length
        if not 0 <= i < self.length:
            raise IndexError(i)
        return self.start + i

    def __str__(self) -> str:
        return f"{self.start}..{self.stop}" if self.length else f"{self.start}..(empty)"

    def __repr__(self) -> str:
        return f"MonthRange({self.start!r}, {self.length})"
