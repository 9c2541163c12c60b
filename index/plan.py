"""What a rebuild must do: the articles read, sorted into new, changed, unchanged and removed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from index.article import Article, Notice, Skipped
from index.report import Lines
from index.store import Store, text_hash


@dataclass
class Plan:
    """Articles to embed, ids to delete, and what was skipped."""

    todo: list[Article] = field(default_factory=list)  # to embed (new or changed)
    updated: set[str] = field(default_factory=set)
    unchanged: int = 0
    removed: set[str] = field(default_factory=set)
    skipped: Lines[Skipped] = field(default_factory=lambda: Lines(Skipped, "skipped line"))
    notices: Lines[Notice] = field(default_factory=lambda: Lines(Notice, "noted line"))


_Key = tuple[str, str, str]  # (article id, URL, folded text hash): what makes two articles one
_Twin = tuple[str, str]  # (why, id of the article met first)


class _Twins:
    """Articles by id, URL and folded text, to tell when one is met twice."""

    def __init__(self, by_id: bool = True):
        self.by_id = by_id
        self.ids: set[str] = set()
        self.urls: dict[str, str] = {}
        self.texts: dict[str, str] = {}

    def add(self, key: _Key) -> None:
        article_id, url, th = key
        self.ids.add(article_id)
        if url:
            self.urls.setdefault(url, article_id)
        self.texts.setdefault(th, article_id)

    def twin(self, key: _Key) -> _Twin | None:
        """Why the article with `key` is a copy of one added before, or None."""
        article_id, url, th = key
        if self.by_id and article_id in self.ids:
            return "same id", article_id
        for why, first in (("same URL", self.urls.get(url)), ("same text", self.texts.get(th))):
            if first and first != article_id:
                return why, first
        return None


def plan(
    items: Iterator[Article | Skipped], sources: list[Path], old: Store | None, show: bool
) -> Plan:
    """Sort what was read into new, changed, unchanged, removed and skipped."""
    result = Plan()
    known = old.catalogue() if old else {}
    indexed, met = _Twins(by_id=False), _Twins()
    for article_id, (_, _, url, th) in known.items():
        indexed.add((article_id, url, th))
    waiting: list[tuple[Article, _Key, _Twin]] = []  # copies of indexed articles that may be gone
    for item in tqdm(items, desc="reading articles", unit=" articles", disable=not show):
        if isinstance(item, Skipped):
            result.skipped.add(item)
            continue
        key = (item.id, item.url, text_hash(item.text))
        if twin := met.twin(key):
            result.skipped.add(_duplicate(item, twin))
        elif twin := indexed.twin(key):
            waiting.append((item, key, twin))
        else:
            _accept(result, met, known, item, key)
    # Indexed articles that were not read again stay only when they live outside the sources.
    untouched = {
        i
        for i, (_, path, _, _) in known.items()
        if i not in met.ids and not under(Path(path), sources)
    }
    for item, key, twin in waiting:  # a copy of an article that is gone (a renamed file) stays
        again = met.twin(key) or (twin if twin[1] in untouched else None)
        if again:
            result.skipped.add(_duplicate(item, again))
        else:
            _accept(result, met, known, item, key)
    result.removed = {i for i in known if i not in met.ids and i not in untouched}
    return result


def _accept(
    result: Plan, met: _Twins, known: dict[str, tuple[str, str, str, str]], item: Article, key: _Key
) -> None:
    met.add(key)
    for note in item.notes:
        result.notices.add(Notice(item.path, note, item.line))
    if item.id not in known:
        result.todo.append(item)
    elif known[item.id][0] != item.content_hash:
        result.todo.append(item)
        result.updated.add(item.id)
    else:
        result.unchanged += 1


def _duplicate(item: Article, twin: _Twin) -> Skipped:
    why, first = twin
    return Skipped(item.path, f"duplicate of article {first} ({why})", item.line)


def under(path: Path, sources: list[Path]) -> bool:
    """Whether `path` is one of `sources` or inside one."""
    return any(path == s or s in path.parents for s in sources)
