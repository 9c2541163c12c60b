"""Paths and cases that tests and bench scripts share (bench runs as `python -m bench.NAME`)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "articles"  # the article the product ships with
SAMPLE_ARTICLE = SAMPLE / "avdiivka-2024-02-16.txt"
DATA = REPO.parent / "shared" / "data"  # real 2024 news: read at run time, never copied here
DEV = DATA / "dev"
SCALE = DATA / "scale"
DEV_CORPUS = DEV / "corpus.jsonl"
