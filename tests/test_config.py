"""Settings: every ASSISTANT_* variable, read in one place, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings


def test_every_variable_is_read(tmp_path: Path) -> None:
    env = {
        "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
        "ASSISTANT_EMBED_MODEL": "/models/mini",
        "ASSISTANT_CHUNK_VECTORS": "static",
        "ASSISTANT_CACHE_DIR": str(tmp_path / "cache"),
        "ASSISTANT_LLM": "openai:qwen",
        "ASSISTANT_LLM_BASE_URL": "http://127.0.0.1:8080/v1",
        "ASSISTANT_LLM_CONTEXT": "2048",
        "ASSISTANT_LLM_THREADS": "3",
        "ASSISTANT_LLM_MAX_TOKENS": "64",
        "ASSISTANT_LLM_TEMPERATURE": "0.2",
        "ASSISTANT_LLM_TIMEOUT": "9.5",
        "ASSISTANT_AUTH": "reporter:s3cret",
    }
    assert Settings.from_env(env) == Settings(
        index_dir=tmp_path / "index",
        embed_model="/models/mini",
        chunk_vectors="static",
        cache_dir=tmp_path / "cache",
        llm="openai:qwen",
        llm_base_url="http://127.0.0.1:8080/v1",
        llm_context=2048,
        llm_threads=3,
        llm_max_tokens=64,
        llm_temperature=0.2,
        llm_timeout=9.5,
        auth="reporter:s3cret",
    )


def test_defaults_and_overrides(tmp_path: Path) -> None:
    settings = Settings.from_env({})
    assert settings.index_dir.name == "index" and settings.llm == ""
    assert settings.cache_dir == Path.home() / ".cache" / "news-assistant"
    given = Settings.from_env({"ASSISTANT_LLM": "ollama:x"}, llm=None, index_dir=str(tmp_path))
    assert given.llm == "ollama:x" and given.index_dir == tmp_path  # None: option not given
    assert Settings.from_env({"ASSISTANT_LLM": "ollama:x"}, llm="").llm == ""


def test_a_bad_value_names_its_variable() -> None:
    with pytest.raises(
        ValueError, match="ASSISTANT_LLM_THREADS must be a whole number, not 'many'"
    ):
        Settings.from_env({"ASSISTANT_LLM_THREADS": "many"})
    with pytest.raises(ValueError, match="ASSISTANT_CHUNK_VECTORS must be one of minilm, static"):
        Settings.from_env({"ASSISTANT_CHUNK_VECTORS": "fast"})
