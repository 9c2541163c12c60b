"""answer(question, history=()) -> Answer: the public Python API over a LangChain Runnable."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.citations import Citation
from assistant.config import Settings
from assistant.question import Question, QuestionError, Turn

if TYPE_CHECKING:
    from assistant.chain import Assistant

NOT_COVERED = "The indexed articles do not cover this question."


@dataclass(frozen=True)
class Revision:
    """What the check did to one sentence a model wrote."""

    action: str  # "re-cited" or "dropped"
    sentence: str  # as the model wrote it, markers removed
    reason: str  # e.g. "not supported by the sources"

    def to_dict(self) -> dict[str, str]:
        """Plain data for JSON."""
        return {"action": self.action, "sentence": self.sentence, "reason": self.reason}


@dataclass(frozen=True)
class Answer:
    """An answer whose `[n]` markers point to `citations[n-1]`.

    `draft` marks a version still being written (streamed before the final one); a draft
    written by a model is unchecked and its markers number the context (`Citation.n`).
    """

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    covered: bool = True
    draft: bool = False
    revisions: tuple[Revision, ...] = ()  # sentences of a written answer re-cited or dropped
    note: str = ""  # why a model's answer was not used, when it was not

    def __add__(self, later: Answer) -> Answer:
        """A later version of an answer replaces an earlier one (how LangChain folds a stream)."""
        return later

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "question": self.question,
            "text": self.text,
            "covered": self.covered,
            "citations": [c.to_dict() for c in self.citations],
            "revisions": [r.to_dict() for r in self.revisions],
            "note": self.note,
        }

    def to_json(self, **kwargs: Any) -> str:
        """The answer as JSON."""
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)


_assistants: dict[Settings, Assistant] = {}
_assistants_lock = threading.Lock()


def get_assistant(settings: Settings) -> Assistant:
    """The cached Assistant for these settings (built on first use)."""
    from assistant.chain import Assistant
    from assistant.llm import load_chat_model
    from index.embed import default_embedder
    from index.static import chunk_embedder
    from index.store import place

    key = replace(settings, index_dir=settings.index_dir.resolve(), auth="")
    with _assistants_lock:
        if key not in _assistants:
            _assistants[key] = Assistant(
                place(key.index_dir, key.chroma_url, key.cache_dir),
                chunk_embedder(key.embed_model, key.chunk_vectors, key.cache_dir),
                load_chat_model(key),
                default_embedder(key.embed_model, quantize=True, cache_dir=key.cache_dir),
                key.llm_source_chars,
                check_embedder=default_embedder(key.embed_model, cache_dir=key.cache_dir),
            )
        return _assistants[key]


def answer(
    question: str,
    history: Any = (),
    *,
    index_dir: str | Path | None = None,
    chroma_url: str | None = None,
    since: str | None = None,
    until: str | None = None,
    sources: Any = None,
    llm: str | None = None,
    as_of: str | None = None,
    settings: Settings | None = None,
) -> Answer:
    """Answer a question from the indexed articles, citing the exact source sentences.

    `history`: the conversation so far ({"role", "content"} dicts). `since`/`until`: published
    date range; `sources`: source names (one name or a list). `as_of` (default: today) is the
    day the question is asked: articles published in the days before it weigh more.
    `settings` defaults to `Settings.from_env()`; `index_dir`, `chroma_url` (an index on a
    Chroma server) and `llm` override it.
    """
    asked = Question.ask(question, history, since=since, until=until, sources=sources, as_of=as_of)
    settings = settings or Settings.from_env()
    settings = replace(
        settings,
        index_dir=Path(index_dir).expanduser() if index_dir else settings.index_dir,
        llm=settings.llm if llm is None else llm,
        chroma_url=settings.chroma_url if chroma_url is None else chroma_url,
    )
    return get_assistant(settings).chain.invoke(asked)


__all__ = [
    "NOT_COVERED",
    "Answer",
    "Citation",
    "Question",
    "QuestionError",
    "Revision",
    "Turn",
    "answer",
    "get_assistant",
]
