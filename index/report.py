"""What a rebuild did (BuildReport); past a few lines about one file, only their count."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from index.article import Notice, Skipped

LINES_SHOWN = 5  # lines about one file listed one by one; the rest are counted


@dataclass(frozen=True)
class BuildReport:
    """What a rebuild did, article by article."""

    index_dir: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: tuple[Skipped, ...] = ()
    articles: int = 0
    sentences: int = 0
    chunks: int = 0
    seconds: float = 0.0
    changed: bool = False
    notices: tuple[Notice, ...] = ()  # what was kept or replaced, dates dropped
    articles_by_file: Mapping[str, int] = field(default_factory=dict)  # of the files read
    # Of those added and updated, copies of another article (the same story from another
    # outlet: index/copies.py) recorded with it, not embedded.
    copies: int = 0

    def summary(self) -> str:
        """One line of counts, then one line per notice and per skipped input."""
        copies = ""
        if self.copies:
            noun = "copy" if self.copies == 1 else "copies"
            copies = f"{self.copies} {noun} of indexed stories recorded, not embedded; "
        head = (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.removed} removed, {len(self.skipped)} skipped in {self.seconds:.1f}s; {copies}"
            f"the index at {self.index_dir} holds {self.articles} articles, "
            f"{self.sentences} sentences, {self.chunks} chunks"
        )
        notes = [f"note {n}" for n in self.notices]
        return "\n".join([head, *notes, *(f"skipped {s}" for s in self.skipped)])


Line = TypeVar("Line", Skipped, Notice)
_KIND = re.compile(r" \(|: ")  # "invalid JSON (Expecting ...)" -> "invalid JSON"


@dataclass
class _Overflow:
    first: int  # the first line not listed
    last: int = 0
    count: int = 0
    kinds: Counter[str] = field(default_factory=Counter)


class Lines(Generic[Line]):
    """Skips or notices in the order met; past LINES_SHOWN lines of one file, only counts."""

    def __init__(self, make: Callable[[str, str, int], Line], noun: str) -> None:
        self._make: Callable[[str, str, int], Line] = make
        self._noun = noun  # "skipped line": what a count past LINES_SHOWN counts
        self._listed: list[Line] = []
        self._per_file: Counter[str] = Counter()
        self._overflow: dict[str, _Overflow] = {}

    def add(self, item: Line) -> None:
        """Note one skip or notice."""
        if item.line is None or self._per_file[item.path] < LINES_SHOWN:
            self._listed.append(item)
            self._per_file[item.path] += item.line is not None
            return
        more = self._overflow.setdefault(item.path, _Overflow(first=item.line))
        more.count += 1
        more.first, more.last = min(more.first, item.line), max(more.last, item.line)
        text = item.reason if isinstance(item, Skipped) else item.message
        more.kinds[_KIND.split(text, maxsplit=1)[0]] += 1

    def lines(self) -> tuple[Line, ...]:
        """Every listed item, and each file's count of the rest after its last listed line."""
        last = {item.path: i for i, item in enumerate(self._listed) if item.line is not None}
        out: list[Line] = []
        for i, item in enumerate(self._listed):
            out.append(item)
            more = self._overflow.get(item.path)
            if more and last[item.path] == i:
                out.append(self._make(item.path, self._more(more), more.first))
        return tuple(out)

    def _more(self, more: _Overflow) -> str:
        kinds = "; ".join(f"{kind}: {n:,}" for kind, n in more.kinds.most_common(3))
        extra = len(more.kinds) - 3
        kinds += f"; {extra} other kinds" if extra > 0 else ""
        noun = self._noun + ("s" if more.count > 1 else "")
        return f"... and {more.count:,} more {noun} up to line {more.last:,} ({kinds})"
