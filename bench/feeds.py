"""Feeds at scale: the scale corpus served on loopback as ~100 summary RSS feeds, followed and
updated into a fresh index, against `rebuild` of the same articles as JSONL, in one run.

Usage: .venv/bin/python -m bench.feeds [--articles N] [--feeds 100] [--index-dir DIR]

The first N articles of ../shared/data/scale/corpus.jsonl.gz (read at run time, never copied
into the repository) are grouped by the registered domain of their URL, a publisher each, and a
big publisher is split into several feeds so that there are --feeds feeds in all. Each publisher
is one ThreadingHTTPServer on 127.0.0.1 (its own port) serving robots.txt (all allowed), its RSS
feeds (title, link, pubDate, a short description and the publisher as <source>: summary feeds,
so that every page is fetched and its text extracted) and an HTML page per article; it answers
If-None-Match with 304.

A: the feeds are written to a fresh index's feed list and `index.update.update` runs in this
process as `assistant update` does (the index's chunk embedder, a Fetcher with allow_private and
host_delay 0: politeness delay off on loopback), timed end to end: fetch, extract, dedupe,
index. B, the baseline in the same run: the same N records as they are in one JSONL file, and
`rebuild([that file], fresh index)`. A small build first warms the models, untimed.

Printed: both rates (articles per second, wall: B of the N read, A of those it fetched; CPU
seconds too, as other work on the machine slows both), A/B (target >= 0.8) and where A's time
went; a second update of every feed with nothing new (target < 5 s: conditional GETs answered
304); a third with one new article in one feed (the article after the N in the corpus, which B
then takes in a second build of its own, so that --quiz compares the same articles); the
entries merged as copies of another article (BuildReport.copies, the index's copy_of) or
skipped as duplicates, by A and by B, and a sample of A's pairs with their word 5-shingle
Jaccard similarity (and index.copies.copies' verdict) so that a reader can judge them.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

import index.update as updating
from assistant.config import Settings
from bench.scale import DATA
from index import feedlist
from index.article import visible
from index.build import rebuild
from index.copies import copies as is_copy
from index.feeds import MAX_ENTRIES, canonical, publisher
from index.fetch import Fetcher
from index.places import Folder, Place
from index.report import BuildReport
from index.store import open_index
from index.update import MAX_PAGES, UpdateReport, update

LOOPBACK = "127.0.0.1"  # the only address anything is served on
OUTLETS = {  # the publishers of the scale corpus, as their <source> names them
    "usatoday.com": "USA TODAY",
    "usatodaysportsplus.com": "USA TODAY Sports+",
    "cnn.com": "CNN",
    "theweek.co.uk": "The Week",
}
SUMMARY_CHARS = 200  # an RSS item's description: the start of the first paragraph
DEFAULT_DELAY = 1.0  # Fetcher's host_delay outside this bench
PAIRS_SHOWN = 20
COPY_WORDS = re.compile(r"duplicate|\bcop(?:y|ies)\b|near[- ]cop", re.IGNORECASE)
ARTICLE_ID = re.compile(r"\b[0-9a-f]{12}\b")

Record = dict[str, Any]


# ----------------------------------------------------------------------------- the corpus


def read_corpus(path: Path, n: int | None) -> list[Record]:
    """The first `n` records of the corpus (all if None)."""
    records = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if n is not None and len(records) >= n:
                break
            if line.strip():
                records.append(json.loads(line))
    return records


def allocate(sizes: dict[str, int], wanted: int) -> dict[str, int]:
    """Feeds per publisher: proportional to its articles, at least one, `wanted` in all (or one
    per publisher when there are more publishers), never more feeds than articles."""
    total = sum(sizes.values())
    counts = {p: min(n, max(1, round(wanted * n / total))) for p, n in sizes.items()}
    target = max(wanted, len(sizes))
    while sum(counts.values()) > target:
        largest = max((p for p in counts if counts[p] > 1), key=lambda p: counts[p])
        counts[largest] -= 1
    while sum(counts.values()) < target:
        room = [p for p in counts if counts[p] < sizes[p]]
        if not room:
            break
        busiest = max(room, key=lambda p: sizes[p] / counts[p])
        counts[busiest] += 1
    return counts


# ------------------------------------------------------------------------- what is served


def first_words(text: str, limit: int) -> str:
    """The start of a text's first paragraph, cut at a word, for an RSS description."""
    head = " ".join(text.strip().split("\n\n")[0].split())
    if len(head) <= limit:
        return head
    return head[:limit].rsplit(" ", 1)[0] + " …"


def paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def page_html(record: Record, outlet: str) -> bytes:
    """An article page as a news site serves it: metadata, navigation, the text, a footer."""
    title = escape(" ".join(str(record.get("title") or "").split()))
    published = str(record.get("published") or "")
    meta = (
        f'<meta property="article:published_time" content="{escape(published)}">'
        if published
        else ""
    )
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs(str(record.get("text") or "")))
    name = escape(outlet)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta property="og:title" content="{title}"><meta property="og:type" content="article">'
        f'<meta property="og:site_name" content="{name}">{meta}</head><body>'
        f"<header><a href='/'>{name}</a><nav><a href='/news'>News</a> "
        f"<a href='/politics'>Politics</a> <a href='/sports'>Sports</a></nav></header>"
        f"<main><article><h1>{title}</h1>{body}</article></main>"
        f"<aside><h2>Most read</h2><ul><li><a href='/x'>Another story</a></li></ul></aside>"
        f"<footer>Copyright {name}. All rights reserved. <a href='/privacy'>Privacy</a>"
        f"</footer></body></html>"
    ).encode()


def rfc822(published: str) -> str:
    try:
        day = date.fromisoformat(published[:10])
    except ValueError:
        return ""
    return format_datetime(datetime(day.year, day.month, day.day, 12, tzinfo=UTC))


def rss(title: str, home: str, url: str, outlet: str, items: list[tuple[str, Record]]) -> bytes:
    """A summary RSS 2.0 feed of (link, record) items, newest first."""
    parts = []
    for link, record in sorted(items, key=lambda i: str(i[1].get("published")), reverse=True):
        when = rfc822(str(record.get("published") or ""))
        parts.append(
            f"<item><title>{xml_escape(str(record.get('title') or ''))}</title>"
            f"<link>{xml_escape(link)}</link><guid isPermaLink='true'>{xml_escape(link)}</guid>"
            + (f"<pubDate>{when}</pubDate>" if when else "")
            + f"<description>{xml_escape(first_words(str(record['text']), SUMMARY_CHARS))}"
            f"</description><source url={quoteattr(url)}>{xml_escape(outlet)}</source></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{xml_escape(title)}</title><link>{xml_escape(home)}</link>"
        f"<description>{xml_escape(title)}</description>{''.join(parts)}</channel></rss>"
    ).encode()


@dataclass
class Log:
    """Every request the sites answered, in order: (publisher, kind, status)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[tuple[str, str, int]] = field(default_factory=list)

    def add(self, site: str, kind: str, status: int) -> None:
        with self.lock:
            self.requests.append((site, kind, status))

    def since(self, start: int) -> Counter[str]:
        with self.lock:
            return Counter(f"{kind} {status}" for _, kind, status in self.requests[start:])

    def __len__(self) -> int:
        with self.lock:
            return len(self.requests)


class Site:
    """One publisher's web server on loopback: robots.txt, feeds and pages, ETags honoured."""

    def __init__(self, domain: str, log: Log) -> None:
        self.domain = domain
        self.files: dict[str, tuple[str, str, bytes, str]] = {}  # key -> (kind, type, body, etag)
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers answer
            # Headers and body are two writes: with Nagle on, each response of a kept-alive
            # connection waits for the client's delayed ACK (~40 ms on Linux).
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                found = site.files.get(site.key(site.url + self.path))
                if found is None:
                    log.add(site.domain, "other", 404)
                    self._send(404, "text/plain", b"not found", "")
                    return
                kind, content_type, body, etag = found
                asked = self.headers.get("If-None-Match", "")
                if asked and (
                    asked.strip() == "*" or etag in [t.strip() for t in asked.split(",")]
                ):
                    log.add(site.domain, kind, 304)
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                log.add(site.domain, kind, 200)
                self._send(200, content_type, body, etag)

            def _send(self, status: int, content_type: str, body: bytes, etag: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                if etag:
                    self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.url = f"http://{LOOPBACK}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.add("/robots.txt", "robots", "text/plain", b"User-agent: *\nAllow: /\n")

    @staticmethod
    def key(url: str) -> str:
        """What a URL is served under: its canonical path and query (the fetcher asks for the
        canonical link of an entry)."""
        parts = urlsplit(canonical(url) or url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def add(self, path: str, kind: str, content_type: str, body: bytes) -> str:
        etag = f'"{hash(body) & 0xFFFFFFFFFFFF:x}"'
        self.files[self.key(self.url + path)] = (kind, content_type, body, etag)
        return self.url + path

    def taken(self, path: str) -> bool:
        return self.key(self.url + path) in self.files

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class FeedServed:
    """One feed as served: its items can change (a new article) and the feed is rendered anew."""

    name: str
    site: Site
    path: str
    title: str
    outlet: str
    items: list[tuple[str, Record]]

    @property
    def url(self) -> str:
        return self.site.url + self.path

    def render(self) -> None:
        body = rss(self.title, self.site.url + "/", self.url, self.outlet, self.items)
        self.site.add(self.path, "feed", "application/rss+xml", body)

    def publish(self, record: Record) -> None:
        """A new article: its page, and an item at the top of this feed."""
        link = self.site.add(
            f"/article/{record['id']}.html",
            "page",
            "text/html; charset=utf-8",
            page_html(record, self.outlet),
        )
        self.items.insert(0, (link, record))
        self.render()


@dataclass
class Served:
    sites: dict[str, Site]
    feeds: list[FeedServed]
    original: dict[str, Record]  # canonical loopback link -> the corpus record
    log: Log

    def close(self) -> None:
        for site in self.sites.values():
            site.close()


def serve(records: list[Record], wanted: int) -> Served:
    """Every record as a page of its publisher's site, in `wanted` feeds over the publishers."""
    log = Log()
    by_domain: dict[str, list[Record]] = {}
    for record in records:
        domain = publisher(str(record.get("url") or "")) or "unknown"
        by_domain.setdefault(domain, []).append(record)
    counts = allocate({d: len(rs) for d, rs in by_domain.items()}, wanted)
    sites: dict[str, Site] = {}
    served = Served(sites, [], {}, log)
    try:
        for domain in sorted(by_domain, key=lambda d: -len(by_domain[d])):
            site = sites[domain] = Site(domain, log)
            outlet = OUTLETS.get(domain, domain)
            split: list[list[tuple[str, Record]]] = [[] for _ in range(counts[domain])]
            for i, record in enumerate(by_domain[domain]):
                parts = urlsplit(str(record.get("url") or ""))
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                if not path.startswith("/") or path == "/" or site.taken(path):
                    path = f"/article/{record['id']}.html"
                link = site.add(path, "page", "text/html; charset=utf-8", page_html(record, outlet))
                served.original[canonical(link)] = record
                split[i % len(split)].append((link, record))
            for k, items in enumerate(split, start=1):
                title = f"{outlet}: section {k} of {len(split)}"
                name = f"{feedlist.slug(domain)}-{k:02d}"
                feed = FeedServed(name, site, f"/feeds/{k:02d}.xml", title, outlet, items)
                feed.render()
                served.feeds.append(feed)
    except BaseException:
        served.close()
        raise
    return served


# ----------------------------------------------------------------------------- measuring


@dataclass
class Stopwatch:
    """Seconds and calls of wrapped functions."""

    seconds: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)

    def wrap(self, name: str | Callable[..., str], fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            label = name(*args, **kwargs) if callable(name) else name
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started
                self.calls[label] += 1

        return timed

    def line(self, label: str, shown: str) -> str:
        n, s = self.calls[label], self.seconds[label]
        per = f", {1000 * s / n:.1f} ms each" if n else ""
        return f"{shown} {s:.1f} s ({n:,} calls{per})"


@contextmanager
def timed_update(watch: Stopwatch) -> Iterator[None]:
    """index.update's page extraction, feed parsing and index lookup, timed while inside."""
    saved = {n: getattr(updating, n) for n in ("read_page", "parse_feed", "_indexed_links")}
    try:
        updating.read_page = watch.wrap("extract", saved["read_page"])  # type: ignore[attr-defined]
        updating.parse_feed = watch.wrap("parse", saved["parse_feed"])  # type: ignore[attr-defined]
        updating._indexed_links = watch.wrap("known", saved["_indexed_links"])  # type: ignore[attr-defined]
        yield
    finally:
        for name, fn in saved.items():
            setattr(updating, name, fn)


def fetcher(watch: Stopwatch | None = None) -> Fetcher:
    """A fetcher as `assistant update` makes one, but loopback allowed and no delay."""
    made = Fetcher(allow_private=True, host_delay=0.0)
    if watch is not None:

        def kind(url: str, **kwargs: Any) -> str:
            return "fetch page" if kwargs.get("robots") else "fetch feed"

        made.get = watch.wrap(kind, made.get)  # type: ignore[method-assign]
    return made


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(max(len(words) - n + 1, 1))}


def jaccard(a: str, b: str) -> float:
    """Jaccard similarity of two texts' word 5-shingles (lower-cased), as index/copies.py
    defines a copy's similarity."""
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


def duplicate_lines(report: BuildReport | None) -> list[Any]:
    """The build's skipped lines and notices that are about duplicates or copies."""
    if report is None:
        return []
    return [x for x in (*report.skipped, *report.notices) if COPY_WORDS.search(str(x))]


def duplicate_count(lines: list[Any]) -> int:
    """Entries those lines are about (a file's overflow line counts the kinds it names)."""
    total = 0
    for line in lines:
        text = getattr(line, "reason", None) or getattr(line, "message", "")
        more = re.match(r"\.\.\. and ([\d,]+) more", text)
        if more:  # only the kinds shown are known to be duplicates
            found = re.findall(r"(?:dupl|cop)[^:;]*: ([\d,]+)", text)
            total += sum(int(n.replace(",", "")) for n in found)
        else:
            total += 1
    return total


def written_records(feeds_dir: Path) -> tuple[dict[tuple[str, int], Record], dict[str, Record]]:
    """The records the update wrote, by (file, line) and by id."""
    at, by_id = {}, {}
    for file in sorted(feeds_dir.rglob("*.jsonl")):
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            record = json.loads(line)
            at[(str(file.resolve()), number)] = record
            by_id[record["id"]] = record
    return at, by_id


def copy_pairs(where: Place, by_id: dict[str, Record]) -> list[tuple[Record, Record, str]]:
    """(copy, the article it copies, "merged") of every article the index keeps as a copy of
    another (a catalogue entry's copy_of), for the records of `by_id`."""
    index = open_index(where)
    try:
        catalogue = index.catalogue()
    finally:
        index.close()
    found = []
    for article_id, entry in catalogue.items():
        original = getattr(entry, "copy_of", "")
        if original and article_id in by_id and original in by_id:
            found.append((by_id[article_id], by_id[original], "merged"))
    return found


def skipped_pairs(
    lines: list[Any], at: dict[tuple[str, int], Record], by_id: dict[str, Record]
) -> list[tuple[Record, Record, str]]:
    """(entry skipped, the article it duplicates, "skipped") for the lines that name both."""
    found = []
    for line in lines:
        text = getattr(line, "reason", None) or getattr(line, "message", "")
        this = at.get((str(Path(line.path).resolve()), line.line)) if line.line else None
        other = next((by_id[i] for i in ARTICLE_ID.findall(text) if i in by_id), None)
        if this is not None and other is not None and this is not other:
            found.append((this, other, "skipped"))
    return found


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else math.inf


def shorten(text: str, limit: int = 70) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, help="the first N articles (default: all)")
    parser.add_argument("--feeds", type=int, default=100, help="feeds to serve (default: 100)")
    parser.add_argument(
        "--index-dir",
        type=Path,
        help="an empty folder to build the two indexes in, kept (default: a temporary one)",
    )
    parser.add_argument("--corpus", type=Path, default=DATA / "corpus.jsonl.gz")
    parser.add_argument(
        "--quiz",
        type=Path,
        help="also `assistant eval` these questions over both indexes (e.g. "
        "../shared/data/scale/questions.jsonl, each asked on its date)",
    )
    parser.add_argument(
        "--ef-search",
        type=int,
        help="first set both indexes' HNSW search depth (Chroma's ef_search, 100 by default) to "
        "this: their graphs, built in different orders, miss different near neighbours; at 1000 "
        "the search is all but exact",
    )
    parser.add_argument(
        "--quiz-only",
        action="store_true",
        help="only --quiz the two indexes an earlier run kept in --index-dir",
    )
    args = parser.parse_args()
    print("$ .venv/bin/python -m bench.feeds " + shlex.join(sys.argv[1:]), flush=True)
    if args.quiz_only:
        if not (args.quiz and args.index_dir):
            raise SystemExit("--quiz-only needs --quiz and the --index-dir of an earlier run")
        quiz(args.quiz, args.index_dir, args.ef_search)
        return
    if args.index_dir and args.index_dir.exists() and any(args.index_dir.iterdir()):
        raise SystemExit(f"{args.index_dir} is not empty: give a new or empty folder")
    # One more article, for the third update (taken from the N when the corpus has no more).
    records = read_corpus(args.corpus, None if args.articles is None else args.articles + 1)
    extra = records.pop() if len(records) > 1 else None
    temporary = args.index_dir is None
    work = Path(tempfile.mkdtemp(prefix="bench-feeds-")) if temporary else args.index_dir
    work.mkdir(parents=True, exist_ok=True)
    served = None
    try:
        served = serve(records, args.feeds)
        measure(records, extra, served, work)
        if args.quiz:
            quiz(args.quiz, work, args.ef_search)
    finally:
        if served is not None:
            served.close()
        if temporary:
            shutil.rmtree(work, ignore_errors=True)
    print(f"servers stopped; {'removed' if temporary else 'kept'} {work}")


def quiz(questions: Path, work: Path, ef_search: int | None = None) -> None:
    """`assistant eval` of the questions over the index built through feeds and the JSONL one
    (with `ef_search`, each searched that deep first)."""
    for name, index_dir in (
        ("A feeds", work / "feeds" / "index"),
        ("B JSONL", work / "jsonl" / "index"),
    ):
        if ef_search:
            index = open_index(Folder(index_dir))
            for segment in index.segments:
                segment.chunks.modify(configuration={"hnsw": {"ef_search": ef_search}})
            index.close()
            print(f"{name}: ef_search {ef_search} set on its {len(index.segments)} segments")
        command = [sys.executable, "-m", "assistant.cli", "eval", str(questions)]
        done = subprocess.run(
            [*command, "--index-dir", str(index_dir)], capture_output=True, text=True, check=False
        )
        print(f"{name}: assistant eval {questions} --index-dir {index_dir}", flush=True)
        for line in (done.stdout.strip() or done.stderr.strip()).splitlines():
            print(f"   {line}", flush=True)


@dataclass
class Run:
    """One timed run: wall and CPU seconds (this process, all its threads)."""

    seconds: float = 0.0
    cpu: float = 0.0

    @contextmanager
    def timing(self) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.seconds = time.perf_counter() - wall
            self.cpu = time.process_time() - cpu


def measure(records: list[Record], extra: Record | None, served: Served, work: Path) -> None:
    n = len(records)
    sizes = Counter(publisher(str(r.get("url") or "")) for r in records)
    per_site = Counter(f.site.domain for f in served.feeds)
    entries = [len(f.items) for f in served.feeds]
    print(
        f"N = {n:,} articles of {DATA / 'corpus.jsonl.gz'}; {len(served.feeds)} summary RSS feeds "
        f"of {len(served.sites)} publishers, each its own server on {LOOPBACK}: "
        + ", ".join(f"{d} {sizes[d]:,} articles in {per_site[d]}" for d in served.sites)
        + f"; {min(entries)}-{max(entries)} entries a feed"
    )
    if max(entries) > MAX_PAGES:
        over = sum(e > MAX_PAGES for e in entries)
        print(
            f"note: {over} feeds list more than {MAX_PAGES} entries: an update fetches {MAX_PAGES}"
        )
    if max(entries) > MAX_ENTRIES:
        print(f"note: feeds of more than {MAX_ENTRIES} entries are cut to the newest")

    settings = Settings.from_env(index_dir=work / "feeds" / "index", chroma_url="")
    where_a = settings.place()
    where_b = Folder(work / "jsonl" / "index")
    embedder_a = settings.chunk_embedder(where_a)
    embedder_b = settings.chunk_embedder(where_b)
    print(
        f"embedder: {embedder_a.name} (Settings.chunk_embedder, as `assistant update` uses); "
        "times: wall (CPU of this process, all threads, servers included)"
    )

    # Warm-up, untimed: the models, Chroma and trafilatura loaded once for both runs.
    warm = work / "warm-up"
    warm.mkdir()
    (warm / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[:3]))
    rebuild([warm / "a.jsonl"], warm / "index", embedder=embedder_a, progress=False)
    first = served.feeds[0].items[0][0]
    with fetcher() as f:
        updating.read_page(f.get(first).body, first)
    shutil.rmtree(warm)

    # B: the records as they are, one JSONL file, one rebuild.
    source = work / "jsonl" / "articles.jsonl"
    source.parent.mkdir(parents=True)
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    b = Run()
    with b.timing():
        report_b = rebuild([source], where_b, embedder=embedder_b, progress=False)
    rate_b = rate(n, b.seconds)
    print(
        f"B  rebuild([JSONL of the {n:,} records], fresh index): {b.seconds:.1f} s "
        f"({b.cpu:.1f} s CPU), {rate_b:.2f} articles/s; {report_b.summary().splitlines()[0]}",
        flush=True,
    )

    # A: follow the feeds, one update.
    feedlist.write(where_a, [feedlist.FeedState(f.name, f.url) for f in served.feeds])
    watch, a = Stopwatch(), Run()
    before = len(served.log)
    with fetcher(watch) as fetching, timed_update(watch), a.timing():
        report_a = update(
            where_a, settings.feeds_dir, embedder_a, fetching, everything=False, progress=False
        )
    after = len(served.log)
    written = sum(r.new for r in report_a.feeds)  # N, unless feeds were cut (see the notes)
    rate_a = rate(written, a.seconds)
    print_update_a(report_a, a, rate_a, n, watch, served.log.since(before))
    print(
        f"   politeness delay off on loopback (Fetcher(allow_private=True, host_delay=0.0)); "
        f"the default {DEFAULT_DELAY:g} s per host would make each publisher's "
        f"{(after - before) / max(len(served.sites), 1):,.0f} requests take about that "
        "many seconds (publishers are fetched at once)"
    )
    fidelity(served, settings.feeds_dir)
    build_a = report_a.build.seconds if report_a.build else 0.0
    outside = a.seconds - build_a  # fetching, extracting, writing: what B does not do
    cpu = rate(written, a.cpu) / rate(n, b.cpu)
    same_build = rate(written, b.seconds + outside) / rate_b
    print(
        f"A/B = {rate_a / rate_b:.2f}x (target >= 0.8x); in CPU seconds {cpu:.2f}x; with A's "
        f"build taken as long as B's rebuild (the same articles) {same_build:.2f}x",
        flush=True,
    )

    # A again: nothing new, every feed fetched.
    watch2, again = Stopwatch(), Run()
    before = len(served.log)
    with fetcher(watch2) as fetching, timed_update(watch2), again.timing():
        second = update(
            where_a, settings.feeds_dir, embedder_a, fetching, everything=True, progress=False
        )
    unchanged = sum(r.unchanged for r in second.feeds)
    requests = ", ".join(f"{k}: {v:,}" for k, v in sorted(served.log.since(before).items()))
    held = where_a.manifest()
    print(
        f"second update, nothing new (everything=True): {again.seconds:.2f} s (target < 5 s); "
        f"{unchanged}/{len(second.feeds)} feeds unchanged, {sum(r.new for r in second.feeds)} "
        f"new, build {'none' if second.build is None else f'{second.build.seconds:.1f} s'}; "
        f"requests served: {requests}; {watch2.line('known', 'indexed links read in')}; "
        f"{watch2.line('fetch feed', 'feeds fetched in')}; the index holds "
        f"{held.articles if held else 0:,} articles"
    )

    if extra is not None:  # A a third time: one new article in one feed
        feed = next(
            (f for f in served.feeds if f.site.domain == publisher(str(extra.get("url") or ""))),
            served.feeds[0],
        )
        feed.publish(extra)
        watch3, third = Stopwatch(), Run()
        with fetcher(watch3) as fetching, timed_update(watch3), third.timing():
            one = update(
                where_a, settings.feeds_dir, embedder_a, fetching, everything=True, progress=False
            )
        files = sum(1 for _ in settings.feeds_dir.rglob("*.jsonl"))
        print(
            f"third update, one new article in {feed.name} (everything=True): {third.seconds:.2f} s"
            f"; {sum(r.new for r in one.feeds)} new; build "
            f"{one.build.seconds if one.build else 0:.1f} s (of its new file; {files} in the "
            f"feeds' folder); {watch3.line('known', 'indexed links read in')}"
        )
        # B takes the same article the same way (a second build of its own file), so that the
        # quiz compares the same articles in the same segments (one segment each would search
        # the approximate nearest neighbours differently from two).
        later = source.with_name("later.jsonl")
        later.write_text(json.dumps(extra, ensure_ascii=False) + "\n")
        rebuild([source, later], where_b, embedder=embedder_b, progress=False)

    copies(report_a.build, report_b, where_a, where_b, settings.feeds_dir, records, served, written)


def print_update_a(
    report: UpdateReport, a: Run, rate_a: float, n: int, watch: Stopwatch, asked: Counter[str]
) -> None:
    build = report.build
    new = sum(r.new for r in report.feeds)
    failed = [r for r in report.feeds if r.failed]
    problems = [p for r in report.feeds for p in r.problems]
    indexed = build.articles if build else 0
    print(
        f"A  update() of {len(report.feeds)} new feeds into a fresh index: {a.seconds:.1f} s "
        f"({a.cpu:.1f} s CPU), {rate_a:.2f} articles/s; {new:,} articles written, "
        f"{len(problems):,} entries without an article, {len(failed)} feeds failed; the index "
        f"holds {indexed:,} of the {n:,}"
    )
    for problem in problems[:3]:
        print(f"   entry without an article: {problem}")
    for result in failed[:3]:
        print(f"   {result.name}: failed: {result.failed}")
    if build is not None:
        print(f"   build: {build.summary().splitlines()[0]}")
    building = build.seconds if build else 0.0
    print(
        "   where the time went (fetching, parsing and extracting summed over the feeds' "
        "threads): "
        + "; ".join(
            [
                watch.line("fetch feed", "feeds fetched"),
                watch.line("parse", "parsed"),
                watch.line("fetch page", "pages fetched"),
                watch.line("extract", "pages extracted (trafilatura)"),
                f"build {building:.1f} s",
            ]
        )
    )
    print("   requests served: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(asked.items())))


def fidelity(served: Served, feeds_dir: Path) -> None:
    """How much of each record's text its page's extraction gave back."""
    at, _ = written_records(feeds_dir)
    ratios, same, scores = [], 0, []
    for i, record in enumerate(at.values()):
        original = served.original.get(canonical(record["url"]))
        if original is None:
            continue
        text = "\n\n".join(paragraphs(visible(str(original["text"]))))  # as a file's is read
        ratios.append(len(record["text"]) / max(len(text), 1))
        same += record["text"] == text
        if i % 20 == 0:
            scores.append(jaccard(record["text"], text))
    if ratios:
        ratios.sort()
        print(
            f"   extracted text against the record's: median length {ratios[len(ratios) // 2]:.0%}"
            f", lowest {ratios[0]:.0%}; identical {same:,}/{len(ratios):,}; 5-shingle Jaccard "
            f"mean {sum(scores) / len(scores):.3f} on every 20th"
        )


def copies(
    build: BuildReport | None,
    report_b: BuildReport,
    where_a: Place,
    where_b: Place,
    feeds_dir: Path,
    records: list[Record],
    served: Served,
    written: int,
) -> None:
    """Entries merged as copies of another article, or skipped as duplicates, by A and by B;
    a sample of A's pairs with their similarity."""
    at, by_id = written_records(feeds_dir)
    lines_a, lines_b = duplicate_lines(build), duplicate_lines(report_b)
    merged_a, merged_b = (build.copies if build else 0), report_b.copies
    pairs_a = copy_pairs(where_a, by_id) if build else []
    pairs_b = copy_pairs(where_b, {str(r["id"]): r for r in records})
    taken = sum(build.articles_by_file.values()) if build else 0
    print(
        f"copies: A merged {merged_a:,} entries as copies of another article (BuildReport.copies; "
        f"{len(pairs_a):,} kept as copies in the index), skipped {duplicate_count(lines_a):,} as "
        f"duplicates (the first build took {taken:,} of the {written:,} records written); B merged "
        f"{merged_b:,} ({len(pairs_b):,} in the index), "
        f"skipped {duplicate_count(lines_b):,}"
    )
    kinds = Counter(
        ARTICLE_ID.sub("ID", str(getattr(x, "reason", "") or x.message)) for x in lines_a
    )
    for kind, k in kinds.most_common(5):
        print(f"   {k:,} x skipped: {kind}")
    found = pairs_a + skipped_pairs(lines_a, at, by_id)
    if not found:
        return
    shown = min(len(found), PAIRS_SHOWN)
    print(
        f"   {shown} of {len(found)} pairs, Jaccard of word 5-shingles and what "
        "index.copies.copies() says:"
    )
    for this, other, what in found[:PAIRS_SHOWN]:
        score = jaccard(this["text"], other["text"])
        said = f" copies={is_copy(this['text'], other['text'])}"
        one = served.original.get(canonical(this["url"]), this)
        two = served.original.get(canonical(other["url"]), other)
        print(
            f"   {score:.3f} {what}{said}: {shorten(one['title'])} <{one['url']}> "
            f"({len(this['text']):,} chars)\n"
            f"        of: {shorten(two['title'])} <{two['url']}> ({len(other['text']):,} chars)"
        )


if __name__ == "__main__":
    main()
