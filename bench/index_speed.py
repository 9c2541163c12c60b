"""Build speed: ours against the naive LangChain recipe on the same corpus, in one run.

Usage: .venv/bin/python -m bench.index_speed [CORPUS.jsonl] [--work DIR] [--int8] [--static]
Prints articles/s, sentences/s, chunks, peak memory and index size for each build, the ratio,
and the time of a re-index with nothing changed. Each build runs in its own process. --int8 also
builds with int8 weights (not the default: see index/embed.py); --static with chunk vectors from
the static model distilled from MiniLM (index/static.py; distilled before the timed build).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.shared import DEV_CORPUS as DEV


def size_mb(folder: Path) -> float:
    """Bytes on disk under a folder, in MB."""
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def one(kind: str, corpus: Path, folder: Path) -> dict[str, float]:
    """One build in this process; its figures."""
    started = time.perf_counter()
    if kind == "naive":
        from bench.naive import build

        chunks, sentences, articles = build(corpus, folder), 0, 0
    else:
        from index.build import rebuild
        from index.embed import DEFAULT_MODEL, SentenceEmbedder
        from index.static import embedder_named

        model = DEFAULT_MODEL + (":static" if kind == "static" else "")
        embedder = SentenceEmbedder(quantize=True) if kind == "int8" else embedder_named(model)
        report = rebuild([corpus], folder, full=kind != "again", embedder=embedder, progress=False)
        chunks, sentences, articles = report.chunks, report.sentences, report.articles
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "seconds": seconds,
        "chunks": chunks,
        "sentences": sentences,
        "articles": articles,
        "peak_mb": peak,
        "size_mb": size_mb(folder),
    }


def run(kind: str, corpus: Path, folder: Path) -> dict[str, float]:
    """One build in a fresh process."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.index_speed",
            str(corpus),
            "--one",
            kind,
            "--work",
            str(folder),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    """Parse arguments, run the builds, print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", type=Path, default=DEV)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--one", choices=["full", "again", "naive", "int8", "static"])
    parser.add_argument("--int8", action="store_true", help="also build with int8 weights")
    parser.add_argument("--static", action="store_true", help="also build with static vectors")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.corpus, args.work)))
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-index-"))
    articles = sum(1 for line in args.corpus.open() if line.strip())
    ours = run("full", args.corpus, work / "ours")
    again = run("again", args.corpus, work / "ours")
    naive = run("naive", args.corpus, work / "naive")
    builds = [("ours", ours), ("naive", naive)]
    if args.int8:
        builds.append(("int8", run("int8", args.corpus, work / "int8")))
    if args.static:
        from index.static import static_embedder

        static_embedder()  # distilled once and cached, as the ONNX export is: not timed
        builds.append(("static", run("static", args.corpus, work / "static")))
    for name, r in builds:
        per_sentence = (
            f"{r['sentences'] / r['seconds']:.0f} sentences/s, " if r["sentences"] else ""
        )
        print(
            f"{name:6} {articles / r['seconds']:6.2f} articles/s, {per_sentence}"
            f"{r['chunks']:.0f} chunks in {r['seconds']:.1f} s, peak {r['peak_mb']:.0f} MB, "
            f"index {r['size_mb']:.0f} MB"
        )
    for name, r in builds:
        if name != "naive":
            print(f"{name}: speed-up over the naive recipe {naive['seconds'] / r['seconds']:.2f}x")
    print(
        f"re-index with nothing changed: {again['seconds']:.2f} s "
        f"= {100 * again['seconds'] / ours['seconds']:.1f}% of the full build"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
