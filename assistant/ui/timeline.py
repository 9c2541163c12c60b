"""HTML of the Stories view: this day's and this week's stories, and a story's timeline (each
article's lede sentence, a button that opens it in the reader). All text escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from assistant.ui.render import esc, nice_date
from index.stories import Point, Story


def notice(text: str) -> str:
    """A line in place of a list or a story (nothing yet, or why it cannot be read)."""
    return f'<div class="na-stories-empty">{esc(text)}</div>'


def counts(story: Story) -> str:
    """'2 independent outlets · 3 articles'."""
    outlets, articles = len(story.independent), len(story.articles)
    return (
        f"{outlets} independent outlet{'s' * (outlets != 1)} · "
        f"{articles} article{'s' * (articles != 1)}"
    )


def dates(story: Story) -> str:
    """'2 May 2024 – 3 May 2024', one date when it is one day, 'undated' when none."""
    first, last = story.first_seen, story.last_seen
    if not first:
        return "undated"
    return nice_date(first) if first == last else f"{nice_date(first)} – {nice_date(last)}"


def _item(story: Story) -> str:
    return (
        f'<li><button type="button" class="na-story-item" data-story="{esc(story.id)}">'
        f'<span class="na-story-headline">{esc(story.headline or "Untitled")}</span>'
        f'<span class="na-story-meta">{esc(dates(story))} · '
        f'<b class="na-story-counts">{esc(counts(story))}</b></span></button></li>'
    )


def _section(kind: str, head: str, stories: Sequence[Story]) -> str:
    items = "".join(map(_item, stories)) or '<li class="na-stories-none">No stories.</li>'
    return (
        f'<section class="na-stories-{kind}"><h3 class="na-stories-head">{esc(head)}</h3>'
        f'<ol class="na-story-list">{items}</ol></section>'
    )


def lists(
    day: date | None, first: date | None, today: Sequence[Story], week: Sequence[Story]
) -> str:
    """The stories of `day` (the index's newest) and of the week from `first` to it."""
    if day is None or first is None:
        return notice("No dated articles yet: their stories are listed here once indexed.")
    return (
        '<div class="na-stories">'
        + _section("day", f"This day · {nice_date(day.isoformat())}", today)
        + _section(
            "week",
            f"This week · {nice_date(first.isoformat())} – {nice_date(day.isoformat())}",
            week,
        )
        + "</div>"
    )


def _outlets(story: Story) -> str:
    """'Reported by A, B; also carried by C'."""
    own = {o.casefold() for o in story.independent}
    others = [o for o in story.outlets if o.casefold() not in own]
    line = f"Reported by {', '.join(story.independent)}" if story.independent else ""
    if others:
        line += f"{'; a' if line else 'A'}lso carried by {', '.join(others)}"
    return f'<div class="na-story-outlets">{esc(line)}</div>' if line else ""


def _point(n: int, point: Point) -> str:
    article = point.article
    meta = " · ".join(x for x in (nice_date(article.published), article.published_by) if x)
    if article.carried_by:
        meta += f" (also carried by {', '.join(article.carried_by)})"
    return (
        f'<li class="na-point"><div class="na-point-meta">{esc(meta)}</div>'
        f'<button type="button" class="na-point-text" data-point="{n}" '
        f'title="{esc(f"Open in the reader: {article.title}")}">{esc(point.sentence)}</button></li>'
    )


def story(
    found: Story, points: Sequence[Point], followed: bool, note: str = "", read: int = 0
) -> str:
    """A story: headline, dates, outlets, Follow (Unfollow when followed), and its timeline
    oldest first: `points`, the lede of each of its articles (of its newest `read` ones when
    `read` is fewer)."""
    follow = (
        '<button type="button" class="na-story-follow" data-follow="1" aria-pressed="true" '
        'title="Following this story: click to stop">Unfollow</button>'
        if followed
        else '<button type="button" class="na-story-follow" data-follow="1" aria-pressed="false" '
        'title="Follow this story as a topic of the index">Follow</button>'
    )
    total = len(found.articles)
    cut = f"The newest {read} of its {total} articles." if 0 < read < total else ""
    notes = "".join(f'<p class="na-story-note">{esc(text)}</p>' for text in (note, cut) if text)
    timeline = "".join(_point(n, p) for n, p in enumerate(points))
    return (
        f'<article class="na-story" data-story="{esc(found.id)}">'
        f'<header class="na-story-head"><div class="na-story-title-row">'
        f'<h3 class="na-story-title">{esc(found.headline or "Untitled")}</h3>{follow}</div>'
        f'<div class="na-story-meta">{esc(dates(found))} · '
        f'<b class="na-story-counts">{esc(counts(found))}</b></div>{_outlets(found)}{notes}'
        f'</header><ol class="na-timeline">{timeline}</ol></article>'
    )
