"""The feeds an index follows, and each one's fetch state.

One JSON document kept with the index it feeds (`Place.document("feeds")`: `feeds.json` in a
folder index, the record `feeds` of `news-manifest` on a Chroma server, so that every app
instance of a server sees the same feeds). Changed only under the index's "feeds" lock.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from index.errors import IndexDamaged, NewsAssistantError
from index.places import Place

EVERY = 30 * 60.0  # seconds between two fetches of a feed that answers
MAX_BACKOFF = 24 * 3600.0  # a feed that keeps failing is tried at least once a day
MAX_SEEN = 5000  # links remembered per feed (a feed is read for its newest 1,000 entries)
DOCUMENT = "feeds"


class FeedListError(NewsAssistantError):
    """A feed that cannot be added or removed as asked (a name taken, none of that name)."""


@dataclass
class FeedState:
    """One feed: where it is, and how its last fetches went."""

    name: str
    url: str
    etag: str = ""
    last_modified: str = ""
    last_fetch: float = 0.0  # epoch seconds of the last attempt (0: never)
    result: str = ""  # of the last attempt: "3 new", "unchanged", "failed: ..."
    articles: int = 0  # articles indexed from it so far
    failures: int = 0  # failed fetches in a row
    next_due: float = 0.0  # epoch seconds; 0: due now
    seen: list[str] = field(default_factory=list)  # links fetched from it, newest last

    def due(self, now: float) -> bool:
        return self.next_due <= now

    def succeeded(self, now: float, result: str) -> None:
        self.last_fetch, self.result, self.failures = now, result, 0
        self.next_due = now + EVERY

    def failed(self, now: float, why: str) -> None:
        """A failure: the next try backs off, doubling up to a day (`feeds list` says so)."""
        self.failures += 1
        self.last_fetch, self.result = now, f"failed: {why}"
        self.next_due = now + min(EVERY * 2 ** min(self.failures - 1, 10), MAX_BACKOFF)

    def saw(self, link: str) -> None:
        """A link fetched: never fetched again (indexed, a copy, or a page without an article)."""
        if link and link not in self.seen:
            self.seen = [*self.seen, link][-MAX_SEEN:]


def read(where: Place) -> list[FeedState]:
    """The feeds of the index at `where` (none yet: [])."""
    text = where.document(DOCUMENT)
    if text is None:
        return []
    try:
        known = {f.name for f in fields(FeedState)}
        return [FeedState(**{k: v for k, v in d.items() if k in known}) for d in json.loads(text)]
    except (ValueError, TypeError, AttributeError) as error:
        raise IndexDamaged(
            f"the feed list of the index at {where.name} is damaged ({error}): add the feeds "
            "again (`assistant feeds import FILE.opml`)"
        ) from error


def write(where: Place, feeds: list[FeedState]) -> None:
    where.keep_document(DOCUMENT, json.dumps([asdict(f) for f in feeds], indent=1))


def slug(text: str) -> str:
    """A feed's default name: lower-case words joined by '-'."""
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))[:40].strip("-") or "feed"


def unique_name(wanted: str, feeds: list[FeedState]) -> str:
    taken = {f.name for f in feeds}
    name, n = wanted, 1
    while name in taken:
        n += 1
        name = f"{wanted}-{n}"
    return name


def find(feeds: list[FeedState], name: str) -> FeedState:
    for feed in feeds:
        if feed.name == name:
            return feed
    names = ", ".join(f.name for f in feeds) or "none yet"
    raise FeedListError(f"no feed named {name!r} (feeds: {names})")


def when(epoch: float, now: float | None = None) -> str:
    """A time as `feeds list` shows it: local date and minute, "never" for 0."""
    if not epoch:
        return "never"
    if now is not None and epoch <= now:
        return "now"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch))


def as_row(feed: FeedState, now: float) -> dict[str, Any]:
    """What `feeds list` shows of a feed."""
    return {
        "name": feed.name,
        "url": feed.url,
        "last fetch": when(feed.last_fetch),
        "result": feed.result or "not fetched yet",
        "articles": feed.articles,
        "next due": "now" if feed.due(now) else when(feed.next_due),
        "errors in a row": feed.failures,
    }
