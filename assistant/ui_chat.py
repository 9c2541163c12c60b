"""What the page does: stream cited answers, open sources in the reader, index uploads.

One `ChatApp` serves every browser session; a session's conversation is the `turns` list that
Gradio keeps per session and passes in and out of each handler.
"""

from __future__ import annotations

import calendar
import logging
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from assistant import ui_html
from assistant.answer import Answer, Assistant, QuestionError, get_assistant
from assistant.config import Settings
from assistant.llm import LLMUnavailable, describe
from assistant.retrieve import Filters
from index.load import iso_date
from index.store import IndexProblem, Store

log = logging.getLogger(__name__)
Turns = list[dict[str, Any]]
PACE = 0.04  # seconds between extracted sentences, so that an extractive answer streams visibly
REDRAW = 0.05  # at most this often the transcript is redrawn while an LLM streams tokens
_PLACE = re.compile(r"\bin ((?:[A-Z][\w’'-]+)(?: [A-Z][\w’'-]+)?)")
_NOT_PLACES = set(calendar.month_name[1:]) | set(calendar.day_name)
_PROGRESS = gr.Progress()  # Gradio spots a progress argument by its default value


def example_questions(store: Store, limit: int = 4, scan: int = 40) -> list[str]:
    """'What happened in <place>?' for the place each of some articles (newest first) names most."""
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
        try:
            manifest = self.store().manifest
        except IndexProblem:
            manifest = None
        return ui_html.status(manifest, describe(self.llm))

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
        draft, shown = "", 0.0
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
                if time.monotonic() - shown >= REDRAW:
                    shown = time.monotonic()
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
            nothing = ui_html.upload_result("Choose one or more files first.", [], False)
            return (nothing, *self.refresh())
        self.uploads.mkdir(parents=True, exist_ok=True)
        saved = {}
        for file in files:
            target = self.uploads / _safe_name(file)
            shutil.copyfile(file, target)
            saved[str(target.resolve())] = target

        def report_progress(stage: str, done: int, total: int) -> None:
            progress(done / total if total else None, desc=stage)

        progress(0, desc="reading and splitting the articles")
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
            return (ui_html.upload_result(str(error), [], False), *self.refresh())
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
        result = ui_html.upload_result(head, problems, ok=report.added + report.updated > 0)
        return (result, *self.refresh())

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
