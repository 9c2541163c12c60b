"""Retrieval -> Answer: quoted from the ranked sentences, or written by a chat model and checked.

Writers yield successive versions of the answer (drafts, then the final one), so the chain's
own `stream` shows an answer growing and its `invoke` returns the last version.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime
from itertools import groupby

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

import prompts
from assistant.brief import brief, reported_by
from assistant.check import check
from assistant.citations import Citation, citation, marker_numbers, neutralise
from assistant.figures import disagreements
from assistant.llm import LLMCallFailed
from assistant.rank import RankedSentence
from assistant.result import NOT_COVERED, Answer, Revision
from assistant.retrieve import Retrieval, reading_order

EXTRACT_CHARS = 800  # cited text in a quoted answer: a short read
BRIEF_CHARS = 800  # a brief with its dates and markers: what is read at a glance
EXTRACT_SENTENCES = 5
MIN_SENTENCE_CHARS = 25  # shorter "sentences" are datelines, bylines and headings
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
    """The answer when the articles do not speak to the question, or say nothing new since the
    moment asked about ("nothing new on X since 4 Nov 2024; last update ...")."""
    asked = found.question
    since: datetime | date | None = asked.new_since
    if since is None and found.subject is not None and found.subject.new:
        since = found.subject.since
    if since is None:
        return Answer(asked.text, NOT_COVERED, (), covered=False)
    what = f" on {found.subject.text}" if found.subject else ""
    when = since.strftime("%-d %b %Y %H:%M UTC" if isinstance(since, datetime) else "%-d %b %Y")
    text = f"Nothing new{what} since {when} (the articles were last updated {found.updated})."
    return Answer(asked.text, text, (), covered=False)


def extractive(found: Retrieval) -> Iterator[Answer]:
    """The quoted answer, one version per sentence added.

    An open question ("What happened in X?") gets a news brief (assistant/brief.py): its lead,
    then the developments newest first, each day's date shown once. Any other question gets its
    best sentence first, then the rest in reading order.
    """
    if found.subject is not None:
        quotable = [s for s in found.sentences if len(s.text) >= MIN_SENTENCE_CHARS]
        ordered = brief(quotable, BRIEF_CHARS)
        while len(ordered) > 1 and len(_dated(_cited(ordered))) > BRIEF_CHARS:
            ordered.pop()  # the last of the newest-first developments: the oldest
    else:
        chosen = _quotable(found.sentences)
        ordered = chosen[:1] + reading_order(chosen[1:])
    if not ordered:
        yield not_covered(found)
        return
    cites = _cited(ordered, found.sentences if found.subject is not None else ())
    for shown in range(1, len(cites) + 1):
        part = cites[:shown]
        text = _dated(part) if found.subject is not None else _joined(part)
        if shown == len(cites) and found.subject is not None:
            text, part = _differ(text, part, ordered, found.sentences)
        yield Answer(found.question.text, text, part, draft=shown < len(cites))


def _differ(
    text: str,
    cites: tuple[Citation, ...],
    ordered: Sequence[RankedSentence],
    pool: Sequence[RankedSentence],
) -> tuple[str, tuple[Citation, ...]]:
    """The brief with a line for each figure outlets give differently (assistant/figures.py):
    "Outlets differ: 26 missiles (VOA) [1]; 30 missiles (Reuters) [7]." Each side cited; the
    other outlet's sentence is added to the citations when the brief did not quote it."""
    lines = []
    cited = {(c.article_id, c.start): c for c in cites}
    for differ in disagreements(ordered, pool):
        sides = []
        for figure, s in differ.sides:
            key = (s.chunk.article_id, s.start)
            if key not in cited:
                cited[key] = citation(len(cited) + 1, s, reported_by(s, pool))
                cites = (*cites, cited[key])
            name = s.chunk.reporter or "an outlet"
            sides.append(f"{neutralise(figure.text)} ({name}) [{cited[key].n}]")
        lines.append("Outlets differ: " + "; ".join(sides) + ".")
    return "\n".join([text, *lines]), cites


def _cited(
    ordered: Sequence[RankedSentence], pool: Sequence[RankedSentence] = ()
) -> tuple[Citation, ...]:
    """Numbered; with the `pool` a brief was chosen from, each point's outlets that reported it."""
    return tuple(
        citation(i, s, reported_by(s, pool) if pool else ()) for i, s in enumerate(ordered, start=1)
    )


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
    sources and the question. An open question's instructions ask for a dated brief."""
    instructions = "brief_instructions" if found.subject is not None else "answer_instructions"
    return [
        SystemMessage(prompts.render(instructions)),
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
    used = set(marker_numbers(text))
    return tuple(c for c in context if c.n in used)
