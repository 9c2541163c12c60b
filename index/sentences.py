"""Text -> sentences with exact character offsets (pysbd inside paragraphs, never across them)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import pysbd

# A newline ends a paragraph unless the next line continues a hard-wrapped sentence.
_PARAGRAPH_BREAK = re.compile(r"\n(?![ \t]*[a-z,;)])")


@dataclass(frozen=True)
class Sentence:
    """One sentence: its number in the article and its span in the article's text."""

    n: int
    start: int
    end: int


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
        cursor = 0
        for segment in _segmenter().segment(para):
            piece = segment.strip()
            if not piece:
                continue
            at = para.find(piece, cursor)
            if at < 0:  # pysbd normalised something: fall back to the rest of the paragraph
                at, piece = cursor, para[cursor:].strip()
            start = p_start + at
            sentences.append(Sentence(len(sentences), start, start + len(piece)))
            cursor = at + len(piece)
            if cursor >= len(para):
                break
    return sentences
