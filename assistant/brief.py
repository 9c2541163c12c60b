"""The news brief an open question gets ("What happened in Avdiivka?"): the sentence that best
says what happened, then the key developments, dated, newest first, none saying the same thing.

Only the articles about the subject are quoted: those whose best chunk was found at least
ABOUT as well as the best one (the words of an article about something else may match a
sentence or two; they do not make its chunks rank with the subject's own coverage), and only
their sentences about it (an article on a trip to Paris may also tell of the battle of Avdiivka).
Of those, the key ones say what the articles' headlines say, the other articles agree with
them, and they come early (news says what happened first). The lead is the key sentence of the
newest day. The developments are the other key sentences, each time the one that adds most: its
salience less W_REPEAT times its cosine to the nearest sentence chosen (maximal marginal
relevance: a headline is restated often), none saying what one chosen before it says.

The headlines are their editors' own summaries of what happened. Among the sentences about the
subject, a sentence's best cosine to a headline and its place tell one that holds a key fact
best (ROC AUC 0.68 and 0.69 on the tune half of bench/what_happened.jsonl, 0.73 and 0.66 on the
test half; agreement 0.63 and 0.70; its cosine to the subject 0.40 and 0.54, no better than
chance: `bench/what_happened.py --bound`). Weights chosen on the tune half.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np

from assistant.rank import LEDE_MATCH, RankedSentence
from assistant.search import near_duplicate

ABOUT = 0.5  # share of the best chunk's fused score that an article about the subject reaches
# Of those, a sentence is about the subject when it names it (rank.LEDE_MATCH of its IDF weight,
# as for the lede's bonus there) or its cosine to the subject is within RELEVANT of the best one's.
RELEVANT = 0.15
W_HEADLINE = 1.0  # a sentence's best cosine to the headline of an article quoted from
W_AGREE = 1.0  # the other articles' agreement with it
W_PLACE = 0.2  # its place in its article, over its first PLACE_SPAN sentences
PLACE_SPAN = 30
W_REPEAT = 1.5  # a development's cosine to the nearest sentence chosen before it, against it
SAME_MEANING = 0.8  # cosine over which two sentences say the same thing
SAME_WORDS = 0.8  # share of the shorter one's words over which two sentences say the same thing
SENTENCES = 6  # in a quoted brief; a model's sources are bounded by characters only
REPORTED = 0.5  # cosine from which another article's sentence reports the same point ...
REPORTED_DAYS = 0  # ... when published that many days apart at most


def brief(
    sentences: Sequence[RankedSentence],
    chars: int,
    limit: int = SENTENCES,
    background: bool = False,
) -> list[RankedSentence]:
    """Up to `limit` sentences of at most `chars` characters in all, in the order they are read:
    the lead, then the developments newest first. With `background` (a model's sources), the
    articles' other sentences follow them, by their score for the question: a model may draw on
    them ("Russia has been trying to capture the town since October" names no Avdiivka)."""
    if not sentences:
        return []
    articles, fit = about(sentences)
    salience = _salience(fit)
    newest = max(published_day(s) for s in fit)
    lead = max(
        (i for i, s in enumerate(fit) if published_day(s) == newest), key=salience.__getitem__
    )
    chosen, size = [fit[lead]], len(fit[lead].text)
    # Then each time the key sentence that adds most: salient, and least like those chosen.
    vectors = np.array([s.vector for s in fit])
    nearest = vectors @ fit[lead].vector  # each one's cosine to the nearest chosen
    left = [i for i in range(len(fit)) if i != lead]
    while left and len(chosen) < limit:
        i = max(left, key=lambda i: salience[i] - W_REPEAT * nearest[i])
        left.remove(i)
        if _fits(fit[i], chosen, size, chars):
            chosen.append(fit[i])
            size += len(fit[i].text)
            nearest = np.maximum(nearest, vectors @ fit[i].vector)
    developments = sorted(chosen[1:], key=lambda s: (published_day(s), -s.number), reverse=True)
    chosen = [chosen[0], *developments]
    if background:
        others = [s for s in articles if s not in fit]
        for s in sorted(others, key=lambda s: s.score, reverse=True):
            if len(chosen) < limit and _fits(s, chosen, size, chars):
                chosen.append(s)
                size += len(s.text)
    return chosen


def about(
    sentences: Sequence[RankedSentence],
) -> tuple[list[RankedSentence], list[RankedSentence]]:
    """The sentences of the articles about the subject, and of them those about it (`sentences`:
    not empty)."""
    top = max(s.chunk.score for s in sentences)
    articles = [s for s in sentences if s.chunk.score >= ABOUT * top]
    best = max(s.similarity for s in articles)
    fit = [s for s in articles if s.matched >= LEDE_MATCH or s.similarity >= best - RELEVANT]
    return articles, fit


def signals(sentences: Sequence[RankedSentence]) -> dict[str, np.ndarray]:
    """What tells a key sentence among `sentences`: its best cosine to one of their articles'
    headlines, the other articles' agreement with it, and how late it comes in its article."""
    vectors = np.array([s.vector for s in sentences])
    titles = {s.chunk.title: s.headline for s in sentences if s.headline is not None}
    headlines = np.array(list(titles.values()))
    return {
        "headline": (vectors @ headlines.T).max(axis=1) if titles else np.zeros(len(sentences)),
        "agreement": np.array(_agreement(sentences)),
        "place": np.minimum([s.number for s in sentences], PLACE_SPAN) / PLACE_SPAN,
    }


def _salience(sentences: Sequence[RankedSentence]) -> np.ndarray:
    """How well each sentence says what the articles about the subject report."""
    of = signals(sentences)
    return W_HEADLINE * of["headline"] + W_AGREE * of["agreement"] - W_PLACE * of["place"]


def _agreement(sentences: Sequence[RankedSentence]) -> list[float]:
    """For each sentence, the mean over the other articles of its best cosine to one of their
    sentences (0 when there is no other article)."""
    articles: dict[str, list[np.ndarray]] = {}
    for s in sentences:
        articles.setdefault(s.chunk.article_id, []).append(s.vector)
    vectors = {a: np.array(vs) for a, vs in articles.items()}
    scores = []
    for s in sentences:
        best = [float(np.max(v @ s.vector)) for a, v in vectors.items() if a != s.chunk.article_id]
        scores.append(float(np.mean(best)) if best else 0.0)
    return scores


def _fits(s: RankedSentence, chosen: Sequence[RankedSentence], size: int, chars: int) -> bool:
    """Whether `s` fits in the characters left and says nothing a chosen sentence says."""
    return size + len(s.text) <= chars and not any(_same(s, c) for c in chosen)


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
