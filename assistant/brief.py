"""The news brief an open question gets ("What happened in Avdiivka?"): the sentence that best
says what happened, then the key developments, dated, newest first, none saying the same thing.

Only the articles about the subject are quoted: those whose best chunk was found at least
ABOUT as well as the best one (the words of an article about something else may match a
sentence or two; they do not make its chunks rank with the subject's own coverage). The lead is
a lede (an article's first sentences: news says what happened first) of the newest of them: the
one that fits the subject and that the other articles agree with most (its mean best cosine to
each other article's sentences), so a passing mention or an odd angle does not lead. The
developments are the other ledes that fit the subject, then the other sentences, by score,
none saying what one chosen before it says. Weights chosen on the tune half of
bench/what_happened.jsonl.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np

from assistant.rank import LEDE, LEDE_MATCH, RankedSentence
from assistant.search import near_duplicate

ABOUT = 0.5  # share of the best chunk's fused score that an article about the subject reaches
# A lede fits the subject when it names it (rank.LEDE_MATCH of its IDF weight, as for the lede's
# bonus there) or its cosine to the subject is within RELEVANT of the best sentence's.
RELEVANT = 0.15
W_AGREE = 1.0  # the other articles' agreement with a lead candidate, beside its own fit
SAME_MEANING = 0.8  # cosine over which two sentences say the same thing
SAME_WORDS = 0.7  # share of words over which two sentences say the same thing
SENTENCES = 6  # in a quoted brief; a model's sources are bounded by characters only
REPORTED = 0.5  # cosine from which another article's sentence reports the same point ...
REPORTED_DAYS = 0  # ... when published that many days apart at most


def brief(
    sentences: Sequence[RankedSentence], chars: int, limit: int = SENTENCES
) -> list[RankedSentence]:
    """Up to `limit` sentences of at most `chars` characters in all, in the order they are read:
    the lead, then the developments newest first."""
    if not sentences:
        return []
    top = max(s.chunk.score for s in sentences)
    about = [s for s in sentences if s.chunk.score >= ABOUT * top]
    best = max(s.similarity for s in about)
    ledes = [
        s
        for s in about
        if s.number < LEDE and (s.matched >= LEDE_MATCH or s.similarity >= best - RELEVANT)
    ]
    lead = _lead(ledes or about, about)
    by_score = sorted(about, key=lambda s: s.score, reverse=True)
    chosen, size = [lead], len(lead.text)
    for s in dict.fromkeys([s for s in by_score if s in ledes] + by_score):
        if len(chosen) == limit:
            break
        if s in chosen or size + len(s.text) > chars or any(_same(s, c) for c in chosen):
            continue
        chosen.append(s)
        size += len(s.text)
    rest = sorted(chosen[1:], key=lambda s: (published_day(s), -s.number), reverse=True)
    return [lead, *rest]


def _lead(candidates: Sequence[RankedSentence], about: Sequence[RankedSentence]) -> RankedSentence:
    """Of the candidates of the newest day, the one that fits the subject and that the other
    articles about it agree with most."""
    newest = max(published_day(s) for s in candidates)
    recent = [s for s in candidates if published_day(s) == newest]
    agreement = _agreement(recent, about)
    scores = [s.similarity + W_AGREE * a for s, a in zip(recent, agreement, strict=True)]
    return recent[int(np.argmax(scores))]


def _agreement(
    candidates: Sequence[RankedSentence], others: Sequence[RankedSentence]
) -> list[float]:
    """For each candidate, the mean over the other articles of its best cosine to one of their
    sentences (0 when there is no other article)."""
    articles: dict[str, list[np.ndarray]] = {}
    for s in others:
        articles.setdefault(s.chunk.article_id, []).append(s.vector)
    vectors = {a: np.array(vs) for a, vs in articles.items()}
    scores = []
    for s in candidates:
        best = [float(np.max(v @ s.vector)) for a, v in vectors.items() if a != s.chunk.article_id]
        scores.append(float(np.mean(best)) if best else 0.0)
    return scores


def _same(a: RankedSentence, b: RankedSentence) -> bool:
    return float(a.vector @ b.vector) >= SAME_MEANING or near_duplicate(a.text, b.text, SAME_WORDS)


def published_day(s: RankedSentence) -> date:
    """The day a sentence's article was published (date.min when undated)."""
    try:
        return date.fromisoformat(s.chunk.published)
    except ValueError:
        return date.min


def reported_by(s: RankedSentence, pool: Sequence[RankedSentence]) -> tuple[str, ...]:
    """The outlets whose articles among `pool` say what `s` says, each once, by name: its own
    and those of the other articles of the same days (REPORTED_DAYS apart at most) with a
    sentence as close as REPORTED (tests/test_stories.py: a paraphrase of one fact by another
    outlet measured 0.58, the other facts of that day's articles 0.07 to 0.28, the next day's
    development of it 0.71: the days tell that one apart). The articles found are each an outlet's
    own (a copy has no chunks: index/copies.py), so these are independent outlets, a wire story
    counted for its wire service (`StoredChunk.reporter`); the copies' carriers are
    `Citation.also`."""
    found = {s.chunk.reporter}
    day = published_day(s)
    for t in pool:
        if (
            t.chunk.article_id != s.chunk.article_id
            and abs((published_day(t) - day).days) <= REPORTED_DAYS
            and float(t.vector @ s.vector) >= REPORTED
        ):
            found.add(t.chunk.reporter)
    return tuple(sorted(found - {""}, key=str.casefold))
