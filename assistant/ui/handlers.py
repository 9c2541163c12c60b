"""What the page does: stream cited answers, open sources in the reader, index uploads, follow
feeds and fetch them (on demand, and on a schedule when the server is started with one); the
Stories tab's handlers are `assistant.ui.stories`.

One `ChatApp` serves every browser session; a session's conversation (its `Exchange`s, each
holding the `Answer` it got) is the state Gradio keeps per session and passes in and out of
each handler. Answers reach the index only through the `Assistant`; whatever changes the index
(uploads, feeds) runs in the worker process, one job at a time, and never holds up an answer.
"""

from __future__ import annotations

import calendar
import contextlib
import logging
import re
import shutil
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import gradio as gr

from assistant.api import get_assistant
from assistant.chain import Assistant, Library
from assistant.config import Settings
from assistant.llm import describe
from assistant.question import Question, QuestionError, clean_text
from assistant.result import Answer
from assistant.ui import reader, render
from assistant.ui.session import Conversation, Exchange, ask_again, history, since_last
from assistant.ui.stories import Stories
from assistant.ui.uploads import Progress, UploadReport, stage
from assistant.ui.worker import (
    FeedOutcome,
    InThread,
    Worker,
    follow_job,
    shared,
    unfollow_job,
    update_job,
    upload_job,
)
from index import feedlist
from index.errors import IndexProblem, NewsAssistantError
from index.feedlist import FeedState
from index.load import Article
from index.manifest import Manifest
from index.report import BuildReport

log = logging.getLogger(__name__)
REDRAW = 0.05  # seconds: a model's draft is redrawn at most this often (a marker: at once)
EXAMPLES = 4
_PLACE = re.compile(r"\bin ((?:[A-Z][\w’'-]+)(?: [A-Z][\w’'-]+)?)")
_NOT_PLACES = set(calendar.month_name[1:]) | set(calendar.day_name)
_PROGRESS = gr.Progress()  # Gradio spots a progress argument by its default value
Chat = tuple[str, Conversation, str]  # (transcript HTML, the conversation, the question box)
Refreshed = tuple[str, Any, str]  # (status line, source choices, example questions)
MAX_URL = 2000  # characters of a feed's address
MAX_NAME = 200  # characters of a feed's name, as a click sends it
UPDATE_GAP = 1.0  # seconds at least between a scheduled update's end and the next one's start
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


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
        *,
        allow_private: bool | None = None,
    ):
        """`allow_private`: whether feeds may be fetched from private and loopback addresses;
        by default as the CLI does, so with a folder index and not with a Chroma server."""
        self.settings = settings
        self.assistant = assistant or get_assistant(settings)
        self.uploads = settings.uploads_dir
        self.worker = worker or shared()
        self.allow_private = not settings.chroma_url if allow_private is None else allow_private
        self.stories = Stories(self.assistant)  # the Stories tab's handlers
        self.next_update: float | None = None  # the schedule's next update (0: running; None: off)
        self._stop = threading.Event()
        self._updater: threading.Thread | None = None

    def status(self) -> str:
        """The status line's HTML: counts, build time, what writes the answers and, when the
        index follows feeds, when they were last fetched (and are next, on a schedule)."""
        return self._status(self._manifest())

    def refresh(self) -> Refreshed:
        """Status line, source choices and example questions for the current index."""
        library = self._library()
        sources = list(library.sources) if library else []
        examples = example_questions(library.sample) if library else []
        # A component made here updates the page's; inside gr.Blocks it would add one.
        manifest = library.manifest if library else None
        return self._status(manifest), gr.Dropdown(choices=sources), render.examples(examples)

    def tick(self) -> tuple[str, str]:
        """The status line and the feed list as they are now (the page asks every so often: a
        scheduled update, or one by another process, changes them)."""
        return self.status(), self.feeds_panel()

    def _library(self) -> Library | None:
        try:
            return self.assistant.library()
        except IndexProblem:
            return None

    def _manifest(self) -> Manifest | None:
        try:
            with self.assistant.searcher() as searcher:
                return searcher.index.manifest
        except IndexProblem:
            return None

    def _status(self, manifest: Manifest | None) -> str:
        feeds, _ = self._feeds()
        news = max(f.last_fetch for f in feeds) if feeds else None
        return render.status(manifest, describe(self.settings.llm), news, self.next_update)

    def _feeds(self) -> tuple[list[FeedState], str]:
        """The feeds the index follows, or why they cannot be read."""
        try:
            return feedlist.read(self.assistant.place), ""
        except NewsAssistantError as error:
            return [], str(error)
        except Exception as error:  # a Chroma server that does not answer, say
            log.warning("cannot read the feed list: %s", error)
            return [], f"cannot read the feed list now: {error}"

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
        asked_at = datetime.now(UTC)  # what the index takes in from now on is new to this chat
        try:
            shown, question, again = _asked(text, before, since, until, sources)
        except QuestionError as error:
            notice = f"I can’t answer that as asked: {error}."
            yield self._show(before + [Exchange(str(text or ""), notice=notice)])
            return
        yield self._show(before + [Exchange(shown)])
        done = Exchange(shown, again=again, asked_at=asked_at)
        try:
            for version in self._versions(question):
                yield self._show(before + [replace(done, answer=version)])
            return
        except NewsAssistantError as error:
            notice = str(error)
        except Exception:
            log.exception("answering %r failed", question.text)
            notice = "Something went wrong while answering; please try again."
        yield self._show(before + [Exchange(shown, notice=notice)])

    def _versions(self, question: Question) -> Iterator[Answer]:
        """The answer's versions worth drawing: each with a new citation, else every REDRAW."""
        shown, drawn = -1, 0.0
        for answer in self.assistant.chain.stream(question):
            fresh = len(answer.citations) != shown
            if not answer.draft or fresh or time.monotonic() - drawn >= REDRAW:
                shown, drawn = len(answer.citations), time.monotonic()
                yield answer

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

        progress(0, desc="reading the files")
        staging = stage(files, self.uploads)
        try:
            outcome = self.worker.run(
                upload_job, staging, self.settings, on_progress=_reporter(progress)
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

    # --- feeds -----------------------------------------------------------------------------
    def feeds_panel(self) -> str:
        """The feeds the index follows, each with how its fetches went."""
        feeds, problem = self._feeds()
        if problem:
            return render.upload_result(problem, [], [], False)
        now = time.time()
        return render.feeds_list([feedlist.as_row(feed, now) for feed in feeds])

    def follow(
        self, url: str | None, progress: gr.Progress = _PROGRESS
    ) -> tuple[str, str, str, str]:
        """Follow the feed at `url` (or the feed the page at `url` names), checked in the worker:
        (message, feed list, the address box, status line). Its articles come with the next
        update; a feed that cannot be followed is one line, and nothing else changes."""
        url = (url or "").strip()
        if not url:
            outcome = FeedOutcome(error="paste the address of a feed or of a news site first")
        elif len(url) > MAX_URL:
            outcome = FeedOutcome(error=f"that address is longer than {MAX_URL:,} characters")
        else:
            progress(None, desc="checking the feed")
            outcome = self._run(follow_job, self.settings, url, self.allow_private)
        if outcome.error or outcome.feed is None:
            shown = render.upload_result(f"Not followed: {_line(outcome.error)}", [], [], False)
            return shown, self.feeds_panel(), url, self.status()
        head = f"Following {outcome.feed.name}: its articles come with the next update."
        return render.upload_result(head, [], [], True), self.feeds_panel(), "", self.status()

    def update_now(self, progress: gr.Progress = _PROGRESS) -> tuple[str, str, str, Any, str]:
        """Fetch every feed, due or not, and index what is new, in the worker: (message, feed
        list, status line, source choices, example questions)."""
        progress(0, desc="fetching the feeds")
        outcome = self._run(
            update_job, self.settings, self.allow_private, True, on_progress=_reporter(progress)
        )
        self._take(outcome)
        return update_message(outcome), self.feeds_panel(), *self.refresh()

    def unfollow(
        self, event: gr.EventData, progress: gr.Progress = _PROGRESS
    ) -> tuple[str, str, str, Any, str]:
        """Stop following the feed whose Remove button was clicked; its articles leave the index:
        (message, feed list, status line, source choices, example questions)."""
        name = str(getattr(event, "feed", "") or "")[:MAX_NAME]
        progress(None, desc=f"removing {name}")
        outcome = self._run(unfollow_job, self.settings, name)
        self._take(outcome)
        if outcome.error:
            shown = render.upload_result(f"Not removed: {_line(outcome.error)}", [], [], False)
        else:
            gone = outcome.build.removed if outcome.build else 0
            head = f"No longer following {name}; {gone} article{'s' * (gone != 1)} left the index."
            shown = render.upload_result(head, [], [], True)
        return shown, self.feeds_panel(), *self.refresh()

    def _run(self, job: Any, *args: Any, on_progress: Progress | None = None) -> FeedOutcome:
        """A feed job in the worker; a worker that died, or a bug, is the job's error."""
        try:
            outcome: FeedOutcome = self.worker.run(job, *args, on_progress=on_progress)
        except RuntimeError as error:  # the worker died
            return FeedOutcome(error=str(error))
        except Exception as error:  # a bug: one line in the page, its traceback in the log
            log.exception("the feed job %s failed", getattr(job, "__name__", job))
            return FeedOutcome(error=f"{type(error).__name__}: {error}")
        return outcome

    def _take(self, outcome: FeedOutcome) -> None:
        """After a job that changed the index, new questions are answered from the new one."""
        build: BuildReport | None = outcome.build
        if outcome.update is not None:
            build = outcome.update.build
        if build is not None and build.changed:
            with contextlib.suppress(IndexProblem):  # the status line shows it
                self.assistant.refresh()

    # --- the schedule ----------------------------------------------------------------------
    def start_updates(self, every: float) -> None:
        """Fetch the feeds that are due (`assistant update`) now, then every `every` seconds, in
        the worker, until `stop_updates`. A failed update is one line on stderr; the schedule
        goes on. Questions never wait for an update."""
        if self._updater is not None:
            return
        self._stop.clear()
        self.next_update = 0.0
        self._updater = threading.Thread(
            target=self._schedule, args=(every,), name="feed-updates", daemon=True
        )
        self._updater.start()

    def stop_updates(self) -> None:
        """End the schedule (after the update running now, if one is)."""
        self._stop.set()
        if self._updater is not None:
            self._updater.join()
        self._updater, self.next_update = None, None

    def _schedule(self, every: float) -> None:
        while not self._stop.is_set():
            started = time.time()
            self.next_update = 0.0
            self.scheduled_update()
            # Every `every` from the last start; never at once after one ends, so that an upload
            # or a click waiting for the worker gets its turn.
            self.next_update = max(started + every, time.time() + UPDATE_GAP)
            self._stop.wait(self.next_update - time.time())

    def scheduled_update(self) -> FeedOutcome:
        """One scheduled update: the feeds that are due. What it fetched is one line on stdout,
        a failure one line on stderr."""
        try:
            outcome = self._run(update_job, self.settings, self.allow_private, False)
            self._take(outcome)
        except Exception as error:  # the new index cannot be opened: the schedule goes on
            outcome = FeedOutcome(error=f"{type(error).__name__}: {error}")
        report = outcome.update
        if outcome.error:
            print(f"feed update failed: {_line(outcome.error)}", file=sys.stderr, flush=True)
        elif report is not None and report.feeds:
            failed = sum(bool(f.failed) for f in report.feeds)
            new = sum(f.new for f in report.feeds)
            line = (
                f"{len(report.feeds) - failed} feed{'s' * (len(report.feeds) - failed != 1)} "
                f"fetched, {new} new article{'s' * (new != 1)}, {failed} failed"
            )
            if report.fetched_any:
                print(f"feed update: {line}", flush=True)
            else:
                print(f"feed update failed: {line}", file=sys.stderr, flush=True)
        return outcome


def _asked(
    text: object,
    before: Conversation,
    since: str | None,
    until: str | None,
    sources: list[str] | None,
) -> tuple[str, Question, str]:
    """The question as the chat shows it, as the index is asked it, and what "what's new since
    I last asked" asks after it. That question asks the conversation's last question again (or
    its last about the topic it names) with `new_since` the moment it was asked."""
    shown = clean_text(text)
    again = since_last(shown, before, date.today())
    if again is not None and not again.question:
        raise QuestionError("this conversation has no earlier question: ask about something first")
    question = Question.ask(
        again.question if again else shown,
        history(before),
        since=since,
        until=until,
        sources=sources,
        new_since=again.since if again else None,
    )
    return shown, question, again.question if again else ask_again(question.text, question.as_of)


def _reporter(progress: gr.Progress) -> Progress:
    """A job's progress (stage, done, total) as Gradio's progress bar."""

    def report(stage: str, done: int, total: int) -> None:
        progress(done / total if total else None, desc=stage)

    return report


def _line(text: str) -> str:
    """Text from a feed or its server as one line, without control characters."""
    return " ".join(_CONTROLS.sub(" ", text).split())


def update_message(outcome: FeedOutcome) -> str:
    """What an update did, as the HTML under the feeds: new articles, then a line per feed."""
    report = outcome.update
    if outcome.error or report is None:
        return render.upload_result(f"Nothing was updated: {_line(outcome.error)}", [], [], False)
    if not report.feeds:
        return render.upload_result("No feeds to update yet: follow one first.", [], [], False)
    new = sum(f.new for f in report.feeds)
    head = f"{new} new article{'s' * (new != 1)} from {len(report.feeds)} feed"
    head += "s" * (len(report.feeds) != 1)
    if report.build is not None:
        head += f"; the index holds {report.build.articles:,} articles"
    notes = [line for f in report.feeds if not f.failed for line in f.lines()]
    problems = [line for f in report.feeds if f.failed for line in f.lines()]
    return render.upload_result(head + ".", notes, problems, report.fetched_any)


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
