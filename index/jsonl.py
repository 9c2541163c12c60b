"""Articles from JSONL files (.jsonl, .jsonl.gz), one a line, read as a stream within bounds."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import replace
from io import BufferedIOBase
from pathlib import Path

from index.article import (
    MAX_ARTICLE_BYTES,
    Article,
    Skipped,
    decode,
    make_article,
    megabytes,
    too_large,
)

MAX_FILE_BYTES = 100_000_000  # a .jsonl file, or what a .jsonl.gz expands to
# Bytes alone do not bound the work: 10 KB of gzip holds 5 million lines of `1`, and a bad
# line costs about 3.5 µs to read and some 20 µs in a whole build (measured: 89 s and 1 GB for
# those 5 million in an upload, again in each later upload while the file stayed). So a file is
# read up to MAX_LINES lines, blank ones counted: at MAX_FILE_BYTES that is 100 bytes a line,
# shorter than any real article record ({"text": ...} with its title and URL), so a real export
# is read in full. And up to MAX_BAD_LINES lines that hold no article (an export with more needs
# fixing): that file now costs an upload 2 s and 11 MB. The articles read before either stay.
MAX_LINES = 1_000_000
MAX_BAD_LINES = 100_000


def jsonl_articles(path: Path) -> Iterator[Article | Skipped]:
    """The articles of a JSONL file, one a line; a file over the size limit is not read at all."""
    gzipped = path.name.lower().endswith(".gz")
    problem = _expands_too_far(path) if gzipped else _too_big(path)
    if problem:
        yield Skipped(str(path), problem)
        return
    with gzip.open(path, "rb") if gzipped else path.open("rb") as stream:
        yield from _articles(path, _lines(stream))


def _too_big(path: Path) -> str | None:
    size = path.stat().st_size
    if size <= MAX_FILE_BYTES:
        return None
    limit = f"the limit for a JSONL file is {MAX_FILE_BYTES / 1e6:g} MB"
    return f"too large ({megabytes(size)}; {limit}): split it into smaller files"


def _expands_too_far(path: Path) -> str | None:
    """Why a gzip file is not read: invalid, or it expands past the limit (counted, not kept)."""
    expanded = 0
    try:
        with gzip.open(path, "rb") as stream:
            while block := stream.read(1 << 20):
                expanded += len(block)
                if expanded > MAX_FILE_BYTES:
                    limit = f"{MAX_FILE_BYTES / 1e6:g} MB, the limit for a JSONL file"
                    return f"expands to more than {limit}: split it into smaller files"
    except (OSError, EOFError, zlib.error) as error:
        return f"not a valid gzip file ({error})"
    return None


def _lines(stream: BufferedIOBase) -> Iterator[tuple[int, bytes | int]]:
    """(number, line) of every line; a line too long for one article as its size, unread."""
    number = 0
    while line := stream.readline(MAX_ARTICLE_BYTES + 1):
        number += 1
        if len(line) <= MAX_ARTICLE_BYTES or line.endswith(b"\n"):
            yield number, line.removesuffix(b"\n")
            continue
        size = len(line)
        while (rest := stream.readline(1 << 20)) and not rest.endswith(b"\n"):
            size += len(rest)
        yield number, size + len(rest.removesuffix(b"\n"))


def _articles(path: Path, lines: Iterator[tuple[int, bytes | int]]) -> Iterator[Article | Skipped]:
    """The article or skip of each line, up to MAX_LINES lines and MAX_BAD_LINES skips (then a
    file-level line says where reading stopped: the file's earlier articles stay indexed)."""
    read_any = seen_any = stopped = False
    bad = 0
    for number, line in lines:
        if number > MAX_LINES:
            limit = f"not read past line {MAX_LINES:,}, the limit for a JSONL file"
            yield Skipped(str(path), f"{limit}: split it into smaller files")
            stopped = True
            break
        if isinstance(line, int):
            item: Article | Skipped = Skipped(str(path), too_large(line), number)
        elif line.strip():
            item = _line_article(path, line, number)
        else:
            continue
        seen_any = True
        read_any = read_any or isinstance(item, Article)
        bad += isinstance(item, Skipped)
        if bad > MAX_BAD_LINES:
            limit = f"{MAX_BAD_LINES:,} lines hold no article, the limit for a JSONL file"
            why = f"not read past line {number - 1:,}: {limit}: fix them, or split the file"
            yield Skipped(str(path), why)
            stopped = True
            break
        yield item
    if not seen_any and not stopped:
        yield Skipped(str(path), "empty file")
    elif not read_any:  # a file-level line: nothing of this file is in the index
        yield Skipped(str(path), "no article in it could be read")


def _line_article(path: Path, line: bytes, number: int) -> Article | Skipped:
    """The article on one line of a JSONL file."""
    text = decode(path, line, number)
    if isinstance(text, Skipped):
        return text
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        why = error.msg.removesuffix(" at")  # "Unterminated string starting at" + " at column"
        return Skipped(str(path), f"invalid JSON ({why} at column {error.colno})", number)
    if not isinstance(record, dict):
        return Skipped(str(path), "expected a JSON object with a 'text' field", number)
    body = record.get("text")
    if not isinstance(body, str) or not body.strip():
        return Skipped(str(path), "article has no text", number)
    article = make_article(path, body, record, f"{path.stem} line {number}", body)
    if isinstance(article, Article):
        return replace(article, line=number)
    return Skipped(article.path, article.reason, number)
