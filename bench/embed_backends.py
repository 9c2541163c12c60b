"""Embedding throughput of the torch, onnx and onnx-int8 backends on ~1,000-char corpus chunks.

Usage: .venv/bin/python -m bench.embed_backends [--corpus FILE] [--n 2000] [--no-int8]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from index.embed import SentenceEmbedder
from tests.shared import DEV_CORPUS

CORPUS = DEV_CORPUS


def chunks(corpus: Path, n: int, size: int) -> list[str]:
    """The first `n` chunks of about `size` chars, cut at spaces, from the corpus articles."""
    out: list[str] = []
    with corpus.open(encoding="utf-8") as lines:
        for line in lines:
            text = " ".join(json.loads(line)["text"].split())
            while len(text) >= size * 0.8 and len(out) < n:
                cut = text.rfind(" ", 0, size)
                cut = cut if cut > size * 0.8 else size
                out.append(text[:cut])
                text = text[cut:].lstrip()
            if len(out) >= n:
                break
    return out


class Torch:
    """The model as sentence-transformers runs it on PyTorch."""

    def __init__(self, batch_size: int):
        from sentence_transformers import SentenceTransformer

        from index.embed import resolve_model_path

        self.model = SentenceTransformer(str(resolve_model_path()), device="cpu")
        self.batch_size = batch_size

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True)


def cosines(a: np.ndarray, b: np.ndarray) -> str:
    """Min / 1st percentile / mean of the row-wise cosine of two sets of unit vectors."""
    c = (a * b).sum(axis=1)
    return f"min {c.min():.6f}  p1 {np.percentile(c, 1):.6f}  mean {c.mean():.6f}"


def main() -> None:
    """Load each backend, embed the same chunks with each, print texts/s and cosine stats."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--n", type=int, default=2000, help="number of chunks")
    parser.add_argument("--chars", type=int, default=1000, help="chunk size in characters")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--slices", type=int, default=4, help="interleaved rounds (see below)")
    parser.add_argument("--no-int8", action="store_true", help="skip the int8 backend")
    args = parser.parse_args()

    texts = chunks(args.corpus, args.n, args.chars)
    lengths = [len(t) for t in texts]
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{len(texts)} x {np.mean(lengths):.0f} chars, {os.cpu_count()} cpus, load {load}")

    setups: dict[str, dict[str, Any]] = {"torch": {}, "onnx": {}}
    if not args.no_int8:
        setups["onnx-int8"] = {"quantize": True}
    embedders: dict[str, Any] = {}
    for name, kwargs in setups.items():
        start = time.perf_counter()
        if name == "torch":  # sentence-transformers itself, the reference
            embedders[name] = Torch(args.batch_size)
        else:
            embedders[name] = SentenceEmbedder(batch_size=args.batch_size, **kwargs)
        embedders[name].embed_documents(texts[:8])  # warm-up: first-run allocations
        loaded = time.perf_counter() - start
        where = getattr(embedders[name], "onnx_path", "sentence-transformers")
        print(f"  {name:10s} loaded in {loaded:5.1f}s (incl. any export): {where}")

    # Backends take turns on each slice, so load from other processes on this shared machine
    # falls on all of them alike instead of on whichever happened to run at that moment.
    seconds = dict.fromkeys(embedders, 0.0)
    vectors: dict[str, list[np.ndarray]] = {name: [] for name in embedders}
    step = -(-len(texts) // args.slices)
    for start in range(0, len(texts), step):
        part = texts[start : start + step]
        for name, embedder in embedders.items():
            t0 = time.perf_counter()
            vectors[name].append(np.asarray(embedder.embed_documents(part), dtype=np.float32))
            seconds[name] += time.perf_counter() - t0

    print(f"\n{'backend':10s} {'texts/s':>8s} {'vs torch':>9s}   cosine to torch")
    stacked = {name: np.concatenate(parts) for name, parts in vectors.items()}
    for name in embedders:
        rate = len(texts) / seconds[name]
        ratio = seconds["torch"] / seconds[name]
        print(f"{name:10s} {rate:8.1f} {ratio:8.2f}x   {cosines(stacked[name], stacked['torch'])}")
    if "onnx-int8" in stacked:
        print(f"\nonnx-int8 cosine to onnx fp32: {cosines(stacked['onnx-int8'], stacked['onnx'])}")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
