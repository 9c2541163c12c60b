"""What is new since a moment or a day ("What's new on X since Monday?", `new_since`), and
followed topics: `assistant follow`, `assistant followed` (a digest) and `assistant unfollow`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from assistant import answer
from assistant.cli import main
from tests.test_build import article_id, build, write_articles
from tests.test_stories import FLOOD_1, FLOOD_2, FLOOD_3, LIBRARY

QUESTION = "What's new on the Riverton flood?"


@pytest.fixture
def two_days(tmp_path: Path, embedder: Any) -> tuple[Path, Path, datetime]:
    """The flood's first day indexed, a moment, then its second day indexed after it."""
    src, index_dir = tmp_path / "src", tmp_path / "index"
    write_articles(src, {"flood-1.md": FLOOD_1, "flood-2.md": FLOOD_2, "library.md": LIBRARY})
    build(src, index_dir, embedder)
    time.sleep(1.1)  # the index keeps whole seconds
    moment = datetime.now(UTC)
    time.sleep(1.1)
    write_articles(src, {"flood-3.md": FLOOD_3})
    build(src, index_dir, embedder)
    return src, index_dir, moment


def test_only_what_came_in_after_the_moment_is_quoted(
    two_days: tuple[Path, Path, datetime],
) -> None:
    src, index_dir, moment = two_days
    everything = answer(QUESTION, index_dir=index_dir, as_of="2024-05-03")
    assert {c.article_id for c in everything.citations} >= {
        article_id(src / "flood-1.md"),
        article_id(src / "flood-3.md"),
    }
    new = answer(QUESTION, index_dir=index_dir, as_of="2024-05-03", new_since=moment)
    assert new.covered and new.citations
    assert {c.article_id for c in new.citations} == {article_id(src / "flood-3.md")}, new.text
    later = datetime.now(UTC).isoformat()
    nothing = answer(QUESTION, index_dir=index_dir, as_of="2024-05-03", new_since=later)
    assert not nothing.covered and not nothing.citations
    assert nothing.text.startswith("Nothing new on the Riverton flood since "), nothing.text
    assert "the articles were last updated 20" in nothing.text


def test_a_question_that_says_since_a_day_gets_only_that_day_on(
    two_days: tuple[Path, Path, datetime],
) -> None:
    src, index_dir, _ = two_days
    since = answer(
        "What's new on the Riverton flood since May 3?", index_dir=index_dir, as_of="2024-05-04"
    )
    assert {c.article_id for c in since.citations} == {article_id(src / "flood-3.md")}
    after = answer(
        "Anything new on the Riverton flood since yesterday?",
        index_dir=index_dir,
        as_of="2024-05-06",
    )
    assert after.text.startswith("Nothing new on the Riverton flood since 5 May 2024"), after.text


def test_a_bad_moment_is_one_clear_error(two_days: tuple[Path, Path, datetime]) -> None:
    from assistant import QuestionError

    with pytest.raises(QuestionError, match="new_since: 'last tuesday' is not a moment"):
        answer(QUESTION, index_dir=two_days[1], new_since="last tuesday")


def test_followed_topics_tell_what_is_new_once(
    tmp_path: Path, embedder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    src, index_dir = tmp_path / "src", tmp_path / "index"
    write_articles(src, {"flood-1.md": FLOOD_1, "library.md": LIBRARY})
    build(src, index_dir, embedder)
    at = ["--index-dir", str(index_dir)]
    assert main(["followed", *at]) == 0
    assert "no topics followed" in capsys.readouterr().out
    time.sleep(1.1)
    assert main(["follow", "Riverton flood", *at]) == 0
    assert main(["follow", "riverton FLOOD", *at]) == 0  # once
    assert "following 'Riverton flood'" in capsys.readouterr().out
    time.sleep(1.1)
    write_articles(src, {"flood-3.md": FLOOD_3})
    build(src, index_dir, embedder)

    assert main(["followed", *at, "--json"]) == 0
    (digest,) = json.loads(capsys.readouterr().out)
    assert digest["topic"] == "Riverton flood"
    cited = {c["article_id"] for c in digest["answer"]["citations"]}
    assert cited == {article_id(src / "flood-3.md")}, digest
    assert main(["followed", *at]) == 0  # shown: nothing new now
    out = capsys.readouterr().out
    assert "== Riverton flood\nNothing new on Riverton flood since " in out, out

    assert main(["unfollow", "riverton flood", *at]) == 0
    assert main(["unfollow", "riverton flood", *at]) == 2
    assert "is not followed" in capsys.readouterr().err
    assert main(["followed", *at]) == 0
    assert "no topics followed" in capsys.readouterr().out


def test_unfollow_finds_a_topic_as_follow_does_and_writes_only_what_changes(
    tmp_path: Path,
) -> None:
    from assistant import follows
    from index.places import Folder

    place = Folder(tmp_path / "index")
    follows.follow(place, "Riverton   flood")  # kept as "Riverton flood"
    assert follows.following(place, " riverton  FLOOD ")
    kept = place.document(follows.DOCUMENT)
    assert not follows.unfollow(place, "Ash River")  # not followed: the document as it was
    assert place.document(follows.DOCUMENT) == kept
    assert follows.unfollow(place, " riverton  FLOOD ")  # white space and case aside
    assert follows.read(place) == []
