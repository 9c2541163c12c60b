"""Indexing in a worker process, so that one user's upload never holds the server's GIL.

Reading, splitting and chunking are pure Python: in a thread of the server they would share
its one interpreter lock with every answer being written. The worker is one spawned process,
started on the first upload and kept (its embedding model loads once); jobs run one at a time,
and their progress comes back over a queue. A worker that dies (out of memory, killed) is
reported as a failed upload and started again for the next one.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path
from typing import Any

from assistant.ui.uploads import Progress, UploadReport, index_upload

POLL = 0.1  # seconds between looks at the progress queue
_progress: Any = None  # in the worker: the queue progress goes back on


def _listen(progress: Any) -> None:
    global _progress
    _progress = progress


def _relay(stage: str, done: int, total: int) -> None:
    _progress.put((stage, done, total))


def upload_job(
    staging: Path, uploads: Path, index_dir: Path, model: str, cache_dir: Path | None
) -> UploadReport:
    """In the worker: index an upload with the worker's own copy of the embedding model."""
    from index.build import rebuild
    from index.embed import default_embedder

    embedder = default_embedder(model, cache_dir=cache_dir)
    build = partial(rebuild, model=model, embedder=embedder, progress=False)
    return index_upload(staging, uploads, index_dir, build, _relay)


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
                try:
                    stage, done, total = self._queue.get(timeout=POLL)
                except queue.Empty:
                    continue
                if on_progress:
                    on_progress(stage, done, total)
            try:
                return future.result()
            except BrokenProcessPool:
                self._pool = None  # started again for the next job
                raise RuntimeError("the indexing process stopped unexpectedly") from None

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("spawn")  # no copy of the server's threads
            self._queue = context.Queue()
            self._pool = ProcessPoolExecutor(
                1, mp_context=context, initializer=_listen, initargs=(self._queue,)
            )
        return self._pool

    def close(self) -> None:
        """Stop the worker process (a new one starts for the next job)."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None


_worker = Worker()


def shared() -> Worker:
    """The process-wide worker: every app of this process indexes through it."""
    return _worker
