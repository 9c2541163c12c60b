"""Question.ask: what a caller may send, and the one clear error for what it may not."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.question import (
    HISTORY_TURNS,
    TURN_CHARS,
    Filters,
    Question,
    QuestionError,
    Turn,
)


def test_a_plain_question_is_asked_today() -> None:
    q = Question.ask("  What happened\x00 in\u200b Avdiivka?\n")
    assert q.text == "What happened in Avdiivka?"
    assert q.history == () and q.filters == Filters() and q.as_of == date.today()


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("\u200b\u200c\u2060\ufeff", "empty"),  # zero-width characters only
        ("?!", "empty"),
        ("x" * 20_000, "20,000 characters"),
        ("Avdiivka\ud800?", "not valid text"),  # a lone surrogate
        (42, "must be text"),
        (None, "must be text"),
    ],
)
def test_questions_that_cannot_be_asked(text: object, message: str) -> None:
    with pytest.raises(QuestionError, match=message):
        Question.ask(text)


@pytest.mark.parametrize(
    "value", ["2024-13-45", "2024-02-30", "20240301", "2024", "last week", 20240301]
)
@pytest.mark.parametrize("name", ["since", "until", "as_of"])
def test_malformed_dates_are_refused_never_rewritten(name: str, value: object) -> None:
    with pytest.raises(QuestionError, match=f"{name}: .* is not a date like 2024-02-01"):
        Question.ask("Avdiivka?", **{name: value})


def test_dates_in_the_usual_shapes() -> None:
    q = Question.ask("Avdiivka?", since="2024/02/01", until=date(2024, 2, 29), as_of="0999-06-01")
    assert q.filters.since == date(2024, 2, 1) and q.filters.until == date(2024, 2, 29)
    assert q.as_of == date(999, 6, 1)
    with pytest.raises(QuestionError, match="after until"):
        Question.ask("Avdiivka?", since="2024-03-01", until="2024-02-01")


def test_sources_one_name_or_a_list() -> None:
    assert Question.ask("Q?", sources="VOA News").filters.sources == {"VOA News"}
    assert Question.ask("Q?", sources=["VOA News", "AP"]).filters.sources == {"VOA News", "AP"}
    assert Question.ask("Q?", sources=None).filters.sources == frozenset()
    for bad in ({"VOA News": 1}, ["VOA News", 3], 7):
        with pytest.raises(QuestionError, match="sources must be a list of source names"):
            Question.ask("Q?", sources=bad)


def test_history_shapes() -> None:
    dicts = [{"role": "user", "content": "A?"}, {"role": "assistant", "content": "B."}]
    pairs = [("A?", "B.")]
    turns = (Turn("user", "A?"), Turn("assistant", "B."))
    for history in (dicts, pairs, turns):
        assert Question.ask("Q?", history).history == turns
    assert Question.ask("Q?", None).history == ()
    for bad in (42, "A?", {"role": "user"}, [42], [{"role": "system", "content": "x"}]):
        with pytest.raises(QuestionError, match="history|message"):
            Question.ask("Q?", bad)


def test_a_huge_history_is_cut_to_its_last_turns() -> None:
    big = "word " * 600_000  # 3 MB
    history = [{"role": "user", "content": f"{i} {big}"} for i in range(50)]
    q = Question.ask("Q?", history)
    assert len(q.history) == HISTORY_TURNS
    assert q.history[-1].content.startswith("49 ")
    assert all(len(t.content) <= TURN_CHARS for t in q.history)
