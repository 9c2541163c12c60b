"""Sentence splitters side by side: pysbd (the one index/sentences.py uses), syntok, a naive regex.

Usage: .venv/bin/python -m bench.sentence_splitters [CORPUS.jsonl] [--limit N] [--show-failures]
Prints, per splitter, how many hard cases it gets exactly right (abbreviations, initials,
decimals, dates, quotations, ellipses) and its speed in sentences/s over the corpus (the dev
corpus in ../shared, read at run time, by default). Each splitter gets whole article texts.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

from tests.shared import DEV_CORPUS as DEV
from tests.shared import HARD_CASES as TESTED_CASES

Splitter = Callable[[str], list[str]]

# The cases the unit tests hold the chosen splitter to, and a few more.
HARD_CASES: list[tuple[str, list[str]]] = TESTED_CASES + [
    (
        "A headline without a full stop\n\nThe story starts here. It goes on.",
        ["A headline without a full stop", "The story starts here.", "It goes on."],
    ),
    (
        "He joined Apple Inc. in 2010. He left in 2015.",
        ["He joined Apple Inc. in 2010.", "He left in 2015."],
    ),
    # Known weak spots of the chosen splitter, kept so the count stays honest.
    (
        "He moved to Washington, D.C. He stayed.",
        ["He moved to Washington, D.C.", "He stayed."],
    ),
    (
        "See https://example.com/a?b=c for details. Next.",
        ["See https://example.com/a?b=c for details.", "Next."],
    ),
]


def pysbd_splitter() -> Splitter:
    """The chosen splitter, exactly as the index uses it (pysbd inside paragraphs)."""
    from index.sentences import split_sentences

    return lambda text: [text[s.start : s.end] for s in split_sentences(text)]


def syntok_splitter() -> Splitter:
    """syntok's segmenter; sentences cut from the text by their tokens' offsets."""
    import syntok.segmenter as segmenter

    def split(text: str) -> list[str]:
        out = []
        for paragraph in segmenter.analyze(text):
            for sentence in paragraph:
                tokens = list(sentence)
                start, last = tokens[0].offset, tokens[-1]
                out.append(text[start : last.offset + len(last.value)])
        return out

    return split


_NAIVE = re.compile(r"(?<=[.!?])\s+")


def naive_splitter() -> Splitter:
    """A full stop, question or exclamation mark followed by white space ends a sentence."""

    def split(text: str) -> list[str]:
        return [
            piece.strip()
            for line in text.splitlines()
            for piece in _NAIVE.split(line)
            if piece.strip()
        ]

    return split


SPLITTERS: dict[str, Callable[[], Splitter]] = {
    "pysbd (chosen)": pysbd_splitter,
    "syntok": syntok_splitter,
    "naive regex": naive_splitter,
}


def hard_cases(split: Splitter) -> list[tuple[str, list[str]]]:
    """The hard cases this splitter gets wrong, with what it returned."""
    return [(text, got) for text, want in HARD_CASES if (got := split(text)) != want]


def speed(split: Splitter, texts: list[str]) -> tuple[int, float]:
    """Sentences found over all texts, and the seconds it took."""
    started = time.perf_counter()
    found = sum(len(split(text)) for text in texts)
    return found, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEV)
    parser.add_argument("--limit", type=int, default=0, help="only the first N articles")
    parser.add_argument("--show-failures", action="store_true", help="print each failed case")
    args = parser.parse_args()
    with args.corpus.open(encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines if line.strip()]
    texts = texts[: args.limit] if args.limit else texts
    chars = sum(map(len, texts))
    print(f"hard cases: {len(HARD_CASES)}; corpus: {args.corpus} ({len(texts)} articles, ", end="")
    print(f"{chars / 1e6:.1f} M characters)\n")
    print(f"{'splitter':<16} {'cases passed':>12} {'sentences':>10} {'seconds':>8} {'sent/s':>8}")
    failures: dict[str, list[tuple[str, list[str]]]] = {}
    for name, make in SPLITTERS.items():
        split = make()
        split("Warm up. Load everything.")
        failures[name] = hard_cases(split)
        found, seconds = speed(split, texts)
        passed = f"{len(HARD_CASES) - len(failures[name])}/{len(HARD_CASES)}"
        print(f"{name:<16} {passed:>12} {found:>10} {seconds:>8.1f} {found / seconds:>8.0f}")
    if args.show_failures:
        for name, failed in failures.items():
            print(f"\n{name} gets wrong:")
            for text, got in failed:
                print(f"  {text!r}\n    -> {got!r}")


if __name__ == "__main__":
    main()
