"""Articles from .txt / .md / .html / .jsonl(.gz) files -> Article; a clear reason per skip."""

from __future__ import annotations

import errno
import os
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from typing import Any

import frontmatter
import yaml
from frontmatter.default_handlers import YAMLHandler

from index.article import (
    MAX_ARTICLE_BYTES,
    Article,
    Skipped,
    decode,
    make_article,
    not_unicode,
    too_large,
)
from index.jsonl import jsonl_articles

__all__ = ["Article", "Skipped", "discover", "load", "load_file"]
TEXT_SUFFIXES = (".txt", ".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")
SUPPORTED = TEXT_SUFFIXES + HTML_SUFFIXES + JSONL_SUFFIXES


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
        try:
            os.stat(path)
        except OSError as error:
            if error.errno == errno.ELOOP:
                return f"symbolic link loop (it points to {os.readlink(path)}, which leads back)"
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
        if not_unicode({"file name": name}):  # undecodable bytes in a name come as surrogates
            shown = os.fsencode(name).decode("utf-8", "backslashreplace")
            yield Skipped(shown, "the file name is not valid UTF-8; rename it")
        elif isinstance(item, Skipped):
            yield item
        else:
            yield from load_file(item)


def load_file(path: Path) -> Generator[Article | Skipped, None, None]:
    """The articles of one file, read as they are asked for (close it to stop reading)."""
    name = path.name.lower()
    if not name.endswith(SUPPORTED):
        kinds = ", ".join(SUPPORTED)
        yield Skipped(str(path), f"unsupported file type {path.suffix or '(none)'!r} ({kinds})")
        return
    try:
        if name.endswith(JSONL_SUFFIXES):
            yield from jsonl_articles(path)
            return
        size = path.stat().st_size
        raw = path.read_bytes() if size <= MAX_ARTICLE_BYTES else b""
    except OSError as error:
        yield Skipped(str(path), f"cannot read: {error.strerror or error}")
        return
    text = decode(path, raw) if size <= MAX_ARTICLE_BYTES else Skipped(str(path), too_large(size))
    if isinstance(text, Skipped):
        yield text
    elif name.endswith(HTML_SUFFIXES):
        yield _html(path, text)
    else:
        yield _plain(path, text)


class _DatesAsText(yaml.SafeLoader):
    """YAML without its own dates: it rejects 2024-02-30 as a whole document, not as a date."""

    yaml_implicit_resolvers = {
        first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


class _YAML(YAMLHandler):
    """Front matter read with _DatesAsText, so that index.dates judges every date."""

    def load(self, fm: str, **kwargs: object) -> Any:
        return super().load(fm, Loader=_DatesAsText)


def _plain(path: Path, text: str) -> Article | Skipped:
    try:
        handler = frontmatter.detect_format(text, frontmatter.handlers)
        post = frontmatter.loads(
            text, handler=_YAML() if isinstance(handler, YAMLHandler) else None
        )
    except Exception as error:  # the YAML parser raises many types; report, do not guess
        message = " ".join(str(error).split())  # YAML errors span lines; a skip is one line
        return Skipped(str(path), f"invalid front matter ({type(error).__name__}: {message})")
    body = post.content
    heading = next((ln.lstrip("# ").strip() for ln in body.splitlines() if ln.strip()), "")
    fallback = heading[:120] if path.suffix.lower() != ".txt" and heading else ""
    fallback = fallback or path.stem.replace("-", " ").replace("_", " ").strip().capitalize()
    return make_article(path, body, dict(post.metadata), fallback, str(path))


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
    return make_article(path, doc.text or "", meta, path.stem, str(path))
