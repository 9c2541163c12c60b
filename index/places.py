"""Where an index lives: a local folder, or a Chroma server (`chroma run`). A place holds the
segments and the manifest, publishes a new manifest in one step, and removes segments no reader
needs.

In a folder (`--index-dir DIR`):
    DIR/manifest.json              the current manifest
    DIR/segments/<id>/             a Chroma PersistentClient: collections `chunks`, `articles`
On a Chroma server (`--chroma-url URL`): collections `news-<id>-chunks`, `news-<id>-articles`,
and `news-manifest`, whose record `manifest` holds the manifest and whose `lock-<n>` records are
the builds' lock (`_ServerLock`).

Builds take turns: a second one waits for the first to end (a folder's lock file; a server's lock
records), so a CLI run, an upload and a scheduled update may all start at once and none is lost.
Every request to a server has a deadline (`Settings.chroma_timeout`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as Timeout
from contextlib import contextmanager
from functools import partial
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
DEADLINE = 30.0  # default seconds a Chroma server has to answer one request
Waiting = Callable[[str], None]  # told, once, that a build waits for another


def unreachable(url: str, error: BaseException, deadline: float = DEADLINE) -> IndexProblem:
    """One line for a Chroma server that does not answer."""
    if isinstance(error, httpx.TimeoutException | Timeout):
        why = f"no answer within {deadline:g} s"
    else:
        why = str(error) or type(error).__name__
    return IndexProblem(
        f"the Chroma server at {url} does not answer ({why}): start it (`chroma run --path DIR "
        "--port PORT`) or check --chroma-url / ASSISTANT_CHROMA_URL, then try again"
    )


def damaged(where: str, segment: str, error: BaseException) -> IndexDamaged:
    """One line for a segment of a folder index that cannot be read, with the first error of the
    chain (what Chroma raises last can be an error of its own clean-up)."""
    while error.__context__ is not None:
        error = error.__context__
    why = str(error) or type(error).__name__
    return IndexDamaged(
        f"segment {segment} of the index at {where} cannot be read ({why}): rebuild it with "
        "`assistant index SOURCE --full`"
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


class _Translated:
    """A Chroma client, or a collection it returned, whose errors `translate` says in one line
    (None: an error raised as it is): the one place where a store's errors are translated,
    whoever calls it."""

    def __init__(self, target: Any, translate: Callable[[Exception], Exception | None]):
        self._target = target
        self._translate = translate

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = value(*args, **kwargs)
            except Exception as error:
                said = self._translate(error)
                if said is None:
                    raise
                raise said from error
            if isinstance(result, Collection):
                return _Translated(result, self._translate)
            return result

        return call


def _server_error(url: str, deadline: float, error: Exception) -> Exception | None:
    """A server that cannot be reached or drops the connection (httpx's errors), or cannot serve
    the request; None for answers about the request (NotFoundError and the like)."""
    if isinstance(error, httpx.HTTPError):
        return unreachable(url, error, deadline)
    if isinstance(error, SERVER_TROUBLE) or type(error) is Exception:  # bare: an HTTP status
        return IndexProblem(f"the Chroma server at {url} answered: {error}")
    return None


def _read_error(where: str, segment: str, error: Exception) -> Exception | None:
    """A local segment that cannot be read (a damaged `chroma.sqlite3`, a file it cannot open):
    which segment to rebuild."""
    if isinstance(error, chromadb.errors.ChromaError | sqlite3.Error | OSError):
        return damaged(where, segment, error)
    return None


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
    def building(self, waiting: Waiting, what: str = "build") -> Iterator[None]:
        """One build at a time: wait for any other to end (`waiting` is told once). `what`
        names another lock of the same kind ("feeds": one feed update at a time)."""
        yield

    def document(self, name: str) -> str | None:
        """A small JSON document kept with the index (the feeds it follows), or None."""
        raise NotImplementedError

    def keep_document(self, name: str, text: str) -> None:
        """Replace the document `name` in one step."""
        raise NotImplementedError


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
        self.keep_document("manifest", manifest.to_json())

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
            # Written by this build: its errors are a build's (index/build.py says them).
            reads = client if create else _Translated(client, partial(_read_error, self.name, id))
            return Segment(id, reads, on_close=close)
        except Exception as error:  # a damaged segment: its lock and client are let go
            close()
            if create:
                raise
            # What Chroma raises for a damaged database varies ("database disk image is
            # malformed"; an AttributeError from its own clean-up after that): the segment
            # cannot be opened, whatever the error.
            raise damaged(self.name, id, error) from error
        except BaseException:
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

    def document(self, name: str) -> str | None:
        try:
            return (self.path / f"{name}.json").read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def keep_document(self, name: str, text: str) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / f".{name}-{uuid.uuid4().hex[:6]}"
        try:
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, self.path / f"{name}.json")
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    @contextmanager
    def building(self, waiting: Waiting, what: str = "build") -> Iterator[None]:
        lock_file = self.path / (".lock" if what == "build" else f".{what}.lock")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            handle = open(lock_file, "w")  # noqa: SIM115 - held for the whole build
        except OSError as error:
            raise IndexProblem(
                f"cannot write the index at {self.path}: {error.strerror}"
            ) from error
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # the kernel lets go of a killed build's lock
                waiting(_waiting_for(what, self.name))
                fcntl.flock(handle, fcntl.LOCK_EX)
        except BaseException:
            handle.close()
            raise
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

    def __init__(self, url: str, cache_dir: Path | None = None, deadline: float = DEADLINE):
        try:
            parsed = urlparse(url if "://" in url else f"http://{url}")
            port = parsed.port or (443 if parsed.scheme == "https" else 8000)
        except ValueError as error:  # e.g. a port past 65535
            raise IndexProblem(f"not a Chroma server URL: {url!r} ({error})") from error
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise IndexProblem(f"not a Chroma server URL: {url!r} (like http://localhost:8000)")
        self.name = url
        self.deadline = deadline
        # BM25 is kept on this machine: the server has no place for it.
        url_key = hashlib.sha256(url.encode()).hexdigest()[:16]
        self.bm25_dir = Path(cache_dir or cache_root()).expanduser() / "bm25" / url_key
        base = f"{parsed.scheme}://{parsed.hostname}:{port}"
        _check_chroma(url, base, deadline)
        client = _client(url, parsed, port, deadline)
        self.client: Any = _Translated(client, partial(_server_error, url, deadline))
        self._state = f"{SERVER_NAME}-manifest"
        self._lock: _ServerLock | None = None  # held while this place builds

    def manifest(self) -> Manifest | None:
        text = self.document("manifest")
        return Manifest.from_json(text, self.name) if text is not None else None

    def publish(self, manifest: Manifest) -> None:
        if self._lock is not None:
            self._lock.confirm()
        self.keep_document("manifest", manifest.to_json())

    def _state_collection(self) -> Any:
        return self.client.get_or_create_collection(self._state, embedding_function=None)

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
        # One never made (a segment of an older layout has no stories), or dropped: fine.
        for what in ("chunks", "articles", "stories"):
            with contextlib.suppress(chromadb.errors.NotFoundError):
                self.client.delete_collection(f"{SERVER_NAME}-{id}-{what}")

    def document(self, name: str) -> str | None:
        try:
            state = self.client.get_collection(self._state, embedding_function=None)
        except chromadb.errors.NotFoundError:
            return None
        got = state.get(ids=[name], include=["documents"])
        return str(got["documents"][0]) if got["ids"] else None

    def keep_document(self, name: str, text: str) -> None:
        self._state_collection().upsert(ids=[name], embeddings=[[0.0]], documents=[text])

    @contextmanager
    def building(self, waiting: Waiting, what: str = "build") -> Iterator[None]:
        lock = _ServerLock(self._state_collection(), self.name, what)
        lock.acquire(waiting)
        if what == "build":
            self._lock = lock
        try:
            yield
        except Exception:
            lock.confirm()  # the failure of a build overtaken (its segment dropped) says so
            raise
        finally:
            self._lock = None
            lock.release()


def _check_chroma(url: str, base: str, deadline: float) -> None:
    """Whether a Chroma server answers at `base` within the deadline: one line if not (nothing
    there, a server that never answers, a web server that is not Chroma)."""
    try:
        answer = httpx.get(f"{base}/api/v2/heartbeat", timeout=deadline)
    except httpx.HTTPError as error:
        raise unreachable(url, error, deadline) from error
    try:
        ok = answer.status_code == 200 and "nanosecond heartbeat" in answer.json()
    except ValueError:
        ok = False
    if not ok:
        kind = answer.headers.get("content-type", "no content type").split(";")[0]
        raise IndexProblem(
            f"{url} is not a Chroma server (its heartbeat answered HTTP {answer.status_code}, "
            f"{kind}): check --chroma-url / ASSISTANT_CHROMA_URL"
        )


def _client(url: str, parsed: Any, port: int, deadline: float) -> Any:
    """A Chroma HttpClient whose every request has `deadline` seconds to be answered.

    Chroma's client has no timeout setting: it builds its httpx session with none (chromadb
    1.5.9, api/fastapi.py), and asks the server twice while it is made. So it is made in a
    thread given the deadline, and its session is then given one.
    """

    def make() -> Any:
        return chromadb.HttpClient(
            host=parsed.hostname, port=port, ssl=parsed.scheme == "https", settings=_settings()
        )

    pool = ThreadPoolExecutor(1, thread_name_prefix="chroma-connect")
    try:
        client = pool.submit(make).result(timeout=deadline)
    except (Timeout, httpx.HTTPError) as error:
        raise unreachable(url, error, deadline) from error
    except ValueError as error:  # how the client says its first request failed
        raise unreachable(url, error, deadline) from error
    finally:
        pool.shutdown(wait=False)
    session = client._server._session  # noqa: SLF001 - no public way (see above)
    assert isinstance(session, httpx.Client), "chromadb's HTTP client changed: see _client"
    session.timeout = httpx.Timeout(deadline)
    return client


LEASE = 30.0  # seconds a server's lock may go without a heartbeat before a waiting build takes it
HEARTBEAT = 3.0  # seconds between a holder's heartbeats
POLL = 0.5  # seconds between a waiting build's looks at the lock


class _ServerLock:
    """One build at a time on a Chroma server, across processes and machines.

    The lock is a sequence of records `lock-<n>` in the state collection; the newest says who
    holds it and whether it is held. Every change (take, heartbeat, release, take-over) adds
    record n+1, and Chroma keeps the first record added under an id and ignores later adds of it
    (checked with six processes racing for 60 ids: every one agreed on one winner), so of two
    builds adding the same n+1 exactly one wins; each reads the newest record back to learn which.
    The holder adds a record every HEARTBEAT seconds; a build killed (kill -9, a machine lost)
    stops doing so, and a waiting build takes the lock over once the newest record has not
    changed for LEASE seconds of its own clock (no clocks are compared), or at once when the
    holder was a process of this machine that is gone.
    """

    def __init__(self, state: Any, name: str, what: str = "build"):
        self._state, self._name, self._what = state, name, what
        # the build's records: `lock-<n>` with metadata "lock"; another lock's: `<what>-lock-<n>`
        self._key = "lock" if what == "build" else f"{what}_lock"
        self._prefix = "lock-" if what == "build" else f"{what}-lock-"
        self._me = {"owner": uuid.uuid4().hex, "host": socket.gethostname(), "pid": os.getpid()}
        self._n = 0  # the newest record this build added while holding the lock
        self._lost = False
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self._guard = threading.Lock()  # the heartbeat and release add records one at a time

    def _newest(self) -> tuple[int, dict[str, Any]]:
        got = self._state.get(where={self._key: {"$gte": 0}}, include=["metadatas"])
        if not got["ids"]:
            return 0, {"held": False}
        meta = max(got["metadatas"], key=lambda m: int(m[self._key]))
        return int(meta[self._key]), meta

    def _add(self, n: int, held: bool) -> bool:
        """Add record n; whether it is ours and the newest."""
        meta = {self._key: n, "held": held, **self._me}
        self._state.add(ids=[f"{self._prefix}{n}"], embeddings=[[0.0]], metadatas=[meta])
        newest, got = self._newest()
        return newest == n and got.get("owner") == self._me["owner"]

    def acquire(self, waiting: Waiting) -> None:
        seen: tuple[int, str] | None = None
        since = time.monotonic()
        told = False
        while True:
            n, meta = self._newest()
            if (n, str(meta.get("owner"))) != seen:
                seen, since = (n, str(meta.get("owner"))), time.monotonic()
            stale = time.monotonic() - since > LEASE or _gone(meta)
            if (not meta["held"] or stale) and self._add(n + 1, True):
                self._n = n + 1
                break
            if not told:
                waiting(_waiting_for(self._what, self._name))
                told = True
            time.sleep(POLL)
        self._beat = threading.Thread(target=self._heartbeat, daemon=True, name="lock-heartbeat")
        self._beat.start()

    def _heartbeat(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(HEARTBEAT):
            with self._guard:
                try:
                    if not self._add(self._n + 1, True):
                        self._lost = True
                        return
                    self._n += 1
                    last = time.monotonic()
                    self._state.delete(ids=[f"{self._prefix}{self._n - 3}"])  # the last few stay
                except IndexProblem:  # the server did not answer: try again, within the lease
                    if time.monotonic() - last > LEASE:
                        self._lost = True
                        return

    def confirm(self) -> None:
        """Raise unless this build still holds the lock (checked before it publishes)."""
        n, meta = self._newest()
        if self._lost or meta.get("owner") != self._me["owner"] or not meta["held"]:
            self._lost = True
            raise IndexProblem(
                f"another build took over the index at {self._name} while this one was not "
                f"heard from for {LEASE:g} s; nothing of this build was published: run it again"
            )

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        with self._guard:
            if not self._lost:
                self._add(self._n + 1, False)


def _waiting_for(what: str, name: str) -> str:
    kind = "build" if what == "build" else f"{what} update"
    return f"waiting for another {kind} of {name} to finish"


def _gone(meta: dict[str, Any]) -> bool:
    """Whether a lock record's holder was a process of this machine that has ended."""
    if meta.get("host") != socket.gethostname() or not meta.get("pid"):
        return False
    try:
        os.kill(int(meta["pid"]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def place(
    index_dir: Path | str,
    chroma_url: str = "",
    cache_dir: Path | None = None,
    deadline: float = DEADLINE,
) -> Place:
    """The index at a Chroma server when `chroma_url` is given (its BM25 kept in `cache_dir`,
    `deadline` seconds for each request), else in `index_dir`."""
    return Server(chroma_url, cache_dir, deadline) if chroma_url else Folder(Path(index_dir))
