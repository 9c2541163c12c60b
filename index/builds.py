"""Build folders: a new one per build, made current by one atomic switch of a link, then pruned.

A build is written in `builds/<id>.partial`, renamed to `builds/<id>` when complete, and made
current by replacing the `current` link. A kill at any moment leaves `current` whole; what it
leaves behind is removed by the next build (under the build lock). A reader holds a shared lock
on the build it reads (`hold`), in this process or another; pruning leaves such a build alone.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import IO

PARTIAL = ".partial"
READERS = ".readers"  # readers hold a shared lock on this file; pruning wants it exclusive


def hold(build: Path) -> IO[str]:
    """A shared lock on a finished build for as long as the returned file stays open.

    FileNotFoundError when the build is gone (pruned since `current` was read).
    """
    handle = open(Path(build) / READERS, "a")  # noqa: SIM115 - held by the reader
    fcntl.flock(handle, fcntl.LOCK_SH)
    if not (Path(build) / "manifest.json").exists():  # pruned while we waited for the lock
        handle.close()
        raise FileNotFoundError(f"build {build} is gone")
    return handle


def new_build(index_dir: Path, base: Path | None) -> Path:
    """A fresh build folder (a copy of `base` for an incremental build), not yet current."""
    builds = Path(index_dir) / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    path = builds / f"{stamp}-{uuid.uuid4().hex[:6]}{PARTIAL}"
    if base is not None:
        shutil.copytree(base, path)
        (path / "manifest.json").unlink(missing_ok=True)
    else:
        path.mkdir()
    return path


def clear_unfinished(index_dir: Path) -> None:
    """Remove what killed builds left: unfinished build folders and half-made links."""
    builds = Path(index_dir) / "builds"
    for build in builds.glob(f"*{PARTIAL}") if builds.is_dir() else ():
        shutil.rmtree(build, ignore_errors=True)
    for link in Path(index_dir).glob(".current-*"):
        link.unlink(missing_ok=True)


def publish(index_dir: Path, build: Path) -> Path:
    """Make a finished build current in one atomic step and drop builds no reader needs."""
    final = build.with_suffix("")
    previous = linked(index_dir)
    os.replace(build, final)
    link = Path(index_dir) / "current"
    tmp = Path(index_dir) / f".current-{uuid.uuid4().hex[:6]}"
    tmp.symlink_to(Path("builds") / final.name)
    try:
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    _prune(index_dir, keep={final, previous})
    return final


def discard(index_dir: Path, build: Path) -> None:
    """Remove a build that failed, in either of its names, unless it became current."""
    for path in (build, build.with_suffix("")):
        if path.exists() and path != linked(index_dir):
            shutil.rmtree(path, ignore_errors=True)


def linked(index_dir: Path) -> Path | None:
    """The folder the `current` link points to (finished or not), or None."""
    link = Path(index_dir) / "current"
    return link.resolve() if link.is_symlink() else None


def _prune(index_dir: Path, keep: set[Path | None]) -> None:
    """Remove every build but the current one and `keep` (the previous one a reader may hold).

    A build that never became current (a kill between renaming it and switching the link)
    goes too; the one `current` points to never does.
    """
    kept = {path.resolve() for path in keep | {linked(index_dir)} if path is not None}
    for build in (Path(index_dir) / "builds").iterdir():
        if build.resolve() not in kept:
            _remove_unless_held(build)


def _remove_unless_held(build: Path) -> None:
    """Remove a build no reader holds; a held one stays for a later build to remove."""
    try:
        handle = open(build / READERS, "a")  # noqa: SIM115 - closed below
    except OSError:  # not a build folder we can lock: nobody reads it
        shutil.rmtree(build, ignore_errors=True)
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        shutil.rmtree(build, ignore_errors=True)
