"""The index on disk: Chroma (chunks, vectors) and SQLite (articles, sentences), swapped atomically.

Layout of an index folder:
    current -> builds/<id>          symlink, replaced atomically when a build is complete
    builds/<id>/manifest.json       embedding model, chunk settings, counts, build time
    builds/<id>/articles.sqlite3    articles (full text, metadata, hashes) and sentence offsets
    builds/<id>/chroma/             Chroma PersistentClient: one record per chunk
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import chromadb
from chromadb.config import Settings as ChromaSettings

from index.chunk import Chunk
from index.load import Article
from index.sentences import Sentence

FORMAT = 1
COLLECTION = "chunks"
CHUNK_PAGE = 5000  # chunks read from Chroma in one call
_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, title TEXT, url TEXT, published TEXT, source TEXT, path TEXT,
    content_hash TEXT, text_hash TEXT, text TEXT);
CREATE TABLE IF NOT EXISTS sentences (
    article_id TEXT, n INTEGER, start INTEGER, "end" INTEGER, PRIMARY KEY (article_id, n));
CREATE INDEX IF NOT EXISTS articles_url ON articles (url);
CREATE INDEX IF NOT EXISTS articles_text_hash ON articles (text_hash);
"""


class IndexProblem(Exception):
    """The index cannot be used as asked; the message says what to do."""


class IndexMissing(IndexProblem):
    """No index has been built at this location yet."""


class IndexMismatch(IndexProblem):
    """The index was built with other embedding or chunk settings."""


class Entry(NamedTuple):
    """One article of the catalogue."""

    content_hash: str
    path: str
    url: str
    text_hash: str
    title: str


def published_number(iso: str) -> int:
    """YYYY-MM-DD -> YYYYMMDD as an int (0 when unknown), for range filters in Chroma."""
    return int(iso.replace("-", "")) if iso else 0


def text_hash(text: str) -> str:
    """Hash of an article's text with white space folded, to spot the same text twice."""
    import hashlib

    return hashlib.sha256(" ".join(text.split()).lower().encode()).hexdigest()


# Chroma shares one system per folder between clients and stops it when the last client closes,
# but getting the system and counting the new client are two steps: a client closed by another
# thread in between stopped the system under the new client ("'RustBindingsAPI' object has no
# attribute 'bindings'" while a rebuild and answers ran at once). Opening and closing one at a
# time closes that gap.
_CLIENTS = threading.Lock()


def chroma_client(path: Path) -> Any:
    """A PersistentClient with telemetry off."""
    with _CLIENTS:
        return chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
        )


# An article, its sentences, its chunks and their vectors, ready to store.
Embedded = tuple[Article, Sequence[Sentence], Sequence[Chunk], Sequence[Sequence[float]]]


class Store:
    """One build of the index: read it, or (while building) write it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.db = sqlite3.connect(self.path / "articles.sqlite3", check_same_thread=False)
        self.db.executescript(_SCHEMA)
        self._client = chroma_client(self.path / "chroma")
        self.chunks = self._client.get_or_create_collection(
            COLLECTION, embedding_function=None, metadata={"hnsw:space": "cosine"}
        )

    @property
    def manifest(self) -> dict[str, Any]:
        """What the build recorded about itself ({} while it is being written)."""
        file = self.path / "manifest.json"
        return json.loads(file.read_text()) if file.exists() else {}

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Record the build's settings and counts (last step of a build)."""
        tmp = self.path / "manifest.json.tmp"
        tmp.write_text(json.dumps(manifest, indent=2))
        os.replace(tmp, self.path / "manifest.json")

    # --- reading -------------------------------------------------------------------------
    def article(self, article_id: str) -> Article | None:
        """The full article, or None."""
        row = self.db.execute(
            "SELECT id, title, text, url, published, source, path FROM articles WHERE id = ?",
            (article_id,),
        ).fetchone()
        return Article(*row) if row else None

    def sentences(self, article_id: str) -> list[Sentence]:
        """The sentences of an article, in order."""
        rows = self.db.execute(
            'SELECT n, start, "end" FROM sentences WHERE article_id = ? ORDER BY n', (article_id,)
        )
        return [Sentence(*row) for row in rows]

    def catalogue(self) -> dict[str, Entry]:
        """id -> what a rebuild compares of every article (hashes, file, URL, title)."""
        rows = self.db.execute("SELECT id, content_hash, path, url, text_hash, title FROM articles")
        return {row[0]: Entry(*row[1:]) for row in rows}

    def all_chunks(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(id, text, metadata) of every chunk, read a page at a time.

        One `get()` of a whole collection fails past ~32,000 chunks (SQLite's variable limit).
        """
        offset = 0
        while True:
            got = self.chunks.get(
                include=["documents", "metadatas"], limit=CHUNK_PAGE, offset=offset
            )
            yield from zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True)
            if len(got["ids"]) < CHUNK_PAGE:
                return
            offset += CHUNK_PAGE

    def count(self, table: str) -> int:
        """Rows in `articles` or `sentences`."""
        assert table in ("articles", "sentences")
        return int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def sources(self) -> list[str]:
        """The distinct `source` values, for filters."""
        rows = self.db.execute("SELECT DISTINCT source FROM articles WHERE source != ''")
        return sorted(row[0] for row in rows)

    # --- writing -------------------------------------------------------------------------
    def add(self, batch: Sequence[Embedded]) -> None:
        """Store articles with their sentences and embedded chunks (one Chroma call a batch)."""
        self.db.executemany(
            "INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    a.id,
                    a.title,
                    a.url,
                    a.published,
                    a.source,
                    a.path,
                    a.content_hash,
                    text_hash(a.text),
                    a.text,
                )
                for a, _, _, _ in batch
            ],
        )
        self.db.executemany(
            "INSERT OR REPLACE INTO sentences VALUES (?, ?, ?, ?)",
            [(a.id, s.n, s.start, s.end) for a, sentences, _, _ in batch for s in sentences],
        )
        chunks = [(a, c, v) for a, _, cs, vs in batch for c, v in zip(cs, vs, strict=True)]
        if chunks:
            self.chunks.upsert(
                ids=[c.id for _, c, _ in chunks],
                embeddings=[list(v) for _, _, v in chunks],
                documents=[c.text for _, c, _ in chunks],
                metadatas=[_chunk_metadata(a, c) for a, c, _ in chunks],
            )

    def delete(self, article_ids: Iterable[str]) -> None:
        """Remove articles with their sentences and chunks."""
        ids = list(article_ids)
        for article_id in ids:
            self.chunks.delete(where={"article_id": article_id})
            self.db.execute("DELETE FROM sentences WHERE article_id = ?", (article_id,))
            self.db.execute("DELETE FROM articles WHERE id = ?", (article_id,))

    def commit(self) -> None:
        """Flush SQLite."""
        self.db.commit()

    def close(self) -> None:
        """Release the files: this store's own Chroma system, not other stores' (refcounted)."""
        self.db.close()
        with _CLIENTS:
            self._client.close()


def _chunk_metadata(article: Article, chunk: Chunk) -> dict[str, Any]:
    return {
        "article_id": article.id,
        "chunk": chunk.n,
        "title": article.title,
        "url": article.url,
        "published": article.published,
        "published_ts": published_number(article.published),
        "source": article.source,
        "sentence_ids": [s.n for s in chunk.sentences],
        "starts": [s.start for s in chunk.sentences],
        "ends": [s.end for s in chunk.sentences],
    }


# --- build folders and the atomic swap ---------------------------------------------------
def current_build(index_dir: Path) -> Path | None:
    """The folder the `current` link points to, or None if nothing was built."""
    link = Path(index_dir) / "current"
    if not link.is_symlink():
        return None
    target = link.resolve()
    return target if (target / "manifest.json").exists() else None


def open_index(index_dir: Path) -> Store:
    """The current build for reading; a clear error when there is none."""
    return Store(require_build(index_dir))


def require_build(index_dir: Path) -> Path:
    """The current build folder, or an error that says how to build one."""
    build = current_build(index_dir)
    if build is None:
        raise IndexMissing(
            f"no index at {index_dir}: build one with `assistant index SOURCE --index-dir "
            f"{index_dir}` (or `make run` for the sample articles)"
        )
    return build
