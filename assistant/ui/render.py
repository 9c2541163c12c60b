"""HTML of the conversation: questions, answers with clickable markers, sources, check notes.

Articles, titles, URLs and what a model writes are untrusted: every piece of text goes
through `esc` and only http(s) URLs become links. The markup is plain HTML (no Markdown, no
templates). The reader panel is in `assistant.ui.reader`.
"""

from __future__ import annotations

import html
import re
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from assistant.citations import MARKER, Citation, marker_numbers
from assistant.result import Answer, Revision
from assistant.ui.session import Exchange
from index.manifest import Manifest

SHOWN_QUESTION_CHARS = 600
_SPACE_BEFORE_MARKER = re.compile(r"\s+(?=\[\d+\])")
_UNFINISHED_MARKER = re.compile(r"\[\d*$")  # "[1" while a model is still writing "[12]"
_ACTIONS = {"dropped": "removed", "re-cited": "re-cited"}


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


def link(url: str, label: str) -> str:
    """An inert link that opens in a new tab; "" unless the URL is http(s)."""
    href = safe_url(url)
    if not href:
        return ""
    return (
        f'<a class="na-link" href="{esc(href)}" target="_blank" '
        f'rel="noopener noreferrer nofollow">{esc(label)}</a>'
    )


def marker(turn: int, n: int, title: str = "") -> str:
    """The button for `[n]` of the answer to question `turn`."""
    tip = f"Source {n}: {title}" if title else f"Source {n}"
    return (
        f'<button type="button" class="na-cite" data-turn="{turn}" data-cite="{n}" '
        f'title="{esc(tip)}" aria-label="Open source {n} in the reader">{n}</button>'
    )


def answer_text(answer: Answer, turn: int) -> str:
    """The answer with each `[n]` that has its citation as a button, other numbers inert.

    A draft's markers number its citations by `Citation.n`, as a final answer's do, so a
    marker is clickable as soon as the model has written it.
    """
    text = _SPACE_BEFORE_MARKER.sub("", answer.text)
    if answer.draft:
        text = _UNFINISHED_MARKER.sub("", text)
    cited = {c.n: c for c in answer.citations}
    out, pos = [], 0
    for m in MARKER.finditer(text):
        out.append(esc(text[pos : m.start()]))
        (n,) = marker_numbers(m.group())  # a marker of 5,000 digits is 0: no source
        if n in cited:
            out.append(marker(turn, n, cited[n].title))
        else:
            out.append(f'<span class="na-cite na-pending">{esc(m.group(1))}</span>')
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def sources_list(turn: int, citations: Sequence[Citation]) -> str:
    """One line per cited article: its markers, title, source, date, the independent outlets
    that reported its point (a news brief's), the other outlets that carried it and the link."""
    if not citations:
        return ""
    articles: dict[str, list[Citation]] = {}
    for c in sorted(citations, key=lambda c: c.n):
        articles.setdefault(c.article_id, []).append(c)
    items = []
    for cites in articles.values():
        first = cites[0]
        reported = max((c.reported() for c in cites), key=len)  # its most widely reported point
        fields = (first.source, nice_date(first.published), reported, first.carried())
        meta = " · ".join(esc(x) for x in fields if x)
        meta += link(first.url, "Original ↗")
        items.append(
            '<li class="na-source">'
            f'<span class="na-source-cites">{"".join(marker(turn, c.n) for c in cites)}</span>'
            f'<span><span class="na-source-title">{esc(first.title or "Untitled")}</span>'
            f'<span class="na-source-meta">{meta}</span></span></li>'
        )
    head = '<div class="na-sources-head">Sources</div>'
    return f'<div class="na-sources">{head}<ul>{"".join(items)}</ul></div>'


def revision_note(revisions: Sequence[Revision]) -> str:
    """What the check did, e.g. "1 sentence removed: not supported by the sources"."""
    groups = Counter((r.action, r.reason) for r in revisions)
    notes = []
    for (action, reason), count in groups.items():
        done = _ACTIONS.get(action, action)
        head = f"{count} sentence{'s' * (count != 1)} {done}: {reason}"
        shown = "".join(
            f"<li>{esc(r.sentence)}</li>"
            for r in revisions
            if (r.action, r.reason) == (action, reason)
        )
        notes.append(f"<details><summary>{esc(head)}</summary><ul>{shown}</ul></details>")
    return f'<div class="na-revisions">{"".join(notes)}</div>' if notes else ""


def _notice(kind: str, text: str) -> str:
    icon = "∅" if kind == "not-covered" else "?"
    return (
        f'<div class="na-msg na-bot na-{kind}"><div class="na-notice">'
        f'<span class="na-notice-icon">{icon}</span><span>{esc(text)}</span></div></div>'
    )


def _reply(turn: int, answer: Answer) -> str:
    if not answer.covered:
        return _notice("not-covered", answer.text)
    typing = '<span class="na-typing" aria-label="writing"><i></i><i></i><i></i></span>'
    draft = " na-draft" if answer.draft else ""
    return (
        f'<div class="na-msg na-bot{draft}" data-turn="{turn}">'
        f'<div class="na-answer">{answer_text(answer, turn)}{typing if draft else ""}</div>'
        f"{sources_list(turn, answer.citations)}{revision_note(answer.revisions)}"
        f"{_answer_note(answer.note)}</div>"
    )


def _answer_note(note: str) -> str:
    """Why the model's answer is not shown (it failed, or none of it held): quoted instead."""
    return f'<div class="na-answer-note">{esc(note)}</div>' if note else ""


def _question(text: str) -> str:
    if len(text) > SHOWN_QUESTION_CHARS:
        text = text[:SHOWN_QUESTION_CHARS] + "…"
    return f'<div class="na-msg na-user"><div class="na-bubble">{esc(text)}</div></div>'


def exchange(turn: int, item: Exchange) -> str:
    """A question and what came back: an answer (a draft while written) or a notice."""
    if item.answer is not None:
        reply = _reply(turn, item.answer)
    elif item.notice:
        reply = _notice("error", item.notice)
    else:  # asked, nothing back yet
        reply = _reply(turn, Answer(item.question, "", draft=True))
    return _question(item.question) + reply


def transcript(conversation: Sequence[Exchange]) -> str:
    """The whole conversation of one session."""
    if not conversation:
        return (
            '<div class="na-empty"><div class="na-empty-title">Ask the news</div>'
            "<p>Answers are written from the indexed articles only. Every statement carries a "
            "numbered marker: click it to read the source sentence in its article.</p></div>"
        )
    body = "".join(exchange(i, item) for i, item in enumerate(conversation))
    return f'<div class="na-thread">{body}</div>'


def examples(questions: Sequence[str]) -> str:
    """Example questions as chips."""
    if not questions:
        return ""
    chips = "".join(
        f'<button type="button" class="na-chip" data-question="{esc(q)}">{esc(q)}</button>'
        for q in questions
    )
    return f'<div class="na-examples"><span class="na-examples-label">Try</span>{chips}</div>'


def nice_time(stamp: str) -> str:
    """An ISO time stamp as 16 Feb 2024, 08:31 (unparseable ones as given)."""
    try:
        return datetime.fromisoformat(stamp).strftime("%-d %b %Y, %H:%M")
    except ValueError:
        return stamp


def clock(epoch: float, now: float | None = None) -> str:
    """A moment as local 07:31, or 14 Mar, 07:31 when it is not today."""
    moment = time.localtime(epoch)
    today = time.localtime(time.time() if now is None else now)
    same_day = moment[:3] == today[:3]
    return time.strftime("%H:%M" if same_day else "%-d %b, %H:%M", moment)


def status(
    manifest: Manifest | None,
    writer: str,
    news: float | None = None,
    next_update: float | None = None,
) -> str:
    """Articles, sentences, build time, when the news was last fetched, when it is fetched next
    and what writes the answers, as one line.

    `news`: the latest fetch of the feeds the index follows (0: none fetched yet; None: it follows
    none). `next_update`: when the server fetches them next (0: now; None: not scheduled).
    """
    pill = f'<span class="na-pill">LLM: {esc(writer)}</span>'
    news_parts = []
    if news is not None:
        when = f"news updated {clock(news)}" if news else "news not updated yet"
        news_parts.append(f'<span class="na-news">{esc(when)}</span>')
    if next_update is not None:
        when = f"next update {clock(next_update)}" if next_update else "updating the news…"
        news_parts.append(f'<span class="na-next">{esc(when)}</span>')
    feeds = f'<span class="na-feeds-status">{" · ".join(news_parts)}</span>' if news_parts else ""
    if manifest is None:
        return f'<div class="na-status">No articles indexed yet · {pill}{feeds}</div>'
    articles, sentences = manifest.articles, manifest.sentences
    built = nice_time(manifest.built_at)
    return (
        f'<div class="na-status"><b>{articles:,}</b> article{"s" * (articles != 1)} · '
        f"<b>{sentences:,}</b> sentences · indexed {esc(built)} · {pill}{feeds}</div>"
    )


def feeds_list(rows: Sequence[dict[str, Any]]) -> str:
    """The feeds the index follows (`feedlist.as_row` of each), each with its Remove button.

    Names, URLs and results come from feeds and their servers: all escaped; a URL is a link
    only when it is http(s).
    """
    if not rows:
        return (
            '<div class="na-feeds-empty">No feeds yet: paste the address of an RSS, Atom or JSON '
            "feed, or of a news site that names its feed.</div>"
        )
    items = []
    for row in rows:
        fields = dict(row)
        name, url = str(fields.pop("name")), str(fields.pop("url"))
        shown_url = re.sub(r"^https?://", "", url)
        address = link(url, shown_url) or f'<span class="na-feed-url">{esc(url)}</span>'
        failing = bool(fields.get("errors in a row"))
        state = "".join(
            f'<div class="na-feed-field{" na-feed-bad" * (failing and key == "result")}">'
            f"<dt>{esc(key)}</dt> <dd>{esc(value)}</dd></div>"
            for key, value in fields.items()
        )
        items.append(
            f'<li class="na-feed" data-name="{esc(name)}"><div class="na-feed-head">'
            f'<span class="na-feed-name">{esc(name)}</span>'
            f'<button type="button" class="na-feed-remove" data-feed="{esc(name)}" '
            f'title="Stop following {esc(name)}; its articles leave the index">Remove</button>'
            f'</div><div class="na-feed-link">{address}</div><dl>{state}</dl></li>'
        )
    return f'<ul class="na-feeds">{"".join(items)}</ul>'


def upload_result(head: str, notes: Sequence[str], problems: Sequence[str], ok: bool) -> str:
    """What an upload did; then what to know (files replaced or kept); then what was skipped."""
    listed = [
        f'<ul class="{tone}">{"".join(f"<li>{esc(line)}</li>" for line in lines)}</ul>'
        for tone, lines in (("na-upload-notes", notes), ("na-upload-bad", problems))
        if lines
    ]
    head_html = f'<div class="{"na-upload-ok" if ok else "na-upload-bad"}">{esc(head)}</div>'
    return f'<div class="na-upload-result">{head_html}{"".join(listed)}</div>'
