"""Gradio Blocks over the assistant: streaming cited chat, reader panel, filters and uploads."""

from __future__ import annotations

import calendar
import logging
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from assistant import ui_assets, ui_html
from assistant.answer import Answer, Assistant, QuestionError, get_assistant
from assistant.config import Settings
from assistant.llm import LLMUnavailable, describe
from assistant.retrieve import Filters
from index.load import iso_date
from index.store import IndexProblem, Store

log = logging.getLogger(__name__)
Turns = list[dict[str, Any]]
PACE = 0.04  # seconds between extracted sentences, so that an extractive answer streams visibly
_PLACE = re.compile(r"\bin ((?:[A-Z][\w’'-]+)(?: [A-Z][\w’'-]+)?)")
_NOT_PLACES = set(calendar.month_name[1:]) | set(calendar.day_name)
_PROGRESS = gr.Progress()  # Gradio spots a progress argument by its default value


def example_questions(store: Store, limit: int = 4, scan: int = 40) -> list[str]:
    """'What happened in <place>?' for the places the most recent articles talk most about."""
    articles = [a for a in map(store.article, sorted(store.catalogue())[:scan]) if a]
    articles.sort(key=lambda a: a.published, reverse=True)
    questions: list[str] = []
    for article in articles:
        text = f"{article.title}\n{article.text}"
        places = {p for p in _PLACE.findall(text) if p.split()[0] not in _NOT_PLACES}
        counts = Counter({p: text.count(p) for p in places})
        for place, _ in counts.most_common(1):
            question = f"What happened in {place}?"
            if question not in questions:
                questions.append(question)
        if len(questions) == limit:
            break
    return questions


def _history(turns: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """The question/answer pairs that were answered, for follow-up questions."""
    history: list[dict[str, str]] = []
    for asked, reply in zip(turns, turns[1:], strict=False):
        if asked["role"] == "user" and reply.get("kind") in ("answer", "not_covered"):
            history += [
                {"role": "user", "content": asked["content"]},
                {"role": "assistant", "content": reply["content"]},
            ]
    return history


def _filters(since: str | None, until: str | None, sources: Sequence[str] | None) -> Filters:
    dates = []
    for value, name in ((since, "From"), (until, "To")):
        iso = iso_date(value) if value else ""
        if value and not iso:
            raise QuestionError(f"the “{name}” date must look like 2024-02-01, not {value!r}")
        dates.append(iso)
    if all(dates) and dates[0] > dates[1]:
        raise QuestionError("the “From” date is after the “To” date")
    return Filters(dates[0], dates[1], frozenset(sources or ()))


def _safe_name(name: str) -> str:
    """A plain file name for an upload (no folders, no hidden files)."""
    clean = re.sub(r"[^\w.-]+", "_", Path(name).name).lstrip("._")[:120]
    return clean or "upload"


class ChatApp:
    """The handlers behind the page, over one index and one answer writer."""

    def __init__(
        self,
        index_dir: Path | None = None,
        llm: str | None = None,
        uploads: Path | None = None,
        assistant: Assistant | None = None,
    ):
        settings = Settings.from_env()
        self.settings = Settings(Path(index_dir or settings.index_dir), settings.embed_model)
        self.llm = settings.llm if llm is None else llm
        self.uploads = Path(uploads or self.settings.index_dir.parent / "uploads")
        self.assistant = assistant or get_assistant(self.settings.index_dir, self.llm)

    def store(self) -> Store:
        """The current build's store (reopened after a rebuild)."""
        return self.assistant.searcher().store

    def status(self) -> str:
        """Counts, build time and answer writer as one line of HTML."""
        writer = f'<span class="na-pill">LLM: {ui_html.esc(describe(self.llm))}</span>'
        try:
            m = self.store().manifest
        except IndexProblem:
            return f'<div class="na-status">No articles indexed yet · answers: {writer}</div>'
        built = ui_html.nice_time(str(m.get("built_at", "")))
        articles, sentences = int(m.get("articles", 0)), int(m.get("sentences", 0))
        return (
            f'<div class="na-status"><b>{articles:,}</b> article{"s" * (articles != 1)} · '
            f"<b>{sentences:,}</b> sentences · indexed {ui_html.esc(built)} · {writer}</div>"
        )

    def refresh(self) -> tuple[str, Any, str]:
        """Status line, source choices and example questions for the current index."""
        try:
            store = self.store()
            sources, examples = store.sources(), example_questions(store)
        except IndexProblem:
            sources, examples = [], []
        return self.status(), gr.Dropdown(choices=sources), ui_html.examples(examples)

    def chat(
        self,
        question: str,
        turns: Turns,
        since: str | None = None,
        until: str | None = None,
        sources: list[str] | None = None,
    ) -> Iterator[tuple[str, Turns, str]]:
        """Stream the answer to a question into this session's conversation."""
        history = _history(turns or [])
        asked = [{"role": "user", "content": question}] if (question or "").strip() else []
        turns = list(turns or []) + asked
        draft = ""
        try:
            request = {
                "question": question,
                "history": history,
                "filters": _filters(since, until, sources),
            }
            stream = self.assistant.stream(request)
            yield ui_html.transcript(turns + [_draft("")]), turns, ""
            for piece in stream:
                if isinstance(piece, Answer):
                    turns = turns + [_reply(piece)]
                    break
                draft += piece
                yield ui_html.transcript(turns + [_draft(draft)]), turns, ""
                if self.assistant.llm is None:
                    time.sleep(PACE)
        except QuestionError as error:
            turns = turns + [_error(f"I can’t answer that as asked: {error}.")]
        except (IndexProblem, LLMUnavailable) as error:
            turns = turns + [_error(str(error))]
        except Exception:
            log.exception("answering %r failed", question)
            turns = turns + [_error("Something went wrong while answering; please try again.")]
        yield ui_html.transcript(turns), turns, ""

    def open_citation(self, turns: Turns, event: gr.EventData) -> str:
        """The reader panel for the clicked marker of an answer."""
        try:
            answer = turns[int(event.turn)]["answer"]
            focus = int(event.n)
            cited = answer["citations"][focus - 1]
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            return ui_html.reader_placeholder("That source is no longer in this conversation.")
        same = [c for c in answer["citations"] if c["article_id"] == cited["article_id"]]
        try:
            store = self.store()
            article = store.article(cited["article_id"])
            sentences = store.sentences(article.id) if article else []
        except IndexProblem:
            article, sentences = None, []
        return ui_html.reader(article, sentences, same, focus)

    def ask(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        since: str = "",
        until: str = "",
        sources: list[str] | None = None,
    ) -> dict[str, Any]:
        """Answer a question from the indexed articles: text, covered and the citations."""
        try:
            request = {
                "question": question,
                "history": history or [],
                "filters": _filters(since, until, sources),
            }
            return self.assistant.chain.invoke(request).to_dict()
        except (QuestionError, IndexProblem, LLMUnavailable) as error:
            raise gr.Error(str(error)) from error

    def add_articles(
        self, files: list[str] | None, progress: gr.Progress = _PROGRESS
    ) -> tuple[str, str, Any, str]:
        """Save uploaded files beside the index and index them incrementally."""
        from index.build import rebuild

        if not files:
            return _upload_result("Choose one or more files first.", [], ok=False), *self.refresh()
        self.uploads.mkdir(parents=True, exist_ok=True)
        saved = {}
        for file in files:
            target = self.uploads / _safe_name(file)
            shutil.copyfile(file, target)
            saved[str(target.resolve())] = target

        def report_progress(stage: str, done: int, total: int) -> None:
            progress(done / total if total else None, desc=stage)

        progress(0, desc="reading articles")
        try:
            report = rebuild(
                [self.uploads],
                self.settings.index_dir,
                model=self.settings.embed_model,
                embedder=self.assistant.embedder,
                progress=False,
                on_progress=report_progress,
            )
        except IndexProblem as error:
            return _upload_result(str(error), [], ok=False), *self.refresh()
        problems = []
        for skipped in report.skipped:
            name = Path(skipped.path).name + (f":{skipped.line}" if skipped.line else "")
            problems.append(f"skipped {name}: {skipped.reason}")
            if skipped.line is None and skipped.path in saved:
                saved[skipped.path].unlink(missing_ok=True)  # nothing of it was indexed
        head = (
            f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged; "
            f"the index holds {report.articles:,} articles."
        )
        return _upload_result(head, problems, ok=report.added + report.updated > 0), *self.refresh()

    def new_chat(self) -> tuple[str, Turns, str, str]:
        """An empty conversation and reader."""
        return ui_html.transcript([]), [], "", ui_html.reader_placeholder()


def _draft(text: str) -> dict[str, Any]:
    return {"role": "assistant", "kind": "draft", "content": text}


def _reply(answer: Answer) -> dict[str, Any]:
    kind = "answer" if answer.covered else "not_covered"
    return {"role": "assistant", "kind": kind, "content": answer.text, "answer": answer.to_dict()}


def _error(message: str) -> dict[str, Any]:
    return {"role": "assistant", "kind": "error", "content": message}


def _upload_result(head: str, problems: Sequence[str], ok: bool) -> str:
    items = "".join(f"<li>{ui_html.esc(p)}</li>" for p in problems)
    tone = "na-upload-ok" if ok else "na-upload-bad"
    listing = f'<ul class="na-upload-bad">{items}</ul>' if items else ""
    head = f'<div class="{tone}">{ui_html.esc(head)}</div>'
    return f'<div class="na-upload-result">{head}{listing}</div>'


def _pick(event: gr.EventData) -> str:
    return str(getattr(event, "question", ""))[:2000]


def build_app(
    index_dir: Path | None = None, llm: str | None = None, uploads: Path | None = None
) -> gr.Blocks:
    """The page: chat and reader side by side; filters and uploads in the sidebar."""
    app = ChatApp(index_dir, llm, uploads)
    with gr.Blocks(title="News Assistant", analytics_enabled=False, fill_width=True) as demo:
        turns = gr.State([])
        with gr.Row(elem_id="na-header"):
            gr.HTML(
                '<div class="na-brand"><span class="na-logo">❝</span>News Assistant'
                "<small>Answers quote the exact sentences of your articles</small></div>",
                elem_id="na-brand",
            )
            status = gr.HTML(app.status(), elem_id="na-status")
            new = gr.Button("New chat", size="md", elem_id="na-new", scale=0, min_width=110)
        with gr.Sidebar(label="Filters and articles", open=True, width=290, elem_id="na-side"):
            gr.HTML('<div class="na-side-title">Filters</div>')
            since = gr.Textbox(label="From", placeholder="YYYY-MM-DD", max_lines=1)
            until = gr.Textbox(label="To", placeholder="YYYY-MM-DD", max_lines=1)
            sources = gr.Dropdown(label="Sources", multiselect=True, info="Empty: all sources")
            gr.HTML(
                '<div class="na-side-title">Add articles</div>'
                '<div class="na-side-hint">.txt, .md, .html or .jsonl files</div>'
            )
            files = gr.File(
                file_count="multiple",
                type="filepath",
                height=130,
                show_label=False,
                elem_id="na-files",
            )
            add = gr.Button("Add to the index", elem_id="na-add")
            added = gr.HTML(elem_id="na-upload-result")
        with gr.Row(elem_id="na-main", equal_height=False):
            with gr.Column(scale=6, min_width=420, elem_id="na-chat-col"):
                transcript = gr.HTML(
                    ui_html.transcript([]),
                    elem_id="na-transcript",
                    js_on_load=ui_assets.TRANSCRIPT_JS,
                )
                examples = gr.HTML(elem_id="na-examples", js_on_load=ui_assets.EXAMPLES_JS)
                with gr.Row(elem_id="na-composer"):
                    question = gr.Textbox(
                        show_label=False,
                        placeholder="Ask a question about the news…",
                        lines=1,
                        max_lines=5,
                        scale=8,
                        autofocus=True,
                        container=False,
                        elem_id="na-question",
                    )
                    ask = gr.Button(
                        "Ask", variant="primary", scale=0, min_width=80, elem_id="na-ask"
                    )
            with gr.Column(scale=5, min_width=360, elem_id="na-reader-col"):
                reader = gr.HTML(
                    ui_html.reader_placeholder(),
                    elem_id="na-reader",
                    js_on_load=ui_assets.READER_JS,
                )
        chat_io: dict[str, Any] = {
            "fn": app.chat,
            "inputs": [question, turns, since, until, sources],
            "outputs": [transcript, turns, question],
            "show_progress": "hidden",
            "concurrency_id": "answer",
            "concurrency_limit": 4,
        }
        question.submit(api_name="chat", api_visibility="undocumented", **chat_io)
        ask.click(api_visibility="private", **chat_io)
        examples.click(_pick, None, question, api_visibility="private", queue=False).then(
            api_visibility="private", **chat_io
        )
        transcript.click(
            app.open_citation, [turns], reader, api_visibility="private", show_progress="hidden"
        )
        new.click(
            app.new_chat, None, [transcript, turns, question, reader], api_visibility="private"
        )
        add.click(
            app.add_articles,
            [files],
            [added, status, sources, examples],
            api_visibility="private",
            concurrency_limit=1,
        ).then(lambda: None, None, files, api_visibility="private")
        demo.load(app.refresh, None, [status, sources, examples], api_visibility="private")
        gr.api(app.ask, api_name="ask", concurrency_id="answer", concurrency_limit=4)
    return demo


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """ASSISTANT_AUTH's 'user:password' as Gradio wants it (None when unset)."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ValueError("ASSISTANT_AUTH must look like user:password")
    return user, password


def launch(
    demo: gr.Blocks,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: tuple[str, str] | None = None,
    block: bool = True,
) -> str:
    """Serve the page offline (system fonts, no analytics); returns its local URL."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    demo.queue(default_concurrency_limit=1)
    _, url, _ = demo.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        prevent_thread_lock=not block,
        theme=ui_assets.theme(),
        css=ui_assets.CSS,
        footer_links=["api", "settings"],
        max_file_size="50mb",
        quiet=not block,
    )
    return str(url)
