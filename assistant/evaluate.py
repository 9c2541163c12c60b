"""`assistant eval`: run a question file and measure retrieval, citations and latency."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from assistant.chain import Assistant
from assistant.check import unsupported
from assistant.citations import Citation, marked_sentences
from assistant.question import Question
from assistant.result import Answer
from assistant.retrieve import CONTEXT_CHARS
from index.errors import NewsAssistantError

SPECIFIC = 20  # a gold answer found in more articles than this is easy to hit by chance


@dataclass(frozen=True)
class Outcome:
    """One question's result."""

    question: str
    gold: str
    specific: bool
    in_context: bool
    in_citations: bool
    in_text: bool
    covered: bool
    bad_offsets: int
    seconds: float
    written: Written | None = None  # how the check treated a model's answer


@dataclass(frozen=True)
class Written:
    """What the check did to one written answer."""

    kept: int  # sentences kept (re-cited ones included)
    recited: int
    dropped: int
    unsupported: int  # kept sentences with a number or name absent from their citations
    fell_back: bool  # the quoted answer was given instead


class QuestionFileError(NewsAssistantError):
    """A question file that cannot be read; the message names the line."""


def read_questions(path: Path) -> Iterator[dict[str, object]]:
    """Questions with `question` and `answer` fields; a clear error naming a bad line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise QuestionFileError(f"{path}: not UTF-8 text ({error.reason})") from error
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise QuestionFileError(f"{path}:{number}: invalid JSON ({error.msg})") from error
        if not isinstance(record, dict) or not record.get("question") or not record.get("answer"):
            raise QuestionFileError(f"{path}:{number}: needs 'question' and 'answer' fields")
        yield record


def is_specific(record: dict[str, object]) -> bool:
    """Whether the gold answer occurs in few articles (or the file does not say)."""
    in_articles = record.get("answer_in_articles")
    return not isinstance(in_articles, list) or len(in_articles) <= SPECIFIC


def run(assistant: Assistant, path: Path) -> list[Outcome]:
    """Ask every question of the file."""
    outcomes = []
    for record in read_questions(path):
        gold = str(record["answer"]).lower()
        started = time.perf_counter()
        # RealTime QA questions carry the day they were asked: the answer is as of that day.
        found = assistant.retrieve(Question.ask(record["question"], as_of=record.get("date")))
        *_, result = assistant.write(found)
        seconds = time.perf_counter() - started
        context = " ".join(c.text for c in found.context).lower()
        cited = " ".join(c.text for c in result.citations).lower()
        outcomes.append(
            Outcome(
                str(record["question"]),
                gold,
                is_specific(record),
                gold in context,
                gold in cited,
                gold in result.text.lower(),
                result.covered,
                sum(not _reproduced(assistant, c) for c in result.citations),
                seconds,
                written_stats(result) if assistant.llm is not None and result.covered else None,
            )
        )
    return outcomes


def written_stats(result: Answer) -> Written:
    """Kept, re-cited and dropped sentences of a written answer, and unsupported facts kept."""
    recited = sum(r.action == "re-cited" for r in result.revisions)
    dropped = sum(r.action == "dropped" for r in result.revisions)
    if result.note:  # the quoted answer was given instead
        return Written(0, 0, dropped, 0, fell_back=True)
    kept = len(marked_sentences(result.text))
    return Written(
        kept, recited, dropped, unsupported(result.text, result.citations, result.question), False
    )


def _reproduced(assistant: Assistant, cited: Citation) -> bool:
    """Whether the article's text at the citation's offsets is the cited text."""
    found = assistant.article(cited.article_id)
    return found is not None and found[0].text[cited.start : cited.end] == cited.text


def report(outcomes: list[Outcome], context_chars: int = CONTEXT_CHARS) -> str:
    """The figures, on all questions and on the specific ones."""
    if not outcomes:
        return "no questions"
    lines = []
    for label, group in (("all", outcomes), ("specific", [o for o in outcomes if o.specific])):
        if not group:
            continue
        n = len(group)
        lines.append(
            f"{label:9} n={n:4}  answer in context ({context_chars:,} chars): "
            f"{_share(group, 'in_context')}  in cited sentences: {_share(group, 'in_citations')}  "
            f"in the answer: {_share(group, 'in_text')}  not covered: "
            f"{sum(not o.covered for o in group) / n:.3f}"
        )
    times = sorted(o.seconds * 1000 for o in outcomes)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    lines.append(
        f"citations failing the offset check: {sum(o.bad_offsets for o in outcomes)}  "
        f"latency p50 {statistics.median(times):.0f} ms, p95 {p95:.0f} ms"
    )
    written = [o.written for o in outcomes if o.written is not None]
    if written:
        lines.append(
            f"written answers: {len(written)}, quoted instead {sum(w.fell_back for w in written)}"
            f"; sentences kept {sum(w.kept for w in written)}, re-cited "
            f"{sum(w.recited for w in written)}, dropped {sum(w.dropped for w in written)}; "
            f"kept with a number or name absent from their citations: "
            f"{sum(w.unsupported for w in written)}"
        )
    return "\n".join(lines)


def _share(group: list[Outcome], field: str) -> str:
    return f"{sum(getattr(o, field) for o in group) / len(group):.3f}"
