"""What a rebuild must do: the articles read, sorted into new, changed, unchanged and removed."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from index.article import Article, Notice, Skipped
from index.copies import other_outlet, outlet
from index.report import Lines
from index.segments import Entry, text_hash

FILES_SHOWN = 20  # files listed one by one in notes of kept or replaced articles
TITLES_SHOWN = 3  # titles named in one such note


@dataclass
class Plan:
    """Articles to embed, ids to delete, and what was skipped, kept or replaced."""

    todo: list[Article] = field(default_factory=list)  # to embed (new or changed)
    updated: set[str] = field(default_factory=set)
    # Articles of todo with the same URL or text as another outlet's: id -> that article's id
    # (a copy, index/copies.py; the same outlet's is a duplicate, skipped).
    copies: dict[str, str] = field(default_factory=dict)
    unchanged: int = 0
    removed: set[str] = field(default_factory=set)
    skipped: Lines[Skipped] = field(default_factory=lambda: Lines(Skipped, "skipped line"))
    notices: Lines[Notice] = field(default_factory=lambda: Lines(Notice, "noted line"))
    by_file: Counter[str] = field(default_factory=Counter)  # path -> articles taken from it


_Key = tuple[str, str, str]  # (article id, URL, folded text hash): what makes two articles one
_Twin = tuple[str, str]  # (why, id of the article met first)


class _Twins:
    """Articles by id, URL and folded text, to tell when one is met twice, and their outlets."""

    def __init__(self, by_id: bool = True):
        self.by_id = by_id
        self.ids: set[str] = set()
        self.urls: dict[str, str] = {}
        self.texts: dict[str, str] = {}
        self.outlets: dict[str, tuple[str, str]] = {}  # id -> (source, URL)

    def add(self, key: _Key, source: str) -> None:
        article_id, url, th = key
        self.ids.add(article_id)
        self.outlets[article_id] = (source, url)
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
    items: Iterable[Article | Skipped], sources: list[Path], known: dict[str, Entry], show: bool
) -> Plan:
    """Sort what was read against the `known` articles into new, changed, unchanged, removed,
    kept and skipped."""
    planner = _Planner(known)
    for item in tqdm(items, desc="reading articles", unit=" articles", disable=not show):
        planner.read(item)
    return planner.finish(sources)


class _Planner:
    def __init__(self, known: dict[str, Entry]):
        self.known = known
        self.result = Plan()
        self.indexed, self.met = _Twins(by_id=False), _Twins()
        for article_id, entry in known.items():
            self.indexed.add((article_id, entry.url, entry.text_hash), entry.source)
        self.waiting: list[tuple[Article, _Key, _Twin]] = []  # copies of articles maybe gone
        self.unread: set[str] = set()  # files with something that could not be read
        self.carried: list[Article] = []  # indexed copies of other articles, read unchanged

    def read(self, item: Article | Skipped) -> None:
        if isinstance(item, Skipped):
            self.result.skipped.add(item)
            self.unread.add(item.path)
            return
        key = (item.id, item.url, text_hash(item.text))
        if twin := self.met.twin(key):
            self._twin(item, key, twin, self.met)
        elif twin := self.indexed.twin(key):
            self.waiting.append((item, key, twin))
        else:
            self._accept(item, key)

    def finish(self, sources: list[Path]) -> Plan:
        # Articles not read again stay when they live outside the sources, or when their file
        # (or folder) could not be read in full: they may be in what failed.
        stays = {
            i
            for i, entry in self.known.items()
            if i not in self.met.ids
            and (self._unread(entry.path) or not under(Path(entry.path), sources))
        }
        for item, key, twin in self.waiting:  # a copy of an article that is gone (renamed) stays
            if again := self.met.twin(key):
                self._twin(item, key, again, self.met)
            elif twin[1] in stays:
                self._twin(item, key, twin, self.indexed)
            else:
                self._accept(item, key)
        stays -= self.met.ids
        self.result.removed = {i for i in self.known if i not in self.met.ids and i not in stays}
        kept = {i for i in stays if self._unread(self.known[i].path)}
        replaced = self.result.updated | {
            i for i in self.result.removed if self.known[i].path in self.result.by_file
        }
        # A copy whose original is gone or replaced (now or by an earlier build) is looked at
        # again, like a new article: it may copy another one, or be indexed in full. One that is
        # not read stays as it is until a build reads it (nothing cites an original that is gone).
        gone = self.result.removed | self.result.updated
        for item in self.carried:
            original = self.known[item.id].copy_of
            if original in gone or original not in self.known:
                self.result.todo.append(item)
                self.result.updated.add(item.id)
                self.result.unchanged -= 1
        self._note("kept", kept, ": it could not be read in full, and they may be in what failed")
        self._note("replaced", replaced, "")
        return self.result

    def _unread(self, path: str) -> bool:
        """Whether the file at `path`, or a folder it is in, could not be read in full."""
        return path in self.unread or any(str(p) in self.unread for p in Path(path).parents)

    def _twin(self, item: Article, key: _Key, twin: _Twin, twins: _Twins) -> None:
        """The same article as `twin`: a duplicate from its outlet, a copy from another one."""
        why, first = twin
        if why == "same id" or not other_outlet(_outlet(item), outlet(*twins.outlets[first])):
            self.result.skipped.add(_duplicate(item, twin))
        else:
            self._accept(item, key, copy_of=first)

    def _accept(self, item: Article, key: _Key, copy_of: str = "") -> None:
        self.met.add(key, item.source)
        self.result.by_file[item.path] += 1
        for note in item.notes:
            self.result.notices.add(Notice(item.path, note, item.line))
        entry = self.known.get(item.id)
        if entry is not None and entry.content_hash == item.content_hash:
            self.result.unchanged += 1
            if entry.copy_of:
                self.carried.append(item)
            return
        self.result.todo.append(item)
        if entry is not None:
            self.result.updated.add(item.id)
        if copy_of:
            self.result.copies[item.id] = copy_of

    def _note(self, what: str, ids: set[str], why: str) -> None:
        """One note per file whose earlier articles were kept or replaced, naming them."""
        titles: defaultdict[str, list[str]] = defaultdict(list)
        for i in sorted(ids):
            titles[self.known[i].path].append(self.known[i].title)
        files = sorted(titles)
        for path in files[:FILES_SHOWN]:
            self.result.notices.add(Notice(path, f"{what} {_articles(titles[path])}{why}"))
        if len(files) > FILES_SHOWN:
            more = f"... and {len(files) - FILES_SHOWN:,} more files whose earlier articles"
            self.result.notices.add(Notice(files[FILES_SHOWN], f"{more} were {what}"))


def _articles(titles: list[str]) -> str:
    """'its 2 earlier articles ("A", "B")'."""
    named = ", ".join(f'"{t[:80]}"' for t in titles[:TITLES_SHOWN])
    more = f" and {len(titles) - TITLES_SHOWN:,} more" if len(titles) > TITLES_SHOWN else ""
    noun = "article" if len(titles) == 1 else "articles"
    return f"its {len(titles):,} earlier {noun} ({named}{more})"


def _duplicate(item: Article, twin: _Twin) -> Skipped:
    why, first = twin
    return Skipped(item.path, f"duplicate of article {first} ({why})", item.line)


def _outlet(article: Article) -> str:
    return outlet(article.source, article.url)


def under(path: Path, sources: list[Path]) -> bool:
    """Whether `path` is one of `sources` or inside one."""
    return any(path == s or s in path.parents for s in sources)
