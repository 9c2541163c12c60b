"""Uploads that go wrong: a worker killed mid-job, namesakes in one upload, a flood of bad lines."""

from __future__ import annotations

import html
import itertools
import multiprocessing
import os
import random
import re
import signal
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from assistant.chain import Assistant
from assistant.config import Settings
from assistant.ui.handlers import ChatApp, upload_message
from assistant.ui.uploads import ASIDE, STAGING, UploadReport, index_upload, stage
from assistant.ui.worker import Worker
from index.build import rebuild
from index.report import LINES_SHOWN, BuildReport
from index.store import open_index
from tests.shared import SAMPLE

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:gradio.queueing")
NO_PROGRESS = partial(lambda *a, **k: None)
OLD = """---
title: Kestrelwick opens its new library
---
The town of Kestrelwick opened its new library on Saturday. Hundreds of readers came.
"""
OTHER = """---
title: Brambleford ferry returns
---
The Brambleford ferry returned to service on Tuesday. The crossing takes ten minutes.
"""


def no_punctuation(path: Path, size: int) -> Path:
    """A paragraph of made-up words without a full stop: slow to index."""
    rng = random.Random(5)
    words = ("".join(rng.choices("abcdefghijklmnop", k=rng.randint(2, 9))) for _ in range(size))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(" ".join(words)[:size])
    return path


def files_in(folder: Path, files: dict[str, str | bytes]) -> list[str]:
    """Write these files (name -> content) into `folder`; their paths, as a browser gives them."""
    paths = []
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
        paths.append(str(path))
    return paths


def upload(app: ChatApp, folder: Path, files: dict[str, str | bytes]) -> str:
    """Upload these files (or, without any, every file in `folder`) through the page's
    handler; the message shown, as text."""
    paths = files_in(folder, files) if files else [str(p) for p in sorted(folder.iterdir())]
    shown, *_ = app.add_articles(paths, progress=NO_PROGRESS)
    return as_text(shown)


def as_text(shown: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "\n", shown))


def titles(index_dir: Path) -> set[str]:
    index = open_index(index_dir)
    try:
        return {entry.title for entry in index.catalogue().values()}
    finally:
        index.close()


def visible(uploads: Path) -> list[str]:
    return sorted(p.name for p in uploads.iterdir())


# --- a job that dies: its upload is undone by the next job, before it does anything -----------
@pytest.mark.slow
def test_a_worker_killed_mid_upload_costs_that_upload_only(tmp_path: Path, embedder: Any) -> None:
    # kill -9 of the worker while it indexed a new kw.txt: "Nothing was added", yet the new
    # file had replaced the earlier one, and the next upload indexed it and removed the old.
    index_dir = tmp_path / "index"
    rebuild([SAMPLE], index_dir, embedder=embedder, progress=False)
    worker = Worker()
    settings = Settings.from_env(index_dir=index_dir)
    app = ChatApp(settings, Assistant(index_dir, embedder), worker)
    uploads = app.uploads
    try:
        assert "1 added" in upload(app, tmp_path / "first", {"kw.txt": OLD})
        before = titles(index_dir)
        assert "Kestrelwick opens its new library" in before
        pid = worker.run(os.getpid)  # the worker process the next job runs in
        big = no_punctuation(tmp_path / "second" / "kw.txt", 1_000_000)
        shown: list[str] = []
        job = threading.Thread(target=lambda: shown.append(upload(app, big.parent, {})))
        job.start()
        deadline = time.monotonic() + 120
        while not (swapped_in(uploads) and list((uploads / ASIDE).glob("*/kw.txt"))):
            assert time.monotonic() < deadline and job.is_alive(), "the job never swapped"
            time.sleep(0.005)
        os.kill(pid, signal.SIGKILL)  # mid-build: the new file in place, the old one aside
        job.join(timeout=60)
        assert "Nothing was added: the indexing process stopped unexpectedly" in shown[0]
        message = upload(app, tmp_path / "third", {"other.txt": OTHER})
        assert (uploads / "kw.txt").read_text() == OLD  # the earlier file is back
        assert titles(index_dir) == before | {"Brambleford ferry returns"}  # and its article
        assert visible(uploads) == ["kw.txt", "other.txt"]  # no staging or aside folder left
        assert "1 added, 0 updated" in message
        assert "kw.txt: as it was before an earlier upload that stopped unexpectedly" in message
    finally:
        worker.close()


def swapped_in(uploads: Path) -> bool:
    try:
        return (uploads / "kw.txt").stat().st_size > 100_000
    except FileNotFoundError:
        return False


def built(uploads: Path) -> BuildReport:
    """What a build that took one article from every upload would report."""
    return BuildReport(
        "index",
        added=1,
        articles_by_file={str(p.resolve()): 1 for p in uploads.iterdir() if p.is_file()},
    )


def fake_build(uploads: Path, sources: Any, where: Any, on_progress: Any = None) -> BuildReport:
    return built(uploads)


def _dies_at(step: int, staging: Path, uploads: Path) -> None:
    """In a forked process: the upload job, stopped dead (as by kill -9) at its `step`-th move,
    removal or write of a file, or in its build."""
    steps = itertools.count(1)

    def tick() -> None:
        if next(steps) == step:
            os._exit(9)

    for name in ("replace", "unlink", "write_text", "rename"):
        real = getattr(Path, name)

        def counted(self: Path, *args: Any, _real: Any = real, **kwargs: Any) -> Any:
            tick()
            return _real(self, *args, **kwargs)

        setattr(Path, name, counted)

    def build(sources: Any, where: Any, on_progress: Any = None) -> BuildReport:
        tick()
        return built(uploads)

    index_upload(staging, uploads, uploads.parent / "index", build)
    os._exit(0)


def test_a_job_killed_at_any_step_is_undone_by_the_next(tmp_path: Path) -> None:
    fork = multiprocessing.get_context("fork")
    new = files_in(tmp_path / "new", {"kw.txt": OTHER, "new.txt": OTHER.replace("ferry", "bus")})
    other = files_in(tmp_path / "other", {"other.txt": OLD.replace("library", "pool")})
    killed = 0
    for step in itertools.count(1):
        uploads = tmp_path / f"uploads{step}"
        uploads.mkdir()
        (uploads / "kw.txt").write_text(OLD)
        child = fork.Process(target=_dies_at, args=(step, stage(new, uploads), uploads))
        child.start()
        child.join(timeout=60)
        if child.exitcode == 0:  # the job ran to its end: its upload stands
            assert (uploads / "kw.txt").read_text() == OTHER
            assert visible(uploads) == ["kw.txt", "new.txt"]
            break
        assert child.exitcode == 9
        killed += 1
        outcome = index_upload(
            stage(other, uploads), uploads, tmp_path / "index", partial(fake_build, uploads)
        )
        assert (uploads / "kw.txt").read_text() == OLD, f"killed at step {step}"
        assert visible(uploads) == ["kw.txt", "other.txt"], f"killed at step {step}"
        assert set(outcome.undone) <= {"kw.txt", "new.txt"} and outcome.report is not None
    assert killed >= 6  # the journal, two moves aside and in, the build, the end


def test_a_live_job_is_waited_for_never_undone(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "kw.txt").write_text(OLD)
    release = threading.Event()
    building: list[str] = []

    def slow_build(sources: Any, where: Any, on_progress: Any = None) -> BuildReport:
        building.append(threading.current_thread().name)
        assert len(building) == 1 or release.is_set(), "two jobs built at once"
        release.wait(30)
        return built(uploads)

    outcomes: dict[str, UploadReport] = {}

    def job(name: str, files: list[str]) -> None:
        outcomes[name] = index_upload(stage(files, uploads), uploads, tmp_path / "i", slow_build)

    first = threading.Thread(
        target=job, args=("first", files_in(tmp_path / "a", {"kw.txt": OTHER})), name="first"
    )
    second = threading.Thread(
        target=job, args=("second", files_in(tmp_path / "b", {"o.txt": OLD})), name="second"
    )
    first.start()
    while not building:
        time.sleep(0.01)
    second.start()  # another job while the first one builds, its new kw.txt in place
    time.sleep(0.5)
    assert building == ["first"] and second.is_alive()  # it waits for the upload folder
    assert (uploads / "kw.txt").read_text() == OTHER
    release.set()
    first.join(30)
    second.join(30)
    assert building == ["first", "second"]
    assert outcomes["first"].replaced == ("kw.txt",) and outcomes["second"].undone == ()
    assert (uploads / "kw.txt").read_text() == OTHER and visible(uploads) == ["kw.txt", "o.txt"]


# --- namesakes in one upload --------------------------------------------------------------------
def test_files_of_one_name_in_one_upload_are_all_indexed(tmp_path: Path, embedder: Any) -> None:
    # x/same.txt and y/same.txt: "19 added", no note, and one of them never indexed.
    uploads, index_dir = tmp_path / "uploads", tmp_path / "index"
    files = files_in(
        tmp_path / "browser",
        {"x/same.txt": OLD, "y/same.txt": OTHER, "z/same-2.txt": OLD.replace("library", "pool")},
    )
    build = partial(rebuild, embedder=embedder, progress=False)
    outcome = index_upload(stage(files, uploads), uploads, index_dir, build)
    assert outcome.report is not None and outcome.report.added == 3
    assert visible(uploads) == ["same-2.txt", "same-3.txt", "same.txt"]  # same-2.txt was taken
    assert (uploads / "same-3.txt").read_text() == OTHER
    assert outcome.renamed == (("same-3.txt", "same.txt"),)
    message = as_text(upload_message(outcome))
    assert "same-3.txt: renamed from same.txt, as another file in this upload has that name" in (
        message
    )
    assert "3 added" in message
    assert len(titles(index_dir)) == 3


def test_a_number_goes_before_the_type() -> None:
    from assistant.ui.uploads import numbered

    assert numbered("same.txt", 2) == "same-2.txt"
    assert numbered("feed.JSONL.gz", 3) == "feed-3.JSONL.gz"
    assert numbered("upload", 2) == "upload-2"


# --- a flood of bad lines: the chat's report is as short as the command line's ---------------
@pytest.mark.slow
def test_the_report_of_a_hundred_thousand_bad_lines_is_short(tmp_path: Path, embedder: Any) -> None:
    # One <li> a line: a 9.2 MB message, where the command line printed a few lines.
    good = '{"id": "g", "text": "The one good line. It is read."}\n'
    files = files_in(
        tmp_path / "browser",
        {"bad.jsonl": "{oops\n" * 100_000, "feed.jsonl": good + "[1]\n" * 10},
    )
    uploads, index_dir = tmp_path / "uploads", tmp_path / "index"
    build = partial(rebuild, embedder=embedder, progress=False)
    outcome = index_upload(stage(files, uploads), uploads, index_dir, build)
    assert outcome.report is not None and outcome.report.added == 1
    shown = upload_message(outcome)
    assert len(shown) < 5_000
    assert shown.count("<li>") <= 2 * (LINES_SHOWN + 2)
    # Both files are summarised as the command line summarises them.
    cli = rebuild([tmp_path / "browser"], tmp_path / "cli", embedder=embedder, progress=False)
    root = f"{(tmp_path / 'browser').resolve()}/"
    assert [str(s) for s in outcome.skipped] == [str(s).removeprefix(root) for s in cli.skipped]
    assert "skipped bad.jsonl:6: ... and 99,995 more skipped lines up to line 100,000" in (
        as_text(shown)
    )
    assert visible(uploads) == ["feed.jsonl"]
    assert STAGING not in visible(uploads)
