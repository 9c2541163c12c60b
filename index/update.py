"""`assistant update` and `assistant feeds ...`: feeds fetched politely, what is new indexed.

An update fetches every feed that is due (conditional GET: an unchanged feed costs one 304),
then for each entry not indexed yet whose feed carries only a summary, its page, whose main text
is extracted (index/feeds.py); the feed's date first, the page's next. A feed's new articles are
written as one JSONL file into the feeds' folder (`Settings.feeds_dir`, beside the index like the
uploads), and the whole folder goes through the same incremental build as any folder of
articles: one segment per update, kill -9 safe, a folder index or a Chroma server. Removing a
feed removes its files, and so its articles, at the next build. A feed that fails is backed off
(index/feedlist.py), never dropped.

One update at a time per index (the index's "feeds" lock); builds by others (a CLI `index`, a
chat upload) take turns with its build as usual.
"""

from __future__ import annotations

import json
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from langchain_core.embeddings import Embeddings
from tqdm import tqdm

from index import feedlist
from index.article import short_hash
from index.build import Progress, rebuild, waiting
from index.errors import IndexMissing
from index.feedlist import FeedListError, FeedState
from index.feeds import Entry, FeedError, canonical, discover, parse_feed, read_page
from index.fetch import Fetcher, FetchError
from index.places import Place
from index.report import BuildReport
from index.store import open_index

MAX_PAGES = 100  # article pages fetched from one feed in one update; the rest come next time
FEEDS_AT_ONCE = 8  # feeds fetched at the same time (each host still one request at a time)
PROBLEMS_SHOWN = 5  # entry problems listed per feed


@dataclass
class FeedResult:
    """What one update did with one feed."""

    name: str
    new: int = 0  # articles written for the build
    failed: str = ""  # why the feed itself could not be read
    unchanged: bool = False
    problems: list[str] = field(default_factory=list)  # entries that gave no article, and why
    file: Path | None = None  # where its new articles were written

    def lines(self) -> list[str]:
        if self.failed:
            return [f"{self.name}: failed: {self.failed}"]
        head = "unchanged" if self.unchanged else f"{self.new} new"
        if self.problems:
            head += f", {len(self.problems)} without an article"
        shown = [f"  {p}" for p in self.problems[:PROBLEMS_SHOWN]]
        more = len(self.problems) - PROBLEMS_SHOWN
        return [f"{self.name}: {head}", *shown, *([f"  ... and {more} more"] if more > 0 else [])]


@dataclass
class UpdateReport:
    """What `update` did: a result per feed fetched, and the build of what was new."""

    feeds: list[FeedResult]
    build: BuildReport | None

    @property
    def fetched_any(self) -> bool:
        return any(not f.failed for f in self.feeds)

    def lines(self) -> list[str]:
        if not self.feeds:
            return ["no feed is due (`assistant feeds list` shows when each is)"]
        lines = [line for f in self.feeds for line in f.lines()]
        if self.build is not None:
            lines.append(self.build.summary())
        return lines


def update(
    where: Place,
    feeds_dir: Path,
    embedder: Embeddings,
    fetcher: Fetcher,
    *,
    everything: bool = False,
    progress: bool | None = None,
    on_progress: Progress | None = None,
) -> UpdateReport:
    """Fetch the feeds that are due (`everything`: all of them) and index what is new."""
    show = sys.stderr.isatty() if progress is None else progress
    with where.building(waiting(show, on_progress), "feeds"):
        feeds = feedlist.read(where)
        now = time.time()
        due = [f for f in feeds if everything or f.due(now)]
        if not due:
            return UpdateReport([], None)
        known = _Known(where)
        bar = tqdm(total=len(due), desc="fetching feeds", unit=" feeds", disable=not show)

        done = iter(range(1, len(due) + 1))  # next() is atomic: a count across the threads

        def fetch(feed: FeedState) -> FeedResult:
            result = _fetch(feed, fetcher, known, feeds_dir, now)
            bar.update()
            if on_progress:
                on_progress("fetching feeds", next(done), len(due))
            return result

        # Feeds at once, so that one host's politeness delay does not hold up the others (the
        # fetcher keeps one request at a time per host).
        with ThreadPoolExecutor(FEEDS_AT_ONCE, thread_name_prefix="feeds") as pool:
            results = list(pool.map(fetch, due))
        bar.close()
        build = None
        written = [r.file for r in results if r.file is not None]
        if written:  # only the new files: the earlier ones' articles are indexed and stay
            build = rebuild(
                written, where, embedder=embedder, progress=show, on_progress=on_progress
            )
            taken = build.articles_by_file
            for feed, result in zip(due, results, strict=True):
                if result.file is not None:
                    feed.articles += taken.get(str(result.file.resolve()), 0)
        feedlist.write(where, feeds)  # after the build: a failed build fetches them again
        return UpdateReport(results, build)


class _Known:
    """The canonical links of the articles indexed, and of those fetched in this update: never
    fetched again. Read from the index only when a feed has changed (an update with nothing new
    costs no read of the catalogue)."""

    def __init__(self, where: Place):
        self._where = where
        self._links: set[str] | None = None
        self._lock = threading.Lock()

    def claim(self, link: str) -> bool:
        """Whether `link` is new: then it is known from now on."""
        with self._lock:
            if self._links is None:
                self._links = _indexed_links(self._where)
            if link in self._links:
                return False
            self._links.add(link)
            return True


def _indexed_links(where: Place) -> set[str]:
    try:
        index = open_index(where)
    except IndexMissing:  # nothing indexed yet
        return set()
    try:
        return {canonical(e.url) for e in index.catalogue().values() if e.url} - {""}
    finally:
        index.close()


def _fetch(
    feed: FeedState, fetcher: Fetcher, known: _Known, feeds_dir: Path, now: float
) -> FeedResult:
    """Fetch one feed and the pages of its new entries; write its new articles for the build."""
    result = FeedResult(feed.name)
    try:
        got = fetcher.get(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        if got.not_modified:
            result.unchanged = True
            feed.succeeded(now, "unchanged")
            return result
        parsed = parse_feed(got.body, got.url)
    except (FetchError, FeedError) as error:
        feed.failed(now, str(error))
        result.failed = str(error)
        return result
    records, pages, deferred = [], 0, False
    for entry in parsed.entries:
        if entry.link in feed.seen:
            continue
        if not entry.full and pages >= MAX_PAGES:
            deferred = True  # next time
            continue
        if entry.link and not known.claim(entry.link):
            continue
        record, why = _article(entry, fetcher)
        pages += not entry.full
        feed.saw(entry.link)  # fetched once: never again, whatever the build makes of it
        if record is None:
            result.problems.append(f"{entry.link or entry.title}: {why}")
            continue
        records.append(record)
    if records:
        folder = feeds_dir / feed.name
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        result.file = folder / f"{stamp}.jsonl"
        result.file.write_text(lines, encoding="utf-8")
    result.new = len(records)
    if not deferred:  # else the next update must get the whole feed again, not a 304
        feed.etag, feed.last_modified = got.etag, got.last_modified
    without = f", {len(result.problems)} without an article" if result.problems else ""
    feed.succeeded(now, f"{len(records)} new{without}")
    return result


def _article(entry: Entry, fetcher: Fetcher) -> tuple[dict[str, str] | None, str]:
    """The record of an entry's article (from the feed's full text, else its page), or why none."""
    title, text, published = entry.title, entry.text, entry.published
    if not entry.full:
        if not entry.link:
            return None, "no link and no full text"
        try:
            page = read_page(fetcher.get(entry.link, robots=True).body, entry.link)
        except FetchError as error:
            return None, str(error)
        if page is None:
            return None, "no article text on its page (empty, paywalled or not a web page)"
        title, text, published = title or page.title, page.text, published or page.published
    if not text.strip():
        return None, "no text"
    return {
        "id": short_hash(entry.link or text),
        "title": title,
        "text": text,
        "url": entry.link,
        "published": published,
        "source": entry.outlet,
    }, ""


def add_feed(where: Place, url: str, name: str, fetcher: Fetcher) -> FeedState:
    """Follow the feed at `url` (or the feed a web page at `url` names): fetched once to check
    it, named `name` or after its title. Its entries come with the next update."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise FeedListError(f"not a feed URL: {url!r} (only http and https are fetched)")
    got = fetcher.get(url)
    try:
        parsed = parse_feed(got.body, got.url)
    except FeedError:
        named = discover(got.body, got.url)
        if named is None:
            raise
        got = fetcher.get(named)
        parsed = parse_feed(got.body, got.url)
    with where.building(lambda message: None, "feeds"):
        feeds = feedlist.read(where)
        for feed in feeds:
            if feed.url == got.url:
                raise FeedListError(f"{got.url} is followed already, as {feed.name!r}")
        wanted = name or feedlist.slug(parsed.title or urlsplit(got.url).hostname or "feed")
        if name and any(f.name == name for f in feeds):
            raise FeedListError(f"a feed is named {name!r} already: choose another --name")
        feed = FeedState(feedlist.unique_name(wanted, feeds), got.url)
        feedlist.write(where, [*feeds, feed])
        return feed


def remove_feed(
    where: Place, name: str, feeds_dir: Path, embedder: Embeddings, *, keep: bool
) -> BuildReport | None:
    """Stop following a feed; its articles leave the index (the build's report) unless `keep`."""
    with where.building(lambda message: None, "feeds"):
        feeds = feedlist.read(where)
        feed = feedlist.find(feeds, name)
        feedlist.write(where, [f for f in feeds if f is not feed])
        if keep or not (feeds_dir / feed.name).exists():
            return None
        shutil.rmtree(feeds_dir / feed.name)
        return rebuild([feeds_dir], where, embedder=embedder, progress=False)
