"""What the page does: stream cited answers, open sources in the reader, index uploads.

One `ChatApp` serves every browser session; a session's conversation (its `Exchange`s, each
holding the `Answer` it got) is the state Gradio keeps per session and passes in and out of
each handler. The handlers reach the index only through the `Assistant`.
"""

from __future__ import annotations

import calendar
import contextlib
import logging
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import gradio as gr

from assistant.api import get_assistant
from assistant.chain import Assistant, Library
from assistant.config import Settings
from assistant.llm import describe
from assistant.question import Question, QuestionError
from assistant.ui import reader, render
from assistant.ui.session import Conversation, Exchange, history
from assistant.ui.uploads import UploadReport, stage
from assistant.ui.worker import InThread, Worker, shared, upload_job
from index.errors import IndexProblem, NewsAssistantError
from index.load import Article

log = logging.getLogger(__name__)
REDRAW = 0.05  # seconds: a model's draft is redrawn at most this often (a marker: at once)
EXAMPLES = 4
_PLACE = re.compile(r"\bin ((?:[A-Z][\w’'-]+)(?: [A-Z][\w’'-]+)?)")
_NOT_PLACES = set(calendar.month_name[1:]) | set(calendar.day_name)
_PROGRESS = gr.Progress()  # Gradio spots a progress argument by its default value
Chat = tuple[str, Conversation, str]  # (transcript HTML, the conversation, the question box)


def example_questions(articles: Sequence[Article], limit: int = EXAMPLES) -> list[str]:
    """'What happened in <place>?' for the place each article (newest first) names most."""
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


class ChatApp:
    """The handlers behind the page, over one Assistant (index and answer writer)."""

    def __init__(
        self,
        settings: Settings,
        assistant: Assistant | None = None,
        worker: Worker | InThread | None = None,
    ):
        self.settings = settings
        self.assistant = assistant or get_assistant(settings)
        self.uploads = settings.uploads_dir
        self.worker = worker or shared()

    def status(self) -> str:
        """Counts, build time and what writes the answers as one line of HTML."""
        return self._status(self._library())

    def refresh(self) -> tuple[str, Any, str]:
        """Status line, source choices and example questions for the current index."""
        library = self._library()
        sources = list(library.sources) if library else []
        examples = example_questions(library.sample) if library else []
        # A component made here updates the page's; inside gr.Blocks it would add one.
        return self._status(library), gr.Dropdown(choices=sources), render.examples(examples)

    def _library(self) -> Library | None:
        try:
            return self.assistant.library()
        except IndexProblem:
            return None

    def _status(self, library: Library | None) -> str:
        manifest = library.manifest if library else None
        return render.status(manifest, describe(self.settings.llm))

    def chat(
        self,
        text: str,
        conversation: Conversation | None,
        since: str | None = None,
        until: str | None = None,
        sources: list[str] | None = None,
    ) -> Iterator[Chat]:
        """Stream the answer to a question into this session's conversation."""
        before = list(conversation or [])
        try:
            question = Question.ask(
                text, history(before), since=since, until=until, sources=sources
            )
        except QuestionError as error:
            notice = f"I can’t answer that as asked: {error}."
            yield self._show(before + [Exchange(str(text or ""), notice=notice)])
            return
        asked = before + [Exchange(question.text)]
        yield self._show(asked)
        try:
            for version in self._versions(question):
                yield self._show(before + [version])
            return
        except NewsAssistantError as error:
            notice = str(error)
        except Exception:
            log.exception("answering %r failed", question.text)
            notice = "Something went wrong while answering; please try again."
        yield self._show(before + [Exchange(question.text, notice=notice)])

    def _versions(self, question: Question) -> Iterator[Exchange]:
        """The answer's versions worth drawing: each with a new citation, else every REDRAW."""
        shown, drawn = -1, 0.0
        for answer in self.assistant.chain.stream(question):
            fresh = len(answer.citations) != shown
            if not answer.draft or fresh or time.monotonic() - drawn >= REDRAW:
                shown, drawn = len(answer.citations), time.monotonic()
                yield Exchange(question.text, answer)

    @staticmethod
    def _show(conversation: Conversation) -> Chat:
        return render.transcript(conversation), conversation, ""

    def open_citation(self, conversation: Conversation | None, event: gr.EventData) -> str:
        """The reader panel for the clicked marker of an answer."""
        try:
            exchange = (conversation or [])[int(event.turn)]
            focus = int(event.n)
        except (AttributeError, IndexError, TypeError, ValueError):
            exchange, focus = Exchange(""), 0
        cited = exchange.cited(focus)
        if cited is None or exchange.answer is None:
            return reader.placeholder("That source is no longer in this conversation.")
        same = [c for c in exchange.answer.citations if c.article_id == cited.article_id]
        try:
            found = self.assistant.article(cited.article_id)
        except IndexProblem:
            found = None
        article, sentences = found or (None, [])
        return reader.panel(article, sentences, same, focus)

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
            asked = Question.ask(question, history, since=since, until=until, sources=sources)
            return self.assistant.chain.invoke(asked).to_dict()
        except NewsAssistantError as error:
            raise gr.Error(str(error)) from error

    def add_articles(
        self, files: list[str] | None, progress: gr.Progress = _PROGRESS
    ) -> tuple[str, str, Any, str]:
        """Save uploaded files beside the index and index them, in the worker process."""
        if not files:
            nothing = render.upload_result("Choose one or more files first.", [], [], False)
            return (nothing, *self.refresh())

        def report_progress(stage: str, done: int, total: int) -> None:
            progress(done / total if total else None, desc=stage)

        progress(0, desc="reading the files")
        staging = stage(files, self.uploads)
        try:
            outcome = self.worker.run(
                upload_job, staging, self.settings, on_progress=report_progress
            )
        except RuntimeError as error:
            outcome = UploadReport(error=str(error))
        finally:  # the job is over, or its worker dead (the next job undoes what it did)
            shutil.rmtree(staging, ignore_errors=True)
        if outcome.report is not None and outcome.report.changed:
            with contextlib.suppress(IndexProblem):  # shown by the status line below
                self.assistant.refresh()  # the uploader's next question sees the new articles
        return (upload_message(outcome), *self.refresh())

    def new_chat(self) -> tuple[str, Conversation, str, str]:
        """An empty conversation and reader."""
        return render.transcript([]), [], "", reader.placeholder()


def upload_message(outcome: UploadReport) -> str:
    """What an upload did, as the HTML under the upload box."""
    report = outcome.report
    noted = {n.path for n in outcome.notices}
    notes = [f"{n.path}: {n.message}" for n in outcome.notices]
    notes += [
        f"{name}: replaced the earlier file of that name (its articles unchanged)"
        for name in outcome.replaced
        if name not in noted
    ]
    notes += [
        f"{name}: the earlier file of that name was kept, as the new one could not be indexed"
        for name in outcome.kept
    ]
    notes += [
        f"{saved}: renamed from {name}, as another file in this upload has that name"
        for saved, name in outcome.renamed
    ]
    notes += [
        f"{name}: as it was before an earlier upload that stopped unexpectedly (undone)"
        for name in outcome.undone
    ]
    problems = [f"skipped {s}" for s in outcome.skipped]
    if outcome.error:
        head = f"Nothing was added: {outcome.error}"
    elif report is None:
        head = "Nothing was added."
    else:
        head = (
            f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged; "
            f"the index holds {report.articles:,} articles."
        )
    ok = report is not None and report.added + report.updated > 0
    return render.upload_result(head, notes, problems, ok)
