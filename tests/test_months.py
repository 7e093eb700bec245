"""Property tests for Month and MonthRange."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custvalue import InputError, Month, MonthRange

months = st.builds(Month, st.integers(min_value=1000, max_value=8000), st.integers(min_value=1, max_value=12))
offsets = st.integers(min_value=-5000, max_value=5000)


@given(months, offsets, offsets)
def test_addition_is_associative(m: Month, a: int, b: int) -> None:
    assert (m + a) + b == m + (a + b)


@given(months, offsets)
def test_difference_inverts_addition(m: Month, k: int) -> None:
    assert (m + k) - m == k
    assert (m + k) - k == m
    assert m - k == m + (-k)
    assert k + m == m + k


@given(months, months)
def test_ordering_matches_ordinal(a: Month, b: Month) -> None:
    assert (a < b) == (a.ordinal < b.ordinal)
    assert (a == b) == (a.ordinal == b.ordinal)
    assert Month.from_ordinal(a.ordinal) == a


@given(months)
def test_parse_str_round_trip(m: Month) -> None:
    assert Month.parse(str(m)) == m
    assert len(str(m)) == 7


@given(st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(8000, 12, 31)))
def test_from_date_first_and_last_day(d: dt.date) -> None:
    m = Month.from_date(d)
    assert m.first_day <= d <= m.last_day
    assert m.first_day.day == 1
    assert (m.last_day + dt.timedelta(days=1)) == (m + 1).first_day
    assert m.to_date() == m.first_day


def test_examples() -> None:
    assert Month(2026, 10) - 12 == Month(2025, 10)
    assert Month.parse("2026-10") - Month(2025, 8) == 14
    assert Month(2024, 2).last_day == dt.date(2024, 2, 29)
    assert repr(Month(2026, 3)) == "Month(2026, 3)"


@pytest.mark.parametrize("bad", ["2026", "2026-13", "2026-00", "26-10", "2026/10", "", "abcd-ef"])
def test_parse_rejects(bad: str) -> None:
    with pytest.raises(InputError):
        Month.parse(bad)


def test_constructor_validates() -> None:
    with pytest.raises(InputError):
        Month(2026, 0)
    with pytest.raises(TypeError):
        Month("2026", 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Month(2026, 1) + 1.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        Month(2026, 1) + True  # type: ignore[operator]


@given(months, st.integers(min_value=1, max_value=50))
def test_month_range(start: Month, length: int) -> None:
    r = MonthRange(start, length)
    assert len(r) == length and r.stop == start + (length - 1)
    assert list(r) == [start + i for i in range(length)]
    assert all(r.index(m) == i for i, m in enumerate(r))
    assert r[-1] == r.stop and start in r and (start - 1) not in r
    assert MonthRange.between(start, r.stop) == r
    with pytest.raises(InputError):
        r.index(start - 1)
    with pytest.raises(IndexError):
        r[length]


def test_month_range_errors() -> None:
    with pytest.raises(InputError):
        MonthRange(Month(2026, 1), -1)
    with pytest.raises(InputError):
        MonthRange.between(Month(2026, 2), Month(2026, 1))
    with pytest.raises(InputError):
        _ = MonthRange(Month(2026, 1), 0).stop


def test_coerce_accepts_every_month_form_and_refuses_the_rest() -> None:
    import datetime

    from custvalue.months import Month

    m = Month(2026, 10)
    assert Month.coerce(m) is m
    assert Month.coerce("2026-10") == m
    assert Month.coerce(datetime.date(2026, 10, 31)) == m
    assert Month.coerce(datetime.datetime(2026, 10, 1, 23, 59)) == m
    for bad in (202610, 2026.10, None, ("2026", "10")):
        with pytest.raises(TypeError, match="expected a month"):
            Month.coerce(bad)  # type: ignore[arg-type]


def test_evaluate_takes_dates_as_as_of() -> None:
    import datetime

    import numpy as np

    from custvalue import Portfolio, evaluate

    p = Portfolio.from_arrays(
        customer_ids=["A"], branch_ids=["X"], start=datetime.date(2025, 9, 1), deposits=np.full((1, 14), 10)
    )
    assert str(p.months) == "2025-09..2026-10"
    a = evaluate(p, as_of=datetime.date(2026, 9, 30))
    b = evaluate(p, as_of="2026-09")
    assert a.as_of == b.as_of and a.tier_codes.tolist() == b.tier_codes.tolist()
    with pytest.raises(TypeError, match="expected a month"):
        evaluate(p, as_of=202609)  # type: ignore[arg-type]
