"""BM25 over the chunks of a build (bm25s), saved beside the vectors so readers load it fast."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bm25s
import numpy as np
import Stemmer

if TYPE_CHECKING:
    from index.store import Store

FOLDER = "bm25"
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


def build(store: Store) -> None:
    """Index every chunk of `store` (title + text) and save it in the build folder."""
    ids: list[str] = []
    metas = []
    texts = []
    for chunk_id, text, meta in store.all_chunks():
        ids.append(chunk_id)
        metas.append(meta)
        texts.append(f"{meta['title']}\n{text}")
    folder = store.path / FOLDER
    folder.mkdir(exist_ok=True)
    if texts:
        bm25 = bm25s.BM25()
        bm25.index(tokenize(texts), show_progress=False)
        bm25.save(str(folder), show_progress=False)
    (folder / "rows.json").write_text(
        json.dumps(
            {
                "ids": ids,
                "published_ts": [int(m["published_ts"]) for m in metas],
                "sources": [str(m["source"]) for m in metas],
            }
        )
    )


def open_lexical(build_path: Path) -> Lexical:
    """Load the BM25 index saved by `build`."""
    folder = Path(build_path) / FOLDER
    rows = json.loads((folder / "rows.json").read_text())
    bm25 = bm25s.BM25.load(str(folder), mmap=False) if rows["ids"] else None
    return Lexical(bm25, rows["ids"], np.array(rows["published_ts"]), rows["sources"])
