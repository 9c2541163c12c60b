"""Articles from .txt / .md / .html / .jsonl(.gz) files -> Article; a clear reason per skip."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

import frontmatter

MAX_ARTICLE_BYTES = 5_000_000
TEXT_SUFFIXES = (".txt", ".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")
SUPPORTED = TEXT_SUFFIXES + HTML_SUFFIXES + JSONL_SUFFIXES


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

    @property
    def content_hash(self) -> str:
        """Hash of everything that ends up in the index."""
        fields = (self.title, self.url, self.published, self.source, self.text)
        return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


@dataclass(frozen=True)
class Skipped:
    """An input that could not be indexed, and why."""

    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}"


def short_hash(value: str) -> str:
    """A stable 12-hex-digit id."""
    return hashlib.sha1(value.encode()).hexdigest()[:12]


def iso_date(value: object) -> str:
    """`value` as YYYY-MM-DD, or "" when it is not a recognisable date."""
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    text = str(value or "").strip().replace("/", "-")
    for size in (10, 7, 4):
        try:
            return datetime.strptime(text[:size], "%Y-%m-%d"[: size - 2]).strftime("%Y-%m-%d")
        except ValueError:
            continue
    return ""


def discover(sources: Iterable[str | os.PathLike[str]]) -> Iterator[Path | Skipped]:
    """Every file under the sources (folders recursively, hidden files ignored), in order."""
    for source in sources:
        path = Path(source).expanduser()
        if path.is_dir():
            yield from _walk(path)
        elif path.is_file():
            yield path.resolve()
        elif path.exists() or path.is_symlink():
            yield Skipped(str(path), _not_a_file(path))
        else:
            yield Skipped(str(path), "no such file or folder")


def _walk(folder: Path) -> Iterator[Path | Skipped]:
    """The files under `folder`; entries that cannot be read are reported, never dropped."""
    if not os.access(folder, os.R_OK | os.X_OK):
        yield Skipped(str(folder.resolve()), "cannot read: permission denied")
        return
    for child in sorted(folder.rglob("*")):
        if any(part.startswith(".") for part in child.relative_to(folder).parts):
            continue
        named = child.parent.resolve() / child.name  # the entry itself, not where it links to
        if child.is_file():
            yield child.resolve()
        elif not child.is_dir():
            yield Skipped(str(named), _not_a_file(child))
        elif not os.access(child, os.R_OK | os.X_OK):
            yield Skipped(str(named), "cannot read: permission denied")


def _not_a_file(path: Path) -> str:
    """Why a directory entry that is neither a file nor a folder is not read."""
    if path.is_symlink() and not path.exists():
        return f"broken symbolic link (its target {os.readlink(path)} does not exist)"
    if path.is_fifo():
        return "not a regular file (a named pipe)"
    if path.is_socket():
        return "not a regular file (a socket)"
    return "not a regular file (a device or other special file)"


def load(sources: Iterable[str | os.PathLike[str]]) -> Iterator[Article | Skipped]:
    """Read every article under `sources`; bad inputs become `Skipped` and the rest go on."""
    for item in discover(sources):
        name = item.path if isinstance(item, Skipped) else str(item)
        if _not_unicode({"file name": name}):  # undecodable bytes in a name come as surrogates
            shown = os.fsencode(name).decode("utf-8", "backslashreplace")
            yield Skipped(shown, "the file name is not valid UTF-8; rename it")
        elif isinstance(item, Skipped):
            yield item
        else:
            yield from load_file(item)


def load_file(path: Path) -> Iterator[Article | Skipped]:
    """The articles of one file."""
    name = path.name.lower()
    if not name.endswith(SUPPORTED):
        kinds = ", ".join(SUPPORTED)
        yield Skipped(str(path), f"unsupported file type {path.suffix or '(none)'!r} ({kinds})")
        return
    try:
        raw = path.read_bytes()
    except OSError as error:
        yield Skipped(str(path), f"cannot read: {error.strerror or error}")
        return
    if name.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            yield Skipped(str(path), f"not a valid gzip file ({error})")
            return
    if name.endswith(JSONL_SUFFIXES):
        yield from _jsonl(path, raw)
        return
    text = _decode(path, raw)
    if isinstance(text, Skipped):
        yield text
    elif name.endswith(HTML_SUFFIXES):
        yield _html(path, text)
    else:
        yield _plain(path, text)


def _decode(path: Path, raw: bytes, line: int | None = None) -> str | Skipped:
    if not raw.strip():
        return Skipped(str(path), "empty file", line)
    if b"\x00" in raw[:8192]:
        return Skipped(str(path), "binary file (contains NUL bytes), not text", line)
    if len(raw) > MAX_ARTICLE_BYTES:
        size = f"{len(raw) / 1e6:.1f} MB"
        limit = f"{MAX_ARTICLE_BYTES / 1e6:.0f} MB"
        return Skipped(str(path), f"too large for one article ({size}; the limit is {limit})", line)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return Skipped(
            str(path), f"not valid UTF-8 (byte {raw[error.start]:#04x} at offset {error.start})"
        )


def _article(
    path: Path, text: str, meta: Mapping[str, object], fallback_title: str, id_basis: str
) -> Article | Skipped:
    """An article from its text and metadata; its id is hashed from `id_basis` if it has none."""
    if not text.strip():
        return Skipped(str(path), "article has no text")
    fields = {name: meta.get(name) for name in ("id", "title", "url", "source")}
    if problem := _not_unicode({**fields, "text": text}):
        return Skipped(str(path), problem)
    url = str(meta.get("url") or "").strip()
    title = " ".join(str(meta.get("title") or "").split()) or fallback_title
    article_id = str(meta.get("id") or "").strip() or short_hash(url or id_basis)
    return Article(
        id=article_id,
        title=title,
        text=text,
        url=url,
        published=iso_date(meta.get("published") or meta.get("date")),
        source=str(meta.get("source") or "").strip(),
        path=str(path),
    )


def _not_unicode(fields: Mapping[str, object]) -> str | None:
    """Why one of `fields` cannot be stored (half a surrogate pair, as JSON can escape), or None."""
    for name, value in fields.items():
        try:
            str(value or "").encode("utf-8")
        except UnicodeEncodeError as error:
            bad, at = str(value)[error.start], error.start
            return f"the {name} is not valid Unicode (a lone surrogate {bad!r} at character {at})"
    return None


def _plain(path: Path, text: str) -> Article | Skipped:
    try:
        post = frontmatter.loads(text)
    except Exception as error:  # the YAML parser raises many types; report, do not guess
        message = " ".join(str(error).split())  # YAML errors span lines; a skip is one line
        return Skipped(str(path), f"invalid front matter ({type(error).__name__}: {message})")
    body = post.content
    heading = next((ln.lstrip("# ").strip() for ln in body.splitlines() if ln.strip()), "")
    fallback = heading[:120] if path.suffix.lower() != ".txt" and heading else ""
    fallback = fallback or path.stem.replace("-", " ").replace("_", " ").strip().capitalize()
    return _article(path, body, dict(post.metadata), fallback, str(path))


def _html(path: Path, html: str) -> Article | Skipped:
    import trafilatura

    doc = trafilatura.bare_extraction(html, with_metadata=True, favor_precision=True, as_dict=False)
    if doc is None or isinstance(doc, dict) or not (doc.text or "").strip():
        return Skipped(str(path), "no article text found in the HTML")
    meta = {
        "title": doc.title,
        "url": doc.url,
        "published": doc.date,
        "source": doc.sitename or doc.hostname,
    }
    return _article(path, doc.text or "", meta, path.stem, str(path))


def _jsonl(path: Path, raw: bytes) -> Iterator[Article | Skipped]:
    lines = raw.split(b"\n")
    if not any(line.strip() for line in lines):
        yield Skipped(str(path), "empty file")
        return
    read_any = False
    for number, line in enumerate(lines, start=1):
        if line.strip():
            item = _jsonl_line(path, line, number)
            read_any = read_any or isinstance(item, Article)
            yield item
    if not read_any:  # a file-level line: nothing of this file is in the index
        yield Skipped(str(path), "no article in it could be read")


def _jsonl_line(path: Path, line: bytes, number: int) -> Article | Skipped:
    """The article on one line of a JSONL file."""
    text = _decode(path, line, number)
    if isinstance(text, Skipped):
        return Skipped(text.path, text.reason, number)
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
    article = _article(path, body, record, f"{path.stem} line {number}", body)
    if isinstance(article, Article):
        return replace(article, line=number)
    return Skipped(article.path, article.reason, number)
