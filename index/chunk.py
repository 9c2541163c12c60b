"""Article -> chunks: runs of whole sentences with overlap (pure functions)."""

from __future__ import annotations

from dataclasses import dataclass

from index.load import Article
from index.sentences import Sentence


@dataclass(frozen=True)
class ChunkSettings:
    """How articles are cut; recorded in the index so a reader can tell a mismatch."""

    max_chars: int = 700
    overlap: int = 1  # sentences shared with the previous chunk


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences of one article."""

    article_id: str
    n: int
    sentences: tuple[Sentence, ...]
    text: str  # the article's text from the first sentence's start to the last one's end

    @property
    def id(self) -> str:
        """Deterministic id: `article:chunk`."""
        return f"{self.article_id}:{self.n}"


def embedding_text(article: Article, chunk: Chunk) -> str:
    """What is embedded: title and date give a chunk its context."""
    header = f"{article.title} ({article.published})" if article.published else article.title
    return f"{header}\n{chunk.text}"


def chunk_article(
    article: Article, sentences: list[Sentence], settings: ChunkSettings = ChunkSettings()
) -> list[Chunk]:
    """Greedy runs of sentences up to `max_chars`, each starting `overlap` sentences back."""
    chunks: list[Chunk] = []
    first = 0
    while first < len(sentences):
        last = first
        while (
            last + 1 < len(sentences)
            and sentences[last + 1].end - sentences[first].start <= settings.max_chars
        ):
            last += 1
        run = tuple(sentences[first : last + 1])
        text = article.text[run[0].start : run[-1].end]
        chunks.append(Chunk(article.id, len(chunks), run, text))
        if last + 1 >= len(sentences):
            break
        first = max(first + 1, last + 1 - settings.overlap)
    return chunks
