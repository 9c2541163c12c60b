"""The check of a written answer: every sentence kept is supported by the sentences it cites."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.citations import MARKER, MARKERS, Citation, renumber
from index.sentences import split_sentences

SUPPORT = 0.55  # cosine between an answer sentence and a source that states it (chosen on dev)


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
    cites = [renumber(sources[i], n) for i, n in order.items()]
    return text, cites


def _strip_markers(piece: str) -> str:
    return MARKERS.sub(" ", piece).replace(" .", ".").strip()
