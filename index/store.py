"""The index: segments of articles and chunks in Chroma, listed by one manifest swapped atomically.

A full build writes one segment. An update writes a segment of just the new and changed
articles, and the manifest lists with it the ids of the articles it replaces or removes in older
segments ("removes"). A segment never changes once written, so an update costs what it adds and
readers need no lock against writers; the manifest is replaced in one step. A kill at any moment
leaves the previous manifest, whose segments are all still there.

In a folder (`--index-dir DIR`):
    DIR/manifest.json              the current manifest
    DIR/segments/<id>/             a Chroma PersistentClient: collections `chunks`, `articles`
On a Chroma server (`--chroma-url URL`, `chroma run`): collections `news-<id>-chunks`,
`news-<id>-articles`, and `news-manifest`, whose one record holds the manifest.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import IO, Any, NamedTuple, TypeVar
from urllib.parse import urlparse

import chromadb
import httpx
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings

from index.chunk import Chunk
from index.embed import cache_root
from index.errors import IndexDamaged, IndexMissing, IndexProblem
from index.load import Article
from index.manifest import Manifest
from index.sentences import Sentence

PAGE = 5000  # records read from Chroma in one call (one `get()` of more fails past ~32,000)
SERVER_NAME = "news"  # prefix of this index's collections on a Chroma server
PARTIAL = ".partial"  # a local segment folder still being written
READERS = ".readers"  # readers hold a shared lock on this file of a local segment


def unreachable(url: str, error: BaseException) -> IndexProblem:
    """One line for a Chroma server that does not answer."""
    why = str(error) or type(error).__name__
    return IndexProblem(
        f"the Chroma server at {url} does not answer ({why}): start it (`chroma run --path DIR "
        "--port PORT`) or check --chroma-url / ASSISTANT_CHROMA_URL, then try again"
    )


class _Guarded:
    """A Chroma client, or a collection it returned, whose calls raise `IndexProblem` when the
    server cannot be reached or drops the connection (httpx's errors): the one place where an
    unreachable store is translated, whoever calls it."""

    def __init__(self, target: Any, url: str):
        self._target = target
        self._url = url

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = value(*args, **kwargs)
            except httpx.HTTPError as error:
                raise unreachable(self._url, error) from error
            return _Guarded(result, self._url) if isinstance(result, Collection) else result

        return call


class Entry(NamedTuple):
    """One article of the catalogue."""

    content_hash: str
    path: str
    url: str
    text_hash: str
    title: str
    sentences: int
    chunks: int


def published_number(iso: str) -> int:
    """YYYY-MM-DD -> YYYYMMDD as an int (0 when unknown), for range filters in Chroma."""
    return int(iso.replace("-", "")) if iso else 0


def text_hash(text: str) -> str:
    """Hash of an article's text with white space folded, to spot the same text twice."""
    import hashlib

    return hashlib.sha256(" ".join(text.split()).lower().encode()).hexdigest()


def new_segment_id() -> str:
    """A segment id that sorts by time."""
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"


# Chroma shares one system per folder between clients and stops it when the last client closes,
# but getting the system and counting the new client are two steps: a client closed by another
# thread in between stopped the system under the new client ("'RustBindingsAPI' object has no
# attribute 'bindings'" while a rebuild and answers ran at once). Opening and closing one at a
# time closes that gap.
_CLIENTS = threading.Lock()


def _settings() -> ChromaSettings:
    """Telemetry off; a new object for every client, as clients write their own into it (an
    HttpClient given the same object as a PersistentClient made the latter talk to the server)."""
    return ChromaSettings(anonymized_telemetry=False)


# An article, its sentences, its chunks and their vectors, ready to store.
Embedded = tuple[Article, Sequence[Sentence], Sequence[Chunk], Sequence[Sequence[float]]]


class Segment:
    """One segment: its articles (texts, sentence offsets) and its chunks (vectors)."""

    def __init__(self, id: str, client: Any, prefix: str = "", on_close: Any = None):
        self.id = id
        self._client = client
        self._on_close = on_close
        self.chunks = client.get_or_create_collection(
            f"{prefix}chunks", embedding_function=None, metadata={"hnsw:space": "cosine"}
        )
        # Articles are looked up by id only; Chroma wants a vector per record: one number.
        self.articles = client.get_or_create_collection(
            f"{prefix}articles", embedding_function=None
        )

    def add(self, batch: Sequence[Embedded]) -> None:
        """Store articles with their sentences and embedded chunks."""
        if not batch:
            return
        self.articles.upsert(
            ids=[a.id for a, _, _, _ in batch],
            embeddings=[[0.0] for _ in batch],
            documents=[a.text for a, _, _, _ in batch],
            metadatas=[_article_metadata(a, s, len(c)) for a, s, c, _ in batch],
        )
        chunks = [(a, c, v) for a, _, cs, vs in batch for c, v in zip(cs, vs, strict=True)]
        if chunks:
            self.chunks.upsert(
                ids=[c.id for _, c, _ in chunks],
                embeddings=[list(v) for _, _, v in chunks],
                documents=[c.text for _, c, _ in chunks],
                metadatas=[_chunk_metadata(a, c) for a, c, _ in chunks],
            )

    def all(self, collection: Any, documents: bool) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(id, document or "", metadata) of every record of `collection`, a page at a time."""
        include = ["documents", "metadatas"] if documents else ["metadatas"]
        offset = 0
        while True:
            got = collection.get(include=include, limit=PAGE, offset=offset)
            docs = got["documents"] if documents else [""] * len(got["ids"])
            yield from zip(got["ids"], docs, got["metadatas"], strict=True)
            if len(got["ids"]) < PAGE:
                return
            offset += PAGE

    def close(self) -> None:
        """Release this segment's client (local: its files and its reader's lock)."""
        if self._on_close is not None:
            self._on_close()


def _article_metadata(article: Article, sentences: Sequence[Sentence], chunks: int) -> dict:
    return {
        "title": article.title,
        "url": article.url,
        "published": article.published,
        "source": article.source,
        "path": article.path,
        "content_hash": article.content_hash,
        "text_hash": text_hash(article.text),
        "sentences": json.dumps([[s.start, s.end] for s in sentences]),
        "chunks": chunks,
    }


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


class Place:
    """Where an index lives: a folder, or a Chroma server. Segments and the manifest."""

    name: str  # shown in messages and reports
    bm25_dir: Path  # where readers and builds keep its BM25 (index/lexical.py)

    def manifest(self) -> Manifest | None:
        """The current manifest, or None when nothing was built (IndexDamaged when it cannot be
        read, IndexMismatch when it is of another format)."""
        raise NotImplementedError

    def publish(self, manifest: Manifest) -> None:
        """Make `manifest` current in one step."""
        raise NotImplementedError

    def segment(self, id: str, create: bool = False) -> Segment:
        """Open a segment (FileNotFoundError when it is gone); `create` makes a new one."""
        raise NotImplementedError

    def finish(self, id: str) -> None:
        """A new segment is complete (written and closed)."""

    def segment_ids(self) -> set[str]:
        """Every segment present, finished or not."""
        raise NotImplementedError

    def drop(self, id: str) -> None:
        """Remove a segment no manifest being read lists (a held local one stays)."""
        raise NotImplementedError

    @contextmanager
    def building(self) -> Iterator[None]:
        """One build at a time."""
        yield


class Folder(Place):
    """An index in a local folder."""

    def __init__(self, path: Path):
        self.path = Path(path).expanduser().resolve()
        self.name = str(self.path)
        self.bm25_dir = self.path / "bm25"

    def manifest(self) -> Manifest | None:
        file = self.path / "manifest.json"
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            raise IndexDamaged(
                f"cannot read the manifest of the index at {self.name} ({error}): "
                "rebuild it with `assistant index SOURCE --full`"
            ) from error
        return Manifest.from_json(text, self.name)

    def publish(self, manifest: Manifest) -> None:
        tmp = self.path / f".manifest-{uuid.uuid4().hex[:6]}"
        try:
            tmp.write_text(manifest.to_json())
            os.replace(tmp, self.path / "manifest.json")
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def segment(self, id: str, create: bool = False) -> Segment:
        folder = self.path / "segments" / (id + PARTIAL if create else id)
        if create:
            folder.mkdir(parents=True)
            hold = None
        else:
            hold = _hold(folder)
        with _CLIENTS:
            client: Any = chromadb.PersistentClient(
                path=str(folder / "chroma"), settings=_settings()
            )

        def close() -> None:
            with _CLIENTS:
                client.close()
            if hold is not None:
                hold.close()

        return Segment(id, client, on_close=close)

    def finish(self, id: str) -> None:
        os.replace(self.path / "segments" / (id + PARTIAL), self.path / "segments" / id)

    def segment_ids(self) -> set[str]:
        folder = self.path / "segments"
        names = (p.name for p in folder.iterdir()) if folder.is_dir() else ()
        return {n.removesuffix(PARTIAL) for n in names}

    def drop(self, id: str) -> None:
        for folder in (self.path / "segments" / id, self.path / "segments" / (id + PARTIAL)):
            if folder.exists():
                _remove_unless_held(folder)

    @contextmanager
    def building(self) -> Iterator[None]:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            handle = open(self.path / ".lock", "w")  # noqa: SIM115 - held for the whole build
        except OSError as error:
            raise IndexProblem(
                f"cannot write the index at {self.path}: {error.strerror}"
            ) from error
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            handle.close()
            raise IndexProblem(
                f"another build of {self.path} is running; try again later"
            ) from error
        try:
            for tmp in self.path.glob(".manifest-*"):  # what a killed build left
                tmp.unlink()
            yield
        finally:
            handle.close()


def _hold(folder: Path) -> IO[str]:
    """A shared lock on a finished segment for as long as the file stays open.

    FileNotFoundError when the segment is gone (dropped since the manifest was read).
    """
    if not folder.is_dir():
        raise FileNotFoundError(f"segment {folder} is gone")
    handle = open(folder / READERS, "a")  # noqa: SIM115 - held by the reader
    fcntl.flock(handle, fcntl.LOCK_SH)
    if not (folder / "chroma").is_dir():  # removed while we waited for the lock
        handle.close()
        raise FileNotFoundError(f"segment {folder} is gone")
    return handle


def _remove_unless_held(folder: Path) -> None:
    """Remove a segment folder no reader holds; a held one stays for a later build to remove."""
    try:
        handle = open(folder / READERS, "a")  # noqa: SIM115 - closed below
    except OSError:  # a folder we cannot lock (a half-made one): nobody reads it
        shutil.rmtree(folder, ignore_errors=True)
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        shutil.rmtree(folder, ignore_errors=True)


class Server(Place):
    """An index on a Chroma server (`chroma run`): everything lives in its collections."""

    def __init__(self, url: str, cache_dir: Path | None = None):
        parsed = urlparse(url if "://" in url else f"http://{url}")
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise IndexProblem(f"not a Chroma server URL: {url!r} (like http://localhost:8000)")
        self.name = url
        # BM25 is kept on this machine: the server has no place for it.
        url_key = hashlib.sha256(url.encode()).hexdigest()[:16]
        self.bm25_dir = Path(cache_dir or cache_root()).expanduser() / "bm25" / url_key
        port = parsed.port or (443 if parsed.scheme == "https" else 8000)
        try:
            client = chromadb.HttpClient(
                host=parsed.hostname, port=port, ssl=parsed.scheme == "https", settings=_settings()
            )
        except ValueError as error:  # how the client says its first request failed
            raise unreachable(url, error) from error
        self.client: Any = _Guarded(client, url)
        self._state = f"{SERVER_NAME}-manifest"

    def manifest(self) -> Manifest | None:
        try:
            state = self.client.get_collection(self._state, embedding_function=None)
        except chromadb.errors.NotFoundError:
            return None
        got = state.get(ids=["manifest"], include=["documents"])
        return Manifest.from_json(got["documents"][0], self.name) if got["ids"] else None

    def publish(self, manifest: Manifest) -> None:
        state = self.client.get_or_create_collection(self._state, embedding_function=None)
        state.upsert(ids=["manifest"], embeddings=[[0.0]], documents=[manifest.to_json()])

    def segment(self, id: str, create: bool = False) -> Segment:
        prefix = f"{SERVER_NAME}-{id}-"
        if not create:
            try:
                self.client.get_collection(f"{prefix}chunks", embedding_function=None)
            except chromadb.errors.NotFoundError as error:
                raise FileNotFoundError(f"segment {id} is gone") from error
        return Segment(id, self.client, prefix=prefix)

    def segment_ids(self) -> set[str]:
        names = (c.name for c in self.client.list_collections())
        prefix = f"{SERVER_NAME}-"
        return {
            n.removeprefix(prefix).rsplit("-", 1)[0]
            for n in names
            if n.startswith(prefix) and n != self._state
        }

    def drop(self, id: str) -> None:
        for what in ("chunks", "articles"):  # one never made, or dropped already, is fine
            with contextlib.suppress(chromadb.errors.NotFoundError):
                self.client.delete_collection(f"{SERVER_NAME}-{id}-{what}")


def place(index_dir: Path | str, chroma_url: str = "", cache_dir: Path | None = None) -> Place:
    """The index at a Chroma server when `chroma_url` is given (its BM25 kept in `cache_dir`),
    else in `index_dir`."""
    return Server(chroma_url, cache_dir) if chroma_url else Folder(Path(index_dir))


T = TypeVar("T")


@cache
def _segment_pool() -> ThreadPoolExecutor:
    """Threads that query the segments of an index at once (one pool per process)."""
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="segments")


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
                    entries[article_id] = _entry(meta)
        return entries

    def chunks_by_id(self, ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """id -> (text, metadata) of live chunks."""

        def get(segment: Segment, dropped: frozenset[str]) -> list[tuple[str, str, Any]]:
            got = segment.chunks.get(ids=ids, include=["documents", "metadatas"])
            rows = zip(got["ids"], got["documents"], got["metadatas"], strict=True)
            return [row for row in rows if row[2]["article_id"] not in dropped]

        found: dict[str, tuple[str, dict[str, Any]]] = {}
        for rows in self._each(get):
            found.update((cid, (doc, meta)) for cid, doc, meta in rows)
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


def _entry(meta: dict[str, Any]) -> Entry:
    return Entry(
        str(meta["content_hash"]),
        str(meta["path"]),
        str(meta["url"]),
        str(meta["text_hash"]),
        str(meta["title"]),
        len(json.loads(str(meta["sentences"]))),
        int(meta["chunks"]),
    )


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
        return Index(where, current(where))
