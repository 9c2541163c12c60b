"""Question: what is asked, of which articles, on which day; validated once, where it is made."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from index.dates import DateError, parse_date
from index.errors import NewsAssistantError
from index.filters import Filters

MAX_QUESTION_CHARS = 2000
# A follow-up needs the last few turns, not the whole conversation: older turns are dropped and
# long ones cut, so one client's megabytes of history cannot hold an answer slot for seconds.
HISTORY_TURNS = 6
TURN_CHARS = 2000


class QuestionError(NewsAssistantError, ValueError):
    """The question cannot be asked as given; the message says why."""


@dataclass(frozen=True)
class Turn:
    """One message of a conversation."""

    role: str  # "user" or "assistant"
    content: str


@dataclass(frozen=True)
class Question:
    """A question as the chain takes it. Build it with `Question.ask`, which checks the input."""

    text: str
    history: tuple[Turn, ...] = ()
    filters: Filters = Filters()
    as_of: date = field(default_factory=date.today)  # the day asked: its days' articles weigh more
    # Only what the index took in after this moment ("what's new since I last asked"): UTC.
    new_since: datetime | None = None

    @classmethod
    def ask(
        cls,
        text: object,
        history: object = (),
        *,
        since: object = None,
        until: object = None,
        sources: object = None,
        as_of: object = None,
        new_since: object = None,
    ) -> Question:
        """A checked Question; QuestionError says what is wrong with the input."""
        start, end = date_range(since, until)
        return cls(
            clean_text(text),
            as_turns(history),
            Filters(start, end, _sources(sources)),
            date_option(as_of, "as_of") or date.today(),
            moment(new_since, "new_since"),
        )


def clean_text(text: object) -> str:
    """The question as one line of visible text; a clear error when it cannot be asked."""
    if not isinstance(text, str):
        raise QuestionError("the question must be text")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise QuestionError("the question is not valid text (invalid UTF-8)") from None
    # Control and format characters (zero-width spaces, direction marks) are not words.
    visible = "".join(" " if unicodedata.category(c) in ("Cc", "Cf") else c for c in text)
    cleaned = " ".join(visible.split())
    if not any(c.isalnum() for c in cleaned):
        raise QuestionError("the question is empty: ask something about the news articles")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"the question is {len(cleaned):,} characters long; the limit is {MAX_QUESTION_CHARS:,}"
        )
    return cleaned


def as_turns(history: object) -> tuple[Turn, ...]:
    """The last HISTORY_TURNS messages: Turns, {"role", "content"} dicts or (user, assistant)
    pairs; each cut to TURN_CHARS."""
    if history is None:
        return ()
    if isinstance(history, str | bytes | Mapping) or not isinstance(history, Sequence):
        raise QuestionError("history must be a list of messages ({'role', 'content'} dicts)")
    turns: list[Turn] = []
    for item in history[-HISTORY_TURNS:]:
        turns += _turns(item)
    return tuple(
        Turn(t.role, t.content[:TURN_CHARS]) for t in turns[-HISTORY_TURNS:] if t.content.strip()
    )


def _turns(item: Any) -> list[Turn]:
    if isinstance(item, Turn):
        return [item]
    if isinstance(item, Mapping):
        role, content = item.get("role", "user"), item.get("content") or ""
        if role in ("user", "assistant") and isinstance(content, str):
            return [Turn(role, _visible(content))]
    elif _is_pair(item):
        return [Turn("user", _visible(item[0] or "")), Turn("assistant", _visible(item[1] or ""))]
    raise QuestionError(
        "each message of the history must be {'role': 'user' or 'assistant', 'content': text}"
    )


def _is_pair(item: Any) -> bool:
    """A (question, answer) pair, as older Gradio chat histories have them."""
    return (
        isinstance(item, Sequence)
        and not isinstance(item, str)
        and len(item) == 2
        and all(isinstance(x, str | None) for x in item)
    )


def _visible(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")


def _sources(sources: object) -> frozenset[str]:
    if sources is None:
        return frozenset()
    if isinstance(sources, str):
        return frozenset([sources]) if sources.strip() else frozenset()
    if isinstance(sources, Mapping) or not isinstance(sources, Iterable):
        raise QuestionError("sources must be a list of source names")
    names = list(sources)
    if not all(isinstance(name, str) for name in names):
        raise QuestionError("sources must be a list of source names (text)")
    return frozenset(name for name in names if name.strip())


def moment(value: object, name: str) -> datetime | None:
    """A moment (a datetime, or ISO 8601 text) in UTC; one without a zone is taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise QuestionError(
                f"{name}: {value!r} is not a moment like 2024-02-01T09:30"
            ) from None
    if not isinstance(value, datetime):
        raise QuestionError(f"{name}: {value!r} is not a moment like 2024-02-01T09:30")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def date_range(since: object, until: object) -> tuple[date | None, date | None]:
    """`since` and `until` as dates (None: open); QuestionError when one is not a date or
    `since` comes after `until`."""
    start, end = date_option(since, "since"), date_option(until, "until")
    if start and end and start > end:
        raise QuestionError(f"since ({start}) is after until ({end})")
    return start, end


def date_option(value: object, name: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return parse_date(value)
    except DateError as error:
        raise QuestionError(f"{name}: {error}") from None
