"""A model that answers nonsense: the quoted answer, with a note, never a crash.

An OpenAI-compatible server (a real HTTP server on 127.0.0.1) that replies 200 with something
that is not a chat completion, and a model whose citation marker is a number `int` refuses.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.chain import Assistant
from assistant.citations import marked_sentences
from assistant.config import Settings
from assistant.llm import LLMCallFailed, load_chat_model
from assistant.question import Question
from assistant.result import Answer, Revision
from tests.shared import REPO
from tests.test_llm_models import require

QUESTION = Question.ask("What happened in Avdiivka?")
ASK = [("human", "What happened in Avdiivka?")]
# (Content-Type, body): a 200 that no OpenAI client can read as a chat completion.
NOT_JSON = ("text/plain", "Hello! This server speaks no JSON.")
HTML_PAGE = ("text/html", "<html><body><h1>Welcome to nginx!</h1></body></html>")
BROKEN_JSON = ("application/json", '{"choices": [')
NO_CHOICES = ("application/json", '{"answer": "Avdiivka", "confidence": 0.9}')
CHOICES_A_STRING = ("application/json", '{"choices": "Avdiivka"}')
MESSAGE_A_NUMBER = ("application/json", '{"choices": [{"message": 5}]}')
STREAM_OF_STRINGS = ("text/event-stream", 'data: {"choices": "Avdiivka"}\n\n')
STREAM_OF_NUMBERS = ("text/event-stream", "data: 5\n\ndata: [DONE]\n\n")
STREAM_NOT_JSON = ("text/event-stream", "data: Avdiivka\n\n")
REPLIES = [
    NOT_JSON,
    HTML_PAGE,
    BROKEN_JSON,
    NO_CHOICES,
    CHOICES_A_STRING,
    MESSAGE_A_NUMBER,
    STREAM_OF_STRINGS,
    STREAM_OF_NUMBERS,
    STREAM_NOT_JSON,
]
# pydantic's, as langchain-openai dumps a streamed chunk of the wrong shape (the CLI hides it)
SHAPE_WARNING = "ignore:Pydantic serializer warnings:UserWarning"
NAMES = [
    "not-json",
    "html",
    "broken-json",
    "no-choices",
    "choices-a-string",
    "message-a-number",
    "stream-of-strings",
    "stream-of-numbers",
    "stream-not-json",
]


class Replier(ThreadingHTTPServer):
    """Answers every request with one fixed 200 reply and counts the requests."""

    daemon_threads = True

    def __init__(self, content_type: str, body: str):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.content_type, self.body, self.requests = content_type, body.encode(), 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    timeout = 5  # a client that sends half a request does not hold the thread

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        server = self.server
        assert isinstance(server, Replier)
        server.requests += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", server.content_type)
        self.send_header("Content-Length", str(len(server.body)))
        self.end_headers()
        self.wfile.write(server.body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # no request log on the test output


@pytest.fixture()
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[tuple[str, str]], Replier]]:
    """Starts servers that answer a fixed reply; each is stopped (bounded) after the test."""
    require("langchain-openai", importlib.util.find_spec("langchain_openai") is None)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # a local server needs no key
    running: list[tuple[Replier, threading.Thread]] = []

    def start(reply: tuple[str, str]) -> Replier:
        server = Replier(*reply)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        running.append((server, thread))
        return server

    yield start
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        assert not thread.is_alive()


def model_of(server: Replier) -> BaseChatModel:
    settings = Settings(llm="openai:fake", llm_base_url=server.base_url, llm_timeout=5.0)
    model = load_chat_model(settings)
    assert model is not None
    return model


@pytest.mark.parametrize("reply", REPLIES, ids=NAMES)
@pytest.mark.filterwarnings(SHAPE_WARNING)
def test_a_reply_that_is_no_chat_completion_is_a_model_failure(
    serve: Callable[[tuple[str, str]], Replier], reply: tuple[str, str]
) -> None:
    server = serve(reply)
    model = model_of(server)
    for call in (model.invoke, lambda m: list(model.stream(m))):
        with pytest.raises(LLMCallFailed, match=f"{server.base_url} answered with ") as caught:
            call(ASK)
        message = str(caught.value)
        assert "OpenAI-compatible server" in message and "\n" not in message
    assert server.requests == 2  # the server was asked, and answered, both times


@pytest.mark.parametrize(
    "reply", [NOT_JSON, NO_CHOICES, STREAM_OF_STRINGS], ids=["not-json", "no-choices", "streamed"]
)
@pytest.mark.filterwarnings(SHAPE_WARNING)
def test_the_quoted_answer_is_given_with_a_note(
    serve: Callable[[tuple[str, str]], Replier],
    reply: tuple[str, str],
    sample_index: Path,
    embedder: object,
) -> None:
    model = model_of(serve(reply))
    quoted = Assistant(sample_index, embedder).chain.invoke(QUESTION)  # type: ignore[arg-type]
    assistant = Assistant(sample_index, embedder, model)  # type: ignore[arg-type]
    *_, final = assistant.write(assistant.retrieve(QUESTION))
    assert (final.text, final.citations) == (quoted.text, quoted.citations)
    assert final.covered and not final.draft
    assert final.note.startswith("The model could not answer (openai:fake: http://127.0.0.1:")
    assert "answered with" in final.note and final.note.endswith("; quoted instead.")


@pytest.mark.parametrize(
    "reply",
    [NOT_JSON, CHOICES_A_STRING, STREAM_OF_STRINGS],
    ids=["not-json", "wrong-shape", "wrong-shape-streamed"],
)
def test_assistant_ask_says_in_one_line_that_the_model_failed(
    serve: Callable[[tuple[str, str]], Replier],
    reply: tuple[str, str],
    sample_index: Path,
    embedder: object,
) -> None:
    server = serve(reply)
    question = "What happened in Avdiivka?"
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    args = ["ask", question, "--index-dir", sample_index, "--llm", "openai:fake"]
    done = subprocess.run(
        [sys.executable, "-m", "assistant.cli", *map(str, args), "--llm-base-url", server.base_url],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [done.stderr.strip()]  # one line, no traceback
    assert done.stderr.startswith(f"the model failed: openai:fake: {server.base_url} answered")
    quoted = Assistant(sample_index, embedder).chain.invoke(QUESTION)  # type: ignore[arg-type]
    assert done.stdout.startswith(quoted.text + "\n\n[1] ")
    assert server.requests == 1


# --- a citation marker whose number `int` refuses (Python caps int() at 4,300 digits)

HUGE = "1" * 5000
FRONT = "Russia has placed about 50,000 troops on the Avdiivka front"


def write_with(sample_index: Path, embedder: object, reply: str) -> list[Answer]:
    """Every version of the answer a model replying `reply` gets, drafts first."""
    llm = FakeListChatModel(responses=[reply])
    assistant = Assistant(sample_index, embedder, llm)  # type: ignore[arg-type]
    return list(assistant.write(assistant.retrieve(QUESTION)))


def troops_marker(sample_index: Path, embedder: object) -> int:
    """The marker of the "50,000 troops" sentence, as a model sees its sources."""
    assistant = Assistant(sample_index, embedder, FakeListChatModel(responses=["-"]))  # type: ignore[arg-type]
    return next(c.n for c in assistant.retrieve(QUESTION).context if "50,000" in c.text)


def test_a_marker_with_a_huge_number_points_nowhere(sample_index: Path, embedder: object) -> None:
    troops = troops_marker(sample_index, embedder)
    for nowhere in ("99", HUGE):  # the huge number is dropped as an out-of-range one is
        *drafts, final = write_with(sample_index, embedder, f"{FRONT} [{nowhere}][{troops}].")
        assert [c.n for c in drafts[-1].citations] == [troops]  # the draft: the known marker
        assert final.text == f"{FRONT}. [1]"
        assert [c.n for c in final.citations] == [1] and "50,000" in final.citations[0].text
        assert not final.revisions and not final.note


def test_a_sentence_citing_only_a_huge_number_is_re_cited(
    sample_index: Path, embedder: object
) -> None:
    for nowhere in ("99", HUGE, "0" * 5000 + "1" + "0" * 10):  # `int` counts the zeros too
        *_, final = write_with(sample_index, embedder, f"{FRONT} [{nowhere}].")
        assert final.text == f"{FRONT}. [1]"
        assert len(final.citations) == 1 and "50,000" in final.citations[0].text
        assert final.revisions == (Revision("re-cited", f"{FRONT}.", "no citation given"),)


def test_marker_numbers_of_any_length_are_read() -> None:
    text = f"One claim [2][{HUGE}]. Another [0003] [{'0' * 5000}4]. [{HUGE}]"
    assert marked_sentences(text) == [("One claim.", [2, 0]), ("Another.", [3, 4, 0])]
