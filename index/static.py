"""A static embedding model distilled from the sentence model: one vector per token, averaged.

For the first-stage chunk vectors only (`Settings.chunk_vectors = "static"`): a chunk's vector is
a lookup and a mean, hundreds of times cheaper than the transformer, while the transformer still
ranks the sentences of the chunks found. The recipe is model2vec's `distill`: each vocabulary
token through the transformer alone (`[CLS] token [SEP]`, mean pooled), PCA to 256 dimensions,
and SIF weights from the token's rank (Zipf) so that frequent tokens weigh less. It is done here
with the cached ONNX export, once, in ~15 s; model2vec itself pins an older transformers.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings

from index import DEFAULT_MODEL
from index.embed import (
    SentenceEmbedder,
    cache_root,
    default_embedder,
    load_tokenizer,
    model_key,
    resolve_model_path,
    write_atomically,
)
from index.errors import NewsAssistantError, SettingsError

if TYPE_CHECKING:
    from index.places import Place

SUFFIX = ":static"  # the manifest's name of an index whose chunks this model embedded
# Part of the cache file's name: bump it whenever the distillation recipe changes.
DISTIL_VERSION = "m2v-1"
DIMS = 256
SIF = 1e-4  # model2vec's coefficient: weight = SIF / (SIF + p(token))
BATCH = 1024  # one-token texts per transformer call while distilling


def distil(source: SentenceEmbedder, vocab: dict[str, int]) -> np.ndarray:
    """One row per token id of `vocab` (`source`'s); unused, padding and unknown rows are 0."""
    specials = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
    kept = sorted(i for t, i in vocab.items() if t not in specials and not t.startswith("[unused"))
    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    ids = np.array([[cls, i, sep] for i in kept], dtype=np.int64)
    pooled = np.concatenate([source.pooled(ids[s : s + BATCH]) for s in range(0, len(ids), BATCH)])
    # PCA: centre, keep the top components (their signs do not matter to cosine).
    centred = pooled - pooled.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ components[:DIMS].T
    # Token ids of a BERT vocabulary run roughly from frequent to rare: Zipf's law on the rank.
    inv_rank = 1 / np.arange(2, len(kept) + 2)
    weights = SIF / (SIF + inv_rank / inv_rank.sum())
    table = np.zeros((max(vocab.values()) + 1, DIMS), dtype=np.float32)
    table[kept] = reduced * weights[:, None]
    return table


class StaticEmbedder(Embeddings):
    """LangChain `Embeddings`: the mean of the distilled token vectors, unit length."""

    # Its dense ranking counts half beside BM25 in the search's fusion (assistant/search.py).
    # On the 726 scale questions: 0.5 found the answer in context 0.534 (cited 0.375), 1.0
    # 0.530 (0.368), 0.3 0.529 (0.369); MiniLM chunk vectors 0.533 (0.376).
    fusion_weight = 0.5

    def __init__(
        self,
        model: str | os.PathLike[str] = DEFAULT_MODEL,
        cache_dir: str | os.PathLike[str] | None = None,
    ):
        self.name = f"{model}{SUFFIX}"
        self.path = resolve_model_path(model)
        root = Path(cache_dir) if cache_dir else cache_root()
        self.vectors_path = root / "static" / model_key(self.path) / f"{DISTIL_VERSION}.npy"
        self._tokenizer = load_tokenizer(self.path, max_length=None)
        if not self.vectors_path.is_file():
            source = default_embedder(str(model), cache_dir=root)
            vocab = self._tokenizer.get_vocab()

            def write(tmp: Path) -> None:
                with tmp.open("wb") as out:
                    np.save(out, distil(source, vocab))

            write_atomically(self.vectors_path, write)
        self.table = np.load(self.vectors_path)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        # One gather per text: ~15x faster here than np.add.reduceat over all of them.
        sums = np.stack([self.table[e.ids].sum(axis=0) for e in encodings])
        # The mean's direction is the sum's: unit length is all that is left to do.
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return (sums / np.clip(norms, 1e-12, None)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


@cache
def static_embedder(model: str = DEFAULT_MODEL, cache_dir: Path | None = None) -> StaticEmbedder:
    """One static embedder per source model and cache folder in a process."""
    return StaticEmbedder(model, cache_dir=cache_dir)


def chunk_embedder(
    model: str = DEFAULT_MODEL, chunk_vectors: str = "minilm", cache_dir: Path | None = None
) -> SentenceEmbedder | StaticEmbedder:
    """The embedder of an index's chunk vectors: `model` itself, or the static model from it."""
    if chunk_vectors == "static":
        return static_embedder(model, cache_dir)
    if chunk_vectors == "minilm":
        return default_embedder(model, cache_dir=cache_dir)
    raise SettingsError(f"ASSISTANT_CHUNK_VECTORS must be minilm or static, not {chunk_vectors!r}")


def index_embedder(
    where: Place, model: str = DEFAULT_MODEL, chunk_vectors: str = "", cache_dir: Path | None = None
) -> SentenceEmbedder | StaticEmbedder:
    """The embedder of the chunk vectors of the index at `where`: as `chunk_vectors` says
    ("minilm" or "static"), or, when it says nothing, what the index was built with (an index
    keeps its vectors), and static vectors for a new one (the default: measured as good on the
    726 scale questions, and built several times faster)."""
    if not chunk_vectors:
        try:
            manifest = where.manifest()
        except NewsAssistantError:  # damaged or of another format: a build or reader says so
            manifest = None
        if manifest is not None and manifest.embedding_model in (model, model + SUFFIX):
            return embedder_named(manifest.embedding_model, cache_dir)
        chunk_vectors = "static"
    return chunk_embedder(model, chunk_vectors, cache_dir)


def embedder_named(name: str, cache_dir: Path | None = None) -> SentenceEmbedder | StaticEmbedder:
    """The embedder a manifest names: "MODEL" or "MODEL:static"."""
    if name.endswith(SUFFIX):
        return static_embedder(name.removesuffix(SUFFIX), cache_dir)
    return default_embedder(name, cache_dir=cache_dir)
