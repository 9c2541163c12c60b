"""Uploaded files: saved beside the index and indexed, never leaving a bad file behind.

A file is first copied into a hidden staging folder, which indexing never reads, and read there:
a file no article can be taken from is dropped at once, and an earlier upload of the same name
stays. The others then take their place in the upload folder; an earlier file they replace is
kept aside until the index is built, and put back if the build fails or takes nothing from the
new file. So a failed upload never poisons the next one, nor replaces a good article.

A job killed at any moment (kill -9, out of memory) costs its own upload only. Each job holds a
lock on the upload folder from start to end, and writes down what it will swap in before it
moves a file; the next job, under the same lock, undoes what a job that died left: the earlier
files are put back, its new ones removed, its folders cleared, and the index built again from
the files as they were. The kernel drops a lock with its process, so a job that holds the lock
is alive, even in another process, and is never undone.

`index_upload` runs in a worker process (`assistant.ui.worker`): the server only copies files.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from index.article import Article, Notice, Skipped
from index.load import load_file
from index.places import Place
from index.report import BuildReport, Lines

STAGING = ".incoming"  # hidden: `index.load` skips hidden folders
ASIDE = ".replaced"  # a folder per job: the earlier files it replaced, and its JOURNAL
JOURNAL = ".swapped"  # {name: whether it replaces an earlier file}; gone once the job stands
RENAMED = ".renamed"  # in a staging folder: {name saved: the file's own name} of namesakes
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class UploadReport:
    """What an upload did. Paths in `skipped` and `notices` are the files' names."""

    report: BuildReport | None = None  # None when the index was not rebuilt
    skipped: tuple[Skipped, ...] = ()
    notices: tuple[Notice, ...] = ()  # e.g. which earlier articles a file's articles replaced
    replaced: tuple[str, ...] = ()  # names whose earlier file the new one replaced
    kept: tuple[str, ...] = ()  # names whose earlier file stays, as the new one failed
    error: str = ""  # why the index could not be built
    renamed: tuple[tuple[str, str], ...] = ()  # (name saved, own name) of a file's namesakes
    undone: tuple[str, ...] = ()  # names an earlier upload that died had changed, as before it


@dataclass
class _Job:
    uploads: Path
    aside: Path
    good: list[str] = field(default_factory=list)  # names of the files that hold articles
    skipped: list[Skipped] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    undone: list[str] = field(default_factory=list)

    def path(self, name: str) -> str:
        return str((self.uploads / name).resolve())

    def note(self, report: BuildReport) -> None:
        """Keep what the build skipped of this upload's files, by name."""
        ours = {self.path(name): name for name in self.good}
        self.skipped += [replace(s, path=ours[s.path]) for s in report.skipped if s.path in ours]

    def result(self, report: BuildReport | None, error: str = "") -> UploadReport:
        ours = {self.path(name): name for name in self.good}
        notices = (
            [replace(n, path=ours[n.path]) for n in report.notices if n.path in ours]
            if report
            else []
        )
        return UploadReport(
            report,
            tuple(self.skipped),
            tuple(notices),
            tuple(self.replaced),
            tuple(self.kept),
            error,
            tuple(self.renamed.items()),
            tuple(self.undone),
        )


def safe_name(name: str) -> str:
    """A plain file name for an upload (no folders, no hidden files)."""
    clean = re.sub(r"[^\w.-]+", "_", Path(name).name).lstrip("._")[:120]
    return clean or "upload"


def numbered(name: str, n: int) -> str:
    """`name` with a number before its type: same.txt -> same-2.txt, a.jsonl.gz -> a-2.jsonl.gz."""
    gz = name.lower().endswith(".jsonl.gz")
    cut = len(name) - (len(".jsonl.gz") if gz else len(Path(name).suffix))
    return f"{name[:cut]}-{n}{name[cut:]}"


def stage(files: Iterable[str], uploads: Path) -> Path:
    """Copy the uploaded files into a new staging folder under `uploads`; that folder.

    Files of one name (x/same.txt, y/same.txt) are all kept: the second is saved as same-2.txt
    (a number no other file of the upload has), and the upload's report says so.
    """
    staging = uploads / STAGING / uuid.uuid4().hex
    staging.mkdir(parents=True)
    files = list(files)
    wanted = [safe_name(file) for file in files]
    taken: set[str] = set()
    renamed: dict[str, str] = {}
    for file, name in zip(files, wanted, strict=True):
        saved, n = name, 1
        while saved in taken or (saved != name and saved in wanted):
            n += 1
            saved = numbered(name, n)
        taken.add(saved)
        if saved != name:
            renamed[saved] = name
        shutil.copyfile(file, staging / saved)
    if renamed:
        (staging / RENAMED).write_text(json.dumps(renamed), encoding="utf-8")
    return staging


def index_upload(
    staging: Path,
    uploads: Path,
    where: Place | Path,
    build: Callable[..., BuildReport],
    on_progress: Progress | None = None,
) -> UploadReport:
    """Move the staged files that hold articles into `uploads` and index that folder.

    `build(sources, where, on_progress=...)` is `index.build.rebuild` with the model bound.
    """
    with _locked(uploads):
        job = _Job(uploads, uploads / ASIDE / staging.name, undone=_undo_dead_jobs(uploads))
        job.aside.mkdir(parents=True)  # the job has begun: should it die, the next undoes it
        done = False
        try:
            job.renamed = _renamed(staging)
            outcome = _run(job, staging, where, build, on_progress)
            done = True
            return outcome
        finally:
            if done:
                (job.aside / JOURNAL).unlink(missing_ok=True)  # from here on the upload stands
            else:  # an unexpected error: undone as if the job had died
                _undo(uploads, job.aside)
            _clear(staging, job.aside)


def _run(
    job: _Job,
    staging: Path,
    where: Place | Path,
    build: Callable[..., BuildReport],
    on_progress: Progress | None,
) -> UploadReport:
    for file in sorted(staging.iterdir()):
        if not file.name.startswith("."):  # the staging folder's own notes
            _check(job, file)
    if not job.good and not job.undone:  # nothing to add, and the index is as the files are
        return job.result(None)
    _swap_in(job, staging)
    try:
        report = build([job.uploads], where, on_progress=on_progress)
    except Exception as error:  # the index is left as it was: so are the files
        _roll_back(job, list(job.good))
        return job.result(None, error=str(error) or type(error).__name__)
    job.note(report)
    failed = [name for name in job.good if _nothing_taken(job, report, name)]
    if _roll_back(job, failed):  # their earlier articles may be gone: index them again
        report = build([job.uploads], where, on_progress=on_progress)
    return job.result(report)


@contextlib.contextmanager
def _locked(uploads: Path) -> Iterator[None]:
    """Hold the upload folder for one job: a job in another process waits (flock on the folder
    itself, so that no lock file is left in it; the kernel releases it when a process dies)."""
    uploads.mkdir(parents=True, exist_ok=True)
    handle = os.open(uploads, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def _undo_dead_jobs(uploads: Path) -> list[str]:
    """Undo what jobs that died left behind; the names whose file it changed back. Called under
    the lock, so every job folder found is a dead job's."""
    undone: list[str] = []
    folders = (uploads / ASIDE).iterdir() if (uploads / ASIDE).is_dir() else iter(())
    for aside in sorted(folders):
        undone += [name for name in _undo(uploads, aside) if name not in undone]
        _clear(uploads / STAGING / aside.name, aside)
    return undone


def _undo(uploads: Path, aside: Path) -> list[str]:
    """Put back the earlier files a job replaced and remove the new files it added, as its
    JOURNAL lists them; the names changed back. Any step of the job may have been its last."""
    try:
        swapped = json.loads((aside / JOURNAL).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # no journal: the job had moved nothing
        return []
    changed = []
    for name, had_earlier in swapped.items():
        if safe_name(name) != name:  # not a name an upload is saved under
            continue
        target, earlier = uploads / name, aside / name
        if had_earlier and earlier.is_file():  # else the earlier file never left, or is back
            earlier.replace(target)
            changed.append(name)
        elif not had_earlier and target.is_file():
            target.unlink()
            changed.append(name)
    return changed


def _clear(staging: Path, aside: Path) -> None:
    for folder in (staging, aside):
        shutil.rmtree(folder, ignore_errors=True)
        with contextlib.suppress(OSError):  # another upload may be using it
            folder.parent.rmdir()


def _renamed(staging: Path) -> dict[str, str]:
    try:
        return dict(json.loads((staging / RENAMED).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return {}


def _check(job: _Job, file: Path) -> None:
    """Read a staged file: keep it at its first article, or note why none can be taken (as many
    lines as a build's report lists, `index.report.Lines`) and drop it."""
    skipped: Lines[Skipped] = Lines(Skipped, "skipped line")
    with contextlib.closing(load_file(file)) as items:
        for item in items:
            if isinstance(item, Article):
                job.good.append(file.name)
                return
            skipped.add(replace(item, path=file.name))
    job.skipped += skipped.lines()
    if (job.uploads / file.name).exists():
        job.kept.append(file.name)
    file.unlink()


def _swap_in(job: _Job, staging: Path) -> None:
    swaps = {name: (job.uploads / name).exists() for name in job.good}
    written = job.aside / f"{JOURNAL}.new"
    written.write_text(json.dumps(swaps), encoding="utf-8")
    written.replace(job.aside / JOURNAL)  # whole or absent, and there before any file moves
    for name in job.good:
        target = job.uploads / name
        if swaps[name]:
            target.replace(job.aside / name)
            job.replaced.append(name)
        (staging / name).replace(target)


def _nothing_taken(job: _Job, report: BuildReport, name: str) -> bool:
    """Whether the build took no article from an uploaded file (e.g. all copies of others)."""
    return not report.articles_by_file.get(job.path(name))


def _roll_back(job: _Job, names: Sequence[str]) -> list[str]:
    """Remove these new files and put back the earlier ones they replaced; those names."""
    restored = []
    for name in names:
        (job.uploads / name).unlink(missing_ok=True)
        job.good.remove(name)
        if name in job.replaced:
            (job.aside / name).replace(job.uploads / name)
            job.replaced.remove(name)
            job.kept.append(name)
            restored.append(name)
    return restored
