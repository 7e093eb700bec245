"""Property tests for exact money parsing and formatting."""

from __future__ import annotations

import re
import time
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custvalue.io._fastmoney import parse_yuan_bytes
from custvalue.money import (
    INT64_MAX,
    INT64_MIN,
    MoneyError,
    format_yuan,
    from_float,
    parse_yuan_array,
    to_fen,
    yuan_to_fen,
)

int64s = st.integers(min_value=INT64_MIN, max_value=INT64_MAX)


@given(int64s)
def test_format_parse_round_trip_with_thousands(x: int) -> None:
    assert yuan_to_fen(format_yuan(x)) == x


@given(int64s)
def test_format_parse_round_trip_plain(x: int) -> None:
    text = format_yuan(x, thousands=False)
    assert "," not in text
    assert yuan_to_fen(text, thousands=False) == x
    assert to_fen(text) == x


@given(int64s)
def test_decimal_round_trip(x: int) -> None:
    assert to_fen(Decimal(format_yuan(x, thousands=False))) == x


decimal_text = st.builds(
    lambda sign, whole, frac: f"{sign}{whole}{'.' + frac if frac is not None else ''}",
    st.sampled_from(["", "-", "+"]),
    st.integers(min_value=0, max_value=10**16).map(str),
    st.none() | st.text(alphabet="0123456789", min_size=0, max_size=2),
)


@given(st.lists(decimal_text, min_size=1, max_size=30))
def test_parse_array_equals_scalar(values: list[str]) -> None:
    expected = [yuan_to_fen(v, thousands=False) for v in values]
    assert parse_yuan_array(values).tolist() == expected
    fen, ok = parse_yuan_bytes(np.array(values, dtype="S"))
    assert ok.all()  # every plain amount takes the fast path
    assert fen.tolist() == expected


def _exact(text: str) -> int | None:
    try:
        return yuan_to_fen(text, thousands=False)
    except MoneyError:
        return None


@given(st.lists(st.text(alphabet="0123456789.-+, xe", max_size=8), min_size=1, max_size=10))
def test_fast_bytes_parser_never_disagrees(values: list[str]) -> None:
    """The fast parser reads a cell as the exact scalar parser does, or leaves it to it.

    It leaves a plain ``[+-]digits[.digits]`` cell only when the exact parser
    refuses it too.
    """
    fen, ok = parse_yuan_bytes(np.array(values, dtype="S"))
    for v, f, read in zip(values, fen.tolist(), ok.tolist(), strict=True):
        exact = _exact(v)
        if read:
            assert f == exact, v
        elif re.fullmatch(r"[+-]?[0-9]*\.?[0-9]*", v):
            assert exact is None, v


@given(st.integers(min_value=0, max_value=10**12), st.text(alphabet="0123456789", min_size=3, max_size=6))
def test_three_or_more_decimals_rejected(whole: int, frac: str) -> None:
    text = f"{whole}.{frac}"
    with pytest.raises(MoneyError, match="more than two decimals"):
        yuan_to_fen(text)
    with pytest.raises(MoneyError):
        to_fen(Decimal(text)) if Decimal(text) * 100 != int(Decimal(text) * 100) else (_raise())
    with pytest.raises(MoneyError, match="row 1"):
        parse_yuan_array(["1.00", text])


def _raise() -> None:
    raise MoneyError("trailing zeros are exact")


@pytest.mark.parametrize(
    "bad",
    [
        "NaN",
        "nan",
        "inf",
        "-Infinity",
        "",
        ".",
        "-",
        "1e5",
        "1.2.3",
        "abc",
        "12,34.5",
        "1,2345",
        "--1",
        "1-",
        " 1 2",
    ],
)
def test_garbage_rejected(bad: str) -> None:
    with pytest.raises(MoneyError):
        yuan_to_fen(bad)
    with pytest.raises(MoneyError):
        parse_yuan_array([bad])


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_non_finite_decimal_rejected(value: Decimal) -> None:
    with pytest.raises(MoneyError):
        to_fen(value)


@given(
    st.integers(min_value=INT64_MAX + 1, max_value=10**30)
    | st.integers(min_value=-(10**30), max_value=INT64_MIN - 1)
)
def test_overflow_rejected(fen: int) -> None:
    with pytest.raises(MoneyError, match="overflow"):
        to_fen(fen)
    text = f"{fen // 100}.{fen % 100:02d}" if fen > 0 else f"-{(-fen) // 100}.{(-fen) % 100:02d}"
    with pytest.raises(MoneyError, match="overflow"):
        yuan_to_fen(text)
    with pytest.raises(MoneyError):
        parse_yuan_array([text])


def test_thousands_separator_rule() -> None:
    assert yuan_to_fen("1,234.5") == 123450
    assert yuan_to_fen("1,234,567") == 123456700
    with pytest.raises(MoneyError):
        yuan_to_fen("12,34.5")
    with pytest.raises(MoneyError, match="thousands separator"):
        yuan_to_fen("1,234.5", thousands=False)
    with pytest.raises(MoneyError):
        parse_yuan_array(["1,234.50"])


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_floats_refused_by_to_fen(x: float) -> None:
    with pytest.raises(MoneyError, match="from_float"):
        to_fen(x)  # type: ignore[arg-type]


def test_bool_refused_and_numpy_int_accepted() -> None:
    with pytest.raises(MoneyError):
        to_fen(True)
    assert to_fen(np.int64(7)) == 7  # type: ignore[arg-type]


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_from_float_rounds_as_named(x: float) -> None:
    exact = Decimal(repr(x)) * 100
    assert from_float(x, rounding="floor") <= exact <= from_float(x, rounding="ceiling")
    assert abs(from_float(x, rounding="half_even") - exact) <= Decimal("0.5")


def test_from_float_rejects_non_finite_and_unknown_rounding() -> None:
    with pytest.raises(MoneyError):
        from_float(float("nan"), rounding="half_even")
    with pytest.raises(MoneyError):
        from_float(float("inf"), rounding="half_even")
    with pytest.raises(ValueError, match="unknown rounding"):
        from_float(1.0, rounding="bankers")


@pytest.mark.parametrize("digits", [4300, 4301, 5000, 1_000_000])
def test_huge_digit_strings_refused_quickly_as_overflow(digits: int) -> None:
    """Not Python's "Exceeds the limit (4300 digits)" ValueError, and in linear time."""
    for text in ["9" * digits, "-1" + "0" * digits + ".5", "1" * digits + ".00"]:
        start = time.perf_counter()
        for parse in (yuan_to_fen, to_fen, lambda t: parse_yuan_array([t])):
            with pytest.raises(MoneyError, match="overflows int64 fen") as exc:
                parse(text)
            assert len(str(exc.value)) < 120  # the text is shortened in the message
            assert f"{len(text):,} characters" in str(exc.value)
        assert time.perf_counter() - start < 1.0
    with pytest.raises(MoneyError, match="more than two decimals"):
        yuan_to_fen("1." + "0" * digits + "1")


@pytest.mark.parametrize("zeros", [0, 20, 255, 256, 257, 4300, 2**16])
def test_leading_zeros_any_number(zeros: int) -> None:
    assert yuan_to_fen("0" * zeros + "12.5") == 1250
    assert yuan_to_fen("-" + "0" * zeros + "92233720368547758.08") == INT64_MIN
    assert to_fen("0" * zeros + "92233720368547758.07") == INT64_MAX
    with pytest.raises(MoneyError, match="overflow"):
        yuan_to_fen("0" * zeros + "92233720368547758.08")


def test_huge_ints_and_decimals_refused_quickly() -> None:
    start = time.perf_counter()
    with pytest.raises(MoneyError, match="overflows int64 fen"):
        to_fen(10**5000)  # repr() of it would hit the int-conversion limit
    for value in [Decimal("1e1000000"), Decimal("-1e999999999"), Decimal("9" * 5000)]:
        with pytest.raises(MoneyError, match="overflows int64 fen"):
            to_fen(value)  # no 10**1000000 is ever computed, no decimal.Overflow
    with pytest.raises(MoneyError, match="more than two decimals"):
        to_fen(Decimal("1e-1000000"))
    assert time.perf_counter() - start < 1.0
    assert to_fen(Decimal("1E+2")) == 10000
    assert to_fen(Decimal("-0.000")) == 0
    assert to_fen(Decimal("92233720368547758.07")) == INT64_MAX
    assert to_fen(Decimal("-92233720368547758.08")) == INT64_MIN
    assert to_fen(Decimal("1.5000000000000000000000000000000000")) == 150  # beyond 28 digits
    with pytest.raises(MoneyError, match="more than two decimals"):
        # Decimal arithmetic would round this to the context's 28 digits, i.e. to 1.00
        to_fen(Decimal("1." + "0" * 30 + "1"))


def test_unicode_digits_are_read_as_digits() -> None:
    # the regular expression's \d matches any decimal digit; int() reads them all
    assert yuan_to_fen("\u0663\u0662.\u0665") == 3250
    assert yuan_to_fen("\u0660" * 30 + "1") == 100


def test_parse_array_shapes() -> None:
    assert parse_yuan_array([]).tolist() == []
    assert parse_yuan_array(np.array([b"1.5", b"2"])).tolist() == [150, 200]
    assert parse_yuan_array(["  3.1 "]).tolist() == [310]
    with pytest.raises(MoneyError) as exc:
        parse_yuan_array(["1", "2", "x"], column="deposits")
    assert exc.value.column == "deposits"
    assert "row 2" in exc.value.message


@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=40))
def test_format_yuan_array_matches_the_scalar_formatter(values: list[int]) -> None:
    from custvalue.money import format_yuan_array

    arr = np.array(values, dtype=np.int64)
    got = format_yuan_array(arr).tolist()
    assert got == [format_yuan(v, thousands=False) for v in values]
    if values:
        assert parse_yuan_array(np.array(got)).tolist() == values


def test_format_yuan_array_refuses_floats() -> None:
    from custvalue.money import format_yuan_array

    with pytest.raises(TypeError, match="integer"):
        format_yuan_array(np.array([1.5]))
