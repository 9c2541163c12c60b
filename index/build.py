"""rebuild(sources, index_dir) -> BuildReport: the one entry point of the write side."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from langchain_core.embeddings import Embeddings
from tqdm import tqdm

from index import lexical
from index.builds import clear_unfinished, discard, new_build, publish
from index.chunk import ChunkSettings, chunk_article, embedding_text
from index.embed import DEFAULT_MODEL
from index.load import Article, load
from index.plan import Plan, plan, under
from index.report import BuildReport
from index.sentences import split_sentences
from index.static import embedder_named
from index.store import FORMAT, IndexMismatch, IndexProblem, Store, current_build

DEFAULT_CHUNKING = ChunkSettings()
EMBED_BATCH = 256  # chunks per embedding call: large enough to batch well, small for progress
Progress = Callable[[str, int, int], None]  # (stage, done, total)


def settings_record(model: str, chunking: ChunkSettings) -> dict[str, object]:
    """The settings an index is bound to."""
    return {
        "format": FORMAT,
        "embedding_model": model,
        "chunking": {"max_chars": chunking.max_chars, "overlap": chunking.overlap},
    }


def check_settings(manifest: dict[str, object], model: str, chunking: ChunkSettings) -> None:
    """Refuse to mix vectors or chunks made with different settings."""
    want = settings_record(model, chunking)
    have = {key: manifest.get(key) for key in want}
    if have != want:
        raise IndexMismatch(
            f"the index was built with {have}, not {want}: rebuild it with "
            "`assistant index --full` (or pass the settings it was built with)"
        )


def rebuild(
    sources: Iterable[str | os.PathLike[str]],
    index_dir: str | os.PathLike[str],
    *,
    full: bool = False,
    model: str = DEFAULT_MODEL,
    chunking: ChunkSettings = DEFAULT_CHUNKING,
    embedder: Embeddings | None = None,
    progress: bool | None = None,
    on_progress: Progress | None = None,
) -> BuildReport:
    """Bring the index at `index_dir` in line with the articles under `sources`.

    Incremental unless `full`: unchanged articles cost nothing, changed ones are replaced and
    articles whose files under `sources` are gone are removed; a file that cannot be read in
    full keeps its earlier articles. The new index becomes visible in one atomic step; until
    then readers see the previous one.
    """
    started = time.perf_counter()
    index_dir = Path(index_dir).expanduser().resolve()
    roots = [Path(s).expanduser().resolve() for s in sources]
    show = sys.stderr.isatty() if progress is None else progress
    with _locked(index_dir):
        with _writing(index_dir):
            clear_unfinished(index_dir)
        base = None if full else current_build(index_dir)
        work = _read(roots, index_dir, base, model, chunking, show)
        if base is not None and not work.todo and not work.removed:
            with _opened(base) as store:
                return _report(index_dir, work, store, started, changed=False)
        embedder = embedder or embedder_named(model)
        with _writing(index_dir):
            build = new_build(index_dir, base)
            try:
                with _opened(build) as store:
                    store.delete(work.removed | work.updated)
                    _embed_into(store, work.todo, chunking, embedder, show, on_progress)
                    store.commit()
                    lexical.build(store)
                    report = _report(index_dir, work, store, started, changed=True)
                    store.write_manifest(_manifest(model, chunking, report))
                publish(index_dir, build)
            except BaseException:
                discard(index_dir, build)
                raise
        return report


def _read(
    roots: list[Path],
    index_dir: Path,
    base: Path | None,
    model: str,
    chunking: ChunkSettings,
    show: bool,
) -> Plan:
    """Read every article under `roots` and sort them against the build at `base`."""
    old = Store(base) if base else None
    try:
        if old is not None:
            check_settings(old.manifest, model, chunking)
        # The index may live inside a source folder (data/index beside data/articles).
        items = (i for i in load(roots) if not under(Path(i.path), [index_dir]))
        return plan(items, roots, old, show)
    finally:
        if old is not None:
            old.close()


def _manifest(model: str, chunking: ChunkSettings, report: BuildReport) -> dict[str, object]:
    return settings_record(model, chunking) | {
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "articles": report.articles,
        "sentences": report.sentences,
        "chunks": report.chunks,
    }


@contextmanager
def _opened(build: Path) -> Iterator[Store]:
    store = Store(build)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def _writing(index_dir: Path) -> Iterator[None]:
    """A file system or SQLite error while writing the index is one line, not a traceback."""
    try:
        yield
    except (OSError, sqlite3.Error) as error:
        raise IndexProblem(f"cannot write the index at {index_dir}: {_why(error)}") from error


def _why(error: OSError | sqlite3.Error) -> str:
    if not isinstance(error, OSError):
        return str(error)
    where = error.filename and Path(error.filename)
    return f"{error.strerror or error} ({where})" if where else str(error.strerror or error)


def _embed_into(
    store: Store,
    articles: list[Article],
    chunking: ChunkSettings,
    embedder: Embeddings,
    show: bool,
    on_progress: Progress | None,
) -> None:
    """Split, chunk and embed articles in batches, with progress in chunks."""
    prepared = []
    split = tqdm(articles, desc="splitting sentences", unit=" articles", disable=not show)
    for i, article in enumerate(split, start=1):
        sentences = split_sentences(article.text)
        prepared.append((article, sentences, chunk_article(article, sentences, chunking)))
        if on_progress and (i % 20 == 0 or i == len(articles)):
            on_progress("splitting sentences", i, len(articles))
    total = sum(len(chunks) for _, _, chunks in prepared)
    bar = tqdm(total=total, desc="embedding chunks", unit=" chunks", disable=not show)
    done, batch = 0, []
    for i, item in enumerate(prepared):
        batch.append(item)
        size = sum(len(chunks) for _, _, chunks in batch)
        if size >= EMBED_BATCH or i == len(prepared) - 1:
            texts = [embedding_text(a, c) for a, _, chunks in batch for c in chunks]
            vectors = iter(embedder.embed_documents(texts) if texts else [])
            store.add([(a, s, chunks, [next(vectors) for _ in chunks]) for a, s, chunks in batch])
            done += size
            bar.update(size)
            if on_progress:
                on_progress("embedding chunks", done, total)
            batch = []
    bar.close()


def _report(
    index_dir: Path, work: Plan, store: Store, started: float, changed: bool
) -> BuildReport:
    return BuildReport(
        index_dir=str(index_dir),
        added=len(work.todo) - len(work.updated),
        updated=len(work.updated),
        unchanged=work.unchanged,
        removed=len(work.removed),
        skipped=work.skipped.lines(),
        notices=work.notices.lines(),
        articles_by_file=dict(work.by_file),
        articles=store.count("articles"),
        sentences=store.count("sentences"),
        chunks=store.chunks.count(),
        seconds=time.perf_counter() - started,
        changed=changed,
    )


@contextmanager
def _locked(index_dir: Path) -> Iterator[None]:
    """One build at a time per index folder."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = open(index_dir / ".lock", "w")  # noqa: SIM115 - held for the whole build
    except OSError as error:
        raise IndexProblem(f"cannot write the index at {index_dir}: {error.strerror}") from error
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as error:
        handle.close()
        raise IndexProblem(f"another build of {index_dir} is running; try again later") from error
    try:
        yield
    finally:
        handle.close()
