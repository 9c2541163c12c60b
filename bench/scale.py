"""Growing slices of the scale corpus: build time, peak RSS, disk, answer latency and measures.

Usage: .venv/bin/python -m bench.scale [--slices 500,1500,3000,all] [--questions 200]
       [--work DIR] [--plot FILE.png] [--chunk-vectors minilm,static] [--keep]
       .venv/bin/python -m bench.scale --plot-from SAVED_OUTPUT --plot FILE.png

For each slice (the first S articles of ../shared/data/scale/corpus.jsonl.gz, in file order) a
fresh index is built by `assistant index --full` in a child process: its wall time (Python start
and model loading included, as a user waits for them), articles/s, its peak RSS and the index's
size on disk. Then another child loads the assistant over that index, answers the first question
once to warm up (its time is "1st s": models and index loaded), and runs `assistant eval` on the
questions whose answer occurs in an article of the slice (at most --questions, in file order,
each asked on its date): the warm p50/p95 of an answer (retrieval + writing, what `answer()`
does), the gold answer in the context and in the cited sentences, on all and on the specific
questions (answer in 20 articles or fewer), and that child's peak RSS ("serving RSS").
The smallest slice is the baseline: each slice's build time per article is given relative to it.
Targets at the full corpus (issue #11): peak RSS < 3 GB, warm answer p50 < 300 ms.
With `--chunk-vectors minilm,static` every slice is built and measured with each kind of chunk
vectors in the same run, and the last slice's answer figures are compared (static is to be the
default if it loses no more than 1 point in context and in cited sentences).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from importlib.util import find_spec
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "scale"
TARGET_RSS_MB = 3 * 1024
TARGET_P50_MS = 300
COLUMNS = (
    f"{'articles':>8} {'indexed':>7} {'build s':>8} {'art/s':>6} {'s/art':>6} {'build MB':>8} "
    f"{'disk MB':>7} {'serve MB':>8} {'cold s':>6} {'1st s':>6} {'p50 ms':>6} {'p95 ms':>6} "
    f"{'ctx':>5} {'cited':>5} {'ctx sp':>6} {'cit sp':>6} {'n':>4} {'n sp':>4}"
)
LEGEND = (
    "s/art: build seconds per article relative to the smallest slice; build/serve MB: peak RSS "
    "of the child (MiB); disk MB: allocated bytes / 1e6; cold s: a new `assistant ask` process "
    "end to end; 1st s: the first answer in the serving child (after its imports); ctx / cited: "
    "gold answer in the context / in the cited sentences, on all questions and on the specific "
    "ones (sp); the line under each slice: the same index split in segments"
)
SPLIT = 8  # segments of the split copy of each slice's index


@dataclass(frozen=True)
class Child:
    """A finished child process: wall time, peak RSS and exit code."""

    seconds: float
    peak_mb: float
    returncode: int


@dataclass(frozen=True)
class Served:
    """An index's answering figures: a cold `assistant ask`, then the serving child's."""

    cold: Child
    serve: Child
    first_s: float
    figures: dict[str, float]


@dataclass(frozen=True)
class Row:
    """One slice's figures, and those of the same index split in SPLIT segments."""

    articles: int
    indexed: int
    build: Child
    disk_mb: float
    served: Served | None = None
    split: Served | None = None

    @property
    def figures(self) -> dict[str, float]:
        return self.served.figures if self.served else {}


def run_child(command: list[str], env: dict[str, str], log: Path) -> Child:
    """Run `command` with its output to `log`; its wall time and peak RSS.

    The peak RSS is the kernel's high-water mark that os.wait4 returns for this one child (the
    larger of the child's and of any process it waited for): exact, unlike polling, and it needs
    neither psutil nor /usr/bin/time. A child's threads count once; they share its memory.
    """
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return Child(time.perf_counter() - started, usage.ru_maxrss / 1024, process.returncode)


def check(child: Child, what: str, log: Path) -> None:
    """Stop with the end of the child's log if it failed."""
    if child.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise SystemExit(f"{what} failed (exit {child.returncode}), end of {log}:\n{tail}")


def disk_mb(folder: Path) -> float:
    """Bytes allocated on disk under a folder (st_blocks x 512: sparse files count as stored)."""
    total = 0
    for parent, _, files in os.walk(folder):
        total += sum(os.stat(os.path.join(parent, name)).st_blocks * 512 for name in files)
    return total / 1e6


def read_corpus(path: Path) -> tuple[list[str], list[str]]:
    """The corpus's lines, as written, and their article ids."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        kept = [line if line.endswith("\n") else line + "\n" for line in lines if line.strip()]
    return kept, [str(json.loads(line)["id"]) for line in kept]


def pick_questions(path: Path, ids: set[str], limit: int) -> list[dict[str, object]]:
    """The first `limit` questions (file order) whose answer occurs in an article of `ids`."""
    picked = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line) if line.strip() else {}
        if ids.intersection(record.get("answer_in_articles") or ()):
            picked.append(record)
            if len(picked) == limit:
                break
    return picked


def parse_eval(text: str) -> dict[str, float]:
    """The figures `assistant eval` printed (nan for a group it did not print)."""
    figures = dict.fromkeys(("n", "ctx", "cited", "n sp", "ctx sp", "cited sp"), math.nan)
    measures = r"n=\s*(\d+)\s+answer in context \([\d,]+ chars\): ([\d.]+)\s+in cited sentences: "
    for group, suffix in (("all", ""), ("specific", " sp")):
        found = re.search(rf"^{group}\s+{measures}([\d.]+)", text, re.MULTILINE)
        if found:
            for key, value in zip(("n", "ctx", "cited"), found.groups(), strict=True):
                figures[key + suffix] = float(value)
    latency = re.search(r"latency p50 (\d+) ms, p95 (\d+) ms", text)
    offsets = re.search(r"citations failing the offset check: (\d+)", text)
    first = re.search(r"^first answer: ([\d.]+) s", text, re.MULTILINE)
    if not (latency and offsets and first and not math.isnan(figures["n"])):
        raise SystemExit(f"could not read the figures of `assistant eval`:\n{text}")
    figures |= {"p50": float(latency[1]), "p95": float(latency[2]), "bad offsets": int(offsets[1])}
    return figures | {"first": float(first[1])}


def eval_child(questions: Path, index_dir: Path) -> int:
    """In the serving child: warm up on the first question, then `assistant eval` on all."""
    from assistant.api import answer
    from assistant.cli import main
    from assistant.config import Settings

    first = json.loads(questions.read_text(encoding="utf-8").splitlines()[0])
    started = time.perf_counter()
    # The same Settings as the CLI's below, so eval reuses the cached, now warm, assistant.
    answer(
        first["question"], as_of=first.get("date"), settings=Settings.from_env(index_dir=index_dir)
    )
    print(f"first answer: {time.perf_counter() - started:.2f} s", flush=True)
    return main(["eval", str(questions), "--index-dir", str(index_dir)])


def split_index(index_dir: Path, target: Path, parts: int, daily: int = 0) -> None:
    """A copy of a one-segment index as `parts` segments (records copied with their vectors:
    nothing embedded again), its BM25 saved as a build saves it: of about as many articles
    each, or with `daily`, as daily updates leave it: the newest articles (by date) in `parts - 1`
    segments of `daily` articles, the rest in the first."""
    from index.build import _save_bm25
    from index.manifest import Part
    from index.places import Folder
    from index.segments import new_segment_id
    from index.store import Index, current

    source = Folder(index_dir)
    manifest = current(source)
    shutil.rmtree(target, ignore_errors=True)
    place = Folder(target)
    index = Index(source, manifest)
    try:
        (segment,) = index.segments
        records = segment.all(segment.articles, documents=False)
        article_ids = [a for _, a in sorted((str(m["published"]), a) for a, _, m in records)]
        share = math.ceil(len(article_ids) / parts)
        cuts = [part * share for part in range(parts + 1)]
        if daily:
            first = len(article_ids) - daily * (parts - 1)
            cuts = [0, *(first + day * daily for day in range(parts))]
        part_of = {a: p for p in range(parts) for a in article_ids[cuts[p] : cuts[p + 1]]}
        ids = [new_segment_id() for _ in range(parts)]
        targets = [place.segment(i, create=True) for i in ids]
        try:
            for kind, article_of in (("articles", None), ("chunks", "article_id")):
                offset = 0
                while True:  # a page at a time: one get() of more than ~32,000 fails
                    got = getattr(segment, kind).get(
                        include=["embeddings", "documents", "metadatas"], limit=1000, offset=offset
                    )
                    fields = (got["ids"], got["embeddings"], got["documents"], got["metadatas"])
                    rows = list(zip(*fields, strict=True))
                    owner = [part_of[r[3][article_of] if article_of else r[0]] for r in rows]
                    for p in range(parts):
                        mine = [r for r, o in zip(rows, owner, strict=True) if o == p]
                        if mine:
                            getattr(targets[p], kind).add(
                                ids=[r[0] for r in mine],
                                embeddings=[list(r[1]) for r in mine],
                                documents=[r[2] for r in mine],
                                metadatas=[r[3] for r in mine],
                            )
                    if len(rows) < 1000:
                        break
                    offset += 1000
        finally:
            for new in targets:
                new.close()
        for i in ids:
            place.finish(i)
    finally:
        index.close()
    split = replace(manifest, parts=tuple(Part(i) for i in ids), previous=())
    _save_bm25(place, split)
    place.publish(split)


def serve(index_dir: Path, questions: Path, env: dict[str, str], folder: Path) -> Served:
    """A cold `assistant ask` of the first question, then the serving child on all of them."""
    first = json.loads(questions.read_text(encoding="utf-8").splitlines()[0])
    ask = [sys.executable, "-m", "assistant.cli", "ask", first["question"]]
    ask += ["--index-dir", str(index_dir), "--as-of", str(first["date"]).replace("/", "-")]
    cold = run_child(ask, env, folder / "cold.log")
    check(cold, "the cold ask", folder / "cold.log")
    command = [sys.executable, "-m", "bench.scale", "--eval-child", str(questions)]
    child = run_child([*command, "--index-dir", str(index_dir)], env, folder / "eval.log")
    check(child, "the eval", folder / "eval.log")
    figures = parse_eval((folder / "eval.log").read_text(errors="replace"))
    return Served(cold, child, figures.pop("first"), figures)


def measure(
    size: int, lines: list[str], ids: list[str], args: argparse.Namespace, vectors: str
) -> Row:
    """Build the slice's index with `vectors` chunk vectors, then answer its questions, then the
    same on the index split in SPLIT segments; its row."""
    env = {
        **os.environ,
        "ASSISTANT_CHUNK_VECTORS": vectors,  # `assistant index` has no such option
        "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"),
        "ANONYMIZED_TELEMETRY": "False",
    }
    folder = args.work / (str(size) if len(args.chunk_vectors) == 1 else f"{vectors}-{size}")
    source, index_dir = folder / "slice.jsonl", folder / "index"
    if args.reuse and (index_dir / "manifest.json").is_file():
        build = Child(math.nan, math.nan, 0)
    else:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        source.write_text("".join(lines[:size]), encoding="utf-8")
        cli = [sys.executable, "-m", "assistant.cli"]
        command = [*cli, "index", str(source), "--index-dir", str(index_dir), "--full", "--quiet"]
        build = run_child(command, env, folder / "build.log")
        check(build, "the build", folder / "build.log")
    holds = re.search(r"holds (\d+) articles", (folder / "build.log").read_text(errors="replace"))
    row = Row(size, int(holds[1]) if holds else -1, build, disk_mb(index_dir))
    picked = pick_questions(args.questions_file, set(ids[:size]), args.questions)
    if picked:
        questions = folder / "questions.jsonl"
        questions.write_text("".join(json.dumps(q) + "\n" for q in picked), encoding="utf-8")
        row = replace(row, served=serve(index_dir, questions, env, folder))
        if args.split:
            split_dir = folder / f"index-{SPLIT}"
            split_index(index_dir, split_dir, SPLIT, args.daily)
            (folder / "split").mkdir(exist_ok=True)
            row = replace(row, split=serve(split_dir, questions, env, folder / "split"))
            shutil.rmtree(split_dir, ignore_errors=True)
    if not args.keep:
        shutil.rmtree(index_dir, ignore_errors=True)
        source.unlink()
    return row


def line(row: Row, baseline: Row) -> str:
    """The row as a table line."""
    per_article = row.build.seconds / row.articles
    relative = per_article / (baseline.build.seconds / baseline.articles)
    text = (
        f"{row.articles:8} {row.indexed:7} {row.build.seconds:8.1f} "
        f"{row.articles / row.build.seconds:6.2f} {relative:5.2f}x {row.build.peak_mb:8.0f} "
        f"{row.disk_mb:7.1f} {served_cells(row.served)}"
    )
    if row.split:
        text += f"\n{f'{SPLIT} segments':>56} {served_cells(row.split)}"
    return text


def served_cells(served: Served | None) -> str:
    """The serving columns of a row (dashes when nothing was served)."""
    if served is None:
        return f"{'-':>8}"
    f = dict.fromkeys(("p50", "p95", "ctx", "cited", "ctx sp", "cited sp", "n", "n sp"), math.nan)
    f |= served.figures
    return (
        f"{served.serve.peak_mb:8.0f} {served.cold.seconds:6.1f} {served.first_s:6.1f} "
        f"{f['p50']:6.0f} {f['p95']:6.0f} {f['ctx']:5.3f} {f['cited']:5.3f} {f['ctx sp']:6.3f} "
        f"{f['cited sp']:6.3f} {f['n']:4.0f} {f['n sp']:4.0f}"
    )


def targets(row: Row) -> str:
    """The issue's targets at the full corpus, met or not."""
    peaks = [row.build.peak_mb, row.served.serve.peak_mb if row.served else 0]
    peak = max(p for p in peaks if not math.isnan(p))  # a --reuse run builds nothing
    p50 = row.figures.get("p50", math.nan)
    rss = "met" if peak < TARGET_RSS_MB else "NOT met"
    fast = "not measured" if math.isnan(p50) else "met" if p50 < TARGET_P50_MS else "NOT met"
    return (
        f"targets at the full corpus: peak RSS {peak:.0f} MiB < {TARGET_RSS_MB} MiB: {rss}; "
        f"warm answer p50 {p50:.0f} ms < {TARGET_P50_MS} ms: {fast}"
    )


def plot(rows: list[Row], path: Path, title: str) -> None:
    """Two panels: build time, and peak RSS of the build and of serving, against articles."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r.articles for r in rows]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    left.plot(sizes, [r.build.seconds for r in rows], "o-")
    left.set(xlabel="articles", ylabel="build time (s)", title="build time", ylim=(0, None))
    right.plot(sizes, [r.build.peak_mb for r in rows], "o-", label="build")
    served = [r for r in rows if r.served]
    serving = [r.served.serve.peak_mb for r in served if r.served]
    right.plot([r.articles for r in served], serving, "s-", label="serving (answers)")
    right.axhline(TARGET_RSS_MB, color="grey", linestyle="--", label="target (3 GB)")
    right.set(xlabel="articles", ylabel="peak RSS (MiB)", title="peak memory", ylim=(0, None))
    right.legend()
    figure.suptitle(title)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def printed_rows(text: str) -> list[Row]:
    """The rows of a run's printed table (`--plot-from`: plot a run saved with `> FILE`)."""
    rows = []
    for found in re.finditer(r"^ *(\d+) +(\d+) +([\d.]+) .*$", text, re.MULTILINE):
        cells = found[0].split()
        nothing = Child(math.nan, math.nan, 0)
        served = None
        if cells[7] != "-":
            served = Served(nothing, Child(math.nan, float(cells[7]), 0), math.nan, {})
        build = Child(float(cells[2]), float(cells[5]), 0)
        rows.append(Row(int(cells[0]), int(cells[1]), build, float(cells[6]), served))
    return rows


def parse_args() -> argparse.Namespace:
    from assistant.config import Settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slices", default="500,1500,3000,all", help="article counts, or all")
    parser.add_argument("--questions", type=int, default=200, help="per slice, at most")
    parser.add_argument("--work", type=Path, help="default: a temporary folder, removed after")
    parser.add_argument("--plot", type=Path, help="PNG of time and memory against articles")
    parser.add_argument("--chunk-vectors", help="minilm, static, or both: minilm,static")
    parser.add_argument("--keep", action="store_true", help="keep each slice's index")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the slices' indexes a --keep run left"
    )
    parser.add_argument(
        "--no-split", dest="split", action="store_false", help=f"skip the {SPLIT}-segment copy"
    )
    parser.add_argument(
        "--daily",
        type=int,
        default=0,
        help=f"split as daily updates leave an index: the newest articles in {SPLIT - 1} "
        "segments of this many, the rest in one (default: segments of equal size)",
    )
    parser.add_argument("--plot-from", type=Path, help="plot the table a run printed, and stop")
    parser.add_argument("--corpus", type=Path, default=DATA / "corpus.jsonl.gz")
    parser.add_argument("--questions-file", type=Path, default=DATA / "questions.jsonl")
    parser.add_argument("--eval-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--index-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    chosen = args.chunk_vectors or Settings.from_env().chunk_vectors or "static"
    args.chunk_vectors = chosen.split(",")
    if not set(args.chunk_vectors) <= {"minilm", "static"}:
        parser.error(f"--chunk-vectors: minilm, static or minilm,static, not {args.chunk_vectors}")
    return args


def compare(last: dict[str, Row]) -> str:
    """static against minilm on the same slice: the points each measure moved, and the verdict."""
    base, other = last["minilm"].figures, last["static"].figures
    moved = {k: 100 * (other[k] - base[k]) for k in ("ctx", "cited", "ctx sp", "cited sp")}
    shown = ", ".join(f"{k} {v:+.1f}" for k, v in moved.items())
    verdict = "no more than 1 point lost" if min(moved["ctx"], moved["cited"]) >= -1 else "lost"
    return (
        f"static against minilm on {last['minilm'].articles} articles (points): {shown}: {verdict}"
    )


def main() -> None:
    """Measure every slice, one row as each finishes; the targets; the plot."""
    args = parse_args()
    if args.eval_child:
        sys.exit(eval_child(args.eval_child, args.index_dir))
    if args.plot and find_spec("matplotlib") is None:
        raise SystemExit("--plot needs the matplotlib package, which is not installed")
    if args.plot and args.plot_from:
        saved = printed_rows(args.plot_from.read_text(encoding="utf-8"))
        plot(saved, args.plot, f"{args.corpus.name}, chunk vectors {args.chunk_vectors[0]}")
        print(f"plot of {len(saved)} slices: {args.plot}")
        return
    print("$ " + shlex.join(["python", "-m", "bench.scale", *sys.argv[1:]]), flush=True)
    lines, ids = read_corpus(args.corpus)
    sizes = sorted(
        {len(lines) if s == "all" else min(int(s), len(lines)) for s in args.slices.split(",")}
    )
    owned = args.work is None
    args.work = args.work or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    print(
        f"{len(lines)} articles in {args.corpus}; {os.cpu_count()} cores; work in {args.work}"
        f"\n{LEGEND}",
        flush=True,
    )
    last: dict[str, Row] = {}
    try:
        for vectors in args.chunk_vectors:
            print(f"chunk vectors {vectors}\n{COLUMNS}", flush=True)
            rows: list[Row] = []
            for size in sizes:
                rows.append(measure(size, lines, ids, args, vectors))
                print(line(rows[-1], rows[0]), flush=True)
                # Other work on the machine slows builds: times compare only under a like load.
                load = os.getloadavg()[1]
                print(f"  load average over the last 5 minutes: {load:.2f}", flush=True)
                if bad := rows[-1].figures.get("bad offsets"):
                    print(f"  citations failing the offset check: {bad:.0f}", flush=True)
            if rows and rows[-1].articles == len(lines):
                print(targets(rows[-1]))
            if args.plot and rows:
                plot(rows, args.plot, f"{args.corpus.name}, chunk vectors {vectors}")
                print(f"plot: {args.plot}")
            last[vectors] = rows[-1]
    finally:
        if owned:
            shutil.rmtree(args.work, ignore_errors=True)
    if len(last) == 2 and all(r.figures for r in last.values()):
        print(compare(last))


if __name__ == "__main__":
    main()
