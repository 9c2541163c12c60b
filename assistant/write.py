"""Retrieval -> Answer: quoted from the ranked sentences, or written by a chat model and checked.

Writers yield successive versions of the answer (drafts, then the final one), so the chain's
own `stream` shows an answer growing and its `invoke` returns the last version.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel

import prompts
from assistant.answer import NOT_COVERED, Answer
from assistant.check import check
from assistant.citations import MARKER, Citation, citation, neutralise
from assistant.rank import RankedSentence
from assistant.retrieve import Retrieval, reading_order

EXTRACT_CHARS = 800  # cited text in a quoted answer: a short read
EXTRACT_SENTENCES = 5
MIN_SENTENCE_CHARS = 25  # shorter "sentences" are datelines, bylines and headings


def write(found: Retrieval, llm: BaseChatModel | None, embedder: Embeddings) -> Iterator[Answer]:
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
    """The best supporting sentences in reading order, one version per sentence added."""
    chosen = _quotable(found.sentences)
    if not chosen:
        yield not_covered(found)
        return
    cites = tuple(citation(i, s) for i, s in enumerate(reading_order(chosen), start=1))
    for shown in range(1, len(cites) + 1):
        text = " ".join(f"{neutralise(c.text)} [{c.n}]" for c in cites[:shown])
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


def prompt_for(found: Retrieval) -> str:
    """The answer prompt with the numbered source sentences."""
    return prompts.render("answer", sources=found.context, question=found.question.text)


def written(found: Retrieval, llm: BaseChatModel, embedder: Embeddings) -> Iterator[Answer]:
    """The model's draft as it streams, then the draft checked against what it cites.

    When no written sentence survives the check, the quoted answer is given instead.
    """
    draft = ""
    for chunk in llm.stream(prompt_for(found)):
        draft += str(chunk.content)
        yield Answer(found.question.text, draft, _referenced(draft, found.context), draft=True)
    text, cites = check(draft, found.context, embedder)
    if cites:
        yield Answer(found.question.text, text, tuple(cites))
    else:
        yield from extractive(found)


def _referenced(text: str, context: Sequence[Citation]) -> tuple[Citation, ...]:
    """The context sentences a draft's markers point to, in context order."""
    used = {int(m) for m in MARKER.findall(text)}
    return tuple(c for c in context if c.n in used)
