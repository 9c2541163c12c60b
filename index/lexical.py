"""BM25 (bm25s) over the chunks of an index, kept on local disk beside it.

Chroma's own sparse index is refused by chromadb 1.5.9 both in a PersistentClient and by
`chroma run` ("Sparse vector indexing is not enabled in local"), so BM25 is ours. Reading and
tokenizing every chunk costs ~50 s at 113k chunks, so nothing is done twice: a segment never
changes, so its tokenized rows are saved once (`rows/<segment>.npz`), and the BM25 index of a
manifest's segments once (`<key>/`, the key a hash of its segments and what they remove). A
process opening an index whose BM25 is saved maps it from disk in milliseconds. The build saves
them before publishing; a reader that finds none (a new machine reading a Chroma server) makes
and saves them, reading only the segments it has no rows of.

Where: `DIR/bm25/` for a folder index; for a Chroma server, the local cache folder
(`ASSISTANT_CACHE_DIR/bm25/<hash of the URL>/`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bm25s
import numpy as np
import Stemmer

from index.embed import write_atomically

if TYPE_CHECKING:
    from index.manifest import Manifest
    from index.segments import Segment
    from index.store import Index

WORD = re.compile(r"(?u)\b\w\w+\b")  # a word, as bm25s tokenises (its default pattern)
_STOPWORDS = frozenset(bm25s.stopwords.STOPWORDS_EN)
LAYOUT = 1  # bumped when the saved files change shape: older ones are made again

_local = threading.local()


def _stemmer() -> Any:
    """This thread's stemmer: a PyStemmer object must not be shared between threads."""
    if not hasattr(_local, "stemmer"):
        _local.stemmer = Stemmer.Stemmer("english")
    return _local.stemmer


def tokenize(texts: list[str]) -> Any:
    """Lower-cased, stemmed word tokens without English stop words."""
    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=False)


@lru_cache(maxsize=8192)  # the same sentences come back for related questions
def _terms(text: str) -> frozenset[str]:
    """The stemmed terms of one text, as BM25 sees them."""
    words = [w for w in WORD.findall(text.lower()) if w not in _STOPWORDS]
    return frozenset(_stemmer().stemWords(words))


@dataclass(frozen=True)
class Lexical:
    """A BM25 index and the chunk ids, articles, dates and sources its rows stand for."""

    bm25: Any
    ids: list[str]
    published_ts: np.ndarray
    sources: list[str]
    article_ids: list[str]

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Top `k` chunk ids with BM25 scores (> 0), optionally only where `mask` is 1."""
        if not self.ids:
            return []
        tokens = tokenize([query])
        if not tokens.vocab:
            return []
        docs, scores = self.bm25.retrieve(
            tokens, k=min(k, len(self.ids)), show_progress=False, weight_mask=mask, n_threads=1
        )
        return [(self.ids[d], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def overlap(self, query: str, texts: list[str]) -> np.ndarray:
        """Share of the query's IDF weight whose terms occur in each text (0..1)."""
        if self.bm25 is None or not texts:
            return np.zeros(len(texts))
        vocab = self.bm25.vocab_dict
        terms = {t for t in _terms(query) if t in vocab}
        if not terms:
            return np.zeros(len(texts))
        indptr = self.bm25.scores["indptr"]
        total = len(self.ids)
        df = {t: indptr[vocab[t] + 1] - indptr[vocab[t]] for t in terms}
        idf = {t: float(np.log(1 + (total - df[t] + 0.5) / (df[t] + 0.5))) for t in terms}
        weight = sum(idf.values()) or 1.0
        return np.array([sum(idf[t] for t in terms & _terms(x)) / weight for x in texts])

    def mask(self, since: int = 0, until: int = 0, sources: frozenset[str] = frozenset()) -> Any:
        """1 for chunks inside the date range (YYYYMMDD ints, 0 = open) and sources."""
        keep = np.ones(len(self.ids), dtype=np.float32)
        if since:
            keep *= self.published_ts >= since
        if until:
            keep *= (self.published_ts <= until) & (self.published_ts > 0)
        if sources:
            keep *= np.array([s in sources for s in self.sources], dtype=np.float32)
        return keep


@dataclass(frozen=True)
class Rows:
    """The chunks of one segment as BM25 needs them: their terms, dates and sources."""

    ids: list[str]
    article_ids: list[str]
    published_ts: list[int]
    sources: list[str]
    terms: list[list[str]]


def rows(chunks: Iterable[tuple[str, str, dict[str, Any]]]) -> Rows:
    """Rows of (id, text, metadata) chunks, their title and text tokenized."""
    got = Rows([], [], [], [], [])
    texts = []
    for chunk_id, text, meta in chunks:
        got.ids.append(chunk_id)
        got.article_ids.append(str(meta["article_id"]))
        got.published_ts.append(int(meta["published_ts"]))
        got.sources.append(str(meta["source"]))
        texts.append(f"{meta['title']}\n{text}")
    if texts:
        got.terms.extend(
            bm25s.tokenize(
                texts, stopwords="en", stemmer=_stemmer(), show_progress=False, return_ids=False
            )
        )
    return got


def build_lexical(parts: Iterable[tuple[Rows, frozenset[str]]]) -> Lexical:
    """One BM25 index over the rows of several segments, without their `dropped` articles."""
    ids: list[str] = []
    articles: list[str] = []
    published: list[int] = []
    sources: list[str] = []
    terms: list[list[str]] = []
    for part, dropped in parts:
        for i, article_id in enumerate(part.article_ids):
            if article_id not in dropped:
                ids.append(part.ids[i])
                articles.append(article_id)
                published.append(part.published_ts[i])
                sources.append(part.sources[i])
                terms.append(part.terms[i])
    bm25 = None
    if ids:
        bm25 = bm25s.BM25()
        bm25.index(terms, show_progress=False)
    return Lexical(bm25, ids, np.array(published, dtype=np.int64), sources, articles)


def open_lexical(index: Index) -> Lexical:
    """The BM25 of `index`: loaded from its folder when saved, else made and saved."""
    folder = index.place.bm25_dir / _key(index.manifest)
    if folder.is_dir():  # saved whole: a folder is renamed into place only once written
        try:
            return _load(folder)
        except (OSError, ValueError, KeyError):  # a damaged save: made again below
            shutil.rmtree(folder, ignore_errors=True)
    parts = (
        (_segment_rows(index.place.bm25_dir, segment), dropped)
        for segment, dropped in zip(index.segments, index.dropped, strict=True)
    )
    lexical = build_lexical(parts)
    _save(lexical, folder)
    return lexical


def prune(bm25_dir: Path, manifests: Iterable[Manifest | None], older_than: float = 0) -> None:
    """Remove saved BM25 files that no reader of these manifests needs, and what killed saves
    left (a reader that mapped a removed file keeps reading it: it lives on until closed).
    With `older_than` (seconds), only what has not changed for that long: another process may
    be saving a newer manifest's."""
    listed = [m for m in manifests if m is not None]
    segments = set().union(*(m.kept() for m in listed))
    keep = {_key(m) for m in listed} | {_rows_name(i) for i in segments} | {"rows"}
    rows_dir = bm25_dir / "rows"
    found = [*(bm25_dir.iterdir() if bm25_dir.is_dir() else ())]
    found += [*(rows_dir.iterdir() if rows_dir.is_dir() else ())]
    for path in found:
        try:
            if path.name in keep or time.time() - path.stat().st_mtime < older_than:
                continue
        except FileNotFoundError:  # removed meanwhile (another build's prune)
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _key(manifest: Manifest) -> str:
    """What a manifest's BM25 depends on (its segments and what each removes), and LAYOUT."""
    return f"{manifest.key()}-{LAYOUT}"


def _rows_name(segment_id: str) -> str:
    """A segment's saved rows, named with LAYOUT: rows tokenized another way are not read."""
    return f"{segment_id}-{LAYOUT}.npz"


def _segment_rows(bm25_dir: Path, segment: Segment) -> Rows:
    """A segment's rows: from its saved file, else read from Chroma, tokenized and saved."""
    file = bm25_dir / "rows" / _rows_name(segment.id)
    if file.is_file():
        try:
            with np.load(file) as saved:
                return _rows_from(saved)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):  # damaged: made again below
            file.unlink(missing_ok=True)
    got = rows(segment.all(segment.chunks, documents=True))
    _save_rows(got, file)
    return got


def _rows_from(saved: Any) -> Rows:
    vocab = saved["vocab"].tolist()
    tokens, ends = saved["tokens"].tolist(), saved["ends"].tolist()
    terms, start = [], 0
    for end in ends:
        terms.append([vocab[t] for t in tokens[start:end]])
        start = end
    return Rows(
        saved["ids"].tolist(),
        saved["article_ids"].tolist(),
        saved["published_ts"].tolist(),
        saved["sources"].tolist(),
        terms,
    )


def _save_rows(got: Rows, file: Path) -> None:
    vocab: dict[str, int] = {}
    tokens = [vocab.setdefault(t, len(vocab)) for terms in got.terms for t in terms]
    arrays: dict[str, Any] = {
        "ids": np.array(got.ids, dtype=str),
        "article_ids": np.array(got.article_ids, dtype=str),
        "published_ts": np.array(got.published_ts, dtype=np.int64),
        "sources": np.array(got.sources, dtype=str),
        "vocab": np.array(list(vocab), dtype=str),
        "tokens": np.array(tokens, dtype=np.int32),
        "ends": np.cumsum([len(t) for t in got.terms], dtype=np.int64),
    }

    def write(tmp: Path) -> None:
        with tmp.open("wb") as out:  # a file object: np.savez adds no ".npz" to its name
            np.savez(out, **arrays)

    _best_effort(file, lambda: write_atomically(file, write))


def _save(lexical: Lexical, folder: Path) -> None:
    def save() -> None:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            if lexical.bm25 is not None:
                lexical.bm25.save(str(tmp), show_progress=False)
            np.save(tmp / "published_ts.npy", lexical.published_ts)
            meta = [lexical.ids, lexical.article_ids, lexical.sources]
            (tmp / "rows.json").write_text(json.dumps(meta))
            os.rename(tmp, folder)  # fails if another process saved it first: theirs is kept
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    _best_effort(folder, save)


def _load(folder: Path) -> Lexical:
    ids, article_ids, sources = json.loads((folder / "rows.json").read_text())
    bm25 = bm25s.BM25.load(str(folder), mmap=True, show_progress=False) if ids else None
    published = np.load(folder / "published_ts.npy")
    if not len(ids) == len(article_ids) == len(sources) == len(published):
        raise ValueError(f"saved BM25 rows of different lengths in {folder}")
    return Lexical(bm25, ids, published, sources, article_ids)


def _best_effort(target: Path, save: Callable[[], None]) -> None:
    """Saves are a cache: a reader that cannot write here goes on with what it made in memory."""
    try:
        save()
    except OSError as error:
        logging.getLogger(__name__).warning("BM25 not saved to %s: %s", target, error)
