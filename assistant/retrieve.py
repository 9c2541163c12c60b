"""Question -> ranked passages (dense + BM25, fused, wire copies once) -> ranked sentences."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from index.lexical import Lexical, open_lexical
from index.store import Store, published_number

RRF_K = 60  # the usual reciprocal-rank-fusion constant
# Sentence score = cosine to the question + these weights, chosen on ../shared/data/dev:
W_LEXICAL = 0.5  # share of the question's IDF weight found in the sentence
W_TITLE = 0.25  # the same for the article's title
W_PASSAGE = 0.3  # the fused rank of the chunk it came from
W_POSITION = 0.05  # news puts the essentials first
W_RECENT = 0.3  # an article published in the days before the question ("this week") ...
RECENT_DAYS = 7.0  # ... weighs exp(-age / RECENT_DAYS) of it
# Retrieval fuses a second ranking of the articles of the WINDOW_DAYS before the question (and
# the day after: publication dates lag), at this weight: a question about this week is answered
# from this week's articles, not only from older ones that share its words. Its BM25 half
# searches the whole window; its dense half keeps the window's chunks among the WINDOW_POOL
# nearest of the whole index (Chroma's date-filtered search took ~40 ms a question; this, 2 ms).
WINDOW_DAYS = 14
W_WINDOW = 0.5
WINDOW_POOL = 400
EMBEDDED = 40  # sentences embedded per question (of ~100 in the retrieved chunks)
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Filters:
    """Which articles may answer: published date range (ISO, inclusive) and sources."""

    since: str = ""
    until: str = ""
    sources: frozenset[str] = frozenset()

    def where(self) -> dict[str, Any] | None:
        """The same filter for Chroma."""
        clauses: list[dict[str, Any]] = []
        if self.since:
            clauses.append({"published_ts": {"$gte": published_number(self.since)}})
        if self.until:
            clauses.append({"published_ts": {"$lte": published_number(self.until)}})
            clauses.append({"published_ts": {"$gt": 0}})
        if self.sources:
            clauses.append({"source": {"$in": sorted(self.sources)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def mask(self, lexical: Lexical) -> np.ndarray | None:
        """The same filter for BM25 (None: everything)."""
        if self == Filters():
            return None
        return lexical.mask(
            published_number(self.since), published_number(self.until), self.sources
        )

    def window(self, as_of: date, days: int) -> Filters | None:
        """These filters narrowed to the `days` before `as_of` and the day after it (None when
        nothing is left)."""
        start = (max(as_of, date.min + timedelta(days)) - timedelta(days)).isoformat()
        end = (min(as_of, date.max - timedelta(1)) + timedelta(1)).isoformat()
        since = max(self.since, start, key=published_number)
        until = min(self.until or end, end, key=published_number)
        if published_number(since) > published_number(until):
            return None
        return Filters(since, until, self.sources)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its article's metadata and its place in the fused ranking."""

    chunk_id: str
    article_id: str
    title: str
    url: str
    published: str
    source: str
    text: str
    sentence_ids: tuple[int, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    score: float


@dataclass(frozen=True)
class Candidate:
    """A sentence that may be cited, with its exact span in its article."""

    passage: Passage
    n: int
    start: int
    end: int
    text: str
    score: float
    similarity: float  # cosine to the question


@lru_cache(maxsize=8192)  # each text is compared with many others
def _word_set(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def near_duplicate(a: str, b: str, threshold: float = 0.8) -> bool:
    """True when two texts share most of their words (wire copies, reprints)."""
    wa, wb = _word_set(a), _word_set(b)
    if not wa or not wb:
        return False
    return len(wa & wb) / min(len(wa), len(wb)) >= threshold


class Searcher:
    """Retrieval over one build of the index."""

    def __init__(self, build: Path, embedder: Embeddings, ranker: Embeddings | None = None):
        """`embedder` is the index's model; `ranker` embeds the sentences ranked per question."""
        self.build = build
        self.store = Store(build)
        self.lexical: Lexical = open_lexical(build)
        self.embedder = embedder
        self.ranker = ranker or embedder
        self.published = dict(
            zip(self.lexical.ids, self.lexical.published_ts.tolist(), strict=True)
        )

    def close(self) -> None:
        """Release the index files."""
        self.store.close()

    def passages(
        self,
        query: str,
        k: int = 20,
        filters: Filters = Filters(),
        pool: int = 40,
        as_of: date | None = None,
    ) -> list[Passage]:
        """The `k` best chunks by fused dense + BM25 rank, wire copies removed.

        With `as_of`, the articles of the WINDOW_DAYS before it get a ranking of their own.
        """
        vector = self.embedder.embed_query(query)
        window = filters.window(as_of, WINDOW_DAYS) if as_of else None
        dense = self.store.chunks.query(
            query_embeddings=[vector],
            n_results=WINDOW_POOL if window else pool,
            where=filters.where(),
            include=[],
        )["ids"][0]
        rankings = [(1.0, dense[:pool]), (1.0, self._lexical(query, filters, pool))]
        if window is not None:
            low, high = published_number(window.since), published_number(window.until)
            recent = [cid for cid in dense if low <= self.published[cid] <= high][:pool]
            rankings += [(W_WINDOW, recent), (W_WINDOW, self._lexical(query, window, pool))]
        fused: dict[str, float] = {}
        for weight, ranking in rankings:
            for rank, cid in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + weight / (RRF_K + rank)
        order = sorted(fused, key=fused.__getitem__, reverse=True)[: k * 2]
        if not order:
            return []
        got = self.store.chunks.get(ids=order, include=["documents", "metadatas"])
        rows = {
            cid: (doc, meta)
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }
        kept: list[Passage] = []
        for cid in order:
            doc, meta = rows[cid]
            if any(
                near_duplicate(doc, p.text) and p.article_id != meta["article_id"] for p in kept
            ):
                continue
            kept.append(_passage(cid, doc, meta, fused[cid]))
            if len(kept) == k:
                break
        return kept

    def _lexical(self, query: str, filters: Filters, pool: int) -> list[str]:
        return [cid for cid, _ in self.lexical.search(query, pool, filters.mask(self.lexical))]

    def sentences(
        self, query: str, passages: Sequence[Passage], limit: int = 40, as_of: date | None = None
    ) -> list[Candidate]:
        """Sentences of the passages ranked for the question, near-duplicates once.

        `as_of` is the day the question is asked: articles of the days before it weigh more.
        """
        seen: dict[tuple[str, int], None] = {}
        pieces: list[tuple[Passage, int, int, int]] = []
        for passage in passages:
            for n, start, end in zip(
                passage.sentence_ids, passage.starts, passage.ends, strict=True
            ):
                if (passage.article_id, n) not in seen:
                    seen[(passage.article_id, n)] = None
                    pieces.append((passage, n, start, end))
        if not pieces:
            return []
        texts = [self._text(p, s, e) for p, _, s, e in pieces]
        top = max(p.score for p in passages)
        titles = list(dict.fromkeys(p.title for p in passages))  # each title scored once
        title_fit = dict(zip(titles, self.lexical.overlap(query, titles), strict=True))
        prior = (
            W_LEXICAL * self.lexical.overlap(query, texts)
            + W_TITLE * np.array([title_fit[p.title] for p, _, _, _ in pieces])
            + W_PASSAGE * np.array([p.score / top for p, _, _, _ in pieces])
            - W_POSITION * np.minimum([n for _, n, _, _ in pieces], 30) / 30
            + W_RECENT * np.array([recency(p.published, as_of) for p, _, _, _ in pieces])
        )
        # Only the sentences with the best cheap scores are embedded: it bounds the latency.
        keep = np.argsort(-prior, kind="stable")[:EMBEDDED]
        vectors = np.array(self.ranker.embed_documents([texts[i] for i in keep] + [query]))
        similarity = vectors[:-1] @ vectors[-1]
        ranked = sorted(
            (
                Candidate(p, n, start, end, texts[i], float(sim + prior[i]), float(sim))
                for i, sim in zip(keep, similarity, strict=True)
                for p, n, start, end in [pieces[i]]
            ),
            key=lambda c: c.score,
            reverse=True,
        )
        unique: list[Candidate] = []
        for cand in ranked:
            if not any(near_duplicate(cand.text, u.text, 0.9) for u in unique):
                unique.append(cand)
            if len(unique) == limit:
                break
        return unique

    def _text(self, passage: Passage, start: int, end: int) -> str:
        offset = passage.starts[0]
        return passage.text[start - offset : end - offset]


def recency(published: str, as_of: date | None) -> float:
    """1 for an article of the day asked, decaying by days before it; 0 if undated or later."""
    if as_of is None or not published:
        return 0.0
    try:
        age = (as_of - date.fromisoformat(published)).days
    except ValueError:
        return 0.0
    return float(np.exp(-age / RECENT_DAYS)) if age >= 0 else 0.0


def _passage(cid: str, doc: str, meta: dict[str, Any], score: float) -> Passage:
    return Passage(
        chunk_id=cid,
        article_id=str(meta["article_id"]),
        title=str(meta["title"]),
        url=str(meta["url"]),
        published=str(meta["published"]),
        source=str(meta["source"]),
        text=doc,
        sentence_ids=tuple(meta["sentence_ids"]),
        starts=tuple(meta["starts"]),
        ends=tuple(meta["ends"]),
        score=score,
    )
