"""Where outlets disagree, measured: the figure pairs assistant/figures.py flags in the stories of
an index, a sample of them to label, and how many of the labelled ones are real disagreements.

Usage: .venv/bin/python -m bench.disagreements --index-dir DIR [--sample 40] [--seed 1]
           [--labels bench/disagreements_labels.jsonl] [--any-outlet]
(DIR: an index of ../shared/data/scale/corpus.jsonl.gz built with `assistant index`.)

For every story of two or more articles (index/stories.py), each sentence with a figure is
checked against the sentences of the story's other articles by `assistant.figures.disagreements`
as a brief checks its points: of the same days, as close as figures.CONTEXT, the same unit with
another value, from another outlet. The scale corpus is 85% one publisher, so cross-outlet pairs
are few; --any-outlet also takes pairs of one outlet's articles (an update that gives a new
count is a development there, not a disagreement: the label says so) to measure the matching of
figures itself. Printed: the pairs flagged, and a seeded sample of them with both sentences to
label (printed at run time only: article texts never go into the repository). With --labels
(lines {"a": id, "a_start": n, "b": id, "b_start": n, "real": true|false}), the share of the
labelled pairs that are real disagreements (the same quantity given two values) and false ones.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from assistant import figures
from index import stories
from index.copies import outlet, wire
from index.embed import default_embedder
from index.store import open_index

HERE = Path(__file__).resolve().parent


def sentences_with_figures(index: Any, article_id: str, own_outlet: bool) -> list[Any]:
    """The article's sentences that give a figure, as the brief's sentences look to figures.py
    (`own_outlet`: the article is an outlet of its own, so one publisher's pairs count)."""
    found = index.article(article_id)
    if found is None:
        return []
    article, spans = found
    name = wire(article.text) or outlet(article.source, article.url)  # StoredChunk.reporter
    chunk = SimpleNamespace(
        article_id=article.id,
        reporter=article.id if own_outlet else name,
        name=name,
        published=article.published,
    )
    out = []
    for s in spans:
        text = article.text[s.start : s.end]
        if any(not f.bound for f in figures.figures(text)):
            out.append(SimpleNamespace(chunk=chunk, text=text, start=s.start, vector=None))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--sample", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--labels", type=Path, default=HERE / "disagreements_labels.jsonl")
    parser.add_argument("--any-outlet", action="store_true")
    args = parser.parse_args()
    print("$ .venv/bin/python -m bench.disagreements " + shlex.join(sys.argv[1:]), flush=True)
    embedder = default_embedder(quantize=True)
    index = open_index(args.index_dir)
    groups: dict[str, list[str]] = defaultdict(list)
    for article_id, (story, _) in stories.article_stories(index).items():
        groups[story].append(article_id)
    looked = [ids for ids in groups.values() if len(ids) > 1]
    flagged = []
    for ids in looked:
        pool = [s for a in ids for s in sentences_with_figures(index, a, args.any_outlet)]
        if len(pool) < 2:
            continue
        vectors = np.array(embedder.embed_documents([s.text for s in pool]))
        for s, v in zip(pool, vectors, strict=True):
            s.vector = v
        for s in pool:
            others = [t for t in pool if t.chunk.article_id != s.chunk.article_id]
            for found in figures.disagreements([s], others):
                (f, a), (g, b) = found.sides
                if a.chunk.article_id < b.chunk.article_id:  # each pair once
                    flagged.append((found.unit, f, a, g, b))
    print(
        f"{len(looked)} stories of 2+ articles; {len(flagged)} pairs flagged "
        f"({'any two articles' if args.any_outlet else 'other outlets only'})"
    )
    labels = {}
    if args.labels.exists():
        for line in args.labels.read_text().splitlines():
            r = json.loads(line)
            labels[(r["a"], r["a_start"], r["b"], r["b_start"])] = bool(r["real"])
    sample = random.Random(args.seed).sample(flagged, min(args.sample, len(flagged)))
    real = false = 0
    for unit, f, a, g, b in sample:
        key = (a.chunk.article_id, a.start, b.chunk.article_id, b.start)
        label = labels.get(key)
        real += label is True
        false += label is False
        print(f"\n{json.dumps(dict(zip(('a', 'a_start', 'b', 'b_start'), key, strict=True)))}")
        print(f"  label: {'real' if label else 'false' if label is False else '(none)'}; {unit}")
        for figure, s in ((f, a), (g, b)):
            print(f"  {figure.text!r} {s.chunk.published} {s.chunk.name}: {s.text}")
    if real + false:
        print(
            f"\nlabelled {real + false} of the {len(sample)} sampled: {real} real disagreements "
            f"({real / (real + false):.0%}), {false} false ({false / (real + false):.0%})"
        )
    index.close()


if __name__ == "__main__":
    main()
