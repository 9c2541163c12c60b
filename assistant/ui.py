"""Gradio Blocks over the assistant: streaming cited chat, reader panel, filters and uploads."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gradio as gr

from assistant import ui_assets, ui_html
from assistant.ui_chat import ChatApp

__all__ = ["ChatApp", "build_app", "launch", "parse_auth"]


def _pick(event: gr.EventData) -> str:
    return str(getattr(event, "question", ""))[:2000]


def _sidebar() -> tuple[Any, ...]:
    """Date and source filters; the upload box: (since, until, sources, files, add, added)."""
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
            file_count="multiple", type="filepath", height=130, show_label=False, elem_id="na-files"
        )
        add = gr.Button("Add to the index", elem_id="na-add")
        added = gr.HTML(elem_id="na-upload-result")
    return since, until, sources, files, add, added


def _chat_and_reader() -> tuple[Any, ...]:
    """The conversation beside the reader: (transcript, examples, question, ask, reader)."""
    with gr.Row(elem_id="na-main", equal_height=False):
        with gr.Column(scale=6, min_width=420, elem_id="na-chat-col"):
            transcript = gr.HTML(
                ui_html.transcript([]), elem_id="na-transcript", js_on_load=ui_assets.TRANSCRIPT_JS
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
                ask = gr.Button("Ask", variant="primary", scale=0, min_width=80, elem_id="na-ask")
        with gr.Column(scale=5, min_width=360, elem_id="na-reader-col"):
            reader = gr.HTML(
                ui_html.reader_placeholder(), elem_id="na-reader", js_on_load=ui_assets.READER_JS
            )
    return transcript, examples, question, ask, reader


def build_app(
    index_dir: Path | None = None, llm: str | None = None, uploads: Path | None = None
) -> gr.Blocks:
    """The page: chat and reader side by side; filters and uploads in the sidebar."""
    app = ChatApp(index_dir, llm, uploads)
    with gr.Blocks(title="News Assistant", analytics_enabled=False, fill_width=True) as demo:
        turns = gr.State([])  # this session's conversation
        with gr.Row(elem_id="na-header"):
            gr.HTML(
                '<div class="na-brand"><span class="na-logo">❝</span>News Assistant'
                "<small>Answers quote the exact sentences of your articles</small></div>",
                elem_id="na-brand",
            )
            status = gr.HTML(app.status(), elem_id="na-status")
            new = gr.Button("New chat", size="md", elem_id="na-new", scale=0, min_width=110)
        since, until, sources, files, add, added = _sidebar()
        transcript, examples, question, ask, reader = _chat_and_reader()
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
            show_progress_on=added,
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
        auth_message="Sign in to News Assistant" if auth else None,
        quiet=not block,
    )
    return str(url)
