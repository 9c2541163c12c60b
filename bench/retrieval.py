"""Answer quality: the naive recipe's top-k chunks against our context and cited sentences.

Usage: .venv/bin/python -m bench.retrieval [--data ../shared/data/dev] [--work DIR]
Builds both indexes in --work if they are missing (reuse --work to skip), then prints for each
the share of questions whose gold answer occurs in what was retrieved or cited, on all questions
and on the specific ones (answer in 20 or fewer articles).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from assistant.chain import Assistant
from assistant.evaluate import is_specific, read_questions, report, run
from bench import naive
from index.build import rebuild
from tests.shared import DEV


def naive_hits(folder: Path, questions: list[dict[str, object]]) -> dict[int, list[bool]]:
    """For k in 1, 4, 10: does the gold answer occur in the naive top-k chunks?"""
    store = naive.open_store(folder)
    hits: dict[int, list[bool]] = {1: [], 4: [], 10: []}
    for q in questions:
        docs = store.similarity_search(str(q["question"]), k=10)
        gold = str(q["answer"]).lower()
        for k in hits:
            hits[k].append(any(gold in d.page_content.lower() for d in docs[:k]))
    return hits


def main() -> None:
    """Build what is missing, then print both."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DEV)
    parser.add_argument("--work", type=Path, default=Path(tempfile.mkdtemp(prefix="bench-qa-")))
    args = parser.parse_args()
    corpus = next(args.data.glob("corpus.jsonl*"))
    questions_file = args.data / "questions.jsonl"
    questions = list(read_questions(questions_file))
    specific = [is_specific(q) for q in questions]
    if not (args.work / "naive").exists():
        naive.build(corpus, args.work / "naive")
    rebuild([corpus], args.work / "ours", progress=False)
    for k, hit in naive_hits(args.work / "naive", questions).items():
        spec = [h for h, s in zip(hit, specific, strict=True) if s]
        print(
            f"naive top-{k:<2}  all {sum(hit) / len(hit):.3f}  specific {sum(spec) / len(spec):.3f}"
        )
    print(report(run(Assistant(args.work / "ours"), questions_file)))


if __name__ == "__main__":
    main()
