"""The Stories view without a browser (its HTML and handlers) and "what's new since I last
asked" in the chat."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import pytest

from assistant import follows
from assistant.chain import Assistant
from assistant.config import Settings
from assistant.ui import stories, timeline
from assistant.ui.handlers import ChatApp
from assistant.ui.render import esc
from assistant.ui.session import Exchange, ask_again, since_last
from assistant.ui.stories import newest_day
from index.stories import Point, Story, StoryArticle
from tests.test_build import article_id, build, opened, write_articles
from tests.test_stories import FLOOD_1, FLOOD_2, FLOOD_3, FLOOD_COPY, LIBRARY, ROWING

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:gradio.queueing")  # pandas
EVIL = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
FLOOD = "Riverton flood as Ash River recedes and cleanup begins downtown"


def event(**data: object) -> gr.EventData:
    return gr.EventData(None, data)


# --- the HTML ------------------------------------------------------------------------------
def told(
    n: int, published: str, outlet: str, sentence: str, carried: tuple[str, ...] = ()
) -> Point:
    article = StoryArticle(f"a{n}", published, f"Title {n}", outlet, carried)
    return Point(article, sentence, 0, len(sentence))


def made(headline: str, *points: Point, independent: tuple[str, ...] = ("A",)) -> Story:
    articles = tuple(p.article for p in points)
    dated = sorted(a.published for a in articles)
    every = tuple(sorted({*independent, *(o for a in articles for o in a.carried_by)}))
    return Story(f"s-{articles[0].id}", headline, dated[0], dated[-1], articles, every, independent)


def test_the_lists_show_each_story_with_its_dates_and_independent_outlets() -> None:
    one = made("Bridge reopens", told(1, "2024-05-04", "A", "It reopened."))
    two = made(
        EVIL,
        told(2, "2024-05-01", "A", "One."),
        told(3, "2024-05-03", "B", "Two."),
        independent=("A", "B"),
    )
    shown = timeline.lists(date(2024, 5, 4), date(2024, 4, 28), [one], [two, one])
    day, week = shown.split('<section class="na-stories-week">')
    assert "This day · 4 May 2024" in day and "Bridge reopens" in day and EVIL not in day
    assert "This week · 28 Apr 2024 – 4 May 2024" in week
    assert re.findall(r'data-story="([^"]+)"', week) == [two.id, one.id]  # in the given order
    assert "1 May 2024 – 3 May 2024 · <b" in week and "2 independent outlets · 2 articles" in week
    assert "4 May 2024 · <b" in day and "1 independent outlet · 1 article" in day
    assert "<script" not in shown and esc(EVIL) in week
    empty = timeline.lists(date(2024, 5, 4), date(2024, 4, 28), [], [])
    assert empty.count("No stories.") == 2
    assert "No dated articles yet" in timeline.lists(None, None, [], [])


def test_a_story_shows_its_timeline_outlets_and_follow_button() -> None:
    points = [
        told(1, "2024-05-02", "Riverton Times", "The river burst its banks."),
        told(2, "2024-05-02", EVIL, "Hundreds were evacuated.", ("Harbor Gazette",)),
        told(3, "2024-05-03", "Riverton Times", "The river fell back."),
    ]
    found = made("Riverton flood", *points, independent=("Riverton Times", "Valley Post"))
    shown = timeline.story(found, points, followed=False)
    assert "2 May 2024 – 3 May 2024" in shown and "2 independent outlets · 3 articles" in shown
    assert "Reported by Riverton Times, Valley Post; also carried by Harbor Gazette" in shown
    texts = re.findall(r'data-point="(\d+)"[^>]*>([^<]*)</button>', shown)
    assert texts == [
        ("0", "The river burst its banks."),
        ("1", "Hundreds were evacuated."),
        ("2", "The river fell back."),
    ]
    assert "3 May 2024 · Riverton Times" in shown
    wired = told(4, "2024-05-03", "Valley Post", "Crews cleared mud.")
    wired = replace(wired, article=replace(wired.article, wire="The Associated Press"))
    assert "3 May 2024 · Valley Post (The Associated Press story)" in timeline.story(
        made("Riverton flood", wired), [wired], followed=False
    )
    assert f"2 May 2024 · {esc(EVIL)} (also carried by Harbor Gazette)" in shown
    assert "<script" not in shown
    assert 'data-follow="1"' in shown and ">Follow</button>" in shown
    assert "The newest" not in shown  # every article is on the timeline
    following = timeline.story(found, points[1:], followed=True, note="Following it.", read=2)
    assert 'aria-pressed="true"' in following and ">Unfollow</button>" in following
    assert "Following it." in following and "The newest 2 of its 3 articles." in following


def test_this_day_is_the_newest_dated_day_up_to_today() -> None:
    stamps = np.array([0, 20240502, 20240504, 20990101, 20240503])
    assert newest_day(stamps, date(2026, 1, 1)) == date(2024, 5, 4)  # 2099 is a wrong date
    assert newest_day(stamps, date(2024, 5, 3)) == date(2024, 5, 3)
    assert newest_day(np.array([0, 0]), date(2026, 1, 1)) is None


# --- the handlers over a real index --------------------------------------------------------
@pytest.fixture(scope="module")
def flood(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> tuple[Path, ChatApp]:
    """The flood's first day, then its second day, a copy of one report and a rowing story."""
    tmp = tmp_path_factory.mktemp("stories")
    src, index_dir = tmp / "src", tmp / "index"
    write_articles(src, {"flood-1.md": FLOOD_1, "flood-2.md": FLOOD_2, "library.md": LIBRARY})
    build(src, index_dir, embedder)
    write_articles(src, {"flood-3.md": FLOOD_3, "copy.md": FLOOD_COPY, "rowing.md": ROWING})
    build(src, index_dir, embedder)
    return src, ChatApp(Settings.from_env(index_dir=index_dir), Assistant(index_dir, embedder))


def flood_story(app: ChatApp) -> tuple[str, Any]:
    """The flood story opened: (its HTML, the open story)."""
    ids = re.findall(r'data-story="([^"]+)"', app.stories.lists())
    return app.stories.open(event(story=ids[1]))  # the day's one story first, then the week's


def test_the_lists_are_the_newest_day_and_its_week(flood: tuple[Path, ChatApp]) -> None:
    _, app = flood
    shown = app.stories.lists()
    day, week = shown.split('<section class="na-stories-week">')
    assert "This day · 4 May 2024" in day
    assert re.findall(r'class="na-story-headline">([^<]*)<', day) == [
        "Rowing club wins the regional cup for the third year"
    ]
    assert "This week · 28 Apr 2024 – 4 May 2024" in week
    headlines = re.findall(r'class="na-story-headline">([^<]*)<', week)
    assert headlines[0] == FLOOD  # two independent outlets first
    assert sorted(headlines[1:]) == [
        "City library extends its opening hours",
        "Rowing club wins the regional cup for the third year",
    ]
    assert "2 May 2024 – 3 May 2024 · <b" in week and "2 independent outlets · 3 articles" in week


def test_opening_a_story_shows_its_ledes_oldest_first(flood: tuple[Path, ChatApp]) -> None:
    src, app = flood
    shown, (found, points) = flood_story(app)
    assert found.headline == FLOOD and "2 independent outlets · 3 articles" in shown
    assert "Reported by Riverton Times, Valley Post; also carried by Harbor Gazette" in shown
    assert [p.article.id for p in points][-1] == article_id(src / "flood-3.md")
    texts = re.findall(r'data-point="\d+"[^>]*>([^<]*)</button>', shown)
    assert texts[-1].startswith("The Ash River fell back below its banks in Riverton on Friday")
    assert len(texts) == 3 and any(t.startswith("Hundreds of people were evacuated") for t in texts)
    assert "Valley Post (also carried by Harbor Gazette)" in shown
    for bad in ({"story": "nope"}, {"story": ""}, {}):
        html, state = app.stories.open(event(**bad))
        assert state is None and "no longer in the index" in html


def test_a_sentence_of_the_timeline_opens_in_the_reader(flood: tuple[Path, ChatApp]) -> None:
    _, app = flood
    _, opened_story = flood_story(app)
    panel = app.stories.open_point(opened_story, event(point=2))
    focus = re.search(r'id="na-focus"[^>]*>(.*?)<sup', panel)
    assert focus and focus.group(1).startswith("The Ash River fell back below its banks")
    assert f'class="na-reader-title">{FLOOD}</h2>' in panel
    for bad in ({"point": 3}, {"point": -1}, {"point": "x"}, {}):
        assert "na-reader-empty" in app.stories.open_point(opened_story, event(**bad))
    assert "na-reader-empty" in app.stories.open_point(None, event(point=0))


def test_follow_keeps_the_story_as_a_topic_and_unfollow_drops_it(
    flood: tuple[Path, ChatApp],
) -> None:
    _, app = flood
    assert "Open a story first" in app.stories.follow(None)
    shown, opened_story = flood_story(app)
    assert ">Follow</button>" in shown
    followed = app.stories.follow(opened_story)
    assert [t.topic for t in follows.read(app.assistant.place)] == [FLOOD]
    assert ">Unfollow</button>" in followed and f"Following “{FLOOD}”" in followed
    again, opened_again = flood_story(app)
    assert ">Unfollow</button>" in again  # opened later: still followed
    stopped = app.stories.follow(opened_again)
    assert follows.read(app.assistant.place) == []
    assert ">Follow</button>" in stopped and f"No longer following “{FLOOD}”." in stopped


def test_an_index_built_before_stories_says_to_rebuild(tmp_path: Path, embedder: Any) -> None:
    write_articles(tmp_path / "src", {"rowing.md": ROWING})
    index_dir = tmp_path / "index"
    build(tmp_path / "src", index_dir, embedder)
    with opened(index_dir) as index:
        for segment in index.segments:
            segment.stories.delete(ids=segment.stories.get()["ids"])
    app = ChatApp(Settings.from_env(index_dir=index_dir), Assistant(index_dir, embedder))
    assert "built before stories: rebuild it" in app.stories.lists()


def test_a_long_story_shows_the_ledes_of_its_newest_articles(
    flood: tuple[Path, ChatApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    src, app = flood
    monkeypatch.setattr(stories, "POINTS", 2)
    shown, (found, points) = flood_story(app)
    assert len(found.articles) == 3 and len(points) == 2
    assert points[-1].article.id == article_id(src / "flood-3.md")
    assert "The newest 2 of its 3 articles." in shown
    assert len(re.findall(r'data-point="\d+"', shown)) == 2


# --- what's new since I last asked ---------------------------------------------------------
AT = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
LATER = datetime(2026, 1, 5, 11, 0, tzinfo=UTC)
TODAY = date(2026, 1, 5)


def test_the_question_to_ask_again_is_the_subject_or_the_question() -> None:
    assert ask_again("What happened in Riverton?", TODAY) == "What's new on Riverton?"
    assert ask_again("Tell me about the Ash River flood", TODAY) == (
        "What's new on the Ash River flood?"
    )
    assert ask_again("How high did the water rise?", TODAY) == "How high did the water rise?"


def test_since_i_last_asked_finds_the_moment_of_the_last_question() -> None:
    chat = [
        Exchange("What happened in Riverton?", again="What's new on Riverton?", asked_at=AT),
        Exchange("How many rowers?", again="How many rowers?", asked_at=LATER),
        Exchange("Bad", notice="I can’t answer that as asked"),  # nothing shown: not a moment
    ]
    assert since_last("What happened in Riverton?", chat, TODAY) is None
    last = since_last("What's new since I last asked?", chat, TODAY)
    assert last is not None and (last.question, last.since) == ("How many rowers?", LATER)
    on = since_last("Anything new on riverton since we last checked?", chat, TODAY)
    assert on is not None and (on.question, on.since) == ("What's new on Riverton?", AT)
    never = since_last("What's new on the Kessel regatta since I last asked?", chat, TODAY)
    assert never is not None and (never.question, never.since) == (
        "What's new on the Kessel regatta?",
        None,
    )
    first = since_last("what's new since last time?", [], TODAY)
    assert first is not None and first.question == "" and first.since is None


@pytest.fixture
def first_day(tmp_path: Path, embedder: Any) -> tuple[Path, Path, ChatApp]:
    """An app over the flood's first day (and the library); the second day comes later."""
    src, index_dir = tmp_path / "src", tmp_path / "index"
    write_articles(src, {"flood-1.md": FLOOD_1, "flood-2.md": FLOOD_2, "library.md": LIBRARY})
    build(src, index_dir, embedder)
    app = ChatApp(Settings.from_env(index_dir=index_dir), Assistant(index_dir, embedder))
    return src, index_dir, app


def final(app: ChatApp, question: str, conversation: list[Exchange]) -> tuple[str, list]:
    *_, (transcript, after, box) = app.chat(question, conversation)
    assert box == ""
    return transcript, after


def test_whats_new_since_i_last_asked_quotes_only_later_articles(
    first_day: tuple[Path, Path, ChatApp], embedder: Any
) -> None:
    src, index_dir, app = first_day
    _, chat = final(app, "What happened in Riverton?", [])
    assert chat[0].answer.covered and chat[0].again == "What's new on Riverton?"
    asked = chat[0].asked_at
    assert asked is not None and asked <= datetime.now(UTC)
    time.sleep(1.1)  # the index keeps whole seconds
    write_articles(src, {"flood-3.md": FLOOD_3})
    build(src, index_dir, embedder)
    app.assistant.refresh()  # as after an upload
    transcript, chat = final(app, "What's new since I last asked?", chat)
    new = chat[1].answer
    assert new.covered and new.citations, new.text
    assert {c.article_id for c in new.citations} == {article_id(src / "flood-3.md")}
    assert "What&#x27;s new since I last asked?" in transcript  # as the user asked it
    _, chat = final(app, "What's new on Riverton since I last asked?", chat)
    nothing = chat[2].answer
    assert not nothing.covered and not nothing.citations
    assert nothing.text.startswith("Nothing new on Riverton since "), nothing.text


def test_whats_new_before_any_question_says_to_ask_first(
    first_day: tuple[Path, Path, ChatApp],
) -> None:
    _, _, app = first_day
    transcript, chat = final(app, "What's new since I last asked?", [])
    assert chat[0].answer is None and "no earlier question" in chat[0].notice
    assert "ask about something first" in transcript
