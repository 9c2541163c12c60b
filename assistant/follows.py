"""Followed topics: `assistant follow "X"` keeps a topic with the index it asks (a document of
the Place, like its feeds: on a Chroma server every app instance sees it); `assistant followed`
answers each with what the index took in since the topic was last shown, then marks it shown:
a digest a cron job can mail.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from assistant.question import QuestionError, clean_text
from assistant.result import Answer
from index.errors import IndexDamaged
from index.places import Place

DOCUMENT = "follows"
MAX_TOPIC_CHARS = 200


@dataclass(frozen=True)
class Followed:
    """A topic and when what is new on it was last shown (ISO 8601, UTC)."""

    topic: str
    shown: str


def read(where: Place) -> list[Followed]:
    """The topics followed at `where` (none yet: [])."""
    text = where.document(DOCUMENT)
    if text is None:
        return []
    try:
        return [Followed(str(d["topic"]), str(d["shown"])) for d in json.loads(text)]
    except (ValueError, TypeError, KeyError) as error:
        raise IndexDamaged(
            f"the followed topics of the index at {where.name} are damaged ({error}): "
            "follow them again (`assistant follow TOPIC`)"
        ) from error


def follow(where: Place, topic: str, now: datetime | None = None) -> Followed:
    """Follow a topic from `now`: what is new on it from then on (the same topic twice: once)."""
    topic = clean_text(topic).strip()
    if not topic or len(topic) > MAX_TOPIC_CHARS:
        raise QuestionError(f'a topic is 1 to {MAX_TOPIC_CHARS} characters, e.g. "Avdiivka"')
    with where.building(lambda message: None, DOCUMENT):
        topics = read(where)
        if known := _find(topics, topic):
            return known
        added = Followed(topic, _iso(now))
        _write(where, [*topics, added])
        return added


def following(where: Place, topic: str) -> bool:
    """Whether `topic` is followed at `where` (as `follow` finds it: white space and case aside)."""
    return _find(read(where), topic) is not None


def _find(topics: list[Followed], topic: str) -> Followed | None:
    key = " ".join(topic.split()).casefold()
    return next((t for t in topics if t.topic.casefold() == key), None)


def unfollow(where: Place, topic: str) -> bool:
    """Stop following a topic (as `follow` finds it: white space and case aside); whether it
    was followed."""
    with where.building(lambda message: None, DOCUMENT):
        topics = read(where)
        found = _find(topics, topic)
        if found is not None:
            _write(where, [t for t in topics if t is not found])
        return found is not None


def digest(
    where: Place, ask: Callable[[str, datetime], Answer], now: datetime | None = None
) -> list[tuple[Followed, Answer]]:
    """For each topic, `ask("What's new on TOPIC?", since it was last shown)`; each is then
    marked shown at `now` (the moment the digest started: nothing that came in while it ran is
    skipped next time)."""
    started = _iso(now)
    out = [
        (t, ask(f"What's new on {t.topic}?", datetime.fromisoformat(t.shown))) for t in read(where)
    ]
    with where.building(lambda message: None, DOCUMENT):
        shown = {t.topic for t, _ in out}
        _write(where, [Followed(t.topic, started) if t.topic in shown else t for t in read(where)])
    return out


def _write(where: Place, topics: list[Followed]) -> None:
    where.keep_document(DOCUMENT, json.dumps([asdict(t) for t in topics], indent=1))


def _iso(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
