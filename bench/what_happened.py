""" "What happened" answers: the key facts they hold, beside a baseline revision, in one run.

Usage: .venv/bin/python bench/what_happened.py --index-dir DIR [--baseline REV] [--show]
           [--questions bench/what_happened.jsonl] [--quiz ../shared/data/scale/questions.jsonl]
       .venv/bin/python bench/what_happened.py --index-dir DIR --bound
(DIR: an index of ../shared/data/scale/corpus.jsonl.gz built with `assistant index`.)

Each question of the file (bench/what_happened.jsonl) is asked on its `date` and has 4-7 key
facts a good short answer holds, one or two vital, each as keyword groups: a fact is present when
every group has a word that starts a word of the answer's first BRIEF_CHARS characters (lower
case, straight quotes, citation markers removed). Printed for each half of the file (`half`:
tune, test) and for all: the share of key facts and of vital facts present, the quoted sentences
that are questions, headings or teasers, citations whose offsets do not reproduce their text,
and latency. With --baseline, the same for the code of REV (a git worktree of it, answering from
the same index), and with --quiz the quiz figures (`assistant eval`) of both.

With --bound, instead (this tree only): the share of key facts held by a sentence the brief is
chosen from, the most that its SENTENCES sentences in BRIEF_CHARS could hold (chosen knowing the
facts: a bound on selection, not a result), and the ROC AUC of each signal of assistant/brief.py
for a sentence that holds a key fact.

Run by path, not with -m: each tree's answers are computed in a child process that imports that
tree's `assistant` package.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from functools import reduce
from operator import or_
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
BRIEF_CHARS = 800  # what a reader reads of a "what happened" answer: its facts are counted there
# A quoted sentence that states nothing: a question, a line with no end mark (a heading), a teaser.
NOT_A_STATEMENT = re.compile(
    r"\?[\s\"'”’)\]]*$|[^.!?\"'”’)\]]\s*$"
    r"|^(?:here's|here is|read more|related|watch|what to know)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Fact:
    """A key fact, as the keyword groups that show it."""

    fact: str
    keywords: tuple[tuple[str, ...], ...]
    vital: bool

    @classmethod
    def of(cls, record: dict[str, Any]) -> Fact:
        groups = tuple(tuple(str(w).lower() for w in group) for group in record["keywords"])
        if not groups or not all(groups):
            raise ValueError(f"a fact with an empty keyword group: {record}")
        return cls(str(record["fact"]), groups, bool(record["vital"]))

    def found_in(self, text: str) -> bool:
        """Whether every group has a word that starts a word of `text` (as `plain` gives it)."""
        return all(
            any(re.search(r"(?<![a-z0-9])" + re.escape(word), text) for word in group)
            for group in self.keywords
        )


@dataclass(frozen=True)
class Brief:
    """One question's result."""

    id: str
    half: str
    question: str
    answer: str
    found: list[bool]  # for each fact
    vital: list[bool]  # for each fact: whether it is vital
    not_statements: list[str]  # quoted sentences that are questions, headings or teasers
    bad_offsets: int
    seconds: float


def plain(text: str) -> str:
    """An answer as the keyword match reads it: lower case, straight quotes, no markers."""
    text = re.sub(r"\s*\[\d+\]", "", text.lower())
    return text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')


def read(path: Path) -> list[dict[str, Any]]:
    """The questions, their facts checked."""
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            record = json.loads(line)
            facts = [Fact.of(f) for f in record["facts"]]
            if not 4 <= len(facts) <= 7 or not 1 <= sum(f.vital for f in facts) <= 2:
                sys.exit(f"{path}:{number}: needs 4-7 facts, 1-2 of them vital")
            records.append(record | {"facts": facts})
    return records


def ask_all(index_dir: Path, questions: Path) -> list[Brief]:
    """Every question asked of the index by this process's `assistant` (a child's)."""
    from assistant.api import get_assistant
    from assistant.config import Settings
    from assistant.evaluate import _reproduced  # the offset check of `assistant eval`
    from assistant.question import Question

    assistant = get_assistant(Settings.from_env(index_dir=str(index_dir)))
    briefs = []
    for record in read(questions):
        started = time.perf_counter()
        found = assistant.retrieve(Question.ask(record["question"], as_of=record["date"]))
        *_, result = assistant.write(found)
        seconds = time.perf_counter() - started
        shown = plain(result.text)[:BRIEF_CHARS]
        briefs.append(
            Brief(
                record["id"],
                record["half"],
                record["question"],
                result.text,
                [f.found_in(shown) for f in record["facts"]],
                [f.vital for f in record["facts"]],
                [c.text for c in result.citations if NOT_A_STATEMENT.search(c.text)],
                sum(not _reproduced(assistant, c) for c in result.citations),
                seconds,
            )
        )
    return briefs


def bounds(index_dir: Path, questions: Path) -> list[str]:
    """Per half: the key facts held by a sentence the quoted brief chooses from, the most that
    SENTENCES of them within BRIEF_CHARS could hold (chosen knowing the facts: a bound on
    selection, counting each fact where one sentence holds it), and how well each signal of
    assistant/brief.py ranks a sentence that holds a key fact above one that holds none (ROC
    AUC, per question, averaged)."""
    import numpy as np

    from assistant.api import get_assistant
    from assistant.brief import SENTENCES, about, signals
    from assistant.config import Settings
    from assistant.question import Question
    from assistant.write import MIN_SENTENCE_CHARS

    assistant = get_assistant(Settings.from_env(index_dir=str(index_dir)))
    rows: dict[str, dict[str, list[float]]] = {}
    for record in read(questions):
        found = assistant.retrieve(Question.ask(record["question"], as_of=record["date"]))
        quotable = [s for s in found.sentences if len(s.text) >= MIN_SENTENCE_CHARS]
        articles, pool = about(quotable) if quotable else ([], [])
        facts: list[Fact] = record["facts"]
        vital = sum(1 << i for i, f in enumerate(facts) if f.vital)
        row = rows.setdefault(record["half"], {})
        # The facts each sentence holds, as a bit mask (the pool is among the articles').
        holds = {
            s: sum(1 << i for i, f in enumerate(facts) if f.found_in(plain(s.text)))
            for s in articles
        }
        for where, sentences in (("about", pool), ("articles", articles)):
            held = [holds[s] for s in sentences]
            best = _best(held, [len(s.text) for s in sentences], SENTENCES, BRIEF_CHARS)
            for name, masks in (("anywhere", [reduce(or_, held, 0)]), ("best", best)):
                row.setdefault(f"{where} {name}", []).append(
                    max(bin(m).count("1") for m in masks) / len(facts)
                )
                vitals = max(bin(m & vital).count("1") for m in masks)
                row.setdefault(f"{where} {name} vital", []).append(vitals / bin(vital).count("1"))
        labels = [holds[s] > 0 for s in pool]
        if any(labels) and not all(labels):
            named = signals(pool)
            named["cosine to the subject"] = np.array([s.similarity for s in pool])
            named["place"] = -named["place"]  # early is what counts
            for name, values in named.items():
                row.setdefault("AUC " + name, []).append(_auc(labels, list(values)))
    lines = []
    for half in ("tune", "test"):
        m = {name: statistics.mean(values) for name, values in rows.get(half, {}).items()}
        if not m:
            continue
        for where, label in (
            ("about", "the sentences about the subject (the brief's)"),
            ("articles", "all sentences of the articles about it"),
        ):
            lines.append(
                f"  {half:4} {label}: one holds {m[where + ' anywhere']:.3f} of the key facts "
                f"(vital {m[where + ' anywhere vital']:.3f}); {SENTENCES} in {BRIEF_CHARS} "
                f"chars at most {m[where + ' best']:.3f} (vital {m[where + ' best vital']:.3f})"
            )
        aucs = ", ".join(f"{k[4:]} {v:.3f}" for k, v in m.items() if k.startswith("AUC "))
        lines.append(f"       ROC AUC for a sentence about it that holds a key fact: {aucs}")
    return lines


def _best(held: list[int], sizes: list[int], count: int, chars: int) -> list[int]:
    """Every set of facts (a bit mask) that at most `count` sentences of at most `chars`
    characters in all hold: the fewest characters for each mask and number of sentences."""
    fewest: list[dict[int, int]] = [{0: 0}] + [{} for _ in range(count)]
    for h, size in zip(held, sizes, strict=True):
        for n in range(count, 0, -1):  # each sentence once
            for mask, used in list(fewest[n - 1].items()):
                total, new = used + size, mask | h
                if total <= chars and total < fewest[n].get(new, chars + 1):
                    fewest[n][new] = total
    return [mask for level in fewest for mask in level]


def _auc(labels: list[bool], values: list[float]) -> float:
    """The chance that a positive's value is above a negative's (ties count half)."""
    positives = [v for v, y in zip(values, labels, strict=True) if y]
    negatives = [v for v, y in zip(values, labels, strict=True) if not y]
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def report(briefs: list[Brief]) -> list[str]:
    """Key facts (all and vital) by half and in all; quoted non-statements, offsets, latency."""
    lines = []
    for label in ("tune", "test", "all"):
        group = [b for b in briefs if label in ("all", b.half)]
        if not group:
            continue
        found = [f for b in group for f in b.found]
        vital = [f for b in group for f, v in zip(b.found, b.vital, strict=True) if v]
        lines.append(
            f"  {label:4} n={len(group):2}  key facts in {BRIEF_CHARS} chars "
            f"{sum(found) / len(found):.3f}  vital {sum(vital) / max(1, len(vital)):.3f}  "
            f"quoted questions/headings {sum(len(b.not_statements) for b in group)}  "
            f"offset failures {sum(b.bad_offsets for b in group)}"
        )
    times = sorted(b.seconds * 1000 for b in briefs)
    lines.append(f"  latency p50 {statistics.median(times):.0f} ms, max {times[-1]:.0f} ms")
    return lines


def shown(briefs: list[Brief], facts: dict[str, list[Fact]]) -> list[str]:
    """Each answer with the facts it misses."""
    lines = []
    for b in briefs:
        lines.append(f"{b.id} ({b.half}) {b.question}  {sum(b.found)}/{len(b.found)} facts")
        lines.append("    " + b.answer.replace("\n", "\n    "))
        missed = [f for f, got in zip(facts[b.id], b.found, strict=True) if not got]
        lines += [f"    MISSING{' (vital)' if f.vital else ''}: {f.fact}" for f in missed]
        lines += [f"    NOT A STATEMENT: {t}" for t in b.not_statements]
    return lines


def child(tree: Path, *args: str) -> str:
    """This script's output in a process that imports the tree's own `assistant`."""
    env = os.environ | {"PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, __file__, *args], env=env, cwd=tree, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"the run on {tree} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def measure(name: str, tree: Path, args: argparse.Namespace) -> list[str]:
    """The figures of one tree's code (and its answers with --show)."""
    index, questions = str(args.index_dir.resolve()), str(args.questions.resolve())
    out = child(tree, "--child", "--index-dir", index, "--questions", questions)
    briefs = [Brief(**row) for row in json.loads(out)]
    lines = [f"{name} ({tree}):", *report(briefs)]
    if args.show:
        facts = {r["id"]: r["facts"] for r in read(args.questions)}
        lines += shown(briefs, facts)
    if args.quiz:
        quiz = child(tree, "--child-quiz", str(args.quiz.resolve()), "--index-dir", index)
        lines += ["  quiz " + line for line in quiz.splitlines()]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--questions", type=Path, default=HERE / "bench" / "what_happened.jsonl")
    parser.add_argument("--baseline", help="a git revision to compare with (e.g. HEAD, a tag)")
    parser.add_argument("--quiz", type=Path, help="also the quiz figures of this question file")
    parser.add_argument("--show", action="store_true", help="print each answer and what it misses")
    parser.add_argument(
        "--bound",
        action="store_true",
        help="only what selection could reach from the sentences found, and each signal's AUC",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-quiz", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-bound", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps([asdict(b) for b in ask_all(args.index_dir, args.questions)]))
        return
    if args.child_bound:
        print("\n".join(bounds(args.index_dir, args.questions)))
        return
    if args.child_quiz:
        from assistant.api import get_assistant
        from assistant.config import Settings
        from assistant.evaluate import report as quiz_report
        from assistant.evaluate import run

        assistant = get_assistant(Settings.from_env(index_dir=str(args.index_dir)))
        print(quiz_report(run(assistant, args.child_quiz), assistant.context_chars))
        return
    print(f"index {args.index_dir}, questions {args.questions}")
    if args.bound:
        index, questions = str(args.index_dir.resolve()), str(args.questions.resolve())
        print(child(HERE, "--child-bound", "--index-dir", index, "--questions", questions), end="")
        return
    if args.baseline:
        with tempfile.TemporaryDirectory() as scratch:
            tree = Path(scratch) / "baseline"
            git = ["git", "-C", str(HERE), "worktree"]
            subprocess.run([*git, "add", "--detach", str(tree), args.baseline], check=True)
            try:
                print("\n".join(measure(f"baseline {args.baseline}", tree, args)), flush=True)
            finally:
                subprocess.run([*git, "remove", "--force", str(tree)], check=True)
    print("\n".join(measure("this tree", HERE, args)))


if __name__ == "__main__":
    main()
