"""Retrieval -> Answer: quoted from the ranked sentences, or written by a chat model and checked.

Writers yield successive versions of the answer (drafts, then the final one), so the chain's
own `stream` shows an answer growing and its `invoke` returns the last version.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date
from itertools import groupby

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

import prompts
from assistant.check import check
from assistant.citations import MARKER, Citation, citation, neutralise
from assistant.llm import LLMCallFailed
from assistant.rank import RankedSentence
from assistant.result import NOT_COVERED, Answer, Revision
from assistant.retrieve import Retrieval, reading_order

EXTRACT_CHARS = 800  # cited text in a quoted answer: a short read
EXTRACT_SENTENCES = 5
MIN_SENTENCE_CHARS = 25  # shorter "sentences" are datelines, bylines and headings
_WHAT_HAPPENED = re.compile(r"\bwhat(?:'s| has| had| is)? happen", re.IGNORECASE)
log = logging.getLogger(__name__)


def write(
    found: Retrieval,
    llm: BaseChatModel | None,
    embedder: Embeddings,
) -> Iterator[Answer]:
    """Versions of the answer: quoted when there is no model, else written and then checked."""
    if not found.covered:
        yield not_covered(found)
    elif llm is None:
        yield from extractive(found)
    else:
        yield from written(found, llm, embedder)


def not_covered(found: Retrieval) -> Answer:
    """The answer when the articles do not speak to the question."""
    return Answer(found.question.text, NOT_COVERED, (), covered=False)


def extractive(found: Retrieval) -> Iterator[Answer]:
    """The best sentence first, then the rest in reading order; one version per sentence added.

    For "what happened" questions whose sentences come from articles of different days, the
    answer reads as a short timeline: oldest first, each day's date shown once.
    """
    chosen = _quotable(found.sentences)
    if not chosen:
        yield not_covered(found)
        return
    timeline = _asks_what_happened(found.question.text) and len(_days(chosen)) > 1
    ordered = _by_date(chosen) if timeline else [chosen[0], *reading_order(chosen[1:])]
    cites = tuple(citation(i, s) for i, s in enumerate(ordered, start=1))
    for shown in range(1, len(cites) + 1):
        text = _dated(cites[:shown]) if timeline else _joined(cites[:shown])
        yield Answer(found.question.text, text, cites[:shown], draft=shown < len(cites))


def _quotable(sentences: Sequence[RankedSentence]) -> list[RankedSentence]:
    chosen: list[RankedSentence] = []
    size = 0
    for sentence in sentences:
        if size + len(sentence.text) > EXTRACT_CHARS or len(sentence.text) < MIN_SENTENCE_CHARS:
            continue
        chosen.append(sentence)
        size += len(sentence.text)
        if len(chosen) == EXTRACT_SENTENCES:
            break
    return chosen


def _asks_what_happened(question: str) -> bool:
    return bool(_WHAT_HAPPENED.search(question))


def _days(chosen: Sequence[RankedSentence]) -> set[str]:
    return {s.chunk.published for s in chosen}


def _by_date(chosen: Sequence[RankedSentence]) -> list[RankedSentence]:
    """Oldest day first (undated last), each day's sentences in reading order."""
    ordered = reading_order(chosen)
    return sorted(ordered, key=lambda s: s.chunk.published or "9999")


def _joined(cites: Sequence[Citation]) -> str:
    return " ".join(f"{neutralise(c.text)} [{c.n}]" for c in cites)


def _dated(cites: Sequence[Citation]) -> str:
    """One line a day: "16 Feb 2024: ... [1] ... [2]"."""
    lines: list[str] = []
    for day, group in groupby(cites, key=lambda c: c.published):
        lines.append(f"{_nice(day)}: {_joined(list(group))}")
    return "\n".join(lines)


def _nice(day: str) -> str:
    if not day:
        return "Undated"
    parsed = date.fromisoformat(day)
    return f"{parsed.day} {parsed:%b %Y}"


def messages(found: Retrieval, sources: Sequence[Citation]) -> list[BaseMessage]:
    """The fixed instructions (a system message: a local model caches them), then the numbered
    sources and the question."""
    return [
        SystemMessage(prompts.render("answer_instructions")),
        HumanMessage(prompts.render("answer", sources=sources, question=found.question.text)),
    ]


def written(found: Retrieval, llm: BaseChatModel, embedder: Embeddings) -> Iterator[Answer]:
    """The quoted answer at once, the model's draft as it streams, then the checked answer.

    When the model fails or no written sentence survives the check, the quoted answer stays,
    with a note that says why.
    """
    *_, preview = extractive(found)
    yield replace(preview, draft=True)
    sources = found.context
    draft = ""
    try:
        for chunk in llm.stream(messages(found, sources)):
            draft += str(chunk.content)
            yield Answer(found.question.text, draft, _referenced(draft, sources), draft=True)
    except LLMCallFailed as error:
        log.warning("the model failed: %s", error)
        yield replace(preview, note=f"The model could not answer ({error}); quoted instead.")
        return
    checked = check(draft, sources, embedder, found.question.text)
    revisions = tuple(
        Revision(action, sentence, why)
        for action, pairs in (("re-cited", checked.recited), ("dropped", checked.dropped))
        for sentence, why in pairs
    )
    if checked.citations:
        yield Answer(found.question.text, checked.text, checked.citations, revisions=revisions)
    else:
        note = "No sentence the model wrote is supported by the sources; quoted instead."
        yield replace(preview, revisions=revisions, note=note)


def _referenced(text: str, context: Sequence[Citation]) -> tuple[Citation, ...]:
    """The context sentences a draft's markers point to, in context order."""
    used = {int(m) for m in MARKER.findall(text)}
    return tuple(c for c in context if c.n in used)
