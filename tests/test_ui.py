"""The Gradio app without a browser: handlers, escaping, uploads, the API and many sessions."""

from __future__ import annotations

import html
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import Client
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant import ui_html
from assistant.answer import NOT_COVERED, Assistant
from assistant.ui import build_app, launch, parse_auth
from assistant.ui_chat import ChatApp, example_questions
from index.build import rebuild
from index.store import open_index

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:gradio.queueing")  # pandas
REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "articles"
AVDIIVKA = "What happened in Avdiivka?"
TROOPS = "How many troops does Russia have there?"
EVIL = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(app: ChatApp, question: str, turns: list | None = None, **filters: object) -> list:
    """Every (transcript, turns, box) the chat handler yields."""
    return list(app.chat(question, turns or [], **filters))  # type: ignore[arg-type]


def bubbles(transcript: str) -> list[str]:
    return re.findall(r'class="na-bubble">(.*?)</div>', transcript)


@pytest.fixture(scope="module")
def app(sample_index: Path) -> ChatApp:
    return ChatApp(sample_index, uploads=sample_index.parent / "unused-uploads")


@pytest.fixture(scope="module")
def served(sample_index: Path) -> Iterator[str]:
    """The app on a free loopback port, in this process."""
    demo = build_app(sample_index)
    url = launch(demo, port=free_port(), block=False)
    yield url
    demo.close()


# --- HTML: escaping, markers, reader ---------------------------------------------------------
def test_markers_become_buttons_and_untrusted_text_stays_text() -> None:
    cites = [{"n": 1, "title": EVIL, "article_id": "a", "url": "javascript:alert(1)"}]
    text = ui_html.answer_text(f"{EVIL} stated [1] and [7].", 3, cites)
    assert "<script" not in text and "<img" not in text
    assert "&lt;script&gt;" in text and "onerror=&quot;" in text
    assert 'data-turn="3" data-cite="1"' in text
    assert '<span class="na-cite na-pending">7</span>' in text  # no source 7: not clickable
    listing = ui_html.sources_list(3, [{**cites[0], "source": EVIL, "published": "2024-02-16"}])
    assert "<script" not in listing and "javascript:" not in listing and "16 Feb 2024" in listing


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://www.voanews.com/a/1.html", True),
        ("http://example.org/x?a=1&b=2", True),
        ("javascript:alert(1)", False),
        (" JaVaScRiPt:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("//evil.example/x", False),
        ("vbscript:msgbox", False),
        ("", False),
    ],
)
def test_only_http_urls_become_links(url: str, kept: bool) -> None:
    assert bool(ui_html.safe_url(url)) is kept
    listing = ui_html.sources_list(0, [{"n": 1, "article_id": "a", "title": "t", "url": url}])
    assert ("href=" in listing) is kept


def test_reader_marks_every_cited_sentence_and_the_clicked_one_strongest(
    app: ChatApp,
) -> None:
    answer = app.ask(AVDIIVKA)
    cites = answer["citations"]
    store = app.store()
    article = store.article(cites[0]["article_id"])
    assert article is not None
    panel = ui_html.reader(article, store.sentences(article.id), cites, 2)
    assert panel.count('class="na-s na-cited') == len(cites)
    focus = re.search(r'<mark class="na-s na-cited na-focus" id="na-focus"[^>]*>(.*?)<sup', panel)
    assert focus and ui_html.esc(cites[1]["text"]) == focus.group(1)
    assert panel.count('id="na-focus"') == 1
    assert ui_html.esc(article.title) in panel


# --- the chat handlers -------------------------------------------------------------------
def test_example_questions_come_from_the_articles(sample_index: Path) -> None:
    store = open_index(sample_index)
    try:
        assert example_questions(store)[0] == AVDIIVKA
    finally:
        store.close()


def test_status_line_shows_counts_build_time_and_writer(app: ChatApp) -> None:
    status = app.status()
    assert "<b>1</b> article ·" in status and "<b>36</b> sentences" in status
    assert "indexed " in status and "LLM: extractive" in status


def test_extractive_answer_streams_then_cites(app: ChatApp) -> None:
    steps = run(app, AVDIIVKA)
    drafts = [t for t, _, _ in steps if "na-draft" in t]
    assert len(drafts) >= 3  # an empty draft, then one per extracted sentence
    assert len(drafts[-1]) > len(drafts[1]) > len(drafts[0])
    final, turns, box = steps[-1]
    assert box == "" and "na-draft" not in final
    assert [t["role"] for t in turns] == ["user", "assistant"]
    assert turns[1]["kind"] == "answer" and len(turns[1]["answer"]["citations"]) >= 2
    assert 'class="na-cite" data-turn="1" data-cite="1"' in final
    assert "Sources" in final and "VOA News · 16 Feb 2024" in final


def test_llm_answer_streams_token_by_token(
    app: ChatApp, sample_index: Path, embedder: object
) -> None:
    found = app.assistant.retrieve({"question": AVDIIVKA})
    troops = next(c.n for c in found.context if "50,000" in c.text)
    reply = f"Russia has placed about 50,000 troops on the Avdiivka front [{troops}]."
    llm = FakeListChatModel(responses=[reply], sleep=0.02)  # a character every 20 ms
    assistant = Assistant(sample_index, embedder, llm)  # type: ignore[arg-type]
    with_llm = ChatApp(sample_index, llm="fake:scripted", assistant=assistant)
    assert "LLM: fake:scripted" in with_llm.status()
    steps = run(with_llm, AVDIIVKA)
    drafts = [t for t, _, _ in steps if "na-draft" in t]
    assert len(drafts) >= 10  # the draft grows as the tokens come (redrawn every 50 ms)
    assert all(len(a) < len(b) for a, b in zip(drafts[1:], drafts[2:], strict=False))
    assert "[" not in steps[-1][0].split("na-answer")[1].split("</div>")[0]
    assert steps[-1][1][1]["answer"]["citations"][0]["text"].startswith("Russia has placed")


def test_follow_up_uses_this_conversation(app: ChatApp) -> None:
    *_, (_, turns, _) = run(app, AVDIIVKA)
    *_, (transcript, turns, _) = run(app, TROOPS, turns)
    assert bubbles(transcript) == [AVDIIVKA, TROOPS]
    cited = [c["text"] for c in turns[-1]["answer"]["citations"]]
    assert any("about 50,000 troops on the Avdiivka front" in text for text in cited)


def test_not_covered_is_an_answer_not_an_error(app: ChatApp) -> None:
    *_, (transcript, turns, _) = run(app, "How do I bake sourdough bread?")
    assert turns[-1]["kind"] == "not_covered"
    assert "na-not-covered" in transcript and NOT_COVERED in transcript
    assert "na-error" not in transcript


@pytest.mark.parametrize(
    ("question", "filters", "message"),
    [
        ("   ", {}, "the question is empty"),
        ("x" * 2500, {}, "the limit is 2,000"),
        (AVDIIVKA, {"since": "last week"}, "date must look like 2024-02-01"),
        (AVDIIVKA, {"since": "2024-03-01", "until": "2024-02-01"}, "after the “To” date"),
    ],
)
def test_bad_questions_get_a_friendly_message(
    app: ChatApp, question: str, filters: dict, message: str
) -> None:
    *_, (transcript, turns, _) = run(app, question, **filters)
    assert turns[-1]["kind"] == "error"
    assert "I can’t answer that as asked" in transcript and message in transcript


def test_filters_narrow_the_answer(app: ChatApp) -> None:
    *_, (_, turns, _) = run(app, AVDIIVKA, since="2024-02-16", sources=["VOA News"])
    assert turns[-1]["kind"] == "answer"
    *_, (_, turns, _) = run(app, AVDIIVKA, until="2023-12-31")
    assert turns[-1]["kind"] == "not_covered"


def test_clicking_a_marker_opens_the_reader(app: ChatApp) -> None:
    *_, (_, turns, _) = run(app, AVDIIVKA)
    panel = app.open_citation(turns, gr.EventData(None, {"turn": 1, "n": 1}))
    assert 'id="na-focus"' in panel and "na-reader-title" in panel
    assert ui_html.esc(turns[1]["answer"]["citations"][0]["text"]) in panel
    for bad in ({"turn": 0, "n": 1}, {"turn": 1, "n": 99}, {"turn": "x"}, {}):
        assert "na-reader-empty" in app.open_citation(turns, gr.EventData(None, bad))


def test_new_chat_starts_over(app: ChatApp) -> None:
    transcript, turns, box, reader = app.new_chat()
    assert turns == [] and box == "" and "na-empty" in transcript and "na-reader-empty" in reader


# --- uploads ---------------------------------------------------------------------------------
GOOD = """---
title: Quillbrook council approves a new tram line
source: Quillbrook Gazette
published: 2024-03-04
---
The Quillbrook city council approved a new tram line on Monday after a six-hour debate.
The line will connect the harbour district to the university by 2027.
"""


def test_uploads_are_indexed_and_bad_files_explained(tmp_path: Path, embedder: object) -> None:
    index_dir = tmp_path / "index"
    rebuild([SAMPLE], index_dir, embedder=embedder, progress=False)  # type: ignore[arg-type]
    drop = tmp_path / "browser"
    drop.mkdir()
    (drop / "tram.txt").write_text(GOOD)
    (drop / "scan.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(300))
    (drop / "report.pdf").write_bytes(b"%PDF-1.7\n")
    (drop / "empty.md").write_text("  \n")
    (drop / ".hidden name!.jsonl").write_text('{"text": "ok text here about trams."}\nnot json\n')
    app = ChatApp(index_dir, uploads=tmp_path / "uploads")
    files = [str(p) for p in sorted(drop.iterdir())]
    shown, status, _, _ = app.add_articles(files, progress=lambda *a, **k: None)
    message = html.unescape(shown)
    assert "2 added, 0 updated, 0 unchanged; the index holds 3 articles." in message
    assert "skipped scan.txt: binary file (contains NUL bytes), not text" in message
    assert "skipped report.pdf: unsupported file type '.pdf'" in message
    assert "skipped empty.md: empty file" in message
    assert "skipped hidden_name_.jsonl:2: invalid JSON" in message
    assert "<b>3</b> articles" in status
    kept = sorted(p.name for p in (tmp_path / "uploads").iterdir())
    assert kept == ["hidden_name_.jsonl", "tram.txt"]  # wholly bad files are not kept
    answer = app.ask("What did the Quillbrook council approve?")
    assert answer["citations"][0]["title"] == "Quillbrook council approves a new tram line"
    assert app.ask(AVDIIVKA)["covered"]  # the articles indexed before are still there
    again, *_ = app.add_articles([str(drop / "tram.txt")], progress=lambda *a, **k: None)
    assert "0 added, 0 updated, 2 unchanged" in again
    nothing, *_ = app.add_articles(None, progress=lambda *a, **k: None)
    assert "Choose one or more files" in nothing


# --- the API and many sessions ---------------------------------------------------------------
def test_api_returns_the_answer_as_data(served: str) -> None:
    client = Client(served, verbose=False)
    answer = client.predict(AVDIIVKA, api_name="/ask")
    assert answer["question"] == AVDIIVKA and answer["covered"] is True
    assert {"n", "article_id", "title", "url", "published", "source", "text", "start", "end"} <= (
        answer["citations"][0].keys()
    )
    history = [{"role": "user", "content": AVDIIVKA}, {"role": "assistant", "content": "..."}]
    follow = client.predict(TROOPS, history, "2024-02-01", "", ["VOA News"], api_name="/ask")
    assert any("50,000 troops" in c["text"] for c in follow["citations"])
    with pytest.raises(Exception, match="the question is empty"):
        client.predict("  ", api_name="/ask")


QUESTIONS = {
    AVDIIVKA: "Avdiivka",
    "Which Russian ship did Ukraine destroy?": "landing ship",
    "How many people were killed in Belgorod?": "Belgorod",
    "Where is Zelenskyy on Friday?": "Paris",
    "What happened in Zaporizhzhia?": "Zaporizhzhia",
    "How many residents does Avdiivka have now?": "1,000 residents",
    "What did Stoltenberg say about supporting Ukraine?": "Stoltenberg",
    "How many missiles did Russia launch?": "26 missiles",
}


@pytest.mark.slow
def test_eight_simultaneous_chats_keep_their_own_conversations(served: str) -> None:
    results: dict[str, tuple[str, dict]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(len(QUESTIONS))

    def converse(question: str) -> None:
        try:
            client = Client(served, verbose=False)  # one client, one session
            start.wait()
            client.predict(question, "", "", [], api_name="/chat")
            transcript, _ = client.predict("Tell me more about that.", "", "", [], api_name="/chat")
            results[question] = (transcript, client.predict(question, api_name="/ask"))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=converse, args=(q,)) for q in QUESTIONS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not errors, errors
    assert results.keys() == QUESTIONS.keys()
    for question, (transcript, answer) in results.items():
        assert bubbles(transcript) == [ui_html.esc(question), "Tell me more about that."]
        assert transcript.count('class="na-sources"') == 2, question  # both answers cite
        assert QUESTIONS[question] in " ".join(c["text"] for c in answer["citations"]), question


# --- `assistant serve` -----------------------------------------------------------------------
def test_auth_setting() -> None:
    assert parse_auth(None) is None and parse_auth("") is None
    assert parse_auth("reporter:a:b") == ("reporter", "a:b")
    for bad in ("reporter", ":secret", "reporter:"):
        with pytest.raises(ValueError, match="user:password"):
            parse_auth(bad)


@pytest.mark.slow
def test_serve_command_asks_for_a_login(sample_index: Path) -> None:
    port = free_port()
    env = {**os.environ, "ASSISTANT_AUTH": "reporter:s3cret", "GRADIO_ANALYTICS_ENABLED": "False"}
    command = [sys.executable, "-m", "assistant.cli", "serve", "--index-dir", str(sample_index)]
    server = subprocess.Popen(
        [*command, "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and server.poll() is None:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.3)
        assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
        with pytest.raises(Exception):  # noqa: B017 - whichever error the client raises
            Client(url, verbose=False)
        client = Client(url, auth=("reporter", "s3cret"), verbose=False)
        assert client.predict(AVDIIVKA, api_name="/ask")["citations"]
    finally:
        server.terminate()
        server.wait(timeout=30)
