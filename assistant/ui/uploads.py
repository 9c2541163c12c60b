"""Uploaded files: saved beside the index and indexed, never leaving a bad file behind.

A file is first copied into a hidden staging folder, which indexing never reads, and read there:
a file no article can be taken from is dropped at once, and an earlier upload of the same name
stays. The others then take their place in the upload folder; an earlier file they replace is
kept aside until the index is built, and put back if the build fails or takes nothing from the
new file. So a failed upload never poisons the next one, nor replaces a good article.

`index_upload` runs in a worker process (`assistant.ui.worker`): the server only copies files.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from index.article import Article, Notice, Skipped
from index.load import load_file
from index.places import Place
from index.report import BuildReport

STAGING = ".incoming"  # hidden: `index.load` skips hidden folders
ASIDE = ".replaced"
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


@dataclass
class _Job:
    uploads: Path
    aside: Path
    good: list[str] = field(default_factory=list)  # names of the files that hold articles
    skipped: list[Skipped] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

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
        )


def safe_name(name: str) -> str:
    """A plain file name for an upload (no folders, no hidden files)."""
    clean = re.sub(r"[^\w.-]+", "_", Path(name).name).lstrip("._")[:120]
    return clean or "upload"


def stage(files: Iterable[str], uploads: Path) -> Path:
    """Copy the uploaded files into a new staging folder under `uploads`; that folder."""
    staging = uploads / STAGING / uuid.uuid4().hex
    staging.mkdir(parents=True)
    for file in files:
        shutil.copyfile(file, staging / safe_name(file))
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
    job = _Job(uploads, uploads / ASIDE / staging.name)
    try:
        for file in sorted(staging.iterdir()):
            _check(job, file)
        if not job.good:
            return job.result(None)
        _swap_in(job, staging)
        try:
            report = build([uploads], where, on_progress=on_progress)
        except Exception as error:  # the index is left as it was: so are the files
            _roll_back(job, list(job.good))
            return job.result(None, error=str(error) or type(error).__name__)
        job.note(report)
        failed = [name for name in job.good if _nothing_taken(job, report, name)]
        if _roll_back(job, failed):  # their earlier articles may be gone: index them again
            report = build([uploads], where, on_progress=on_progress)
        return job.result(report)
    finally:
        for folder in (staging, job.aside):
            shutil.rmtree(folder, ignore_errors=True)
            with contextlib.suppress(OSError):  # another upload may be using it
                folder.parent.rmdir()


def _check(job: _Job, file: Path) -> None:
    """Read a staged file: count its articles, or note why none can be taken and drop it."""
    items = list(load_file(file))
    if any(isinstance(item, Article) for item in items):
        job.good.append(file.name)
        return
    job.skipped += [replace(s, path=file.name) for s in items if isinstance(s, Skipped)]
    if (job.uploads / file.name).exists():
        job.kept.append(file.name)
    file.unlink()


def _swap_in(job: _Job, staging: Path) -> None:
    for name in job.good:
        target = job.uploads / name
        if target.exists():
            job.aside.mkdir(parents=True, exist_ok=True)
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
