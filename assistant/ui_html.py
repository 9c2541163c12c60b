"""HTML for the chat transcript, the answer's sources and the reader panel; all text escaped.

Articles, titles and URLs are untrusted: every piece of text goes through `esc` and only
http(s) URLs become links. The markup is rendered as plain HTML (no Markdown, no templates).
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from assistant.citations import MARKER
from index.load import Article
from index.sentences import Sentence

Turn = Mapping[str, Any]  # {"role", "content", "kind", "answer"} as kept in the session state
_SPACE_BEFORE_MARKER = re.compile(r"\s+(?=\[\d{1,3}\])")
SHOWN_QUESTION_CHARS = 600


def esc(text: object) -> str:
    """Text as inert HTML, quotes included so that it is safe inside attributes too."""
    return html.escape(str(text), quote=True)


def safe_url(url: str) -> str:
    """The URL when it is an absolute http(s) link, else ""."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


def nice_date(iso: str) -> str:
    """2024-02-16 -> 16 Feb 2024 (unknown dates as given)."""
    try:
        return datetime.strptime(iso[:10], "%Y-%m-%d").strftime("%-d %b %Y")
    except ValueError:
        return iso


def _link(url: str, label: str) -> str:
    href = safe_url(url)
    if not href:
        return ""
    return (
        f'<a class="na-link" href="{esc(href)}" target="_blank" '
        f'rel="noopener noreferrer nofollow">{esc(label)}</a>'
    )


def _cite(turn: int, n: int, title: str = "") -> str:
    tip = f"Source {n}: {title}" if title else f"Source {n}"
    return (
        f'<button type="button" class="na-cite" data-turn="{turn}" data-cite="{n}" '
        f'title="{esc(tip)}" aria-label="Open source {n} in the reader">{n}</button>'
    )


def answer_text(text: str, turn: int, citations: Sequence[Mapping[str, Any]]) -> str:
    """The answer with each valid `[n]` as a clickable marker (pending ones while drafting)."""
    text = _SPACE_BEFORE_MARKER.sub("", text)
    out, pos = [], 0
    for m in MARKER.finditer(text):
        out.append(esc(text[pos : m.start()]))
        n = int(m.group(1))
        if 0 < n <= len(citations):
            out.append(_cite(turn, n, str(citations[n - 1].get("title", ""))))
        else:
            out.append(f'<span class="na-cite na-pending">{n}</span>')
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def sources_list(turn: int, citations: Sequence[Mapping[str, Any]]) -> str:
    """One line per cited article: its markers, title, source, date and original link."""
    articles: dict[str, list[Mapping[str, Any]]] = {}
    for c in citations:
        articles.setdefault(str(c["article_id"]), []).append(c)
    items = []
    for cites in articles.values():
        first = cites[0]
        meta = " · ".join(
            esc(x) for x in (first.get("source"), nice_date(str(first.get("published", "")))) if x
        )
        meta += _link(str(first.get("url", "")), "Original ↗")
        items.append(
            '<li class="na-source">'
            f'<span class="na-source-cites">{"".join(_cite(turn, c["n"]) for c in cites)}</span>'
            f'<span><span class="na-source-title">{esc(first.get("title") or "Untitled")}</span>'
            f'<span class="na-source-meta">{meta}</span></span></li>'
        )
    head = '<div class="na-sources-head">Sources</div>'
    return f'<div class="na-sources">{head}<ul>{"".join(items)}</ul></div>'


def _message(turn: int, item: Turn) -> str:
    kind = item.get("kind", "answer")
    if item["role"] == "user":
        question = str(item["content"])
        if len(question) > SHOWN_QUESTION_CHARS:
            question = question[:SHOWN_QUESTION_CHARS] + "…"
        return f'<div class="na-msg na-user"><div class="na-bubble">{esc(question)}</div></div>'
    if kind == "draft":
        body = answer_text(str(item["content"]), turn, ())
        return (
            f'<div class="na-msg na-bot na-draft"><div class="na-answer">{body}'
            '<span class="na-typing" aria-label="writing"><i></i><i></i><i></i></span>'
            "</div></div>"
        )
    if kind in ("not_covered", "error"):
        icon = "∅" if kind == "not_covered" else "?"
        return (
            f'<div class="na-msg na-bot na-{kind.replace("_", "-")}">'
            f'<div class="na-notice"><span class="na-notice-icon">{icon}</span>'
            f"<span>{esc(item['content'])}</span></div></div>"
        )
    cites = (item.get("answer") or {}).get("citations") or []
    sources = sources_list(turn, cites) if cites else ""
    return (
        f'<div class="na-msg na-bot" data-turn="{turn}">'
        f'<div class="na-answer">{answer_text(str(item["content"]), turn, cites)}</div>'
        f"{sources}</div>"
    )


def transcript(turns: Sequence[Turn]) -> str:
    """The whole conversation of one session."""
    if not turns:
        return (
            '<div class="na-empty"><div class="na-empty-title">Ask the news</div>'
            "<p>Answers are written from the indexed articles only. Every statement carries a "
            "numbered marker: click it to read the source sentence in its article.</p></div>"
        )
    return (
        '<div class="na-thread">'
        + "".join(_message(i, t) for i, t in enumerate(turns))
        + ("</div>")
    )


def examples(questions: Sequence[str]) -> str:
    """Example questions as chips."""
    if not questions:
        return ""
    chips = "".join(
        f'<button type="button" class="na-chip" data-question="{esc(q)}">{esc(q)}</button>'
        for q in questions
    )
    return f'<div class="na-examples"><span class="na-examples-label">Try</span>{chips}</div>'


def reader_placeholder(message: str = "") -> str:
    """The reader panel before a marker is clicked."""
    text = message or (
        "Click a numbered marker in an answer to read the cited article here, "
        "with the cited sentences highlighted."
    )
    return f'<div class="na-reader-empty"><div class="na-reader-icon">¶</div>{esc(text)}</div>'


def _spans(
    text: str, sentences: Sequence[Sentence], cites: Sequence[Mapping[str, Any]], focus: int
) -> str:
    """The article text with every sentence in a span; cited ones marked, `focus` strongest."""
    bounds = [(s.start, s.end) for s in sentences] or [(0, len(text))]
    out, pos = [], 0
    for start, end in bounds:
        if start < pos or end > len(text):
            continue
        out.append(esc(text[pos:start]))
        hits = [c for c in cites if c["start"] < end and c["end"] > start]
        body = esc(text[start:end])
        if not hits:
            out.append(f'<span class="na-s">{body}</span>')
        else:
            numbers = sorted({int(c["n"]) for c in hits})
            strong = focus in numbers
            tags = "".join(f'<sup class="na-mark-n">{n}</sup>' for n in numbers)
            focus_attrs = ' id="na-focus"' if strong else ""
            classes = "na-s na-cited na-focus" if strong else "na-s na-cited"
            out.append(
                f'<mark class="{classes}"{focus_attrs} data-cites="{" ".join(map(str, numbers))}">'
                f"{body}{tags}</mark>"
            )
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)


def _relocated(text: str, cites: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Citations whose offsets no longer match the article (it changed) found again by text."""
    found = []
    for c in cites:
        start, end, quote = int(c["start"]), int(c["end"]), str(c["text"])
        if text[start:end] != quote:
            start = text.find(quote)
            end = start + len(quote)
        if start >= 0:
            found.append({**c, "start": start, "end": end})
    return found


def reader(
    article: Article | None,
    sentences: Sequence[Sentence],
    cites: Sequence[Mapping[str, Any]],
    focus: int,
) -> str:
    """The cited article with its cited sentences marked and the clicked one as `#na-focus`."""
    nonce = uuid.uuid4().hex[:8]  # a new value each time, so the panel scrolls on every click
    if article is None:
        quote = next((c for c in cites if c["n"] == focus), None)
        shown = f'<blockquote id="na-focus">{esc(quote["text"])}</blockquote>' if quote else ""
        return (
            f'<div class="na-reader-doc" data-open="{nonce}"><p class="na-reader-note">'
            f"This article is no longer in the index. The cited sentence was:</p>{shown}</div>"
        )
    meta = " · ".join(esc(x) for x in (article.source, nice_date(article.published)) if x)
    link = _link(article.url, "Read the original ↗")
    return (
        f'<article class="na-reader-doc" data-open="{nonce}" data-article="{esc(article.id)}">'
        f'<header class="na-reader-head"><div class="na-reader-meta">{meta}</div>'
        f'<h2 class="na-reader-title">{esc(article.title or "Untitled")}</h2>{link}</header>'
        f'<div class="na-reader-body">'
        f"{_spans(article.text, sentences, _relocated(article.text, cites), focus)}</div>"
        "</article>"
    )


def nice_time(stamp: str) -> str:
    """An ISO time stamp as 16 Feb 2024, 08:31 (unparseable ones as given)."""
    try:
        return datetime.fromisoformat(stamp).strftime("%-d %b %Y, %H:%M")
    except ValueError:
        return stamp


def status(manifest: Mapping[str, Any] | None, writer: str) -> str:
    """Articles, sentences, build time and the answer writer, as one line."""
    pill = f'<span class="na-pill">LLM: {esc(writer)}</span>'
    if manifest is None:
        return f'<div class="na-status">No articles indexed yet · {pill}</div>'
    articles, sentences = int(manifest.get("articles", 0)), int(manifest.get("sentences", 0))
    built = nice_time(str(manifest.get("built_at", "")))
    return (
        f'<div class="na-status"><b>{articles:,}</b> article{"s" * (articles != 1)} · '
        f"<b>{sentences:,}</b> sentences · indexed {esc(built)} · {pill}</div>"
    )


def upload_result(head: str, problems: Sequence[str], ok: bool) -> str:
    """What an upload did, then one line per file (or JSONL line) that was skipped."""
    items = "".join(f"<li>{esc(p)}</li>" for p in problems)
    listing = f'<ul class="na-upload-bad">{items}</ul>' if items else ""
    tone = "na-upload-ok" if ok else "na-upload-bad"
    return f'<div class="na-upload-result"><div class="{tone}">{esc(head)}</div>{listing}</div>'
