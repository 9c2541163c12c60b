"""The one date parser: article metadata, question filters and `as_of` all go through it."""

from __future__ import annotations

import re
from datetime import date, datetime

# YYYY-MM-DD or YYYY/MM/DD, optionally followed by a time ("2024-02-16T10:00:00Z").
_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ][\d:.+\-Z ]*)?")


class DateError(ValueError):
    """A value that is not a calendar date."""


def parse_date(value: object) -> date:
    """A calendar date from a date, a datetime or text like 2024-02-01; DateError otherwise.

    Nothing is guessed: "2024-13-45", "2024-02-30", "20240301" and "2024" are errors, never
    rewritten to another day.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = value.strip() if isinstance(value, str) else ""
    match = _DATE.fullmatch(text)
    message = f"{value!r} is not a date like 2024-02-01"
    if not match:
        raise DateError(message)
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError as error:  # a day that does not exist, e.g. 2024-02-30
        raise DateError(f"{message} ({error})") from error


def iso_date(value: object) -> str:
    """`value` as YYYY-MM-DD; "" when it is empty; DateError when it is not a date."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    return parse_date(value).isoformat()
