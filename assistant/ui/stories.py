"""What the Stories view does: list this day's and this week's stories, open one as its
timeline, open a sentence of the timeline in the reader, follow a story as a topic.

"This day" is the newest day of the indexed articles (up to today), "this week" the 7 days to
it: an index of last year's news still shows its last days. Stories are read from the index
the Assistant holds (its copies' outlets read once per build, as for answers); a list shows the
first TOP stories, a timeline the ledes of a story's newest POINTS articles, so that nothing
grows with the index but the server's reading.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import gradio as gr
import numpy as np

from assistant import follows
from assistant.chain import Assistant
from assistant.citations import Citation
from assistant.ui import reader, timeline
from index.errors import IndexProblem, NewsAssistantError
from index.filters import day_number
from index.stories import Point, Story, period, require
from index.stories import story as read_story
from index.stories import timeline as read_timeline

WEEK = 7  # days of "this week", the newest among them
TOP = 10  # stories a list shows
POINTS = 40  # newest articles a timeline shows
MAX_ID = 200  # characters of a story id, as a click sends it
Opened = tuple[Story, list[Point]]  # the story a session has open, and its timeline


def newest_day(published: np.ndarray, today: date) -> date | None:
    """The newest day among `published` (YYYYMMDD numbers, 0: undated) that is not after
    `today` (a wrong date in the future is not "this day"), or None."""
    dated = published[(published > 0) & (published <= day_number(today))]
    if not dated.size:
        return None
    n = int(dated.max())
    return date(n // 10000, n // 100 % 100, n % 100)


class Stories:
    """The Stories view's handlers, over the index an Assistant holds."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant

    def lists(self) -> str:
        """This day's and this week's stories, each list ranked by independent outlets."""
        try:
            with self.assistant.searcher() as searcher:
                require(searcher.index)
                day = newest_day(searcher.lexical.published_ts, date.today())
                if day is None:
                    return timeline.lists(None, None, [], [])
                first = day - timedelta(days=WEEK - 1)
                week = period(searcher.index, first, day)
        except IndexProblem as error:
            return timeline.notice(str(error))
        today = [s for s in week if any(a.published[:10] == str(day) for a in s.articles)]
        return timeline.lists(day, first, today[:TOP], week[:TOP])

    def open(self, event: gr.EventData) -> tuple[str, Opened | None]:
        """The clicked story (`event.story`: its id) with its timeline: (HTML, the open story)."""
        story_id = str(getattr(event, "story", "") or "").strip()[:MAX_ID]
        try:
            with self.assistant.searcher() as searcher:
                found = read_story(searcher.index, story_id) if story_id else None
                if found is None:
                    return timeline.notice("That story is no longer in the index."), None
                newest = replace(found, articles=found.articles[-POINTS:])
                points = read_timeline(searcher.index, newest)
        except IndexProblem as error:
            return timeline.notice(str(error)), None
        return self._shown(found, points), (found, points)

    def open_point(self, opened: Opened | None, event: gr.EventData) -> str:
        """The reader panel for the clicked sentence of the open story's timeline."""
        try:
            n = int(event.point)
            point = opened[1][n] if opened and n >= 0 else None
        except (AttributeError, IndexError, TypeError, ValueError):
            point = None
        if point is None:
            return reader.placeholder("That sentence is no longer in the open story.")
        item = point.article
        cited = Citation(
            n=n + 1,
            article_id=item.id,
            title=item.title,
            url="",
            published=item.published,
            source=item.outlet,
            text=point.sentence,
            start=point.start,
            end=point.end,
            also=item.carried_by,
        )
        try:
            found = self.assistant.article(item.id)
        except IndexProblem:
            found = None
        article, sentences = found or (None, [])
        return reader.panel(article, sentences, [cited], cited.n)

    def follow(self, opened: Opened | None) -> str:
        """Follow the open story's headline as a topic of the index (`assistant followed`), or
        stop following it when it is followed."""
        if opened is None:
            return timeline.notice("Open a story first.")
        found, points = opened
        try:
            if follows.unfollow(self.assistant.place, found.headline):
                note = f"No longer following “{found.headline}”."
            else:
                follows.follow(self.assistant.place, found.headline)
                note = (
                    f"Following “{found.headline}”: `assistant followed` lists what is new on it."
                )
        except NewsAssistantError as error:
            note = f"Not changed: {error}"
        return self._shown(found, points, note)

    def _shown(self, found: Story, points: list[Point], note: str = "") -> str:
        return timeline.story(
            found, points, self._followed(found.headline), note, min(POINTS, len(found.articles))
        )

    def _followed(self, topic: str) -> bool:
        try:
            return follows.following(self.assistant.place, topic)
        except NewsAssistantError:
            return False
