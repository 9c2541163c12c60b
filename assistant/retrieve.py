"""Question -> Retrieval: the query asked of the index, ranked sentences, the numbered context,
and the one decision of whether the articles cover the question at all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from bm25s.stopwords import STOPWORDS_EN_PLUS
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel

import prompts
from assistant.brief import brief, reported_by
from assistant.citations import Citation, citation
from assistant.question import Question, clean_text
from assistant.rank import RankedSentence, rank_sentences
from assistant.search import CHUNKS, Searcher
from assistant.subject import Subject, open_subject
from index.filters import Filters
from index.lexical import WORD

CONTEXT_CHARS = 4000  # numbered source sentences (`assistant eval` measures them)
COVERED = 0.35  # best sentence's cosine to the question below which the articles do not cover it
TOP_FOR_COVERAGE = 5  # the sentences whose fit to the question decides coverage
# An open question weighs the fortnight before it more, and its articles' ledes that name its
# subject (chosen on the tune half of bench/what_happened.jsonl).
OPEN_WINDOW = 1.5
OPEN_LEDE = 0.3
NEW_CHUNKS = 80  # chunks searched for what is new since a moment, before the older are dropped
_STOPWORDS = frozenset(STOPWORDS_EN_PLUS)


@dataclass(frozen=True)
class Retrieval:
    """What the answer is written from."""

    question: Question
    query: str  # the question as asked of the index (a follow-up joined to its topic)
    subject: Subject | None  # what an open question ("What happened in X?") asks about
    sentences: tuple[RankedSentence, ...]
    context: tuple[Citation, ...]  # the best sentences, numbered for an LLM
    covered: bool  # whether the sentences speak to the question at all
    updated: str = ""  # when the index was last built: "nothing new since ..." says it


def retrieve(
    question: Question,
    searcher: Searcher,
    sentence_embedder: Embeddings,
    llm: BaseChatModel | None = None,
    context_chars: int = CONTEXT_CHARS,
) -> Retrieval:
    """Search the chunks, rank their sentences and decide whether they cover the question.

    An open question is searched for its subject, in the articles up to the day asked (or in the
    time it names), and its context is the brief's sentences (assistant/brief.py), then the other
    sentences of the articles about it as background.
    """
    query = condense(question, llm)
    subject = open_subject(query if llm is not None else question.text, question.as_of)
    filters: Filters | None = question.filters
    as_of = question.as_of
    if subject is not None:
        query = subject.text
        filters, as_of = _up_to(question.filters, subject, as_of)
    # "What's new since I last asked": only what the index took in after that moment, from a
    # deeper search (the newest articles are not always the best found).
    k = CHUNKS if question.new_since is None else NEW_CHUNKS
    if filters is None:
        chunks = []
    elif subject is None:
        chunks = searcher.chunks(query, filters, as_of, k=k)
    else:  # the news of the subject: its recent articles and what they say first
        found = searcher.chunks(query, filters, as_of, k=k, w_window=OPEN_WINDOW)
        chunks = searcher.with_ledes(found)
    if question.new_since is not None:
        chunks = [c for c in chunks if c.seen > question.new_since.timestamp()][:CHUNKS]
    sentences = tuple(
        rank_sentences(
            query,
            chunks,
            searcher.lexical,
            sentence_embedder,
            as_of,
            w_lede=OPEN_LEDE if subject else 0.0,
            headlines=subject is not None,
        )
    )
    covered = covers(query if subject else question.text, query, sentences, sentence_embedder)
    if subject is not None:
        chosen = brief(sentences, context_chars, limit=len(sentences), background=True)
        context = tuple(citation(i, s, reported_by(s, sentences)) for i, s in enumerate(chosen, 1))
    else:
        context = numbered_context(sentences, context_chars)
    updated = searcher.index.manifest.built_at
    return Retrieval(question, query, subject, sentences, context, covered, updated)


def _up_to(filters: Filters, subject: Subject, as_of: date) -> tuple[Filters | None, date]:
    """The filters narrowed to the time an open question names, or to the articles published
    by the day after it is asked (dates lag); the day its recency counts from."""
    since = max(filter(None, (filters.since, subject.since)), default=None)
    last = subject.until or min(as_of, date.max - timedelta(days=1)) + timedelta(days=1)
    until = min(filter(None, (filters.until, last)), default=None)
    if since and until and since > until:
        return None, as_of
    return Filters(since, until, filters.sources), min(as_of, subject.until or as_of)


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
