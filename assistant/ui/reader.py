"""HTML of the reader panel: a cited article with its cited sentences marked; all text escaped."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace

from assistant.citations import Citation
from assistant.ui.render import esc, link, nice_date
from index.load import Article
from index.sentences import Sentence


def placeholder(message: str = "") -> str:
    """The reader panel before a marker is clicked (or when the source is gone)."""
    text = message or (
        "Click a numbered marker in an answer to read the cited article here, "
        "with the cited sentences highlighted."
    )
    return f'<div class="na-reader-empty"><div class="na-reader-icon">¶</div>{esc(text)}</div>'


def _sentence(text: str, start: int, end: int, cites: Sequence[Citation], focus: int) -> str:
    """One sentence of the article: plain, marked when cited, `#na-focus` when clicked."""
    body = esc(text[start:end])
    numbers = sorted({c.n for c in cites if c.start < end and c.end > start})
    if not numbers:
        return f'<span class="na-s">{body}</span>'
    tags = "".join(f'<sup class="na-mark-n">{n}</sup>' for n in numbers)
    strong = focus in numbers
    classes = "na-s na-cited na-focus" if strong else "na-s na-cited"
    focus_id = ' id="na-focus"' if strong else ""
    return (
        f'<mark class="{classes}"{focus_id} data-cites="{" ".join(map(str, numbers))}">'
        f"{body}{tags}</mark>"
    )


def marked_text(
    text: str, sentences: Sequence[Sentence], cites: Sequence[Citation], focus: int
) -> str:
    """The article text with every sentence in a span; cited ones marked, `focus` strongest."""
    bounds = [(s.start, s.end) for s in sentences] or [(0, len(text))]
    out, pos = [], 0
    for start, end in bounds:
        if start < pos or end > len(text):
            continue
        out.append(esc(text[pos:start]))
        out.append(_sentence(text, start, end, cites, focus))
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)


def relocated(text: str, cites: Sequence[Citation]) -> list[Citation]:
    """Citations whose offsets no longer match the article (it changed) found again by text."""
    found = []
    for c in cites:
        start = c.start if text[c.start : c.end] == c.text else text.find(c.text)
        if start >= 0:
            found.append(replace(c, start=start, end=start + len(c.text)))
    return found


def panel(
    article: Article | None,
    sentences: Sequence[Sentence],
    cites: Sequence[Citation],
    focus: int,
) -> str:
    """The cited article with its cited sentences marked and the clicked one as `#na-focus`.

    `cites` are the answer's citations of this article; `focus` is the clicked marker.
    """
    nonce = uuid.uuid4().hex[:8]  # a new value each time, so the panel scrolls on every click
    if article is None:
        quote = next((c for c in cites if c.n == focus), None)
        shown = f'<blockquote id="na-focus">{esc(quote.text)}</blockquote>' if quote else ""
        return (
            f'<div class="na-reader-doc" data-open="{nonce}"><p class="na-reader-note">'
            f"This article is no longer in the index. The cited sentence was:</p>{shown}</div>"
        )
    meta = " · ".join(esc(x) for x in (article.source, nice_date(article.published)) if x)
    body = marked_text(article.text, sentences, relocated(article.text, cites), focus)
    return (
        f'<article class="na-reader-doc" data-open="{nonce}" data-article="{esc(article.id)}">'
        f'<header class="na-reader-head"><div class="na-reader-meta">{meta}</div>'
        f'<h2 class="na-reader-title">{esc(article.title or "Untitled")}</h2>'
        f"{link(article.url, 'Read the original ↗')}</header>"
        f'<div class="na-reader-body">{body}</div></article>'
    )
