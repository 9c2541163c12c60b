"""The work a JSONL file costs is bounded by its lines, not only its bytes."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from functools import partial
from io import BufferedIOBase
from pathlib import Path
from typing import Any

import pytest

import index.jsonl as jsonl_module
from assistant.ui.uploads import index_upload, stage
from index.build import rebuild
from index.jsonl import MAX_BAD_LINES, MAX_LINES
from index.load import Article, Skipped, load_file
from index.report import LINES_SHOWN

ARTICLE = {"id": "real", "title": "Kestrelwick library", "text": "The library opened. Many came."}
BAD_STOP = f"{MAX_BAD_LINES:,} lines hold no article, the limit for a JSONL file: fix them, or"


def ones(path: Path, lines: int = 5_242_880) -> Path:
    """One article, then `lines` lines of `1`: 10 MB of lines in 10 KB of gzip."""
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(json.dumps(ARTICLE).encode() + b"\n")
        out.write(b"1\n" * lines)
    return path


@pytest.fixture()
def bounded(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Reading a line past the bounds raises; the lines read, by call (read: one per file)."""
    real = jsonl_module._lines
    counts: list[int] = []
    most = min(MAX_LINES, MAX_BAD_LINES + 1) + 1  # the article, the bad lines, one past them

    def counted(stream: BufferedIOBase) -> Iterator[tuple[int, bytes | int]]:
        counts.append(0)
        for line in real(stream):
            counts[-1] += 1
            if counts[-1] > most:
                raise AssertionError(f"read past line {most:,}")
            yield line

    monkeypatch.setattr(jsonl_module, "_lines", counted)
    return counts


def test_a_tiny_gzip_of_five_million_lines_is_read_within_bounds(
    tmp_path: Path, bounded: list[int]
) -> None:
    # 10 KB of gzip cost 89 s and 1 GB in the worker (5,242,880 lines of `1`), every upload.
    path = ones(tmp_path / "ones.jsonl.gz")
    assert path.stat().st_size < 20_000
    items = list(load_file(path))
    assert [a.id for a in items if isinstance(a, Article)] == ["real"]
    skipped = [s for s in items if isinstance(s, Skipped)]
    assert len(skipped) == MAX_BAD_LINES + 1  # each bad line read, then where reading stopped
    assert str(skipped[-1]) == f"{path}: not read past line {MAX_BAD_LINES + 1:,}: " + (
        f"{MAX_BAD_LINES:,} lines hold no article, the limit for a JSONL file: fix them, "
        "or split the file"
    )
    assert bounded == [MAX_BAD_LINES + 2]


@pytest.mark.slow
def test_uploading_it_indexes_the_article_and_reports_a_few_lines(
    tmp_path: Path, embedder: Any, bounded: list[int]
) -> None:
    files = [str(ones(tmp_path / "ones.jsonl.gz"))]
    uploads, index_dir = tmp_path / "uploads", tmp_path / "index"
    build = partial(rebuild, embedder=embedder, progress=False)
    outcome = index_upload(stage(files, uploads), uploads, index_dir, build)
    assert outcome.report is not None and outcome.report.added == 1  # the real article
    lines = [str(s) for s in outcome.skipped]
    assert len(lines) == LINES_SHOWN + 2  # a few examples, how many more, where it stopped
    assert lines[LINES_SHOWN] == (
        f"ones.jsonl.gz:7: ... and {MAX_BAD_LINES - LINES_SHOWN:,} more skipped lines up to "
        f"line {MAX_BAD_LINES + 1:,} (expected a JSON object with a 'text' field: "
        f"{MAX_BAD_LINES - LINES_SHOWN:,})"
    )
    assert BAD_STOP in lines[-1]
    # While the file stays, a later upload reads it within the same bounds, and keeps it.
    (tmp_path / "later.txt").write_text("A later article. It is short.")
    later = index_upload(stage([str(tmp_path / "later.txt")], uploads), uploads, index_dir, build)
    assert later.report is not None and later.report.added == 1 and later.report.unchanged == 1
    assert max(bounded) == MAX_BAD_LINES + 2


def jsonl_lines(records: int, blank: int = 0) -> str:
    good = [
        json.dumps({"id": f"a{n}", "text": f"Article {n} is here. It has text."})
        for n in range(records)
    ]
    return "\n".join(good + [""] * blank) + "\n"


def test_a_file_is_read_up_to_max_lines_blank_ones_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonl_module, "MAX_LINES", 20)
    path = tmp_path / "feed.jsonl"
    path.write_text(jsonl_lines(30))
    items = list(load_file(path))
    assert [a.id for a in items if isinstance(a, Article)] == [f"a{n}" for n in range(20)]
    assert [str(s) for s in items if isinstance(s, Skipped)] == [
        f"{path}: not read past line 20, the limit for a JSONL file: split it into smaller files"
    ]
    blank = tmp_path / "blank.jsonl"
    blank.write_text(jsonl_lines(1, blank=100))
    assert [str(s) for s in load_file(blank) if isinstance(s, Skipped)] == [
        f"{blank}: not read past line 20, the limit for a JSONL file: split it into smaller files"
    ]


def test_the_bound_on_bad_lines_is_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonl_module, "MAX_BAD_LINES", 10)
    article = json.dumps(ARTICLE)
    at_bound = tmp_path / "ten.jsonl"
    at_bound.write_text("[]\n" * 10 + article + "\n")
    assert [type(i).__name__ for i in load_file(at_bound)] == ["Skipped"] * 10 + ["Article"]
    past = tmp_path / "eleven.jsonl"
    past.write_text("[]\n" * 11 + article + "\n")
    reasons = [s.reason for s in load_file(past) if isinstance(s, Skipped)]
    assert len(reasons) == 12 and reasons[-2:] == [
        "not read past line 10: 10 lines hold no article, the limit for a JSONL file: "
        "fix them, or split the file",
        "no article in it could be read",
    ]


def test_articles_past_the_bound_stay_indexed(
    tmp_path: Path, embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, index_dir = tmp_path / "src", tmp_path / "index"
    src.mkdir()
    (src / "feed.jsonl").write_text(jsonl_lines(30))
    assert rebuild([src], index_dir, embedder=embedder, progress=False).added == 30
    monkeypatch.setattr(jsonl_module, "MAX_LINES", 20)
    report = rebuild([src], index_dir, embedder=embedder, progress=False)
    assert (report.unchanged, report.removed, report.articles) == (20, 0, 30)
    assert [s.reason for s in report.skipped] == [
        "not read past line 20, the limit for a JSONL file: split it into smaller files"
    ]
