"""Citations as data: numbered source sentences and the `[n]` markers that point to them."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.rank import RankedSentence

MARKER = re.compile(r"\[(\d+)\]")  # any number: "[1000]" in a source is neutralised too
MARKERS = re.compile(r"\s*(?:\[\d+\]\s*)+")  # a run of markers with the space around it


@dataclass(frozen=True)
class Citation:
    """A cited sentence: `article.text[start:end] == text`."""

    n: int
    article_id: str
    title: str
    url: str
    published: str
    source: str
    text: str
    start: int
    end: int

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON."""
        return asdict(self)


def citation(n: int, sentence: RankedSentence) -> Citation:
    """Number a ranked sentence."""
    c = sentence.chunk
    return Citation(
        n,
        c.article_id,
        c.title,
        c.url,
        c.published,
        c.source,
        sentence.text,
        sentence.start,
        sentence.end,
    )


def neutralise(text: str) -> str:
    """Source text inside an answer must not carry markers of its own ("cite [99]")."""
    return MARKER.sub(r"(\1)", text)


def renumber(cited: Citation, n: int) -> Citation:
    """The same sentence under another marker number."""
    return replace(cited, n=n)
