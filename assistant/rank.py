"""Sentence ranking: the sentences of the found chunks, scored for the question."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.search import RankedChunk, near_duplicate
from index.lexical import Lexical

# Sentence score = cosine to the question + these weights, chosen on ../shared/data/dev:
W_LEXICAL = 0.5  # share of the question's IDF weight found in the sentence
W_TITLE = 0.25  # the same for the article's title
W_CHUNK = 0.3  # the fused rank of the chunk it came from
W_POSITION = 0.05  # news puts the essentials first ...
POSITION_SPAN = 30  # ... within its first sentences
W_RECENT = 0.3  # an article published in the days before the question ("this week") ...
RECENT_DAYS = 7.0  # ... weighs exp(-age / RECENT_DAYS) of it
EMBEDDED = 40  # sentences embedded per question (of ~100 in the found chunks): bounds latency
SENTENCES = 40  # ranked sentences kept
LEDE = 2  # an article's first sentences
LEDE_MATCH = 0.5  # ... that hold this share of the question's IDF weight
SAME_SENTENCE = 0.9  # share of words two sentences share when they say the same thing


@dataclass(frozen=True)
class RankedSentence:
    """A sentence that may be cited: its exact span in its article and its scores."""

    chunk: RankedChunk
    number: int  # its place in the article (0 = first sentence)
    start: int
    end: int
    text: str
    score: float
    similarity: float  # cosine to the question
    matched: float  # share of the question's IDF weight found in the sentence
    vector: Any = field(default=None, compare=False, repr=False)  # its embedding (unit length)
    headline: Any = field(default=None, compare=False, repr=False)  # its article title's, or None


def rank_sentences(
    query: str,
    chunks: Sequence[RankedChunk],
    lexical: Lexical,
    embedder: Embeddings,
    as_of: date | None,
    limit: int = SENTENCES,
    w_lede: float = 0.0,
    headlines: bool = False,
) -> list[RankedSentence]:
    """Sentences of the chunks ranked for the question, near-duplicates once; `w_lede` is added
    to the score of an article's first LEDE sentences that name what is asked (in news, they say
    what happened). With `headlines`, each also carries its article title's embedding (a news
    brief weighs sentences by the headlines: assistant/brief.py)."""
    seen: set[tuple[str, int]] = set()
    pieces: list[tuple[RankedChunk, int, int, int, str]] = []
    for chunk in chunks:
        for number, start, end, text in chunk.sentences():
            if (chunk.article_id, number) not in seen:
                seen.add((chunk.article_id, number))
                pieces.append((chunk, number, start, end, text))
    if not pieces:
        return []
    matched = lexical.overlap(query, [p[4] for p in pieces])
    prior = _prior(query, pieces, matched, lexical, as_of)
    prior += w_lede * ((np.array([p[1] for p in pieces]) < LEDE) & (matched >= LEDE_MATCH))
    # Only the sentences with the best cheap scores are embedded.
    keep = np.argsort(-prior, kind="stable")[:EMBEDDED]
    texts = [pieces[i][4] for i in keep]
    titles = list(dict.fromkeys(t for i in keep if (t := pieces[i][0].title))) if headlines else []
    vectors = np.array(embedder.embed_documents([*texts, *titles, query]))
    similarity = vectors[: len(texts)] @ vectors[-1]
    headline = dict(zip(titles, vectors[len(texts) : -1], strict=True))
    ranked = sorted(
        (
            RankedSentence(
                chunk,
                number,
                start,
                end,
                text,
                float(sim + prior[i]),
                float(sim),
                matched[i],
                vec,
                headline.get(chunk.title),
            )
            for i, sim, vec in zip(keep, similarity, vectors[: len(texts)], strict=True)
            for chunk, number, start, end, text in [pieces[i]]
        ),
        key=lambda s: s.score,
        reverse=True,
    )
    unique: list[RankedSentence] = []
    for sentence in ranked:
        if not any(near_duplicate(sentence.text, u.text, SAME_SENTENCE) for u in unique):
            unique.append(sentence)
        if len(unique) == limit:
            break
    return unique


def _prior(
    query: str,
    pieces: list[tuple[RankedChunk, int, int, int, str]],
    matched: np.ndarray,
    lexical: Lexical,
    as_of: date | None,
) -> np.ndarray:
    """Everything in a sentence's score but its cosine to the question."""
    chunks = [p[0] for p in pieces]
    top = max(c.score for c in chunks)
    titles = list(dict.fromkeys(c.title for c in chunks))  # each title scored once
    title_fit = dict(zip(titles, lexical.overlap(query, titles), strict=True))
    return (
        W_LEXICAL * matched
        + W_TITLE * np.array([title_fit[c.title] for c in chunks])
        + W_CHUNK * np.array([c.score / top for c in chunks])
        - W_POSITION * np.minimum([p[1] for p in pieces], POSITION_SPAN) / POSITION_SPAN
        + W_RECENT * np.array([recency(c.published, as_of) for c in chunks])
    )


def recency(published: str, as_of: date | None) -> float:
    """1 for an article of the day asked, decaying by days before it; 0 if undated or later."""
    if as_of is None or not published:
        return 0.0
    try:
        age = (as_of - date.fromisoformat(published)).days
    except ValueError:
        return 0.0
    return float(np.exp(-age / RECENT_DAYS)) if age >= 0 else 0.0
