"""A segment: one immutable set of articles and their chunks in two Chroma collections, and the
round trip of their records (what is stored with an article and a chunk, and how it is read back).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from index.chunk import Chunk
from index.copies import KEY, outlet, wire
from index.filters import published_number
from index.load import Article
from index.sentences import Sentence
from index.statements import quotable

PAGE = 5000  # records read from Chroma in one call (one `get()` of more fails past ~32,000)
WRITE_BATCH = 1000  # records written in one call (Chroma's limit is about 5,500)


class Entry(NamedTuple):
    """One article of the catalogue."""

    content_hash: str
    path: str
    url: str
    text_hash: str
    title: str
    sentences: int
    chunks: int
    source: str = ""
    copy_of: str = ""  # a copy (index/copies.py): the article it copies; it has no chunks
    signature: str = ""  # its MinHash (index/copies.py); "" in an index built before them


def text_hash(text: str) -> str:
    """Hash of an article's text with white space folded, to spot the same text twice."""
    import hashlib

    return hashlib.sha256(" ".join(text.split()).lower().encode()).hexdigest()


def new_segment_id() -> str:
    """A segment id that sorts by time."""
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"


# An article, its sentences, its chunks and their vectors, ready to store.
Embedded = tuple[Article, Sequence[Sentence], Sequence[Chunk], Sequence[Sequence[float]]]


class Segment:
    """One segment: its articles (texts, sentence offsets) and its chunks (vectors)."""

    def __init__(self, id: str, client: Any, prefix: str = "", on_close: Any = None):
        self.id = id
        self._client = client
        self._on_close = on_close
        self.chunks = client.get_or_create_collection(
            f"{prefix}chunks", embedding_function=None, metadata={"hnsw:space": "cosine"}
        )
        # Articles are looked up by id only; Chroma wants a vector per record: one number.
        self.articles = client.get_or_create_collection(
            f"{prefix}articles", embedding_function=None
        )
        # The story of each article it embeds, with the vector it was grouped by (stories.py).
        self.stories = client.get_or_create_collection(
            f"{prefix}stories", embedding_function=None, metadata={"hnsw:space": "cosine"}
        )

    def add(self, batch: Sequence[Embedded], signatures: Mapping[str, str]) -> None:
        """Store articles with their sentences, embedded chunks and MinHash `signatures`."""
        if not batch:
            return
        self.articles.upsert(
            ids=[a.id for a, _, _, _ in batch],
            embeddings=[[0.0] for _ in batch],
            documents=[a.text for a, _, _, _ in batch],
            metadatas=[
                _article_metadata(a, s, len(c), signatures.get(a.id, "")) for a, s, c, _ in batch
            ],
        )
        chunks = [(a, c, v) for a, _, cs, vs in batch for c, v in zip(cs, vs, strict=True)]
        seen = int(time.time())  # when the index first had them: "what is new since"
        wires = {a.id: wire(a.text) for a, _, _, _ in batch}
        if chunks:
            self.chunks.upsert(
                ids=[c.id for _, c, _ in chunks],
                embeddings=[list(v) for _, _, v in chunks],
                documents=[c.text for _, c, _ in chunks],
                metadatas=[_chunk_metadata(a, c, seen, wires[a.id]) for a, c, _ in chunks],
            )

    def add_copies(self, copies: Sequence[tuple[Article, str]]) -> None:
        """Store copies of other articles (index/copies.py), each with the id of the article it
        copies: their metadata (the catalogue keeps them), no text, no sentences, no chunks.
        `copy` marks them for a `where` (Chroma's `$ne` also matches records without the key)."""
        for start in range(0, len(copies), WRITE_BATCH):
            batch = copies[start : start + WRITE_BATCH]
            self.articles.upsert(
                ids=[a.id for a, _ in batch],
                embeddings=[[0.0] for _ in batch],
                documents=["" for _ in batch],
                metadatas=[
                    {**_article_metadata(a, [], 0), "copy_of": o, "copy": 1} for a, o in batch
                ],
            )

    def add_stories(self, records: Sequence[tuple[str, Any, dict[str, Any]]]) -> None:
        """Store (article id, vector, metadata) stories records (index/stories.py)."""
        for start in range(0, len(records), WRITE_BATCH):  # Chroma refuses ~5,500 at once
            batch = records[start : start + WRITE_BATCH]
            self.stories.upsert(
                ids=[i for i, _, _ in batch],
                embeddings=[[float(x) for x in v] for _, v, _ in batch],
                metadatas=[m for _, _, m in batch],
            )

    def all(
        self, collection: Any, documents: bool, where: dict[str, Any] | None = None
    ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(id, document or "", metadata) of every record of `collection` (that matches
        `where`), a page at a time."""
        include = ["documents", "metadatas"] if documents else ["metadatas"]
        for got in pages(collection, include, where):
            docs = got["documents"] if documents else [""] * len(got["ids"])
            yield from zip(got["ids"], docs, got["metadatas"], strict=True)

    def close(self) -> None:
        """Release this segment's client (local: its files and its reader's lock)."""
        if self._on_close is not None:
            self._on_close()


def pages(
    collection: Any, include: list[str], where: dict[str, Any] | None = None, size: int = PAGE
) -> Iterator[dict[str, Any]]:
    """`collection.get` of every record (that matches `where`), `size` records a call."""
    offset = 0
    while True:
        got = collection.get(include=include, where=where, limit=size, offset=offset)
        yield got
        if len(got["ids"]) < size:
            return
        offset += size


def _article_metadata(
    article: Article, sentences: Sequence[Sentence], chunks: int, signature: str = ""
) -> dict:
    meta = {
        "title": article.title,
        "url": article.url,
        "published": article.published,
        "source": article.source,
        "path": article.path,
        "content_hash": article.content_hash,
        "text_hash": text_hash(article.text),
        "sentences": json.dumps([[s.start, s.end] for s in sentences]),
        "chunks": chunks,
    }
    return meta | {KEY: signature} if signature else meta  # none: too short to tell copies by


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as stored: its text, its article's metadata, its sentences' numbers and offsets
    (into the article's text). `_chunk_metadata` writes what `from_record` reads."""

    id: str
    article_id: str
    title: str
    url: str
    published: str
    source: str
    text: str
    sentence_numbers: tuple[int, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    quotable: tuple[bool, ...]  # for each sentence: whether it states something (statements.py)
    seen: int = 0  # when it was indexed (Unix time; 0: an index built before it was kept)
    wire: str = ""  # the wire service whose story its article is (index/copies.py), else ""

    @classmethod
    def from_record(cls, id: str, document: str, meta: dict[str, Any]) -> StoredChunk:
        starts, ends = tuple(meta["starts"]), tuple(meta["ends"])
        if "quotable" in meta:
            flags = tuple(meta["quotable"])
        else:  # built before sentences were told apart: told apart now, from the chunk alone
            local = [
                Sentence(n, s - starts[0], e - starts[0])
                for n, (s, e) in enumerate(zip(starts, ends, strict=True))
            ]
            flags = tuple(quotable(document, local, str(meta["title"])))
        return cls(
            id=id,
            article_id=str(meta["article_id"]),
            title=str(meta["title"]),
            url=str(meta["url"]),
            published=str(meta["published"]),
            source=str(meta["source"]),
            text=document,
            sentence_numbers=tuple(meta["sentence_ids"]),
            starts=starts,
            ends=ends,
            quotable=flags,
            seen=int(meta.get("seen_ts") or 0),
            wire=str(meta.get("wire") or ""),
        )

    @property
    def outlet(self) -> str:
        """Its article's publisher (index/copies.py: the source, else the registered domain)."""
        return outlet(self.source, self.url)

    @property
    def reporter(self) -> str:
        """Who reported it independently: the wire service of a wire story, else its outlet."""
        return self.wire or self.outlet

    def sentences(self) -> list[tuple[int, int, int, str]]:
        """(number, start, end, text) of each of its sentences that may be quoted."""
        offset = self.starts[0]
        return [
            (n, start, end, self.text[start - offset : end - offset])
            for n, start, end, ok in zip(
                self.sentence_numbers, self.starts, self.ends, self.quotable, strict=True
            )
            if ok
        ]


def _chunk_metadata(article: Article, chunk: Chunk, seen: int, service: str) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "article_id": article.id,
        "chunk": chunk.n,
        "title": article.title,
        "url": article.url,
        "published": article.published,
        "published_ts": published_number(article.published),
        "source": article.source,
        "sentence_ids": [s.n for s in chunk.sentences],
        "starts": [s.start for s in chunk.sentences],
        "ends": [s.end for s in chunk.sentences],
        "quotable": [s.quotable for s in chunk.sentences],
        "seen_ts": seen,
    }
    return meta | {"wire": service} if service else meta


def entry_of(meta: dict[str, Any]) -> Entry:
    return Entry(
        str(meta["content_hash"]),
        str(meta["path"]),
        str(meta["url"]),
        str(meta["text_hash"]),
        str(meta["title"]),
        len(json.loads(str(meta["sentences"]))),
        int(meta["chunks"]),
        str(meta.get("source") or ""),
        str(meta.get("copy_of") or ""),
        str(meta.get(KEY) or ""),
    )
