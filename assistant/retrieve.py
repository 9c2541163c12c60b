"""Question -> Retrieval: the query asked of the index, ranked sentences, the numbered context,
and the one decision of whether the articles cover the question at all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from bm25s.stopwords import STOPWORDS_EN_PLUS
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel

import prompts
from assistant.citations import Citation, citation
from assistant.question import Question, clean_text
from assistant.rank import RankedSentence, rank_sentences
from assistant.search import Searcher
from index.lexical import WORD

CONTEXT_CHARS = 4000  # numbered source sentences (`assistant eval` measures them)
COVERED = 0.35  # best sentence's cosine to the question below which the articles do not cover it
TOP_FOR_COVERAGE = 5  # the sentences whose fit to the question decides coverage
_STOPWORDS = frozenset(STOPWORDS_EN_PLUS)


@dataclass(frozen=True)
class Retrieval:
    """What the answer is written from."""

    question: Question
    query: str  # the question as asked of the index (a follow-up joined to its topic)
    sentences: tuple[RankedSentence, ...]
    context: tuple[Citation, ...]  # the best sentences, numbered for an LLM
    covered: bool  # whether the sentences speak to the question at all


def retrieve(
    question: Question,
    searcher: Searcher,
    sentence_embedder: Embeddings,
    llm: BaseChatModel | None = None,
    context_chars: int = CONTEXT_CHARS,
) -> Retrieval:
    """Search the chunks, rank their sentences and decide whether they cover the question."""
    query = condense(question, llm)
    chunks = searcher.chunks(query, question.filters, question.as_of)
    sentences = tuple(
        rank_sentences(query, chunks, searcher.lexical, sentence_embedder, question.as_of)
    )
    covered = covers(question.text, query, sentences, sentence_embedder)
    return Retrieval(
        question, query, sentences, numbered_context(sentences, context_chars), covered
    )


def condense(question: Question, llm: BaseChatModel | None) -> str:
    """A standalone question: rewritten by the LLM, else joined to the last question asked."""
    asked = [t.content for t in question.history if t.role == "user"]
    if not asked:
        return question.text
    if llm is None:
        return f"{asked[-1]} {question.text}"
    prompt = prompts.render(
        "condense_question", history=[t.__dict__ for t in question.history], question=question.text
    )
    rewritten = str(llm.invoke(prompt).content).strip()
    return clean_text(rewritten.splitlines()[0]) if rewritten else question.text


def covers(
    question: str, query: str, sentences: Sequence[RankedSentence], embedder: Embeddings
) -> bool:
    """Whether the best sentences fit the question itself, not only the joined query.

    A follow-up joined to the previous question would otherwise find the earlier topic even
    when it asks about something new that the articles do not cover; a bare follow-up
    ("Tell me more about that.") has no topic of its own and takes the conversation's.
    """
    top = sentences[:TOP_FOR_COVERAGE]
    if not top:
        return False
    joined = max(s.similarity for s in top)
    if query == question:
        return joined >= COVERED
    vectors = np.array(embedder.embed_documents([question] + [s.text for s in top]))
    alone = float((vectors[1:] @ vectors[0]).max())
    own_words = set(WORD.findall(question.lower())) - _STOPWORDS
    return alone >= COVERED or (len(own_words) <= 1 and joined >= COVERED)


def numbered_context(
    sentences: Sequence[RankedSentence], chars: int = CONTEXT_CHARS
) -> tuple[Citation, ...]:
    """The best sentences up to `chars`, numbered, grouped by article in reading order."""
    chosen, size = [], 0
    for sentence in sentences:
        if size + len(sentence.text) > chars:
            break
        chosen.append(sentence)
        size += len(sentence.text)
    return tuple(citation(i, s) for i, s in enumerate(reading_order(chosen), start=1))


def reading_order(chosen: Sequence[RankedSentence]) -> list[RankedSentence]:
    """Articles in order of their best sentence; sentences in article order."""
    rank: dict[str, int] = {}
    for s in chosen:
        rank.setdefault(s.chunk.article_id, len(rank))
    return sorted(chosen, key=lambda s: (rank[s.chunk.article_id], s.number))
