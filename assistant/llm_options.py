"""What both chat-model modules share: the options a model is built from and the errors it
raises (llm.py builds models, llm_local.py runs a GGUF in this process)."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.config import Settings
from index.errors import NewsAssistantError


class LLMUnavailable(NewsAssistantError, RuntimeError):
    """The chat model named cannot be loaded or used here; the message says why."""


class LLMCallFailed(LLMUnavailable):
    """A loaded model failed while answering (server down, prompt too long ...)."""


class LLMTimeout(LLMCallFailed):
    """A model call ran past `llm_timeout`; generation was stopped."""


@dataclass(frozen=True)
class ModelOptions:
    """The `llm*` fields of `Settings`: what a chat model is built from (and cached by)."""

    spec: str
    base_url: str = ""
    context: int = 4096
    threads: int = 1
    max_tokens: int = 256
    temperature: float = 0.0
    timeout: float = 120.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelOptions:
        return cls(
            spec=settings.llm.strip(),
            base_url=settings.llm_base_url.strip(),
            context=settings.llm_context,
            threads=settings.llm_threads,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            timeout=settings.llm_timeout,
        )

    def check(self) -> None:
        """A clear error for a setting no model can work with."""
        bounds = [
            ("context", self.context >= 64, "at least 64 (tokens)"),
            ("threads", self.threads >= 1, "at least 1"),
            ("max_tokens", self.max_tokens >= 1, "at least 1 (tokens)"),
            ("temperature", 0.0 <= self.temperature <= 2.0, "between 0 and 2"),
            ("timeout", self.timeout > 0, "more than 0 (seconds)"),
        ]
        for name, ok, wanted in bounds:
            if not ok:
                value = getattr(self, name)
                raise LLMUnavailable(f"ASSISTANT_LLM_{name.upper()} must be {wanted}, not {value}")
