"""The check of a written answer: every sentence kept says only what the sentences it cites say.

Small models cite badly, so this carries the load. For each sentence the model wrote:
- its facts (numbers, number words, dates, names) must occur in the sentences it cites; else it
  is re-cited to a context sentence that holds them all, or dropped;
- its meaning must be close to a sentence it cites (cosine >= SUPPORT); else it is re-cited to
  the closest context sentence that holds its facts, or dropped;
- a kept sentence always carries at least one citation: nothing unsupported stays as plain text.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from bm25s.stopwords import STOPWORDS_EN_PLUS
from langchain_core.embeddings import Embeddings

from assistant.citations import Citation, marked_sentences, renumber

SUPPORT = 0.55  # cosine between an answer sentence and a source that states it (chosen on dev)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_TEENS = ("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen")
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_NUMBER_WORDS = (
    {w: str(i) for i, w in enumerate(_UNITS + _TEENS + ("eighteen", "nineteen"))}
    | {w: str(20 + 10 * i) for i, w in enumerate(_TENS)}
    | {"hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000"}
    | {"dozen": "12"}
)
_MONTHS = frozenset(m.lower() for m in calendar.month_name[1:])
_NUMBER_WORD = re.compile(r"\b(?:" + "|".join(_NUMBER_WORDS) + r")\b")
_COMPOUND = re.compile(rf"\b({'|'.join(_TENS)})[- ]({'|'.join(_UNITS[1:10])})\b")
_NAME = re.compile(r"\b[A-Z][\w'’.-]*[\w]|\b[A-Z]\b")  # a capitalised word, an acronym
_WORD_CHARS = re.compile(r"[\w'’-]+")
_POSSESSIVE = re.compile(r"['’]s$")  # "Taiwan's" names Taiwan
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_COMMON = frozenset(STOPWORDS_EN_PLUS) | {"said", "says", "according", "however", "also"}


@dataclass(frozen=True)
class Checked:
    """A written answer after the check: kept sentences renumbered 1..m, and what changed."""

    text: str
    citations: tuple[Citation, ...]
    recited: tuple[tuple[str, str], ...]  # (sentence, why)
    dropped: tuple[tuple[str, str], ...]


def normalise(text: str) -> str:
    """Lower case, numbers as digits: "Twenty-six", "26" and "1,200" / "1200" compare equal."""
    text = _THOUSANDS.sub("", text.lower())
    text = _COMPOUND.sub(lambda m: str(int(_NUMBER_WORDS[m[1]]) + int(_NUMBER_WORDS[m[2]])), text)
    return _NUMBER_WORD.sub(lambda m: _NUMBER_WORDS[m[0]], text)


def facts(sentence: str, context: str = "") -> set[str]:
    """The numbers, months and names a sentence states, normalised.

    The first word counts as a name only when the context writes it capitalised after a space
    too ("Russia launched", not "Officials said").
    """
    plain = normalise(sentence)
    found = set(_NUMBER.findall(plain)) | {w for w in _WORD_CHARS.findall(plain) if w in _MONTHS}
    for match in _NAME.finditer(sentence):
        name = _POSSESSIVE.sub("", match.group().rstrip("."))
        if name.lower() in _COMMON or name.lower() in _MONTHS or name.lower() in _NUMBER_WORDS:
            continue
        if match.start() == _first_word_start(sentence) and f" {name}" not in context:
            continue
        found.add(name.lower())
    return found


def _first_word_start(sentence: str) -> int:
    first = _WORD_CHARS.search(sentence)
    return first.start() if first else -1


def missing(claimed: set[str], sources: str) -> set[str]:
    """The facts that the sources' text does not state."""
    text = normalise(sources)
    absent = set()
    for fact in claimed:
        edge = r"(?![\d]|[.,]\d)" if fact[0].isdigit() else r"(?!\w)"
        if not re.search(rf"(?<![\w.]){re.escape(fact)}{edge}", text):
            absent.add(fact)
    return absent


def claimed(sentence: str, context: str, question: str) -> set[str]:
    """The facts a written sentence adds: those of the question are its premises, not claims
    ("... at this week's Palm Springs International Film Festival Awards")."""
    return {f for f in facts(sentence, context) if missing({f}, question)}


def check(
    draft: str,
    sources: Sequence[Citation],
    embedder: Embeddings,
    question: str = "",
    support: float = SUPPORT,
) -> Checked:
    """Keep the written sentences their citations support; re-cite or drop the others.

    Markers that point to no source are ignored. Kept sentences are renumbered 1..m in order of
    first use.
    """
    marked = marked_sentences(draft)
    if not marked or not sources:
        return Checked("", (), (), ())
    claims = [claim for claim, _ in marked]
    vectors = np.array(embedder.embed_documents(claims + [s.text for s in sources]))
    similarity = vectors[: len(claims)] @ vectors[len(claims) :].T
    context_text = " ".join(s.text for s in sources)
    kept: list[tuple[str, list[int]]] = []
    recited, dropped = [], []
    for (claim, numbers), row in zip(marked, similarity, strict=True):
        cited = [n - 1 for n in numbers if 0 < n <= len(sources)]
        stated = claimed(claim, context_text, question)
        used, why = _supporting(stated, list(dict.fromkeys(cited)), sources, row >= support, row)
        if not used:
            dropped.append((claim, why))
            continue
        if used != cited:
            recited.append((claim, why))
        kept.append((claim, used))
    order: dict[int, int] = {}
    for _, used in kept:
        for i in used:
            order.setdefault(i, len(order) + 1)
    text = " ".join(f"{claim} " + "".join(f"[{order[i]}]" for i in used) for claim, used in kept)
    cites = tuple(renumber(sources[i], n) for i, n in order.items())
    return Checked(text, cites, tuple(recited), tuple(dropped))


def _supporting(
    stated: set[str],
    cited: list[int],
    sources: Sequence[Citation],
    means_it: np.ndarray,
    similarity: np.ndarray,
) -> tuple[list[int], str]:
    """The sources to cite for a claim stating these facts (empty: none can) and why they
    differ from `cited`."""
    close = [i for i in cited if means_it[i]]
    if close and not missing(stated, " ".join(sources[i].text for i in close)):
        return close, ""
    # The closest context sentence that states every fact and means the same.
    holding = [int(i) for i in np.argsort(-similarity) if not missing(stated, sources[i].text)]
    if holding and means_it[holding[0]]:
        absent = missing(stated, " ".join(sources[i].text for i in cited)) if cited else set()
        why = (
            f"{_listed(absent)} not in the cited sentence"
            if absent
            else "the cited sentence does not say this"
            if cited
            else "no citation given"
        )
        return [holding[0]], why
    absent = missing(stated, " ".join(s.text for s in sources))
    if absent:
        return [], f"{_listed(absent)} not in the sources"
    return [], "not supported by the sources"


def _listed(names: set[str]) -> str:
    shown = sorted(names)[:3]
    return ", ".join(f"“{n}”" for n in shown) + (" are" if len(shown) > 1 else " is")


def unsupported(text: str, citations: Sequence[Citation], question: str = "") -> int:
    """Sentences of a checked answer that add a fact absent from the sentences they cite."""
    by_n = {c.n: c.text for c in citations}
    context = " ".join(by_n.values())
    count = 0
    for claim, numbers in marked_sentences(text):
        cited = " ".join(by_n.get(n, "") for n in numbers)
        count += bool(missing(claimed(claim, context, question), cited))
    return count
