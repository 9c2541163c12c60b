"""Settings (a frozen dataclass) read from the environment, with sensible defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from index.embed import DEFAULT_MODEL

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The project's data area: `data/` of a source checkout, else the user's data folder."""
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        return PROJECT_ROOT / "data"
    home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(home) / "news-assistant"


@dataclass(frozen=True)
class Settings:
    """Where the index lives and which models to use."""

    index_dir: Path
    embed_model: str = DEFAULT_MODEL
    llm: str = ""  # "provider:model"; empty means the extractive answerer

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """ASSISTANT_INDEX_DIR, ASSISTANT_EMBED_MODEL and ASSISTANT_LLM, else the defaults."""
        env = os.environ if environ is None else environ
        index_dir = env.get("ASSISTANT_INDEX_DIR") or data_dir() / "index"
        return cls(
            index_dir=Path(index_dir).expanduser(),
            embed_model=env.get("ASSISTANT_EMBED_MODEL") or DEFAULT_MODEL,
            llm=env.get("ASSISTANT_LLM", ""),
        )
