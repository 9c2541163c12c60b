"""Stories: the articles about one news event and its developments, grouped as they are indexed.

Every article a build embeds joins a story (index/build.py): the most similar story active in
the days around its date when it is close enough, otherwise a new one. What an article is about
is its title's vector (the bundled sentence model, whatever the chunks are embedded with, so
the thresholds hold for any index) and the names its title and lede give (capitalised words:
people, places, organisations); a story's are the mean of its articles' vectors and the names
they give. The score of an article for a story is the cosine
to the story's vector, plus W_NAMES times the share of the article's names the story gives,
less DAY_COST a day between the article and the story's nearest article; stories more than
WINDOW days away are not candidates. An article joins the best story from JOIN; every other
story it reaches MERGE with is merged into that one (two stories that converge); a new story
whose best candidate scored from LINK is linked to it (a new development of that story).
Weights chosen on the tune slice of bench/stories_labels.jsonl (bench/stories.py --tune: the
best, JOIN 0.7 with W_NAMES 0.5 and no DAY_COST, stands alone; these are the middle of the
plateau just below it, 0.934 against 0.936).

Incremental: a build assigns only its new articles, against the stories of the indexed articles
within WINDOW days of them; nothing indexed is assigned again. Each segment keeps a `stories`
collection: one record per article it embeds (its vector, day, names, story, and the stories it
merged or the one it links to), so stories are kill -9 safe and live where the index lives.
A copy of another article (index/copies.py) is in its original's story.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from bm25s.stopwords import STOPWORDS_EN_PLUS

from index.article import Article
from index.copies import outlet, wire
from index.filters import Filters, published_number, where
from index.segments import PAGE, pages
from index.statements import quotable

if TYPE_CHECKING:
    from index.store import Index

WINDOW = 7  # days around an article in which a story is a candidate
JOIN = 0.6  # score from which an article joins a story
MERGE = 0.8  # score from which a second story it reaches is merged into the one it joins
LINK = 0.45  # a new story whose best candidate scored from this develops that one
W_NAMES = 0.3  # weight of the share of the article's names the story gives
DAY_COST = 0.01  # score lost a day between the article and the story's nearest article
MAX_NAMES = 24  # names kept of an article
TITLE_CHARS = 200  # of the lede, embedded for an article without a title
_NAME = re.compile(r"\b[A-Z][\w'’\-]*[\w]")
_COMMON = """monday tuesday wednesday thursday friday saturday sunday january february march april
may june july august september october november december mr mrs ms dr the here what how why when
who"""
_STOP = frozenset(STOPWORDS_EN_PLUS) | frozenset(_COMMON.split())


def names(text: str) -> frozenset[str]:
    """The capitalised words of a title and lede (lower case) that are not common words: the
    people, places and organisations it names, roughly."""
    found: Counter[str] = Counter()
    for match in _NAME.finditer(text):
        word = match.group().lower().replace("’", "'").removesuffix("'s")
        if word not in _STOP and len(word) > 1:
            found[word] += 1
    return frozenset(w for w, _ in found.most_common(MAX_NAMES))


@dataclass(frozen=True)
class Member:
    """An article as stories see it: its day (None: undated), unit vector and names."""

    id: str
    day: date | None
    vector: np.ndarray
    names: frozenset[str]


@dataclass
class Assigned:
    """What `assign` decided for the new articles."""

    story: dict[str, str] = field(default_factory=dict)  # article id -> story id
    merges: dict[str, tuple[str, ...]] = field(default_factory=dict)  # article -> stories merged
    links: dict[str, str] = field(default_factory=dict)  # new story's article -> story it develops


@dataclass
class _Story:
    id: str
    total: np.ndarray
    names: Counter[str]
    days: set[date]

    def add(self, member: Member) -> None:
        self.total = self.total + member.vector
        self.names.update(member.names)
        if member.day is not None:
            self.days.add(member.day)

    def absorb(self, other: _Story) -> None:
        self.total = self.total + other.total
        self.names.update(other.names)
        self.days |= other.days

    def distance(self, day: date) -> int:
        return min(abs((d - day).days) for d in self.days)


def assign(
    new: Sequence[Member],
    known: Iterable[tuple[Member, str]] = (),
) -> Assigned:
    """The story of each new article, in date order (undated ones each a story of their own),
    given the indexed articles around them with their (resolved) stories."""
    stories: dict[str, _Story] = {}
    for member, story_id in known:
        _story(stories, story_id, member).add(member)
    out = Assigned()
    dated = sorted((m for m in new if m.day is not None), key=lambda m: (m.day, m.id))
    for member in dated:
        assert member.day is not None
        scored = sorted(
            ((score(member, s), s.id) for s in stories.values() if _near(s, member.day)),
            reverse=True,
        )
        if scored and scored[0][0] >= JOIN:
            target = stories[scored[0][1]]
            merged = tuple(i for value, i in scored[1:] if value >= MERGE)
            for other in merged:
                target.absorb(stories.pop(other))
            if merged:
                out.merges[member.id] = merged
        else:
            target = _story(stories, member.id, member)
            if scored and scored[0][0] >= LINK:
                out.links[member.id] = scored[0][1]
        target.add(member)
        out.story[member.id] = target.id
    for member in new:
        out.story.setdefault(member.id, member.id)
    return out


def score(member: Member, story: _Story) -> float:
    """How well an article fits a story (see the module's docstring)."""
    vector = story.total / (np.linalg.norm(story.total) or 1.0)
    shared = sum(1 for n in member.names if n in story.names)
    fit = float(member.vector @ vector) + W_NAMES * shared / max(len(member.names), 1)
    assert member.day is not None
    return fit - DAY_COST * story.distance(member.day)


def _near(story: _Story, day: date) -> bool:
    return bool(story.days) and story.distance(day) <= WINDOW


def _story(stories: dict[str, _Story], story_id: str, member: Member) -> _Story:
    if story_id not in stories:
        stories[story_id] = _Story(story_id, np.zeros_like(member.vector), Counter(), set())
    return stories[story_id]


def resolve(merges: Iterable[tuple[str, Iterable[str]]]) -> dict[str, str]:
    """story id -> the story it was merged into, followed to the end (`merges`: (the story an
    article joined, the stories merged into it by that))."""
    into: dict[str, str] = {}
    for target, merged in merges:
        for story_id in merged:
            if story_id != target:
                into[story_id] = target

    def final(story_id: str) -> str:
        seen = set()
        while story_id in into and story_id not in seen:
            seen.add(story_id)
            story_id = into[story_id]
        return story_id

    return {s: final(s) for s in into}


def window(days: Iterable[date]) -> tuple[date, date] | None:
    """The days whose indexed articles a build's new articles are assigned against."""
    days = list(days)
    if not days:
        return None
    return min(days) - timedelta(WINDOW), max(days) + timedelta(WINDOW)


def metadata(member: Member, assigned: Assigned, article: Article) -> dict[str, str | int]:
    """The stories record of a new article (index/segments.py stores it)."""
    meta: dict[str, str | int] = {
        "story": assigned.story[member.id],
        "published": article.published,
        "published_ts": published_number(article.published),
        "names": json.dumps(sorted(member.names)),
        "title": article.title,
        "outlet": outlet(article.source, article.url),
    }
    if service := wire(article.text):
        meta["wire"] = service
    if member.id in assigned.merges:
        meta["merges"] = json.dumps(list(assigned.merges[member.id]))
        meta["merged"] = 1
    if member.id in assigned.links:
        meta["link"] = assigned.links[member.id]
    return meta


# ------------------------------------------------------------------ reading them back


def day_of(published: str) -> date | None:
    try:
        return date.fromisoformat(published[:10])
    except ValueError:
        return None


def records(
    index: Index, matching: dict[str, Any] | None = None, vectors: bool = False
) -> Iterator[tuple[str, dict[str, Any], np.ndarray | None]]:
    """(article id, metadata, vector or None) of the live stories records `matching` (a Chroma
    `where`)."""
    include = ["metadatas", "embeddings"] if vectors else ["metadatas"]
    for segment, dropped in zip(index.segments, index.dropped, strict=True):
        for got in pages(segment.stories, include, matching):
            found = got["embeddings"] if vectors else [None] * len(got["ids"])
            for article_id, meta, vector in zip(got["ids"], got["metadatas"], found, strict=True):
                if article_id not in dropped:
                    yield article_id, meta, None if vector is None else np.asarray(vector)


def merged_into(index: Index) -> dict[str, str]:
    """story id -> the story it was merged into, for every merge recorded in the index."""
    pairs = (
        (str(meta["story"]), json.loads(str(meta["merges"])))
        for _, meta, _ in records(index, {"merged": 1})
    )
    return resolve(pairs)


def article_stories(index: Index) -> dict[str, tuple[str, str]]:
    """article id -> (its story, merges followed; its published date), for every article."""
    into = merged_into(index)
    out = {}
    for article_id, meta, _ in records(index):
        story_id = str(meta["story"])
        out[article_id] = (into.get(story_id, story_id), str(meta["published"]))
    return out


def known_around(index: Index, days: Iterable[date]) -> list[tuple[Member, str]]:
    """The indexed articles within WINDOW days of `days`, with their (resolved) stories: what a
    build's new articles are assigned against."""
    span = window(days)
    if span is None:
        return []
    into = merged_into(index)
    known = []
    for article_id, meta, vector in records(index, where(Filters(*span)), vectors=True):
        assert vector is not None
        member = Member(
            article_id,
            day_of(str(meta["published"])),
            vector,
            frozenset(json.loads(str(meta["names"]))),
        )
        story = str(meta["story"])
        known.append((member, into.get(story, story)))
    return known


def members(articles: Sequence[Article], ledes: Mapping[str, str]) -> list[Member]:
    """Articles as their stories are chosen by: the vector of the title (of the lede when there
    is none) and the names of the title and lede (`ledes`: each one's first chunk)."""
    from index.embed import default_embedder

    texts = [a.title.strip() or ledes[a.id][:TITLE_CHARS] for a in articles]
    vectors = default_embedder(quantize=True).embed_documents(texts) if texts else []
    out = []
    for article, vector in zip(articles, vectors, strict=True):
        unit = np.asarray(vector, dtype=np.float32)
        unit = unit / (np.linalg.norm(unit) or 1.0)
        found = names(f"{article.title}. {ledes[article.id]}")
        out.append(Member(article.id, day_of(article.published), unit, found))
    return out


# ------------------------------------------------------------------ stories as readers see them


@dataclass(frozen=True)
class StoryArticle:
    """An article of a story: `carried_by` the other outlets that carried copies of it, `wire`
    the wire service whose story it is (index/copies.py), else ""."""

    id: str
    published: str
    title: str
    outlet: str
    carried_by: tuple[str, ...] = ()
    wire: str = ""

    @property
    def published_by(self) -> str:
        """Its outlet as a reader reads it: "Valley Post (The Associated Press story)"."""
        return f"{self.outlet} ({self.wire} story)" if self.wire else self.outlet


@dataclass(frozen=True)
class Story:
    """A story: its headline (the title of its most central article), first and last seen,
    its articles oldest first, every outlet that carried it and the independent ones (those of
    its own articles: a copy counts once, for the outlet it copies, and a wire story an outlet
    published once, for its wire service), and the story it develops."""

    id: str
    headline: str
    first_seen: str
    last_seen: str
    articles: tuple[StoryArticle, ...]
    outlets: tuple[str, ...]
    independent: tuple[str, ...]
    develops: str = ""


def require(index: Index) -> None:
    """An index built before stories (articles, no stories records) says to rebuild it."""
    from index.errors import IndexProblem

    if index.manifest.articles and not any(s.stories.count() for s in index.segments):
        raise IndexProblem(
            f"the index at {index.place.name} was built before stories: rebuild it with "
            "`assistant index SOURCE --full`"
        )


def period(index: Index, since: date | None = None, until: date | None = None) -> list[Story]:
    """The stories with an article published in the period (all when open), ranked by
    independent outlets, then articles, then the newest."""
    into = merged_into(index)
    dated = where(Filters(since, until))
    if dated is None:
        return _ranked(_stories(index, list(records(index, vectors=True)), into))
    wanted = {into.get(str(m["story"]), str(m["story"])) for _, m, _ in records(index, dated)}
    return _ranked(_stories(index, _members(index, wanted, into), into))


def story(index: Index, story_id: str) -> Story | None:
    """One story by its id (or the id of a story merged into it), or None."""
    into = merged_into(index)
    wanted = into.get(story_id, story_id)
    found = _stories(index, _members(index, {wanted}, into), into)
    return found[0] if found else None


def _members(
    index: Index, wanted: set[str], into: Mapping[str, str]
) -> list[tuple[str, dict[str, Any], np.ndarray | None]]:
    """The records of the stories `wanted` (their own ids and those merged into them)."""
    ids = sorted(wanted | {s for s, target in into.items() if target in wanted})
    return [
        record
        for start in range(0, len(ids), PAGE)
        for record in records(index, {"story": {"$in": ids[start : start + PAGE]}}, vectors=True)
    ]


def _stories(
    index: Index,
    found: Sequence[tuple[str, dict[str, Any], np.ndarray | None]],
    into: Mapping[str, str],
) -> list[Story]:
    groups: dict[str, list[tuple[str, dict[str, Any], np.ndarray | None]]] = {}
    for record in found:
        story_id = str(record[1]["story"])
        groups.setdefault(into.get(story_id, story_id), []).append(record)
    out = []
    for story_id, group in groups.items():
        group.sort(key=lambda r: (str(r[1]["published"]), r[0]))
        vectors = np.array([v for _, _, v in group])
        central = int(np.argmax(vectors @ vectors.mean(axis=0)))
        articles = tuple(
            StoryArticle(
                i,
                str(m["published"]),
                str(m["title"]),
                str(m["outlet"]),
                index.outlets(i),
                str(m.get("wire") or ""),
            )
            for i, m, _ in group
        )
        own = {r.casefold(): r for a in articles if (r := a.wire or a.outlet)}
        every = own | {o.casefold(): o for a in articles for o in (a.outlet, *a.carried_by) if o}
        link = next((str(m["link"]) for i, m, _ in group if i == story_id and "link" in m), "")
        link = into.get(link, link)
        dated = [a.published for a in articles if a.published]
        out.append(
            Story(
                story_id,
                str(group[central][1]["title"]),
                min(dated, default=""),
                max(dated, default=""),
                articles,
                tuple(sorted(every.values())),
                tuple(sorted(own.values())),
                "" if link == story_id else link,
            )
        )
    return out


def _ranked(found: list[Story]) -> list[Story]:
    return sorted(
        found, key=lambda s: (len(s.independent), len(s.articles), s.last_seen), reverse=True
    )


@dataclass(frozen=True)
class Point:
    """A point of a story's timeline: an article and its first sentence that states something,
    with its span in the article's text (a citation the reader opens)."""

    article: StoryArticle
    sentence: str
    start: int
    end: int


def timeline(index: Index, found: Story) -> list[Point]:
    """The story's articles oldest first, each with its lede sentence."""
    points = []
    for item in found.articles:
        read = index.article(item.id)
        if read is None:
            continue
        article, sentences = read
        flags = quotable(article.text, sentences, article.title)
        lede = next((s for s, ok in zip(sentences, flags, strict=True) if ok), None)
        if lede is not None:
            points.append(Point(item, article.text[lede.start : lede.end], lede.start, lede.end))
    return points
