"""Open questions ("What happened in X?"): their subject, the time they name, and the news brief
they get on a real index of articles written for these tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from assistant import answer
from assistant.brief import brief
from assistant.rank import RankedSentence
from assistant.search import RankedChunk
from assistant.subject import Subject, open_subject
from index.build import rebuild
from tests.test_answer import assert_offsets, write

ASKED = date(2024, 3, 13)


@pytest.mark.parametrize(
    "question, subject",
    [
        ("What happened in Avdiivka?", Subject("Avdiivka")),
        ("what happened to the Key Bridge", Subject("the Key Bridge")),
        ("What do we know about the AT&T outage?", Subject("the AT&T outage")),
        ("What's going on with Boeing?", Subject("Boeing")),
        ("What's going on between Iran and Israel?", Subject("Iran and Israel")),
        ("Tell me about Hurricane Helene", Subject("Hurricane Helene")),
        ("Latest on the port strike", Subject("the port strike")),
        ("What's the latest on Gaza?", Subject("Gaza")),
        ("Any news on the eclipse?", Subject("the eclipse")),
        (
            "What happened in Ukraine in 2022?",
            Subject("Ukraine", date(2022, 1, 1), date(2022, 12, 31)),
        ),
        # "Last March" asked in March 2024 is March 2023; "in May" asked in March is last May.
        ("What happened in Gaza last March?", Subject("Gaza", date(2023, 3, 1), date(2023, 3, 31))),
        (
            "What happened in Larkmoor in May?",
            Subject("Larkmoor", date(2023, 5, 1), date(2023, 5, 31)),
        ),
        (
            "What happened with the strike last week?",
            Subject("the strike", date(2024, 3, 6), ASKED),
        ),
        ("What happened yesterday?", None),  # no subject to search
        ("Tell me more about that.", None),  # a follow-up: the conversation's subject
        ("What's new with the Key Bridge?", Subject("the Key Bridge")),
        ("Who won the Super Bowl?", None),
        ("What new technology was made available to prisoners?", None),
        ("What is the capital of France?", None),
    ],
)
def test_the_subject_of_an_open_question(question: str, subject: Subject | None) -> None:
    assert open_subject(question, ASKED) == subject


LEDE_12 = (
    "Investigators said on Tuesday that a jammed spillway gate at the Esk dam caused the flood "
    "that swept through Larkmoor, and the dam's operator suspended its chief engineer."
)


@pytest.fixture(scope="module")
def larkmoor(tmp_path_factory: pytest.TempPathFactory, embedder: object) -> Path:
    """A story over several days in several papers, an old article, a later one, and an article
    about something else that "happened"."""
    folder = tmp_path_factory.mktemp("larkmoor")
    write(
        folder,
        "festival.md",
        "Larkmoor hosts its summer festival",
        "2022-08-01",
        "Larkmoor hosted its first summer music festival on Saturday, drawing 5,000 visitors "
        "to the riverside park.\nThe town plans to hold the festival every year.",
    )
    write(
        folder,
        "mill.md",
        "What happened to the Ashford mill",
        "2024-03-11",
        "What happened to the Ashford mill?\nThe Ashford mill burned down in 1998 after a "
        "lightning strike, and what happened next surprised the village.\nThe owners never "
        "rebuilt it, and the site is now a car park.",
    )
    write(
        folder,
        "flood-10.md",
        "Flooding hits Larkmoor",
        "2024-03-10",
        "Floodwaters from the river Esk swept through Larkmoor on Sunday, forcing 2,000 "
        "residents from their homes.\nWhat residents should know\nWhy did the river rise so "
        "fast?\nRescue crews in boats pulled 40 people from flooded houses in the old town.\n"
        "Here's what we know so far about the flood.\nThe town's only bridge was closed.",
        source="Esk Gazette",
    )
    write(
        folder,
        "flood-11.md",
        "Larkmoor residents count the cost of the flood",
        "2024-03-11",
        "Residents of Larkmoor returned on Monday to homes filled with mud after the Esk flood, "
        "and the council put the damage at 30 million pounds.\nTwo elderly residents died in the "
        "flood, police said.",
        source="Northern Post",
    )
    write(
        folder,
        "flood-12.md",
        "Dam gate blamed for Larkmoor flood",
        "2024-03-12",
        f"{LEDE_12}\nThe operator said it would pay for emergency housing for the families.",
        source="Esk Gazette",
    )
    write(
        folder,
        "flood-12-wire.md",
        "Larkmoor flood caused by dam gate",
        "2024-03-12",
        "Investigators said Tuesday that a jammed spillway gate at the Esk dam caused the flood "
        "that swept through Larkmoor, and the dam's operator suspended its chief engineer, "
        "officials said.\nThe river has since fallen back below its banks.",
        source="Wire Service",
    )
    write(
        folder,
        "rebuild.md",
        "Larkmoor rebuilds",
        "2024-03-20",
        "Larkmoor reopened its bridge on Wednesday after the flood, and shops in the old town "
        "began to reopen.",
    )
    index = folder / "index"
    rebuild([folder], index, embedder=embedder, progress=False)  # type: ignore[arg-type]
    return index


def test_the_brief_leads_with_the_newest_coverage(larkmoor: Path) -> None:
    result = answer("What happened in Larkmoor?", index_dir=larkmoor, as_of=ASKED)
    assert result.covered and len(result.text) <= 800, result.text
    first = result.citations[0]
    assert first.published == "2024-03-12" and "jammed spillway gate" in first.text, result.text
    # Then the developments, newest first, each day's date shown once.
    days = [c.published for c in result.citations]
    assert days[1:] == sorted(days[1:], reverse=True), result.text
    assert result.text.startswith("12 Mar 2024: ")
    assert any(line.startswith("10 Mar 2024: ") for line in result.text.split("\n"))
    assert_offsets(larkmoor, result)


def test_the_brief_quotes_no_heading_question_teaser_or_repeat(larkmoor: Path) -> None:
    result = answer("What happened in Larkmoor?", index_dir=larkmoor, as_of=ASKED)
    texts = [c.text for c in result.citations]
    assert all(not t.endswith("?") for t in texts), texts
    assert "What residents should know" not in texts
    assert not any(t.startswith("Here's what we know") for t in texts)
    # The wire copy restates the Gazette's lead: one of the two is quoted.
    assert sum("jammed spillway gate" in t for t in texts) == 1, texts


def test_the_brief_is_of_its_subject_and_of_the_days_up_to_the_question(larkmoor: Path) -> None:
    result = answer("What happened in Larkmoor?", index_dir=larkmoor, as_of=ASKED)
    articles = {c.title for c in result.citations}
    assert "What happened to the Ashford mill" not in articles  # the words "what happened"
    assert "Larkmoor rebuilds" not in articles  # published after the question was asked
    later = answer("What happened in Larkmoor?", index_dir=larkmoor, as_of=date(2024, 3, 21))
    assert later.citations[0].title == "Larkmoor rebuilds", later.text


def test_a_question_that_names_a_time_keeps_it(larkmoor: Path) -> None:
    result = answer("What happened in Larkmoor in 2022?", index_dir=larkmoor, as_of=ASKED)
    assert {c.title for c in result.citations} == {"Larkmoor hosts its summer festival"}
    assert result.text.startswith("1 Aug 2022: ")


@pytest.fixture(scope="module")
def ferry(tmp_path_factory: pytest.TempPathFactory, embedder: object) -> Path:
    """One day's report whose headline says what happened while its first sentence sets the
    scene, and a digest article whose other news names nothing of the subject."""
    folder = tmp_path_factory.mktemp("ferry")
    write(
        folder,
        "ferry.md",
        "Ferry Marlin sinks in Hollin Bay; lifeboats rescue all 40 passengers",
        "2024-03-12",
        "Hollin Bay residents lined the Hollin Bay waterfront on Tuesday evening, and many of "
        "them stayed until dark.\nThe ferry Marlin struck a rock and sank in Hollin Bay, and "
        "lifeboat crews rescued all 40 of its passengers.\nThe harbour master closed Hollin Bay "
        "to boats until Friday.",
        source="Bay Courier",
    )
    write(
        folder,
        "digest.md",
        "Hollin Bay regatta moves to May; the fish market moves too",
        "2024-03-11",
        "In Hollin Bay, the spring regatta was moved to May by its organisers.\nThe "
        "town council voted to move the fish market to the old rail yard by June.\nThe "
        "market's traders said the new site has no cold store.",
        source="Coast Weekly",
    )
    index = folder / "index"
    rebuild([folder], index, embedder=embedder, progress=False)  # type: ignore[arg-type]
    return index


def test_the_brief_leads_with_what_the_headline_says_happened(ferry: Path) -> None:
    result = answer("What happened in Hollin Bay?", index_dir=ferry, as_of=ASKED)
    assert "struck a rock and sank" in result.citations[0].text, result.text
    assert_offsets(ferry, result)


def test_the_brief_quotes_only_sentences_about_its_subject(ferry: Path) -> None:
    result = answer("What happened in Hollin Bay?", index_dir=ferry, as_of=ASKED)
    assert len(result.text) < 600, result.text  # there was room for more
    assert not any("market" in c.text for c in result.citations), result.text
    assert any("regatta" in c.text for c in result.citations), result.text


def ranked(
    article: str,
    text: str,
    vector: list[float],
    headline: list[float] | None,
    day: str = "2024-03-11",
    about: bool = True,  # whether it names the subject
) -> RankedSentence:
    """A sentence as ranked for a question, its vectors made unit length."""
    unit = [np.array(v) / np.linalg.norm(v) if v is not None else None for v in (vector, headline)]
    chunk = RankedChunk(
        f"{article}:0", article, article, "", day, "paper", text, (0,), (0,), (len(text),), (True,),
        score=1.0,
    )  # fmt: skip
    similarity, matched = (0.6, 1.0) if about else (0.1, 0.0)
    return RankedSentence(chunk, 0, 0, len(text), text, 1.0, similarity, matched, *unit)


def test_each_development_is_the_one_that_adds_most() -> None:
    # The lead's article and two others. One restates the lead in its own words (cosine 0.75),
    # the other reports something new: both say what their headlines say.
    lead = ranked("a", "The ferry sank in the bay.", [1, 0, 0], [1, 0, 0], "2024-03-12")
    restated = ranked("b", "A boat went down off the coast.", [0.75, 0, 0.66], [0.75, 0, 0.66])
    new = ranked("c", "Divers found the wreck on a reef.", [0, 1, 0], [0, 1, 0])
    # The restatement is the more salient (the lead's article agrees with it) ...
    assert brief([lead, restated], 800, limit=2) == [lead, restated]
    # ... but the news adds more.
    assert brief([lead, restated, new], 800, limit=2) == [lead, new]
    assert brief([lead, restated, new], 800) == [lead, new, restated]


def test_a_models_background_follows_the_key_sentences() -> None:
    lead = ranked("a", "The ferry sank in the bay.", [1, 0, 0], [1, 0, 0], "2024-03-12")
    older = ranked("b", "A storm warning was issued for the bay.", [0.5, 0.86, 0], None)
    # Of the newest article, but it does not name the subject nor come near it.
    aside = ranked(
        "a", "Fish prices rose at the market.", [0, 0, 1], [1, 0, 0], "2024-03-12", about=False
    )
    assert brief([lead, older, aside], 800) == [lead, older]
    assert brief([lead, older, aside], 800, background=True) == [lead, older, aside]
