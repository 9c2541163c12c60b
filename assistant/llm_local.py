"""A local GGUF model (llama-cpp-python) behind LangChain's chat-model interface.

The model is checked before llama.cpp sees it (present, a GGUF, smaller than the free memory, a
context it was trained for), loaded once per file and settings, and every call is bounded: by
`max_tokens`, and by `timeout` through llama.cpp's abort callback, which stops a long prompt as
well as a long answer.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessageChunk, BaseMessage, convert_to_openai_messages
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import Field

from assistant.llm_options import LLMCallFailed, LLMTimeout, LLMUnavailable, ModelOptions

MEMORY_HEADROOM = 512 * 2**20  # bytes left for the context, the index and Python itself


def load_gguf(path: Path, options: ModelOptions) -> LlamaCppChat:
    """A chat model over the GGUF at `path`, or `LLMUnavailable` saying what is wrong with it."""
    trained = _check_file(path)
    if trained and options.context > trained:
        raise LLMUnavailable(
            f"{path}: the model was trained for a context of {trained} tokens; set"
            f" ASSISTANT_LLM_CONTEXT to {trained} or less (not {options.context})"
        )
    loaded = _load_llama(path, options.context, options.threads)
    return LlamaCppChat(
        model_path=str(path),
        max_tokens=options.max_tokens,
        temperature=options.temperature,
        timeout=options.timeout,
        loaded=loaded,
    )


class LlamaCppChat(BaseChatModel):
    """llama.cpp's chat completion, streamed token by token, stopped at `timeout` seconds."""

    model_path: str
    max_tokens: int = 256
    temperature: float = 0.0
    timeout: float = 120.0
    loaded: Any = Field(exclude=True, repr=False)  # a _Loaded, shared by models of one file

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        llama = self.loaded.llama
        return {
            "model_path": self.model_path,
            "n_ctx": llama.n_ctx(),
            "n_threads": llama.n_threads,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }

    @property
    def context_size(self) -> int:
        """Tokens the prompt and the answer share."""
        return int(self.loaded.llama.n_ctx())

    def get_token_ids(self, text: str) -> list[int]:
        """The model's own tokens (LangChain's default would fetch GPT-2's tokenizer)."""
        return list(self.loaded.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        deadline = time.monotonic() + self.timeout
        with self.loaded.session(deadline, self._timed_out):
            chunks = self.loaded.llama.create_chat_completion(
                messages=convert_to_openai_messages(messages),
                stream=True,
                max_tokens=kwargs.get("max_tokens", self.max_tokens),
                temperature=kwargs.get("temperature", self.temperature),
                stop=stop or [],
            )
            with contextlib.closing(chunks):
                for raw in self._guarded(chunks, deadline):
                    self.loaded.arm(False)  # the prompt is read
                    choice = raw["choices"][0]
                    text = choice["delta"].get("content") or ""
                    finish = choice.get("finish_reason")
                    if not text and not finish:
                        continue
                    info = {"finish_reason": finish} if finish else None
                    chunk = ChatGenerationChunk(
                        message=AIMessageChunk(content=text), generation_info=info
                    )
                    if run_manager and text:
                        run_manager.on_llm_new_token(text, chunk=chunk)
                    yield chunk
                    if time.monotonic() > deadline:
                        raise self._timed_out()

    def _guarded(self, chunks: Iterator[Any], deadline: float) -> Iterator[Any]:
        """llama.cpp's chunks; its errors in words: prompt too long, stopped at the deadline."""
        while True:
            try:
                raw = next(chunks)
            except StopIteration:
                return
            except ValueError as error:  # "Requested tokens (n) exceed context window of m"
                raise LLMCallFailed(
                    f"{Path(self.model_path).name}: the prompt does not fit the context ({error});"
                    " shorten it or raise ASSISTANT_LLM_CONTEXT"
                ) from error
            except RuntimeError as error:  # llama_decode aborted by the deadline, or failed
                if time.monotonic() > deadline:
                    raise self._timed_out() from error
                raise LLMCallFailed(f"{Path(self.model_path).name}: {error}") from error
            yield raw

    def _timed_out(self) -> LLMTimeout:
        return LLMTimeout(
            f"{Path(self.model_path).name}: the answer took longer than {self.timeout:g} s and"
            " was stopped (ASSISTANT_LLM_TIMEOUT)"
        )


@dataclass(eq=False)
class _Loaded:
    """One llama.cpp model and context: one call at a time, its prompt abortable at a deadline."""

    llama: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    deadline: float = float("inf")
    abort: Any = None  # the ctypes callback, kept alive as long as the context
    no_abort: Any = None  # a NULL callback
    set_abort: Any = None  # llama_set_abort_callback, where this build exports it

    @contextlib.contextmanager
    def session(self, deadline: float, timed_out: Any) -> Iterator[None]:
        """Hold the model for one call; llama.cpp stops reading the prompt at `deadline`."""
        if not self.lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise timed_out()
        self.deadline = deadline
        self.arm(True)
        try:
            yield
        finally:
            self.arm(False)
            self.deadline = float("inf")
            self.lock.release()

    def arm(self, on: bool) -> None:
        """Check the deadline inside llama.cpp, between graph nodes: worth it for the prompt only.

        The callback takes the GIL at every node; once tokens come, the deadline is checked
        between them instead.
        """
        if self.set_abort is not None:
            self.set_abort(self.llama.ctx, self.abort if on else self.no_abort, None)

    def find_abort(self) -> None:
        import llama_cpp

        lib = getattr(llama_cpp.llama_cpp, "_lib", None)
        set_abort = getattr(lib, "llama_set_abort_callback", None)
        if set_abort is None:  # another build: the deadline is then checked between tokens only
            return
        set_abort.argtypes = [ctypes.c_void_p, llama_cpp.ggml_abort_callback, ctypes.c_void_p]
        set_abort.restype = None
        self.abort = llama_cpp.ggml_abort_callback(lambda _: time.monotonic() > self.deadline)
        self.no_abort = llama_cpp.ggml_abort_callback()
        self.set_abort = set_abort


@lru_cache(maxsize=2)
def _load_llama(path: Path, context: int, threads: int) -> _Loaded:
    """llama.cpp's model and context, once per file and settings (quiet: verbose=False)."""
    try:
        from llama_cpp import Llama
    except ImportError as error:
        raise LLMUnavailable(
            f"llamacpp:{path}: llama-cpp-python is not installed:"
            " pip install 'news-assistant[local]'"
        ) from error
    try:
        llama = Llama(
            model_path=str(path),
            n_ctx=context,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as error:
        raise LLMUnavailable(f"{path}: llama.cpp cannot load this model ({error})") from error
    # llama.cpp logs an error line when the deadline aborts it; the caller gets LLMTimeout instead.
    logging.getLogger("llama-cpp-python").setLevel(logging.CRITICAL)
    loaded = _Loaded(llama)
    loaded.find_abort()
    return loaded


def _check_file(path: Path) -> int | None:
    """The context length the GGUF at `path` was trained for, after checking it can be loaded."""
    if not path.is_file():
        raise LLMUnavailable(f"{path}: no such model file")
    size = path.stat().st_size
    free = _available_memory()
    if free is not None and size + MEMORY_HEADROOM > free:
        raise LLMUnavailable(
            f"{path}: the model is too large for this machine ({size / 2**30:.1f} GiB, with"
            f" {free / 2**30:.1f} GiB of memory available)"
        )
    try:
        with path.open("rb") as file:
            return _gguf_context_length(file)
    except (OSError, ValueError, struct.error, UnicodeDecodeError) as error:
        raise LLMUnavailable(f"{path}: not a usable GGUF model file ({error})") from error


_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_STRING, _ARRAY = 8, 9


def _gguf_context_length(file: BinaryIO) -> int | None:
    """`<arch>.context_length` from a GGUF header (format v2/v3), reading no tensor data."""
    magic, version, _tensors, count = struct.unpack("<4sIQQ", file.read(24))
    if magic != b"GGUF":
        raise ValueError("it does not start with the GGUF magic bytes")
    if version < 2:
        raise ValueError(f"GGUF version {version} is too old")
    values: dict[str, Any] = {}
    for _ in range(count):
        key = _read_string(file)
        (kind,) = struct.unpack("<I", file.read(4))
        values[key] = _read_value(file, kind)
        arch = values.get("general.architecture")
        if arch and f"{arch}.context_length" in values:
            return int(values[f"{arch}.context_length"])
    return None


def _read_string(file: BinaryIO) -> str:
    (length,) = struct.unpack("<Q", file.read(8))
    if length > 2**24:
        raise ValueError(f"a header string of {length} bytes")
    return file.read(length).decode("utf-8")


def _read_value(file: BinaryIO, kind: int) -> Any:
    if kind == _STRING:
        return _read_string(file)
    if kind == _ARRAY:
        item_kind, length = struct.unpack("<IQ", file.read(12))
        if item_kind in _SCALARS:  # skipped, not read: token tables hold 100,000s of items
            file.seek(length * struct.calcsize("<" + _SCALARS[item_kind]), 1)
            return None
        for _ in range(length):
            _read_value(file, item_kind)
        return None
    if kind not in _SCALARS:
        raise ValueError(f"unknown GGUF value type {kind}")
    fmt = "<" + _SCALARS[kind]
    return struct.unpack(fmt, file.read(struct.calcsize(fmt)))[0]


def _available_memory() -> int | None:
    """Bytes of memory available to a new process (Linux), or None where that is unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
