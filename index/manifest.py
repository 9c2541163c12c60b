"""The manifest: the segments an index is made of, what each removes, and what it was built with.

One JSON document, replaced in one step (index/store.py): `manifest.json` in a folder index, the
one record of `news-manifest` on a Chroma server. Readers and builds use the frozen `Manifest`;
its JSON layout is below (`to_json`), and anything else is refused in one line.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from index.chunk import ChunkSettings
from index.errors import IndexDamaged, IndexMismatch

FORMAT = 2


@dataclass(frozen=True)
class Part:
    """One segment of an index, and the articles of older segments it replaces or removes."""

    id: str
    removes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Manifest:
    """What an index is: its segments (oldest first) and the settings and counts of its build."""

    embedding_model: str
    chunking: ChunkSettings
    parts: tuple[Part, ...]
    articles: int = 0
    sentences: int = 0
    chunks: int = 0
    built_at: str = ""
    generation: int = 1
    previous: tuple[str, ...] = ()  # the segments of the manifest this one replaced

    @property
    def segment_ids(self) -> list[str]:
        return [p.id for p in self.parts]

    def dropped(self) -> list[frozenset[str]]:
        """For each segment, the articles that later segments replaced or removed."""
        removes = [p.removes for p in self.parts]
        return [frozenset().union(*removes[i + 1 :]) for i in range(len(removes))]

    def kept(self) -> set[str]:
        """The segments a build must keep: this manifest's and its previous one's (readers may
        hold them)."""
        return set(self.segment_ids) | set(self.previous)

    def key(self) -> str:
        """A hash of the segments and what each removes: what the index's contents depend on."""
        parts = [[p.id, sorted(p.removes)] for p in self.parts]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:24]

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "embedding_model": self.embedding_model,
                "chunking": {
                    "max_chars": self.chunking.max_chars,
                    "overlap": self.chunking.overlap,
                },
                "built_at": self.built_at,
                "articles": self.articles,
                "sentences": self.sentences,
                "chunks": self.chunks,
                "segments": [{"id": p.id, "removes": sorted(p.removes)} for p in self.parts],
                "generation": self.generation,
                "previous": list(self.previous),
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str, where: str) -> Manifest:
        """The manifest in `text`, read from `where`; one clear line if it is not one."""
        try:
            data: Any = json.loads(text)
        except ValueError as error:
            raise _damaged(where, f"not JSON: {error}") from error
        if not isinstance(data, dict):
            raise _damaged(where, f"a JSON {type(data).__name__}, not an object")
        if data.get("format") != FORMAT:
            raise IndexMismatch(
                f"the index at {where} has an older layout: rebuild it with "
                "`assistant index SOURCE --full`"
            )
        try:
            chunking = data["chunking"]
            return cls(
                embedding_model=str(data["embedding_model"]),
                chunking=ChunkSettings(int(chunking["max_chars"]), int(chunking["overlap"])),
                parts=tuple(
                    Part(str(s["id"]), frozenset(map(str, s["removes"]))) for s in data["segments"]
                ),
                articles=int(data["articles"]),
                sentences=int(data["sentences"]),
                chunks=int(data["chunks"]),
                built_at=str(data.get("built_at", "")),
                generation=int(data.get("generation", 1)),
                previous=tuple(map(str, data.get("previous", ()))),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise _damaged(where, f"{type(error).__name__}: {error}") from error


def _damaged(where: str, why: str) -> IndexDamaged:
    return IndexDamaged(
        f"the manifest of the index at {where} is damaged ({why}): rebuild it with "
        "`assistant index SOURCE --full`"
    )
