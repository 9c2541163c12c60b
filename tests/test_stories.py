"""Stories: every indexed article joins one (index/stories.py), incrementally, with its outlets
counted; `stories()`/`story()` and `assistant stories`/`assistant story` read them."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant import QuestionError, stories, story
from assistant.cli import main
from index import stories as grouping
from index.copies import wire
from index.errors import IndexProblem
from index.stories import Member, assign, names
from tests.test_build import article_id, build, opened, write_articles
from tests.test_copies import story as article

FLOOD_1 = article(
    "Floodwaters swamp downtown Riverton as the Ash River bursts its banks",
    "Riverton Times",
    "https://rivertontimes.example/flood",
    "The Ash River burst its banks in Riverton on Thursday, flooding the downtown streets and "
    "forcing hundreds of residents to leave their homes, Mayor Dana Holt said.\n\n"
    "Firefighters used boats to reach families on Mill Street. The water rose two metres in "
    "six hours after three days of heavy rain.\n",
    "2024-05-02",
)
FLOOD_2 = article(
    "Ash River floods Riverton, hundreds evacuated",
    "Valley Post",
    "https://valleypost.example/riverton-flood",
    "Hundreds of people were evacuated from Riverton on Thursday after the Ash River flooded "
    "the town centre, officials said. Mayor Dana Holt declared an emergency.\n\n"
    "Schools will stay closed on Friday. The regional weather office expects more rain.\n",
    "2024-05-02",
)
FLOOD_3 = article(
    "Riverton flood as Ash River recedes and cleanup begins downtown",
    "Riverton Times",
    "https://rivertontimes.example/flood-cleanup",
    "The Ash River fell back below its banks in Riverton on Friday, and volunteers began "
    "clearing mud from the flooded downtown shops, Mayor Dana Holt said.\n\n"
    "Insurers opened a claims office at the town hall.\n",
    "2024-05-03",
)
# The Valley Post's report carried word for word by a third outlet: a copy (index/copies.py).
FLOOD_COPY = FLOOD_2.replace("source: Valley Post", "source: Harbor Gazette").replace(
    "valleypost.example", "harborgazette.example"
)
LIBRARY = article(
    "City library extends its opening hours",
    "Riverton Times",
    "https://rivertontimes.example/library",
    "The central library will stay open until 9 p.m. on weekdays from June, the council said "
    "on Thursday after a public survey.\n",
    "2024-05-02",
)
ROWING = article(
    "Rowing club wins the regional cup for the third year",
    "Valley Post",
    "https://valleypost.example/rowing",
    "The Kessel rowing club won the regional cup on Saturday for the third year running, "
    "beating six crews on the lake.\n",
    "2024-05-04",
)


def story_of(index_dir: Path) -> dict[str, str]:
    """article id -> its story id (merges followed), as stored."""
    with opened(index_dir) as index:
        into = grouping.merged_into(index)
        stored = {i: str(m["story"]) for i, m, _ in grouping.records(index)}
    return {i: into.get(s, s) for i, s in stored.items()}


@pytest.fixture
def flood(tmp_path: Path, embedder: Any) -> tuple[Path, Path]:
    """An index of the flood's first day, then its second day added by an update."""
    src, index_dir = tmp_path / "src", tmp_path / "index"
    write_articles(src, {"flood-1.md": FLOOD_1, "flood-2.md": FLOOD_2, "library.md": LIBRARY})
    build(src, index_dir, embedder)
    write_articles(src, {"flood-3.md": FLOOD_3, "copy.md": FLOOD_COPY, "rowing.md": ROWING})
    report = build(src, index_dir, embedder)
    assert report.added == 3 and report.copies == 1, (report.summary(), report.skipped)
    return src, index_dir


def test_articles_of_one_event_form_one_story_across_updates(flood: tuple[Path, Path]) -> None:
    src, index_dir = flood
    one, two, three, library, rowing = (
        article_id(src / n)
        for n in ("flood-1.md", "flood-2.md", "flood-3.md", "library.md", "rowing.md")
    )
    found = story_of(index_dir)
    assert found[one] == found[two] == found[three]  # the update's article joined the story
    assert len({found[one], found[library], found[rowing]}) == 3
    assert article_id(src / "copy.md") not in found  # a copy is in its original's story


def test_a_story_counts_its_outlets_and_its_independent_ones(flood: tuple[Path, Path]) -> None:
    src, index_dir = flood
    listed = stories(index_dir=index_dir)
    top = listed[0]
    assert top.outlets == ("Harbor Gazette", "Riverton Times", "Valley Post")
    assert top.independent == ("Riverton Times", "Valley Post")  # the copy counts once
    assert (top.first_seen, top.last_seen) == ("2024-05-02", "2024-05-03")
    assert {a.id for a in top.articles} == {
        article_id(src / n) for n in ("flood-1.md", "flood-2.md", "flood-3.md")
    }
    assert "Riverton" in top.headline
    assert len(listed) == 3 and all(len(s.independent) == 1 for s in listed[1:])
    # A period: the stories with an article in it.
    assert [s.headline for s in stories("2024-05-04", "2024-05-04", index_dir=index_dir)] == [
        "Rowing club wins the regional cup for the third year"
    ]
    assert len(stories(top=1, index_dir=index_dir)) == 1
    assert stories("2024-06-01", index_dir=index_dir) == []
    with pytest.raises(QuestionError, match="after until"):
        stories("2024-05-04", "2024-05-01", index_dir=index_dir)


def test_a_timeline_cites_each_article_s_lede_by_its_offsets(flood: tuple[Path, Path]) -> None:
    _, index_dir = flood
    top = stories(index_dir=index_dir)[0]
    found, points = story(top.id, index_dir=index_dir)
    assert found == top
    assert [p.article.published for p in points] == ["2024-05-02", "2024-05-02", "2024-05-03"]
    with opened(index_dir) as index:
        for p in points:
            read = index.article(p.article.id)
            assert read is not None and read[0].text[p.start : p.end] == p.sentence
    assert points[-1].sentence.startswith("The Ash River fell back below its banks")
    copy_carrier = next(p for p in points if p.article.outlet == "Valley Post")
    assert copy_carrier.article.carried_by == ("Harbor Gazette",)
    with pytest.raises(IndexProblem, match="no story"):
        story("nope", index_dir=index_dir)


def test_the_cli_lists_stories_and_shows_one(
    flood: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, index_dir = flood
    assert main(["stories", "--index-dir", str(index_dir), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["independent"] == ["Riverton Times", "Valley Post"]
    assert main(["stories", "--index-dir", str(index_dir), "--top", "1"]) == 0
    out = capsys.readouterr().out
    assert "3 articles, 3 outlets (2 independent: Riverton Times, Valley Post)" in out, out
    assert main(["story", listed[0]["id"], "--index-dir", str(index_dir)]) == 0
    out = capsys.readouterr().out
    assert "2024-05-03  Riverton Times: Riverton flood as Ash River recedes" in out, out
    assert "Valley Post; also carried by Harbor Gazette" in out, out
    assert main(["story", "nope", "--index-dir", str(index_dir)]) == 2
    assert "no story 'nope'" in capsys.readouterr().err


def test_an_index_built_before_stories_says_to_rebuild(flood: tuple[Path, Path]) -> None:
    _, index_dir = flood
    with opened(index_dir) as index:
        for segment in index.segments:
            segment.stories.delete(ids=segment.stories.get()["ids"])
    with pytest.raises(IndexProblem, match="built before stories.*--full"):
        stories(index_dir=index_dir)


# --- the grouping on its own ---------------------------------------------------------------
def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


DAY = date(2024, 5, 2)


def test_an_article_far_in_time_starts_a_new_story_linked_to_the_old() -> None:
    first = Member("a", DAY, unit(1, 0, 0), frozenset({"riverton"}))
    near = Member("b", DAY + timedelta(1), unit(1, 0.1, 0), frozenset({"riverton"}))
    late = Member("c", DAY + timedelta(grouping.WINDOW + 2), unit(1, 0, 0), frozenset())
    done = assign([first, near, late])
    assert done.story == {"a": "a", "b": "a", "c": "c"}
    assert not done.links  # nothing within WINDOW days of c: no candidate, no link
    between = (grouping.JOIN + grouping.LINK) / 2  # related, not the same
    other = Member("d", DAY, unit(between, (1 - between**2) ** 0.5, 0), frozenset())
    done = assign([other], [(first, "a")])
    assert done.story == {"d": "d"} and done.links == {"d": "a"}


def test_an_article_that_bridges_two_stories_merges_them() -> None:
    left = Member("l", DAY, unit(1, 0.3, 0), frozenset({"holt"}))
    right = Member("r", DAY, unit(1, -0.3, 0), frozenset({"holt"}))
    bridge = Member("b", DAY, unit(1, 0, 0), frozenset({"holt"}))
    done = assign([bridge], [(left, "L"), (right, "R")])
    target = done.story["b"]
    assert target in ("L", "R") and done.merges == {"b": tuple({"L", "R"} - {target})}
    assert grouping.resolve([(target, done.merges["b"])]) == {
        next(iter({"L", "R"} - {target})): target
    }


def test_undated_articles_are_each_a_story_of_their_own() -> None:
    a = Member("a", None, unit(1, 0, 0), frozenset())
    b = Member("b", None, unit(1, 0, 0), frozenset())
    assert assign([a, b]).story == {"a": "a", "b": "b"}


def test_names_are_the_capitalised_words_that_are_not_common_ones() -> None:
    found = names("Mayor Dana Holt said on Thursday. The Ash River's banks burst in Riverton.")
    assert {"dana", "holt", "ash", "river", "riverton"} <= found
    assert not {"the", "thursday", "said"} & found


# --- "what happened" from the stories' outlets ----------------------------------------------
def test_each_point_of_a_brief_says_which_independent_outlets_reported_it(
    flood: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant import answer

    src, index_dir = flood
    result = answer("What happened in Riverton?", index_dir=index_dir, as_of="2024-05-03")
    by_article = {c.article_id: c for c in reversed(result.citations)}  # each one's first
    first, second, third = (
        by_article[article_id(src / n)] for n in ("flood-1.md", "flood-2.md", "flood-3.md")
    )
    # The two first-day reports of the flood say one thing: each is reported by both outlets
    # (the copy's carrier is not independent: it is `also`); the next day's is its own.
    assert first.reported_by == second.reported_by == ("Riverton Times", "Valley Post")
    assert second.also == ("Harbor Gazette",)
    assert third.reported_by == ("Riverton Times",)
    assert first.to_dict()["reported_by"] == ["Riverton Times", "Valley Post"]
    assert (
        main(
            [
                "ask",
                "What happened in Riverton?",
                "--as-of",
                "2024-05-03",
                "--index-dir",
                str(index_dir),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "reported by 2 independent outlets: Riverton Times, Valley Post" in out, out


@pytest.mark.parametrize(
    "text, service",
    [
        ("RIVERTON (AP) \u2014 The Ash River burst its banks.", "The Associated Press"),
        ("By Jo Lee\n\nMOSCOW, July 31 (Reuters) \u2012 Signs of a swap grew.", "Reuters"),
        ("PARIS (AFP) - Rain fell.", "AFP"),
        ("Paris (AFP) - Rain fell.", "AFP"),
        ("(Reuters) - Apple said on Monday.", "Reuters"),
        ("SÃO PAULO (Reuters) \u2212 Rain fell.", "Reuters"),
        ("**WASHINGTON (AP) \u2014** The Senate voted.", "The Associated Press"),
        ("Jim Salter\n\nAssociated Press\n\nST. LOUIS \u2014 Rain fell.", "The Associated Press"),
        (
            "Jake Coyle\n\nThe Associated Press\n\nNew York \u2014 A film opened.",
            "The Associated Press",
        ),
        ("STEVE DOUGLAS\n\nAP\n\nAnother stalemate.", "The Associated Press"),
        ("Reuters \u2014 The company said on Monday.", "Reuters"),
        ("A photo.\n\nAP Photo/John Doe\n\nThe AP results came out.", ""),  # not a credit
        ("Students sat their (AP) - exams, and the AP results came out.", ""),  # not a dateline
        ("The Ash River burst its banks. " * 30 + "\nRIVERTON (AP) \u2014 Late.", ""),  # too late
    ],
)
def test_a_wire_story_is_told_by_its_dateline_or_credit_line(text: str, service: str) -> None:
    assert wire(text) == service


def test_a_wire_story_an_outlet_publishes_counts_for_the_wire_service(
    tmp_path: Path, embedder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant import answer

    src, index_dir = tmp_path / "src", tmp_path / "index"
    # Two outlets publish two AP reports of the flood (not copies of each other: different
    # texts), beside the Riverton Times' own report.
    wire_1 = article(
        "Ash River floods Riverton, hundreds evacuated",
        "Valley Post",
        "https://valleypost.example/riverton-flood",
        "RIVERTON (AP) \u2014 Hundreds of people were evacuated from Riverton on Thursday after "
        "the Ash River flooded the town centre, officials said. Mayor Dana Holt declared an "
        "emergency.\n\nSchools will stay closed on Friday.\n",
        "2024-05-02",
    )
    wire_2 = article(
        "Riverton evacuates hundreds as Ash River floods downtown",
        "Harbor Gazette",
        "https://harborgazette.example/riverton",
        "RIVERTON (AP) \u2014 Rescue crews in boats reached families trapped on Mill Street in "
        "Riverton on Thursday as the flooded Ash River kept rising, Mayor Dana Holt said.\n\n"
        "The regional weather office expects more rain.\n",
        "2024-05-02",
    )
    files = {"own.md": FLOOD_1, "wire-1.md": wire_1, "wire-2.md": wire_2, "library.md": LIBRARY}
    write_articles(src, files)
    report = build(src, index_dir, embedder)
    assert report.added == 4 and report.copies == 0, report.summary()
    top = stories(index_dir=index_dir)[0]
    assert {a.id for a in top.articles} == {
        article_id(src / n) for n in ("own.md", "wire-1.md", "wire-2.md")
    }
    assert top.independent == ("Riverton Times", "The Associated Press")
    assert top.outlets == (
        "Harbor Gazette",
        "Riverton Times",
        "The Associated Press",
        "Valley Post",
    )
    by_id = {a.id: a for a in top.articles}
    assert by_id[article_id(src / "wire-1.md")].wire == "The Associated Press"
    assert by_id[article_id(src / "own.md")].wire == ""
    # A brief's point is reported by the wire service, not by the outlet that published it.
    result = answer("What happened in Riverton?", index_dir=index_dir, as_of="2024-05-03")
    reporters = {c.article_id: c.reported_by for c in result.citations}
    assert "The Associated Press" in reporters[article_id(src / "wire-1.md")]
    assert not {"Valley Post", "Harbor Gazette"} & {o for r in reporters.values() for o in r}
    assert main(["story", top.id, "--index-dir", str(index_dir)]) == 0
    out = capsys.readouterr().out
    assert "Valley Post (The Associated Press story)" in out, out
    assert "2 independent: Riverton Times, The Associated Press" in out, out


def test_more_records_than_chroma_takes_at_once_are_all_kept(tmp_path: Path) -> None:
    from index.places import Folder

    segment = Folder(tmp_path / "index").segment("s", create=True)
    try:
        n = 6000  # a full build of the scale corpus: Chroma refused 6,307 in one call
        segment.add_stories([(f"a{i}", [1.0, 0.0, float(i)], {"story": "s"}) for i in range(n)])
        assert segment.stories.count() == n
    finally:
        segment.close()
