"""answer(question, history=()) -> Answer: the public Python API over a LangChain Runnable."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import Settings
from assistant.question import Question
from assistant.result import Answer

if TYPE_CHECKING:
    from assistant.chain import Assistant

_assistants: dict[Settings, Assistant] = {}
_assistants_lock = threading.Lock()


def get_assistant(settings: Settings) -> Assistant:
    """The cached Assistant for these settings (built on first use)."""
    from assistant.chain import Assistant
    from assistant.llm import load_chat_model
    from index.embed import default_embedder

    key = replace(settings, index_dir=settings.index_dir.resolve(), auth="")
    with _assistants_lock:
        if key not in _assistants:
            where = key.place()
            _assistants[key] = Assistant(
                where,
                key.chunk_embedder(where),
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
