"""answer(question, history=()) -> Answer: the public Python API over a LangChain Runnable."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from bm25s.stopwords import STOPWORDS_EN_PLUS
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableLambda

import prompts
from assistant.citations import Citation, check, citation, neutralise
from assistant.config import Settings
from assistant.llm import load_chat_model
from assistant.retrieve import Candidate, Filters, Searcher
from index.embed import default_embedder
from index.load import iso_date
from index.store import IndexMismatch, require_build

MAX_QUESTION_CHARS = 2000
CONTEXT_CHARS = 4000  # source sentences shown to an LLM (and measured by `assistant eval`)
EXTRACT_CHARS = 800  # cited text in an extractive answer
COVERED = 0.35  # best sentence's cosine to the question below which the articles do not cover it
NOT_COVERED = "The indexed articles do not cover this question."
_CITED_SENTENCE = re.compile(r".*?\[\d+\](?: |$)")  # one extracted sentence with its marker
_WORD = re.compile(r"[^\W\d_]{2,}")
_STOPWORDS = frozenset(STOPWORDS_EN_PLUS)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class QuestionError(ValueError):
    """The question cannot be asked as given; the message says why."""


@dataclass(frozen=True)
class Answer:
    """An answer whose `[n]` markers point to `citations[n-1]`."""

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    covered: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "question": self.question,
            "text": self.text,
            "covered": self.covered,
            "citations": [c.to_dict() for c in self.citations],
        }

    def to_json(self, **kwargs: Any) -> str:
        """The answer as JSON."""
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)


@dataclass(frozen=True)
class Turn:
    """One message of a conversation."""

    role: str  # "user" or "assistant"
    content: str


@dataclass(frozen=True)
class Retrieval:
    """What the answer is written from: the question asked of the index and ranked sentences."""

    question: str
    query: str
    candidates: tuple[Candidate, ...]
    context: tuple[Citation, ...] = ()
    history: tuple[Turn, ...] = ()
    relevance: float = 0.0  # best cosine of a top sentence to the question as asked

    @property
    def covered(self) -> bool:
        """Whether the retrieved sentences speak to the question at all."""
        return bool(self.candidates) and self.relevance >= COVERED


def clean_question(question: str) -> str:
    """The question without control characters; a clear error when it cannot be asked."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    text = " ".join(_CONTROL.sub(" ", question).split())
    if not text:
        raise QuestionError("the question is empty: ask something about the news articles")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"the question is {len(text):,} characters long; the limit is {MAX_QUESTION_CHARS:,}"
        )
    return text


def as_turns(history: Iterable[Any]) -> tuple[Turn, ...]:
    """Accept Turns, {"role", "content"} dicts (Gradio, OpenAI) or (user, assistant) pairs."""
    turns: list[Turn] = []
    for item in history or ():
        if isinstance(item, Turn):
            turns.append(item)
        elif isinstance(item, Mapping):
            turns.append(Turn(str(item.get("role", "user")), str(item.get("content") or "")))
        elif isinstance(item, Sequence) and len(item) == 2:
            turns += [Turn("user", str(item[0] or "")), Turn("assistant", str(item[1] or ""))]
    return tuple(t for t in turns if t.content.strip())


class Assistant:
    """Retrieval and writing over one index; `chain` is the Runnable that `answer` calls."""

    def __init__(
        self,
        index_dir: Path,
        embedder: Embeddings | None = None,
        llm: BaseChatModel | None = None,
        ranker: Embeddings | None = None,
    ):
        """`embedder`: the index's model. `ranker` embeds the sentences ranked for a question:
        by default `embedder` when one is given, else the default model with int8 weights.
        Embedding ~40 sentences is most of an answer's time and int8 does it ~1.8x faster, as
        well (dev and scale, 801 questions: the gold answer in context 436 times against 434
        with fp32, in the citations 306 against 304).
        """
        self.index_dir = Path(index_dir)
        self.embedder = embedder or default_embedder()
        self.ranker = ranker or embedder or default_embedder(quantize=True)
        self.llm = llm
        self._searcher: Searcher | None = None
        self._lock = threading.Lock()
        self.chain: Runnable[dict[str, Any], Answer] = (
            RunnableLambda(self.retrieve) | RunnableLambda(self.write)
        ).with_config(run_name="news-assistant")

    def searcher(self) -> Searcher:
        """The searcher over the current build, reopened when a rebuild has replaced it."""
        build = require_build(self.index_dir)
        with self._lock:
            if self._searcher is None or self._searcher.build != build:
                if self._searcher is not None:
                    self._searcher.close()
                searcher = Searcher(build, self.embedder, self.ranker)
                built_with = searcher.store.manifest.get("embedding_model")
                using = getattr(self.embedder, "name", built_with)
                if built_with != using:
                    searcher.close()
                    raise IndexMismatch(
                        f"the index at {self.index_dir} was built with the embedding model "
                        f"{built_with!r}, not {using!r}: use that model or rebuild with "
                        "`assistant index --full`"
                    )
                self._searcher = searcher
            return self._searcher

    def retrieve(self, request: Mapping[str, Any]) -> Retrieval:
        """Question (and history) -> ranked candidate sentences and the numbered context."""
        question = clean_question(request["question"])
        history = as_turns(request.get("history") or ())
        query = self.condense(question, history)
        filters = request.get("filters") or Filters()
        asked_on = _date(request.get("as_of"), "as_of")
        as_of = date.fromisoformat(asked_on) if asked_on else date.today()
        searcher = self.searcher()
        passages = searcher.passages(query, filters=filters, as_of=as_of)
        candidates = tuple(searcher.sentences(query, passages, as_of=as_of))
        return Retrieval(
            question,
            query,
            candidates,
            _context(candidates),
            history,
            self._relevance(question, query, candidates),
        )

    def _relevance(self, question: str, query: str, candidates: Sequence[Candidate]) -> float:
        """How well the best sentences fit the question itself, not only the joined query.

        A follow-up joined to the previous question would otherwise find the earlier topic even
        when it asks about something new that the articles do not cover; a bare follow-up
        ("Tell me more about that.") has no topic of its own and takes the conversation's.
        """
        top = candidates[:5]
        if not top:
            return 0.0
        joined = max(c.similarity for c in top)
        if query == question:
            return joined
        vectors = np.array(self.ranker.embed_documents([question] + [c.text for c in top]))
        alone = float((vectors[1:] @ vectors[0]).max())
        own_words = set(_WORD.findall(question.lower())) - _STOPWORDS
        return max(alone, joined) if alone >= COVERED or len(own_words) <= 1 else alone

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """A standalone question: rewritten by the LLM, else joined to the last question asked."""
        asked = [t.content for t in history if t.role == "user"]
        if not asked:
            return question
        if self.llm is None:
            return f"{asked[-1]} {question}"
        prompt = prompts.render(
            "condense_question", history=[t.__dict__ for t in history[-6:]], question=question
        )
        rewritten = str(self.llm.invoke(prompt).content).strip()
        return clean_question(rewritten.splitlines()[0]) if rewritten else question

    def write(self, found: Retrieval) -> Answer:
        """Write the answer from the ranked sentences: extractive, or the LLM then checked."""
        *_, final = self.stream_write(found)
        assert isinstance(final, Answer)
        return final

    def stream(self, request: Mapping[str, Any]) -> Iterator[str | Answer]:
        """Like `chain.invoke`, but yields the draft text as it is written, then the Answer."""
        yield from self.stream_write(self.retrieve(request))

    def stream_write(self, found: Retrieval) -> Iterator[str | Answer]:
        """Text pieces as they are written (LLM tokens or extracted sentences), then the Answer."""
        if not found.covered:
            yield Answer(found.question, NOT_COVERED, (), covered=False)
            return
        if self.llm is None:
            result = extractive(found)
            yield from _CITED_SENTENCE.findall(result.text)
            yield result
            return
        parts = []
        for chunk in self.llm.stream(prompt_for(found)):
            piece = str(chunk.content)
            parts.append(piece)
            yield piece
        draft = "".join(parts)
        if draft.strip().upper().startswith("NOT COVERED"):
            yield Answer(found.question, NOT_COVERED, (), covered=False)
            return
        text, cites = check(draft, found.context, self.embedder)
        yield Answer(found.question, text, tuple(cites)) if cites else extractive(found)


def _context(candidates: Sequence[Candidate]) -> tuple[Citation, ...]:
    """The best sentences up to CONTEXT_CHARS, numbered, grouped by article in reading order."""
    chosen, size = [], 0
    for cand in candidates:
        if size + len(cand.text) > CONTEXT_CHARS:
            break
        chosen.append(cand)
        size += len(cand.text)
    return tuple(citation(i + 1, c) for i, c in enumerate(_reading_order(chosen)))


def _reading_order(chosen: Sequence[Candidate]) -> list[Candidate]:
    """Articles in order of their best sentence; sentences in article order."""
    rank: dict[str, int] = {}
    for c in chosen:
        rank.setdefault(c.passage.article_id, len(rank))
    return sorted(chosen, key=lambda c: (rank[c.passage.article_id], c.n))


def prompt_for(found: Retrieval) -> str:
    """The answer prompt with the numbered source sentences."""
    return prompts.render("answer", sources=found.context, question=found.question)


def extractive(found: Retrieval, limit: int = EXTRACT_CHARS, most: int = 5) -> Answer:
    """A concise answer made of the best supporting sentences, each with its marker."""
    chosen: list[Candidate] = []
    size = 0
    for cand in found.candidates:
        if size + len(cand.text) > limit or len(cand.text) < 25:
            continue
        chosen.append(cand)
        size += len(cand.text)
        if len(chosen) == most:
            break
    ordered = _reading_order(chosen)
    cites = tuple(citation(i + 1, c) for i, c in enumerate(ordered))
    text = " ".join(f"{neutralise(c.text)} [{c.n}]" for c in cites)
    return Answer(found.question, text, cites)


_assistants: dict[tuple[str, str, str], Assistant] = {}
_assistants_lock = threading.Lock()


def get_assistant(
    index_dir: str | os.PathLike[str] | None = None, llm: str | None = None
) -> Assistant:
    """The cached Assistant for an index folder and LLM spec (built on first use)."""
    settings = Settings.from_env()
    folder = Path(index_dir).expanduser() if index_dir else settings.index_dir
    spec = settings.llm if llm is None else llm
    key = (str(folder.resolve()), spec, settings.embed_model)
    with _assistants_lock:
        if key not in _assistants:
            _assistants[key] = Assistant(
                folder,
                default_embedder(settings.embed_model),
                load_chat_model(spec),
                default_embedder(settings.embed_model, quantize=True),
            )
        return _assistants[key]


def answer(
    question: str,
    history: Iterable[Any] = (),
    *,
    index_dir: str | os.PathLike[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    sources: Iterable[str] | None = None,
    llm: str | None = None,
    as_of: str | None = None,
) -> Answer:
    """Answer a question from the indexed articles, citing the exact source sentences.

    `as_of` (default: today) is the day the question is asked: for questions about "this
    week", articles published in the days before it weigh more.
    """
    filters = Filters(_date(since, "since"), _date(until, "until"), frozenset(sources or ()))
    assistant = get_assistant(index_dir, llm)
    return assistant.chain.invoke(
        {
            "question": question,
            "history": list(history),
            "filters": filters,
            "as_of": as_of,
        }
    )


def _date(value: str | None, name: str) -> str:
    if not value:
        return ""
    iso = iso_date(value)
    if not iso:
        raise QuestionError(f"{name} must be a date like 2024-02-01, not {value!r}")
    return iso


__all__ = ["Answer", "Assistant", "Citation", "QuestionError", "Turn", "answer"]
