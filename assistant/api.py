"""The public Python API: answer(question, history=()) -> Answer, over a LangChain Runnable;
stories(since, until) and story(id), the stories the index groups its articles into."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import Settings
from assistant.question import Question, date_range
from assistant.result import Answer
from index.errors import IndexProblem

if TYPE_CHECKING:
    from assistant.chain import Assistant
    from index.store import Index
    from index.stories import Point, Story

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
    new_since: Any = None,
    settings: Settings | None = None,
) -> Answer:
    """Answer a question from the indexed articles, citing the exact source sentences.

    `history`: the conversation so far ({"role", "content"} dicts). `since`/`until`: published
    date range; `sources`: source names (one name or a list). `as_of` (default: today) is the
    day the question is asked: articles published in the days before it weigh more.
    `new_since` (a datetime or ISO text, UTC when it names no zone): only articles the index took
    in after that moment ("what's new since I last asked"), else "Nothing new ... since".
    `settings` defaults to `Settings.from_env()`; `index_dir`, `chroma_url` (an index on a
    Chroma server) and `llm` override it.
    """
    asked = Question.ask(
        question,
        history,
        since=since,
        until=until,
        sources=sources,
        as_of=as_of,
        new_since=new_since,
    )
    settings = _settings(settings, index_dir, chroma_url)
    if llm is not None:
        settings = replace(settings, llm=llm)
    return get_assistant(settings).chain.invoke(asked)


def stories(
    since: str | None = None,
    until: str | None = None,
    top: int | None = 10,
    *,
    index_dir: str | Path | None = None,
    chroma_url: str | None = None,
    settings: Settings | None = None,
) -> list[Story]:
    """The stories with an article published between `since` and `until` (dates; open when
    None), ranked by independent outlets, then articles, then the newest; the first
    `top` (all when None)."""
    from index.stories import period

    start, end = date_range(since, until)
    with _index(settings, index_dir, chroma_url) as index:
        found = period(index, start, end)
    return found if top is None else found[: max(top, 0)]


def story(
    story_id: str,
    *,
    index_dir: str | Path | None = None,
    chroma_url: str | None = None,
    settings: Settings | None = None,
) -> tuple[Story, list[Point]]:
    """A story and its timeline: each article, oldest first, with its lede sentence cited."""
    from index import stories as read

    with _index(settings, index_dir, chroma_url) as index:
        found = read.story(index, story_id.strip())
        if found is None:
            raise IndexProblem(f"no story {story_id!r}: `assistant stories` lists them")
        return found, read.timeline(index, found)


@contextmanager
def _index(
    settings: Settings | None, index_dir: str | Path | None, chroma_url: str | None
) -> Iterator[Index]:
    """The current index for reading; an index built before stories says to rebuild it."""
    from index.store import open_index
    from index.stories import require

    where = _settings(settings, index_dir, chroma_url).place()
    index = open_index(where)
    try:
        require(index)
        yield index
    finally:
        index.close()


def follow(
    topic: str, *, index_dir: str | Path | None = None, chroma_url: str | None = None
) -> None:
    """Follow a topic of the index: `followed()` tells what is new on it from now on."""
    from assistant import follows

    follows.follow(_settings(None, index_dir, chroma_url).place(), topic)


def followed(
    *,
    index_dir: str | Path | None = None,
    chroma_url: str | None = None,
    settings: Settings | None = None,
) -> list[tuple[str, Answer]]:
    """Each followed topic with what is new on it since it was last shown (then marked shown)."""
    from assistant import follows

    settings = _settings(settings, index_dir, chroma_url)

    def ask(question: str, since: Any) -> Answer:
        return answer(question, new_since=since, settings=settings)

    return [(t.topic, said) for t, said in follows.digest(settings.place(), ask)]


def _settings(
    settings: Settings | None, index_dir: str | Path | None, chroma_url: str | None
) -> Settings:
    settings = settings or Settings.from_env()
    return replace(
        settings,
        index_dir=Path(index_dir).expanduser() if index_dir else settings.index_dir,
        chroma_url=settings.chroma_url if chroma_url is None else chroma_url,
    )
