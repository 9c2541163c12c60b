"""BM25 (bm25s) over the chunks of an index, made by each reader from the chunks' texts.

Chroma's own sparse index is refused by chromadb 1.5.9 both in a PersistentClient and by
`chroma run` ("Sparse vector indexing is not enabled in local"), so readers build BM25 in memory:
a segment never changes, so its tokenized rows are read once per process (`rows`) and a new
index after an update reads only its new segment.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import bm25s
import numpy as np
import Stemmer

WORD = re.compile(r"(?u)\b\w\w+\b")  # a word, as bm25s tokenises (its default pattern)
_STOPWORDS = frozenset(bm25s.stopwords.STOPWORDS_EN)


_local = threading.local()


def _stemmer() -> Any:
    """This thread's stemmer: a PyStemmer object must not be shared between threads."""
    if not hasattr(_local, "stemmer"):
        _local.stemmer = Stemmer.Stemmer("english")
    return _local.stemmer


def tokenize(texts: list[str]) -> Any:
    """Lower-cased, stemmed word tokens without English stop words."""
    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=False)


@lru_cache(maxsize=8192)  # the same sentences come back for related questions
def _terms(text: str) -> frozenset[str]:
    """The stemmed terms of one text, as BM25 sees them."""
    words = [w for w in WORD.findall(text.lower()) if w not in _STOPWORDS]
    return frozenset(_stemmer().stemWords(words))


@dataclass(frozen=True)
class Lexical:
    """A loaded BM25 index and the chunk ids and metadata its rows stand for."""

    bm25: Any
    ids: list[str]
    published_ts: np.ndarray
    sources: list[str]
    article_ids: list[str]

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Top `k` chunk ids with BM25 scores (> 0), optionally only where `mask` is 1."""
        if not self.ids:
            return []
        tokens = tokenize([query])
        if not tokens.vocab:
            return []
        docs, scores = self.bm25.retrieve(
            tokens, k=min(k, len(self.ids)), show_progress=False, weight_mask=mask, n_threads=1
        )
        return [(self.ids[d], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def overlap(self, query: str, texts: list[str]) -> np.ndarray:
        """Share of the query's IDF weight whose terms occur in each text (0..1)."""
        if self.bm25 is None or not texts:
            return np.zeros(len(texts))
        vocab = self.bm25.vocab_dict
        terms = {t for t in _terms(query) if t in vocab}
        if not terms:
            return np.zeros(len(texts))
        indptr = self.bm25.scores["indptr"]
        total = self.bm25.scores["num_docs"]
        df = {t: indptr[vocab[t] + 1] - indptr[vocab[t]] for t in terms}
        idf = {t: float(np.log(1 + (total - df[t] + 0.5) / (df[t] + 0.5))) for t in terms}
        weight = sum(idf.values()) or 1.0
        return np.array([sum(idf[t] for t in terms & _terms(x)) / weight for x in texts])

    def mask(self, since: int = 0, until: int = 0, sources: frozenset[str] = frozenset()) -> Any:
        """1 for chunks inside the date range (YYYYMMDD ints, 0 = open) and sources."""
        keep = np.ones(len(self.ids), dtype=np.float32)
        if since:
            keep *= self.published_ts >= since
        if until:
            keep *= (self.published_ts <= until) & (self.published_ts > 0)
        if sources:
            keep *= np.array([s in sources for s in self.sources], dtype=np.float32)
        return keep


@dataclass(frozen=True)
class Rows:
    """The chunks of one segment as BM25 needs them: their terms, dates and sources."""

    ids: list[str]
    article_ids: list[str]
    published_ts: list[int]
    sources: list[str]
    terms: list[list[str]]


def rows(chunks: Iterable[tuple[str, str, dict[str, Any]]]) -> Rows:
    """Rows of (id, text, metadata) chunks, their title and text tokenized."""
    got = Rows([], [], [], [], [])
    texts = []
    for chunk_id, text, meta in chunks:
        got.ids.append(chunk_id)
        got.article_ids.append(str(meta["article_id"]))
        got.published_ts.append(int(meta["published_ts"]))
        got.sources.append(str(meta["source"]))
        texts.append(f"{meta['title']}\n{text}")
    if texts:
        got.terms.extend(
            bm25s.tokenize(
                texts, stopwords="en", stemmer=_stemmer(), show_progress=False, return_ids=False
            )
        )
    return got


def open_lexical(parts: Iterable[tuple[Rows, frozenset[str]]]) -> Lexical:
    """One BM25 index over the rows of several segments, without their `dropped` articles."""
    ids: list[str] = []
    articles: list[str] = []
    published: list[int] = []
    sources: list[str] = []
    terms: list[list[str]] = []
    for part, dropped in parts:
        for i, article_id in enumerate(part.article_ids):
            if article_id not in dropped:
                ids.append(part.ids[i])
                articles.append(article_id)
                published.append(part.published_ts[i])
                sources.append(part.sources[i])
                terms.append(part.terms[i])
    bm25 = None
    if ids:
        bm25 = bm25s.BM25()
        bm25.index(terms, show_progress=False)
    return Lexical(bm25, ids, np.array(published, dtype=np.int64), sources, articles)
