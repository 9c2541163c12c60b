"""Uploads and feed updates are indexed in a worker process, so that indexing (or a feed or
page that makes a parser crash) can never take the chat down.

A file that makes indexing crash, or eat the machine's memory, costs the worker, not the server
and every conversation in it: the next upload starts a new worker, and its job first undoes
what the dead one had begun (`assistant.ui.uploads`), so a crash costs that upload only. It is
not for the GIL: measured with bench/load.py (16 clients asking during a 300 KB upload), answers
waited as long with the upload in a server thread (`InThread`) as in the worker, as embedding
releases the GIL and sentence splitting is linear. The worker is one spawned process, started on
the first upload and kept (its embedding model loads once); jobs run one at a time (an upload,
following a feed, an update, removing a feed: never two at once in one app), their progress
comes back over a queue, and it ends itself when the server ends, even by kill -9.

A job's errors come back as text in its outcome, not as exceptions: an exception crosses the
process boundary pickled, and one whose `__init__` takes other arguments (FetchError) cannot be
unpickled on this side.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import Settings
from assistant.ui.uploads import Progress, UploadReport, index_upload
from index.errors import NewsAssistantError

if TYPE_CHECKING:
    from index.feedlist import FeedState
    from index.report import BuildReport
    from index.update import UpdateReport

POLL = 0.1  # seconds between looks at the progress queue
PARENT_POLL = 1.0  # seconds between the worker's looks at whether the server still runs
_progress: Any = None  # in the worker: the queue progress goes back on


def _listen(progress: Any, server: int) -> None:
    """The worker's start: keep the progress queue, and end with the server."""
    global _progress
    _progress = progress
    threading.Thread(target=_end_with, args=(server,), daemon=True).start()


def _end_with(server: int) -> None:
    """A server stopped by a signal runs no clean-up: its worker must notice and end itself."""
    while os.getppid() == server:
        time.sleep(PARENT_POLL)
    os._exit(0)


def _relay(stage: str, done: int, total: int) -> None:
    _progress.put((stage, done, total))


def upload_job(
    staging: Path, settings: Settings, on_progress: Progress | None = None
) -> UploadReport:
    """Index an upload into `settings.uploads_dir` and the index of `settings.place()`, with this
    process's copy of the embedding model. In the worker process, progress goes back over the
    worker's queue."""
    from index.build import rebuild

    where = settings.place()
    embedder = settings.chunk_embedder(where)
    build = partial(rebuild, embedder=embedder, progress=False)
    relay = on_progress or (_relay if _progress is not None else None)
    return index_upload(staging, settings.uploads_dir, where, build, relay)


@dataclass(frozen=True)
class FeedOutcome:
    """What a feed job did, or why it could not (`error`, one line)."""

    error: str = ""
    update: UpdateReport | None = None  # update_job's report
    feed: FeedState | None = None  # the feed follow_job added
    build: BuildReport | None = None  # unfollow_job's build (None: it had no articles)


def update_job(
    settings: Settings,
    allow_private: bool,
    everything: bool = False,
    on_progress: Progress | None = None,
) -> FeedOutcome:
    """`assistant update` (`everything`: `--all`): fetch the feeds that are due into the index
    of `settings.place()`, with this process's copy of the embedding model."""
    from index.fetch import Fetcher
    from index.update import update

    relay = on_progress or (_relay if _progress is not None else None)
    try:
        where = settings.place()
        with Fetcher(allow_private=allow_private) as fetcher:
            report = update(
                where,
                settings.feeds_dir,
                settings.chunk_embedder(where),
                fetcher,
                everything=everything,
                progress=False,
                on_progress=relay,
            )
    except NewsAssistantError as error:
        return FeedOutcome(error=str(error))
    return FeedOutcome(update=report)


def follow_job(
    settings: Settings, url: str, allow_private: bool, on_progress: Progress | None = None
) -> FeedOutcome:
    """`assistant feeds add URL`: the feed is fetched once to check it; named after its title."""
    from index.fetch import Fetcher
    from index.update import add_feed

    try:
        with Fetcher(allow_private=allow_private) as fetcher:
            return FeedOutcome(feed=add_feed(settings.place(), url, "", fetcher))
    except NewsAssistantError as error:
        return FeedOutcome(error=str(error))


def unfollow_job(settings: Settings, name: str, on_progress: Progress | None = None) -> FeedOutcome:
    """`assistant feeds remove NAME`: its articles leave the index."""
    from index.update import remove_feed

    try:
        where = settings.place()
        embedder = settings.chunk_embedder(where)
        return FeedOutcome(build=remove_feed(where, name, settings.feeds_dir, embedder, keep=False))
    except NewsAssistantError as error:
        return FeedOutcome(error=str(error))


class Worker:
    """One worker process for index jobs, started when first needed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # one job at a time: builds of one index are serial anyway
        self._pool: ProcessPoolExecutor | None = None
        self._queue: Any = None

    def run(self, job: Callable[..., Any], *args: Any, on_progress: Progress | None = None) -> Any:
        """`job(*args)` in the worker process; its progress reported here as it comes."""
        with self._lock:
            pool = self._start()
            future = pool.submit(job, *args)
            while not future.done():
                self._relay(on_progress)
                time.sleep(POLL)
            self._relay(on_progress)  # what came just before the result
            try:
                return future.result()
            except BrokenProcessPool:
                self._pool = None  # started again for the next job
                raise RuntimeError("the indexing process stopped unexpectedly") from None

    def _relay(self, on_progress: Progress | None) -> None:
        # A SimpleQueue's put is written before it returns: all of a job's progress is here
        # once its result is.
        while not self._queue.empty():
            stage, done, total = self._queue.get()
            if on_progress:
                on_progress(stage, done, total)

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("spawn")  # no copy of the server's threads
            self._queue = context.SimpleQueue()
            self._pool = ProcessPoolExecutor(
                1, mp_context=context, initializer=_listen, initargs=(self._queue, os.getpid())
            )
        return self._pool

    def close(self) -> None:
        """Stop the worker process (a new one starts for the next job)."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None


class InThread:
    """Index jobs in the calling thread, one at a time (bench/load.py compares it with Worker)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def run(self, job: Callable[..., Any], *args: Any, on_progress: Progress | None = None) -> Any:
        """`job(*args, on_progress=on_progress)` here."""
        with self._lock:
            return job(*args, on_progress=on_progress)

    def close(self) -> None:
        """Nothing to stop."""


_worker = Worker()


def shared() -> Worker:
    """The process-wide worker: every app of this process indexes through it."""
    return _worker
