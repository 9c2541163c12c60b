"""The Assistant: the chain (Question -> Answer) over one index, and what the UI may read of it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableLambda

from assistant.config import Settings
from assistant.question import Question
from assistant.result import Answer
from assistant.retrieve import CONTEXT_CHARS, Retrieval, retrieve
from assistant.search import Searcher
from assistant.write import write
from index.embed import default_embedder
from index.errors import IndexDamaged, IndexMismatch, NewsAssistantError
from index.lexical import prune
from index.load import Article
from index.manifest import Manifest
from index.places import Folder, Place, Server
from index.sentences import Sentence
from index.store import current, open_index

SAMPLE_ARTICLES = 40  # articles read for the example questions
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Library:
    """What the index holds, for the status line, the filters and example questions."""

    manifest: Manifest
    sources: tuple[str, ...]
    sample: tuple[Article, ...]  # some articles, newest first


class Assistant:
    """Retrieval and writing over one index; `chain` (Question -> Answer) is what `answer` calls.

    `embedder` is the index's model (the query's vector for its chunks). `sentence_embedder`
    embeds the sentences ranked for a question: by default `embedder` when one is given, else
    the default model with int8 weights. Embedding ~40 sentences is most of an answer's time
    and int8 does it ~1.8x faster, as well (dev and scale, 801 questions: the gold answer in
    context 436 times against 434 with fp32, in the citations 306 against 304).
    `check_embedder` checks a written answer against its sources: by default `embedder`; a
    static chunk model (index/static.py) is too coarse for that check.
    """

    def __init__(
        self,
        index: Path | Place,
        embedder: Embeddings | None = None,
        llm: BaseChatModel | None = None,
        sentence_embedder: Embeddings | None = None,
        source_chars: int = Settings.llm_source_chars,
        check_embedder: Embeddings | None = None,
    ):
        self.place = index if isinstance(index, Place) else Folder(Path(index))
        self.embedder = embedder or default_embedder()
        self.check_embedder = check_embedder or self.embedder
        self.sentence_embedder = sentence_embedder or embedder or default_embedder(quantize=True)
        self.llm = llm
        # A model reads fewer sentences than the quoted answer chooses from: prompt time.
        self.context_chars = source_chars if llm is not None else CONTEXT_CHARS
        self._searcher: Searcher | None = None
        self._users: dict[Searcher, int] = {}  # queries running on each open searcher
        self._lock = threading.Lock()
        self._opening: threading.Thread | None = None  # a newer index being opened
        # A newer index that cannot be opened until someone acts (another model, damaged).
        self._refused: tuple[Manifest, NewsAssistantError] | None = None
        self.chain: Runnable[Question, Answer] = (
            RunnableLambda(self.retrieve) | RunnableLambda(self.write)
        ).with_config(run_name="news-assistant")

    def retrieve(self, question: Question) -> Retrieval:
        """Ranked sentences, the numbered context and whether they cover the question."""
        with self.searcher() as searcher:
            return retrieve(
                question, searcher, self.sentence_embedder, self.llm, self.context_chars
            )

    def write(self, found: Retrieval) -> Iterator[Answer]:
        """Versions of the answer, the last one final (see `assistant.write`)."""
        yield from write(found, self.llm, self.check_embedder)

    @contextmanager
    def searcher(self) -> Iterator[Searcher]:
        """The searcher over the current index, held for the block.

        A build replaces the manifest; the next query starts opening the new index in the
        background and is answered by the old one, as are the queries after it until the new one
        is ready: questions never wait for an update. The old index is closed when the last
        query that holds it is done, never under a running query. A Chroma server that does not
        answer is one IndexProblem line; the next query tries again. A new index that cannot be
        used as it is (built with another model, damaged) is that error, at every query.
        """
        with self._lock:
            manifest = current(self.place)
            if self._refused is not None and self._refused[0] == manifest:
                raise self._refused[1]
            if self._searcher is None:  # nothing to answer with meanwhile: wait for it
                self._searcher = self._open(manifest)
                self._users[self._searcher] = 0
            elif self._searcher.index.manifest != manifest and self._opening is None:
                self._opening = threading.Thread(
                    target=self._switch, args=(manifest,), name="open-index", daemon=True
                )
                self._opening.start()
            held = self._searcher
            self._users[held] += 1
        try:
            yield held
        finally:
            with self._lock:
                self._users[held] -= 1
                if held is not self._searcher and self._users[held] == 0:
                    self._release(held)

    def refresh(self) -> None:
        """Open the current index now and wait for it (after this process's own update); its
        error if it cannot be opened."""
        while True:
            with self.searcher() as held:  # starts opening the current index if it is newer
                opening = self._opening
                if opening is None and held.index.manifest == current(self.place):
                    return
            if opening is None:  # it failed: a transient error, which the next try shows
                self._switch(current(self.place), raise_errors=True)
            else:
                opening.join()

    def _switch(self, manifest: Manifest, raise_errors: bool = False) -> None:
        """Open the index of `manifest` and make it the one new queries use. If it cannot be
        opened for now (a segment dropped by yet another build, a server gone), the old one goes
        on answering and the next query tries again."""
        try:
            searcher = self._open(manifest)
        except Exception as error:
            with self._lock:
                self._opening = None
                if isinstance(error, IndexMismatch | IndexDamaged):
                    self._refused = (manifest, error)
            if raise_errors:
                raise
            log.warning("could not open the new index at %s: %s", self.place.name, error)
            return
        with self._lock:
            old, self._searcher = self._searcher, searcher
            self._users[searcher] = 0
            if old is not None and self._users[old] == 0:
                self._release(old)
            self._opening = None
        if isinstance(self.place, Server) and old is not None:  # this machine's own cache
            prune(self.place.bm25_dir, [manifest, old.index.manifest], older_than=3600)

    def _release(self, searcher: Searcher) -> None:
        del self._users[searcher]
        searcher.close()

    def _open(self, manifest: Manifest) -> Searcher:
        built_with = manifest.embedding_model
        using = getattr(self.embedder, "name", built_with)
        if built_with != using:
            raise IndexMismatch(
                f"the index at {self.place.name} was built with the embedding model "
                f"{built_with!r}, not {using!r}: use that model or rebuild with "
                "`assistant index --full`"
            )
        index = open_index(self.place, manifest)
        try:
            searcher = Searcher(index, self.embedder)
        except BaseException:
            index.close()
            raise
        return searcher

    def article(self, article_id: str) -> tuple[Article, list[Sentence]] | None:
        """An article of the current build with its sentences, or None."""
        with self.searcher() as searcher:
            return searcher.index.article(article_id)

    def library(self) -> Library:
        """The current build's manifest, sources and a sample of its articles."""
        with self.searcher() as searcher:
            index = searcher.index
            ids = sorted(set(searcher.lexical.article_ids))[:SAMPLE_ARTICLES]
            articles = (found[0] for found in map(index.article, ids) if found)
            sample = sorted(articles, key=lambda a: a.published, reverse=True)
            sources = sorted(set(searcher.lexical.sources) - {""})
            return Library(index.manifest, tuple(sources), tuple(sample))
