"""rebuild(sources, index_dir) -> BuildReport: the one entry point of the write side."""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.embeddings import Embeddings
from tqdm import tqdm

from index import lexical
from index.chunk import ChunkSettings, chunk_article, embedding_text
from index.embed import DEFAULT_MODEL, default_embedder
from index.load import Article, Skipped, load
from index.sentences import split_sentences
from index.store import (
    FORMAT,
    IndexMismatch,
    IndexProblem,
    Store,
    current_build,
    new_build,
    publish,
    text_hash,
)

DEFAULT_CHUNKING = ChunkSettings()
EMBED_BATCH = 256  # chunks per embedding call: large enough to batch well, small for progress
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class BuildReport:
    """What a rebuild did, article by article."""

    index_dir: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: tuple[Skipped, ...] = ()
    articles: int = 0
    sentences: int = 0
    chunks: int = 0
    seconds: float = 0.0
    changed: bool = False

    def summary(self) -> str:
        """One line of counts, then one line per skipped input."""
        head = (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.removed} removed, {len(self.skipped)} skipped in {self.seconds:.1f}s; "
            f"the index at {self.index_dir} holds {self.articles} articles, "
            f"{self.sentences} sentences, {self.chunks} chunks"
        )
        return "\n".join([head] + [f"skipped {s}" for s in self.skipped])


@dataclass
class _Plan:
    todo: list[Article] = field(default_factory=list)  # to embed (new or changed)
    updated: set[str] = field(default_factory=set)
    unchanged: int = 0
    removed: set[str] = field(default_factory=set)
    skipped: list[Skipped] = field(default_factory=list)


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
    articles whose files under `sources` are gone are removed. The new index becomes visible
    in one atomic step; until then readers see the previous one.
    """
    started = time.perf_counter()
    index_dir = Path(index_dir).expanduser().resolve()
    roots = [Path(s).expanduser().resolve() for s in sources]
    show = sys.stderr.isatty() if progress is None else progress
    with _locked(index_dir):
        base = None if full else current_build(index_dir)
        old = Store(base) if base else None
        try:
            if old is not None:
                check_settings(old.manifest, model, chunking)
            # The index may live inside a source folder (data/index beside data/articles).
            items = (i for i in load(roots) if not _under(Path(i.path), [index_dir]))
            plan = _plan(items, roots, old, show)
        finally:
            if old is not None:
                old.close()
        if base is not None and not plan.todo and not plan.removed:
            store = Store(base)
            try:
                return _report(index_dir, plan, store, started, changed=False)
            finally:
                store.close()
        build = new_build(index_dir, base)
        store = Store(build)
        try:
            store.delete(plan.removed | plan.updated)
            _embed_into(
                store, plan.todo, chunking, embedder or default_embedder(model), show, on_progress
            )
            store.commit()
            lexical.build(store)
            report = _report(index_dir, plan, store, started, changed=True)
            store.write_manifest(
                settings_record(model, chunking)
                | {
                    "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "articles": report.articles,
                    "sentences": report.sentences,
                    "chunks": report.chunks,
                }
            )
        finally:
            store.close()
        publish(index_dir, build)
        return report


_Key = tuple[str, str, str]  # (article id, URL, folded text hash): what makes two articles one
_Twin = tuple[str, str]  # (why, id of the article met first)


class _Twins:
    """Articles by id, URL and folded text, to tell when one is met twice."""

    def __init__(self, by_id: bool = True):
        self.by_id = by_id
        self.ids: set[str] = set()
        self.urls: dict[str, str] = {}
        self.texts: dict[str, str] = {}

    def add(self, key: _Key) -> None:
        article_id, url, th = key
        self.ids.add(article_id)
        if url:
            self.urls.setdefault(url, article_id)
        self.texts.setdefault(th, article_id)

    def twin(self, key: _Key) -> _Twin | None:
        """Why the article with `key` is a copy of one added before, or None."""
        article_id, url, th = key
        if self.by_id and article_id in self.ids:
            return "same id", article_id
        for why, first in (("same URL", self.urls.get(url)), ("same text", self.texts.get(th))):
            if first and first != article_id:
                return why, first
        return None


def _plan(
    items: Iterator[Article | Skipped], sources: list[Path], old: Store | None, show: bool
) -> _Plan:
    """Sort what was read into new, changed, unchanged, removed and skipped."""
    plan = _Plan()
    known = old.catalogue() if old else {}
    indexed, met = _Twins(by_id=False), _Twins()
    for article_id, (_, _, url, th) in known.items():
        indexed.add((article_id, url, th))
    waiting: list[tuple[Article, _Key, _Twin]] = []  # copies of indexed articles that may be gone
    for item in tqdm(items, desc="reading articles", unit=" articles", disable=not show):
        if isinstance(item, Skipped):
            plan.skipped.append(item)
            continue
        key = (item.id, item.url, text_hash(item.text))
        if twin := met.twin(key):
            plan.skipped.append(_duplicate(item, twin))
        elif twin := indexed.twin(key):
            waiting.append((item, key, twin))
        else:
            _accept(plan, met, known, item, key)
    # Indexed articles that were not read again stay only when they live outside the sources.
    untouched = {
        i
        for i, (_, path, _, _) in known.items()
        if i not in met.ids and not _under(Path(path), sources)
    }
    for item, key, twin in waiting:  # a copy of an article that is gone (a renamed file) stays
        again = met.twin(key) or (twin if twin[1] in untouched else None)
        if again:
            plan.skipped.append(_duplicate(item, again))
        else:
            _accept(plan, met, known, item, key)
    plan.removed = {i for i in known if i not in met.ids and i not in untouched}
    return plan


def _accept(
    plan: _Plan, met: _Twins, known: dict[str, tuple[str, str, str, str]], item: Article, key: _Key
) -> None:
    met.add(key)
    if item.id not in known:
        plan.todo.append(item)
    elif known[item.id][0] != item.content_hash:
        plan.todo.append(item)
        plan.updated.add(item.id)
    else:
        plan.unchanged += 1


def _duplicate(item: Article, twin: _Twin) -> Skipped:
    why, first = twin
    return Skipped(item.path, f"duplicate of article {first} ({why})", item.line)


def _under(path: Path, sources: list[Path]) -> bool:
    return any(path == s or s in path.parents for s in sources)


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
    index_dir: Path, plan: _Plan, store: Store, started: float, changed: bool
) -> BuildReport:
    return BuildReport(
        index_dir=str(index_dir),
        added=len(plan.todo) - len(plan.updated),
        updated=len(plan.updated),
        unchanged=plan.unchanged,
        removed=len(plan.removed),
        skipped=tuple(plan.skipped),
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
