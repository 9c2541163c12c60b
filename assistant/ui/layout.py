"""The page (Gradio Blocks): the chat and the stories (two tabs) beside the reader; filters,
uploads and feeds in the sidebar."""

from __future__ import annotations

import os
from typing import Any

import gradio as gr

from assistant.chain import Assistant
from assistant.config import Settings
from assistant.ui import reader, render, timeline
from assistant.ui.handlers import ChatApp
from assistant.ui.login import Login, app_kwargs
from assistant.ui.theme import static, theme
from assistant.ui.worker import InThread, Worker

ANSWERS_AT_ONCE = 4  # answers written at the same time; more wait in Gradio's queue
LOOKS_AT_ONCE = 4  # status refreshes served at the same time
STORIES_AT_ONCE = 4  # lists, stories and their sentences read at the same time
TICK = 30.0  # seconds between a page's looks at the status line and the feed list


def _pick(event: gr.EventData) -> str:
    return str(getattr(event, "question", ""))[:2000]


def _sidebar() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """Date and source filters, the upload box and the feeds: ((since, until, sources, files,
    add, added), (address, follow, update, result, listing))."""
    with gr.Sidebar(label="Filters and articles", open=True, width=290, elem_id="na-side"):
        gr.HTML('<div class="na-side-title">Filters</div>')
        since = gr.Textbox(label="Since", placeholder="YYYY-MM-DD", max_lines=1)
        until = gr.Textbox(label="Until", placeholder="YYYY-MM-DD", max_lines=1)
        sources = gr.Dropdown(label="Sources", multiselect=True, info="Empty: all sources")
        gr.HTML(
            '<div class="na-side-title">Add articles</div>'
            '<div class="na-side-hint">.txt, .md, .html or .jsonl files</div>'
        )
        files = gr.File(
            file_count="multiple", type="filepath", height=130, show_label=False, elem_id="na-files"
        )
        add = gr.Button("Add to the index", elem_id="na-add")
        added = gr.HTML(elem_id="na-upload-result")
        feeds = _feeds()
    return (since, until, sources, files, add, added), feeds


def _feeds() -> tuple[Any, ...]:
    """Follow a feed, update now, the feeds followed: (address, follow, update, result, listing)."""
    gr.HTML(
        '<div class="na-side-title">Feeds</div>'
        '<div class="na-side-hint">An RSS, Atom or JSON feed, or a news site</div>'
    )
    with gr.Row(elem_id="na-follow-row", equal_height=True):
        address = gr.Textbox(
            show_label=False,
            placeholder="https://…/feed.xml",
            max_lines=1,
            scale=4,
            container=False,
            elem_id="na-feed-url",
        )
        follow = gr.Button("Follow", scale=0, min_width=72, elem_id="na-follow")
    update = gr.Button("Update now", size="sm", elem_id="na-update")
    result = gr.HTML(elem_id="na-feeds-result")
    listing = gr.HTML(elem_id="na-feeds", js_on_load=static("feeds.js"))
    return address, follow, update, result, listing


def _main() -> tuple[tuple[Any, ...], tuple[Any, ...], Any]:
    """The conversation and the stories, in tabs beside the reader: ((transcript, examples,
    question, ask), (tab, lists, story), reader)."""
    with gr.Row(elem_id="na-main", equal_height=False):
        with gr.Column(scale=6, min_width=420, elem_id="na-chat-col"), gr.Tabs(elem_id="na-tabs"):
            with gr.Tab("Chat", id="chat", elem_id="na-chat-tab"):
                chat = _chat()
            with gr.Tab("Stories", id="stories", elem_id="na-stories-tab") as tab:
                lists = gr.HTML(
                    timeline.notice("Reading the stories…"),
                    elem_id="na-stories",
                    js_on_load=static("stories.js"),
                )
                story = gr.HTML(
                    timeline.notice("Open a story to read its timeline."),
                    elem_id="na-story",
                    js_on_load=static("story.js"),
                )
        with gr.Column(scale=5, min_width=360, elem_id="na-reader-col"):
            panel = gr.HTML(
                reader.placeholder(), elem_id="na-reader", js_on_load=static("reader.js")
            )
    return chat, (tab, lists, story), panel


def _chat() -> tuple[Any, ...]:
    """The conversation and the question box: (transcript, examples, question, ask)."""
    transcript = gr.HTML(
        render.transcript([]), elem_id="na-transcript", js_on_load=static("transcript.js")
    )
    examples = gr.HTML(elem_id="na-examples", js_on_load=static("examples.js"))
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
        ask = gr.Button("Ask", variant="primary", scale=0, min_width=80, elem_id="na-ask")
    return transcript, examples, question, ask


def _header(app: ChatApp) -> tuple[Any, Any]:
    """Brand, status line and the new-chat button: (status, new)."""
    with gr.Row(elem_id="na-header"):
        gr.HTML(
            '<div class="na-brand"><span class="na-logo">❝</span>News Assistant'
            "<small>Answers quote the exact sentences of your articles</small></div>",
            elem_id="na-brand",
        )
        status = gr.HTML(app.status(), elem_id="na-status")
        new = gr.Button("New chat", size="md", elem_id="na-new", scale=0, min_width=110)
    return status, new


def _ask_events(
    app: ChatApp,
    conversation: Any,
    filters: list[Any],
    transcript: Any,
    examples: Any,
    question: Any,
    ask: Any,
) -> None:
    """Enter, the Ask button and an example question each stream an answer into the chat."""
    chat: dict[str, Any] = {
        "fn": app.chat,
        "inputs": [question, conversation, *filters],
        "outputs": [transcript, conversation, question],
        "show_progress": "hidden",
        "concurrency_id": "answer",
        "concurrency_limit": ANSWERS_AT_ONCE,
    }
    question.submit(api_name="chat", api_visibility="undocumented", **chat)
    ask.click(api_visibility="private", **chat)
    examples.click(_pick, None, question, api_visibility="private", queue=False).then(
        api_visibility="private", **chat
    )


def _feed_events(
    app: ChatApp, feeds: tuple[Any, ...], status: Any, sources: Any, examples: Any
) -> None:
    """Follow (the button or Enter), Update now and each feed's Remove: one index job at a
    time, with the uploads; answers do not wait for them."""
    address, follow, update, result, listing = feeds
    job: dict[str, Any] = {
        "show_progress_on": result,
        "concurrency_id": "index",
        "concurrency_limit": 1,
    }
    following: dict[str, Any] = {
        "fn": app.follow,
        "inputs": [address],
        "outputs": [result, listing, address, status],
        **job,
    }
    follow.click(api_name="follow", api_visibility="undocumented", **following)
    address.submit(api_visibility="private", **following)
    refreshed = [result, listing, status, sources, examples]
    update.click(
        app.update_now, None, refreshed, api_name="update", api_visibility="undocumented", **job
    )
    listing.click(app.unfollow, None, refreshed, api_visibility="private", **job)


def _story_events(app: ChatApp, stories: tuple[Any, ...], panel: Any) -> None:
    """The Stories tab reads the lists when it is shown; a story opens below them, its
    sentences in the reader; Follow follows the open story."""
    tab, lists, story = stories
    opened = gr.State(None)  # this session's open story and its timeline
    quiet: dict[str, Any] = {
        "api_visibility": "private",
        "show_progress": "hidden",
        "concurrency_id": "stories",
        "concurrency_limit": STORIES_AT_ONCE,
    }
    tab.select(app.stories.lists, None, lists, **quiet)
    lists.click(app.stories.open, None, [story, opened], **quiet)
    story.click(app.stories.open_point, [opened], panel, **quiet)
    story.follow(app.stories.follow, [opened], story, **quiet)


def build_app(
    settings: Settings,
    assistant: Assistant | None = None,
    worker: Worker | InThread | None = None,
    *,
    update_every: float = 0.0,
    allow_private: bool | None = None,
) -> gr.Blocks:
    """The page over `settings` (its index, model and uploads folder beside the index).

    `assistant` and `worker` default to the cached Assistant and the process's index worker.
    `update_every` (seconds): fetch the feeds that are due now and then at that interval, in
    the worker. `allow_private`: feeds may be fetched from private and loopback addresses (by
    default, as the CLI: with a folder index, not with a Chroma server).
    """
    app = ChatApp(settings, assistant, worker, allow_private=allow_private)
    with gr.Blocks(title="News Assistant", analytics_enabled=False, fill_width=True) as demo:
        conversation = gr.State([])  # this session's exchanges, each with its Answer
        status, new = _header(app)
        (since, until, sources, files, add, added), feeds = _sidebar()
        (transcript, examples, question, ask), stories, panel = _main()
        _ask_events(app, conversation, [since, until, sources], transcript, examples, question, ask)
        _story_events(app, stories, panel)
        transcript.click(
            app.open_citation,
            [conversation],
            panel,
            api_visibility="private",
            show_progress="hidden",
        )
        new.click(
            app.new_chat,
            None,
            [transcript, conversation, question, panel],
            api_visibility="private",
        )
        add.click(
            app.add_articles,
            [files],
            [added, status, sources, examples],
            api_name="upload",
            api_visibility="undocumented",
            show_progress_on=added,
            concurrency_id="index",  # one build at a time; answers do not wait for it
            concurrency_limit=1,
        ).then(lambda: None, None, files, api_visibility="private")
        _feed_events(app, feeds, status, sources, examples)
        demo.load(app.refresh, None, [status, sources, examples], api_visibility="private")
        listing = feeds[-1]
        demo.load(app.feeds_panel, None, listing, api_visibility="private")
        gr.Timer(TICK).tick(
            app.tick,
            None,
            [status, listing],
            api_name="status",
            api_visibility="undocumented",
            show_progress="hidden",
            concurrency_id="status",
            concurrency_limit=LOOKS_AT_ONCE,
        )
        gr.api(app.ask, api_name="ask", concurrency_id="answer", concurrency_limit=ANSWERS_AT_ONCE)
    if update_every:
        app.start_updates(update_every)
    return demo


def launch(
    demo: gr.Blocks,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: tuple[str, str] | None = None,
    block: bool = True,
) -> str:
    """Serve the page offline (system fonts, no analytics); returns its local URL.

    With `auth` (user, password) a login is asked for, and failed logins are slowed down.
    """
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    demo.queue(default_concurrency_limit=1)
    _, url, _ = demo.launch(
        server_name=host,
        server_port=port,
        auth=Login(*auth).attempt if auth else None,  # type: ignore[arg-type]  # awaited
        app_kwargs=app_kwargs() if auth else None,  # tells the login who is trying
        prevent_thread_lock=not block,
        theme=theme(),
        css=static("style.css"),
        footer_links=["api", "settings"],
        max_file_size="50mb",
        auth_message="Sign in to News Assistant" if auth else None,
        quiet=not block,
    )
    return str(url)
