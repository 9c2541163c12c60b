"""Written answers from a local model beside the quoted answer, at a few source budgets.

Usage: .venv/bin/python -m bench.written --model GGUF --index-dir DIR
           [--data ../shared/data/dev] [--budgets 1000,2000] [--limit N]
(DIR: an index of the folder's corpus, built with `assistant index`; GGUF: e.g. the file that
../shared/tools/fetch-dev-llm prints, for measuring only.)

Prints per budget (characters of source sentences the model reads): the gold answer in the
written text and in its cited sentences, beside the quoted answer of the same retrieval; the
"not covered" rate; sentences kept / re-cited / dropped by the check and kept ones with a number
or name absent from their citations; time to the first token (p50/p95) and tokens/s.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

from assistant.chain import Assistant
from assistant.config import Settings
from assistant.evaluate import is_specific, read_questions, written_stats
from assistant.llm import load_chat_model
from assistant.question import Question
from assistant.result import Answer
from assistant.write import extractive
from index.embed import default_embedder
from tests.shared import DEV


def measure(assistant: Assistant, questions: list[dict[str, object]]) -> dict[str, list[float]]:
    """Ask every question; per question the measures, as lists."""
    rows: dict[str, list[float]] = {}
    for record in questions:
        found = assistant.retrieve(Question.ask(record["question"], as_of=record.get("date")))
        gold = str(record["answer"]).lower()
        started = time.perf_counter()
        stamps: list[
            float
        ] = []  # when each model token arrived (versions after the quoted preview)
        versions = list(_timed(assistant.write(found), stamps))
        final = versions[-1]
        *_, quoted = extractive(found)
        got: dict[str, float] = {
            "specific": is_specific(record),
            "in_text": gold in final.text.lower(),
            "in_cited": gold in " ".join(c.text for c in final.citations).lower(),
            "quoted_cited": gold in " ".join(c.text for c in quoted.citations).lower(),
            "not_covered": not final.covered,
        }
        if final.covered and len(stamps) > 2:
            got["first_token"] = stamps[1] - started  # stamps[0]: the quoted preview
            got["tokens_per_s"] = (len(stamps) - 2) / max(stamps[-1] - stamps[1], 1e-6)
        if final.covered:
            stats = written_stats(final)
            got |= {k: getattr(stats, k) for k in ("kept", "recited", "dropped", "unsupported")}
            got["fell_back"] = stats.fell_back
        for key, value in got.items():
            rows.setdefault(key, []).append(float(value))
    return rows


def _timed(versions: Iterator[Answer], stamps: list[float]) -> Iterator[Answer]:
    """The versions, noting when each draft arrived."""
    for version in versions:
        if version.draft:
            stamps.append(time.perf_counter())
        yield version


def summary(budget: int, rows: dict[str, list[float]]) -> str:
    """The figures of one budget."""
    n = len(rows["in_text"])
    share = {k: sum(rows[k]) / n for k in ("in_text", "in_cited", "quoted_cited", "not_covered")}
    first = sorted(rows.get("first_token", [0.0]))
    p95 = first[min(len(first) - 1, round(0.95 * (len(first) - 1)))]
    total = {k: int(sum(rows.get(k, []))) for k in ("kept", "recited", "dropped", "unsupported")}
    return (
        f"sources {budget:>5} chars  n={n}  gold in the written answer {share['in_text']:.3f}, "
        f"in its citations {share['in_cited']:.3f} (quoted answer: {share['quoted_cited']:.3f})  "
        f"not covered {share['not_covered']:.3f}\n"
        f"    check: kept {total['kept']}, re-cited {total['recited']}, dropped "
        f"{total['dropped']}, quoted instead {int(sum(rows.get('fell_back', [])))}; kept with a "
        f"number or name absent from their citations: {total['unsupported']}\n"
        f"    first token p50 {statistics.median(first):.2f} s, p95 {p95:.2f} s; "
        f"{statistics.median(rows.get('tokens_per_s', [0.0])):.1f} tokens/s"
    )


def main() -> None:
    """Load the model once, then measure each budget."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, required=True, help="a GGUF chat model")
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=DEV)
    parser.add_argument("--budgets", default="1000,2000")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions")
    args = parser.parse_args()
    questions = list(read_questions(args.data / "questions.jsonl"))
    questions = questions[: args.limit] if args.limit else questions
    settings = Settings.from_env(llm=f"llamacpp:{args.model}", index_dir=args.index_dir)
    llm = load_chat_model(settings)
    embedder = default_embedder(settings.embed_model, cache_dir=settings.cache_dir)
    ranker = default_embedder(settings.embed_model, quantize=True, cache_dir=settings.cache_dir)
    for budget in (int(b) for b in args.budgets.split(",")):
        assistant = Assistant(args.index_dir, embedder, llm, ranker, source_chars=budget)
        print(summary(budget, measure(assistant, questions)), flush=True)


if __name__ == "__main__":
    main()
