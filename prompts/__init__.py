"""Prompt templates are data files here; `render` fills them strictly."""

from __future__ import annotations

from functools import cache
from importlib import resources

import jinja2
from jinja2 import meta


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )


@cache
def source(name: str) -> str:
    """The raw text of prompts/<name>.md."""
    return resources.files(__package__).joinpath(f"{name}.md").read_text(encoding="utf-8")


def variables(name: str) -> set[str]:
    """The variables a template uses."""
    return set(meta.find_undeclared_variables(_environment().parse(source(name))))


def render(name: str, **values: object) -> str:
    """Fill prompts/<name>.md; a missing or unexpected variable fails loudly."""
    wanted = variables(name)
    if missing := wanted - values.keys():
        raise KeyError(f"prompt {name!r} needs {sorted(missing)}")
    if extra := values.keys() - wanted:
        raise KeyError(f"prompt {name!r} does not use {sorted(extra)}")
    return _environment().from_string(source(name)).render(**values).strip()


def names() -> list[str]:
    """Every prompt shipped."""
    files = resources.files(__package__).iterdir()
    return sorted(f.name[:-3] for f in files if f.name.endswith(".md"))
