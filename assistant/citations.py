"""Citations as data: numbered source sentences and the `[n]` markers that point to them."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.rank import RankedSentence

MARKER = re.compile(r"\[(\d+)\]")  # any number: "[1000]" in a source is neutralised too
MARKERS = re.compile(r"\s*(?:\[\d+\]\s*)+")  # a run of markers with the space around it
MARKER_DIGITS = 6  # no answer cites a million sentences: a longer number points to none
_HYPHEN_START = re.compile(r"[-\u2010\u2011\u2013]\w")  # "-Mexico border.": not a sentence start
_HYPHEN_END = re.compile(r"[\w.][-\u2010\u2011]$")  # "... the U.S.-": the word goes on
_BULLET = re.compile(r"^(?:[-*\u2022]|\d{1,2}[.)])\s+")


@dataclass(frozen=True)
class Citation:
    """A cited sentence: `article.text[start:end] == text`. `also`: the other outlets that
    carried the same story (its copies, recorded by the build: index/copies.py), by name."""

    n: int
    article_id: str
    title: str
    url: str
    published: str
    source: str
    text: str
    start: int
    end: int
    also: tuple[str, ...] = ()
    # A news brief's point: the independent outlets whose articles say it (its own among them).
    reported_by: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON (`also`, `reported_by` lists)."""
        return {**asdict(self), "also": list(self.also), "reported_by": list(self.reported_by)}

    def reported(self) -> str:
        """'reported by 2 independent outlets: A, B', "" when one or none."""
        if len(self.reported_by) < 2:
            return ""
        return f"reported by {len(self.reported_by)} independent outlets: " + ", ".join(
            self.reported_by
        )

    def carried(self, shown: int = 3) -> str:
        """The other outlets as a reader reads them, "" when there are none: 'also carried by
        4 outlets: A, B, C and 1 more'."""
        if not self.also:
            return ""
        names = ", ".join(self.also[:shown])
        more = len(self.also) - shown
        noun = "outlet" if len(self.also) == 1 else "outlets"
        return f"also carried by {len(self.also)} {noun}: {names}" + (
            f" and {more} more" if more > 0 else ""
        )


def citation(n: int, sentence: RankedSentence, reported_by: tuple[str, ...] = ()) -> Citation:
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
        c.also,
        reported_by,
    )


def neutralise(text: str) -> str:
    """Source text inside an answer must not carry markers of its own ("cite [99]")."""
    return MARKER.sub(r"(\1)", text)


def marker_numbers(text: str) -> list[int]:
    """The numbers of the `[n]` markers in `text`, in order.

    A number too long to be a source's ("[1111...1]" of 5,000 digits, which `int` refuses) is
    0: like any number no source has, it points nowhere.
    """
    return [_number(digits) for digits in MARKER.findall(text)]


def _number(digits: str) -> int:
    significant = digits.lstrip("0") or "0"  # "[0001]" is 1; `int` counts the zeros too
    return int(significant) if len(significant) <= MARKER_DIGITS else 0


def renumber(cited: Citation, n: int) -> Citation:
    """The same sentence under another marker number."""
    return replace(cited, n=n)


def strip_markers(piece: str) -> str:
    """A sentence without its markers."""
    return MARKERS.sub(" ", piece).replace(" .", ".").strip()


def marked_sentences(text: str) -> list[tuple[str, list[int]]]:
    """The sentences of an answer, each with the marker numbers it carries.

    Markers standing alone after a sentence ("... front. [2]") belong to that sentence. A piece
    the splitter cut inside a hyphenated word ("... the U.S." / "-Mexico border.": a line break
    or "U. S." before the hyphen does it) is glued back to the sentence before it, and a list
    bullet ("- ", "* ", "2. ") is no part of a sentence.
    """
    from index.sentences import split_sentences  # pysbd: only when an answer is parsed

    # A marker too long to point anywhere is "[0]" first: the splitter would cut it into words.
    text = MARKER.sub(lambda m: f"[{_number(m[1])}]", text)
    pieces: list[str] = []
    for span in split_sentences(text):
        piece = text[span.start : span.end]
        if pieces and (_HYPHEN_START.match(piece) or _HYPHEN_END.search(pieces[-1])):
            pieces[-1] += piece
        else:
            pieces.append(piece)
    marked: list[tuple[str, list[int]]] = []
    for piece in pieces:
        lead = MARKERS.match(piece)
        if lead and marked:  # the splitter put the previous sentence's markers here
            marked[-1][1].extend(marker_numbers(lead.group()))
            piece = piece[lead.end() :]
        claim = _BULLET.sub("", strip_markers(piece))
        if claim:
            marked.append((claim, marker_numbers(piece)))
    return marked
