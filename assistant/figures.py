"""Where outlets disagree: two articles of one story that give different figures for the same
thing ("26 missiles" against "30 missiles") are shown side by side with their outlets, instead
of one of them being picked.

A figure is a number (digits, with thousands separators or decimals, or a number word up to
twenty), an optional scale (thousand, million, billion, trillion) and its unit: the noun after
it ("26 missiles", "1.5 million people", "$2 billion" is dollars, "40%" is percent), skipping a
few words that sit between ("26 more missiles", "30 of the drones"), with the words around it
(what it counts) and the names among them (whose it is). Years are not figures. A brief's
figure disagrees with another outlet's when, of that outlet's figures of the same unit in the
same days (DAYS apart at most), the one counted most alike (the most context words shared, then
the closest sentence) shares SHARED context words, names no one else, is in a sentence as close
as CONTEXT, and gives another value that its sentence does not also give; neither is a bound
("at least 26"). An outlet that gives the same figure is the best match, and agrees.

Measured (bench/disagreements.py over the stories of the scale corpus, 427 of two articles or
more): across outlets, 1 pair flagged, a real one (a laptop's price, $1,199 against $1,099);
before the context and names rules there were 21, of which 1 was real. Over any two articles
of a story (one outlet's own later articles too), 101 flagged; of a sample of 40, labelled in
bench/disagreements_labels.jsonl, 3 are real (8%) and 37 false, most of them an update that
gives a later count or another team's or place's figure: so only other outlets are compared.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bm25s.stopwords import STOPWORDS_EN_PLUS

from assistant.brief import published_day
from assistant.rank import RankedSentence

CONTEXT = 0.6  # cosine from which two sentences speak of the same thing
CONTEXT_WORDS = 4  # words before a figure and after it that say what it counts ...
SHARED = 2  # ... of which two figures that count one thing share this many
DAYS = 1  # published at most this many days apart
_NUMBER_WORDS = """zero one two three four five six seven eight nine ten eleven twelve thirteen
fourteen fifteen sixteen seventeen eighteen nineteen twenty"""
_WORDS = {w: i for i, w in enumerate(_NUMBER_WORDS.split())}
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_BETWEEN = frozenset(
    ["more", "other", "additional", "new", "of", "the", "its", "their", "were", "are"]
)
_TIMES = """percent years year months month weeks week days day hours hour minutes minute a.m
p.m am pm and or to in on at by for from with times st nd rd th"""
_NOT_UNITS = frozenset(_TIMES.split())
# A number: digits (thousands separated, or decimals) or a number word.
_DIGITS = r"\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|" + "|".join(sorted(_WORDS, key=len, reverse=True))
_FIGURE = re.compile(
    rf"(?<![\w.,$])(?P<dollar>\$)?(?P<number>{_DIGITS})(?P<percent>%)?"
    r"(?:\s+(?P<scale>thousand|million|billion|trillion))?"
    r"(?P<rest>(?:\s+[A-Za-z][\w'-]*){0,3})",
    re.IGNORECASE,
)
_NUMBER = re.compile(rf"\b(?:{_DIGITS})\b", re.IGNORECASE)
_CONTEXT_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
_STOPWORDS = frozenset(STOPWORDS_EN_PLUS)
_BOUND = re.compile(
    r"(?:at least|more than|less than|fewer than|over|under|nearly|almost|about|around|roughly|"
    r"up to|as (?:many|much|few|little) as|some|approximately|an estimated)\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Figure:
    """A number and its unit, as a sentence gives it ("26 missiles": 26.0, "missile")."""

    value: float
    unit: str
    text: str  # as written: "26 missiles"
    bound: bool  # "at least 26 missiles": a bound, not a count
    context: frozenset[str] = frozenset()  # the words around it: what it counts
    names: frozenset[str] = frozenset()  # the capitalised ones among them: whose it is


def figures(sentence: str) -> list[Figure]:
    """The figures of a sentence."""
    found = []
    for m in _FIGURE.finditer(sentence):
        number = m["number"].lower()
        value = _value(number) * _SCALES.get((m["scale"] or "").lower(), 1.0)
        unit = "dollar" if m["dollar"] else "percent" if m["percent"] else _unit(m["rest"])
        if not unit or (number.isdigit() and 1900 <= value <= 2100 and not m["dollar"]):
            continue  # no unit, or a year
        if unit in ("dollar", "percent"):  # "$1.5 billion", "40%"
            text = sentence[m.start() : m.end("scale") if m["scale"] else m.end("number") + 1]
            text = text.rstrip() if unit == "dollar" else text
        else:
            text = _through(m, unit)
        bound = bool(_BOUND.search(sentence[: m.start()]))
        around = _CONTEXT_WORD.findall(sentence[: m.start()])[-CONTEXT_WORDS:]
        around += _CONTEXT_WORD.findall(sentence[m.end() :])[:CONTEXT_WORDS]
        words = [w for w in around if w.lower() not in _STOPWORDS and w.lower() != unit]
        context = frozenset(w.lower() for w in words)
        names = frozenset(w.lower() for w in words if w[0].isupper())
        found.append(Figure(value, unit, text, bound, context, names))
    return found


def _unit(rest: str) -> str:
    for word in rest.split():
        word = word.lower().strip("'")
        if word in _BETWEEN:
            continue
        if word in _NOT_UNITS or not word.isalpha() or len(word) < 2:
            return ""
        if word.endswith("ies"):  # "casualties": casualty
            return word[:-3] + "y"
        if word.endswith(("ches", "shes", "sses", "xes")):  # "inches": inch
            return word[:-2]
        return word[:-1] if word.endswith("s") and not word.endswith("ss") else word
    return ""


def _through(m: re.Match[str], unit: str) -> str:
    """The figure's words up to its unit: "26 more missiles"."""
    text = m.group().strip()
    words = text.split()
    for i, word in enumerate(words):
        if word.lower().rstrip("s").startswith(unit[: max(len(unit) - 1, 1)]) and i:
            return " ".join(words[: i + 1])
    return text


@dataclass(frozen=True)
class Disagreement:
    """One unit, two values: each with the sentence that gives it."""

    unit: str
    sides: tuple[tuple[Figure, RankedSentence], ...]


def disagreements(
    chosen: Sequence[RankedSentence], pool: Sequence[RankedSentence]
) -> list[Disagreement]:
    """For each chosen sentence's figure, the other outlets' figure of that unit, of the same
    days, that counts the most alike (the most context words shared, then the closest
    sentence): a disagreement when they share SHARED context words and name no one else, its
    sentence is as close as CONTEXT, and its value differs and is not also given by its
    sentence. An outlet that gives the same figure is the best match then, and agrees. One
    disagreement per unit."""
    out: list[Disagreement] = []
    seen: set[str] = set()
    given = [(t, [g for g in figures(t.text) if not g.bound]) for t in pool]
    for s in chosen:
        mine = s.chunk.reporter.casefold()
        for f in figures(s.text):
            if f.bound or f.unit in seen:
                continue
            best: tuple[int, float, Figure, RankedSentence] | None = None
            for t, theirs in given:
                if (
                    not theirs
                    or t.chunk.reporter.casefold() == mine
                    or abs((published_day(t) - published_day(s)).days) > DAYS
                ):
                    continue
                close = float(t.vector @ s.vector)
                for g in theirs:
                    if g.unit == f.unit:
                        candidate = (len(f.context & g.context), close, g, t)
                        if best is None or candidate[:2] > best[:2]:
                            best = candidate
            if (
                best
                and best[0] >= SHARED
                and not (f.names and best[2].names and not f.names & best[2].names)
                and best[1] >= CONTEXT
                and best[2].value != f.value
                and f.value not in _numbers(best[3].text)  # it gives this figure too
            ):
                out.append(Disagreement(f.unit, ((f, s), (best[2], best[3]))))
                seen.add(f.unit)
    return out


def _numbers(text: str) -> set[float]:
    """Every number a sentence gives, with or without a unit."""
    return {_value(m.group().lower()) for m in _NUMBER.finditer(text)} | {
        f.value for f in figures(text)
    }


def _value(number: str) -> float:
    """A number as `_DIGITS` matched it (lower case): "twelve" 12.0, "1,200" 1200.0."""
    return float(_WORDS[number]) if number in _WORDS else float(number.replace(",", ""))
