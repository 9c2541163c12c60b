"""Paths and cases that tests and bench scripts share (bench runs as `python -m bench.NAME`)."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "articles"  # the article the product ships with
SAMPLE_ARTICLE = SAMPLE / "avdiivka-2024-02-16.txt"
DATA = REPO.parent / "shared" / "data"  # real 2024 news: read at run time, never copied here
DEV = DATA / "dev"
SCALE = DATA / "scale"
DEV_CORPUS = DEV / "corpus.jsonl"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Renamed:
    """An embedder under another name: an index built with it records that model."""

    def __init__(self, embedder: Any, name: str):
        self.embedder, self.name = embedder, name

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return list(self.embedder.embed_documents(texts))

    def embed_query(self, text: str) -> list[float]:
        return list(self.embedder.embed_query(text))


def in_ci() -> bool:
    """Whether this run is CI's (`CI` set): a test that needs a missing tool or data fails there
    instead of skipping."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def shared_data(path: Path) -> Path:
    """`path` under ../shared/data. Where it is missing the test skips with this one reason,
    except in CI (`CI` set), where the data must be there and its absence fails the test."""
    import pytest  # here: bench scripts import this module too

    if path.exists():
        return path
    reason = f"needs {path}: real 2024 news in ../shared/data beside the checkout (not in the repo)"
    if in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


# Sentences that trip splitters (abbreviations, initials, decimals, quotations, ellipses): the
# unit tests hold index/sentences.py to them and bench/sentence_splitters.py compares splitters.
HARD_CASES = [
    (
        "Stoltenberg expects the U.S. Congress to agree on a package. Funding ran out.",
        ["Stoltenberg expects the U.S. Congress to agree on a package.", "Funding ran out."],
    ),
    (
        "U.S. Congress passed the bill. The president signed it.",
        ["U.S. Congress passed the bill.", "The president signed it."],
    ),
    (
        "The deal was signed on Jan. 5, 2024. It takes effect in March.",
        ["The deal was signed on Jan. 5, 2024.", "It takes effect in March."],
    ),
    (
        "Prices rose in Jan. and fell in Feb. Analysts were surprised.",
        ["Prices rose in Jan. and fell in Feb.", "Analysts were surprised."],
    ),
    (
        "About 3.5 million people fled. Most went west.",
        ["About 3.5 million people fled.", "Most went west."],
    ),
    ("Turnout was 62.5%. That was a record.", ["Turnout was 62.5%.", "That was a record."]),
    (
        "J.K. Rowling wrote the books. They sold well.",
        ["J.K. Rowling wrote the books.", "They sold well."],
    ),
    ("George W. Bush spoke. He left.", ["George W. Bush spoke.", "He left."]),
    (
        "Dr. Smith met Mr. Jones at 5 p.m. on Friday. They talked.",
        ["Dr. Smith met Mr. Jones at 5 p.m. on Friday.", "They talked."],
    ),
    ("The talks ended at 5 p.m. Officials left.", ["The talks ended at 5 p.m.", "Officials left."]),
    (
        "Sen. Chuck Schumer, D-N.Y., spoke on Tuesday. The bill passed.",
        ["Sen. Chuck Schumer, D-N.Y., spoke on Tuesday.", "The bill passed."],
    ),
    (
        'He said, "We will win. We have no choice." Then he left.',
        ['He said, "We will win. We have no choice."', "Then he left."],
    ),
    (
        "She said: “I don’t know. Maybe tomorrow.” The crowd cheered.",
        ["She said: “I don’t know. Maybe tomorrow.”", "The crowd cheered."],
    ),
    (
        "“We will not give up,” he said. “Never.”",
        ["“We will not give up,” he said.", "“Never.”"],
    ),
    (
        "He paused... and then he spoke again. Nobody listened.",
        ["He paused... and then he spoke again.", "Nobody listened."],
    ),
    (
        "Officials said … the talks had failed. Both sides left.",
        ["Officials said … the talks had failed.", "Both sides left."],
    ),
    ("The vote was close... Nobody expected it.", ["The vote was close...", "Nobody expected it."]),
    ("Is it over? Yes! It is.", ["Is it over?", "Yes!", "It is."]),
]
