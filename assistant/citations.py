"""Numbered source sentences, `[n]` markers parsed and checked against what they cite."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.retrieve import Candidate
from index.sentences import split_sentences

MARKER = re.compile(r"\[(\d{1,3})\]")
_MARKERS = re.compile(r"\s*(?:\[\d{1,3}\]\s*)+")
SUPPORT = 0.55  # cosine between an answer sentence and a source that states it (chosen on dev)


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


def citation(n: int, cand: Candidate) -> Citation:
    """Number a candidate sentence."""
    p = cand.passage
    return Citation(
        n, p.article_id, p.title, p.url, p.published, p.source, cand.text, cand.start, cand.end
    )


def neutralise(text: str) -> str:
    """Source text inside an answer must not carry markers of its own ("cite [99]")."""
    return MARKER.sub(r"(\1)", text)


def check(
    draft: str, sources: Sequence[Citation], embedder: Embeddings, support: float = SUPPORT
) -> tuple[str, list[Citation]]:
    """Keep answer sentences that their cited sources support; re-cite or drop the others.

    Markers that point to no source are dropped. Returns the answer with markers renumbered
    1..m in order of first use, and the m citations.
    """
    pieces = [draft[s.start : s.end] for s in split_sentences(draft)]
    pieces = [p for p in pieces if _strip_markers(p)]
    if not pieces or not sources:
        return "", []
    claims = [_strip_markers(p) for p in pieces]
    vectors = np.array(embedder.embed_documents(claims + [s.text for s in sources]))
    similarity = vectors[: len(claims)] @ vectors[len(claims) :].T
    kept: list[tuple[str, list[int]]] = []
    for claim, piece, row in zip(claims, pieces, similarity, strict=True):
        cited = [int(m) - 1 for m in MARKER.findall(piece) if 0 < int(m) <= len(sources)]
        supported = [i for i in dict.fromkeys(cited) if row[i] >= support]
        if not supported and row.max() >= support:
            supported = [int(row.argmax())]
        if supported:
            kept.append((claim, supported))
    order: dict[int, int] = {}
    for _, used in kept:
        for i in used:
            order.setdefault(i, len(order) + 1)
    text = " ".join(f"{claim} " + "".join(f"[{order[i]}]" for i in used) for claim, used in kept)
    cites = [_renumber(sources[i], n) for i, n in order.items()]
    return text, cites


def _strip_markers(piece: str) -> str:
    return _MARKERS.sub(" ", piece).replace(" .", ".").strip()


def _renumber(c: Citation, n: int) -> Citation:
    return Citation(n, c.article_id, c.title, c.url, c.published, c.source, c.text, c.start, c.end)
