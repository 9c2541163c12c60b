"""Where an index lives: a local folder, or a Chroma server (`chroma run`). A place holds the
segments and the manifest, publishes a new manifest in one step, and removes segments no reader
needs.

In a folder (`--index-dir DIR`):
    DIR/manifest.json              the current manifest
    DIR/segments/<id>/             a Chroma PersistentClient: collections `chunks`, `articles`
On a Chroma server (`--chroma-url URL`): collections `news-<id>-chunks`, `news-<id>-articles`,
and `news-manifest`, whose one record holds the manifest.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

import chromadb
import httpx
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings

from index.embed import cache_root
from index.errors import IndexDamaged, IndexProblem
from index.manifest import Manifest
from index.segments import Segment

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


# What a Chroma server answers when it cannot serve a request (NotFoundError and the like are
# answers about the request, handled where they are expected).
SERVER_TROUBLE = (
    chromadb.errors.InternalError,
    chromadb.errors.RateLimitError,
    chromadb.errors.QuotaError,
    chromadb.errors.ChromaAuthError,
    chromadb.errors.AuthorizationError,
    chromadb.errors.VersionMismatchError,
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
            except SERVER_TROUBLE as error:
                raise IndexProblem(f"the Chroma server at {self._url} answered: {error}") from error
            except Exception as error:
                if type(error) is not Exception:  # chromadb's bare Exception: an HTTP error status
                    raise
                raise IndexProblem(f"the Chroma server at {self._url} answered: {error}") from error
            return _Guarded(result, self._url) if isinstance(result, Collection) else result

        return call


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
        client: Any = None

        def close() -> None:
            with _CLIENTS:
                if client is not None:
                    client.close()
            if hold is not None:
                hold.close()

        try:
            with _CLIENTS:
                client = chromadb.PersistentClient(
                    path=str(folder / "chroma"), settings=_settings()
                )
            return Segment(id, client, on_close=close)
        except BaseException:  # a damaged segment: its lock and client are let go
            close()
            raise

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
