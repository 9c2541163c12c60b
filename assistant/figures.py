"""Where outlets disagree: two articles of one story that give different figures for the same
thing ("26 missiles" against "30 missiles") are shown side by side with their outlets, instead
of one of them being picked.

A figure is a number (digits, with thousands separators or decimals, or a number word up to
twenty), an optional scale (thousand, million, billion, trillion) and its unit: the noun after
it ("26 missiles", "1.5 million people", "$2 billion" is dollars, "40%" is percent), skipping a
few words that sit between ("26 more missiles", "30 of the drones"). Years, times and dates are
not figures. Two sentences disagree when they are of the same days (DAYS apart at most), say
much the same (cosine from CONTEXT), come from different outlets, and give one unit two
values, neither a bound ("at least 26", "more than 30": those agree with a larger number).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from assistant.rank import RankedSentence
from index.copies import outlet

CONTEXT = 0.6  # cosine from which two sentences speak of the same thing
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
_FIGURE = re.compile(
    r"(?<![\w.,$])(?P<dollar>\$)?(?P<number>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|"
    + "|".join(sorted(_WORDS, key=len, reverse=True))
    + r")(?P<percent>%)?(?:\s+(?P<scale>thousand|million|billion|trillion))?"
    r"(?P<rest>(?:\s+[A-Za-z][\w'-]*){0,3})",
    re.IGNORECASE,
)
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


def figures(sentence: str) -> list[Figure]:
    """The figures of a sentence."""
    found = []
    for m in _FIGURE.finditer(sentence):
        number = m["number"].lower()
        value = float(_WORDS[number]) if number in _WORDS else float(number.replace(",", ""))
        value *= _SCALES.get((m["scale"] or "").lower(), 1.0)
        unit = "dollar" if m["dollar"] else "percent" if m["percent"] else _unit(m["rest"])
        if not unit or (number.isdigit() and 1900 <= value <= 2100 and not m["dollar"]):
            continue  # no unit, or a year
        if unit in ("dollar", "percent"):  # "$1.5 billion", "40%"
            text = sentence[m.start() : m.end("scale") if m["scale"] else m.end("number") + 1]
            text = text.rstrip() if unit == "dollar" else text
        else:
            text = _through(m, unit)
        bound = bool(_BOUND.search(sentence[: m.start()]))
        found.append(Figure(value, unit, text, bound))
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
    """For each chosen sentence's figure, another outlet's sentence of the same days that says
    much the same and gives that unit another value (the first found, one per unit)."""
    out: list[Disagreement] = []
    seen: set[str] = set()
    for s in chosen:
        mine = [f for f in figures(s.text) if not f.bound and f.unit not in seen]
        if not mine:
            continue
        for t in pool:
            if (
                outlet(t.chunk.source, t.chunk.url).casefold()
                == outlet(s.chunk.source, s.chunk.url).casefold()
                or abs((_day(t) - _day(s)).days) > DAYS
                or float(t.vector @ s.vector) < CONTEXT
            ):
                continue
            theirs = {f.unit: f for f in figures(t.text) if not f.bound}
            clash = next(
                (f for f in mine if f.unit in theirs and theirs[f.unit].value != f.value), None
            )
            if clash is not None:
                out.append(Disagreement(clash.unit, ((clash, s), (theirs[clash.unit], t))))
                seen.add(clash.unit)
                mine = [f for f in mine if f.unit != clash.unit]
                if not mine:
                    break
    return out


def _day(s: RankedSentence) -> date:
    try:
        return date.fromisoformat(s.chunk.published)
    except ValueError:
        return date.min
