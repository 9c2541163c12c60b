"""The errors news-assistant raises on purpose. Each message says what is wrong and what to do;
the edges (the CLI, the chat, `answer()`'s callers) catch `NewsAssistantError` and show it in one
line. Anything else is a bug and shows as one."""

from __future__ import annotations


class NewsAssistantError(Exception):
    """Base of every error whose message is meant for the user."""


class SettingsError(NewsAssistantError, ValueError):
    """A setting (an ASSISTANT_* variable or its option) has a value that cannot work."""


class IndexProblem(NewsAssistantError):
    """The index cannot be used as asked; the message says what to do."""


class IndexMissing(IndexProblem):
    """No index has been built at this location yet."""


class IndexMismatch(IndexProblem):
    """The index was built with other embedding or chunk settings."""


class IndexDamaged(IndexProblem):
    """The index's manifest or a segment it lists cannot be read; `--full` rebuilds it."""
