"""Where the gold answers that `assistant eval` counts come from, and what retrieval could reach.

Usage: .venv/bin/python -m bench.answer_sources --index-dir DIR [--data ../shared/data/dev]
(DIR: an index of the folder's corpus, built with `assistant index`.)

The eval measure counts a question as answered when the gold string occurs anywhere in the
context or the cited sentences. RealTime QA questions ask about the week of their `date`, but
the corpora also hold older articles that share the question's words: a string such as "Gabriel
Attal" or "48%" can occur there in a sentence that does not answer the question. This prints,
for the context and the cited sentences, how many hits come from an article published near the
question's date (3 days after to 14 days before), and the ceiling of the candidate pool (the
sentences of the 30 best fused chunks).
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from assistant.chain import Assistant
from assistant.evaluate import read_questions
from assistant.question import Question
from index.dates import DateError, parse_date
from tests.shared import DEV

NEAR = (-3, 14)  # days from the article's publication to the question


def near(published: str, asked: date) -> bool:
    """Published within NEAR days of the question."""
    return bool(published) and NEAR[0] <= (asked - parse_date(published)).days <= NEAR[1]


def main() -> None:
    """Ask every question, then print the counts."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=DEV)
    args = parser.parse_args()
    questions = list(read_questions(args.data / "questions.jsonl"))
    assistant = Assistant(args.index_dir)
    counts = dict.fromkeys(("near", "pool", "context", "context_near", "cited", "cited_near"), 0)
    for q in questions:
        try:
            asked = parse_date(q.get("date"))
        except DateError:
            raise SystemExit(f"{q.get('id', q['question'])}: needs the date it was asked") from None
        gold = str(q["answer"]).lower()
        ids = q.get("answer_in_articles")
        found_articles = [assistant.article(str(i)) for i in ids] if isinstance(ids, list) else []
        counts["near"] += any(f is not None and near(f[0].published, asked) for f in found_articles)
        question = Question.ask(q["question"], as_of=asked)
        found = assistant.retrieve(question)
        with assistant.searcher() as searcher:
            pool = searcher.chunks(found.query, question.filters, asked, k=30)
        counts["pool"] += any(gold in p.text.lower() for p in pool)
        *_, written = assistant.write(found)
        for name, cites in (("context", found.context), ("cited", written.citations)):
            hits = [c for c in cites if gold in c.text.lower()]
            counts[name] += bool(hits)
            counts[name + "_near"] += any(near(c.published, asked) for c in hits)
    n = len(questions)
    print(
        f"{n} questions; a gold article published near the question's date exists for "
        f"{counts['near']} ({counts['near'] / n:.3f})"
    )
    print(f"gold in the candidate pool (30 chunks): {counts['pool'] / n:.3f}")
    for name in ("context", "cited"):
        hit, hit_near = counts[name], counts[name + "_near"]
        print(
            f"gold in {name:7}: {hit / n:.3f} ({hit}); from an article near the date: "
            f"{hit_near / n:.3f} ({hit_near}), from older articles only: {hit - hit_near}"
        )


if __name__ == "__main__":
    main()
