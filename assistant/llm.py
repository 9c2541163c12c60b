"""A "provider:model" string -> a LangChain chat model, or None for the extractive answerer.

`llamacpp:/path/model.gguf` runs a local GGUF in this process (`pip install
'news-assistant[local]'`); `openai:MODEL` talks to OpenAI or, with `llm_base_url`, to any
OpenAI-compatible server (llama.cpp's, Ollama's, vLLM's); any other provider goes through
LangChain's `init_chat_model`. Models built here raise `LLMCallFailed` (or its `LLMTimeout`)
while answering, so a caller catches one type and falls back to the extractive answer: a
server that is down, slow, or answers something that is not a chat completion.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.outputs import ChatGenerationChunk, ChatResult

from assistant.config import Settings
from assistant.llm_options import (
    LLMCallFailed,
    LLMTimeout,
    LLMUnavailable,
    ModelOptions,
)

EXTRACTIVE = ("", "extractive", "none")
CONNECT_TIMEOUT = 5.0  # seconds to open a connection: a server that is up accepts at once
# What langchain-openai raises while it reads a reply of the wrong shape ("choices" missing, a
# string where a list belongs ...). Caught only around its reply-reading steps, so that the
# same types raised anywhere else (our own code, a bad request) still show as the bugs they are.
_REPLY_SHAPE_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError)


def load_chat_model(settings: Settings) -> BaseChatModel | None:
    """The chat model `settings.llm` names, built once per process; None for extractive."""
    if settings.llm.strip().lower() in EXTRACTIVE:
        return None
    return _load(ModelOptions.from_settings(settings))


def describe(spec: str) -> str:
    """How the answer is written, for status lines (a GGUF is named by its file name)."""
    spec = spec.strip()
    if spec.lower() in EXTRACTIVE:
        return "extractive"
    provider, _, model = spec.partition(":")
    return f"{provider}:{Path(model).name}" if provider == "llamacpp" else spec


@lru_cache(maxsize=4)
def _load(options: ModelOptions) -> BaseChatModel:
    provider, sep, model = options.spec.partition(":")
    if not sep or not model:
        raise LLMUnavailable(
            f"--llm wants 'provider:model' (e.g. llamacpp:/models/qwen.gguf, openai:gpt-4o-mini),"
            f" not {options.spec!r}"
        )
    options.check()
    if provider == "llamacpp":
        from assistant.llm_local import load_gguf

        return load_gguf(Path(model).expanduser(), options)
    if provider == "openai":
        return _openai(model, options)
    return _other(provider, model, options)


def _openai(model: str, options: ModelOptions) -> BaseChatModel:
    """ChatOpenAI with a bounded wait, no retries and errors a caller can catch as one type."""
    try:
        import openai
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr
    except ImportError as error:
        raise LLMUnavailable(f"{options.spec}: pip install langchain-openai ({error})") from error

    class OpenAICompatibleChat(ChatOpenAI):
        """ChatOpenAI whose errors are `LLMCallFailed` and whose streams stop at the deadline."""

        def _get_request_payload(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            payload: dict[str, Any] = super()._get_request_payload(*args, **kwargs)
            if options.base_url and "max_completion_tokens" in payload:
                # OpenAI's new name; llama.cpp's and Ollama's servers read the old one.
                payload["max_tokens"] = payload.pop("max_completion_tokens")
            return payload

        def _create_chat_result(self, *args: Any, **kwargs: Any) -> ChatResult:
            with _reply_errors(options):  # the whole reply, read after the server answered
                return super()._create_chat_result(*args, **kwargs)

        def _convert_chunk_to_generation_chunk(
            self, *args: Any, **kwargs: Any
        ) -> ChatGenerationChunk | None:
            with _reply_errors(options):  # one streamed piece of the reply
                return super()._convert_chunk_to_generation_chunk(*args, **kwargs)

        def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
            with _openai_errors(options):
                return super()._generate(*args, **kwargs)

        async def _agenerate(self, *args: Any, **kwargs: Any) -> ChatResult:
            with _openai_errors(options):
                return await super()._agenerate(*args, **kwargs)

        def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
            deadline = time.monotonic() + options.timeout
            with _openai_errors(options):
                stream = super()._stream(*args, **kwargs)
                answered = False
                try:
                    for chunk in stream:
                        answered = True
                        yield chunk
                        _check_deadline(deadline, options)
                finally:
                    close = getattr(stream, "close", None)
                    if close is not None:  # past the deadline: stop reading the server's answer
                        close()
                if not answered:
                    raise _not_a_chat_server(options, "no chat-completion stream")

        async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
            deadline = time.monotonic() + options.timeout
            with _openai_errors(options):
                answered = False
                async for chunk in super()._astream(*args, **kwargs):
                    answered = True
                    yield chunk
                    _check_deadline(deadline, options)
                if not answered:
                    raise _not_a_chat_server(options, "no chat-completion stream")

    kwargs: dict[str, Any] = {
        "model": model,
        "temperature": options.temperature,
        "max_tokens": options.max_tokens,
        # openai's own Timeout: httpx's before openai 3.6x, httpx2's since (an httpx.Timeout is
        # refused there).
        "timeout": openai.Timeout(options.timeout, connect=min(CONNECT_TIMEOUT, options.timeout)),
        "max_retries": 0,  # a retry doubles the wait; the extractive answer is the fallback
    }
    if options.base_url:
        kwargs["base_url"] = options.base_url
    try:
        return OpenAICompatibleChat(**kwargs)
    except openai.OpenAIError as error:  # no OPENAI_API_KEY: a local server does not check it
        if not options.base_url:
            raise LLMUnavailable(f"{options.spec}: {error}") from error
    return OpenAICompatibleChat(api_key=SecretStr("not-needed"), **kwargs)


@contextlib.contextmanager
def _openai_errors(options: ModelOptions) -> Iterator[None]:
    """The openai client's errors as `LLMCallFailed`, saying which server and what to check."""
    import openai

    where = options.base_url or "the OpenAI API"
    try:
        yield
    except openai.APITimeoutError as error:
        raise LLMTimeout(
            f"{options.spec}: {where} did not answer within {options.timeout:g} s"
            " (ASSISTANT_LLM_TIMEOUT)"
        ) from error
    except openai.APIConnectionError as error:
        raise LLMCallFailed(
            f"{options.spec}: cannot reach {where} ({_root_cause(error)}); is the server running?"
            " (ASSISTANT_LLM_BASE_URL)"
        ) from error
    except openai.APIError as error:
        raise LLMCallFailed(f"{options.spec}: {where} answered: {_one_line(error)}") from error
    except json.JSONDecodeError as error:  # only the server's reply is decoded here
        raise _not_a_chat_server(options, f"invalid JSON ({_one_line(error)})") from error
    except AttributeError as error:
        if error.name != "model_dump":  # not langchain-openai reading a streamed event
            raise
        raise _not_a_chat_server(options, "a streamed event that is not an object") from error


@contextlib.contextmanager
def _reply_errors(options: ModelOptions) -> Iterator[None]:
    """A reply langchain-openai cannot read (a wrong shape, not JSON) as `LLMCallFailed`."""
    try:
        yield
    except _REPLY_SHAPE_ERRORS as error:
        what = f"something that is not a chat completion ({_one_line(error)})"
        raise _not_a_chat_server(options, what) from error


def _not_a_chat_server(options: ModelOptions, what: str) -> LLMCallFailed:
    where = options.base_url or "the OpenAI API"
    return LLMCallFailed(
        f"{options.spec}: {where} answered with {what}; is it an OpenAI-compatible server?"
        " (ASSISTANT_LLM_BASE_URL)"
    )


def _one_line(error: BaseException, limit: int = 300) -> str:
    """An error that may quote a server's reply: one printable line, shortened."""
    text = " ".join(str(error).split()) or type(error).__name__
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _root_cause(error: BaseException) -> str:
    """What went wrong at the bottom ("[Errno 111] Connection refused"), not "Connection error."."""
    while error.__cause__ is not None:
        error = error.__cause__
    return str(error) or type(error).__name__


def _check_deadline(deadline: float, options: ModelOptions) -> None:
    if time.monotonic() > deadline:
        raise LLMTimeout(
            f"{options.spec}: the answer took longer than {options.timeout:g} s and was stopped"
            " (ASSISTANT_LLM_TIMEOUT)"
        )


def _other(provider: str, model: str, options: ModelOptions) -> BaseChatModel:
    """Any other LangChain provider (ollama, anthropic ...): its own client and error types."""
    from langchain.chat_models import init_chat_model

    kwargs: dict[str, Any] = {"temperature": options.temperature}
    if options.base_url:
        kwargs["base_url"] = options.base_url
    try:
        return init_chat_model(model, model_provider=provider, **kwargs)
    except (ImportError, ValueError) as error:
        raise LLMUnavailable(f"{options.spec}: {error}") from error
