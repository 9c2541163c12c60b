"""Which articles may answer (`Filters`), and how dates and filters are stored and queried: the
one YYYYMMDD encoding of a published date, and the Chroma `where` clause of a `Filters`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Filters:
    """Which articles may answer: published between `since` and `until` (inclusive), sources."""

    since: date | None = None
    until: date | None = None
    sources: frozenset[str] = frozenset()


def published_number(iso: str) -> int:
    """YYYY-MM-DD -> YYYYMMDD as an int (0 when unknown), for range filters in Chroma."""
    return int(iso.replace("-", "")) if iso else 0


def day_number(day: date | None) -> int:
    """A date as chunks store `published_ts` (YYYYMMDD; 0 when open)."""
    return published_number(day.isoformat()) if day else 0


def where(filters: Filters) -> dict[str, Any] | None:
    """The filters as a Chroma `where` clause over chunk metadata."""
    clauses: list[dict[str, Any]] = []
    if filters.since:
        clauses.append({"published_ts": {"$gte": day_number(filters.since)}})
    if filters.until:
        clauses.append({"published_ts": {"$lte": day_number(filters.until)}})
        clauses.append({"published_ts": {"$gt": 0}})  # undated articles are not "before" a day
    if filters.sources:
        clauses.append({"source": {"$in": sorted(filters.sources)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
