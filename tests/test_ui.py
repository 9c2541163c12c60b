"""The Gradio app without a browser: rendering, handlers, uploads, the API, logins, sessions."""

from __future__ import annotations

import html
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from gradio_client import Client, handle_file
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.chain import Assistant
from assistant.citations import Citation
from assistant.config import Settings
from assistant.question import HISTORY_TURNS, TURN_CHARS, Question
from assistant.result import NOT_COVERED, Answer, Revision
from assistant.ui import build_app, launch, render
from assistant.ui import reader as reader_html
from assistant.ui.handlers import ChatApp, example_questions
from assistant.ui.session import Exchange
from assistant.ui.uploads import index_upload, stage
from assistant.ui.worker import Worker
from index.build import rebuild
from tests.shared import Renamed, free_port

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:gradio.queueing")  # pandas
REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "articles"
AVDIIVKA = "What happened in Avdiivka?"
TROOPS = "How many troops does Russia have there?"
EVIL = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
UNSUPPORTED = "Everyone there loves to bake bread on the weekends."
TROOPS_CLAIM = "Russia has placed about 50,000 troops on the Avdiivka front."
NO_PROGRESS = partial(lambda *a, **k: None)


def cite(n: int, title: str = "A title", **fields: object) -> Citation:
    values: dict = {"article_id": "a", "url": "", "published": "", "source": "", "text": "x"}
    return Citation(n=n, title=title, start=0, end=1, **(values | fields))


def run(app: ChatApp, question: str, conversation: list | None = None, **filters: object) -> list:
    """Every (transcript, conversation, box) the chat handler yields."""
    return list(app.chat(question, conversation or [], **filters))  # type: ignore[arg-type]


def bubbles(transcript: str) -> list[str]:
    return re.findall(r'class="na-bubble">(.*?)</div>', transcript)


def settings_for(index_dir: Path, **overrides: object) -> Settings:
    return Settings.from_env(index_dir=index_dir, **overrides)


@pytest.fixture(scope="module")
def assistant(sample_index: Path, embedder: object) -> Assistant:
    return Assistant(sample_index, embedder)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def app(sample_index: Path, assistant: Assistant) -> ChatApp:
    return ChatApp(settings_for(sample_index), assistant)


@pytest.fixture(scope="module")
def served(sample_index: Path, assistant: Assistant) -> Iterator[str]:
    """The app on a free loopback port, in this process."""
    demo = build_app(settings_for(sample_index), assistant)
    url = launch(demo, port=free_port(), block=False)
    yield url
    demo.close()


class Citing(FakeListChatModel):
    """A scripted chat model, a character at a time: each (sentence, cited) of `claims` is
    written citing the numbered source of its prompt that starts with `cited` (else [1])."""

    claims: list[tuple[str, str]]
    responses: list[str] = []
    sleep: float | None = 0.01

    def _stream(self, messages: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        prompt = "\n".join(str(m.content) for m in messages)
        numbered = re.findall(r"^\[(\d+)\] \(.*?\) (.*)$", prompt, re.MULTILINE)
        parts = []
        for sentence, cited in self.claims:
            n = next((n for n, text in numbered if cited and text.startswith(cited)), "1")
            parts.append(f"{sentence[:-1]} [{n}]{sentence[-1]}")
        self.responses = [" ".join(parts)]
        yield from super()._stream(messages, *args, **kwargs)


# --- HTML: escaping, markers, notes, the reader ----------------------------------------------
def test_markers_become_buttons_and_untrusted_text_stays_text() -> None:
    answer = Answer("q", f"{EVIL} stated [1] and [7].", (cite(1, EVIL, url="javascript:x"),))
    text = render.answer_text(answer, 3)
    assert "<script" not in text and "<img" not in text
    assert "&lt;script&gt;" in text and "onerror=&quot;" in text
    assert 'data-turn="3" data-cite="1"' in text
    assert '<span class="na-cite na-pending">7</span>' in text  # no source 7: not clickable
    listing = render.sources_list(3, [cite(1, EVIL, source=EVIL, published="2024-02-16")])
    assert "<script" not in listing and "javascript:" not in listing and "16 Feb 2024" in listing
    carried = render.sources_list(3, [cite(1, "Wire", source="AP", also=("Port Times", EVIL))])
    assert "also carried by 2 outlets: Port Times, &lt;script" in carried
    assert "<script" not in carried


def test_a_drafts_markers_are_clickable_as_soon_as_written() -> None:
    # A model's draft numbers the context: [4] and [9] are Citation.n, not positions.
    draft = Answer(
        "q", "Troops moved [4]. Ships sank [9][1000]. More came [1", (cite(4), cite(9)), draft=True
    )
    text = render.answer_text(draft, 0)
    assert re.findall(r'data-cite="(\d+)"', text) == ["4", "9"]
    assert '<span class="na-cite na-pending">1000</span>' in text  # cites nothing
    assert not text.endswith("[1")  # half a marker is not shown while it is written
    huge = "1" * 5000  # past what int() reads from text
    text = render.answer_text(replace(draft, text=f"Troops moved [4][{huge}]."), 0)
    assert re.findall(r'data-cite="(\d+)"', text) == ["4"] and f'pending">{huge}<' in text
    shown = render.transcript([Exchange("q", draft)])
    assert "na-draft" in shown and "na-typing" in shown


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
    assert bool(render.safe_url(url)) is kept
    assert ("href=" in render.sources_list(0, [cite(1, url=url)])) is kept


def test_the_note_under_a_checked_answer_says_what_was_removed() -> None:
    revisions = (
        Revision("dropped", f"{EVIL} was said.", "not supported by the sources"),
        Revision("dropped", "Another claim.", "not supported by the sources"),
        Revision("re-cited", "It had 26 missiles.", "the number is in another sentence"),
    )
    note = html.unescape(render.revision_note(revisions))
    assert "2 sentences removed: not supported by the sources" in note
    assert "1 sentence re-cited: the number is in another sentence" in note
    assert "<script" not in render.revision_note(revisions)
    assert render.revision_note(()) == ""
    quoted = Answer("q", "A quoted sentence. [1]", (cite(1),), note=f"The model failed {EVIL}")
    shown = render.transcript([Exchange("q", quoted)])
    assert "na-answer-note" in shown and "The model failed &lt;script&gt;" in shown


def test_reader_marks_every_cited_sentence_and_the_clicked_one_strongest(app: ChatApp) -> None:
    cites = [Citation(**c) for c in app.ask(AVDIIVKA)["citations"]]
    found = app.assistant.article(cites[0].article_id)
    assert found is not None
    article, sentences = found
    panel = reader_html.panel(article, sentences, cites, 2)
    assert panel.count('class="na-s na-cited') == len(cites)
    focus = re.search(r'<mark class="na-s na-cited na-focus" id="na-focus"[^>]*>(.*?)<sup', panel)
    assert focus and render.esc(cites[1].text) == focus.group(1)
    assert panel.count('id="na-focus"') == 1
    assert render.esc(article.title) in panel


# --- the chat handlers -------------------------------------------------------------------
def test_example_questions_come_from_the_articles(assistant: Assistant) -> None:
    assert example_questions(assistant.library().sample)[0] == AVDIIVKA


def test_status_line_shows_counts_build_time_and_writer(app: ChatApp) -> None:
    status = app.status()
    assert "<b>1</b> article ·" in status and "<b>36</b> sentences" in status
    assert "indexed " in status and "LLM: extractive" in status


def test_extractive_answer_streams_one_version_per_cited_sentence(app: ChatApp) -> None:
    steps = run(app, AVDIIVKA)
    drafts = [t for t, _, _ in steps if "na-draft" in t]
    clickable = [t.count('<button type="button" class="na-cite"') for t in drafts]
    assert len(drafts) >= 3 and clickable[0] == 0  # asked, then one version per sentence
    assert clickable == sorted(set(clickable))  # each version cites one more, all clickable
    final, conversation, box = steps[-1]
    assert box == "" and "na-draft" not in final
    answer = conversation[0].answer
    assert not answer.draft and len(answer.citations) == len(drafts)  # its last sentence too
    assert 'class="na-cite" data-turn="0" data-cite="1"' in final
    assert "Sources" in final and "VOA News · 16 Feb 2024" in final


def test_written_answer_streams_then_the_checked_answer_replaces_the_draft(
    sample_index: Path, embedder: object
) -> None:
    llm = Citing(claims=[(TROOPS_CLAIM, TROOPS_CLAIM[:30]), (UNSUPPORTED, "")])
    writer = Assistant(sample_index, embedder, llm)  # type: ignore[arg-type]
    app = ChatApp(settings_for(sample_index, llm="fake:scripted"), writer)
    assert "LLM: fake:scripted" in app.status()
    steps = run(app, AVDIIVKA)
    written = str(llm.responses[0])
    drafts = [c[0].answer for _, c, _ in steps if c[0].answer and c[0].answer.draft]
    growing = [a for a in drafts if a.text and written.startswith(a.text)]
    assert len(growing) >= 5  # the model's tokens show as they come
    first = next(a for a in growing if a.citations)
    assert "bread" not in first.text  # clickable while the rest is still being written
    assert f'data-cite="{first.citations[0].n}"' in render.answer_text(first, 0)
    final, conversation, _ = steps[-1]
    answer = conversation[0].answer
    assert not answer.draft and "bread" not in answer.text and "na-draft" not in final
    assert answer.text.startswith(TROOPS_CLAIM[:-1]) and answer.text.endswith("[1]")
    assert answer.citations[0].text.startswith(TROOPS_CLAIM[:-1])
    assert [(r.action, r.sentence) for r in answer.revisions] == [("dropped", UNSUPPORTED)]
    assert "1 sentence removed: not supported by the sources" in html.unescape(final)


def test_follow_up_uses_this_conversation(app: ChatApp) -> None:
    *_, (_, conversation, _) = run(app, AVDIIVKA)
    *_, (transcript, conversation, _) = run(app, TROOPS, conversation)
    assert bubbles(transcript) == [AVDIIVKA, TROOPS]
    cited = [c.text for c in conversation[-1].answer.citations]
    assert any("about 50,000 troops on the Avdiivka front" in text for text in cited)


def test_not_covered_is_an_answer_not_an_error(app: ChatApp) -> None:
    *_, (transcript, conversation, _) = run(app, "How do I bake sourdough bread?")
    assert not conversation[-1].answer.covered
    assert "na-not-covered" in transcript and NOT_COVERED in transcript
    assert "na-error" not in transcript


@pytest.mark.parametrize(
    ("question", "filters", "message"),
    [
        ("   ", {}, "the question is empty"),
        ("x" * 2500, {}, "the limit is 2,000"),
        (AVDIIVKA, {"since": "last week"}, "since: 'last week' is not a date like 2024-02-01"),
        (AVDIIVKA, {"since": "2024-03-01", "until": "2024-02-01"}, "is after until"),
    ],
)
def test_bad_questions_get_a_friendly_message(
    app: ChatApp, question: str, filters: dict, message: str
) -> None:
    *_, (transcript, conversation, _) = run(app, question, **filters)
    assert conversation[-1].answer is None and conversation[-1].notice
    assert "I can’t answer that as asked" in transcript and render.esc(message) in transcript


def test_filters_narrow_the_answer(app: ChatApp) -> None:
    *_, (_, conversation, _) = run(app, AVDIIVKA, since="2024-02-16", sources=["VOA News"])
    assert conversation[-1].answer.covered
    *_, (_, conversation, _) = run(app, AVDIIVKA, until="2023-12-31")
    assert not conversation[-1].answer.covered


def test_clicking_a_marker_opens_the_reader(app: ChatApp) -> None:
    *_, (_, conversation, _) = run(app, AVDIIVKA)
    panel = app.open_citation(conversation, gr.EventData(None, {"turn": 0, "n": 1}))
    assert 'id="na-focus"' in panel and "na-reader-title" in panel
    assert render.esc(conversation[0].answer.citations[0].text) in panel
    for bad in ({"turn": 1, "n": 1}, {"turn": 0, "n": 99}, {"turn": "x"}, {}):
        assert "na-reader-empty" in app.open_citation(conversation, gr.EventData(None, bad))


def test_new_chat_starts_over(app: ChatApp) -> None:
    transcript, conversation, box, panel = app.new_chat()
    assert conversation == [] and box == "" and "na-empty" in transcript
    assert "na-reader-empty" in panel


# --- uploads -------------------------------------------------------------------------------
GOOD = """---
title: Quillbrook council approves a new tram line
source: Quillbrook Gazette
published: 2024-03-04
---
The Quillbrook city council approved a new tram line on Monday after a six-hour debate.
The line will connect the harbour district to the university by 2027.
"""
BETTER = GOOD.replace("six-hour", "seven-hour")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(300)
QUILLBROOK = "What did the Quillbrook council approve?"


@pytest.fixture()
def fresh(tmp_path: Path, embedder: object) -> ChatApp:
    """An app over its own index of the sample article, uploads in tmp_path/uploads."""
    index_dir = tmp_path / "index"
    rebuild([SAMPLE], index_dir, embedder=embedder, progress=False)  # type: ignore[arg-type]
    return ChatApp(settings_for(index_dir), Assistant(index_dir, embedder))  # type: ignore[arg-type]


def upload(
    app: ChatApp, folder: Path, files: dict[str, str | bytes], progress: Any = NO_PROGRESS
) -> str:
    """Upload these files (name -> content) as a browser would; the message shown, as text."""
    folder.mkdir(exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    shown, *_ = app.add_articles([str(folder / name) for name in files], progress=progress)
    return html.unescape(re.sub(r"<[^>]+>", "\n", shown))


def kept(app: ChatApp) -> list[str]:
    return sorted(p.name for p in app.uploads.iterdir() if not p.name.startswith("."))


def cited_titles(app: ChatApp, question: str) -> list[str]:
    return [c["title"] for c in app.ask(question)["citations"]]


@pytest.mark.slow
def test_uploads_are_indexed_and_bad_files_explained(fresh: ChatApp, tmp_path: Path) -> None:
    shown: list[tuple[float | None, str]] = []
    message = upload(
        fresh,
        tmp_path / "browser",
        {
            "tram.txt": GOOD,
            "scan.txt": PNG,
            "report.pdf": b"%PDF-1.7\n",
            "empty.md": "  \n",
            ".hidden name!.jsonl": '{"text": "ok text here about trams."}\nnot json\n',
        },
        progress=lambda done, desc: shown.append((done, desc)),
    )
    assert (1.0, "embedding chunks") in shown  # the worker's progress reaches the bar
    assert "2 added, 0 updated, 0 unchanged; the index holds 3 articles." in message
    assert "skipped scan.txt: binary file (contains NUL bytes), not text" in message
    assert "skipped report.pdf: unsupported file type '.pdf'" in message
    assert "skipped empty.md: empty file" in message
    assert "skipped hidden_name_.jsonl:2: invalid JSON" in message
    assert "<b>3</b> articles" in fresh.status()
    assert kept(fresh) == ["hidden_name_.jsonl", "tram.txt"]  # wholly bad files are not kept
    assert cited_titles(fresh, QUILLBROOK)[0] == "Quillbrook council approves a new tram line"
    assert fresh.ask(AVDIIVKA)["covered"]  # the articles indexed before are still there
    again = upload(fresh, tmp_path / "again", {"tram.txt": GOOD})
    assert "0 added, 0 updated, 2 unchanged" in again
    assert "tram.txt: replaced the earlier file of that name (its articles unchanged)" in again
    nothing, *_ = fresh.add_articles(None, progress=NO_PROGRESS)
    assert "Choose one or more files" in nothing


@pytest.mark.slow
def test_a_failed_upload_never_replaces_an_earlier_one_nor_poisons_the_next(
    fresh: ChatApp, tmp_path: Path
) -> None:
    upload(fresh, tmp_path / "first", {"tram.txt": GOOD})
    # The same name, a file nothing can be read from: the earlier file and article stay.
    message = upload(fresh, tmp_path / "bad", {"tram.txt": PNG})
    assert "tram.txt: the earlier file of that name was kept, as the new one could not" in message
    assert "skipped tram.txt: binary file" in message and "Nothing was added" in message
    assert (fresh.uploads / "tram.txt").read_text() == GOOD
    # The same name, readable, but the build takes nothing from it (a copy of another article).
    sample_copy = next(SAMPLE.iterdir()).read_text()
    message = upload(fresh, tmp_path / "copy", {"tram.txt": sample_copy})
    assert "tram.txt: the earlier file of that name was kept" in message
    assert "skipped tram.txt: duplicate of article" in message
    assert (fresh.uploads / "tram.txt").read_text() == GOOD
    assert "Quillbrook council approves a new tram line" in cited_titles(fresh, QUILLBROOK)
    # A new version replaces the earlier one, and says so.
    message = upload(fresh, tmp_path / "better", {"tram.txt": BETTER})
    assert "0 added, 1 updated" in message
    assert 'tram.txt: replaced its 1 earlier article ("Quillbrook council approves' in message
    assert sorted(p.name for p in fresh.uploads.iterdir()) == ["tram.txt"]


def running(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for its parent to reap it does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
def test_the_index_worker_ends_when_the_server_is_killed() -> None:
    script = (
        "import os, time\n"
        "from assistant.ui.worker import Worker\n"
        "print(Worker().run(os.getpid), flush=True)\n"
        "time.sleep(120)\n"
    )
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=REPO)
    try:
        assert server.stdout is not None
        worker = int(server.stdout.readline())
        assert worker != server.pid and running(worker)
    finally:
        server.kill()  # no clean-up runs: kill -9
        server.wait()
    deadline = time.monotonic() + 10
    while running(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not running(worker)


@pytest.mark.slow
def test_a_worker_that_dies_costs_one_upload_not_the_server() -> None:
    worker = Worker()
    try:
        with pytest.raises(RuntimeError, match="the indexing process stopped unexpectedly"):
            worker.run(os._exit, 1)  # as an out-of-memory kill would
        assert worker.run(os.getpid) != os.getpid()  # the next upload gets a new worker
    finally:
        worker.close()


def test_when_the_build_fails_the_upload_folder_is_left_as_it_was(
    tmp_path: Path, embedder: object
) -> None:
    index_dir, uploads = tmp_path / "index", tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "tram.txt").write_text(GOOD)
    rebuild([uploads], index_dir, embedder=embedder, progress=False)  # type: ignore[arg-type]
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "tram.txt").write_text(BETTER)
    (tmp_path / "new" / "other.md").write_text(GOOD.replace("tram", "bus"))
    files = [str(p) for p in (tmp_path / "new").iterdir()]
    # A real build that refuses the index (another embedding model) fails before writing.
    build = partial(rebuild, embedder=Renamed(embedder, "another-model"), progress=False)
    outcome = index_upload(stage(files, uploads), uploads, index_dir, build)
    assert outcome.report is None and "rebuild it with `assistant index --full`" in outcome.error
    assert sorted(p.name for p in uploads.iterdir()) == ["tram.txt"]
    assert (uploads / "tram.txt").read_text() == GOOD and outcome.kept == ("tram.txt",)
    good = partial(rebuild, embedder=embedder, progress=False)
    outcome = index_upload(stage(files, uploads), uploads, index_dir, good)  # the next one works
    assert outcome.report is not None and outcome.report.added == 1
    assert outcome.report.updated == 1 and outcome.replaced == ("tram.txt",)


# --- the API and many sessions ---------------------------------------------------------------
def test_the_page_has_one_source_filter(sample_index: Path, assistant: Assistant) -> None:
    demo = build_app(settings_for(sample_index), assistant)
    dropdowns = [b for b in demo.blocks.values() if isinstance(b, gr.Dropdown)]
    assert [d.label for d in dropdowns] == ["Sources"]  # status and refresh make no more


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


@pytest.mark.slow
def test_a_3mb_history_is_accepted_cut_and_answered_fast(served: str) -> None:
    client = Client(served, verbose=False)
    client.predict(TROOPS, api_name="/ask")  # warm
    started = time.perf_counter()
    plain = client.predict(TROOPS, [{"role": "user", "content": AVDIIVKA}], api_name="/ask")
    normal = time.perf_counter() - started
    huge = [
        {"role": role, "content": f"{AVDIIVKA} " + "x" * 150_000}
        for role in ("user", "assistant") * 10
    ]  # 20 turns of 150 KB: 3 MB
    assert len(str(huge)) > 3_000_000
    assert all(len(t.content) <= TURN_CHARS for t in Question.ask(TROOPS, huge).history)
    assert len(Question.ask(TROOPS, huge).history) == HISTORY_TURNS
    started = time.perf_counter()
    answer = client.predict(TROOPS, huge, api_name="/ask")
    took = time.perf_counter() - started
    assert answer["covered"] and answer["citations"]
    assert [c["text"] for c in answer["citations"]][:1] == [c["text"] for c in plain["citations"]][
        :1
    ]
    assert took < max(3 * normal, normal + 2.0), (took, normal)


def no_punctuation(path: Path, size: int) -> Path:
    """A paragraph of made-up words without a full stop: slow to index."""
    rng = random.Random(3)
    words = ("".join(rng.choices("abcdefghijklmnop", k=rng.randint(2, 9))) for _ in range(size))
    path.write_text(" ".join(words)[:size])
    return path


@pytest.mark.slow
def test_answers_do_not_wait_for_an_upload_being_indexed(tmp_path: Path, embedder: object) -> None:
    index_dir = tmp_path / "index"
    rebuild([SAMPLE], index_dir, embedder=embedder, progress=False)  # type: ignore[arg-type]
    demo = build_app(settings_for(index_dir), Assistant(index_dir, embedder))  # type: ignore[arg-type]
    url = launch(demo, port=free_port(), block=False)
    try:
        big = no_punctuation(tmp_path / "slow.txt", 500_000)
        uploaded: dict[str, object] = {}

        def upload() -> None:
            shown = Client(url, verbose=False).predict([handle_file(str(big))], api_name="/upload")
            uploaded.update(message=shown[0], at=time.perf_counter())

        uploader = threading.Thread(target=upload)
        uploader.start()
        client = Client(url, verbose=False)
        while not (tmp_path / "uploads").exists() and uploader.is_alive():
            time.sleep(0.05)  # the upload has reached the server
        for question in list(QUESTIONS)[:3]:
            assert client.predict(question, api_name="/ask")["citations"]
        answered = time.perf_counter()
        uploader.join(timeout=600)
        assert "1 added" in str(uploaded["message"])
        assert answered < float(uploaded["at"])  # type: ignore[arg-type]
    finally:
        demo.close()


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
        assert bubbles(transcript) == [render.esc(question), "Tell me more about that."]
        assert transcript.count('class="na-sources"') == 2, question  # both answers cite
        assert QUESTIONS[question] in " ".join(c["text"] for c in answer["citations"]), question


# --- logins ----------------------------------------------------------------------------------
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
