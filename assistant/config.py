"""Settings (a frozen dataclass): every environment variable the project reads, read in one place.

Each edge (the CLI, the chat UI, `answer()`) builds one `Settings` and passes it down; nothing
else reads `os.environ`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index import DEFAULT_MODEL
from index.errors import SettingsError

if TYPE_CHECKING:
    from index.embed import SentenceEmbedder
    from index.places import Place
    from index.static import StaticEmbedder

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The project's data area: `data/` of a source checkout, else the user's data folder."""
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        return PROJECT_ROOT / "data"
    env = os.environ if environ is None else environ
    home = env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(home) / "news-assistant"


@dataclass(frozen=True)
class Settings:
    """Where the index lives, which models write and rank, and how the chat is served."""

    index_dir: Path = field(default_factory=lambda: data_dir() / "index")
    chroma_url: str = ""  # a Chroma server (`chroma run`) holding the index instead of index_dir
    chroma_timeout: float = 30.0  # seconds a Chroma server has to answer one request
    embed_model: str = DEFAULT_MODEL
    # The chunk vectors: "minilm" (embed_model itself) or "static" (distilled from it: a build
    # several times faster); sentences are ranked with embed_model either way. Unset: what the
    # index was built with, and static for a new index.
    chunk_vectors: str = ""
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "news-assistant")
    llm: str = ""  # "provider:model"; empty means the extractive answerer
    llm_base_url: str = ""  # an OpenAI-compatible server's base URL
    llm_context: int = 4096  # llama.cpp context window (tokens)
    llm_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    llm_max_tokens: int = 256  # longest written answer (tokens)
    llm_source_chars: int = 2000  # source sentences the model reads (prompt time grows with it)
    llm_temperature: float = 0.0
    llm_timeout: float = 120.0  # seconds for one model call before the extractive answer is used
    auth: str = ""  # "user:password" for the chat UI

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """The ASSISTANT_* variables (see the README), else the defaults; `overrides` win.

        An override of None means "not given" (an unset command-line option).
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {"index_dir": data_dir(env) / "index"}
        for f in fields(cls):
            raw = env.get(f"ASSISTANT_{f.name.upper()}", "").strip()
            if raw:
                values[f.name] = _convert(f.name, raw, _TYPES[str(f.type)])
        values |= {k: v for k, v in overrides.items() if v is not None}
        for name, allowed in _CHOICES.items():
            if name in values and values[name] not in allowed:
                raise SettingsError(
                    f"ASSISTANT_{name.upper()} must be one of {', '.join(allowed)}, "
                    f"not {values[name]!r}"
                )
        for name in ("index_dir", "cache_dir"):
            if name in values:
                values[name] = Path(values[name]).expanduser()
        return cls(**values)

    @property
    def uploads_dir(self) -> Path:
        """Where the chat keeps uploaded files: beside a folder index; for an index on a Chroma
        server, in this machine's cache folder (one per server)."""
        if not self.chroma_url:
            return self.index_dir.parent / "uploads"
        return (
            self.cache_dir / "uploads" / hashlib.sha256(self.chroma_url.encode()).hexdigest()[:16]
        )

    @property
    def feeds_dir(self) -> Path:
        """Where `assistant update` keeps the articles it fetched (a JSONL file per feed and
        update), indexed like any folder: beside a folder index; for an index on a Chroma
        server, in this machine's cache folder (one per server)."""
        if not self.chroma_url:
            return self.index_dir.parent / "feeds"
        return self.cache_dir / "feeds" / hashlib.sha256(self.chroma_url.encode()).hexdigest()[:16]

    def chunk_embedder(self, where: Place) -> SentenceEmbedder | StaticEmbedder:
        """The embedder of the chunk vectors of the index at `where`, this settings' `place()`
        (passed in, not made again: on a Chroma server each Place is a client that connects)."""
        from index.static import index_embedder

        return index_embedder(where, self.embed_model, self.chunk_vectors, self.cache_dir)

    def place(self) -> Place:
        """Where the index lives: on the Chroma server at `chroma_url` if set, else in
        `index_dir`; a server's BM25 is kept in `cache_dir`."""
        from index.places import place

        return place(self.index_dir, self.chroma_url, self.cache_dir, self.chroma_timeout)


_TYPES: dict[str, type] = {"Path": Path, "str": str, "int": int, "float": float}
_CHOICES: dict[str, tuple[str, ...]] = {"chunk_vectors": ("minilm", "static")}


def _convert(name: str, raw: str, kind: type) -> Any:
    """A variable's text as its field's type, or a clear error naming the variable."""
    try:
        return kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise SettingsError(f"ASSISTANT_{name.upper()} must be {what}, not {raw!r}") from None
