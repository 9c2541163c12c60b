"""The page's look: a Gradio theme on system fonts, and the stylesheet and scripts in static/."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

SANS = [
    "ui-sans-serif",
    "system-ui",
    "-apple-system",
    "Segoe UI",
    "Roboto",
    "Helvetica Neue",
    "Arial",
    "Noto Sans",
    "Liberation Sans",
    "sans-serif",
]
MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace"]


@cache
def static(name: str) -> str:
    """The text of a file in assistant/ui/static (style.css, transcript.js, ...)."""
    return (files("assistant.ui") / "static" / name).read_text(encoding="utf-8")


def theme() -> Any:
    """A calm theme on system fonts only (no web fonts are fetched)."""
    import gradio as gr

    return gr.themes.Base(
        primary_hue="indigo", neutral_hue="slate", radius_size="md", font=SANS, font_mono=MONO
    ).set(
        body_background_fill="#f6f7f9",
        block_title_text_weight="600",
        block_label_text_weight="600",
        button_primary_background_fill="#4f46e5",
        button_primary_background_fill_hover="#4338ca",
        button_primary_text_color="white",
    )
