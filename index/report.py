"""What a rebuild did (BuildReport); past a few bad lines of one file, only their count."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from index.article import Skipped

LINES_SHOWN = 5  # bad lines of one file listed one by one; the rest are counted


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

    def summary(self) -> str:
        """One line of counts, then one line per skipped input."""
        head = (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.removed} removed, {len(self.skipped)} skipped in {self.seconds:.1f}s; "
            f"the index at {self.index_dir} holds {self.articles} articles, "
            f"{self.sentences} sentences, {self.chunks} chunks"
        )
        return "\n".join([head] + [f"skipped {s}" for s in self.skipped])


@dataclass
class _Overflow:
    first: int  # the first bad line not listed
    last: int = 0
    count: int = 0
    kinds: Counter[str] = field(default_factory=Counter)


class SkipLog:
    """Skipped inputs in the order met; past LINES_SHOWN bad lines of a file, only counts."""

    def __init__(self) -> None:
        self._listed: list[Skipped] = []
        self._per_file: Counter[str] = Counter()
        self._overflow: dict[str, _Overflow] = {}

    def add(self, skip: Skipped) -> None:
        """Note one skipped input."""
        if skip.line is None or self._per_file[skip.path] < LINES_SHOWN:
            self._listed.append(skip)
            self._per_file[skip.path] += skip.line is not None
            return
        more = self._overflow.setdefault(skip.path, _Overflow(first=skip.line))
        more.count += 1
        more.first, more.last = min(more.first, skip.line), max(more.last, skip.line)
        more.kinds[skip.reason.split(" (")[0]] += 1

    def lines(self) -> tuple[Skipped, ...]:
        """Every listed skip, each file's count of the rest after its last listed bad line."""
        last = {s.path: i for i, s in enumerate(self._listed) if s.line is not None}
        out: list[Skipped] = []
        for i, skip in enumerate(self._listed):
            out.append(skip)
            more = self._overflow.get(skip.path)
            if more and last[skip.path] == i:
                out.append(Skipped(skip.path, _more(more), more.first))
        return tuple(out)


def _more(more: _Overflow) -> str:
    kinds = "; ".join(f"{kind}: {n:,}" for kind, n in more.kinds.most_common(3))
    extra = len(more.kinds) - 3
    kinds += f"; {extra} other kinds" if extra > 0 else ""
    lines = "skipped line" if more.count == 1 else "skipped lines"
    return f"... and {more.count:,} more {lines} up to line {more.last:,} ({kinds})"
