"""Story grouping measured: B-cubed precision, recall and F1 against labelled stories.

Usage: .venv/bin/python -m bench.stories [--labels bench/stories_labels.jsonl] [--tune]
           [--work DIR]

bench/stories_labels.jsonl labels the articles of two slices of
../shared/data/scale/corpus.jsonl.gz by story (article ids and story names only; how they were
labelled: bench/stories_labels.md). For each slice, its articles are indexed as a news reader's
index receives them: one `rebuild` a day, in date order, each adding that day's articles as a
JSONL file to the ones before (the real incremental path: index/build.py assigns each day's
new articles against the stories indexed before them). The stories read back from the index are
scored against the labels: B-cubed precision, recall and F1 (Bagga and Baldwin 1998; Amigó et
al. 2009), with a baseline in the same run (every article a story of its own).

--tune: the grouping constants of index/stories.py tried over a grid on the tune slice, with the
vectors and names the build stored (index/stories.py `assign`, fed one day at a time as the
build feeds it), best first; the best the grid reaches on the test slice (fitted to it: a bound
on what these constants can do, not a result); then the tune slice's best on both slices.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import shlex
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from assistant.config import Settings
from bench.scale import DATA
from index import stories
from index.build import rebuild
from index.static import chunk_embedder
from index.store import open_index

HERE = Path(__file__).resolve().parent


def bcubed(predicted: Mapping[str, str], gold: Mapping[str, str]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 of a grouping (article -> cluster) against the labels."""
    clusters: dict[str, set[str]] = defaultdict(set)
    classes: dict[str, set[str]] = defaultdict(set)
    for item in gold:
        clusters[predicted[item]].add(item)
        classes[gold[item]].add(item)
    precision = recall = 0.0
    for item in gold:
        both = len(clusters[predicted[item]] & classes[gold[item]])
        precision += both / len(clusters[predicted[item]])
        recall += both / len(classes[gold[item]])
    p, r = precision / len(gold), recall / len(gold)
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def read_labels(path: Path) -> dict[str, dict[str, str]]:
    """slice -> article id -> story label."""
    labels: dict[str, dict[str, str]] = defaultdict(dict)
    for line in path.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            labels[record["slice"]][record["id"]] = record["story"]
    return labels


def read_corpus(ids: set[str]) -> dict[str, dict]:
    records = {}
    with gzip.open(DATA / "corpus.jsonl.gz", "rt") as lines:
        for line in lines:
            record = json.loads(line)
            if record["id"] in ids:
                records[record["id"]] = record
    return records


def build_by_day(records: Mapping[str, dict], work: Path) -> tuple[float, Path]:
    """Index the records one day a build, in date order; seconds spent and the index folder."""
    days: dict[str, list[dict]] = defaultdict(list)
    for record in records.values():
        days[record["published"][:10]].append(record)
    files = work / "articles"
    files.mkdir(parents=True)
    index_dir = work / "index"
    embedder = chunk_embedder(Settings.embed_model, "static")  # a new index's default
    started = time.perf_counter()
    for day in sorted(days):
        with (files / f"{day}.jsonl").open("w") as out:
            out.writelines(json.dumps(r) + "\n" for r in days[day])
        rebuild([files], index_dir, embedder=embedder, progress=False)
    return time.perf_counter() - started, index_dir


def stored(index_dir: Path) -> tuple[dict[str, str], list[stories.Member]]:
    """The story of every article of the index (merges followed), and the members as stored."""
    index = open_index(index_dir)
    try:
        into = stories.merged_into(index)
        found, members = {}, []
        for article_id, meta, vector in stories.records(index, vectors=True):
            story = str(meta["story"])
            found[article_id] = into.get(story, story)
            assert vector is not None
            names = frozenset(json.loads(str(meta["names"])))
            day = stories.day_of(str(meta["published"]))
            members.append(stories.Member(article_id, day, vector, names))
        return found, members
    finally:
        index.close()


def replay(members: list[stories.Member]) -> dict[str, str]:
    """`assign` fed one day at a time, as the daily builds feed it."""
    by_day: dict[object, list[stories.Member]] = defaultdict(list)
    for m in members:
        by_day[m.day].append(m)
    known: list[tuple[stories.Member, str]] = []
    story: dict[str, str] = {}
    merges: list[tuple[str, tuple[str, ...]]] = []
    for day in sorted(by_day, key=lambda d: (d is None, d)):
        span = stories.window([day] if day else [])
        around = [(m, s) for m, s in known if span and m.day and span[0] <= m.day <= span[1]]
        assigned = stories.assign(by_day[day], around)
        merges += [(assigned.story[a], m) for a, m in assigned.merges.items()]
        into = stories.resolve(merges)
        story.update(assigned.story)
        known = [
            (m, into.get(story[m.id], story[m.id])) for m in [*(k for k, _ in known), *by_day[day]]
        ]
    into = stories.resolve(merges)
    return {a: into.get(s, s) for a, s in story.items()}


@contextmanager
def constants(**values: float) -> Iterator[None]:
    old = {name: getattr(stories, name) for name in values}
    for name, value in values.items():
        setattr(stories, name, value)
    try:
        yield
    finally:
        for name, value in old.items():
            setattr(stories, name, value)


GRID = {
    "JOIN": (0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75),
    "W_NAMES": (0.0, 0.15, 0.3, 0.5),
    "DAY_COST": (0.0, 0.01, 0.03),
    "MERGE": (0.7, 0.8, 0.9),
}


def line(name: str, score: tuple[float, float, float], groups: int, n: int) -> str:
    p, r, f = score
    return f"  {name:<34} P {p:.3f}  R {r:.3f}  F1 {f:.3f}   {groups} stories of {n} articles"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=Path, default=HERE / "stories_labels.jsonl")
    parser.add_argument("--tune", action="store_true", help="search the constants on tune")
    parser.add_argument("--work", type=Path, help="keep the indexes here (default: temporary)")
    args = parser.parse_args()
    print("$ .venv/bin/python -m bench.stories " + shlex.join(sys.argv[1:]), flush=True)
    labels = read_labels(args.labels)
    corpus = read_corpus(set().union(*(set(v) for v in labels.values())))
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-stories-"))
    members_of = {}
    for name in ("tune", "test"):
        gold = labels[name]
        records = {i: corpus[i] for i in gold if i in corpus}
        seconds, index_dir = build_by_day(records, work / name)
        found, members = stored(index_dir)
        members_of[name] = members
        # Articles the index does not hold as themselves (a duplicate, a copy): their original's.
        missing = [i for i in gold if i not in found]
        sizes = Counter(gold.values())
        print(
            f"{name}: {len(gold)} labelled articles in {len(sizes)} stories "
            f"({sum(1 for s in sizes.values() if s > 1)} of 2+), "
            f"{len({r['published'][:10] for r in records.values()})} daily builds in "
            f"{seconds:.1f} s; {len(missing)} not indexed as themselves (left out)"
        )
        scored = {i: s for i, s in gold.items() if i in found}
        print(
            line(
                "built (index/stories.py)",
                bcubed(found, scored),
                len(set(found.values())),
                len(scored),
            )
        )
        print(
            line(
                "baseline: each article alone",
                bcubed({i: i for i in scored}, scored),
                len(scored),
                len(scored),
            )
        )
        replayed = replay(members)
        assert replayed == found, "the replay of assign differs from the build"
    if args.tune:
        tune(members_of, labels)


def search(
    members: list[stories.Member], gold: Mapping[str, str]
) -> list[tuple[float, dict[str, float]]]:
    """F1 of every point of GRID on one slice, best first."""
    results = []
    for values in itertools.product(*GRID.values()):
        chosen = dict(zip(GRID, values, strict=True))
        with constants(**chosen):
            found = replay(members)
        results.append((bcubed(found, {i: s for i, s in gold.items() if i in found})[2], chosen))
    return sorted(results, key=lambda r: -r[0])


def tune(
    members_of: Mapping[str, list[stories.Member]], labels: Mapping[str, Mapping[str, str]]
) -> None:
    results = search(members_of["tune"], labels["tune"])
    print("tune slice, best constants first (F1):")
    for f1, chosen in results[:10]:
        print(f"  {f1:.3f}  {chosen}")
    best = results[0][1]
    f1, chosen = search(members_of["test"], labels["test"])[0]
    print(f"the grid's best on test (fitted to test: a bound, not a result): {f1:.3f}  {chosen}")
    for name in ("tune", "test"):
        gold = labels[name]
        with constants(**best):
            found = replay(members_of[name])
        scored = {i: s for i, s in gold.items() if i in found}
        print(
            line(
                f"{name} with the best",
                bcubed(found, scored),
                len(set(found.values())),
                len(scored),
            )
        )


if __name__ == "__main__":
    main()
