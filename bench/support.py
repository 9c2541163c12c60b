"""How well the check tells a supported sentence from one citing a sentence that does not say it.

Usage: .venv/bin/python -m bench.support --index-dir DIR [--data ../shared/data/dev]
(DIR: an index of the folder's corpus.)

For each question, the numbered context of its retrieval gives real news sentences. A claim that
a cited sentence supports: the sentence's first clause (up to 16 words). A claim citing a
sentence that does not say it: that clause cited against another sentence of the same context
(same topic, another statement: the hard case). Prints, per cosine threshold, the share of
supported claims kept and of unsupported ones let through, by the cosine alone and with the
facts check (numbers, months, days, names) as `assistant.check` applies both.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np

from assistant.chain import Assistant
from assistant.check import facts, missing
from assistant.evaluate import read_questions
from assistant.question import Question
from tests.shared import DEV

CLAUSE_WORDS = 16


def clause(sentence: str) -> str:
    """The first clause of a sentence, at most CLAUSE_WORDS words, as a claim of its own."""
    head = sentence.split(",")[0].split()
    return " ".join(head[:CLAUSE_WORDS]).rstrip(".") + "."


def pairs(assistant: Assistant, questions: list[dict[str, object]]) -> list[tuple[str, str, bool]]:
    """(claim, cited sentence, whether it supports the claim)."""
    rng = random.Random(0)
    out = []
    for record in questions:
        found = assistant.retrieve(Question.ask(record["question"], as_of=record.get("date")))
        texts = [c.text for c in found.context if len(c.text.split()) >= 8]
        for i, text in enumerate(texts):
            out.append((clause(text), text, True))
            others = [t for j, t in enumerate(texts) if j != i]
            if others:
                out.append((clause(text), rng.choice(others), False))
    return out


def main() -> None:
    """Embed every pair once, then print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=DEV)
    args = parser.parse_args()
    assistant = Assistant(args.index_dir)
    rows = pairs(assistant, list(read_questions(args.data / "questions.jsonl")))
    claims = assistant.embedder.embed_documents([c for c, _, _ in rows])
    cited = assistant.embedder.embed_documents([s for _, s, _ in rows])
    cosine = np.einsum("ij,ij->i", np.array(claims), np.array(cited))
    supported = np.array([s for _, _, s in rows])
    facts_ok = np.array([not missing(facts(c, s), s) for c, s, _ in rows])
    print(f"{supported.sum()} supported claims, {(~supported).sum()} citing another sentence")
    print("threshold  kept (cosine)  let through (cosine)  kept (+facts)  let through (+facts)")
    for threshold in (0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
        passes = cosine >= threshold
        both = passes & facts_ok
        print(
            f"{threshold:9.2f}  {passes[supported].mean():13.3f}  {passes[~supported].mean():20.3f}"
            f"  {both[supported].mean():13.3f}  {both[~supported].mean():20.3f}"
        )


if __name__ == "__main__":
    main()
