"""The chat UI (Gradio): the page, its handlers, and the HTML it shows.

`layout` builds the page, `handlers` answer its events (`stories`: the Stories tab's),
`render`, `reader` and `timeline` write its HTML, `uploads` and `worker` index added articles,
`login` guards it. Imported on first use, so that
the indexing worker process does not load Gradio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.ui.layout import build_app, launch
    from assistant.ui.login import parse_auth

__all__ = ["build_app", "launch", "parse_auth"]
_HOMES = {
    "build_app": "assistant.ui.layout",
    "launch": "assistant.ui.layout",
    "parse_auth": "assistant.ui.login",
}


def __getattr__(name: str) -> Any:
    """Import on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module 'assistant.ui' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_HOMES[name]), name)
