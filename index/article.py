"""One article, and why an input is not one: what every loader returns."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from index.dates import DateError, iso_date

MAX_ARTICLE_BYTES = 5_000_000


@dataclass(frozen=True)
class Article:
    """One news article; `text` is what sentence offsets index."""

    id: str
    title: str
    text: str
    url: str = ""
    published: str = ""  # ISO date (YYYY-MM-DD) or ""
    source: str = ""
    path: str = ""  # the file it was read from
    line: int | None = field(default=None, compare=False)  # its line in a JSONL file
    notes: tuple[str, ...] = field(default=(), compare=False)  # what a reader should know

    @property
    def content_hash(self) -> str:
        """Hash of everything that ends up in the index."""
        fields = (self.title, self.url, self.published, self.source, self.text)
        return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


@dataclass(frozen=True)
class Skipped:
    """An input that could not be indexed, and why.

    Without a line number it is about a whole file: nothing of it was read, no article in it
    could be, or where reading it stopped (index/jsonl.py).
    """

    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class Notice:
    """Something to know about an input that was indexed (or kept): it is not an error."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"


def short_hash(value: str) -> str:
    """A stable 12-hex-digit id."""
    return hashlib.sha1(value.encode()).hexdigest()[:12]


def megabytes(size: int) -> str:
    """A size as people read it: "20.4 MB"."""
    return f"{size / 1e6:.1f} MB"


def too_large(size: int) -> str:
    """Why a text of `size` bytes is not read as one article."""
    limit = MAX_ARTICLE_BYTES // 10**6
    return f"too large for one article ({megabytes(size)}; the limit is {limit} MB)"


def decode(path: Path, raw: bytes, line: int | None = None) -> str | Skipped:
    """The text of one article's bytes, or why they are not one."""
    if not raw.strip():
        return Skipped(str(path), "empty file", line)
    if b"\x00" in raw[:8192]:
        return Skipped(str(path), "binary file (contains NUL bytes), not text", line)
    if len(raw) > MAX_ARTICLE_BYTES:
        return Skipped(str(path), too_large(len(raw)), line)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        why = f"not valid UTF-8 (byte {raw[error.start]:#04x} at offset {error.start})"
        return Skipped(str(path), why, line)


def make_article(
    path: Path, text: str, meta: Mapping[str, object], fallback_title: str, id_basis: str
) -> Article | Skipped:
    """An article from its text and metadata; its id is hashed from `id_basis` if it has none."""
    fields = {name: meta.get(name) for name in ("id", "title", "url", "source")}
    if problem := not_unicode({**fields, "text": text}):
        return Skipped(str(path), problem)
    text = visible(text)
    if not text.strip():
        return Skipped(str(path), "article has no text")
    url = str(meta.get("url") or "").strip()
    title = " ".join(visible(str(meta.get("title") or "")).split()) or fallback_title
    article_id = str(meta.get("id") or "").strip() or short_hash(url or id_basis)
    published, notes = _published(meta)
    return Article(
        id=article_id,
        title=title,
        text=text,
        url=url,
        published=published,
        source=str(meta.get("source") or "").strip(),
        path=str(path),
        notes=notes,
    )


def visible(text: str) -> str:
    """`text` without the format characters, which do not show (soft hyphens, zero-width spaces
    and joiners, word joiners, byte-order marks), as trafilatura reads a page: a word a soft
    hyphen splits is one word to search, and an article gives the same text from a file as from
    its page (the same hash: indexed once). Control characters stay: an escape sequence is
    removed whole where the text is printed (`assistant.cli.shown`), not left half."""
    hidden = [c for c in set(text) if unicodedata.category(c) == "Cf"]
    return text.translate(dict.fromkeys(map(ord, hidden))) if hidden else text


def _published(meta: Mapping[str, object]) -> tuple[str, tuple[str, ...]]:
    """The ISO date of an article, or "" and why not: a malformed date is dropped, never guessed."""
    name = "published" if meta.get("published") else "date"
    try:
        return iso_date(meta.get(name)), ()
    except DateError as error:
        return "", (f"indexed without a date: {name}: {error}",)


def not_unicode(fields: Mapping[str, object]) -> str | None:
    """Why one of `fields` cannot be stored (half a surrogate pair, as JSON can escape), or None."""
    for name, value in fields.items():
        try:
            str(value or "").encode("utf-8")
        except UnicodeEncodeError as error:
            bad, at = str(value)[error.start], error.start
            return f"the {name} is not valid Unicode (a lone surrogate {bad!r} at character {at})"
    return None
