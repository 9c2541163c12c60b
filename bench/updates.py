"""Daily updates against a full build, on the scale corpus (issue #11).

Usage: .venv/bin/python -m bench.updates [--days 5] [--per-day 50] [--work DIR] [--baseline DIR]

The last days x per-day articles of ../shared/data/scale/corpus.jsonl.gz are held back; the
rest is indexed with `assistant index --full`, then each day's articles arrive as a new JSONL
file in the same folder and `assistant index` (incremental) runs again; then once more with no
change. Finally a fresh `--full` build of the whole folder is the baseline for the disk size
(`--baseline DIR`: an index of the same articles built so already, e.g. by `bench.scale --keep`).
Every run is a child process timed from its start (Python, model loading and reading all the
articles included, as a user waits for them). Targets: an update < 2% of the full build, disk
after the updates within 10% of the fresh build, a no-change run < 60 s.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from bench.scale import DATA, Child, check, disk_mb, read_corpus, run_child


def index(source: Path, index_dir: Path, log: Path, full: bool = False) -> Child:
    command = [sys.executable, "-m", "assistant.cli", "index", str(source), "-q"]
    command += ["--index-dir", str(index_dir)] + (["--full"] if full else [])
    child = run_child(command, dict(os.environ), log)
    check(child, "index", log)
    return child


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--per-day", type=int, default=50)
    parser.add_argument("--corpus", type=Path, default=DATA / "corpus.jsonl.gz")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-updates"))
    parser.add_argument("--baseline", type=Path, help="a fresh --full index of all the articles")
    args = parser.parse_args()
    print("$ python -m bench.updates " + shlex.join(sys.argv[1:]), flush=True)
    lines, _ = read_corpus(args.corpus)
    held = args.days * args.per_day
    source, work = args.work / "articles", args.work
    source.mkdir(parents=True, exist_ok=True)
    for old in source.iterdir():
        old.unlink()
    (source / "archive.jsonl").write_text("".join(lines[:-held]))

    full = index(source, work / "index", work / "full.log", full=True)
    base_disk = disk_mb(work / "index")
    print(
        f"full build of {len(lines) - held:,} articles: {full.seconds:.0f} s, peak RSS "
        f"{full.peak_mb:.0f} MiB, disk {base_disk:.0f} MB",
        flush=True,
    )
    print(f"{'update':>8} {'articles':>8} {'seconds':>8} {'of full':>8} {'disk MB':>8}")
    start = len(lines) - held
    for day in range(1, args.days + 1):
        batch = lines[start + (day - 1) * args.per_day : start + day * args.per_day]
        (source / f"day-{day}.jsonl").write_text("".join(batch))
        run = index(source, work / "index", work / f"day-{day}.log")
        share = run.seconds / full.seconds
        print(
            f"{day:>8} {len(batch):>8} {run.seconds:>8.1f} {share:>8.2%} "
            f"{disk_mb(work / 'index'):>8.0f}",
            flush=True,
        )
    same = index(source, work / "index", work / "no-change.log")
    print(f"no change: {same.seconds:.1f} s (target < 60 s)", flush=True)
    updated_disk = disk_mb(work / "index")
    if args.baseline:
        fresh_disk, how = disk_mb(args.baseline), f"{args.baseline}"
    else:
        fresh = index(source, work / "fresh", work / "fresh.log", full=True)
        fresh_disk, how = disk_mb(work / "fresh"), f"{fresh.seconds:.0f} s"
    print(
        f"fresh --full build of all {len(lines):,} ({how}): disk {fresh_disk:.0f} MB; after the "
        f"updates {updated_disk:.0f} MB ({updated_disk / fresh_disk - 1:+.1%}, target within 10%)",
        flush=True,
    )


if __name__ == "__main__":
    main()
