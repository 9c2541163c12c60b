"""Text -> sentences with exact character offsets (pysbd inside paragraphs, never across them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import pysbd

MAX_SPAN = 2000  # characters pysbd reads at once (see _spans); longer sentences are cut
# A newline ends a paragraph unless the next line continues a hard-wrapped sentence.
_PARAGRAPH_BREAK = re.compile(r"\n(?![ \t]*[a-z,;)])")


@dataclass(frozen=True)
class Sentence:
    """One sentence: its number in the article, its span in the article's text, and whether it
    states something that may be quoted (not a heading, question, caption: index/statements.py)."""

    n: int
    start: int
    end: int
    quotable: bool = True


@cache
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Spans of the non-blank paragraphs of `text`."""
    spans, start = [], 0
    for match in _PARAGRAPH_BREAK.finditer(text + "\n"):
        block = text[start : match.start()]
        if block.strip():
            lead = len(block) - len(block.lstrip())
            spans.append((start + lead, start + len(block.rstrip())))
        start = match.end()
    return spans


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of `text` in order; `text[s.start:s.end]` is the sentence, stripped."""
    sentences: list[Sentence] = []
    for p_start, p_end in paragraphs(text):
        # Hard-wrapped lines: a space for the newline (and the \r of a CRLF, which pysbd takes
        # for a sentence end) keeps every offset where it was.
        para = text[p_start:p_end].replace("\n", " ").replace("\r", " ")
        for start, end in _spans(para):
            sentences.append(Sentence(len(sentences), p_start + start, p_start + end))
    return sentences


def _spans(para: str) -> Iterator[tuple[int, int]]:
    """pysbd's sentences of a paragraph, looking at no more than MAX_SPAN characters at once.

    pysbd's work grows with the square of what it is given (it rescans the whole text for every
    word that could be an abbreviation), so a long paragraph is read a window at a time: every
    sentence but the window's last (which the window may cut) is kept, and the next window starts
    where that last one does. A window in which no sentence ends becomes one piece, cut at white
    space where there is some.
    """
    at = 0
    while at < len(para):
        end = len(para) if len(para) - at <= MAX_SPAN else _cut(para, at)
        spans = _segment(para, at, end)
        if end == len(para):
            yield from spans
            return
        if len(spans) > 1:
            yield from spans[:-1]
            at = spans[-1][0]
        else:
            yield from spans
            at = end


def _cut(para: str, at: int) -> int:
    """Where a window starting at `at` ends: at the last white space of its second half, if any."""
    limit = at + MAX_SPAN
    space = max(
        para.rfind(" ", at + MAX_SPAN // 2, limit), para.rfind("\t", at + MAX_SPAN // 2, limit)
    )
    return space if space > at else limit


def _segment(para: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans (in `para`) of the sentences pysbd finds in `para[start:end]`."""
    window = para[start:end]
    spans, cursor = [], 0
    for segment in _segmenter().segment(window):
        piece = segment.strip()
        if not piece:
            continue
        at = window.find(piece, cursor)
        if at < 0:  # pysbd normalised something: fall back to the rest of the window
            at, piece = cursor, window[cursor:].strip()
            at = window.index(piece, cursor) if piece else cursor
        if piece:
            spans.append((start + at, start + at + len(piece)))
        cursor = at + len(piece)
        if cursor >= len(window):
            break
    return spans
