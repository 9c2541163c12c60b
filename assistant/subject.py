"""Open questions ("What happened in Avdiivka?"): their subject, and the time they name, if any.

An open question is searched for its subject alone: the words "what happened" would otherwise
find articles about something else that happened. News is about now, so its answer leads with
the newest coverage up to the day asked, unless the question names a time ("in 2022",
"last March"), which then bounds the articles searched.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bm25s.stopwords import STOPWORDS_EN_PLUS

_WHAT = r"what(?:'s|’s| is| has| had| was| were| have)?(?: been| is)?"
_OPEN = re.compile(
    r"^(?:so|and|ok(?:ay)?|hey|please)?[,\s]*(?:can you |could you )?(?:"
    + _WHAT
    + r" (?:happen(?:ed|ing|s)?|going on|the (?:latest|news|story|deal|update))"
    r"(?: (?:in|to|with|at|on|about|over|for|regarding|around|inside|between))?"
    r"|(?:what(?:'s|’s| is| has been)?|(?:is )?(?:there )?anything) (?:new|up)"
    r" (?:in|with|at|on|about|for|regarding)"
    r"|what do (?:we|you|i) know (?:about|of|on)"
    r"|what (?:is|are) the (?:latest|news|updates?) (?:on|about|in|with|from|regarding)"
    r"|tell me (?:more |the news |everything )?(?:about|on)"
    r"|(?:any |the |give me the |give me an? )?(?:latest|news|updates?|summary|rundown|recap)"
    r"(?: news)? (?:on|about|from|in|with|of|regarding)"
    r"|(?:catch|fill) me (?:up )?(?:in )?on"
    r"|(?:summari[sz]e|explain|recap)(?: the (?:news|story) (?:about|on|of))?"
    r")\s+(?P<subject>.+?)[\s?.!]*$",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")
_SINCE = re.compile(r"\bsince\s+(?P<when>[^?!]+?)[\s?.!]*$", re.IGNORECASE)
_STOPWORDS = frozenset(STOPWORDS_EN_PLUS)
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTHS |= {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
# "in 2022", "in March", "last March", "in March 2023", "this week", "yesterday"; the words
# around the time are taken out of the subject with it.
_YEAR = re.compile(r"\b(?:in|during|of|from)?\s*(?P<year>(?:19|20)\d\d)\b", re.IGNORECASE)
_IN_MONTH = re.compile(
    rf"\b(?:(?P<last>last|this past)|in|during|this|from)\s+(?P<month>{_MONTH})\.?"
    r"(?:\s+(?P<year>(?:19|20)\d\d))?\b",
    re.IGNORECASE,
)
_RELATIVE = re.compile(
    r"\b(?:(?:over |during |in )?(?P<span>last|this|past) (?P<unit>week|month|year)"
    r"|(?P<day>yesterday|today|tonight|last night))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Subject:
    """What an open question asks about, and the days it names (None: up to the day asked)."""

    text: str
    since: date | None = None
    until: date | None = None
    new: bool = False  # "what's new on X since Monday?": only what came after


def open_subject(question: str, as_of: date) -> Subject | None:
    """The subject of an open question, or None when the question asks something specific."""
    match = _OPEN.match(question.strip())
    if not match:
        return None
    text, new_since = since_when(match["subject"], as_of)
    text, since, until = named_time(text, as_of)
    if new_since is not None:
        since, until = new_since, None
    text = re.sub(r"^(?:the latest on|the news (?:on|about))\s+", "", text, flags=re.IGNORECASE)
    text = text.strip(" ,;:-?.!")
    # "What happened yesterday?", "Tell me more about that.": no subject of its own to search.
    if not set(_WORD.findall(text.lower())) - _STOPWORDS:
        return None
    return Subject(text, since, until, new_since is not None)


def since_when(text: str, as_of: date) -> tuple[str, date | None]:
    """`text` without "since DAY" ("since Monday", "since 3 March", "since last week") and that
    day (a day after `as_of` is not one: the words stay)."""
    match = _SINCE.search(text)
    if not match:
        return text, None
    import dateparser  # ~0.1 s to import: only for a question that says "since"

    base = datetime.combine(as_of, time(12))
    found = dateparser.parse(
        match["when"],
        languages=["en"],
        settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "past"},
    )
    if found is None or found.date() > as_of:
        return text, None
    return text[: match.start()].strip(), found.date()


def named_time(text: str, as_of: date) -> tuple[str, date | None, date | None]:
    """`text` without the time it names, and that time's first and last days (or None)."""
    if m := _RELATIVE.search(text):
        since, until = _relative(m, as_of)
    elif m := _IN_MONTH.search(text):
        month = _MONTHS[m["month"].lower().rstrip(".")]
        year = int(m["year"]) if m["year"] else as_of.year
        if not m["year"] and (month > as_of.month or (m["last"] and month == as_of.month)):
            year -= 1  # "last March" asked in February: a year ago
        since = date(year, month, 1)
        until = date(year, month, calendar.monthrange(year, month)[1])
    elif m := _YEAR.search(text):
        year = int(m["year"])
        since, until = date(year, 1, 1), date(year, 12, 31)
    else:
        return text, None, None
    rest = " ".join((text[: m.start()] + " " + text[m.end() :]).split())
    return rest, since, until


def _relative(m: re.Match[str], as_of: date) -> tuple[date, date]:
    if m["day"]:
        day = as_of if m["day"].lower() in ("today", "tonight") else as_of - timedelta(1)
        return day, day
    days = {"week": 7, "month": 31, "year": 365}[m["unit"].lower()]
    return as_of - timedelta(days), as_of
