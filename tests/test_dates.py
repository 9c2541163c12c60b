"""index.dates: the one date parser; it accepts calendar dates and never guesses another day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from index.dates import DateError, iso_date, parse_date


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-02-01", date(2024, 2, 1)),
        ("2024/02/01", date(2024, 2, 1)),
        ("2024-2-1", date(2024, 2, 1)),
        ("  2024-02-01 ", date(2024, 2, 1)),
        ("2024-02-16T10:00:00", date(2024, 2, 16)),
        ("2024-02-16T10:00:00Z", date(2024, 2, 16)),
        ("2024-02-16T10:00:00.123+01:00", date(2024, 2, 16)),
        ("2024-02-16 10:00:00", date(2024, 2, 16)),
        ("2024-02-29", date(2024, 2, 29)),  # a leap day
        ("0999-06-01", date(999, 6, 1)),  # years under 1000
        (date(2024, 2, 1), date(2024, 2, 1)),
        (datetime(2024, 2, 1, 23, 30, tzinfo=UTC), date(2024, 2, 1)),
    ],
)
def test_calendar_dates_are_accepted(value: object, expected: date) -> None:
    assert parse_date(value) == expected
    assert iso_date(value) == expected.isoformat()


@pytest.mark.parametrize(
    "value",
    [
        "2024-13-45",  # once rewritten to 2024-01-01
        "2024-02-30",  # once rewritten to 2024-02-01
        "2023-02-29",  # not a leap year
        "20240301",  # once rewritten to 2024-01-01
        "2024",
        "2024-03",
        "yesterday",
        "2024-02-01garbage",
        "Fri, 16 Feb 2024",
        20240301,
        ["2024-02-01"],
    ],
)
def test_anything_else_is_an_error_never_another_day(value: object) -> None:
    with pytest.raises(DateError, match="is not a date like 2024-02-01"):
        parse_date(value)
    with pytest.raises(DateError):
        iso_date(value)


def test_the_error_says_why_a_day_does_not_exist() -> None:
    with pytest.raises(DateError, match=r"'2024-02-30' is not a date .*day is out of range"):
        parse_date("2024-02-30")


@pytest.mark.parametrize("value", [None, "", "   "])
def test_an_empty_value_is_no_date(value: object) -> None:
    assert iso_date(value) == ""
    with pytest.raises(DateError):
        parse_date(value)


def test_the_iso_form_of_an_early_year_sorts_as_a_date() -> None:
    assert iso_date("0999-06-01") == "0999-06-01"
    assert iso_date("0999-06-01") < iso_date("1000-01-01")
