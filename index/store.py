"""The index as readers and builds see it: the segments a manifest lists, read together.

A full build writes one segment. An update writes a segment of just the new and changed
articles, and the manifest lists with it the ids of the articles it replaces or removes in older
segments ("removes"). A segment never changes once written, so an update costs what it adds and
readers need no lock against writers; the manifest is replaced in one step. A kill at any moment
leaves the previous manifest, whose segments are all still there.

Where it lives: index/places.py; a segment and its records: index/segments.py; the manifest:
index/manifest.py.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeVar

from index.copies import outlet
from index.errors import IndexDamaged, IndexMissing
from index.load import Article
from index.manifest import Manifest
from index.places import Folder, Place
from index.segments import PAGE, Entry, Segment, StoredChunk, entry_of
from index.sentences import Sentence

T = TypeVar("T")


@cache
def _segment_pool() -> ThreadPoolExecutor:
    """Threads that query the segments of an index at once (one pool per process)."""
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="segments")


@dataclass(frozen=True)
class _Carried:
    """Who carried copies of what (index/copies.py)."""

    others: dict[str, tuple[str, ...]]  # article id -> the other outlets that carried it
    by_outlet: dict[str, frozenset[str]]  # outlet -> the articles it carried copies of


class Index:
    """The articles and chunks a manifest lists: what readers and the next build see."""

    def __init__(self, where: Place, manifest: Manifest):
        self.place = where
        self.manifest = manifest
        self.segments: list[Segment] = []
        try:
            for part in manifest.parts:
                self.segments.append(where.segment(part.id))
        except BaseException:
            self.close()
            raise
        self.dropped = manifest.dropped()  # a segment's articles that later ones replaced
        self._carried: _Carried | None = None  # who carried what: read at the first asking
        self._lock = threading.Lock()

    def _live(self) -> Iterator[tuple[Segment, frozenset[str]]]:
        """Segments newest first, with the article ids later ones replaced."""
        return zip(reversed(self.segments), reversed(self.dropped), strict=True)

    def article(self, article_id: str) -> tuple[Article, list[Sentence]] | None:
        """The article and its sentences, or None."""
        for segment, dropped in self._live():
            if article_id in dropped:
                continue
            got = segment.articles.get(ids=[article_id], include=["documents", "metadatas"])
            if got["ids"]:
                meta = got["metadatas"][0]
                spans = json.loads(str(meta["sentences"]))
                article = Article(
                    article_id,
                    str(meta["title"]),
                    got["documents"][0],
                    str(meta["url"]),
                    str(meta["published"]),
                    str(meta["source"]),
                    str(meta["path"]),
                )
                return article, [Sentence(n, s, e) for n, (s, e) in enumerate(spans)]
        return None

    def catalogue(self) -> dict[str, Entry]:
        """id -> what a rebuild compares of every article (hashes, file, URL, title, counts)."""
        entries = {}
        for segment, dropped in zip(self.segments, self.dropped, strict=True):
            for article_id, _, meta in segment.all(segment.articles, documents=False):
                if article_id not in dropped:
                    entries[article_id] = entry_of(meta)
        return entries

    def outlets(self, article_id: str) -> tuple[str, ...]:
        """The other outlets that carried an article: those of its copies (index/copies.py),
        each once, its own outlet not among them, by name."""
        return self._copies().others.get(article_id, ())

    def carried_by(self, outlets: Iterable[str]) -> frozenset[str]:
        """The articles of which one of `outlets` (by name) carried a copy: a source filter
        takes them too, as the copies themselves have no chunks."""
        by_outlet = self._copies().by_outlet
        return frozenset().union(*(by_outlet.get(name, frozenset()) for name in outlets))

    def carrying(self) -> tuple[str, ...]:
        """Every outlet that carried a copy of an article, by name."""
        return tuple(sorted(self._copies().by_outlet))

    def _copies(self) -> _Carried:
        with self._lock:
            if self._carried is None:
                self._carried = self._read_copies()
            return self._carried

    def _read_copies(self) -> _Carried:
        """Who carried what, from the copies' records (one filtered read a segment) and their
        originals' (one more where there are copies)."""
        carried: dict[str, dict[str, str]] = {}  # original -> folded outlet -> outlet
        by_outlet: dict[str, set[str]] = {}
        copies = {"copy": 1}  # index/segments.py: add_copies (a bool filter is 30x slower)
        for segment, dropped in zip(self.segments, self.dropped, strict=True):
            for article_id, _, meta in segment.all(segment.articles, False, where=copies):
                name = outlet(str(meta.get("source") or ""), str(meta.get("url") or ""))
                if article_id not in dropped and name:
                    original = str(meta["copy_of"])
                    carried.setdefault(original, {}).setdefault(name.casefold(), name)
                    by_outlet.setdefault(name, set()).add(original)
        own: dict[str, str] = {}
        originals = sorted(carried)
        for segment, dropped in zip(self.segments, self.dropped, strict=True):
            for start in range(0, len(originals), PAGE):
                got = segment.articles.get(
                    ids=originals[start : start + PAGE], include=["metadatas"]
                )
                for article_id, meta in zip(got["ids"], got["metadatas"], strict=True):
                    if article_id not in dropped:
                        own[article_id] = outlet(str(meta["source"]), str(meta["url"])).casefold()
        others = {
            original: tuple(sorted(n for k, n in names.items() if k != own.get(original)))
            for original, names in carried.items()
        }
        return _Carried(others, {name: frozenset(ids) for name, ids in by_outlet.items()})

    def chunks_by_id(self, ids: list[str]) -> dict[str, StoredChunk]:
        """id -> the live chunk of that id."""

        def get(segment: Segment, dropped: frozenset[str]) -> list[StoredChunk]:
            got = segment.chunks.get(ids=ids, include=["documents", "metadatas"])
            rows = zip(got["ids"], got["documents"], got["metadatas"], strict=True)
            chunks = (StoredChunk.from_record(*row) for row in rows)
            return [c for c in chunks if c.article_id not in dropped]

        found: dict[str, StoredChunk] = {}
        for chunks in self._each(get):  # oldest first: a newer segment's copy wins
            found.update((c.id, c) for c in chunks)
        return found

    def nearest(self, vector: Sequence[float], n: int, where: dict | None) -> list[str]:
        """Ids of the `n` live chunks nearest to `vector` over all segments."""

        def query(segment: Segment, dropped: frozenset[str]) -> list[tuple[float, str]]:
            clause = where
            if dropped:
                gone = {"article_id": {"$nin": sorted(dropped)}}
                clause = {"$and": [where, gone]} if where else gone
            got = segment.chunks.query(
                query_embeddings=[list(vector)], n_results=n, where=clause, include=["distances"]
            )
            return list(zip(got["distances"][0], got["ids"][0], strict=True))

        found = [hit for hits in self._each(query) for hit in hits]
        return [cid for _, cid in sorted(found)[:n]]

    def _each(self, work: Callable[[Segment, frozenset[str]], T]) -> list[T]:
        """`work(segment, dropped)` for every segment, oldest first; several at once (Chroma
        releases the GIL: 8 segments took 17 ms a question in threads, 43 ms one by one)."""
        pairs = list(zip(self.segments, self.dropped, strict=True))
        if len(pairs) == 1:
            return [work(*pairs[0])]
        return list(_segment_pool().map(lambda pair: work(*pair), pairs))

    def close(self) -> None:
        for segment in self.segments:
            segment.close()


def current(where: Place) -> Manifest:
    """The current manifest; a clear error when there is none, or it is damaged or of an older
    layout."""
    manifest = where.manifest()
    if manifest is None:
        raise IndexMissing(
            f"no index at {where.name}: build one with `assistant index SOURCE` "
            "(or `make run` for the sample articles)"
        )
    return manifest


def open_index(where: Place | Path, manifest: Manifest | None = None) -> Index:
    """The index of `manifest` (default: the current one) for reading; the manifest read again
    if a build dropped one of its segments since."""
    where = where if isinstance(where, Place) else Folder(where)
    try:
        return Index(where, manifest or current(where))
    except FileNotFoundError:  # a build dropped a segment since the manifest was read
        pass
    try:
        return Index(where, current(where))
    except FileNotFoundError as error:  # listed by the current manifest, and gone
        raise IndexDamaged(
            f"the index at {where.name} is damaged ({error}): rebuild it with "
            "`assistant index SOURCE --full`"
        ) from error
