"""Chunk search over one build: dense + BM25 fused by rank, the question's days searched again,
wire copies kept once, each chunk with the other outlets that carried its article."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
from langchain_core.embeddings import Embeddings

from index.filters import Filters, day_number, where
from index.lexical import WORD, Lexical, open_lexical
from index.store import Index, StoredChunk

RRF_K = 60  # the usual reciprocal-rank-fusion constant
# Chunks whose sentences are ranked for a question: 30 since a fifth of sentences (headings,
# questions ...) are never quoted (20 before; on the 726 scale questions, 20 / 25 / 30 put the
# answer in the context 0.523 / 0.523 / 0.526, p50 134 / 140 / 149 ms).
CHUNKS = 30
POOL = 40  # depth of each ranking that is fused
# A second ranking of the articles of the WINDOW_DAYS before the question (and the day after:
# publication dates lag) is fused in at W_WINDOW: a question about this week is answered from
# this week's articles, not only from older ones that share its words. Its BM25 half searches the
# whole window; its dense half keeps the window's chunks among the WINDOW_POOL nearest of the whole
# index (Chroma's date-filtered search took ~40 ms a question; this, 2 ms).
WINDOW_DAYS = 14
W_WINDOW = 0.5
WINDOW_POOL = 400
# Share of words two chunks of different articles share when one is a reprint. The build indexes
# a near-copy of a story once (index/copies.py): this catches the copies it keeps apart (a
# localised version, an update with a new lede, one of an index built before it).
WIRE_COPY = 0.8


@dataclass(frozen=True)
class RankedChunk(StoredChunk):
    """A chunk found for a question, with its fused score and the other outlets that carried
    its article (`Index.outlets`)."""

    score: float = 0.0
    also: tuple[str, ...] = ()


@lru_cache(maxsize=8192)  # each text is compared with many others
def _word_set(text: str) -> frozenset[str]:
    return frozenset(WORD.findall(text.lower()))


def near_duplicate(a: str, b: str, threshold: float) -> bool:
    """True when two texts share at least `threshold` of the shorter one's words."""
    wa, wb = _word_set(a), _word_set(b)
    if not wa or not wb:
        return False
    return len(wa & wb) / min(len(wa), len(wb)) >= threshold


def window(filters: Filters, as_of: date, days: int = WINDOW_DAYS) -> Filters | None:
    """`filters` narrowed to the `days` before `as_of` and the day after (None: nothing left)."""
    start = max(as_of, date.min + timedelta(days)) - timedelta(days)
    end = min(as_of, date.max - timedelta(1)) + timedelta(1)
    since = max(filters.since or start, start)
    until = min(filters.until or end, end)
    return Filters(since, until, filters.sources) if since <= until else None


class Searcher:
    """Search over one index (a manifest's segments); `index` also serves articles."""

    def __init__(self, index: Index, embedder: Embeddings):
        """`embedder` is the model the index's chunks were embedded with."""
        self.index = index
        self.lexical: Lexical = open_lexical(index)
        self.embedder = embedder
        self.published = dict(
            zip(self.lexical.ids, self.lexical.published_ts.tolist(), strict=True)
        )
        # Who carried which story (Index.outlets) is read now, as the index opens (in the
        # background: assistant/chain.py), not at the first question (~0.25 s a process).
        index.carrying()

    def close(self) -> None:
        """Release the index."""
        self.index.close()

    def chunks(
        self,
        query: str,
        filters: Filters,
        as_of: date | None,
        k: int = CHUNKS,
        pool: int = POOL,
        w_window: float = W_WINDOW,
    ) -> list[RankedChunk]:
        """The `k` best chunks by fused dense + BM25 rank, wire copies removed.

        With `as_of`, the articles of the WINDOW_DAYS before it get a ranking of their own.
        """
        vector = self.embedder.embed_query(query)
        # A coarser model's ranking (the static one: index/static.py) counts for less.
        dense_weight = float(getattr(self.embedder, "fusion_weight", 1.0))
        recent = window(filters, as_of) if as_of else None
        dense = self._dense(vector, filters, WINDOW_POOL if recent else pool, pool)
        rankings = [(dense_weight, dense[:pool]), (1.0, self._lexical(query, filters, pool))]
        if recent is not None:
            in_window = self._of_days(dense, recent)[:pool]
            rankings += [
                (w_window * dense_weight, in_window),
                (w_window, self._lexical(query, recent, pool)),
            ]
        fused: dict[str, float] = {}
        for weight, ranking in rankings:
            for rank, cid in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + weight / (RRF_K + rank)
        # Twice as many as wanted are read: wire copies of a kept chunk are skipped below.
        order = sorted(fused, key=fused.__getitem__, reverse=True)[: k * 2]
        return self._distinct(order, fused, k) if order else []

    def with_ledes(self, chunks: list[RankedChunk]) -> list[RankedChunk]:
        """`chunks` and the first chunk of each of their articles, scored as the article's best
        chunk: news says what happened first."""
        best: dict[str, RankedChunk] = {}
        for chunk in chunks:
            best.setdefault(chunk.article_id, chunk)
        have = {c.id for c in chunks}
        wanted = [f"{a}:0" for a in best if f"{a}:0" not in have]
        ledes = self.index.chunks_by_id(wanted) if wanted else {}
        added = [
            RankedChunk(
                **vars(lede),
                score=best[lede.article_id].score,
                also=self.index.outlets(lede.article_id),
            )
            for lede in ledes.values()
        ]
        return sorted([*chunks, *added], key=lambda c: c.score, reverse=True)

    def _dense(self, vector: list[float], filters: Filters, depth: int, pool: int) -> list[str]:
        """The `depth` nearest chunks that pass the filters. Dates are checked here on the
        WINDOW_POOL nearest of all (Chroma's date-filtered search took ~0.9 s a question on 6,315
        articles); Chroma filters only when too few of those are of the dates asked."""
        if filters.since is None and filters.until is None:
            return self.index.nearest(vector, depth, self._where(filters))
        nearest = self.index.nearest(
            vector, max(depth, WINDOW_POOL), self._where(Filters(sources=filters.sources))
        )
        dated = self._of_days(nearest, filters)
        if len(dated) >= pool:
            return dated[:depth]
        return self.index.nearest(vector, depth, self._where(filters))

    def _where(self, filters: Filters) -> dict | None:
        """The filters as a Chroma `where`; sources take the stories they carried copies of
        (the copies have no chunks: index/copies.py)."""
        carried = self.index.carried_by(filters.sources) if filters.sources else frozenset()
        if not carried:
            return where(filters)
        either = {
            "$or": [
                {"source": {"$in": sorted(filters.sources)}},
                {"article_id": {"$in": sorted(carried)}},
            ]
        }
        dated = where(Filters(filters.since, filters.until))
        return {"$and": [dated, either]} if dated else either

    def _of_days(self, ids: list[str], filters: Filters) -> list[str]:
        """The chunks of `ids` published between the filters' dates (undated ones are of no
        day)."""
        low = day_number(filters.since) or 1
        high = day_number(filters.until) or 99999999
        return [cid for cid in ids if low <= self.published[cid] <= high]

    def _distinct(self, order: list[str], fused: dict[str, float], k: int) -> list[RankedChunk]:
        stored = self.index.chunks_by_id(order)
        kept: list[RankedChunk] = []
        for cid in order:
            chunk = stored[cid]
            if any(
                p.article_id != chunk.article_id and near_duplicate(chunk.text, p.text, WIRE_COPY)
                for p in kept
            ):
                continue
            also = self.index.outlets(chunk.article_id)
            kept.append(RankedChunk(**vars(chunk), score=fused[cid], also=also))
            if len(kept) == k:
                break
        return kept

    def _lexical(self, query: str, filters: Filters, pool: int) -> list[str]:
        mask = None
        if filters != Filters():
            since, until = day_number(filters.since), day_number(filters.until)
            mask = self.lexical.mask(since, until, filters.sources)
            if carried := self.index.carried_by(filters.sources) if filters.sources else None:
                of_carried = np.isin(self.lexical.article_ids, sorted(carried))
                mask = np.maximum(mask, self.lexical.mask(since, until) * of_carried)
        return [cid for cid, _ in self.lexical.search(query, pool, mask)]
