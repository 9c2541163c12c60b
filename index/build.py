"""rebuild(sources, index_dir) -> BuildReport: the one entry point of the write side."""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import chromadb
from langchain_core.embeddings import Embeddings
from tqdm import tqdm

from index import stories
from index.chunk import ChunkSettings, chunk_article, embedding_text
from index.copies import Found, find_copies, outlet
from index.embed import DEFAULT_MODEL, default_embedder
from index.errors import IndexDamaged, IndexMismatch, IndexProblem
from index.lexical import open_lexical, prune
from index.load import Article, load
from index.manifest import Manifest, Part
from index.places import Folder, Place
from index.plan import Plan, plan, under
from index.report import BuildReport
from index.segments import Entry, Segment, new_segment_id, pages
from index.sentences import split_sentences
from index.statements import quotable
from index.store import Index, open_index
from index.stories import Member

DEFAULT_CHUNKING = ChunkSettings()
MAX_SEGMENTS = 8  # more, and an update merges all but the first segment into one
COPY_PAGE = 1000  # records copied in one call when segments are merged
EMBED_BATCH = 256  # chunks per embedding call: large enough to batch well, small for progress
Progress = Callable[[str, int, int], None]  # (stage, done, total)


def check_settings(manifest: Manifest, model: str, chunking: ChunkSettings) -> None:
    """Refuse to mix vectors or chunks made with different settings."""
    have = (manifest.embedding_model, manifest.chunking)
    if have != (model, chunking):
        raise IndexMismatch(
            f"the index was built with {have[0]!r} and {have[1]}, not {model!r} and {chunking}: "
            "rebuild it with `assistant index --full` (or pass the settings it was built with)"
        )


def rebuild(
    sources: Iterable[str | os.PathLike[str]],
    where: Place | str | os.PathLike[str],
    *,
    full: bool = False,
    chunking: ChunkSettings = DEFAULT_CHUNKING,
    embedder: Embeddings | None = None,
    progress: bool | None = None,
    on_progress: Progress | None = None,
) -> BuildReport:
    """Bring the index at `where` (a Place: `Settings.place()`, or an index folder) in line with
    the articles under `sources`, embedded with `embedder` (default: the bundled model; the
    index records its `name`).

    Incremental unless `full`: unchanged articles cost nothing, changed ones are replaced and
    articles whose files under `sources` are gone are removed; a file that cannot be read in
    full keeps its earlier articles. An update writes one new segment of what changed; the new
    index becomes visible in one atomic step; until then readers see the previous one.
    """
    started = time.perf_counter()
    where = where if isinstance(where, Place) else Folder(Path(where))
    roots = [Path(s).expanduser().resolve() for s in sources]
    show = sys.stderr.isatty() if progress is None else progress
    embedder = embedder or default_embedder()
    model = str(getattr(embedder, "name", DEFAULT_MODEL))
    with _writing(where), where.building(waiting(show, on_progress)):
        try:
            previous = where.manifest()
        except IndexMismatch:  # an index of an earlier format: built anew
            previous, full = None, True
        except IndexDamaged:
            if not full:
                raise
            previous = None  # --full rebuilds what a damaged manifest listed
        _clear(where, keep=previous.kept() if previous else set())
        base = None if full or previous is None else previous
        known = _catalogue(where, base, model, chunking)
        # The index may live inside a source folder (data/index beside data/articles).
        inside = [where.path] if isinstance(where, Folder) else []
        items = (i for i in load(roots) if not under(Path(i.path), inside))
        work = plan(items, roots, known, show)
        if base is not None and not work.todo and not work.removed:
            _save_bm25(where, base)  # made here if a reader has not (an older layout's)
            prune(where.bm25_dir, [base])
            return _report(where, work, base, started, changed=False)
        if on_progress:
            on_progress("finding copies of one story", 0, 0)
        found = _copies(where, base, known, work, show)
        copies = [(a, found.originals[a.id]) for a in work.todo if a.id in found.originals]
        whole = [a for a in work.todo if a.id not in found.originals]  # embedded
        segment_id = new_segment_id()
        segment = where.segment(segment_id, create=True)
        merged = None
        try:
            try:
                segment.add_copies(copies)
                (articles, sentences, chunks), ledes = _embed_into(
                    segment, whole, found.signatures, chunking, embedder, show, on_progress
                )
                if on_progress:
                    on_progress("grouping stories", 0, 0)
                _group(where, base, segment, whole, ledes, work.removed | work.updated)
            finally:
                segment.close()
            where.finish(segment_id)
            added = (articles + len(copies), sentences, chunks)
            manifest = _manifest(base, segment_id, known, work, added, model, chunking)
            manifest, merged = _merged(where, manifest)
            manifest = replace(
                manifest,
                generation=previous.generation + 1 if previous else 1,
                previous=tuple(previous.segment_ids) if previous else (),
            )
            if on_progress:
                on_progress("saving the index", 0, 0)
            _save_bm25(where, manifest)  # before publishing: readers find it ready
            where.publish(manifest)
        except BaseException:
            where.drop(segment_id)
            if merged:
                where.drop(merged)
            prune(where.bm25_dir, [previous])
            raise
        _clear(where, keep=manifest.kept())
        prune(where.bm25_dir, [manifest, previous])
        return _report(where, work, manifest, started, changed=True, copies=len(copies))


def waiting(show: bool, on_progress: Progress | None) -> Callable[[str], None]:
    """How a writer says it waits for another (`Place.building`): on the terminal when
    progress shows there, and to `on_progress` (an upload's progress in the chat)."""

    def say(message: str) -> None:
        if show:
            print(message, file=sys.stderr, flush=True)
        if on_progress:
            on_progress(message, 0, 0)

    return say


def _save_bm25(where: Place, manifest: Manifest) -> None:
    """Make and save the BM25 of `manifest` (index/lexical.py), reading only its new segments."""
    index = Index(where, manifest)
    try:
        open_lexical(index)
    finally:
        index.close()


def _merged(where: Place, manifest: Manifest) -> tuple[Manifest, str | None]:
    """Past MAX_SEGMENTS segments, all but the first (the archive, by far the largest) are merged
    into one: their live records are copied, vectors and all, nothing embedded again. Questions
    search every segment, so daily updates must not pile up; the copy costs about what the
    merged days added."""
    parts = manifest.parts
    if len(parts) <= MAX_SEGMENTS:
        return manifest, None
    merged_id = new_segment_id()
    target = where.segment(merged_id, create=True)
    try:
        index = Index(where, manifest)
        try:
            for segment, dropped in zip(index.segments[1:], index.dropped[1:], strict=True):
                _copy(segment.chunks, target.chunks, lambda m: m["article_id"], dropped)
                _copy(segment.articles, target.articles, None, dropped)
                _copy(segment.stories, target.stories, None, dropped)
        finally:
            index.close()
    finally:
        target.close()
    where.finish(merged_id)
    removes = frozenset().union(*(p.removes for p in parts[1:]))
    return replace(manifest, parts=(parts[0], Part(merged_id, removes))), merged_id


def _copy(
    source: Any,
    target: Any,
    article_of: Callable[[dict[str, Any]], str] | None,
    dropped: frozenset[str],
) -> None:
    """Copy the records of articles not `dropped` from one collection to another."""
    include = ["embeddings", "documents", "metadatas"]
    for got in pages(source, include, size=COPY_PAGE):
        rows = [
            (i, e, d, m)
            for i, e, d, m in zip(
                got["ids"], got["embeddings"], got["documents"], got["metadatas"], strict=True
            )
            if (article_of(m) if article_of else i) not in dropped
        ]
        if rows:
            ids, vectors, documents, metadatas = zip(*rows, strict=True)
            target.add(
                ids=list(ids),
                embeddings=[list(v) for v in vectors],
                documents=list(documents) if any(d is not None for d in documents) else None,
                metadatas=list(metadatas),
            )


def _copies(
    where: Place, base: Manifest | None, known: dict[str, Entry], work: Plan, show: bool
) -> Found:
    """Which of the articles to index are copies of another one (index/copies.py): of an indexed
    article that stays, or of one read before them. Copies are recorded, not embedded; a
    candidate's text is read back from the index."""
    gone = work.removed | work.updated
    indexed = {i: e.signature for i, e in known.items() if not e.copy_of and i not in gone}
    carried = {
        i: e.copy_of
        for i, e in known.items()
        if e.copy_of and i not in gone and e.copy_of in indexed
    }
    opened: list[Index] = []

    def text_of(article_id: str) -> str | None:
        if base is None:
            return None
        if not opened:
            opened.append(Index(where, base))
        found = opened[0].article(article_id)
        return found[0].text if found else None

    try:
        outlets = {i: outlet(e.source, e.url) for i, e in known.items() if i in indexed}
        return find_copies(work.todo, indexed, work.copies, carried, text_of, outlets, show)
    finally:
        for index in opened:
            index.close()


def _catalogue(
    where: Place, base: Manifest | None, model: str, chunking: ChunkSettings
) -> dict[str, Entry]:
    """What the index at `base` holds, after checking it was built with these settings."""
    if base is None:
        return {}
    check_settings(base, model, chunking)
    index = open_index(where, base)  # a segment the manifest lists that is gone: IndexDamaged
    try:
        return index.catalogue()
    finally:
        index.close()


def _clear(where: Place, keep: set[str]) -> None:
    """Remove the segments no reader can need: not listed by the current or previous manifest
    (what killed builds left, and what updates replaced)."""
    for segment_id in where.segment_ids() - keep:
        where.drop(segment_id)


def _manifest(
    base: Manifest | None,
    segment_id: str,
    known: dict[str, Entry],
    work: Plan,
    added: tuple[int, int, int],
    model: str,
    chunking: ChunkSettings,
) -> Manifest:
    """The manifest of `base` with the new segment, which removes the changed and gone articles."""
    gone = [known[i] for i in work.removed | work.updated]
    counts = (
        len(known) - len(gone) + added[0],
        sum(e.sentences for e in known.values()) - sum(e.sentences for e in gone) + added[1],
        sum(e.chunks for e in known.values()) - sum(e.chunks for e in gone) + added[2],
    )
    parts = base.parts if base else ()
    return Manifest(
        embedding_model=model,
        chunking=chunking,
        parts=(*parts, Part(segment_id, frozenset(work.removed | work.updated))),
        articles=counts[0],
        sentences=counts[1],
        chunks=counts[2],
        built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )


@contextmanager
def _writing(where: Place) -> Iterator[None]:
    """A file system, SQLite or local Chroma error while writing (a full disk: "database or disk
    is full", "Error in compaction") is one line, not a traceback (a Chroma server that does not
    answer, or a segment that cannot be read, is one already: index/places.py)."""
    try:
        yield
    except (OSError, sqlite3.Error, chromadb.errors.ChromaError) as error:
        raise IndexProblem(f"cannot write the index at {where.name}: {_why(error)}") from error


def _why(error: Exception) -> str:
    if isinstance(error, chromadb.errors.ChromaError):  # "Error in compaction: ..."
        return f"{error} (is the disk full?)"
    if not isinstance(error, OSError):
        return str(error)
    where = error.filename and Path(error.filename)
    return f"{error.strerror or error} ({where})" if where else str(error.strerror or error)


def _embed_into(
    segment: Segment,
    articles: list[Article],
    signatures: Mapping[str, str],
    chunking: ChunkSettings,
    embedder: Embeddings,
    show: bool,
    on_progress: Progress | None,
) -> tuple[tuple[int, int, int], dict[str, str]]:
    """Split, chunk and embed articles in batches, with progress; (articles, sentences, chunks)
    and the text of each article's first chunk (its lede: index/stories.py)."""
    prepared = []
    split = tqdm(articles, desc="splitting sentences", unit=" articles", disable=not show)
    for i, article in enumerate(split, start=1):
        found = split_sentences(article.text)
        flags = quotable(article.text, found, article.title)
        sentences = [replace(s, quotable=q) for s, q in zip(found, flags, strict=True)]
        prepared.append((article, sentences, chunk_article(article, sentences, chunking)))
        if on_progress and (i % 20 == 0 or i == len(articles)):
            on_progress("splitting sentences", i, len(articles))
    total = sum(len(chunks) for _, _, chunks in prepared)
    bar = tqdm(total=total, desc="embedding chunks", unit=" chunks", disable=not show)
    done, batch = 0, []
    ledes: dict[str, str] = {}
    for i, item in enumerate(prepared):
        batch.append(item)
        size = sum(len(chunks) for _, _, chunks in batch)
        if size >= EMBED_BATCH or i == len(prepared) - 1:
            texts = [embedding_text(a, c) for a, _, chunks in batch for c in chunks]
            vectors = iter(embedder.embed_documents(texts) if texts else [])
            embedded = [(a, s, cs, [next(vectors) for _ in cs]) for a, s, cs in batch]
            segment.add(embedded, signatures)
            ledes.update((a.id, cs[0].text) for a, _, cs, _ in embedded if cs)
            done += size
            bar.update(size)
            if on_progress:
                on_progress("embedding chunks", done, total)
            batch = []
    bar.close()
    counts = (len(prepared), sum(len(s) for _, s, _ in prepared), total)
    return counts, ledes


def _group(
    where: Place,
    base: Manifest | None,
    segment: Segment,
    articles: Sequence[Article],
    ledes: Mapping[str, str],
    gone: set[str] | frozenset[str],
) -> None:
    """Each new article's story (index/stories.py), against the indexed articles around them."""
    members = stories.members([a for a in articles if a.id in ledes], ledes)
    known: list[tuple[Member, str]] = []
    if base is not None:
        index = Index(where, base)
        try:
            around = stories.known_around(index, (m.day for m in members if m.day))
        finally:
            index.close()
        known = [(m, story) for m, story in around if m.id not in gone]
    assigned = stories.assign(members, known)
    by_id = {a.id: a for a in articles}
    segment.add_stories(
        [(m.id, m.vector, stories.metadata(m, assigned, by_id[m.id])) for m in members]
    )


def _report(
    where: Place, work: Plan, manifest: Manifest, started: float, changed: bool, copies: int = 0
) -> BuildReport:
    return BuildReport(
        index_dir=where.name,
        added=len(work.todo) - len(work.updated),
        updated=len(work.updated),
        unchanged=work.unchanged,
        removed=len(work.removed),
        skipped=work.skipped.lines(),
        notices=work.notices.lines(),
        articles_by_file=dict(work.by_file),
        articles=manifest.articles,
        sentences=manifest.sentences,
        chunks=manifest.chunks,
        seconds=time.perf_counter() - started,
        changed=changed,
        copies=copies,
    )
