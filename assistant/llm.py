"""A "provider:model" string -> a LangChain chat model, or None for the extractive answerer."""

from __future__ import annotations

import os
from functools import cache

from langchain_core.language_models import BaseChatModel

EXTRACTIVE = ("", "extractive", "none")


class LLMUnavailable(RuntimeError):
    """The chat model named cannot be loaded here; the message says why."""


@cache
def load_chat_model(spec: str, base_url: str | None = None) -> BaseChatModel | None:
    """`ollama:qwen2.5:7b`, `openai:gpt-4o-mini` (any OpenAI-compatible server with base_url)."""
    spec = spec.strip()
    if spec.lower() in EXTRACTIVE:
        return None
    provider, sep, model = spec.partition(":")
    if not sep or not model:
        raise LLMUnavailable(f"--llm wants 'provider:model' (e.g. ollama:qwen2.5:7b), not {spec!r}")
    from langchain.chat_models import init_chat_model

    kwargs: dict[str, object] = {"temperature": 0}
    base_url = base_url or os.environ.get("ASSISTANT_LLM_BASE_URL")
    if base_url:
        kwargs["base_url"] = base_url
    try:
        return init_chat_model(model, model_provider=provider, **kwargs)  # type: ignore[call-overload]
    except ImportError as error:
        raise LLMUnavailable(f"{spec}: {error}") from error
    except ValueError as error:
        raise LLMUnavailable(f"{spec}: {error}") from error


def describe(spec: str) -> str:
    """How the answer is written, for status lines."""
    return "extractive" if spec.strip().lower() in EXTRACTIVE else spec.strip()
